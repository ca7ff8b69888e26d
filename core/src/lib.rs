//! cnpg-guard rules core.
//!
//! Pure functions from an admission-shaped input (operation, object, old
//! object, settings, a lookup for other objects) to a [`Verdict`]. No I/O:
//! the Kubewarden entry, the ArgoCD plugin and `kubectl cnpg-plan` are the
//! hosts that feed it.

pub mod verdict;

pub use verdict::{Exemption, Finding, ObjectRef, Severity, Verdict};
