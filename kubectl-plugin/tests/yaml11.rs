//! The planner reads manifests as kubectl does (YAML 1.1 through
//! `cnpg_guard_host::manifests`: anchors, merge keys, `yes`/`no`), and what
//! `--write` leaves behind re-reads, through the same parser, as exactly the
//! planned values. Driven through the real binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use cnpg_guard_host::manifests::parse_documents;
use serde_json::{Value, json};

fn workdir(name: &str) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let root = t.path().join(name);
    let mut stack = vec![(from, root.clone())];
    while let Some((from, to)) = stack.pop() {
        fs::create_dir_all(&to).unwrap();
        for e in fs::read_dir(&from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push((e.path(), to.join(e.file_name())));
            } else {
                fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    (t, root)
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn plan(dir: &Path, extra: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-cnpg_plan"))
        .arg("recovery")
        .arg(dir)
        .args(extra)
        .env(
            "CNPG_GUARD_CACHE_DIR",
            std::env::temp_dir().join("cnpg-plan-test-cache"),
        )
        .env_remove("CNPG_PLAN_FAULT_AFTER_RENAMES")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The Cluster as kubectl (and the policy) read it.
fn read_cluster(path: &Path) -> Value {
    let mut docs = parse_documents(&fs::read_to_string(path).unwrap()).unwrap();
    docs.remove(0)
}

fn at<'a>(v: &'a Value, pointer: &str) -> &'a Value {
    v.pointer(pointer).unwrap_or(&Value::Null)
}

const ARCHIVE: &str = "/spec/backup/barmanObjectStore";
const SOURCE: &str = "/spec/externalClusters/0/barmanObjectStore";

#[test]
fn a_source_merged_from_the_archive_block_gets_its_own_lineage() {
    let (_t, root) = workdir("yaml11");
    let db = root.join("pg");
    let file = db.join("cluster.yaml");
    let orig = fs::read_to_string(&file).unwrap();
    let before = read_cluster(&file);
    // Through `<<: *store` the source reads the lineage the Cluster writes.
    assert_eq!(at(&before, &format!("{SOURCE}/serverName")), "pg-v2");
    assert_eq!(at(&before, "/spec/enableSuperuserAccess"), false);

    let r = plan(&db, &["--write", "-o", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["lineage"]["from"], "pg-v2");
    assert_eq!(j["lineage"]["to"], "pg-v3");
    assert_eq!(j["written"], true);

    // Re-read as kubectl reads it: exactly the planned values, everything
    // else (the merged store keys included) as it was.
    let after = read_cluster(&file);
    assert_eq!(at(&after, &format!("{ARCHIVE}/serverName")), "pg-v3");
    assert_eq!(at(&after, &format!("{SOURCE}/serverName")), "pg-v2");
    let mut expected = before.clone();
    expected["spec"]["backup"]["barmanObjectStore"]["serverName"] = json!("pg-v3");
    expected["spec"]["externalClusters"][0]["barmanObjectStore"]["serverName"] = json!("pg-v2");
    assert_eq!(after, expected);
    // Surgical: the archive line changed in place, the source got an
    // explicit key next to the merge key (an explicit key wins over `<<`).
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        orig.replace(
            "serverName: pg-v2 # the lineage",
            "serverName: pg-v3 # the lineage"
        )
        .replace(
            "        <<: *store\n",
            "        <<: *store\n        serverName: pg-v2\n"
        )
    );

    // The next plan reads the written file the same way.
    let r = plan(&db, &["-o", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (j["lineage"]["from"].as_str(), j["lineage"]["to"].as_str()),
        (Some("pg-v3"), Some("pg-v4"))
    );
}

#[test]
fn a_source_aliasing_the_archive_block_is_refused_and_nothing_is_written() {
    let (_t, root) = workdir("yaml11");
    let db = root.join("pg");
    let file = db.join("cluster.yaml");
    let text = fs::read_to_string(&file).unwrap().replace(
        "      barmanObjectStore:\n        <<: *store\n",
        "      barmanObjectStore: *store\n",
    );
    fs::write(&file, &text).unwrap();
    let r = plan(&db, &["--write"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    for needle in [
        "cluster.yaml",
        "spec.externalClusters[0].barmanObjectStore",
        "never edits through an alias",
        "fix:",
    ] {
        assert!(r.stderr.contains(needle), "`{needle}` not in: {}", r.stderr);
    }
    assert_eq!(fs::read_to_string(&file).unwrap(), text);
}
