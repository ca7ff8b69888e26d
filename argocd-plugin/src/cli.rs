//! Command line: `generate` (the CMP entry) and `check` (the shared check).
//!
//! Errors are ONE line with no usage text: ArgoCD shows a CMP's stderr
//! verbatim in the Application's error box.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use cnpg_guard_host::check::cli::{CHECK_AFTER_HELP, CheckArgs, SettingsArgs, run_check};

use crate::pipeline::{self, Outcome};
use crate::report;
use crate::settings;
use crate::{Failure, exit};

const ABOUT: &str = "Render a GitOps path and check it with the cnpg-guard policy";

const LONG_ABOUT: &str = "\
Render a GitOps path and check it with the cnpg-guard policy (the same .wasm Kubernetes
admission runs).

Settings come from flags, then the ArgoCD parameters of the Application (PARAM_*,
ARGOCD_APP_PARAMETERS), then plugin env (ARGOCD_ENV_*), then sidecar defaults (CNPG_GUARD_*).
Logging: -v/-vv or RUST_LOG, on stderr.";

#[derive(Parser, Debug)]
#[command(
    name = "argocd-cnpg-guard",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = exit::TABLE,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
    /// More log output on stderr (-v info, -vv debug); RUST_LOG wins.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// ArgoCD CMP entry: render PATH, check every object, print the manifests.
    #[command(
        long_about = "\
ArgoCD CMP entry: render PATH (default: the current directory, where argocd-cmp-server runs
the plugin) the way `check` reads it, evaluate every object, and print the manifests with the
policy's mutations applied and warnings in the cnpg-guard.io/warnings annotation. A denial, a
source that fails to render, or an empty render prints NOTHING and exits non-zero: ArgoCD
then shows the error instead of pruning the app.

`-` reads a manifest stream from stdin, so generate can sit behind another generator
(argocd-lovely-plugin chains, `helm template … | argocd-cnpg-guard generate -`).",
        after_help = exit::TABLE
    )]
    Generate(GenerateArgs),
    /// Check files, directories or stdin and report the findings (CI, pre-commit).
    #[command(after_long_help = check_help())]
    Check(CheckCmd),
}

fn check_help() -> String {
    format!(
        "{CHECK_AFTER_HELP}\n\nExamples:\n  argocd-cnpg-guard check apps/db\n  \
         argocd-cnpg-guard check clusters/prod --flux -o sarif > cnpg.sarif\n  \
         helm template db ./chart | argocd-cnpg-guard check - -o json\n\n{}",
        exit::TABLE
    )
}

#[derive(Args, Debug)]
struct GenerateArgs {
    /// Source path, or `-` for a manifest stream on stdin.
    #[arg(default_value = ".", value_name = "PATH")]
    path: PathBuf,
    #[command(flatten)]
    settings: SettingsArgs,
}

#[derive(Args, Debug)]
struct CheckCmd {
    #[command(flatten)]
    args: CheckArgs,
    /// Namespace of namespace-less objects (default: ARGOCD_APP_NAMESPACE, else `default`).
    #[arg(short = 'n', long)]
    namespace: Option<String>,
}

/// Runs a command line (without the program name) against an environment.
/// Returns the exit code. Nothing is written to `stdout` unless the run
/// succeeds.
pub fn run(
    args: &[String],
    env: &BTreeMap<String, String>,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let argv = std::iter::once("argocd-cnpg-guard".to_string()).chain(args.iter().cloned());
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e, stdout, stderr),
    };
    cnpg_guard_host::check::cli::init_logger("argocd-cnpg-guard", cli.verbose);
    match cli.command {
        Cmd::Check(c) => {
            let ns = c.namespace.or_else(|| {
                env.get("ARGOCD_APP_NAMESPACE")
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty())
            });
            run_check("cnpg-guard", &c.args, ns, env, stdin, stdout, stderr)
        }
        Cmd::Generate(g) => match generate(&g, env, stdin) {
            Ok(Done { code, out, err }) => {
                if !out.is_empty()
                    && let Err(e) = stdout
                        .write_all(out.as_bytes())
                        .and_then(|()| stdout.flush())
                {
                    let _ = writeln!(stderr, "cnpg-guard: cannot write output: {e}");
                    return exit::INTERNAL;
                }
                if !err.is_empty() {
                    let _ = stderr.write_all(err.as_bytes());
                }
                code
            }
            Err(failure) => {
                let _ = writeln!(stderr, "cnpg-guard: {failure}");
                failure.exit_code()
            }
        },
    }
}

/// `--help`/`--version` print to stdout and exit 0; any other parse error is
/// one line on stderr, exit 2.
fn clap_error(e: &clap::Error, stdout: &mut dyn Write, stderr: &mut dyn Write) -> u8 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = write!(stdout, "{}", e.render());
            exit::OK
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("bad command line");
            let msg = first.strip_prefix("error: ").unwrap_or(first);
            let _ = writeln!(stderr, "cnpg-guard: {msg} (see --help)");
            exit::USAGE
        }
    }
}

/// What a successful `generate` produced.
struct Done {
    code: u8,
    out: String,
    err: String,
}

fn generate(
    g: &GenerateArgs,
    env: &BTreeMap<String, String>,
    stdin: &mut dyn Read,
) -> Result<Done, Failure> {
    let settings = settings::resolve(env, &g.settings.overrides()).map_err(Failure::Settings)?;
    let input = pipeline::input_of(&g.path, stdin)?;
    let outcome = pipeline::evaluate(input, &settings, env)?;
    let app = env
        .get("ARGOCD_APP_NAME")
        .filter(|a| !a.is_empty())
        .cloned()
        .unwrap_or_else(|| g.path.display().to_string());
    if !outcome.summary().accepted() {
        return Ok(Done {
            code: exit::DENIED,
            out: String::new(),
            err: report::denial_message(&outcome.results, &app),
        });
    }
    Ok(Done {
        code: exit::OK,
        err: warn_log(&outcome),
        out: pipeline::to_yaml(&outcome.objects),
    })
}

/// On success, warnings also go to stderr: ArgoCD only logs it (the UI shows
/// the annotation), but a local run sees them.
fn warn_log(outcome: &Outcome) -> String {
    let mut s = String::new();
    for f in outcome.results.iter().flat_map(|r| r.verdict.warnings()) {
        s.push_str("cnpg-guard: warning: ");
        s.push_str(&f.render().replace(|c: char| c.is_control(), " "));
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn run_args(a: &[&str], env: &BTreeMap<String, String>) -> (u8, String, String) {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let code = run(&args(a), env, &mut std::io::empty(), &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn parses_generate_and_check() {
        let cli = Cli::try_parse_from([
            "argocd-cnpg-guard",
            "check",
            "apps/db",
            "-o",
            "json",
            "--strict-objectstores",
            "--severity",
            "pvc-backup-label=deny",
            "--backup-label-key=backup",
        ])
        .unwrap();
        let Cmd::Check(c) = cli.command else {
            panic!("not check")
        };
        assert_eq!(c.args.paths, vec![PathBuf::from("apps/db")]);
        let o = c.args.settings.overrides();
        assert_eq!(o.strict_objectstores, Some(true));
        assert_eq!(o.severity["pvc-backup-label"], "deny");
        assert_eq!(o.backup_label_keys, vec!["backup".to_string()]);
        let cli = Cli::try_parse_from(["argocd-cnpg-guard", "generate"]).unwrap();
        let Cmd::Generate(g) = cli.command else {
            panic!("not generate")
        };
        assert_eq!(g.path, PathBuf::from("."));
    }

    #[test]
    fn errors_are_one_line_without_usage() {
        for bad in [
            &[][..],
            &["frobnicate"][..],
            &["check"][..],
            &["check", "a", "-o", "yaml"][..],
            &["generate", "--nope"][..],
            &["generate", "-o", "json"][..],
            &["generate", "--strict-objectstores=maybe"][..],
        ] {
            let (code, out, err) = run_args(bad, &BTreeMap::new());
            assert_eq!(code, exit::USAGE, "{bad:?}: {err}");
            assert!(out.is_empty());
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.starts_with("cnpg-guard: "), "{err}");
            assert!(!err.contains("Usage"), "{err}");
        }
    }

    #[test]
    fn help_teaches_exit_codes() {
        let (code, out, _) = run_args(&["check", "--help"], &BTreeMap::new());
        assert_eq!(code, exit::OK);
        assert!(out.contains("--flux"), "{out}");
        assert!(out.contains("3  render"), "{out}");
    }

    #[test]
    fn bad_parameter_exits_2_before_rendering() {
        let env: BTreeMap<String, String> =
            [("PARAM_STRICT_OBJECTSTORES".to_string(), "maybe".to_string())].into();
        let (code, _, err) = run_args(&["generate", "/nonexistent"], &env);
        assert_eq!(code, exit::USAGE);
        assert!(
            err.starts_with("cnpg-guard: bad parameter PARAM_STRICT_OBJECTSTORES:"),
            "{err}"
        );
    }
}
