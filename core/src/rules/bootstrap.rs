//! Bootstrap rules: one method, create-time only, a usable recovery source.

use super::{
    BOOTSTRAP_CHANGED, DUAL_BOOTSTRAP, RECOVERY_BACKUP_IGNORED, RECOVERY_BACKUP_PLUGIN,
    RECOVERY_BACKUP_UNUSABLE, RECOVERY_DATABASE_DEFAULT, RECOVERY_SOURCE_MISSING,
};
use crate::cnpg::{self, bootstrap_methods};
use crate::engine::{Cx, Found, find};
use crate::input::Operation;
use crate::view::Cluster;
use crate::view::cluster::Recovery;

pub(crate) fn check(cx: &mut Cx<'_>, cluster: &Cluster, old: Option<&Cluster>) {
    let methods = bootstrap_methods(cluster);
    let old_methods = old.map(bootstrap_methods).unwrap_or_default();
    if methods.len() > 1 && cx.on(DUAL_BOOTSTRAP) {
        let list = methods.join(" + ");
        let mut message =
            format!("spec.bootstrap sets {list}; CNPG accepts exactly one bootstrap method");
        if cx.op == Operation::Update {
            let live = if old_methods.is_empty() {
                "initdb (CNPG's default)".to_string()
            } else {
                old_methods.join(" + ")
            };
            message.push_str(&format!(
                ". The live Cluster was bootstrapped with {live} and this update applies {list}: an apply that adds a method without removing the live one (e.g. an initdb defaulted server-side) merges them. Bootstrap is create-time only, so changing it here would have no effect anyway"
            ));
        }
        cx.hit(
            DUAL_BOOTSTRAP,
            "spec.bootstrap",
            message,
            "render exactly one method (one overlay: initdb OR recovery); to restore an existing Cluster, delete it and its PVCs and re-create it from the recovery manifest".into(),
        );
    }
    if cx.op == Operation::Update && cx.on(BOOTSTRAP_CHANGED) {
        let old = if old_methods.is_empty() {
            vec!["initdb"]
        } else {
            old_methods.clone()
        };
        if !methods.is_empty() && methods != old {
            cx.hit(
                BOOTSTRAP_CHANGED,
                "spec.bootstrap",
                format!(
                    "bootstrap changed from {} to {} on an existing Cluster; CNPG reads bootstrap only when creating the first primary, so this restores nothing",
                    old.join(" + "),
                    methods.join(" + ")
                ),
                "to recover, delete the Cluster and its PVCs (kubectl delete pvc -l cnpg.io/cluster=<name>) and let GitOps re-create it; `kubectl cnpg-plan recovery` prints the exact steps".into(),
            );
        }
    }
    if let Some(recovery) = cluster.recovery() {
        check_recovery(cx, cluster, recovery);
    }
    // Create-time only: the restore creates the role and database, and a
    // stored Cluster carries the defaults CNPG wrote into it.
    if cx.op == Operation::Create
        && cnpg::recovery_defaults_app_database(cluster)
        && cx.on(RECOVERY_DATABASE_DEFAULT)
    {
        database_default(cx, cluster);
    }
}

/// A recovery that names no `database`: CNPG's `app` defaults apply
/// ([`cnpg::recovery_defaults_app_database`]).
fn database_default(cx: &mut Cx<'_>, cluster: &Cluster) {
    let recovery = cluster.recovery();
    let owner = recovery
        .and_then(|r| r.owner.as_deref())
        .filter(|o| !o.is_empty());
    let secret = recovery
        .and_then(|r| r.secret.as_ref())
        .and_then(|s| s.get());
    let app = cnpg::DEFAULT_DATABASE;
    let named = match owner {
        Some(o) => format!("owner '{o}' but no database: CNPG defaults the database to '{app}'"),
        None => format!("neither database nor owner: CNPG defaults both to '{app}'"),
    };
    let role = owner.unwrap_or(app);
    let secret_words = match secret {
        Some(s) => format!("role '{role}' gets the password of Secret '{s}'"),
        None => format!(
            "the generated Secret '{}' points applications at database '{app}' as user '{role}'",
            cnpg::default_app_secret(cluster.name())
        ),
    };
    cx.hit(
        RECOVERY_DATABASE_DEFAULT,
        "spec.bootstrap.recovery",
        format!(
            "spec.bootstrap.recovery names {named}. The restore keeps every restored database but creates an EMPTY database '{app}' owned by role '{role}' next to them, and {secret_words}: applications connect to the empty one"
        ),
        "set spec.bootstrap.recovery.database and .owner to the application database and its owner as they exist in the backup (what bootstrap.initdb named); `kubectl cnpg-plan recovery` writes them".into(),
    );
}

fn check_recovery(cx: &mut Cx<'_>, cluster: &Cluster, recovery: &Recovery) {
    let source = recovery.source.as_deref().filter(|s| !s.is_empty());
    let backup = recovery.backup.as_ref().and_then(|b| b.get());
    if source.is_none()
        && backup.is_none()
        && !recovery.volume_snapshots
        && cx.on(RECOVERY_SOURCE_MISSING)
    {
        cx.hit(
            RECOVERY_SOURCE_MISSING,
            "spec.bootstrap.recovery",
            "recovery names no source, backup or volumeSnapshots; the recovery job would fail with \"recovery source not specified\"".into(),
            "set spec.bootstrap.recovery.source to an externalClusters entry that points at the backup lineage (plugin: barmanObjectName + serverName)".into(),
        );
    }
    let Some(backup) = backup else { return };
    // Bootstrap is read only at creation: an UPDATE restores nothing either way.
    if cx.op != Operation::Create {
        return;
    }
    let ns = cx.ns.to_string();
    let found = find(cx.backups(&ns), backup);
    let snapshot = matches!(&found, Found::Present(b) if b.get().and_then(|b| b.spec().method()) == Some("volumeSnapshot"));
    if let Some(src) = source
        && !snapshot
        && cx.on(RECOVERY_BACKUP_IGNORED)
        && let Some((i, ec)) = cnpg::find_external_cluster(cluster, src)
        && ec.plugin.as_ref().is_some_and(cnpg::is_barman)
    {
        cx.hit(
            RECOVERY_BACKUP_IGNORED,
            "spec.bootstrap.recovery.backup",
            format!(
                "recovery sets both backup '{backup}' and source '{src}' (a barman plugin entry, spec.externalClusters[{i}]): CNPG waits for the Backup, then restores through the plugin source's ObjectStore catalog, so Backup '{backup}' is not what gets restored"
            ),
            format!(
                "remove spec.bootstrap.recovery.backup and pin the backup on the source with spec.bootstrap.recovery.recoveryTarget.backupID (the backup ID of '{backup}')"
            ),
        );
    }
    match &found {
        Found::Absent if cx.on(RECOVERY_BACKUP_UNUSABLE) && !cx.render_mode() => cx.hit(
            RECOVERY_BACKUP_UNUSABLE,
            "spec.bootstrap.recovery.backup.name",
            format!(
                "Backup '{backup}' does not exist in namespace '{ns}'; CNPG emits ErrorNoBackup and requeues the recovery every minute, forever, before creating any PVC"
            ),
            format!("name an existing, completed Backup (kubectl get backups -n {ns}), or restore with recovery.source and an externalClusters entry"),
        ),
        Found::Present(b) if cx.on(RECOVERY_BACKUP_UNUSABLE) => {
            let phase = b
                .get()
                .and_then(|b| b.status.as_ref())
                .and_then(|s| s.phase.as_deref())
                .unwrap_or("");
            if phase != "completed" {
                let shown = if phase.is_empty() { "not started" } else { phase };
                cx.hit(
                    RECOVERY_BACKUP_UNUSABLE,
                    "spec.bootstrap.recovery.backup.name",
                    format!(
                        "Backup '{backup}' is not completed (phase: {shown}); CNPG waits for it and requeues the recovery every minute, forever, without an event"
                    ),
                    "wait for the Backup to complete, or name a completed one (kubectl get backups shows the phase)".into(),
                );
            }
        }
        _ => {}
    }
    if !cx.on(RECOVERY_BACKUP_PLUGIN) {
        return;
    }
    if let Found::Present(b) = found
        && let Some(b) = b.get()
        && b.by_plugin()
    {
        let store = b.spec().cluster().unwrap_or("<source cluster>");
        cx.hit(
            RECOVERY_BACKUP_PLUGIN,
            "spec.bootstrap.recovery.backup.name",
            format!(
                "Backup '{backup}' was taken by a plugin (method: plugin); recovery.backup restores only in-tree barman backups and fails (no destinationPath/credentials in a plugin Backup's status)"
            ),
            format!(
                "use recovery.source: <name> with an externalClusters entry {{name: <name>, plugin: {{name: {}, parameters: {{barmanObjectName: <store>, serverName: <serverName of '{store}'>}}}}}}; pin the backup with recoveryTarget.backupID if needed",
                cnpg::BARMAN_PLUGIN
            ),
        );
    }
}
