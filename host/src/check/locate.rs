//! Pointing a rendered object back at the file that declares it, so a
//! finding reads `apps/db/cluster.yaml:12: deny: …`.
//!
//! Every candidate file is parsed once (with the one manifest parser); a
//! rendered object matches a document of the same kind and name. Full
//! documents win over patches, the unit's own files over other units', and a
//! matching namespace over none.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde_json::Value;

use super::tree::{Unit, UnitSource};
use crate::manifests;

#[derive(Debug, Clone)]
struct Entry {
    file: usize,
    line: u64,
    namespace: Option<String>,
    patch: bool,
}

/// Where each (kind, name) is declared.
#[derive(Debug, Default)]
pub struct Index {
    files: Vec<String>,
    unit_files: Vec<Vec<usize>>,
    by_name: HashMap<(String, String), Vec<Entry>>,
}

impl Index {
    /// Parses every file of every unit once. A stream (stdin, a paste in
    /// the browser) is its own file, named by its label.
    pub fn build(units: &[Unit]) -> Index {
        let mut index = Index::default();
        let mut file_ids: BTreeMap<PathBuf, usize> = BTreeMap::new();
        for unit in units {
            let mut ids = Vec::new();
            if let UnitSource::Stream(text) = &unit.source {
                let id = index.files.len();
                index.files.push(unit.label.clone());
                ids.push(id);
                index.add(unit, id, text, false);
            }
            for path in &unit.files {
                if let Some(id) = file_ids.get(path) {
                    ids.push(*id);
                    continue;
                }
                let id = index.files.len();
                index.files.push(path.display().to_string());
                file_ids.insert(path.clone(), id);
                ids.push(id);
                let Ok(text) = std::fs::read_to_string(path) else {
                    continue;
                };
                let patch = unit
                    .patch_files
                    .contains(&std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()));
                index.add(unit, id, &text, patch);
            }
            index.unit_files.push(ids);
        }
        index
    }

    fn add(&mut self, unit: &Unit, id: usize, text: &str, patch: bool) {
        let Ok(objects) = manifests::parse_stream_located(text) else {
            return;
        };
        for (obj, line) in objects {
            let s = |p: &str| obj.pointer(p).and_then(Value::as_str);
            let (Some(kind), Some(name)) = (s("/kind"), s("/metadata/name")) else {
                continue;
            };
            // A Flux unit renders `${APP}-db` as `immich-db`: index
            // the name the render will carry.
            let name = match &unit.source {
                UnitSource::Flux(ks) => match &ks.vars {
                    Some(vars) => {
                        super::flux::envsubst(name, vars, &mut std::collections::BTreeSet::new())
                    }
                    None => name.to_string(),
                },
                _ => name.to_string(),
            };
            self.by_name
                .entry((kind.to_string(), name))
                .or_default()
                .push(Entry {
                    file: id,
                    line,
                    namespace: s("/metadata/namespace").map(str::to_string),
                    patch,
                });
        }
    }

    /// The file and line declaring `obj` (rendered by unit `unit`).
    pub fn find(&self, obj: &Value, unit: usize) -> (Option<String>, Option<u64>) {
        let s = |p: &str| obj.pointer(p).and_then(Value::as_str);
        let (Some(kind), Some(name)) = (s("/kind"), s("/metadata/name")) else {
            return (None, None);
        };
        let Some(entries) = self.by_name.get(&(kind.to_string(), name.to_string())) else {
            return (None, None);
        };
        let own = self.unit_files.get(unit);
        let ns = s("/metadata/namespace");
        let best = entries.iter().min_by_key(|e| {
            (
                !own.is_some_and(|f| f.contains(&e.file)),
                e.patch,
                !(e.namespace.is_none() || e.namespace.as_deref() == ns),
            )
        });
        match best {
            Some(e) => (self.files.get(e.file).cloned(), Some(e.line)),
            None => (None, None),
        }
    }
}

/// Lines of field paths inside declared documents, each file parsed once
/// with the span parser ([`crate::spans`]).
#[derive(Debug, Default)]
pub struct FieldLines {
    files: HashMap<String, Option<(String, Vec<crate::spans::Doc>)>>,
}

impl FieldLines {
    /// Field lines that also know the text of the units' streams (which
    /// are not files on disk).
    pub fn for_units(units: &[Unit]) -> FieldLines {
        let mut lines = FieldLines::default();
        for unit in units {
            if let UnitSource::Stream(text) = &unit.source {
                let docs = crate::spans::parse(text).ok();
                lines
                    .files
                    .insert(unit.label.clone(), docs.map(|docs| (text.clone(), docs)));
            }
        }
        lines
    }

    /// The 1-based line of `path` (or of its nearest existing ancestor: a
    /// missing field is reported where it would go) in the document of
    /// `file` that starts at `doc_line`. `None` when the document is not
    /// found (e.g. a `List` item), then the document line is the answer.
    pub fn line(&mut self, file: &str, doc_line: u64, path: &str) -> Option<u64> {
        let entry = self.files.entry(file.to_string()).or_insert_with(|| {
            let text = std::fs::read_to_string(file).ok()?;
            let docs = crate::spans::parse(&text).ok()?;
            Some((text, docs))
        });
        let (text, docs) = entry.as_ref()?;
        let root = docs
            .iter()
            .filter_map(|d| d.root.as_ref())
            .find(|r| crate::spans::line_of(text, r.start()) as u64 == doc_line)?;
        let segs = crate::spans::parse_path(path);
        (0..=segs.len())
            .rev()
            .find_map(|n| segs.get(..n).and_then(|s| root.at(s)))
            .map(|node| crate::spans::line_of(text, node.start()) as u64)
    }
}
