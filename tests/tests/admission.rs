//! End-to-end admission: the built, annotated policy .wasm answers real
//! AdmissionRequest fixtures (policy/test_data/) through the shared host, the
//! way policy-server calls it: `validate_settings`, then `validate` with
//! `{"request", "settings"}`, answering `kubernetes/list_resources_*` host calls.
//!
//! Also keeps `policy/test_data/*.session.yml` in sync: kwctl replay files
//! (`kwctl run --allow-context-aware --replay-host-capabilities-interactions`)
//! recorded from the same calls. Set `CNPG_GUARD_BLESS=1` to rewrite them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use cnpg_guard_core::LookupKind;
use cnpg_guard_host::{ContextSource, MemorySource, ValidationResponse, masks};
use cnpg_guard_tests::engine;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

fn test_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policy/test_data")
}

fn read(name: &str) -> Value {
    let p = test_data().join(name);
    serde_json::from_str(
        &std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap()
}

/// One recorded lookup: apiVersion, kind, namespace, the items answered.
type Call = (String, String, Option<String>, Vec<Value>);

/// Records every lookup the policy makes, to write kwctl replay sessions.
struct Recorder {
    inner: MemorySource,
    calls: Mutex<Vec<Call>>,
}

impl ContextSource for Recorder {
    fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Vec<Value>, String> {
        let items = self.inner.list(api_version, kind, namespace)?;
        self.calls.lock().unwrap().push((
            api_version.into(),
            kind.into(),
            namespace.map(String::from),
            items.clone(),
        ));
        Ok(items)
    }
}

/// A kwctl `--replay-host-capabilities-interactions` session (policy-evaluator
/// `CallbackRequestType` variants, serde_yaml external tagging).
/// The masks the policy sends for a kind (the core's, sorted as kwctl's
/// `BTreeSet` serialises them).
fn masks_of(kind: &str) -> Vec<String> {
    let lk = LookupKind::ALL
        .into_iter()
        .find(|k| k.kind() == kind)
        .unwrap_or_else(|| panic!("policy listed unexpected kind {kind}"));
    let mut masks: Vec<String> = lk.field_masks().iter().map(|m| m.to_string()).collect();
    masks.sort();
    masks
}

fn session_yaml(calls: &[Call]) -> String {
    let mut out =
        String::from("# Recorded by tests/tests/admission.rs (CNPG_GUARD_BLESS=1 to refresh).\n");
    for (api, kind, ns, items) in calls {
        let masks = masks_of(kind);
        // Replay returns payloads verbatim: record them as policy-server's
        // masked reflector cache would answer.
        let items: Vec<Value> = items.iter().map(|o| masks::apply(o, &masks)).collect();
        let list = json!({"apiVersion": api, "kind": format!("{kind}List"), "metadata": {}, "items": items});
        let payload = serde_json::to_string(&list).unwrap().replace('\'', "''");
        let variant = match ns {
            Some(ns) => format!(
                "    !KubernetesListResourceNamespace\n    api_version: {api}\n    kind: {kind}\n    namespace: {ns}\n"
            ),
            None => format!(
                "    !KubernetesListResourceAll\n    api_version: {api}\n    kind: {kind}\n"
            ),
        };
        let mask_lines: String = masks.iter().map(|m| format!("    - {m}\n")).collect();
        out.push_str(&format!(
            "- type: Exchange\n  request: |\n{variant}    label_selector: null\n    field_selector: null\n    field_masks:\n{mask_lines}  response:\n    type: Success\n    payload: '{payload}'\n"
        ));
    }
    out
}

fn run(fixture: &str, settings: Value) -> ValidationResponse {
    let request = read(&format!("{fixture}.json"));
    let context = read(&format!("{fixture}.context.json"));
    let recorder = Arc::new(Recorder {
        inner: MemorySource::new(context.as_array().cloned().unwrap_or_default()),
        calls: Mutex::new(Vec::new()),
    });
    let instance = engine().instance(recorder.clone()).unwrap();
    let check = instance.validate_settings(&settings).unwrap();
    assert!(
        check.valid,
        "{fixture}: settings rejected: {:?}",
        check.message
    );
    let response = instance
        .validate(&json!({"request": request, "settings": settings}))
        .unwrap();
    if settings == json!({}) {
        let session = session_yaml(&recorder.calls.lock().unwrap());
        let path = test_data().join(format!("{fixture}.session.yml"));
        if std::env::var_os("CNPG_GUARD_BLESS").is_some() {
            std::fs::write(&path, &session).unwrap();
        } else {
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert_eq!(
                on_disk,
                session,
                "{} is stale: run with CNPG_GUARD_BLESS=1",
                path.display()
            );
        }
    }
    response
}

fn message(r: &ValidationResponse) -> &str {
    r.message.as_deref().unwrap_or_default()
}

fn warnings(r: &ValidationResponse) -> String {
    r.warnings.clone().unwrap_or_default().join("\n")
}

#[test]
fn protocol_version_and_embedded_metadata() {
    let instance = engine()
        .instance(Arc::new(MemorySource::new(vec![])))
        .unwrap();
    assert_eq!(instance.protocol_version().unwrap(), "v1");
    let meta = cnpg_guard_host::policy_metadata(cnpg_guard_host::POLICY_WASM)
        .unwrap()
        .expect("io.kubewarden.metadata section");
    assert_eq!(meta["protocolVersion"], "v1");
    assert_eq!(meta["mutating"], true);
    assert_eq!(meta["executionMode"], "kubewarden-wapc");
    let resources: Vec<&str> = meta["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["resources"].as_array().unwrap())
        .map(|v| v.as_str().unwrap())
        .collect();
    for r in [
        "clusters",
        "scheduledbackups",
        "backups",
        "objectstores",
        "persistentvolumeclaims",
    ] {
        assert!(resources.contains(&r), "{r} missing from {resources:?}");
    }
    assert_eq!(meta["contextAwareResources"].as_array().unwrap().len(), 5);
}

#[test]
fn settings_are_validated_once_with_clear_messages() {
    let instance = engine()
        .instance(Arc::new(MemorySource::new(vec![])))
        .unwrap();
    assert!(
        instance
            .validate_settings(&read("settings_default.json"))
            .unwrap()
            .valid
    );
    assert!(
        instance
            .validate_settings(&read("settings_strict.json"))
            .unwrap()
            .valid
    );
    let bad = instance
        .validate_settings(&read("settings_invalid.json"))
        .unwrap();
    assert!(!bad.valid);
    assert!(bad.message.unwrap().contains("unknown rule id 'nope'"));
    let typo = instance
        .validate_settings(&json!({"backupLabelKey": ["backup"]}))
        .unwrap();
    assert!(
        !typo.valid
            && typo
                .message
                .unwrap()
                .contains("unknown field `backupLabelKey`")
    );
}

#[test]
fn initdb_cluster_with_its_object_store_is_accepted() {
    let r = run("cluster_create_initdb", json!({}));
    assert!(r.accepted, "{r:?}");
    assert!(r.warnings.is_none() && r.mutated_object.is_none(), "{r:?}");
}

#[test]
fn lockstep_recovery_flip_is_accepted() {
    let r = run("cluster_create_recovery_bumped", json!({}));
    assert!(r.accepted, "{r:?}");
    assert!(r.warnings.is_none(), "{r:?}");
}

#[test]
fn recovery_into_its_own_lineage_is_denied() {
    let r = run("cluster_create_recovery_self_reuse", json!({}));
    assert!(!r.accepted);
    let m = message(&r);
    assert!(m.starts_with("Cluster temporal/temporal-database: spec.plugins[0].parameters.serverName: [lineage-self-reuse]"), "{m}");
    assert!(
        m.contains("temporal-database-v3"),
        "fix names the next lineage: {m}"
    );
}

#[test]
fn recovery_flip_without_archive_bump_is_denied_by_the_recovery_window() {
    let r = run("cluster_create_recovery_not_bumped", json!({}));
    assert!(!r.accepted);
    assert!(
        message(&r).contains("[archive-not-empty]"),
        "{}",
        message(&r)
    );
    assert!(
        message(&r).contains("2026-11-21T02:00:04Z"),
        "{}",
        message(&r)
    );
}

#[test]
fn missing_object_store_is_denied() {
    let r = run("cluster_create_missing_objectstore", json!({}));
    assert!(!r.accepted);
    assert!(
        message(&r).contains("[objectstore-missing] barmanObjectName 'temporal-s3'"),
        "{}",
        message(&r)
    );
}

#[test]
fn recovery_flip_applied_as_update_warns() {
    let r = run("cluster_update_recovery_flip", json!({}));
    assert!(r.accepted, "{r:?}");
    assert!(warnings(&r).contains("[bootstrap-changed]"), "{r:?}");
}

#[test]
fn deleting_an_object_store_in_use_is_denied() {
    let r = run("objectstore_delete_in_use", json!({}));
    assert!(!r.accepted);
    assert!(
        message(&r).contains("Cluster temporal-database (spec.plugins[0]"),
        "{}",
        message(&r)
    );
    let r = run("objectstore_delete_unused", json!({}));
    assert!(r.accepted && r.mutated_object.is_none(), "{r:?}");
}

#[test]
fn five_field_schedule_is_denied_and_six_fields_pass() {
    let r = run("scheduledbackup_create_five_fields", json!({}));
    assert!(!r.accepted);
    assert!(message(&r).contains("'0 0 3 * * *'"), "{}", message(&r));
    assert!(run("scheduledbackup_create_six_fields", json!({})).accepted);
    let r = run("scheduledbackup_create_default_method", json!({}));
    assert!(
        !r.accepted && message(&r).contains("[backup-method-mismatch]"),
        "{r:?}"
    );
}

#[test]
fn backup_label_is_stripped_from_cnpg_pvcs() {
    let r = run("pvc_create_backup_label", json!({}));
    assert!(r.accepted);
    let mutated = r.mutated_object.expect("mutation");
    let labels = mutated["metadata"]["labels"].as_object().unwrap();
    assert!(!labels.contains_key("backup"));
    assert_eq!(labels.len(), 4, "other labels kept: {labels:?}");
    // Everything else is untouched, so the JSON patch is a single remove.
    let mut original = read("pvc_create_backup_label.json")["object"].clone();
    original["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("backup");
    assert_eq!(mutated, original);
    // Idempotent: an already clean PVC produces no patch.
    let r = run("pvc_create_clean", json!({}));
    assert!(r.accepted && r.mutated_object.is_none(), "{r:?}");
    // deny instead of mutate when configured.
    let r = run("pvc_create_backup_label", read("settings_strict.json"));
    assert!(
        !r.accepted && message(&r).contains("[pvc-backup-label]"),
        "{r:?}"
    );
}

#[test]
fn exemptions_are_audited() {
    let mut request = read("cluster_create_recovery_self_reuse.json");
    request["object"]["metadata"]["annotations"] = json!({"cnpg-guard.io/allow-lineage-self-reuse": "DR drill 2026-11-22 on a scratch bucket"});
    let ctx = read("cluster_create_recovery_self_reuse.context.json");
    let instance = engine()
        .instance(Arc::new(MemorySource::new(
            ctx.as_array().cloned().unwrap(),
        )))
        .unwrap();
    let r = instance
        .validate(&json!({"request": request, "settings": {}}))
        .unwrap();
    assert!(r.accepted, "{r:?}");
    assert_eq!(
        r.audit_annotations.unwrap()["exempt-lineage-self-reuse"],
        "DR drill 2026-11-22 on a scratch bucket"
    );
}

/// A host that fails lookups: the policy must answer, not trap (no 500).
struct Broken;
impl ContextSource for Broken {
    fn list(&self, _: &str, kind: &str, _: Option<&str>) -> Result<Vec<Value>, String> {
        Err(format!(
            "Policy has not been granted access to Kubernetes barmancloud.cnpg.io/v1/{kind} resources"
        ))
    }
}

#[test]
fn host_call_failures_follow_the_context_errors_setting() {
    let request = read("cluster_create_initdb.json");
    let instance = engine().instance(Arc::new(Broken)).unwrap();
    let r = instance
        .validate(&json!({"request": request, "settings": {}}))
        .unwrap();
    assert!(r.accepted, "{r:?}");
    assert!(warnings(&r).contains("[context-unavailable]"), "{r:?}");
    let r = instance
        .validate(&json!({"request": request, "settings": {"contextErrors": "deny"}}))
        .unwrap();
    assert!(
        !r.accepted && message(&r).contains("not been granted access"),
        "{r:?}"
    );
}

#[test]
fn malformed_requests_are_rejected_cleanly() {
    let instance = engine()
        .instance(Arc::new(MemorySource::new(vec![])))
        .unwrap();
    let r = instance.validate(&json!({"request": {"operation": "CREATE", "object": {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "spec": {"plugins": 7}}}, "settings": {}})).unwrap();
    assert!(r.accepted, "odd shapes are not traps: {r:?}");
    let r = instance
        .validate(&json!({"request": "nonsense", "settings": {}}))
        .unwrap();
    assert!(
        !r.accepted && message(&r).starts_with("cnpg-guard: cannot parse"),
        "{r:?}"
    );
}
