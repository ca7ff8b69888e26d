//! Evaluates a whole set of manifests (an ArgoCD app, a kustomize overlay) the
//! way the cluster would see them: each object as a CREATE admission request,
//! with every other object of the bundle visible through host calls.

use std::sync::Arc;

use cnpg_guard_core::{ObjectRef, Verdict};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::{ContextSource, HostError, MemorySource};
#[cfg(feature = "runtime")]
use crate::{Engine, Instance};

/// Evaluates one `{"request", "settings"}` admission payload, answering the
/// policy's lookups from `ctx` (the same source for every call of a bundle).
/// Two exist: the policy `.wasm` in wasmtime ([`WasmEvaluator`]), and the
/// core linked in ([`crate::native::Native`], the browser build).
pub trait Evaluator {
    /// The verdict for `payload`.
    fn evaluate(
        &mut self,
        ctx: &Arc<dyn ContextSource>,
        payload: &Value,
    ) -> Result<Verdict, HostError>;
}

/// The policy `.wasm`'s `evaluate` export, on one instance for the whole
/// bundle: about twice as fast per object as a fresh instance each
/// (`cargo xtask bench`), and the policy keeps no state between calls. Any
/// error ends the evaluation, so a trapped instance is never called again.
#[cfg(feature = "runtime")]
pub struct WasmEvaluator<'a> {
    engine: &'a Engine,
    instance: Option<Instance>,
}

#[cfg(feature = "runtime")]
impl<'a> WasmEvaluator<'a> {
    /// Instantiates lazily, on the first object.
    pub fn new(engine: &'a Engine) -> WasmEvaluator<'a> {
        WasmEvaluator {
            engine,
            instance: None,
        }
    }
}

#[cfg(feature = "runtime")]
impl Evaluator for WasmEvaluator<'_> {
    fn evaluate(
        &mut self,
        ctx: &Arc<dyn ContextSource>,
        payload: &Value,
    ) -> Result<Verdict, HostError> {
        let instance = match self.instance.take() {
            Some(i) => i,
            None => self.engine.instance(Arc::clone(ctx))?,
        };
        let verdict = instance.evaluate(payload)?;
        self.instance = Some(instance);
        Ok(verdict)
    }
}

/// Namespace assumed for namespaced objects that do not name one.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Kinds that are not namespaced (no namespace is filled in for them).
const CLUSTER_SCOPED: &[&str] = &[
    "APIService",
    "CSIDriver",
    "ClusterAdmissionPolicy",
    "ClusterImageCatalog",
    "ClusterIssuer",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PriorityClass",
    "RuntimeClass",
    "StorageClass",
    "ValidatingWebhookConfiguration",
    "VolumeSnapshotClass",
];

/// Options of [`evaluate_bundle_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleOptions {
    /// Namespace for namespaced objects without `metadata.namespace` (ArgoCD:
    /// the application's destination namespace).
    pub default_namespace: String,
}

impl Default for BundleOptions {
    fn default() -> Self {
        BundleOptions {
            default_namespace: DEFAULT_NAMESPACE.to_string(),
        }
    }
}

/// The verdict for one object of the bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectResult {
    /// Which object (namespace filled in as it was evaluated).
    pub object: ObjectRef,
    /// What the policy said.
    pub verdict: Verdict,
}

/// The outcome of a bundle evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleReport {
    /// The objects to deploy, in input order, with policy mutations applied.
    pub objects: Vec<Value>,
    /// One result per input object, same order.
    pub results: Vec<ObjectResult>,
    /// True when every object was accepted.
    pub accepted: bool,
}

/// [`evaluate_bundle_with`] with [`BundleOptions::default`].
#[cfg(feature = "runtime")]
pub fn evaluate_bundle(
    engine: &Engine,
    objects: Vec<Value>,
    settings: &Value,
) -> Result<BundleReport, HostError> {
    evaluate_bundle_with(engine, objects, settings, &BundleOptions::default())
}

/// [`evaluate_bundle_by`] through the policy `.wasm`.
#[cfg(feature = "runtime")]
pub fn evaluate_bundle_with(
    engine: &Engine,
    objects: Vec<Value>,
    settings: &Value,
    opts: &BundleOptions,
) -> Result<BundleReport, HostError> {
    evaluate_bundle_by(&mut WasmEvaluator::new(engine), objects, settings, opts)
}

/// Runs every object through `evaluator` as a CREATE, with the whole bundle
/// (namespaces defaulted) as lookup context. A `mutated_object` replaces
/// the object in [`BundleReport::objects`]; a namespace this function filled
/// in is not added to the output.
pub fn evaluate_bundle_by(
    evaluator: &mut dyn Evaluator,
    objects: Vec<Value>,
    settings: &Value,
    opts: &BundleOptions,
) -> Result<BundleReport, HostError> {
    let ns = opts.default_namespace.as_str();
    let context: Vec<Value> = objects.iter().map(|o| with_namespace(o, ns)).collect();
    let ctx: Arc<dyn ContextSource> = Arc::new(MemorySource::new(context));

    let mut out = Vec::with_capacity(objects.len());
    let mut results = Vec::with_capacity(objects.len());
    for obj in objects {
        let object = ObjectRef::of_value(&obj, if is_cluster_scoped(&obj) { "" } else { ns });
        let payload = json!({
            "request": admission_request_in("CREATE", &obj, None, ns),
            "settings": settings,
        });
        let verdict = evaluator
            .evaluate(&ctx, &payload)
            .map_err(|e| HostError::InObject {
                object: object.to_string(),
                source: Box::new(e),
            })?;
        let had_namespace = obj.pointer("/metadata/namespace").is_some();
        let output = match &verdict.mutated_object {
            Some(mutated) if mutated.is_object() => {
                let mut mutated = mutated.clone();
                if !had_namespace {
                    strip_namespace(&mut mutated, &object.namespace);
                }
                mutated
            }
            _ => obj,
        };
        out.push(output);
        results.push(ObjectResult { object, verdict });
    }
    let accepted = results.iter().all(|r| r.verdict.accepted);
    Ok(BundleReport {
        objects: out,
        results,
        accepted,
    })
}

fn strip_namespace(obj: &mut Value, injected: &str) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut)
        && meta.get("namespace").and_then(Value::as_str) == Some(injected)
    {
        meta.remove("namespace");
    }
}

fn is_cluster_scoped(obj: &Value) -> bool {
    obj.get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| CLUSTER_SCOPED.contains(&k))
}

/// A copy of `obj` with `metadata.namespace` set to `ns` when it is namespaced
/// and has none (what the API server stores for a namespace-less object
/// applied to `ns`).
pub fn with_namespace(obj: &Value, ns: &str) -> Value {
    let mut obj = obj.clone();
    if is_cluster_scoped(&obj) {
        return obj;
    }
    if let Some(map) = obj.as_object_mut() {
        let meta = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            let missing = meta
                .get("namespace")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty);
            if missing {
                meta.insert("namespace".into(), Value::String(ns.to_string()));
            }
        }
    }
    obj
}

/// `group/version` → (group, version); core `v1` → ("", "v1").
fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// Lower-case plural of a kind, as Kubernetes resource names are
/// (`Cluster` → `clusters`, `Policy` → `policies`, `Ingress` → `ingresses`).
pub fn plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if lower.is_empty() || lower == "endpoints" {
        return lower;
    }
    let mut chars = lower.chars().rev();
    let last = chars.next();
    let before = chars.next();
    if last == Some('y') && before.is_some_and(|c| !"aeiou".contains(c)) {
        format!("{}ies", lower.get(..lower.len() - 1).unwrap_or(&lower))
    } else if lower.ends_with('s')
        || lower.ends_with('x')
        || lower.ends_with("ch")
        || lower.ends_with("sh")
    {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    }
}

/// A realistic Kubernetes `AdmissionRequest` (camelCase, as the API server and
/// policy-server send it) for `operation` on `object` (`Value::Null` for
/// DELETE), with namespace `default` for namespaced objects that have none.
pub fn admission_request(operation: &str, object: &Value, old_object: Option<&Value>) -> Value {
    admission_request_in(operation, object, old_object, DEFAULT_NAMESPACE)
}

/// [`admission_request`] with an explicit default namespace.
///
/// Kind, resource, name and namespace come from `object` (or `old_object` on
/// DELETE). As the API server does before admission, `metadata.namespace` is
/// filled in on the objects of namespaced kinds. The `uid` is derived from the
/// operation and object identity, so the request is reproducible.
pub fn admission_request_in(
    operation: &str,
    object: &Value,
    old_object: Option<&Value>,
    default_namespace: &str,
) -> Value {
    let subject = if object.is_object() {
        object
    } else {
        old_object.unwrap_or(object)
    };
    let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let api_version = s(subject.get("apiVersion"));
    let kind = s(subject.get("kind"));
    let (group, version) = split_api_version(&api_version);
    let cluster_scoped = is_cluster_scoped(subject);
    let mut namespace = s(subject.pointer("/metadata/namespace"));
    if namespace.is_empty() && !cluster_scoped {
        namespace = default_namespace.to_string();
    }
    let name = s(subject.pointer("/metadata/name"));
    let fill = |o: &Value| {
        if cluster_scoped {
            o.clone()
        } else {
            with_namespace(o, &namespace)
        }
    };

    let gvk = json!({"group": group, "version": version, "kind": kind});
    let gvr = json!({"group": group, "version": version, "resource": plural(&kind)});
    let options_kind = match operation {
        "UPDATE" => "UpdateOptions",
        "DELETE" => "DeleteOptions",
        _ => "CreateOptions",
    };
    let mut req = Map::new();
    req.insert(
        "uid".into(),
        Value::String(uid(operation, &api_version, &kind, &namespace, &name)),
    );
    req.insert("kind".into(), gvk.clone());
    req.insert("resource".into(), gvr.clone());
    req.insert("requestKind".into(), gvk);
    req.insert("requestResource".into(), gvr);
    req.insert("name".into(), Value::String(name));
    if !cluster_scoped {
        req.insert("namespace".into(), Value::String(namespace.clone()));
    }
    req.insert("operation".into(), Value::String(operation.to_string()));
    req.insert(
        "userInfo".into(),
        json!({"username": "cnpg-guard", "groups": ["system:authenticated"]}),
    );
    if object.is_object() {
        req.insert("object".into(), fill(object));
    }
    if let Some(old) = old_object.filter(|o| o.is_object()) {
        req.insert("oldObject".into(), fill(old));
    }
    req.insert("dryRun".into(), Value::Bool(false));
    req.insert(
        "options".into(),
        json!({"apiVersion": "meta.k8s.io/v1", "kind": options_kind}),
    );
    Value::Object(req)
}

/// A UUID-shaped id derived from the request identity.
fn uid(operation: &str, api_version: &str, kind: &str, namespace: &str, name: &str) -> String {
    let digest = Sha256::digest(format!(
        "{operation}\0{api_version}\0{kind}\0{namespace}\0{name}"
    ));
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let part = |a: usize, b: usize| hex.get(a..b).unwrap_or_default().to_string();
    format!(
        "{}-{}-4{}-a{}-{}",
        part(0, 8),
        part(8, 12),
        part(13, 16),
        part(17, 20),
        part(20, 32)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        for (k, p) in [
            ("Cluster", "clusters"),
            ("ObjectStore", "objectstores"),
            ("ScheduledBackup", "scheduledbackups"),
            ("PersistentVolumeClaim", "persistentvolumeclaims"),
            ("NetworkPolicy", "networkpolicies"),
            ("Ingress", "ingresses"),
            ("Gateway", "gateways"),
            ("Endpoints", "endpoints"),
            ("", ""),
        ] {
            assert_eq!(plural(k), p);
        }
    }

    #[test]
    fn request_shape() {
        let obj = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "pg"}});
        let req = admission_request("CREATE", &obj, None);
        assert_eq!(
            req["kind"],
            json!({"group": "postgresql.cnpg.io", "version": "v1", "kind": "Cluster"})
        );
        assert_eq!(req["resource"]["resource"], "clusters");
        assert_eq!(req["namespace"], "default");
        assert_eq!(req["object"]["metadata"]["namespace"], "default");
        assert!(req.get("oldObject").is_none());
        assert_eq!(req["dryRun"], false);
        let uid = req["uid"].as_str().unwrap();
        assert_eq!(uid.len(), 36);
        assert_eq!(
            uid,
            admission_request("CREATE", &obj, None)["uid"]
                .as_str()
                .unwrap()
        );

        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "db"}});
        let req = admission_request("DELETE", &Value::Null, Some(&ns));
        assert_eq!(req["kind"]["group"], "");
        assert_eq!(req["resource"]["resource"], "namespaces");
        assert!(req.get("namespace").is_none());
        assert!(req.get("object").is_none());
        assert_eq!(req["oldObject"]["metadata"]["name"], "db");
        assert_eq!(req["options"]["kind"], "DeleteOptions");
    }
}
