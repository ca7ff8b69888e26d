//! `argocd-cnpg-guard`: an ArgoCD Config Management Plugin (CMP v2) that
//! renders an Application's source, runs every rendered object through the
//! embedded cnpg-guard policy as a CREATE (answering the policy's lookups
//! from the render), applies the policy's mutations, and either prints the
//! manifests or fails the render with one line per finding.
//!
//! `check` is the one check shared with `kubectl cnpg-plan check`
//! ([`cnpg_guard_host::check`]): same flags, output and exit codes.
//!
//! Exit codes: [`exit`] (one table for both programs).

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod cli;
pub mod pipeline;
pub mod report;

pub use cnpg_guard_host::check::{exit, settings};

/// Why a `generate` run failed, with the exit code that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Bad command line.
    Usage(String),
    /// Bad parameter or env value.
    Settings(settings::SettingsError),
    /// Settings the policy's `validate_settings` rejected (e.g. an unknown
    /// rule id in `severity`), or another check-level usage error.
    PolicySettings(String),
    /// Render failed or was empty.
    Render(String),
    /// Engine or output failure.
    Internal(String),
}

impl Failure {
    /// The exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) | Failure::Settings(_) | Failure::PolicySettings(_) => exit::USAGE,
            Failure::Render(_) => exit::RENDER,
            Failure::Internal(_) => exit::INTERNAL,
        }
    }
}

impl From<cnpg_guard_host::check::CheckError> for Failure {
    fn from(e: cnpg_guard_host::check::CheckError) -> Failure {
        use cnpg_guard_host::check::CheckError;
        match e {
            CheckError::Usage(m) => Failure::PolicySettings(m),
            CheckError::Render(m) => Failure::Render(m),
            CheckError::Internal(m) => Failure::Internal(m),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Usage(m) | Failure::PolicySettings(m) => write!(f, "{m}"),
            Failure::Settings(e) => write!(f, "bad parameter {e}"),
            Failure::Render(m) => write!(f, "render failed: {m}"),
            Failure::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for Failure {}
