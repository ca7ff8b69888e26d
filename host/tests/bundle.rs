//! Whole-bundle evaluation through the embedded policy.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use cnpg_guard_host::bundle::{BundleOptions, evaluate_bundle, evaluate_bundle_with};
use cnpg_guard_host::{Engine, ModuleCache};
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
    let report = evaluate_bundle_with(&engine, objects.clone(), &json!({}), &opts).unwrap();
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
    // The store landed in `apps`, the Cluster looks in `db`: the lookup sees
    // the bundle with namespaces filled in, as the API server would.
    let rules: Vec<&str> = report.results[1]
        .verdict
        .findings
        .iter()
        .map(|f| f.rule.as_str())
        .collect();
    assert!(rules.contains(&"objectstore-missing"), "{rules:?}");
    assert!(!report.accepted);
    assert!(report.results[0].verdict.accepted && report.results[2].verdict.accepted);
    // Output keeps the input's namespaces (none invented for the ObjectStore).
    assert!(report.objects[0]["metadata"].get("namespace").is_none());

    // The default namespace is `default`, where the store now resolves for a
    // namespace-less Cluster.
    let mut objects = objects;
    objects[1]["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("namespace");
    let report = evaluate_bundle(&engine, objects, &json!({})).unwrap();
    assert_eq!(
        report.results[0].object.to_string(),
        "ObjectStore default/store"
    );
    assert_eq!(report.results[1].object.to_string(), "Cluster default/pg");
    assert!(
        report.results[1]
            .verdict
            .findings
            .iter()
            .all(|f| f.rule != "objectstore-missing")
    );
}

#[test]
fn mutations_replace_the_object_without_inventing_a_namespace() {
    let engine = Engine::new(ModuleCache::Off).unwrap();
    let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "pg-1", "labels": {"cnpg.io/cluster": "pg", "backup": "daily", "app": "x"}},
        "spec": {"resources": {"requests": {"storage": "1Gi"}}}});
    let report = evaluate_bundle(&engine, vec![pvc], &json!({})).unwrap();
    assert_eq!(
        report.results[0].verdict.removals,
        ["/metadata/labels/backup"]
    );
    assert_eq!(
        report.objects[0]["metadata"],
        json!({"name": "pg-1", "labels": {"cnpg.io/cluster": "pg", "app": "x"}})
    );
    assert_eq!(
        report.objects[0]["spec"]["resources"]["requests"]["storage"],
        "1Gi"
    );
}
