//! `barmancloud.cnpg.io/v1` ObjectStore and `postgresql.cnpg.io/v1`
//! Backup / ScheduledBackup: the fields the rules read.

use super::cluster::NameRef;
use super::{Meta, lenient};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A barman plugin ObjectStore (plugin-barman-cloud `api/v1/objectstore_types.go` at v0.14.0).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ObjectStore {
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
    pub spec: Option<ObjectStoreSpec>,
    /// `status`.
    #[serde(deserialize_with = "lenient::object")]
    pub status: Option<ObjectStoreStatus>,
}

/// `ObjectStore.spec`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectStoreSpec {
    /// `configuration` (a barman `BarmanObjectStoreConfiguration`).
    #[serde(deserialize_with = "lenient::object")]
    pub configuration: Option<StoreConfiguration>,
    /// `retentionPolicy`, e.g. `30d`.
    #[serde(deserialize_with = "lenient::string")]
    pub retention_policy: Option<String>,
}

/// `ObjectStore.spec.configuration`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StoreConfiguration {
    /// `destinationPath`.
    #[serde(deserialize_with = "lenient::string")]
    pub destination_path: Option<String>,
    /// `endpointURL`.
    #[serde(rename = "endpointURL", deserialize_with = "lenient::string")]
    pub endpoint_url: Option<String>,
}

/// `ObjectStore.status`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectStoreStatus {
    /// `serverRecoveryWindow`, keyed by serverName: one entry per lineage
    /// that has (had) backups in this store.
    #[serde(deserialize_with = "lenient::object_map")]
    pub server_recovery_window: BTreeMap<String, RecoveryWindow>,
}

/// One `status.serverRecoveryWindow[<serverName>]` entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RecoveryWindow {
    /// `firstRecoverabilityPoint` (RFC 3339).
    #[serde(deserialize_with = "lenient::string")]
    pub first_recoverability_point: Option<String>,
    /// `lastSuccessfulBackupTime` (RFC 3339).
    #[serde(deserialize_with = "lenient::string")]
    pub last_successful_backup_time: Option<String>,
    /// `lastFailedBackupTime` (RFC 3339).
    #[serde(deserialize_with = "lenient::string")]
    pub last_failed_backup_time: Option<String>,
}

impl ObjectStore {
    /// `metadata.name` (empty when unset).
    pub fn name(&self) -> &str {
        self.metadata.as_ref().map_or("", Meta::name)
    }

    /// `spec.configuration`, when set.
    pub fn configuration(&self) -> Option<&StoreConfiguration> {
        self.spec.as_ref()?.configuration.as_ref()
    }

    /// The recovery window of one lineage, if the store has recorded one.
    pub fn recovery_window(&self, server_name: &str) -> Option<&RecoveryWindow> {
        self.status
            .as_ref()?
            .server_recovery_window
            .get(server_name)
    }

    /// Every lineage (serverName) the store has recorded a window for.
    pub fn lineages(&self) -> impl Iterator<Item = (&str, &RecoveryWindow)> {
        self.status
            .iter()
            .flat_map(|s| s.server_recovery_window.iter())
            .map(|(k, v)| (k.as_str(), v))
    }
}

/// Field masks for listing ObjectStores.
pub const OBJECT_STORE_FIELD_MASKS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata.name",
    "metadata.namespace",
    "spec.configuration.destinationPath",
    "spec.configuration.endpointURL",
    "spec.retentionPolicy",
    "status.serverRecoveryWindow",
];

/// `spec.pluginConfiguration` of a Backup / ScheduledBackup.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct PluginConfiguration {
    /// `name`.
    #[serde(deserialize_with = "lenient::string")]
    pub name: Option<String>,
    /// `parameters`.
    #[serde(deserialize_with = "lenient::string_map")]
    pub parameters: BTreeMap<String, String>,
}

/// The spec fields Backup and ScheduledBackup share, plus `schedule`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BackupSpec {
    /// `cluster.name`.
    #[serde(deserialize_with = "lenient::object")]
    pub cluster: Option<NameRef>,
    /// `method`: `barmanObjectStore` (default), `volumeSnapshot`, `plugin`.
    #[serde(deserialize_with = "lenient::string")]
    pub method: Option<String>,
    /// `pluginConfiguration`.
    #[serde(deserialize_with = "lenient::object")]
    pub plugin_configuration: Option<PluginConfiguration>,
    /// `schedule` (ScheduledBackup only).
    #[serde(deserialize_with = "lenient::string")]
    pub schedule: Option<String>,
    /// `suspend` (ScheduledBackup only): no backup is scheduled while true.
    #[serde(deserialize_with = "lenient::boolean")]
    pub suspend: Option<bool>,
    /// `immediate` (ScheduledBackup only): one backup right after creation.
    #[serde(deserialize_with = "lenient::boolean")]
    pub immediate: Option<bool>,
}

/// `Backup.status`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BackupStatus {
    /// `method` actually used.
    #[serde(deserialize_with = "lenient::string")]
    pub method: Option<String>,
    /// `phase`: `completed`, `failed`, `running`, ...
    #[serde(deserialize_with = "lenient::string")]
    pub phase: Option<String>,
    /// `pluginMetadata` is set (a plugin took the backup).
    #[serde(deserialize_with = "lenient::present")]
    pub plugin_metadata: bool,
    /// `backupId`.
    #[serde(deserialize_with = "lenient::string")]
    pub backup_id: Option<String>,
}

/// A Backup or ScheduledBackup.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Backup {
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
    pub spec: Option<BackupSpec>,
    /// `status` (Backups only).
    #[serde(deserialize_with = "lenient::object")]
    pub status: Option<BackupStatus>,
}

impl Backup {
    /// `metadata.name` (empty when unset).
    pub fn name(&self) -> &str {
        self.metadata.as_ref().map_or("", Meta::name)
    }

    /// `spec`, or an empty one.
    pub fn spec(&self) -> BackupSpecRef<'_> {
        BackupSpecRef(self.spec.as_ref())
    }

    /// True when a plugin took (or takes) this backup.
    pub fn by_plugin(&self) -> bool {
        let spec = self.spec.as_ref().and_then(|s| s.method.as_deref());
        let status = self.status.as_ref();
        spec == Some("plugin")
            || status.and_then(|s| s.method.as_deref()) == Some("plugin")
            || status.is_some_and(|s| s.plugin_metadata)
    }
}

/// Read access to an optional [`BackupSpec`].
#[derive(Debug, Clone, Copy)]
pub struct BackupSpecRef<'a>(Option<&'a BackupSpec>);

impl<'a> BackupSpecRef<'a> {
    /// `spec.cluster.name`.
    pub fn cluster(&self) -> Option<&'a str> {
        self.0?.cluster.as_ref()?.get()
    }
    /// `spec.method` as written.
    pub fn method(&self) -> Option<&'a str> {
        self.0?.method.as_deref()
    }
    /// `spec.pluginConfiguration`.
    pub fn plugin_configuration(&self) -> Option<&'a PluginConfiguration> {
        self.0?.plugin_configuration.as_ref()
    }
    /// `spec.schedule`.
    pub fn schedule(&self) -> Option<&'a str> {
        self.0?.schedule.as_deref()
    }
    /// `spec.suspend` is true.
    pub fn suspended(&self) -> bool {
        self.0.and_then(|s| s.suspend).unwrap_or(false)
    }
    /// `spec.immediate` is true.
    pub fn immediate(&self) -> bool {
        self.0.and_then(|s| s.immediate).unwrap_or(false)
    }
}

/// Field masks for listing Backups.
pub const BACKUP_FIELD_MASKS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata.name",
    "metadata.namespace",
    "spec.cluster.name",
    "spec.method",
    "spec.pluginConfiguration.name",
    "status.method",
    "status.phase",
    "status.pluginMetadata",
    "status.backupId",
];

/// A ScheduledBackup has the same shape as far as the rules read.
pub type ScheduledBackup = Backup;

/// Field masks for listing ScheduledBackups.
pub const SCHEDULED_BACKUP_FIELD_MASKS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata.name",
    "metadata.namespace",
    "spec.cluster.name",
    "spec.method",
    "spec.schedule",
    "spec.suspend",
    "spec.immediate",
];
