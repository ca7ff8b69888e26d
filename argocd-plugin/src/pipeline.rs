//! render → parse → evaluate every object through the embedded policy →
//! apply mutations and annotate warnings. Rendering and evaluation are the
//! shared check's ([`cnpg_guard_host::check`]); this module only shapes the
//! result for ArgoCD.

use std::collections::BTreeMap;
use std::path::Path;

use cnpg_guard_host::check::{self, Input, Options};
use cnpg_guard_host::manifests;
use serde_json::Value;

use crate::Failure;
use crate::report::{self, ObjectResult, Summary};
use crate::settings::PluginSettings;

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

/// Renders `input` exactly as `check` would (same walk, same parser) and
/// evaluates every object. Unlike `check`, ANY source that fails to render
/// fails the whole run, and an empty render is a failure: printing a partial
/// or empty stream would make ArgoCD prune what is missing.
pub fn evaluate(
    input: Input,
    settings: &PluginSettings,
    env: &BTreeMap<String, String>,
) -> Result<Outcome, Failure> {
    let opts = Options {
        policy_settings: settings.policy_settings(),
        namespace: env
            .get("ARGOCD_APP_NAMESPACE")
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
        enable_helm: settings.enable_helm,
        ..Options::default()
    };
    let cache = check::module_cache(env);
    let inputs = [input];
    let (engine, prepared) = check::load_and_prepare(cache, &inputs, &opts)?;
    let prepared = prepared.map_err(|e| shown_paths(Failure::from(e), env))?;
    let errors = prepared.errors();
    if !errors.is_empty() {
        let text: Vec<String> = errors.iter().map(|(_, e)| e.to_string()).collect();
        return Err(shown_paths(
            Failure::Render(check::one_line_bounded(&text.join("\n"))),
            env,
        ));
    }
    let report = check::evaluate(&engine, prepared, &opts)?;
    let results = report
        .checked
        .into_iter()
        .map(|c| ObjectResult {
            object: c.object,
            verdict: c.verdict,
        })
        .collect();
    finish(report.objects, results)
}

/// Error texts name the app's source path (`ARGOCD_APP_SOURCE_PATH`), not
/// the per-request extraction dir, so the (cached) error is the same for
/// every request of the same commit.
fn shown_paths(f: Failure, env: &BTreeMap<String, String>) -> Failure {
    let Some(shown) = env.get("ARGOCD_APP_SOURCE_PATH").filter(|p| !p.is_empty()) else {
        return f;
    };
    let fix = |m: String| match std::env::current_dir() {
        Ok(cwd) => m.replace(&cwd.display().to_string(), shown),
        Err(_) => m,
    };
    match f {
        Failure::Render(m) => Failure::Render(fix(m)),
        other => other,
    }
}

/// The input of `generate`: a path, or `-` for stdin.
pub fn input_of(path: &Path, stdin: &mut dyn std::io::Read) -> Result<Input, Failure> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        stdin
            .read_to_string(&mut text)
            .map_err(|e| Failure::Usage(format!("-: cannot read stdin: {e}")))?;
        Ok(Input::Stream {
            label: "-".into(),
            text,
        })
    } else {
        Ok(Input::Path(path.to_path_buf()))
    }
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
pub fn to_yaml(objects: &[Value]) -> String {
    manifests::to_yaml_stream(objects)
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
