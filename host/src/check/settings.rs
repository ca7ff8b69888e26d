//! Settings of both CLIs (`argocd-cnpg-guard`, `kubectl cnpg-plan check`):
//! read from flags and from the environment ArgoCD gives a CMP, as data.
//!
//! Sources, highest precedence first (like argocd-lovely-plugin):
//!
//! 1. Command-line flags (local `check` / `generate` only).
//! 2. Application parameters: `PARAM_<NAME>` variables, and the
//!    `ARGOCD_APP_PARAMETERS` JSON they are derived from (a `PARAM_*`
//!    variable wins over the JSON when both are set by hand).
//! 3. Application plugin env: `ARGOCD_ENV_<NAME>`.
//! 4. Sidecar-wide defaults set by the operator: `CNPG_GUARD_<NAME>`.
//!
//! `<NAME>` is the parameter name escaped the way ArgoCD does it: upper case,
//! every character outside `[A-Z0-9_]` replaced by `_`
//! (`strict-objectstores` → `PARAM_STRICT_OBJECTSTORES`).
//!
//! Nothing is evaluated by a shell; values are parsed as data and a bad
//! value is an error naming the variable, never a silent default.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value, json};

/// The rule id whose default the CMP changes (deny → warn).
pub const OBJECTSTORE_MISSING: &str = "objectstore-missing";

/// One parameter the plugin understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// Parameter name as written in the Application (`spec.source.plugin.parameters[].name`).
    pub name: &'static str,
    /// Shape of the value.
    pub shape: Shape,
    /// One-line description (also used for the plugin.yaml announcement).
    pub help: &'static str,
}

/// Shape of a parameter value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `true` or `false`.
    Bool,
    /// One of a fixed set of words.
    Word(&'static [&'static str]),
    /// A list of strings (`array` parameter, or comma-separated in env).
    List,
    /// Rule id → severity (`map` parameter, or `<NAME>_<RULE>` variables).
    SeverityMap,
}

/// Every parameter, in the order they are documented and announced.
pub const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "strict-objectstores",
        shape: Shape::Bool,
        help: "true: an ObjectStore referenced by a Cluster but not in this tree is a deny \
               (default false: a warning, since it may live in another app)",
    },
    ParamSpec {
        name: "severity",
        shape: Shape::SeverityMap,
        help: "per-rule severity override, rule id -> deny|warn|off|mutate \
               (wins over strict-objectstores)",
    },
    ParamSpec {
        name: "backup-label-keys",
        shape: Shape::List,
        help: "PVC label keys that request volume-level backups (policy default: backup)",
    },
    ParamSpec {
        name: "lineage-scope",
        shape: Shape::Word(&["namespace", "cluster"]),
        help: "where other Clusters sharing an archive are looked for: namespace|cluster",
    },
    ParamSpec {
        name: "honour-exemptions",
        shape: Shape::Bool,
        help: "false: ignore per-object exemption annotations (policy default: true)",
    },
    ParamSpec {
        name: "operator-inherited-labels",
        shape: Shape::List,
        help: "label keys (with * and ? wildcards) the operator's INHERITED_LABELS copies from \
               Clusters to PVCs, so pvc-backup-label sees them",
    },
    ParamSpec {
        name: "enable-helm",
        shape: Shape::Bool,
        help: "true: let kustomize inflate helmCharts (runs helm; default false)",
    },
];

/// Severity words the policy accepts.
pub const SEVERITY_WORDS: &[&str] = &["deny", "warn", "off", "mutate"];

/// A bad setting: which parameter, which variable, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    /// Where the value came from, e.g. `PARAM_STRICT_OBJECTSTORES`.
    pub source: String,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.problem)
    }
}

impl std::error::Error for SettingsError {}

fn err(source: impl Into<String>, problem: impl Into<String>) -> SettingsError {
    SettingsError {
        source: source.into(),
        problem: problem.into(),
    }
}

/// The settings the plugin runs with, after all sources were merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginSettings {
    /// `strict-objectstores`.
    pub strict_objectstores: bool,
    /// `enable-helm`.
    pub enable_helm: bool,
    /// Explicit per-rule overrides (`severity`).
    pub severity: BTreeMap<String, String>,
    /// `backup-label-keys`, when set.
    pub backup_label_keys: Option<Vec<String>>,
    /// `lineage-scope`, when set.
    pub lineage_scope: Option<String>,
    /// `honour-exemptions`, when set.
    pub honour_exemptions: Option<bool>,
    /// `operator-inherited-labels`, when set.
    pub operator_inherited_labels: Option<Vec<String>>,
}

impl PluginSettings {
    /// The policy settings JSON (camelCase, as the policy's `validate_settings` takes it).
    ///
    /// Always `contextSource: "render"`: lookups are answered from the render,
    /// so a missing ObjectStore is worded "not in this tree". The CMP default
    /// for `objectstore-missing` is `warn` (`deny` with `strict-objectstores`);
    /// an explicit `severity` entry wins over both.
    pub fn policy_settings(&self) -> Value {
        let mut severity = Map::new();
        let os_default = if self.strict_objectstores {
            "deny"
        } else {
            "warn"
        };
        severity.insert(OBJECTSTORE_MISSING.to_string(), json!(os_default));
        for (rule, level) in &self.severity {
            severity.insert(rule.clone(), json!(level));
        }
        let mut out = Map::new();
        out.insert("severity".into(), Value::Object(severity));
        out.insert("contextSource".into(), json!("render"));
        if let Some(keys) = &self.backup_label_keys {
            out.insert("backupLabelKeys".into(), json!(keys));
        }
        if let Some(scope) = &self.lineage_scope {
            out.insert("lineageScope".into(), json!(scope));
        }
        if let Some(h) = self.honour_exemptions {
            out.insert("honourExemptions".into(), json!(h));
        }
        if let Some(labels) = &self.operator_inherited_labels {
            out.insert("operatorInheritedLabels".into(), json!(labels));
        }
        Value::Object(out)
    }
}

/// ArgoCD's escaping for parameter names and map keys: upper case, and every
/// character outside `[A-Z0-9_]` becomes `_`.
pub fn escape(name: &str) -> String {
    name.chars()
        .map(|c| {
            let c = c.to_ascii_uppercase();
            if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Turns an escaped map key (`OBJECTSTORE_MISSING`) back into a rule id
/// (`objectstore-missing`). Rule ids are kebab-case, so this is exact.
fn unescape_rule(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c == '_' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// A raw value before it is checked against the parameter's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Raw {
    Str(String),
    List(Vec<String>),
    Map(BTreeMap<String, String>),
}

/// Values found in one source, keyed by parameter name; each remembers the
/// variable it came from for error messages.
#[derive(Debug, Default)]
struct Layer {
    values: BTreeMap<&'static str, (String, Raw)>,
}

fn spec_by_escaped(escaped: &str) -> Option<&'static ParamSpec> {
    PARAMS.iter().find(|p| escape(p.name) == escaped)
}

/// Reads one prefix (`PARAM_`, `ARGOCD_ENV_`, `CNPG_GUARD_`) from the env.
/// `strict`: unknown names under the prefix are an error (they can only be typos).
fn env_layer(
    env: &BTreeMap<String, String>,
    prefix: &str,
    strict: bool,
) -> Result<Layer, SettingsError> {
    let mut layer = Layer::default();
    let mut lists: BTreeMap<&'static str, BTreeMap<usize, (String, String)>> = BTreeMap::new();
    for (var, value) in env.range(prefix.to_string()..) {
        let Some(rest) = var.strip_prefix(prefix) else {
            break;
        };
        // Exact name first (string / comma list / map given as one var).
        if let Some(spec) = spec_by_escaped(rest) {
            let raw = match spec.shape {
                Shape::SeverityMap => {
                    return Err(err(
                        var,
                        format!(
                            "{} is a map: set one variable per rule, e.g. {var}_OBJECTSTORE_MISSING=deny",
                            spec.name
                        ),
                    ));
                }
                _ => Raw::Str(value.clone()),
            };
            layer.values.insert(spec.name, (var.clone(), raw));
            continue;
        }
        // `<NAME>_<i>` for arrays, `<NAME>_<KEY>` for maps.
        let mut matched = false;
        for spec in PARAMS {
            let head = format!("{}_", escape(spec.name));
            let Some(tail) = rest.strip_prefix(&head) else {
                continue;
            };
            match spec.shape {
                Shape::List => {
                    if let Ok(i) = tail.parse::<usize>() {
                        lists
                            .entry(spec.name)
                            .or_default()
                            .insert(i, (var.clone(), value.clone()));
                        matched = true;
                    }
                }
                Shape::SeverityMap if !tail.is_empty() => {
                    let entry = layer
                        .values
                        .entry(spec.name)
                        .or_insert_with(|| (var.clone(), Raw::Map(BTreeMap::new())));
                    if let Raw::Map(m) = &mut entry.1 {
                        m.insert(unescape_rule(tail), value.clone());
                    }
                    matched = true;
                }
                _ => {}
            }
            if matched {
                break;
            }
        }
        if !matched && strict {
            return Err(err(
                var,
                format!("unknown parameter; known: {}", known_names()),
            ));
        }
    }
    for (name, items) in lists {
        // An exact string value and indexed items together: the indexed ones win
        // (ArgoCD only ever sets the indexed form for arrays).
        let first_var = items
            .values()
            .next()
            .map(|(v, _)| v.clone())
            .unwrap_or_default();
        let mut out = Vec::new();
        for (expected, (i, (var, value))) in items.into_iter().enumerate() {
            if i != expected {
                return Err(err(
                    var,
                    format!("array index {i} is not contiguous from 0"),
                ));
            }
            out.push(value);
        }
        layer.values.insert(name, (first_var, Raw::List(out)));
    }
    Ok(layer)
}

fn known_names() -> String {
    PARAMS.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
}

/// Reads `ARGOCD_APP_PARAMETERS` (JSON array of `{name, string|array|map}`).
fn app_parameters_layer(json_text: &str) -> Result<Layer, SettingsError> {
    const SRC: &str = "ARGOCD_APP_PARAMETERS";
    let mut layer = Layer::default();
    let parsed: Value =
        serde_json::from_str(json_text).map_err(|e| err(SRC, format!("not valid JSON ({e})")))?;
    let items = match parsed {
        Value::Null => return Ok(layer),
        Value::Array(items) => items,
        _ => return Err(err(SRC, "expected a JSON array of parameters")),
    };
    for item in items {
        let Some(name) = item.get("name").and_then(Value::as_str) else {
            return Err(err(SRC, "a parameter has no name"));
        };
        let src = format!("{SRC}[{name}]");
        let Some(spec) = PARAMS.iter().find(|p| p.name == name) else {
            return Err(err(
                src,
                format!("unknown parameter; known: {}", known_names()),
            ));
        };
        let raw = if let Some(s) = item.get("string").and_then(Value::as_str) {
            Raw::Str(s.to_string())
        } else if let Some(arr) = item.get("array").and_then(Value::as_array) {
            let mut out = Vec::new();
            for v in arr {
                match v.as_str() {
                    Some(s) => out.push(s.to_string()),
                    None => return Err(err(src, "array items must be strings")),
                }
            }
            Raw::List(out)
        } else if let Some(map) = item.get("map").and_then(Value::as_object) {
            let mut out = BTreeMap::new();
            for (k, v) in map {
                match v.as_str() {
                    Some(s) => {
                        out.insert(k.clone(), s.to_string());
                    }
                    None => return Err(err(src, "map values must be strings")),
                }
            }
            Raw::Map(out)
        } else {
            return Err(err(src, "has no string, array or map value"));
        };
        layer.values.insert(spec.name, (src, raw));
    }
    Ok(layer)
}

/// Command-line overrides for local use (highest precedence).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagOverrides {
    /// `--strict-objectstores`.
    pub strict_objectstores: Option<bool>,
    /// `--enable-helm`.
    pub enable_helm: Option<bool>,
    /// `--severity RULE=LEVEL`, repeatable.
    pub severity: BTreeMap<String, String>,
    /// `--backup-label-key KEY`, repeatable.
    pub backup_label_keys: Vec<String>,
    /// `--lineage-scope namespace|cluster`.
    pub lineage_scope: Option<String>,
    /// `--honour-exemptions=false`.
    pub honour_exemptions: Option<bool>,
    /// `--operator-inherited-label PATTERN`, repeatable.
    pub operator_inherited_labels: Vec<String>,
}

impl FlagOverrides {
    fn layer(&self) -> Layer {
        let mut layer = Layer::default();
        let b = |v: bool| Raw::Str(if v { "true" } else { "false" }.to_string());
        if let Some(v) = self.strict_objectstores {
            layer.values.insert(
                "strict-objectstores",
                ("--strict-objectstores".into(), b(v)),
            );
        }
        if let Some(v) = self.enable_helm {
            layer
                .values
                .insert("enable-helm", ("--enable-helm".into(), b(v)));
        }
        if !self.severity.is_empty() {
            layer.values.insert(
                "severity",
                ("--severity".into(), Raw::Map(self.severity.clone())),
            );
        }
        if !self.backup_label_keys.is_empty() {
            layer.values.insert(
                "backup-label-keys",
                (
                    "--backup-label-key".into(),
                    Raw::List(self.backup_label_keys.clone()),
                ),
            );
        }
        if let Some(scope) = &self.lineage_scope {
            layer.values.insert(
                "lineage-scope",
                ("--lineage-scope".into(), Raw::Str(scope.clone())),
            );
        }
        if let Some(v) = self.honour_exemptions {
            layer
                .values
                .insert("honour-exemptions", ("--honour-exemptions".into(), b(v)));
        }
        if !self.operator_inherited_labels.is_empty() {
            layer.values.insert(
                "operator-inherited-labels",
                (
                    "--operator-inherited-label".into(),
                    Raw::List(self.operator_inherited_labels.clone()),
                ),
            );
        }
        layer
    }
}

/// Merges every source into [`PluginSettings`]. `env` is the process
/// environment as a map (passed in, so this is testable and pure).
pub fn resolve(
    env: &BTreeMap<String, String>,
    flags: &FlagOverrides,
) -> Result<PluginSettings, SettingsError> {
    let mut params = match env.get("ARGOCD_APP_PARAMETERS") {
        Some(text) if !text.trim().is_empty() => app_parameters_layer(text)?,
        _ => Layer::default(),
    };
    // PARAM_* over the JSON, per parameter (maps merge per key).
    let param_env = env_layer(env, "PARAM_", true)?;
    merge_into(&mut params, param_env);
    // Highest first.
    let layers = [
        flags.layer(),
        params,
        env_layer(env, "ARGOCD_ENV_", true)?,
        env_layer(env, "CNPG_GUARD_", false)?,
    ];

    let mut s = PluginSettings::default();
    for spec in PARAMS {
        match spec.shape {
            Shape::SeverityMap => {
                // Lower layers first so higher ones overwrite per rule.
                for layer in layers.iter().rev() {
                    if let Some((src, raw)) = layer.values.get(spec.name) {
                        for (rule, level) in as_map(src, raw)? {
                            check_rule(src, &rule, &level)?;
                            s.severity.insert(rule, level);
                        }
                    }
                }
            }
            _ => {
                let Some((src, raw)) = layers.iter().find_map(|l| l.values.get(spec.name)) else {
                    continue;
                };
                apply_scalar(&mut s, spec, src, raw)?;
            }
        }
    }
    Ok(s)
}

fn merge_into(base: &mut Layer, top: Layer) {
    for (name, (src, raw)) in top.values {
        match (base.values.get_mut(name), raw) {
            (Some((_, Raw::Map(old))), Raw::Map(new)) => {
                // Keys from the JSON keep their original spelling; the PARAM_
                // form of the same key (escaped, then unescaped) overrides it.
                for (k, v) in new {
                    old.retain(|ok, _| escape(ok) != escape(&k));
                    old.insert(k, v);
                }
            }
            (_, raw) => {
                base.values.insert(name, (src, raw));
            }
        }
    }
}

fn as_map(src: &str, raw: &Raw) -> Result<BTreeMap<String, String>, SettingsError> {
    match raw {
        Raw::Map(m) => Ok(m.clone()),
        Raw::Str(_) | Raw::List(_) => Err(err(src, "expected a map of rule id -> severity")),
    }
}

fn check_rule(src: &str, rule: &str, level: &str) -> Result<(), SettingsError> {
    let valid_id = !rule.is_empty()
        && rule
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid_id {
        return Err(err(
            src,
            format!(
                "rule id {:?} is not a kebab-case rule id (e.g. objectstore-missing)",
                bounded(rule)
            ),
        ));
    }
    if !SEVERITY_WORDS.contains(&level) {
        return Err(err(
            src,
            format!(
                "severity for {rule} must be one of {}, got {:?}",
                SEVERITY_WORDS.join("|"),
                bounded(level)
            ),
        ));
    }
    Ok(())
}

fn apply_scalar(
    s: &mut PluginSettings,
    spec: &ParamSpec,
    src: &str,
    raw: &Raw,
) -> Result<(), SettingsError> {
    match spec.shape {
        Shape::Bool => {
            let v = parse_bool(src, raw)?;
            match spec.name {
                "strict-objectstores" => s.strict_objectstores = v,
                "enable-helm" => s.enable_helm = v,
                "honour-exemptions" => s.honour_exemptions = Some(v),
                _ => {}
            }
        }
        Shape::Word(words) => {
            let Raw::Str(text) = raw else {
                return Err(err(src, format!("expected one of {}", words.join("|"))));
            };
            let text = text.trim();
            if !words.contains(&text) {
                return Err(err(
                    src,
                    format!(
                        "expected one of {}, got {:?}",
                        words.join("|"),
                        bounded(text)
                    ),
                ));
            }
            if spec.name == "lineage-scope" {
                s.lineage_scope = Some(text.to_string());
            }
        }
        Shape::List => {
            let items: Vec<String> = match raw {
                Raw::List(items) => items.iter().map(|i| i.trim().to_string()).collect(),
                Raw::Str(text) => text
                    .split(',')
                    .map(|i| i.trim().to_string())
                    .filter(|i| !i.is_empty())
                    .collect(),
                Raw::Map(_) => return Err(err(src, "expected a list of strings")),
            };
            // Inherited-label patterns carry wildcards; the policy's own
            // validate_settings checks them.
            for item in items.iter().filter(|_| spec.name == "backup-label-keys") {
                if !cnpg_guard_core::settings::is_label_key(item) {
                    return Err(err(
                        src,
                        format!("{:?} is not a valid label key", bounded(item)),
                    ));
                }
            }
            match spec.name {
                "backup-label-keys" => s.backup_label_keys = Some(items),
                "operator-inherited-labels" => s.operator_inherited_labels = Some(items),
                _ => {}
            }
        }
        Shape::SeverityMap => {}
    }
    Ok(())
}

fn parse_bool(src: &str, raw: &Raw) -> Result<bool, SettingsError> {
    let Raw::Str(text) = raw else {
        return Err(err(src, "expected true or false"));
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(err(
            src,
            format!("expected true or false, got {:?}", bounded(text)),
        )),
    }
}

/// Cuts a user-supplied value for an error message (values are echoed only
/// bounded; parameters are not secret, but may be long).
fn bounded(text: &str) -> String {
    const MAX: usize = 64;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn resolve_env(pairs: &[(&str, &str)]) -> Result<PluginSettings, SettingsError> {
        resolve(&env(pairs), &FlagOverrides::default())
    }

    #[test]
    fn defaults_warn_on_missing_objectstore() {
        let s = resolve_env(&[]).unwrap();
        assert_eq!(
            s.policy_settings(),
            json!({"severity": {"objectstore-missing": "warn"}, "contextSource": "render"})
        );
    }

    #[test]
    fn strict_param_denies() {
        let s = resolve_env(&[("PARAM_STRICT_OBJECTSTORES", "true")]).unwrap();
        assert_eq!(
            s.policy_settings()["severity"]["objectstore-missing"],
            "deny"
        );
    }

    #[test]
    fn explicit_severity_wins_over_strict() {
        let s = resolve_env(&[
            ("PARAM_STRICT_OBJECTSTORES", "true"),
            ("PARAM_SEVERITY_OBJECTSTORE_MISSING", "off"),
        ])
        .unwrap();
        assert_eq!(
            s.policy_settings()["severity"]["objectstore-missing"],
            "off"
        );
    }

    #[test]
    fn param_beats_argocd_env_beats_sidecar() {
        let s = resolve_env(&[
            ("CNPG_GUARD_STRICT_OBJECTSTORES", "true"),
            ("ARGOCD_ENV_STRICT_OBJECTSTORES", "false"),
        ])
        .unwrap();
        assert!(!s.strict_objectstores);
        let s = resolve_env(&[
            ("ARGOCD_ENV_STRICT_OBJECTSTORES", "false"),
            ("PARAM_STRICT_OBJECTSTORES", "true"),
        ])
        .unwrap();
        assert!(s.strict_objectstores);
        let s = resolve_env(&[("CNPG_GUARD_STRICT_OBJECTSTORES", "true")]).unwrap();
        assert!(s.strict_objectstores);
    }

    #[test]
    fn severity_maps_merge_per_rule() {
        let s = resolve_env(&[
            ("ARGOCD_ENV_SEVERITY_PVC_BACKUP_LABEL", "deny"),
            ("ARGOCD_ENV_SEVERITY_LINEAGE_SELF_REUSE", "warn"),
            ("PARAM_SEVERITY_PVC_BACKUP_LABEL", "mutate"),
        ])
        .unwrap();
        assert_eq!(s.severity["pvc-backup-label"], "mutate");
        assert_eq!(s.severity["lineage-self-reuse"], "warn");
    }

    #[test]
    fn app_parameters_json_is_read() {
        let s = resolve_env(&[(
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"severity","map":{"objectstore-missing":"deny"}},
                {"name":"backup-label-keys","array":["backup","velero.io/backup"]},
                {"name":"enable-helm","string":"true"}]"#,
        )])
        .unwrap();
        assert_eq!(s.severity["objectstore-missing"], "deny");
        assert_eq!(
            s.backup_label_keys,
            Some(vec!["backup".to_string(), "velero.io/backup".to_string()])
        );
        assert!(s.enable_helm);
    }

    #[test]
    fn param_array_form() {
        let s = resolve_env(&[
            ("PARAM_BACKUP_LABEL_KEYS_0", "backup"),
            ("PARAM_BACKUP_LABEL_KEYS_1", "k8up.io/backup"),
        ])
        .unwrap();
        assert_eq!(
            s.backup_label_keys,
            Some(vec!["backup".to_string(), "k8up.io/backup".to_string()])
        );
        let s = resolve_env(&[("ARGOCD_ENV_BACKUP_LABEL_KEYS", "backup, snap")]).unwrap();
        assert_eq!(
            s.backup_label_keys,
            Some(vec!["backup".to_string(), "snap".to_string()])
        );
    }

    #[test]
    fn json_and_param_env_for_same_map_key_do_not_duplicate() {
        let s = resolve_env(&[
            (
                "ARGOCD_APP_PARAMETERS",
                r#"[{"name":"severity","map":{"objectstore-missing":"deny"}}]"#,
            ),
            ("PARAM_SEVERITY_OBJECTSTORE_MISSING", "deny"),
        ])
        .unwrap();
        assert_eq!(s.severity.len(), 1);
    }

    #[test]
    fn null_parameters_are_none() {
        assert!(resolve_env(&[("ARGOCD_APP_PARAMETERS", "null")]).is_ok());
    }

    #[test]
    fn bad_values_are_errors_naming_the_variable() {
        let e = resolve_env(&[("PARAM_STRICT_OBJECTSTORES", "yes")]).unwrap_err();
        assert_eq!(e.source, "PARAM_STRICT_OBJECTSTORES");
        let e = resolve_env(&[("PARAM_SEVERITY_OBJECTSTORE_MISSING", "block")]).unwrap_err();
        assert!(e.problem.contains("deny|warn|off|mutate"), "{e}");
        let e = resolve_env(&[("PARAM_STRICT_OBJECTSTORE", "true")]).unwrap_err();
        assert!(e.problem.contains("unknown parameter"), "{e}");
        let e = resolve_env(&[("ARGOCD_APP_PARAMETERS", "[{")]).unwrap_err();
        assert_eq!(e.source, "ARGOCD_APP_PARAMETERS");
        let e = resolve_env(&[("PARAM_LINEAGE_SCOPE", "galaxy")]).unwrap_err();
        assert!(e.problem.contains("namespace|cluster"), "{e}");
        let e = resolve_env(&[("PARAM_BACKUP_LABEL_KEYS_1", "x")]).unwrap_err();
        assert!(e.problem.contains("contiguous"), "{e}");
        let e = resolve_env(&[("PARAM_BACKUP_LABEL_KEYS_0", "not a key!")]).unwrap_err();
        assert!(e.problem.contains("label key"), "{e}");
    }

    #[test]
    fn sidecar_env_ignores_unrelated_vars() {
        assert!(resolve_env(&[("CNPG_GUARD_CACHE_DIR", "/tmp/x")]).is_ok());
    }

    #[test]
    fn flags_win() {
        let flags = FlagOverrides {
            strict_objectstores: Some(false),
            ..Default::default()
        };
        let s = resolve(&env(&[("PARAM_STRICT_OBJECTSTORES", "true")]), &flags).unwrap();
        assert!(!s.strict_objectstores);
    }

    #[test]
    fn escape_matches_argocd() {
        assert_eq!(escape("some-string-param"), "SOME_STRING_PARAM");
        assert_eq!(escape("image.tag"), "IMAGE_TAG");
    }
}
