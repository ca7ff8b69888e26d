//! What the core returns: findings, exemptions and an optional mutated object.

use crate::view::Object;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a finding is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Accepted, with a warning shown to the user.
    Warn,
    /// Rejected.
    Deny,
}

impl Severity {
    /// Lower-case name, as used in settings and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warn => "warn",
            Severity::Deny => "deny",
        }
    }
}

/// Identifies the object a finding is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// `apiVersion` of the object, e.g. `postgresql.cnpg.io/v1`.
    #[serde(default)]
    pub api_version: String,
    /// `kind` of the object.
    #[serde(default)]
    pub kind: String,
    /// Namespace; empty when unknown or cluster-scoped.
    #[serde(default)]
    pub namespace: String,
    /// Name; may be empty for objects using `generateName`.
    #[serde(default)]
    pub name: String,
}

impl ObjectRef {
    /// Reads apiVersion/kind/metadata from an object; `fallback_ns` is used
    /// when the object carries no namespace (admission fills it from the request).
    pub fn of(obj: &Object, fallback_ns: &str) -> ObjectRef {
        let meta = obj.meta();
        let head = obj.head();
        let name = match meta.name.as_deref() {
            Some(n) if !n.is_empty() => n,
            _ => meta.generate_name.as_deref().unwrap_or_default(),
        };
        ObjectRef {
            api_version: head.api_version.unwrap_or_default(),
            kind: head.kind.unwrap_or_default(),
            namespace: meta.namespace_or(fallback_ns).to_string(),
            name: name.to_string(),
        }
    }
}

impl ObjectRef {
    /// [`ObjectRef::of`] for an object a host holds as JSON (reads only its
    /// head and metadata).
    pub fn of_value(obj: &Value, fallback_ns: &str) -> ObjectRef {
        use serde::Deserialize;
        let view = crate::view::MetaOnly::deserialize(obj).unwrap_or_default();
        ObjectRef::of(&Object::Other(view), fallback_ns)
    }
}

impl std::fmt::Display for ObjectRef {
    /// `Kind ns/name` (or `Kind name` without a namespace).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.kind.is_empty() {
            "object"
        } else {
            &self.kind
        };
        let name = if self.name.is_empty() {
            "<unnamed>"
        } else {
            &self.name
        };
        if self.namespace.is_empty() {
            write!(f, "{kind} {name}")
        } else {
            write!(f, "{kind} {}/{name}", self.namespace)
        }
    }
}

/// One problem found in one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id, e.g. `lineage-self-reuse`.
    pub rule: String,
    /// Effective severity after settings were applied.
    pub severity: Severity,
    /// The object the finding is about.
    pub object: ObjectRef,
    /// Field path inside the object, e.g. `spec.plugins[0].parameters.serverName`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
    /// One-line rendering: `Kind ns/name: path: [rule] message — fix`.
    #[serde(default)]
    pub text: String,
}

impl Finding {
    /// The one-line form every host prints.
    pub fn render(&self) -> String {
        format!(
            "{}: {}: [{}] {} — {}",
            self.object, self.path, self.rule, self.message, self.fix
        )
    }
}

/// A rule that was switched off for one object by an annotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exemption {
    /// The rule id that was skipped.
    pub rule: String,
    /// The reason given in the annotation.
    pub reason: String,
    /// The exempted object.
    pub object: ObjectRef,
}

/// The result of evaluating one admission request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// False when any finding has severity deny.
    pub accepted: bool,
    /// All findings, deny first, then by path.
    pub findings: Vec<Finding>,
    /// Exemptions that were honoured.
    #[serde(default)]
    pub exemptions: Vec<Exemption>,
    /// The object after mutation, only when something changed.
    #[serde(default)]
    pub mutated_object: Option<Value>,
    /// The mutation as RFC 6901 JSON pointers of members to remove (an
    /// RFC 6902 `remove` each); empty when nothing changes. Hosts that
    /// evaluated a pruned copy of the object apply these to the full one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removals: Vec<String>,
}

/// Escapes one JSON-pointer token (RFC 6901: `~` -> `~0`, `/` -> `~1`).
pub fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Applies `removals` (JSON pointers) to `obj`; missing members are ignored,
/// so applying twice is harmless.
pub fn apply_removals(obj: &mut Value, removals: &[String]) {
    for pointer in removals {
        let Some((parent, last)) = pointer.rsplit_once('/') else {
            continue;
        };
        let key = last.replace("~1", "/").replace("~0", "~");
        if let Some(Value::Object(map)) = obj.pointer_mut(parent) {
            map.remove(&key);
        }
    }
}

impl Verdict {
    /// Findings with severity deny.
    pub fn denials(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Deny)
    }
    /// Findings with severity warn.
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warn)
    }
}
