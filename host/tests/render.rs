//! Rendering directories: kustomize (through `kubectl kustomize` or
//! `kustomize`) and plain manifest directories.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::path::PathBuf;

use cnpg_guard_host::render::{RenderError, RenderOptions, find_on_path, render};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// kustomize tests need `kustomize` or `kubectl`. Under CI a missing tool is
/// a failure (a skipped test would pass with the feature deleted); locally
/// the tests are skipped loudly.
fn have_kustomize() -> bool {
    let found = find_on_path("kustomize").is_some() || find_on_path("kubectl").is_some();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "neither kustomize nor kubectl on PATH: the render tests cannot run"
        );
        eprintln!("SKIPPED: neither kustomize nor kubectl on PATH");
    }
    found
}

#[test]
fn kustomize_overlay_is_rendered() {
    if !have_kustomize() {
        return;
    }
    let objs = render(&fixture("kustomize/overlay"), &RenderOptions::default()).unwrap();
    let mut kinds: Vec<_> = objs.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["Cluster", "ObjectStore"]);
    let cluster = objs.iter().find(|o| o["kind"] == "Cluster").unwrap();
    assert_eq!(cluster["metadata"]["namespace"], "db");
    assert_eq!(
        cluster["spec"]["plugins"][0]["parameters"]["serverName"], "pg-v2",
        "patch applied"
    );
    // the base alone
    let base = render(&fixture("kustomize/base"), &RenderOptions::default()).unwrap();
    assert_eq!(base.len(), 2);
    assert!(
        base.iter()
            .all(|o| o["metadata"].get("namespace").is_none())
    );
}

#[test]
fn kustomize_failure_carries_stderr() {
    if !have_kustomize() {
        return;
    }
    let err = render(&fixture("kustomize/broken"), &RenderOptions::default()).unwrap_err();
    match &err {
        RenderError::Kustomize { stderr, .. } => {
            assert!(stderr.contains("does-not-exist.yaml"), "{stderr}")
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("does-not-exist.yaml"));
}

#[test]
fn empty_kustomization_is_empty() {
    if !have_kustomize() {
        return;
    }
    let err = render(&fixture("kustomize/empty"), &RenderOptions::default()).unwrap_err();
    assert!(matches!(err, RenderError::Empty(_)), "{err}");
}

#[test]
fn explicit_tool_that_does_not_exist() {
    let opts = RenderOptions {
        kustomize: Some(PathBuf::from("/nonexistent/kustomize")),
        ..Default::default()
    };
    let err = render(&fixture("kustomize/base"), &opts).unwrap_err();
    assert!(matches!(err, RenderError::Io { .. }), "{err}");
    assert!(
        err.to_string().contains("/nonexistent/kustomize build"),
        "{err}"
    );
}

#[test]
fn plain_directory_sorted_non_recursive() {
    let objs = render(&fixture("plain"), &RenderOptions::default()).unwrap();
    let names: Vec<_> = objs
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["pg", "one", "two", "store"],
        "a-cluster.yaml (List flattened), then b-store.json"
    );
}

#[test]
fn plain_directory_recursive() {
    let opts = RenderOptions {
        recursive: true,
        ..Default::default()
    };
    let objs = render(&fixture("plain"), &opts).unwrap();
    let names: Vec<_> = objs
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pg", "one", "two", "store", "daily"]);
}

#[test]
fn single_file_and_missing_path() {
    let objs = render(&fixture("plain/b-store.json"), &RenderOptions::default()).unwrap();
    assert_eq!(objs.len(), 1);
    let err = render(&fixture("nope"), &RenderOptions::default()).unwrap_err();
    assert!(matches!(err, RenderError::NotFound(_)), "{err}");
}

#[test]
fn empty_and_broken_plain_directories() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("readme.txt"), "x").unwrap();
    std::fs::write(dir.path().join("empty.yaml"), "# nothing\n---\n").unwrap();
    let err = render(dir.path(), &RenderOptions::default()).unwrap_err();
    assert!(matches!(err, RenderError::Empty(_)), "{err}");

    std::fs::write(dir.path().join("z-bad.yaml"), "kind: [\n").unwrap();
    let msg = render(dir.path(), &RenderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("z-bad.yaml: document 1"), "{msg}");
}
