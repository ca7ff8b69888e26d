//! What a Cluster's disaster-recovery setup resolves to, for people to read:
//! the bootstrap method, the lineage it archives to and every lineage it
//! reads from (with the serverName default that applied and why), what the
//! referenced ObjectStores have recorded for those lineages, and the
//! serverNames the next drill moves to. The browser playground and the
//! Argo CD "DR" tab show this; the rules use the same functions
//! ([`crate::cnpg::lineage`]), so the explanation and the findings agree.

use serde::Serialize;

use crate::cnpg::{self, lineage};
use crate::verdict::ObjectRef;
use crate::view::{Cluster, Object, ObjectStore};

/// One Cluster, explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterExplanation {
    /// Which Cluster.
    pub object: ObjectRef,
    /// Bootstrap methods set in `spec.bootstrap` (empty: CNPG runs `initdb`).
    pub bootstrap: Vec<&'static str>,
    /// Where it archives WAL and takes backups (the first archive when the
    /// in-tree store and the plugin are both active).
    pub archive: Option<LineageExplanation>,
    /// Every further archive (migration "dual" mode).
    pub more_archives: Vec<LineageExplanation>,
    /// Recovery and replica sources.
    pub sources: Vec<LineageExplanation>,
    /// The serverNames `kubectl cnpg-plan recovery` moves to.
    pub next_drill: Option<NextDrill>,
}

/// One lineage of a Cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineageExplanation {
    /// `archive`, `recovery` or `replica`.
    pub role: &'static str,
    /// The role in words.
    pub role_text: &'static str,
    /// The store.
    pub store: StoreRef,
    /// Field path of `barmanObjectName` or `destinationPath`.
    pub store_path: String,
    /// The effective serverName.
    pub server_name: String,
    /// Field path of the serverName (where it is, or would be).
    pub server_name_path: String,
    /// Written in the manifest (false: a default applied).
    pub explicit: bool,
    /// Why the default applied, when one did.
    pub default_reason: Option<&'static str>,
    /// Where the value comes from, in words.
    pub origin: String,
    /// `store/serverName` in words.
    pub describe: String,
    /// What the referenced ObjectStore says (plugin stores only).
    pub object_store: Option<StoreState>,
}

/// Where a lineage's store is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum StoreRef {
    /// A barman plugin ObjectStore.
    #[serde(rename_all = "camelCase")]
    ObjectStore {
        /// Its namespace (the Cluster's).
        namespace: String,
        /// Its name.
        name: String,
    },
    /// An in-tree `barmanObjectStore`.
    #[serde(rename_all = "camelCase")]
    Inline {
        /// `destinationPath`.
        destination_path: String,
        /// `endpointURL`.
        #[serde(rename = "endpointURL")]
        endpoint_url: Option<String>,
    },
}

/// A referenced ObjectStore as known to the explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreState {
    /// The ObjectStore was among the objects given.
    pub found: bool,
    /// Its `destinationPath` (and endpoint), when found.
    pub location: Option<String>,
    /// Every serverName its `status.serverRecoveryWindow` lists.
    pub lineages: Vec<String>,
    /// The recovery window of this lineage, when recorded.
    pub recovery_window: Option<Window>,
}

/// One `status.serverRecoveryWindow[<serverName>]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    /// `firstRecoverabilityPoint`.
    pub first_recoverability_point: Option<String>,
    /// `lastSuccessfulBackupTime`.
    pub last_successful_backup_time: Option<String>,
    /// `lastFailedBackupTime`.
    pub last_failed_backup_time: Option<String>,
}

/// The lockstep of the next recovery drill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NextDrill {
    /// The archive's serverName after the bump.
    pub archive_server_name: String,
    /// The recovery source's serverName: the lineage archived to today.
    pub source_server_name: String,
    /// A remark (e.g. a `-vN` lineage starts).
    pub note: Option<String>,
}

/// Explains every Cluster among `objects`. ObjectStores among them resolve
/// plugin references; objects without a namespace are in `default_ns`.
pub fn explain(objects: &[Object], default_ns: &str) -> Vec<ClusterExplanation> {
    let stores: Vec<(&str, &ObjectStore)> = objects
        .iter()
        .filter_map(|o| match o {
            Object::ObjectStore(s) => Some((o.meta().namespace_or(default_ns), s)),
            _ => None,
        })
        .collect();
    objects
        .iter()
        .filter_map(|o| match o {
            Object::Cluster(c) => Some(explain_cluster(o, c, &stores, default_ns)),
            _ => None,
        })
        .collect()
}

fn explain_cluster(
    obj: &Object,
    cluster: &Cluster,
    stores: &[(&str, &ObjectStore)],
    default_ns: &str,
) -> ClusterExplanation {
    let find = |ns: &str, name: &str| {
        stores
            .iter()
            .find(|(sns, s)| *sns == ns && s.name() == name)
            .map(|(_, s)| *s)
    };
    let one = |l: lineage::Lineage| lineage_explanation(l, &find);
    let mut archives = lineage::archives(cluster, default_ns).into_iter().map(one);
    let archive = archives.next();
    let more_archives: Vec<LineageExplanation> = archives.collect();
    let next_drill = archive.as_ref().map(|a| {
        let (next, note) = lineage::next_server_name_noted(&a.server_name);
        NextDrill {
            archive_server_name: next,
            source_server_name: a.server_name.clone(),
            note,
        }
    });
    ClusterExplanation {
        object: ObjectRef::of(obj, default_ns),
        bootstrap: cnpg::bootstrap_methods(cluster),
        archive,
        more_archives,
        sources: lineage::sources(cluster, default_ns)
            .into_iter()
            .map(one)
            .collect(),
        next_drill,
    }
}

fn lineage_explanation<'a>(
    l: lineage::Lineage,
    find: &dyn Fn(&str, &str) -> Option<&'a ObjectStore>,
) -> LineageExplanation {
    let (store, object_store) = match &l.store {
        lineage::Store::ObjectStore { namespace, name } => {
            let found = find(namespace, name);
            let state = StoreState {
                found: found.is_some(),
                location: found
                    .and_then(lineage::Location::of_object_store)
                    .map(|loc| loc.to_string()),
                lineages: found
                    .map(|s| s.lineages().map(|(k, _)| k.to_string()).collect())
                    .unwrap_or_default(),
                recovery_window: found
                    .and_then(|s| s.recovery_window(&l.server_name))
                    .map(|w| Window {
                        first_recoverability_point: w.first_recoverability_point.clone(),
                        last_successful_backup_time: w.last_successful_backup_time.clone(),
                        last_failed_backup_time: w.last_failed_backup_time.clone(),
                    }),
            };
            (
                StoreRef::ObjectStore {
                    namespace: namespace.clone(),
                    name: name.clone(),
                },
                Some(state),
            )
        }
        lineage::Store::Inline {
            destination_path,
            endpoint_url,
        } => (
            StoreRef::Inline {
                destination_path: destination_path.clone(),
                endpoint_url: endpoint_url.clone(),
            },
            None,
        ),
    };
    let role = match l.role {
        lineage::Role::Archive => "archive",
        lineage::Role::Recovery => "recovery",
        lineage::Role::Replica => "replica",
    };
    LineageExplanation {
        role,
        role_text: l.role.describe(),
        store,
        origin: l.server_name_origin(),
        describe: l.describe(),
        store_path: l.store_path,
        server_name: l.server_name,
        server_name_path: l.server_name_path,
        explicit: l.explicit,
        default_reason: l.default_reason,
        object_store,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    fn objects(values: &[serde_json::Value]) -> Vec<Object> {
        values.iter().map(Object::from_value).collect()
    }

    #[test]
    fn plugin_recovery_default_and_window() {
        let cluster = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": {"name": "pg"},
            "spec": {
                "bootstrap": {"recovery": {"source": "old"}},
                "plugins": [{"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": true,
                             "parameters": {"barmanObjectName": "s3", "serverName": "pg-v2"}}],
                "externalClusters": [{"name": "old", "plugin": {"name": "barman-cloud.cloudnative-pg.io",
                             "parameters": {"barmanObjectName": "s3"}}}]}});
        let store = json!({"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
            "metadata": {"name": "s3"},
            "spec": {"configuration": {"destinationPath": "s3://b/p/"}},
            "status": {"serverRecoveryWindow": {"pg-v2": {"firstRecoverabilityPoint": "2026-11-01T00:00:00Z"}}}});
        let out = explain(&objects(&[cluster, store]), "db");
        assert_eq!(out.len(), 1);
        let c = &out[0];
        assert_eq!(c.object.namespace, "db");
        assert_eq!(c.bootstrap, vec!["recovery"]);
        let a = c.archive.as_ref().unwrap();
        assert_eq!(
            (a.role, a.server_name.as_str(), a.explicit),
            ("archive", "pg-v2", true)
        );
        let s = a.object_store.as_ref().unwrap();
        assert!(s.found);
        assert_eq!(s.location.as_deref(), Some("s3://b/p"));
        assert_eq!(
            s.recovery_window
                .as_ref()
                .unwrap()
                .first_recoverability_point
                .as_deref(),
            Some("2026-11-01T00:00:00Z")
        );
        // The plugin defaults an omitted source serverName to the NEW Cluster's name.
        let src = &c.sources[0];
        assert_eq!(
            (src.role, src.server_name.as_str(), src.explicit),
            ("recovery", "pg", false)
        );
        assert!(src.default_reason.is_some());
        assert!(src.origin.contains("defaults to 'pg'"), "{}", src.origin);
        let next = c.next_drill.as_ref().unwrap();
        assert_eq!(next.archive_server_name, "pg-v3");
        assert_eq!(next.source_server_name, "pg-v2");
        assert!(next.note.is_none());
        let v = serde_json::to_value(c).unwrap();
        assert_eq!(
            v["archive"]["store"],
            json!({"kind": "objectStore", "namespace": "db", "name": "s3"})
        );
        assert_eq!(v["nextDrill"]["archiveServerName"], "pg-v3");
    }

    #[test]
    fn inline_store_unversioned_and_missing_store() {
        let cluster = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": {"name": "pg", "namespace": "x"},
            "spec": {"backup": {"barmanObjectStore": {"destinationPath": "s3://b"}}}});
        let out = explain(&objects(&[cluster]), "db");
        let a = out[0].archive.as_ref().unwrap();
        assert_eq!(
            a.store,
            StoreRef::Inline {
                destination_path: "s3://b".into(),
                endpoint_url: None
            }
        );
        assert!(a.object_store.is_none());
        assert!(out[0].bootstrap.is_empty());
        let next = out[0].next_drill.as_ref().unwrap();
        assert_eq!(next.archive_server_name, "pg-v2");
        assert!(next.note.as_deref().unwrap().contains("no -vN suffix"));

        let cluster = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": {"name": "pg"},
            "spec": {"plugins": [{"name": "barman-cloud.cloudnative-pg.io",
                "parameters": {"barmanObjectName": "gone"}}]}});
        let out = explain(&objects(&[cluster]), "db");
        let s = out[0]
            .archive
            .as_ref()
            .unwrap()
            .object_store
            .as_ref()
            .unwrap();
        assert!(!s.found && s.location.is_none() && s.recovery_window.is_none());
    }
}
