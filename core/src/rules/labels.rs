//! File-level backup labels on CNPG PVCs: stripped (mutation) by default.

use super::PVC_BACKUP_LABEL;
use crate::cnpg::{CLUSTER_LABEL, Kind};
use crate::engine::Cx;
use crate::settings::Level;
use crate::verdict::pointer_token;
use serde_json::Value;

pub(crate) fn check(cx: &mut Cx<'_>) {
    let level = cx.level(PVC_BACKUP_LABEL);
    if level == Level::Off {
        return;
    }
    let (labels_path, what): (&[&str], &str) = match cx.kind {
        Some(Kind::PersistentVolumeClaim) => {
            let owned = cx
                .obj
                .get("metadata")
                .and_then(|m| m.get("labels"))
                .and_then(|l| l.get(CLUSTER_LABEL))
                .is_some();
            if !owned {
                return;
            }
            (&["metadata", "labels"], "this CNPG PVC")
        }
        Some(Kind::Cluster) => (
            &["spec", "inheritedMetadata", "labels"],
            "spec.inheritedMetadata.labels, which CNPG copies onto every PVC of the Cluster",
        ),
        _ => return,
    };
    let keys = cx.settings.backup_label_keys.clone();
    let mut found = Vec::new();
    if let Some(labels) = labels_of(cx.obj, labels_path) {
        for k in &keys {
            if labels.contains_key(k) {
                found.push(k.clone());
            }
        }
    }
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

fn labels_of<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a serde_json::Map<String, Value>> {
    let mut cur = obj;
    for k in path {
        cur = cur.get(k)?;
    }
    cur.as_object()
}
