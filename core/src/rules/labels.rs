//! File-level backup labels on CNPG PVCs: stripped (mutation) by default.

use super::PVC_BACKUP_LABEL;
use crate::cnpg::CLUSTER_LABEL;
use crate::engine::Cx;
use crate::input::Operation;
use crate::settings::Level;
use crate::verdict::pointer_token;
use crate::view::Cluster;
use std::collections::BTreeMap;

/// A Cluster's `spec.inheritedMetadata.labels`: CNPG copies them onto every
/// PVC (and re-adds them when a PVC lacks one), so this is where a backup
/// label is removed for good.
pub(crate) fn check_cluster(cx: &mut Cx<'_>, cluster: &Cluster) {
    operator_inherited(cx, cluster);
    let Some(labels) = cluster
        .spec()
        .inherited_metadata
        .as_ref()
        .map(|m| &m.labels)
    else {
        return;
    };
    strip(
        cx,
        labels,
        &["spec", "inheritedMetadata", "labels"],
        "spec.inheritedMetadata.labels, which CNPG copies onto every PVC of the Cluster",
    );
}

/// A backup label on the Cluster's own `metadata.labels` that the operator
/// copies to PVCs (`INHERITED_LABELS`): reported, not removed — the label
/// may mean something to other tools, and the operator setting may be the
/// thing to change.
fn operator_inherited(cx: &mut Cx<'_>, cluster: &Cluster) {
    if cx.level(PVC_BACKUP_LABEL) == Level::Off {
        return;
    }
    let Some(meta) = &cluster.metadata else {
        return;
    };
    let found: Vec<&String> = cx
        .settings
        .backup_label_keys
        .iter()
        .filter(|k| meta.labels.contains_key(k.as_str()) && cx.settings.operator_inherits(k))
        .collect();
    let Some(first) = found.first() else { return };
    let list = found
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    cx.hit(
        PVC_BACKUP_LABEL,
        format!("metadata.labels[{first}]"),
        format!("file-level backup label(s) {list} on the Cluster match the operator's INHERITED_LABELS, so CNPG copies them onto every PVC and re-adds them whenever a PVC lacks one: stripping them from the PVCs cannot stick"),
        format!("remove {list} from the Cluster's metadata.labels, or drop the matching pattern from the operator's INHERITED_LABELS (then set operatorInheritedLabels here to match)"),
    );
}

/// A PVC carrying `cnpg.io/cluster`. Only on CREATE: CNPG's PVC reconciler
/// re-adds inherited labels on its own updates, and stripping them again on
/// every UPDATE would fight the operator (docs/cnpg.md §10); the Cluster is
/// where the label is fixed.
pub(crate) fn check_pvc(cx: &mut Cx<'_>) {
    if cx.op != Operation::Create {
        return;
    }
    let labels = &cx.obj.meta().labels;
    if !labels.contains_key(CLUSTER_LABEL) {
        return;
    }
    let labels = labels.clone();
    strip(cx, &labels, &["metadata", "labels"], "this CNPG PVC");
}

fn strip(cx: &mut Cx<'_>, labels: &BTreeMap<String, String>, labels_path: &[&str], what: &str) {
    let level = cx.level(PVC_BACKUP_LABEL);
    if level == Level::Off {
        return;
    }
    let found: Vec<String> = cx
        .settings
        .backup_label_keys
        .iter()
        .filter(|k| labels.contains_key(k.as_str()))
        .cloned()
        .collect();
    if found.is_empty() {
        return;
    }
    let dotted = labels_path.join(".");
    let list = found.join(", ");
    if level == Level::Mutate {
        let parent: String = labels_path
            .iter()
            .map(|k| format!("/{}", pointer_token(k)))
            .collect();
        for k in &found {
            cx.removals.push(format!("{parent}/{}", pointer_token(k)));
        }
        return;
    }
    cx.hit(
        PVC_BACKUP_LABEL,
        format!("{dotted}[{}]", found.first().map(String::as_str).unwrap_or_default()),
        format!("file-level backup label(s) {list} on {what}; a file-level copy of a running Postgres is not a consistent backup (CNPG data is backed up by barman)"),
        format!("remove {list} from {dotted}"),
    );
}
