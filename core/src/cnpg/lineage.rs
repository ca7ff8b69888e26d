//! WAL lineages: where a Cluster archives to and where it restores from.
//!
//! A lineage is (object store location, serverName): barman writes under
//! `<destinationPath>/<serverName>/` (barman-cloud lib
//! `pkg/archiver/command.go:82`). CNPG resolves an omitted serverName with
//! THREE different rules (see `docs/cnpg.md` §1.6):
//!
//! | where | default when omitted | source |
//! |---|---|---|
//! | `spec.backup.barmanObjectStore` (archive, in-tree) | the Cluster's `metadata.name` | barman-cloud `pkg/archiver/archiver.go:158` |
//! | `spec.externalClusters[].barmanObjectStore` (source, in-tree) | the externalCluster's `name` | CNPG `api/v1/cluster_funcs.go:411-418` |
//! | `spec.plugins[barman].parameters.serverName` (archive, plugin) | the Cluster's `metadata.name` | plugin `internal/cnpgi/operator/config/config.go:148` |
//! | `spec.externalClusters[].plugin.parameters.serverName` (source, plugin) | the NEW Cluster's `metadata.name` — not the externalCluster's name | plugin `config.go:163,173` |

use super::{BARMAN_PLUGIN, at, items, name, namespace, plugin_enabled, plugin_param, str_at};
use serde_json::Value;

/// Where WAL and base backups physically live, before serverName.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// In-tree `barmanObjectStore` (deprecated; removed in CNPG 1.31).
    Inline {
        /// `destinationPath`.
        destination_path: String,
        /// `endpointURL`, if set.
        endpoint_url: Option<String>,
    },
    /// A barman plugin `ObjectStore` referenced by `barmanObjectName`.
    ObjectStore {
        /// Namespace of the ObjectStore (always the Cluster's: the plugin
        /// looks it up in the Cluster's namespace).
        namespace: String,
        /// `barmanObjectName`.
        name: String,
    },
}

/// Maps an ObjectStore reference (namespace, name) to the object, when known.
pub type Resolver<'a> = dyn Fn(&str, &str) -> Option<&'a Value> + 'a;

/// Physical location of a store: what decides whether two stores collide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// `destinationPath` without trailing slashes.
    pub destination_path: String,
    /// `endpointURL` without trailing slashes, if set.
    pub endpoint_url: Option<String>,
}

impl Location {
    fn new(dest: &str, endpoint: Option<&str>) -> Location {
        Location {
            destination_path: dest.trim().trim_end_matches('/').to_string(),
            endpoint_url: endpoint
                .map(|e| e.trim().trim_end_matches('/').to_string())
                .filter(|e| !e.is_empty()),
        }
    }

    /// Reads `spec.configuration.{destinationPath,endpointURL}` of an ObjectStore.
    pub fn of_object_store(object_store: &Value) -> Option<Location> {
        let dest = str_at(object_store, &["spec", "configuration", "destinationPath"])?;
        let endpoint = str_at(object_store, &["spec", "configuration", "endpointURL"]);
        Some(Location::new(dest, endpoint))
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.endpoint_url {
            Some(e) => write!(f, "{} (endpoint {e})", self.destination_path),
            None => write!(f, "{}", self.destination_path),
        }
    }
}

/// One WAL lineage of a Cluster, with where each part was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lineage {
    /// The store.
    pub store: Store,
    /// JSON path of `destinationPath` (inline) or `barmanObjectName` (plugin).
    pub store_path: String,
    /// The effective serverName, after CNPG's defaults.
    pub server_name: String,
    /// JSON path of the serverName field (where it is, or would be).
    pub server_name_path: String,
    /// False when `server_name` came from a default.
    pub explicit: bool,
    /// Words explaining the default, when one applied.
    pub default_reason: Option<&'static str>,
}

impl Lineage {
    /// Location of an inline store; ObjectStores need [`Lineage::location_with`].
    pub fn inline_location(&self) -> Option<Location> {
        match &self.store {
            Store::Inline {
                destination_path,
                endpoint_url,
            } => Some(Location::new(destination_path, endpoint_url.as_deref())),
            Store::ObjectStore { .. } => None,
        }
    }

    /// Location, resolving an ObjectStore reference with `resolve`
    /// (namespace, name) -> ObjectStore object.
    pub fn location_with<'a>(&self, resolve: &Resolver<'a>) -> Option<Location> {
        match &self.store {
            Store::Inline { .. } => self.inline_location(),
            Store::ObjectStore { namespace, name } => {
                resolve(namespace, name).and_then(Location::of_object_store)
            }
        }
    }

    /// `store/serverName` for messages.
    pub fn describe(&self) -> String {
        match &self.store {
            Store::Inline {
                destination_path, ..
            } => format!(
                "{}/{}",
                destination_path.trim_end_matches('/'),
                self.server_name
            ),
            Store::ObjectStore { name, .. } => {
                format!("ObjectStore '{name}', serverName '{}'", self.server_name)
            }
        }
    }

    /// How the serverName was obtained, for messages.
    pub fn server_name_origin(&self) -> String {
        match self.default_reason {
            None => format!("{} = '{}'", self.server_name_path, self.server_name),
            Some(why) => format!(
                "{} is omitted, so it defaults to '{}' ({why})",
                self.server_name_path, self.server_name
            ),
        }
    }
}

/// Whether two lineages point at the same prefix. `resolve` maps an
/// ObjectStore reference to the object, when known.
///
/// Same serverName and: the same physical location when both are known, or
/// the same ObjectStore (namespace, name) otherwise. Unknown never collides.
pub fn same_prefix<'a>(a: &Lineage, b: &Lineage, resolve: &Resolver<'a>) -> bool {
    if a.server_name != b.server_name {
        return false;
    }
    if let (Some(la), Some(lb)) = (a.location_with(resolve), b.location_with(resolve)) {
        return la == lb;
    }
    matches!((&a.store, &b.store), (Store::ObjectStore { .. }, Store::ObjectStore { .. }) if a.store == b.store)
}

const ARCHIVE_DEFAULT: &str = "CNPG defaults the archive serverName to the Cluster name";
const INLINE_SOURCE_DEFAULT: &str =
    "CNPG defaults an in-tree externalCluster's serverName to the externalCluster name";
const PLUGIN_SOURCE_DEFAULT: &str = "the barman plugin defaults a recovery serverName to the NEW Cluster's own name, not the source's";

/// Every lineage a Cluster archives WAL to: in-tree `spec.backup.barmanObjectStore`
/// and each enabled barman plugin entry in `spec.plugins`. Both may be active
/// at once in the migration "dual" mode (CNPG `archiver.go:164-176`).
pub fn archives(cluster: &Value) -> Vec<Lineage> {
    archives_in(cluster, "")
}

/// [`archives`], with `default_ns` for a Cluster that carries no namespace.
pub fn archives_in(cluster: &Value, default_ns: &str) -> Vec<Lineage> {
    let cluster_name = name(cluster);
    let mut out = Vec::new();
    if let Some(bos) = at(cluster, &["spec", "backup", "barmanObjectStore"])
        && let Some(dest) = str_at(bos, &["destinationPath"])
    {
        let explicit = str_at(bos, &["serverName"]).filter(|s| !s.is_empty());
        out.push(Lineage {
            store: Store::Inline {
                destination_path: dest.to_string(),
                endpoint_url: str_at(bos, &["endpointURL"]).map(str::to_string),
            },
            store_path: "spec.backup.barmanObjectStore.destinationPath".into(),
            server_name: explicit.unwrap_or(cluster_name).to_string(),
            server_name_path: "spec.backup.barmanObjectStore.serverName".into(),
            explicit: explicit.is_some(),
            default_reason: explicit.is_none().then_some(ARCHIVE_DEFAULT),
        });
    }
    let ns = namespace(cluster, default_ns);
    for (i, plugin) in items(cluster, &["spec", "plugins"]) {
        if str_at(plugin, &["name"]) != Some(BARMAN_PLUGIN) || !plugin_enabled(plugin) {
            continue;
        }
        let Some(store) = plugin_param(plugin, "barmanObjectName") else {
            continue;
        };
        let explicit = plugin_param(plugin, "serverName");
        out.push(Lineage {
            store: Store::ObjectStore {
                namespace: ns.to_string(),
                name: store.to_string(),
            },
            store_path: format!("spec.plugins[{i}].parameters.barmanObjectName"),
            server_name: explicit.unwrap_or(cluster_name).to_string(),
            server_name_path: format!("spec.plugins[{i}].parameters.serverName"),
            explicit: explicit.is_some(),
            default_reason: explicit.is_none().then_some(ARCHIVE_DEFAULT),
        });
    }
    out
}

/// The main archive lineage: the barman plugin if present, else in-tree.
pub fn archive(cluster: &Value) -> Option<Lineage> {
    let all = archives_in(cluster, "");
    all.iter()
        .find(|l| matches!(l.store, Store::ObjectStore { .. }))
        .or(all.first())
        .cloned()
}

/// The lineage an externalCluster entry reads from. The plugin path wins over
/// in-tree when both are set (CNPG `GetRecoverySourcePlugin`,
/// `cluster_funcs.go:1496`). `index` is the entry's position.
pub fn external_cluster(cluster: &Value, index: usize, ec: &Value) -> Option<Lineage> {
    external_cluster_in(cluster, index, ec, "")
}

/// [`external_cluster`], with `default_ns` for a Cluster without namespace.
pub fn external_cluster_in(
    cluster: &Value,
    index: usize,
    ec: &Value,
    default_ns: &str,
) -> Option<Lineage> {
    let ec_name = str_at(ec, &["name"]).unwrap_or_default();
    let base = format!("spec.externalClusters[{index}]");
    if let Some(plugin) = at(ec, &["plugin"])
        && str_at(plugin, &["name"]) == Some(BARMAN_PLUGIN)
    {
        let store = plugin_param(plugin, "barmanObjectName")?;
        let explicit = plugin_param(plugin, "serverName");
        return Some(Lineage {
            store: Store::ObjectStore {
                namespace: namespace(cluster, default_ns).to_string(),
                name: store.to_string(),
            },
            store_path: format!("{base}.plugin.parameters.barmanObjectName"),
            server_name: explicit.unwrap_or(name(cluster)).to_string(),
            server_name_path: format!("{base}.plugin.parameters.serverName"),
            explicit: explicit.is_some(),
            default_reason: explicit.is_none().then_some(PLUGIN_SOURCE_DEFAULT),
        });
    }
    let bos = at(ec, &["barmanObjectStore"])?;
    let dest = str_at(bos, &["destinationPath"])?;
    let explicit = str_at(bos, &["serverName"]).filter(|s| !s.is_empty());
    Some(Lineage {
        store: Store::Inline {
            destination_path: dest.to_string(),
            endpoint_url: str_at(bos, &["endpointURL"]).map(str::to_string),
        },
        store_path: format!("{base}.barmanObjectStore.destinationPath"),
        server_name: explicit.unwrap_or(ec_name).to_string(),
        server_name_path: format!("{base}.barmanObjectStore.serverName"),
        explicit: explicit.is_some(),
        default_reason: explicit.is_none().then_some(INLINE_SOURCE_DEFAULT),
    })
}

/// Finds `spec.externalClusters[]` by name, with its index. Names are compared
/// as strings (the corpus has unquoted ISO timestamps as names).
pub fn find_external_cluster<'a>(cluster: &'a Value, ec_name: &str) -> Option<(usize, &'a Value)> {
    items(cluster, &["spec", "externalClusters"])
        .find(|(_, ec)| str_at(ec, &["name"]) == Some(ec_name))
}

/// The lineage `spec.bootstrap.recovery.source` restores from, if any.
pub fn recovery_source(cluster: &Value) -> Option<Lineage> {
    recovery_source_in(cluster, "")
}

/// [`recovery_source`], with `default_ns` for a Cluster without namespace.
pub fn recovery_source_in(cluster: &Value, default_ns: &str) -> Option<Lineage> {
    let source = str_at(cluster, &["spec", "bootstrap", "recovery", "source"])?;
    let (i, ec) = find_external_cluster(cluster, source)?;
    external_cluster_in(cluster, i, ec, default_ns)
}

/// Splits a `-v<N>` lineage suffix: `temporal-database-v2` -> (`temporal-database`, 2).
pub fn versioned(server_name: &str) -> Option<(String, u32)> {
    let (base, n) = server_name.rsplit_once("-v")?;
    if base.is_empty() || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((base.to_string(), n.parse().ok()?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plugin_cluster(archive_sn: Option<&str>, source_sn: Option<&str>) -> Value {
        let mut ap = json!({"barmanObjectName": "store"});
        if let Some(s) = archive_sn {
            ap["serverName"] = json!(s);
        }
        let mut sp = json!({"barmanObjectName": "store"});
        if let Some(s) = source_sn {
            sp["serverName"] = json!(s);
        }
        json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": {"name": "pg", "namespace": "db"},
            "spec": {"bootstrap": {"recovery": {"source": "origin"}},
                "plugins": [{"name": BARMAN_PLUGIN, "isWALArchiver": true, "parameters": ap}],
                "externalClusters": [{"name": "origin", "plugin": {"name": BARMAN_PLUGIN, "parameters": sp}}]}})
    }

    #[test]
    fn plugin_defaults_both_sides_to_the_cluster_name() {
        let c = plugin_cluster(None, None);
        let a = archive(&c).unwrap();
        let s = recovery_source(&c).unwrap();
        assert_eq!(a.server_name, "pg");
        assert_eq!(s.server_name, "pg");
        assert!(!s.explicit);
        assert!(same_prefix(&a, &s, &|_, _| None));
    }

    #[test]
    fn inline_source_defaults_to_external_cluster_name() {
        let c = json!({"metadata": {"name": "pg"}, "spec": {
            "bootstrap": {"recovery": {"source": "old"}},
            "externalClusters": [{"name": "old", "barmanObjectStore": {"destinationPath": "s3://b/"}}]}});
        let s = recovery_source(&c).unwrap();
        assert_eq!(s.server_name, "old");
        assert_eq!(
            s.server_name_path,
            "spec.externalClusters[0].barmanObjectStore.serverName"
        );
    }

    #[test]
    fn disabled_plugin_does_not_archive() {
        let mut c = plugin_cluster(Some("a"), Some("b"));
        c["spec"]["plugins"][0]["enabled"] = json!(false);
        assert!(archives(&c).is_empty());
    }

    #[test]
    fn different_object_stores_with_same_path_collide_when_resolved() {
        let mut c = plugin_cluster(Some("x"), Some("x"));
        c["spec"]["externalClusters"][0]["plugin"]["parameters"]["barmanObjectName"] =
            json!("other");
        let a = archive(&c).unwrap();
        let s = recovery_source(&c).unwrap();
        assert!(!same_prefix(&a, &s, &|_, _| None));
        let store = json!({"spec": {"configuration": {"destinationPath": "s3://bucket/"}}});
        assert!(same_prefix(&a, &s, &|_, _| Some(&store)));
    }

    #[test]
    fn versioned_names() {
        assert_eq!(
            versioned("temporal-database-v2"),
            Some(("temporal-database".into(), 2))
        );
        assert_eq!(versioned("postgres-v17"), Some(("postgres".into(), 17)));
        assert_eq!(versioned("postgres"), None);
        assert_eq!(versioned("-v1"), None);
        assert_eq!(versioned("pg-v"), None);
        assert_eq!(versioned("pg-v99999999999999"), None);
    }
}
