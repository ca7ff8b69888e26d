//! Flux mode end to end: a tree of Flux `Kustomization`s (substitutions
//! from the tree, components, targetNamespace, a file outside the
//! kustomization root, a sibling that fails to render, one pointing at
//! another repository), checked by both CLIs as users run them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::path::Path;

use cnpg_guard_tests::{binaries, fixtures};
use serde_json::Value;

/// The fixture copied into a fresh git repository (`.git` marks the
/// root Flux paths are relative to), so `check clusters/prod --flux` runs as
/// it would in a real checkout.
fn repo() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy(&fixtures().join("flux-tree"), tmp.path());
    std::fs::create_dir(tmp.path().join(".git")).unwrap();
    tmp
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn flux_tree_is_rendered_as_flux_builds_it() {
    let repo = repo();
    let bins = binaries();
    let mut reports = Vec::new();
    for mut cmd in [
        bins.argocd_cnpg_guard(&["check", "clusters/prod", "--flux", "-o", "json"]),
        bins.kubectl_cnpg_plan(&["check", "clusters/prod", "--flux", "-o", "json"]),
    ] {
        let out = cmd.current_dir(repo.path()).output().unwrap();
        // One Kustomization fails to render: the rest is still checked, and
        // the exit code says the check is incomplete.
        assert_eq!(
            out.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        reports.push(json(&out));
    }
    assert_eq!(reports[0], reports[1], "the two checks disagree");
    let r = &reports[0];
    assert_eq!(r["complete"], false);
    assert_eq!(r["exitCode"], 3);
    let units = r["units"].as_array().unwrap();
    let labels: Vec<&str> = units.iter().map(|u| u["label"].as_str().unwrap()).collect();
    assert_eq!(
        labels,
        [
            "Kustomization flux-system/immich (clusters/prod/apps.yaml → apps/immich)",
            "Kustomization flux-system/gitea (clusters/prod/apps.yaml → apps/gitea)",
            "Kustomization flux-system/broken (clusters/prod/apps.yaml → apps/broken)",
        ]
    );
    // immich: generated kustomization (Cluster, ObjectStore, PVC);
    // gitea: Cluster, the ScheduledBackup from outside its root, the
    // component's ObjectStore.
    assert_eq!(units[0]["objects"], 3);
    assert_eq!(units[1]["objects"], 3);
    let broken = units[2]["error"].as_str().unwrap();
    assert!(broken.contains("databse.yaml"), "{broken}");
    assert!(
        !broken.contains(repo.path().to_str().unwrap()),
        "absolute path: {broken}"
    );
    // ${STORE_PREFIX} (ConfigMap in the tree) and ${APP} (substitute) were
    // substituted, so the store is found; the component's store too. What is
    // left: the 5-field schedule, in the file outside gitea's root, in gitea's
    // targetNamespace, and immich having no ScheduledBackup at all.
    let findings: Vec<String> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {} {}/{} {}:{}",
                f["rule"].as_str().unwrap(),
                f["object"]["kind"].as_str().unwrap(),
                f["object"]["namespace"].as_str().unwrap(),
                f["object"]["name"].as_str().unwrap(),
                f["file"].as_str().unwrap(),
                f["line"]
            )
        })
        .collect();
    assert_eq!(
        findings,
        [
            "schedule-five-fields ScheduledBackup gitea/gitea-db-nightly shared/scheduled-backup.yaml:6",
            // Located through the substitution: `${APP}-db` in the file.
            "backup-schedule-missing Cluster immich/immich-db apps/immich/cluster.yaml:13",
        ]
    );
    // The PVC was substituted and moved to targetNamespace immich.
    assert_eq!(r["mutated"][0]["namespace"], "immich");
    assert_eq!(r["mutated"][0]["name"], "immich-db-1");
    let notes = r["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("flux-system/elsewhere")),
        "{notes:?}"
    );
}

#[test]
fn without_flux_mode_the_same_tree_is_read_as_plain_kustomize() {
    let repo = repo();
    let out = binaries()
        .argocd_cnpg_guard(&["check", ".", "-o", "json"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    let r = json(&out);
    // Plain kustomize refuses gitea's file outside its root, and the
    // variables stay text: the note says to use --flux.
    assert_eq!(out.status.code(), Some(3));
    let gitea = r["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["label"] == "./apps/gitea")
        .unwrap();
    assert!(
        gitea["error"].as_str().unwrap().contains("security"),
        "{gitea}"
    );
    assert!(
        r["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("pass --flux")),
        "{r}"
    );
    // The base of an overlay is never a root of its own: components/backup
    // is referenced by no kustomization here, so it is checked; nothing else.
    let kinds: Vec<&str> = r["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"file") && kinds.contains(&"kustomization"),
        "{kinds:?}"
    );
}

#[test]
fn an_empty_tree_is_an_error_not_a_pass() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("values.yaml"), "replicas: 2\n").unwrap();
    let bins = binaries();
    for mut cmd in [
        bins.argocd_cnpg_guard(&["check", "."]),
        bins.kubectl_cnpg_plan(&["check", "."]),
    ] {
        let out = cmd.current_dir(tmp.path()).output().unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no Kubernetes objects found"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}
