//! `postgresql.cnpg.io/v1` Cluster: the fields the rules and hosts read
//! (CNPG `api/v1/cluster_types.go` at v1.30.0).

use super::{Meta, lenient};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A Cluster, as far as cnpg-guard reads it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Cluster {
    /// `apiVersion`.
    #[serde(rename = "apiVersion", deserialize_with = "lenient::string")]
    pub api_version: Option<String>,
    /// `kind`.
    #[serde(deserialize_with = "lenient::string")]
    pub kind: Option<String>,
    /// `metadata`.
    #[serde(deserialize_with = "lenient::object")]
    pub metadata: Option<Meta>,
    /// `spec`.
    #[serde(deserialize_with = "lenient::object")]
    pub spec: Option<ClusterSpec>,
    /// `status` (live objects only).
    #[serde(deserialize_with = "lenient::object")]
    pub status: Option<ClusterStatus>,
}

/// `Cluster.spec`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterSpec {
    /// `spec.bootstrap`.
    #[serde(deserialize_with = "lenient::object")]
    pub bootstrap: Option<Bootstrap>,
    /// `spec.backup`.
    #[serde(deserialize_with = "lenient::object")]
    pub backup: Option<BackupConfiguration>,
    /// `spec.plugins`.
    #[serde(deserialize_with = "lenient::list")]
    pub plugins: Vec<PluginEntry>,
    /// `spec.externalClusters`.
    #[serde(deserialize_with = "lenient::list")]
    pub external_clusters: Vec<ExternalCluster>,
    /// `spec.replica`.
    #[serde(deserialize_with = "lenient::object")]
    pub replica: Option<Replica>,
    /// `spec.inheritedMetadata`.
    #[serde(deserialize_with = "lenient::object")]
    pub inherited_metadata: Option<InheritedMetadata>,
}

/// `spec.bootstrap`: at most one method may be set.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Bootstrap {
    /// `initdb`.
    #[serde(deserialize_with = "lenient::object")]
    pub initdb: Option<BootstrapIdentitySpec>,
    /// `recovery`.
    #[serde(deserialize_with = "lenient::object")]
    pub recovery: Option<Recovery>,
    /// `pg_basebackup`.
    #[serde(deserialize_with = "lenient::object")]
    pub pg_basebackup: Option<BootstrapIdentitySpec>,
}

/// The identity fields `initdb` and `pg_basebackup` share with `recovery`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct BootstrapIdentitySpec {
    /// `database`.
    #[serde(deserialize_with = "lenient::string")]
    pub database: Option<String>,
    /// `owner`.
    #[serde(deserialize_with = "lenient::string")]
    pub owner: Option<String>,
    /// `secret`.
    #[serde(deserialize_with = "lenient::object")]
    pub secret: Option<NameRef>,
    /// `source` (pg_basebackup only).
    #[serde(deserialize_with = "lenient::string")]
    pub source: Option<String>,
}

/// `spec.bootstrap.recovery`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Recovery {
    /// `source`: an `externalClusters` entry name.
    #[serde(deserialize_with = "lenient::string")]
    pub source: Option<String>,
    /// `backup`: a Backup object to restore.
    #[serde(deserialize_with = "lenient::object")]
    pub backup: Option<NameRef>,
    /// `volumeSnapshots` is set (content not read).
    #[serde(deserialize_with = "lenient::present")]
    pub volume_snapshots: bool,
    /// `recoveryTarget`.
    #[serde(deserialize_with = "lenient::object")]
    pub recovery_target: Option<RecoveryTarget>,
    /// `database`.
    #[serde(deserialize_with = "lenient::string")]
    pub database: Option<String>,
    /// `owner`.
    #[serde(deserialize_with = "lenient::string")]
    pub owner: Option<String>,
    /// `secret`.
    #[serde(deserialize_with = "lenient::object")]
    pub secret: Option<NameRef>,
}

/// `spec.bootstrap.recovery.recoveryTarget`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RecoveryTarget {
    /// `backupID`: pins the base backup.
    #[serde(rename = "backupID", deserialize_with = "lenient::string")]
    pub backup_id: Option<String>,
    /// `targetTime`.
    #[serde(deserialize_with = "lenient::string")]
    pub target_time: Option<String>,
    /// `targetLSN`.
    #[serde(rename = "targetLSN", deserialize_with = "lenient::string")]
    pub target_lsn: Option<String>,
    /// `targetXID`.
    #[serde(rename = "targetXID", deserialize_with = "lenient::string")]
    pub target_xid: Option<String>,
    /// `targetName`.
    #[serde(deserialize_with = "lenient::string")]
    pub target_name: Option<String>,
    /// `targetImmediate`.
    #[serde(deserialize_with = "lenient::boolean")]
    pub target_immediate: Option<bool>,
}

impl RecoveryTarget {
    /// True when the target pins what is restored: a backup id or a point in
    /// time / LSN / XID / restore point / immediate.
    pub fn pins_something(&self) -> bool {
        let set = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.is_empty());
        set(&self.backup_id)
            || set(&self.target_time)
            || set(&self.target_lsn)
            || set(&self.target_xid)
            || set(&self.target_name)
            || self.target_immediate == Some(true)
    }
}

/// `{name: ...}` references (Secrets, Backups, Clusters).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct NameRef {
    /// `name`.
    #[serde(deserialize_with = "lenient::string")]
    pub name: Option<String>,
}

impl NameRef {
    /// The name when set and non-empty.
    pub fn get(&self) -> Option<&str> {
        self.name.as_deref().filter(|n| !n.is_empty())
    }
}

/// `spec.backup`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BackupConfiguration {
    /// `barmanObjectStore` (in-tree barman; removed in CNPG 1.31).
    #[serde(deserialize_with = "lenient::object")]
    pub barman_object_store: Option<BarmanObjectStore>,
    /// `volumeSnapshot` is configured.
    #[serde(deserialize_with = "lenient::present")]
    pub volume_snapshot: bool,
}

/// An in-tree `barmanObjectStore` block (archive or externalCluster source).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BarmanObjectStore {
    /// `destinationPath`.
    #[serde(deserialize_with = "lenient::string")]
    pub destination_path: Option<String>,
    /// `endpointURL`.
    #[serde(rename = "endpointURL", deserialize_with = "lenient::string")]
    pub endpoint_url: Option<String>,
    /// `serverName`.
    #[serde(deserialize_with = "lenient::string")]
    pub server_name: Option<String>,
}

/// A CNPG-I plugin entry (`spec.plugins[]` or `externalClusters[].plugin`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PluginEntry {
    /// `name`.
    #[serde(deserialize_with = "lenient::string")]
    pub name: Option<String>,
    /// `enabled` (defaults to true).
    #[serde(deserialize_with = "lenient::boolean")]
    pub enabled: Option<bool>,
    /// `isWALArchiver`.
    #[serde(rename = "isWALArchiver", deserialize_with = "lenient::boolean")]
    pub is_wal_archiver: Option<bool>,
    /// `parameters`: a free `map[string]string`.
    #[serde(deserialize_with = "lenient::string_map")]
    pub parameters: BTreeMap<String, String>,
}

/// `spec.externalClusters[]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ExternalCluster {
    /// `name`.
    #[serde(deserialize_with = "lenient::string")]
    pub name: Option<String>,
    /// `plugin`.
    #[serde(deserialize_with = "lenient::object")]
    pub plugin: Option<PluginEntry>,
    /// `barmanObjectStore`.
    #[serde(deserialize_with = "lenient::object")]
    pub barman_object_store: Option<BarmanObjectStore>,
}

/// `spec.replica`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Replica {
    /// `enabled`.
    #[serde(deserialize_with = "lenient::boolean")]
    pub enabled: Option<bool>,
    /// `source`: an `externalClusters` entry name.
    #[serde(deserialize_with = "lenient::string")]
    pub source: Option<String>,
    /// `primary` (distributed topology).
    #[serde(deserialize_with = "lenient::string")]
    pub primary: Option<String>,
    /// `self` (distributed topology).
    #[serde(rename = "self", deserialize_with = "lenient::string")]
    pub self_: Option<String>,
}

/// `spec.inheritedMetadata`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct InheritedMetadata {
    /// `labels`.
    #[serde(deserialize_with = "lenient::string_map")]
    pub labels: BTreeMap<String, String>,
}

/// `Cluster.status`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterStatus {
    /// `conditions`.
    #[serde(deserialize_with = "lenient::list")]
    pub conditions: Vec<Condition>,
    /// `firstRecoverabilityPoint` (in-tree barman only).
    #[serde(deserialize_with = "lenient::string")]
    pub first_recoverability_point: Option<String>,
    /// `lastSuccessfulBackup` (in-tree barman only).
    #[serde(deserialize_with = "lenient::string")]
    pub last_successful_backup: Option<String>,
}

/// A status condition.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Condition {
    /// `type`.
    #[serde(rename = "type", deserialize_with = "lenient::string")]
    pub type_: Option<String>,
    /// `status`: `True`, `False`, `Unknown`.
    #[serde(deserialize_with = "lenient::string")]
    pub status: Option<String>,
    /// `reason`.
    #[serde(deserialize_with = "lenient::string")]
    pub reason: Option<String>,
    /// `message`.
    #[serde(deserialize_with = "lenient::string")]
    pub message: Option<String>,
}

impl Cluster {
    /// `spec`, or an empty one.
    pub fn spec(&self) -> &ClusterSpec {
        self.spec.as_ref().unwrap_or(&EMPTY_SPEC)
    }

    /// `spec.bootstrap`, or an empty one.
    pub fn bootstrap(&self) -> &Bootstrap {
        self.spec().bootstrap.as_ref().unwrap_or(&EMPTY_BOOTSTRAP)
    }

    /// `spec.bootstrap.recovery`, if set.
    pub fn recovery(&self) -> Option<&Recovery> {
        self.bootstrap().recovery.as_ref()
    }

    /// `spec.backup.barmanObjectStore`, if set.
    pub fn inline_archive(&self) -> Option<&BarmanObjectStore> {
        self.spec().backup.as_ref()?.barman_object_store.as_ref()
    }

    /// `metadata.name` (empty when unset).
    pub fn name(&self) -> &str {
        self.metadata.as_ref().map_or("", Meta::name)
    }

    /// `metadata.namespace` (empty when unset).
    pub fn namespace(&self) -> &str {
        self.metadata.as_ref().map_or("", |m| m.namespace_or(""))
    }

    /// A condition by type.
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.status
            .as_ref()?
            .conditions
            .iter()
            .find(|c| c.type_.as_deref() == Some(type_))
    }
}

static EMPTY_SPEC: ClusterSpec = ClusterSpec {
    bootstrap: None,
    backup: None,
    plugins: Vec::new(),
    external_clusters: Vec::new(),
    replica: None,
    inherited_metadata: None,
};

static EMPTY_BOOTSTRAP: Bootstrap = Bootstrap {
    initdb: None,
    recovery: None,
    pg_basebackup: None,
};

/// Field masks for listing Clusters (Kubewarden `field_masks`): what the
/// rules read of OTHER Clusters. Tied to the view by `tests::masks_keep_what_the_view_reads`.
pub const FIELD_MASKS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata.name",
    "metadata.namespace",
    "spec.backup.barmanObjectStore.destinationPath",
    "spec.backup.barmanObjectStore.endpointURL",
    "spec.backup.barmanObjectStore.serverName",
    // The rest of spec.backup, so "no backup section" stays distinguishable
    // from "no barmanObjectStore section" (docs/cnpg.md §6).
    "spec.backup.volumeSnapshot",
    "spec.backup.retentionPolicy",
    "spec.backup.target",
    "spec.plugins",
    "spec.externalClusters.name",
    "spec.externalClusters.plugin",
    "spec.externalClusters.barmanObjectStore.destinationPath",
    "spec.externalClusters.barmanObjectStore.endpointURL",
    "spec.externalClusters.barmanObjectStore.serverName",
];
