//! The single-file layout (Flux seed): one Cluster manifest edited in
//! place. An initdb Cluster becomes a recovery Cluster with an
//! externalClusters entry reading the current lineage; a Cluster already
//! in recovery gets the same lockstep bump as the overlay layout.

use cnpg_guard_core::cnpg::BOOTSTRAP_METHODS;
use cnpg_guard_core::cnpg::lineage;
use cnpg_guard_core::view::{Kind, Object};
use serde_json::Value;

use super::edits::{self, At, Edits};
use super::layout::{InputFile, Tree};
use super::patches::Doc;
use super::steps::{self, RECOVERY_PATH, cluster_view};
use super::{LayoutKind, Plan, PlanInput};
use crate::error::PlanError;
use crate::source::Source;
use crate::yaml::{self, Located, Node, Y};

/// Plans the single-file layout from its files' texts.
pub(super) fn plan(tree: &Tree, files: &[InputFile], input: &PlanInput) -> Result<Plan, PlanError> {
    let sources = files
        .iter()
        .map(|f| Source::from_text(f.path.clone(), f.display.clone(), f.text.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let found = edits::find(&sources, 0..sources.len(), &|v| {
        Object::from_value(v).kind() == Some(Kind::Cluster)
    });
    let dir = tree.dir.display();
    match found.as_slice() {
        [] => Err(PlanError::input(
            format!("{dir}: no CNPG Cluster found"),
            "pass a directory with either the overlay layout (kustomization.yaml with `- overlays/initdb` and `# - overlays/recovery`) or a single Cluster file",
        )),
        [at] => plan_cluster(tree, &sources, at, input),
        many => Err(PlanError::input(
            format!(
                "{dir}: {} CNPG Clusters found ({}); the planner handles one database at a time",
                many.len(),
                many.iter()
                    .map(|at| at.src.display.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "pass the Cluster file itself, or the directory of one database",
        )),
    }
}

fn plan_cluster(
    tree: &Tree,
    sources: &[Source],
    at: &At<'_>,
    input: &PlanInput,
) -> Result<Plan, PlanError> {
    let src = at.src;
    let d = at.doc;
    let view = cluster_view(at.json());
    let cluster = view.name().to_string();
    let namespace = view.namespace().to_string();
    let arch = steps::archive_of(&view, &namespace, &src.display)?;
    let mut notes = Vec::new();
    let mut edits = Edits::default();
    let (to, note) = steps::next_server_name(&arch.server_name);
    notes.extend(note);
    notes.extend(steps::default_note(&src.display, &arch, &to));
    let from = steps::source_lineage(
        &arch,
        &to,
        input.restore.from_lineage.as_deref(),
        &mut notes,
    )?;
    let rec = lineage::recovery_source(&view, &namespace);
    let moves = steps::Moves {
        archive: (arch.server_name.clone(), to.clone()),
        source: (
            rec.as_ref()
                .map_or_else(|| from.server_name.clone(), |r| r.server_name.clone()),
            from.server_name.clone(),
        ),
    };
    let doc = Doc::plain(*at);
    steps::bump_archive(&mut edits, &doc, &arch, &to, &moves)?;
    let plan = |edits: Edits, notes, database_name, owner, flag_was_recovery| {
        Ok(Plan {
            dir: tree.dir.clone(),
            database: tree.database.clone(),
            layout: LayoutKind::SingleFile,
            cluster: cluster.clone(),
            namespace: namespace.clone(),
            store: arch.store.label().to_string(),
            from: from.clone(),
            current: arch.clone(),
            to: to.clone(),
            changes: edits.finish(sources)?,
            notes,
            database_name,
            owner,
            restore: input.restore.clone(),
            app_secret: cnpg_guard_core::cnpg::default_app_secret(&cluster),
            flag_was_recovery,
        })
    };

    if let Some(rec) = &rec {
        // Already in recovery mode: same lockstep bump as the overlay layout.
        steps::point_source(&mut edits, &doc, rec, &from, &moves)?;
        steps::align_store(&mut edits, &doc, &arch, rec, &mut notes)?;
        notes.push(format!(
            "{}: the Cluster already bootstraps from recovery: planning the NEXT lineage (if the previous change was pushed but the Cluster was not recreated yet, finish that runbook instead)",
            src.display
        ));
        let (database_name, owner) =
            steps::ensure_identity(&mut edits, &doc, input, None, &mut notes)?;
        steps::set_target(&mut edits, &doc, &input.restore, &mut notes)?;
        return plan(edits, notes, database_name, owner, true);
    }

    // initdb -> recovery + externalClusters, in place.
    let err = |field: &str, message: String, fix: &str| {
        PlanError::input(message, fix)
            .in_file(src.display.clone())
            .at(field)
    };
    let root = src
        .root(d)
        .filter(|r| matches!(r.get("spec"), Some(Node::Map { .. })))
        .ok_or_else(|| err("spec", "spec is missing".into(), "add the Cluster spec"))?;
    let [initdb, ..] = BOOTSTRAP_METHODS;
    if let Some(m) = cnpg_guard_core::cnpg::bootstrap_methods(&view)
        .into_iter()
        .find(|m| *m != initdb)
    {
        return Err(err(
            &format!("spec.bootstrap.{m}"),
            format!("spec.bootstrap.{m} is set: only {initdb} or recovery Clusters can be planned"),
            "convert the bootstrap by hand",
        ));
    }
    // initdb (or no bootstrap at all) with CNPG's defaults applied; an
    // explicit --database also becomes the default owner.
    let identity = cnpg_guard_core::cnpg::bootstrap_identity(&view)
        .recovered_as(input.database.as_deref(), input.owner.as_deref());
    let ec_names: Vec<&str> = view
        .spec()
        .external_clusters
        .iter()
        .filter_map(|ec| ec.name.as_deref())
        .collect();
    let ec_name = ["origin".to_string(), format!("{cluster}-archive")]
        .into_iter()
        .find(|n| !ec_names.contains(&n.as_str()))
        .unwrap_or_else(|| format!("{cluster}-recovery-source"));
    let mut recovery: Vec<(String, Y)> = cnpg_guard_core::cnpg::recovery_entry(&ec_name, &identity)
        .iter()
        .filter_map(|(k, v)| steps::entry_to_y(v, None, None).map(|y| (k.clone(), y)))
        .collect();
    if let Some(t) = input.restore.recovery_target() {
        recovery.push((steps::RECOVERY_TARGET.into(), t));
    }
    let recovery = Y::Map(recovery);
    let bootstrap_path = yaml::parse_path("spec.bootstrap");
    let bootstrap_change = match root.locate(&bootstrap_path) {
        Located::Found(b @ Node::Map { .. }) if b.get(initdb).is_some() => {
            notes.push(format!(
                "{}: spec.bootstrap.{initdb} replaced by {RECOVERY_PATH} (init-only settings such as postInitApplicationSQL are not needed: the data comes from the backup). Git history keeps the {initdb} block",
                src.display
            ));
            src.replace_entry(d, "spec.bootstrap", initdb, "recovery", &recovery)?
        }
        Located::Found(Node::Map { .. }) => {
            if view.bootstrap().initdb.is_some() {
                return Err(err(
                    &format!("spec.bootstrap.{initdb}"),
                    "this field is not written in this file: it comes from a YAML merge key (`<<: *…`)".into(),
                    "write spec.bootstrap.initdb out in this file, then run again",
                ));
            }
            src.set_entry(d, "spec.bootstrap", "recovery", &recovery, None)?
        }
        // Absent, empty or an alias: the whole entry is (re)written here.
        _ => src.set_entry(
            d,
            "spec",
            "bootstrap",
            &Y::Map(vec![("recovery".into(), recovery)]),
            None,
        )?,
    };

    // externalClusters entry reading the CURRENT lineage (the core's shape;
    // in-tree store keys copied from the archive block as the host reads
    // it, in the order they are written there).
    let archive_path = yaml::parse_path(lineage::INLINE_ARCHIVE_PATH);
    let archive_value: Option<&Value> = src.value_at(d, &archive_path);
    let archive_written = src.root(d).and_then(|r| r.at(&archive_path));
    let ec = Y::Map(
        lineage::source_entry(&ec_name, &from)
            .iter()
            .filter_map(|(k, v)| {
                steps::entry_to_y(v, archive_value, archive_written).map(|y| (k.clone(), y))
            })
            .collect(),
    );
    let ec_change = src.append_item(d, "spec.externalClusters", &ec, Some("bootstrap"))?;
    // Both may land at one offset (a Cluster without bootstrap whose
    // written externalClusters list ends its spec): the new item must then
    // come right after the list's last item, before the new bootstrap.
    if root
        .at(&yaml::parse_path("spec.externalClusters"))
        .is_some()
    {
        edits.add(at, Some(ec_change));
        edits.add(at, Some(bootstrap_change));
    } else {
        edits.add(at, Some(bootstrap_change));
        edits.add(at, Some(ec_change));
    }
    plan(edits, notes, identity.database, identity.owner, false)
}
