//! Packaging stays consistent: policy/metadata.yml (what gets embedded in the
//! .wasm), artifacthub-pkg.yml, the example ClusterAdmissionPolicy, the
//! README's rule table and the rule registry.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use cnpg_guard_core::{Level, RULES};
use serde_json::Value;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml(rel: &str) -> Value {
    let text = std::fs::read_to_string(root().join(rel)).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn yaml_str(s: &str) -> Value {
    serde_saphyr::from_str(s).unwrap()
}

#[test]
fn artifacthub_matches_metadata() {
    let meta = yaml("policy/metadata.yml");
    let hub = yaml("artifacthub-pkg.yml");
    let version = meta["annotations"]["io.kubewarden.policy.version"]
        .as_str()
        .unwrap();
    assert_eq!(hub["version"], version);
    assert_eq!(
        env!("CARGO_PKG_VERSION"),
        version,
        "workspace version and policy version differ"
    );
    assert!(
        hub["containersImages"][0]["image"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":v{version}"))
    );
    assert_eq!(
        hub["displayName"],
        meta["annotations"]["io.artifacthub.displayName"]
    );
    assert_eq!(
        hub["description"],
        meta["annotations"]["io.kubewarden.policy.description"]
    );
    assert_eq!(
        hub["annotations"]["kubewarden/mutation"],
        if meta["mutating"] == true {
            "true"
        } else {
            "false"
        }
    );
    assert_eq!(
        yaml_str(hub["annotations"]["kubewarden/rules"].as_str().unwrap()),
        meta["rules"]
    );
    assert_eq!(
        yaml_str(
            hub["annotations"]["kubewarden/contextAwareResources"]
                .as_str()
                .unwrap()
        ),
        meta["contextAwareResources"]
    );
    assert_eq!(
        hub["annotations"]["kubewarden/resources"],
        meta["annotations"]["io.artifacthub.resources"]
    );
}

#[test]
fn example_policy_matches_metadata_and_has_valid_settings() {
    let meta = yaml("policy/metadata.yml");
    let cap = yaml("policy/examples/cluster-admission-policy.yaml");
    assert_eq!(cap["kind"], "ClusterAdmissionPolicy");
    assert_eq!(cap["spec"]["rules"], meta["rules"]);
    assert_eq!(
        cap["spec"]["contextAwareResources"],
        meta["contextAwareResources"]
    );
    assert_eq!(cap["spec"]["mutating"], meta["mutating"]);
    let settings: cnpg_guard_core::Settings =
        serde_json::from_value(cap["spec"]["settings"].clone()).unwrap();
    settings.validate().unwrap();
}

#[test]
fn readme_documents_every_rule_with_its_default() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for rule in RULES {
        let default = match rule.default {
            Level::Deny => "deny",
            Level::Warn => "warn",
            Level::Mutate => "mutate",
            Level::Off => "off",
        };
        let row = format!("| `{}` | {default} |", rule.id);
        assert!(
            readme.contains(&row),
            "README rules table lacks the row starting {row:?}"
        );
    }
    // Every settings key, as the policy reads it (not a list kept by hand).
    let keys = serde_json::to_value(cnpg_guard_core::Settings::default()).unwrap();
    let keys: Vec<&String> = keys.as_object().unwrap().keys().collect();
    assert!(keys.len() >= 7, "{keys:?}");
    for key in keys {
        assert!(
            readme.contains(&format!("| `{key}` |")),
            "README settings table does not document {key}"
        );
    }
}

#[test]
fn artifacthub_pkg_is_generated_from_metadata_and_questions() {
    let read = |rel: &str| std::fs::read_to_string(root().join(rel)).unwrap();
    let current = read("artifacthub-pkg.yml");
    let (created_at, _) = xtask::artifacthub::existing(&current).unwrap();
    let generated = xtask::artifacthub::render(
        &read("policy/metadata.yml"),
        Some(&read("policy/questions-ui.yml")),
        &created_at,
    )
    .unwrap();
    assert!(
        generated == current,
        "artifacthub-pkg.yml drifted from policy/metadata.yml + policy/questions-ui.yml: \
         run `cargo xtask artifacthub`"
    );
    let meta = yaml("policy/metadata.yml");
    for key in [
        "io.kubewarden.policy.ociUrl",
        "io.kubewarden.policy.severity",
        "io.kubewarden.policy.category",
    ] {
        assert!(
            meta["annotations"][key]
                .as_str()
                .is_some_and(|v| !v.is_empty()),
            "metadata.yml lacks {key}"
        );
    }
}

#[test]
fn questions_ui_asks_for_exactly_the_policy_settings() {
    let q = yaml("policy/questions-ui.yml");
    let asked: std::collections::BTreeSet<String> = q["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["variable"].as_str().unwrap().to_string())
        .collect();
    let settings = serde_json::to_value(cnpg_guard_core::Settings::default()).unwrap();
    let keys: std::collections::BTreeSet<String> =
        settings.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        asked, keys,
        "questions-ui.yml vs the policy's settings keys"
    );
    // The defaults the UI shows are the policy's defaults, and valid settings.
    let mut defaults = serde_json::Map::new();
    for question in q["questions"].as_array().unwrap() {
        let var = question["variable"].as_str().unwrap();
        assert_eq!(question["default"], settings[var], "default of {var}");
        defaults.insert(var.to_string(), question["default"].clone());
    }
    let parsed: cnpg_guard_core::Settings =
        serde_json::from_value(Value::Object(defaults)).unwrap();
    parsed.validate().unwrap();
}

#[test]
fn audit_instance_is_create_only_and_never_mutates() {
    let meta = yaml("policy/metadata.yml");
    let audit = yaml("policy/examples/audit-policy.yaml");
    let spec = &audit["spec"];
    assert_eq!(audit["kind"], "ClusterAdmissionPolicy");
    assert_eq!(spec["backgroundAudit"], true);
    assert_eq!(spec["mode"], "monitor");
    assert_eq!(spec["mutating"], false);
    assert_eq!(spec["contextAwareResources"], meta["contextAwareResources"]);
    let meta_resources: Vec<&Value> = meta["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["resources"].as_array().unwrap())
        .collect();
    for rule in spec["rules"].as_array().unwrap() {
        assert_eq!(rule["operations"], serde_json::json!(["CREATE"]), "{rule}");
        for res in rule["resources"].as_array().unwrap() {
            assert!(meta_resources.contains(&res), "{res} not in metadata.yml");
        }
    }
    let settings: cnpg_guard_core::Settings =
        serde_json::from_value(spec["settings"].clone()).unwrap();
    settings.validate().unwrap();
    use cnpg_guard_core::Level;
    assert_eq!(
        settings.severity.get("archive-not-empty"),
        Some(&Level::Off)
    );
    // The audit scanner records an allowed request as "pass", warnings and
    // all: every rule that does not deny by default must be raised to deny
    // (or off) here, or it never reaches a PolicyReport.
    for rule in cnpg_guard_core::RULES {
        if rule.default == Level::Deny || rule.id == "context-unavailable" {
            continue;
        }
        assert!(
            matches!(
                settings.severity.get(rule.id),
                Some(Level::Deny | Level::Off)
            ),
            "{}: warn in an audit instance is reported as pass",
            rule.id
        );
    }
    // The scanner reads the PolicyReport category and severity from these.
    for name in [
        "policy/examples/audit-policy.yaml",
        "policy/examples/cluster-admission-policy.yaml",
    ] {
        let doc = yaml(name);
        for key in [
            "io.kubewarden.policy.category",
            "io.kubewarden.policy.severity",
        ] {
            assert_eq!(
                doc["metadata"]["annotations"][key], meta["annotations"][key],
                "{name}: {key}"
            );
        }
    }
    // No rule may mutate in an instance that cannot.
    for rule in RULES.iter().filter(|r| r.mutating) {
        let level = settings
            .severity
            .get(rule.id)
            .copied()
            .unwrap_or(rule.default);
        assert_ne!(level, Level::Mutate, "{} mutates", rule.id);
    }
}

#[test]
fn krew_manifest_covers_the_platforms_with_the_archives_krew_expects() {
    let m = yaml("kubectl-plugin/plugins/cnpg-plan.yaml");
    let spec = &m["spec"];
    let version = format!("v{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(spec["version"], version.as_str());
    assert!(
        spec["description"]
            .as_str()
            .unwrap()
            .contains("not affiliated with or endorsed by\nthe CloudNativePG project"),
        "the description must say the plugin is not affiliated with CloudNativePG"
    );
    let mut seen = Vec::new();
    for p in spec["platforms"].as_array().unwrap() {
        let labels = &p["selector"]["matchLabels"];
        let (os, arch) = (
            labels["os"].as_str().unwrap(),
            labels["arch"].as_str().unwrap(),
        );
        seen.push(format!("{os}/{arch}"));
        let (bin, ext) = if os == "windows" {
            ("kubectl-cnpg_plan.exe", ".zip")
        } else {
            ("kubectl-cnpg_plan", ".tar.gz")
        };
        let uri = p["uri"].as_str().unwrap();
        assert!(
            uri.contains(&format!("/releases/download/{version}/")),
            "{uri}"
        );
        assert!(uri.ends_with(ext), "{uri}");
        assert_eq!(p["bin"], bin);
        assert_eq!(p["sha256"].as_str().unwrap().len(), 64);
        let files: Vec<&str> = p["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["from"].as_str().unwrap())
            .collect();
        assert_eq!(files, [bin, "LICENSE"]);
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "darwin/amd64",
            "darwin/arm64",
            "linux/amd64",
            "linux/arm64",
            "windows/amd64"
        ]
    );
}

#[test]
fn the_license_the_archives_ship_is_in_the_repo() {
    let text = std::fs::read_to_string(root().join("LICENSE")).unwrap();
    assert!(text.contains("Apache License") && text.contains("Version 2.0"));
    assert_eq!(
        yaml("policy/metadata.yml")["annotations"]["io.kubewarden.policy.license"],
        "Apache-2.0"
    );
}
