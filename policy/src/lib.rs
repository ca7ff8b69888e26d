//! Kubewarden entry point for cnpg-guard.
//!
//! Thin glue: decode the waPC payload, answer the core's lookups with
//! `kubewarden/kubernetes/list_resources_*` host calls, encode the verdict.
//! All decisions live in `cnpg-guard-core`.

use cnpg_guard_core::verdict::apply_removals;
use cnpg_guard_core::view::{
    Backup, Cluster, NetworkPolicy, ObjectStore, ScheduledBackup, parse_list,
};
use cnpg_guard_core::{
    Lookup, LookupKind, Object, Operation, Request, Settings, Severity, Verdict, evaluate,
};
use guest::prelude::*;
use kubewarden_policy_sdk::response::ValidationResponse;
use kubewarden_policy_sdk::wapc_guest as guest;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::collections::HashMap;

#[allow(unsafe_code)] // waPC requires this exact exported symbol
#[unsafe(no_mangle)]
/// waPC entry point: registers the functions the host may call.
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function("validate_settings", validate_settings);
    register_function(
        "protocol_version",
        kubewarden_policy_sdk::protocol_version_guest,
    );
    register_function("evaluate", evaluate_export);
}

/// The `validate` payload: `{"request": AdmissionRequest, "settings": {...}}`.
/// Objects are kept as raw JSON and read through the core's typed views.
#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(borrow)]
    request: AdmissionRequest<'a>,
    #[serde(default)]
    settings: Value,
}

/// The request's `kind` (GroupVersionKind): tells which view to parse into
/// before the object is read.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RequestKind {
    group: String,
    kind: String,
}

/// The fields of a Kubernetes AdmissionRequest the policy reads. Kubewarden
/// sends camelCase; the SDK's test helpers serialize snake_case: accept both.
#[derive(Deserialize, Default)]
#[serde(default)]
struct AdmissionRequest<'a> {
    operation: String,
    namespace: String,
    kind: Option<RequestKind>,
    #[serde(borrow)]
    object: Option<&'a RawValue>,
    #[serde(borrow, alias = "oldObject")]
    old_object: Option<&'a RawValue>,
}

/// Answers lookups through Kubewarden host capabilities, asking only for
/// the fields the core's views read (`field_masks`).
struct HostLookup;

impl HostLookup {
    fn list<T: serde::de::DeserializeOwned + Default>(
        kind: LookupKind,
        namespace: Option<&str>,
    ) -> Result<Vec<T>, String> {
        // Field names follow the SDK's ListResourcesByNamespaceRequest /
        // ListAllResourcesRequest (snake_case serde defaults).
        let masks = kind.field_masks();
        let (op, req) = match namespace {
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
        };
        let payload = serde_json::to_vec(&req).map_err(|e| e.to_string())?;
        let raw = guest::host_call("kubewarden", "kubernetes", op, &payload)
            .map_err(|e| format!("host call {op} failed: {e}"))?;
        parse_list(&raw).map_err(|e| format!("unreadable list from host: {e}"))
    }
}

impl Lookup for HostLookup {
    fn object_stores(&self, namespace: Option<&str>) -> Result<Vec<ObjectStore>, String> {
        HostLookup::list(LookupKind::ObjectStore, namespace)
    }
    fn clusters(&self, namespace: Option<&str>) -> Result<Vec<Cluster>, String> {
        HostLookup::list(LookupKind::Cluster, namespace)
    }
    fn backups(&self, namespace: &str) -> Result<Vec<Backup>, String> {
        HostLookup::list(LookupKind::Backup, Some(namespace))
    }
    fn scheduled_backups(&self, namespace: &str) -> Result<Vec<ScheduledBackup>, String> {
        HostLookup::list(LookupKind::ScheduledBackup, Some(namespace))
    }
    fn network_policies(&self, namespace: &str) -> Result<Vec<NetworkPolicy>, String> {
        HostLookup::list(LookupKind::NetworkPolicy, Some(namespace))
    }
}

fn parse_settings(raw: &Value) -> Result<Settings, String> {
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

/// Evaluates a payload against a lookup. Shared by `validate` and `evaluate`.
pub fn run(payload: &[u8], lookup: &dyn Lookup) -> Result<Verdict, String> {
    let p: Payload<'_> = serde_json::from_slice(payload)
        .map_err(|e| format!("cannot parse the validation payload: {e}"))?;
    let settings = parse_settings(&p.settings)?;
    let r = &p.request;
    let Some(operation) = Operation::parse(&r.operation) else {
        return Err(format!("unsupported operation '{}'", r.operation));
    };
    let hint = r.kind.as_ref().map(|k| (k.group.as_str(), k.kind.as_str()));
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

/// Turns a verdict into the Kubewarden response.
pub fn to_response(verdict: &Verdict) -> ValidationResponse {
    let denials: Vec<&str> = verdict.denials().map(|f| f.text.as_str()).collect();
    let warnings: Vec<String> = verdict.warnings().map(|f| f.text.clone()).collect();
    // Audit annotation keys are prefixed with the webhook name by the API
    // server, so they must be plain names (no '/').
    let audit: HashMap<String, String> = verdict
        .exemptions
        .iter()
        .map(|e| (format!("exempt-{}", e.rule), e.reason.clone()))
        .collect();
    ValidationResponse {
        accepted: verdict.accepted,
        message: (!verdict.accepted).then(|| denials.join("\n")),
        code: None,
        mutated_object: verdict.mutated_object.clone(),
        audit_annotations: (!audit.is_empty()).then_some(audit),
        warnings: (!warnings.is_empty()).then_some(warnings),
    }
}

fn rejection(message: String) -> ValidationResponse {
    ValidationResponse {
        accepted: false,
        message: Some(format!("cnpg-guard: {message}")),
        code: Some(400),
        mutated_object: None,
        audit_annotations: None,
        warnings: None,
    }
}

/// Kubewarden `validate`.
fn validate(payload: &[u8]) -> CallResult {
    let response = match run(payload, &HostLookup) {
        Ok(verdict) => to_response(&verdict),
        Err(e) => rejection(e),
    };
    Ok(serde_json::to_vec(&response)?)
}

/// Structured verdict for the CLIs (Kubewarden never calls it).
fn evaluate_export(payload: &[u8]) -> CallResult {
    let verdict = run(payload, &HostLookup)
        .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })?;
    Ok(serde_json::to_vec(&verdict)?)
}

/// Kubewarden `validate_settings`: invalid JSON shape is reported as
/// `valid: false` with the serde message, not as a waPC error.
fn validate_settings(payload: &[u8]) -> CallResult {
    let raw: Result<Value, _> = serde_json::from_slice(payload);
    let result = match raw {
        Ok(v) => parse_settings(&v).map(|_| ()),
        Err(e) => Err(format!("settings are not JSON: {e}")),
    };
    let (valid, message) = match result {
        Ok(()) => (true, None),
        Err(m) => (false, Some(m)),
    };
    Ok(serde_json::to_vec(
        &json!({"valid": valid, "message": message}),
    )?)
}

/// Number of deny findings (used by tests and docs).
pub fn deny_count(verdict: &Verdict) -> usize {
    verdict
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Deny)
        .count()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use cnpg_guard_core::InMemory;

    #[test]
    fn settings_errors_are_reported_not_raised() {
        let out = validate_settings(br#"{"severity": {"nope": "deny"}}"#).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["valid"], false);
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("unknown rule id 'nope'")
        );
        let out = validate_settings(b"{}").unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&out).unwrap()["valid"],
            true
        );
        let out = validate_settings(b"not json").unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&out).unwrap()["valid"],
            false
        );
    }

    #[test]
    fn garbage_payload_is_a_clean_rejection() {
        let out = validate(b"{").unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["accepted"], false);
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .starts_with("cnpg-guard: cannot parse")
        );
    }

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
            let response = to_response(&verdict);
            assert!(response.message.unwrap().contains("[objectstore-in-use]"));
        }
    }
}
