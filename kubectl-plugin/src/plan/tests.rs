//! The planner reads manifests the way the host parser does, and every plan
//! it writes re-reads (through the host parser) as exactly the intended
//! values, or it refuses with the file, the field and a fix. The cases run
//! through the pure entry point, [`plan_tree`], on in-memory files.

use cnpg_guard_core::cnpg::BARMAN_PLUGIN;
use cnpg_guard_core::cnpg::lineage;
use cnpg_guard_host::manifests::parse_documents;
use serde_json::{Value, json};

use super::layout::InputFile;
use super::steps::{cluster_view, entry_to_y, next_server_name, reject_empty_server_name};
use super::*;
use crate::source::Source;
use crate::yaml;

fn file(display: &str, text: &str) -> InputFile {
    InputFile {
        path: PathBuf::from("/db").join(display),
        display: display.into(),
        text: text.into(),
    }
}

fn single(text: &str) -> Tree {
    Tree {
        dir: "/db".into(),
        database: "db".into(),
        layout: Layout::SingleFile {
            files: vec![file("cluster.yaml", text)],
        },
    }
}

/// The first document of `display` after the plan, as the host reads it.
fn reread(plan: &Plan, display: &str) -> Value {
    let change = plan
        .changes
        .iter()
        .find(|c| c.display == display)
        .unwrap_or_else(|| panic!("{display} is not changed"));
    parse_documents(&change.new_text().unwrap())
        .unwrap()
        .remove(0)
}

fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    yaml::value_at(v, &yaml::parse_path(path)).unwrap_or(&Value::Null)
}

const HEAD: &str =
    "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: pg\n  namespace: db\n";

#[test]
fn the_planners_reading_is_the_host_reading() {
    let texts = [
        "a: 1\n",
        "# lead\n---\na: yes\nb: 0755\nc: \"0755\"\nd: '1e3'\ne: 1e3\nf: ~\n",
        "a: &s {x: 1, y: [on, off]}\nb:\n  <<: *s\n  y: 2\nc: *s\n",
        "k: 1\nk: 2\n",
        "a: 1\n---\n---\n# c\n...\n---\nb: 2\n...\n",
        "%YAML 1.1\n---\na: n\n",
        "\u{feff}a: 1\r\nb: yes\r\n---\r\nc: d\r\n",
        "{\"a\": [1, 2], \"b\": {\"c\": null}}",
        "- a\n- b\n",
        "a: 1\n---\n",
        "# only a comment\n",
        "",
    ];
    for text in texts {
        let src = Source::from_text("f.yaml".into(), "f.yaml".into(), text.into());
        let (src, host) = match (src, parse_documents(text)) {
            (Ok(src), Ok(host)) => (src, host),
            // What the host cannot read, the planner does not read either
            // (the host rejects a `%YAML` directive before `---`).
            (Err(_), Err(_)) => continue,
            (src, host) => panic!("{text:?}: planner {src:?}, host {host:?}"),
        };
        assert_eq!(src.values, host, "{text:?}");
        assert_eq!(src.docs.len(), host.len(), "{text:?}");
        // Each document's slice is its own bytes: the slices tile the text.
        let tiled: String = src.docs.iter().map(|d| &text[d.start..d.end]).collect();
        if !src.docs.is_empty() {
            assert_eq!(tiled, text, "{text:?}");
        }
    }
    // A syntax error is reported at its line in the whole file.
    let e = Source::from_text(
        "f.yaml".into(),
        "f.yaml".into(),
        "a: 1\n---\nb: 1\nc: [x\n".into(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("f.yaml") && e.contains("line"), "{e}");
}

/// Expected outcome of planning one file.
enum Want {
    /// Field paths of the re-read Cluster and their values.
    Reads(&'static [(&'static str, &'static str)]),
    /// A refusal: substrings of the message (file, field, fix).
    Refuses(&'static [&'static str]),
}

#[test]
fn plans_of_yaml_1_1_files_read_back_as_intended_or_refuse() {
    use Want::{Reads, Refuses};
    // A recovery Cluster whose source reuses the archive's store block.
    let inline_merge = |source: &str| {
        format!(
            "{HEAD}spec:\n  bootstrap:\n    recovery:\n      source: origin\n      database: app\n      owner: app\n  backup:\n    barmanObjectStore: &store\n      destinationPath: s3://b/pg\n      endpointURL: http://s3:9000\n      serverName: pg-v2\n  externalClusters:\n    - name: origin\n      barmanObjectStore:\n{source}"
        )
    };
    let plugin = |archive_params: &str, source_params: &str| {
        format!(
            "{HEAD}spec:\n  bootstrap:\n    recovery:\n      source: origin\n      database: app\n      owner: app\n  plugins:\n    - name: {BARMAN_PLUGIN}\n      isWALArchiver: yes\n      parameters:{archive_params}\n  externalClusters:\n    - name: origin\n      plugin:\n        name: {BARMAN_PLUGIN}\n        parameters:{source_params}\n"
        )
    };
    let cases: Vec<(&str, String, Want)> = vec![
        (
            "merge key plus an explicit serverName: each side edited where it is written",
            inline_merge("        <<: *store\n        serverName: pg-v1\n"),
            Reads(&[
                ("spec.backup.barmanObjectStore.serverName", "pg-v3"),
                (
                    "spec.externalClusters[0].barmanObjectStore.serverName",
                    "pg-v2",
                ),
                (
                    "spec.externalClusters[0].barmanObjectStore.destinationPath",
                    "s3://b/pg",
                ),
                (
                    "spec.externalClusters[0].barmanObjectStore.endpointURL",
                    "http://s3:9000",
                ),
            ]),
        ),
        (
            "merge key alone: the source gets its own serverName next to `<<`",
            inline_merge("        <<: *store\n"),
            Reads(&[
                ("spec.backup.barmanObjectStore.serverName", "pg-v3"),
                (
                    "spec.externalClusters[0].barmanObjectStore.serverName",
                    "pg-v2",
                ),
            ]),
        ),
        (
            "an alias of the whole store block is never edited through",
            format!(
                "{HEAD}spec:\n  bootstrap:\n    recovery:\n      source: origin\n  backup:\n    barmanObjectStore: &store\n      destinationPath: s3://b/pg\n      serverName: pg-v2\n  externalClusters:\n    - name: origin\n      barmanObjectStore: *store\n"
            ),
            Refuses(&[
                "cluster.yaml",
                "spec.externalClusters[0].barmanObjectStore",
                "alias",
                "fix:",
            ]),
        ),
        (
            "plugin parameters merged into the source",
            plugin(
                " &params\n        barmanObjectName: store\n        serverName: pg-v2",
                "\n          <<: *params",
            ),
            Reads(&[
                ("spec.plugins[0].parameters.serverName", "pg-v3"),
                (
                    "spec.externalClusters[0].plugin.parameters.serverName",
                    "pg-v2",
                ),
                (
                    "spec.externalClusters[0].plugin.parameters.barmanObjectName",
                    "store",
                ),
            ]),
        ),
        (
            "plugin parameters aliased into the source",
            plugin(
                " &params\n        barmanObjectName: store\n        serverName: pg-v2",
                " *params",
            ),
            Refuses(&[
                "cluster.yaml",
                "spec.externalClusters[0].plugin.parameters",
                "alias",
                "fix:",
            ]),
        ),
        (
            "a scalar anchor shared with another field: the edit would change it too",
            format!(
                "{HEAD}spec:\n  plugins:\n    - name: {BARMAN_PLUGIN}\n      parameters:\n        barmanObjectName: store\n        serverName: &sn pg-v2\n  inheritedMetadata:\n    labels:\n      lineage: *sn\n  bootstrap:\n    initdb:\n      database: app\n"
            ),
            Refuses(&[
                "cluster.yaml",
                "spec.plugins[0].parameters.serverName",
                "would also change spec.inheritedMetadata.labels.lineage",
                "fix:",
            ]),
        ),
        (
            "YAML 1.1 `enabled: no` turns the plugin off: the in-tree archive is bumped",
            format!(
                "{HEAD}spec:\n  bootstrap:\n    recovery:\n      source: origin\n      database: app\n      owner: app\n  plugins:\n    - name: {BARMAN_PLUGIN}\n      enabled: no\n      parameters:\n        barmanObjectName: store\n        serverName: pg-v7\n  backup:\n    barmanObjectStore:\n      destinationPath: s3://b/pg\n      serverName: pg-v2\n  externalClusters:\n    - name: origin\n      barmanObjectStore:\n        destinationPath: s3://b/pg\n        serverName: pg-v1\n"
            ),
            Reads(&[
                ("spec.backup.barmanObjectStore.serverName", "pg-v3"),
                (
                    "spec.externalClusters[0].barmanObjectStore.serverName",
                    "pg-v2",
                ),
                ("spec.plugins[0].parameters.serverName", "pg-v7"),
            ]),
        ),
        (
            "a plain 0755 is the number 493; the quoted lineage name is written quoted",
            plugin(
                "\n        barmanObjectName: store\n        serverName: \"0755\"",
                "\n          barmanObjectName: store\n          serverName: 0755",
            ),
            Reads(&[
                ("spec.plugins[0].parameters.serverName", "0755-v2"),
                (
                    "spec.externalClusters[0].plugin.parameters.serverName",
                    "0755",
                ),
            ]),
        ),
        (
            "a repeated key: the last one is read, so the last one is edited",
            plugin(
                "\n        barmanObjectName: store\n        serverName: pg-v1\n        serverName: pg-v2",
                "\n          barmanObjectName: store\n          serverName: pg-v1",
            ),
            Reads(&[
                ("spec.plugins[0].parameters.serverName", "pg-v3"),
                (
                    "spec.externalClusters[0].plugin.parameters.serverName",
                    "pg-v2",
                ),
            ]),
        ),
        (
            "initdb to recovery: store keys copied from the merged archive block",
            format!(
                "{HEAD}defaults: &defaults\n  s3Credentials:\n    accessKeyId: {{name: s3, key: ID}}\n  endpointURL: http://s3:9000\nspec:\n  bootstrap:\n    initdb:\n      database: orders\n  backup:\n    barmanObjectStore:\n      <<: *defaults\n      destinationPath: s3://b/pg\n      serverName: pg-v2\n"
            ),
            Reads(&[
                ("spec.backup.barmanObjectStore.serverName", "pg-v3"),
                ("spec.bootstrap.recovery.source", "origin"),
                ("spec.bootstrap.recovery.owner", "orders"),
                (
                    "spec.externalClusters[0].barmanObjectStore.serverName",
                    "pg-v2",
                ),
                (
                    "spec.externalClusters[0].barmanObjectStore.endpointURL",
                    "http://s3:9000",
                ),
                (
                    "spec.externalClusters[0].barmanObjectStore.s3Credentials.accessKeyId.key",
                    "ID",
                ),
            ]),
        ),
    ];
    for (name, text, want) in cases {
        // The planner reads the file exactly as the host parser does.
        let src = Source::from_text("c.yaml".into(), "c.yaml".into(), text.clone()).unwrap();
        assert_eq!(src.values, parse_documents(&text).unwrap(), "{name}");
        let result = plan_tree(&single(&text), &PlanInput::default());
        match (want, result) {
            (Reads(fields), Ok(plan)) => {
                let after = reread(&plan, "cluster.yaml");
                for (path, value) in fields {
                    assert_eq!(at(&after, path), &json!(value), "{name}: {path}\n{after:#}");
                }
                // The planner's own reading of the written text agrees.
                let view = cluster_view(&after);
                let arch = lineage::archive(&view, "db").unwrap();
                assert_eq!(arch.server_name, plan.to, "{name}");
                let rec = lineage::recovery_source(&view, "db").unwrap();
                assert_eq!(rec.server_name, plan.from.server_name, "{name}");
            }
            (Refuses(needles), Err(e)) => {
                let e = e.to_string();
                for n in needles {
                    assert!(e.contains(n), "{name}: `{n}` not in: {e}");
                }
            }
            (Reads(_), Err(e)) => panic!("{name}: refused: {e}"),
            (Refuses(_), Ok(plan)) => panic!(
                "{name}: planned {:#?}",
                plan.changes
                    .iter()
                    .map(|c| c.new_text())
                    .collect::<Vec<_>>()
            ),
        }
    }
}

/// The seed layout in memory: the pure entry point needs no filesystem.
#[test]
fn overlay_layout_plans_from_memory() {
    let fixture = |p: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/seed000/temporal")
            .join(p);
        file(p, &std::fs::read_to_string(path).unwrap())
    };
    let mut recovery = fixture("overlays/recovery/bootstrap-patch.yaml");
    // The patch reuses the store name through an anchor and merges the
    // recovery defaults: read as the host reads it.
    recovery.text = recovery
        .text
        .replace(
            "    recovery:\n      source: temporal-backup\n",
            "    recovery:\n      <<: {source: temporal-backup}\n",
        )
        .replace(
            "barmanObjectName: temporal-backups",
            "barmanObjectName: &store temporal-backups",
        );
    let tree = Tree {
        dir: "/db".into(),
        database: "temporal".into(),
        layout: Layout::Overlays {
            kustomization: fixture("kustomization.yaml"),
            base: vec![
                fixture("base/cluster.yaml"),
                fixture("base/objectstore.yaml"),
                fixture("externalsecret.yaml"),
            ],
            recovery: vec![recovery],
            initdb: vec![fixture("overlays/initdb/bootstrap-patch.yaml")],
        },
    };
    let plan = plan_tree(&tree, &PlanInput::default()).unwrap();
    assert_eq!(
        (plan.from.server_name.as_str(), plan.to.as_str()),
        ("temporal-database-v2", "temporal-database-v3")
    );
    let files: Vec<&str> = plan.changes.iter().map(|c| c.display.as_str()).collect();
    assert_eq!(
        files,
        [
            "kustomization.yaml",
            "base/cluster.yaml",
            "overlays/recovery/bootstrap-patch.yaml"
        ]
    );
    let patch = reread(&plan, "overlays/recovery/bootstrap-patch.yaml");
    assert_eq!(
        at(
            &patch,
            "spec.externalClusters[0].plugin.parameters.serverName"
        ),
        "temporal-database-v2"
    );
    assert_eq!(
        at(&patch, "spec.bootstrap.recovery.source"),
        "temporal-backup"
    );
    assert_eq!(at(&patch, "spec.bootstrap.recovery.database"), "temporal");
    let k = reread(&plan, "kustomization.yaml");
    assert_eq!(
        k["resources"],
        json!([
            "overlays/recovery",
            "externalsecret.yaml",
            "scheduled-backup.yaml"
        ])
    );
}

#[test]
fn next_names() {
    assert_eq!(
        next_server_name("temporal-database-v2").0,
        "temporal-database-v3"
    );
    let (n, note) = next_server_name("pg");
    assert_eq!(n, "pg-v2");
    assert!(note.is_some());
    // The core's rule: no wrap-around, no reuse of the current name.
    assert_eq!(next_server_name("pg-v4294967295").0, "pg-v4294967295-v2");
}

#[test]
fn inline_source_entry_copies_only_the_store_keys_as_written() {
    let text = "metadata:\n  name: pg\nspec:\n  backup:\n    barmanObjectStore:\n      destinationPath: \"s3://b/x\"\n      s3Credentials:\n        accessKeyId: {name: s, key: K}\n      wal:\n        compression: gzip\n";
    let src = Source::from_text("c.yaml".into(), "c.yaml".into(), text.into()).unwrap();
    let arch = lineage::archive(&cluster_view(src.json(0)), "").unwrap();
    let path = yaml::parse_path(lineage::INLINE_ARCHIVE_PATH);
    let written = src.root(0).and_then(|r| r.at(&path));
    let entry: Vec<(String, Y)> = lineage::source_entry("origin", &arch)
        .iter()
        .filter_map(|(k, v)| entry_to_y(v, src.value_at(0, &path), written).map(|y| (k.clone(), y)))
        .collect();
    let out = yaml::emit(&Y::Map(entry), 0);
    assert_eq!(
        out,
        "name: origin\nbarmanObjectStore:\n  destinationPath: s3://b/x\n  s3Credentials:\n    accessKeyId:\n      name: s\n      key: K\n  serverName: pg\n"
    );
}

#[test]
fn empty_plugin_server_name_is_not_bumped() {
    let v = json!({"metadata": {"name": "pg"}, "spec": {"plugins": [{
        "name": BARMAN_PLUGIN,
        "parameters": {"barmanObjectName": "s", "serverName": ""}}]}});
    let arch = lineage::archive(&cluster_view(&v), "").unwrap();
    let e = reject_empty_server_name(&arch, "c.yaml").unwrap_err();
    assert!(e.to_string().contains("written empty"), "{e}");
    let v = json!({"metadata": {"name": "pg"}, "spec": {"plugins": [{
        "name": BARMAN_PLUGIN,
        "parameters": {"barmanObjectName": "s"}}]}});
    let arch = lineage::archive(&cluster_view(&v), "").unwrap();
    assert!(reject_empty_server_name(&arch, "c.yaml").is_ok());
    assert_eq!(arch.server_name, "pg");
}

#[test]
fn targets_are_exclusive_and_validated() {
    assert!(target_from_flags(Some("2026-05-08T20:49:00Z"), Some("0/1"), false).is_err());
    assert!(target_from_flags(Some("yesterday"), None, false).is_err());
    assert!(
        target_from_flags(None, Some("0/3000060"), false)
            .unwrap()
            .is_some()
    );
    assert_eq!(
        target_from_flags(None, None, true).unwrap(),
        Some(Target::Immediate)
    );
    assert_eq!(target_from_flags(None, None, false).unwrap(), None);
}

#[test]
fn restore_choices_as_cnpg_takes_them() {
    // --target-immediate needs a backup id (CNPG's webhook).
    let immediate = target_from_flags(None, None, true).unwrap();
    let e = restore_from_flags(None, None, immediate.clone()).unwrap_err();
    assert!(e.to_string().contains("BackupID is missing"), "{e}");
    let r = restore_from_flags(Some("v6"), Some(" 20260501T030000 "), immediate).unwrap();
    assert_eq!(r.backup_id.as_deref(), Some("20260501T030000"));
    assert_eq!(
        r.recovery_target().unwrap().to_value(),
        json!({"backupID": "20260501T030000", "targetImmediate": true})
    );
    assert_eq!(
        r.describe().as_deref(),
        Some("backupID 20260501T030000, targetImmediate (stop at the end of the base backup)")
    );
    for bad in ["", "a b", "x\ty"] {
        assert!(
            restore_from_flags(None, Some(bad), None).is_err(),
            "{bad:?}"
        );
    }
    let none = restore_from_flags(None, None, None).unwrap();
    assert_eq!((none.recovery_target(), none.describe()), (None, None));
}

/// An older lineage, pinned: the source reads it, the archive still moves
/// on from the current one, recoveryTarget carries the backup id.
#[test]
fn an_older_lineage_is_restored_in_lockstep() {
    let text = format!(
        "{HEAD}spec:\n  bootstrap:\n    recovery:\n      source: origin\n      database: app\n      owner: app\n  plugins:\n    - name: {BARMAN_PLUGIN}\n      parameters:\n        barmanObjectName: store\n        serverName: pg-v7   # restore from v6, write v7\n  externalClusters:\n    - name: origin\n      plugin:\n        name: {BARMAN_PLUGIN}\n        parameters:\n          barmanObjectName: store\n          serverName: pg-v6   # v6\n"
    );
    let input = PlanInput {
        restore: restore_from_flags(Some("v5"), Some("20260101T000000"), None).unwrap(),
        ..PlanInput::default()
    };
    let plan = plan_tree(&single(&text), &input).unwrap();
    assert_eq!(
        (
            plan.from.server_name.as_str(),
            plan.current.server_name.as_str(),
            plan.to.as_str()
        ),
        ("pg-v5", "pg-v7", "pg-v8")
    );
    let after = plan.changes[0].new_text().unwrap();
    assert!(
        after.contains("        serverName: pg-v8   # restore from v5, write v8\n")
            && after.contains("          serverName: pg-v5   # v5\n")
            && after.contains("      recoveryTarget:\n        backupID: 20260101T000000\n"),
        "{after}"
    );
}
