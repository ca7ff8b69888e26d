//! WAL lineages: where a Cluster archives to and where it restores from.
//!
//! A lineage is (object store location, serverName): barman writes under
//! `<destinationPath>/<serverName>/` (barman-cloud lib
//! `pkg/archiver/command.go:82`). CNPG resolves an omitted serverName with
//! different rules in four places (`docs/cnpg.md` §1.6):
//!
//! | where | default when omitted | source |
//! |---|---|---|
//! | `spec.backup.barmanObjectStore` (archive, in-tree) | the Cluster's `metadata.name` | cnpg@v1.30.0 `pkg/management/postgres/archiver/archiver.go:242-243` |
//! | `spec.externalClusters[].barmanObjectStore` (source, in-tree) | the externalCluster's `name` | cnpg@v1.30.0 `api/v1/cluster_funcs.go:401-408` |
//! | `spec.plugins[barman].parameters.serverName` (archive, plugin) | the Cluster's `metadata.name`; `""` is kept | plugin-barman-cloud@v0.14.0 `internal/cnpgi/operator/config/config.go:148-152` |
//! | `spec.externalClusters[].plugin.parameters.serverName` (recovery or replica source, plugin) | the NEW Cluster's `metadata.name` — not the externalCluster's name; `""` too | plugin `config.go:161-164,171-174` |

use super::{
    PARAM_BARMAN_OBJECT_NAME, PARAM_SERVER_NAME, find_external_cluster, is_barman, plugin_enabled,
    plugin_param,
};
use crate::view::cluster::{BarmanObjectStore, ExternalCluster, PluginEntry};
use crate::view::{Cluster, ObjectStore};

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

impl Store {
    /// The ObjectStore name, or the destinationPath of an in-tree store.
    pub fn label(&self) -> &str {
        match self {
            Store::Inline {
                destination_path, ..
            } => destination_path,
            Store::ObjectStore { name, .. } => name,
        }
    }
}

/// Maps an ObjectStore reference (namespace, name) to the object, when known.
pub type Resolver<'a> = dyn Fn(&str, &str) -> Option<&'a ObjectStore> + 'a;

/// Physical location of a store: what decides whether two stores collide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// `destinationPath` without trailing slashes.
    pub destination_path: String,
    /// `endpointURL` without trailing slashes, if set.
    pub endpoint_url: Option<String>,
}

impl Location {
    /// Normalises a location: surrounding blanks and trailing slashes do not
    /// change where barman writes (it joins `<destinationPath>/<serverName>`).
    pub fn new(dest: &str, endpoint: Option<&str>) -> Location {
        Location {
            destination_path: dest.trim().trim_end_matches('/').to_string(),
            endpoint_url: endpoint
                .map(|e| e.trim().trim_end_matches('/').to_string())
                .filter(|e| !e.is_empty()),
        }
    }

    /// Reads `spec.configuration.{destinationPath,endpointURL}` of an ObjectStore.
    pub fn of_object_store(object_store: &ObjectStore) -> Option<Location> {
        let c = object_store.configuration()?;
        Some(Location::new(
            c.destination_path.as_deref()?,
            c.endpoint_url.as_deref(),
        ))
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

/// What a lineage is to its Cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The Cluster archives WAL and takes base backups here.
    Archive,
    /// `spec.bootstrap.recovery.source` restores from here.
    Recovery,
    /// `spec.replica.source` streams/restores from here.
    Replica,
}

impl Role {
    /// Words for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Role::Archive => "WAL archive and backups",
            Role::Recovery => "recovery source",
            Role::Replica => "replica source",
        }
    }
}

/// One WAL lineage of a Cluster, with where each part was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lineage {
    /// What it is to the Cluster.
    pub role: Role,
    /// The store.
    pub store: Store,
    /// JSON path of `destinationPath` (inline) or `barmanObjectName` (plugin).
    pub store_path: String,
    /// The effective serverName, after CNPG's defaults. May be empty when
    /// written as `""` in a plugin archive entry (the plugin keeps it, see
    /// [`Lineage::empty_server_name`]).
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

    /// Location, resolving an ObjectStore reference with `resolve`.
    pub fn location_with<'a>(&self, resolve: &Resolver<'a>) -> Option<Location> {
        match &self.store {
            Store::Inline { .. } => self.inline_location(),
            Store::ObjectStore { namespace, name } => {
                resolve(namespace, name).and_then(Location::of_object_store)
            }
        }
    }

    /// True when a plugin entry writes `serverName: ""`.
    pub fn empty_server_name(&self) -> bool {
        self.explicit && self.server_name.is_empty()
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
    a.server_name == b.server_name && same_store(a, b, resolve)
}

/// Whether two lineages use the same store (ignoring serverName): the same
/// location when both resolve, else the same ObjectStore reference.
pub fn same_store<'a>(a: &Lineage, b: &Lineage, resolve: &Resolver<'a>) -> bool {
    if let (Some(la), Some(lb)) = (a.location_with(resolve), b.location_with(resolve)) {
        return la == lb;
    }
    matches!((&a.store, &b.store), (Store::ObjectStore { .. }, Store::ObjectStore { .. }) if a.store == b.store)
}

/// True unless the two stores are provably different places (both resolve
/// and differ, or are two different in-tree paths).
pub fn maybe_same_store<'a>(a: &Lineage, b: &Lineage, resolve: &Resolver<'a>) -> bool {
    match (a.location_with(resolve), b.location_with(resolve)) {
        (Some(la), Some(lb)) => la == lb,
        _ => true,
    }
}

const ARCHIVE_DEFAULT: &str = "CNPG defaults the archive serverName to the Cluster name";
const INLINE_SOURCE_DEFAULT: &str =
    "CNPG defaults an in-tree externalCluster's serverName to the externalCluster name";
const PLUGIN_SOURCE_DEFAULT: &str = "the barman plugin defaults a recovery serverName to the NEW Cluster's own name, not the source's";
const PLUGIN_REPLICA_DEFAULT: &str = "the barman plugin defaults a replica source serverName to this Cluster's own name, not the source's";

/// A plugin `serverName` as the plugin reads it (`docs/cnpg.md` §4): for the
/// archive entry it tests key presence, so `""` is kept
/// (plugin-barman-cloud@v0.14.0 `internal/cnpgi/operator/config/config.go:151-152`);
/// for recovery and replica entries it tests emptiness, so `""` means the
/// default (`config.go:161-164,171-174`).
fn plugin_server_name(role: Role, plugin: &PluginEntry) -> Option<&str> {
    let value = plugin.parameters.get(PARAM_SERVER_NAME).map(String::as_str);
    match role {
        Role::Archive => value,
        Role::Recovery | Role::Replica => value.filter(|v| !v.is_empty()),
    }
}

/// Every lineage a Cluster archives WAL to: in-tree `spec.backup.barmanObjectStore`
/// and each enabled barman plugin entry in `spec.plugins`. Both may be active
/// at once in the migration "dual" mode. `default_ns` is used for a Cluster
/// that carries no namespace.
pub fn archives(cluster: &Cluster, default_ns: &str) -> Vec<Lineage> {
    let cluster_name = cluster.name();
    let mut out = Vec::new();
    if let Some(bos) = cluster.inline_archive()
        && let Some(dest) = bos.destination_path.as_deref()
    {
        out.push(inline(
            Role::Archive,
            bos,
            dest,
            INLINE_ARCHIVE_PATH,
            cluster_name,
            ARCHIVE_DEFAULT,
        ));
    }
    let ns = namespace_of(cluster, default_ns);
    for (i, plugin) in cluster.spec().plugins.iter().enumerate() {
        if !is_barman(plugin) || !plugin_enabled(plugin) {
            continue;
        }
        if let Some(l) = plugin_lineage(
            Role::Archive,
            plugin,
            &format!("spec.plugins[{i}]"),
            ns,
            cluster_name,
            ARCHIVE_DEFAULT,
        ) {
            out.push(l);
        }
    }
    out
}

fn namespace_of<'a>(cluster: &'a Cluster, default_ns: &'a str) -> &'a str {
    cluster
        .metadata
        .as_ref()
        .map_or(default_ns, |m| m.namespace_or(default_ns))
}

fn inline(
    role: Role,
    bos: &BarmanObjectStore,
    dest: &str,
    base: &str,
    default_name: &str,
    why: &'static str,
) -> Lineage {
    // In-tree: an empty serverName is the Go zero value, i.e. not set.
    let explicit = bos.server_name.as_deref().filter(|s| !s.is_empty());
    Lineage {
        role,
        store: Store::Inline {
            destination_path: dest.to_string(),
            endpoint_url: bos.endpoint_url.clone(),
        },
        store_path: format!("{base}.destinationPath"),
        server_name: explicit.unwrap_or(default_name).to_string(),
        server_name_path: format!("{base}.serverName"),
        explicit: explicit.is_some(),
        default_reason: explicit.is_none().then_some(why),
    }
}

fn plugin_lineage(
    role: Role,
    plugin: &PluginEntry,
    base: &str,
    ns: &str,
    default_name: &str,
    why: &'static str,
) -> Option<Lineage> {
    let store = plugin_param(plugin, PARAM_BARMAN_OBJECT_NAME)?;
    let explicit = plugin_server_name(role, plugin);
    Some(Lineage {
        role,
        store: Store::ObjectStore {
            namespace: ns.to_string(),
            name: store.to_string(),
        },
        store_path: format!("{base}.parameters.{PARAM_BARMAN_OBJECT_NAME}"),
        server_name: explicit.unwrap_or(default_name).to_string(),
        server_name_path: format!("{base}.parameters.{PARAM_SERVER_NAME}"),
        explicit: explicit.is_some(),
        default_reason: explicit.is_none().then_some(why),
    })
}

/// The main archive lineage: the barman plugin if present, else in-tree.
pub fn archive(cluster: &Cluster, default_ns: &str) -> Option<Lineage> {
    let mut all = archives(cluster, default_ns);
    let i = all
        .iter()
        .position(|l| matches!(l.store, Store::ObjectStore { .. }))
        .unwrap_or(0);
    (i < all.len()).then(|| all.swap_remove(i))
}

/// The lineage an externalCluster entry reads from, in `role`. The plugin
/// path wins over in-tree when both are set (CNPG `GetRecoverySourcePlugin`).
pub fn external_cluster(
    cluster: &Cluster,
    index: usize,
    ec: &ExternalCluster,
    role: Role,
    default_ns: &str,
) -> Option<Lineage> {
    let ec_name = ec.name.as_deref().unwrap_or_default();
    let base = format!("spec.externalClusters[{index}]");
    if let Some(plugin) = &ec.plugin
        && is_barman(plugin)
    {
        let why = match role {
            Role::Replica => PLUGIN_REPLICA_DEFAULT,
            Role::Archive | Role::Recovery => PLUGIN_SOURCE_DEFAULT,
        };
        return plugin_lineage(
            role,
            plugin,
            &format!("{base}.plugin"),
            namespace_of(cluster, default_ns),
            cluster.name(),
            why,
        );
    }
    let bos = ec.barman_object_store.as_ref()?;
    let dest = bos.destination_path.as_deref()?;
    Some(inline(
        role,
        bos,
        dest,
        &format!("{base}.barmanObjectStore"),
        ec_name,
        INLINE_SOURCE_DEFAULT,
    ))
}

/// The lineage `spec.bootstrap.recovery.source` restores from, if any.
pub fn recovery_source(cluster: &Cluster, default_ns: &str) -> Option<Lineage> {
    let source = cluster.recovery()?.source.as_deref()?;
    let (i, ec) = find_external_cluster(cluster, source)?;
    external_cluster(cluster, i, ec, Role::Recovery, default_ns)
}

/// The lineage `spec.replica.source` reads from, when the Cluster is a
/// replica (`replica.enabled: true`, or a distributed topology where
/// `replica.primary` names another Cluster than `replica.self`).
pub fn replica_source(cluster: &Cluster, default_ns: &str) -> Option<Lineage> {
    let replica = cluster.spec().replica.as_ref()?;
    let is_replica = match (&replica.primary, &replica.self_) {
        (Some(p), Some(me)) if !p.is_empty() => p != me,
        _ => replica.enabled == Some(true),
    };
    if !is_replica {
        return None;
    }
    let (i, ec) = find_external_cluster(cluster, replica.source.as_deref()?)?;
    external_cluster(cluster, i, ec, Role::Replica, default_ns)
}

/// Every lineage a Cluster reads from: its recovery source and its replica
/// source, once each (a replica bootstrapped by recovery from the same
/// externalClusters entry reads one lineage, reported as the recovery).
pub fn sources(cluster: &Cluster, default_ns: &str) -> Vec<Lineage> {
    let mut out: Vec<Lineage> = recovery_source(cluster, default_ns).into_iter().collect();
    if let Some(r) = replica_source(cluster, default_ns)
        && !out.iter().any(|s| s.server_name_path == r.server_name_path)
    {
        out.push(r);
    }
    out
}

/// Splits a `-v<N>` lineage suffix: `temporal-database-v2` -> (`temporal-database`, 2).
pub fn versioned(server_name: &str) -> Option<(String, u32)> {
    let (base, n) = server_name.rsplit_once("-v")?;
    if base.is_empty() || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((base.to_string(), n.parse().ok()?))
}

/// The lineage a recovery archives to after restoring `current`:
/// `x-vN` → `x-v(N+1)`; a name without a `-vN` suffix starts a versioned
/// lineage at `<name>-v2` (its WAL stays under `<name>`, the recovery source).
/// At `u32::MAX` there is no next number: the suffix is extended instead.
pub fn next_server_name(current: &str) -> String {
    match versioned(current) {
        Some((base, n)) => match n.checked_add(1) {
            Some(next) => format!("{base}-v{next}"),
            None => format!("{current}-v2"),
        },
        None => format!("{current}-v2"),
    }
}

/// [`next_server_name`] with a note when `current` is not versioned yet, so
/// the drill starts a `-vN` lineage (every host that proposes the bump says so).
pub fn next_server_name_noted(current: &str) -> (String, Option<String>) {
    let next = next_server_name(current);
    let note = versioned(current).is_none().then(|| {
        format!(
            "{PARAM_SERVER_NAME} '{current}' has no -vN suffix: starting a versioned lineage at '{next}' (the current WAL stays under '{current}' as the recovery source)"
        )
    });
    (next, note)
}

/// The first lineage of a new Cluster that will be recovered by `-vN` bumps:
/// `<name>-v1` (the runbook convention; CNPG itself only needs a prefix no
/// other Cluster wrote).
pub fn first_server_name(cluster_name: &str) -> String {
    format!("{cluster_name}-v1")
}

/// Field path of the in-tree archive configuration, the block an in-tree
/// recovery source copies its store keys from ([`EntryValue::CopyFromArchive`]):
/// `spec.backup.barmanObjectStore` (cnpg@v1.30.0 `api/v1/cluster_types.go:2383,2390`;
/// archived to by `pkg/management/postgres/archiver/archiver.go:242-243`).
pub const INLINE_ARCHIVE_PATH: &str = "spec.backup.barmanObjectStore";

/// The `barmanObjectStore` keys an in-tree recovery source copies from the
/// archive configuration: where and how to read (not wal/data/retention
/// settings; serverName is set separately).
pub const SOURCE_STORE_KEYS: &[&str] = &[
    "destinationPath",
    "endpointURL",
    "endpointCA",
    "s3Credentials",
    "googleCredentials",
    "azureCredentials",
];

/// A value in an entry the core builds for a host to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryValue {
    /// A string scalar.
    Str(String),
    /// A nested map, in order.
    Map(Vec<(String, EntryValue)>),
    /// Copy this key's value, as written, from the archive block
    /// ([`INLINE_ARCHIVE_PATH`]); drop it when absent there.
    CopyFromArchive(&'static str),
}

/// The `spec.externalClusters[]` entry that reads `lineage` as a recovery
/// (or replica) source named `name`: the plugin form for an ObjectStore
/// lineage, the in-tree form (store keys copied from the archive) otherwise.
/// Keys are in the order people write them.
pub fn source_entry(name: &str, lineage: &Lineage) -> Vec<(String, EntryValue)> {
    let s = |v: &str| EntryValue::Str(v.to_string());
    let body = match &lineage.store {
        Store::ObjectStore { name: store, .. } => (
            "plugin".to_string(),
            EntryValue::Map(vec![
                ("name".into(), s(super::BARMAN_PLUGIN)),
                (
                    "parameters".into(),
                    EntryValue::Map(vec![
                        (PARAM_BARMAN_OBJECT_NAME.into(), s(store)),
                        (PARAM_SERVER_NAME.into(), s(&lineage.server_name)),
                    ]),
                ),
            ]),
        ),
        Store::Inline { .. } => {
            let mut keys: Vec<(String, EntryValue)> = SOURCE_STORE_KEYS
                .iter()
                .map(|k| (k.to_string(), EntryValue::CopyFromArchive(k)))
                .collect();
            keys.push(("serverName".into(), s(&lineage.server_name)));
            ("barmanObjectStore".to_string(), EntryValue::Map(keys))
        }
    };
    vec![("name".into(), s(name)), body]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::cnpg::BARMAN_PLUGIN;
    use serde::Deserialize;
    use serde_json::{Value, json};

    fn view(v: &Value) -> Cluster {
        Cluster::deserialize(v).unwrap()
    }

    fn plugin_cluster(archive_sn: Option<&str>, source_sn: Option<&str>) -> Cluster {
        let mut ap = json!({"barmanObjectName": "store"});
        if let Some(s) = archive_sn {
            ap["serverName"] = json!(s);
        }
        let mut sp = json!({"barmanObjectName": "store"});
        if let Some(s) = source_sn {
            sp["serverName"] = json!(s);
        }
        view(
            &json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": {"name": "pg", "namespace": "db"},
            "spec": {"bootstrap": {"recovery": {"source": "origin"}},
                "plugins": [{"name": BARMAN_PLUGIN, "isWALArchiver": true, "parameters": ap}],
                "externalClusters": [{"name": "origin", "plugin": {"name": BARMAN_PLUGIN, "parameters": sp}}]}}),
        )
    }

    #[test]
    fn plugin_defaults_both_sides_to_the_cluster_name() {
        let c = plugin_cluster(None, None);
        let a = archive(&c, "").unwrap();
        let s = recovery_source(&c, "").unwrap();
        assert_eq!(a.server_name, "pg");
        assert_eq!(s.server_name, "pg");
        assert!(!s.explicit);
        assert!(same_prefix(&a, &s, &|_, _| None));
    }

    #[test]
    fn inline_source_defaults_to_external_cluster_name() {
        let c = view(&json!({"metadata": {"name": "pg"}, "spec": {
            "bootstrap": {"recovery": {"source": "old"}},
            "externalClusters": [{"name": "old", "barmanObjectStore": {"destinationPath": "s3://b/"}}]}}));
        let s = recovery_source(&c, "").unwrap();
        assert_eq!(s.server_name, "old");
        assert_eq!(
            s.server_name_path,
            "spec.externalClusters[0].barmanObjectStore.serverName"
        );
    }

    #[test]
    fn disabled_plugin_does_not_archive() {
        let mut c = plugin_cluster(Some("a"), Some("b"));
        c.spec.as_mut().unwrap().plugins[0].enabled = Some(false);
        assert!(archives(&c, "").is_empty());
    }

    #[test]
    fn different_object_stores_with_same_path_collide_when_resolved() {
        let mut c = plugin_cluster(Some("x"), Some("x"));
        c.spec.as_mut().unwrap().external_clusters[0]
            .plugin
            .as_mut()
            .unwrap()
            .parameters
            .insert("barmanObjectName".into(), "other".into());
        let a = archive(&c, "").unwrap();
        let s = recovery_source(&c, "").unwrap();
        assert!(!same_prefix(&a, &s, &|_, _| None));
        let store = ObjectStore::deserialize(
            &json!({"spec": {"configuration": {"destinationPath": "s3://bucket/"}}}),
        )
        .unwrap();
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

    #[test]
    fn next_names() {
        assert_eq!(
            next_server_name("temporal-database-v2"),
            "temporal-database-v3"
        );
        assert_eq!(next_server_name("pg"), "pg-v2");
        assert_eq!(next_server_name("pg-v"), "pg-v-v2");
        assert_eq!(next_server_name("pg-v4294967295"), "pg-v4294967295-v2");
    }

    #[test]
    fn empty_plugin_server_name_is_kept() {
        let c = plugin_cluster(Some(""), Some("pg-v1"));
        let a = archive(&c, "").unwrap();
        assert!(a.empty_server_name());
        assert_eq!(a.server_name, "");
    }

    #[test]
    fn replica_source_defaults_to_own_name() {
        let mut v = json!({"metadata": {"name": "pg-dr"}, "spec": {
            "replica": {"enabled": true, "source": "origin"},
            "externalClusters": [{"name": "origin", "plugin": {"name": BARMAN_PLUGIN,
                "parameters": {"barmanObjectName": "s3"}}}]}});
        let r = replica_source(&view(&v), "db").unwrap();
        assert_eq!(r.role, Role::Replica);
        assert_eq!(r.server_name, "pg-dr");
        v["spec"]["replica"]["enabled"] = json!(false);
        assert!(replica_source(&view(&v), "db").is_none());
    }
}
