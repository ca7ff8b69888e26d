//! Command line: `generate` (the CMP entry) and `check` (local mode).
//!
//! Parsed by hand: the CMP's command line is fixed by plugin.yaml, and errors
//! must be one line with no usage text (ArgoCD shows stderr verbatim).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use crate::pipeline::{self, Outcome};
use crate::report;
use crate::settings::{self, FlagOverrides};
use crate::{Failure, exit};

/// Help text (`--help`), printed to stdout.
pub const HELP: &str = "\
argocd-cnpg-guard — render a GitOps path and check it with the cnpg-guard policy

USAGE:
  argocd-cnpg-guard generate [PATH] [FLAGS]      ArgoCD CMP entry: print checked manifests
  argocd-cnpg-guard check PATH [-o text|json] [FLAGS]
                                                  local mode: report findings only

FLAGS (override PARAM_* / ARGOCD_ENV_* / CNPG_GUARD_* settings):
  --strict-objectstores          an ObjectStore not in the render is a deny
  --enable-helm                  let kustomize inflate helmCharts
  --severity RULE=LEVEL          deny|warn|off|mutate, repeatable
  --backup-label-key KEY         PVC backup label key, repeatable

EXIT CODES:
  0 ok (warnings allowed)  1 denied  2 bad usage/parameter  3 render failed  4 internal error
";

/// Output format of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human lines.
    Text,
    /// One JSON document.
    Json,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `generate [PATH]`.
    Generate {
        /// Source path (the CMP runs in it: default `.`).
        path: PathBuf,
        /// Flag overrides.
        flags: FlagOverrides,
    },
    /// `check PATH`.
    Check {
        /// Source path.
        path: PathBuf,
        /// Output format.
        format: Format,
        /// Flag overrides.
        flags: FlagOverrides,
    },
    /// `--help`.
    Help,
    /// `--version`.
    Version,
}

/// Parses argv (without the program name).
pub fn parse(args: &[String]) -> Result<Command, Failure> {
    let mut it = args.iter();
    let sub = match it.next().map(String::as_str) {
        None => {
            return Err(Failure::Usage(
                "missing command: expected `generate` or `check <path>` (see --help)".into(),
            ));
        }
        Some("-h" | "--help" | "help") => return Ok(Command::Help),
        Some("-V" | "--version" | "version") => return Ok(Command::Version),
        Some(s @ ("generate" | "check")) => s.to_string(),
        Some(other) => {
            return Err(Failure::Usage(format!(
                "unknown command {:?}: expected `generate` or `check <path>`",
                short(other)
            )));
        }
    };
    let mut flags = FlagOverrides::default();
    let mut path: Option<PathBuf> = None;
    let mut format = Format::Text;
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |flag: &str| -> Result<String, Failure> {
            match inline.clone().or_else(|| it.next().cloned()) {
                Some(v) => Ok(v),
                None => Err(Failure::Usage(format!("{flag} needs a value"))),
            }
        };
        match name {
            "-h" | "--help" => return Ok(Command::Help),
            "--strict-objectstores" => flags.strict_objectstores = Some(bool_flag(name, &inline)?),
            "--enable-helm" => flags.enable_helm = Some(bool_flag(name, &inline)?),
            "--severity" => {
                let v = value(name)?;
                let Some((rule, level)) = v.split_once('=') else {
                    return Err(Failure::Usage(format!(
                        "--severity expects RULE=LEVEL, got {:?}",
                        short(&v)
                    )));
                };
                flags
                    .severity
                    .insert(rule.trim().to_string(), level.trim().to_string());
            }
            "--backup-label-key" => flags.backup_label_keys.push(value(name)?),
            "-o" | "--output" if sub == "check" => {
                format = match value(name)?.as_str() {
                    "text" => Format::Text,
                    "json" => Format::Json,
                    other => {
                        return Err(Failure::Usage(format!(
                            "-o expects text or json, got {:?}",
                            short(other)
                        )));
                    }
                }
            }
            s if s.starts_with('-') && s.len() > 1 => {
                return Err(Failure::Usage(format!(
                    "unknown flag {:?} for {sub}",
                    short(s)
                )));
            }
            _ => {
                if path.is_some() {
                    return Err(Failure::Usage(format!(
                        "{sub} takes one path, got a second one {:?}",
                        short(arg)
                    )));
                }
                path = Some(PathBuf::from(arg));
            }
        }
    }
    if sub == "generate" {
        return Ok(Command::Generate {
            path: path.unwrap_or_else(|| PathBuf::from(".")),
            flags,
        });
    }
    match path {
        Some(path) => Ok(Command::Check {
            path,
            format,
            flags,
        }),
        None => Err(Failure::Usage("check needs a path to render".into())),
    }
}

fn bool_flag(name: &str, inline: &Option<String>) -> Result<bool, Failure> {
    match inline.as_deref() {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(Failure::Usage(format!(
            "{name} expects true or false, got {:?}",
            short(other)
        ))),
    }
}

fn short(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Runs a command line against an environment, writing to the given streams.
/// Returns the exit code. Nothing is written to `stdout` unless the run succeeds.
pub fn run(
    args: &[String],
    env: &BTreeMap<String, String>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> i32 {
    let result = parse(args).and_then(|cmd| execute(cmd, env));
    match result {
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
    }
}

/// What a successful dispatch produced.
struct Done {
    code: i32,
    out: String,
    err: String,
}

fn execute(cmd: Command, env: &BTreeMap<String, String>) -> Result<Done, Failure> {
    match cmd {
        Command::Help => Ok(Done {
            code: exit::OK,
            out: HELP.to_string(),
            err: String::new(),
        }),
        Command::Version => Ok(Done {
            code: exit::OK,
            out: format!("argocd-cnpg-guard {}\n", env!("CARGO_PKG_VERSION")),
            err: String::new(),
        }),
        Command::Generate { path, flags } => {
            let settings = settings::resolve(env, &flags).map_err(Failure::Settings)?;
            let outcome = pipeline::evaluate(&path, &settings, env)?;
            let app = env
                .get("ARGOCD_APP_NAME")
                .filter(|a| !a.is_empty())
                .cloned()
                .unwrap_or_else(|| path.display().to_string());
            if !outcome.summary().accepted() {
                return Ok(Done {
                    code: exit::DENIED,
                    out: String::new(),
                    err: report::denial_message(&outcome.results, &app),
                });
            }
            let out = pipeline::to_yaml(&outcome.objects)?;
            Ok(Done {
                code: exit::OK,
                err: warn_log(&outcome),
                out,
            })
        }
        Command::Check {
            path,
            format,
            flags,
        } => {
            let settings = settings::resolve(env, &flags).map_err(Failure::Settings)?;
            let outcome = pipeline::evaluate(&path, &settings, env)?;
            let shown = path.display().to_string();
            let code = if outcome.summary().accepted() {
                exit::OK
            } else {
                exit::DENIED
            };
            let out = match format {
                Format::Text => report::text_report(&shown, &outcome.results),
                Format::Json => {
                    let mut s = serde_json::to_string_pretty(&report::json_report(
                        &shown,
                        &outcome.results,
                    ))
                    .map_err(|e| Failure::Internal(format!("cannot encode report: {e}")))?;
                    s.push('\n');
                    s
                }
            };
            Ok(Done {
                code,
                out,
                err: String::new(),
            })
        }
    }
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

    #[test]
    fn parses_generate_and_check() {
        assert_eq!(
            parse(&args(&["generate"])).unwrap(),
            Command::Generate {
                path: ".".into(),
                flags: FlagOverrides::default()
            }
        );
        let Command::Check {
            path,
            format,
            flags,
        } = parse(&args(&[
            "check",
            "apps/db",
            "-o",
            "json",
            "--strict-objectstores",
            "--severity",
            "pvc-backup-label=deny",
            "--backup-label-key=backup",
        ]))
        .unwrap()
        else {
            panic!("not check")
        };
        assert_eq!(path, PathBuf::from("apps/db"));
        assert_eq!(format, Format::Json);
        assert_eq!(flags.strict_objectstores, Some(true));
        assert_eq!(flags.severity["pvc-backup-label"], "deny");
        assert_eq!(flags.backup_label_keys, vec!["backup".to_string()]);
    }

    #[test]
    fn errors_are_one_line_without_usage() {
        for bad in [
            &[][..],
            &["frobnicate"][..],
            &["check"][..],
            &["check", "a", "b"][..],
            &["check", "a", "-o", "yaml"][..],
            &["generate", "--nope"][..],
            &["generate", "-o", "json"][..],
        ] {
            let mut out = Vec::new();
            let mut err = Vec::new();
            let code = run(&args(bad), &BTreeMap::new(), &mut out, &mut err);
            assert_eq!(code, exit::USAGE, "{bad:?}");
            assert!(out.is_empty());
            let err = String::from_utf8(err).unwrap();
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(!err.contains("USAGE"), "{err}");
        }
    }

    #[test]
    fn bad_parameter_exits_2_before_rendering() {
        let env: BTreeMap<String, String> =
            [("PARAM_STRICT_OBJECTSTORES".to_string(), "maybe".to_string())].into();
        let mut out = Vec::new();
        let mut err = Vec::new();
        let code = run(
            &args(&["generate", "/nonexistent"]),
            &env,
            &mut out,
            &mut err,
        );
        assert_eq!(code, exit::USAGE);
        let err = String::from_utf8(err).unwrap();
        assert!(
            err.starts_with("cnpg-guard: bad parameter PARAM_STRICT_OBJECTSTORES:"),
            "{err}"
        );
    }
}
