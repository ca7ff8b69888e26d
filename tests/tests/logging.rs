//! Both CLIs install a logger: host warnings reach the user on stderr
//! (never stdout, which carries manifests or the report), `-v` adds info,
//! `RUST_LOG` overrides.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::process::Command;

type Cli = fn(&[&str]) -> Command;

use cnpg_guard_tests::{binaries, fixtures};

fn corrupt_cache(dir: &std::path::Path) {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::write(&p, b"not a compiled module").unwrap();
            n += 1;
        }
    }
    assert!(n > 0, "no cache file written in {}", dir.display());
}

#[test]
fn a_rejected_module_cache_is_a_warning_on_stderr() {
    let file = fixtures().join("parity/store-same-file.yaml");
    let file = file.to_str().unwrap();
    let cases: [(&str, Cli); 2] = [
        ("argocd-cnpg-guard", |a| binaries().argocd_cnpg_guard(a)),
        ("kubectl-cnpg_plan", |a| binaries().kubectl_cnpg_plan(a)),
    ];
    for (program, cmd) in cases {
        let cache = tempfile::tempdir().unwrap();
        let run = |args: &[&str], rust_log: Option<&str>| {
            let mut c = cmd(args);
            c.env("CNPG_GUARD_CACHE_DIR", cache.path())
                .env_remove("RUST_LOG");
            if let Some(l) = rust_log {
                c.env("RUST_LOG", l);
            }
            c.output().unwrap()
        };
        let first = run(&["check", file], None);
        assert_eq!(first.status.code(), Some(0));
        assert!(
            first.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&first.stderr)
        );
        corrupt_cache(cache.path());
        let out = run(&["check", file], None);
        assert_eq!(out.status.code(), Some(0), "{program}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with(&format!(
                "{program}: warn: ignoring the compiled-policy cache file"
            )),
            "{program}: {err}"
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("ignoring"));
        corrupt_cache(cache.path());
        let quiet = run(&["check", file], Some("off"));
        assert!(quiet.stderr.is_empty(), "{program}: RUST_LOG=off");
        let verbose = run(&["-v", "check", file], None);
        assert_eq!(verbose.status.code(), Some(0));
    }
}
