//! `check <path>`: local mode for Flux users and CI.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use serde_json::Value;
use support::{App, run_in};

#[test]
fn check_text_passes_with_warning() {
    let app = App::new("missing-objectstore", "gitea");
    let run = run_in(app.tmp.path(), &["check", &app.source_path], vec![]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Located at the field, in the file that declares the Cluster.
    assert!(
        run.stdout.contains(&format!(
            "{}/cluster.yaml:19: warn: Cluster cloudnative-pg/gitea-database: ",
            app.source_path
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("[objectstore-missing]"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("cnpg-guard: 2 objects checked, no object denied, 1 warning"),
        "{}",
        run.stdout
    );
}

#[test]
fn check_json_exit_1_on_deny() {
    let app = App::new("missing-objectstore", "gitea");
    let run = run_in(
        app.tmp.path(),
        &[
            "check",
            &app.source_path,
            "-o",
            "json",
            "--strict-objectstores",
        ],
        vec![],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["accepted"], false);
    assert_eq!(report["objects"], 2);
    assert_eq!(report["deniedObjects"], 1);
    let f = &report["findings"][0];
    assert_eq!(f["rule"], "objectstore-missing");
    assert_eq!(f["severity"], "deny");
    assert_eq!(f["object"]["kind"], "Cluster");
    assert!(
        f["text"]
            .as_str()
            .unwrap()
            .starts_with("Cluster cloudnative-pg/gitea-database: ")
    );
}

#[test]
fn check_render_error_is_exit_3() {
    let app = App::new("broken-kustomization", "broken");
    let run = run_in(app.tmp.path(), &["check", &app.source_path], vec![]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn check_missing_path_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let run = run_in(tmp.path(), &["check", "no/such/dir"], vec![]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "cnpg-guard: no/such/dir: no such file or directory\n"
    );
    assert!(run.stdout.is_empty());
}

#[test]
fn usage_errors_are_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let run = run_in(tmp.path(), &["check"], vec![]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    let run = run_in(tmp.path(), &["--help"], vec![]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("generate"));
}

#[test]
fn check_reports_policy_mutations() {
    let app = App::new("pvc-backup-label", "temporal-volumes");
    let run = run_in(
        app.tmp.path(),
        &["check", &app.source_path, "-o", "json"],
        vec![],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["mutated"][0]["kind"], "PersistentVolumeClaim");
    assert_eq!(report["mutated"][0]["name"], "temporal-database-1");
    assert_eq!(report["mutated"].as_array().unwrap().len(), 1);
}
