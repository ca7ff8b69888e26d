//! Deprecations and leftovers that weaken later recoveries.

use super::{INLINE_BARMAN_DEPRECATED, SKIP_WAL_CHECK_OUTSIDE_RECOVERY};
use crate::cnpg::{SKIP_EMPTY_WAL_ARCHIVE_CHECK, annotation, at, items};
use crate::engine::Cx;

pub(crate) fn check(cx: &mut Cx<'_>) {
    if cx.on(INLINE_BARMAN_DEPRECATED) {
        let mut paths = Vec::new();
        if at(cx.obj, &["spec", "backup", "barmanObjectStore"]).is_some() {
            paths.push("spec.backup.barmanObjectStore".to_string());
        }
        for (i, ec) in items(cx.obj, &["spec", "externalClusters"]) {
            if at(ec, &["barmanObjectStore"]).is_some() {
                paths.push(format!("spec.externalClusters[{i}].barmanObjectStore"));
            }
        }
        for path in paths {
            cx.hit(
                INLINE_BARMAN_DEPRECATED,
                path,
                "in-tree barmanObjectStore is deprecated and removed in CloudNativePG 1.31".into(),
                "move the configuration to a barmancloud.cnpg.io/v1 ObjectStore and reference it from spec.plugins (barman-cloud.cloudnative-pg.io, barmanObjectName, serverName)".into(),
            );
        }
    }
    if cx.on(SKIP_WAL_CHECK_OUTSIDE_RECOVERY)
        && annotation(cx.obj, SKIP_EMPTY_WAL_ARCHIVE_CHECK) == Some("enabled")
        && at(cx.obj, &["spec", "bootstrap", "recovery"]).is_none()
    {
        cx.hit(
            SKIP_WAL_CHECK_OUTSIDE_RECOVERY,
            format!("metadata.annotations[{SKIP_EMPTY_WAL_ARCHIVE_CHECK}]"),
            "the empty-WAL-archive check is disabled on a Cluster that is not recovering; any future re-bootstrap will silently write into an existing lineage".into(),
            format!("remove {SKIP_EMPTY_WAL_ARCHIVE_CHECK}; bump the archive serverName instead when a new Cluster must archive"),
        );
    }
}
