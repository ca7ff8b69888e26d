//! Lineage rules: a recovery never writes where it reads, no two Clusters
//! share a prefix, lineages move forward, and a new Cluster starts on an
//! empty prefix.

use super::{
    ARCHIVE_NOT_EMPTY, DESTINATION_DOUBLE_NESTING, LINEAGE_GAP, LINEAGE_ORDER, LINEAGE_SELF_REUSE,
    LINEAGE_SHARED, RECOVERY_SERVERNAME_DEFAULT,
};
use crate::cnpg::SKIP_EMPTY_WAL_ARCHIVE_CHECK;
use crate::cnpg::lineage::{
    self, Lineage, Resolver, Role, Store, maybe_same_store, next_server_name, same_prefix,
    versioned,
};
use crate::engine::Cx;
use crate::input::Operation;
use crate::settings::LineageScope;
use crate::view::{Cluster, ObjectStore};
use std::rc::Rc;

/// Looks an ObjectStore up by (namespace, name) in an already listed set.
fn resolver<'a>(
    stores: &'a [ObjectStore],
    fallback_ns: &'a str,
) -> impl Fn(&str, &str) -> Option<&'a ObjectStore> {
    move |ns: &str, name: &str| {
        let ns = if ns.is_empty() { fallback_ns } else { ns };
        stores.iter().find(|o| {
            o.name() == name
                && o.metadata
                    .as_ref()
                    .map_or(fallback_ns, |m| m.namespace_or(fallback_ns))
                    == ns
        })
    }
}

fn uses_object_store<'l>(lineages: impl IntoIterator<Item = &'l Lineage>) -> bool {
    lineages
        .into_iter()
        .any(|l| matches!(l.store, Store::ObjectStore { .. }))
}

pub(crate) fn check(cx: &mut Cx<'_>, cluster: &Cluster, old: Option<&Cluster>) {
    let ns = cx.ns.to_string();
    let archives = lineage::archives(cluster, &ns);
    let sources = lineage::sources(cluster, &ns);
    let old_archives = old.map(|o| lineage::archives(o, &ns)).unwrap_or_default();
    if archives.is_empty() && sources.is_empty() {
        return;
    }
    // Only ask the host when an ObjectStore must be resolved.
    let local: Rc<Vec<ObjectStore>> =
        if uses_object_store(archives.iter().chain(&sources).chain(&old_archives)) {
            cx.object_stores(Some(&ns)).unwrap_or_default()
        } else {
            Rc::default()
        };
    let resolve = resolver(&local, &ns);

    for src in &sources {
        let reused = self_reuse(cx, cluster, &archives, src, &resolve);
        if !reused {
            order(cx, cluster, &archives, src, &resolve);
        }
        if matches!(src.store, Store::ObjectStore { .. })
            && !src.explicit
            && cx.on(RECOVERY_SERVERNAME_DEFAULT)
        {
            cx.hit(
                RECOVERY_SERVERNAME_DEFAULT,
                src.server_name_path.clone(),
                format!(
                    "the plugin {} has no serverName, so it resolves to this Cluster's own name '{}' (the barman plugin's default), not the source Cluster's",
                    src.role.describe(),
                    src.server_name
                ),
                format!("set {} to the serverName the source Cluster archived under (e.g. '<name>-vN')", src.server_name_path),
            );
        }
    }
    if cx.on(DESTINATION_DOUBLE_NESTING) {
        for l in archives.iter().chain(&sources) {
            double_nesting(cx, l, &resolve);
        }
    }
    if cx.on(ARCHIVE_NOT_EMPTY) {
        for a in &archives {
            // An UPDATE that keeps the lineage it archived to is the running
            // Cluster; one that adds or moves its archive gets no empty-archive
            // check from CNPG (docs/cnpg.md §2), so it is checked here. Moving
            // the SAME prefix (in-tree -> plugin migration) is not new.
            let is_new = match cx.op {
                Operation::Create => true,
                Operation::Update => !old_archives.iter().any(|o| same_prefix(a, o, &resolve)),
                Operation::Delete | Operation::Connect => false,
            };
            if is_new {
                archive_not_empty(cx, cluster, a, &resolve);
            }
        }
    }
    // The plugin runs in the restore job only for a plugin recovery source
    // (docs/cnpg.md §2.2 row B, §11): only then is a disabled entry read.
    let plugin_recovery = sources
        .iter()
        .any(|s| s.role == Role::Recovery && matches!(s.store, Store::ObjectStore { .. }));
    if cx.on(ARCHIVE_NOT_EMPTY) && cx.op == Operation::Create && plugin_recovery {
        disabled_entries(cx, cluster, &ns);
    }
    // Listing every Cluster is the one lookup whose cost grows with the
    // cluster: do it when the Cluster gets a lineage (CREATE, or an UPDATE
    // that adds or moves one), not on every UPDATE of a Cluster that keeps
    // the lineages it was already checked with.
    let gains_lineage = match cx.op {
        Operation::Update => archives.iter().any(|a| {
            !old_archives
                .iter()
                .any(|o| o.store == a.store && o.server_name == a.server_name)
        }),
        _ => true,
    };
    if cx.on(LINEAGE_SHARED) && !archives.is_empty() && gains_lineage {
        shared(cx, cluster, &archives, &ns);
    }
}

/// A disabled barman archive entry on a recovering Cluster: the plugin's
/// restore job still takes its barmanObjectName and checks that
/// `<store>/<Cluster name>` is empty, ignoring the entry's serverName
/// (plugin-barman-cloud@v0.14.0 internal/cnpgi/restore/restore.go:105-120,284-291;
/// docs/cnpg.md §11, plugin-barman-cloud#350).
fn disabled_entries(cx: &mut Cx<'_>, cluster: &Cluster, ns: &str) {
    if skip_annotation(cluster) == Some("enabled") {
        return;
    }
    for (i, plugin) in cluster.spec().plugins.iter().enumerate() {
        if !crate::cnpg::is_barman(plugin) || crate::cnpg::plugin_enabled(plugin) {
            continue;
        }
        let Some(store) = crate::cnpg::plugin_param(plugin, crate::cnpg::PARAM_BARMAN_OBJECT_NAME)
        else {
            continue;
        };
        let stores = cx.object_stores(Some(ns)).unwrap_or_default();
        let Some(found) = resolver(&stores, ns)(ns, store) else {
            continue;
        };
        if found.recovery_window(cluster.name()).is_none() {
            continue;
        }
        cx.hit(
            ARCHIVE_NOT_EMPTY,
            format!("spec.plugins[{i}].enabled"),
            format!(
                "this barman plugin entry is disabled, but the plugin's restore job still reads its barmanObjectName and checks that ObjectStore '{store}' has nothing under serverName '{}' (the Cluster name; a disabled entry's serverName is ignored): the store already has backups there, so the recovery stalls on \"Expected empty archive\"",
                cluster.name()
            ),
            format!(
                "remove spec.plugins[{i}] for the recovery (add it back, with a fresh serverName, once the Cluster is up), or point it at an ObjectStore with nothing under '{}'",
                cluster.name()
            ),
        );
    }
}

fn self_reuse(
    cx: &mut Cx<'_>,
    cluster: &Cluster,
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
        let what = match src.role {
            Role::Replica => {
                "this replica Cluster archives WAL into the lineage its replica source reads"
            }
            Role::Archive | Role::Recovery => {
                "this recovery Cluster archives WAL into the lineage it restores from"
            }
        };
        let mut message = format!(
            "{what} ({}): archive {}; {} {}",
            a.describe(),
            a.server_name_origin(),
            src.role.describe(),
            src.server_name_origin()
        );
        match skip_annotation(cluster) {
            Some("enabled") => message.push_str(&format!(
                ". {SKIP_EMPTY_WAL_ARCHIVE_CHECK}: enabled only hides the collision: the new timeline is written into the source's prefix"
            )),
            _ => message.push_str(". CNPG will stall on \"Expected empty archive\""),
        }
        let fix = format!(
            "bump {} to '{}' (a fresh prefix) and keep the {} at '{}'",
            a.server_name_path,
            next_server_name(&a.server_name),
            src.role.describe(),
            src.server_name
        );
        cx.hit(LINEAGE_SELF_REUSE, a.server_name_path.clone(), message, fix);
    }
    reused
}

fn order(
    cx: &mut Cx<'_>,
    cluster: &Cluster,
    archives: &[Lineage],
    src: &Lineage,
    resolve: &Resolver<'_>,
) {
    let Some((src_base, src_n)) = versioned(&src.server_name) else {
        return;
    };
    // A pinned backup or target is the clearest sign an older lineage is
    // restored on purpose (real drills restore N-2 when N-1 is empty).
    let pinned = src.role == Role::Recovery
        && cluster
            .recovery()
            .and_then(|r| r.recovery_target.as_ref())
            .is_some_and(|t| t.pins_something());
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
        } else if n.saturating_sub(src_n) >= 2 && !pinned && cx.on(LINEAGE_GAP) {
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
                    "set {} to '{base}-v{}' (the lineage the deleted Cluster was writing); if the older lineage is intended, pin it with spec.bootstrap.recovery.recoveryTarget.backupID",
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

fn skip_annotation(cluster: &Cluster) -> Option<&str> {
    cluster
        .metadata
        .as_ref()
        .and_then(|m| m.annotation(SKIP_EMPTY_WAL_ARCHIVE_CHECK))
}

fn archive_not_empty(cx: &mut Cx<'_>, cluster: &Cluster, a: &Lineage, resolve: &Resolver<'_>) {
    let Store::ObjectStore { namespace, name } = &a.store else {
        return;
    };
    let Some(store) = resolve(namespace, name) else {
        return;
    };
    let Some(window) = store.recovery_window(&a.server_name) else {
        return;
    };
    let last = window
        .last_successful_backup_time
        .as_deref()
        .unwrap_or("unknown");
    let consequence = match (cx.op, skip_annotation(cluster)) {
        (Operation::Update, _) => "this update adds or moves the WAL archive of a running Cluster, and CNPG runs its empty-archive check only at bootstrap: WAL of this Cluster's timeline would be mixed into another Cluster's lineage".to_string(),
        (_, Some("enabled")) => format!("{SKIP_EMPTY_WAL_ARCHIVE_CHECK}: enabled turns off CNPG's empty-archive check, so the Cluster does not stall: it silently writes its new timeline into the used prefix, on top of the backups already there"),
        _ => "a new Cluster archiving there stalls on \"Expected empty archive\" — this is the recovery flip whose archive serverName was not bumped".to_string(),
    };
    cx.hit(
        ARCHIVE_NOT_EMPTY,
        a.server_name_path.clone(),
        format!(
            "ObjectStore '{name}' already holds backups for serverName '{}' (status.serverRecoveryWindow, last successful backup {last}); {consequence}",
            a.server_name
        ),
        format!(
            "bump {} to '{}' (a lineage no Cluster has written)",
            a.server_name_path,
            next_server_name(&a.server_name)
        ),
    );
}

fn shared(cx: &mut Cx<'_>, cluster: &Cluster, archives: &[Lineage], ns: &str) {
    let scope = match cx.settings.lineage_scope {
        LineageScope::Namespace => Some(ns),
        LineageScope::Cluster => None,
    };
    let Some(clusters) = cx.clusters(scope) else {
        return;
    };
    let me = cluster.name().to_string();
    let others: Vec<(String, String, Vec<Lineage>)> = clusters
        .iter()
        .filter_map(|c| {
            let c_ns = c
                .metadata
                .as_ref()
                .map_or(ns, |m| m.namespace_or(ns))
                .to_string();
            let c_name = c.name().to_string();
            if c_ns == ns && c_name == me {
                return None;
            }
            let l = lineage::archives(c, &c_ns);
            (!l.is_empty()).then_some((c_ns, c_name, l))
        })
        .collect();
    if others.is_empty() {
        return;
    }
    let needs_stores =
        others.iter().any(|(_, _, l)| uses_object_store(l)) || uses_object_store(archives);
    // Other Clusters' ObjectStores live in their own namespaces.
    let stores: Rc<Vec<ObjectStore>> = if needs_stores {
        cx.object_stores(scope).unwrap_or_default()
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
        let fix = format!(
            "set {path} to a serverName no other Cluster uses (e.g. '{}' if this Cluster continues that lineage, or '{}')",
            next_server_name(&sn),
            lineage::first_server_name(&me)
        );
        cx.hit(
            LINEAGE_SHARED,
            path,
            format!("Cluster {other} already archives WAL to the same lineage ({what}); two Clusters writing one prefix corrupt each other's archive"),
            fix,
        );
    }
}
