//! The overlay layout (ArgoCD seed): bump the archive in the base Cluster,
//! point the recovery overlay's source at the current lineage, flip the
//! root kustomization's flag, and name database/owner (and the PITR
//! target) in the recovery patch.

use cnpg_guard_core::cnpg::lineage;
use cnpg_guard_core::view::{Kind, Object};
use serde_json::Value;

use super::edits::{self, Edits};
use super::flag::{self, RECOVERY};
use super::layout::{InputFile, Tree};
use super::patches::{self, Doc};
use super::steps::{self, cluster_view};
use super::{LayoutKind, Plan, PlanInput};
use crate::error::PlanError;
use crate::source::Source;
use crate::yaml::{self, Y};

fn is_cluster(v: &Value) -> bool {
    Object::from_value(v).kind() == Some(Kind::Cluster)
}

fn parse(f: &InputFile) -> Result<Source, PlanError> {
    Source::from_text(f.path.clone(), f.display.clone(), f.text.clone())
}

/// Parses `files` onto `sources`; returns their index range.
fn append(
    sources: &mut Vec<Source>,
    files: &[InputFile],
) -> Result<std::ops::Range<usize>, PlanError> {
    let start = sources.len();
    for f in files {
        sources.push(parse(f)?);
    }
    Ok(start..sources.len())
}

/// Plans the overlay layout from its files' texts.
pub(super) fn plan(
    tree: &Tree,
    kustomization: &InputFile,
    base: &[InputFile],
    recovery: &[InputFile],
    initdb: &[InputFile],
    input: &PlanInput,
) -> Result<Plan, PlanError> {
    // One list of sources, kustomization first: the order the changed files
    // are reported (and renamed into place by --write) in.
    let mut sources = vec![parse(kustomization)?];
    let base_files = append(&mut sources, base)?;
    let rec_files = append(&mut sources, recovery)?;
    let init_files = append(&mut sources, initdb)?;
    let Some(k) = sources.first() else {
        return Err(PlanError::input("no kustomization", "report this as a bug"));
    };
    let k_at = edits::At {
        file: 0,
        src: k,
        doc: 0,
    };
    let kdisplay = k.display.clone();
    let flags = flag::read(k);
    let (init_active, rec_active) = (!flags.init.is_empty(), !flags.rec.is_empty());
    if init_active && rec_active {
        return Err(PlanError::input(
            "both overlays/initdb and overlays/recovery are active: kustomize would render two bootstrap methods, which CNPG rejects",
            "comment out one of the two lines (normally keep `- overlays/initdb` active), then run again",
        )
        .in_file(kdisplay)
        .at("resources"));
    }
    let rec_dir_name = flags.lines.dir(RECOVERY);

    // Base Cluster: a full Cluster outside the overlays. Any full Cluster
    // (one with a spec): a bootstrap left in the base is not rejected here,
    // the policy judges the rendered result.
    let bases = edits::find(&sources, base_files, &|v| {
        is_cluster(v) && v.get("spec").is_some()
    });
    let base_at = match bases.as_slice() {
        [one] => *one,
        [] => {
            return Err(PlanError::input(
                "no base Cluster found outside the overlays",
                "keep the Cluster WITHOUT spec.bootstrap in base/cluster.yaml (the overlays add the bootstrap)",
            )
            .in_file("base/"));
        }
        many => {
            return Err(PlanError::input(
                format!(
                    "{} Cluster manifests found outside the overlays; expected one",
                    many.len()
                ),
                "plan one database directory at a time",
            ));
        }
    };
    let base_view = cluster_view(base_at.json());
    let cluster = base_view.name().to_string();
    let namespace = base_view.namespace().to_string();
    let bdisplay = base_at.src.display.clone();
    let arch = steps::archive_of(&base_view, &namespace, &bdisplay)?;

    // The identity the initdb overlay (else the base) bootstraps with.
    let init_dir = tree.dir.join(flags.lines.dir(flag::INITDB));
    let init_found = match overlay_kustomization(&sources, init_files.clone(), &init_dir) {
        Some(i) => patches::discover(
            &sources,
            i,
            init_files.clone(),
            &cluster,
            &patches::has_initdb,
        )?,
        None => patches::Discovered::default(),
    };
    let mut init_docs: Vec<Doc<'_>> =
        edits::find(&sources, init_files.clone(), &patches::has_initdb)
            .into_iter()
            .map(Doc::plain)
            .collect();
    init_docs.extend(init_found.docs(&sources, &patches::has_initdb)?);
    let init_identity = init_docs
        .first()
        .map(|d| cluster_view(d.json()))
        .into_iter()
        .chain(std::iter::once(base_view.clone()))
        .find(|c| c.bootstrap().initdb.is_some())
        .map(|c| cnpg_guard_core::cnpg::bootstrap_identity(&c));

    // The recovery patch: a strategic-merge file, else what the overlay's
    // kustomization lists (inline patches, JSON6902).
    let rec_dir = tree.dir.join(&rec_dir_name);
    let rec_found = match overlay_kustomization(&sources, rec_files.clone(), &rec_dir) {
        Some(i) => patches::discover(
            &sources,
            i,
            rec_files.clone(),
            &cluster,
            &patches::has_recovery,
        )?,
        None => patches::Discovered::default(),
    };
    let mut rec_docs: Vec<Doc<'_>> = edits::find(&sources, rec_files, &patches::has_recovery)
        .into_iter()
        .map(Doc::plain)
        .collect();
    rec_docs.extend(rec_found.docs(&sources, &patches::has_recovery)?);
    let example = || {
        recovery_example(
            &cluster,
            &arch,
            init_identity.as_ref(),
            base_at
                .src
                .value_at(base_at.doc, &yaml::parse_path(lineage::INLINE_ARCHIVE_PATH)),
        )
    };
    let Some(rec_doc) = rec_docs.first() else {
        return Err(PlanError::input(
            "no patch with spec.bootstrap.recovery found in the recovery overlay: expected a strategic-merge patch of the Cluster with spec.bootstrap.recovery and the spec.externalClusters entry it names (a file the overlay's kustomization lists under `patches:`, or inline), or a JSON6902 patch whose operations add them",
            format!("add {rec_dir_name}/bootstrap-patch.yaml as in the example and list it in {rec_dir_name}/kustomization.yaml (`patches: [{{path: bootstrap-patch.yaml}}]`), then run again"),
        )
        .in_file(format!("{rec_dir_name}/"))
        .with_example(example()));
    };
    // The recovery patch may omit metadata.name (and namespace); lineage
    // defaults need the name, ObjectStore references the namespace: both are
    // the base Cluster's.
    let mut rec_view = cluster_view(rec_doc.json());
    if rec_view.name().is_empty() {
        rec_view.metadata.get_or_insert_default().name = Some(cluster.clone());
    }
    let rdisplay = rec_doc.display().to_string();
    let rec = lineage::recovery_source(&rec_view, &namespace).ok_or_else(|| {
        PlanError::input(
            "spec.bootstrap.recovery.source does not name a spec.externalClusters[] entry of the same patch with a barman plugin (barmanObjectName) or barmanObjectStore",
            format!("set recovery.source to the name of an externalClusters entry that reads the archive (plugin {}), in the same patch as in the example, then run again", cnpg_guard_core::cnpg::BARMAN_PLUGIN),
        )
        .in_file(rdisplay.clone())
        .at("spec.bootstrap.recovery.source")
        .with_example(example())
    })?;

    let mut notes = Vec::new();
    let mut edits = Edits::default();
    let (to, note) = steps::next_server_name(&arch.server_name);
    notes.extend(note);
    notes.extend(steps::default_note(&bdisplay, &arch, &to));
    let from = steps::source_lineage(
        &arch,
        &to,
        input.restore.from_lineage.as_deref(),
        &mut notes,
    )?;
    let moves = steps::Moves {
        archive: (arch.server_name.clone(), to.clone()),
        source: (rec.server_name.clone(), from.server_name.clone()),
    };
    // 1. Archive serverName vN -> vN+1 in base.
    steps::bump_archive(&mut edits, &Doc::plain(base_at), &arch, &to, &moves)?;
    // 2. Recovery source serverName -> the lineage restored, in the overlay
    // (its edits are collected apart: an inline patch is put back at the end).
    let mut rec_edits = Edits::default();
    steps::point_source(&mut rec_edits, rec_doc, &rec, &from, &moves)?;
    steps::align_store(&mut rec_edits, rec_doc, &arch, &rec, &mut notes)?;

    // 3. Flip the flag.
    let flag_was_recovery = rec_active;
    if rec_active {
        notes.push(format!(
            "{kdisplay}: the flag already points at {rec_dir_name}: planning the NEXT lineage. If the previous drill's commit was pushed but the Cluster was not recreated yet, do not apply this: finish that runbook instead (live mode checks this)"
        ));
    } else {
        edits.add(&k_at, Some(flag::flip(k, &flags)?));
    }

    // 4. database / owner / secret, explicitly (CNPG defaults both to
    // `app` and generates a secret): what the initdb overlay (else the
    // base) declares, with CNPG's defaults.
    let (database_name, owner) = steps::ensure_identity(
        &mut rec_edits,
        rec_doc,
        input,
        init_identity.as_ref(),
        &mut notes,
    )?;
    // 5. Backup and PITR target.
    steps::set_target(&mut rec_edits, rec_doc, &input.restore, &mut notes)?;
    rec_found.finish(rec_doc, rec_edits, &sources, &mut edits)?;
    let app_secret = cnpg_guard_core::cnpg::default_app_secret(&cluster);

    Ok(Plan {
        dir: tree.dir.clone(),
        database: tree.database.clone(),
        layout: LayoutKind::Overlays,
        cluster,
        namespace,
        store: arch.store.label().to_string(),
        from,
        current: arch.clone(),
        to,
        changes: edits.finish(&sources)?,
        notes,
        database_name,
        owner,
        restore: input.restore.clone(),
        app_secret,
        flag_was_recovery,
    })
}

/// The overlay's own kustomization among `sources[files]`.
fn overlay_kustomization(
    sources: &[Source],
    files: std::ops::Range<usize>,
    dir: &std::path::Path,
) -> Option<usize> {
    files.into_iter().find(|i| {
        sources.get(*i).is_some_and(|s| {
            cnpg_guard_host::render::KUSTOMIZATION_FILES
                .iter()
                .any(|n| s.path == dir.join(n))
        })
    })
}

/// A recovery patch for this Cluster, as an example for refusals: the
/// core's recovery block and source entry, reading the current lineage.
fn recovery_example(
    cluster: &str,
    arch: &lineage::Lineage,
    init: Option<&cnpg_guard_core::cnpg::Identity>,
    archive_block: Option<&Value>,
) -> String {
    let identity = init.map_or_else(
        || cnpg_guard_core::cnpg::bootstrap_identity(&Default::default()).recovered_as(None, None),
        |i| i.recovered_as(None, None),
    );
    let y = |entry: Vec<(String, lineage::EntryValue)>| {
        Y::Map(
            entry
                .iter()
                .filter_map(|(k, v)| {
                    steps::entry_to_y(v, archive_block, None).map(|y| (k.clone(), y))
                })
                .collect(),
        )
    };
    let patch = Y::Map(vec![
        (
            "apiVersion".into(),
            Y::s(format!("{}/v1", cnpg_guard_core::cnpg::CNPG_GROUP)),
        ),
        ("kind".into(), Y::s("Cluster")),
        ("metadata".into(), Y::map([("name", Y::s(cluster))])),
        (
            "spec".into(),
            Y::map([
                (
                    "bootstrap",
                    Y::map([(
                        "recovery",
                        y(cnpg_guard_core::cnpg::recovery_entry("origin", &identity)),
                    )]),
                ),
                (
                    "externalClusters",
                    Y::List(vec![y(lineage::source_entry("origin", arch))]),
                ),
            ]),
        ),
    ]);
    yaml::emit(&patch, 0)
}
