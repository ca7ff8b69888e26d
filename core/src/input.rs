//! What the core is asked about, and how it asks for other objects.

use crate::view::{Backup, Cluster, Kind, NetworkPolicy, Object, ObjectStore, ScheduledBackup};
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
    /// `postgresql.cnpg.io/v1` ScheduledBackup.
    ScheduledBackup,
    /// `networking.k8s.io/v1` NetworkPolicy.
    NetworkPolicy,
}

impl LookupKind {
    /// apiVersion to ask for.
    pub fn api_version(self) -> &'static str {
        match self {
            LookupKind::ObjectStore => "barmancloud.cnpg.io/v1",
            LookupKind::Cluster | LookupKind::Backup | LookupKind::ScheduledBackup => {
                "postgresql.cnpg.io/v1"
            }
            LookupKind::NetworkPolicy => "networking.k8s.io/v1",
        }
    }
    /// Kind to ask for.
    pub fn kind(self) -> &'static str {
        match self {
            LookupKind::ObjectStore => "ObjectStore",
            LookupKind::Cluster => "Cluster",
            LookupKind::Backup => "Backup",
            LookupKind::ScheduledBackup => "ScheduledBackup",
            LookupKind::NetworkPolicy => "NetworkPolicy",
        }
    }
    /// Plural for messages.
    pub fn plural(self) -> &'static str {
        match self {
            LookupKind::ObjectStore => "ObjectStores",
            LookupKind::Cluster => "Clusters",
            LookupKind::Backup => "Backups",
            LookupKind::ScheduledBackup => "ScheduledBackups",
            LookupKind::NetworkPolicy => "NetworkPolicies",
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
            LookupKind::ScheduledBackup => crate::view::backup::SCHEDULED_BACKUP_FIELD_MASKS,
            LookupKind::NetworkPolicy => crate::view::network::FIELD_MASKS,
        }
    }
    /// The view kind.
    pub fn view_kind(self) -> Kind {
        match self {
            LookupKind::ObjectStore => Kind::ObjectStore,
            LookupKind::Cluster => Kind::Cluster,
            LookupKind::Backup => Kind::Backup,
            LookupKind::ScheduledBackup => Kind::ScheduledBackup,
            LookupKind::NetworkPolicy => Kind::NetworkPolicy,
        }
    }

    /// Every kind, in a stable order (hosts and tests iterate it).
    pub const ALL: [LookupKind; 5] = [
        LookupKind::ObjectStore,
        LookupKind::Cluster,
        LookupKind::Backup,
        LookupKind::ScheduledBackup,
        LookupKind::NetworkPolicy,
    ];
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
    /// ScheduledBackups in a namespace.
    fn scheduled_backups(&self, namespace: &str) -> Result<Vec<ScheduledBackup>, String>;
    /// NetworkPolicies in a namespace.
    fn network_policies(&self, namespace: &str) -> Result<Vec<NetworkPolicy>, String>;
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
    fn scheduled_backups(&self, namespace: &str) -> Result<Vec<ScheduledBackup>, String> {
        Ok(self
            .in_ns(Some(namespace))
            .filter_map(|o| match o {
                Object::ScheduledBackup(b) => Some(b.clone()),
                _ => None,
            })
            .collect())
    }
    fn network_policies(&self, namespace: &str) -> Result<Vec<NetworkPolicy>, String> {
        Ok(self
            .in_ns(Some(namespace))
            .filter_map(|o| match o {
                Object::NetworkPolicy(n) => Some(n.clone()),
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
    fn scheduled_backups(&self, _: &str) -> Result<Vec<ScheduledBackup>, String> {
        Ok(Vec::new())
    }
    fn network_policies(&self, _: &str) -> Result<Vec<NetworkPolicy>, String> {
        Ok(Vec::new())
    }
}
