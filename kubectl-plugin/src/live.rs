//! Live checks through the `kubectl` on PATH (or `CNPG_PLAN_KUBECTL`).
//!
//! Nothing here is ever faked: when the cluster cannot be reached, every
//! check is reported as `skipped` with the reason.

use std::process::Command;

use cnpg_guard_core::ObjectRef;
use cnpg_guard_core::cnpg::lineage::{self, Lineage, Store};
use cnpg_guard_core::cnpg::{BARMAN_GROUP, BARMAN_PLUGIN, CLUSTER_LABEL, CNPG_GROUP};
use cnpg_guard_core::view::{Cluster, ObjectStore};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan::{Plan, Target};
use crate::timefmt;

/// Result of one check.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Confirmed.
    Ok,
    /// Worth knowing; does not fail the plan.
    Warn,
    /// The plan must not be executed as is (exit 5).
    Fail,
    /// Not run (no cluster, or a prerequisite failed).
    Skipped,
    /// Information (lists).
    Info,
}

/// One live check, as in `-o json` `liveChecks[]`.
#[derive(Debug, Clone, Serialize)]
pub struct LiveCheck {
    /// Stable id, e.g. `lineage-matches-git`.
    pub id: String,
    /// Outcome.
    pub status: Status,
    /// What was found.
    pub message: String,
    /// Items (PVC names, `namespace/deployment`), when the check lists some.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
}

fn check(id: &str, status: Status, message: impl Into<String>) -> LiveCheck {
    LiveCheck {
        id: id.into(),
        status,
        message: message.into(),
        items: vec![],
    }
}

/// How to reach the cluster.
#[derive(Debug, Clone, Default)]
pub struct KubeOpts {
    /// `--context`.
    pub context: Option<String>,
    /// `--kubeconfig` (else `KUBECONFIG` is honoured by kubectl itself).
    pub kubeconfig: Option<String>,
    /// `-n/--namespace` override.
    pub namespace: Option<String>,
    /// Namespaces to search for consumers besides the Cluster's.
    pub consumer_namespaces: Vec<String>,
    /// `--request-timeout`, passed to every kubectl call (kubectl's syntax).
    pub request_timeout: String,
}

/// kubectl's default for our calls when `--request-timeout` is not given: a
/// live check must not hang a drill on an unreachable API server.
pub const DEFAULT_REQUEST_TIMEOUT: &str = "10s";

/// Whether `v` is a value kubectl's `--request-timeout` accepts: whole
/// seconds (`30`) or a Go duration (`1m30s`; `0` waits forever).
pub fn valid_request_timeout(v: &str) -> bool {
    (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        || (!v.starts_with('-') && cnpg_guard_core::cnpg::cron::go_duration_ok(v))
}

/// The kubectl binary: `CNPG_PLAN_KUBECTL` or `kubectl`.
pub fn kubectl_bin() -> String {
    std::env::var("CNPG_PLAN_KUBECTL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "kubectl".into())
}

enum Got {
    Json(Value),
    NotFound,
    Unreachable(String),
    Failed(String),
}

struct Kube<'a> {
    opts: &'a KubeOpts,
}

impl Kube<'_> {
    fn get(&self, args: &[&str]) -> Got {
        let mut cmd = Command::new(kubectl_bin());
        if let Some(k) = &self.opts.kubeconfig {
            cmd.arg("--kubeconfig").arg(k);
        }
        if let Some(c) = &self.opts.context {
            cmd.arg("--context").arg(c);
        }
        cmd.arg("get").args(args).arg("-o").arg("json");
        cmd.arg(format!("--request-timeout={}", self.opts.request_timeout));
        let out = match cmd.output() {
            Ok(o) => o,
            Err(e) => return Got::Unreachable(format!("cannot run {}: {e}", kubectl_bin())),
        };
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if !out.status.success() {
            // Only the API server's own NotFound means "the object is not
            // there"; "context was not found" and friends mean "no cluster".
            if stderr.contains("(NotFound)") {
                return Got::NotFound;
            }
            let unreachable = [
                "Unable to connect",
                "connection refused",
                "was refused",
                "error loading config file",
                "no configuration has been provided",
                "couldn't get current server API group list",
                "context was not found",
                "does not exist",
                "dial tcp",
                "i/o timeout",
                "no such host",
                "Unauthorized",
                "certificate",
            ];
            if unreachable.iter().any(|u| stderr.contains(u)) {
                return Got::Unreachable(explain_line(&stderr));
            }
            return Got::Failed(explain_line(&stderr));
        }
        match serde_json::from_slice(&out.stdout) {
            Ok(v) => Got::Json(v),
            Err(e) => Got::Failed(format!("kubectl returned no JSON: {e}")),
        }
    }
}

/// The line of kubectl's stderr that explains the failure: the last one
/// (client-go logs retries before the final message).
fn explain_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// What live mode found; `consumers` feeds the restart step.
#[derive(Debug, Clone, Default)]
pub struct LiveReport {
    /// Checks in order.
    pub checks: Vec<LiveCheck>,
    /// `(namespace, deployment)` restart candidates.
    pub consumers: Vec<(String, String)>,
}

impl LiveReport {
    /// True when any check failed.
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Fail)
    }
}

/// What the live checks are about.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The live Cluster name.
    pub cluster: &'a str,
    /// Its namespace from Git (may be empty).
    pub namespace: &'a str,
    /// The lineage Git says it archives to (the live Cluster must write it).
    pub current: &'a Lineage,
    /// The lineage restored from (`current`, or `--from-lineage`).
    pub from: &'a Lineage,
    /// The PITR target, if any.
    pub target: Option<&'a Target>,
    /// `--backup-id`, if any.
    pub backup_id: Option<&'a str>,
    /// The application Secret of the planned Cluster.
    pub app_secret: &'a str,
    /// In-place recovery (lists PVCs and consumers) or a side-by-side drill.
    pub destructive: bool,
}

impl<'a> Subject<'a> {
    /// The subject of an in-place plan.
    pub fn of(plan: &'a Plan) -> Subject<'a> {
        Subject {
            cluster: &plan.cluster,
            namespace: &plan.namespace,
            current: &plan.current,
            from: &plan.from,
            target: plan.restore.target.as_ref(),
            backup_id: plan.restore.backup_id.as_deref(),
            app_secret: &plan.app_secret,
            destructive: true,
        }
    }
}

/// A lineage's recovery window as the ObjectStore records it.
#[derive(Debug, Clone, Default)]
struct Window {
    first: Option<String>,
    last: Option<String>,
    failed: Option<String>,
}

impl Window {
    /// A completed base backup exists (`lastSuccessfulBackupTime` is the end
    /// of the newest one, `docs/cnpg.md` §15.2).
    fn has_backup(&self) -> bool {
        self.last.is_some()
    }

    fn describe(&self) -> String {
        match (&self.first, &self.last) {
            (first, Some(last)) => format!(
                "first recoverability point {}, last successful backup {last}",
                first.as_deref().unwrap_or("unknown")
            ),
            (_, None) => format!(
                "NO completed base backup{}",
                self.failed
                    .as_deref()
                    .map(|f| format!(" (last failed backup {f})"))
                    .unwrap_or_default()
            ),
        }
    }
}

/// Runs the live checks.
pub fn run(plan: &Subject<'_>, opts: &KubeOpts, app: Option<(&str, &str)>) -> LiveReport {
    let kube = Kube { opts };
    let ns = opts
        .namespace
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| plan.namespace.to_string());
    let mut report = LiveReport::default();
    let mut ns_args: Vec<&str> = Vec::new();
    if !ns.is_empty() {
        ns_args.extend(["-n", ns.as_str()]);
    }
    let with_ns = |v: &[&str], extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a.extend(ns_args.iter().map(|s| s.to_string()));
        a
    };
    let run_get = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        kube.get(&refs)
    };
    let cluster_resource = format!("cluster.{CNPG_GROUP}");
    let objectstore_resource = format!("objectstores.{BARMAN_GROUP}");
    let cluster = match run_get(with_ns(&[cluster_resource.as_str()], &[plan.cluster])) {
        Got::Json(v) => Cluster::deserialize(&v).unwrap_or_default(),
        Got::NotFound => {
            report.checks.push(check(
                "cluster-exists",
                Status::Fail,
                format!("Cluster {} not found in namespace '{ns}': the plan is for an existing Cluster (check --context/-n)", plan.cluster),
            ));
            return report;
        }
        Got::Unreachable(why) => {
            report.checks.push(check(
                "cluster-reachable",
                Status::Skipped,
                format!("live checks skipped: the cluster is not reachable ({why})"),
            ));
            return report;
        }
        Got::Failed(why) => {
            report.checks.push(check(
                "cluster-exists",
                Status::Fail,
                format!("kubectl get cluster failed: {why}"),
            ));
            return report;
        }
    };
    report.checks.push(check(
        "cluster-exists",
        Status::Ok,
        format!("Cluster {ns}/{} exists", plan.cluster),
    ));

    // The ObjectStores both sides reference, read once: they resolve
    // store locations for the lineage check and hold the recovery window.
    let live_ns = cluster
        .metadata
        .as_ref()
        .map_or(ns.as_str(), |m| m.namespace_or(&ns))
        .to_string();
    let live_arch = lineage::archive(&cluster, &live_ns);
    // Git's lineage as deployed in the namespace checked here (Git may not
    // name one; -n overrides it).
    let git = in_namespace(plan.current, &live_ns);
    let mut stores: Vec<(String, Got)> = Vec::new();
    for l in [Some(&git), live_arch.as_ref()].into_iter().flatten() {
        if let Store::ObjectStore { name, .. } = &l.store
            && !stores.iter().any(|(n, _)| n == name)
        {
            let got = run_get(with_ns(&[objectstore_resource.as_str()], &[name]));
            stores.push((name.clone(), got));
        }
    }
    let views: Vec<(String, ObjectStore)> = stores
        .iter()
        .filter_map(|(n, g)| match g {
            Got::Json(v) => Some((n.clone(), ObjectStore::deserialize(v).unwrap_or_default())),
            _ => None,
        })
        .collect();
    let resolve = |rns: &str, name: &str| {
        (rns == live_ns)
            .then(|| views.iter().find(|(n, _)| n == name).map(|(_, o)| o))
            .flatten()
    };

    // Lineage: the live archive must be the prefix Git restores from.
    report.checks.push(match &live_arch {
        Some(live) if live.server_name != git.server_name => check(
            "lineage-matches-git",
            Status::Fail,
            format!(
                "the live Cluster archives to '{}' but Git says '{}': Git is ahead (a previous plan was committed but the Cluster was not recreated) or behind. Reconcile before planning: the recovery source must be the lineage the live Cluster writes",
                live.server_name, git.server_name
            ),
        ),
        Some(live) if lineage::same_prefix(live, &git, &resolve) => check(
            "lineage-matches-git",
            Status::Ok,
            format!("the live Cluster archives to '{}' as Git says: restoring from it", live.server_name),
        ),
        Some(live) if !lineage::maybe_same_store(live, &git, &resolve) => check(
            "lineage-matches-git",
            Status::Fail,
            format!(
                "the live Cluster archives '{}' to {} but Git restores it from {}: a different store. Reconcile before planning: the recovery source must be the store the live Cluster writes",
                live.server_name,
                describe_store(live, &resolve),
                describe_store(&git, &resolve)
            ),
        ),
        Some(live) => check(
            "lineage-matches-git",
            Status::Warn,
            format!(
                "the live Cluster archives to '{}' as Git says, but its store ({}) could not be confirmed to be the one Git restores from ({})",
                live.server_name,
                describe_store(live, &resolve),
                describe_store(&git, &resolve)
            ),
        ),
        None => check(
            "lineage-matches-git",
            Status::Fail,
            "the live Cluster has no WAL archive configured: there is nothing to restore from",
        ),
    });

    // ContinuousArchiving.
    let cond = cluster.condition("ContinuousArchiving");
    report.checks.push(match cond {
        Some(c) if c.status.as_deref() == Some("True") => check("continuous-archiving", Status::Ok, "ContinuousArchiving=True"),
        Some(c) => check(
            "continuous-archiving",
            Status::Warn,
            format!(
                "ContinuousArchiving={} ({}): the newest WAL may not be in the object store; the restore ends at the last archived WAL",
                c.status.as_deref().unwrap_or("?"),
                c.message.as_deref().unwrap_or("")
            ),
        ),
        None => check("continuous-archiving", Status::Warn, "no ContinuousArchiving condition on the Cluster"),
    });

    // The lineages the store knows, and the window of the one restored.
    let window: Option<Window> = match &plan.from.store {
        Store::ObjectStore { name, .. } => {
            match stores.iter().find(|(n, _)| n == name).map(|(_, g)| g) {
                Some(Got::Json(_)) => match resolve(&live_ns, name) {
                    Some(os) => lineage_windows(&mut report, os, name, plan),
                    None => None,
                },
                Some(Got::NotFound) => {
                    report.checks.push(check(
                        "recovery-window",
                        Status::Fail,
                        format!("ObjectStore '{name}' not found in namespace '{ns}'"),
                    ));
                    None
                }
                Some(Got::Unreachable(w) | Got::Failed(w)) => {
                    report.checks.push(check(
                        "recovery-window",
                        Status::Skipped,
                        format!("cannot read ObjectStore '{name}': {w}"),
                    ));
                    None
                }
                None => None,
            }
        }
        // In-tree: the Cluster's status describes the lineage it archives to.
        Store::Inline { .. } if plan.from.server_name != plan.current.server_name => {
            report.checks.push(check(
                "recovery-window",
                Status::Skipped,
                format!(
                    "the in-tree archive records no window for '{}' (only the Cluster's own lineage '{}' is in its status): cannot check it",
                    plan.from.server_name, plan.current.server_name
                ),
            ));
            None
        }
        Store::Inline { .. } => cluster.status.as_ref().and_then(|st| {
            st.first_recoverability_point.clone().map(|f| Window {
                first: Some(f),
                last: st.last_successful_backup.clone(),
                failed: None,
            })
        }),
    };
    if let Some(w) = window.as_ref().filter(|w| w.has_backup()) {
        let first = w.first.as_deref();
        report.checks.push(check(
            "recovery-window",
            Status::Ok,
            format!("lineage '{}': {}", plan.from.server_name, w.describe()),
        ));
        if let Some(id) = plan.backup_id {
            report
                .checks
                .push(backup_in_window(id, &plan.from.server_name, w, plan.target));
        }
        if let Some(Target::Time(t, secs)) = plan.target {
            let now = timefmt::now();
            match first.map(timefmt::parse_timestamp) {
                Some(Ok(f)) if *secs < f => report.checks.push(check(
                    "target-in-window",
                    Status::Fail,
                    format!(
                        "--target-time {t} is before the first recoverability point {}: PostgreSQL would stop with \"recovery ended before configured recovery target was reached\". Use a time >= {} or omit the target",
                        timefmt::format_utc(f),
                        timefmt::format_utc(f)
                    ),
                )),
                _ if *secs > now => report.checks.push(check(
                    "target-in-window",
                    Status::Fail,
                    format!("--target-time {t} is in the future (now is {}): recovery would never reach it", timefmt::format_utc(now)),
                )),
                Some(Ok(_)) => report.checks.push(check(
                    "target-in-window",
                    Status::Ok,
                    format!("--target-time {t} is inside [first recoverability point, now]"),
                )),
                _ => report.checks.push(check("target-in-window", Status::Warn, "the first recoverability point is unknown or unreadable; cannot check --target-time")),
            }
        }
    } else if let Some(Target::Time(t, secs)) = plan.target
        && *secs > timefmt::now()
    {
        report.checks.push(check(
            "target-in-window",
            Status::Fail,
            format!("--target-time {t} is in the future"),
        ));
    }

    if !plan.destructive {
        return report;
    }
    // PVCs that will be deleted.
    let sel = format!("{CLUSTER_LABEL}={}", plan.cluster);
    match run_get(with_ns(&["pvc", "-l"], &[&sel])) {
        Got::Json(list) => {
            let names: Vec<String> = list_items(&list)
                .map(|p| ObjectRef::of_value(p, "").name)
                .filter(|n| !n.is_empty())
                .collect();
            let mut c = check(
                "pvcs-to-delete",
                Status::Info,
                format!("{} PVC(s) labelled {sel} will be deleted", names.len()),
            );
            c.items = names;
            report.checks.push(c);
        }
        Got::NotFound | Got::Unreachable(_) | Got::Failed(_) => {
            report
                .checks
                .push(check("pvcs-to-delete", Status::Skipped, "cannot list PVCs"));
        }
    }

    // Consumers: Deployments using the application Secret, the live
    // Cluster's (what they use now) and the planned one's.
    let live_secret = cnpg_guard_core::cnpg::application_secret(&cluster);
    let mut secrets = vec![live_secret];
    if !secrets.iter().any(|s| s == plan.app_secret) {
        secrets.push(plan.app_secret.to_string());
    }
    let secret = secrets.join(" or ");
    let mut namespaces = vec![ns.clone()];
    for extra in &opts.consumer_namespaces {
        if !namespaces.contains(extra) {
            namespaces.push(extra.clone());
        }
    }
    let mut consumers = Vec::new();
    for cns in &namespaces {
        let mut args = vec!["deployments".to_string()];
        if !cns.is_empty() {
            args.extend(["-n".to_string(), cns.clone()]);
        }
        if let Got::Json(list) = run_get(args) {
            for d in list_items(&list) {
                if secrets.iter().any(|s| references_secret(d, s)) {
                    let r = ObjectRef::of_value(d, cns);
                    consumers.push((r.namespace, r.name));
                }
            }
        }
    }
    let mut c = check(
        "restart-candidates",
        Status::Info,
        format!(
            "{} Deployment(s) in {} reference the secret {secret}",
            consumers.len(),
            namespaces
                .iter()
                .map(|n| if n.is_empty() {
                    "the default namespace".to_string()
                } else {
                    format!("'{n}'")
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    c.items = consumers.iter().map(|(n, d)| format!("{n}/{d}")).collect();
    report.checks.push(c);
    report.consumers = consumers;

    // ArgoCD Application.
    if let Some((app, ans)) = app {
        match kube.get(&["applications.argoproj.io", app, "-n", ans]) {
            Got::Json(a) => {
                let sync = a
                    .pointer("/status/sync/status")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown");
                report.checks.push(check("argocd-application", Status::Ok, format!("Application {ans}/{app} found (sync status {sync})")));
            }
            Got::NotFound => report.checks.push(check(
                "argocd-application",
                Status::Warn,
                format!("Application {ans}/{app} not found: pass --app/--argocd-namespace so the refresh/sync commands target the right Application"),
            )),
            Got::Unreachable(w) | Got::Failed(w) => report.checks.push(check("argocd-application", Status::Skipped, format!("cannot read Application {ans}/{app}: {w}"))),
        }
    }
    report
}

/// Lists the lineages `os` records (an `info` check) and returns the window
/// of the one restored; a lineage with no completed base backup cannot be
/// restored (a `fail` naming the lineages that can).
fn lineage_windows(
    report: &mut LiveReport,
    os: &ObjectStore,
    name: &str,
    plan: &Subject<'_>,
) -> Option<Window> {
    let windows: Vec<(String, Window)> = os
        .lineages()
        .map(|(sn, w)| {
            (
                sn.to_string(),
                Window {
                    first: w.first_recoverability_point.clone(),
                    last: w.last_successful_backup_time.clone(),
                    failed: w.last_failed_backup_time.clone(),
                },
            )
        })
        .collect();
    let mut listed = check(
        "lineages",
        Status::Info,
        format!(
            "ObjectStore '{name}' records {} lineage(s) (status.serverRecoveryWindow)",
            windows.len()
        ),
    );
    listed.items = windows
        .iter()
        .map(|(sn, w)| {
            let marks: Vec<&str> = [
                (*sn == plan.from.server_name).then_some("restored"),
                (*sn == plan.current.server_name).then_some("archived to now"),
            ]
            .into_iter()
            .flatten()
            .collect();
            let mark = if marks.is_empty() {
                String::new()
            } else {
                format!(" ← {}", marks.join(", "))
            };
            format!("{sn}: {}{mark}", w.describe())
        })
        .collect();
    report.checks.push(listed);
    let from = &plan.from.server_name;
    let found = windows
        .iter()
        .find(|(sn, _)| sn == from)
        .map(|(_, w)| w.clone());
    if found.as_ref().is_some_and(Window::has_backup) {
        return found;
    }
    let with_backup: Vec<&str> = windows
        .iter()
        .filter(|(_, w)| w.has_backup())
        .map(|(sn, _)| sn.as_str())
        .collect();
    let why = match &found {
        Some(w) => format!("lineage '{from}' has {}", w.describe()),
        None => format!(
            "ObjectStore '{name}' has no status.serverRecoveryWindow['{from}']: no base backup exists in this lineage"
        ),
    };
    let choice = match with_backup.as_slice() {
        [] => format!(
            "no lineage of this store has a completed base backup: take one before a destructive recovery (kubectl cnpg backup {} -m plugin --plugin-name {BARMAN_PLUGIN})",
            plan.cluster
        ),
        some => format!(
            "lineages with a completed base backup: {}. Restore one of them with --from-lineage <serverName> (and pin the backup with --backup-id)",
            some.join(", ")
        ),
    };
    report.checks.push(check(
        "recovery-window",
        Status::Fail,
        format!("{why}, so there is nothing to restore from it; {choice}"),
    ));
    found
}

/// Whether the pinned backup can be a completed backup of the lineage: a
/// barman id is its start time, so it is at most the end of the newest
/// backup; only the oldest backup may start before the first
/// recoverability point (the end of the oldest, `docs/cnpg.md` §15.2).
fn backup_in_window(id: &str, lineage: &str, w: &Window, target: Option<&Target>) -> LiveCheck {
    let id_check = "backup-in-window";
    let Some(start) = cnpg_guard_core::cnpg::backup_id_start(id) else {
        return check(
            id_check,
            Status::Warn,
            format!(
                "--backup-id {id} is not a barman backup id (YYYYMMDDTHHMMSS, the backup's start): it cannot be checked against the window of '{lineage}'; CNPG fails with \"no backup found with ID {id}\" unless the lineage has a completed backup with it"
            ),
        );
    };
    let at = |t: &Option<String>| t.as_deref().and_then(|t| timefmt::parse_timestamp(t).ok());
    let Ok(begin) = timefmt::parse_timestamp(&start) else {
        return check(
            id_check,
            Status::Warn,
            format!("--backup-id {id}: unreadable start {start}"),
        );
    };
    if let Some(last) = at(&w.last)
        && begin > last
    {
        return check(
            id_check,
            Status::Fail,
            format!(
                "--backup-id {id} started at {start}, after the newest completed backup of '{lineage}' ended ({}): it is not a completed backup of this lineage (another lineage's, or one that failed), and the recovery would fail with \"no backup found with ID {id}\"",
                timefmt::format_utc(last)
            ),
        );
    }
    if let Some(Target::Time(t, secs)) = target
        && *secs < begin
    {
        return check(
            id_check,
            Status::Fail,
            format!(
                "--target-time {t} is before backup {id} started ({start}): a recovery cannot stop before the end of its base backup"
            ),
        );
    }
    if let Some(first) = at(&w.first)
        && begin < first
    {
        return check(
            id_check,
            Status::Warn,
            format!(
                "--backup-id {id} started at {start}, before the first recoverability point of '{lineage}' ({}): only the oldest retained backup can; if it is not that one, retention removed it and the recovery fails with \"no backup found with ID {id}\"",
                timefmt::format_utc(first)
            ),
        );
    }
    check(
        id_check,
        Status::Ok,
        format!("--backup-id {id} (started {start}) is inside the window of '{lineage}'"),
    )
}

/// `items` of a `kubectl get -o json` list.
fn list_items(list: &Value) -> impl Iterator<Item = &Value> {
    list.get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// `lineage` with its ObjectStore reference in `ns` (Git may name no
/// namespace, or `-n` points the checks elsewhere).
fn in_namespace(lineage: &Lineage, ns: &str) -> Lineage {
    let mut l = lineage.clone();
    if let Store::ObjectStore { namespace, .. } = &mut l.store {
        *namespace = ns.to_string();
    }
    l
}

/// Where a lineage's store is, for messages: its location when known.
fn describe_store<'a>(l: &Lineage, resolve: &lineage::Resolver<'a>) -> String {
    match (&l.store, l.location_with(resolve)) {
        (Store::ObjectStore { name, .. }, Some(loc)) => format!("ObjectStore '{name}' ({loc})"),
        (Store::ObjectStore { name, .. }, None) => format!("ObjectStore '{name}'"),
        (Store::Inline { .. }, Some(loc)) => format!("'{loc}'"),
        (Store::Inline { .. }, None) => format!("'{}'", l.store.label()),
    }
}

/// Whether a Deployment's pod template uses `secret` (env, envFrom, volumes).
pub fn references_secret(deploy: &Value, secret: &str) -> bool {
    let Some(spec) = deploy.pointer("/spec/template/spec") else {
        return false;
    };
    let containers = ["containers", "initContainers"].iter().flat_map(|k| {
        spec.get(*k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    });
    for c in containers {
        for e in c.get("env").and_then(Value::as_array).into_iter().flatten() {
            if e.pointer("/valueFrom/secretKeyRef/name")
                .and_then(Value::as_str)
                == Some(secret)
            {
                return true;
            }
        }
        for e in c
            .get("envFrom")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if e.pointer("/secretRef/name").and_then(Value::as_str) == Some(secret) {
                return true;
            }
        }
    }
    spec.get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|v| {
            v.pointer("/secret/secretName").and_then(Value::as_str) == Some(secret)
                || v.pointer("/projected/sources")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|s| s.pointer("/secret/name").and_then(Value::as_str) == Some(secret))
        })
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;

    #[test]
    fn secret_references() {
        let d = serde_json::json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "env": [{"name": "PGPASS", "valueFrom": {"secretKeyRef": {"name": "pg-app", "key": "password"}}}]}]}}}});
        assert!(references_secret(&d, "pg-app"));
        assert!(!references_secret(&d, "other-app"));
        let v = serde_json::json!({"spec": {"template": {"spec": {"containers": [], "volumes": [{"name": "x", "secret": {"secretName": "pg-app"}}]}}}});
        assert!(references_secret(&v, "pg-app"));
    }

    fn store(name: &str, dest: &str) -> ObjectStore {
        ObjectStore::deserialize(&serde_json::json!({"metadata": {"name": name},
            "spec": {"configuration": {"destinationPath": dest}}}))
        .unwrap()
    }

    #[test]
    fn git_lineage_is_compared_in_the_checked_namespace() {
        let c = Cluster::deserialize(&serde_json::json!({"metadata": {"name": "pg"},
            "spec": {"plugins": [{"name": BARMAN_PLUGIN,
                "parameters": {"barmanObjectName": "a", "serverName": "pg-v2"}}]}}))
        .unwrap();
        let git = lineage::archive(&c, "").unwrap();
        let live = lineage::archive(&c, "db").unwrap();
        let none = |_: &str, _: &str| None;
        assert!(!lineage::same_prefix(&live, &git, &none));
        assert!(lineage::same_prefix(
            &live,
            &in_namespace(&git, "db"),
            &none
        ));
    }

    #[test]
    fn store_descriptions_resolve_when_known() {
        let c = Cluster::deserialize(&serde_json::json!({"metadata": {"name": "pg"},
            "spec": {"plugins": [{"name": BARMAN_PLUGIN,
                "parameters": {"barmanObjectName": "a"}}]}}))
        .unwrap();
        let l = lineage::archive(&c, "db").unwrap();
        let a = store("a", "s3://bucket/");
        let known = |_: &str, n: &str| (n == "a").then_some(&a);
        assert_eq!(describe_store(&l, &known), "ObjectStore 'a' (s3://bucket)");
        assert_eq!(describe_store(&l, &|_, _| None), "ObjectStore 'a'");
    }
}
