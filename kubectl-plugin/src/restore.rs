//! `--restore-as`: a side-by-side Cluster restoring the current lineage into
//! a new name with its own archive lineage (`<new-name>-v1`).

use cnpg_guard_core::cnpg::bootstrap_identity;
use cnpg_guard_core::cnpg::lineage::{self, EntryValue, Lineage};
use cnpg_guard_core::view::Cluster;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::PlanError;
use crate::plan::Target;
use crate::yaml::{self, Seg, Y};

/// The drill manifest and what it restores.
#[derive(Debug, Clone)]
pub struct RestoreAs {
    /// The new Cluster object.
    pub object: Value,
    /// YAML text of the manifest.
    pub manifest: String,
    /// The lineage restored from.
    pub from: Lineage,
    /// The new archive serverName.
    pub to: String,
    /// Database and owner.
    pub database: String,
    /// Owner role.
    pub owner: String,
}

/// Builds the drill Cluster from the CURRENT rendered Cluster.
pub fn build(
    current: &Value,
    new_name: &str,
    database: Option<&str>,
    owner: Option<&str>,
    target: Option<&Target>,
) -> Result<RestoreAs, PlanError> {
    validate_name(new_name)?;
    let view = Cluster::deserialize(current).unwrap_or_default();
    let name = view.name();
    if name == new_name {
        return Err(PlanError::input(
            format!("--restore-as {new_name} is the name of the live Cluster"),
            "choose a new name, e.g. <cluster>-drill",
        ));
    }
    let namespace = view.metadata.as_ref().and_then(|m| m.namespace.as_deref());
    let from = lineage::archive(&view, namespace.unwrap_or_default()).ok_or_else(|| {
        PlanError::input(
            "the Cluster archives no WAL: there is nothing to restore from",
            "configure WAL archiving (barman plugin or barmanObjectStore) first",
        )
        .at("spec.plugins")
    })?;
    // The identity the current Cluster bootstrapped with, CNPG defaults
    // applied; an explicit --database also becomes the default owner.
    let identity = bootstrap_identity(&view);
    let db = database.map_or(identity.database, str::to_string);
    let ow = owner
        .map(str::to_string)
        .or(identity.owner_explicit.then_some(identity.owner))
        .unwrap_or_else(|| db.clone());
    // The drill's own lineage starts at version 1.
    let to = lineage::first_server_name(new_name);

    let mut spec = match current.get("spec") {
        Some(Value::Object(m)) => Value::Object(m.clone()),
        _ => json!({}),
    };
    if let Some(m) = spec.as_object_mut() {
        m.remove("bootstrap");
        m.remove("externalClusters");
        m.remove("replica");
    }
    let mut recovery = serde_json::Map::new();
    recovery.insert("source".into(), json!("origin"));
    recovery.insert("database".into(), json!(db));
    recovery.insert("owner".into(), json!(ow));
    if let Some(secret) = &identity.secret {
        recovery.insert("secret".into(), json!({"name": secret}));
    }
    let rt = match target {
        Some(Target::Time(t, _)) => Some(json!({"targetTime": t})),
        Some(Target::Lsn(l)) => Some(json!({"targetLSN": l})),
        Some(Target::Immediate) => Some(json!({"targetImmediate": true})),
        None => None,
    };
    if let Some(rt) = rt {
        recovery.insert("recoveryTarget".into(), rt);
    }
    if let Some(m) = spec.as_object_mut() {
        m.insert("bootstrap".into(), json!({"recovery": recovery}));
    }
    // The source entry reads the CURRENT lineage (the core's shape).
    let archive_block = current.pointer("/spec/backup/barmanObjectStore");
    let origin = entry_to_json(
        &EntryValue::Map(lineage::source_entry("origin", &from)),
        archive_block,
    );
    if let (Some(m), Some(origin)) = (spec.as_object_mut(), origin) {
        m.insert("externalClusters".into(), json!([origin]));
    }
    // Every archive of the current form (plugin or in-tree) writes the new
    // lineage, at the field the core read it from.
    let same_form =
        |l: &Lineage| std::mem::discriminant(&l.store) == std::mem::discriminant(&from.store);
    for l in lineage::archives(&view, namespace.unwrap_or_default())
        .iter()
        .filter(|l| same_form(l))
    {
        let path = yaml::parse_path(&l.server_name_path);
        // Paths are `spec.…`: `spec` is the copy being built.
        if let Some((Seg::Key(first), rest)) = path.split_first()
            && first == "spec"
        {
            set_at(&mut spec, rest, json!(to));
        }
    }
    let mut metadata = serde_json::Map::new();
    metadata.insert("name".into(), json!(new_name));
    if let Some(ns) = namespace {
        metadata.insert("namespace".into(), json!(ns));
    }
    metadata.insert("labels".into(), json!({"cnpg-plan/restore-drill-of": name}));
    let object = json!({
        "apiVersion": current.get("apiVersion").cloned().unwrap_or(json!(format!("{}/v1", cnpg_guard_core::cnpg::CNPG_GROUP))),
        "kind": "Cluster",
        "metadata": metadata,
        "spec": spec,
    });
    let header = format!(
        "# Restore drill generated by `kubectl cnpg-plan --restore-as {new_name}`.\n# Restores Cluster {name} from {}\n# into a NEW Cluster that archives to serverName {to}.\n# The live Cluster is not touched. Delete this one when done.\n",
        from.describe()
    );
    let manifest = format!("{header}{}", yaml::emit(&to_y(&object), 0));
    Ok(RestoreAs {
        object,
        manifest,
        from,
        to,
        database: db,
        owner: ow,
    })
}

/// A core-built entry value as JSON; `CopyFromArchive` copies the value as
/// written from `archive` (`spec.backup.barmanObjectStore`), or drops the key.
fn entry_to_json(v: &EntryValue, archive: Option<&Value>) -> Option<Value> {
    match v {
        EntryValue::Str(s) => Some(json!(s)),
        EntryValue::Map(m) => Some(Value::Object(
            m.iter()
                .filter_map(|(k, v)| entry_to_json(v, archive).map(|j| (k.clone(), j)))
                .collect(),
        )),
        EntryValue::CopyFromArchive(key) => archive?.get(*key).filter(|v| !v.is_null()).cloned(),
    }
}

/// Sets `value` at `path` below `root` when the parent exists (a mapping,
/// reached through mappings and sequences). Returns whether it was set.
fn set_at(root: &mut Value, path: &[Seg], value: Value) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut cur = root;
    for seg in parents {
        let next = match seg {
            Seg::Key(k) => cur.get_mut(k.as_str()),
            Seg::Index(i) => cur.get_mut(*i),
        };
        let Some(next) = next else {
            return false;
        };
        cur = next;
    }
    match (last, cur.as_object_mut()) {
        (Seg::Key(k), Some(m)) => {
            m.insert(k.clone(), value);
            true
        }
        _ => false,
    }
}

fn validate_name(n: &str) -> Result<(), PlanError> {
    let ok = !n.is_empty()
        && n.len() <= 50
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && n.starts_with(|c: char| c.is_ascii_lowercase())
        && !n.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(PlanError::input(
            format!("--restore-as '{n}' is not a valid Cluster name"),
            "use lower-case letters, digits and '-', starting with a letter (at most 50 characters: CNPG derives pod and service names from it)",
        ))
    }
}

/// JSON (keys sorted, as kustomize prints them) to the emitter's tree;
/// `apiVersion`, `kind`, `metadata`, `spec` lead.
pub fn to_y(v: &Value) -> Y {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            let rank = |k: &str| match k {
                "apiVersion" => 0,
                "kind" => 1,
                "metadata" => 2,
                "name" => 3,
                "namespace" | "source" => 4,
                "spec" => 5,
                _ => 6,
            };
            keys.sort_by_key(|k| (rank(k), k.to_string()));
            Y::Map(
                keys.into_iter()
                    .filter_map(|k| m.get(k).map(|val| (k.clone(), to_y(val))))
                    .collect(),
            )
        }
        Value::Array(a) => Y::List(a.iter().map(to_y).collect()),
        Value::String(s) => Y::S(s.clone()),
        Value::Null => Y::Raw("null".into()),
        other => Y::Raw(other.to_string()),
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use cnpg_guard_core::cnpg::BARMAN_PLUGIN;

    #[test]
    fn plugin_drill_reads_the_current_lineage_and_archives_its_own() {
        let current = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": {"name": "pg", "namespace": "db"},
            "spec": {"bootstrap": {"initdb": {"database": "orders", "secret": {"name": "creds"}}},
                "plugins": [{"name": BARMAN_PLUGIN, "isWALArchiver": true,
                    "parameters": {"barmanObjectName": "store", "serverName": "pg-v3"}}]}});
        let r = build(&current, "pg-drill", None, None, None).unwrap();
        let spec = &r.object["spec"];
        assert_eq!(
            spec["externalClusters"],
            json!([{"name": "origin", "plugin": {"name": BARMAN_PLUGIN,
                "parameters": {"barmanObjectName": "store", "serverName": "pg-v3"}}}])
        );
        assert_eq!(
            spec["plugins"][0]["parameters"]["serverName"],
            "pg-drill-v1"
        );
        let rec = &spec["bootstrap"]["recovery"];
        assert_eq!(rec["database"], "orders");
        assert_eq!(rec["owner"], "orders", "the owner defaults to the database");
        assert_eq!(rec["secret"], json!({"name": "creds"}));
        assert_eq!(r.object["metadata"]["namespace"], "db");
        // --database alone also names the owner.
        let r = build(&current, "pg-drill", Some("x"), None, None).unwrap();
        assert_eq!((r.database.as_str(), r.owner.as_str()), ("x", "x"));
    }

    #[test]
    fn inline_drill_copies_the_store_keys_only() {
        let current = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": {"name": "pg"},
            "spec": {"backup": {"barmanObjectStore": {"destinationPath": "s3://b/",
                "endpointURL": "http://s3:9000", "wal": {"compression": "gzip"}}}}});
        let r = build(&current, "pg-drill", None, None, None).unwrap();
        let spec = &r.object["spec"];
        assert_eq!(
            spec["externalClusters"][0]["barmanObjectStore"],
            json!({"destinationPath": "s3://b/", "endpointURL": "http://s3:9000", "serverName": "pg"})
        );
        assert_eq!(
            spec["backup"]["barmanObjectStore"]["serverName"],
            "pg-drill-v1"
        );
        assert_eq!(
            spec["backup"]["barmanObjectStore"]["wal"],
            json!({"compression": "gzip"})
        );
        assert_eq!(
            (r.database.as_str(), r.owner.as_str()),
            (
                cnpg_guard_core::cnpg::DEFAULT_DATABASE,
                cnpg_guard_core::cnpg::DEFAULT_DATABASE
            )
        );
    }
}
