//! `cargo xtask <command>`: build automation for cnpg-guard.
//!
//! - `dist`: `dist/cnpg-guard-policy.wasm` (annotated), the two CLIs (release)
//!   and the browser build (`dist/web/`).
//! - `setup`: what the tests need beyond rustup: wasm-bindgen-cli (pinned,
//!   into `target/tools`), Debian's chromium, the browser tests' npm packages.
//! - `web [OUT_DIR]`: the browser build only (default `dist/web`).
//! - `test` (alias `ci`): the whole test suite, what CI runs (setup, fmt,
//!   clippy, tests, the browser build in headless Chromium).
//! - `bench`: policy latency vs. a trivial accept-all policy, as a markdown table.
//! - `policy [DIR]`: only build + annotate the policy into DIR (default `dist/`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use xtask::{build_policy, build_wasm_crate, cargo_command, ensure_wasm_target, workspace_root};

const USAGE: &str = "usage: cargo xtask <dist | setup | test | ci | web [OUT_DIR] | bench [ITERATIONS] | policy [OUT_DIR] | artifacthub>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("dist") => dist(&root),
        Some("test" | "ci") => ci(&root),
        Some("setup") => setup(&root),
        Some("web") => {
            let out = args
                .get(1)
                .map_or_else(|| root.join("dist").join("web"), PathBuf::from);
            web(&root, &out)
        }
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
    web(root, &dist.join("web"))?;
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

/// `dist/web`: the browser bundle, the playground and the Argo CD extension.
fn web(root: &Path, out: &Path) -> Result<()> {
    let b = xtask::web::build(root, out)?;
    let kb = |n: usize| n as f64 / 1024.0;
    eprintln!(
        "wrote {} (module {:.0} KiB, {:.0} KiB gzip; script {:.0} KiB, {:.0} KiB gzip), {}/playground/index.html, {}",
        b.bundle.display(),
        kb(b.wasm.0),
        kb(b.wasm.1),
        kb(b.script.0),
        kb(b.script.1),
        out.display(),
        b.extension_tar.display()
    );
    Ok(())
}

/// Debian's chromium for the browser tests: there already, or installed
/// with apt (as root, else through `sudo -n`). Fails when it cannot be had:
/// the browser tests do not skip.
fn ensure_chromium() -> Result<PathBuf> {
    let chromium = PathBuf::from(
        std::env::var_os("CNPG_GUARD_CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into()),
    );
    if chromium.is_file() {
        return Ok(chromium);
    }
    xtask::warn("installing Debian's chromium for the browser tests (apt-get)");
    let root_user = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let apt = |args: &[&str]| -> Result<bool> {
        let mut cmd = if root_user {
            std::process::Command::new("apt-get")
        } else {
            let mut c = std::process::Command::new("sudo");
            c.args(["-n", "apt-get"]);
            c
        };
        let status = cmd
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(std::process::Stdio::from(std::io::stderr()))
            .status()
            .context("running apt-get")?;
        Ok(status.success())
    };
    if !apt(&["install", "-y", "--no-install-recommends", "chromium"])? {
        // A fresh machine may have no package lists yet.
        if !apt(&["update"])? || !apt(&["install", "-y", "--no-install-recommends", "chromium"])? {
            bail!(
                "could not install chromium with apt-get; install Debian's `chromium` package (or set CNPG_GUARD_CHROMIUM) and run again"
            );
        }
    }
    if !chromium.is_file() {
        bail!(
            "apt-get installed chromium but {} is missing",
            chromium.display()
        );
    }
    Ok(chromium)
}

/// Everything the tests need beyond rustup and kubectl.
fn setup(root: &Path) -> Result<()> {
    xtask::ensure_target(xtask::web::WEB_TARGET)?;
    xtask::web::ensure_wasm_bindgen(root)?;
    ensure_chromium()?;
    // The lock file pins every package; no browser is downloaded
    // (playwright-core drives Debian's chromium).
    xtask::run(
        "npm",
        &["ci", "--no-audit", "--no-fund"],
        &root.join("web/tests"),
    )
    .context("installing the browser tests' npm packages")?;
    Ok(())
}

/// The playground and the Argo CD extension in headless Chromium.
fn browser_tests(root: &Path, bundle: &Path) -> Result<()> {
    let out = root.join("target").join("web-test");
    std::fs::create_dir_all(&out)?;
    let chromium = ensure_chromium()?;
    let status = std::process::Command::new("node")
        .arg(root.join("web/tests/browser.mjs"))
        .arg("--bundle")
        .arg(bundle)
        .arg("--out")
        .arg(&out)
        .arg("--chromium")
        .arg(&chromium)
        .current_dir(root)
        .status()
        .context("running node web/tests/browser.mjs (is Node.js on PATH?)")?;
    if !status.success() {
        bail!("the browser tests failed ({status})");
    }
    eprintln!("screenshots: {}", out.display());
    Ok(())
}

/// What CI runs. Output is streamed; the first failing step fails the run.
fn ci(root: &Path) -> Result<()> {
    let result = ci_steps(root);
    if result.is_err() {
        // A linker killed by SIGBUS is what a full disk looks like from here
        // (it happened once in CI): say how full the disk was.
        let _ = std::process::Command::new("df")
            .arg("-h")
            .arg(root)
            .status();
    }
    result
}

fn ci_steps(root: &Path) -> Result<()> {
    let steps: [(&str, &[&str]); 4] = [
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
        // The browser exports only exist for wasm32: lint them there.
        (
            "clippy-web",
            &[
                "clippy",
                "-p",
                "cnpg-guard-web",
                "--target",
                "wasm32-unknown-unknown",
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
    let t = Instant::now();
    setup(root).context("ci step `setup`")?;
    timings.push(("setup", t.elapsed()));
    for (name, args) in steps {
        let t = Instant::now();
        xtask::run(&cargo, args, root).with_context(|| format!("ci step `{name}`"))?;
        timings.push((name, t.elapsed()));
    }
    let t = Instant::now();
    let bundle = root.join("target").join("web-dist");
    web(root, &bundle).context("ci step `web`")?;
    browser_tests(root, &bundle).context("ci step `browser`")?;
    timings.push(("browser", t.elapsed()));
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
