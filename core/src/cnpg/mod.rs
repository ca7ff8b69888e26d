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

/// `spec.bootstrap.recovery.recoveryTarget` key of a point-in-time target
/// (cnpg@v1.30.0 `api/v1/cluster_types.go:2235`; RFC 3339 or PostgreSQL
/// timestamp, no zone = UTC).
pub const TARGET_TIME: &str = "targetTime";
/// `recoveryTarget` key of an LSN target (`api/v1/cluster_types.go:2230`).
pub const TARGET_LSN: &str = "targetLSN";
/// `recoveryTarget` key that ends recovery at the first consistent state, a
/// boolean (`api/v1/cluster_types.go:2239`).
pub const TARGET_IMMEDIATE: &str = "targetImmediate";
/// The webhook's message when more than one of `targetImmediate`,
/// `targetLSN`, `targetName`, `targetXID`, `targetTime` is set: they are
/// mutually exclusive (cnpg@v1.30.0 `internal/webhook/v1/cluster_webhook.go:1512-1538`).
pub const TARGET_EXCLUSIVE_MESSAGE: &str = "Recovery target options are mutually exclusive";

/// `recoveryTarget` key pinning the base backup a recovery starts from
/// (cnpg@v1.30.0 `api/v1/cluster_types.go:2213`). The barman catalog then
/// restores exactly that completed backup or fails with "no backup found
/// with ID" (`docs/cnpg.md` §15.2). It is not one of the mutually exclusive
/// targets, so it combines with `targetTime` or `targetLSN`.
pub const TARGET_BACKUP_ID: &str = "backupID";
/// The `recoveryTarget` keys CNPG's webhook refuses without `backupID`
/// (unless restoring from volume snapshots), with
/// [`BACKUP_ID_MISSING_MESSAGE`] (cnpg@v1.30.0
/// `internal/webhook/v1/cluster_webhook.go:1485-1494`).
pub const TARGETS_NEEDING_BACKUP_ID: [&str; 3] = ["targetName", "targetXID", TARGET_IMMEDIATE];
/// The webhook's message for a target of [`TARGETS_NEEDING_BACKUP_ID`]
/// without `backupID`.
pub const BACKUP_ID_MISSING_MESSAGE: &str = "BackupID is missing";

/// The start time a barman backup id encodes, as RFC 3339 UTC
/// (`YYYY-MM-DDTHH:MM:SSZ`). Barman names a backup by its start,
/// `%Y%m%dT%H%M%S` in the instance's local time (barman@081bb8d
/// `barman/cloud.py:1410`; CNPG's instance images run in UTC). `None` for
/// anything else (a backup name, a typo).
pub fn backup_id_start(id: &str) -> Option<String> {
    let (date, time) = id.split_once('T')?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(date, 8) || !digits(time, 6) {
        return None;
    }
    let num = |s: &str, a: usize, b: usize| s.get(a..b).and_then(|v| v.parse::<u32>().ok());
    let (month, day) = (num(date, 4, 6)?, num(date, 6, 8)?);
    let (hour, minute, second) = (num(time, 0, 2)?, num(time, 2, 4)?, num(time, 4, 6)?);
    let ok = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61;
    ok.then(|| {
        format!(
            "{}-{:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z",
            date.get(..4).unwrap_or_default(),
            month
        )
    })
}

/// Serial of a new Cluster's first instance. CNPG gives an instance the first
/// serial in `[1, N]` no listed instance uses (cnpg@v1.30.0
/// `internal/controller/cluster_create.go:1119-1132`), so a Cluster created
/// from nothing (a recovery) starts at 1.
pub const FIRST_INSTANCE_SERIAL: u32 = 1;

/// Name of a Cluster's instance (its pod and PVC): `<cluster>-<serial>`
/// (cnpg@v1.30.0 `pkg/specs/pods.go:601-604`).
pub fn instance_name(cluster: &str, serial: u32) -> String {
    format!("{cluster}-{serial}")
}

/// Role of the job that restores a new primary from a backup; it names the
/// job's only container too (cnpg@v1.30.0 `pkg/specs/jobs.go:316,376-378`).
pub const FULL_RECOVERY_ROLE: &str = "full-recovery";

/// Name of the job restoring a recovered Cluster's first instance:
/// `<instance>-full-recovery` (cnpg@v1.30.0 `pkg/specs/jobs.go:321-324`).
pub fn full_recovery_job(cluster: &str) -> String {
    format!(
        "{}-{FULL_RECOVERY_ROLE}",
        instance_name(cluster, FIRST_INSTANCE_SERIAL)
    )
}

/// The application Secret of a Cluster whose bootstrap names none:
/// `<cluster>-app` (cnpg@v1.30.0 `api/v1/cluster_types.go:43-45`,
/// `api/v1/cluster_funcs.go:569-591`).
pub fn default_app_secret(cluster: &str) -> String {
    format!("{cluster}-app")
}

/// The application Secret CNPG uses for a Cluster (`GetApplicationSecretName`,
/// cnpg@v1.30.0 `api/v1/cluster_funcs.go:569-591`): `recovery.secret.name`,
/// else pg_basebackup's, else initdb's, else `<cluster>-app`
/// ([`default_app_secret`]). Applications read their credentials from it.
pub fn application_secret(cluster: &Cluster) -> String {
    let b = cluster.bootstrap();
    let named =
        |s: Option<&crate::view::cluster::NameRef>| s.and_then(|s| s.get()).map(str::to_string);
    b.recovery
        .as_ref()
        .and_then(|r| named(r.secret.as_ref()))
        .or_else(|| {
            b.pg_basebackup
                .as_ref()
                .and_then(|p| named(p.secret.as_ref()))
        })
        .or_else(|| b.initdb.as_ref().and_then(|i| named(i.secret.as_ref())))
        .unwrap_or_else(|| default_app_secret(cluster.name()))
}

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

impl Identity {
    /// The identity a recovery bootstrap creates when it restores this one,
    /// with optional overrides. The database is the override, else this one's;
    /// the owner is the override, else this one's owner if it was WRITTEN,
    /// else the database: CNPG defaults a recovery's owner to its database
    /// (cnpg@v1.30.0 `api/v1/cluster_defaults.go:264-271`), so a database
    /// renamed without an owner gets an owner of the same name, not the old
    /// defaulted one. The secret is kept.
    pub fn recovered_as(&self, database: Option<&str>, owner: Option<&str>) -> Identity {
        let database = database.filter(|d| !d.is_empty());
        let owner = owner
            .filter(|o| !o.is_empty())
            .or(self.owner_explicit.then_some(self.owner.as_str()));
        Identity::new(
            "recovery",
            Some(database.unwrap_or(&self.database)),
            owner,
            self.secret.as_deref(),
        )
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

/// The `spec.bootstrap.recovery` block that restores into `identity` from
/// the `spec.externalClusters[]` entry named `source`
/// (cnpg@v1.30.0 `api/v1/cluster_types.go:2106-2154`): `source`, then
/// `database` and `owner` written out (CNPG would default both to `app`,
/// `api/v1/cluster_defaults.go:264-271`), then `secret.name` when the
/// identity has one. A PITR `recoveryTarget` is the caller's to add. Keys
/// in the order people write them.
pub fn recovery_entry(source: &str, identity: &Identity) -> Vec<(String, lineage::EntryValue)> {
    use lineage::EntryValue::{Map, Str};
    let mut entry = vec![
        ("source".to_string(), Str(source.to_string())),
        ("database".to_string(), Str(identity.database.clone())),
        ("owner".to_string(), Str(identity.owner.clone())),
    ];
    if let Some(secret) = &identity.secret {
        entry.push((
            "secret".to_string(),
            Map(vec![("name".to_string(), Str(secret.clone()))]),
        ));
    }
    entry
}

/// Whether CNPG treats the Cluster as a replica cluster (cnpg@v1.30.0
/// `api/v1/cluster_funcs.go:1086-1112`, `IsReplica`): no `spec.replica`,
/// no; `enabled` written, its value; otherwise `self` (default: the
/// Cluster's name) differs from `primary`.
pub fn is_replica(cluster: &Cluster) -> bool {
    let Some(r) = cluster.spec().replica.as_ref() else {
        return false;
    };
    if let Some(enabled) = r.enabled {
        return enabled;
    }
    let me = r
        .self_
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or(cluster.name());
    r.primary.as_deref().unwrap_or_default() != me
}

/// Whether a recovery bootstrap leaves the application database to CNPG's
/// default: `recovery` is the one bootstrap method, the Cluster is not a
/// replica, and `database` is not written. CNPG then sets the database to
/// `app` and an unset owner to the database (cnpg@v1.30.0
/// `api/v1/cluster_defaults.go:72-75,264-271`); because both are then
/// set, the restore creates them: `CREATE ROLE app LOGIN` and
/// `CREATE DATABASE app OWNER app` next to the restored data
/// (`api/v1/cluster_funcs.go:1002-1018`, `pkg/management/postgres/restore.go:283-286,949-958`,
/// `pkg/management/postgres/initdb.go:308-382`), resets that role's password
/// from the application secret (`internal/management/controller/instance_controller.go:1387-1391`),
/// and, without `recovery.secret`, generates `<cluster>-app` naming
/// database and user `app` (`internal/controller/cluster_create.go:222-240`,
/// `api/v1/cluster_funcs.go:569-591,905-911`). Replicas create no
/// application database (`cluster_funcs.go:1003-1006`).
pub fn recovery_defaults_app_database(cluster: &Cluster) -> bool {
    let b = cluster.bootstrap();
    let Some(r) = &b.recovery else {
        return false;
    };
    b.initdb.is_none()
        && b.pg_basebackup.is_none()
        && !is_replica(cluster)
        && r.database.as_deref().is_none_or(str::is_empty)
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    fn identity(initdb: serde_json::Value) -> Identity {
        let c = Cluster::deserialize(&json!({"spec": {"bootstrap": {"initdb": initdb}}})).unwrap();
        bootstrap_identity(&c)
    }

    #[test]
    fn recovered_identity_defaults_the_owner_to_the_database() {
        // (initdb, --database, --owner) -> (database, owner)
        let cases = [
            (json!({}), None, None, ("app", "app")),
            (
                json!({"database": "orders"}),
                None,
                None,
                ("orders", "orders"),
            ),
            (json!({"database": "orders"}), Some("x"), None, ("x", "x")),
            (
                json!({"database": "orders", "owner": "shop"}),
                Some("x"),
                None,
                ("x", "shop"),
            ),
            (
                json!({"database": "orders"}),
                None,
                Some("o"),
                ("orders", "o"),
            ),
            (
                json!({"database": "orders"}),
                Some(""),
                Some(""),
                ("orders", "orders"),
            ),
        ];
        for (initdb, db, owner, want) in cases {
            let r = identity(initdb.clone()).recovered_as(db, owner);
            assert_eq!(
                (r.database.as_str(), r.owner.as_str()),
                want,
                "{initdb} {db:?} {owner:?}"
            );
            assert_eq!(r.method, "recovery");
        }
        let r = identity(json!({"secret": {"name": "creds"}})).recovered_as(None, None);
        assert_eq!(r.secret.as_deref(), Some("creds"));
    }

    #[test]
    fn recovery_entry_names_database_owner_and_secret() {
        use lineage::EntryValue::{Map, Str};
        let s = |v: &str| Str(v.to_string());
        let id = identity(json!({"database": "orders", "secret": {"name": "creds"}}));
        assert_eq!(
            recovery_entry("origin", &id),
            vec![
                ("source".to_string(), s("origin")),
                ("database".to_string(), s("orders")),
                ("owner".to_string(), s("orders")),
                (
                    "secret".to_string(),
                    Map(vec![("name".to_string(), s("creds"))])
                ),
            ]
        );
        assert_eq!(recovery_entry("origin", &identity(json!({}))).len(), 3);
    }

    #[test]
    fn recovery_without_a_database_defaults_to_app() {
        let c = |spec: serde_json::Value| {
            Cluster::deserialize(&json!({"metadata": {"name": "pg"}, "spec": spec})).unwrap()
        };
        // (spec, defaults to app)
        let cases = [
            (json!({"bootstrap": {"recovery": {"source": "o"}}}), true),
            (
                json!({"bootstrap": {"recovery": {"source": "o", "owner": "shop"}}}),
                true,
            ),
            (
                json!({"bootstrap": {"recovery": {"source": "o", "database": ""}}}),
                true,
            ),
            (
                json!({"bootstrap": {"recovery": {"source": "o", "database": "orders"}}}),
                false,
            ),
            (json!({"bootstrap": {"initdb": {}}}), false),
            (json!({}), false),
            // Two methods: dual-bootstrap's finding, not this one.
            (
                json!({"bootstrap": {"initdb": {}, "recovery": {"source": "o"}}}),
                false,
            ),
            // Replicas create no application database.
            (
                json!({"bootstrap": {"recovery": {"source": "o"}}, "replica": {"enabled": true, "source": "o"}}),
                false,
            ),
            (
                json!({"bootstrap": {"recovery": {"source": "o"}}, "replica": {"enabled": false, "source": "o"}}),
                true,
            ),
        ];
        for (spec, want) in cases {
            assert_eq!(
                recovery_defaults_app_database(&c(spec.clone())),
                want,
                "{spec}"
            );
        }
    }

    #[test]
    fn replica_as_cnpg_reads_it() {
        let c = |replica: serde_json::Value| {
            Cluster::deserialize(&json!({"metadata": {"name": "pg"}, "spec": {"replica": replica}}))
                .unwrap()
        };
        assert!(!is_replica(&Cluster::default()));
        assert!(is_replica(&c(json!({"enabled": true}))));
        assert!(!is_replica(&c(
            json!({"enabled": false, "primary": "other"})
        )));
        // Distributed topology: self defaults to the Cluster's name.
        assert!(!is_replica(&c(json!({"primary": "pg"}))));
        assert!(is_replica(&c(json!({"primary": "pg-a"}))));
        assert!(!is_replica(&c(json!({"primary": "pg-b", "self": "pg-b"}))));
        // Neither enabled nor primary: `self` ("pg") differs from "".
        assert!(is_replica(&c(json!({"source": "o"}))));
    }

    #[test]
    fn backup_ids_are_start_times() {
        assert_eq!(
            backup_id_start("20260120T030004").as_deref(),
            Some("2026-01-20T03:00:04Z")
        );
        for bad in [
            "",
            "20260120",
            "20261320T030004",
            "20260120T250004",
            "20260120T0300",
            "2026-01-20T03:00:04Z",
            "daily-20260120",
            "20260120t030004",
        ] {
            assert_eq!(backup_id_start(bad), None, "{bad}");
        }
        assert!(TARGETS_NEEDING_BACKUP_ID.contains(&TARGET_IMMEDIATE));
    }

    #[test]
    fn application_secret_prefers_recovery_then_basebackup_then_initdb() {
        let c = |b: serde_json::Value| {
            Cluster::deserialize(&json!({"metadata": {"name": "pg"}, "spec": {"bootstrap": b}}))
                .unwrap()
        };
        assert_eq!(application_secret(&Cluster::default()), "-app");
        assert_eq!(
            application_secret(&c(json!({"recovery": {"source": "o"}}))),
            "pg-app"
        );
        assert_eq!(
            application_secret(&c(
                json!({"recovery": {"secret": {"name": "r"}}, "initdb": {"secret": {"name": "i"}}})
            )),
            "r"
        );
        assert_eq!(
            application_secret(&c(
                json!({"recovery": {"secret": {"name": ""}}, "initdb": {"secret": {"name": "i"}}})
            )),
            "i"
        );
        assert_eq!(
            application_secret(&c(
                json!({"pg_basebackup": {"secret": {"name": "p"}}, "initdb": {"secret": {"name": "i"}}})
            )),
            "p"
        );
    }

    #[test]
    fn instance_and_job_names() {
        assert_eq!(instance_name("pg", FIRST_INSTANCE_SERIAL), "pg-1");
        assert_eq!(full_recovery_job("pg"), "pg-1-full-recovery");
        assert_eq!(default_app_secret("pg"), "pg-app");
    }
}
