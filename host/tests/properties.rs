//! Property tests of the host's manifest reading: what `generate` prints
//! reads back as the same objects, so checking the rendered output gives the
//! same verdicts as checking the render (bounded case counts; raise with
//! `PROPTEST_CASES`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use cnpg_guard_core::{InMemory, Object, Operation, Request, Settings, evaluate};
use cnpg_guard_host::manifests::{parse_stream, to_yaml_stream};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Scalars that YAML readers like to retype: the printer must quote them.
fn tricky_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("yes")),
        Just(json!("on")),
        Just(json!("0755")),
        Just(json!("2026-05-08")),
        Just(json!("1.10")),
        Just(json!("null")),
        Just(json!("")),
        Just(json!("${APP}-v1")),
        Just(json!("a: b")),
        Just(json!("# not a comment")),
        Just(json!("line one\nline two\n")),
        Just(json!("  leading space")),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        "[ -~]{0,16}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    tricky_scalar().prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z][a-zA-Z0-9_.-]{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just(("postgresql.cnpg.io/v1", "Cluster")),
            Just(("postgresql.cnpg.io/v1", "ScheduledBackup")),
            Just(("barmancloud.cnpg.io/v1", "ObjectStore")),
            Just(("v1", "ConfigMap")),
        ],
        "[a-z][a-z0-9-]{0,10}",
        value(),
    )
        .prop_map(|((api, kind), name, spec)| {
            json!({"apiVersion": api, "kind": kind,
                   "metadata": {"name": name, "namespace": "db"}, "spec": spec})
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn printed_manifests_read_back_as_the_same_objects(objects in prop::collection::vec(object(), 1..5)) {
        let text = to_yaml_stream(&objects);
        let back = parse_stream(&text).unwrap();
        prop_assert_eq!(&back, &objects, "{}", text);
    }

    #[test]
    fn checking_the_printed_render_equals_checking_the_render(objects in prop::collection::vec(object(), 1..5)) {
        let back = parse_stream(&to_yaml_stream(&objects)).unwrap();
        let (a, b) = (InMemory::new(&objects, "db"), InMemory::new(&back, "db"));
        let settings: Settings = serde_json::from_value(json!({"contextSource": "render"})).unwrap();
        for (o, r) in objects.iter().zip(&back) {
            let (o, r) = (Object::from_value(o), Object::from_value(r));
            let req = |obj| Request { operation: Operation::Create, object: Some(obj), old_object: None, namespace: "db" };
            prop_assert_eq!(evaluate(&req(&o), &settings, &a), evaluate(&req(&r), &settings, &b));
        }
    }
}
