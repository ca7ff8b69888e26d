//! Errors of the host.

/// Everything that can go wrong loading or running the policy.
///
/// Messages are meant for users: one line, with context, no stack traces.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The bytes are not a usable wasm module.
    #[error("invalid policy module: {0}")]
    InvalidModule(String),
    /// Cranelift could not compile the module, or the engine could not be set up.
    #[error("compiling the policy module: {0}")]
    Compile(String),
    /// The module could not be instantiated or `wapc_init` failed.
    #[error("instantiating the policy: {0}")]
    Instantiate(String),
    /// The policy answered the call with a waPC error.
    #[error("policy call `{op}` failed: {message}")]
    Guest {
        /// The waPC operation.
        op: String,
        /// The error string the guest returned.
        message: String,
    },
    /// The policy trapped (panic, out of memory, time limit, ...). The instance
    /// is unusable afterwards; take a new one from the [`crate::Engine`].
    #[error("policy call `{op}` aborted: {message}")]
    Trap {
        /// The waPC operation.
        op: String,
        /// What happened, including the policy's last stderr line if any.
        message: String,
    },
    /// The policy's reply is not what the operation promises.
    #[error("policy call `{op}` returned an unexpected reply: {message}")]
    BadReply {
        /// The waPC operation.
        op: String,
        /// Why the reply was rejected.
        message: String,
    },
    /// Evaluating one object of a bundle failed.
    #[error("evaluating {object}: {source}")]
    InObject {
        /// `Kind namespace/name`.
        object: String,
        /// What went wrong.
        source: Box<HostError>,
    },
    /// A payload could not be serialized.
    #[error("encoding the request for `{op}`: {source}")]
    Encode {
        /// The waPC operation.
        op: String,
        /// The serde error.
        source: serde_json::Error,
    },
}
