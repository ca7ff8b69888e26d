//! CloudNativePG semantics, encoded once. Every default here cites where CNPG
//! or the barman-cloud plugin defines it (CNPG v1.30, plugin-barman-cloud v0.14).

pub mod cron;
pub mod lineage;

use serde_json::Value;

/// Name of the barman-cloud CNPG-I plugin (plugin-barman-cloud
/// `internal/cnpgi/metadata/constants.go`).
pub const BARMAN_PLUGIN: &str = "barman-cloud.cloudnative-pg.io";

/// API group of Cluster, ScheduledBackup and Backup.
pub const CNPG_GROUP: &str = "postgresql.cnpg.io";
/// API group of the barman plugin's ObjectStore.
pub const BARMAN_GROUP: &str = "barmancloud.cnpg.io";

/// Annotation that disables the empty-WAL-archive check, only when its value
/// is exactly `enabled` (CNPG `pkg/utils/labels_annotations.go:205,542`).
pub const SKIP_EMPTY_WAL_ARCHIVE_CHECK: &str = "cnpg.io/skipEmptyWalArchiveCheck";

/// Label CNPG puts on every PVC it owns (`api/v1/cluster_funcs.go:1333`).
pub const CLUSTER_LABEL: &str = "cnpg.io/cluster";

/// The three bootstrap methods, by their JSON keys (`cluster_types.go` ~1765).
pub const BOOTSTRAP_METHODS: [&str; 3] = ["initdb", "recovery", "pg_basebackup"];

/// The CNPG-related kinds the rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `postgresql.cnpg.io` Cluster.
    Cluster,
    /// `postgresql.cnpg.io` ScheduledBackup.
    ScheduledBackup,
    /// `postgresql.cnpg.io` Backup.
    Backup,
    /// `barmancloud.cnpg.io` ObjectStore.
    ObjectStore,
    /// Core `v1` PersistentVolumeClaim.
    PersistentVolumeClaim,
}

impl Kind {
    /// Classifies an object by `apiVersion` group and `kind`.
    pub fn of(api_version: &str, kind: &str) -> Option<Kind> {
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        match (group, kind) {
            (CNPG_GROUP, "Cluster") => Some(Kind::Cluster),
            (CNPG_GROUP, "ScheduledBackup") => Some(Kind::ScheduledBackup),
            (CNPG_GROUP, "Backup") => Some(Kind::Backup),
            (BARMAN_GROUP, "ObjectStore") => Some(Kind::ObjectStore),
            ("", "PersistentVolumeClaim") => Some(Kind::PersistentVolumeClaim),
            _ => None,
        }
    }
}

/// `obj[path...]` as a string, if present and a string.
pub fn str_at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(obj, path).and_then(Value::as_str)
}

/// `obj[path...]`, if present and not null.
pub fn at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = obj;
    for key in path {
        cur = cur.get(key)?;
    }
    if cur.is_null() { None } else { Some(cur) }
}

/// `metadata.name`.
pub fn name(obj: &Value) -> &str {
    str_at(obj, &["metadata", "name"]).unwrap_or_default()
}

/// `metadata.namespace`, or `fallback` when absent.
pub fn namespace<'a>(obj: &'a Value, fallback: &'a str) -> &'a str {
    match str_at(obj, &["metadata", "namespace"]) {
        Some(ns) if !ns.is_empty() => ns,
        _ => fallback,
    }
}

/// An annotation value.
pub fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

/// The bootstrap methods present in `spec.bootstrap` (non-null keys), in
/// CNPG's order.
pub fn bootstrap_methods(cluster: &Value) -> Vec<&'static str> {
    BOOTSTRAP_METHODS
        .iter()
        .copied()
        .filter(|m| at(cluster, &["spec", "bootstrap", m]).is_some())
        .collect()
}

/// True if a plugin entry is enabled: `enabled` defaults to true
/// (CRD default; `IsEnabled()` treats nil as true, `cluster_funcs.go:420`).
pub fn plugin_enabled(plugin: &Value) -> bool {
    plugin
        .get("enabled")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// Iterates `(index, entry)` over an array at `path`; empty if absent.
pub fn items<'a>(obj: &'a Value, path: &[&str]) -> impl Iterator<Item = (usize, &'a Value)> {
    at(obj, path)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
}

/// Reads a plugin's `parameters[key]` as a non-empty string.
pub fn plugin_param<'a>(plugin: &'a Value, key: &str) -> Option<&'a str> {
    str_at(plugin, &["parameters", key]).filter(|s| !s.is_empty())
}
