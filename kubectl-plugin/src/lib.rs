//! The library behind `kubectl cnpg-plan` (the `kubectl-cnpg_plan` binary
//! is its command line): the recovery planner, its report and runbook, the
//! live checks, and the policy check of a planned tree.
//!
//! * [`plan`] plans a recovery: [`plan::plan_tree`] is pure (file texts in,
//!   verified edits out), [`plan::plan_recovery`] reads the directory first;
//! * [`report`] runs the whole `recovery` command (plan, render, policy,
//!   live checks, `--write`) and prints it;
//! * [`live`] asks the cluster through `kubectl`;
//! * [`edit`] holds the edits of a plan ([`edit::FileChange`]) and the
//!   all-or-nothing writer;
//! * [`error`] the errors and exit codes.
//!
//! The library exists so that the fuzz targets (`fuzz/`, its own
//! workspace) can drive the planner from outside; it is not published and
//! has no stability promise beyond this repository.

pub mod edit;
pub mod error;
pub mod live;
pub mod plan;
mod policy;
pub mod report;
mod restore;
mod runbook;
mod source;
mod timefmt;
/// YAML with byte spans: the host's, shared with `check`.
use cnpg_guard_host::spans as yaml;
