//! `--restore-as`: a side-by-side Cluster restoring the current lineage into
//! a new name with its own archive lineage (`<new-name>-v1`).

use cnpg_guard_core::cnpg::lineage::{self, Lineage, Store};
use cnpg_guard_core::cnpg::{BARMAN_PLUGIN, str_at};
use serde_json::{Value, json};

use crate::error::PlanError;
use crate::plan::Target;
use crate::yaml::{self, Y};

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
    let name = str_at(current, &["metadata", "name"]).unwrap_or_default();
    if name == new_name {
        return Err(PlanError::input(
            format!("--restore-as {new_name} is the name of the live Cluster"),
            "choose a new name, e.g. <cluster>-drill",
        ));
    }
    let from = lineage::archive(current).ok_or_else(|| {
        PlanError::input(
            "the Cluster archives no WAL: there is nothing to restore from",
            "configure WAL archiving (barman plugin or barmanObjectStore) first",
        )
        .at("spec.plugins")
    })?;
    let boot = current
        .pointer("/spec/bootstrap/initdb")
        .or(current.pointer("/spec/bootstrap/recovery"));
    let db = database
        .map(str::to_string)
        .or(boot
            .and_then(|b| b.get("database"))
            .and_then(Value::as_str)
            .map(str::to_string))
        .unwrap_or_else(|| "app".into());
    let ow = owner
        .map(str::to_string)
        .or(boot
            .and_then(|b| b.get("owner"))
            .and_then(Value::as_str)
            .map(str::to_string))
        .unwrap_or_else(|| db.clone());
    let to = format!("{new_name}-v1");

    let mut spec = match current.get("spec") {
        Some(Value::Object(m)) => m.clone(),
        _ => serde_json::Map::new(),
    };
    spec.remove("bootstrap");
    spec.remove("externalClusters");
    spec.remove("replica");
    let mut recovery = serde_json::Map::new();
    recovery.insert("source".into(), json!("origin"));
    recovery.insert("database".into(), json!(db));
    recovery.insert("owner".into(), json!(ow));
    if let Some(secret) = boot.and_then(|b| b.pointer("/secret/name")) {
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
    spec.insert("bootstrap".into(), json!({"recovery": recovery}));
    match &from.store {
        Store::ObjectStore { name: store, .. } => {
            spec.insert(
                "externalClusters".into(),
                json!([{"name": "origin", "plugin": {"name": BARMAN_PLUGIN,
                    "parameters": {"barmanObjectName": store, "serverName": from.server_name}}}]),
            );
            if let Some(plugins) = spec.get_mut("plugins").and_then(Value::as_array_mut) {
                for p in plugins.iter_mut() {
                    if p.get("name").and_then(Value::as_str) == Some(BARMAN_PLUGIN)
                        && let Some(params) = p.get_mut("parameters").and_then(Value::as_object_mut)
                    {
                        params.insert("serverName".into(), json!(to));
                    }
                }
            }
        }
        Store::Inline { .. } => {
            let mut bos = current
                .pointer("/spec/backup/barmanObjectStore")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            bos.retain(|k, _| crate::plan::SOURCE_STORE_KEYS.contains(&k.as_str()));
            bos.insert("serverName".into(), json!(from.server_name));
            spec.insert(
                "externalClusters".into(),
                json!([{"name": "origin", "barmanObjectStore": bos}]),
            );
            if let Some(b) = spec
                .get_mut("backup")
                .and_then(|b| b.get_mut("barmanObjectStore"))
                .and_then(Value::as_object_mut)
            {
                b.insert("serverName".into(), json!(to));
            }
        }
    }
    let mut metadata = serde_json::Map::new();
    metadata.insert("name".into(), json!(new_name));
    if let Some(ns) = str_at(current, &["metadata", "namespace"]) {
        metadata.insert("namespace".into(), json!(ns));
    }
    metadata.insert("labels".into(), json!({"cnpg-plan/restore-drill-of": name}));
    let object = json!({
        "apiVersion": current.get("apiVersion").cloned().unwrap_or(json!("postgresql.cnpg.io/v1")),
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
