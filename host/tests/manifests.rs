//! Manifest stream parsing and YAML output.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::path::PathBuf;

use cnpg_guard_host::manifests::{ManifestError, parse_file, parse_stream, to_yaml_stream};
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn multi_document_stream_with_comments_and_empty_docs() {
    let text = "# leading comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\n# only a comment\n---\nnull\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n...\n";
    let objs = parse_stream(text).unwrap();
    let kinds: Vec<_> = objs.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ConfigMap", "Secret"]);
}

#[test]
fn corpus_multi_doc_file() {
    let objs = parse_file(&fixture(
        "corpus/GizmoTickler__home-ops__kubernetes__apps__database__netbox-postgres__app__cluster.yaml",
    ))
    .unwrap();
    let kinds: Vec<_> = objs.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Cluster", "ExternalSecret", "ScheduledBackup"]);
}

#[test]
fn anchors_and_aliases_are_resolved() {
    let objs = parse_file(&fixture(
        "corpus/Diaoul__home-ops__kubernetes__apps__database__cloudnative-pg__cluster__cluster18.yaml",
    ))
    .unwrap();
    assert_eq!(objs.len(), 1);
    let spec = &objs[0]["spec"];
    let expected = json!({"barmanObjectName": "minio", "serverName": "postgres18-0"});
    assert_eq!(spec["plugins"][0]["parameters"], expected);
    assert_eq!(
        spec["externalClusters"][0]["plugin"]["parameters"],
        expected
    );
    // quoted and unquoted scalars keep their YAML types
    assert_eq!(
        objs[0]["metadata"]["annotations"]["cnpg.io/skipEmptyWalArchiveCheck"],
        "enabled"
    );
    assert_eq!(spec["instances"], 3);
}

#[test]
fn merge_keys_are_resolved_and_overridden() {
    let objs = parse_file(&fixture(
        "corpus/carpenike__k8s-gitops__kubernetes__cluster-0__apps__db__cloudnative-pg__cluster__cluster.yaml",
    ))
    .unwrap();
    let ext = &objs[0]["spec"]["externalClusters"][0];
    assert_eq!(ext["name"], "postgres-v8");
    let store = &ext["barmanObjectStore"];
    assert_eq!(
        store["serverName"], "postgres-v8",
        "explicit key wins over the merged one"
    );
    assert_eq!(store["destinationPath"], "s3://postgresql/");
    assert_eq!(store["wal"]["maxParallel"], 8);
    assert!(store.get("<<").is_none());
    assert_eq!(
        objs[0]["spec"]["backup"]["barmanObjectStore"]["serverName"],
        "postgres-v9"
    );
}

#[test]
fn flux_variables_stay_text() {
    let objs = parse_file(&fixture(
        "corpus/mirceanton__home-ops__components__cnpg__cnpg.yaml",
    ))
    .unwrap();
    assert_eq!(objs[0]["metadata"]["name"], "${APP}-postgres");
    assert_eq!(objs[0]["spec"]["instances"], "${CNPG_REPLICAS:-1}");
    let hba = objs[0]["spec"]["postgresql"]["pg_hba"][0].as_str().unwrap();
    assert!(hba.contains("${CNPG_PG_HBA_CIDR:-10.244.0.0/16}"));
}

#[test]
fn list_kinds_are_flattened() {
    let text = r#"
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
  - apiVersion: postgresql.cnpg.io/v1
    kind: ClusterList
    items:
      - {apiVersion: postgresql.cnpg.io/v1, kind: Cluster, metadata: {name: pg}}
---
apiVersion: v1
kind: ConfigMapList
metadata: {}
items: []
"#;
    let objs = parse_stream(text).unwrap();
    let names: Vec<_> = objs
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "pg"]);
}

#[test]
fn json_inputs() {
    let one =
        parse_stream(r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}"#).unwrap();
    assert_eq!(one.len(), 1);
    let arr =
        parse_stream(r#"[{"kind":"A","apiVersion":"v1"},{"kind":"B","apiVersion":"v1"}]"#).unwrap();
    assert_eq!(arr.len(), 2);
    let concatenated = "{\"kind\":\"A\",\"apiVersion\":\"v1\"}\n{\"kind\":\"BList\",\"apiVersion\":\"v1\",\"items\":[{\"kind\":\"B\"},{\"kind\":\"C\"}]}\n";
    let objs = parse_stream(concatenated).unwrap();
    let kinds: Vec<_> = objs.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["A", "B", "C"]);
    // YAML flow mapping that is not JSON still parses
    let flow = parse_stream("{apiVersion: v1, kind: ConfigMap, metadata: {name: x}}").unwrap();
    assert_eq!(flow[0]["metadata"]["name"], "x");
}

#[test]
fn scalar_typing_follows_kubectl() {
    let text = r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: t
  creationTimestamp: 2024-05-01T10:00:00Z
data:
  date: 2024-05-01
  quoted: "2024-05-01"
  yes_word: yes
  mode: 0644
  version: 1.10
  plain: hello world
  empty:
  tilde: ~
"#;
    let objs = parse_stream(text).unwrap();
    let o = &objs[0];
    assert_eq!(o["metadata"]["creationTimestamp"], "2024-05-01T10:00:00Z");
    assert_eq!(o["data"]["date"], "2024-05-01");
    assert_eq!(o["data"]["quoted"], "2024-05-01");
    assert_eq!(o["data"]["yes_word"], true);
    assert_eq!(o["data"]["mode"], 420);
    assert_eq!(o["data"]["version"], 1.1);
    assert_eq!(o["data"]["plain"], "hello world");
    assert_eq!(o["data"]["empty"], Value::Null);
    assert_eq!(o["data"]["tilde"], Value::Null);
}

#[test]
fn syntax_error_names_document_and_line() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: [unclosed\n";
    let err = parse_stream(text).unwrap_err();
    match &err {
        ManifestError::Syntax { document, line, .. } => {
            assert_eq!(*document, 2, "{err}");
            assert!(*line >= 8, "{err}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.starts_with("document 2, line "), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");

    // With a leading `---` the first document is still document 1.
    let err = parse_stream("---\nkind: [\n").unwrap_err();
    assert!(err.to_string().starts_with("document 1, line 2"), "{err}");
}

#[test]
fn bad_indentation_error_names_document() {
    let text = "---\na: 1\n---\nb: 2\n---\nkind: X\n  bad: indent\n";
    let err = parse_stream(text).unwrap_err();
    assert!(err.to_string().starts_with("document 3, line 7"), "{err}");
}

#[test]
fn non_object_document_is_an_error() {
    let err = parse_stream("apiVersion: v1\nkind: A\n---\njust a string\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "document 2, line 4: expected a Kubernetes object (a mapping), found a string"
    );
    let err = parse_stream("{\"kind\":\"A\"}\n{\"kind\": }").unwrap_err();
    assert!(err.to_string().starts_with("document 2, line 2"), "{err}");
}

#[test]
fn alias_bombs_are_refused_not_expanded() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
        ));
    }
    assert!(parse_stream(&text).is_err());
}

#[test]
fn parse_file_error_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, "kind: [\n").unwrap();
    let msg = parse_file(&path).unwrap_err().to_string();
    assert!(msg.contains("bad.yaml: document 1"), "{msg}");
    let missing = parse_file(&dir.path().join("nope.yaml"))
        .unwrap_err()
        .to_string();
    assert!(missing.starts_with("reading "), "{missing}");
}

#[test]
fn yaml_output_round_trips_and_quotes_ambiguous_strings() {
    let objs = vec![
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
               "data": {"yes": "yes", "octal": "0644", "date": "2024-05-01", "num": "1.10",
                        "empty": "", "multi": "line one\nline two\n", "null_word": "null",
                        "var": "${APP}-x", "colon": "a: b", "hash": "# not a comment"}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b"}, "n": 3, "f": 1.5, "b": false,
               "list": [1, "two", {"k": null}]}),
    ];
    let text = to_yaml_stream(&objs);
    assert_eq!(
        text.matches("\n---\n").count() + usize::from(text.starts_with("---\n")),
        1,
        "{text}"
    );
    assert!(text.ends_with('\n'));
    assert_eq!(
        parse_stream(&text).unwrap(),
        objs,
        "round trip through our own parser:\n{text}"
    );
    assert_eq!(to_yaml_stream(&objs), text, "deterministic");
    assert_eq!(to_yaml_stream(&[]), "");
}

#[test]
fn documents_are_kept_in_order_as_written() {
    use cnpg_guard_host::manifests::parse_documents;
    let text = "# preamble\n---\na: &x {k: 1}\nb:\n  <<: *x\n  on: yes\n---\n---\nkind: ConfigMapList\nitems: [{kind: ConfigMap}]\n--- 3\n";
    let docs = parse_documents(text).unwrap();
    assert_eq!(
        docs,
        vec![
            json!({"a": {"k": 1}, "b": {"k": 1, "on": true}}),
            serde_json::Value::Null,
            json!({"kind": "ConfigMapList", "items": [{"kind": "ConfigMap"}]}),
            json!(3),
        ]
    );
    assert_eq!(
        parse_documents("").unwrap(),
        Vec::<serde_json::Value>::new()
    );
    assert_eq!(
        parse_documents("[{\"kind\":\"A\"}]").unwrap(),
        vec![json!([{"kind": "A"}])]
    );
    assert!(parse_documents("a: [").is_err());
}

#[test]
fn json_documents_separated_like_yaml_are_a_yaml_stream() {
    // What `kubectl get -o json` output joined for a paste looks like.
    let text = "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"a\"}}\n---\n{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"b\"}}\n";
    let objects = cnpg_guard_host::manifests::parse_stream_located(text).unwrap();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[1].0["kind"], "Secret");
    assert_eq!(objects[1].1, 3);
    // A broken second JSON document still gets the JSON error.
    let err = parse_stream("{\"kind\": \"A\"}\n{\"kind\": }").unwrap_err();
    assert!(err.to_string().starts_with("document 2"), "{err}");
}
