//! What the core is asked about, and how it asks for other objects.

use crate::view::{Backup, Cluster, Kind, Object, ObjectStore};
use serde_json::Value;

/// Admission operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Object creation.
    Create,
    /// Object update; `old_object` is the stored object.
    Update,
    /// Object deletion; only `old_object` is set.
    Delete,
    /// `CONNECT` (exec/attach); never relevant here.
    Connect,
}

impl Operation {
    /// Parses the Kubernetes spelling (`CREATE`, ...).
    pub fn parse(s: &str) -> Option<Operation> {
        match s {
            "CREATE" => Some(Operation::Create),
            "UPDATE" => Some(Operation::Update),
            "DELETE" => Some(Operation::Delete),
            "CONNECT" => Some(Operation::Connect),
            _ => None,
        }
    }
}

/// One admission request, borrowed from the host's parsed payload.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The operation.
    pub operation: Operation,
    /// The incoming object (None on DELETE).
    pub object: Option<&'a Object>,
    /// The stored object (UPDATE, DELETE).
    pub old_object: Option<&'a Object>,
    /// Request namespace, used when the object carries none.
    pub namespace: &'a str,
}

/// The kinds of objects the rules may ask the host for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LookupKind {
    /// `barmancloud.cnpg.io/v1` ObjectStore.
    ObjectStore,
    /// `postgresql.cnpg.io/v1` Cluster.
    Cluster,
    /// `postgresql.cnpg.io/v1` Backup.
    Backup,
}

impl LookupKind {
    /// apiVersion to ask for.
    pub fn api_version(self) -> &'static str {
        match self {
            LookupKind::ObjectStore => "barmancloud.cnpg.io/v1",
            LookupKind::Cluster | LookupKind::Backup => "postgresql.cnpg.io/v1",
        }
    }
    /// Kind to ask for.
    pub fn kind(self) -> &'static str {
        match self {
            LookupKind::ObjectStore => "ObjectStore",
            LookupKind::Cluster => "Cluster",
            LookupKind::Backup => "Backup",
        }
    }
    /// Plural for messages.
    pub fn plural(self) -> &'static str {
        match self {
            LookupKind::ObjectStore => "ObjectStores",
            LookupKind::Cluster => "Clusters",
            LookupKind::Backup => "Backups",
        }
    }
    /// The fields the rules read of listed objects of this kind: hosts pass
    /// them as Kubewarden `field_masks` so the API server side prunes the
    /// rest (dot paths, arrays traversed implicitly; `docs/kubewarden-field-masks.md`).
    pub fn field_masks(self) -> &'static [&'static str] {
        match self {
            LookupKind::ObjectStore => crate::view::backup::OBJECT_STORE_FIELD_MASKS,
            LookupKind::Cluster => crate::view::cluster::FIELD_MASKS,
            LookupKind::Backup => crate::view::backup::BACKUP_FIELD_MASKS,
        }
    }
    /// The view kind.
    pub fn view_kind(self) -> Kind {
        match self {
            LookupKind::ObjectStore => Kind::ObjectStore,
            LookupKind::Cluster => Kind::Cluster,
            LookupKind::Backup => Kind::Backup,
        }
    }
}

/// How the core asks the host for other objects. Kubewarden answers through
/// `kubernetes/list_resources_*` host calls, the CLIs from a rendered bundle.
/// `namespace: None` lists every namespace.
pub trait Lookup {
    /// ObjectStores in a namespace, or in all.
    fn object_stores(&self, namespace: Option<&str>) -> Result<Vec<ObjectStore>, String>;
    /// Clusters in a namespace, or in all.
    fn clusters(&self, namespace: Option<&str>) -> Result<Vec<Cluster>, String>;
    /// Backups in a namespace.
    fn backups(&self, namespace: &str) -> Result<Vec<Backup>, String>;
}

/// A lookup over a fixed set of objects (tests, rendered bundles, the browser).
#[derive(Debug, Clone, Default)]
pub struct InMemory {
    objects: Vec<Object>,
    default_namespace: String,
}

impl InMemory {
    /// Objects without `metadata.namespace` are treated as in `default_namespace`.
    pub fn new(objects: &[Value], default_namespace: &str) -> InMemory {
        InMemory::from_objects(
            objects.iter().map(Object::from_value).collect(),
            default_namespace,
        )
    }

    /// [`InMemory::new`] over objects already read.
    pub fn from_objects(objects: Vec<Object>, default_namespace: &str) -> InMemory {
        InMemory {
            objects,
            default_namespace: default_namespace.to_string(),
        }
    }

    fn in_ns<'a>(&'a self, namespace: Option<&'a str>) -> impl Iterator<Item = &'a Object> + 'a {
        self.objects.iter().filter(move |o| {
            namespace.is_none_or(|ns| o.meta().namespace_or(&self.default_namespace) == ns)
        })
    }
}

impl Lookup for InMemory {
    fn object_stores(&self, namespace: Option<&str>) -> Result<Vec<ObjectStore>, String> {
        Ok(self
            .in_ns(namespace)
            .filter_map(|o| match o {
                Object::ObjectStore(s) => Some(s.clone()),
                _ => None,
            })
            .collect())
    }
    fn clusters(&self, namespace: Option<&str>) -> Result<Vec<Cluster>, String> {
        Ok(self
            .in_ns(namespace)
            .filter_map(|o| match o {
                Object::Cluster(c) => Some(c.clone()),
                _ => None,
            })
            .collect())
    }
    fn backups(&self, namespace: &str) -> Result<Vec<Backup>, String> {
        Ok(self
            .in_ns(Some(namespace))
            .filter_map(|o| match o {
                Object::Backup(b) => Some(b.clone()),
                _ => None,
            })
            .collect())
    }
}

/// A lookup that knows nothing (every list is empty).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLookup;

impl Lookup for NoLookup {
    fn object_stores(&self, _: Option<&str>) -> Result<Vec<ObjectStore>, String> {
        Ok(Vec::new())
    }
    fn clusters(&self, _: Option<&str>) -> Result<Vec<Cluster>, String> {
        Ok(Vec::new())
    }
    fn backups(&self, _: &str) -> Result<Vec<Backup>, String> {
        Ok(Vec::new())
    }
}
