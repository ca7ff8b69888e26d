//! End-to-end tests: the real binary, invoked as `kubectl cnpg-plan …`
//! through the installed kubectl (plugin lookup on PATH).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The installed kubectl (v1.32 in the project image): plugin lookup is
/// kubectl's own, so the tests go through it.
fn kubectl_path() -> PathBuf {
    let fixed = PathBuf::from("/usr/bin/kubectl");
    if fixed.is_file() {
        return fixed;
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
        .expect(
            "these tests drive the plugin through kubectl: install kubectl (e.g. /usr/bin/kubectl)",
        )
}

fn plugin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_kubectl-cnpg_plan"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// A temp copy of a fixture; returns (guard, path of the copied root).
fn workdir(name: &str) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join(name);
    copy_dir(&fixture(name), &root);
    (t, root)
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn kubectl(args: &[&str], envs: &[(&str, &str)]) -> Run {
    let path = format!(
        "{}:{}",
        plugin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(kubectl_path());
    cmd.args(args).env("PATH", path);
    // A private module cache per test process keeps runs independent.
    cmd.env(
        "CNPG_GUARD_CACHE_DIR",
        std::env::temp_dir().join("cnpg-plan-test-cache"),
    );
    cmd.env_remove("CNPG_PLAN_FAULT_AFTER_RENAMES");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn plan(dir: &Path, extra: &[&str]) -> Run {
    let d = dir.to_str().unwrap();
    let mut args = vec!["cnpg-plan", "recovery", d];
    args.extend_from_slice(extra);
    kubectl(&args, &[])
}

fn json_of(r: &Run) -> Value {
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", r.stdout, r.stderr))
}

fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), fs::read(&p).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap()
}

const BASE: &str = "base/cluster.yaml";
const PATCH: &str = "overlays/recovery/bootstrap-patch.yaml";
const KUST: &str = "kustomization.yaml";

#[test]
fn seed000_dry_run_plans_lockstep_edits_and_touches_nothing() {
    let (_t, root) = workdir("seed000");
    let db = root.join("temporal");
    let before = snapshot(&root);
    let r = plan(&db, &["-o", "json"]);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let j = json_of(&r);
    assert_eq!(j["schemaVersion"], 1);
    assert_eq!(j["database"], "temporal");
    assert_eq!(j["lineage"]["from"], "temporal-database-v2");
    assert_eq!(j["lineage"]["to"], "temporal-database-v3");
    assert_eq!(j["cluster"]["name"], "temporal-database");
    assert_eq!(j["ready"], true);
    assert_eq!(j["written"], false);
    let edits = j["edits"].as_array().unwrap();
    let find = |file: &str, needle: &str| {
        edits
            .iter()
            .find(|e| e["file"] == file && e["after"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("no edit in {file} with {needle}: {edits:#?}"))
    };
    let e = find(BASE, "temporal-database-v3");
    assert_eq!(
        e["before"],
        "        serverName: temporal-database-v2   # lineage: bump on every recovery\n"
    );
    assert_eq!(
        e["after"],
        "        serverName: temporal-database-v3   # lineage: bump on every recovery\n"
    );
    let e = find(PATCH, "temporal-database-v2");
    assert_eq!(
        e["before"],
        "          serverName: \"temporal-database-v1\"   # ← previous lineage\n"
    );
    assert_eq!(
        e["after"],
        "          serverName: \"temporal-database-v2\"   # ← previous lineage\n"
    );
    find(PATCH, "database: temporal");
    find(PATCH, "owner: temporal");
    find(KUST, "# - overlays/initdb");
    find(KUST, "  - overlays/recovery   #");
    // The diff names every changed file and nothing else.
    let diff = j["diff"].as_str().unwrap();
    assert!(
        diff.contains("--- a/base/cluster.yaml")
            && diff.contains("+++ b/overlays/recovery/bootstrap-patch.yaml"),
        "{diff}"
    );
    assert!(!diff.contains("a/externalsecret.yaml"), "{diff}");
    assert_eq!(
        diff.matches("\n--- a/").count() + usize::from(diff.starts_with("--- a/")),
        3,
        "{diff}"
    );
    // Runbook: order and exact commands.
    let steps = j["steps"].as_array().unwrap();
    let cmds: Vec<String> = steps
        .iter()
        .flat_map(|s| {
            s["commands"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
        })
        .collect();
    let pos = |needle: &str| {
        cmds.iter()
            .position(|c| c.contains(needle))
            .unwrap_or_else(|| panic!("no command with {needle}: {cmds:#?}"))
    };
    let refresh = pos(
        "kubectl -n argocd annotate application temporal argocd.argoproj.io/refresh=hard --overwrite",
    );
    let outofsync = pos("expect: OutOfSync");
    let delete = pos("delete cluster.postgresql.cnpg.io temporal-database");
    let pvc = pos("delete pvc -l cnpg.io/cluster=temporal-database");
    let wait = pos("wait --for=delete pvc -l cnpg.io/cluster=temporal-database");
    let sync = pos("patch application temporal");
    let watch = pos("job/temporal-database-1-full-recovery");
    assert!(
        pos("git add") < refresh
            && refresh < outofsync
            && outofsync < delete
            && delete < pvc
            && pvc < wait
            && wait < sync
            && sync < watch
    );
    assert!(cmds.iter().any(|c| c.contains("rollout restart")));
    assert!(steps.iter().all(|s| !s["why"].as_str().unwrap().is_empty()));
    let git_add = &cmds[pos("git add")];
    for f in [BASE, PATCH, KUST] {
        assert!(git_add.contains(f), "{git_add}");
    }
    assert_eq!(
        snapshot(&root),
        before,
        "a dry run must not change any file"
    );
}

#[test]
fn seed000_write_is_surgical_and_second_run_plans_the_next_lineage() {
    let (_t, root) = workdir("seed000");
    let db = root.join("temporal");
    let orig_base = read(&db.join(BASE));
    let orig_patch = read(&db.join(PATCH));
    let orig_kust = read(&db.join(KUST));
    let untouched = [
        "externalsecret.yaml",
        "scheduled-backup.yaml",
        "overlays/initdb/bootstrap-patch.yaml",
        "base/objectstore.yaml",
    ]
    .map(|f| (f, read(&db.join(f))));

    let r = plan(&db, &["--write"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("READY"), "{}", r.stdout);

    // Byte-for-byte: only the serverName line changed in base.
    assert_eq!(
        read(&db.join(BASE)),
        orig_base.replace(
            "serverName: temporal-database-v2   # lineage",
            "serverName: temporal-database-v3   # lineage"
        )
    );
    // Quoting of the recovery serverName kept; database/owner and the
    // initdb's secret inserted after source.
    assert_eq!(
        read(&db.join(PATCH)),
        orig_patch
            .replace("\"temporal-database-v1\"", "\"temporal-database-v2\"")
            .replace(
                "      source: temporal-backup\n",
                "      source: temporal-backup\n      database: temporal\n      owner: temporal\n      secret:\n        name: temporal-db-credentials\n"
            )
    );
    assert_eq!(
        read(&db.join(KUST)),
        orig_kust
            .replace(
                "  - overlays/initdb       #",
                "  # - overlays/initdb       #"
            )
            .replace("  # - overlays/recovery   #", "  - overlays/recovery   #")
    );
    for (f, text) in &untouched {
        assert_eq!(&read(&db.join(f)), text, "{f} must not change");
    }
    // No temp or backup files left behind.
    assert!(
        snapshot(&root)
            .iter()
            .all(|(p, _)| !p.to_string_lossy().contains(".cnpg-plan-"))
    );

    // Second run: the NEXT lineage, no re-application.
    let r = plan(&db, &["-o", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = json_of(&r);
    assert_eq!(j["lineage"]["from"], "temporal-database-v3");
    assert_eq!(j["lineage"]["to"], "temporal-database-v4");
    let edits = j["edits"].as_array().unwrap();
    assert!(
        edits.iter().all(|e| e["file"] != KUST),
        "flag must not flip twice: {edits:#?}"
    );
    assert!(
        edits
            .iter()
            .all(|e| !e["after"].as_str().unwrap().contains("database:")),
        "database/owner must not be re-added"
    );
    assert_eq!(edits.len(), 2, "{edits:#?}");
    assert!(
        j["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("NEXT lineage"))
    );
}

#[test]
fn parent_of_a_database_dir_points_at_it_and_edits_nothing() {
    let (_t, root) = workdir("seed000");
    let before = snapshot(&root);
    // `root` holds `temporal/`, the database directory: do not plan a
    // single-file edit of temporal/base/cluster.yaml.
    let r = plan(&root, &["--write"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("not a database directory"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("temporal"), "{}", r.stderr);
    assert_eq!(snapshot(&root), before);
}

#[test]
fn pitr_targets_are_validated_and_written() {
    let (_t, root) = workdir("seed000");
    let db = root.join("temporal");
    let r = plan(&db, &["--target-time", "yesterday"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not a valid timestamp"), "{}", r.stderr);
    let r = plan(&db, &["--target-lsn", "0x30"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not a valid LSN"), "{}", r.stderr);
    let r = plan(&db, &["--target-lsn", "0/3000060", "--target-immediate"]);
    assert_eq!(r.code, 2, "mutually exclusive: {}", r.stderr);

    let r = plan(&db, &["--target-time", "2026-05-08 20:49:00+00", "--write"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let patch = read(&db.join(PATCH));
    assert!(
        patch.contains("      recoveryTarget:\n        targetTime: \"2026-05-08 20:49:00+00\"\n"),
        "{patch}"
    );
    // Replanning without a target removes the stale one and says so.
    let r = plan(&db, &["-o", "json"]);
    let j = json_of(&r);
    assert!(
        j["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("stale")),
        "{j:#}"
    );
    assert!(
        j["edits"].as_array().unwrap().iter().any(|e| e["before"]
            .as_str()
            .unwrap()
            .contains("targetTime")
            && e["after"] == "")
    );
}

#[test]
fn flux_inline_single_file_unversioned_default_server_name() {
    let (_t, root) = workdir("flux-inline");
    let db = root.join("app-db");
    let orig = read(&db.join("database.yaml"));
    let r = plan(&db, &["--write", "-o", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = json_of(&r);
    assert_eq!(j["layout"], "single-file");
    assert_eq!(j["lineage"]["from"], "app-db");
    assert_eq!(j["lineage"]["to"], "app-db-v2");
    let notes = j["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(notes.contains("no -vN suffix"), "{notes}");
    assert!(
        notes.contains("inserting an explicit serverName"),
        "{notes}"
    );
    let new = read(&db.join("database.yaml"));
    // initdb replaced by recovery (database/owner/secret kept), inline source added.
    assert!(new.contains("  bootstrap:\n    recovery:\n      source: origin\n      database: orders\n      owner: orders_owner\n      secret:\n        name: app-db-app-credentials\n"), "{new}");
    assert!(!new.contains("initdb:"), "{new}");
    assert!(
        new.contains("      data: { compression: gzip, jobs: 2 }\n      serverName: app-db-v2\n"),
        "{new}"
    );
    assert!(
        new.contains("  externalClusters:\n    - name: origin\n      barmanObjectStore:\n"),
        "{new}"
    );
    assert!(new.contains("        serverName: app-db\n"), "{new}");
    // Everything else byte for byte: the lines before bootstrap are identical.
    let head = orig.split("  bootstrap:").next().unwrap();
    assert!(new.starts_with(head));
    assert!(
        new.ends_with("    retentionPolicy: \"7d\"\n  primaryUpdateStrategy: unsupervised\n"),
        "{new}"
    );
    // Flux runbook.
    let cmds = j["steps"].to_string();
    assert!(
        cmds.contains("flux suspend kustomization databases-app-db"),
        "{cmds}"
    );
    assert!(
        cmds.contains("flux resume kustomization databases-app-db"),
        "{cmds}"
    );
    // Second run: the file is in recovery mode now; the next lineage.
    let j = json_of(&plan(&db, &["-o", "json"]));
    assert_eq!(j["lineage"]["from"], "app-db-v2");
    assert_eq!(j["lineage"]["to"], "app-db-v3");
}

#[test]
fn flux_plugin_flow_mapping_and_unversioned_explicit_name() {
    let (_t, root) = workdir("flux-plugin");
    let db = root.join("orders");
    let r = plan(&db, &["--write", "-o", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = json_of(&r);
    assert_eq!(j["lineage"]["from"], "orders");
    assert_eq!(j["lineage"]["to"], "orders-v2");
    let new = read(&db.join("database.yaml"));
    assert!(
        new.contains("    parameters: {barmanObjectName: shop-store, serverName: orders-v2}\n"),
        "{new}"
    );
    assert!(new.contains("      parameters:\n          barmanObjectName: shop-store\n          serverName: orders\n") || new.contains("parameters:\n            barmanObjectName: shop-store\n            serverName: orders\n"), "{new}");
    assert!(
        new.contains(
            "    recovery:\n      source: origin\n      database: orders\n      owner: shop\n"
        ),
        "{new}"
    );
}

#[test]
fn policy_denial_is_an_error_never_ready() {
    let (_t, root) = workdir("seed000");
    let db = root.join("temporal");
    // Drop the ObjectStore: the Cluster's barmanObjectName then names nothing.
    fs::remove_file(db.join("base/objectstore.yaml")).unwrap();
    fs::write(
        db.join("base/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cluster.yaml\n",
    )
    .unwrap();
    let before = snapshot(&root);
    // A store not in the tree is a warning by default (it may live in another
    // app); the sidecar-style default CNPG_GUARD_STRICT_OBJECTSTORES makes it
    // a deny for the planner and check alike.
    let strict = [("CNPG_GUARD_STRICT_OBJECTSTORES", "true")];
    let d = db.to_str().unwrap();
    let r = kubectl(&["cnpg-plan", "recovery", d], &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("objectstore-missing"), "{}", r.stdout);
    let r = kubectl(&["cnpg-plan", "recovery", d, "--write"], &strict);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("NOT READY"), "{}", r.stdout);
    assert!(
        !r.stdout.lines().any(|l| l.starts_with("READY")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("objectstore-missing"), "{}", r.stdout);
    assert_eq!(snapshot(&root), before, "a denied plan is never written");
    let j = json_of(&kubectl(
        &["cnpg-plan", "recovery", d, "-o", "json"],
        &strict,
    ));
    assert_eq!(j["ready"], false);
    assert!(
        j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["severity"] == "deny" && f["rule"] == "objectstore-missing")
    );
    // check mode says the same about the current tree.
    let r = kubectl(&["cnpg-plan", "check", d, "-o", "json"], &strict);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let r2 = kubectl(
        &[
            "cnpg-plan",
            "check",
            d,
            "-o",
            "json",
            "--strict-objectstores",
        ],
        &[],
    );
    assert_eq!(r2.stdout, r.stdout, "flag and env give the same answer");
    // A rendered object's finding points at the source file and line.
    let j = json_of(&r);
    let f = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "objectstore-missing")
        .unwrap();
    assert!(
        f["file"].as_str().unwrap().ends_with("base/cluster.yaml"),
        "{f:#}"
    );
    assert_eq!(f["line"], 27, "the barmanObjectName line: {f:#}");
}

#[test]
fn restore_as_prints_and_writes_a_side_by_side_cluster() {
    let (t, root) = workdir("seed000");
    let db = root.join("temporal");
    let before = snapshot(&root);
    let r = plan(&db, &["--restore-as", "temporal-drill", "-o", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = json_of(&r);
    assert_eq!(j["mode"], "restore-as");
    assert_eq!(j["lineage"]["from"], "temporal-database-v2");
    assert_eq!(j["lineage"]["to"], "temporal-drill-v1");
    let m = j["manifest"].as_str().unwrap();
    assert!(m.contains("  name: temporal-drill\n"), "{m}");
    assert!(
        m.contains("barmanObjectName: temporal-backups\n")
            && m.contains("serverName: temporal-drill-v1\n")
            && m.contains("serverName: temporal-database-v2\n"),
        "{m}"
    );
    assert!(
        m.contains("database: temporal\n") && m.contains("owner: temporal\n"),
        "{m}"
    );
    assert!(!m.contains("initdb"), "{m}");
    assert!(
        j["steps"]
            .to_string()
            .contains("delete pvc -l cnpg.io/cluster=temporal-drill")
    );
    assert_eq!(snapshot(&root), before);

    let out = t.path().join("drill.yaml");
    let r = plan(
        &db,
        &[
            "--restore-as",
            "temporal-drill",
            "--write",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let written = read(&out);
    assert_eq!(written, m);
    // The written manifest passes the policy on its own with the ObjectStore.
    let r = kubectl(
        &[
            "cnpg-plan",
            "check",
            out.to_str().unwrap(),
            db.join("base/objectstore.yaml").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // Refuses to overwrite.
    let r = plan(
        &db,
        &[
            "--restore-as",
            "temporal-drill",
            "--write",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    let r = plan(&db, &["--restore-as", "temporal-database"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn failed_write_leaves_every_file_untouched_immutable_target() {
    let (_t, root) = workdir("seed000");
    let db = root.join("temporal");
    let patch = db.join(PATCH);
    // A real failure at rename time: an immutable file cannot be replaced,
    // even by root. The overlay patch is renamed last, so the other two were
    // already replaced and must be rolled back.
    let ok = Command::new("chattr")
        .arg("+i")
        .arg(&patch)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("chattr +i unsupported here; covered by the fault-injection test");
        return;
    }
    let before = snapshot(&root);
    let r = plan(&db, &["--write"]);
    let _ = Command::new("chattr").arg("-i").arg(&patch).status();
    assert_eq!(r.code, 4, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("rolled back 2"), "{}", r.stderr);
    assert!(r.stderr.contains("bootstrap-patch.yaml"), "{}", r.stderr);
    assert_eq!(
        snapshot(&root),
        before,
        "every file byte-identical, no temp files left"
    );
}

#[test]
fn failed_write_rolls_back_with_fault_injection() {
    let (_t, root) = workdir("seed000");
    let db = root.join("temporal");
    let before = snapshot(&root);
    let r = kubectl(
        &["cnpg-plan", "recovery", db.to_str().unwrap(), "--write"],
        &[("CNPG_PLAN_FAULT_AFTER_RENAMES", "1")],
    );
    assert_eq!(r.code, 4, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("rolled back 1"), "{}", r.stderr);
    assert_eq!(snapshot(&root), before);
}

#[test]
fn dangling_symlink_is_an_input_error_and_nothing_is_written() {
    let (_t, root) = workdir("seed000");
    let db = root.join("temporal");
    fs::remove_file(db.join(PATCH)).unwrap();
    std::os::unix::fs::symlink(db.join("nowhere.yaml"), db.join(PATCH)).unwrap();
    let before = snapshot(&root);
    let r = plan(&db, &["--write"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("overlays/recovery/bootstrap-patch.yaml"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("fix:"), "{}", r.stderr);
    assert_eq!(snapshot(&root), before);
}

// ---- live mode through a fake kubectl (CNPG_PLAN_KUBECTL) ----

fn fake_kubectl(dir: &Path, archive_sn: &str, unreachable: bool) -> PathBuf {
    let windows = serde_json::json!({"temporal-database-v2": {
        "firstRecoverabilityPoint": "2026-05-01T03:00:00Z", "lastSuccessfulBackupTime": "2026-05-08T03:00:00Z"}});
    fake_kubectl_with(dir, archive_sn, unreachable, windows)
}

/// A fake kubectl whose ObjectStore records `windows` (its
/// `status.serverRecoveryWindow`) and whose live Cluster archives to
/// `archive_sn`.
fn fake_kubectl_with(dir: &Path, archive_sn: &str, unreachable: bool, windows: Value) -> PathBuf {
    let data = dir.join("fake");
    fs::create_dir_all(&data).unwrap();
    let cluster = serde_json::json!({
        "apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
        "metadata": {"name": "temporal-database", "namespace": "cloudnative-pg"},
        "spec": {"plugins": [{"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": true,
            "parameters": {"barmanObjectName": "temporal-backups", "serverName": archive_sn}}]},
        "status": {"conditions": [{"type": "ContinuousArchiving", "status": "True", "reason": "ContinuousArchivingSuccess"}]}
    });
    let store = serde_json::json!({"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
        "metadata": {"name": "temporal-backups", "namespace": "cloudnative-pg"},
        "status": {"serverRecoveryWindow": windows}});
    let pvcs = serde_json::json!({"kind": "List", "items": [
        {"metadata": {"name": "temporal-database-1"}}, {"metadata": {"name": "temporal-database-1-wal"}}]});
    let deploys = serde_json::json!({"kind": "List", "items": [
        {"metadata": {"name": "temporal-frontend", "namespace": "cloudnative-pg"}, "spec": {"template": {"spec": {"containers": [
            {"name": "f", "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "temporal-database-app", "key": "password"}}}]}]}}}},
        {"metadata": {"name": "unrelated", "namespace": "cloudnative-pg"}, "spec": {"template": {"spec": {"containers": [{"name": "u"}]}}}}]});
    let app = serde_json::json!({"metadata": {"name": "temporal"}, "status": {"sync": {"status": "Synced"}}});
    for (n, v) in [
        ("cluster", cluster),
        ("store", store),
        ("pvcs", pvcs),
        ("deploys", deploys),
        ("app", app),
    ] {
        fs::write(data.join(format!("{n}.json")), v.to_string()).unwrap();
    }
    let script = if unreachable {
        "#!/bin/sh\necho \"$*\" >> \"$(dirname \"$0\")/fake/calls\"\necho 'Unable to connect to the server: dial tcp 127.0.0.1:6443: connect: connection refused' >&2\nexit 1\n".to_string()
    } else {
        format!(
            r#"#!/bin/sh
D="{d}"
echo "$*" >> "$D/calls"
case "$*" in
  *"get cluster.postgresql.cnpg.io temporal-database"*) cat "$D/cluster.json" ;;
  *"get objectstores.barmancloud.cnpg.io temporal-backups"*) cat "$D/store.json" ;;
  *"get pvc"*) cat "$D/pvcs.json" ;;
  *"get deployments"*) cat "$D/deploys.json" ;;
  *"get applications.argoproj.io temporal"*) cat "$D/app.json" ;;
  *) echo "Error from server (NotFound): not found" >&2; exit 1 ;;
esac
"#,
            d = data.display()
        )
    };
    let path = dir.join("fake-kubectl");
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn live(db: &Path, fake: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "cnpg-plan",
        "recovery",
        db.to_str().unwrap(),
        "--context",
        "homelab",
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    kubectl(&args, &[("CNPG_PLAN_KUBECTL", fake.to_str().unwrap())])
}

fn check_status(j: &Value, id: &str) -> String {
    j["liveChecks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .map(|c| c["status"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no live check {id}: {j:#}"))
}

#[test]
fn live_checks_pass_and_feed_the_runbook() {
    let (t, root) = workdir("seed000");
    let db = root.join("temporal");
    let fake = fake_kubectl(t.path(), "temporal-database-v2", false);
    let r = live(&db, &fake, &["--target-time", "2026-05-05T12:00:00Z"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = json_of(&r);
    for id in [
        "cluster-exists",
        "lineage-matches-git",
        "continuous-archiving",
        "target-in-window",
        "argocd-application",
    ] {
        assert_eq!(check_status(&j, id), "ok", "{id}: {j:#}");
    }
    let pvcs = j["liveChecks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "pvcs-to-delete")
        .unwrap();
    assert_eq!(
        pvcs["items"],
        serde_json::json!(["temporal-database-1", "temporal-database-1-wal"])
    );
    assert!(
        j["steps"]
            .to_string()
            .contains("kubectl -n cloudnative-pg rollout restart deployment/temporal-frontend")
    );
    assert!(!j["steps"].to_string().contains("deployment/unrelated"));
    let calls = read(&t.path().join("fake/calls"));
    assert!(calls.contains("--context homelab get cluster.postgresql.cnpg.io temporal-database -n cloudnative-pg -o json"), "{calls}");
    assert!(
        calls.lines().all(|l| l.ends_with("--request-timeout=10s")),
        "every kubectl call is bounded by default: {calls}"
    );
}

#[test]
fn request_timeout_reaches_every_kubectl_call() {
    let (t, root) = workdir("seed000");
    let db = root.join("temporal");
    let fake = fake_kubectl(t.path(), "temporal-database-v2", false);
    let r = live(&db, &fake, &["--request-timeout", "1m30s"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let calls = read(&t.path().join("fake/calls"));
    assert!(!calls.is_empty());
    assert!(
        calls
            .lines()
            .all(|l| l.ends_with("--request-timeout=1m30s")),
        "{calls}"
    );
    for bad in ["soon", "-5s", "10 s", ""] {
        let flag = format!("--request-timeout={bad}");
        let r = live(&db, &fake, &[flag.as_str()]);
        assert_eq!(r.code, 2, "{bad:?}: {}", r.stderr);
        assert!(r.stderr.contains("--request-timeout"), "{}", r.stderr);
    }
}

#[test]
fn live_rejects_target_before_first_recoverability_point() {
    let (t, root) = workdir("seed000");
    let db = root.join("temporal");
    let fake = fake_kubectl(t.path(), "temporal-database-v2", false);
    let r = live(
        &db,
        &fake,
        &["--target-time", "2026-04-01T00:00:00Z", "--write"],
    );
    assert_eq!(r.code, 5, "{}\n{}", r.stdout, r.stderr);
    let j = json_of(&r);
    assert_eq!(check_status(&j, "target-in-window"), "fail");
    assert!(
        j.to_string()
            .contains("recovery ended before configured recovery target was reached")
    );
    assert_eq!(j["written"], false, "a failed live check blocks --write");
    let r = live(&db, &fake, &["--target-time", "2999-01-01T00:00:00Z"]);
    assert_eq!(r.code, 5);
}

#[test]
fn live_lineage_mismatch_fails() {
    let (t, root) = workdir("seed000");
    let db = root.join("temporal");
    let fake = fake_kubectl(t.path(), "temporal-database-v1", false);
    let r = live(&db, &fake, &[]);
    assert_eq!(r.code, 5, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(check_status(&json_of(&r), "lineage-matches-git"), "fail");
}

#[test]
fn live_unreachable_is_skipped_not_faked() {
    let (t, root) = workdir("seed000");
    let db = root.join("temporal");
    let fake = fake_kubectl(t.path(), "x", true);
    let r = live(&db, &fake, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = json_of(&r);
    assert_eq!(j["liveChecks"].as_array().unwrap().len(), 1);
    assert_eq!(check_status(&j, "cluster-reachable"), "skipped");
    // Global kubectl flags are also accepted before the subcommand.
    let r = kubectl(
        &[
            "cnpg-plan",
            "--context",
            "homelab",
            "-n",
            "cloudnative-pg",
            "recovery",
            db.to_str().unwrap(),
            "-o",
            "json",
        ],
        &[("CNPG_PLAN_KUBECTL", fake.to_str().unwrap())],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(check_status(&json_of(&r), "cluster-reachable"), "skipped");
    assert!(read(&t.path().join("fake/calls")).contains("--context homelab get"));
}

// ---- check ----

#[test]
fn check_text_json_sarif() {
    let db = fixture("seed000").join("temporal");
    let r = kubectl(&["cnpg-plan", "check", db.to_str().unwrap()], &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("objects checked, no object denied"),
        "{}",
        r.stdout
    );

    let (_t, root) = workdir("flux-plugin");
    let bad = root.join("orders/bad.yaml");
    fs::write(
        &bad,
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: broken\n  namespace: shop\nspec:\n  instances: 1\n  plugins:\n    - name: barman-cloud.cloudnative-pg.io\n      isWALArchiver: true\n      parameters:\n        barmanObjectName: no-such-store\n",
    )
    .unwrap();
    let r = kubectl(
        &[
            "cnpg-plan",
            "check",
            root.to_str().unwrap(),
            "-o",
            "sarif",
            "--strict-objectstores",
        ],
        &[],
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(s["version"], "2.1.0");
    let results = s["runs"][0]["results"].as_array().unwrap();
    let hit = results
        .iter()
        .find(|x| x["ruleId"] == "objectstore-missing")
        .unwrap();
    assert_eq!(hit["level"], "error");
    let loc = &hit["locations"][0]["physicalLocation"];
    assert!(
        loc["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("orders/bad.yaml")
    );
    assert_eq!(
        loc["region"]["startLine"], 12,
        "the barmanObjectName line: {hit:#}"
    );
    let r = kubectl(
        &[
            "cnpg-plan",
            "check",
            bad.to_str().unwrap(),
            "-o",
            "json",
            "--severity",
            "objectstore-missing=deny",
        ],
        &[],
    );
    assert_eq!(r.code, 1);
    let j = json_of(&r);
    assert_eq!(j["accepted"], false);
    assert_eq!(j["schemaVersion"], 2);
}

// ---- help and usage ----

#[test]
fn help_teaches_and_usage_errors_exit_2() {
    let r = kubectl(&["cnpg-plan", "recovery", "--help"], &[]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("Examples:")
            && r.stdout.contains("kubectl cnpg-plan recovery")
            && r.stdout
                .contains("Exit codes (the same for argocd-cnpg-guard and kubectl cnpg-plan):")
            && r.stdout.contains("5  live"),
        "{}",
        r.stdout
    );
    let r = kubectl(&["cnpg-plan", "--help"], &[]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("check") && r.stdout.contains("recovery"));
    let r = kubectl(&["cnpg-plan", "recovery"], &[]);
    assert_eq!(r.code, 2);
    let r = kubectl(&["cnpg-plan", "recovery", "/nonexistent/dir"], &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn markdown_output_has_the_runbook() {
    let db = fixture("seed000").join("temporal");
    let r = plan(&db, &["-o", "markdown"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("## Runbook") && r.stdout.contains("```diff"),
        "{}",
        r.stdout
    );
}

#[test]
fn seed000_inline_form_without_server_name() {
    let (_t, root) = workdir("seed000");
    let db = root.join("temporal");
    let base = read(&db.join(BASE));
    let i = base.find("  # Barman Cloud plugin").unwrap();
    let j = base.find("  resources:").unwrap();
    let inline = "  backup:\n    barmanObjectStore:\n      destinationPath: \"s3://postgres-backups/cnpg/temporal\"\n      s3Credentials:\n        accessKeyId: {name: rustfs-cnpg, key: ACCESS_KEY_ID}\n        secretAccessKey: {name: rustfs-cnpg, key: SECRET_ACCESS_KEY}\n      wal:\n        compression: gzip\n\n";
    fs::write(
        db.join(BASE),
        format!("{}{inline}{}", &base[..i], &base[j..]),
    )
    .unwrap();
    let patch = read(&db.join(PATCH));
    let k = patch.find("      plugin:").unwrap();
    fs::write(
        db.join(PATCH),
        format!("{}      barmanObjectStore:\n        destinationPath: \"s3://postgres-backups/cnpg/temporal/\"\n        s3Credentials:\n          accessKeyId: {{name: rustfs-cnpg, key: ACCESS_KEY_ID}}\n          secretAccessKey: {{name: rustfs-cnpg, key: SECRET_ACCESS_KEY}}\n", &patch[..k]),
    )
    .unwrap();
    let r = plan(&db, &["--write", "-o", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = json_of(&r);
    // Absent serverName: the effective name is the Cluster name (CNPG default).
    assert_eq!(j["lineage"]["from"], "temporal-database");
    assert_eq!(j["lineage"]["to"], "temporal-database-v2");
    assert_eq!(j["lineage"]["fromExplicit"], false);
    assert!(
        read(&db.join(BASE))
            .contains("        compression: gzip\n      serverName: temporal-database-v2\n")
    );
    // The in-tree source default would be the externalCluster name: made explicit.
    assert!(read(&db.join(PATCH)).ends_with("          secretAccessKey: {name: rustfs-cnpg, key: SECRET_ACCESS_KEY}\n        serverName: temporal-database\n"));
    let j = json_of(&plan(&db, &["-o", "json"]));
    assert_eq!(j["lineage"]["from"], "temporal-database-v2");
    assert_eq!(j["lineage"]["to"], "temporal-database-v3");
}

#[test]
fn seed000_inline_source_on_another_endpoint_is_refused() {
    // Same destinationPath, different endpointURL: another object store
    // (the core's store equality compares the endpoint too).
    let (_t, root) = workdir("seed000");
    let db = root.join("temporal");
    let base = read(&db.join(BASE));
    let i = base.find("  # Barman Cloud plugin").unwrap();
    let j = base.find("  resources:").unwrap();
    let inline = "  backup:\n    barmanObjectStore:\n      destinationPath: \"s3://postgres-backups/cnpg/temporal\"\n      endpointURL: \"http://rustfs.storage:9000\"\n      s3Credentials:\n        accessKeyId: {name: rustfs-cnpg, key: ACCESS_KEY_ID}\n        secretAccessKey: {name: rustfs-cnpg, key: SECRET_ACCESS_KEY}\n\n";
    fs::write(
        db.join(BASE),
        format!("{}{inline}{}", &base[..i], &base[j..]),
    )
    .unwrap();
    let patch = read(&db.join(PATCH));
    let k = patch.find("      plugin:").unwrap();
    fs::write(
        db.join(PATCH),
        format!("{}      barmanObjectStore:\n        destinationPath: \"s3://postgres-backups/cnpg/temporal\"\n        endpointURL: \"http://minio.backup:9000\"\n        serverName: temporal-database\n", &patch[..k]),
    )
    .unwrap();
    let before = snapshot(&root);
    let r = plan(&db, &["--write"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("endpoint http://minio.backup:9000"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("overlays/recovery/bootstrap-patch.yaml"),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(&root), before);
}

#[test]
fn restore_as_live_checks_the_target_window() {
    let (t, root) = workdir("seed000");
    let db = root.join("temporal");
    let fake = fake_kubectl(t.path(), "temporal-database-v2", false);
    let out = t.path().join("drill.yaml");
    let r = live(
        &db,
        &fake,
        &[
            "--restore-as",
            "temporal-drill",
            "--target-time",
            "2026-04-01T00:00:00Z",
            "--write",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 5, "{}\n{}", r.stdout, r.stderr);
    let j = json_of(&r);
    assert_eq!(check_status(&j, "target-in-window"), "fail");
    assert!(!out.exists(), "a failed live check blocks --write");
    // Not destructive: no PVC or consumer listing.
    assert!(
        j["liveChecks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != "pvcs-to-delete")
    );
    let r = live(
        &db,
        &fake,
        &[
            "--restore-as",
            "temporal-drill",
            "--target-time",
            "2026-05-05T00:00:00Z",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        json_of(&r)["manifest"]
            .as_str()
            .unwrap()
            .contains("targetTime: \"2026-05-05T00:00:00Z\"")
    );
}

#[test]
fn renders_references_outside_the_db_dir_in_a_git_repo() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    let db = repo.join("infrastructure/database/temporal");
    copy_dir(&fixture("seed000").join("temporal"), &db);
    fs::create_dir_all(repo.join(".git")).unwrap();
    // A shared component outside the database directory.
    let comp = repo.join("components/labels");
    fs::create_dir_all(&comp).unwrap();
    fs::write(
        comp.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels:\n  - pairs:\n      homelab/tier: database\n",
    )
    .unwrap();
    let k = read(&db.join(KUST));
    fs::write(
        db.join(KUST),
        format!("{k}components:\n  - ../../../components/labels\n"),
    )
    .unwrap();
    let r = plan(&db, &["-o", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(json_of(&r)["ready"], true);
}

#[test]
fn crlf_files_stay_crlf() {
    let (_t, root) = workdir("seed000");
    let db = root.join("temporal");
    for f in [BASE, PATCH, KUST] {
        let text = read(&db.join(f)).replace('\n', "\r\n");
        fs::write(db.join(f), text).unwrap();
    }
    let r = plan(&db, &["--write"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for f in [BASE, PATCH, KUST] {
        let text = read(&db.join(f));
        assert_eq!(
            text.matches('\n').count(),
            text.matches("\r\n").count(),
            "{f}: {text:?}"
        );
    }
    assert!(read(&db.join(PATCH)).contains(
        "      source: temporal-backup\r\n      database: temporal\r\n      owner: temporal\r\n"
    ));
}

#[test]
fn database_and_owner_are_required_without_an_initdb_source() {
    let (_t, root) = workdir("seed000");
    let db = root.join("temporal");
    fs::remove_dir_all(db.join("overlays/initdb")).unwrap();
    let r = plan(&db, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("overlays/recovery/bootstrap-patch.yaml: spec.bootstrap.recovery.database:"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--database"), "{}", r.stderr);
    let r = plan(
        &db,
        &[
            "--database",
            "temporal",
            "--owner",
            "temporal",
            "-o",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(json_of(&r)["recovery"]["owner"], "temporal");
}

// ---- the drills of issue 9: tests/fixtures/drills/<case>/{before,after} ----
//
// Each case is a database directory as a user has it (`before/<db>`) and
// the files `--write` changes, byte for byte (`after/<db>`); every other
// file must stay as it was. The copy lives in a git work tree, as real
// ones do, so the runbook names repository paths.

fn drills() -> PathBuf {
    fixture("drills")
}

/// `before/<db>` of a drill copied into a fresh git work tree; returns the
/// guard, the repository root and the database directory.
fn drill(case: &str, db: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    fs::create_dir_all(repo.join(".git")).unwrap();
    let dir = repo.join(db);
    copy_dir(&drills().join(case).join("before").join(db), &dir);
    (t, repo, dir)
}

/// Every file of `dir` is `after/<db>/<file>` when the drill has one, else
/// exactly what it was; no file appeared or disappeared.
fn assert_written(case: &str, db: &str, dir: &Path) {
    let before = drills().join(case).join("before").join(db);
    let after = drills().join(case).join("after").join(db);
    let rel = |root: &Path, p: &Path| p.strip_prefix(root).unwrap().to_path_buf();
    let want: Vec<(PathBuf, Vec<u8>)> = snapshot(&before)
        .into_iter()
        .map(|(p, bytes)| {
            let r = rel(&before, &p);
            let expected = fs::read(after.join(&r)).unwrap_or(bytes);
            (r, expected)
        })
        .collect();
    let got: Vec<(PathBuf, Vec<u8>)> = snapshot(dir)
        .into_iter()
        .map(|(p, bytes)| (rel(dir, &p), bytes))
        .collect();
    for ((wp, wb), (gp, gb)) in want.iter().zip(&got) {
        assert_eq!(wp, gp, "{case}: files differ");
        assert_eq!(
            String::from_utf8_lossy(gb),
            String::from_utf8_lossy(wb),
            "{case}: {} is not as expected",
            wp.display()
        );
    }
    assert_eq!(want.len(), got.len(), "{case}: {got:#?}");
}

fn findings_of<'a>(j: &'a Value, rule: &str) -> Vec<&'a Value> {
    j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

#[test]
fn drill_flag_flip_takes_the_indentation_of_the_list() {
    for db in ["shallow", "deep", "compact"] {
        let (_t, _repo, dir) = drill("flag-indent", db);
        let r = plan(&dir, &["--write"]);
        assert_eq!(r.code, 0, "{db}: {}\n{}", r.stdout, r.stderr);
        assert!(
            r.stdout.contains("READY: files written"),
            "{db}: {}",
            r.stdout
        );
        assert_written("flag-indent", db, &dir);
        // The written tree renders with the recovery overlay, and the next
        // plan plans the next lineage without flipping again.
        let j = json_of(&plan(&dir, &["-o", "json"]));
        assert_eq!(j["lineage"]["to"], "temporal-database-v4", "{db}");
        assert!(
            j["edits"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["file"] != KUST),
            "{db}: {j:#}"
        );
    }
}

#[test]
fn drill_a_planned_tree_that_does_not_render_prints_the_diff_and_says_so() {
    let (_t, repo, dir) = drill("render-failure", "temporal");
    let before = snapshot(&repo);
    let r = plan(&dir, &["--write"]);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    // The planner's own diff, on stdout, before the error.
    assert!(
        r.stdout.contains("== diff (planned, NOT written) ==")
            && r.stdout
                .contains("+          serverName: \"temporal-database-v2\"   # ← previous lineage")
            && r.stdout.contains("NOT READY: the PLANNED tree"),
        "{}",
        r.stdout
    );
    // The error says the PLANNED tree failed, names the cause, and that the
    // current tree renders.
    assert!(
        r.stderr.contains("the PLANNED tree")
            && r.stderr.contains("prune-protection.yaml")
            && r.stderr.contains("Your tree renders as it is")
            && r.stderr.contains("overlays/recovery/bootstrap-patch.yaml")
            && !r.stderr.contains("cnpg-plan-render-"),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(&repo), before, "nothing is written");
    let r = plan(&dir, &["-o", "json"]);
    assert_eq!(r.code, 3);
    let j = json_of(&r);
    assert_eq!(j["ready"], false);
    assert!(
        j["error"].as_str().unwrap().contains("PLANNED tree"),
        "{j:#}"
    );
    assert!(
        j["diff"]
            .as_str()
            .unwrap()
            .contains("+++ b/base/cluster.yaml"),
        "{j:#}"
    );
}

#[test]
fn drill_a_pre_existing_deny_elsewhere_does_not_block() {
    let (_t, _repo, dir) = drill("pre-existing-deny", "temporal");
    let j = json_of(&plan(&dir, &["-o", "json"]));
    assert_eq!(j["ready"], true, "{j:#}");
    let sched = findings_of(&j, "schedule-five-fields");
    assert_eq!(sched.len(), 1, "{j:#}");
    assert_eq!(sched[0]["severity"], "deny");
    assert_eq!(sched[0]["blocking"], false);
    assert_eq!(sched[0]["origin"], "pre-existing");
    assert_eq!(sched[0]["object"]["kind"], "ScheduledBackup");
    // What the plan leaves on the planned Cluster is the plan's.
    assert!(
        j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["object"]["kind"] == "Cluster")
            .all(|f| f["blocking"] == true && f["origin"] == "planned-cluster"),
        "{j:#}"
    );
    let r = plan(&dir, &["--write"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(
            "== fix soon (pre-existing on objects this plan does not touch; not blocking) ==\ndeny: ScheduledBackup cloudnative-pg/temporal-database-daily: spec.schedule: [schedule-five-fields]"
        ) && r.stdout.contains("1 pre-existing finding(s) elsewhere: fix soon, not blocking"),
        "{}",
        r.stdout
    );
    assert_written("pre-existing-deny", "temporal", &dir);
    let md = plan(&dir, &["-o", "markdown"]);
    assert!(
        md.stdout.contains(
            "### Fix soon (pre-existing, not blocking)\n\n- **deny** `schedule-five-fields`"
        ),
        "{}",
        md.stdout
    );
}

#[test]
fn drill_settings_flags_and_environment_are_checks() {
    let (_t, _repo, dir) = drill("pre-existing-deny", "temporal");
    let off = json_of(&plan(
        &dir,
        &["-o", "json", "--severity", "schedule-five-fields=off"],
    ));
    assert!(
        findings_of(&off, "schedule-five-fields").is_empty(),
        "{off:#}"
    );
    let d = dir.to_str().unwrap();
    let env = kubectl(
        &["cnpg-plan", "recovery", d, "-o", "json"],
        &[("CNPG_GUARD_SEVERITY_SCHEDULE_FIVE_FIELDS", "off")],
    );
    assert_eq!(
        json_of(&env)["findings"],
        off["findings"],
        "flag and env agree"
    );
    let warn = json_of(&plan(
        &dir,
        &["-o", "json", "--severity", "schedule-five-fields=warn"],
    ));
    assert_eq!(
        findings_of(&warn, "schedule-five-fields")[0]["severity"],
        "warn"
    );
    for bad in ["schedule-five-fields=bogus", "no-such-rule=warn", "nolevel"] {
        let r = plan(&dir, &["--severity", bad]);
        assert_eq!(r.code, 2, "{bad}: {}\n{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("error") || r.stderr.contains("invalid value"),
            "{bad}: {}",
            r.stderr
        );
    }
    // A deny on the planned Cluster itself still blocks: restoring an older
    // lineage unpinned, with lineage-gap made a deny by flag.
    let (_t, repo, dir) = drill("older-lineage", "temporal");
    let before = snapshot(&repo);
    let r = plan(
        &dir,
        &[
            "--from-lineage",
            "v6",
            "--severity",
            "lineage-gap=deny",
            "--write",
        ],
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("NOT READY: the policy denies the planned result (1 denial(s) on what this plan changes)")
            && r.stdout.contains("deny: Cluster cloudnative-pg/temporal-database: spec.externalClusters[0].plugin.parameters.serverName: [lineage-gap]"),
        "{}",
        r.stdout
    );
    assert_eq!(snapshot(&repo), before, "a blocked plan is not written");
}

#[test]
fn drill_an_older_lineage_pinned_with_a_backup_id() {
    let (_t, _repo, dir) = drill("older-lineage", "temporal");
    let r = plan(
        &dir,
        &[
            "--from-lineage",
            "v6",
            "--backup-id",
            "20260501T030000",
            "-o",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = json_of(&r);
    assert_eq!(j["lineage"]["from"], "temporal-database-v6");
    assert_eq!(j["lineage"]["current"], "temporal-database-v7");
    assert_eq!(j["lineage"]["to"], "temporal-database-v8");
    assert_eq!(j["recovery"]["backupId"], "20260501T030000");
    assert!(
        findings_of(&j, "lineage-gap").is_empty(),
        "pinned: no gap: {j:#}"
    );
    // Unpinned, the core says the older lineage looks like a mistake (a
    // warning on the planned Cluster: it does not deny).
    let j = json_of(&plan(
        &dir,
        &["--from-lineage", "temporal-database-v6", "-o", "json"],
    ));
    let gap = findings_of(&j, "lineage-gap");
    assert_eq!(
        (gap.len(), &gap[0]["severity"]),
        (1, &Value::from("warn")),
        "{j:#}"
    );
    assert_eq!(j["ready"], true);
    // Refused: the lineage the recovery writes, and a target CNPG rejects.
    let r = plan(&dir, &["--from-lineage", "v8"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("is the lineage this recovery will ARCHIVE to"),
        "{}",
        r.stderr
    );
    let r = plan(&dir, &["--from-lineage", "v9"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = plan(&dir, &["--target-immediate"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("BackupID is missing") && r.stderr.contains("--backup-id"),
        "{}",
        r.stderr
    );
    let r = plan(&dir, &["--backup-id", "2026 05"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    // Written as planned.
    let r = plan(
        &dir,
        &[
            "--from-lineage",
            "v6",
            "--backup-id",
            "20260501T030000",
            "--write",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("lineage: restore from 'temporal-database-v6' → new archive 'temporal-database-v8' (store temporal-backups); the Cluster archives to 'temporal-database-v7' now")
            && r.stdout.contains("recovery: database 'temporal' owner 'temporal', backupID 20260501T030000"),
        "{}",
        r.stdout
    );
    assert_written("older-lineage", "temporal", &dir);
}

/// The store of the real drill: v6 has backups, v7 (the rebuilt Cluster's
/// lineage) only a failed one.
fn older_lineage_windows() -> Value {
    serde_json::json!({
        "temporal-database-v5": {"firstRecoverabilityPoint": "2026-03-01T03:00:00Z", "lastSuccessfulBackupTime": "2026-03-30T03:00:00Z"},
        "temporal-database-v6": {"firstRecoverabilityPoint": "2026-04-20T03:10:00Z", "lastSuccessfulBackupTime": "2026-05-08T03:10:00Z"},
        "temporal-database-v7": {"lastFailedBackupTime": "2026-05-11T03:00:00Z"}
    })
}

#[test]
fn drill_live_lists_the_lineages_and_refuses_one_without_a_base_backup() {
    let (t, _repo, dir) = drill("older-lineage", "temporal");
    let fake = fake_kubectl_with(
        t.path(),
        "temporal-database-v7",
        false,
        older_lineage_windows(),
    );
    // As printed by default, the plan would restore the empty v7.
    let r = live(&dir, &fake, &["--write"]);
    assert_eq!(r.code, 5, "{}\n{}", r.stdout, r.stderr);
    let j = json_of(&r);
    assert_eq!(j["written"], false);
    let window = j["liveChecks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "recovery-window")
        .unwrap();
    assert_eq!(window["status"], "fail");
    let msg = window["message"].as_str().unwrap();
    assert!(
        msg.contains("lineage 'temporal-database-v7' has NO completed base backup (last failed backup 2026-05-11T03:00:00Z)")
            && msg.contains("lineages with a completed base backup: temporal-database-v5, temporal-database-v6")
            && msg.contains("--from-lineage"),
        "{msg}"
    );
    let lineages = j["liveChecks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "lineages")
        .unwrap();
    assert_eq!(
        lineages["items"],
        serde_json::json!([
            "temporal-database-v5: first recoverability point 2026-03-01T03:00:00Z, last successful backup 2026-03-30T03:00:00Z",
            "temporal-database-v6: first recoverability point 2026-04-20T03:10:00Z, last successful backup 2026-05-08T03:10:00Z",
            "temporal-database-v7: NO completed base backup (last failed backup 2026-05-11T03:00:00Z) ← restored, archived to now"
        ])
    );
    // The older lineage, pinned to a backup inside its window: accepted.
    let r = live(
        &dir,
        &fake,
        &["--from-lineage", "v6", "--backup-id", "20260501T030000"],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = json_of(&r);
    for id in ["lineage-matches-git", "recovery-window", "backup-in-window"] {
        assert_eq!(check_status(&j, id), "ok", "{id}: {j:#}");
    }
    // A backup id after the lineage's last backup is not one of its backups.
    let r = live(
        &dir,
        &fake,
        &["--from-lineage", "v6", "--backup-id", "20260510T030000"],
    );
    assert_eq!(r.code, 5, "{}\n{}", r.stdout, r.stderr);
    let j = json_of(&r);
    assert_eq!(check_status(&j, "backup-in-window"), "fail");
    assert!(
        j.to_string()
            .contains("no backup found with ID 20260510T030000"),
        "{j:#}"
    );
    // Not a barman id: cannot be checked, said so.
    let j = json_of(&live(
        &dir,
        &fake,
        &["--from-lineage", "v6", "--backup-id", "nightly"],
    ));
    assert_eq!(check_status(&j, "backup-in-window"), "warn");
    // A target before the pinned backup started cannot be reached.
    let r = live(
        &dir,
        &fake,
        &[
            "--from-lineage",
            "v6",
            "--backup-id",
            "20260501T030000",
            "--target-time",
            "2026-04-25T00:00:00Z",
        ],
    );
    assert_eq!(r.code, 5, "{}\n{}", r.stdout, r.stderr);
}

#[test]
fn drill_stale_comments_follow_the_lockstep() {
    let (_t, _repo, dir) = drill("stale-comments", "temporal");
    let r = plan(&dir, &["--write"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_written("stale-comments", "temporal", &dir);
    // And again on the next drill.
    let j = json_of(&plan(&dir, &["-o", "json"]));
    let diff = j["diff"].as_str().unwrap();
    assert!(
        diff.contains("+        serverName: temporal-database-v11   # restore from Barman v10 → write v11 (pg v16)\n")
            && diff.contains("+          serverName: \"temporal-database-v10\"   # v10: the lineage the deleted Cluster wrote, not v11\n"),
        "{diff}"
    );
}

#[test]
fn drill_the_initdb_secret_is_carried_over() {
    let (_t, repo, dir) = drill("secret-carry-over", "temporal");
    let r = plan(&dir, &["--write", "-o", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_written("secret-carry-over", "temporal", &dir);
    let j = json_of(&r);
    assert!(
        j["notes"]
            .to_string()
            .contains("carrying secret 'temporal-db-credentials' over"),
        "{j:#}"
    );
    // The runbook restarts the users of that secret, and names repository
    // paths, not this machine's.
    let steps = j["steps"].to_string();
    assert!(
        steps.contains("the temporal-db-credentials secret"),
        "{steps}"
    );
    assert!(
        steps.contains("git add temporal/kustomization.yaml temporal/base/cluster.yaml temporal/overlays/recovery/bootstrap-patch.yaml"),
        "{steps}"
    );
    assert!(steps.contains("(from the repository root)"), "{steps}");
    assert!(!steps.contains(repo.to_str().unwrap()), "{steps}");
    assert!(
        findings_of(&j, "recovery-database-default").is_empty(),
        "{j:#}"
    );
}

#[test]
fn drill_json6902_patches_are_edited_at_the_value_of_their_operation() {
    // (An inline strategic-merge patch is cut out and put back the same way.)
    for case in ["json6902-inline", "json6902-path", "inline-strategic-merge"] {
        let (_t, _repo, dir) = drill(case, "temporal");
        let r = plan(&dir, &["--write"]);
        assert_eq!(r.code, 0, "{case}: {}\n{}", r.stdout, r.stderr);
        assert!(
            r.stdout.contains("READY: files written"),
            "{case}: {}",
            r.stdout
        );
        assert_written(case, "temporal", &dir);
        // The written patch reads back: the next plan bumps v3 -> v4 and
        // moves the source v2 -> v3 in the same operation values.
        let j = json_of(&plan(&dir, &["-o", "json"]));
        assert_eq!(
            (j["lineage"]["from"].as_str(), j["lineage"]["to"].as_str()),
            (Some("temporal-database-v3"), Some("temporal-database-v4")),
            "{case}"
        );
        let edits = j["edits"].as_array().unwrap();
        assert_eq!(edits.len(), 2, "{case}: {edits:#?}");
        assert!(
            edits.iter().any(|e| {
                let after = e["after"].as_str().unwrap();
                after.contains("temporal-database-v3") && after.contains("   # ← previous lineage")
            }),
            "{case}: {edits:#?}"
        );
    }
}

#[test]
fn drill_json6902_copy_is_refused_with_the_file_and_an_example() {
    let (_t, repo, dir) = drill("json6902-copy", "temporal");
    let before = snapshot(&repo);
    let r = plan(&dir, &["--write"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "overlays/recovery/kustomization.yaml (patches[0].patch): operation [2] is `copy`"
        ) && r.stderr.contains("fix: ")
            && r.stderr
                .contains("  example:\n    - op: add\n      path: /spec/bootstrap\n")
            && !r.stderr.contains("seed runbook"),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(&repo), before);
}

#[test]
fn unsafe_recovery_layouts_are_refused_with_an_example() {
    // No recovery patch at all: the example is this Cluster's.
    let (_t, repo, dir) = drill("json6902-path", "temporal");
    fs::remove_file(dir.join("overlays/recovery/recovery-ops.yaml")).unwrap();
    fs::write(
        dir.join("overlays/recovery/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\n",
    )
    .unwrap();
    let before = snapshot(&repo);
    let r = plan(&dir, &["--write"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("error: overlays/recovery/: no patch with spec.bootstrap.recovery found")
            && r.stderr.contains("a JSON6902 patch")
            && r.stderr.contains("  example:\n    apiVersion: postgresql.cnpg.io/v1\n    kind: Cluster\n    metadata:\n      name: temporal-database\n")
            && r.stderr.contains("          serverName: temporal-database-v2\n")
            && !r.stderr.contains("seed runbook"),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(&repo), before);

    // An inline patch written as a quoted string cannot be put back line
    // for line.
    let (_t, repo, dir) = drill("json6902-inline", "temporal");
    fs::write(
        dir.join("overlays/recovery/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\npatches:\n  - target: {kind: Cluster}\n    patch: '[{\"op\": \"add\", \"path\": \"/spec/bootstrap\", \"value\": {\"recovery\": {\"source\": \"o\"}}}, {\"op\": \"add\", \"path\": \"/spec/externalClusters\", \"value\": [{\"name\": \"o\", \"plugin\": {\"name\": \"barman-cloud.cloudnative-pg.io\", \"parameters\": {\"barmanObjectName\": \"temporal-backups\", \"serverName\": \"temporal-database-v1\"}}}]}]'\n",
    )
    .unwrap();
    let before = snapshot(&repo);
    let r = plan(&dir, &["--write"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("overlays/recovery/kustomization.yaml: patches[0].patch: the inline patch is written as a quoted string")
            && r.stderr.contains("patch: |-")
            && r.stderr.contains("example:"),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(&repo), before);

    // A later operation writing inside the block the plan must change (the
    // stale target is removed from the recovery block of operation [0], but
    // operation [4] would put it back).
    let (_t, repo, dir) = drill("json6902-path", "temporal");
    let ops = dir.join("overlays/recovery/recovery-ops.yaml");
    let text = read(&ops);
    fs::write(
        &ops,
        format!("{text}- op: add\n  path: /spec/bootstrap/recovery/recoveryTarget\n  value: {{}}\n- op: add\n  path: /spec/bootstrap/recovery/recoveryTarget/targetTime\n  value: \"2026-05-01 00:00:00+00\"\n"),
    )
    .unwrap();
    let before = snapshot(&repo);
    let r = plan(&dir, &["--write"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("error: overlays/recovery/recovery-ops.yaml: this JSON6902 patch cannot be edited safely at spec.bootstrap.recovery.recoveryTarget: operation [4] (add /spec/bootstrap/recovery/recoveryTarget/targetTime) changes spec.bootstrap.recovery.recoveryTarget after operation [3]")
            && r.stderr.contains("example:"),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(&repo), before);
}
