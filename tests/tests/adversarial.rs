//! Adversarial inputs for `check` and `generate`, as users call the
//! binaries: each case has the exact exit code, what the one-line error (or
//! the report) must say, and whether stdout must stay empty. `check` runs
//! through both programs (they must agree); `generate` must never print an
//! empty or partial manifest stream with exit 0.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::path::Path;
use std::process::{Command, Output};

use cnpg_guard_tests::binaries;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const CM: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: db}\ndata: {k: v}\n";
const CLUSTER: &str = "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: pg, namespace: db}\nspec:\n  instances: 1\n  storage: {size: 1Gi}\n";

/// What a run must look like.
struct Want {
    code: i32,
    /// Substring of stderr (failures) or stdout (reports).
    says: &'static str,
    /// stdout must be empty.
    quiet: bool,
}

struct Case {
    name: &'static str,
    setup: fn(&Path),
    /// Path argument, relative to the case dir.
    arg: &'static str,
    env: &'static [(&'static str, &'static str)],
    check: Want,
    generate: Want,
}

fn run(cmd: &mut Command, dir: &Path, env: &[(&str, &str)]) -> Output {
    cmd.current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn assert_run(case: &str, what: &str, out: &Output, want: &Want) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(want.code),
        "{case} ({what}): stdout {stdout}\nstderr {stderr}"
    );
    let text = if want.quiet { &stderr } else { &stdout };
    assert!(
        text.contains(want.says),
        "{case} ({what}): expected {:?} in {text}",
        want.says
    );
    if want.quiet {
        assert!(
            stdout.is_empty(),
            "{case} ({what}): stdout must be empty: {stdout}"
        );
        assert_eq!(
            stderr.lines().count(),
            1,
            "{case} ({what}): one line: {stderr}"
        );
    }
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!stderr.contains(bad), "{case} ({what}): {stderr}");
    }
}

const fn fail(code: i32, says: &'static str) -> Want {
    Want {
        code,
        says,
        quiet: true,
    }
}

const fn report(code: i32, says: &'static str) -> Want {
    Want {
        code,
        says,
        quiet: false,
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "directory without manifests",
            setup: |d| write(d, "t/values.yaml", "replicas: 2\n"),
            arg: "t",
            env: &[],
            check: fail(3, "no Kubernetes objects found"),
            generate: fail(3, "no Kubernetes objects found"),
        },
        Case {
            name: "symlink loop",
            setup: |d| {
                std::fs::create_dir_all(d.join("t")).unwrap();
                std::os::unix::fs::symlink("../t", d.join("t/self")).unwrap();
                write(d, "t/cm.yaml", CM);
            },
            arg: "t",
            env: &[],
            check: report(0, "1 object checked"),
            generate: report(0, "kind: ConfigMap"),
        },
        Case {
            name: "dangling symlink among manifests",
            setup: |d| {
                write(d, "t/cm.yaml", CM);
                std::os::unix::fs::symlink("nowhere.yaml", d.join("t/gone.yaml")).unwrap();
            },
            arg: "t",
            env: &[],
            check: report(0, "1 object checked"),
            generate: report(0, "kind: ConfigMap"),
        },
        Case {
            name: "a path that does not exist",
            setup: |_| {},
            arg: "no/such/dir",
            env: &[],
            check: fail(2, "no/such/dir: no such file or directory"),
            generate: fail(2, "no/such/dir: no such file or directory"),
        },
        Case {
            name: "a FIFO named like a manifest is never read",
            setup: |d| {
                write(d, "t/cm.yaml", CM);
                let ok = Command::new("mkfifo")
                    .arg(d.join("t/pipe.yaml"))
                    .status()
                    .unwrap()
                    .success();
                assert!(ok, "mkfifo");
            },
            arg: "t",
            env: &[],
            check: report(0, "1 object checked"),
            generate: report(0, "kind: ConfigMap"),
        },
        Case {
            name: "remote resource (never fetched)",
            setup: |d| {
                write(
                    d,
                    "t/kustomization.yaml",
                    "resources:\n- https://raw.githubusercontent.com/example/repo/main/cluster.yaml\n",
                )
            },
            arg: "t",
            env: &[],
            check: fail(3, "is remote; cnpg-guard never fetches"),
            generate: fail(3, "is remote; cnpg-guard never fetches"),
        },
        Case {
            name: "remote base behind a local base",
            setup: |d| {
                write(d, "t/kustomization.yaml", "resources:\n- base\n");
                write(
                    d,
                    "t/base/kustomization.yaml",
                    "resources:\n- github.com/example/repo//deploy?ref=v1\n",
                );
            },
            arg: "t",
            env: &[],
            check: fail(3, "t/base/kustomization.yaml: resources entry"),
            generate: fail(3, "is remote"),
        },
        Case {
            name: "exec KRM function (refused, never run)",
            setup: |d| {
                write(
                    d,
                    "t/kustomization.yaml",
                    "resources: [cm.yaml]\ngenerators: [gen.yaml]\n",
                );
                write(d, "t/cm.yaml", CM);
                write(
                    d,
                    "t/gen.yaml",
                    "apiVersion: x/v1\nkind: Gen\nmetadata:\n  name: g\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ./pwn.sh\n",
                );
                write(
                    d,
                    "t/pwn.sh",
                    "#!/bin/sh\ntouch \"$(dirname \"$0\")/PWNED\"\n",
                );
            },
            arg: "t",
            env: &[],
            check: fail(3, "external plugins disabled"),
            generate: fail(3, "external plugins disabled"),
        },
        Case {
            name: "helmCharts without --enable-helm",
            setup: |d| {
                write(
                    d,
                    "t/kustomization.yaml",
                    "helmCharts:\n- name: cluster\n  repo: https://cloudnative-pg.github.io/charts\n  version: 0.3.1\n",
                )
            },
            arg: "t",
            env: &[],
            check: fail(3, "--enable-helm"),
            generate: fail(3, "--enable-helm"),
        },
        Case {
            name: "binary file with a .yaml name",
            setup: |d| {
                let bytes: Vec<u8> = (0..4096u32)
                    .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
                    .collect();
                std::fs::create_dir_all(d.join("t")).unwrap();
                std::fs::write(d.join("t/blob.yaml"), bytes).unwrap();
            },
            arg: "t/blob.yaml",
            env: &[],
            check: fail(3, "t/blob.yaml"),
            generate: fail(3, "t/blob.yaml"),
        },
        Case {
            name: "one broken file in a tree (check reports, generate refuses)",
            setup: |d| {
                write(d, "t/cm.yaml", CM);
                write(d, "t/bad.yaml", "kind: [unclosed\n");
            },
            arg: "t",
            env: &[],
            check: report(3, "error: t/bad.yaml"),
            generate: fail(3, "t/bad.yaml"),
        },
        Case {
            name: "SOPS-encrypted Secret",
            setup: |d| {
                write(
                    d,
                    "t/secret.yaml",
                    "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: db}\ndata:\n  password: ENC[AES256_GCM,data:Zm9v,type:str]\nsops:\n  version: 3.9.0\n  mac: ENC[AES256_GCM,data:YmFy,type:str]\n",
                )
            },
            arg: "t",
            env: &[],
            check: report(0, "1 object checked"),
            generate: report(0, "kind: Secret"),
        },
        Case {
            name: "${VAR} in a non-string position",
            setup: |d| {
                write(
                    d,
                    "t/cluster.yaml",
                    &CLUSTER.replace("instances: 1", "instances: ${INSTANCES}"),
                )
            },
            arg: "t",
            env: &[],
            check: report(0, "1 object checked"),
            generate: report(0, "instances: ${INSTANCES}"),
        },
        Case {
            name: "shell metacharacters in a parameter are data",
            setup: |d| write(d, "t/cm.yaml", CM),
            arg: "t",
            env: &[("PARAM_BACKUP_LABEL_KEYS", "$(touch PWNED);backup")],
            check: fail(2, "PARAM_BACKUP_LABEL_KEYS"),
            generate: fail(2, "PARAM_BACKUP_LABEL_KEYS"),
        },
        Case {
            name: "shell metacharacters in a severity",
            setup: |d| write(d, "t/cm.yaml", CM),
            arg: "t",
            env: &[(
                "ARGOCD_ENV_SEVERITY_OBJECTSTORE_MISSING",
                "deny; touch PWNED",
            )],
            check: fail(2, "ARGOCD_ENV_SEVERITY_OBJECTSTORE_MISSING"),
            generate: fail(2, "ARGOCD_ENV_SEVERITY_OBJECTSTORE_MISSING"),
        },
        Case {
            name: "10,000 objects",
            setup: |d| {
                let mut s = String::new();
                for i in 0..10_000 {
                    s.push_str(&format!(
                        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}, namespace: db}}\n"
                    ));
                }
                write(d, "t/many.yaml", &s);
            },
            arg: "t",
            env: &[],
            check: report(0, "10000 objects checked"),
            generate: report(0, "name: cm-9999"),
        },
    ]
}

#[test]
fn adversarial_inputs_get_exact_exit_codes_and_one_line_errors() {
    let bins = binaries();
    for case in cases() {
        let tmp = tempfile::tempdir().unwrap();
        (case.setup)(tmp.path());
        let a = run(
            &mut bins.argocd_cnpg_guard(&["check", case.arg]),
            tmp.path(),
            case.env,
        );
        assert_run(case.name, "argocd-cnpg-guard check", &a, &case.check);
        let k = run(
            &mut bins.kubectl_cnpg_plan(&["check", case.arg]),
            tmp.path(),
            case.env,
        );
        assert_run(case.name, "kubectl cnpg-plan check", &k, &case.check);
        assert_eq!(a.stdout, k.stdout, "{}: the two checks disagree", case.name);
        let g = run(
            &mut bins.argocd_cnpg_guard(&["generate", case.arg]),
            tmp.path(),
            case.env,
        );
        assert_run(case.name, "generate", &g, &case.generate);
        if g.status.code() == Some(0) {
            assert!(
                !g.stdout.is_empty(),
                "{}: exit 0 with an empty stream",
                case.name
            );
        }
        // Nothing was executed or written by the inputs.
        assert!(
            !tmp.path().join("PWNED").exists() && !tmp.path().join("t/PWNED").exists(),
            "{}: something ran",
            case.name
        );
    }
}

/// `head` (ending in a block scalar's `|`) and `mib` MiB of 1 KiB lines,
/// indented by `indent`.
fn big_manifest(head: &str, indent: usize, mib: usize) -> String {
    let line = format!("{}{}\n", " ".repeat(indent), "x".repeat(1023 - indent));
    let mut s = String::from(head);
    for _ in 0..(mib * 1024) {
        s.push_str(&line);
    }
    s
}

#[test]
fn a_50_mb_manifest_is_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let s = big_manifest(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big, namespace: db}\ndata:\n  blob: |\n",
        4,
        50,
    );
    write(tmp.path(), "big.yaml", &s);
    let out = run(
        &mut binaries().argocd_cnpg_guard(&["check", "big.yaml"]),
        tmp.path(),
        &[],
    );
    assert_run(
        "50 MB manifest",
        "argocd-cnpg-guard check",
        &out,
        &report(0, "1 object checked"),
    );
}

#[test]
fn a_cluster_over_the_size_limit_is_denied_not_timed_out() {
    let tmp = tempfile::tempdir().unwrap();
    let s = big_manifest(
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: pg\n  namespace: db\n  annotations:\n    blob: |\n",
        6,
        4,
    );
    write(tmp.path(), "big.yaml", &s);
    let out = run(
        &mut binaries().argocd_cnpg_guard(&["check", "big.yaml"]),
        tmp.path(),
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("Cluster db/pg: metadata: [object-too-large]"),
        "{stdout}"
    );
}
