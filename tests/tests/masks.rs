//! The field masks the policy sends with its list host calls are tied to what
//! the rules read: every verdict over the real corpus and the admission
//! fixtures is the same whether the context objects are whole or pruned by
//! the masks (as policy-server's reflector cache prunes them). A rule that
//! starts reading a field of a listed object without adding it to the
//! view's masks fails here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use cnpg_guard_core::cnpg::lineage;
use cnpg_guard_core::view::{Backup, Cluster, NetworkPolicy, ObjectStore, read};
use cnpg_guard_core::{InMemory, LookupKind, Object, Operation, Request, Settings, evaluate};
use cnpg_guard_host::{manifests, masks};
use cnpg_guard_tests::fixtures;
use serde_json::Value;
use std::path::PathBuf;

const KINDS: [LookupKind; 5] = LookupKind::ALL;

fn lookup_kind(o: &Value) -> Option<LookupKind> {
    let api = o["apiVersion"].as_str().unwrap_or_default();
    let kind = o["kind"].as_str().unwrap_or_default();
    KINDS
        .into_iter()
        .find(|k| k.api_version() == api && k.kind() == kind)
}

/// Every object of the corpus, the corpus context and the admission fixtures.
fn all_objects() -> Vec<Value> {
    let mut out = Vec::new();
    let corpus = fixtures().join("corpus");
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            out.extend(manifests::parse_file(&path).unwrap());
        }
    }
    out.extend(manifests::parse_file(&fixtures().join("corpus-context.yaml")).unwrap());
    let test_data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policy/test_data");
    for entry in std::fs::read_dir(&test_data).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".json") {
            continue;
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if name.ends_with(".context.json") {
            out.extend(v.as_array().cloned().unwrap_or_default());
        } else {
            for key in ["object", "oldObject"] {
                if v[key].is_object() {
                    out.push(v[key].clone());
                }
            }
        }
    }
    out
}

fn masked(o: &Value) -> Value {
    match lookup_kind(o) {
        Some(k) => {
            let m: Vec<String> = k.field_masks().iter().map(|s| s.to_string()).collect();
            masks::apply(o, &m)
        }
        None => o.clone(),
    }
}

#[test]
fn masks_never_shadow_each_other() {
    // policy-server keeps only the narrower of `a` and `a.b`.
    for k in KINDS {
        let m = k.field_masks();
        for a in m {
            for b in m {
                assert!(
                    a == b || !b.starts_with(&format!("{a}.")),
                    "{k:?}: mask '{a}' is shadowed by '{b}'"
                );
            }
        }
    }
}

#[test]
fn what_rules_read_of_listed_objects_survives_the_masks() {
    let objects = all_objects();
    let mut checked = 0;
    for o in &objects {
        let m = masked(o);
        match lookup_kind(o) {
            Some(LookupKind::Cluster) => {
                let (a, b) = (read::<Cluster>(o), read::<Cluster>(&m));
                assert_eq!(lineage::archives(&a, "ns"), lineage::archives(&b, "ns"));
                assert_eq!(a.spec().plugins, b.spec().plugins);
                assert_eq!(
                    a.spec()
                        .external_clusters
                        .iter()
                        .map(|e| (&e.name, &e.plugin))
                        .collect::<Vec<_>>(),
                    b.spec()
                        .external_clusters
                        .iter()
                        .map(|e| (&e.name, &e.plugin))
                        .collect::<Vec<_>>()
                );
            }
            Some(LookupKind::ObjectStore) => {
                let (a, b) = (read::<ObjectStore>(o), read::<ObjectStore>(&m));
                assert_eq!(a.configuration(), b.configuration());
                assert_eq!(a.status, b.status);
            }
            Some(LookupKind::Backup) => {
                let (a, b) = (read::<Backup>(o), read::<Backup>(&m));
                assert_eq!(a.by_plugin(), b.by_plugin());
                assert_eq!(
                    a.status.as_ref().map(|s| &s.phase),
                    b.status.as_ref().map(|s| &s.phase)
                );
                assert_eq!(a.spec().cluster(), b.spec().cluster());
            }
            Some(LookupKind::ScheduledBackup) => {
                let (a, b) = (read::<Backup>(o), read::<Backup>(&m));
                let (a, b) = (a.spec(), b.spec());
                assert_eq!(a.cluster(), b.cluster());
                assert_eq!(a.schedule(), b.schedule());
                assert_eq!(a.method(), b.method());
                assert_eq!(
                    (a.suspended(), a.immediate()),
                    (b.suspended(), b.immediate())
                );
            }
            Some(LookupKind::NetworkPolicy) => {
                let (a, b) = (read::<NetworkPolicy>(o), read::<NetworkPolicy>(&m));
                assert_eq!(a.spec, b.spec);
            }
            None => continue,
        }
        checked += 1;
    }
    assert!(checked > 60, "only {checked} listed-kind objects found");
}

#[test]
fn verdicts_are_the_same_with_masked_context() {
    let objects = all_objects();
    let full = InMemory::new(&objects, "default");
    let pruned_objects: Vec<Value> = objects.iter().map(masked).collect();
    let pruned = InMemory::new(&pruned_objects, "default");
    let settings = Settings::default();
    let mut compared = 0;
    let mut with_findings = 0;
    for o in &objects {
        let obj = Object::from_value(o);
        let ops: &[Operation] = match lookup_kind(o) {
            Some(LookupKind::ObjectStore) => &[Operation::Delete],
            _ if obj.kind().is_some() => &[Operation::Create, Operation::Update],
            _ => continue,
        };
        for op in ops {
            let req = Request {
                operation: *op,
                object: Some(&obj),
                old_object: Some(&obj),
                namespace: "default",
            };
            let a = evaluate(&req, &settings, &full);
            let b = evaluate(&req, &settings, &pruned);
            assert_eq!(a, b, "{} differs with masked context", a_name(o));
            compared += 1;
            with_findings += usize::from(!a.findings.is_empty());
        }
    }
    assert!(
        compared > 100 && with_findings > 20,
        "{compared} compared, {with_findings} with findings"
    );
}

fn a_name(o: &Value) -> String {
    format!(
        "{} {}/{}",
        o["kind"].as_str().unwrap_or("?"),
        o["metadata"]["namespace"].as_str().unwrap_or(""),
        o["metadata"]["name"].as_str().unwrap_or("?")
    )
}
