//! cnpg-guard rules core.
//!
//! Pure functions from an admission-shaped input (operation, object, old
//! object, settings, a lookup for other objects) to a [`Verdict`]. No I/O:
//! the Kubewarden entry, the ArgoCD plugin and `kubectl cnpg-plan` are the
//! hosts that feed it.

pub mod admission;
pub mod cnpg;
pub mod engine;
pub mod explain;
pub mod input;
pub mod rules;
pub mod settings;
pub mod verdict;
pub mod view;

pub use engine::{EXEMPTION_PREFIX, evaluate};
pub use input::{InMemory, Lookup, LookupKind, NoLookup, Operation, Request};
pub use rules::{RULES, RuleInfo};
pub use settings::{Level, Settings};
pub use verdict::{Exemption, Finding, ObjectRef, Severity, Verdict};
pub use view::Object;
