//! Property tests of the core (bounded: a few hundred cases each, so the
//! whole test command stays in its budget; `PROPTEST_CASES=100000 cargo test
//! -p cnpg-guard-core --test properties` for a longer run).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use cnpg_guard_core::cnpg::lineage;
use cnpg_guard_core::verdict::apply_removals;
use cnpg_guard_core::{InMemory, Object, Operation, Request, Settings, evaluate};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Arbitrary JSON, biased towards the shapes CNPG objects have.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z0-9./:-]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("barman-cloud.cloudnative-pg.io"),
            Just("store"),
            Just("pg-v1"),
            Just("pg-v2"),
            Just(""),
            Just("s3://b/p"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("name".to_string()),
                    Just("plugins".to_string()),
                    Just("parameters".to_string()),
                    Just("barmanObjectName".to_string()),
                    Just("serverName".to_string()),
                    Just("isWALArchiver".to_string()),
                    Just("bootstrap".to_string()),
                    Just("recovery".to_string()),
                    Just("source".to_string()),
                    Just("externalClusters".to_string()),
                    Just("plugin".to_string()),
                    Just("backup".to_string()),
                    Just("barmanObjectStore".to_string()),
                    Just("destinationPath".to_string()),
                    "[a-zA-Z]{1,8}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn cluster_with(spec: Value) -> Value {
    json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
           "metadata": {"name": "pg", "namespace": "db"}, "spec": spec})
}

fn server_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,10}",
        ("[a-z][a-z0-9-]{0,8}", 0u32..5000).prop_map(|(b, n)| format!("{b}-v{n}")),
        ("[a-z]{1,4}", Just(u32::MAX)).prop_map(|(b, n)| format!("{b}-v{n}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `next_server_name` always moves forward: a different name, and for a
    /// versioned one the same base with a strictly greater number.
    #[test]
    fn next_lineage_is_strictly_greater(name in server_name()) {
        let next = lineage::next_server_name(&name);
        prop_assert_ne!(&next, &name);
        let (nb, nn) = lineage::versioned(&next).expect("the next lineage is versioned");
        match lineage::versioned(&name) {
            Some((b, n)) if n < u32::MAX => {
                prop_assert_eq!(nb, b);
                prop_assert!(nn > n);
            }
            _ => prop_assert!(next.starts_with(&name)),
        }
    }

    /// Lineage resolution is total (never panics on any spec) and
    /// deterministic (same input, same lineages).
    #[test]
    fn lineage_resolution_is_total_and_deterministic(spec in json_value()) {
        let v = cluster_with(spec);
        let Object::Cluster(c) = Object::from_value(&v) else {
            return Err(TestCaseError::fail("not read as a Cluster"));
        };
        let a = (lineage::archives(&c, "db"), lineage::sources(&c, "db"));
        let b = (lineage::archives(&c, "db"), lineage::sources(&c, "db"));
        prop_assert_eq!(a, b);
    }

    /// Evaluating any Cluster is total and deterministic, for every operation.
    #[test]
    fn evaluation_is_total_and_deterministic(spec in json_value(), old in json_value()) {
        let obj = Object::from_value(&cluster_with(spec));
        let old = Object::from_value(&cluster_with(old));
        let lookup = InMemory::new(&[], "db");
        for operation in [Operation::Create, Operation::Update, Operation::Delete] {
            let req = Request { operation, object: Some(&obj), old_object: Some(&old), namespace: "db" };
            let a = evaluate(&req, &Settings::default(), &lookup);
            let b = evaluate(&req, &Settings::default(), &lookup);
            prop_assert_eq!(a, b);
        }
    }

    /// The mutation is idempotent: applying the removals, then evaluating
    /// again, removes nothing more.
    #[test]
    fn mutation_is_idempotent(
        labels in prop::collection::btree_map("[a-z]{1,6}", "[a-z0-9]{0,6}", 0..4)
            .prop_filter("the backup key is set below", |m| !m.contains_key("backup")),
        with_backup in any::<bool>(),
        cnpg in any::<bool>(),
    ) {
        let mut labels: serde_json::Map<String, Value> =
            labels.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        if with_backup {
            labels.insert("backup".into(), json!("daily"));
        }
        if cnpg {
            labels.insert("cnpg.io/cluster".into(), json!("pg"));
        }
        let mut pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                             "metadata": {"name": "pg-1", "namespace": "db", "labels": labels}});
        let lookup = InMemory::new(&[], "db");
        let first = {
            let obj = Object::from_value(&pvc);
            let req = Request { operation: Operation::Create, object: Some(&obj), old_object: None, namespace: "db" };
            evaluate(&req, &Settings::default(), &lookup)
        };
        prop_assert_eq!(!first.removals.is_empty(), with_backup && cnpg);
        apply_removals(&mut pvc, &first.removals);
        let obj = Object::from_value(&pvc);
        let req = Request { operation: Operation::Create, object: Some(&obj), old_object: None, namespace: "db" };
        let second = evaluate(&req, &Settings::default(), &lookup);
        prop_assert!(second.removals.is_empty(), "{:?}", second.removals);
    }

    /// Findings for an object do not depend on the order of the bundle that
    /// answers its lookups. (Objects of one identity are one object: a
    /// bundle holding two DIFFERENT objects of the same kind/namespace/name is
    /// not something a cluster can hold, and is not generated here.)
    #[test]
    fn findings_do_not_depend_on_bundle_order(
        picks in prop::collection::vec(0usize..8, 1..8),
        seed in any::<u64>(),
    ) {
        let pool = bundle_pool();
        let bundle: Vec<Value> = picks.iter().map(|i| pool[*i].clone()).collect();
        let mut shuffled = bundle.clone();
        // A deterministic permutation from the seed.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let a = InMemory::new(&bundle, "db");
        let b = InMemory::new(&shuffled, "db");
        for o in &bundle {
            let obj = Object::from_value(o);
            let req = Request { operation: Operation::Create, object: Some(&obj), old_object: None, namespace: "db" };
            let mut fa = evaluate(&req, &Settings::default(), &a).findings;
            let mut fb = evaluate(&req, &Settings::default(), &b).findings;
            fa.sort_by(|x, y| (&x.rule, &x.path, &x.message).cmp(&(&y.rule, &y.path, &y.message)));
            fb.sort_by(|x, y| (&x.rule, &x.path, &x.message).cmp(&(&y.rule, &y.path, &y.message)));
            prop_assert_eq!(fa, fb);
        }
    }
}

/// Objects that look each other up: Clusters sharing or not sharing a
/// store and lineage, ObjectStores with and without recovery windows,
/// ScheduledBackups, a NetworkPolicy.
fn bundle_pool() -> Vec<Value> {
    let plugin = |store: &str, sn: &str| {
        json!([{"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": true,
                "parameters": {"barmanObjectName": store, "serverName": sn}}])
    };
    vec![
        json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "a", "namespace": "db"},
               "spec": {"plugins": plugin("s3", "a-v1")}}),
        json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "b", "namespace": "db"},
               "spec": {"plugins": plugin("s3", "a-v1")}}),
        json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "c", "namespace": "db"},
               "spec": {"plugins": plugin("s3", "c-v3"), "bootstrap": {"recovery": {"source": "o"}},
                        "externalClusters": [{"name": "o", "plugin": {"name": "barman-cloud.cloudnative-pg.io",
                            "parameters": {"barmanObjectName": "s3", "serverName": "c-v2"}}}]}}),
        json!({"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore", "metadata": {"name": "s3", "namespace": "db"},
               "spec": {"configuration": {"destinationPath": "s3://b/p"}, "retentionPolicy": "7d"},
               "status": {"serverRecoveryWindow": {"a-v1": {"firstRecoverabilityPoint": "2026-01-01T00:00:00Z",
                                                            "lastSuccessfulBackupTime": "2026-01-02T00:00:00Z"}}}}),
        json!({"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore", "metadata": {"name": "s3-other", "namespace": "db"},
               "spec": {"configuration": {"destinationPath": "s3://b/p"}}}),
        json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "ScheduledBackup", "metadata": {"name": "a-m", "namespace": "db"},
               "spec": {"schedule": "0 0 3 1 * *", "cluster": {"name": "a"}, "method": "plugin",
                        "pluginConfiguration": {"name": "barman-cloud.cloudnative-pg.io"}}}),
        json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "ScheduledBackup", "metadata": {"name": "c-d", "namespace": "db"},
               "spec": {"schedule": "0 3 * * *", "cluster": {"name": "c"}, "immediate": true}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "db"},
               "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}}),
    ]
}
