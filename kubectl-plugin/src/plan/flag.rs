//! The overlay flag of the ArgoCD seed layout: the root kustomization lists
//! `overlays/initdb` (normal operation) or `overlays/recovery` as a
//! resource, the other one commented out on a line of its own.
//!
//! A comment is not YAML content, so commented lines are found in the TEXT.
//! Which overlay is ACTIVE is what the host parser reads in the
//! kustomization's lists; the text only locates the line of each active
//! entry. The flip is an edit like any other: it says which list it leaves
//! behind, and is re-read before it is accepted.

use cnpg_guard_host::manifests;
use serde_json::Value;

use crate::edit::TextEdit;
use crate::error::PlanError;
use crate::source::{Change, Intent, Source};
use crate::yaml::{self, Node, Seg};

/// The initdb overlay's name.
pub(super) const INITDB: &str = "initdb";
/// The recovery overlay's name.
pub(super) const RECOVERY: &str = "recovery";

/// One `- overlays/<name>` line of the kustomization, active or commented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FlagLine {
    /// Byte offset of the line start.
    pub start: usize,
    /// Whether the line is commented out (`# - overlays/recovery`).
    pub commented: bool,
    /// The directory as written (quotes and trailing `/` dropped).
    pub dir: String,
}

/// The flag lines of a kustomization text, per overlay.
#[derive(Debug, Clone, Default)]
pub(super) struct Flags {
    /// Lines naming the initdb overlay.
    pub init: Vec<FlagLine>,
    /// Lines naming the recovery overlay.
    pub rec: Vec<FlagLine>,
}

/// Whether a kustomization entry names overlay `overlay` (`overlays/<x>`,
/// `./overlays/<x>/`, `overlays/db/<x>`, or `<x>` itself).
pub(super) fn names_overlay(item: &str, overlay: &str) -> bool {
    let item = item.trim_start_matches("./").trim_end_matches('/');
    item == overlay || item.ends_with(&format!("/{overlay}")) && item.starts_with("overlays")
}

impl Flags {
    /// Scans a kustomization's text for flag lines.
    pub fn scan(text: &str) -> Flags {
        let mut flags = Flags::default();
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let t = line.trim_start();
            let (commented, rest) = match t.strip_prefix('#') {
                Some(r) => (true, r.trim_start()),
                None => (false, t),
            };
            if let Some(item) = rest.strip_prefix("- ") {
                let item = item.split(" #").next().unwrap_or("").trim();
                let dir = item
                    .trim_matches(|c| c == '"' || c == '\'')
                    .trim_end_matches('/')
                    .to_string();
                let flag = FlagLine {
                    start: offset,
                    commented,
                    dir,
                };
                if names_overlay(&flag.dir, INITDB) {
                    flags.init.push(flag);
                } else if names_overlay(&flag.dir, RECOVERY) {
                    flags.rec.push(flag);
                }
            }
            offset += line.len();
        }
        flags
    }

    /// Whether the text carries the flag at all (active or commented).
    pub fn is_layout(&self) -> bool {
        !self.init.is_empty() || !self.rec.is_empty()
    }

    /// The directory of `overlay` (its first flag line), or `overlays/<overlay>`.
    pub fn dir(&self, overlay: &str) -> String {
        let lines = if overlay == INITDB {
            &self.init
        } else {
            &self.rec
        };
        lines
            .first()
            .map_or_else(|| format!("overlays/{overlay}"), |l| l.dir.clone())
    }
}

/// An overlay listed in the kustomization, as the host parser reads it.
#[derive(Debug, Clone)]
pub(super) struct Listed {
    /// The top-level key of the list (`resources`).
    pub key: String,
    /// Position in that list.
    pub index: usize,
    /// The entry as read.
    pub item: String,
    /// Its line, when it is a block-list entry of its own.
    pub line: Option<usize>,
}

/// The flag of a parsed kustomization: lines, and what is active.
#[derive(Debug, Clone)]
pub(super) struct State {
    /// The kustomization's document.
    pub doc: usize,
    /// The flag lines of its text.
    pub lines: Flags,
    /// Active initdb entries.
    pub init: Vec<Listed>,
    /// Active recovery entries.
    pub rec: Vec<Listed>,
}

/// Reads the flag of the kustomization `k`.
pub(super) fn read(k: &Source) -> State {
    let doc = (0..k.docs.len())
        .find(|i| k.json(*i).is_object())
        .unwrap_or(0);
    let mut state = State {
        doc,
        lines: Flags::scan(&k.text),
        init: Vec::new(),
        rec: Vec::new(),
    };
    let Value::Object(top) = k.json(doc) else {
        return state;
    };
    let root = k.root(doc);
    for (key, list) in top {
        let Value::Array(items) = list else { continue };
        let written = root.and_then(|r| r.get(key));
        for (index, item) in items.iter().enumerate() {
            let Some(item) = item.as_str() else { continue };
            // The line of a block-list entry written on a line of its own.
            let line = match written {
                Some(Node::Seq {
                    flow: false, items, ..
                }) => items
                    .get(index)
                    .filter(|n| matches!(n, Node::Scalar { .. }))
                    .map(|n| yaml::line_start(&k.text, n.start())),
                _ => None,
            };
            let listed = Listed {
                key: key.clone(),
                index,
                item: item.to_string(),
                line,
            };
            if names_overlay(item, INITDB) {
                state.init.push(listed);
            } else if names_overlay(item, RECOVERY) {
                state.rec.push(listed);
            }
        }
    }
    state
}

/// Flips the flag to the recovery overlay: comments out every active
/// initdb line, and uncomments the first commented recovery line (or adds
/// `- overlays/recovery` after the initdb line). The intent is the list as
/// it must read afterwards: the initdb entries gone, the recovery entry
/// where its line lands.
pub(super) fn flip(k: &Source, state: &State) -> Result<Change, PlanError> {
    let err = |field: &str, message: String, fix: String| {
        PlanError::input(message, fix)
            .in_file(k.display.clone())
            .at(field)
    };
    let text = &k.text;
    let mut edits = Vec::new();
    // Every active initdb entry must be a line of its own to be commented out.
    for l in &state.init {
        let Some(start) = l.line else {
            return Err(err(
                &l.key,
                format!(
                    "`{}` is not a `- {}` line of its own, so the flag cannot be flipped by commenting it out",
                    l.item, l.item
                ),
                format!(
                    "write {} as a block list (one `- entry` per line), then run again",
                    l.key
                ),
            ));
        };
        let dash = text.get(start..).and_then(|t| t.find('-')).unwrap_or(0);
        edits.push(TextEdit {
            start: start + dash,
            end: start + dash,
            text: "# ".into(),
        });
    }
    // Where the recovery entry appears, and what it reads.
    let (at, item) = match state.lines.rec.iter().find(|l| l.commented) {
        Some(l) => {
            let line = text
                .get(l.start..yaml::line_end(text, l.start))
                .unwrap_or("");
            let hash = line.find('#').unwrap_or(0);
            let dash = line.find('-').unwrap_or(hash);
            // The entry takes the indentation of the list it joins (a
            // hand-edited comment is often one column off: keeping the
            // comment's column would break the list), else the comment's.
            let list = state
                .init
                .first()
                .map(|l| l.key.clone())
                .or_else(|| surrounding_list(k, state.doc, l.start));
            let indent = list
                .and_then(|key| sibling_indent(k, state.doc, &key))
                .unwrap_or_else(|| line.get(..hash).unwrap_or("").to_string());
            edits.push(TextEdit {
                start: l.start,
                end: l.start + dash,
                text: indent,
            });
            // What the uncommented entry means, read like the rest.
            let uncommented = line.get(dash..).unwrap_or("");
            let item = match manifests::parse_documents(uncommented).as_deref() {
                Ok([Value::Array(items)]) => items.first().cloned(),
                _ => None,
            }
            .unwrap_or_else(|| Value::String(l.dir.clone()));
            (l.start, item)
        }
        None => {
            let Some(il) = state.lines.init.first() else {
                return Err(err(
                    "resources",
                    "no overlays/initdb or overlays/recovery line to flip".into(),
                    "add `- overlays/recovery` to the resources by hand".into(),
                ));
            };
            let line = text.get(il.start..).unwrap_or("");
            let indent: String = line
                .chars()
                .take_while(|c| c.is_whitespace() && *c != '\n')
                .collect();
            let end = yaml::line_end(text, il.start);
            let nl = if end == text.len() && !text.ends_with('\n') {
                "\n"
            } else {
                ""
            };
            edits.push(TextEdit {
                start: end,
                end,
                text: format!("{nl}{indent}- overlays/{RECOVERY}\n"),
            });
            (end, Value::String(format!("overlays/{RECOVERY}")))
        }
    };
    // The list it lands in: the initdb entries' list, else the first
    // top-level block list whose lines surround the recovery line.
    let key = state
        .init
        .first()
        .map(|l| l.key.clone())
        .or_else(|| surrounding_list(k, state.doc, at))
        .unwrap_or_else(|| "resources".into());
    let old = k
        .value_at(state.doc, &[Seg::Key(key.clone())])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let starts: Vec<usize> = match k.root(state.doc).and_then(|r| r.get(&key)) {
        Some(Node::Seq { items, .. }) => items.iter().map(Node::start).collect(),
        _ => Vec::new(),
    };
    let removed: Vec<usize> = state
        .init
        .iter()
        .filter(|l| l.key == key)
        .map(|l| l.index)
        .collect();
    let mut new = Vec::new();
    let mut placed = false;
    for (i, v) in old.iter().enumerate() {
        if !placed && starts.get(i).is_some_and(|s| *s >= at) {
            new.push(item.clone());
            placed = true;
        }
        if !removed.contains(&i) {
            new.push(v.clone());
        }
    }
    if !placed {
        new.push(item);
    }
    Ok(Change {
        edits,
        intents: vec![Intent::Set {
            doc: state.doc,
            path: vec![Seg::Key(key)],
            value: Value::Array(new),
        }],
    })
}

/// The leading whitespace of the items of the top-level block list `key`
/// (the column their `-` is written at).
fn sibling_indent(k: &Source, doc: usize, key: &str) -> Option<String> {
    let Some(Node::Seq {
        flow: false, items, ..
    }) = k.root(doc).and_then(|r| r.get(key))
    else {
        return None;
    };
    let first = items.first()?;
    let start = yaml::line_start(&k.text, first.start());
    let line = k.text.get(start..first.start())?;
    let ws: String = line.chars().take_while(|c| *c == ' ').collect();
    // Only a line that is `<spaces>- item`: anything else (`- - x`, a
    // flow item after other content) says nothing about the column.
    line.get(ws.len()..)
        .is_some_and(|rest| rest.starts_with('-'))
        .then_some(ws)
}

/// The top-level block list of `doc` whose written lines span `offset`.
fn surrounding_list(k: &Source, doc: usize, offset: usize) -> Option<String> {
    let Some(Node::Map { entries, .. }) = k.root(doc) else {
        return None;
    };
    entries.iter().find_map(|(key, v)| match v {
        Node::Seq { flow: false, .. }
            if key.start() < offset && offset <= yaml::line_end(&k.text, v.content_end()) =>
        {
            key.key_str().map(str::to_string)
        }
        _ => None,
    })
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use crate::edit;

    fn source(text: &str) -> Source {
        Source::from_text("k.yaml".into(), "k.yaml".into(), text.into()).unwrap()
    }

    #[test]
    fn flag_lines_found() {
        let t = "resources:\n  - overlays/initdb # on\n  # - overlays/recovery\n  - x.yaml\n";
        let f = Flags::scan(t);
        assert_eq!(f.init.len(), 1);
        assert!(!f.init[0].commented);
        assert_eq!(f.rec.len(), 1);
        assert!(f.rec[0].commented);
        assert_eq!(f.dir(RECOVERY), "overlays/recovery");
        assert!(names_overlay("./overlays/initdb/", INITDB));
        assert!(!names_overlay("base/initdb-helpers", INITDB));
    }

    #[test]
    fn the_active_overlay_is_what_the_host_reads() {
        // (text, initdb active, recovery active, flip result or refusal)
        let cases: [(&str, bool, bool, Result<&str, &str>); 9] = [
            (
                // A comment one column left of the items: the entry takes
                // the items' column, not the comment's.
                "resources:\n  - overlays/initdb\n # - overlays/recovery\n  - externalsecret.yaml\n",
                true,
                false,
                Ok(
                    "resources:\n  # - overlays/initdb\n  - overlays/recovery\n  - externalsecret.yaml\n",
                ),
            ),
            (
                // Deeper than the items (it would continue the scalar above).
                "resources:\n  - overlays/initdb   # on\n      #   - overlays/recovery   # off\n  - x.yaml\n",
                true,
                false,
                Ok(
                    "resources:\n  # - overlays/initdb   # on\n  - overlays/recovery   # off\n  - x.yaml\n",
                ),
            ),
            (
                // Items at the key's column, the comment indented.
                "resources:\n- overlays/initdb\n  #- overlays/recovery\n- x.yaml\n",
                true,
                false,
                Ok("resources:\n# - overlays/initdb\n- overlays/recovery\n- x.yaml\n"),
            ),
            (
                // The recovery line first, the initdb line last.
                "resources:\n    #- ./overlays/recovery/\n    - x.yaml\n    - ./overlays/initdb/\n",
                true,
                false,
                Ok(
                    "resources:\n    - ./overlays/recovery/\n    - x.yaml\n    # - ./overlays/initdb/\n",
                ),
            ),
            (
                "resources:\n  - overlays/initdb # on\n  # - overlays/recovery\n  - x.yaml\n",
                true,
                false,
                Ok("resources:\n  # - overlays/initdb # on\n  - overlays/recovery\n  - x.yaml\n"),
            ),
            (
                // No commented recovery line: one is added after initdb.
                "resources:\n  - x.yaml\n  - \"overlays/initdb\"\n",
                true,
                false,
                Ok("resources:\n  - x.yaml\n  # - \"overlays/initdb\"\n  - overlays/recovery\n"),
            ),
            (
                // The flag lives in a flow list: it cannot be commented out.
                "resources: [overlays/initdb, x.yaml]\n# - overlays/recovery\n",
                true,
                false,
                Err("is not a `- overlays/initdb` line of its own"),
            ),
            (
                // A block scalar that merely looks like a flag line is no flag.
                "description: |\n  - overlays/initdb\nresources:\n  # - overlays/recovery\n  - x.yaml\n",
                false,
                false,
                Ok(
                    "description: |\n  - overlays/initdb\nresources:\n  - overlays/recovery\n  - x.yaml\n",
                ),
            ),
            (
                // A commented line in another list would land there: the
                // re-read refuses it.
                "resources:\n  - overlays/initdb\n  - x.yaml\ncomponents:\n  - c\n  # - overlays/recovery\n",
                true,
                false,
                Err("does not take effect"),
            ),
        ];
        for (text, init, rec, want) in cases {
            let k = source(text);
            let state = read(&k);
            assert_eq!(
                (!state.init.is_empty(), !state.rec.is_empty()),
                (init, rec),
                "{text}"
            );
            let got = flip(&k, &state).and_then(|c| {
                k.verify(std::slice::from_ref(&c))?;
                Ok(edit::apply(&k.text, &c.edits).unwrap())
            });
            match (want, got) {
                (Ok(w), Ok(g)) => assert_eq!(g, w, "{text}"),
                (Err(w), Err(e)) => assert!(e.to_string().contains(w), "{text}: {e}"),
                (w, g) => panic!("{text}: want {w:?}, got {g:?}"),
            }
        }
    }
}
