//! `argocd-cnpg-guard`: an ArgoCD Config Management Plugin (CMP v2) that
//! renders an Application's source with kustomize, runs every rendered object
//! through the embedded cnpg-guard policy as a CREATE (answering the policy's
//! lookups from the render), applies the policy's mutations, and either prints
//! the manifests or fails the render with one line per finding.
//!
//! The same pipeline backs a local mode (`check <path>`) for Flux users and CI.
//!
//! Exit codes (see [`exit`]): 0 rendered/accepted, 1 denied by the policy,
//! 2 bad command line or parameter, 3 render failed (kustomize error, empty
//! output, unparseable manifests), 4 internal error (policy engine, output).

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
pub mod settings;

/// Process exit codes. Each means one thing, so CI and humans can branch on it.
pub mod exit {
    /// Rendered (generate) or nothing denied (check). Warnings do not fail.
    pub const OK: i32 = 0;
    /// The policy denied at least one object.
    pub const DENIED: i32 = 1;
    /// Bad command line or bad parameter/env value.
    pub const USAGE: i32 = 2;
    /// The source could not be rendered: kustomize failed, the render was
    /// empty, or the output is not parseable manifests.
    pub const RENDER: i32 = 3;
    /// The policy engine failed, or output could not be written.
    pub const INTERNAL: i32 = 4;
}

/// Why a run failed, with the exit code that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Bad command line.
    Usage(String),
    /// Bad parameter or env value.
    Settings(settings::SettingsError),
    /// Settings the policy's `validate_settings` rejected (e.g. an unknown
    /// rule id in `severity`); the policy's message.
    PolicySettings(String),
    /// Render failed or was empty.
    Render(String),
    /// Engine or output failure.
    Internal(String),
}

impl Failure {
    /// The exit code for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage(_) | Failure::Settings(_) | Failure::PolicySettings(_) => exit::USAGE,
            Failure::Render(_) => exit::RENDER,
            Failure::Internal(_) => exit::INTERNAL,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Usage(m) => write!(f, "{m}"),
            Failure::Settings(e) => write!(f, "bad parameter {e}"),
            Failure::PolicySettings(m) => write!(f, "bad parameter: {m}"),
            Failure::Render(m) => write!(f, "render failed: {m}"),
            Failure::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for Failure {}
