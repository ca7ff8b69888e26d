//! The steps both layouts share, on the recovery document: the lineage
//! bump in lockstep, the store the source reads, database/owner and the
//! PITR target. Meaning is read from the host-parsed values (through the
//! core's views and lineage rules); span nodes only say where to edit.

use cnpg_guard_core::cnpg::lineage::{self, EntryValue, Lineage, Resolver, Store};
use cnpg_guard_core::cnpg::{
    BARMAN_PLUGIN, DEFAULT_DATABASE, PARAM_BARMAN_OBJECT_NAME, PARAM_SERVER_NAME,
};
use cnpg_guard_core::view::Cluster;
use serde::Deserialize;
use serde_json::Value;

use super::edits::{At, Edits};
use super::{PlanInput, Target};
use crate::error::PlanError;
use crate::yaml::{self, Node, Y};

/// Where a Cluster's recovery bootstrap is written.
pub(super) const RECOVERY_PATH: &str = "spec.bootstrap.recovery";
/// The key of the PITR target in the recovery block.
pub(super) const RECOVERY_TARGET: &str = "recoveryTarget";

/// The next serverName after `current` (the core's [`lineage::next_server_name`]),
/// with a note when `current` is not versioned yet and a new `-vN` lineage starts.
pub fn next_server_name(current: &str) -> (String, Option<String>) {
    let next = lineage::next_server_name(current);
    let note = lineage::versioned(current).is_none().then(|| {
        format!(
            "{PARAM_SERVER_NAME} '{current}' has no -vN suffix: starting a versioned lineage at '{next}' (the current WAL stays under '{current}' as the recovery source)"
        )
    });
    (next, note)
}

/// The Cluster view of a manifest or patch (patches may lack apiVersion/kind).
pub(super) fn cluster_view(v: &Value) -> Cluster {
    Cluster::deserialize(v).unwrap_or_default()
}

/// Git alone does not resolve ObjectStore references: stores compare by reference.
fn no_resolver<'a>() -> &'a Resolver<'a> {
    &|_, _| None
}

/// The lineage the Cluster archives to (what the recovery restores from).
pub(super) fn archive_of(
    view: &Cluster,
    namespace: &str,
    display: &str,
) -> Result<Lineage, PlanError> {
    let arch = lineage::archive(view, namespace).ok_or_else(|| {
        PlanError::input(
            format!("the Cluster archives no WAL: no enabled barman plugin entry with {PARAM_BARMAN_OBJECT_NAME} and no {}", lineage::INLINE_ARCHIVE_PATH),
            format!("configure WAL archiving (spec.plugins[] {BARMAN_PLUGIN} with parameters.{PARAM_BARMAN_OBJECT_NAME}) before planning a recovery"),
        )
        .in_file(display.to_string())
        .at("spec.plugins")
    })?;
    reject_empty_server_name(&arch, display)?;
    Ok(arch)
}

/// The note for an archive serverName that was not written (a default).
pub(super) fn default_note(display: &str, arch: &Lineage, to: &str) -> Option<String> {
    arch.default_reason.map(|why| {
        format!(
            "{display}: {} is not set ({why}): the effective name is '{}'; inserting an explicit {PARAM_SERVER_NAME} '{to}'",
            arch.server_name_path, arch.server_name
        )
    })
}

/// Archive serverName `vN` → `to` (`vN+1`), where the core read it.
pub(super) fn bump_archive(
    edits: &mut Edits,
    at: &At<'_>,
    arch: &Lineage,
    to: &str,
) -> Result<(), PlanError> {
    let c = at.src.set_scalar(
        at.doc,
        &arch.server_name_path,
        to,
        Some(PARAM_BARMAN_OBJECT_NAME),
    )?;
    edits.add(at, c);
    Ok(())
}

/// Recovery source serverName → the archive's current `vN`.
pub(super) fn point_source(
    edits: &mut Edits,
    at: &At<'_>,
    rec: &Lineage,
    arch: &Lineage,
) -> Result<(), PlanError> {
    let c = at.src.set_scalar(
        at.doc,
        &rec.server_name_path,
        &arch.server_name,
        Some(PARAM_BARMAN_OBJECT_NAME),
    )?;
    edits.add(at, c);
    Ok(())
}

/// A plugin entry written with `serverName: ""` archives under an empty
/// lineage name (the plugin keeps it): there is no version to bump.
pub(super) fn reject_empty_server_name(arch: &Lineage, display: &str) -> Result<(), PlanError> {
    if !arch.empty_server_name() {
        return Ok(());
    }
    Err(PlanError::input(
        format!(
            "{} is written empty: the barman plugin keeps an empty {PARAM_SERVER_NAME}, so the archive has no lineage name to bump",
            arch.server_name_path
        ),
        format!("remove the empty {PARAM_SERVER_NAME} (it then defaults to the Cluster name) or set the lineage name, then run again"),
    )
    .in_file(display.to_string())
    .at(arch.server_name_path.clone()))
}

/// Points the recovery source at the store the Cluster archives to, when
/// the two differ ([`lineage::same_store`]: same location, endpoint
/// included, or the same ObjectStore reference).
pub(super) fn align_store(
    edits: &mut Edits,
    at: &At<'_>,
    arch: &Lineage,
    rec: &Lineage,
    notes: &mut Vec<String>,
) -> Result<(), PlanError> {
    if lineage::same_store(arch, rec, no_resolver()) {
        return Ok(());
    }
    let display = &at.src.display;
    match (&arch.store, &rec.store) {
        (Store::ObjectStore { name: a, .. }, Store::ObjectStore { name: r, .. }) => {
            let c = at.src.set_scalar(at.doc, &rec.store_path, a, None)?;
            edits.add(at, c);
            notes.push(format!(
                "{display}: the recovery source read ObjectStore '{r}' but the Cluster archives to '{a}': pointing {} at '{a}'",
                rec.store_path
            ));
        }
        (Store::Inline { .. }, Store::Inline { .. }) => {
            let show = |l: &Lineage| {
                l.inline_location()
                    .map_or_else(|| l.store.label().to_string(), |loc| loc.to_string())
            };
            return Err(PlanError::input(
                format!(
                    "the recovery source reads '{}' but the Cluster archives to '{}'",
                    show(rec),
                    show(arch)
                ),
                format!("make the externalCluster's barmanObjectStore match {} (destinationPath, endpoint, credentials), then run again", lineage::INLINE_ARCHIVE_PATH),
            )
            .in_file(display.clone())
            .at(rec.store_path.clone()));
        }
        _ => {
            notes.push(format!(
                "{display}: the recovery source uses a different backup form than the archive ({} vs {}); check it reads the same bucket",
                rec.describe(),
                arch.describe()
            ));
        }
    }
    Ok(())
}

/// Names database and owner explicitly in the recovery block (CNPG
/// defaults both to `app`): the flags, else what the block already says,
/// else what the initdb bootstrap declared (`init_db`, CNPG defaults
/// applied). Returns them.
pub(super) fn ensure_db_owner(
    edits: &mut Edits,
    at: &At<'_>,
    input: &PlanInput,
    init_db: Option<(String, String)>,
    notes: &mut Vec<String>,
) -> Result<(String, String), PlanError> {
    let src = at.src;
    let path = RECOVERY_PATH;
    let rec_node = src
        .root(at.doc)
        .and_then(|r| r.at(&yaml::parse_path(path)))
        .ok_or_else(|| {
            PlanError::input(format!("{path} is missing"), "report this as a bug")
                .in_file(src.display.clone())
        })?;
    // What the block says (merge keys applied), not what its spans spell.
    let current = |key: &str| {
        src.value_at(at.doc, &yaml::parse_path(&format!("{path}.{key}")))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let cur_db = current("database");
    let cur_owner = current("owner");
    let want_db = input
        .database
        .clone()
        .or(cur_db.clone())
        .or(init_db.as_ref().map(|d| d.0.clone()));
    let want_owner = input
        .owner
        .clone()
        .or(cur_owner.clone())
        .or(init_db.as_ref().map(|d| d.1.clone()))
        .or(input.database.clone());
    let (Some(db), Some(owner)) = (want_db, want_owner) else {
        return Err(PlanError::input(
            format!("database and owner are not set and no initdb overlay names them; CNPG would create database '{DEFAULT_DATABASE}' owned by '{DEFAULT_DATABASE}' (wrong role grants)"),
            "pass --database <name> --owner <role> (the names of the real application database)",
        )
        .in_file(src.display.clone())
        .at(format!("{path}.database")));
    };
    if let Some((idb, iowner)) = &init_db
        && (idb != &db || iowner != &owner)
        && input.database.is_none()
    {
        notes.push(format!(
            "{}: recovery creates database '{db}' owned by '{owner}' but initdb declared '{idb}' owned by '{iowner}'; pass --database/--owner to change it",
            src.display
        ));
    }
    // New keys go after the last of these that is written, in this order,
    // so database and owner land together after `source`.
    let anchor = ["owner", "database", "source"]
        .into_iter()
        .find(|a| rec_node.get(a).is_some());
    let mut missing = Vec::new();
    for (key, cur, want) in [("database", &cur_db, &db), ("owner", &cur_owner, &owner)] {
        if cur.as_ref() == Some(want) {
            continue;
        }
        if cur.is_none() {
            missing.push(key);
        }
        let c = src.set_scalar(at.doc, &format!("{path}.{key}"), want, anchor)?;
        edits.add(at, c);
    }
    if !missing.is_empty() {
        notes.push(format!(
            "{}: {path} did not name {} explicitly (CNPG defaults them to '{DEFAULT_DATABASE}'): adding them",
            src.display,
            missing.join(" and ")
        ));
    }
    Ok((db, owner))
}

/// Writes, replaces or (without a target) removes `recoveryTarget`.
pub(super) fn set_target(
    edits: &mut Edits,
    at: &At<'_>,
    target: Option<&Target>,
    notes: &mut Vec<String>,
) -> Result<(), PlanError> {
    let src = at.src;
    let path = RECOVERY_PATH;
    let key = RECOVERY_TARGET;
    let Some(rec_node) = src.root(at.doc).and_then(|r| r.at(&yaml::parse_path(path))) else {
        return Ok(());
    };
    let existing = src
        .value_at(at.doc, &yaml::parse_path(&format!("{path}.{key}")))
        .filter(|v| !v.is_null());
    match (target, existing) {
        (Some(t), existing) => {
            if existing == Some(&t.to_value()) && rec_node.get(key).is_some() {
                return Ok(());
            }
            // After database/owner, also when those are inserted at the
            // same place in this plan (insertions keep their order).
            let anchor = ["owner", "database", "source"]
                .into_iter()
                .find(|a| rec_node.get(a).is_some());
            let c = src.set_entry(at.doc, path, key, &t.to_y(), anchor)?;
            edits.add(at, Some(c));
        }
        (None, Some(old)) => {
            let c = src.remove_entry(at.doc, path, key)?;
            edits.add(at, Some(c));
            notes.push(format!(
                "{}: removed the stale {path}.{key} ({old}): without --target-* the restore replays to the end of the archived WAL. A target older than the first recoverability point fails with \"recovery ended before configured recovery target was reached\"",
                src.display,
            ));
        }
        (None, None) => {}
    }
    Ok(())
}

/// A core-built entry value as YAML; `CopyFromArchive` copies the archive
/// block's value of that key (`archive`: the host's reading of
/// [`lineage::INLINE_ARCHIVE_PATH`], merge keys applied), in the key order
/// it is `written` in, or drops the key when it has none.
pub(super) fn entry_to_y(
    v: &EntryValue,
    archive: Option<&Value>,
    written: Option<&Node>,
) -> Option<Y> {
    match v {
        EntryValue::Str(s) => Some(Y::s(s.clone())),
        EntryValue::Map(m) => Some(Y::Map(
            m.iter()
                .filter_map(|(k, v)| entry_to_y(v, archive, written).map(|y| (k.clone(), y)))
                .collect(),
        )),
        EntryValue::CopyFromArchive(key) => archive?
            .get(*key)
            .filter(|v| !v.is_null())
            .map(|v| Y::from_value(v, written.and_then(|w| w.get(key)))),
    }
}
