//! Where host calls get their answers from.

use serde_json::Value;

/// Answers the policy's Kubernetes lookups.
///
/// `list` returns the objects of one `apiVersion` + `kind`, restricted to a
/// namespace when `namespace` is `Some`. An `Err` is handed to the policy as a
/// waPC host error (the policy decides what to do, per its `contextErrors`
/// setting).
pub trait ContextSource: Send + Sync {
    /// Objects of `api_version`/`kind`, in `namespace` when given.
    fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Vec<Value>, String>;
}

/// A [`ContextSource`] over a fixed set of objects (e.g. the rendered bundle).
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    objects: Vec<Value>,
}

impl MemorySource {
    /// Holds `objects`; anything that is not a JSON object is ignored by lookups.
    pub fn new(objects: Vec<Value>) -> MemorySource {
        MemorySource { objects }
    }

    /// The objects held.
    pub fn objects(&self) -> &[Value] {
        &self.objects
    }
}

fn str_at<'a>(obj: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = obj;
    for key in path {
        match cur.get(key) {
            Some(v) => cur = v,
            None => return "",
        }
    }
    cur.as_str().unwrap_or_default()
}

impl ContextSource for MemorySource {
    fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Vec<Value>, String> {
        Ok(self
            .objects
            .iter()
            .filter(|o| str_at(o, &["apiVersion"]) == api_version && str_at(o, &["kind"]) == kind)
            .filter(|o| namespace.is_none_or(|ns| str_at(o, &["metadata", "namespace"]) == ns))
            .cloned()
            .collect())
    }
}
