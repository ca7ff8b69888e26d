//! Lineage rules: a recovery never writes where it reads, no two Clusters
//! share a prefix, lineages move forward, and a new Cluster starts on an
//! empty prefix.

use super::{
    ARCHIVE_NOT_EMPTY, DESTINATION_DOUBLE_NESTING, LINEAGE_GAP, LINEAGE_ORDER, LINEAGE_SELF_REUSE,
    LINEAGE_SHARED, RECOVERY_SERVERNAME_DEFAULT,
};
use crate::cnpg::lineage::{self, Lineage, Resolver, Store, same_prefix, versioned};
use crate::cnpg::{self, SKIP_EMPTY_WAL_ARCHIVE_CHECK, annotation, at};
use crate::engine::Cx;
use crate::input::{LookupKind, Operation};
use crate::settings::LineageScope;
use serde_json::Value;
use std::rc::Rc;

/// Looks an ObjectStore up by (namespace, name) in an already listed set.
fn resolver<'a>(
    stores: &'a [Value],
    fallback_ns: &'a str,
) -> impl Fn(&str, &str) -> Option<&'a Value> {
    move |ns: &str, name: &str| {
        let ns = if ns.is_empty() { fallback_ns } else { ns };
        stores
            .iter()
            .find(|o| cnpg::name(o) == name && cnpg::namespace(o, fallback_ns) == ns)
    }
}

fn uses_object_store(lineages: &[&Lineage]) -> bool {
    lineages
        .iter()
        .any(|l| matches!(l.store, Store::ObjectStore { .. }))
}

pub(crate) fn check(cx: &mut Cx<'_>) {
    let ns = cx.ns.to_string();
    let archives = lineage::archives_in(cx.obj, &ns);
    let source = at(cx.obj, &["spec", "bootstrap", "recovery"])
        .and_then(|_| lineage::recovery_source_in(cx.obj, &ns));
    let mut all: Vec<&Lineage> = archives.iter().collect();
    all.extend(source.iter());
    if all.is_empty() {
        return;
    }
    // Only ask the host when an ObjectStore must be resolved.
    let local: Rc<Vec<Value>> = if uses_object_store(&all) {
        cx.list(LookupKind::ObjectStore, Some(&ns))
            .unwrap_or_default()
    } else {
        Rc::default()
    };
    let resolve = resolver(&local, &ns);

    if let Some(src) = &source {
        let reused = self_reuse(cx, &archives, src, &resolve);
        if !reused {
            order(cx, &archives, src, &resolve);
        }
        if matches!(src.store, Store::ObjectStore { .. })
            && !src.explicit
            && cx.on(RECOVERY_SERVERNAME_DEFAULT)
        {
            cx.hit(
                RECOVERY_SERVERNAME_DEFAULT,
                src.server_name_path.clone(),
                format!(
                    "the plugin recovery source has no serverName, so it resolves to this Cluster's own name '{}' (the barman plugin's default), not the source Cluster's",
                    src.server_name
                ),
                format!("set {} to the serverName the source Cluster archived under (e.g. '<name>-vN')", src.server_name_path),
            );
        }
    }
    if cx.on(DESTINATION_DOUBLE_NESTING) {
        for l in &all {
            double_nesting(cx, l, &resolve);
        }
    }
    if cx.op == Operation::Create && cx.on(ARCHIVE_NOT_EMPTY) {
        for a in &archives {
            archive_not_empty(cx, a, &local);
        }
    }
    if cx.on(LINEAGE_SHARED) && !archives.is_empty() {
        shared(cx, &archives, &ns);
    }
}

fn self_reuse(
    cx: &mut Cx<'_>,
    archives: &[Lineage],
    src: &Lineage,
    resolve: &Resolver<'_>,
) -> bool {
    let mut reused = false;
    for a in archives {
        if !same_prefix(a, src, resolve) {
            continue;
        }
        reused = true;
        if !cx.on(LINEAGE_SELF_REUSE) {
            continue;
        }
        let mut message = format!(
            "this recovery Cluster archives WAL into the lineage it restores from ({}): archive {}; recovery source {}",
            a.describe(),
            a.server_name_origin(),
            src.server_name_origin()
        );
        match annotation(cx.obj, SKIP_EMPTY_WAL_ARCHIVE_CHECK) {
            Some("enabled") => message.push_str(&format!(
                ". {SKIP_EMPTY_WAL_ARCHIVE_CHECK}: enabled only hides the collision: the new timeline is written into the source's prefix"
            )),
            _ => message.push_str(". CNPG will stall on \"Expected empty archive\""),
        }
        let fix = match versioned(&a.server_name) {
            Some((base, n)) => format!(
                "bump {} to '{base}-v{}' (a fresh prefix) and keep the recovery source at '{}'",
                a.server_name_path,
                n.saturating_add(1),
                src.server_name
            ),
            None => format!(
                "set {} to a new lineage such as '{}-v2' and keep the recovery source at '{}'",
                a.server_name_path, a.server_name, src.server_name
            ),
        };
        cx.hit(LINEAGE_SELF_REUSE, a.server_name_path.clone(), message, fix);
    }
    reused
}

/// True unless the two stores are provably different places.
fn maybe_same_store(a: &Lineage, b: &Lineage, resolve: &Resolver<'_>) -> bool {
    match (a.location_with(resolve), b.location_with(resolve)) {
        (Some(la), Some(lb)) => la == lb,
        _ => true,
    }
}

fn order(cx: &mut Cx<'_>, archives: &[Lineage], src: &Lineage, resolve: &Resolver<'_>) {
    let Some((src_base, src_n)) = versioned(&src.server_name) else {
        return;
    };
    for a in archives {
        let Some((base, n)) = versioned(&a.server_name) else {
            continue;
        };
        if base != src_base || !maybe_same_store(a, src, resolve) {
            continue;
        }
        if n <= src_n && cx.on(LINEAGE_ORDER) {
            cx.hit(
                LINEAGE_ORDER,
                a.server_name_path.clone(),
                format!(
                    "archive lineage '{}' is not newer than the recovery source '{}': lineages must move forward (restore from vN, archive to vN+1)",
                    a.server_name, src.server_name
                ),
                format!("set {} to '{base}-v{}'", a.server_name_path, src_n.saturating_add(1)),
            );
        } else if n.saturating_sub(src_n) >= 2 && cx.on(LINEAGE_GAP) {
            cx.hit(
                LINEAGE_GAP,
                src.server_name_path.clone(),
                format!(
                    "recovery source '{}' is {} lineages behind the archive '{}': this restores an old lineage and loses everything written to '{base}-v{}'",
                    src.server_name,
                    n.saturating_sub(src_n),
                    a.server_name,
                    n.saturating_sub(1)
                ),
                format!(
                    "set {} to '{base}-v{}' (the lineage the deleted Cluster was writing), unless restoring the older lineage is intended",
                    src.server_name_path,
                    n.saturating_sub(1)
                ),
            );
        }
    }
}

fn double_nesting(cx: &mut Cx<'_>, l: &Lineage, resolve: &Resolver<'_>) {
    let Some(loc) = l.location_with(resolve) else {
        return;
    };
    let suffix = format!("/{}", l.server_name);
    if !loc.destination_path.ends_with(&suffix) {
        return;
    }
    let where_ = match &l.store {
        Store::Inline { .. } => l.store_path.clone(),
        Store::ObjectStore { name, .. } => {
            format!("ObjectStore '{name}' spec.configuration.destinationPath")
        }
    };
    cx.hit(
        DESTINATION_DOUBLE_NESTING,
        l.server_name_path.clone(),
        format!(
            "{where_} '{}' already ends with serverName '{}', so barman writes to '{}{suffix}/'",
            loc.destination_path, l.server_name, loc.destination_path
        ),
        format!(
            "drop the trailing '{suffix}' from destinationPath (barman appends serverName itself), unless existing backups already use the nested layout"
        ),
    );
}

fn archive_not_empty(cx: &mut Cx<'_>, a: &Lineage, stores: &[Value]) {
    let Store::ObjectStore { namespace, name } = &a.store else {
        return;
    };
    let Some(store) = resolver(stores, cx.ns)(namespace, name) else {
        return;
    };
    let Some(window) = at(store, &["status", "serverRecoveryWindow", &a.server_name]) else {
        return;
    };
    let last = cnpg::str_at(window, &["lastSuccessfulBackupTime"]).unwrap_or("unknown");
    let fix = match versioned(&a.server_name) {
        Some((base, n)) => format!(
            "bump {} to '{base}-v{}'",
            a.server_name_path,
            n.saturating_add(1)
        ),
        None => format!(
            "set {} to a new lineage such as '{}-v2'",
            a.server_name_path, a.server_name
        ),
    };
    cx.hit(
        ARCHIVE_NOT_EMPTY,
        a.server_name_path.clone(),
        format!(
            "ObjectStore '{name}' already holds backups for serverName '{}' (status.serverRecoveryWindow, last successful backup {last}); a new Cluster archiving there stalls on \"Expected empty archive\" — this is the recovery flip whose archive serverName was not bumped",
            a.server_name
        ),
        fix,
    );
}

fn shared(cx: &mut Cx<'_>, archives: &[Lineage], ns: &str) {
    let scope = match cx.settings.lineage_scope {
        LineageScope::Namespace => Some(ns),
        LineageScope::Cluster => None,
    };
    let Some(clusters) = cx.list(LookupKind::Cluster, scope) else {
        return;
    };
    let me = cnpg::name(cx.obj).to_string();
    let others: Vec<(String, String, Vec<Lineage>)> = clusters
        .iter()
        .filter_map(|c| {
            let c_ns = cnpg::namespace(c, ns).to_string();
            let c_name = cnpg::name(c).to_string();
            if c_ns == ns && c_name == me {
                return None;
            }
            let l = lineage::archives_in(c, &c_ns);
            (!l.is_empty()).then_some((c_ns, c_name, l))
        })
        .collect();
    if others.is_empty() {
        return;
    }
    let needs_stores = others
        .iter()
        .any(|(_, _, l)| uses_object_store(&l.iter().collect::<Vec<_>>()))
        || uses_object_store(&archives.iter().collect::<Vec<_>>());
    let stores = if needs_stores {
        cx.list(LookupKind::ObjectStore, scope).unwrap_or_default()
    } else {
        Rc::default()
    };
    let resolve = resolver(&stores, ns);
    let mut hits = Vec::new();
    for a in archives {
        for (o_ns, o_name, lineages) in &others {
            if lineages.iter().any(|b| same_prefix(a, b, &resolve)) {
                hits.push((
                    a.server_name_path.clone(),
                    a.describe(),
                    a.server_name.clone(),
                    format!("{o_ns}/{o_name}"),
                ));
            }
        }
    }
    for (path, what, sn, other) in hits {
        let fix = match versioned(&sn) {
            Some((base, n)) => format!(
                "set {path} to a serverName no other Cluster uses (e.g. '{base}-v{}' if this Cluster continues that lineage, or '{me}-v1')",
                n.saturating_add(1)
            ),
            None => format!("set {path} to a serverName no other Cluster uses (e.g. '{me}-v1')"),
        };
        cx.hit(
            LINEAGE_SHARED,
            path,
            format!("Cluster {other} already archives WAL to the same lineage ({what}); two Clusters writing one prefix corrupt each other's archive"),
            fix,
        );
    }
}
