//! Property test of the edit path: a generated single-file database (any
//! indentation, quoting, comment style, flow or block parameters, CRLF,
//! trailing spaces, unrelated fields) is planned and applied in memory, then
//! re-read with the host parser: only the intended fields changed, to the
//! intended values; every other field is identical; and planning the result
//! again moves to the next lineage.

use cnpg_guard_core::cnpg::lineage;
use cnpg_guard_host::manifests::parse_documents;
use proptest::prelude::*;
use serde_json::Value;

use super::layout::InputFile;
use super::*;

#[derive(Debug, Clone)]
struct Style {
    indent: usize,
    quote: u8,
    flow_params: bool,
    comment: bool,
    crlf: bool,
    trailing_space: bool,
    labels: bool,
}

fn style() -> impl Strategy<Value = Style> {
    (
        prop_oneof![Just(2usize), Just(4)],
        0u8..3,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(indent, quote, flow_params, comment, crlf, trailing_space, labels)| Style {
                indent,
                quote,
                flow_params,
                comment,
                crlf,
                trailing_space,
                labels,
            },
        )
}

fn cluster_text(s: &Style, version: u32) -> String {
    let i = |n: usize| " ".repeat(s.indent * n);
    let sn = format!("pg-v{version}");
    let sn = match s.quote {
        0 => sn,
        1 => format!("'{sn}'"),
        _ => format!("\"{sn}\""),
    };
    let comment = if s.comment {
        "  # the archive lineage"
    } else {
        ""
    };
    let mut t = String::new();
    t.push_str("# The database.\napiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n");
    t.push_str(&format!("{}name: pg\n{}namespace: db\n", i(1), i(1)));
    if s.labels {
        t.push_str(&format!("{}labels:\n{}app: pg # owner\n", i(1), i(2)));
    }
    t.push_str("spec:\n");
    t.push_str(&format!(
        "{}instances: 3\n{}storage: {{size: 10Gi}}\n",
        i(1),
        i(1)
    ));
    t.push_str(&format!(
        "{}bootstrap:\n{}initdb:\n{}database: app\n{}owner: app\n",
        i(1),
        i(2),
        i(3),
        i(3)
    ));
    t.push_str(&format!(
        "{}plugins:\n{}- name: barman-cloud.cloudnative-pg.io\n",
        i(1),
        i(2)
    ));
    t.push_str(&format!("{}  isWALArchiver: true\n", i(2)));
    if s.flow_params {
        t.push_str(&format!(
            "{}  parameters: {{barmanObjectName: store, serverName: {sn}}}{comment}\n",
            i(2)
        ));
    } else {
        t.push_str(&format!(
            "{}  parameters:\n{}    barmanObjectName: store\n{}    serverName: {sn}{comment}\n",
            i(2),
            i(2),
            i(2)
        ));
    }
    if s.trailing_space {
        t = t.replace('\n', "  \n");
    }
    if s.crlf {
        t = t.replace('\n', "\r\n");
    }
    t
}

fn tree(text: &str) -> Tree {
    Tree {
        dir: "/db".into(),
        database: "db".into(),
        layout: Layout::SingleFile {
            files: vec![InputFile {
                path: PathBuf::from("/db/cluster.yaml"),
                display: "cluster.yaml".into(),
                text: text.into(),
            }],
        },
    }
}

/// Plans `text` and returns the written text.
fn plan_and_apply(text: &str) -> Result<String, String> {
    let plan = plan_tree(&tree(text), &PlanInput::default()).map_err(|e| e.to_string())?;
    let change = plan
        .changes
        .iter()
        .find(|c| c.display == "cluster.yaml")
        .ok_or("the Cluster file is not changed")?;
    change.new_text()
}

fn read(text: &str) -> Value {
    parse_documents(text)
        .ok()
        .and_then(|d| d.into_iter().next())
        .unwrap_or(Value::Null)
}

fn archive_server_name(v: &Value) -> Option<String> {
    v.pointer("/spec/plugins/0/parameters/serverName")?
        .as_str()
        .map(str::to_string)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn planned_edits_change_only_what_they_mean_to(s in style(), version in 1u32..60) {
        let before_text = cluster_text(&s, version);
        let before = read(&before_text);
        let after_text = plan_and_apply(&before_text).map_err(TestCaseError::fail)?;
        let after = read(&after_text);
        let old = format!("pg-v{version}");
        let next = lineage::next_server_name(&old);
        // The archive moved on; the recovery restores the old lineage.
        prop_assert_eq!(archive_server_name(&after), Some(next.clone()), "{}", after_text);
        prop_assert!(after.pointer("/spec/bootstrap/recovery").is_some(), "{}", after_text);
        prop_assert!(after.pointer("/spec/bootstrap/initdb").is_none(), "{}", after_text);
        let sources = after.pointer("/spec/externalClusters").and_then(Value::as_array).cloned().unwrap_or_default();
        prop_assert!(
            sources.iter().any(|e| e.pointer("/plugin/parameters/serverName").and_then(Value::as_str) == Some(old.as_str())),
            "no recovery source reading {}: {}", old, after_text
        );
        // Everything else is identical.
        for path in ["/apiVersion", "/kind", "/metadata", "/spec/instances", "/spec/storage",
                     "/spec/plugins/0/name", "/spec/plugins/0/isWALArchiver",
                     "/spec/plugins/0/parameters/barmanObjectName"] {
            prop_assert_eq!(before.pointer(path), after.pointer(path), "{} changed: {}", path, after_text);
        }
        // Line endings and the untouched lines survive byte for byte.
        if s.crlf {
            prop_assert!(!after_text.replace("\r\n", "").contains('\n'), "LF introduced: {:?}", after_text);
        }
        prop_assert!(after_text.starts_with("# The database."), "{}", after_text);
        // Planning the written tree moves to the NEXT lineage again.
        let again = read(&plan_and_apply(&after_text).map_err(TestCaseError::fail)?);
        prop_assert_eq!(archive_server_name(&again), Some(lineage::next_server_name(&next)));
    }
}
