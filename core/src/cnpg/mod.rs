//! CloudNativePG semantics, encoded once. Every default here cites where CNPG
//! or the barman-cloud plugin defines it (CNPG v1.30, plugin-barman-cloud v0.14).

pub mod cron;
pub mod lineage;

use crate::view::cluster::ExternalCluster;
use crate::view::{Cluster, PluginEntry};

/// Name of the barman-cloud CNPG-I plugin (plugin-barman-cloud
/// `internal/cnpgi/metadata/constants.go`).
pub const BARMAN_PLUGIN: &str = "barman-cloud.cloudnative-pg.io";

/// API group of Cluster, ScheduledBackup and Backup.
pub const CNPG_GROUP: &str = "postgresql.cnpg.io";
/// API group of the barman plugin's ObjectStore.
pub const BARMAN_GROUP: &str = "barmancloud.cnpg.io";

/// Annotation that disables every empty-WAL-archive check (CNPG's and the
/// plugin's), only when its value is exactly `enabled`
/// (cnpg@v1.30.0 `pkg/utils/labels_annotations.go:341,543`; `docs/cnpg.md` §3).
pub const SKIP_EMPTY_WAL_ARCHIVE_CHECK: &str = "cnpg.io/skipEmptyWalArchiveCheck";

/// Annotation that turns WAL archiving off (`archive_mode=off`), only when its
/// value is exactly `enabled` (cnpg@v1.30.0 `pkg/utils/labels_annotations.go:548-550`,
/// `pkg/postgres/configuration.go:737-747`; `docs/cnpg.md` §9).
pub const SKIP_WAL_ARCHIVING: &str = "cnpg.io/skipWalArchiving";

/// Label CNPG puts on every PVC it creates (cnpg@v1.30.0
/// `pkg/utils/labels_annotations.go:393-399`, set from `api/v1/cluster_funcs.go:1326`).
/// CNPG finds its PVCs by ownerReference and does not re-add this label
/// (`docs/cnpg.md` §10).
pub const CLUSTER_LABEL: &str = "cnpg.io/cluster";

/// The three bootstrap methods, by their JSON keys (cnpg@v1.30.0 `api/v1/cluster_types.go:1711`).
pub const BOOTSTRAP_METHODS: [&str; 3] = ["initdb", "recovery", "pg_basebackup"];

/// Label CNPG-managed PVCs and pods carry with their Cluster's name; hosts
/// select a Cluster's PVCs with it (`kubectl delete pvc -l cnpg.io/cluster=<name>`).
pub const CLUSTER_LABEL_SELECTOR_PREFIX: &str = "cnpg.io/cluster=";

/// `parameters` key of a barman plugin entry naming the ObjectStore
/// (plugin-barman-cloud@v0.14.0 `internal/cnpgi/operator/config/config.go:160,170,180`;
/// `docs/cnpg.md` §5).
pub const PARAM_BARMAN_OBJECT_NAME: &str = "barmanObjectName";
/// `parameters` key of a barman plugin entry naming the lineage (`config.go:151,161,171`).
pub const PARAM_SERVER_NAME: &str = "serverName";
/// Every `parameters` key the barman plugin v0.14 reads, for archive,
/// recovery and replica entries alike. Keys are case-sensitive and nothing
/// validates the map (`docs/cnpg.md` §5.4): any other key is silently ignored.
pub const PLUGIN_PARAMETER_KEYS: &[&str] = &[PARAM_BARMAN_OBJECT_NAME, PARAM_SERVER_NAME];

/// CNPG's default application database (`api/v1/cluster_defaults.go:45-46`
/// at v1.30.0); the owner defaults to the database name (`:249-251`,
/// `:268-270`, `:277-279`).
pub const DEFAULT_DATABASE: &str = "app";

pub use crate::view::Kind;

/// True if a plugin entry is enabled: `enabled` defaults to true (cnpg@v1.30.0
/// CRD default `api/v1/cluster_types.go:2599-2602`; `IsEnabled()` treats nil
/// as true, `api/v1/cluster_funcs.go:410-416`). A disabled barman entry is
/// still read by the plugin's restore job and reconciler (`docs/cnpg.md` §11).
pub fn plugin_enabled(plugin: &PluginEntry) -> bool {
    plugin.enabled.unwrap_or(true)
}

/// True if the entry names the barman-cloud plugin.
pub fn is_barman(plugin: &PluginEntry) -> bool {
    plugin.name.as_deref() == Some(BARMAN_PLUGIN)
}

/// A plugin's `parameters[key]` as a non-empty string.
pub fn plugin_param<'a>(plugin: &'a PluginEntry, key: &str) -> Option<&'a str> {
    plugin
        .parameters
        .get(key)
        .map(String::as_str)
        .filter(|s| !s.is_empty())
}

/// The bootstrap methods set in `spec.bootstrap`, in CNPG's order.
pub fn bootstrap_methods(cluster: &Cluster) -> Vec<&'static str> {
    let b = cluster.bootstrap();
    let [initdb, recovery, basebackup] = BOOTSTRAP_METHODS;
    let mut out = Vec::new();
    if b.initdb.is_some() {
        out.push(initdb);
    }
    if b.recovery.is_some() {
        out.push(recovery);
    }
    if b.pg_basebackup.is_some() {
        out.push(basebackup);
    }
    out
}

/// Who owns the application database after bootstrap, with CNPG's defaults
/// applied (database `app`, owner = database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The bootstrap method it was read from (`initdb`, `recovery`, `pg_basebackup`).
    pub method: &'static str,
    /// Effective database name.
    pub database: String,
    /// Effective owner.
    pub owner: String,
    /// `secret.name`, if set.
    pub secret: Option<String>,
    /// `database` was written (not defaulted).
    pub database_explicit: bool,
    /// `owner` was written (not defaulted).
    pub owner_explicit: bool,
}

impl Identity {
    fn new(
        method: &'static str,
        database: Option<&str>,
        owner: Option<&str>,
        secret: Option<&str>,
    ) -> Identity {
        let database = database.filter(|d| !d.is_empty());
        let owner = owner.filter(|o| !o.is_empty());
        let db = database.unwrap_or(DEFAULT_DATABASE).to_string();
        Identity {
            method,
            owner: owner.map_or_else(|| db.clone(), str::to_string),
            database: db,
            secret: secret.filter(|s| !s.is_empty()).map(str::to_string),
            database_explicit: database.is_some(),
            owner_explicit: owner.is_some(),
        }
    }
}

/// The application identity of a Cluster's bootstrap: the first method set
/// (initdb, recovery, pg_basebackup); initdb's defaults when none is set
/// (CNPG defaults a missing bootstrap to initdb, `cluster_defaults.go:233-240`).
pub fn bootstrap_identity(cluster: &Cluster) -> Identity {
    let b = cluster.bootstrap();
    if let Some(r) = &b.recovery
        && b.initdb.is_none()
    {
        return Identity::new(
            "recovery",
            r.database.as_deref(),
            r.owner.as_deref(),
            r.secret.as_ref().and_then(|s| s.get()),
        );
    }
    let (method, spec) = match (&b.initdb, &b.pg_basebackup) {
        (Some(i), _) => ("initdb", Some(i)),
        (None, Some(p)) => ("pg_basebackup", Some(p)),
        (None, None) => ("initdb", None),
    };
    Identity::new(
        method,
        spec.and_then(|s| s.database.as_deref()),
        spec.and_then(|s| s.owner.as_deref()),
        spec.and_then(|s| s.secret.as_ref()).and_then(|s| s.get()),
    )
}

/// Finds `spec.externalClusters[]` by name, with its index.
pub fn find_external_cluster<'a>(
    cluster: &'a Cluster,
    name: &str,
) -> Option<(usize, &'a ExternalCluster)> {
    cluster
        .spec()
        .external_clusters
        .iter()
        .enumerate()
        .find(|(_, ec)| ec.name.as_deref() == Some(name))
}
