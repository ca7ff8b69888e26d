//! The planner's seam to the policy: the planned tree is rendered and read
//! by the same host code as `check` (`cnpg_guard_host::check`), and evaluated
//! by the embedded policy with the settings `check` resolves (flags over
//! `PARAM_*` / `ARGOCD_ENV_*` / `CNPG_GUARD_*`, `check`'s defaults otherwise).
//!
//! A plan is judged on what it changes: [`classify`] splits the planned
//! tree's findings into those on the planned Cluster or introduced by the
//! plan (they block `--write`) and those that were already there on objects
//! the plan does not touch (printed as "fix soon").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cnpg_guard_core::{Finding, ObjectRef, Severity, Verdict};
use cnpg_guard_host::Engine;
use cnpg_guard_host::check::{self, CheckError, Input, Options, settings};
use serde::Serialize;
use serde_json::Value;

use crate::edit::FileChange;
use crate::error::PlanError;

/// One evaluated object.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// The object as rendered (before any policy mutation).
    pub object: Value,
    /// Which object (namespace filled in as it was evaluated).
    pub object_ref: ObjectRef,
    /// What the policy said.
    pub verdict: Verdict,
}

/// The settings of one run, resolved once.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The policy settings JSON.
    pub policy: Value,
    /// Let kustomize inflate helmCharts.
    pub enable_helm: bool,
}

impl Settings {
    /// Resolves the settings as `check` does: `flags` over the environment
    /// (`PARAM_*`, `ARGOCD_ENV_*`, `CNPG_GUARD_*`). A bad value is a usage
    /// error naming where it came from.
    pub fn resolve(
        env: &BTreeMap<String, String>,
        flags: &settings::FlagOverrides,
    ) -> Result<Settings, PlanError> {
        let resolved = settings::resolve(env, flags).map_err(|e| {
            PlanError::input(
                format!("bad parameter {e}"),
                "fix the flag or variable (kubectl cnpg-plan check takes the same settings)",
            )
        })?;
        Ok(Settings {
            policy: resolved.policy_settings(),
            enable_helm: resolved.enable_helm,
        })
    }
}

/// The embedded policy, loaded once with the run's settings (the policy's
/// own `validate_settings` refuses unknown rules and levels: exit 2).
pub struct EmbeddedPolicy {
    engine: Engine,
    settings: Value,
}

impl EmbeddedPolicy {
    /// Loads the policy module (cached by `CNPG_GUARD_CACHE_DIR` like
    /// `check`) and validates `settings` with it.
    pub fn load(env: &BTreeMap<String, String>, settings: &Settings) -> Result<Self, PlanError> {
        let engine =
            check::load_engine(check::module_cache(env), &settings.policy).map_err(|e| match e {
                CheckError::Usage(m) => PlanError::input(
                    m,
                    "fix --severity (RULE=deny|warn|off, mutate for mutating rules) or the other settings",
                ),
                other => PlanError::tooling(
                    format!("the policy could not be loaded: {other}"),
                    "the plan is NOT verified; rebuild kubectl-cnpg_plan with the embedded policy",
                ),
            })?;
        Ok(EmbeddedPolicy {
            engine,
            settings: settings.policy.clone(),
        })
    }

    /// Evaluates a bundle of objects (each sees the others as cluster state).
    pub fn evaluate(&self, objects: &[Value]) -> Result<Vec<Evaluated>, PlanError> {
        if objects.is_empty() {
            return Ok(Vec::new());
        }
        let report = cnpg_guard_host::bundle::evaluate_bundle(
            &self.engine,
            objects.to_vec(),
            &self.settings,
        )
        .map_err(|e| {
            PlanError::tooling(
                format!("the policy evaluation failed: {e}"),
                "the plan is NOT verified; report this with the tree",
            )
        })?;
        Ok(objects
            .iter()
            .zip(report.results)
            .map(|(object, r)| Evaluated {
                object: object.clone(),
                object_ref: r.object,
                verdict: r.verdict,
            })
            .collect())
    }
}

/// Renders a directory or file exactly as `check` reads it (kustomizations
/// rendered, plain directories walked, the one manifest parser). Any part
/// that fails to render is an error naming it.
pub fn render_dir(dir: &Path, settings: &Settings) -> Result<Vec<Value>, PlanError> {
    let opts = Options {
        policy_settings: settings.policy.clone(),
        enable_helm: settings.enable_helm,
        ..Options::default()
    };
    let prepared = check::prepare(&[Input::Path(dir.to_path_buf())], &opts).map_err(|e| {
        PlanError::render(
            e.to_string(),
            "run `kubectl cnpg-plan check` on it to see every problem",
        )
        .in_file(dir.display().to_string())
    })?;
    if let Some((label, error)) = prepared.errors().first() {
        return Err(PlanError::render(
            format!("{label}: {error}"),
            "fix the kustomization (`kubectl kustomize` on the directory shows the same error)",
        )
        .in_file(dir.display().to_string()));
    }
    Ok(prepared.into_objects())
}

/// Copies `dir` into a temp dir, applies `changes` there, and renders it.
pub fn render_planned(
    dir: &Path,
    changes: &[FileChange],
    settings: &Settings,
) -> Result<Vec<Value>, PlanError> {
    let tmp = tempfile::Builder::new()
        .prefix("cnpg-plan-render-")
        .tempdir()
        .map_err(|e| {
            PlanError::tooling(format!("cannot create a temp dir: {e}"), "check TMPDIR")
        })?;
    let copy = mirror(dir, tmp.path()).map_err(|e| {
        PlanError::tooling(
            format!("cannot copy the tree for rendering: {e}"),
            "check the directory is readable",
        )
        .in_file(dir.display().to_string())
    })?;
    for ch in changes {
        let target = copy.join(&ch.display);
        let text = ch
            .new_text()
            .map_err(|e| PlanError::tooling(e, "report this as a bug"))?;
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| PlanError::tooling(e.to_string(), "check TMPDIR"))?;
        }
        std::fs::write(&target, text)
            .map_err(|e| PlanError::tooling(e.to_string(), "check TMPDIR"))?;
    }
    render_dir(&copy, settings).map_err(|e| PlanError {
        message: format!(
            "the PLANNED tree (your files with the edits above applied, in a temp copy) does not render: {}",
            e.message.replace(&copy.display().to_string(), &dir.display().to_string())
        ),
        fix: "your tree is not what failed: the planner's edits are. Nothing was written; report it with the diff above"
            .into(),
        file: Some(dir.display().to_string()),
        ..e
    })
}

/// Builds the render copy of `dir` under `tmp` and returns its path.
///
/// `dir` itself is copied (so planned edits can be written there). When it
/// lives in a git repository, every ancestor up to the repository root is
/// mirrored with symlinks to its other entries, so references such as
/// `../../components/backup` still resolve to the real files.
fn mirror(dir: &Path, tmp: &Path) -> std::io::Result<PathBuf> {
    let dir = dir.canonicalize()?;
    let root = dir
        .ancestors()
        .skip(1)
        .find(|a| a.join(".git").exists())
        .map(Path::to_path_buf);
    let Some(root) = root else {
        let copy = tmp.join("tree");
        copy_tree(&dir, &copy)?;
        return Ok(copy);
    };
    let rel = dir.strip_prefix(&root).map_err(std::io::Error::other)?;
    let mut src = root.clone();
    let mut dst = tmp.join("repo");
    std::fs::create_dir_all(&dst)?;
    for comp in rel.components() {
        for entry in std::fs::read_dir(&src)? {
            let entry = entry?;
            let name = entry.file_name();
            if name.as_os_str() == comp.as_os_str() || name.to_string_lossy().starts_with(".git") {
                continue;
            }
            std::os::unix::fs::symlink(entry.path(), dst.join(&name))?;
        }
        src = src.join(comp);
        dst = dst.join(comp);
        std::fs::create_dir_all(&dst)?;
    }
    copy_tree(&src, &dst)?;
    Ok(dst)
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(".git") {
            continue;
        }
        let src = entry.path();
        let dst = to.join(&name);
        let meta = std::fs::metadata(&src)?;
        if meta.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

/// Where a finding of the planned tree comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// On the planned Cluster (its recovery, its lineages): the plan's.
    PlannedCluster,
    /// On another object, and new with the plan (or the object changes).
    Introduced,
    /// Already on an object the plan does not touch: not blocking.
    PreExisting,
}

/// A finding of the planned tree, with whether it blocks the plan.
#[derive(Debug, Clone, Serialize)]
pub struct Classified {
    /// The finding (core `Finding`).
    #[serde(flatten)]
    pub finding: Finding,
    /// Whether it counts for the verdict (a blocking deny refuses `--write`).
    pub blocking: bool,
    /// Where it comes from.
    pub origin: Origin,
}

fn same_object(a: &ObjectRef, b: &ObjectRef) -> bool {
    a.kind == b.kind && a.namespace == b.namespace && a.name == b.name
}

/// Splits the planned tree's findings. A finding is pre-existing (not
/// blocking) only when it is not on the planned Cluster, its object renders
/// exactly as it does in the current tree, and the current tree has the
/// same finding (rule and field) on it. Everything else is the plan's and
/// blocks. Without the current tree's evaluation (it does not render),
/// every finding blocks. Deny first, then by object and field.
pub fn classify(
    planned: &[Evaluated],
    current: Option<&[Evaluated]>,
    cluster: &ObjectRef,
) -> Vec<Classified> {
    let mut out: Vec<Classified> = Vec::new();
    for e in planned {
        let before =
            current.and_then(|c| c.iter().find(|o| same_object(&o.object_ref, &e.object_ref)));
        let untouched = before.filter(|b| b.object == e.object);
        for f in &e.verdict.findings {
            let mut finding = f.clone();
            if finding.text.is_empty() {
                finding.text = finding.render();
            }
            let origin = if same_object(&e.object_ref, cluster) {
                Origin::PlannedCluster
            } else if untouched.is_some_and(|b| {
                b.verdict
                    .findings
                    .iter()
                    .any(|g| g.rule == f.rule && g.path == f.path)
            }) {
                Origin::PreExisting
            } else {
                Origin::Introduced
            };
            out.push(Classified {
                finding,
                blocking: origin != Origin::PreExisting,
                origin,
            });
        }
    }
    out.sort_by(|a, b| {
        b.blocking
            .cmp(&a.blocking)
            .then(b.finding.severity.cmp(&a.finding.severity))
            .then(a.finding.object.cmp(&b.finding.object))
            .then(a.finding.path.cmp(&b.finding.path))
    });
    out
}

/// Whether any blocking finding is a deny.
pub fn blocking_deny(findings: &[Classified]) -> bool {
    findings
        .iter()
        .any(|f| f.blocking && f.finding.severity == Severity::Deny)
}

/// Findings of every evaluated object, deny first (all blocking: a drill
/// manifest is judged as a whole).
pub fn findings(results: &[Evaluated]) -> Vec<Finding> {
    let mut out: Vec<Finding> = results
        .iter()
        .flat_map(|r| r.verdict.findings.iter().cloned())
        .map(|mut f| {
            if f.text.is_empty() {
                f.text = f.render();
            }
            f
        })
        .collect();
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.object.cmp(&b.object))
            .then(a.path.cmp(&b.path))
    });
    out
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
    use serde_json::json;

    fn object(kind: &str, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: "db".into(),
            name: name.into(),
        }
    }

    fn evaluated(kind: &str, name: &str, body: Value, findings: &[(&str, Severity)]) -> Evaluated {
        let object_ref = object(kind, name);
        Evaluated {
            object: body,
            verdict: Verdict {
                findings: findings
                    .iter()
                    .map(|(rule, severity)| Finding {
                        rule: (*rule).into(),
                        severity: *severity,
                        object: object_ref.clone(),
                        path: "spec".into(),
                        message: "m".into(),
                        fix: "f".into(),
                        text: String::new(),
                    })
                    .collect(),
                ..Verdict::default()
            },
            object_ref,
        }
    }

    #[test]
    fn only_what_was_there_on_untouched_objects_does_not_block() {
        use Severity::{Deny, Warn};
        let current = [
            evaluated("Cluster", "pg", json!({"spec": 1}), &[("a", Deny)]),
            evaluated(
                "ScheduledBackup",
                "daily",
                json!({"s": 1}),
                &[("five", Deny)],
            ),
            evaluated(
                "ScheduledBackup",
                "weekly",
                json!({"s": 1}),
                &[("five", Deny)],
            ),
        ];
        let planned = [
            // The planned Cluster: everything on it is the plan's.
            evaluated(
                "Cluster",
                "pg",
                json!({"spec": 2}),
                &[("a", Deny), ("b", Warn)],
            ),
            // Unchanged, same finding: pre-existing.
            evaluated(
                "ScheduledBackup",
                "daily",
                json!({"s": 1}),
                &[("five", Deny), ("new", Warn)],
            ),
            // Changed by the plan: its findings are the plan's.
            evaluated(
                "ScheduledBackup",
                "weekly",
                json!({"s": 2}),
                &[("five", Deny)],
            ),
            // Not in the current tree at all.
            evaluated("Backup", "now", json!({}), &[("x", Deny)]),
        ];
        let got = classify(&planned, Some(&current), &object("Cluster", "pg"));
        let seen: Vec<(&str, &str, Origin)> = got
            .iter()
            .map(|c| {
                (
                    c.finding.object.name.as_str(),
                    c.finding.rule.as_str(),
                    c.origin,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("now", "x", Origin::Introduced),
                ("pg", "a", Origin::PlannedCluster),
                ("weekly", "five", Origin::Introduced),
                ("pg", "b", Origin::PlannedCluster),
                ("daily", "new", Origin::Introduced),
                ("daily", "five", Origin::PreExisting),
            ]
        );
        assert!(
            got.iter()
                .all(|c| c.blocking == (c.origin != Origin::PreExisting))
        );
        assert!(blocking_deny(&got));
        // Without the current tree nothing can be shown to be pre-existing.
        let got = classify(&planned, None, &object("Cluster", "pg"));
        assert!(got.iter().all(|c| c.blocking));
        // Only a pre-existing deny: nothing blocks.
        let only = [evaluated(
            "ScheduledBackup",
            "daily",
            json!({"s": 1}),
            &[("five", Deny)],
        )];
        let got = classify(&only, Some(&current), &object("Cluster", "pg"));
        assert!(!blocking_deny(&got));
    }
}
