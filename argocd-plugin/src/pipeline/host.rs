//! Seam to `cnpg-guard-host` (render, parse, evaluate_bundle, YAML output).
//! Temporary: the host crate is being written; this returns an internal error.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::Failure;
use crate::report::ObjectResult;
use crate::settings::PluginSettings;

/// Renders `path` and evaluates every object.
pub(super) fn render_and_evaluate(
    _path: &Path,
    _settings: &PluginSettings,
    _policy_settings: &Value,
    _env: &BTreeMap<String, String>,
) -> Result<(Vec<Value>, Vec<ObjectResult>), Failure> {
    Err(Failure::Internal(
        "policy host not available in this build".into(),
    ))
}

/// YAML stream of the objects.
pub(super) fn to_yaml(_objects: &[Value]) -> Result<String, Failure> {
    Err(Failure::Internal(
        "policy host not available in this build".into(),
    ))
}
