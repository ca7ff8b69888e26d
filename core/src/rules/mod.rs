//! The rule registry and the rule families, one module each.
//!
//! Every rule has a stable id (used in settings, exemptions and output), a
//! default level and a rationale. Ids never change meaning; retired ids are
//! not reused.

pub(crate) mod bootstrap;
pub(crate) mod coverage;
pub(crate) mod exemptions;
pub(crate) mod hygiene;
pub(crate) mod labels;
pub(crate) mod lineage;
pub(crate) mod object_store;
pub(crate) mod plugin_params;
pub(crate) mod schedule;

use crate::settings::Level;

/// Static description of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    /// Stable id, kebab-case.
    pub id: &'static str,
    /// Level when settings do not override it.
    pub default: Level,
    /// The rule mutates (accepts `mutate`).
    pub mutating: bool,
    /// The rule may be turned `off` in settings.
    pub configurable: bool,
    /// `cnpg-guard.io/allow-<id>` can exempt an object.
    pub exemptable: bool,
    /// Kinds it looks at.
    pub kinds: &'static str,
    /// One line: what it catches.
    pub summary: &'static str,
    /// Why it matters, in one paragraph.
    pub rationale: &'static str,
}

const fn rule(
    id: &'static str,
    default: Level,
    kinds: &'static str,
    summary: &'static str,
    rationale: &'static str,
) -> RuleInfo {
    RuleInfo {
        id,
        default,
        mutating: false,
        configurable: true,
        exemptable: true,
        kinds,
        summary,
        rationale,
    }
}

/// `dual-bootstrap`
pub const DUAL_BOOTSTRAP: &str = "dual-bootstrap";
/// `bootstrap-changed`
pub const BOOTSTRAP_CHANGED: &str = "bootstrap-changed";
/// `recovery-source-missing`
pub const RECOVERY_SOURCE_MISSING: &str = "recovery-source-missing";
/// `recovery-backup-plugin`
pub const RECOVERY_BACKUP_PLUGIN: &str = "recovery-backup-plugin";
/// `lineage-self-reuse`
pub const LINEAGE_SELF_REUSE: &str = "lineage-self-reuse";
/// `lineage-shared`
pub const LINEAGE_SHARED: &str = "lineage-shared";
/// `lineage-order`
pub const LINEAGE_ORDER: &str = "lineage-order";
/// `lineage-gap`
pub const LINEAGE_GAP: &str = "lineage-gap";
/// `archive-not-empty`
pub const ARCHIVE_NOT_EMPTY: &str = "archive-not-empty";
/// `recovery-servername-default`
pub const RECOVERY_SERVERNAME_DEFAULT: &str = "recovery-servername-default";
/// `destination-double-nesting`
pub const DESTINATION_DOUBLE_NESTING: &str = "destination-double-nesting";
/// `objectstore-missing`
pub const OBJECTSTORE_MISSING: &str = "objectstore-missing";
/// `barman-object-name-missing`
pub const BARMAN_OBJECT_NAME_MISSING: &str = "barman-object-name-missing";
/// `objectstore-in-use`
pub const OBJECTSTORE_IN_USE: &str = "objectstore-in-use";
/// `schedule-five-fields`
pub const SCHEDULE_FIVE_FIELDS: &str = "schedule-five-fields";
/// `schedule-invalid`
pub const SCHEDULE_INVALID: &str = "schedule-invalid";
/// `server-name-empty`
pub const SERVER_NAME_EMPTY: &str = "server-name-empty";
/// `plugin-parameter-unknown`
pub const PLUGIN_PARAMETER_UNKNOWN: &str = "plugin-parameter-unknown";
/// `recovery-backup-unusable`
pub const RECOVERY_BACKUP_UNUSABLE: &str = "recovery-backup-unusable";
/// `recovery-backup-ignored`
pub const RECOVERY_BACKUP_IGNORED: &str = "recovery-backup-ignored";
/// `recovery-database-default`
pub const RECOVERY_DATABASE_DEFAULT: &str = "recovery-database-default";
/// `skip-wal-archiving-with-archive`
pub const SKIP_WAL_ARCHIVING_WITH_ARCHIVE: &str = "skip-wal-archiving-with-archive";
/// `backup-method-mismatch`
pub const BACKUP_METHOD_MISMATCH: &str = "backup-method-mismatch";
/// `plugin-config-missing`
pub const PLUGIN_CONFIG_MISSING: &str = "plugin-config-missing";
/// `plugin-parameters-ignored`
pub const PLUGIN_PARAMETERS_IGNORED: &str = "plugin-parameters-ignored";
/// `inline-barman-deprecated`
pub const INLINE_BARMAN_DEPRECATED: &str = "inline-barman-deprecated";
/// `skip-wal-check-outside-recovery`
pub const SKIP_WAL_CHECK_OUTSIDE_RECOVERY: &str = "skip-wal-check-outside-recovery";
/// `pvc-backup-label`
pub const PVC_BACKUP_LABEL: &str = "pvc-backup-label";
/// `exemption-reason-required`
pub const EXEMPTION_REASON_REQUIRED: &str = "exemption-reason-required";
/// `exemption-unknown-rule`
pub const EXEMPTION_UNKNOWN_RULE: &str = "exemption-unknown-rule";
/// `context-unavailable`
pub const CONTEXT_UNAVAILABLE: &str = "context-unavailable";
/// `object-too-large`
pub const OBJECT_TOO_LARGE: &str = "object-too-large";

/// `backup-schedule-missing`
pub const BACKUP_SCHEDULE_MISSING: &str = "backup-schedule-missing";
/// `retention-policy`
pub const RETENTION_POLICY: &str = "retention-policy";
/// `egress-blocked`
pub const EGRESS_BLOCKED: &str = "egress-blocked";
/// `prune-protection-missing`
pub const PRUNE_PROTECTION_MISSING: &str = "prune-protection-missing";
/// `post-recovery-backup-missing`
pub const POST_RECOVERY_BACKUP_MISSING: &str = "post-recovery-backup-missing";

/// Every rule, in report order.
pub static RULES: &[RuleInfo] = &[
    rule(
        DUAL_BOOTSTRAP,
        Level::Deny,
        "Cluster",
        "more than one of bootstrap.initdb / recovery / pg_basebackup",
        "CNPG accepts exactly one bootstrap method and rejects the object otherwise; in GitOps this usually means an overlay patch added `recovery` on top of a base (or a server-side defaulted `initdb`) instead of replacing it. On UPDATE the message explains which method the live Cluster has, because bootstrap is read only when the first primary is created.",
    ),
    rule(
        BOOTSTRAP_CHANGED,
        Level::Warn,
        "Cluster",
        "bootstrap method changed on a running Cluster (no effect)",
        "CNPG reads spec.bootstrap only when it creates the first primary; changing it on an existing Cluster is accepted and silently ignored. A recovery flip applied as an update restores nothing: the Cluster and its PVCs must be deleted and re-created.",
    ),
    rule(
        RECOVERY_SOURCE_MISSING,
        Level::Deny,
        "Cluster",
        "bootstrap.recovery with neither source, backup nor volumeSnapshots",
        "CNPG's webhook accepts `recovery: {}` but the recovery job then fails with \"recovery source not specified\", leaving a Cluster stuck in bootstrap during an incident.",
    ),
    rule(
        RECOVERY_BACKUP_UNUSABLE,
        Level::Deny,
        "Cluster",
        "recovery.backup names a Backup that does not exist or is not completed",
        "CNPG waits for the named Backup before it creates any PVC or job: a missing one gets a Warning event `ErrorNoBackup` and a requeue every minute, an unfinished or failed one a log line and the same requeue, forever (cnpg@v1.30.0 internal/controller/cluster_create.go:1316-1342,1753-1770). The Cluster sits in bootstrap during the incident it was meant to end.",
    ),
    rule(
        RECOVERY_BACKUP_IGNORED,
        Level::Deny,
        "Cluster",
        "recovery.backup together with a barman plugin recovery source",
        "`backup` and `source` are documented as exclusive but not validated. With both, CNPG still waits for the Backup, then the recovery job restores through the plugin source (its ObjectStore catalog), not the named Backup (cnpg@v1.30.0 pkg/management/postgres/restore.go:292-313): a different backup than the one written is restored.",
    ),
    rule(
        RECOVERY_BACKUP_PLUGIN,
        Level::Deny,
        "Cluster",
        "recovery.backup names a Backup taken by the barman plugin",
        "`recovery.backup` always restores through the in-tree barman path, which reads destinationPath, serverName and credentials from the Backup's status; plugin Backups carry none of them (plugin-barman-cloud#510). Plugin backups must be restored with `recovery.source` and an externalClusters plugin entry.",
    ),
    rule(
        RECOVERY_DATABASE_DEFAULT,
        Level::Warn,
        "Cluster",
        "bootstrap.recovery without database (and owner): CNPG defaults both to app",
        "A recovery restores every database of the backup, but CNPG still defaults recovery.database to `app` and the owner to the database, then creates that role and an empty database `app` and, without recovery.secret, generates the `<cluster>-app` Secret for them (cnpg@v1.30.0 api/v1/cluster_defaults.go:264-271, api/v1/cluster_funcs.go:1002-1018, internal/controller/cluster_create.go:222-240): applications using that Secret connect to an empty database as the wrong user. Name the database and owner the backup holds.",
    ),
    rule(
        LINEAGE_SELF_REUSE,
        Level::Deny,
        "Cluster",
        "Cluster archives WAL into the lineage it restores or replicates from",
        "A recovered Cluster opens a new timeline; if its archive (store + serverName) is the recovery source (or, for a replica Cluster, the replica source: cnpg#2678), CNPG stalls on \"Expected empty archive\", or, with cnpg.io/skipEmptyWalArchiveCheck: enabled, writes the new timeline into the source's prefix and pollutes the only copy you can restore from. With the barman plugin both serverNames default to the Cluster's own name, so omitting them collides too.",
    ),
    rule(
        LINEAGE_SHARED,
        Level::Deny,
        "Cluster",
        "another Cluster already archives to the same store + serverName",
        "Two Clusters writing WAL to one prefix corrupt each other's archive: timelines and WAL segment names collide and neither can be restored reliably. Typical causes: identical Cluster names in two namespaces sharing a bucket with a defaulted serverName, or a copied manifest.",
    ),
    rule(
        LINEAGE_ORDER,
        Level::Deny,
        "Cluster",
        "archive lineage -vN is not newer than the recovery source lineage",
        "Lineages only move forward: restore from vN, archive to vN+1. Archiving to an older lineage than the source writes new WAL over history you may still need and breaks the next recovery.",
    ),
    rule(
        LINEAGE_GAP,
        Level::Warn,
        "Cluster",
        "recovery source is two or more lineages behind the archive",
        "Restoring v1 while archiving to v3 is the \"forgot to bump the recovery overlay\" mistake: the restore silently comes from an older lineage and you lose everything written since.",
    ),
    rule(
        ARCHIVE_NOT_EMPTY,
        Level::Deny,
        "Cluster",
        "an archive new to this Cluster (CREATE, or added/moved by an UPDATE) already has backups in its ObjectStore",
        "CNPG refuses to archive into a non-empty prefix (\"Expected empty archive\") and a new Cluster stalls; with cnpg.io/skipEmptyWalArchiveCheck it silently writes into it. This is the only check that catches a recovery flip whose archive serverName was not bumped: the deleted Cluster's lineage is still recorded in the ObjectStore's status.serverRecoveryWindow. An UPDATE that adds or moves the archive of a running Cluster gets no check from CNPG at all (cnpg#11126), and a DISABLED barman entry still makes the plugin's restore job check <store>/<Cluster name> (plugin-barman-cloud#350).",
    ),
    rule(
        RECOVERY_SERVERNAME_DEFAULT,
        Level::Warn,
        "Cluster",
        "plugin recovery source without an explicit serverName",
        "Unlike the in-tree default (the externalCluster's name), the barman plugin resolves an omitted recovery serverName to the NEW Cluster's own name, so the restore looks in the wrong prefix (or in its own archive).",
    ),
    rule(
        SERVER_NAME_EMPTY,
        Level::Deny,
        "Cluster",
        "barman plugin archive entry with serverName: \"\"",
        "For the archive entry the plugin tests key presence, so an empty serverName is kept, not defaulted (plugin-barman-cloud@v0.14.0 internal/cnpgi/operator/config/config.go:151-152). Barman then joins an empty server folder: WAL and base backups land directly under destinationPath, shared with any other Cluster doing the same, and the ObjectStore records a lineage named \"\".",
    ),
    rule(
        PLUGIN_PARAMETER_UNKNOWN,
        Level::Deny,
        "Cluster",
        "barman plugin parameters key the plugin never reads (typo of barmanObjectName / serverName)",
        "`parameters` is a free string map: nothing validates it (the plugin has no validation capability). The plugin v0.14 reads exactly `barmanObjectName` and `serverName`, case-sensitive, so `servername: pg-v3` is ignored and the lineage silently falls back to the default — usually the one a recovery must not write to.",
    ),
    rule(
        DESTINATION_DOUBLE_NESTING,
        Level::Warn,
        "Cluster",
        "destinationPath already ends with the serverName",
        "Barman appends serverName to destinationPath, so `s3://b/pg-v2` with serverName `pg-v2` stores data in `s3://b/pg-v2/pg-v2/`. It works, but restores and lifecycle rules written for the intended layout miss it.",
    ),
    rule(
        OBJECTSTORE_MISSING,
        Level::Deny,
        "Cluster",
        "barmanObjectName names no ObjectStore in the namespace",
        "CNPG and the plugin accept the Cluster and then silently requeue (plugin-barman-cloud#337): no archiving, WAL accumulates on the PVC until Postgres crash-loops on a full disk, or a recovery never starts.",
    ),
    rule(
        BARMAN_OBJECT_NAME_MISSING,
        Level::Deny,
        "Cluster",
        "barman plugin entry without parameters.barmanObjectName",
        "Without barmanObjectName the plugin skips sidecar injection with only an info log: the Cluster runs without any WAL archiving or backups.",
    ),
    rule(
        OBJECTSTORE_IN_USE,
        Level::Deny,
        "ObjectStore (DELETE)",
        "deleting an ObjectStore a Cluster still references",
        "Deleting the ObjectStore stops WAL archiving for every Cluster that references it (archive_command fails, WAL piles up) and removes the recovery source you will need in an incident.",
    ),
    rule(
        SCHEDULE_FIVE_FIELDS,
        Level::Deny,
        "ScheduledBackup",
        "5-field cron schedule (CNPG reads seconds first)",
        "CNPG parses schedules with robfig/cron v1.2.0, which fills fields from SECONDS: \"0 3 * * *\" means second 0, minute 3 of EVERY hour. A \"daily\" backup runs 24 times a day (or only in January, or is rejected). CNPG only warns.",
    ),
    rule(
        SCHEDULE_INVALID,
        Level::Deny,
        "ScheduledBackup",
        "schedule robfig/cron v1.2 cannot parse (field count, unknown or padded descriptor, bad @every duration)",
        "CNPG's webhook rejects it (or, if it slipped in, no backup is ever scheduled). robfig v1.2 knows exactly @yearly @annually @monthly @weekly @daily @midnight @hourly and @every <Go duration>; the string is not trimmed, so \"@daily \" is refused.",
    ),
    rule(
        BACKUP_METHOD_MISMATCH,
        Level::Deny,
        "ScheduledBackup, Backup",
        "method the target Cluster cannot serve (barmanObjectStore/omitted without in-tree barman, volumeSnapshot without backup.volumeSnapshot)",
        "`method` defaults to barmanObjectStore; for a plugin-only Cluster every Backup then fails at runtime (\"cannot proceed with the backup as the cluster has no backup section\"), and `volumeSnapshot` needs spec.backup.volumeSnapshot on the Cluster (cloudnative-pg/charts#900). Nobody notices until a restore is needed.",
    ),
    rule(
        PLUGIN_CONFIG_MISSING,
        Level::Deny,
        "ScheduledBackup, Backup",
        "method: plugin without pluginConfiguration.name",
        "The ScheduledBackup is accepted but every Backup it creates is rejected (\"cannot be empty when the backup method is plugin\"): no backups are taken.",
    ),
    rule(
        PLUGIN_PARAMETERS_IGNORED,
        Level::Warn,
        "ScheduledBackup, Backup",
        "pluginConfiguration.parameters given to the barman plugin",
        "The barman plugin builds the backup configuration from the Cluster's spec.plugins entry and ignores these parameters (plugin internal/cnpgi/instance/backup.go); a barmanObjectName here does not select another store.",
    ),
    rule(
        INLINE_BARMAN_DEPRECATED,
        Level::Warn,
        "Cluster",
        "in-tree barmanObjectStore (removed in CNPG 1.31)",
        "Native barman support is deprecated and removed in CNPG 1.31; migrate to the barman-cloud plugin (ObjectStore + spec.plugins) before upgrading the operator.",
    ),
    rule(
        SKIP_WAL_ARCHIVING_WITH_ARCHIVE,
        Level::Warn,
        "Cluster",
        "cnpg.io/skipWalArchiving: enabled on a Cluster with a WAL archive",
        "The annotation sets archive_mode=off: no WAL reaches the store, point-in-time recovery past the last base backup is impossible, and in-tree backups wait ten minutes and fail with walArchivingFailing (cnpg#10745).",
    ),
    rule(
        SKIP_WAL_CHECK_OUTSIDE_RECOVERY,
        Level::Warn,
        "Cluster",
        "cnpg.io/skipEmptyWalArchiveCheck: enabled on a non-recovery Cluster",
        "The annotation is a one-off escape hatch; left in place it removes the empty-archive protection for every future re-bootstrap of this Cluster.",
    ),
    rule(
        BACKUP_SCHEDULE_MISSING,
        Level::Warn,
        "Cluster",
        "a Cluster with a WAL archive and no (active) ScheduledBackup targeting it",
        "WAL archiving alone is not a backup: without base backups every WAL segment since the one base backup (if any) must be replayed, recovery takes days, and retention can never delete anything. At admission only UPDATEs are checked (a new Cluster and its ScheduledBackup arrive in one sync, in either order); a render sees the whole change. Suspended ScheduledBackups (spec.suspend, cnpg@v1.30.0 api/v1/scheduledbackup_types.go:30) do not count.",
    ),
    rule(
        RETENTION_POLICY,
        Level::Warn,
        "ObjectStore",
        "ObjectStore retentionPolicy missing, malformed, or shorter than the backup interval",
        "Without spec.retentionPolicy nothing is ever deleted and the bucket grows until writes fail; the CRD requires ^[1-9][0-9]*[dwm]$ (plugin-barman-cloud@v0.14.0 api/v1/objectstore_types.go:68), so a malformed value is rejected at apply time; and a recovery window shorter than the longest gap between the ScheduledBackups of the Clusters archiving here leaves stretches where the window holds no base backup.",
    ),
    rule(
        EGRESS_BLOCKED,
        Level::Warn,
        "Cluster",
        "a NetworkPolicy isolates the Cluster's pods for egress without allowing the object store",
        "barman-cloud uploads WAL and backups from the instance pods. A default-deny egress policy that does not allow the store's host and port (from endpointURL; 443 for the cloud defaults) makes archiving fail quietly until the WAL volume is full. Only a provable block is reported: DNS names against ipBlocks, named ports and pod/namespace selectors count as allowed.",
    ),
    rule(
        PRUNE_PROTECTION_MISSING,
        Level::Warn,
        "Cluster",
        "a rendered recovery Cluster without Prune=false/Delete=false (or Flux prune: disabled)",
        "A restored database lives only in its PVCs until its first base backup completes; if the Application or Kustomization is deleted, renamed or repointed, the GitOps tool prunes the Cluster and its volumes. Render time only (admission cannot see sync options' intent).",
    ),
    rule(
        POST_RECOVERY_BACKUP_MISSING,
        Level::Warn,
        "Cluster",
        "a rendered recovery with no on-demand Backup of the new lineage in the same change",
        "After a recovery the Cluster archives to a NEW lineage that has no base backup until the next scheduled one, so the restored database cannot itself be restored in the meantime. A Backup in the same change, or a ScheduledBackup with spec.immediate: true (cnpg@v1.30.0 api/v1/scheduledbackup_types.go:34), closes the gap. Render time only.",
    ),
    RuleInfo {
        mutating: true,
        ..rule(
            PVC_BACKUP_LABEL,
            Level::Mutate,
            "PersistentVolumeClaim, Cluster",
            "file-level backup label on a CNPG PVC (stripped)",
            "A file-level snapshot of a running Postgres data directory is not a consistent backup and races WAL; CNPG data is backed up by barman. The label is removed from a Cluster's spec.inheritedMetadata.labels, which CNPG copies onto its PVCs and re-adds whenever a PVC lacks one, and from new PVCs carrying cnpg.io/cluster. PVC UPDATEs are left alone (stripping there would fight the operator's reconciler); a Cluster label the operator inherits through INHERITED_LABELS (setting operatorInheritedLabels) is reported on the Cluster.",
        )
    },
    RuleInfo {
        configurable: false,
        exemptable: false,
        ..rule(
            EXEMPTION_REASON_REQUIRED,
            Level::Deny,
            "any",
            "cnpg-guard.io/allow-<rule> exemption without a reason",
            "Exemptions are audit records; an empty reason hides why a safety check was switched off.",
        )
    },
    RuleInfo {
        exemptable: false,
        ..rule(
            EXEMPTION_UNKNOWN_RULE,
            Level::Warn,
            "any",
            "exemption annotation names no known rule",
            "A typo in an exemption silently exempts nothing; surfacing it avoids a false sense of configuration.",
        )
    },
    RuleInfo {
        exemptable: false,
        ..rule(
            CONTEXT_UNAVAILABLE,
            Level::Warn,
            "any",
            "a lookup of other objects failed; dependent checks were skipped",
            "Reported at the level set by `contextErrors` (warn by default, so an API hiccup does not block every CNPG change; deny to fail closed).",
        )
    },
    RuleInfo {
        configurable: false,
        exemptable: false,
        ..rule(
            OBJECT_TOO_LARGE,
            Level::Deny,
            "Cluster, ObjectStore, Backup, ScheduledBackup, PersistentVolumeClaim, NetworkPolicy",
            "the object is larger than cnpg-guard evaluates (3 MiB of JSON)",
            "The API server refuses request bodies over 3 MiB and etcd stores at most 1.5 MiB per object, so no real object this size can be created; reading one anyway would spend the request's time limit. Denying it with this finding says what happened instead of a timeout. It cannot be turned off (only lowered to warn): an unevaluated object must not pass silently.",
        )
    },
];

/// Finds a rule by id.
pub fn find(id: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|r| r.id == id)
}

/// All rule ids.
pub fn ids() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|r| r.id)
}

/// Report position of a rule (registry order).
pub(crate) fn order(id: &str) -> usize {
    RULES.iter().position(|r| r.id == id).unwrap_or(usize::MAX)
}
