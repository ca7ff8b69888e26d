//! cnpg-guard in the browser.
//!
//! The rules core and the one manifest parser, compiled for
//! `wasm32-unknown-unknown` with wasm-bindgen. `check` is the CLIs' `check`
//! over streams instead of paths: the same settings resolution
//! ([`cnpg_guard_host::check::settings`]), the same parsing
//! ([`cnpg_guard_host::manifests`]), the same bundle evaluation (every
//! object a CREATE, the others as lookup context), the same report
//! ([`cnpg_guard_host::check::report`], JSON `schemaVersion` 2). Only the
//! evaluator differs: the core is linked in ([`cnpg_guard_host::native`])
//! instead of run as the policy `.wasm`, and `tests/tests/parity.rs` holds
//! the two equal.
//!
//! The JS API (`cargo xtask web` wraps it as `window.cnpgGuard`):
//! - `check(manifests, settings?)` and `checkFiles(filesJson, settings?)`
//!   return the `check -o json` report as a string, or throw the CLIs'
//!   one-line error;
//! - `explain(manifests, namespace?)`: each Cluster's lineages
//!   ([`cnpg_guard_core::explain`]);
//! - `rules()`: the rules table; `version()`.

use std::collections::BTreeMap;

use cnpg_guard_core::{Object, RULES};
use cnpg_guard_host::check::settings::{self, FlagOverrides};
use cnpg_guard_host::check::{self, CheckError, Input, Options, report};
use cnpg_guard_host::{bundle, manifests, native};
use serde::Deserialize;
use serde_json::{Value, json};

/// One file handed to [`check_files_json`].
#[derive(Debug, Clone, Deserialize)]
pub struct File {
    /// How it is shown (findings carry it as `file`).
    pub name: String,
    /// Its text (a YAML/JSON stream).
    pub text: String,
}

/// Label of a single pasted stream.
pub const PASTED: &str = "pasted";

/// An error as the CLIs would report it, with their exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// `check::exit` code (2 usage, 3 render, 4 internal).
    pub exit_code: u8,
    /// One line.
    pub message: String,
}

impl From<CheckError> for Error {
    fn from(e: CheckError) -> Error {
        Error {
            exit_code: e.exit_code(),
            message: e.to_string(),
        }
    }
}

fn usage(message: String) -> Error {
    Error {
        exit_code: check::exit::USAGE,
        message,
    }
}

/// The settings a page passes, keyed by the CLIs' parameter names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PageSettings {
    strict_objectstores: Option<bool>,
    #[serde(default)]
    severity: BTreeMap<String, String>,
    #[serde(default)]
    backup_label_keys: Vec<String>,
    lineage_scope: Option<String>,
    honour_exemptions: Option<bool>,
    #[serde(default)]
    operator_inherited_labels: Vec<String>,
    /// `-n`: the namespace of objects that name none.
    namespace: Option<String>,
}

/// Resolves page settings the way the CLIs resolve their flags, and has the
/// policy's settings validation check the result.
fn options(settings: Option<&str>) -> Result<Options, Error> {
    let page: PageSettings = match settings.map(str::trim) {
        None | Some("") | Some("null") => PageSettings::default(),
        Some(text) => serde_json::from_str(text).map_err(|e| {
            usage(format!(
                "bad settings: {e} (keys: strict-objectstores, severity, backup-label-keys, \
                 lineage-scope, honour-exemptions, operator-inherited-labels, namespace)"
            ))
        })?,
    };
    let flags = FlagOverrides {
        strict_objectstores: page.strict_objectstores,
        enable_helm: None,
        severity: page.severity,
        backup_label_keys: page.backup_label_keys,
        lineage_scope: page.lineage_scope,
        honour_exemptions: page.honour_exemptions,
        operator_inherited_labels: page.operator_inherited_labels,
    };
    let resolved = settings::resolve(&BTreeMap::new(), &flags)
        .map_err(|e| usage(format!("bad parameter: {e}")))?;
    let policy_settings = resolved.policy_settings();
    native::validate_settings(&policy_settings)
        .map_err(|e| usage(format!("bad parameter: {}", check::one_line_bounded(&e))))?;
    Ok(Options {
        policy_settings,
        namespace: page.namespace.filter(|n| !n.is_empty()),
        ..Options::default()
    })
}

/// Checks files (each its own unit) and returns the `check -o json` report.
pub fn check_files(files: &[File], settings: Option<&str>) -> Result<report::JsonReport, Error> {
    let opts = options(settings)?;
    let inputs: Vec<Input> = files
        .iter()
        .map(|f| Input::Stream {
            label: f.name.clone(),
            text: f.text.clone(),
        })
        .collect();
    if inputs.is_empty() {
        return Err(Error::from(CheckError::Render(
            "no manifests given; refusing to report an empty check as passing".into(),
        )));
    }
    let prepared = check::prepare(&inputs, &opts)?;
    let report = check::evaluate_with(&mut native::Native, prepared, &opts)?;
    Ok(report::json_report(&report))
}

/// [`check_files`] as JSON text; `files` is `[{"name", "text"}]`.
pub fn check_files_json(files: &str, settings: Option<&str>) -> Result<String, Error> {
    let files: Vec<File> = serde_json::from_str(files)
        .map_err(|e| usage(format!("files must be a JSON list of {{name, text}}: {e}")))?;
    to_json(&check_files(&files, settings)?)
}

/// One pasted stream, as [`check_files_json`] of a file named [`PASTED`].
pub fn check_json(manifests: &str, settings: Option<&str>) -> Result<String, Error> {
    to_json(&check_files(
        &[File {
            name: PASTED.to_string(),
            text: manifests.to_string(),
        }],
        settings,
    )?)
}

/// Every Cluster of a stream, explained ([`cnpg_guard_core::explain`]):
/// `{"clusters": [...]}`.
pub fn explain_json(manifests: &str, namespace: Option<&str>) -> Result<String, Error> {
    let values = manifests::parse_stream(manifests).map_err(|e| Error {
        exit_code: check::exit::RENDER,
        message: format!("{PASTED}: {e}"),
    })?;
    let ns = namespace
        .filter(|n| !n.is_empty())
        .unwrap_or(bundle::DEFAULT_NAMESPACE);
    let objects: Vec<Object> = values.iter().map(Object::from_value).collect();
    to_json(&json!({ "clusters": cnpg_guard_core::explain::explain(&objects, ns) }))
}

/// The rules table: id, default level, kinds, summary, rationale.
pub fn rules_json() -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "default": r.default,
                "mutating": r.mutating,
                "configurable": r.configurable,
                "exemptable": r.exemptable,
                "kinds": r.kinds,
                "summary": r.summary,
                "rationale": r.rationale,
            })
        })
        .collect();
    Value::Array(rules).to_string()
}

/// The crate version.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    serde_json::to_string(v).map_err(|e| Error {
        exit_code: check::exit::INTERNAL,
        message: format!("encoding the report: {e}"),
    })
}

/// The wasm-bindgen exports (the browser module only).
#[cfg(target_arch = "wasm32")]
mod js {
    use wasm_bindgen::prelude::*;

    fn js_error(e: super::Error) -> JsError {
        JsError::new(&e.message)
    }

    /// `check -o json` of one pasted stream.
    #[wasm_bindgen]
    pub fn check(manifests: &str, settings: Option<String>) -> Result<String, JsError> {
        super::check_json(manifests, settings.as_deref()).map_err(js_error)
    }

    /// `check -o json` of several files: `[{"name", "text"}]`.
    #[wasm_bindgen(js_name = checkFiles)]
    pub fn check_files(files: &str, settings: Option<String>) -> Result<String, JsError> {
        super::check_files_json(files, settings.as_deref()).map_err(js_error)
    }

    /// Each Cluster's lineages: `{"clusters": [...]}`.
    #[wasm_bindgen]
    pub fn explain(manifests: &str, namespace: Option<String>) -> Result<String, JsError> {
        super::explain_json(manifests, namespace.as_deref()).map_err(js_error)
    }

    /// The rules table.
    #[wasm_bindgen]
    pub fn rules() -> String {
        super::rules_json()
    }

    /// The version.
    #[wasm_bindgen]
    pub fn version() -> String {
        super::version().to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const CLUSTER: &str = "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: pg\n  namespace: db\nspec:\n  plugins:\n    - name: barman-cloud.cloudnative-pg.io\n      isWALArchiver: true\n      parameters:\n        barmanObjectName: elsewhere\n";

    #[test]
    fn check_matches_the_cli_schema_and_locates_in_the_paste() {
        let v: Value = serde_json::from_str(&check_json(CLUSTER, None).unwrap()).unwrap();
        assert_eq!(v["schemaVersion"], report::SCHEMA_VERSION);
        assert_eq!(v["units"][0]["kind"], "stream");
        let f = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "objectstore-missing")
            .unwrap();
        assert_eq!(f["severity"], "warn");
        assert_eq!(f["file"], PASTED);
        assert_eq!(f["line"], 11, "the line of barmanObjectName");
    }

    #[test]
    fn settings_resolve_like_the_flags() {
        let strict = check_json(CLUSTER, Some(r#"{"strict-objectstores": true}"#)).unwrap();
        let v: Value = serde_json::from_str(&strict).unwrap();
        assert_eq!(v["accepted"], false);
        assert_eq!(v["exitCode"], 1);
        let off = check_json(
            CLUSTER,
            Some(r#"{"severity": {"objectstore-missing": "off"}}"#),
        )
        .unwrap();
        assert!(!off.contains("objectstore-missing"));
        let e = check_json(CLUSTER, Some(r#"{"severity": {"nope": "deny"}}"#)).unwrap_err();
        assert_eq!(e.exit_code, 2);
        assert!(e.message.contains("nope"), "{}", e.message);
        let e = check_json(CLUSTER, Some(r#"{"enable-helm": true}"#)).unwrap_err();
        assert!(
            e.message.contains("unknown field `enable-helm`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn unparseable_and_empty_inputs_are_errors() {
        let e = check_json("a: [", None).unwrap_err();
        assert_eq!(e.exit_code, 3);
        assert!(e.message.starts_with("pasted"), "{}", e.message);
        assert_eq!(check_json("", None).unwrap_err().exit_code, 3);
        assert_eq!(check_files_json("[]", None).unwrap_err().exit_code, 3);
        assert_eq!(check_files_json("{", None).unwrap_err().exit_code, 2);
    }

    #[test]
    fn files_are_units_and_see_each_other() {
        let store = "apiVersion: barmancloud.cnpg.io/v1\nkind: ObjectStore\nmetadata:\n  name: elsewhere\n  namespace: db\nspec:\n  retentionPolicy: 30d\n  configuration:\n    destinationPath: s3://b\n";
        let files = json!([{"name": "cluster.yaml", "text": CLUSTER}, {"name": "store.yaml", "text": store}]);
        let v: Value =
            serde_json::from_str(&check_files_json(&files.to_string(), None).unwrap()).unwrap();
        assert_eq!(v["units"].as_array().unwrap().len(), 2);
        assert!(!v.to_string().contains("objectstore-missing"));
    }

    #[test]
    fn explain_and_rules() {
        let v: Value = serde_json::from_str(&explain_json(CLUSTER, None).unwrap()).unwrap();
        assert_eq!(v["clusters"][0]["archive"]["serverName"], "pg");
        assert_eq!(v["clusters"][0]["nextDrill"]["archiveServerName"], "pg-v2");
        let rules: Value = serde_json::from_str(&rules_json()).unwrap();
        assert_eq!(rules.as_array().unwrap().len(), RULES.len());
        assert!(
            rules[0]["rationale"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
        );
    }
}
