//! The host-call dispatcher, called directly (JSON request in, JSON out).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use cnpg_guard_host::callbacks::{UNSUPPORTED, host_call};
use cnpg_guard_host::{ContextSource, MemorySource};
use serde_json::{Value, json};

fn source() -> MemorySource {
    MemorySource::new(vec![
        json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
               "metadata": {"name": "pg", "namespace": "db", "labels": {"team": "a"}}}),
        json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
               "metadata": {"name": "pg2", "namespace": "other", "labels": {"team": "b"}}}),
        json!({"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
               "metadata": {"name": "store", "namespace": "db"}}),
        json!({"apiVersion": "postgresql.cnpg.io/v1alpha1", "kind": "Cluster",
               "metadata": {"name": "old-version", "namespace": "db"}}),
        json!("not an object"),
    ])
}

fn call(op: &str, req: Value) -> Result<Value, String> {
    let src = source();
    host_call(
        &src,
        "kubewarden",
        "kubernetes",
        op,
        &serde_json::to_vec(&req).unwrap(),
    )
    .map(|bytes| serde_json::from_slice(&bytes).unwrap())
}

fn names(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect()
}

#[test]
fn list_by_namespace_filters_kind_version_and_namespace() {
    let list = call(
        "list_resources_by_namespace",
        json!({"api_version": "postgresql.cnpg.io/v1", "kind": "Cluster", "namespace": "db",
               "label_selector": null, "field_selector": null, "field_masks": null}),
    )
    .unwrap();
    assert_eq!(list["apiVersion"], "postgresql.cnpg.io/v1");
    assert_eq!(list["kind"], "ClusterList");
    assert_eq!(list["metadata"], json!({}));
    assert_eq!(names(&list), ["pg"]);
}

#[test]
fn list_all_spans_namespaces() {
    let list = call(
        "list_resources_all",
        json!({"api_version": "postgresql.cnpg.io/v1", "kind": "Cluster",
               "label_selector": null, "field_selector": null, "field_masks": null}),
    )
    .unwrap();
    assert_eq!(names(&list), ["pg", "pg2"]);
    let stores = call(
        "list_resources_all",
        json!({"api_version": "barmancloud.cnpg.io/v1", "kind": "ObjectStore"}),
    )
    .unwrap();
    assert_eq!(stores["kind"], "ObjectStoreList");
    assert_eq!(names(&stores), ["store"]);
}

#[test]
fn empty_lists_are_lists() {
    let list = call(
        "list_resources_by_namespace",
        json!({"api_version": "postgresql.cnpg.io/v1", "kind": "Backup", "namespace": "db"}),
    )
    .unwrap();
    assert_eq!(
        list,
        json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "BackupList", "metadata": {}, "items": []})
    );
}

#[test]
fn selectors() {
    let req = |label: Value, field: Value| {
        json!({"api_version": "postgresql.cnpg.io/v1", "kind": "Cluster",
               "label_selector": label, "field_selector": field})
    };
    assert_eq!(
        names(&call("list_resources_all", req(json!("team=b"), Value::Null)).unwrap()),
        ["pg2"]
    );
    assert_eq!(
        names(&call("list_resources_all", req(json!("team!=b"), Value::Null)).unwrap()),
        ["pg"]
    );
    assert_eq!(
        names(&call("list_resources_all", req(json!("!team"), Value::Null)).unwrap()),
        Vec::<&str>::new()
    );
    assert_eq!(
        names(
            &call(
                "list_resources_all",
                req(Value::Null, json!("metadata.name=pg2"))
            )
            .unwrap()
        ),
        ["pg2"]
    );
    let err = call(
        "list_resources_all",
        req(json!("team in (a,b)"), Value::Null),
    )
    .unwrap_err();
    assert!(err.starts_with(UNSUPPORTED), "{err}");
    let err = call(
        "list_resources_all",
        req(Value::Null, json!("spec.instances=1")),
    )
    .unwrap_err();
    assert!(err.starts_with(UNSUPPORTED), "{err}");
}

#[test]
fn get_resource_finds_by_name() {
    let obj = call(
        "get_resource",
        json!({"api_version": "barmancloud.cnpg.io/v1", "kind": "ObjectStore", "name": "store",
               "namespace": "db", "disable_cache": false, "field_masks": null}),
    )
    .unwrap();
    assert_eq!(obj["metadata"]["name"], "store");
    let err = call(
        "get_resource",
        json!({"api_version": "barmancloud.cnpg.io/v1", "kind": "ObjectStore", "name": "store", "namespace": "other"}),
    )
    .unwrap_err();
    assert_eq!(
        err,
        "Cannot find barmancloud.cnpg.io/v1/ObjectStore named 'store' in namespace 'other'"
    );
}

#[test]
fn malformed_requests_are_errors() {
    let src = source();
    let err = host_call(
        &src,
        "kubewarden",
        "kubernetes",
        "list_resources_all",
        b"not json",
    )
    .unwrap_err();
    assert!(
        err.starts_with("invalid list_resources_all request"),
        "{err}"
    );
    let err = call(
        "list_resources_by_namespace",
        json!({"api_version": "v1", "kind": "Pod"}),
    )
    .unwrap_err();
    assert!(err.contains("namespace is required"), "{err}");
}

#[test]
fn unsupported_operations_are_refused() {
    let src = source();
    for (binding, ns, op) in [
        ("kubewarden", "kubernetes", "can_i"),
        ("kubewarden", "oci", "v2/verify"),
        ("kubewarden", "net", "v1/dns_lookup_host"),
        ("other", "kubernetes", "list_resources_all"),
    ] {
        let err = host_call(&src, binding, ns, op, b"{}").unwrap_err();
        assert!(err.starts_with(UNSUPPORTED), "{binding}/{ns}/{op}: {err}");
    }
}

#[test]
fn tracing_log_is_accepted() {
    let src = source();
    let out = host_call(
        &src,
        "kubewarden",
        "tracing",
        "log",
        br#"{"level":"info","message":"hi"}"#,
    )
    .unwrap();
    assert!(out.is_empty());
    assert!(host_call(&src, "kubewarden", "tracing", "log", b"garbage").is_ok());
}

#[test]
fn context_source_errors_reach_the_guest() {
    struct Failing;
    impl ContextSource for Failing {
        fn list(&self, _: &str, _: &str, _: Option<&str>) -> Result<Vec<Value>, String> {
            Err("cluster unreachable".into())
        }
    }
    let err = host_call(
        &Failing,
        "kubewarden",
        "kubernetes",
        "list_resources_all",
        br#"{"api_version":"v1","kind":"Pod"}"#,
    )
    .unwrap_err();
    assert_eq!(err, "cluster unreachable");
}
