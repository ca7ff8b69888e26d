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
