//! ScheduledBackup / Backup rules: the schedule CNPG will actually run and a
//! backup method the target Cluster can serve.

use super::{
    BACKUP_METHOD_MISMATCH, PLUGIN_CONFIG_MISSING, PLUGIN_PARAMETERS_IGNORED, SCHEDULE_FIVE_FIELDS,
};
use crate::cnpg::cron::{self, Schedule};
use crate::cnpg::{BARMAN_PLUGIN, Kind, at, items, str_at};
use crate::engine::{Cx, Found};
use crate::input::LookupKind;
use serde_json::Value;

pub(crate) fn check(cx: &mut Cx<'_>) {
    if cx.kind == Some(Kind::ScheduledBackup) && cx.on(SCHEDULE_FIVE_FIELDS) {
        schedule(cx);
    }
    method(cx);
}

fn schedule(cx: &mut Cx<'_>) {
    let Some(spec) = str_at(cx.obj, &["spec", "schedule"]) else {
        return;
    };
    match cron::classify(spec) {
        Schedule::FiveFields { reading, intended } => cx.hit(
            SCHEDULE_FIVE_FIELDS,
            "spec.schedule",
            format!("schedule '{spec}' has 5 fields; CNPG (robfig/cron v1.2) reads them seconds first: {reading}"),
            format!("use the 6-field form with seconds first: '{intended}'"),
        ),
        Schedule::Invalid { fields } => cx.hit(
            SCHEDULE_FIVE_FIELDS,
            "spec.schedule",
            format!("schedule '{spec}' has {fields} fields; CNPG expects 6 (second minute hour day-of-month month day-of-week) or a descriptor like @daily"),
            "write it as 6 fields with seconds first, e.g. '0 0 3 * * *' for 03:00 daily".into(),
        ),
        Schedule::SixFields | Schedule::Descriptor => {}
    }
}

fn method(cx: &mut Cx<'_>) {
    // `method` defaults to barmanObjectStore (CNPG api/v1/scheduledbackup_types.go, backup_types.go).
    let explicit = str_at(cx.obj, &["spec", "method"]);
    let method = explicit.unwrap_or("barmanObjectStore");
    let plugin_name =
        str_at(cx.obj, &["spec", "pluginConfiguration", "name"]).filter(|s| !s.is_empty());
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
            && let Some(params) = at(cx.obj, &["spec", "pluginConfiguration", "parameters"])
                .and_then(Value::as_object)
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
    if method != "barmanObjectStore" || !cx.on(BACKUP_METHOD_MISMATCH) {
        return;
    }
    let Some(cluster_name) = str_at(cx.obj, &["spec", "cluster", "name"]) else {
        return;
    };
    let cluster_name = cluster_name.to_string();
    let ns = cx.ns.to_string();
    let Found::Present(cluster) = cx.find(LookupKind::Cluster, &ns, &cluster_name) else {
        return;
    };
    if at(&cluster, &["spec", "backup", "barmanObjectStore"]).is_some() {
        return;
    }
    let has_barman_plugin = items(&cluster, &["spec", "plugins"])
        .any(|(_, p)| str_at(p, &["name"]) == Some(BARMAN_PLUGIN));
    let why = match explicit {
        None => "method is omitted, so it defaults to barmanObjectStore".to_string(),
        Some(_) => "method is barmanObjectStore".to_string(),
    };
    let fix = if has_barman_plugin {
        format!("set spec.method: plugin and spec.pluginConfiguration.name: {BARMAN_PLUGIN}")
    } else {
        format!(
            "configure backups on Cluster '{cluster_name}' (spec.plugins with the barman plugin) and use method: plugin"
        )
    };
    cx.hit(
        BACKUP_METHOD_MISMATCH,
        "spec.method",
        format!(
            "{why}, but Cluster '{cluster_name}' has no spec.backup.barmanObjectStore{}; every backup fails at runtime with \"no barmanObjectStore section defined on the target cluster\"",
            if has_barman_plugin { " (it archives through the barman plugin)" } else { "" }
        ),
        fix,
    );
}
