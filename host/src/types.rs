//! Kubewarden wire types (kubewarden-policy-sdk 0.17 `response.rs`, `settings.rs`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a policy's `validate` returns (SDK `response::ValidationResponse`).
///
/// All fields are serialized, `null` when absent, like the SDK does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidationResponse {
    /// Whether the request is admitted.
    pub accepted: bool,
    /// Rejection (or informational) message.
    #[serde(default)]
    pub message: Option<String>,
    /// HTTP-like status code for rejections.
    #[serde(default)]
    pub code: Option<u16>,
    /// The full mutated object (not a patch) when the policy mutates.
    #[serde(default)]
    pub mutated_object: Option<Value>,
    /// Audit annotations to attach to the admission response.
    #[serde(default)]
    pub audit_annotations: Option<HashMap<String, String>>,
    /// Warnings shown to the client (also on accepted requests).
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

/// What a policy's `validate_settings` returns (SDK `SettingsValidationResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsValidation {
    /// Whether the settings are usable.
    pub valid: bool,
    /// Why they are not (or a note).
    #[serde(default)]
    pub message: Option<String>,
}
