//! ObjectStore references: every barmanObjectName must name an ObjectStore in
//! the Cluster's namespace, and an ObjectStore in use must not be deleted.
//! The plugin resolves `barmanObjectName` in the Cluster's namespace
//! (plugin `internal/cnpgi/operator/config/config.go` `GetReferredBarmanObjectsKey`).

use super::{BARMAN_OBJECT_NAME_MISSING, OBJECTSTORE_IN_USE, OBJECTSTORE_MISSING};
use crate::cnpg::{PARAM_BARMAN_OBJECT_NAME, is_barman, plugin_param};
use crate::engine::{Cx, Found, find};
use crate::view::{Cluster, PluginEntry};

/// Every barman plugin entry of a Cluster: (path of the plugin object, entry, role).
pub(crate) fn barman_entries(cluster: &Cluster) -> Vec<(String, &PluginEntry, &'static str)> {
    let spec = cluster.spec();
    let mut out = Vec::new();
    for (i, p) in spec.plugins.iter().enumerate() {
        if is_barman(p) {
            out.push((format!("spec.plugins[{i}]"), p, "WAL archive and backups"));
        }
    }
    for (i, ec) in spec.external_clusters.iter().enumerate() {
        if let Some(p) = &ec.plugin
            && is_barman(p)
        {
            out.push((
                format!("spec.externalClusters[{i}].plugin"),
                p,
                "recovery/replica source",
            ));
        }
    }
    out
}

pub(crate) fn check_cluster(cx: &mut Cx<'_>, cluster: &Cluster) {
    let entries: Vec<(String, Option<String>, &'static str)> = barman_entries(cluster)
        .into_iter()
        .map(|(path, p, role)| {
            (
                path,
                plugin_param(p, PARAM_BARMAN_OBJECT_NAME).map(str::to_string),
                role,
            )
        })
        .collect();
    let ns = cx.ns.to_string();
    for (path, store, role) in entries {
        let Some(store) = store else {
            if cx.on(BARMAN_OBJECT_NAME_MISSING) {
                cx.hit(
                    BARMAN_OBJECT_NAME_MISSING,
                    format!("{path}.parameters.{PARAM_BARMAN_OBJECT_NAME}"),
                    format!("the barman plugin entry ({role}) has no parameters.{PARAM_BARMAN_OBJECT_NAME}; the plugin skips it with only an info log, so nothing is archived or restored"),
                    format!("set {path}.parameters.{PARAM_BARMAN_OBJECT_NAME} to the name of an ObjectStore in namespace '{ns}'"),
                );
            }
            continue;
        };
        if !cx.on(OBJECTSTORE_MISSING) {
            continue;
        }
        if let Found::Absent = find(cx.object_stores(Some(&ns)), &store) {
            let (message, fix) = if cx.render_mode() {
                (
                    format!(
                        "barmanObjectName '{store}' ({role}) names an ObjectStore that is not in this tree (namespace '{ns}'); if nothing else (another Application or Flux Kustomization) creates it, archiving silently stalls and WAL fills the PVC"
                    ),
                    format!(
                        "add ObjectStore '{store}' to this tree, or make sure whatever owns it syncs first (or fix the name); --strict-objectstores makes this a deny"
                    ),
                )
            } else {
                (
                    format!(
                        "barmanObjectName '{store}' ({role}) names no ObjectStore in namespace '{ns}'; CNPG accepts the Cluster and then silently stops archiving (WAL fills the PVC) or never starts a recovery"
                    ),
                    format!(
                        "create ObjectStore '{store}' (barmancloud.cnpg.io/v1) in '{ns}' first, or fix the name"
                    ),
                )
            };
            cx.hit(
                OBJECTSTORE_MISSING,
                format!("{path}.parameters.{PARAM_BARMAN_OBJECT_NAME}"),
                message,
                fix,
            );
        }
    }
}

pub(crate) fn check_delete(cx: &mut Cx<'_>) {
    if !cx.on(OBJECTSTORE_IN_USE) {
        return;
    }
    let store = cx.obj.meta().name().to_string();
    let ns = cx.ns.to_string();
    let Some(clusters) = cx.clusters(Some(&ns)) else {
        return;
    };
    let mut users = Vec::new();
    for c in clusters.iter() {
        for (path, p, role) in barman_entries(c) {
            if plugin_param(p, PARAM_BARMAN_OBJECT_NAME) == Some(store.as_str()) {
                users.push(format!("Cluster {} ({path}, {role})", c.name()));
            }
        }
    }
    if users.is_empty() {
        return;
    }
    cx.hit(
        OBJECTSTORE_IN_USE,
        "metadata.name",
        format!(
            "ObjectStore '{store}' is still referenced by {}; deleting it stops WAL archiving and removes the recovery source",
            users.join(", ")
        ),
        "point those Clusters at another ObjectStore (or delete them) first".into(),
    );
}
