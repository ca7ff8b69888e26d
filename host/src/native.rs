//! The core linked in: evaluates an admission payload with
//! [`cnpg_guard_core::admission::run`], the function the policy `.wasm` runs
//! behind waPC, answering its lookups through the same host-call dispatcher
//! ([`crate::callbacks::host_call`]) the wasmtime host uses. Only the waPC
//! boundary is missing, so the verdict is the `.wasm`'s (`tests/tests/parity.rs`
//! holds them equal). The browser build, which cannot run a wasm in a wasm,
//! evaluates this way.

use std::sync::Arc;

use cnpg_guard_core::Verdict;
use cnpg_guard_core::admission::{self, HostCalls};
use serde_json::Value;

use crate::bundle::Evaluator;
use crate::{ContextSource, HostError, callbacks};

/// An [`Evaluator`] that calls the core in-process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Native;

impl Evaluator for Native {
    fn evaluate(
        &mut self,
        ctx: &Arc<dyn ContextSource>,
        payload: &Value,
    ) -> Result<Verdict, HostError> {
        let bytes = serde_json::to_vec(payload).map_err(|source| HostError::Encode {
            op: "evaluate".into(),
            source,
        })?;
        let lookup = HostCalls(|op: &str, body: &[u8]| {
            callbacks::host_call(ctx.as_ref(), "kubewarden", "kubernetes", op, body)
        });
        // The `.wasm`'s `evaluate` export turns this error into a waPC error.
        admission::run(&bytes, &lookup).map_err(|message| HostError::Guest {
            op: "evaluate".into(),
            message,
        })
    }
}

/// Validates policy settings as the policy's `validate_settings` does.
pub fn validate_settings(settings: &Value) -> Result<(), String> {
    admission::parse_settings(settings).map(|_| ())
}
