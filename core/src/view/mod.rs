//! Typed partial views of the objects cnpg-guard reads.
//!
//! Each view holds exactly the fields the rules (and the hosts, through
//! [`crate::cnpg`]) read; everything else is skipped while parsing. The
//! structs ARE the prune list: the policy parses the admission request
//! straight into them, so a rule cannot read a field the `.wasm` dropped.
//! Every field is lenient ([`lenient`]): absent, null or of the wrong type
//! reads as "not set", never as a parse error.
//!
//! Field paths for messages are built by the code that walks a view (it
//! knows the index of the plugin entry it is looking at), so every finding
//! names the field it came from.

pub mod backup;
pub mod cluster;
pub mod lenient;
pub mod network;

pub use backup::{Backup, ObjectStore, RecoveryWindow, ScheduledBackup};
pub use cluster::{Cluster, ExternalCluster, PluginEntry};
pub use network::NetworkPolicy;

use crate::cnpg::{BARMAN_GROUP, CNPG_GROUP};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// `metadata` of any object.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Meta {
    /// `name`.
    #[serde(deserialize_with = "lenient::string")]
    pub name: Option<String>,
    /// `generateName`.
    #[serde(deserialize_with = "lenient::string")]
    pub generate_name: Option<String>,
    /// `namespace`.
    #[serde(deserialize_with = "lenient::string")]
    pub namespace: Option<String>,
    /// `labels`.
    #[serde(deserialize_with = "lenient::string_map")]
    pub labels: BTreeMap<String, String>,
    /// `annotations`.
    #[serde(deserialize_with = "lenient::string_map")]
    pub annotations: BTreeMap<String, String>,
}

impl Meta {
    /// `name`, or empty.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    /// `namespace` when set and non-empty, else `fallback`.
    pub fn namespace_or<'a>(&'a self, fallback: &'a str) -> &'a str {
        match self.namespace.as_deref() {
            Some(ns) if !ns.is_empty() => ns,
            _ => fallback,
        }
    }

    /// An annotation value.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }
}

/// What kind of object a view holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `postgresql.cnpg.io` Cluster.
    Cluster,
    /// `postgresql.cnpg.io` ScheduledBackup.
    ScheduledBackup,
    /// `postgresql.cnpg.io` Backup.
    Backup,
    /// `barmancloud.cnpg.io` ObjectStore.
    ObjectStore,
    /// Core `v1` PersistentVolumeClaim.
    PersistentVolumeClaim,
    /// `networking.k8s.io` NetworkPolicy.
    NetworkPolicy,
}

impl Kind {
    /// Classifies by `apiVersion` (its group) and `kind`. The version is not
    /// checked: CNPG serves `v1` only, and a future version keeps the names.
    pub fn of(api_version: &str, kind: &str) -> Option<Kind> {
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        Kind::of_group(group, kind)
    }

    /// Classifies by API group and kind (`""` is the core group).
    pub fn of_group(group: &str, kind: &str) -> Option<Kind> {
        match (group, kind) {
            (CNPG_GROUP, "Cluster") => Some(Kind::Cluster),
            (CNPG_GROUP, "ScheduledBackup") => Some(Kind::ScheduledBackup),
            (CNPG_GROUP, "Backup") => Some(Kind::Backup),
            (BARMAN_GROUP, "ObjectStore") => Some(Kind::ObjectStore),
            ("", "PersistentVolumeClaim") => Some(Kind::PersistentVolumeClaim),
            ("networking.k8s.io", "NetworkPolicy") => Some(Kind::NetworkPolicy),
            _ => None,
        }
    }
}

/// The `apiVersion`/`kind` of an object, read before choosing its view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Head {
    /// `apiVersion`.
    #[serde(deserialize_with = "lenient::string")]
    pub api_version: Option<String>,
    /// `kind`.
    #[serde(deserialize_with = "lenient::string")]
    pub kind: Option<String>,
}

/// Any object, read through the view of its kind.
// A request holds one or two of these; boxing the Cluster would cost an
// allocation per request to save stack space nobody is short of.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// A Cluster.
    Cluster(Cluster),
    /// An ObjectStore.
    ObjectStore(ObjectStore),
    /// A Backup.
    Backup(Backup),
    /// A ScheduledBackup.
    ScheduledBackup(ScheduledBackup),
    /// A PersistentVolumeClaim: only its metadata is read.
    PersistentVolumeClaim(MetaOnly),
    /// A NetworkPolicy.
    NetworkPolicy(NetworkPolicy),
    /// Any other kind: only its metadata is read.
    Other(MetaOnly),
}

/// An object of which only `apiVersion`, `kind` and `metadata` are read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct MetaOnly {
    /// `apiVersion`.
    #[serde(rename = "apiVersion", deserialize_with = "lenient::string")]
    pub api_version: Option<String>,
    /// `kind`.
    #[serde(deserialize_with = "lenient::string")]
    pub kind: Option<String>,
    /// `metadata`.
    #[serde(deserialize_with = "lenient::object")]
    pub metadata: Option<Meta>,
}

static EMPTY_META: Meta = Meta {
    name: None,
    generate_name: None,
    namespace: None,
    labels: BTreeMap::new(),
    annotations: BTreeMap::new(),
};

fn kind_of(head: &Head) -> Option<Kind> {
    Kind::of(
        head.api_version.as_deref().unwrap_or_default(),
        head.kind.as_deref().unwrap_or_default(),
    )
}

impl Object {
    /// Reads an already parsed object (CLI bundles, tests).
    pub fn from_value(v: &Value) -> Object {
        let head = Head::deserialize(v).unwrap_or_default();
        match kind_of(&head) {
            Some(Kind::Cluster) => Object::Cluster(read(v)),
            Some(Kind::ObjectStore) => Object::ObjectStore(read(v)),
            Some(Kind::Backup) => Object::Backup(read(v)),
            Some(Kind::ScheduledBackup) => Object::ScheduledBackup(read(v)),
            Some(Kind::PersistentVolumeClaim) => Object::PersistentVolumeClaim(read(v)),
            Some(Kind::NetworkPolicy) => Object::NetworkPolicy(read(v)),
            None => Object::Other(read(v)),
        }
    }

    /// Parses JSON text in one pass. `hint` is the (group, kind) the caller
    /// already knows (an AdmissionRequest's `kind`); without it, or when the
    /// object's own `apiVersion`/`kind` disagree with it, the head is read
    /// first (one more scan of the text).
    pub fn from_json(json: &str, hint: Option<(&str, &str)>) -> Result<Object, serde_json::Error> {
        let guess = match hint {
            Some((group, kind)) => Kind::of_group(group, kind),
            None => kind_of(&serde_json::from_str::<Head>(json)?),
        };
        let object = Object::parse_as(json, guess)?;
        if hint.is_some() && kind_of(&object.head()) != guess {
            return Object::from_json(json, None);
        }
        Ok(object)
    }

    fn parse_as(json: &str, kind: Option<Kind>) -> Result<Object, serde_json::Error> {
        Ok(match kind {
            Some(Kind::Cluster) => Object::Cluster(serde_json::from_str(json)?),
            Some(Kind::ObjectStore) => Object::ObjectStore(serde_json::from_str(json)?),
            Some(Kind::Backup) => Object::Backup(serde_json::from_str(json)?),
            Some(Kind::ScheduledBackup) => Object::ScheduledBackup(serde_json::from_str(json)?),
            Some(Kind::PersistentVolumeClaim) => {
                Object::PersistentVolumeClaim(serde_json::from_str(json)?)
            }
            Some(Kind::NetworkPolicy) => Object::NetworkPolicy(serde_json::from_str(json)?),
            None => Object::Other(serde_json::from_str(json)?),
        })
    }

    /// `apiVersion` / `kind` as written.
    pub fn head(&self) -> Head {
        match self {
            Object::Cluster(c) => Head {
                api_version: c.api_version.clone(),
                kind: c.kind.clone(),
            },
            Object::ObjectStore(o) => Head {
                api_version: o.api_version.clone(),
                kind: o.kind.clone(),
            },
            Object::Backup(b) | Object::ScheduledBackup(b) => Head {
                api_version: b.api_version.clone(),
                kind: b.kind.clone(),
            },
            Object::NetworkPolicy(n) => Head {
                api_version: n.api_version.clone(),
                kind: n.kind.clone(),
            },
            Object::PersistentVolumeClaim(m) | Object::Other(m) => Head {
                api_version: m.api_version.clone(),
                kind: m.kind.clone(),
            },
        }
    }

    /// The CNPG kind, when it is one the rules know.
    pub fn kind(&self) -> Option<Kind> {
        match self {
            Object::Cluster(_) => Some(Kind::Cluster),
            Object::ObjectStore(_) => Some(Kind::ObjectStore),
            Object::Backup(_) => Some(Kind::Backup),
            Object::ScheduledBackup(_) => Some(Kind::ScheduledBackup),
            Object::PersistentVolumeClaim(_) => Some(Kind::PersistentVolumeClaim),
            Object::NetworkPolicy(_) => Some(Kind::NetworkPolicy),
            Object::Other(_) => None,
        }
    }

    /// `metadata`, or an empty one.
    pub fn meta(&self) -> &Meta {
        let m = match self {
            Object::Cluster(c) => c.metadata.as_ref(),
            Object::ObjectStore(o) => o.metadata.as_ref(),
            Object::Backup(b) | Object::ScheduledBackup(b) => b.metadata.as_ref(),
            Object::NetworkPolicy(n) => n.metadata.as_ref(),
            Object::PersistentVolumeClaim(m) | Object::Other(m) => m.metadata.as_ref(),
        };
        m.unwrap_or(&EMPTY_META)
    }

    /// The Cluster view, when this is a Cluster.
    pub fn as_cluster(&self) -> Option<&Cluster> {
        match self {
            Object::Cluster(c) => Some(c),
            _ => None,
        }
    }
}

/// Reads a view from an already parsed object. Views are lenient, so this
/// never fails: a wrong-typed field reads as not set.
pub fn read<T: serde::de::DeserializeOwned + Default>(v: &Value) -> T {
    T::deserialize(v).unwrap_or_default()
}

/// Most items read from one list a host answers. Beyond it the lookup fails
/// (a `context-unavailable` finding, at the `contextErrors` level) instead of
/// the request running into the policy's time limit: 20,000 listed Clusters
/// take ~0.3 s to read and check (README "Benchmarks"), the limit is 2 s.
pub const MAX_LIST_ITEMS: usize = 20_000;

/// Parses the `items` of a `<Kind>List` answered by a host; a missing
/// `items` is an empty list. More than [`MAX_LIST_ITEMS`] is an error, found
/// before the items past the limit are read.
pub fn parse_list<T: serde::de::DeserializeOwned + Default>(
    json: &[u8],
) -> Result<Vec<T>, serde_json::Error> {
    #[derive(Deserialize)]
    #[serde(bound = "T: serde::de::DeserializeOwned + Default")]
    struct List<T> {
        #[serde(default, deserialize_with = "capped")]
        items: Vec<T>,
    }
    fn capped<'de, D: serde::Deserializer<'de>, T: serde::de::DeserializeOwned + Default>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        lenient::list_at_most(d, MAX_LIST_ITEMS)
    }
    let list: List<T> = serde_json::from_slice(json)?;
    Ok(list.items)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kind_comes_from_the_object_even_with_a_wrong_hint() {
        let text =
            r#"{"apiVersion":"postgresql.cnpg.io/v1","kind":"Cluster","metadata":{"name":"pg"}}"#;
        let o = Object::from_json(text, Some(("barmancloud.cnpg.io", "ObjectStore"))).unwrap();
        assert_eq!(o.kind(), Some(Kind::Cluster));
        assert_eq!(o.meta().name(), "pg");
        let o = Object::from_json(text, None).unwrap();
        assert!(o.as_cluster().is_some());
    }

    #[test]
    fn value_and_text_read_the_same() {
        let v = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": {"name": "pg", "labels": {"a": "b"}},
            "spec": {"plugins": [{"name": "x", "parameters": {"serverName": "pg-v2"}}]}});
        let a = Object::from_value(&v);
        let b = Object::from_json(&v.to_string(), Some(("postgresql.cnpg.io", "Cluster"))).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn lists_longer_than_the_limit_are_an_error() {
        let items = vec![json!({"metadata": {"name": "x"}}); MAX_LIST_ITEMS];
        let ok = json!({"items": items}).to_string();
        assert_eq!(
            parse_list::<Cluster>(ok.as_bytes()).unwrap().len(),
            MAX_LIST_ITEMS
        );
        let mut items = items;
        items.push(json!({}));
        let over = json!({"items": items}).to_string();
        let err = parse_list::<Cluster>(over.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than 20000 items"), "{err}");
    }

    #[test]
    fn lists_tolerate_missing_items() {
        assert!(
            parse_list::<Cluster>(br#"{"kind":"ClusterList"}"#)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            parse_list::<Cluster>(br#"{"items":[{},1]}"#).unwrap().len(),
            2
        );
        assert!(parse_list::<Cluster>(b"oops").is_err());
    }
}
