//! The command-line face of the one `check`, shared by both programs: the
//! same flags (clap), the same settings resolution, the same output and exit
//! codes. A program only adds its own name and where `-n` comes from.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::report::{self, Format};
use super::settings::{self, FlagOverrides};
use super::{CheckError, Input, Options, exit};

/// `-o` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// One line per finding, then a summary.
    #[default]
    Text,
    /// The stable JSON schema (`schemaVersion` 2).
    Json,
    /// SARIF 2.1.0, for code-scanning uploads.
    Sarif,
    /// A Markdown summary and table, for pull-request comments.
    Markdown,
}

impl From<OutputFormat> for Format {
    fn from(f: OutputFormat) -> Format {
        match f {
            OutputFormat::Text => Format::Text,
            OutputFormat::Json => Format::Json,
            OutputFormat::Sarif => Format::Sarif,
            OutputFormat::Markdown => Format::Markdown,
        }
    }
}

fn parse_severity(s: &str) -> Result<(String, String), String> {
    let Some((rule, level)) = s.split_once('=') else {
        return Err(format!(
            "expected RULE=LEVEL (e.g. objectstore-missing=deny), got {s:?}"
        ));
    };
    Ok((rule.trim().to_string(), level.trim().to_string()))
}

/// Policy settings as flags. Each has an ArgoCD parameter of the same name
/// (`PARAM_*`, `ARGOCD_ENV_*`, `CNPG_GUARD_*`); a flag wins over all of them.
#[derive(Debug, Clone, Default, Args)]
pub struct SettingsArgs {
    /// A Cluster whose ObjectStore is not in the checked tree is denied
    /// (default: a warning "not in this tree", since another app may create it).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL", help_heading = "Policy settings")]
    pub strict_objectstores: Option<bool>,
    /// Per-rule level: deny, warn, off, or mutate (mutating rules); repeatable.
    #[arg(long, value_name = "RULE=LEVEL", value_parser = parse_severity, help_heading = "Policy settings")]
    pub severity: Vec<(String, String)>,
    /// PVC label key that requests a file-level backup; repeatable (default: backup).
    #[arg(
        long = "backup-label-key",
        value_name = "KEY",
        help_heading = "Policy settings"
    )]
    pub backup_label_keys: Vec<String>,
    /// Where other Clusters sharing an archive are looked for.
    #[arg(long, value_parser = ["namespace", "cluster"], help_heading = "Policy settings")]
    pub lineage_scope: Option<String>,
    /// false: ignore the cnpg-guard.io/exempt-* annotations.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL", help_heading = "Policy settings")]
    pub honour_exemptions: Option<bool>,
    /// Label key pattern (`*`, `?`) of the operator's INHERITED_LABELS; repeatable.
    #[arg(
        long = "operator-inherited-label",
        value_name = "PATTERN",
        help_heading = "Policy settings"
    )]
    pub operator_inherited_labels: Vec<String>,
    /// Let kustomize inflate helmCharts (runs `helm template`).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL", help_heading = "Rendering")]
    pub enable_helm: Option<bool>,
}

impl SettingsArgs {
    /// As the highest-precedence settings layer.
    pub fn overrides(&self) -> FlagOverrides {
        FlagOverrides {
            strict_objectstores: self.strict_objectstores,
            enable_helm: self.enable_helm,
            severity: self.severity.iter().cloned().collect(),
            backup_label_keys: self.backup_label_keys.clone(),
            lineage_scope: self.lineage_scope.clone(),
            honour_exemptions: self.honour_exemptions,
            operator_inherited_labels: self.operator_inherited_labels.clone(),
        }
    }
}

/// Flags of `check`, identical in both programs.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Manifest files, directories (walked: every kustomization rendered on
    /// its own, plain directories descended into), or `-` for a manifest
    /// stream on stdin (`helm template … | check -`, `flux build …`).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: OutputFormat,
    /// Render the Flux Kustomizations found under PATH as kustomize-controller
    /// does (spec.path, targetNamespace, components, patches, postBuild
    /// substitutions from the tree, load restrictor off).
    #[arg(long, help_heading = "Rendering")]
    pub flux: bool,
    /// With --flux: the directory spec.path is relative to (default: the git
    /// repository holding PATH, else PATH).
    #[arg(
        long,
        value_name = "DIR",
        requires = "flux",
        help_heading = "Rendering"
    )]
    pub source_root: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub settings: SettingsArgs,
}

/// Help text about checks, shared by both programs' `check --help`.
pub const CHECK_AFTER_HELP: &str = "\
Every object is evaluated by the embedded cnpg-guard policy (the same .wasm Kubernetes
admission runs) as a CREATE, with all objects of the check as its lookup context. Namespace-less
objects land where they would at apply time: the kustomization's `namespace:`, Flux's
targetNamespace, else -n/--namespace (ARGOCD_APP_NAMESPACE), else `default`.

A source that fails to render is reported with its error and the rest are still checked;
an empty check is an error, never a pass.";

/// Runs `check`: resolves settings (flags over the environment), renders,
/// evaluates, prints the report to `stdout` and returns the exit code.
/// Errors go to `stderr` as one line `<program>: <what>`; nothing is written
/// to `stdout` unless a report was produced.
pub fn run_check(
    program: &str,
    args: &CheckArgs,
    namespace: Option<String>,
    env: &BTreeMap<String, String>,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    match check(args, namespace, env, stdin) {
        Ok((report, text)) => {
            if let Err(e) = stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                let _ = writeln!(stderr, "{program}: cannot write the report: {e}");
                return exit::INTERNAL;
            }
            report.exit_code()
        }
        Err(e) => {
            let _ = writeln!(stderr, "{program}: {e}");
            e.exit_code()
        }
    }
}

fn check(
    args: &CheckArgs,
    namespace: Option<String>,
    env: &BTreeMap<String, String>,
    stdin: &mut dyn Read,
) -> Result<(super::Report, String), CheckError> {
    let resolved = settings::resolve(env, &args.settings.overrides())
        .map_err(|e| CheckError::Usage(format!("bad parameter {e}")))?;
    let policy_settings = resolved.policy_settings();
    let mut inputs = Vec::with_capacity(args.paths.len());
    let mut read_stdin = false;
    for p in &args.paths {
        if p.as_os_str() == "-" {
            if read_stdin {
                return Err(CheckError::Usage(
                    "`-` (stdin) can be given only once".into(),
                ));
            }
            read_stdin = true;
            let mut text = String::new();
            stdin
                .read_to_string(&mut text)
                .map_err(|e| CheckError::Usage(format!("-: cannot read stdin: {e}")))?;
            inputs.push(Input::Stream {
                label: "-".into(),
                text,
            });
        } else {
            inputs.push(Input::Path(p.clone()));
        }
    }
    let opts = Options {
        policy_settings,
        namespace,
        enable_helm: resolved.enable_helm,
        flux: args.flux,
        source_root: args.source_root.clone(),
        kustomize: None,
    };
    let cache = super::module_cache(env);
    let (engine, prepared) = super::load_and_prepare(cache, &inputs, &opts)?;
    let report = super::evaluate(&engine, prepared?, &opts)?;
    let text = report::render(&report, args.output.into()).map_err(CheckError::Internal)?;
    Ok((report, text))
}

/// Installs the logger of both programs: `RUST_LOG` when set, else warnings,
/// `-v` info, `-vv` debug, `-vvv` trace; lines go to stderr as
/// `<program>: <level>: <message>` (never stdout: it carries manifests).
pub fn init_logger(program: &'static str, verbose: u8) {
    let level = match verbose {
        0 => log::LevelFilter::Warn,
        1 => log::LevelFilter::Info,
        2 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    let mut builder = env_logger::Builder::new();
    builder.filter_level(level);
    if let Ok(spec) = std::env::var("RUST_LOG") {
        builder.parse_filters(&spec);
    }
    builder
        .target(env_logger::Target::Stderr)
        .format(move |buf, record| {
            writeln!(
                buf,
                "{program}: {}: {}",
                record.level().as_str().to_ascii_lowercase(),
                record.args()
            )
        });
    // A second init (tests) keeps the first logger.
    let _ = builder.try_init();
}

/// The process environment as a map (what [`settings::resolve`] reads).
pub fn process_env() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}
