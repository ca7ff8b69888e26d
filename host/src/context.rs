//! Where host calls get their answers from.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

/// The key of one list answer: apiVersion, kind, namespace, label selector,
/// field selector, field masks.
pub type ListKey = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<Vec<String>>,
);

/// Serialised list answers of a source that does not change, so a bundle of
/// N objects does not serialise its context N times.
#[derive(Debug, Default)]
pub struct Answers(Mutex<HashMap<ListKey, Vec<u8>>>);

impl Answers {
    /// A remembered answer.
    pub fn get(&self, key: &ListKey) -> Option<Vec<u8>> {
        self.0.lock().ok()?.get(key).cloned()
    }
    /// Remembers an answer.
    pub fn put(&self, key: ListKey, answer: &[u8]) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(key, answer.to_vec());
        }
    }
}

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

    /// A cache of serialised answers, for sources whose answers never change.
    fn answers(&self) -> Option<&Answers> {
        None
    }
}

/// A [`ContextSource`] over a fixed set of objects (e.g. the rendered bundle).
#[derive(Debug, Default)]
pub struct MemorySource {
    objects: Vec<Value>,
    answers: Answers,
}

impl Clone for MemorySource {
    fn clone(&self) -> Self {
        MemorySource::new(self.objects.clone())
    }
}

impl MemorySource {
    /// Holds `objects`; anything that is not a JSON object is ignored by lookups.
    pub fn new(objects: Vec<Value>) -> MemorySource {
        MemorySource {
            objects,
            answers: Answers::default(),
        }
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

    fn answers(&self) -> Option<&Answers> {
        Some(&self.answers)
    }
}
