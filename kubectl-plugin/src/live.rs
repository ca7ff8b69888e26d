//! Live checks through the `kubectl` on PATH (or `CNPG_PLAN_KUBECTL`).
//!
//! Nothing here is ever faked: when the cluster cannot be reached, every
//! check is reported as `skipped` with the reason.

use std::process::Command;

use cnpg_guard_core::cnpg::lineage::{self, Lineage, Store};
use cnpg_guard_core::cnpg::str_at;
use serde::Serialize;
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
    /// The plan must not be executed as is (exit 3).
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
        cmd.arg("--request-timeout=10s");
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
    /// The lineage Git says it archives to (the one restored from).
    pub from: &'a Lineage,
    /// The PITR target, if any.
    pub target: Option<&'a Target>,
    /// In-place recovery (lists PVCs and consumers) or a side-by-side drill.
    pub destructive: bool,
}

impl<'a> Subject<'a> {
    /// The subject of an in-place plan.
    pub fn of(plan: &'a Plan) -> Subject<'a> {
        Subject {
            cluster: &plan.cluster,
            namespace: &plan.namespace,
            from: &plan.from,
            target: plan.target.as_ref(),
            destructive: true,
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
    let with_ns = |mut v: Vec<&'static str>, extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = v.drain(..).map(str::to_string).collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a.extend(ns_args.iter().map(|s| s.to_string()));
        a
    };
    let run_get = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        kube.get(&refs)
    };
    let cluster = match run_get(with_ns(vec!["cluster.postgresql.cnpg.io"], &[plan.cluster])) {
        Got::Json(v) => v,
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

    // Lineage.
    match lineage::archive(&cluster) {
        Some(live) if live.server_name == plan.from.server_name => report.checks.push(check(
            "lineage-matches-git",
            Status::Ok,
            format!("the live Cluster archives to '{}' as Git says: restoring from it", live.server_name),
        )),
        Some(live) => report.checks.push(check(
            "lineage-matches-git",
            Status::Fail,
            format!(
                "the live Cluster archives to '{}' but Git says '{}': Git is ahead (a previous plan was committed but the Cluster was not recreated) or behind. Reconcile before planning: the recovery source must be the lineage the live Cluster writes",
                live.server_name, plan.from.server_name
            ),
        )),
        None => report.checks.push(check(
            "lineage-matches-git",
            Status::Fail,
            "the live Cluster has no WAL archive configured: there is nothing to restore from",
        )),
    }

    // ContinuousArchiving.
    let cond = cnpg_guard_core::cnpg::items(&cluster, &["status", "conditions"])
        .map(|(_, c)| c)
        .find(|c| str_at(c, &["type"]) == Some("ContinuousArchiving"));
    report.checks.push(match cond {
        Some(c) if str_at(c, &["status"]) == Some("True") => check("continuous-archiving", Status::Ok, "ContinuousArchiving=True"),
        Some(c) => check(
            "continuous-archiving",
            Status::Warn,
            format!(
                "ContinuousArchiving={} ({}): the newest WAL may not be in the object store; the restore ends at the last archived WAL",
                str_at(c, &["status"]).unwrap_or("?"),
                str_at(c, &["message"]).unwrap_or("")
            ),
        ),
        None => check("continuous-archiving", Status::Warn, "no ContinuousArchiving condition on the Cluster"),
    });

    // Recovery window.
    let window = match &plan.from.store {
        Store::ObjectStore { name, .. } => {
            match run_get(with_ns(vec!["objectstores.barmancloud.cnpg.io"], &[name])) {
                Got::Json(os) => {
                    let w = os
                        .pointer("/status/serverRecoveryWindow")
                        .and_then(|m| m.get(plan.from.server_name.as_str()))
                        .cloned();
                    if w.is_none() {
                        report.checks.push(check(
                        "recovery-window",
                        Status::Fail,
                        format!(
                            "ObjectStore '{name}' has no status.serverRecoveryWindow['{}']: no base backup exists in this lineage yet, so there is nothing to restore (take a backup first: kubectl cnpg backup {} -m plugin --plugin-name barman-cloud.cloudnative-pg.io)",
                            plan.from.server_name, plan.cluster
                        ),
                    ));
                    }
                    w
                }
                Got::NotFound => {
                    report.checks.push(check(
                        "recovery-window",
                        Status::Fail,
                        format!("ObjectStore '{name}' not found in namespace '{ns}'"),
                    ));
                    None
                }
                Got::Unreachable(w) | Got::Failed(w) => {
                    report.checks.push(check(
                        "recovery-window",
                        Status::Skipped,
                        format!("cannot read ObjectStore '{name}': {w}"),
                    ));
                    None
                }
            }
        }
        Store::Inline { .. } => {
            let first = cluster.pointer("/status/firstRecoverabilityPoint").cloned();
            first.map(|f| serde_json::json!({"firstRecoverabilityPoint": f, "lastSuccessfulBackupTime": cluster.pointer("/status/lastSuccessfulBackup")}))
        }
    };
    if let Some(w) = &window {
        let first = w.get("firstRecoverabilityPoint").and_then(Value::as_str);
        let last = w.get("lastSuccessfulBackupTime").and_then(Value::as_str);
        report.checks.push(check(
            "recovery-window",
            Status::Ok,
            format!(
                "lineage '{}': first recoverability point {}, last successful backup {}",
                plan.from.server_name,
                first.unwrap_or("unknown"),
                last.unwrap_or("unknown")
            ),
        ));
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
    let sel = format!("cnpg.io/cluster={}", plan.cluster);
    match run_get(with_ns(vec!["pvc", "-l"], &[&sel])) {
        Got::Json(list) => {
            let names: Vec<String> = cnpg_guard_core::cnpg::items(&list, &["items"])
                .filter_map(|(_, p)| str_at(p, &["metadata", "name"]).map(str::to_string))
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

    // Consumers: Deployments referencing the <cluster>-app secret.
    let secret = format!("{}-app", plan.cluster);
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
            for (_, d) in cnpg_guard_core::cnpg::items(&list, &["items"]) {
                if references_secret(d, &secret) {
                    let dn = str_at(d, &["metadata", "name"])
                        .unwrap_or_default()
                        .to_string();
                    let dns = str_at(d, &["metadata", "namespace"])
                        .map_or_else(|| cns.clone(), str::to_string);
                    consumers.push((dns, dn));
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
                let sync = str_at(&a, &["status", "sync", "status"]).unwrap_or("unknown");
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
}
