//! The recovery plan: the next lineage, the lockstep edits, the flag flip,
//! database/owner and the PITR target.
//!
//! Split along the seams of the work:
//!
//! * [`layout`] decides which files form the database directory (overlays
//!   or single-file layout) and reads them: the ONLY I/O of planning;
//! * [`plan_tree`] computes the edits from those files' texts: pure (texts
//!   in, edits out), so a build without a filesystem (the browser) can call
//!   it with files from memory; [`overlays`] and [`single`] are the two
//!   layouts, [`steps`] what they share, [`flag`] the overlay flag;
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
mod single;
mod steps;

use std::path::{Path, PathBuf};

use cnpg_guard_core::cnpg::lineage::Lineage;
use cnpg_guard_core::cnpg::{TARGET_EXCLUSIVE_MESSAGE, TARGET_IMMEDIATE, TARGET_LSN, TARGET_TIME};
use serde::Serialize;
use serde_json::Value;

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

    /// The `recoveryTarget` block as a value.
    pub fn to_value(&self) -> Value {
        self.to_y().to_value()
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

/// Inputs beyond the directory.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    /// `--database`.
    pub database: Option<String>,
    /// `--owner`.
    pub owner: Option<String>,
    /// `--target-*`.
    pub target: Option<Target>,
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
    /// The current archive lineage (what will be restored from).
    pub from: Lineage,
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
    /// The PITR target, if any.
    pub target: Option<Target>,
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
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests;
