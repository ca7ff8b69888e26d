//! Kubewarden entry point for cnpg-guard.
//!
//! Thin glue: decode the waPC payload, answer the core's lookups with
//! `kubewarden/kubernetes/list_resources_*` host calls, encode the verdict.
//! All decisions live in `cnpg-guard-core`.

use cnpg_guard_core::admission::{self, HostCalls};
use cnpg_guard_core::{Lookup, Severity, Verdict};
use guest::prelude::*;
use kubewarden_policy_sdk::response::ValidationResponse;
use kubewarden_policy_sdk::wapc_guest as guest;
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

/// The waPC transport of Kubewarden's `kubewarden`/`kubernetes` host calls.
fn kubernetes_call(op: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
    guest::host_call("kubewarden", "kubernetes", op, payload).map_err(|e| e.to_string())
}

/// Lookups through Kubewarden's `kubernetes/list_resources_*` host calls.
fn host_lookup() -> HostCalls<admission::Transport> {
    HostCalls(kubernetes_call)
}

/// Evaluates a payload against a lookup ([`admission::run`]).
pub fn run(payload: &[u8], lookup: &dyn Lookup) -> Result<Verdict, String> {
    admission::run(payload, lookup)
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
    let response = match run(payload, &host_lookup()) {
        Ok(verdict) => to_response(&verdict),
        Err(e) => rejection(e),
    };
    Ok(serde_json::to_vec(&response)?)
}

/// Structured verdict for the CLIs (Kubewarden never calls it).
fn evaluate_export(payload: &[u8]) -> CallResult {
    let verdict = run(payload, &host_lookup())
        .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })?;
    Ok(serde_json::to_vec(&verdict)?)
}

/// Kubewarden `validate_settings`: invalid JSON shape is reported as
/// `valid: false` with the serde message, not as a waPC error.
fn validate_settings(payload: &[u8]) -> CallResult {
    let raw: Result<Value, _> = serde_json::from_slice(payload);
    let result = match raw {
        Ok(v) => admission::parse_settings(&v).map(|_| ()),
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
}
