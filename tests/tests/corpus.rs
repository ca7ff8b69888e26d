//! Runs every real-world corpus manifest through the built policy .wasm and
//! checks a reviewed expectation per file (tests/fixtures/corpus/EXPECTED.tsv).
//!
//! Context for each file = the objects of every corpus file from the same
//! repository (ObjectStores often live in a sibling file). Objects without a
//! namespace get the repository's most common namespace, as a Flux/ArgoCD
//! target namespace would.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use cnpg_guard_host::{MemorySource, bundle, manifests};
use cnpg_guard_tests::{engine, fixtures};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

fn kinds_of_interest(o: &Value) -> bool {
    let api = o["apiVersion"].as_str().unwrap_or_default();
    api.starts_with("postgresql.cnpg.io/")
        || api.starts_with("barmancloud.cnpg.io/")
        || o["kind"] == "PersistentVolumeClaim"
}

#[test]
fn corpus_expectations_hold() {
    let dir = fixtures().join("corpus");
    let sources = std::fs::read_to_string(dir.join("SOURCES.tsv")).unwrap();
    let mut repo_of: BTreeMap<String, String> = BTreeMap::new();
    for line in sources.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() > 2 {
            repo_of.insert(cols[0].to_string(), cols[1].to_string());
        }
    }
    let mut files: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for file in repo_of.keys() {
        let objs = manifests::parse_file(&dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        files.insert(file.clone(), objs);
    }
    // Default namespace per repository.
    let mut repo_ns: BTreeMap<String, String> = BTreeMap::new();
    for (file, objs) in &files {
        let repo = &repo_of[file];
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for o in objs.iter().filter(|o| kinds_of_interest(o)) {
            if let Some(ns) = o["metadata"]["namespace"].as_str() {
                *counts.entry(ns.to_string()).or_default() += 1;
            }
        }
        if let Some((ns, _)) = counts.into_iter().max_by_key(|(_, n)| *n) {
            repo_ns.entry(repo.clone()).or_insert(ns);
        }
    }
    let with_ns = |repo: &str, mut o: Value| {
        if o["metadata"]["namespace"].as_str().is_none() && o["metadata"].is_object() {
            let ns = repo_ns
                .get(repo)
                .cloned()
                .unwrap_or_else(|| "default".into());
            o["metadata"]["namespace"] = json!(ns);
        }
        o
    };
    // Objects the repositories define outside the copied files.
    let extra = manifests::parse_file(&fixtures().join("corpus-context.yaml")).unwrap();
    let extra_for = |repo: &str| -> Vec<Value> {
        extra
            .iter()
            .filter(|o| o["metadata"]["annotations"]["corpus.cnpg-guard.io/repo"] == repo)
            .cloned()
            .collect()
    };
    let mut actual: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for (file, objs) in &files {
        let repo = &repo_of[file];
        let context: Vec<Value> = files
            .iter()
            .filter(|(f, _)| &repo_of[*f] == repo)
            .flat_map(|(_, o)| o.iter().cloned())
            .chain(extra_for(repo))
            .map(|o| with_ns(repo, o))
            .collect();
        let source: Arc<dyn cnpg_guard_host::ContextSource> = Arc::new(MemorySource::new(context));
        let instance = engine().instance(source).unwrap();
        let (mut deny, mut warn) = (BTreeSet::new(), BTreeSet::new());
        for o in objs.iter().filter(|o| kinds_of_interest(o)) {
            let o = with_ns(repo, o.clone());
            let payload =
                json!({"request": bundle::admission_request("CREATE", &o, None), "settings": {}});
            let verdict = instance
                .evaluate(&payload)
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            for f in verdict.findings {
                match f.severity {
                    cnpg_guard_core::Severity::Deny => deny.insert(f.rule),
                    cnpg_guard_core::Severity::Warn => warn.insert(f.rule),
                };
            }
        }
        actual.insert(file.clone(), (deny, warn));
    }

    let expected_text = std::fs::read_to_string(dir.join("EXPECTED.tsv")).unwrap_or_default();
    let mut expected: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for line in expected_text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let set = |i: usize| -> BTreeSet<String> {
            cols.get(i)
                .map(|c| {
                    c.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty() && *s != "-")
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        expected.insert(cols[0].to_string(), (set(1), set(2)));
    }
    let mut report = String::new();
    let mut failures = 0;
    for (file, (deny, warn)) in &actual {
        let join = |s: &BTreeSet<String>| {
            if s.is_empty() {
                "-".to_string()
            } else {
                s.iter().cloned().collect::<Vec<_>>().join(",")
            }
        };
        report.push_str(&format!("{file}\t{}\t{}\n", join(deny), join(warn)));
        match expected.get(file) {
            Some((d, w)) if d == deny && w == warn => {}
            Some((d, w)) => {
                failures += 1;
                eprintln!(
                    "MISMATCH {file}\n  expected deny={} warn={}\n  actual   deny={} warn={}",
                    join(d),
                    join(w),
                    join(deny),
                    join(warn)
                );
            }
            None => {
                failures += 1;
                eprintln!(
                    "NO EXPECTATION for {file}: deny={} warn={}",
                    join(deny),
                    join(warn)
                );
            }
        }
    }
    if failures > 0 {
        let out = std::env::temp_dir().join("cnpg-guard-corpus-actual.tsv");
        std::fs::write(&out, report).unwrap();
        panic!(
            "{failures} corpus file(s) differ from EXPECTED.tsv; actual results written to {}",
            out.display()
        );
    }
}
