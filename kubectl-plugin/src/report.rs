//! `recovery`: ties the plan, the policy, the live checks and the runbook
//! together, and prints text, markdown or the stable JSON schema.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cnpg_guard_core::view::{Kind, Object};
use cnpg_guard_core::{ObjectRef, Severity};
use cnpg_guard_host::check::settings::FlagOverrides;
use serde::Serialize;
use serde_json::Value;

use crate::edit::{self, FileChange, LineEdit};
use crate::error::{PlanError, exit};
use crate::live::{self, KubeOpts, LiveCheck, Status};
use crate::plan::{self, PlanInput, Restore};
use crate::policy::{self, Classified, EmbeddedPolicy, Origin, Settings};
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
    /// `--from-lineage`.
    pub from_lineage: Option<String>,
    /// `--backup-id`.
    pub backup_id: Option<String>,
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
    /// Policy settings flags (`--severity`, …), over the environment.
    pub settings: FlagOverrides,
    /// The environment settings are read from (`CNPG_GUARD_*`, …).
    pub env: BTreeMap<String, String>,
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
    /// `{from, to, current, store, fromExplicit}`.
    pub lineage: Value,
    /// Database and owner the recovery creates, the backup and target.
    pub recovery: Value,
    /// Changed hunks.
    pub edits: Vec<LineEdit>,
    /// Unified diff of all changes.
    pub diff: String,
    /// True when no blocking finding is a deny and the live checks passed.
    pub ready: bool,
    /// Whether `--write` applied the change.
    pub written: bool,
    /// Policy findings on the planned result: core `Finding`s with
    /// `blocking` (counts for the verdict) and `origin` (`planned-cluster`,
    /// `introduced`, or `pre-existing` on an object the plan does not
    /// touch: "fix soon", not blocking).
    pub findings: Vec<Classified>,
    /// Things the planner decided or noticed.
    pub notes: Vec<String>,
    /// The runbook.
    pub steps: Vec<Step>,
    /// Live checks (empty when live mode is off).
    pub live_checks: Vec<LiveCheck>,
    /// The drill manifest (restore-as only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// Why the plan could not be checked (the planned tree does not render).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Pretty JSON, never failing.
pub fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// What the flags ask to restore.
fn restore_of(o: &RecoveryOpts) -> Result<Restore, PlanError> {
    let target = plan::target_from_flags(
        o.target_time.as_deref(),
        o.target_lsn.as_deref(),
        o.target_immediate,
    )?;
    plan::restore_from_flags(o.from_lineage.as_deref(), o.backup_id.as_deref(), target)
}

/// The `recovery` block of the JSON.
fn recovery_json(
    database: &str,
    owner: &str,
    r: &Restore,
    flag_was_recovery: Option<bool>,
) -> Value {
    let mut v = serde_json::json!({
        "database": database, "owner": owner,
        "target": r.target.as_ref().map(plan::Target::describe),
        "backupId": r.backup_id,
        "restore": r.describe(),
    });
    if let (Some(f), Some(m)) = (flag_was_recovery, v.as_object_mut()) {
        m.insert("flagWasRecovery".into(), Value::Bool(f));
    }
    v
}

/// The directory as the repository names it: relative to the root of the
/// git work tree that holds it (else as given, relative to the working
/// directory when it lies below it). Commands in the runbook are run from
/// that root.
fn repo_relative(dir: &Path) -> (String, bool) {
    let abs = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    if let Some(root) = abs.ancestors().find(|a| a.join(".git").exists())
        && let Ok(rel) = abs.strip_prefix(root)
    {
        return (rel.display().to_string(), true);
    }
    if dir.is_relative() {
        return (dir.display().to_string(), false);
    }
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|c| c.canonicalize().ok());
    match cwd.as_deref().and_then(|c| abs.strip_prefix(c).ok()) {
        Some(rel) => (rel.display().to_string(), false),
        None => (dir.display().to_string(), false),
    }
}

/// Runs `recovery`; returns the exit code.
pub fn recovery(o: &RecoveryOpts) -> Result<u8, PlanError> {
    let restore = restore_of(o)?;
    let settings = Settings::resolve(&o.env, &o.settings)?;
    if let Some(new) = &o.restore_as {
        return restore_as(o, new, &restore, &settings);
    }
    let input = PlanInput {
        database: o.database.clone(),
        owner: o.owner.clone(),
        restore,
    };
    let mut p = plan::plan_recovery(&o.dir, &input)?;
    let diff: String = p.changes.iter().map(FileChange::unified_diff).collect();
    let edits: Vec<LineEdit> = p.changes.iter().flat_map(FileChange::line_edits).collect();
    let mut out = PlanJson {
        schema_version: 1,
        mode: "recovery",
        database: p.database.clone(),
        layout: p.layout,
        cluster: serde_json::json!({"name": p.cluster, "namespace": p.namespace}),
        lineage: serde_json::json!({"from": p.from.server_name, "to": p.to, "current": p.current.server_name, "store": p.store, "fromExplicit": p.from.explicit}),
        recovery: recovery_json(
            &p.database_name,
            &p.owner,
            &p.restore,
            Some(p.flag_was_recovery),
        ),
        edits,
        diff,
        ready: false,
        written: false,
        findings: Vec::new(),
        notes: p.notes.clone(),
        steps: Vec::new(),
        live_checks: Vec::new(),
        manifest: None,
        error: None,
    };

    // Render the planned tree (its failure is the planner's: show the diff
    // that broke it) and the current one (what was already there).
    let policy = EmbeddedPolicy::load(&o.env, &settings)?;
    let current_render = policy::render_dir(&p.dir, &settings);
    let rendered = match policy::render_planned(&p.dir, &p.changes, &settings) {
        Ok(r) => r,
        Err(mut e) => {
            e.fix = if current_render.is_ok() {
                format!(
                    "nothing was written. Your tree renders as it is: what fails is the planned one, with the edits above. If the error names a file the planner did not edit (it edited {}), the overlay the flip activates (not rendered until now) is broken: fix it and run again; otherwise the planner's edits broke the render: report it with the diff above",
                    p.changes
                        .iter()
                        .map(|c| c.display.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                "nothing was written. Your tree does not render either (kubectl cnpg-plan check shows why): fix it first".into()
            };
            out.error = Some(e.to_string());
            out.notes
                .push("the planned tree does not render: nothing was checked or written".into());
            emit_failed(o, &out);
            return Err(e);
        }
    };
    let current = match current_render {
        Ok(objects) => Some(policy.evaluate(&objects)?),
        Err(e) => {
            out.notes.push(format!(
                "the current tree does not render ({}): every finding of the planned tree counts as the plan's",
                e.message
            ));
            None
        }
    };
    let (cluster_name, cluster_ns) = rendered
        .iter()
        .map(Object::from_value)
        .find_map(|o| match o {
            Object::Cluster(c) if c.recovery().is_some() => Some((
                c.name().to_string(),
                c.namespace().to_string(),
                cnpg_guard_core::cnpg::application_secret(&c),
            )),
            _ => None,
        })
        .map(|(name, ns, secret)| {
            p.app_secret = secret;
            (name, ns)
        })
        .unwrap_or((p.cluster.clone(), p.namespace.clone()));
    p.cluster = cluster_name;
    p.namespace = match o.kube.namespace.as_deref().filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None => cluster_ns,
    };
    out.cluster = serde_json::json!({"name": p.cluster, "namespace": p.namespace});
    let planned = policy.evaluate(&rendered)?;
    let cluster_ref = planned
        .iter()
        .map(|e| &e.object_ref)
        .find(|r| r.kind == "Cluster" && r.name == p.cluster)
        .cloned()
        .unwrap_or_else(|| ObjectRef {
            kind: "Cluster".into(),
            name: p.cluster.clone(),
            namespace: p.namespace.clone(),
            ..ObjectRef::default()
        });
    let findings = policy::classify(&planned, current.as_deref(), &cluster_ref);
    let denied = policy::blocking_deny(&findings);

    let app = o.app.clone().unwrap_or_else(|| p.database.clone());
    let live_report = o.live.then(|| {
        let argo = (p.layout == plan::LayoutKind::Overlays)
            .then_some((app.as_str(), o.argocd_namespace.as_str()));
        live::run(&live::Subject::of(&p), &o.kube, argo)
    });
    let consumers = live_report
        .as_ref()
        .map(|r| r.consumers.clone())
        .unwrap_or_default();
    let dir = if o.dir.is_file() {
        o.dir.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        o.dir.clone()
    };
    let (dir_prefix, in_repo) = repo_relative(&dir);
    let g = GitOps {
        app: app.clone(),
        argocd_namespace: o.argocd_namespace.clone(),
        flux_kustomization: o
            .flux_kustomization
            .clone()
            .unwrap_or_else(|| format!("databases-{}", p.database)),
        flux_namespace: o.flux_namespace.clone(),
        dir_prefix,
        from_repo_root: in_repo,
    };
    out.steps = runbook::recovery_steps(&p, &g, &consumers);
    let live_failed = live_report.as_ref().is_some_and(live::LiveReport::failed);
    out.live_checks = live_report.map(|r| r.checks).unwrap_or_default();
    if !o.live {
        out.notes.push(
            "live checks not run (pass --live, --context or --kubeconfig to check the cluster)"
                .into(),
        );
    }
    let pre_existing = findings
        .iter()
        .filter(|f| f.origin == Origin::PreExisting)
        .count();
    if pre_existing > 0 {
        out.notes.push(format!(
            "{pre_existing} finding(s) were already there on objects this plan does not touch: they do not block the recovery (see \"fix soon\")"
        ));
    }

    // Write only a plan whose blocking findings allow it and whose live
    // checks passed.
    let mut write_error = None;
    if o.write && !denied && !live_failed {
        if p.changes.is_empty() {
            out.notes.push("nothing to write".into());
        } else {
            match write_changes(&p.changes) {
                Ok(()) => out.written = true,
                Err(e) => write_error = Some(e),
            }
        }
    } else if o.write {
        out.notes.push(
            "--write refused: the plan is denied or a live check failed; no file was changed"
                .into(),
        );
    }
    out.ready = !denied && !live_failed && write_error.is_none();
    out.findings = findings;
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

fn restore_as(
    o: &RecoveryOpts,
    new: &str,
    choice: &Restore,
    settings: &Settings,
) -> Result<u8, PlanError> {
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
        policy::render_dir(&dir, settings)?
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
        choice,
    )?;
    let mut bundle = objects.clone();
    bundle.push(r.object.clone());
    let results = EmbeddedPolicy::load(&o.env, settings)?.evaluate(&bundle)?;
    // The drill manifest is judged on its own findings: all of them block.
    let findings: Vec<Classified> = policy::findings(&results)
        .into_iter()
        .filter(|f| f.object.name == new)
        .map(|finding| Classified {
            finding,
            blocking: true,
            origin: Origin::PlannedCluster,
        })
        .collect();
    let denied = policy::blocking_deny(&findings);
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
    let current_lineage = cnpg_guard_core::cnpg::lineage::archive(
        &<cnpg_guard_core::view::Cluster as serde::Deserialize>::deserialize(current)
            .unwrap_or_default(),
        &ns,
    )
    .unwrap_or_else(|| r.from.clone());
    let live_report = o.live.then(|| {
        let subject = live::Subject {
            cluster: &current_name,
            namespace: &ns,
            current: &current_lineage,
            from: &r.from,
            target: choice.target.as_ref(),
            backup_id: choice.backup_id.as_deref(),
            app_secret: "",
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
        lineage: serde_json::json!({"from": r.from.server_name, "to": r.to, "current": current_lineage.server_name, "store": r.from.store.label(), "fromExplicit": r.from.explicit}),
        recovery: recovery_json(&r.database, &r.owner, choice, None),
        edits: change.line_edits(),
        diff: change.unified_diff(),
        ready: !denied && !live_failed && write_error.is_none(),
        written,
        findings,
        notes,
        steps,
        live_checks: live_report.map(|l| l.checks).unwrap_or_default(),
        manifest: Some(r.manifest.clone()),
        error: None,
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

/// The output of a plan whose planned tree did not render: what was
/// planned (the diff that broke it), then the error on stderr.
fn emit_failed(o: &RecoveryOpts, p: &PlanJson) {
    if o.json {
        println!("{}", to_json(p));
        return;
    }
    let mut s = header(p);
    if o.markdown {
        s = format!(
            "# Recovery plan: `{}` (NOT checked)\n\n## Change (not written)\n\n```diff\n{}```\n\n**NOT READY: the planned tree does not render; nothing was written (the error is on stderr).**\n",
            field(&p.cluster, "name").unwrap_or(""),
            p.diff
        );
    } else {
        s.push_str("== diff (planned, NOT written) ==\n");
        s.push_str(&p.diff);
        s.push('\n');
        s.push_str("NOT READY: the PLANNED tree (the edits above applied to a temp copy) does not render; nothing was written. The error follows.\n");
    }
    print!("{s}");
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
        .filter(|f| f.blocking && f.finding.severity == Severity::Deny)
        .count();
    let fix_soon = p.findings.iter().filter(|f| !f.blocking).count();
    let live_fail = p.live_checks.iter().any(|c| c.status == Status::Fail);
    let later = if fix_soon > 0 {
        format!(" ({fix_soon} pre-existing finding(s) elsewhere: fix soon, not blocking)")
    } else {
        String::new()
    };
    if deny > 0 {
        format!(
            "NOT READY: the policy denies the planned result ({deny} denial(s) on what this plan changes); fix them before running any step"
        )
    } else if live_fail {
        "NOT READY: a live check failed; do not run the steps".into()
    } else if p.written {
        format!(
            "READY: files written and accepted by the policy; follow the steps from step 2{later}"
        )
    } else {
        format!("READY: accepted by the policy. Re-run with --write to apply the edits{later}")
    }
}

/// The plan's first lines: Cluster, lineage, recovery.
fn header(p: &PlanJson) -> String {
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
    let from = field(&p.lineage, "from").unwrap_or("");
    let current = field(&p.lineage, "current").unwrap_or(from);
    s.push_str(&format!(
        "lineage: restore from '{from}' → new archive '{}' (store {}){}\n",
        field(&p.lineage, "to").unwrap_or(""),
        field(&p.lineage, "store").unwrap_or(""),
        if current != from {
            format!("; the Cluster archives to '{current}' now")
        } else {
            String::new()
        }
    ));
    s.push_str(&format!(
        "recovery: database '{}' owner '{}'{}\n\n",
        field(&p.recovery, "database").unwrap_or(""),
        field(&p.recovery, "owner").unwrap_or(""),
        field(&p.recovery, "restore")
            .map(|t| format!(", {t}"))
            .unwrap_or_default()
    ));
    s
}

fn text(p: &PlanJson) -> String {
    let mut s = header(p);
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
    let (blocking, fix_soon): (Vec<&Classified>, Vec<&Classified>) =
        p.findings.iter().partition(|f| f.blocking);
    if p.findings.is_empty() {
        s.push_str("no findings\n");
    } else if blocking.is_empty() {
        s.push_str("no findings on what this plan changes\n");
    }
    let line = |f: &Classified| {
        let text = if f.finding.text.is_empty() {
            f.finding.render()
        } else {
            f.finding.text.clone()
        };
        format!("{}: {text}\n", f.finding.severity.as_str())
    };
    for f in &blocking {
        s.push_str(&line(f));
    }
    s.push('\n');
    if !fix_soon.is_empty() {
        s.push_str(
            "== fix soon (pre-existing on objects this plan does not touch; not blocking) ==\n",
        );
        for f in &fix_soon {
            s.push_str(&line(f));
        }
        s.push('\n');
    }
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
        field(&p.recovery, "restore").map(|t| format!(", {t}")).unwrap_or_default()
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
    if p.findings.iter().all(|f| !f.blocking) {
        s.push_str("No findings on what this plan changes.\n");
    }
    let item = |f: &Classified| {
        format!(
            "- **{}** `{}` {}\n",
            f.finding.severity.as_str(),
            f.finding.rule,
            f.finding.render()
        )
    };
    for f in p.findings.iter().filter(|f| f.blocking) {
        s.push_str(&item(f));
    }
    s.push('\n');
    if p.findings.iter().any(|f| !f.blocking) {
        s.push_str("### Fix soon (pre-existing, not blocking)\n\n");
        for f in p.findings.iter().filter(|f| !f.blocking) {
            s.push_str(&item(f));
        }
        s.push('\n');
    }
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
