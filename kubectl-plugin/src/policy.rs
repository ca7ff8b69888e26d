//! The planner's seam to the policy: the planned tree is rendered and read
//! by the same host code as `check` (`cnpg_guard_host::check`), and evaluated
//! by the embedded policy with the same settings `check` uses by default.

use std::path::{Path, PathBuf};

use cnpg_guard_core::{Finding, Verdict};
use cnpg_guard_host::check::{self, Input, Options, settings};
use serde_json::Value;

use crate::edit::FileChange;
use crate::error::PlanError;

/// One evaluated object.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// What the policy said.
    pub verdict: Verdict,
}

/// Evaluates a bundle of objects (each sees the others as cluster state).
pub trait PolicyEngine {
    /// Evaluates every object; errors are tooling failures.
    fn evaluate(&self, objects: &[Value]) -> Result<Vec<Evaluated>, String>;
}

/// The embedded policy, through `cnpg-guard-host`, with `check`'s default
/// settings (`contextSource: render`, a missing ObjectStore is a warning)
/// resolved from the same environment (`CNPG_GUARD_*`).
pub struct EmbeddedPolicy;

impl PolicyEngine for EmbeddedPolicy {
    fn evaluate(&self, objects: &[Value]) -> Result<Vec<Evaluated>, String> {
        if objects.is_empty() {
            return Ok(Vec::new());
        }
        let env = check::cli::process_env();
        let resolved = settings::resolve(&env, &settings::FlagOverrides::default())
            .map_err(|e| format!("bad parameter {e}"))?;
        let policy_settings = resolved.policy_settings();
        let engine = check::load_engine(check::module_cache(&env), &policy_settings)
            .map_err(|e| e.to_string())?;
        let report =
            cnpg_guard_host::bundle::evaluate_bundle(&engine, objects.to_vec(), &policy_settings)
                .map_err(|e| format!("policy evaluation failed: {e}"))?;
        Ok(report
            .results
            .into_iter()
            .map(|r| Evaluated { verdict: r.verdict })
            .collect())
    }
}

/// Renders a directory or file exactly as `check` reads it (kustomizations
/// rendered, plain directories walked, the one manifest parser). Any part
/// that fails to render is an error naming it.
pub fn render_dir(dir: &Path) -> Result<Vec<Value>, PlanError> {
    let prepared =
        check::prepare(&[Input::Path(dir.to_path_buf())], &Options::default()).map_err(|e| {
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
pub fn render_planned(dir: &Path, changes: &[FileChange]) -> Result<Vec<Value>, PlanError> {
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
    render_dir(&copy).map_err(|e| PlanError {
        message: format!(
            "the PLANNED tree (your files with the edits above applied, in a temp copy) does not render: {}",
            e.message
        ),
        fix: "this is the planner's edit, not your tree: report it with the diff above; \
              nothing was written"
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

/// Findings of every evaluated object, deny first.
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
