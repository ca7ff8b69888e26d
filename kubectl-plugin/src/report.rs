//! `recovery`: ties the plan, the policy, the live checks and the runbook
//! together, and prints text, markdown or the stable JSON schema.

use std::path::PathBuf;

use cnpg_guard_core::view::{Kind, Object};
use cnpg_guard_core::{Finding, ObjectRef, Severity};
use serde::Serialize;
use serde_json::Value;

use crate::edit::{self, FileChange, LineEdit};
use crate::error::{PlanError, exit};
use crate::live::{self, KubeOpts, LiveCheck, Status};
use crate::plan::{self, PlanInput};
use crate::policy::{self, PolicyEngine};
use crate::restore;
use crate::runbook::{self, GitOps, Step};

/// Everything `recovery` was asked.
#[derive(Debug, Clone)]
pub struct RecoveryOpts {
    /// The directory or file.
    pub dir: PathBuf,
    /// Apply.
    pub write: bool,
    /// `--database`.
    pub database: Option<String>,
    /// `--owner`.
    pub owner: Option<String>,
    /// `--target-time`.
    pub target_time: Option<String>,
    /// `--target-lsn`.
    pub target_lsn: Option<String>,
    /// `--target-immediate`.
    pub target_immediate: bool,
    /// `--restore-as`.
    pub restore_as: Option<String>,
    /// `--out`.
    pub out: Option<PathBuf>,
    /// `--app`.
    pub app: Option<String>,
    /// `--argocd-namespace`.
    pub argocd_namespace: String,
    /// `--flux-kustomization`.
    pub flux_kustomization: Option<String>,
    /// `--flux-namespace`.
    pub flux_namespace: String,
    /// Live mode on.
    pub live: bool,
    /// Live connection flags.
    pub kube: KubeOpts,
    /// `-o markdown`.
    pub markdown: bool,
    /// `-o json`.
    pub json: bool,
}

/// `-o json` (schemaVersion 1). Field names are stable; new fields may be added.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanJson {
    /// Always 1 for this shape.
    pub schema_version: u32,
    /// `recovery` or `restore-as`.
    pub mode: &'static str,
    /// The database directory name.
    pub database: String,
    /// `overlays` or `single-file`.
    pub layout: plan::LayoutKind,
    /// Cluster `{name, namespace}`.
    pub cluster: Value,
    /// `{from, to, store}`.
    pub lineage: Value,
    /// Database and owner the recovery creates.
    pub recovery: Value,
    /// Changed hunks.
    pub edits: Vec<LineEdit>,
    /// Unified diff of all changes.
    pub diff: String,
    /// True when every deny-free check passed (never true with a denial).
    pub ready: bool,
    /// Whether `--write` applied the change.
    pub written: bool,
    /// Policy findings on the planned result (core `Finding`s).
    pub findings: Vec<Finding>,
    /// Things the planner decided or noticed.
    pub notes: Vec<String>,
    /// The runbook.
    pub steps: Vec<Step>,
    /// Live checks (empty when live mode is off).
    pub live_checks: Vec<LiveCheck>,
    /// The drill manifest (restore-as only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
}

/// Pretty JSON, never failing.
pub fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Runs `recovery`; returns the exit code.
pub fn recovery(o: &RecoveryOpts) -> Result<u8, PlanError> {
    let target = plan::target_from_flags(
        o.target_time.as_deref(),
        o.target_lsn.as_deref(),
        o.target_immediate,
    )?;
    if let Some(new) = &o.restore_as {
        return restore_as(o, new, target);
    }
    let input = PlanInput {
        database: o.database.clone(),
        owner: o.owner.clone(),
        target,
    };
    let p = plan::plan_recovery(&o.dir, &input)?;

    // Render the planned tree and run the policy.
    let rendered = policy::render_planned(&p.dir, &p.changes)?;
    let (cluster_name, cluster_ns) = rendered
        .iter()
        .map(Object::from_value)
        .find_map(|o| match o {
            Object::Cluster(c) if c.recovery().is_some() => Some((
                c.name().to_string(),
                c.metadata
                    .as_ref()
                    .map_or("", |m| m.namespace_or(""))
                    .to_string(),
            )),
            _ => None,
        })
        .unwrap_or((p.cluster.clone(), p.namespace.clone()));
    let mut p = p;
    p.cluster = cluster_name;
    if o.kube.namespace.as_deref().is_some_and(|n| !n.is_empty()) {
        p.namespace = o.kube.namespace.clone().unwrap_or_default();
    } else {
        p.namespace = cluster_ns;
    }
    let results = policy::EmbeddedPolicy.evaluate(&rendered).map_err(|e| {
        PlanError::tooling(
            format!("the planned result could not be checked by the policy: {e}"),
            "the plan is NOT verified; rebuild kubectl-cnpg_plan with the embedded policy",
        )
    })?;
    let findings = policy::findings(&results);
    let denied = findings.iter().any(|f| f.severity == Severity::Deny);

    let app = o.app.clone().unwrap_or_else(|| p.database.clone());
    let live_report = if o.live {
        let argo = (p.layout == plan::LayoutKind::Overlays)
            .then_some((app.as_str(), o.argocd_namespace.as_str()));
        Some(live::run(&live::Subject::of(&p), &o.kube, argo))
    } else {
        None
    };
    let consumers = live_report
        .as_ref()
        .map(|r| r.consumers.clone())
        .unwrap_or_default();
    let g = GitOps {
        app: app.clone(),
        argocd_namespace: o.argocd_namespace.clone(),
        flux_kustomization: o
            .flux_kustomization
            .clone()
            .unwrap_or_else(|| format!("databases-{}", p.database)),
        flux_namespace: o.flux_namespace.clone(),
        dir_prefix: if o.dir.is_file() {
            o.dir
                .parent()
                .map(|d| d.display().to_string())
                .unwrap_or_default()
        } else {
            o.dir.display().to_string()
        },
    };
    let steps = runbook::recovery_steps(&p, &g, &consumers);
    let mut live_checks = live_report
        .as_ref()
        .map(|r| r.checks.clone())
        .unwrap_or_default();
    if !o.live {
        live_checks.clear();
    }
    let live_failed = live_report.as_ref().is_some_and(live::LiveReport::failed);

    let diff: String = p.changes.iter().map(FileChange::unified_diff).collect();
    let edits: Vec<LineEdit> = p.changes.iter().flat_map(FileChange::line_edits).collect();
    let mut notes = p.notes.clone();
    if !o.live {
        notes.push(
            "live checks not run (pass --live, --context or --kubeconfig to check the cluster)"
                .into(),
        );
    }

    // Write only a plan that is accepted and whose live checks passed.
    let mut written = false;
    let mut write_error = None;
    if o.write && !denied && !live_failed {
        if p.changes.is_empty() {
            notes.push("nothing to write".into());
        } else {
            match write_changes(&p.changes) {
                Ok(()) => written = true,
                Err(e) => write_error = Some(e),
            }
        }
    } else if o.write {
        notes.push(
            "--write refused: the plan is denied or a live check failed; no file was changed"
                .into(),
        );
    }
    let ready = !denied && !live_failed && write_error.is_none();
    let out = PlanJson {
        schema_version: 1,
        mode: "recovery",
        database: p.database.clone(),
        layout: p.layout,
        cluster: serde_json::json!({"name": p.cluster, "namespace": p.namespace}),
        lineage: serde_json::json!({"from": p.from.server_name, "to": p.to, "store": p.store, "fromExplicit": p.from.explicit}),
        recovery: serde_json::json!({
            "database": p.database_name, "owner": p.owner,
            "target": p.target.as_ref().map(plan::Target::describe),
            "flagWasRecovery": p.flag_was_recovery,
        }),
        edits,
        diff,
        ready,
        written,
        findings,
        notes,
        steps,
        live_checks,
        manifest: None,
    };
    emit(o, &out);
    if let Some(e) = write_error {
        return Err(e);
    }
    Ok(if denied {
        exit::DENIED
    } else if live_failed {
        exit::LIVE
    } else {
        exit::OK
    })
}

fn write_changes(changes: &[FileChange]) -> Result<(), PlanError> {
    let mut batch = Vec::new();
    for c in changes {
        let text = c
            .new_text()
            .map_err(|e| PlanError::tooling(e, "report this as a bug"))?;
        batch.push((
            c.path.clone(),
            text,
            (!c.create).then(|| c.original.clone()),
        ));
    }
    edit::write_all(&batch).map_err(|e| {
        let mut msg = format!("--write failed: {}", e.message);
        if !e.rolled_back.is_empty() {
            msg.push_str(&format!(
                "; rolled back {} already-replaced file(s)",
                e.rolled_back.len()
            ));
        }
        if !e.unrestored.is_empty() {
            msg.push_str(&format!(
                "; COULD NOT restore: {}",
                e.unrestored
                    .iter()
                    .map(|(t, b)| format!("{} (backup at {})", t.display(), b.display()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        } else {
            msg.push_str("; every file is unchanged");
        }
        PlanError::tooling(
            msg,
            "fix the cause (permissions, read-only or immutable files) and run again",
        )
        .in_file(e.file.display().to_string())
    })
}

fn restore_as(o: &RecoveryOpts, new: &str, target: Option<plan::Target>) -> Result<u8, PlanError> {
    let dir = if o.dir.is_file() {
        o.dir.parent().map(PathBuf::from).unwrap_or_default()
    } else {
        o.dir.clone()
    };
    let objects: Vec<Value> = if o.dir.is_file() {
        let text = std::fs::read_to_string(&o.dir).map_err(|e| {
            PlanError::input(format!("cannot read: {e}"), "check the path")
                .in_file(o.dir.display().to_string())
        })?;
        cnpg_guard_host::manifests::parse_stream(&text).map_err(|e| {
            PlanError::input(format!("invalid manifests: {e}"), "fix the YAML")
                .in_file(o.dir.display().to_string())
        })?
    } else {
        policy::render_dir(&dir)?
    };
    let clusters: Vec<&Value> = objects
        .iter()
        .filter(|v| Object::from_value(v).kind() == Some(Kind::Cluster))
        .collect();
    let current = match clusters.as_slice() {
        [one] => *one,
        [] => {
            return Err(PlanError::input(
                "no CNPG Cluster in the rendered tree",
                "pass the database directory",
            )
            .in_file(o.dir.display().to_string()));
        }
        _ => {
            return Err(PlanError::input(
                "several Clusters in the rendered tree",
                "pass one database directory",
            )
            .in_file(o.dir.display().to_string()));
        }
    };
    let r = restore::build(
        current,
        new,
        o.database.as_deref(),
        o.owner.as_deref(),
        target.as_ref(),
    )?;
    let mut bundle = objects.clone();
    bundle.push(r.object.clone());
    let results = policy::EmbeddedPolicy.evaluate(&bundle).map_err(|e| {
        PlanError::tooling(
            format!("the drill manifest could not be checked by the policy: {e}"),
            "the manifest is NOT verified",
        )
    })?;
    let findings: Vec<Finding> = policy::findings(&results)
        .into_iter()
        .filter(|f| f.object.name == new)
        .collect();
    let denied = findings.iter().any(|f| f.severity == Severity::Deny);
    let out_path = match &o.out {
        Some(p) if p.is_dir() => p.join(format!("{new}.yaml")),
        Some(p) => p.clone(),
        None => PathBuf::from(format!("{new}.yaml")),
    };
    let change = FileChange {
        path: out_path.clone(),
        display: out_path.display().to_string(),
        original: String::new(),
        edits: vec![edit::TextEdit {
            start: 0,
            end: 0,
            text: r.manifest.clone(),
        }],
        create: true,
    };
    let current_ref = ObjectRef::of_value(current, "");
    let ns = current_ref.namespace.clone();
    let steps = runbook::restore_as_steps(new, &ns, &out_path.display().to_string(), &r.database);
    let mut notes = vec![format!(
        "restores {} into Cluster {new}, which archives to serverName {} (its own lineage)",
        r.from.describe(),
        r.to
    )];
    let current_name = current_ref.name.clone();
    let live_report = o.live.then(|| {
        let subject = live::Subject {
            cluster: &current_name,
            namespace: &ns,
            from: &r.from,
            target: target.as_ref(),
            destructive: false,
        };
        live::run(&subject, &o.kube, None)
    });
    if !o.live {
        notes.push(
            "live checks not run (pass --live, --context or --kubeconfig to check the cluster)"
                .into(),
        );
    }
    let live_failed = live_report.as_ref().is_some_and(live::LiveReport::failed);
    let mut written = false;
    let mut write_error = None;
    if o.write && !denied && !live_failed {
        match edit::write_all(&[(out_path.clone(), r.manifest.clone(), None)]) {
            Ok(()) => written = true,
            Err(e) => {
                write_error = Some(
                    PlanError::tooling(
                        format!("--write failed: {}", e.message),
                        "choose another --out path",
                    )
                    .in_file(e.file.display().to_string()),
                );
            }
        }
    } else if o.write {
        notes.push(
            "--write refused: the policy denies the drill manifest or a live check failed".into(),
        );
    }
    let out = PlanJson {
        schema_version: 1,
        mode: "restore-as",
        database: dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default(),
        layout: if o.dir.is_file() {
            plan::LayoutKind::SingleFile
        } else {
            plan::LayoutKind::Overlays
        },
        cluster: serde_json::json!({"name": new, "namespace": ns}),
        lineage: serde_json::json!({"from": r.from.server_name, "to": r.to, "store": r.from.store.label(), "fromExplicit": r.from.explicit}),
        recovery: serde_json::json!({"database": r.database, "owner": r.owner, "target": target.as_ref().map(plan::Target::describe)}),
        edits: change.line_edits(),
        diff: change.unified_diff(),
        ready: !denied && !live_failed && write_error.is_none(),
        written,
        findings,
        notes,
        steps,
        live_checks: live_report.map(|l| l.checks).unwrap_or_default(),
        manifest: Some(r.manifest.clone()),
    };
    emit(o, &out);
    if let Some(e) = write_error {
        return Err(e);
    }
    Ok(if denied {
        exit::DENIED
    } else if live_failed {
        exit::LIVE
    } else {
        exit::OK
    })
}

fn emit(o: &RecoveryOpts, p: &PlanJson) {
    if o.json {
        println!("{}", to_json(p));
    } else if o.markdown {
        print!("{}", markdown(p));
    } else {
        print!("{}", text(p));
    }
}

/// A string field of a JSON object (never panics).
fn field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn verdict_line(p: &PlanJson) -> String {
    let deny = p
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Deny)
        .count();
    let live_fail = p.live_checks.iter().any(|c| c.status == Status::Fail);
    if deny > 0 {
        format!(
            "NOT READY: the policy denies the planned result ({deny} denial(s)); fix them before running any step"
        )
    } else if live_fail {
        "NOT READY: a live check failed; do not run the steps".into()
    } else if p.written {
        "READY: files written and accepted by the policy; follow the steps from step 2".into()
    } else {
        "READY: accepted by the policy. Re-run with --write to apply the edits".into()
    }
}

fn text(p: &PlanJson) -> String {
    let mut s = String::new();
    let c = &p.cluster;
    s.push_str(&format!(
        "cnpg-plan {}: Cluster {}{} — database '{}'\n",
        p.mode,
        field(c, "namespace")
            .filter(|n| !n.is_empty())
            .map(|n| format!("{n}/"))
            .unwrap_or_default(),
        field(c, "name").unwrap_or(""),
        p.database
    ));
    s.push_str(&format!(
        "lineage: restore from '{}' → new archive '{}' (store {})\n",
        field(&p.lineage, "from").unwrap_or(""),
        field(&p.lineage, "to").unwrap_or(""),
        field(&p.lineage, "store").unwrap_or("")
    ));
    s.push_str(&format!(
        "recovery: database '{}' owner '{}'{}\n\n",
        field(&p.recovery, "database").unwrap_or(""),
        field(&p.recovery, "owner").unwrap_or(""),
        field(&p.recovery, "target")
            .map(|t| format!(", {t}"))
            .unwrap_or_default()
    ));
    if let Some(m) = &p.manifest {
        s.push_str("== manifest ==\n");
        s.push_str(m);
        s.push('\n');
    } else {
        s.push_str("== diff ==\n");
        s.push_str(if p.diff.is_empty() {
            "(no change)\n"
        } else {
            &p.diff
        });
        s.push('\n');
    }
    if !p.notes.is_empty() {
        s.push_str("== notes ==\n");
        for n in &p.notes {
            s.push_str(&format!("- {n}\n"));
        }
        s.push('\n');
    }
    s.push_str("== policy ==\n");
    if p.findings.is_empty() {
        s.push_str("no findings\n");
    }
    for f in &p.findings {
        s.push_str(&format!(
            "{}: {}\n",
            f.severity.as_str(),
            if f.text.is_empty() {
                f.render()
            } else {
                f.text.clone()
            }
        ));
    }
    s.push('\n');
    if !p.live_checks.is_empty() {
        s.push_str("== live checks ==\n");
        for c in &p.live_checks {
            let st = match c.status {
                Status::Ok => "ok",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
                Status::Skipped => "skipped",
                Status::Info => "info",
            };
            s.push_str(&format!("[{st}] {}: {}\n", c.id, c.message));
            for i in &c.items {
                s.push_str(&format!("    {i}\n"));
            }
        }
        s.push('\n');
    }
    s.push_str("== runbook ==\n");
    for st in &p.steps {
        s.push_str(&format!("{}. {}\n   why: {}\n", st.n, st.title, st.why));
        for c in &st.commands {
            s.push_str(&format!("   $ {c}\n"));
        }
    }
    s.push('\n');
    s.push_str(&verdict_line(p));
    s.push('\n');
    s
}

fn markdown(p: &PlanJson) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "# Recovery plan: `{}` ({})\n\n",
        field(&p.cluster, "name").unwrap_or(""),
        p.mode
    ));
    s.push_str(&format!(
        "- Restore from lineage **`{}`**, new archive lineage **`{}`** (store `{}`)\n- Database `{}`, owner `{}`{}\n\n",
        field(&p.lineage, "from").unwrap_or(""),
        field(&p.lineage, "to").unwrap_or(""),
        field(&p.lineage, "store").unwrap_or(""),
        field(&p.recovery, "database").unwrap_or(""),
        field(&p.recovery, "owner").unwrap_or(""),
        field(&p.recovery, "target").map(|t| format!(", {t}")).unwrap_or_default()
    ));
    s.push_str(&format!("**{}**\n\n", verdict_line(p)));
    if let Some(m) = &p.manifest {
        s.push_str(&format!("## Manifest\n\n```yaml\n{m}```\n\n"));
    } else {
        s.push_str(&format!("## Change\n\n```diff\n{}```\n\n", p.diff));
    }
    if !p.notes.is_empty() {
        s.push_str("## Notes\n\n");
        for n in &p.notes {
            s.push_str(&format!("- {n}\n"));
        }
        s.push('\n');
    }
    s.push_str("## Policy\n\n");
    if p.findings.is_empty() {
        s.push_str("No findings.\n");
    }
    for f in &p.findings {
        s.push_str(&format!(
            "- **{}** `{}` {}\n",
            f.severity.as_str(),
            f.rule,
            f.render()
        ));
    }
    s.push('\n');
    if !p.live_checks.is_empty() {
        s.push_str("## Live checks\n\n| check | status | result |\n|---|---|---|\n");
        for c in &p.live_checks {
            let mut msg = c.message.replace('|', "\\|");
            if !c.items.is_empty() {
                msg.push_str(&format!(" ({})", c.items.join(", ")));
            }
            s.push_str(&format!("| {} | {:?} | {} |\n", c.id, c.status, msg));
        }
        s.push('\n');
    }
    s.push_str("## Runbook\n\n");
    for st in &p.steps {
        s.push_str(&format!(
            "### {}. {}\n\n_Why:_ {}\n\n",
            st.n, st.title, st.why
        ));
        if !st.commands.is_empty() {
            s.push_str("```sh\n");
            for c in &st.commands {
                s.push_str(c);
                s.push('\n');
            }
            s.push_str("```\n\n");
        }
    }
    s
}
