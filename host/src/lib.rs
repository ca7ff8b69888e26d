//! Runs the cnpg-guard policy `.wasm` outside Kubernetes.
//!
//! - [`Engine`] compiles (or loads from the on-disk [`ModuleCache`]) the
//!   embedded, annotated policy module once; [`Engine::instance`] gives a fresh
//!   [`Instance`] (new store, instantiate, `wapc_init`) in tens of microseconds.
//! - The waPC host protocol and the few WASI preview1 calls a Rust policy
//!   imports are implemented here: guest output never reaches our stdout (the
//!   ArgoCD plugin's stdout is the manifest stream).
//! - Host calls (`kubewarden`/`kubernetes`/`list_resources_*`, `get_resource`)
//!   are answered from a [`ContextSource`], e.g. a [`MemorySource`] holding the
//!   manifests being checked ([`callbacks`]).
//! - [`manifests`] parses YAML/JSON streams, [`render`] runs kustomize,
//!   [`bundle`] evaluates a whole set of objects, and [`check`] is the one
//!   `check` command both CLIs run (tree walk, Flux mode, reports, exit codes).
//! - [`native`] evaluates with the core linked in, for the browser build
//!   (feature `runtime` off: no wasmtime, nothing embedded).

mod context;
#[cfg(feature = "runtime")]
mod engine;
mod error;
mod types;
#[cfg(feature = "runtime")]
mod wapc;
#[cfg(feature = "runtime")]
mod wasi;

pub mod bundle;
pub mod callbacks;
pub mod check;
pub mod manifests;
pub mod masks;
pub mod native;
pub mod render;
pub mod spans;

pub use context::{Answers, ContextSource, ListKey, MemorySource};
#[cfg(feature = "runtime")]
pub use engine::{Engine, Instance, LoadInfo, ModuleCache};
pub use error::HostError;
pub use types::{SettingsValidation, ValidationResponse};

/// The cnpg-guard policy, built for `wasm32-wasip1` and annotated (custom
/// section `io.kubewarden.metadata`) by `build.rs` at compile time.
#[cfg(feature = "runtime")]
pub static POLICY_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cnpg-guard-policy.wasm"));

/// Name of the custom section holding the Kubewarden metadata JSON.
pub const METADATA_SECTION: &str = "io.kubewarden.metadata";

/// Reads the `io.kubewarden.metadata` custom section of a module (the first
/// one, as Kubewarden does). `Ok(None)` when the module is not annotated.
#[cfg(feature = "runtime")]
pub fn policy_metadata(wasm: &[u8]) -> Result<Option<serde_json::Value>, HostError> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| HostError::InvalidModule(e.to_string()))?;
        if let wasmparser::Payload::CustomSection(reader) = payload
            && reader.name() == METADATA_SECTION
        {
            let value = serde_json::from_slice(reader.data()).map_err(|e| {
                HostError::InvalidModule(format!("{METADATA_SECTION} is not valid JSON: {e}"))
            })?;
            return Ok(Some(value));
        }
    }
    Ok(None)
}
