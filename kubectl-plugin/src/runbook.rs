//! The ordered runbook with exact commands. Each step says which gotcha of
//! the seed runbook it prevents.

use cnpg_guard_core::cnpg::{
    CLUSTER_LABEL, CNPG_GROUP, FIRST_INSTANCE_SERIAL, FULL_RECOVERY_ROLE, full_recovery_job,
    instance_name,
};
use serde::Serialize;

use crate::plan::{LayoutKind, Plan};

/// One step.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Step {
    /// 1-based position.
    pub n: usize,
    /// What to do.
    pub title: String,
    /// Why (the failure it prevents).
    pub why: String,
    /// Exact commands, in order.
    pub commands: Vec<String>,
}

/// GitOps settings used in commands.
#[derive(Debug, Clone)]
pub struct GitOps {
    /// ArgoCD Application name.
    pub app: String,
    /// ArgoCD namespace.
    pub argocd_namespace: String,
    /// Flux Kustomization name.
    pub flux_kustomization: String,
    /// Flux namespace.
    pub flux_namespace: String,
    /// Path prefix for files in `git add`: the directory relative to the
    /// repository root (else as the user gave it).
    pub dir_prefix: String,
    /// `dir_prefix` is relative to the root of the git repository.
    pub from_repo_root: bool,
}

/// Quotes a shell word when needed.
pub fn sh(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// `cluster.postgresql.cnpg.io`: the Cluster resource, group-qualified so
/// kubectl never picks another API's `cluster` kind.
fn cluster_resource() -> String {
    format!("cluster.{CNPG_GROUP}")
}

/// The first instance's pod: where a recovered Cluster's primary runs.
fn primary_pod(cluster: &str) -> String {
    instance_name(cluster, FIRST_INSTANCE_SERIAL)
}

fn ns_flag(ns: &str) -> String {
    if ns.is_empty() {
        String::new()
    } else {
        format!("-n {} ", sh(ns))
    }
}

/// Steps of the in-place recovery.
pub fn recovery_steps(plan: &Plan, g: &GitOps, consumers: &[(String, String)]) -> Vec<Step> {
    let c = sh(&plan.cluster);
    let n = ns_flag(&plan.namespace);
    let res = cluster_resource();
    let sel = sh(&format!("{CLUSTER_LABEL}={}", plan.cluster));
    let files: Vec<String> = plan
        .changes
        .iter()
        .map(|ch| sh(&join(&g.dir_prefix, &ch.display)))
        .collect();
    let flux = plan.layout == LayoutKind::SingleFile;
    let mut steps: Vec<(String, String, Vec<String>)> = Vec::new();

    steps.push((
        "Pre-flight: confirm WAL archiving is healthy and record a baseline".into(),
        format!(
            "You restore from lineage '{}'. If ContinuousArchiving is not True the newest WAL never reached the object store and the restore silently ends earlier than you expect. Record row counts now to compare after the restore.",
            plan.from.server_name
        ),
        vec![
            format!("kubectl {n}get {res} {c} -o jsonpath='{{.status.conditions[?(@.type==\"ContinuousArchiving\")].status}}{{\"\\n\"}}'"),
            format!("kubectl {n}exec {} -- psql -U postgres -d {} -c 'SELECT pg_switch_wal();'", sh(&primary_pod(&plan.cluster)), sh(&plan.database_name)),
            format!("kubectl cnpg {n}status {c}"),
        ],
    ));
    steps.push((
        format!(
            "Commit the {} change(s) in ONE commit and push{}",
            files.len(),
            if g.from_repo_root {
                " (from the repository root)"
            } else {
                ""
            }
        ),
        format!(
            "The archive serverName ({} -> {}) and the recovery source ({}) must move in lockstep: bump one without the other and you either restore from the wrong lineage or write new WAL into the lineage you restore from.",
            plan.current.server_name, plan.to, plan.from.server_name
        ),
        vec![
            format!("git add {}", files.join(" ")),
            format!(
                "git commit -m {}",
                sh(&format!(
                    "cnpg({}): recover {} from {}, archive to {}",
                    plan.database, plan.cluster, plan.from.server_name, plan.to
                ))
            ),
            "git push".into(),
        ],
    ));
    if flux {
        let ks = sh(&g.flux_kustomization);
        let fns = sh(&g.flux_namespace);
        steps.push((
            "Make Flux apply the new commit, then check it did".into(),
            "Flux must have applied the pushed revision before you delete anything; otherwise it recreates the Cluster from the old revision (bootstrap.initdb) and you get a fresh EMPTY database.".into(),
            vec![
                format!("flux reconcile kustomization {ks} -n {fns} --with-source"),
                format!("kubectl -n {fns} get kustomization.kustomize.toolkit.fluxcd.io {ks} -o jsonpath='{{.status.lastAppliedRevision}}{{\"\\n\"}}'   # must end with $(git rev-parse HEAD)"),
            ],
        ));
        steps.push((
            "Suspend the Flux Kustomization".into(),
            "So Flux does not recreate the Cluster while its PVCs are still being deleted (the new Cluster would attach the old volumes and hang in 'Setting up primary').".into(),
            vec![format!("flux suspend kustomization {ks} -n {fns}")],
        ));
    } else {
        let app = sh(&g.app);
        let ans = sh(&g.argocd_namespace);
        steps.push((
            "Hard-refresh the ArgoCD Application".into(),
            "ArgoCD's manifest cache is sticky: without a hard refresh it recreates the Cluster from the CACHED pre-flip render (bootstrap.initdb) and you get a fresh empty database despite Git being right.".into(),
            vec![format!("kubectl -n {ans} annotate application {app} argocd.argoproj.io/refresh=hard --overwrite")],
        ));
        steps.push((
            "Check the Cluster shows OutOfSync BEFORE deleting anything".into(),
            "OutOfSync proves ArgoCD rendered the new commit (bootstrap.recovery). If it says Synced at an older revision, the cache was not refreshed: do not continue. (With automated sync it may already be Synced at HEAD: then the revision check below is the proof.)".into(),
            vec![
                format!("kubectl -n {ans} get application {app} -o jsonpath='{{.status.resources[?(@.kind==\"Cluster\")].status}}{{\"\\n\"}}'   # expect: OutOfSync"),
                format!("kubectl -n {ans} get application {app} -o jsonpath='{{.status.sync.revision}}{{\"\\n\"}}'   # expect: $(git rev-parse HEAD)"),
            ],
        ));
    }
    steps.push((
        format!("Delete the Cluster {}", plan.cluster),
        "CNPG evaluates spec.bootstrap only when a Cluster is CREATED; applying the recovery bootstrap to the existing Cluster does nothing. It has to be deleted and recreated.".into(),
        vec![format!("kubectl {n}delete {res} {c} --wait=true")],
    ));
    steps.push((
        "Delete its PVCs and wait until they are gone".into(),
        "CNPG keeps PVCs for data protection. A new Cluster that finds them attaches the old (empty or corrupt) data and hangs in 'Setting up primary' forever.".into(),
        vec![
            format!("kubectl {n}delete pvc -l {sel}"),
            format!("kubectl {n}wait --for=delete pvc -l {sel} --timeout=5m"),
        ],
    ));
    if flux {
        steps.push((
            "Resume Flux: it recreates the Cluster from the recovery manifest".into(),
            "Now that the Cluster and its PVCs are gone, Flux creates the Cluster with bootstrap.recovery.".into(),
            vec![format!(
                "flux resume kustomization {} -n {}",
                sh(&g.flux_kustomization),
                sh(&g.flux_namespace)
            )],
        ));
    } else {
        steps.push((
            "Sync the Application: ArgoCD recreates the Cluster from the recovery manifest".into(),
            "Now that the Cluster and its PVCs are gone, the sync creates the Cluster with bootstrap.recovery (`argocd app sync` does the same).".into(),
            vec![format!(
                "kubectl -n {} patch application {} --type merge -p '{{\"operation\":{{\"initiatedBy\":{{\"username\":\"kubectl-cnpg-plan\"}},\"sync\":{{}}}}}}'",
                sh(&g.argocd_namespace),
                sh(&g.app)
            )],
        ));
    }
    steps.push((
        "Watch the full-recovery pod and the WAL replay".into(),
        format!(
            "CNPG runs {}-*: it pulls the base backup, then replays WAL one file at a time ('restored log file ... from archive', 'redo in progress, elapsed time: ...'). Replay is the long part; 'consistent recovery state reached' ends it.",
            full_recovery_job(&plan.cluster)
        ),
        vec![
            format!("kubectl {n}get pods -l {sel} -w"),
            format!(
                "kubectl {n}logs -f job/{} -c {FULL_RECOVERY_ROLE} | grep -E 'restored log file|redo in progress|consistent recovery state|FATAL'",
                sh(&full_recovery_job(&plan.cluster))
            ),
        ],
    ));
    steps.push((
        "Verify: healthy, archiving to the NEW lineage, data as expected".into(),
        format!(
            "The restored primary must archive to '{}' (ContinuousArchiving=True); compare the row counts with the pre-flight baseline.",
            plan.to
        ),
        vec![
            format!("kubectl {n}wait --for=condition=Ready {res}/{c} --timeout=60m"),
            format!("kubectl {n}get {res} {c}   # expect: Cluster in healthy state"),
            format!("kubectl {n}get {res} {c} -o jsonpath='{{.status.conditions[?(@.type==\"ContinuousArchiving\")].status}}{{\"\\n\"}}'   # expect: True"),
            format!("kubectl cnpg {n}status {c}"),
        ],
    ));
    let restart: Vec<String> = if consumers.is_empty() {
        vec![format!(
            "kubectl -n <app-namespace> rollout restart deployment/<consumer>   # every workload that uses the {} secret",
            plan.app_secret
        )]
    } else {
        consumers
            .iter()
            .map(|(ns, d)| format!("kubectl -n {} rollout restart deployment/{}", sh(ns), sh(d)))
            .collect()
    };
    steps.push((
        "Restart the consumers".into(),
        "Application pods hold connections to the old server; they error and retry until restarted.".into(),
        restart,
    ));
    if flux {
        steps.push((
            "Leave bootstrap.recovery in Git (or revert it deliberately)".into(),
            "bootstrap is create-time only, so it is a no-op now. Keep in mind that if the Cluster is ever deleted again, Flux recreates it by restoring this lineage; run cnpg-plan again before any future drill.".into(),
            vec![],
        ));
    } else {
        steps.push((
            "Optional: flip the flag back to overlays/initdb".into(),
            "spec.bootstrap is a no-op on an existing Cluster, so this is cosmetic, but it stops an accidental Cluster delete from silently restoring this (by then stale) lineage. The lineage edits stay.".into(),
            vec![format!(
                "# edit {}: `- overlays/initdb` active, `# - overlays/recovery` commented; commit and push",
                join(&g.dir_prefix, "kustomization.yaml")
            )],
        ));
    }
    steps
        .into_iter()
        .enumerate()
        .map(|(i, (title, why, commands))| Step {
            n: i + 1,
            title,
            why,
            commands,
        })
        .collect()
}

/// Steps of the non-destructive drill.
pub fn restore_as_steps(new: &str, namespace: &str, file: &str, db: &str) -> Vec<Step> {
    let n = ns_flag(namespace);
    let c = sh(new);
    let res = cluster_resource();
    let sel = sh(&format!("{CLUSTER_LABEL}={new}"));
    let steps = vec![
        (
            "Create the drill Cluster".to_string(),
            "It restores into a NEW name, so the live Cluster is never touched; it archives to its own lineage so it cannot pollute the one it restores from.".to_string(),
            vec![format!("kubectl apply -f {}", sh(file))],
        ),
        (
            "Watch the restore".into(),
            "The full-recovery job pulls the base backup and replays WAL; a wrong serverName shows up here as 'no target backup found'.".into(),
            vec![
                format!("kubectl {n}get pods -l {sel} -w"),
                format!("kubectl {n}logs -f job/{} -c {FULL_RECOVERY_ROLE} | grep -E 'restored log file|redo in progress|consistent recovery state|FATAL'", sh(&full_recovery_job(new))),
                format!("kubectl {n}wait --for=condition=Ready {res}/{c} --timeout=60m"),
            ],
        ),
        (
            "Verify the data".into(),
            "Compare row counts with the live database: this is the proof that the backups restore.".into(),
            vec![format!("kubectl {n}exec {} -- psql -U postgres -d {} -c '\\dt+'", sh(&primary_pod(new)), sh(db))],
        ),
        (
            "Tear the drill down".into(),
            "Delete the Cluster and its PVCs; its archive prefix in the object store is left for the lifecycle rules (or delete it by hand).".into(),
            vec![
                format!("kubectl {n}delete {res} {c} --wait=true"),
                format!("kubectl {n}delete pvc -l {sel}"),
                format!("kubectl {n}wait --for=delete pvc -l {sel} --timeout=5m"),
            ],
        ),
    ];
    steps
        .into_iter()
        .enumerate()
        .map(|(i, (title, why, commands))| Step {
            n: i + 1,
            title,
            why,
            commands,
        })
        .collect()
}

fn join(prefix: &str, rel: &str) -> String {
    if prefix.is_empty() || prefix == "." {
        rel.to_string()
    } else {
        format!("{}/{rel}", prefix.trim_end_matches('/'))
    }
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
    fn shell_quoting() {
        assert_eq!(sh("temporal-database"), "temporal-database");
        assert_eq!(sh("a b"), "'a b'");
        assert_eq!(sh("it's"), "'it'\\''s'");
    }
}
