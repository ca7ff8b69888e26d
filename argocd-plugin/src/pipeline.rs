//! render → parse → evaluate every object through the embedded policy →
//! apply mutations and annotate warnings. The host crate does the heavy
//! lifting; this module only wires it and shapes the result.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::Failure;
use crate::report::{self, ObjectResult, Summary};
use crate::settings::PluginSettings;

mod host;

/// The result of evaluating one render.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Output objects in render order, with the policy's mutations applied
    /// and [`report::WARNINGS_ANNOTATION`] set where there are warnings.
    pub objects: Vec<Value>,
    /// One result per evaluated object, in render order.
    pub results: Vec<ObjectResult>,
}

impl Outcome {
    /// Counts over the results.
    pub fn summary(&self) -> Summary {
        Summary::of(&self.results)
    }
}

/// Renders `path` (a directory, or a single manifest file) and evaluates
/// every object. An empty render is a failure:
/// printing nothing would make ArgoCD prune the whole app.
pub fn evaluate(
    path: &Path,
    settings: &PluginSettings,
    env: &BTreeMap<String, String>,
) -> Result<Outcome, Failure> {
    let policy_settings = settings.policy_settings();
    let (objects, results) = host::render_and_evaluate(path, settings, &policy_settings, env)?;
    finish(objects, results)
}

/// Applies the warnings annotation; checks the result shape.
fn finish(mut objects: Vec<Value>, results: Vec<ObjectResult>) -> Result<Outcome, Failure> {
    if objects.is_empty() {
        return Err(Failure::Render(
            "the render produced no objects; refusing to emit an empty app \
             (ArgoCD would prune everything it manages)"
                .into(),
        ));
    }
    if objects.len() != results.len() {
        return Err(Failure::Internal(format!(
            "policy host returned {} results for {} objects",
            results.len(),
            objects.len()
        )));
    }
    for (obj, result) in objects.iter_mut().zip(&results) {
        report::set_warnings_annotation(
            obj,
            report::warnings_annotation(result.verdict.warnings()),
        );
    }
    Ok(Outcome { objects, results })
}

/// Serialises output objects as a `---`-separated YAML stream, in order.
pub fn to_yaml(objects: &[Value]) -> Result<String, Failure> {
    host::to_yaml(objects)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cnpg_guard_core::{Finding, ObjectRef, Severity, Verdict};
    use serde_json::json;

    #[test]
    fn empty_render_is_a_failure() {
        let e = finish(vec![], vec![]).unwrap_err();
        assert!(matches!(e, Failure::Render(_)));
    }

    #[test]
    fn warnings_become_annotations_in_order() {
        let objs = vec![
            json!({"kind": "Cluster", "metadata": {"name": "a"}}),
            json!({"kind": "Service", "metadata": {"name": "b", "annotations": {"cnpg-guard.io/warnings": "old"}}}),
        ];
        let w = Finding {
            rule: "objectstore-missing".into(),
            severity: Severity::Warn,
            object: ObjectRef::default(),
            path: "spec.plugins[0]".into(),
            message: "ObjectStore db/x is not in this render".into(),
            fix: "add it".into(),
            text: String::new(),
        };
        let results = vec![
            ObjectResult {
                object: ObjectRef::default(),
                verdict: Verdict {
                    accepted: true,
                    findings: vec![w],
                    ..Verdict::default()
                },
            },
            ObjectResult {
                object: ObjectRef::default(),
                verdict: Verdict {
                    accepted: true,
                    ..Verdict::default()
                },
            },
        ];
        let out = finish(objs, results).unwrap();
        assert_eq!(
            out.objects[0]["metadata"]["annotations"]["cnpg-guard.io/warnings"],
            "1 finding(s): [objectstore-missing] ObjectStore db/x is not in this render"
        );
        assert_eq!(
            out.objects[1],
            json!({"kind": "Service", "metadata": {"name": "b"}})
        );
    }
}
