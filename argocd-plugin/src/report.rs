//! Turning verdicts into what ArgoCD shows: the error box of a denied render
//! and the warnings annotation on output objects. (`check` reports are the
//! shared check's: `cnpg_guard_host::check::report`.)

use cnpg_guard_core::{Finding, ObjectRef, Verdict};
use serde_json::{Map, Value};

/// Annotation carrying the warnings of one object into ArgoCD's desired
/// state (stderr of a successful CMP run is only logged, never shown).
pub const WARNINGS_ANNOTATION: &str = "cnpg-guard.io/warnings";

/// Longest annotation value written, in characters.
pub const ANNOTATION_MAX_CHARS: usize = 1024;

/// Most finding lines printed in the error box before eliding the rest.
pub const ERROR_MAX_FINDINGS: usize = 50;

/// The evaluation of one object of the render.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectResult {
    /// Which object.
    pub object: ObjectRef,
    /// What the policy said about it.
    pub verdict: Verdict,
}

/// Counts over a whole render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Objects evaluated.
    pub objects: usize,
    /// Objects with at least one deny finding.
    pub denied_objects: usize,
    /// Deny findings.
    pub deny_findings: usize,
    /// Warn findings.
    pub warn_findings: usize,
}

impl Summary {
    /// Counts the results.
    pub fn of(results: &[ObjectResult]) -> Summary {
        let mut s = Summary {
            objects: results.len(),
            ..Summary::default()
        };
        for r in results {
            let denies = r.verdict.denials().count();
            s.deny_findings += denies;
            s.warn_findings += r.verdict.warnings().count();
            if denies > 0 || !r.verdict.accepted {
                s.denied_objects += 1;
            }
        }
        s
    }

    /// True when nothing was denied.
    pub fn accepted(&self) -> bool {
        self.denied_objects == 0
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// One line, no control characters: policy text ends up in a one-line-per-finding list.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn finding_line(f: &Finding) -> String {
    one_line(&f.render())
}

/// The stderr text for a denied render, shown in ArgoCD's `ComparisonError`:
/// a summary line, then one line per deny finding (then warnings), bounded.
pub fn denial_message(results: &[ObjectResult], app: &str) -> String {
    let s = Summary::of(results);
    let mut out = format!(
        "cnpg-guard: {} denied ({}) in {}\n",
        plural(s.denied_objects, "object", "objects"),
        plural(s.deny_findings, "finding", "findings"),
        one_line(app)
    );
    let denies = results.iter().flat_map(|r| r.verdict.denials());
    let warns = results.iter().flat_map(|r| r.verdict.warnings());
    let mut printed = 0usize;
    let total = s.deny_findings + s.warn_findings;
    for f in denies {
        if printed == ERROR_MAX_FINDINGS {
            break;
        }
        out.push_str(&finding_line(f));
        out.push('\n');
        printed += 1;
    }
    for f in warns {
        if printed == ERROR_MAX_FINDINGS {
            break;
        }
        out.push_str("warning: ");
        out.push_str(&finding_line(f));
        out.push('\n');
        printed += 1;
    }
    if printed < total {
        out.push_str(&format!(
            "… and {} more (run `argocd-cnpg-guard check <path>` to see all)\n",
            total - printed
        ));
    }
    out
}

/// The value of [`WARNINGS_ANNOTATION`] for these warnings:
/// `<n> finding(s): [rule] message; [rule] message`, cut at
/// [`ANNOTATION_MAX_CHARS`] with a `(+k more)` tail.
pub fn warnings_annotation<'a>(warnings: impl IntoIterator<Item = &'a Finding>) -> Option<String> {
    let parts: Vec<String> = warnings
        .into_iter()
        .map(|f| one_line(&format!("[{}] {}", f.rule, f.message)))
        .collect();
    if parts.is_empty() {
        return None;
    }
    let head = format!("{} finding(s): ", parts.len());
    let mut out = head.clone();
    let mut used = 0usize;
    for (i, part) in parts.iter().enumerate() {
        let sep = if i == 0 { "" } else { "; " };
        let candidate_len = out.chars().count() + sep.chars().count() + part.chars().count();
        let remaining_after = parts.len() - i - 1;
        let tail_room = if remaining_after > 0 { 16 } else { 0 };
        if candidate_len + tail_room > ANNOTATION_MAX_CHARS {
            break;
        }
        out.push_str(sep);
        out.push_str(part);
        used += 1;
    }
    if used == 0 {
        // Even the first one is too long: cut it.
        let room = ANNOTATION_MAX_CHARS.saturating_sub(head.chars().count() + 16);
        let first: String = parts
            .first()
            .map(|p| p.chars().take(room).collect())
            .unwrap_or_default();
        out.push_str(&first);
        out.push('…');
        used = 1;
    }
    if used < parts.len() {
        out.push_str(&format!("; (+{} more)", parts.len() - used));
    }
    Some(out)
}

/// Sets (or clears) [`WARNINGS_ANNOTATION`] on one output object.
///
/// The annotation is owned by cnpg-guard: a stale one coming from the
/// source is removed when there is nothing to report, so the output only
/// depends on the current findings.
pub fn set_warnings_annotation(obj: &mut Value, value: Option<String>) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    match value {
        Some(v) => {
            let ann = meta
                .entry("annotations")
                .or_insert_with(|| Value::Object(Map::new()));
            if !ann.is_object() {
                *ann = Value::Object(Map::new());
            }
            if let Some(map) = ann.as_object_mut() {
                map.insert(WARNINGS_ANNOTATION.to_string(), Value::String(v));
            }
        }
        None => {
            let now_empty = match meta.get_mut("annotations").and_then(Value::as_object_mut) {
                Some(map) => map.remove(WARNINGS_ANNOTATION).is_some() && map.is_empty(),
                None => false,
            };
            if now_empty {
                meta.remove("annotations");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cnpg_guard_core::Severity;
    use serde_json::json;

    fn finding(rule: &str, sev: Severity, name: &str) -> Finding {
        Finding {
            rule: rule.into(),
            severity: sev,
            object: ObjectRef {
                api_version: "postgresql.cnpg.io/v1".into(),
                kind: "Cluster".into(),
                namespace: "db".into(),
                name: name.into(),
            },
            path: "spec.plugins[0].parameters.serverName".into(),
            message: "archive reuses\nthe source".into(),
            fix: "bump it".into(),
            text: String::new(),
        }
    }

    fn result(findings: Vec<Finding>) -> ObjectResult {
        let accepted = findings.iter().all(|f| f.severity != Severity::Deny);
        ObjectResult {
            object: findings
                .first()
                .map(|f| f.object.clone())
                .unwrap_or_default(),
            verdict: Verdict {
                accepted,
                findings,
                ..Verdict::default()
            },
        }
    }

    #[test]
    fn denial_message_summary_then_lines() {
        let results = vec![
            result(vec![
                finding("lineage-self-reuse", Severity::Deny, "a"),
                finding("objectstore-missing", Severity::Deny, "a"),
            ]),
            result(vec![finding("lineage-self-reuse", Severity::Deny, "b")]),
            result(vec![finding("x", Severity::Warn, "c")]),
        ];
        let msg = denial_message(&results, "temporal");
        let lines: Vec<&str> = msg.lines().collect();
        assert_eq!(
            lines[0],
            "cnpg-guard: 2 objects denied (3 findings) in temporal"
        );
        assert_eq!(
            lines[1],
            "Cluster db/a: spec.plugins[0].parameters.serverName: [lineage-self-reuse] archive reuses the source — bump it"
        );
        assert!(lines[4].starts_with("warning: Cluster db/c"));
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn denial_message_is_bounded() {
        let results: Vec<_> = (0..80)
            .map(|i| result(vec![finding("r", Severity::Deny, &format!("c{i}"))]))
            .collect();
        let msg = denial_message(&results, "big");
        assert_eq!(msg.lines().count(), 1 + ERROR_MAX_FINDINGS + 1);
        assert!(msg.contains("and 30 more"));
        let one = denial_message(&results[..1], "a");
        assert!(one.starts_with("cnpg-guard: 1 object denied (1 finding) in a\n"));
    }

    #[test]
    fn annotation_format_and_bound() {
        let f = finding("objectstore-missing", Severity::Warn, "a");
        assert_eq!(
            warnings_annotation([&f]).unwrap(),
            "1 finding(s): [objectstore-missing] archive reuses the source"
        );
        assert_eq!(warnings_annotation(std::iter::empty::<&Finding>()), None);
        let many: Vec<Finding> = (0..200)
            .map(|_| finding("objectstore-missing", Severity::Warn, "a"))
            .collect();
        let v = warnings_annotation(&many).unwrap();
        assert!(v.chars().count() <= ANNOTATION_MAX_CHARS, "{}", v.len());
        assert!(v.starts_with("200 finding(s): "));
        assert!(v.ends_with("more)"));
        let mut long = finding("r", Severity::Warn, "a");
        long.message = "é".repeat(5000);
        let v = warnings_annotation([&long]).unwrap();
        assert!(v.chars().count() <= ANNOTATION_MAX_CHARS);
    }

    #[test]
    fn annotation_set_and_cleared() {
        let mut obj = json!({"kind": "Cluster", "metadata": {"name": "a"}});
        set_warnings_annotation(&mut obj, Some("1 finding(s): x".into()));
        assert_eq!(
            obj["metadata"]["annotations"][WARNINGS_ANNOTATION],
            "1 finding(s): x"
        );
        set_warnings_annotation(&mut obj, None);
        assert_eq!(obj, json!({"kind": "Cluster", "metadata": {"name": "a"}}));
        let mut keep =
            json!({"metadata": {"annotations": {"a": "b", WARNINGS_ANNOTATION: "stale"}}});
        set_warnings_annotation(&mut keep, None);
        assert_eq!(keep, json!({"metadata": {"annotations": {"a": "b"}}}));
    }
}
