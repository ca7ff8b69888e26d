//! ScheduledBackup / Backup rules: the schedule CNPG will actually run and a
//! backup method the target Cluster can serve.

use super::{
    BACKUP_METHOD_MISMATCH, PLUGIN_CONFIG_MISSING, PLUGIN_PARAMETERS_IGNORED, SCHEDULE_FIVE_FIELDS,
    SCHEDULE_INVALID,
};
use crate::cnpg::cron::{self, Schedule};
use crate::cnpg::{BARMAN_PLUGIN, is_barman};
use crate::engine::{Cx, Found, find};
use crate::view::Backup;

/// `backup` is a Backup or (`scheduled`) a ScheduledBackup.
pub(crate) fn check(cx: &mut Cx<'_>, backup: &Backup, scheduled: bool) {
    if scheduled {
        schedule(cx, backup);
    }
    method(cx, backup);
}

fn schedule(cx: &mut Cx<'_>, backup: &Backup) {
    let Some(spec) = backup.spec().schedule() else {
        return;
    };
    match cron::classify(spec) {
        Schedule::FiveFields { .. } if !cx.on(SCHEDULE_FIVE_FIELDS) => {}
        Schedule::Invalid { .. } if !cx.on(SCHEDULE_INVALID) => {}
        Schedule::FiveFields { reading, intended } => cx.hit(
            SCHEDULE_FIVE_FIELDS,
            "spec.schedule",
            format!("schedule '{spec}' has 5 fields; CNPG (robfig/cron v1.2) reads them seconds first: {reading}"),
            format!("use the 6-field form with seconds first: '{intended}'"),
        ),
        Schedule::Invalid { error, hint } => cx.hit(
            SCHEDULE_INVALID,
            "spec.schedule",
            format!("schedule '{spec}' is not valid for CNPG's cron parser (robfig/cron v1.2): {error}"),
            hint,
        ),
        Schedule::SixFields | Schedule::Descriptor => {}
    }
}

fn method(cx: &mut Cx<'_>, backup: &Backup) {
    // `method` defaults to barmanObjectStore (CNPG api/v1/scheduledbackup_types.go, backup_types.go).
    let spec = backup.spec();
    let explicit = spec.method();
    let method = explicit.unwrap_or("barmanObjectStore");
    let plugin_config = spec.plugin_configuration();
    let plugin_name = plugin_config
        .and_then(|p| p.name.as_deref())
        .filter(|s| !s.is_empty());
    if method == "plugin" {
        if plugin_name.is_none() && cx.on(PLUGIN_CONFIG_MISSING) {
            cx.hit(
                PLUGIN_CONFIG_MISSING,
                "spec.pluginConfiguration.name",
                "method: plugin without pluginConfiguration.name; CNPG rejects every Backup this creates (\"cannot be empty when the backup method is plugin\")".into(),
                format!("add spec.pluginConfiguration: {{name: {BARMAN_PLUGIN}}}"),
            );
        }
        if plugin_name == Some(BARMAN_PLUGIN)
            && cx.on(PLUGIN_PARAMETERS_IGNORED)
            && let Some(params) = plugin_config.map(|p| &p.parameters)
            && !params.is_empty()
        {
            let keys: Vec<&str> = params.keys().map(String::as_str).collect();
            cx.hit(
                        PLUGIN_PARAMETERS_IGNORED,
                        "spec.pluginConfiguration.parameters",
                        format!(
                            "the barman plugin ignores backup parameters ({}); it always uses the Cluster's spec.plugins entry (barmanObjectName, serverName)",
                            keys.join(", ")
                        ),
                        "remove spec.pluginConfiguration.parameters; choose the ObjectStore in the Cluster's spec.plugins[].parameters.barmanObjectName".into(),
                    );
        }
        return;
    }
    if !matches!(method, "barmanObjectStore" | "volumeSnapshot") || !cx.on(BACKUP_METHOD_MISMATCH) {
        return;
    }
    let Some(cluster_name) = spec.cluster() else {
        return;
    };
    let cluster_name = cluster_name.to_string();
    let ns = cx.ns.to_string();
    let Found::Present(cluster) = find(cx.clusters(Some(&ns)), &cluster_name) else {
        return;
    };
    let Some(cluster) = cluster.get() else { return };
    let backup_section = cluster.spec().backup.as_ref();
    let has_barman_plugin = cluster.spec().plugins.iter().any(is_barman);
    let why = match explicit {
        None => "method is omitted, so it defaults to barmanObjectStore".to_string(),
        Some(m) => format!("method is {m}"),
    };
    // CNPG's prerequisite checks, in order (cnpg@v1.30.0
    // internal/controller/backup_controller.go:420-443; docs/cnpg.md §6).
    let error = match (method, backup_section) {
        (_, None) => "cannot proceed with the backup as the cluster has no backup section",
        ("volumeSnapshot", Some(b)) if !b.volume_snapshot => {
            "no volumeSnapshot section defined on the target cluster"
        }
        ("barmanObjectStore", Some(b)) if b.barman_object_store.is_none() => {
            "no barmanObjectStore section defined on the target cluster"
        }
        _ => return,
    };
    let (missing, fix) = match method {
        "volumeSnapshot" => (
            "spec.backup.volumeSnapshot".to_string(),
            if has_barman_plugin {
                format!(
                    "configure spec.backup.volumeSnapshot (className, ...) on Cluster '{cluster_name}', or back up through the plugin: spec.method: plugin and spec.pluginConfiguration.name: {BARMAN_PLUGIN}"
                )
            } else {
                format!(
                    "configure spec.backup.volumeSnapshot (className, ...) on Cluster '{cluster_name}'"
                )
            },
        ),
        _ => (
            format!(
                "spec.backup.barmanObjectStore{}",
                if has_barman_plugin {
                    " (it archives through the barman plugin)"
                } else {
                    ""
                }
            ),
            if has_barman_plugin {
                format!(
                    "set spec.method: plugin and spec.pluginConfiguration.name: {BARMAN_PLUGIN}"
                )
            } else {
                format!(
                    "configure backups on Cluster '{cluster_name}' (spec.plugins with the barman plugin) and use method: plugin"
                )
            },
        ),
    };
    cx.hit(
        BACKUP_METHOD_MISMATCH,
        "spec.method",
        format!(
            "{why}, but Cluster '{cluster_name}' has no {missing}; every backup fails at runtime with \"{error}\""
        ),
        fix,
    );
}
