//! `cargo xtask <command>`: build automation for cnpg-guard.
//!
//! - `dist`: `dist/cnpg-guard-policy.wasm` (annotated) and the two CLIs (release).
//! - `test` (alias `ci`): the whole test suite, what CI runs (wasm target, fmt, clippy, tests).
//! - `bench`: policy latency vs. a trivial accept-all policy, as a markdown table.
//! - `policy [DIR]`: only build + annotate the policy into DIR (default `dist/`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use xtask::{build_policy, build_wasm_crate, cargo_command, ensure_wasm_target, workspace_root};

const USAGE: &str =
    "usage: cargo xtask <dist | test | ci | bench [ITERATIONS] | policy [OUT_DIR] | artifacthub>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("dist") => dist(&root),
        Some("test" | "ci") => ci(&root),
        Some("bench") => bench(&root, args.get(1).map(String::as_str)),
        Some("artifacthub") => write_artifacthub(&root),
        Some("policy") => {
            let out = args.get(1).map_or_else(|| root.join("dist"), PathBuf::from);
            build_policy(&root, &out).map(|p| eprintln!("wrote {}", p.display()))
        }
        Some("-h" | "--help" | "help") => {
            eprintln!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `dist/`: annotated policy module + release builds of both CLIs.
fn dist(root: &Path) -> Result<()> {
    let dist = root.join("dist");
    let wasm = build_policy(root, &dist)?;
    eprintln!("wrote {}", wasm.display());

    let mut cmd = cargo_command();
    cmd.current_dir(root).args([
        "build",
        "--release",
        "-p",
        "argocd-cnpg-guard",
        "-p",
        "kubectl-cnpg_plan",
        "--message-format=json-render-diagnostics",
    ]);
    cmd.stderr(std::process::Stdio::inherit());
    let out = cmd.output().context("running cargo build --release")?;
    if !out.status.success() {
        bail!("cargo build --release of the CLIs failed ({})", out.status);
    }
    let mut copied = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg.get("reason").and_then(|r| r.as_str()) != Some("compiler-artifact") {
            continue;
        }
        let is_bin = msg
            .pointer("/target/kind")
            .and_then(|k| k.as_array())
            .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
        let Some(exe) = msg
            .get("executable")
            .and_then(|e| e.as_str())
            .filter(|_| is_bin)
        else {
            continue;
        };
        let exe = Path::new(exe);
        let Some(name) = exe.file_name() else {
            continue;
        };
        let dest = dist.join(name);
        std::fs::copy(exe, &dest)
            .with_context(|| format!("copying {} to {}", exe.display(), dest.display()))?;
        eprintln!("wrote {}", dest.display());
        copied += 1;
    }
    if copied < 2 {
        bail!("expected the 2 CLI executables from cargo, found {copied}");
    }
    demo(root, &dist)
}

/// The main job on the seed-000 layout: plan a recovery (dry run: nothing is
/// written) with the freshly built planner and its embedded policy.
fn demo(root: &Path, dist: &Path) -> Result<()> {
    let db = root.join("kubectl-plugin/tests/fixtures/seed000/temporal");
    eprintln!(
        "\n== demo: kubectl-cnpg_plan recovery {} (dry run) ==\n",
        db.display()
    );
    let status = std::process::Command::new(dist.join("kubectl-cnpg_plan"))
        .arg("recovery")
        .arg(&db)
        .status()
        .context("running dist/kubectl-cnpg_plan")?;
    if !status.success() {
        bail!("the demo plan failed ({status})");
    }
    eprintln!(
        "\ndist/ is ready: cnpg-guard-policy.wasm (Kubewarden), argocd-cnpg-guard (CMP), kubectl-cnpg_plan (put it on PATH: `kubectl cnpg-plan --help`)"
    );
    Ok(())
}

/// What CI runs. Output is streamed; the first failing step fails the run.
fn ci(root: &Path) -> Result<()> {
    let steps: [(&str, &[&str]); 3] = [
        ("fmt", &["fmt", "--all", "--check"]),
        (
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
        ("test", &["test", "--workspace"]),
    ];
    let t0 = Instant::now();
    ensure_wasm_target()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut timings = Vec::new();
    for (name, args) in steps {
        let t = Instant::now();
        xtask::run(&cargo, args, root).with_context(|| format!("ci step `{name}`"))?;
        timings.push((name, t.elapsed()));
    }
    for (name, d) in timings {
        eprintln!("ci: {name:<7} {:>7.1}s", d.as_secs_f64());
    }
    eprintln!("ci: all steps passed in {:.1}s", t0.elapsed().as_secs_f64());
    Ok(())
}

/// Builds the accept-all baseline policy and runs the host benchmark harness.
fn bench(root: &Path, iterations: Option<&str>) -> Result<()> {
    let manifest = root.join("xtask").join("accept-all").join("Cargo.toml");
    let accept_all = build_wasm_crate(root, &manifest, "cnpg-guard-accept-all")?;
    let mut args = vec!["bench", "-p", "cnpg-guard-host", "--bench", "policy", "--"];
    if let Some(n) = iterations {
        args.push(n);
    }
    eprintln!(
        "$ CNPG_GUARD_ACCEPT_ALL_WASM={} cargo {}",
        accept_all.display(),
        args.join(" ")
    );
    let status = cargo_command()
        .current_dir(root)
        .args(&args)
        .env("CNPG_GUARD_ACCEPT_ALL_WASM", &accept_all)
        .status()
        .context("running cargo bench")?;
    if !status.success() {
        bail!("benchmark failed ({status})");
    }
    Ok(())
}

/// `cargo xtask artifacthub`: regenerates artifacthub-pkg.yml from
/// policy/metadata.yml and policy/questions-ui.yml (createdAt kept while the
/// version is unchanged).
fn write_artifacthub(root: &Path) -> Result<()> {
    let read = |rel: &str| {
        std::fs::read_to_string(root.join(rel)).with_context(|| format!("reading {rel}"))
    };
    let metadata = read("policy/metadata.yml")?;
    let questions = read("policy/questions-ui.yml")?;
    let target = root.join("artifacthub-pkg.yml");
    let previous = std::fs::read_to_string(&target).ok();
    let version = xtask::artifacthub::render(&metadata, Some(&questions), "")
        .ok()
        .and_then(|t| xtask::artifacthub::existing(&t))
        .map(|(_, v)| v);
    let created_at = match previous.as_deref().and_then(xtask::artifacthub::existing) {
        Some((at, v)) if Some(&v) == version.as_ref() => at,
        _ => xtask::artifacthub::now_rfc3339(),
    };
    let text = xtask::artifacthub::render(&metadata, Some(&questions), &created_at)?;
    std::fs::write(&target, text).with_context(|| format!("writing {}", target.display()))?;
    eprintln!("wrote {}", target.display());
    Ok(())
}
