//! Whole-bundle evaluation through the embedded policy.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use cnpg_guard_host::bundle::{BundleOptions, evaluate_bundle, evaluate_bundle_with};
use cnpg_guard_host::{Engine, HostError, ModuleCache};
use serde_json::json;

#[test]
fn every_object_is_evaluated_in_order() {
    let engine = Engine::new(ModuleCache::Off).unwrap();
    let objects = vec![
        json!({"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore", "metadata": {"name": "store"},
               "spec": {"configuration": {"destinationPath": "s3://b/"}}}),
        json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "pg", "namespace": "db"},
               "spec": {"instances": 1, "plugins": [{"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": true,
                        "parameters": {"barmanObjectName": "store"}}]}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "db"}}),
    ];
    let opts = BundleOptions {
        default_namespace: "apps".into(),
    };
    match evaluate_bundle_with(&engine, objects.clone(), &json!({}), &opts) {
        Ok(report) => {
            assert_eq!(report.results.len(), 3);
            assert_eq!(report.objects.len(), 3);
            let refs: Vec<String> = report
                .results
                .iter()
                .map(|r| r.object.to_string())
                .collect();
            assert_eq!(
                refs,
                ["ObjectStore apps/store", "Cluster db/pg", "Namespace db"]
            );
            assert_eq!(
                report.accepted,
                report.results.iter().all(|r| r.verdict.accepted)
            );
            // Output keeps the input's namespaces (none invented for the ObjectStore).
            assert!(report.objects[0]["metadata"].get("namespace").is_none());
        }
        // Until the policy exports `evaluate`, the error names the first object.
        Err(HostError::InObject { object, source }) => {
            assert_eq!(object, "ObjectStore apps/store");
            assert!(
                source
                    .to_string()
                    .contains("No handler registered for function evaluate"),
                "{source}"
            );
        }
        Err(e) => panic!("unexpected {e}"),
    }
    // The default namespace is `default`.
    if let Err(HostError::InObject { object, .. }) = evaluate_bundle(&engine, objects, &json!({})) {
        assert_eq!(object, "ObjectStore default/store");
    }
}
