//! `kubectl cnpg-plan`: recovery planner and policy check for
//! GitOps-managed CloudNativePG clusters.
//!
//! Installed as `kubectl-cnpg_plan` so `kubectl cnpg-plan …` finds it
//! without shadowing the official `kubectl cnpg` subcommands.
//!
//! This binary is the command line only (flags, help, exit codes); the
//! planner, the report and the live checks are the `cnpg_plan` library of
//! this package (`src/lib.rs`), which the fuzz targets also link.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use cnpg_plan::error::exit;
use cnpg_plan::{live, report};

const EXIT_CODES: &str = cnpg_guard_host::check::exit::TABLE;

const LONG_ABOUT: &str = "\
Plans the recovery of a GitOps-managed CloudNativePG Cluster: the lockstep serverName edits, the
overlay flag flip, database/owner, the PITR target, and the ordered kubectl runbook — verified by
rendering the planned tree and running every object through the embedded cnpg-guard policy.

Global kubectl flags (--context, --kubeconfig, -n) go AFTER the plugin name, as kubectl requires:
  kubectl cnpg-plan recovery infrastructure/database/cloudnative-pg/temporal --context prod";

#[derive(Parser)]
#[command(
    name = "kubectl cnpg-plan",
    bin_name = "kubectl cnpg-plan",
    version,
    about = "Recovery planner and policy check for GitOps-managed CloudNativePG clusters",
    long_about = LONG_ABOUT,
    after_long_help = EXIT_CODES,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
    /// kubeconfig context for the live checks (implies --live).
    #[arg(long, global = true, help_heading = "Live checks (recovery only)")]
    context: Option<String>,
    /// kubeconfig file (KUBECONFIG is honoured otherwise; implies --live).
    #[arg(long, global = true, help_heading = "Live checks (recovery only)")]
    kubeconfig: Option<String>,
    /// Namespace: of the Cluster for the live checks (default: metadata.namespace in
    /// Git); for check, of namespace-less objects (default: `default`).
    #[arg(short = 'n', long, global = true)]
    namespace: Option<String>,
    /// Timeout of each kubectl call of the live checks, as kubectl takes it
    /// (`30`, `1m`, `0` = none).
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        default_value = live::DEFAULT_REQUEST_TIMEOUT,
        value_parser = parse_request_timeout,
        help_heading = "Live checks (recovery only)"
    )]
    request_timeout: String,
    /// More log output on stderr (-v info, -vv debug); RUST_LOG wins.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

#[derive(Subcommand)]
enum Cmd {
    /// Plan (and with --write, apply) the recovery change for one database directory.
    #[command(
        long_about = "\
Plans the recovery of the database in <DB_DIR>.

Two layouts are understood:
  * overlays (ArgoCD seed): kustomization.yaml with `- overlays/initdb` and `# - overlays/recovery`,
    base/cluster.yaml (Cluster without bootstrap), overlays/recovery/bootstrap-patch.yaml;
  * single file (Flux seed): one Cluster manifest with bootstrap.initdb, edited in place into
    bootstrap.recovery + an externalClusters entry reading the current lineage.

The plan reads the current archive serverName (vN), bumps it to vN+1 and points the recovery
source at vN (or the older lineage --from-lineage names) in the SAME change, flips the flag, names
database/owner explicitly (CNPG defaults both to `app`) and carries initdb's secret over,
optionally pins a backup (--backup-id) and a PITR target, prints a unified diff of exactly the
changed lines, renders the planned tree with kustomize and runs every object through the embedded
policy. Findings on the planned Cluster, or introduced by the plan, block: a denial exits 1 and is
never shown as ready. Findings that were already there on objects the plan does not touch are
printed as \"fix soon\" and do not block. The recovery patch may be a strategic-merge patch (a file
or inline) or a JSON6902 patch (a file or inline `patch:`).

Edits are surgical text edits: comments, key order, quoting and blank lines outside the changed
lines survive byte for byte. --write is all-or-nothing: every new file is staged next to its
target, then renamed; a failure rolls back and leaves every file untouched. Running the plan again
on the written tree plans the NEXT lineage.

The live checks use the kubectl named by CNPG_PLAN_KUBECTL (default:
kubectl on PATH).",
        after_long_help = recovery_help()
    )]
    Recovery(Box<RecoveryArgs>),
    /// Check files, directories or stdin with the policy (CI / pre-commit).
    #[command(after_long_help = check_help())]
    Check(cnpg_guard_host::check::cli::CheckArgs),
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum PlanFormat {
    Text,
    Markdown,
    Json,
}

/// Flags of `recovery`.
#[derive(Args)]
pub struct RecoveryArgs {
    /// The database directory (or a single Cluster file).
    db_dir: PathBuf,
    /// Apply the edits (in-place) or write the drill manifest (--restore-as).
    #[arg(long)]
    write: bool,
    /// Database the recovery creates (default: from the initdb overlay/bootstrap).
    #[arg(long)]
    database: Option<String>,
    /// Owner role (default: from the initdb overlay/bootstrap).
    #[arg(long)]
    owner: Option<String>,
    /// Lineage to restore (default: the one the Cluster archives to now): a
    /// serverName, or vN for <base>-vN of the archive's lineage. Must be older
    /// than the new archive; --live checks that it has a base backup.
    #[arg(long, value_name = "SERVERNAME|vN", help_heading = "What to restore")]
    from_lineage: Option<String>,
    /// Base backup to start from (recoveryTarget.backupID, e.g.
    /// 20260501T030000); combines with --target-time/--target-lsn, required by
    /// --target-immediate. --live checks it against the lineage's window.
    #[arg(long, value_name = "ID", help_heading = "What to restore")]
    backup_id: Option<String>,
    /// PITR: recover up to this time (RFC 3339 or PostgreSQL timestamp; no zone = UTC).
    #[arg(
        long,
        value_name = "TIME",
        group = "target",
        help_heading = "Point-in-time target (at most one)"
    )]
    target_time: Option<String>,
    /// PITR: recover up to this LSN, e.g. 0/3000060.
    #[arg(
        long,
        value_name = "LSN",
        group = "target",
        help_heading = "Point-in-time target (at most one)"
    )]
    target_lsn: Option<String>,
    /// PITR: stop as soon as a consistent state is reached (end of the base
    /// backup); needs --backup-id (CNPG refuses it without one).
    #[arg(
        long,
        group = "target",
        help_heading = "Point-in-time target (at most one)"
    )]
    target_immediate: bool,
    /// Non-destructive drill: restore the current lineage (or --from-lineage) into a NEW Cluster with this name.
    #[arg(long, value_name = "NEW_NAME")]
    restore_as: Option<String>,
    /// With --restore-as --write: file (or existing directory) for the manifest (default: ./<NEW_NAME>.yaml).
    #[arg(long, value_name = "PATH", requires = "restore_as")]
    out: Option<PathBuf>,
    /// ArgoCD Application name (default: the directory name).
    #[arg(long, help_heading = "GitOps")]
    app: Option<String>,
    /// Namespace of ArgoCD.
    #[arg(long, default_value = "argocd", help_heading = "GitOps")]
    argocd_namespace: String,
    /// Flux Kustomization name for the single-file layout (default: databases-<dir name>).
    #[arg(long, help_heading = "GitOps")]
    flux_kustomization: Option<String>,
    /// Namespace of the Flux Kustomization.
    #[arg(long, default_value = "flux-system", help_heading = "GitOps")]
    flux_namespace: String,
    /// Run the live checks (implied by --context or --kubeconfig).
    #[arg(long, help_heading = "Live checks (recovery only)")]
    live: bool,
    /// Extra namespaces to search for Deployments using the <cluster>-app secret.
    #[arg(
        long = "consumer-namespace",
        value_name = "NS",
        help_heading = "Live checks (recovery only)"
    )]
    consumer_namespaces: Vec<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    output: PlanFormat,
    /// The policy settings, as `check` takes them (flags over PARAM_*,
    /// ARGOCD_ENV_*, CNPG_GUARD_*).
    #[command(flatten)]
    settings: cnpg_guard_host::check::cli::SettingsArgs,
}

const RECOVERY_EXAMPLES: &str = "\
Examples:
  # Plan the in-place recovery (dry run: diff + runbook + policy verdict)
  kubectl cnpg-plan recovery infrastructure/database/cloudnative-pg/temporal

  # Apply the edits, restoring to a point in time
  kubectl cnpg-plan recovery ./temporal --target-time 2026-05-08T20:49:00Z --write

  # Restore an OLDER lineage (v7 is empty after a rebuild), pinned to one backup
  kubectl cnpg-plan recovery ./temporal --from-lineage v6 --backup-id 20260501T030000 --live

  # A pre-existing deny elsewhere is reported as \"fix soon\"; levels as in check
  kubectl cnpg-plan recovery ./temporal --severity schedule-five-fields=warn

  # Check the live cluster first (lineage, archiving, recovery window, PVCs, consumers)
  kubectl cnpg-plan recovery ./temporal --context homelab --live

  # Non-destructive drill into a new Cluster name
  kubectl cnpg-plan recovery ./temporal --restore-as temporal-drill --write --out /tmp/drill.yaml

  # Machine-readable plan
  kubectl cnpg-plan recovery ./temporal -o json | jq .steps";

fn recovery_help() -> String {
    format!("{RECOVERY_EXAMPLES}\n\n{EXIT_CODES}")
}

fn parse_request_timeout(v: &str) -> Result<String, String> {
    if live::valid_request_timeout(v) {
        Ok(v.to_string())
    } else {
        Err(format!(
            "{v:?} is not a kubectl duration: give seconds (30) or a duration (1m, 1m30s, 0 for none)"
        ))
    }
}

fn check_help() -> String {
    format!(
        "{}\n\nExamples:\n  kubectl cnpg-plan check fluxcd/databases/prod\n  \
         kubectl cnpg-plan check clusters/prod --flux -o sarif > cnpg.sarif\n  \
         helm template db ./chart | kubectl cnpg-plan check - -n db -o json\n\n{EXIT_CODES}",
        cnpg_guard_host::check::cli::CHECK_AFTER_HELP
    )
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(u8::try_from(code).unwrap_or(exit::INPUT));
        }
    };
    cnpg_guard_host::check::cli::init_logger("kubectl-cnpg_plan", cli.verbose);
    if let Cmd::Check(a) = &cli.command {
        let env = cnpg_guard_host::check::cli::process_env();
        return ExitCode::from(cnpg_guard_host::check::cli::run_check(
            "cnpg-guard",
            a,
            cli.namespace.clone(),
            &env,
            &mut std::io::stdin(),
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        ));
    }
    let kube = live::KubeOpts {
        context: cli.context,
        kubeconfig: cli.kubeconfig,
        namespace: cli.namespace,
        consumer_namespaces: Vec::new(),
        request_timeout: cli.request_timeout,
    };
    let result = match cli.command {
        Cmd::Recovery(a) => report::recovery(&a_to_opts(*a, kube)),
        Cmd::Check(_) => Ok(exit::OK),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(e.code)
        }
    }
}

fn a_to_opts(a: RecoveryArgs, kube: live::KubeOpts) -> report::RecoveryOpts {
    report::RecoveryOpts {
        dir: a.db_dir,
        write: a.write,
        database: a.database,
        owner: a.owner,
        from_lineage: a.from_lineage,
        backup_id: a.backup_id,
        target_time: a.target_time,
        target_lsn: a.target_lsn,
        target_immediate: a.target_immediate,
        restore_as: a.restore_as,
        out: a.out,
        app: a.app,
        argocd_namespace: a.argocd_namespace,
        flux_kustomization: a.flux_kustomization,
        flux_namespace: a.flux_namespace,
        live: a.live || kube.context.is_some() || kube.kubeconfig.is_some(),
        kube: live::KubeOpts {
            consumer_namespaces: a.consumer_namespaces,
            ..kube
        },
        settings: a.settings.overrides(),
        env: cnpg_guard_host::check::cli::process_env(),
        markdown: a.output == PlanFormat::Markdown,
        json: a.output == PlanFormat::Json,
    }
}
