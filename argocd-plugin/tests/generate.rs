//! `generate` end to end: the real binary, a fixture repo extracted to a temp
//! dir, the ArgoCD request env, cwd = the app path. Rule behaviour comes from
//! the embedded policy (`lineage-self-reuse`, `objectstore-missing`,
//! `pvc-backup-label`), never from a re-implementation here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use serde_json::{Value, json};
use support::{App, Run, find, warnings};

/// Failing runs: nothing on stdout, a summary line first, no usage text,
/// no stack trace.
fn assert_clean_failure(run: &Run, code: i32) {
    assert_eq!(run.code, code, "stderr: {}", run.stderr);
    assert!(
        run.stdout.is_empty(),
        "stdout must be empty on failure: {}",
        run.stdout
    );
    assert!(run.stderr.starts_with("cnpg-guard: "), "{}", run.stderr);
    for forbidden in [
        "USAGE",
        "Usage:",
        "panicked",
        "RUST_BACKTRACE",
        "stack backtrace",
    ] {
        assert!(
            !run.stderr.contains(forbidden),
            "{forbidden} in {}",
            run.stderr
        );
    }
}

/// Does the DR drill's three Git edits; `bump_archive` false reproduces the
/// runbook gotcha "forgot to bump serverName in base/cluster.yaml".
fn dr_drill(app: &App, bump_archive: bool) {
    if bump_archive {
        app.edit(
            "base/cluster.yaml",
            "serverName: temporal-database-v2",
            "serverName: temporal-database-v3",
        );
    }
    app.edit(
        "overlays/recovery/bootstrap-patch.yaml",
        "serverName: temporal-database-v1",
        "serverName: temporal-database-v2",
    );
    app.edit(
        "kustomization.yaml",
        "  - overlays/initdb # ← ACTIVE: normal operation, fresh DB\n  # - overlays/recovery",
        "  # - overlays/initdb # normal operation, fresh DB\n  - overlays/recovery",
    );
}

fn cluster_of(objs: &[Value]) -> &Value {
    find(objs, "Cluster", "temporal-database")
}

#[test]
fn initdb_steady_state_passes() {
    let app = App::new("temporal", "temporal");
    let run = app.generate(&[], None);
    let objs = run.manifests();
    let kinds: Vec<&str> = objs.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ObjectStore",
            "ExternalSecret",
            "Cluster",
            "ScheduledBackup"
        ],
        "render order is kept"
    );
    let cluster = cluster_of(&objs);
    assert_eq!(cluster["metadata"]["namespace"], "cloudnative-pg");
    assert!(cluster["spec"]["bootstrap"]["initdb"].is_object());
    assert_eq!(
        cluster["spec"]["plugins"][0]["parameters"]["serverName"],
        "temporal-database-v2"
    );
    assert_eq!(
        warnings(cluster),
        None,
        "no findings expected: {}",
        run.stderr
    );
}

#[test]
fn recovery_with_lockstep_bump_passes() {
    let app = App::new("temporal", "temporal");
    dr_drill(&app, true);
    let objs = app.generate(&[], None).manifests();
    let cluster = cluster_of(&objs);
    assert_eq!(
        cluster["spec"]["bootstrap"]["recovery"]["source"],
        "temporal-database-backup"
    );
    assert_eq!(
        cluster["spec"]["plugins"][0]["parameters"]["serverName"],
        "temporal-database-v3"
    );
    assert_eq!(
        cluster["spec"]["externalClusters"][0]["plugin"]["parameters"]["serverName"],
        "temporal-database-v2"
    );
    // The seed's recovery overlay has no prune protection: a warning (its
    // ScheduledBackup is `immediate: true`, so the new lineage gets a base
    // backup right away and post-recovery-backup-missing stays quiet).
    let w = warnings(cluster).unwrap_or_default();
    assert!(
        w.starts_with("1 finding(s): [prune-protection-missing]"),
        "{w}"
    );
}

#[test]
fn recovery_without_archive_bump_fails_naming_the_lineage() {
    let app = App::new("temporal", "temporal");
    dr_drill(&app, false);
    let run = app.generate(&[], None);
    assert_clean_failure(&run, 1);
    let mut lines = run.stderr.lines();
    let summary = lines.next().unwrap();
    assert!(
        summary.starts_with("cnpg-guard: 1 object denied (") && summary.ends_with(") in temporal"),
        "{summary}"
    );
    let finding = lines
        .find(|l| l.contains("[lineage-self-reuse]"))
        .unwrap_or_else(|| panic!("no lineage-self-reuse line in {}", run.stderr));
    assert!(
        finding.starts_with("Cluster cloudnative-pg/temporal-database: spec."),
        "{finding}"
    );
    assert!(
        finding.contains("temporal-database-v2"),
        "names the lineage: {finding}"
    );
    assert!(finding.contains(" — "), "has a fix: {finding}");
    // Never echo object contents (credentials refs, endpoints, secret stores).
    for leak in ["onepassword", "ACCESS_KEY_ID", "rustfs.storage"] {
        assert!(!run.stderr.contains(leak), "{leak} leaked: {}", run.stderr);
    }
}

#[test]
fn missing_objectstore_warns_by_default_with_annotation() {
    let app = App::new("missing-objectstore", "gitea");
    let run = app.generate(&[], None);
    let objs = run.manifests();
    let cluster = find(&objs, "Cluster", "gitea-database");
    let w = warnings(cluster).unwrap_or_else(|| panic!("no annotation: {cluster}"));
    assert!(w.starts_with("1 finding(s): [objectstore-missing] "), "{w}");
    assert!(w.contains("not in this tree"), "{w}");
    assert!(w.contains("shared-backup-store"), "{w}");
    assert!(w.chars().count() <= 1024);
    // Only the affected object is annotated; the rest is untouched.
    assert_eq!(
        warnings(find(&objs, "ScheduledBackup", "gitea-database-daily")),
        None
    );
}

#[test]
fn missing_objectstore_denies_with_strict_parameter() {
    let app = App::new("missing-objectstore", "gitea");
    let params = json!([{"name": "strict-objectstores", "string": "true"}]);
    let run = app.generate(&[], Some(params));
    assert_clean_failure(&run, 1);
    assert!(
        run.stderr
            .starts_with("cnpg-guard: 1 object denied (1 finding) in gitea\n"),
        "{}",
        run.stderr
    );
    let line = run.stderr.lines().nth(1).unwrap();
    assert!(
        line.starts_with("Cluster cloudnative-pg/gitea-database: "),
        "{line}"
    );
    assert!(line.contains("[objectstore-missing]"), "{line}");
}

#[test]
fn severity_map_parameter_and_env_precedence() {
    let app = App::new("missing-objectstore", "gitea");
    // map parameter → PARAM_SEVERITY_OBJECTSTORE_MISSING
    let params = json!([{"name": "severity", "map": {"objectstore-missing": "deny"}}]);
    assert_clean_failure(&app.generate(&[], Some(params)), 1);
    // plugin env alone
    assert_clean_failure(&app.generate(&[("STRICT_OBJECTSTORES", "true")], None), 1);
    // a parameter beats the plugin env
    let params = json!([{"name": "strict-objectstores", "string": "false"}]);
    let run = app.generate(&[("STRICT_OBJECTSTORES", "true")], Some(params));
    assert_eq!(run.code, 0, "{}", run.stderr);
    // severity off: no finding, no annotation
    let params = json!([{"name": "severity", "map": {"objectstore-missing": "off"}}]);
    let objs = app.generate(&[], Some(params)).manifests();
    assert_eq!(warnings(find(&objs, "Cluster", "gitea-database")), None);
}

#[test]
fn bad_parameter_is_exit_2_one_line() {
    let app = App::new("temporal", "temporal");
    for params in [
        json!([{"name": "strict-objectstores", "string": "yes please"}]),
        json!([{"name": "severity", "map": {"objectstore-missing": "block"}}]),
        json!([{"name": "strict-objectstore", "string": "true"}]),
        json!([{"name": "backup-label-keys", "array": ["not a label key"]}]),
        // Well-formed, but rejected by the policy's own validate_settings.
        json!([{"name": "severity", "map": {"no-such-rule": "deny"}}]),
        json!([{"name": "severity", "map": {"objectstore-missing": "mutate"}}]),
    ] {
        let run = app.generate(&[], Some(params.clone()));
        assert_clean_failure(&run, 2);
        assert_eq!(run.stderr.lines().count(), 1, "{params}: {}", run.stderr);
        assert!(run.stderr.contains("bad parameter"), "{}", run.stderr);
    }
}

#[test]
fn broken_kustomization_fails_the_render() {
    let app = App::new("broken-kustomization", "broken");
    let run = app.generate(&[], None);
    assert_clean_failure(&run, 3);
    assert!(run.stderr.contains("render failed"), "{}", run.stderr);
    assert!(
        run.stderr.contains("objectstroe.yaml"),
        "says what is wrong: {}",
        run.stderr
    );
}

#[test]
fn empty_kustomization_fails_instead_of_pruning() {
    let app = App::new("empty-kustomization", "empty");
    let run = app.generate(&[], None);
    assert_clean_failure(&run, 3);
}

#[test]
fn directory_without_manifests_fails_instead_of_pruning() {
    let app = App::new("empty-dir", "empty");
    let run = app.generate(&[], None);
    assert_clean_failure(&run, 3);
}

#[test]
fn pvc_backup_label_is_stripped_in_output() {
    let app = App::new("pvc-backup-label", "temporal-volumes");
    let run = app.generate(&[], None);
    let objs = run.manifests();
    let pvc = find(&objs, "PersistentVolumeClaim", "temporal-database-1");
    let labels = pvc["metadata"]["labels"].as_object().unwrap();
    assert_eq!(
        labels.get("cnpg.io/cluster"),
        Some(&json!("temporal-database"))
    );
    assert!(
        !labels.contains_key("backup"),
        "backup label must be stripped: {pvc}"
    );
    // Not a CNPG volume: untouched.
    let scratch = find(&objs, "PersistentVolumeClaim", "temporal-scratch");
    assert_eq!(scratch["metadata"]["labels"]["backup"], "daily");
    // Parsing: anchors + merge keys, List flattening, JSON files.
    let svc = find(&objs, "Service", "temporal-frontend");
    assert_eq!(
        svc["spec"]["selector"],
        json!({
            "app.kubernetes.io/name": "temporal",
            "app.kubernetes.io/component": "frontend",
            "app.kubernetes.io/instance": "temporal"
        })
    );
    find(&objs, "ConfigMap", "temporal-dynamic-config");
}

#[test]
fn output_is_a_pure_function_of_the_inputs() {
    let app = App::new("missing-objectstore", "gitea");
    let a = app.generate(&[], None);
    let b = app.generate(&[], None);
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert_eq!(a.stdout, b.stdout);
    // A different extraction dir (every request gets a new one) changes nothing.
    let other = App::new("missing-objectstore", "gitea");
    assert_eq!(other.generate(&[], None).stdout, a.stdout);
}

#[test]
fn module_cache_falls_back_when_home_is_unwritable() {
    // No CNPG_GUARD_CACHE_DIR, HOME not writable: must still work.
    let app = App::new("temporal", "temporal");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_argocd-cnpg-guard"));
    cmd.arg("generate")
        .current_dir(&app.dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent");
    for (k, v) in app.argocd_env(&[], None) {
        cmd.env(k, v);
    }
    let run: Run = cmd.output().unwrap().into();
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn namespace_less_objects_are_checked_in_the_destination_namespace() {
    let app = App::new("no-namespace", "immich");
    let run = app.generate(&[], None);
    let objs = run.manifests();
    let cluster = find(&objs, "Cluster", "immich-database");
    // The ObjectStore was found in ARGOCD_APP_NAMESPACE: no warning.
    assert_eq!(warnings(cluster), None, "{}", run.stderr);
    assert!(
        cluster["metadata"].get("namespace").is_none(),
        "namespace added: {cluster}"
    );
    let store = find(&objs, "ObjectStore", "immich-backup-store");
    assert_eq!(store["metadata"]["namespace"], "cloudnative-pg");
    // Strict mode agrees (nothing missing, nothing denied).
    let params = json!([{"name": "strict-objectstores", "string": "true"}]);
    assert_eq!(app.generate(&[], Some(params)).code, 0);
}
