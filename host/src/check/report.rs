//! The `check` report in its four forms: text (humans, CI logs), JSON (the
//! stable schema scripts read), SARIF 2.1.0 (code scanning) and Markdown
//! (pull-request comments). Every form carries the same findings.

use cnpg_guard_core::{Exemption, Finding, ObjectRef, Severity};
use serde::Serialize;
use serde_json::{Value, json};

use super::Report;

/// Version of the JSON schema below; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 2;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Human lines.
    #[default]
    Text,
    /// One JSON document ([`JsonReport`]).
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// A Markdown summary and table.
    Markdown,
}

/// A finding with where it is declared.
#[derive(Debug, Clone, Serialize)]
pub struct Located {
    /// The core finding (`text` always filled in).
    #[serde(flatten)]
    pub finding: Finding,
    /// Source file, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line of the finding's field in `file` (of the nearest
    /// ancestor that exists; of the object's document when not found).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Label of the unit that rendered the object.
    pub source: String,
}

/// A unit in the JSON report.
#[derive(Debug, Clone, Serialize)]
pub struct JsonUnit {
    /// How it is shown.
    pub label: String,
    /// `kustomization`, `file`, `flux-kustomization` or `stream`.
    pub kind: &'static str,
    /// Objects rendered.
    pub objects: usize,
    /// Why it failed to render.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `check -o json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The inputs as given.
    pub inputs: Vec<String>,
    /// False when any object was denied.
    pub accepted: bool,
    /// False when any unit failed to render (the check is incomplete).
    pub complete: bool,
    /// The process exit code this report maps to.
    pub exit_code: u8,
    /// Objects evaluated.
    pub objects: usize,
    /// Objects denied.
    pub denied_objects: usize,
    /// Every unit.
    pub units: Vec<JsonUnit>,
    /// Every finding, deny first, then by file and line.
    pub findings: Vec<Located>,
    /// Exemptions honoured.
    pub exemptions: Vec<Exemption>,
    /// Objects the policy changes on admission.
    pub mutated: Vec<ObjectRef>,
    /// Notes (skipped files, unresolved variables).
    pub notes: Vec<String>,
}

/// Findings of a report, each located, deny first, then by file and line
/// (stable: render order breaks ties).
pub fn located(r: &Report) -> Vec<Located> {
    let mut out: Vec<Located> = r
        .checked
        .iter()
        .flat_map(|c| {
            let source = r
                .units
                .get(c.unit)
                .map(|u| u.label.clone())
                .unwrap_or_default();
            c.verdict.findings.iter().enumerate().map(move |(i, f)| {
                let mut finding = f.clone();
                if finding.text.is_empty() {
                    finding.text = finding.render();
                }
                Located {
                    finding,
                    file: c.file.clone(),
                    line: c.finding_lines.get(i).copied().flatten().or(c.line),
                    source: source.clone(),
                }
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.finding
            .severity
            .cmp(&a.finding.severity)
            .then_with(|| a.file.cmp(&b.file))
            .then_with(|| a.line.cmp(&b.line))
    });
    out
}

/// The JSON report.
pub fn json_report(r: &Report) -> JsonReport {
    JsonReport {
        schema_version: SCHEMA_VERSION,
        inputs: r.inputs.clone(),
        accepted: r.accepted(),
        complete: r.complete(),
        exit_code: r.exit_code(),
        objects: r.checked.len(),
        denied_objects: r.checked.iter().filter(|c| !c.verdict.accepted).count(),
        units: r
            .units
            .iter()
            .map(|u| JsonUnit {
                label: u.label.clone(),
                kind: u.kind.as_str(),
                objects: u.objects,
                error: u.error.clone(),
            })
            .collect(),
        findings: located(r),
        exemptions: r
            .checked
            .iter()
            .flat_map(|c| c.verdict.exemptions.iter().cloned())
            .collect(),
        mutated: r
            .checked
            .iter()
            .filter(|c| c.verdict.mutated_object.is_some())
            .map(|c| c.object.clone())
            .collect(),
        notes: r.notes.clone(),
    }
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

fn location(l: &Located) -> String {
    match (&l.file, l.line) {
        (Some(f), Some(line)) => format!("{f}:{line}: "),
        (Some(f), None) => format!("{f}: "),
        _ => String::new(),
    }
}

/// The summary line shared by text and Markdown.
pub fn summary(r: &Report) -> String {
    let denied = r.checked.iter().filter(|c| !c.verdict.accepted).count();
    let deny_findings: usize = r.checked.iter().map(|c| c.verdict.denials().count()).sum();
    let warns: usize = r.checked.iter().map(|c| c.verdict.warnings().count()).sum();
    let failed = r.units.iter().filter(|u| u.error.is_some()).count();
    let verdict = if denied == 0 {
        "no object denied".to_string()
    } else {
        format!(
            "{} denied ({})",
            plural(denied, "object", "objects"),
            plural(deny_findings, "finding", "findings")
        )
    };
    let mut s = format!(
        "cnpg-guard: {} checked, {verdict}, {}",
        plural(r.checked.len(), "object", "objects"),
        plural(warns, "warning", "warnings"),
    );
    if failed > 0 {
        s.push_str(&format!(
            "; {} of {} could not be rendered — INCOMPLETE",
            plural(failed, "source", "sources"),
            r.units.len()
        ));
    }
    s
}

/// `-o text`: one line per finding (`file:line: deny: …`), mutation,
/// exemption, render error and note, then the summary.
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    for l in located(r) {
        out.push_str(&format!(
            "{}{}: {}\n",
            location(&l),
            l.finding.severity.as_str(),
            one_line(&l.finding.text)
        ));
    }
    for c in &r.checked {
        if c.verdict.mutated_object.is_some() {
            out.push_str(&format!(
                "mutate: {}: changed by the policy on admission \
                 (`argocd-cnpg-guard generate` prints the changed object)\n",
                c.object
            ));
        }
        for e in &c.verdict.exemptions {
            out.push_str(&format!(
                "exempt: {}: [{}] {}\n",
                e.object,
                e.rule,
                one_line(&e.reason)
            ));
        }
    }
    for u in &r.units {
        if let Some(e) = &u.error {
            out.push_str(&format!("error: {}: {}\n", u.label, one_line(e)));
        }
    }
    for n in &r.notes {
        out.push_str(&format!("note: {}\n", one_line(n)));
    }
    out.push_str(&summary(r));
    out.push('\n');
    out
}

fn md_cell(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

/// `-o markdown`: a heading with the verdict, a findings table, render
/// errors and notes; fits a pull-request comment.
pub fn markdown(r: &Report) -> String {
    let icon = match r.exit_code() {
        0 => "✅",
        1 => "❌",
        _ => "⚠️",
    };
    let mut out = format!("### {icon} {}\n\n", md_cell(&summary(r)));
    let findings = located(r);
    if !findings.is_empty() {
        out.push_str("| Severity | Rule | Object | Field | Where | Message | Fix |\n");
        out.push_str("|---|---|---|---|---|---|---|\n");
        for l in &findings {
            let f = &l.finding;
            out.push_str(&format!(
                "| {} | `{}` | {} | `{}` | {} | {} | {} |\n",
                f.severity.as_str(),
                f.rule,
                md_cell(&f.object.to_string()),
                md_cell(&f.path),
                md_cell(location(l).trim_end_matches([':', ' '])),
                md_cell(&f.message),
                md_cell(&f.fix),
            ));
        }
        out.push('\n');
    }
    let errors: Vec<_> = r.units.iter().filter(|u| u.error.is_some()).collect();
    if !errors.is_empty() {
        out.push_str("**Could not be rendered:**\n\n");
        for u in errors {
            out.push_str(&format!(
                "- `{}`: {}\n",
                md_cell(&u.label),
                md_cell(u.error.as_deref().unwrap_or_default())
            ));
        }
        out.push('\n');
    }
    if !r.notes.is_empty() {
        out.push_str("<details><summary>Notes</summary>\n\n");
        for n in &r.notes {
            out.push_str(&format!("- {}\n", md_cell(n)));
        }
        out.push_str("\n</details>\n");
    }
    out
}

/// `-o sarif`: SARIF 2.1.0, one run, rules from the core registry; render
/// errors are tool notifications.
pub fn sarif(r: &Report) -> Value {
    let findings = located(r);
    let mut rules: Vec<String> = findings.iter().map(|f| f.finding.rule.clone()).collect();
    rules.sort();
    rules.dedup();
    let results: Vec<Value> = findings
        .iter()
        .map(|l| {
            let f = &l.finding;
            let mut res = json!({
                "ruleId": f.rule,
                "level": if f.severity == Severity::Deny { "error" } else { "warning" },
                "message": {"text": format!("{} — {}", f.message, f.fix)},
                "properties": {"object": f.object, "path": f.path, "source": l.source},
            });
            let logical = json!([{
                "fullyQualifiedName": format!("{}/{}", f.object, f.path),
                "kind": "member",
            }]);
            let location = match &l.file {
                Some(file) => {
                    let mut physical = json!({"artifactLocation": {"uri": file}});
                    if let (Some(line), Some(p)) = (l.line, physical.as_object_mut()) {
                        p.insert("region".into(), json!({"startLine": line}));
                    }
                    json!({"physicalLocation": physical, "logicalLocations": logical})
                }
                None => json!({"logicalLocations": logical}),
            };
            if let Some(m) = res.as_object_mut() {
                m.insert("locations".into(), json!([location]));
            }
            res
        })
        .collect();
    let notifications: Vec<Value> = r
        .units
        .iter()
        .filter_map(|u| {
            u.error.as_ref().map(
                |e| json!({"level": "error", "message": {"text": format!("{}: {e}", u.label)}}),
            )
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "cnpg-guard",
                "informationUri": "https://github.com/cnpg-guard/cnpg-guard",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(|id| sarif_rule(id)).collect::<Vec<_>>(),
            }},
            "invocations": [{
                "executionSuccessful": r.complete(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }]
    })
}

fn sarif_rule(id: &str) -> Value {
    match cnpg_guard_core::rules::find(id) {
        Some(r) => json!({
            "id": id,
            "shortDescription": {"text": r.summary},
            "fullDescription": {"text": r.rationale},
            "defaultConfiguration": {"level": match r.default {
                cnpg_guard_core::settings::Level::Deny => "error",
                cnpg_guard_core::settings::Level::Off => "none",
                _ => "warning",
            }},
            "properties": {"kinds": r.kinds},
        }),
        None => json!({"id": id, "shortDescription": {"text": id}}),
    }
}

/// Renders `r` in `format` (always ends with a newline).
pub fn render(r: &Report, format: Format) -> Result<String, String> {
    let mut s = match format {
        Format::Text => return Ok(text(r)),
        Format::Markdown => return Ok(markdown(r)),
        Format::Json => serde_json::to_string_pretty(&json_report(r)),
        Format::Sarif => serde_json::to_string_pretty(&sarif(r)),
    }
    .map_err(|e| format!("cannot encode the report: {e}"))?;
    s.push('\n');
    Ok(s)
}
