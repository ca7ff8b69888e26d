//! The case table `tests/fixtures/cases/*.yaml`, run twice with one loader
//! and one comparison: through the core directly (`InMemory` context) and
//! through the built policy .wasm via the shared host (an AdmissionRequest
//! payload to `evaluate`, the case's `context` answering the policy's
//! `list_resources_*` calls with field masks applied, as policy-server does).
//!
//! A case is one YAML document: `description`, `operation`, `namespace`,
//! `settings`, `object`, `oldObject`, `context`, `expect` (exactly the
//! findings: rule, severity, path, optional message substring), `mutation`
//! (the expected `removals`, none when absent) and `known_issue` (reported,
//! not enforced).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use cnpg_guard_core::{InMemory, Object, Operation, Request, Settings, Verdict, evaluate};
use cnpg_guard_host::MemorySource;
use cnpg_guard_tests::{engine, fixtures};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

const KEYS: &[&str] = &[
    "description",
    "operation",
    "namespace",
    "settings",
    "object",
    "oldObject",
    "context",
    "expect",
    "mutation",
    "known_issue",
];

/// Every case file, sorted, parsed to JSON.
fn cases() -> Vec<(String, Value)> {
    let dir = fixtures().join("cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(p).unwrap();
            let doc = serde_saphyr::from_str::<Value>(&text)
                .unwrap_or_else(|e| panic!("{name}: not YAML: {e}"));
            (name, doc)
        })
        .collect()
}

type Triple = (String, String, String);

/// Compares a verdict with the case's `expect` and `mutation`.
fn compare(case: &Value, verdict: &Verdict) -> Result<(), String> {
    let expect = case["expect"].as_array().ok_or("`expect` must be a list")?;
    let s = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let want: BTreeSet<Triple> = expect
        .iter()
        .map(|e| (s(e, "rule"), s(e, "severity"), s(e, "path")))
        .collect();
    let got: BTreeSet<Triple> = verdict
        .findings
        .iter()
        .map(|f| {
            (
                f.rule.clone(),
                f.severity.as_str().to_string(),
                f.path.clone(),
            )
        })
        .collect();
    let mut errors = Vec::new();
    if want != got {
        let texts: Vec<&str> = verdict.findings.iter().map(|f| f.text.as_str()).collect();
        errors.push(format!(
            "findings differ\n    want {want:?}\n    got  {got:?}\n    texts {texts:#?}"
        ));
    }
    for e in expect.iter().filter(|e| e.get("message").is_some()) {
        let sub = s(e, "message");
        let hit = verdict
            .findings
            .iter()
            .any(|f| f.rule == s(e, "rule") && f.path == s(e, "path") && f.message.contains(&sub));
        if !hit {
            let messages: Vec<&str> = verdict
                .findings
                .iter()
                .map(|f| f.message.as_str())
                .collect();
            errors.push(format!(
                "no {} finding at {} whose message contains {sub:?}; messages: {messages:#?}",
                s(e, "rule"),
                s(e, "path")
            ));
        }
    }
    let removals: Vec<String> = match case.get("mutation") {
        None => Vec::new(),
        Some(m) => serde_json::from_value(m.clone()).map_err(|e| format!("`mutation`: {e}"))?,
    };
    if verdict.removals != removals {
        errors.push(format!(
            "removals: want {removals:?}, got {:?}",
            verdict.removals
        ));
    }
    let denied = expect.iter().any(|e| e["severity"] == "deny");
    if verdict.accepted == denied {
        errors.push(format!(
            "accepted is {} with findings {got:?}",
            verdict.accepted
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n  "))
    }
}

/// Context objects as the API server holds them: with a namespace
/// (MemorySource filters on `metadata.namespace` literally).
fn context_with_namespaces(case: &Value, ns: &str) -> Vec<Value> {
    let mut context = case
        .get("context")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for o in &mut context {
        if o["metadata"]["namespace"]
            .as_str()
            .is_none_or(str::is_empty)
        {
            o["metadata"]["namespace"] = json!(ns);
        }
    }
    context
}

/// Checks the case's own shape (keys, description).
fn validate(case: &Value) -> Result<(), String> {
    let map = case.as_object().ok_or("not a mapping")?;
    if let Some(bad) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!("unknown key `{bad}`"));
    }
    if case["description"].as_str().is_none_or(str::is_empty) {
        return Err("`description` is required".into());
    }
    Ok(())
}

/// Through the built .wasm, as policy-server calls it.
fn run_wasm(case: &Value) -> Result<Verdict, String> {
    let op = case["operation"]
        .as_str()
        .filter(|o| ["CREATE", "UPDATE", "DELETE"].contains(o));
    let op = op.ok_or("bad `operation`")?;
    let ns = case["namespace"]
        .as_str()
        .ok_or("`namespace` is required")?;
    let object = case.get("object").cloned().unwrap_or(Value::Null);
    let old_object = case.get("oldObject").cloned().unwrap_or(Value::Null);
    let subject = if object.is_object() {
        &object
    } else {
        &old_object
    };
    let api_version = subject["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let payload = json!({
        "request": {
            "uid": "x",
            "kind": {"group": group, "version": version, "kind": subject["kind"]},
            "operation": op,
            "namespace": ns,
            "object": object,
            "oldObject": old_object,
        },
        "settings": case.get("settings").cloned().unwrap_or_else(|| json!({})),
    });
    let source = MemorySource::new(context_with_namespaces(case, ns));
    let instance = engine()
        .instance(Arc::new(source))
        .map_err(|e| e.to_string())?;
    instance.evaluate(&payload).map_err(|e| e.to_string())
}

/// Through the core directly.
fn run_core(case: &Value) -> Result<Verdict, String> {
    let op = case["operation"]
        .as_str()
        .and_then(Operation::parse)
        .ok_or("bad `operation`")?;
    let ns = case["namespace"]
        .as_str()
        .ok_or("`namespace` is required")?;
    let settings: Settings = match case.get("settings") {
        None | Some(Value::Null) => Settings::default(),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| format!("settings: {e}"))?,
    };
    settings.validate()?;
    let context = case
        .get("context")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let object = case.get("object").map(Object::from_value);
    let old_object = case.get("oldObject").map(Object::from_value);
    let request = Request {
        operation: op,
        object: object.as_ref(),
        old_object: old_object.as_ref(),
        namespace: ns,
    };
    Ok(evaluate(&request, &settings, &InMemory::new(&context, ns)))
}

/// `<behaviour>.fail.yaml` expects something (a finding or a removal),
/// `<behaviour>.pass.yaml` no denial.
fn shape(name: &str, case: &Value) -> Result<(), String> {
    let expect = case["expect"].as_array().ok_or("`expect` must be a list")?;
    let removes = case.get("mutation").is_some_and(|m| m != &json!([]));
    match name.rsplit('.').nth(1) {
        Some("fail") if expect.is_empty() && !removes => Err("a .fail case expects nothing".into()),
        Some("pass") if expect.iter().any(|e| e["severity"] == "deny") => {
            Err("a .pass case expects a denial".into())
        }
        Some("fail" | "pass") => Ok(()),
        _ => Err("name must be <behaviour>.fail.yaml or <behaviour>.pass.yaml".into()),
    }
}

fn check_all(run: fn(&Value) -> Result<Verdict, String>) {
    let cases = cases();
    assert!(
        cases.len() >= 30,
        "only {} case files: is the directory right?",
        cases.len()
    );
    let mut failures = Vec::new();
    for (name, case) in &cases {
        let outcome = shape(name, case)
            .and_then(|()| validate(case))
            .and_then(|()| run(case))
            .and_then(|v| compare(case, &v));
        if let Some(issue) = case.get("known_issue") {
            let now = if outcome.is_ok() {
                "now passes: remove known_issue"
            } else {
                "still fails"
            };
            println!(
                "known issue (skipped) {name}: {} [{now}]",
                issue.as_str().unwrap_or("?")
            );
            continue;
        }
        if let Err(e) = outcome {
            failures.push(format!("{name}:\n  {e}"));
        }
    }
    println!("{} cases, {} failing", cases.len(), failures.len());
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_case_holds_through_the_core() {
    check_all(run_core);
}

#[test]
fn every_case_holds_through_the_wasm_policy() {
    check_all(run_wasm);
}
