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
use super::steps::{self, cluster_view};
use super::{LayoutKind, Plan, PlanInput};
use crate::error::PlanError;
use crate::source::Source;

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
    let recs = edits::find(&sources, rec_files, &|v| {
        cluster_view(v).recovery().is_some()
    });
    let Some(&rec_at) = recs.first() else {
        return Err(PlanError::input(
            "no patch with spec.bootstrap.recovery found in the recovery overlay",
            "add overlays/recovery/bootstrap-patch.yaml with spec.bootstrap.recovery.source and spec.externalClusters (see the seed runbook)",
        )
        .in_file(format!("{rec_dir_name}/")));
    };
    let inits = edits::find(&sources, init_files, &|v| {
        cluster_view(v).bootstrap().initdb.is_some()
    });
    let init_view = inits.first().map(|at| cluster_view(at.json()));

    let base_view = cluster_view(base_at.json());
    let cluster = base_view.name().to_string();
    let namespace = base_view
        .metadata
        .as_ref()
        .map_or("", |m| m.namespace_or(""))
        .to_string();
    let bdisplay = base_at.src.display.clone();
    let arch = steps::archive_of(&base_view, &namespace, &bdisplay)?;
    // The recovery patch may omit metadata.name (and namespace); lineage
    // defaults need the name, ObjectStore references the namespace: both are
    // the base Cluster's.
    let mut rec_view = cluster_view(rec_at.json());
    if rec_view.name().is_empty() {
        rec_view.metadata.get_or_insert_default().name = Some(cluster.clone());
    }
    let rdisplay = rec_at.src.display.clone();
    let rec = lineage::recovery_source(&rec_view, &namespace).ok_or_else(|| {
        PlanError::input(
            "spec.bootstrap.recovery.source does not name a spec.externalClusters[] entry with a barman plugin (barmanObjectName) or barmanObjectStore",
            format!("set recovery.source to the name of an externalClusters entry that reads the archive (plugin {})", cnpg_guard_core::cnpg::BARMAN_PLUGIN),
        )
        .in_file(rdisplay.clone())
        .at("spec.bootstrap.recovery.source")
    })?;

    let mut notes = Vec::new();
    let mut edits = Edits::default();
    let (to, note) = steps::next_server_name(&arch.server_name);
    notes.extend(note);
    notes.extend(steps::default_note(&bdisplay, &arch, &to));
    // 1. Archive serverName vN -> vN+1 in base.
    steps::bump_archive(&mut edits, &base_at, &arch, &to)?;
    // 2. Recovery source serverName -> vN in the overlay.
    steps::point_source(&mut edits, &rec_at, &rec, &arch)?;
    steps::align_store(&mut edits, &rec_at, &arch, &rec, &mut notes)?;

    // 3. Flip the flag.
    let flag_was_recovery = rec_active;
    if rec_active {
        notes.push(format!(
            "{kdisplay}: the flag already points at {rec_dir_name}: planning the NEXT lineage. If the previous drill's commit was pushed but the Cluster was not recreated yet, do not apply this: finish that runbook instead (live mode checks this)"
        ));
    } else {
        edits.add(&k_at, Some(flag::flip(k, &flags)?));
    }

    // 4. database / owner, explicitly (CNPG defaults both to `app`): what
    // the initdb overlay (else the base) declares, with CNPG's defaults.
    let init_db = [init_view.as_ref(), Some(&base_view)]
        .into_iter()
        .flatten()
        .find(|c| c.bootstrap().initdb.is_some())
        .map(|c| {
            let id = cnpg_guard_core::cnpg::bootstrap_identity(c);
            (id.database, id.owner)
        });
    let (database_name, owner) =
        steps::ensure_db_owner(&mut edits, &rec_at, input, init_db, &mut notes)?;
    // 5. PITR target.
    steps::set_target(&mut edits, &rec_at, input.target.as_ref(), &mut notes)?;

    Ok(Plan {
        dir: tree.dir.clone(),
        database: tree.database.clone(),
        layout: LayoutKind::Overlays,
        cluster,
        namespace,
        store: arch.store.label().to_string(),
        from: arch.clone(),
        to,
        changes: edits.finish(&sources)?,
        notes,
        database_name,
        owner,
        target: input.target.clone(),
        flag_was_recovery,
    })
}
