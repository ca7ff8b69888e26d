//! `kubectl cnpg-plan check`: the policy over files and directories, for CI
//! and pre-commit. Text, JSON and SARIF 2.1.0 output.

use std::path::{Path, PathBuf};

use cnpg_guard_core::{Finding, Severity};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::PlanError;
use crate::policy::{self, PolicyEngine};
use crate::source::{self, Source};
use crate::yaml;

/// A finding with where it is in the repository.
#[derive(Debug, Clone, Serialize)]
pub struct Located {
    /// The core finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// File, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line of the field (or of the object), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// The outcome of `check`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// Schema version of this JSON.
    pub schema_version: u32,
    /// Objects evaluated.
    pub objects: usize,
    /// False when any finding denies.
    pub accepted: bool,
    /// Findings, deny first.
    pub findings: Vec<Located>,
}

/// Collects objects under `paths`: kustomizations are rendered, other
/// YAML files parsed.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<(Value, Option<PathBuf>)>, PlanError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_file() {
            let text = std::fs::read_to_string(p).map_err(|e| {
                PlanError::input(format!("cannot read: {e}"), "check the path")
                    .in_file(p.display().to_string())
            })?;
            for v in policy::parse_objects(&text).map_err(|e| {
                PlanError::input(format!("invalid YAML: {e}"), "fix the YAML")
                    .in_file(p.display().to_string())
            })? {
                out.push((v, Some(p.clone())));
            }
        } else if p.is_dir() {
            collect_dir(p, &mut out)?;
        } else {
            return Err(PlanError::input(
                format!("{}: no such file or directory", p.display()),
                "pass manifest files or directories",
            ));
        }
    }
    Ok(out)
}

fn collect_dir(dir: &Path, out: &mut Vec<(Value, Option<PathBuf>)>) -> Result<(), PlanError> {
    if let Some(k) = source::kustomization_file(dir) {
        let sources: Vec<PathBuf> = source::yaml_files(dir, 8);
        for (v, _) in policy::render_dir(dir)? {
            let file = locate_source(&v, &sources).or_else(|| Some(k.clone()));
            out.push((v, file));
        }
        return Ok(());
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            collect_dir(&p, out)?;
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            let text = std::fs::read_to_string(&p).map_err(|e| {
                PlanError::input(format!("cannot read: {e}"), "check the file")
                    .in_file(p.display().to_string())
            })?;
            let objs = policy::parse_objects(&text).map_err(|e| {
                PlanError::input(format!("invalid YAML: {e}"), "fix the YAML")
                    .in_file(p.display().to_string())
            })?;
            out.extend(objs.into_iter().map(|v| (v, Some(p.clone()))));
        }
    }
    Ok(())
}

/// The source file that declares an object (same kind and name), so a
/// rendered object's finding points at a file a human can open.
fn locate_source(obj: &Value, files: &[PathBuf]) -> Option<PathBuf> {
    let kind = obj.get("kind")?.as_str()?;
    let name = obj.pointer("/metadata/name")?.as_str()?;
    let mut patch_match = None;
    for f in files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let Ok(objs) = policy::parse_objects(&text) else {
            continue;
        };
        for v in objs {
            if v.get("kind").and_then(Value::as_str) == Some(kind)
                && v.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
            {
                // Prefer the full object (with spec) over a patch; a patch
                // is remembered as a fallback.
                let is_base = !f.to_string_lossy().contains("overlays");
                if is_base {
                    return Some(f.clone());
                }
                patch_match.get_or_insert(f.clone());
            }
        }
    }
    patch_match
}

/// Runs the check.
pub fn run(paths: &[PathBuf], engine: &dyn PolicyEngine) -> Result<CheckReport, PlanError> {
    let objects = collect(paths)?;
    let values: Vec<Value> = objects.iter().map(|(v, _)| v.clone()).collect();
    let results = engine.evaluate(&values).map_err(|e| {
        PlanError::tooling(
            format!("the policy could not be evaluated: {e}"),
            "rebuild kubectl-cnpg_plan with the embedded policy",
        )
    })?;
    let mut findings = Vec::new();
    for r in &results {
        let file = objects
            .iter()
            .find(|(v, _)| v == &r.object)
            .and_then(|(_, f)| f.clone());
        for f in &r.verdict.findings {
            let mut f = f.clone();
            if f.text.is_empty() {
                f.text = f.render();
            }
            let line = file
                .as_ref()
                .and_then(|p| line_of_finding(p, &r.object, &f.path));
            findings.push(Located {
                finding: f,
                file: file.as_ref().map(|p| p.display().to_string()),
                line,
            });
        }
    }
    findings.sort_by(|a, b| {
        b.finding
            .severity
            .cmp(&a.finding.severity)
            .then(a.file.cmp(&b.file))
            .then(a.line.cmp(&b.line))
    });
    let accepted = !findings
        .iter()
        .any(|f| f.finding.severity == Severity::Deny);
    Ok(CheckReport {
        schema_version: 1,
        objects: values.len(),
        accepted,
        findings,
    })
}

/// The line of `path` inside the document of `file` that declares `obj`
/// (the nearest existing ancestor when the field itself is absent).
pub fn line_of_finding(file: &Path, obj: &Value, path: &str) -> Option<usize> {
    let src = Source::load(file, file.display().to_string()).ok()?;
    let kind = obj.get("kind")?.as_str()?;
    let name = obj.pointer("/metadata/name").and_then(Value::as_str);
    let doc = (0..src.docs.len()).find(|i| {
        let v = src.json(*i);
        v.get("kind").and_then(Value::as_str) == Some(kind)
            && v.pointer("/metadata/name").and_then(Value::as_str) == name
    })?;
    let root = src.root(doc)?;
    let segs = yaml::parse_path(path);
    for n in (0..=segs.len()).rev() {
        if let Some(node) = segs.get(..n).and_then(|s| root.at(s)) {
            return Some(src.line(node.start()));
        }
    }
    Some(src.line(root.start()))
}

/// Text output.
pub fn text(r: &CheckReport) -> String {
    let mut s = String::new();
    for f in &r.findings {
        let loc = match (&f.file, f.line) {
            (Some(file), Some(line)) => format!("{file}:{line}: "),
            (Some(file), None) => format!("{file}: "),
            _ => String::new(),
        };
        s.push_str(&format!(
            "{loc}{}: {}\n",
            f.finding.severity.as_str(),
            f.finding.text
        ));
    }
    let deny = r
        .findings
        .iter()
        .filter(|f| f.finding.severity == Severity::Deny)
        .count();
    let warn = r.findings.len() - deny;
    s.push_str(&format!(
        "{} object(s) checked: {deny} denied, {warn} warning(s){}\n",
        r.objects,
        if r.accepted { "" } else { " — FAILED" }
    ));
    s
}

/// SARIF 2.1.0.
pub fn sarif(r: &CheckReport) -> Value {
    let mut rules: Vec<String> = r.findings.iter().map(|f| f.finding.rule.clone()).collect();
    rules.sort();
    rules.dedup();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let mut res = serde_json::Map::new();
            let base = json!({
                "ruleId": f.finding.rule,
                "level": if f.finding.severity == Severity::Deny { "error" } else { "warning" },
                "message": {"text": format!("{} — {}", f.finding.message, f.finding.fix)},
                "properties": {"object": f.finding.object, "path": f.finding.path},
            });
            if let Value::Object(m) = base {
                res.extend(m);
            }
            if let Some(file) = &f.file {
                let mut physical = serde_json::Map::new();
                physical.insert("artifactLocation".into(), json!({"uri": file}));
                if let Some(line) = f.line {
                    physical.insert("region".into(), json!({"startLine": line}));
                }
                let loc = json!({
                    "physicalLocation": physical,
                    "logicalLocations": [{"fullyQualifiedName": format!("{}/{}", f.finding.object, f.finding.path), "kind": "member"}],
                });
                res.insert("locations".into(), json!([loc]));
            }
            Value::Object(res)
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kubectl-cnpg_plan",
                "informationUri": "https://github.com/cnpg-guard/cnpg-guard",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(|id| sarif_rule(id)).collect::<Vec<_>>(),
            }},
            "results": results,
        }]
    })
}

/// A SARIF `reportingDescriptor` from the core rule registry.
fn sarif_rule(id: &str) -> Value {
    match cnpg_guard_core::rules::find(id) {
        Some(r) => json!({
            "id": id,
            "shortDescription": {"text": r.summary},
            "fullDescription": {"text": r.rationale},
            "properties": {"kinds": r.kinds},
        }),
        None => json!({"id": id, "shortDescription": {"text": id}}),
    }
}
