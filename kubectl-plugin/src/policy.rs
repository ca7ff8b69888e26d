//! Rendering a tree and running every object through the embedded policy.

use std::path::{Path, PathBuf};
use std::process::Command;

use cnpg_guard_core::{Finding, Verdict};
use serde_json::Value;

use crate::edit::FileChange;
use crate::error::PlanError;
use crate::source;
use crate::yaml;

/// One evaluated object.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// The object as rendered.
    pub object: Value,
    /// What the policy said.
    pub verdict: Verdict,
}

/// Evaluates a bundle of objects (each sees the others as cluster state).
pub trait PolicyEngine {
    /// Evaluates every object; errors are tooling failures.
    fn evaluate(&self, objects: &[Value]) -> Result<Vec<Evaluated>, String>;
}

/// The embedded policy, through `cnpg-guard-host`.
pub struct EmbeddedPolicy;

impl PolicyEngine for EmbeddedPolicy {
    fn evaluate(&self, objects: &[Value]) -> Result<Vec<Evaluated>, String> {
        host_evaluate(objects)
    }
}

fn host_evaluate(objects: &[Value]) -> Result<Vec<Evaluated>, String> {
    use cnpg_guard_host::{Engine, ModuleCache, bundle};
    if objects.is_empty() {
        return Ok(Vec::new());
    }
    // The precompiled-module cache makes a cold process load the policy in
    // about a millisecond instead of compiling it.
    let engine = Engine::new(ModuleCache::Default)
        .map_err(|e| format!("cannot load the embedded policy: {e}"))?;
    let report = bundle::evaluate_bundle(&engine, objects.to_vec(), &serde_json::json!({}))
        .map_err(|e| format!("policy evaluation failed: {e}"))?;
    Ok(objects
        .iter()
        .cloned()
        .zip(report.results)
        .map(|(object, r)| Evaluated {
            object,
            verdict: r.verdict,
        })
        .collect())
}

/// Renders a directory: `kubectl kustomize` when it holds a kustomization,
/// else every YAML file under it. Returns objects with, when known, the
/// file each came from.
pub fn render_dir(dir: &Path) -> Result<Vec<(Value, Option<PathBuf>)>, PlanError> {
    if source::kustomization_file(dir).is_some() {
        let out = Command::new("kubectl")
            .arg("kustomize")
            .arg(dir)
            .output()
            .map_err(|e| {
                PlanError::tooling(
                    format!("cannot run `kubectl kustomize`: {e}"),
                    "install kubectl (v1.27+) and put it on PATH",
                )
            })?;
        if !out.status.success() {
            return Err(PlanError::tooling(
                format!(
                    "`kubectl kustomize` failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                "fix the kustomization (run `kubectl kustomize` on the directory to see the error)",
            )
            .in_file(dir.display().to_string()));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        return Ok(parse_objects(&text)
            .map_err(|e| {
                PlanError::tooling(
                    format!("cannot parse kustomize output: {e}"),
                    "report this as a bug",
                )
            })?
            .into_iter()
            .map(|v| (v, None))
            .collect());
    }
    let mut out = Vec::new();
    for f in source::yaml_files(dir, 8) {
        let text = std::fs::read_to_string(&f).map_err(|e| {
            PlanError::input(format!("cannot read: {e}"), "check the file")
                .in_file(f.display().to_string())
        })?;
        for v in parse_objects(&text)
            .map_err(|e| PlanError::input(e, "fix the YAML").in_file(f.display().to_string()))?
        {
            out.push((v, Some(f.clone())));
        }
    }
    Ok(out)
}

/// Parses a manifest stream into objects (skipping empty documents and
/// non-objects; expanding `List` kinds).
pub fn parse_objects(text: &str) -> Result<Vec<Value>, String> {
    let docs = yaml::parse(text).map_err(|e| format!("line {}: {}", e.line, e.message))?;
    let mut out = Vec::new();
    for d in docs {
        let Some(root) = d.root else { continue };
        let v = root.to_json();
        if v.get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k.ends_with("List"))
            && let Some(items) = v.get("items").and_then(Value::as_array)
        {
            out.extend(items.iter().cloned());
            continue;
        }
        if v.is_object() && v.get("kind").is_some() {
            out.push(v);
        }
    }
    Ok(out)
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
    Ok(render_dir(&copy)?.into_iter().map(|(v, _)| v).collect())
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
