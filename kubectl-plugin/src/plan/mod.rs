//! The recovery plan: the next lineage, the lockstep edits, the flag flip,
//! database/owner/secret, and what is restored (the lineage, a pinned
//! backup, the PITR target).
//!
//! Split along the seams of the work:
//!
//! * [`layout`] decides which files form the database directory (overlays
//!   or single-file layout) and reads them: the ONLY I/O of planning;
//! * [`plan_tree`] computes the edits from those files' texts: pure (texts
//!   in, edits out), so a build without a filesystem (the browser) can call
//!   it with files from memory; `overlays` and `single` are the two
//!   layouts, `steps` what they share, `flag` the overlay flag,
//!   `patches` the overlays' patches in any form (strategic merge or
//!   JSON6902, files or inline), edited by Cluster paths;
//! * the edits themselves are YAML span edits (`crate::source`,
//!   `crate::yaml`, `crate::edit`), each re-read by the host parser before
//!   it is accepted;
//! * `crate::runbook` turns a [`Plan`] into the ordered commands.
//!
//! CNPG's semantics (lineages, defaults, entry shapes) come from
//! `cnpg_guard_core::cnpg`; this module only decides what to edit where.

mod edits;
mod flag;
pub mod layout;
mod overlays;
mod patches;
mod single;
mod steps;

use std::path::{Path, PathBuf};

use cnpg_guard_core::cnpg::lineage::Lineage;
use cnpg_guard_core::cnpg::{
    BACKUP_ID_MISSING_MESSAGE, TARGET_BACKUP_ID, TARGET_EXCLUSIVE_MESSAGE, TARGET_IMMEDIATE,
    TARGET_LSN, TARGET_TIME, TARGETS_NEEDING_BACKUP_ID,
};
use serde::Serialize;

use crate::edit::FileChange;
use crate::error::PlanError;
use crate::timefmt;
use crate::yaml::Y;

pub use layout::{Layout, Tree};

/// A PITR target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `targetTime` as given, and its epoch seconds.
    Time(String, i64),
    /// `targetLSN`.
    Lsn(String),
    /// `targetImmediate: true`.
    Immediate,
}

impl Target {
    /// The `recoveryTarget` block, in CNPG's field names.
    pub fn to_y(&self) -> Y {
        match self {
            Target::Time(t, _) => Y::map([(TARGET_TIME, Y::s(t.clone()))]),
            Target::Lsn(l) => Y::map([(TARGET_LSN, Y::s(l.clone()))]),
            Target::Immediate => Y::map([(TARGET_IMMEDIATE, Y::B(true))]),
        }
    }

    /// `key=value` for messages.
    pub fn describe(&self) -> String {
        match self {
            Target::Time(t, _) => format!("{TARGET_TIME} {t}"),
            Target::Lsn(l) => format!("{TARGET_LSN} {l}"),
            Target::Immediate => {
                format!("{TARGET_IMMEDIATE} (stop at the end of the base backup)")
            }
        }
    }
}

/// What to restore: which lineage, which base backup, up to when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restore {
    /// `--from-lineage`: a serverName or `vN` (default: the lineage the
    /// Cluster archives to now).
    pub from_lineage: Option<String>,
    /// `--backup-id`: `recoveryTarget.backupID`, the base backup to start from.
    pub backup_id: Option<String>,
    /// `--target-*`.
    pub target: Option<Target>,
}

impl Restore {
    /// The `recoveryTarget` block: `backupID` first, then the target.
    pub fn recovery_target(&self) -> Option<Y> {
        let mut entries = Vec::new();
        if let Some(id) = &self.backup_id {
            entries.push((TARGET_BACKUP_ID.to_string(), Y::s(id.clone())));
        }
        if let Some(Y::Map(t)) = self.target.as_ref().map(Target::to_y) {
            entries.extend(t);
        }
        (!entries.is_empty()).then_some(Y::Map(entries))
    }

    /// Words for messages (`None`: the latest backup, replayed to the end).
    pub fn describe(&self) -> Option<String> {
        let parts: Vec<String> = self
            .backup_id
            .iter()
            .map(|id| format!("{TARGET_BACKUP_ID} {id}"))
            .chain(self.target.as_ref().map(Target::describe))
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// Inputs beyond the directory.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    /// `--database`.
    pub database: Option<String>,
    /// `--owner`.
    pub owner: Option<String>,
    /// What to restore.
    pub restore: Restore,
}

/// Which GitOps layout the directory uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayoutKind {
    /// Root kustomization with the `overlays/initdb` / `overlays/recovery` flag (ArgoCD seed).
    Overlays,
    /// One Cluster file with `bootstrap` inline (Flux seed).
    SingleFile,
}

/// The computed change.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The directory (or file) planned, as given.
    pub dir: PathBuf,
    /// Directory name: the database id and the default ArgoCD app name.
    pub database: String,
    /// Layout.
    pub layout: LayoutKind,
    /// Cluster name from Git.
    pub cluster: String,
    /// Cluster namespace from Git (may be empty).
    pub namespace: String,
    /// The lineage restored from: the current archive lineage, or the one
    /// `--from-lineage` chose.
    pub from: Lineage,
    /// The lineage the Cluster archives to now (what the live Cluster
    /// writes; the recovery archives to the next one).
    pub current: Lineage,
    /// The next archive serverName.
    pub to: String,
    /// Store description for messages.
    pub store: String,
    /// Per-file changes (only files that change), each verified by re-reading.
    pub changes: Vec<FileChange>,
    /// Things the user must know (defaults applied, starts of lineages).
    pub notes: Vec<String>,
    /// Database / owner the recovery will create.
    pub database_name: String,
    /// Owner role.
    pub owner: String,
    /// The application Secret of the planned Cluster (`<cluster>-app`
    /// unless the recovery names one; the report reads it from the render).
    pub app_secret: String,
    /// What is restored (lineage choice, backup, target).
    pub restore: Restore,
    /// True when the flag was already on recovery before this plan.
    pub flag_was_recovery: bool,
}

/// Plans the in-place recovery of the database in `dir` (a database
/// directory, or a single Cluster file): reads the files that form it
/// ([`layout::discover`]), then plans on their texts ([`plan_tree`]).
pub fn plan_recovery(dir: &Path, input: &PlanInput) -> Result<Plan, PlanError> {
    let tree = layout::discover(dir)?;
    plan_tree(&tree, input)
}

/// Plans the recovery of a database directory given as file texts. Pure: no
/// filesystem, clock or process; the result's [`FileChange`]s are edits
/// against the given texts, each verified by re-reading with the host
/// parser.
pub fn plan_tree(tree: &Tree, input: &PlanInput) -> Result<Plan, PlanError> {
    match &tree.layout {
        Layout::Overlays {
            kustomization,
            base,
            recovery,
            initdb,
        } => overlays::plan(tree, kustomization, base, recovery, initdb, input),
        Layout::SingleFile { files } => single::plan(tree, files, input),
    }
}

/// The lineage a recovery archiving to `archive_to` restores: `current`
/// (the lineage the Cluster archives to), or the one `chosen`
/// (`--from-lineage`: a serverName, or `vN`), which must be older than
/// `archive_to`. Returns it with the notes to show.
pub fn restored_lineage(
    current: &Lineage,
    archive_to: &str,
    chosen: Option<&str>,
) -> Result<(Lineage, Vec<String>), PlanError> {
    let mut notes = Vec::new();
    let l = steps::source_lineage(current, archive_to, chosen, &mut notes)?;
    Ok((l, notes))
}

/// Validates the restore flags: at most one target, a backup id where CNPG
/// needs one (`targetImmediate` is refused without `backupID`).
pub fn restore_from_flags(
    from_lineage: Option<&str>,
    backup_id: Option<&str>,
    target: Option<Target>,
) -> Result<Restore, PlanError> {
    let backup_id = backup_id.map(str::trim).map(str::to_string);
    if let Some(id) = &backup_id
        && (id.is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(PlanError::input(
            format!("--backup-id {id:?} is not a backup id"),
            "pass the id barman gave the backup, e.g. 20260501T030000 (kubectl get backups -o custom-columns=NAME:.metadata.name,ID:.status.backupId)",
        ));
    }
    if let (Some(t @ Target::Immediate), None) = (&target, &backup_id) {
        return Err(PlanError::input(
            format!(
                "{} needs --backup-id: CNPG's webhook rejects {} without {TARGET_BACKUP_ID} (\"{BACKUP_ID_MISSING_MESSAGE}\"; so do {})",
                "--target-immediate",
                t.describe(),
                TARGETS_NEEDING_BACKUP_ID
                    .iter()
                    .filter(|k| **k != TARGET_IMMEDIATE)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
            "pass --backup-id <id> (the backup whose end is the point to stop at)",
        ));
    }
    Ok(Restore {
        from_lineage: from_lineage.map(str::to_string),
        backup_id,
        target,
    })
}

/// Validates the mutually exclusive target flags.
pub fn target_from_flags(
    time: Option<&str>,
    lsn: Option<&str>,
    immediate: bool,
) -> Result<Option<Target>, PlanError> {
    let n = usize::from(time.is_some()) + usize::from(lsn.is_some()) + usize::from(immediate);
    if n > 1 {
        return Err(PlanError::input(
            format!(
                "--target-time, --target-lsn and --target-immediate are mutually exclusive (CNPG: \"{TARGET_EXCLUSIVE_MESSAGE}\")"
            ),
            "pass at most one of them",
        ));
    }
    if let Some(t) = time {
        let secs =
            timefmt::parse_timestamp(t).map_err(|e| PlanError::input(e, "fix --target-time"))?;
        return Ok(Some(Target::Time(t.to_string(), secs)));
    }
    if let Some(l) = lsn {
        timefmt::validate_lsn(l).map_err(|e| PlanError::input(e, "fix --target-lsn"))?;
        return Ok(Some(Target::Lsn(l.to_string())));
    }
    Ok(immediate.then_some(Target::Immediate))
}

#[cfg(test)]
mod props;
#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests;
