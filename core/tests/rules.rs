//! Every rule: a failing case and a passing case, on real-shaped manifests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use cnpg_guard_core::view::{Backup, Cluster, ObjectStore};
use cnpg_guard_core::{
    InMemory, Lookup, Object, Operation, Request, Settings, Severity, Verdict, evaluate,
};
use serde_json::{Value, json};

const BARMAN: &str = "barman-cloud.cloudnative-pg.io";

fn object_store(name: &str, dest: &str) -> Value {
    json!({"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
        "metadata": {"name": name, "namespace": "db"},
        "spec": {"configuration": {"destinationPath": dest, "endpointURL": "http://rustfs.storage:9000",
            "s3Credentials": {"accessKeyId": {"name": "s3", "key": "id"}, "secretAccessKey": {"name": "s3", "key": "key"}}},
            "retentionPolicy": "14d"}})
}

/// The seed-000 Cluster: plugin archive `archive`, optional recovery from `source`.
fn cluster(name: &str, archive: Option<&str>, source: Option<Option<&str>>) -> Value {
    let mut params = json!({"barmanObjectName": "s3-store"});
    if let Some(a) = archive {
        params["serverName"] = json!(a);
    }
    let mut c = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
        "metadata": {"name": name, "namespace": "db"},
        "spec": {"instances": 1, "imageName": "ghcr.io/cloudnative-pg/postgresql:17.5",
            "storage": {"size": "10Gi"},
            "plugins": [{"name": BARMAN, "isWALArchiver": true, "parameters": params}],
            "bootstrap": {"initdb": {"database": "temporal", "owner": "temporal"}}}});
    if let Some(src) = source {
        let mut sp = json!({"barmanObjectName": "s3-store"});
        if let Some(s) = src {
            sp["serverName"] = json!(s);
        }
        c["spec"]["bootstrap"] =
            json!({"recovery": {"source": "origin", "database": "temporal", "owner": "temporal"}});
        c["spec"]["externalClusters"] =
            json!([{"name": "origin", "plugin": {"name": BARMAN, "parameters": sp}}]);
    }
    c
}

fn store() -> Value {
    object_store("s3-store", "s3://postgres-backups/cnpg/temporal")
}

fn run_op(
    op: Operation,
    obj: Option<&Value>,
    old: Option<&Value>,
    ctx: Vec<Value>,
    settings: Value,
) -> Verdict {
    let settings: Settings = serde_json::from_value(settings).unwrap();
    settings.validate().unwrap();
    let lookup = InMemory::new(&ctx, "db");
    let object = obj.map(Object::from_value);
    let old_object = old.map(Object::from_value);
    let mut v = evaluate(
        &Request {
            operation: op,
            object: object.as_ref(),
            old_object: old_object.as_ref(),
            namespace: "db",
        },
        &settings,
        &lookup,
    );
    // As every host does: the core returns removals, the host applies them.
    if let Some(full) = obj
        && !v.removals.is_empty()
    {
        let mut m = full.clone();
        cnpg_guard_core::verdict::apply_removals(&mut m, &v.removals);
        v.mutated_object = Some(m);
    }
    v
}

fn create(obj: &Value, ctx: Vec<Value>) -> Verdict {
    run_op(Operation::Create, Some(obj), None, ctx, json!({}))
}

fn rules_of(v: &Verdict) -> Vec<(String, Severity)> {
    v.findings
        .iter()
        .map(|f| (f.rule.clone(), f.severity))
        .collect()
}

fn has(v: &Verdict, rule: &str, sev: Severity) -> bool {
    v.findings
        .iter()
        .any(|f| f.rule == rule && f.severity == sev)
}

fn finding<'a>(v: &'a Verdict, rule: &str) -> &'a cnpg_guard_core::Finding {
    v.findings
        .iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} in {:#?}", v.findings))
}

// ---------------------------------------------------------------- bootstrap

#[test]
fn dual_bootstrap_is_denied_and_single_is_fine() {
    let mut c = cluster(
        "temporal-database",
        Some("temporal-database-v3"),
        Some(Some("temporal-database-v2")),
    );
    c["spec"]["bootstrap"]["initdb"] = json!({"database": "temporal", "owner": "temporal"});
    let v = create(&c, vec![store()]);
    assert!(!v.accepted);
    let f = finding(&v, "dual-bootstrap");
    assert_eq!(f.path, "spec.bootstrap");
    assert!(f.message.contains("initdb + recovery"), "{}", f.message);
    assert!(
        f.text
            .starts_with("Cluster db/temporal-database: spec.bootstrap: [dual-bootstrap]"),
        "{}",
        f.text
    );

    let ok = create(
        &cluster(
            "temporal-database",
            Some("temporal-database-v3"),
            Some(Some("temporal-database-v2")),
        ),
        vec![store()],
    );
    assert!(ok.accepted, "{:#?}", ok.findings);
    assert!(ok.findings.is_empty(), "{:#?}", ok.findings);
}

#[test]
fn dual_bootstrap_on_update_explains_the_live_method() {
    let old = cluster("temporal-database", Some("temporal-database-v2"), None);
    let mut new = cluster(
        "temporal-database",
        Some("temporal-database-v3"),
        Some(Some("temporal-database-v2")),
    );
    new["spec"]["bootstrap"]["initdb"] = json!({"database": "app", "owner": "app"});
    let v = run_op(
        Operation::Update,
        Some(&new),
        Some(&old),
        vec![store()],
        json!({}),
    );
    let f = finding(&v, "dual-bootstrap");
    assert!(
        f.message
            .contains("live Cluster was bootstrapped with initdb"),
        "{}",
        f.message
    );
    assert!(f.message.contains("create-time only"), "{}", f.message);
}

#[test]
fn bootstrap_change_on_update_warns_and_unchanged_does_not() {
    let old = cluster("temporal-database", Some("temporal-database-v2"), None);
    let new = cluster(
        "temporal-database",
        Some("temporal-database-v3"),
        Some(Some("temporal-database-v2")),
    );
    let v = run_op(
        Operation::Update,
        Some(&new),
        Some(&old),
        vec![store()],
        json!({}),
    );
    assert!(v.accepted);
    assert!(
        has(&v, "bootstrap-changed", Severity::Warn),
        "{:?}",
        rules_of(&v)
    );
    assert!(
        finding(&v, "bootstrap-changed")
            .message
            .contains("from initdb to recovery")
    );

    // (backup-schedule-missing would fire on any UPDATE without a
    // ScheduledBackup in the context; it is not what this test is about.)
    let same = run_op(
        Operation::Update,
        Some(&old),
        Some(&old),
        vec![store()],
        json!({"severity": {"backup-schedule-missing": "off"}}),
    );
    assert!(same.findings.is_empty(), "{:#?}", same.findings);
}

#[test]
fn recovery_without_any_source_is_denied() {
    let mut c = cluster("pg", Some("pg-v2"), None);
    c["spec"]["bootstrap"] = json!({"recovery": {"database": "app", "owner": "app"}});
    let v = create(&c, vec![store()]);
    assert!(
        has(&v, "recovery-source-missing", Severity::Deny),
        "{:?}",
        rules_of(&v)
    );

    let mut snap = cluster("pg", Some("pg-v2"), None);
    snap["spec"]["bootstrap"] = json!({"recovery": {"volumeSnapshots": {"storage": {"name": "pg-1-snap", "kind": "VolumeSnapshot", "apiGroup": "snapshot.storage.k8s.io"}}}});
    assert!(!has(
        &create(&snap, vec![store()]),
        "recovery-source-missing",
        Severity::Deny
    ));
}

#[test]
fn recovery_from_a_plugin_backup_is_denied() {
    let mut c = cluster("pg", Some("pg-v2"), None);
    c["spec"]["bootstrap"] = json!({"recovery": {"backup": {"name": "pg-daily-20261120"}}});
    let plugin_backup = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Backup",
        "metadata": {"name": "pg-daily-20261120", "namespace": "db"},
        "spec": {"cluster": {"name": "pg"}, "method": "plugin", "pluginConfiguration": {"name": BARMAN}},
        "status": {"phase": "completed", "method": "plugin", "pluginMetadata": {"pluginName": BARMAN}}});
    let v = create(&c, vec![store(), plugin_backup]);
    let f = finding(&v, "recovery-backup-plugin");
    assert_eq!(f.severity, Severity::Deny);
    assert!(f.fix.contains("externalClusters"), "{}", f.fix);

    let inline_backup = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Backup",
        "metadata": {"name": "pg-daily-20261120", "namespace": "db"},
        "spec": {"cluster": {"name": "pg"}, "method": "barmanObjectStore"},
        "status": {"phase": "completed", "destinationPath": "s3://b", "serverName": "pg"}});
    assert!(!has(
        &create(&c, vec![store(), inline_backup]),
        "recovery-backup-plugin",
        Severity::Deny
    ));
}

// ------------------------------------------------------------------ lineage

#[test]
fn recovery_into_its_own_source_lineage_is_denied() {
    let c = cluster(
        "temporal-database",
        Some("temporal-database-v2"),
        Some(Some("temporal-database-v2")),
    );
    let v = create(&c, vec![store()]);
    assert!(!v.accepted);
    let f = finding(&v, "lineage-self-reuse");
    assert_eq!(f.path, "spec.plugins[0].parameters.serverName");
    assert!(
        f.message.contains("Expected empty archive"),
        "{}",
        f.message
    );
    assert!(f.fix.contains("temporal-database-v3"), "{}", f.fix);
    // lineage-order is not reported on top of the self-reuse.
    assert!(!has(&v, "lineage-order", Severity::Deny));
}

#[test]
fn both_server_names_omitted_collide_through_plugin_defaults() {
    let c = cluster("postgres-vectorchord", None, Some(None));
    let v = create(&c, vec![store()]);
    let f = finding(&v, "lineage-self-reuse");
    assert!(
        f.message.contains("defaults to 'postgres-vectorchord'"),
        "{}",
        f.message
    );
    assert!(has(&v, "recovery-servername-default", Severity::Warn));
}

#[test]
fn skip_annotation_does_not_excuse_self_reuse() {
    let mut c = cluster("pg", Some("pg-v1"), Some(Some("pg-v1")));
    c["metadata"]["annotations"] = json!({"cnpg.io/skipEmptyWalArchiveCheck": "enabled"});
    let v = create(&c, vec![store()]);
    let f = finding(&v, "lineage-self-reuse");
    assert_eq!(f.severity, Severity::Deny);
    assert!(
        f.message.contains("only hides the collision"),
        "{}",
        f.message
    );
}

#[test]
fn inline_anchor_shared_config_is_self_reuse() {
    // YAML `backup.barmanObjectStore: *barman` + externalClusters barmanObjectStore: *barman
    let barman = json!({"destinationPath": "s3://cnpg/pg", "endpointURL": "https://s3.example",
        "serverName": "postgres-v3", "s3Credentials": {"inheritFromIAMRole": true}});
    let c = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
        "metadata": {"name": "postgres", "namespace": "db"},
        "spec": {"backup": {"barmanObjectStore": barman.clone()},
            "bootstrap": {"recovery": {"source": "postgres-v3"}},
            "externalClusters": [{"name": "postgres-v3", "barmanObjectStore": barman}]}});
    let v = create(&c, vec![]);
    assert!(
        has(&v, "lineage-self-reuse", Severity::Deny),
        "{:?}",
        rules_of(&v)
    );
    assert!(has(&v, "inline-barman-deprecated", Severity::Warn));
}

#[test]
fn lockstep_bump_passes_and_backwards_is_denied() {
    let ok = create(
        &cluster("pg", Some("pg-v3"), Some(Some("pg-v2"))),
        vec![store()],
    );
    assert!(ok.findings.is_empty(), "{:#?}", ok.findings);

    let back = create(
        &cluster("pg", Some("pg-v2"), Some(Some("pg-v3"))),
        vec![store()],
    );
    let f = finding(&back, "lineage-order");
    assert_eq!(f.severity, Severity::Deny);
    assert!(f.fix.contains("'pg-v4'"), "{}", f.fix);
}

#[test]
fn source_two_lineages_behind_warns() {
    let v = create(
        &cluster("pg", Some("pg-v3"), Some(Some("pg-v1"))),
        vec![store()],
    );
    assert!(v.accepted);
    let f = finding(&v, "lineage-gap");
    assert_eq!(
        f.path,
        "spec.externalClusters[0].plugin.parameters.serverName"
    );
    assert!(f.fix.contains("'pg-v2'"), "{}", f.fix);
}

#[test]
fn different_bases_are_not_ordered() {
    let v = create(
        &cluster(
            "postgres17",
            Some("postgres18-v1"),
            Some(Some("postgres17-v3")),
        ),
        vec![store()],
    );
    assert!(v.findings.is_empty(), "{:#?}", v.findings);
}

#[test]
fn lineage_shared_with_another_cluster_is_denied() {
    let other = cluster("pg", Some("shared-v1"), None);
    let mut other_ns = other.clone();
    other_ns["metadata"]["namespace"] = json!("team-b");
    let mut store_b = store();
    store_b["metadata"]["namespace"] = json!("team-b");
    let me = cluster("pg-two", Some("shared-v1"), None);
    let v = create(&me, vec![store(), other.clone()]);
    let f = finding(&v, "lineage-shared");
    assert!(f.message.contains("db/pg"), "{}", f.message);

    // Cluster-wide (default): same bucket in another namespace collides too.
    let v = create(&me, vec![store(), store_b.clone(), other_ns.clone()]);
    assert!(
        has(&v, "lineage-shared", Severity::Deny),
        "{:?}",
        rules_of(&v)
    );
    // Namespace scope ignores it.
    let v = run_op(
        Operation::Create,
        Some(&me),
        None,
        vec![store(), store_b, other_ns],
        json!({"lineageScope": "namespace"}),
    );
    assert!(!has(&v, "lineage-shared", Severity::Deny));
    // Its own stored copy (UPDATE) and distinct serverNames are fine.
    let v = run_op(
        Operation::Update,
        Some(&me),
        Some(&me),
        vec![store(), me.clone()],
        json!({"severity": {"backup-schedule-missing": "off"}}),
    );
    assert!(v.findings.is_empty(), "{:#?}", v.findings);
    assert!(
        create(
            &cluster("pg-two", Some("pg-two-v1"), None),
            vec![store(), other]
        )
        .findings
        .is_empty()
    );
}

#[test]
fn archive_with_existing_backups_is_denied_on_create() {
    let mut s = store();
    s["status"] = json!({"serverRecoveryWindow": {"temporal-database-v2": {
        "firstRecoverabilityPoint": "2026-11-01T00:00:00Z", "lastSuccessfulBackupTime": "2026-11-21T03:00:04Z"}}});
    // Recovery flipped without bumping the archive: restore v1, archive v2 (taken).
    let c = cluster(
        "temporal-database",
        Some("temporal-database-v2"),
        Some(Some("temporal-database-v1")),
    );
    let v = create(&c, vec![s.clone()]);
    let f = finding(&v, "archive-not-empty");
    assert!(f.message.contains("2026-11-21T03:00:04Z"), "{}", f.message);
    assert!(f.fix.contains("temporal-database-v3"), "{}", f.fix);
    // Not on UPDATE (the Cluster writes there itself), and not for a fresh lineage.
    let v = run_op(
        Operation::Update,
        Some(&c),
        Some(&c),
        vec![s.clone()],
        json!({}),
    );
    assert!(!has(&v, "archive-not-empty", Severity::Deny));
    let bumped = cluster(
        "temporal-database",
        Some("temporal-database-v3"),
        Some(Some("temporal-database-v2")),
    );
    assert!(create(&bumped, vec![s]).accepted);
}

#[test]
fn double_nesting_warns() {
    let s = object_store("s3-store", "s3://postgres-backups/cnpg/pg-v2/");
    let v = create(&cluster("pg", Some("pg-v2"), None), vec![s]);
    let f = finding(&v, "destination-double-nesting");
    assert!(f.message.contains("pg-v2/pg-v2/"), "{}", f.message);
    assert!(
        create(&cluster("pg", Some("pg-v2"), None), vec![store()])
            .findings
            .is_empty()
    );
}

// ------------------------------------------------------------- ObjectStores

#[test]
fn missing_object_store_is_denied() {
    let v = create(&cluster("pg", Some("pg-v1"), None), vec![]);
    let f = finding(&v, "objectstore-missing");
    assert_eq!(f.path, "spec.plugins[0].parameters.barmanObjectName");
    assert!(
        f.message.contains("names no ObjectStore in namespace 'db'"),
        "{}",
        f.message
    );
    // Render wording.
    let v = run_op(
        Operation::Create,
        Some(&cluster("pg", Some("pg-v1"), None)),
        None,
        vec![],
        json!({"contextSource": "render"}),
    );
    assert!(
        finding(&v, "objectstore-missing")
            .message
            .contains("not in this tree")
    );
    // Present: fine. In another namespace: still missing.
    assert!(create(&cluster("pg", Some("pg-v1"), None), vec![store()]).accepted);
    let mut elsewhere = store();
    elsewhere["metadata"]["namespace"] = json!("other");
    assert!(!create(&cluster("pg", Some("pg-v1"), None), vec![elsewhere]).accepted);
}

#[test]
fn missing_barman_object_name_is_denied() {
    let mut c = cluster("pg", Some("pg-v1"), None);
    c["spec"]["plugins"][0]["parameters"] = json!({"serverName": "pg-v1"});
    let v = create(&c, vec![store()]);
    assert!(
        has(&v, "barman-object-name-missing", Severity::Deny),
        "{:?}",
        rules_of(&v)
    );
}

#[test]
fn deleting_an_object_store_in_use_is_denied() {
    let s = store();
    let user = cluster("pg", Some("pg-v1"), None);
    let v = run_op(Operation::Delete, None, Some(&s), vec![user], json!({}));
    let f = finding(&v, "objectstore-in-use");
    assert!(
        f.message.contains("Cluster pg (spec.plugins[0]"),
        "{}",
        f.message
    );
    let v = run_op(Operation::Delete, None, Some(&s), vec![], json!({}));
    assert!(v.accepted && v.findings.is_empty());
}

// -------------------------------------------------------- ScheduledBackups

fn scheduled(schedule: &str, method: Option<&str>, plugin: Option<Value>) -> Value {
    let mut sb = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "ScheduledBackup",
        "metadata": {"name": "pg-daily", "namespace": "db"},
        "spec": {"schedule": schedule, "backupOwnerReference": "self", "cluster": {"name": "pg"}}});
    if let Some(m) = method {
        sb["spec"]["method"] = json!(m);
    }
    if let Some(p) = plugin {
        sb["spec"]["pluginConfiguration"] = p;
    }
    sb
}

#[test]
fn five_field_schedule_is_denied_with_the_intended_form() {
    let v = create(
        &scheduled("0 3 * * *", Some("plugin"), Some(json!({"name": BARMAN}))),
        vec![],
    );
    let f = finding(&v, "schedule-five-fields");
    assert_eq!(f.severity, Severity::Deny);
    assert!(f.message.contains("EVERY HOUR"), "{}", f.message);
    assert!(f.fix.contains("'0 0 3 * * *'"), "{}", f.fix);
    for ok in ["0 0 3 * * *", "@daily", "0 0 4,16 * * *"] {
        assert!(
            create(
                &scheduled(ok, Some("plugin"), Some(json!({"name": BARMAN}))),
                vec![]
            )
            .findings
            .is_empty(),
            "{ok}"
        );
    }
}

#[test]
fn default_method_against_a_plugin_only_cluster_is_denied() {
    let target = cluster("pg", Some("pg-v1"), None);
    let v = create(&scheduled("0 0 3 * * *", None, None), vec![target.clone()]);
    let f = finding(&v, "backup-method-mismatch");
    assert!(
        f.message.contains("defaults to barmanObjectStore"),
        "{}",
        f.message
    );
    assert!(f.fix.contains("method: plugin"), "{}", f.fix);
    // Unknown target: nothing to say. Inline target: fine.
    assert!(
        create(&scheduled("0 0 3 * * *", None, None), vec![])
            .findings
            .is_empty()
    );
    let mut inline = target;
    inline["spec"]["backup"] = json!({"barmanObjectStore": {"destinationPath": "s3://b"}});
    inline["spec"]["plugins"] = json!([]);
    assert!(!has(
        &create(
            &scheduled("0 0 3 * * *", Some("barmanObjectStore"), None),
            vec![inline]
        ),
        "backup-method-mismatch",
        Severity::Deny
    ));
}

#[test]
fn plugin_method_without_configuration_is_denied() {
    let v = create(&scheduled("0 0 3 * * *", Some("plugin"), None), vec![]);
    assert!(has(&v, "plugin-config-missing", Severity::Deny));
    let backup = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Backup",
        "metadata": {"name": "manual", "namespace": "db"}, "spec": {"cluster": {"name": "pg"}, "method": "plugin"}});
    assert!(has(
        &create(&backup, vec![]),
        "plugin-config-missing",
        Severity::Deny
    ));
}

#[test]
fn barman_plugin_parameters_warn() {
    let v = create(
        &scheduled(
            "0 0 3 * * *",
            Some("plugin"),
            Some(json!({"name": BARMAN, "parameters": {"barmanObjectName": "other"}})),
        ),
        vec![],
    );
    assert!(v.accepted);
    assert!(
        finding(&v, "plugin-parameters-ignored")
            .message
            .contains("barmanObjectName")
    );
}

// ------------------------------------------------------------------ hygiene

#[test]
fn skip_annotation_without_recovery_warns() {
    let mut c = cluster("pg", Some("pg-v1"), None);
    c["metadata"]["annotations"] = json!({"cnpg.io/skipEmptyWalArchiveCheck": "enabled"});
    let v = create(&c, vec![store()]);
    assert!(has(&v, "skip-wal-check-outside-recovery", Severity::Warn));
    // Only the exact value "enabled" has an effect in CNPG.
    c["metadata"]["annotations"] = json!({"cnpg.io/skipEmptyWalArchiveCheck": "true"});
    assert!(create(&c, vec![store()]).findings.is_empty());
}

// ------------------------------------------------------------------ labels

fn pvc(labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "pg-1", "namespace": "db", "labels": labels},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}})
}

#[test]
fn backup_label_is_stripped_from_cnpg_pvcs() {
    let p = pvc(json!({"cnpg.io/cluster": "pg", "cnpg.io/pvcRole": "PG_DATA", "backup": "daily"}));
    let v = create(&p, vec![]);
    assert!(v.accepted && v.findings.is_empty());
    let m = v.mutated_object.expect("mutated");
    assert_eq!(
        m["metadata"]["labels"],
        json!({"cnpg.io/cluster": "pg", "cnpg.io/pvcRole": "PG_DATA"})
    );
    // Idempotent: no label, no patch. Not a CNPG PVC: untouched.
    assert!(create(&m, vec![]).mutated_object.is_none());
    assert!(
        create(&pvc(json!({"app": "x", "backup": "daily"})), vec![])
            .mutated_object
            .is_none()
    );
}

#[test]
fn backup_label_levels_and_custom_keys() {
    let p = pvc(json!({"cnpg.io/cluster": "pg", "kopia.io/backup": "hourly"}));
    let v = run_op(
        Operation::Create,
        Some(&p),
        None,
        vec![],
        json!({"backupLabelKeys": ["kopia.io/backup"]}),
    );
    assert!(v.mutated_object.is_some());
    let v = run_op(
        Operation::Create,
        Some(&p),
        None,
        vec![],
        json!({"backupLabelKeys": ["kopia.io/backup"], "severity": {"pvc-backup-label": "deny"}}),
    );
    assert!(!v.accepted && v.mutated_object.is_none());
    let v = run_op(
        Operation::Create,
        Some(&p),
        None,
        vec![],
        json!({"backupLabelKeys": ["kopia.io/backup"], "severity": {"pvc-backup-label": "off"}}),
    );
    assert!(v.accepted && v.mutated_object.is_none() && v.findings.is_empty());
}

#[test]
fn inherited_backup_label_is_stripped_from_clusters() {
    let mut c = cluster("pg", Some("pg-v1"), None);
    c["spec"]["inheritedMetadata"] = json!({"labels": {"backup": "daily", "team": "a"}});
    let v = create(&c, vec![store()]);
    let m = v.mutated_object.expect("mutated");
    assert_eq!(
        m["spec"]["inheritedMetadata"]["labels"],
        json!({"team": "a"})
    );
    assert!(create(&m, vec![store()]).mutated_object.is_none());
}

// -------------------------------------------------------------- exemptions

#[test]
fn exemptions_need_a_reason_and_a_real_rule() {
    let mut c = cluster("pg", Some("pg-v1"), Some(Some("pg-v1")));
    c["metadata"]["annotations"] = json!({"cnpg-guard.io/allow-lineage-self-reuse": "drill 2026-11: restore into the same prefix on a throwaway bucket"});
    let v = create(&c, vec![store()]);
    assert!(v.accepted, "{:#?}", v.findings);
    assert_eq!(v.exemptions.len(), 1);
    assert_eq!(v.exemptions[0].rule, "lineage-self-reuse");

    c["metadata"]["annotations"] = json!({"cnpg-guard.io/allow-lineage-self-reuse": "  "});
    let v = create(&c, vec![store()]);
    assert!(has(&v, "exemption-reason-required", Severity::Deny));
    assert!(
        has(&v, "lineage-self-reuse", Severity::Deny),
        "not honoured"
    );

    c["metadata"]["annotations"] = json!({"cnpg-guard.io/allow-lineage-self-reus": "typo"});
    assert!(has(
        &create(&c, vec![store()]),
        "exemption-unknown-rule",
        Severity::Warn
    ));

    c["metadata"]["annotations"] = json!({"cnpg-guard.io/allow-lineage-self-reuse": "ok"});
    let v = run_op(
        Operation::Create,
        Some(&c),
        None,
        vec![store()],
        json!({"honourExemptions": false}),
    );
    assert!(has(&v, "lineage-self-reuse", Severity::Deny));
}

#[test]
fn severity_overrides_apply() {
    let c = cluster("pg", Some("pg-v3"), Some(Some("pg-v1")));
    let v = run_op(
        Operation::Create,
        Some(&c),
        None,
        vec![store()],
        json!({"severity": {"lineage-gap": "deny"}}),
    );
    assert!(has(&v, "lineage-gap", Severity::Deny) && !v.accepted);
    let v = run_op(
        Operation::Create,
        Some(&c),
        None,
        vec![store()],
        json!({"severity": {"lineage-gap": "off"}}),
    );
    assert!(v.findings.is_empty());
}

// ------------------------------------------------------------------ context

struct Failing;
impl Lookup for Failing {
    fn object_stores(&self, _: Option<&str>) -> Result<Vec<ObjectStore>, String> {
        Err("policy has not been granted access to ObjectStore".into())
    }
    fn clusters(&self, _: Option<&str>) -> Result<Vec<Cluster>, String> {
        Err("policy has not been granted access to Cluster".into())
    }
    fn backups(&self, _: &str) -> Result<Vec<Backup>, String> {
        Err("policy has not been granted access to Backup".into())
    }
    fn scheduled_backups(&self, _: &str) -> Result<Vec<Backup>, String> {
        Err("policy has not been granted access to ScheduledBackup".into())
    }
    fn network_policies(
        &self,
        _: &str,
    ) -> Result<Vec<cnpg_guard_core::view::NetworkPolicy>, String> {
        Err("policy has not been granted access to NetworkPolicy".into())
    }
}

#[test]
fn lookup_failures_follow_the_context_errors_setting() {
    let c = Object::from_value(&cluster("pg", Some("pg-v1"), None));
    let req = Request {
        operation: Operation::Create,
        object: Some(&c),
        old_object: None,
        namespace: "db",
    };
    let v = evaluate(&req, &Settings::default(), &Failing);
    assert!(v.accepted);
    let f = finding(&v, "context-unavailable");
    assert!(
        f.message
            .contains("listing ObjectStores in namespace 'db' failed"),
        "{}",
        f.message
    );
    let strict: Settings = serde_json::from_value(json!({"contextErrors": "deny"})).unwrap();
    assert!(!evaluate(&req, &strict, &Failing).accepted);
}

/// A host that answers with a whole error chain and backtrace (policy-server
/// with RUST_BACKTRACE set) still gives a one-line, bounded finding.
struct Verbose;
impl Lookup for Verbose {
    fn object_stores(&self, _: Option<&str>) -> Result<Vec<ObjectStore>, String> {
        Err(format!(
            "Host error: {}\n\nStack backtrace:\n   0: anyhow::error\n   1: policy_evaluator::callback",
            "x".repeat(400)
        ))
    }
    fn clusters(&self, _: Option<&str>) -> Result<Vec<Cluster>, String> {
        Ok(Vec::new())
    }
    fn backups(&self, _: &str) -> Result<Vec<Backup>, String> {
        Ok(Vec::new())
    }
    fn scheduled_backups(&self, _: &str) -> Result<Vec<Backup>, String> {
        Ok(Vec::new())
    }
    fn network_policies(
        &self,
        _: &str,
    ) -> Result<Vec<cnpg_guard_core::view::NetworkPolicy>, String> {
        Ok(Vec::new())
    }
}

#[test]
fn host_errors_are_cut_to_their_first_line() {
    let c = Object::from_value(&cluster("pg", Some("pg-v1"), None));
    let req = Request {
        operation: Operation::Create,
        object: Some(&c),
        old_object: None,
        namespace: "db",
    };
    let v = evaluate(&req, &Settings::default(), &Verbose);
    let f = finding(&v, "context-unavailable");
    assert!(!f.message.contains("backtrace"), "{}", f.message);
    assert!(!f.text.contains('\n'));
    assert!(f.message.len() < 400, "{}", f.message.len());
    assert!(
        f.fix.contains("ScheduledBackups and NetworkPolicies"),
        "{}",
        f.fix
    );
}

#[test]
fn odd_input_never_panics() {
    let odd = [
        json!(null),
        json!(42),
        json!("Cluster"),
        json!([]),
        json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster"}),
        json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "spec": {"bootstrap": {"recovery": {"source": 7}}, "plugins": "x", "externalClusters": [null, 1, {"name": 2}]}}),
        json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "ScheduledBackup", "spec": {"schedule": 5, "method": ["plugin"]}}),
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"labels": "nope"}}),
        json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"annotations": {"cnpg-guard.io/allow-x": 3}},
               "spec": {"plugins": [{"name": BARMAN, "parameters": {"barmanObjectName": 1}}], "inheritedMetadata": {"labels": []}}}),
    ];
    for v in &odd {
        let o = Object::from_value(v);
        for op in [Operation::Create, Operation::Update, Operation::Delete] {
            let _ = evaluate(
                &Request {
                    operation: op,
                    object: Some(&o),
                    old_object: Some(&o),
                    namespace: "",
                },
                &Settings::default(),
                &InMemory::new(&odd, ""),
            );
        }
    }
}
