//! Bootstrap rules: one method, create-time only, a usable recovery source.

use super::{BOOTSTRAP_CHANGED, DUAL_BOOTSTRAP, RECOVERY_BACKUP_PLUGIN, RECOVERY_SOURCE_MISSING};
use crate::cnpg::{self, at, bootstrap_methods, str_at};
use crate::engine::{Cx, Found};
use crate::input::{LookupKind, Operation};
use serde_json::Value;

pub(crate) fn check(cx: &mut Cx<'_>) {
    let methods = bootstrap_methods(cx.obj);
    let old_methods = cx.old.map(bootstrap_methods).unwrap_or_default();
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
    if let Some(recovery) = at(cx.obj, &["spec", "bootstrap", "recovery"]) {
        check_recovery(cx, recovery);
    }
}

fn check_recovery(cx: &mut Cx<'_>, recovery: &Value) {
    let source = str_at(recovery, &["source"]).filter(|s| !s.is_empty());
    let backup = str_at(recovery, &["backup", "name"]).filter(|s| !s.is_empty());
    let snapshots = at(recovery, &["volumeSnapshots"]);
    if source.is_none() && backup.is_none() && snapshots.is_none() && cx.on(RECOVERY_SOURCE_MISSING)
    {
        cx.hit(
            RECOVERY_SOURCE_MISSING,
            "spec.bootstrap.recovery",
            "recovery names no source, backup or volumeSnapshots; the recovery job would fail with \"recovery source not specified\"".into(),
            "set spec.bootstrap.recovery.source to an externalClusters entry that points at the backup lineage (plugin: barmanObjectName + serverName)".into(),
        );
    }
    let Some(backup) = backup else { return };
    if !cx.on(RECOVERY_BACKUP_PLUGIN) {
        return;
    }
    let ns = cx.ns.to_string();
    if let Found::Present(b) = cx.find(LookupKind::Backup, &ns, backup) {
        let by_plugin = str_at(&b, &["spec", "method"]) == Some("plugin")
            || str_at(&b, &["status", "method"]) == Some("plugin")
            || at(&b, &["status", "pluginMetadata"]).is_some();
        if by_plugin {
            let store = str_at(&b, &["spec", "cluster", "name"]).unwrap_or("<source cluster>");
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
}
