//! Deprecations and leftovers that weaken later recoveries.

use super::{
    INLINE_BARMAN_DEPRECATED, SKIP_WAL_ARCHIVING_WITH_ARCHIVE, SKIP_WAL_CHECK_OUTSIDE_RECOVERY,
};
use crate::cnpg::lineage;
use crate::cnpg::{SKIP_EMPTY_WAL_ARCHIVE_CHECK, SKIP_WAL_ARCHIVING};
use crate::engine::Cx;
use crate::view::Cluster;

pub(crate) fn check(cx: &mut Cx<'_>, cluster: &Cluster) {
    let annotation = |key: &str| cluster.metadata.as_ref().and_then(|m| m.annotation(key));
    if cx.on(INLINE_BARMAN_DEPRECATED) {
        let mut paths = Vec::new();
        if cluster.inline_archive().is_some() {
            paths.push("spec.backup.barmanObjectStore".to_string());
        }
        for (i, ec) in cluster.spec().external_clusters.iter().enumerate() {
            if ec.barman_object_store.is_some() {
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
        && annotation(SKIP_EMPTY_WAL_ARCHIVE_CHECK) == Some("enabled")
        && cluster.recovery().is_none()
    {
        cx.hit(
            SKIP_WAL_CHECK_OUTSIDE_RECOVERY,
            format!("metadata.annotations[{SKIP_EMPTY_WAL_ARCHIVE_CHECK}]"),
            "the empty-WAL-archive check is disabled on a Cluster that is not recovering; any future re-bootstrap will silently write into an existing lineage".into(),
            format!("remove {SKIP_EMPTY_WAL_ARCHIVE_CHECK}; bump the archive serverName instead when a new Cluster must archive"),
        );
    }
    if cx.on(SKIP_WAL_ARCHIVING_WITH_ARCHIVE)
        && annotation(SKIP_WAL_ARCHIVING) == Some("enabled")
        && let Some(a) = lineage::archives(cluster, cx.ns).first()
    {
        cx.hit(
            SKIP_WAL_ARCHIVING_WITH_ARCHIVE,
            format!("metadata.annotations[{SKIP_WAL_ARCHIVING}]"),
            format!(
                "{SKIP_WAL_ARCHIVING}: enabled sets archive_mode=off although the Cluster archives to {}: no WAL reaches the store, so nothing after the last base backup can be recovered and backups wait for WAL that never comes (cnpg#10745)",
                a.describe()
            ),
            format!("remove {SKIP_WAL_ARCHIVING} once the bulk load or migration that needed it is over"),
        );
    }
}
