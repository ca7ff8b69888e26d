//! What the core is asked about, and how it asks for other objects.

use crate::cnpg::{self, BARMAN_GROUP, CNPG_GROUP};
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
    pub object: Option<&'a Value>,
    /// The stored object (UPDATE, DELETE).
    pub old_object: Option<&'a Value>,
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
    fn group(self) -> &'static str {
        match self {
            LookupKind::ObjectStore => BARMAN_GROUP,
            LookupKind::Cluster | LookupKind::Backup => CNPG_GROUP,
        }
    }
}

/// How the core asks the host for other objects. Kubewarden answers through
/// `kubernetes/list_resources_*` host calls, the CLIs from a rendered bundle.
pub trait Lookup {
    /// Lists objects of `kind` in `namespace`, or in every namespace when None.
    fn list(&self, kind: LookupKind, namespace: Option<&str>) -> Result<Vec<Value>, String>;
}

/// A lookup over a fixed set of objects (tests, rendered bundles).
#[derive(Debug, Clone, Default)]
pub struct InMemory {
    objects: Vec<Value>,
    default_namespace: String,
}

impl InMemory {
    /// Objects without `metadata.namespace` are treated as in `default_namespace`.
    pub fn new(objects: Vec<Value>, default_namespace: &str) -> InMemory {
        InMemory {
            objects,
            default_namespace: default_namespace.to_string(),
        }
    }
}

impl Lookup for InMemory {
    fn list(&self, kind: LookupKind, namespace: Option<&str>) -> Result<Vec<Value>, String> {
        Ok(self
            .objects
            .iter()
            .filter(|o| {
                let api = cnpg::str_at(o, &["apiVersion"]).unwrap_or_default();
                let group = api.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
                group == kind.group() && cnpg::str_at(o, &["kind"]) == Some(kind.kind())
            })
            .filter(|o| {
                namespace.is_none_or(|ns| cnpg::namespace(o, &self.default_namespace) == ns)
            })
            .cloned()
            .collect())
    }
}

/// A lookup that knows nothing (every list is empty).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLookup;

impl Lookup for NoLookup {
    fn list(&self, _: LookupKind, _: Option<&str>) -> Result<Vec<Value>, String> {
        Ok(Vec::new())
    }
}
