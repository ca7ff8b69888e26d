//! Shared helpers for the end-to-end tests in `tests/tests/`.

use cnpg_guard_host::{Engine, ModuleCache};
use std::path::PathBuf;
use std::sync::OnceLock;

/// Directory of the fixtures owned by this crate.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// One engine per test binary: the embedded, annotated policy .wasm, compiled
/// once (and cached on disk under target/ so later test binaries deserialize).
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let cache =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/cnpg-guard-test-cache");
        match Engine::new(ModuleCache::Dir(cache)) {
            Ok(e) => e,
            Err(e) => {
                // Tests cannot proceed without the policy; say why plainly.
                eprintln!("cannot load the policy .wasm: {e}");
                std::process::exit(1)
            }
        }
    })
}

/// The two CLIs as users run them, built by cargo for this test run (so
/// they are never stale) and located through cargo's JSON messages.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `argocd-cnpg-guard`.
    pub argocd: PathBuf,
    /// `kubectl-cnpg_plan`, run as `kubectl cnpg-plan` (its directory goes
    /// first on PATH, as krew installs it).
    pub kubectl_plugin: PathBuf,
}

impl Binaries {
    /// A `kubectl cnpg-plan ARGS` command: the real kubectl, finding the
    /// plugin on PATH.
    pub fn kubectl_cnpg_plan(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new("kubectl");
        cmd.arg("cnpg-plan").args(args);
        let dir = self
            .kubectl_plugin
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default();
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![dir];
        dirs.extend(std::env::split_paths(&path));
        if let Ok(joined) = std::env::join_paths(dirs) {
            cmd.env("PATH", joined);
        }
        cmd
    }

    /// An `argocd-cnpg-guard ARGS` command.
    pub fn argocd_cnpg_guard(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.argocd);
        cmd.args(args);
        cmd
    }
}

/// Builds both CLIs once per test binary and returns their paths.
///
/// It asks for `cargo test --workspace --no-run`, the selection CI tests,
/// because cargo unifies features per invocation: `cargo build -p <cli>`
/// resolves `syn`, `indexmap`, `fnv`, ... with other features, which rebuilt
/// the whole dependency tree (wasmtime included) a second time in `target/`.
/// Under `cargo test --workspace` this is a no-op.
pub fn binaries() -> &'static Binaries {
    static BINS: OnceLock<Binaries> = OnceLock::new();
    BINS.get_or_init(|| match build_binaries() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot build the CLIs: {e}");
            std::process::exit(1)
        }
    })
}

fn build_binaries() -> Result<Binaries, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(cargo)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args([
            "test",
            "--workspace",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo test --no-run failed ({})", out.status));
    }
    let mut argocd = None;
    let mut plugin = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        // The CLIs themselves, not their unit-test executables.
        let is_bin = msg
            .pointer("/target/kind")
            .and_then(|k| k.as_array())
            .is_some_and(|k| k.iter().any(|k| k == "bin"));
        let is_test = msg
            .pointer("/profile/test")
            .and_then(|t| t.as_bool())
            .unwrap_or(true);
        if !is_bin || is_test {
            continue;
        }
        let Some(exe) = msg.get("executable").and_then(|e| e.as_str()) else {
            continue;
        };
        let exe = PathBuf::from(exe);
        match exe.file_stem().and_then(|s| s.to_str()) {
            Some("argocd-cnpg-guard") => argocd = Some(exe),
            Some("kubectl-cnpg_plan") => plugin = Some(exe),
            _ => {}
        }
    }
    Ok(Binaries {
        argocd: argocd.ok_or("cargo did not report argocd-cnpg-guard")?,
        kubectl_plugin: plugin.ok_or("cargo did not report kubectl-cnpg_plan")?,
    })
}
