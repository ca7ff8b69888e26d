//! The admission payload, read once for every host.
//!
//! Kubewarden hands the policy `{"request": AdmissionRequest, "settings": {..}}`.
//! [`run`] decodes it, evaluates it and applies the core's removals to the full
//! object. The `.wasm` policy calls it behind waPC; the browser build calls it
//! directly. Both answer lookups through [`HostCalls`]: the same
//! `list_resources_*` request (with the views' field masks) and the same list
//! parsing, only the transport differs (a waPC host call, or the in-process
//! answerer of the same host calls). So a manifest cannot get one verdict in
//! admission and another in the browser.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::rules::OBJECT_TOO_LARGE;
use crate::verdict::{Finding, ObjectRef, Severity, apply_removals};
use crate::view::{Backup, Cluster, Kind, NetworkPolicy, ObjectStore, ScheduledBackup, parse_list};
use crate::{Lookup, LookupKind, Object, Operation, Request, Settings, Verdict, evaluate};

/// Largest object, in bytes of JSON, the core evaluates: the API server's
/// request body limit (`MaxRequestBodyBytes = 3 * 1024 * 1024`,
/// k8s.io/apiserver `pkg/server/config.go`); etcd's default
/// `--max-request-bytes` is 1.5 MiB, so no stored object is larger. A larger
/// one is denied with [`OBJECT_TOO_LARGE`] rather than read.
pub const MAX_OBJECT_BYTES: usize = 3 * 1024 * 1024;

/// The `validate` payload. Objects stay raw JSON and are read through the
/// core's typed views.
#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(borrow)]
    request: AdmissionRequest<'a>,
    #[serde(default)]
    settings: Value,
}

/// The request's `kind` (GroupVersionKind): which view to parse into.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RequestKind {
    group: String,
    version: String,
    kind: String,
}

/// The AdmissionRequest fields the policy reads. Kubewarden sends camelCase;
/// the SDK's test helpers serialize snake_case: both are accepted.
#[derive(Deserialize, Default)]
#[serde(default)]
struct AdmissionRequest<'a> {
    operation: String,
    name: String,
    namespace: String,
    kind: Option<RequestKind>,
    #[serde(borrow)]
    object: Option<&'a RawValue>,
    #[serde(borrow, alias = "oldObject")]
    old_object: Option<&'a RawValue>,
}

/// Reads and validates policy settings (`null` = defaults). The error is the
/// one-line text `validate_settings` returns.
pub fn parse_settings(raw: &Value) -> Result<Settings, String> {
    let settings: Settings = if raw.is_null() {
        Settings::default()
    } else {
        Settings::deserialize(raw).map_err(|e| format!("invalid settings: {e}"))?
    };
    settings
        .validate()
        .map_err(|e| format!("invalid settings: {e}"))?;
    Ok(settings)
}

/// Evaluates a `validate` payload against a lookup. `Err` is a request that
/// cannot be read (the policy rejects it with this message).
pub fn run(payload: &[u8], lookup: &dyn Lookup) -> Result<Verdict, String> {
    let p: Payload<'_> = serde_json::from_slice(payload)
        .map_err(|e| format!("cannot parse the validation payload: {e}"))?;
    let settings = parse_settings(&p.settings)?;
    let r = &p.request;
    let Some(operation) = Operation::parse(&r.operation) else {
        return Err(format!("unsupported operation '{}'", r.operation));
    };
    let hint = r.kind.as_ref().map(|k| (k.group.as_str(), k.kind.as_str()));
    if let Some(verdict) = too_large(r, operation, &settings) {
        return Ok(verdict);
    }
    let read = |raw: Option<&RawValue>| -> Result<Option<Object>, String> {
        match raw {
            None => Ok(None),
            Some(raw) if raw.get() == "null" => Ok(None),
            Some(raw) => Object::from_json(raw.get(), hint)
                .map(Some)
                .map_err(|e| format!("cannot parse the object: {e}")),
        }
    };
    let object = read(r.object)?;
    let old_object = read(r.old_object)?;
    let request = Request {
        operation,
        object: object.as_ref(),
        old_object: old_object.as_ref(),
        namespace: &r.namespace,
    };
    let mut verdict = evaluate(&request, &settings, lookup);
    // The core read a view: apply its removals to the full object.
    if !verdict.removals.is_empty()
        && let Some(raw) = r.object
    {
        let mut full: Value =
            serde_json::from_str(raw.get()).map_err(|e| format!("cannot parse the object: {e}"))?;
        apply_removals(&mut full, &verdict.removals);
        verdict.mutated_object = Some(full);
    }
    Ok(verdict)
}

/// A deny for a CNPG object over [`MAX_OBJECT_BYTES`], from the request's
/// own fields (the object is not read).
fn too_large(
    r: &AdmissionRequest<'_>,
    operation: Operation,
    settings: &Settings,
) -> Option<Verdict> {
    let raw = match operation {
        Operation::Delete => r.old_object,
        _ => r.object,
    }?;
    let bytes = raw.get().len();
    let k = r.kind.as_ref()?;
    if bytes <= MAX_OBJECT_BYTES || Kind::of_group(&k.group, &k.kind).is_none() {
        return None;
    }
    let object = ObjectRef {
        api_version: if k.group.is_empty() {
            k.version.clone()
        } else {
            format!("{}/{}", k.group, k.version)
        },
        kind: k.kind.clone(),
        namespace: r.namespace.clone(),
        name: r.name.clone(),
    };
    // `off` is refused by the settings validation: deny, or warn if lowered.
    let severity = match crate::rules::find(OBJECT_TOO_LARGE).map(|rule| settings.level(rule)) {
        Some(crate::Level::Warn) => Severity::Warn,
        _ => Severity::Deny,
    };
    let mut finding = Finding {
        rule: OBJECT_TOO_LARGE.to_string(),
        severity,
        object,
        path: "metadata".to_string(),
        message: format!(
            "the object is {bytes} bytes of JSON, more than the {MAX_OBJECT_BYTES} cnpg-guard evaluates (the API server accepts at most 3 MiB, etcd stores at most 1.5 MiB); it was not checked"
        ),
        fix: "find what generates it (a runaway template or list) and shrink it below 1.5 MiB"
            .to_string(),
        text: String::new(),
    };
    finding.text = finding.render();
    Some(Verdict {
        accepted: severity != Severity::Deny,
        findings: vec![finding],
        ..Verdict::default()
    })
}

/// The Kubewarden `kubernetes` host-call operation and payload that list
/// `kind` (in `namespace`, or in all namespaces), asking only for the fields
/// the views read. Field names follow the SDK's
/// `ListResourcesByNamespaceRequest` / `ListAllResourcesRequest`
/// (kubewarden-policy-sdk 0.17, snake_case serde defaults).
pub fn list_request(kind: LookupKind, namespace: Option<&str>) -> (&'static str, Value) {
    let masks = kind.field_masks();
    match namespace {
        Some(ns) => (
            "list_resources_by_namespace",
            json!({"api_version": kind.api_version(), "kind": kind.kind(), "namespace": ns,
                   "label_selector": null, "field_selector": null, "field_masks": masks}),
        ),
        None => (
            "list_resources_all",
            json!({"api_version": kind.api_version(), "kind": kind.kind(),
                   "label_selector": null, "field_selector": null, "field_masks": masks}),
        ),
    }
}

/// A host-call transport as a plain function: `(operation, payload) -> answer`.
pub type Transport = fn(&str, &[u8]) -> Result<Vec<u8>, String>;

/// A [`Lookup`] over Kubewarden's `kubewarden`/`kubernetes` host calls.
/// `call(operation, payload)` is the transport: the waPC host call in the
/// policy, an in-process answerer elsewhere.
pub struct HostCalls<F>(pub F);

impl<F> HostCalls<F>
where
    F: Fn(&str, &[u8]) -> Result<Vec<u8>, String>,
{
    fn list<T: serde::de::DeserializeOwned + Default>(
        &self,
        kind: LookupKind,
        namespace: Option<&str>,
    ) -> Result<Vec<T>, String> {
        let (op, req) = list_request(kind, namespace);
        let payload = serde_json::to_vec(&req).map_err(|e| e.to_string())?;
        let raw = (self.0)(op, &payload).map_err(|e| format!("host call {op} failed: {e}"))?;
        parse_list(&raw).map_err(|e| format!("unreadable list from host: {e}"))
    }
}

impl<F> Lookup for HostCalls<F>
where
    F: Fn(&str, &[u8]) -> Result<Vec<u8>, String>,
{
    fn object_stores(&self, namespace: Option<&str>) -> Result<Vec<ObjectStore>, String> {
        self.list(LookupKind::ObjectStore, namespace)
    }
    fn clusters(&self, namespace: Option<&str>) -> Result<Vec<Cluster>, String> {
        self.list(LookupKind::Cluster, namespace)
    }
    fn backups(&self, namespace: &str) -> Result<Vec<Backup>, String> {
        self.list(LookupKind::Backup, Some(namespace))
    }
    fn scheduled_backups(&self, namespace: &str) -> Result<Vec<ScheduledBackup>, String> {
        self.list(LookupKind::ScheduledBackup, Some(namespace))
    }
    fn network_policies(&self, namespace: &str) -> Result<Vec<NetworkPolicy>, String> {
        self.list(LookupKind::NetworkPolicy, Some(namespace))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::InMemory;

    #[test]
    fn accepts_camel_and_snake_case_old_object() {
        let store = json!({"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
            "metadata": {"name": "s3", "namespace": "db"}});
        let cluster = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": {"name": "pg", "namespace": "db"},
            "spec": {"plugins": [{"name": "barman-cloud.cloudnative-pg.io", "parameters": {"barmanObjectName": "s3"}}]}});
        let lookup = InMemory::new(&[cluster], "db");
        for key in ["oldObject", "old_object"] {
            let payload = json!({"request": {"operation": "DELETE", "namespace": "db", key: store}, "settings": {}});
            let verdict = run(&serde_json::to_vec(&payload).unwrap(), &lookup).unwrap();
            assert!(!verdict.accepted, "{key}");
            assert!(verdict.denials().any(|f| f.rule == "objectstore-in-use"));
        }
    }

    #[test]
    fn host_calls_send_the_masked_request_and_read_the_list() {
        let seen = std::cell::RefCell::new(Vec::new());
        let lookup = HostCalls(|op: &str, payload: &[u8]| {
            seen.borrow_mut().push((
                op.to_string(),
                serde_json::from_slice::<Value>(payload).unwrap(),
            ));
            Ok(br#"{"items":[{"metadata":{"name":"s3","namespace":"db"}}]}"#.to_vec())
        });
        let stores = lookup.object_stores(Some("db")).unwrap();
        assert_eq!(stores.len(), 1);
        let (op, req) = &seen.borrow()[0];
        assert_eq!(op, "list_resources_by_namespace");
        assert_eq!(req["namespace"], "db");
        assert_eq!(req["kind"], "ObjectStore");
        assert!(req["field_masks"].as_array().is_some_and(|m| !m.is_empty()));
        let failing = HostCalls(|_: &str, _: &[u8]| Err("boom".to_string()));
        let err = failing.clusters(None).unwrap_err();
        assert!(err.contains("list_resources_all failed: boom"), "{err}");
    }

    #[test]
    fn objects_over_the_limit_are_denied_unread() {
        let big = "x".repeat(MAX_OBJECT_BYTES);
        let payload = |kind: serde_json::Value| {
            serde_json::to_vec(
                &json!({"request": {"operation": "CREATE", "name": "pg", "namespace": "db",
                "kind": kind,
                "object": {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
                           "metadata": {"name": "pg", "annotations": {"a": big}}}}}),
            )
            .unwrap()
        };
        let v = run(
            &payload(json!({"group": "postgresql.cnpg.io", "version": "v1", "kind": "Cluster"})),
            &crate::NoLookup,
        )
        .unwrap();
        assert!(!v.accepted);
        assert_eq!(v.findings.len(), 1);
        let f = &v.findings[0];
        assert_eq!(f.rule, OBJECT_TOO_LARGE);
        assert_eq!(f.object.to_string(), "Cluster db/pg");
        assert!(
            f.text
                .starts_with("Cluster db/pg: metadata: [object-too-large]"),
            "{}",
            f.text
        );
        // Kinds the core does not read are not its business.
        let v = run(
            &payload(json!({"group": "", "version": "v1", "kind": "ConfigMap"})),
            &crate::NoLookup,
        )
        .unwrap();
        assert!(v.accepted);
    }

    #[test]
    fn unreadable_payloads_are_errors_not_panics() {
        for bad in [&b"{"[..], b"null", br#"{"request":{"operation":"PATCH"}}"#] {
            assert!(run(bad, &crate::NoLookup).is_err());
        }
        let bad_settings =
            br#"{"request":{"operation":"CREATE"},"settings":{"severity":{"nope":"deny"}}}"#;
        let err = run(bad_settings, &crate::NoLookup).unwrap_err();
        assert!(err.contains("unknown rule id 'nope'"), "{err}");
    }
}
