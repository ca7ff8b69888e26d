//! The shared check's tree walk, Flux discovery and report forms (the
//! end-to-end runs through the binaries are in tests/tests/{parity,flux}.rs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::path::Path;

use cnpg_guard_core::{Finding, ObjectRef, Severity, Verdict};
use cnpg_guard_host::check::report::{self, Format};
use cnpg_guard_host::check::tree::{self, UnitKind};
use cnpg_guard_host::check::{Checked, Report, UnitReport, flux};

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const K: &str = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n";

fn labels(root: &Path) -> (Vec<(String, UnitKind)>, Vec<String>) {
    let mut notes = Vec::new();
    let units = tree::discover(root, &mut notes).unwrap();
    let base = root.display().to_string();
    (
        units
            .into_iter()
            .map(|u| (u.label.replace(&base, "."), u.kind))
            .collect(),
        notes,
    )
}

#[test]
fn a_walk_finds_roots_not_bases() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    write(
        r,
        "apps/db/base/kustomization.yaml",
        &format!("{K}resources: [cluster.yaml]\n"),
    );
    write(r, "apps/db/base/cluster.yaml", "kind: Cluster\n");
    write(
        r,
        "apps/db/overlays/prod/kustomization.yaml",
        &format!(
            "{K}resources: [../../base, ../../extra/secret.yaml, https://example.com/x.yaml]\n"
        ),
    );
    write(
        r,
        "apps/db/extra/secret.yaml",
        "apiVersion: v1\nkind: Secret\n",
    );
    write(r, "apps/other/cm.yaml", "apiVersion: v1\nkind: ConfigMap\n");
    write(r, "apps/chart/Chart.yaml", "name: x\n");
    write(r, "apps/chart/templates/a.yaml", "{{ .Values.x }}\n");
    write(r, ".hidden/x.yaml", "apiVersion: v1\nkind: ConfigMap\n");
    write(r, "README.md", "not yaml\n");
    let (units, notes) = labels(r);
    assert_eq!(
        units,
        [
            ("./apps/other/cm.yaml".to_string(), UnitKind::Files),
            (
                "./apps/db/overlays/prod".to_string(),
                UnitKind::Kustomization
            ),
        ]
    );
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("Helm chart"), "{notes:?}");
}

#[test]
fn a_kustomization_root_is_one_unit_and_a_file_is_one_unit() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    write(r, "kustomization.yaml", &format!("{K}resources: [a/]\n"));
    write(r, "a/kustomization.yaml", K);
    let mut notes = Vec::new();
    let units = tree::discover(r, &mut notes).unwrap();
    assert_eq!(units.len(), 1);
    assert_eq!(units[0].kind, UnitKind::Kustomization);
    let units = tree::discover(&r.join("a/kustomization.yaml"), &mut notes).unwrap();
    assert_eq!(units[0].kind, UnitKind::Files);
}

#[test]
fn documents_that_are_not_objects_are_skipped_with_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    write(
        r,
        "values.yaml",
        "replicas: 2\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    );
    let mut notes = Vec::new();
    let units = tree::discover(r, &mut notes).unwrap();
    let out = tree::render_unit(&units[0], &Default::default()).unwrap();
    assert_eq!(out.objects.len(), 1);
    assert_eq!(out.notes.len(), 1);
    assert!(
        out.notes[0].contains("skipped 1 document"),
        "{:?}",
        out.notes
    );
}

#[test]
fn flux_discovery_resolves_paths_and_substitution_sources() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    std::fs::create_dir(r.join(".git")).unwrap();
    write(
        r,
        "clusters/prod/ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n\
         metadata: {name: db, namespace: flux-system}\n\
         spec:\n  path: ./apps/db\n  postBuild:\n    substitute: {APP: db}\n    substituteFrom:\n\
         \x20     - {kind: Secret, name: vars}\n      - {kind: ConfigMap, name: absent, optional: true}\n",
    );
    write(
        r,
        "clusters/prod/vars.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: vars, namespace: flux-system}\n\
         data: {REGION: ZXUtd2VzdA==}\nstringData: {TIER: gold}\n",
    );
    write(
        r,
        "apps/db/cluster.yaml",
        "apiVersion: v1\nkind: ConfigMap\n",
    );
    let mut notes = Vec::new();
    let units = flux::discover(&r.join("clusters/prod"), None, &mut notes).unwrap();
    assert_eq!(units.len(), 1, "{notes:?}");
    let tree::UnitSource::Flux(ks) = &units[0].source else {
        panic!("not a Flux unit")
    };
    assert_eq!(ks.id, "flux-system/db");
    assert!(ks.dir.ends_with("apps/db"), "{}", ks.dir.display());
    let vars = ks.vars.as_ref().unwrap();
    assert_eq!(vars.known["APP"], "db");
    assert_eq!(vars.known["REGION"], "eu-west");
    assert_eq!(vars.known["TIER"], "gold");
    // Optional or not, a source that is not in the tree is unknown here.
    assert_eq!(vars.unknown_sources, ["ConfigMap flux-system/absent"]);
}

fn finding(rule: &str, severity: Severity) -> Finding {
    Finding {
        rule: rule.into(),
        severity,
        object: ObjectRef {
            api_version: "postgresql.cnpg.io/v1".into(),
            kind: "Cluster".into(),
            namespace: "db".into(),
            name: "pg".into(),
        },
        path: "spec.plugins[0].parameters.serverName".into(),
        message: "a | b".into(),
        fix: "do it".into(),
        text: String::new(),
    }
}

fn sample(failed: bool) -> Report {
    Report {
        inputs: vec!["apps".into()],
        units: vec![
            UnitReport {
                label: "apps/db".into(),
                kind: UnitKind::Kustomization,
                objects: 1,
                error: None,
            },
            UnitReport {
                label: "apps/broken".into(),
                kind: UnitKind::Kustomization,
                objects: 0,
                error: failed.then(|| "kustomize failed".to_string()),
            },
        ],
        checked: vec![Checked {
            object: finding("x", Severity::Warn).object,
            verdict: Verdict {
                accepted: false,
                findings: vec![
                    finding("lineage-self-reuse", Severity::Deny),
                    finding("objectstore-missing", Severity::Warn),
                ],
                ..Verdict::default()
            },
            unit: 0,
            file: Some("apps/db/cluster.yaml".into()),
            line: Some(3),
            finding_lines: vec![Some(7), None],
        }],
        notes: vec!["a note".into()],
        objects: vec![],
    }
}

#[test]
fn every_report_form_carries_the_same_findings() {
    let r = sample(true);
    assert_eq!(r.exit_code(), 3);
    let text = report::render(&r, Format::Text).unwrap();
    assert!(text.starts_with(
        "apps/db/cluster.yaml:7: deny: Cluster db/pg: spec.plugins[0].parameters.serverName: [lineage-self-reuse]"
    ), "{text}");
    assert!(
        text.contains("\nerror: apps/broken: kustomize failed\n"),
        "{text}"
    );
    assert!(text.contains("\nnote: a note\n"), "{text}");
    assert!(
        text.ends_with("1 source of 2 could not be rendered — INCOMPLETE\n"),
        "{text}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&report::render(&r, Format::Json).unwrap()).unwrap();
    assert_eq!(json["schemaVersion"], 2);
    assert_eq!(json["exitCode"], 3);
    assert_eq!(json["complete"], false);
    assert_eq!(json["findings"][0]["rule"], "lineage-self-reuse");
    assert_eq!(json["findings"][0]["line"], 7);
    assert_eq!(
        json["findings"][1]["line"], 3,
        "the document line when the field is not found"
    );
    assert_eq!(json["findings"][0]["source"], "apps/db");
    assert_eq!(json["units"][1]["error"], "kustomize failed");

    let sarif: serde_json::Value =
        serde_json::from_str(&report::render(&r, Format::Sarif).unwrap()).unwrap();
    let run = &sarif["runs"][0];
    assert_eq!(run["results"].as_array().unwrap().len(), 2);
    assert_eq!(run["results"][0]["level"], "error");
    assert_eq!(
        run["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        7
    );
    assert_eq!(run["invocations"][0]["executionSuccessful"], false);
    assert_eq!(
        run["tool"]["driver"]["rules"][0]["id"],
        "lineage-self-reuse"
    );

    let md = report::render(&r, Format::Markdown).unwrap();
    assert!(
        md.starts_with("### ⚠️ cnpg-guard: 1 object checked"),
        "{md}"
    );
    assert!(md.contains("| deny | `lineage-self-reuse` |"), "{md}");
    assert!(md.contains("a \\| b"), "pipes escaped: {md}");
    assert!(md.contains("**Could not be rendered:**"), "{md}");

    let ok = sample(false);
    assert_eq!(ok.exit_code(), 1);
    assert!(
        report::render(&ok, Format::Markdown)
            .unwrap()
            .starts_with("### ❌")
    );
}
