//! One manifest file as the planner sees it: its exact text, each document's
//! MEANING (read by `cnpg_guard_host::manifests`, the one reader of
//! manifests in cnpg-guard) and each document's span tree (only to find the
//! bytes to edit). Every edit says what it means ([`Intent`]) and
//! [`Source::verify`] re-reads the edited text with the host parser to prove
//! it: an edit that would reach other fields through a YAML anchor, or not
//! take effect at all, is refused instead of written.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cnpg_guard_host::manifests::{self, ManifestError};
use cnpg_guard_host::spans::ScalarStyle;
use serde_json::Value;

use crate::edit::{self, TextEdit};
use crate::error::PlanError;
use crate::yaml::{self, Located, Node, Seg, Y};

/// One YAML file, its text and its parsed documents.
#[derive(Debug, Clone)]
pub struct Source {
    /// Path on disk.
    pub path: PathBuf,
    /// Path shown to the user (relative to the planned directory).
    pub display: String,
    /// The exact text.
    pub text: String,
    /// Span trees, one per document, only to locate bytes.
    pub docs: Vec<yaml::Doc>,
    /// What each document means (same order as `docs`; `Null` when empty).
    pub values: Vec<Value>,
}

/// What an edit means once the file is re-read.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Field `path` of document `doc` reads `value`.
    Set {
        /// Document index.
        doc: usize,
        /// Field path.
        path: Vec<Seg>,
        /// The value it has after the edit.
        value: Value,
    },
    /// Field `path` of document `doc` is gone.
    Remove {
        /// Document index.
        doc: usize,
        /// Field path.
        path: Vec<Seg>,
    },
}

impl Intent {
    fn path(&self) -> &[Seg] {
        match self {
            Intent::Set { path, .. } | Intent::Remove { path, .. } => path,
        }
    }

    fn doc(&self) -> usize {
        match self {
            Intent::Set { doc, .. } | Intent::Remove { doc, .. } => *doc,
        }
    }
}

/// Text edits to one file and what they mean: the unit the planner
/// collects, [`Source::verify`] checks, and a refusal is blamed on.
#[derive(Debug, Clone)]
pub struct Change {
    /// Byte-range replacements in the file's original text.
    pub edits: Vec<TextEdit>,
    /// What the file reads afterwards (everything else stays as it was).
    pub intents: Vec<Intent>,
}

impl Change {
    fn one(edit: TextEdit, intent: Intent) -> Change {
        Change {
            edits: vec![edit],
            intents: vec![intent],
        }
    }
}

/// The value of a document that does not exist (never an error: callers
/// treat it like an empty document).
static NULL: Value = Value::Null;

impl Source {
    /// Parses a file's text: the span trees, and each document's value read
    /// by the host parser from that document's own bytes. The span parser's
    /// documents tile the text ([`yaml::Doc`]) and YAML anchors never cross
    /// documents, so parsing each slice gives values lined up with the span
    /// documents by construction.
    pub fn from_text(path: PathBuf, display: String, text: String) -> Result<Source, PlanError> {
        let docs = yaml::parse(&text).map_err(|e| {
            PlanError::input(
                format!("line {}: invalid YAML: {}", e.line, e.message),
                "fix the YAML syntax (kubectl kustomize would reject it too)",
            )
            .in_file(display.clone())
        })?;
        let mut values = Vec::with_capacity(docs.len());
        for d in &docs {
            // Never a silent empty value: a slice that cannot be cut is an error.
            let slice = text.get(d.start..d.end).ok_or_else(|| {
                PlanError::input(
                    format!(
                        "line {}: a YAML document does not start on a character boundary",
                        yaml::line_of(&text, d.start)
                    ),
                    "report this as a bug",
                )
                .in_file(display.clone())
            })?;
            let mut parsed = manifests::parse_documents(slice)
                .map_err(|e| syntax_error(&text, d.start, &e).in_file(display.clone()))?;
            if parsed.len() > 1 {
                return Err(PlanError::input(
                    format!(
                        "line {}: the YAML stream's documents cannot be told apart",
                        yaml::line_of(&text, d.start)
                    ),
                    "separate documents with a `---` line of their own",
                )
                .in_file(display.clone()));
            }
            values.push(parsed.pop().unwrap_or(Value::Null));
        }
        Ok(Source {
            path,
            display,
            text,
            docs,
            values,
        })
    }

    /// Root node of document `i`.
    pub fn root(&self, i: usize) -> Option<&Node> {
        self.docs.get(i).and_then(|d| d.root.as_ref())
    }

    /// Document `i` as the host parser reads it (`Null` when empty or absent).
    pub fn json(&self, i: usize) -> &Value {
        self.values.get(i).unwrap_or(&NULL)
    }

    /// The value at `path` in document `doc`, as the host parser reads it.
    pub fn value_at(&self, doc: usize, path: &[Seg]) -> Option<&Value> {
        yaml::value_at(self.json(doc), path)
    }

    fn err(&self, field: &str, message: impl Into<String>, fix: impl Into<String>) -> PlanError {
        PlanError::input(message, fix)
            .in_file(self.display.clone())
            .at(field)
    }

    fn root_or_err(&self, doc: usize, path: &str) -> Result<&Node, PlanError> {
        self.root(doc)
            .ok_or_else(|| self.err(path, "empty document", "add the Cluster manifest"))
    }

    /// The refusal for a path that runs into an alias after `depth` segments.
    fn alias_error(&self, segs: &[Seg], depth: usize) -> PlanError {
        let at = yaml::path_string(segs.get(..depth.max(1)).unwrap_or(segs));
        self.err(
            &at,
            "this is a YAML alias (`*…`): its content is written at the anchor (`&…`) and may be shared with other fields; the planner never edits through an alias",
            format!("write {at} out in full here (or as `<<: *anchor` plus the keys that differ), then run again"),
        )
    }

    /// The refusal for a field whose parent mapping is not written here.
    fn missing_parent_error(
        &self,
        doc: usize,
        parent: &[Seg],
        key: &str,
        value: &str,
    ) -> PlanError {
        let p = yaml::path_string(parent);
        if self.value_at(doc, parent).is_some() {
            return self.err(
                &p,
                "this mapping is not written in this file: its content comes from a YAML merge key (`<<: *…`) or alias",
                format!("write `{p}:` out here with `{key}: {value}`, then run again"),
            );
        }
        self.err(
            &p,
            "the mapping that should hold this field is missing",
            format!("add `{p}:` with `{key}: {value}` by hand, then run again"),
        )
    }

    /// The mapping written at `map_path` of document `doc`.
    fn literal_map(&self, doc: usize, map_path: &str) -> Result<&Node, PlanError> {
        let root = self.root_or_err(doc, map_path)?;
        let segs = yaml::parse_path(map_path);
        match root.locate(&segs) {
            Located::Found(n @ Node::Map { .. }) => Ok(n),
            Located::Found(_) => Err(self.err(
                map_path,
                "expected a mapping",
                "write it as a block mapping (`key:` on its own line)",
            )),
            Located::Alias(depth) => Err(self.alias_error(&segs, depth)),
            Located::Missing(_) => {
                let (parent, key) = match segs.split_last() {
                    Some((Seg::Key(k), parent)) => (parent, k.as_str()),
                    _ => (segs.as_slice(), ""),
                };
                Err(self.missing_parent_error(doc, parent, key, "…"))
            }
        }
    }

    /// Sets the string at `path` (in document `doc`) to `value`: replaces
    /// the scalar written there in its own quoting style, or inserts the key
    /// into its parent mapping (after `after` when that key exists), also
    /// when the parent only has the value through a merge key (an explicit
    /// key overrides `<<`). `None` when `value` is already written there.
    pub fn set_scalar(
        &self,
        doc: usize,
        path: &str,
        value: &str,
        after: Option<&str>,
    ) -> Result<Option<Change>, PlanError> {
        let root = self.root_or_err(doc, path)?;
        let segs = yaml::parse_path(path);
        let want = Value::String(value.to_string());
        let intent = Intent::Set {
            doc,
            path: segs.clone(),
            value: want.clone(),
        };
        match root.locate(&segs) {
            Located::Found(Node::Scalar {
                style, start, end, ..
            }) => {
                // Same meaning (the host's reading of what is written, not
                // the span text: `0755` is not "0755"): nothing to do.
                if self.value_at(doc, &segs) == Some(&want) {
                    return Ok(None);
                }
                let edit = if start == end {
                    // An empty value (`key:`): the span sits before the colon.
                    let colon = self
                        .text
                        .get(*start..)
                        .and_then(|t| t.find(':'))
                        .map_or(*start, |i| start + i + 1);
                    TextEdit {
                        start: colon,
                        end: colon,
                        text: format!(" {}", yaml::render_scalar(value, ScalarStyle::Plain)),
                    }
                } else {
                    TextEdit {
                        start: *start,
                        end: *end,
                        text: yaml::render_scalar(value, *style),
                    }
                };
                Ok(Some(Change::one(edit, intent)))
            }
            Located::Found(_) => Err(self.err(
                path,
                "expected a plain value here",
                "write the field as `key: value`",
            )),
            Located::Alias(depth) => Err(self.alias_error(&segs, depth)),
            Located::Missing(depth) => {
                let (Some((Seg::Key(key), parent_path)), true) =
                    (segs.split_last(), depth + 1 == segs.len())
                else {
                    let parent = segs.get(..segs.len().saturating_sub(1)).unwrap_or(&[]);
                    let key = match segs.last() {
                        Some(Seg::Key(k)) => k.as_str(),
                        _ => "",
                    };
                    return Err(self.missing_parent_error(doc, parent, key, value));
                };
                let Some(parent) = root.at(parent_path) else {
                    return Err(self.missing_parent_error(doc, parent_path, key, value));
                };
                let edit = self.insert_entry(
                    parent,
                    &yaml::path_string(parent_path),
                    key,
                    &Y::s(value),
                    after,
                )?;
                Ok(Some(Change::one(edit, intent)))
            }
        }
    }

    /// Sets `key` of the mapping at `map_path` to `value` (a block of any
    /// shape): the entry's lines are replaced when it is written there,
    /// else the entry is inserted (after `after` when that key exists).
    pub fn set_entry(
        &self,
        doc: usize,
        map_path: &str,
        key: &str,
        value: &Y,
        after: Option<&str>,
    ) -> Result<Change, PlanError> {
        let map = self.literal_map(doc, map_path)?;
        let edit = match map.entry(key) {
            Some((k, _)) => {
                let (start, end) = self.entry_lines(map, map_path, key)?;
                let col = yaml::column(&self.text, k.start());
                TextEdit {
                    start,
                    end,
                    text: entry_text(key, value, col),
                }
            }
            None => self.insert_entry(map, map_path, key, value, after)?,
        };
        let mut path = yaml::parse_path(map_path);
        path.push(Seg::Key(key.to_string()));
        Ok(Change::one(
            edit,
            Intent::Set {
                doc,
                path,
                value: value.to_value(),
            },
        ))
    }

    /// Deletes the entry `key` (its whole lines) of the mapping at `map_path`.
    pub fn remove_entry(&self, doc: usize, map_path: &str, key: &str) -> Result<Change, PlanError> {
        let map = self.literal_map(doc, map_path)?;
        let mut path = yaml::parse_path(map_path);
        path.push(Seg::Key(key.to_string()));
        if map.entry(key).is_none() {
            return Err(self.err(
                &yaml::path_string(&path),
                "this field is not written in this file: it comes from a YAML merge key (`<<: *…`) and cannot be removed here",
                format!("write {map_path} without the merge key, or remove {key} where it is written, then run again"),
            ));
        }
        let (start, end) = self.entry_lines(map, map_path, key)?;
        Ok(Change::one(
            TextEdit {
                start,
                end,
                text: String::new(),
            },
            Intent::Remove { doc, path },
        ))
    }

    /// Replaces the entry `old_key` of the mapping at `map_path` (its whole
    /// lines) by `new_key: value`, indented like it.
    pub fn replace_entry(
        &self,
        doc: usize,
        map_path: &str,
        old_key: &str,
        new_key: &str,
        value: &Y,
    ) -> Result<Change, PlanError> {
        let map = self.literal_map(doc, map_path)?;
        let base = yaml::parse_path(map_path);
        let with = |k: &str| {
            let mut p = base.clone();
            p.push(Seg::Key(k.to_string()));
            p
        };
        if map.entry(new_key).is_some() {
            return Err(self.err(
                &yaml::path_string(&with(new_key)),
                format!("{map_path} already has `{new_key}`"),
                format!("remove `{new_key}` or `{old_key}` by hand, then run again"),
            ));
        }
        let Some((k, _)) = map.entry(old_key) else {
            return Err(self.err(
                &yaml::path_string(&with(old_key)),
                "this field is not written in this file: it comes from a YAML merge key (`<<: *…`) or alias",
                format!("write {map_path}.{old_key} out in this file, then run again"),
            ));
        };
        let (start, end) = self.entry_lines(map, map_path, old_key)?;
        let col = yaml::column(&self.text, k.start());
        Ok(Change {
            edits: vec![TextEdit {
                start,
                end,
                text: entry_text(new_key, value, col),
            }],
            intents: vec![
                Intent::Remove {
                    doc,
                    path: with(old_key),
                },
                Intent::Set {
                    doc,
                    path: with(new_key),
                    value: value.to_value(),
                },
            ],
        })
    }

    /// Appends `item` to the block sequence at `seq_path`, or creates it
    /// (`key: [item]`, after the key `after`) when it is not there at all.
    pub fn append_item(
        &self,
        doc: usize,
        seq_path: &str,
        item: &Y,
        after: Option<&str>,
    ) -> Result<Change, PlanError> {
        let root = self.root_or_err(doc, seq_path)?;
        let segs = yaml::parse_path(seq_path);
        match root.locate(&segs) {
            Located::Found(seq @ Node::Seq { flow: false, .. }) => {
                let col = dash_column(&self.text, seq);
                let at = yaml::line_end(&self.text, seq.content_end().saturating_sub(1));
                let n = self
                    .value_at(doc, &segs)
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                let mut path = segs.clone();
                path.push(Seg::Index(n));
                // The last line of a file without a final line break ends here.
                let nl = if at == self.text.len() && !self.text.ends_with('\n') {
                    "\n"
                } else {
                    ""
                };
                Ok(Change::one(
                    TextEdit {
                        start: at,
                        end: at,
                        text: format!("{nl}{}", yaml::emit(&Y::List(vec![item.clone()]), col)),
                    },
                    Intent::Set {
                        doc,
                        path,
                        value: item.to_value(),
                    },
                ))
            }
            Located::Found(_) => Err(self.err(
                seq_path,
                format!("{seq_path} is not a block sequence"),
                format!("write {seq_path} as a block list (`- name: ...`), then run again"),
            )),
            Located::Alias(depth) => Err(self.alias_error(&segs, depth)),
            Located::Missing(_) => {
                if self.value_at(doc, &segs).is_some() {
                    return Err(self.err(
                        seq_path,
                        "this list is not written in this file: it comes from a YAML merge key (`<<: *…`); a new entry here would replace the merged entries",
                        format!("write {seq_path} out in this file, then run again"),
                    ));
                }
                let Some((Seg::Key(key), parent)) = segs.split_last() else {
                    return Err(self.err(seq_path, "not a field path", "report this as a bug"));
                };
                let list = Y::List(vec![item.clone()]);
                self.set_entry(doc, &yaml::path_string(parent), key, &list, after)
            }
        }
    }

    /// Inserts `key: value` into the mapping `map` (found at `map_path`).
    /// Block mappings get a new line after the `after` entry (or at the end
    /// of the mapping), indented like its siblings; flow mappings get
    /// `, key: value` before the closing brace. Never adds a key the mapping
    /// already has (a duplicate key is an error for kubectl).
    pub fn insert_entry(
        &self,
        map: &Node,
        map_path: &str,
        key: &str,
        value: &Y,
        after: Option<&str>,
    ) -> Result<TextEdit, PlanError> {
        let text = &self.text;
        let Node::Map {
            flow, entries, end, ..
        } = map
        else {
            return Err(self.err(
                map_path,
                "expected a mapping",
                "write it as a block mapping (`key:` on its own line)",
            ));
        };
        if map.entry(key).is_some() {
            return Err(self.err(
                &format!("{map_path}.{key}"),
                format!("{map_path} already has `{key}`"),
                "report this as a bug",
            ));
        }
        if *flow {
            let scalar = match value {
                Y::Map(m) if !m.is_empty() => None,
                Y::List(l) if !l.is_empty() => None,
                other => Some(yaml::scalar_text(other)),
            };
            let Some(scalar) = scalar else {
                return Err(self.err(
                    map_path,
                    format!("cannot add `{key}` with nested content to a flow mapping `{{...}}`"),
                    "rewrite the mapping in block style, then run again",
                ));
            };
            let k = yaml::render_scalar(key, ScalarStyle::Plain);
            return Ok(match entries.last() {
                Some((_, v)) => TextEdit {
                    start: v.content_end(),
                    end: v.content_end(),
                    text: format!(", {k}: {scalar}"),
                },
                None => TextEdit {
                    start: *end,
                    end: *end,
                    text: format!("{k}: {scalar}"),
                },
            });
        }
        let anchor = after
            .and_then(|a| map.entry(a))
            .or(entries.last().map(|(k, v)| (k, v)));
        let Some((first_key, _)) = entries.first() else {
            return Err(self.err(map_path, "empty mapping", "add the field by hand"));
        };
        let col = yaml::column(text, first_key.start());
        let anchor_end = anchor.map_or(first_key.start(), |(k, v)| {
            k.content_end().max(v.content_end())
        });
        let at = yaml::line_end(text, anchor_end.saturating_sub(1).max(first_key.start()));
        let mut body = String::new();
        if at == text.len() && !text.ends_with('\n') {
            body.push('\n');
        }
        body.push_str(&entry_text(key, value, col));
        Ok(TextEdit {
            start: at,
            end: at,
            text: body,
        })
    }

    /// Byte range of a block-mapping entry's whole lines (key line through
    /// the last line of its value).
    pub fn entry_lines(
        &self,
        map: &Node,
        map_path: &str,
        key: &str,
    ) -> Result<(usize, usize), PlanError> {
        let text = &self.text;
        let (k, v) = map.entry(key).ok_or_else(|| {
            self.err(
                &format!("{map_path}.{key}"),
                "field not found",
                "report this as a bug",
            )
        })?;
        let ls = yaml::line_start(text, k.start());
        let only_ws_before = text
            .get(ls..k.start())
            .is_some_and(|p| p.chars().all(char::is_whitespace));
        if matches!(map, Node::Map { flow: true, .. }) || !only_ws_before {
            return Err(self.err(
                &format!("{map_path}.{key}"),
                "cannot replace this field surgically (it shares its line with other content)",
                format!("put `{key}:` on its own line, then run again"),
            ));
        }
        let le = yaml::line_end(text, v.content_end().saturating_sub(1).max(k.start()));
        Ok((ls, le))
    }

    /// Proves that `changes`, applied to this file, mean exactly what their
    /// intents say: the edited text is re-read by the host parser and must
    /// equal the original values with the intents applied, every other field
    /// unchanged. Otherwise the change is refused with the field it would
    /// break and a fix.
    pub fn verify(&self, changes: &[Change]) -> Result<(), PlanError> {
        let all: Vec<&Change> = changes.iter().collect();
        let Err(mismatch) = self.check(&all) else {
            return Ok(());
        };
        let first_path = changes
            .iter()
            .flat_map(|c| c.intents.first())
            .next()
            .map(|i| yaml::path_string(i.path()))
            .unwrap_or_default();
        Err(match mismatch {
            Mismatch::Broken(why) => self.err(
                &first_path,
                format!("the planned edit would not read back: {why}"),
                "make this change by hand; if the file is ordinary YAML, report this as a bug",
            ),
            Mismatch::Field {
                doc,
                path,
                expected,
                actual,
            } => {
                let p = yaml::path_string(&path);
                let covered = changes.iter().flat_map(|c| &c.intents).any(|i| {
                    i.doc() == doc && (path.starts_with(i.path()) || i.path().starts_with(&path))
                });
                if covered {
                    self.err(
                        &p,
                        format!(
                            "the planned edit does not take effect: re-read, the file would say {} here instead of {}",
                            show(actual.as_ref()),
                            show(expected.as_ref())
                        ),
                        format!("write {p} as a plain `key: value` entry of its own (no anchor, alias or repeated key around it), then run again"),
                    )
                } else {
                    // Blame the change that breaks the field on its own.
                    let culprit = changes
                        .iter()
                        .find(|c| {
                            matches!(self.check(&[*c]), Err(Mismatch::Field { doc: d, path: q, .. }) if d == doc && q == path)
                        })
                        .and_then(|c| c.intents.first())
                        .map_or(first_path, |i| yaml::path_string(i.path()));
                    self.err(
                        &culprit,
                        format!(
                            "editing this field would also change {p} ({} → {}): both are written once and shared through a YAML anchor (`&…`) and an alias or merge key (`*…`, `<<: *…`)",
                            show(expected.as_ref()),
                            show(actual.as_ref())
                        ),
                        format!("give {p} its own value (write it out, or add the key next to the merge key `<<`), then run again"),
                    )
                }
            }
        })
    }

    fn check(&self, changes: &[&Change]) -> Result<(), Mismatch> {
        let edits: Vec<TextEdit> = changes.iter().flat_map(|c| c.edits.clone()).collect();
        let text = edit::apply(&self.text, &edits).map_err(Mismatch::Broken)?;
        let reread = manifests::parse_documents(&text)
            .map_err(|e| Mismatch::Broken(format!("invalid YAML: {e}")))?;
        let mut expected = self.values.clone();
        for intent in changes.iter().flat_map(|c| &c.intents) {
            let (doc, path, value) = match intent {
                Intent::Set { doc, path, value } => (*doc, path, Some(value)),
                Intent::Remove { doc, path } => (*doc, path, None),
            };
            if !expected.get_mut(doc).is_some_and(|v| apply(v, path, value)) {
                return Err(Mismatch::Broken(format!(
                    "{} has no parent to hold it",
                    yaml::path_string(path)
                )));
            }
        }
        if reread.len() != expected.len() {
            return Err(Mismatch::Broken(format!(
                "{} documents instead of {}",
                reread.len(),
                expected.len()
            )));
        }
        let mut differences = Vec::new();
        for (doc, (e, a)) in expected.iter().zip(&reread).enumerate() {
            differences.extend(
                differences_of(e, a, &mut Vec::new())
                    .into_iter()
                    .map(|(path, expected, actual)| (doc, path, expected, actual)),
            );
        }
        // An intended field that does not read back explains more than
        // what changed instead: report it first.
        let touched = |doc: usize, path: &[Seg]| {
            changes.iter().flat_map(|c| &c.intents).any(|i| {
                i.doc() == doc && (path.starts_with(i.path()) || i.path().starts_with(path))
            })
        };
        let first = differences
            .iter()
            .position(|(doc, path, ..)| touched(*doc, path))
            .unwrap_or(0);
        match differences.into_iter().nth(first) {
            Some((doc, path, expected, actual)) => Err(Mismatch::Field {
                doc,
                path,
                expected,
                actual,
            }),
            None => Ok(()),
        }
    }
}

/// Why edited text does not mean what was intended.
enum Mismatch {
    /// The edits cannot be applied or re-read at all.
    Broken(String),
    /// The first field (sorted keys, depth first) that differs.
    Field {
        doc: usize,
        path: Vec<Seg>,
        expected: Option<Value>,
        actual: Option<Value>,
    },
}

/// The column of a block sequence's `-`s: where its first item's dash is
/// written. The parser starts an indentless sequence (items at their key's
/// column, `key:` then `- a`) at its first item's content, two columns
/// right of the dashes; an item appended there would nest in that item.
fn dash_column(text: &str, seq: &Node) -> usize {
    if let Node::Seq { items, .. } = seq
        && let Some(first) = items.first()
    {
        let before = text
            .get(..first.start())
            .unwrap_or("")
            .trim_end_matches([' ', '\t']);
        if let Some(dash) = before.strip_suffix('-') {
            return yaml::column(text, dash.len());
        }
    }
    yaml::column(text, seq.start())
}

fn show(v: Option<&Value>) -> String {
    v.map_or_else(|| "nothing".to_string(), Value::to_string)
}

/// Sets (`Some`) or removes (`None`) the value at `path` under `root`; an
/// index one past the end of an array appends. False when the parent does
/// not exist.
pub(crate) fn apply(root: &mut Value, path: &[Seg], value: Option<&Value>) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut cur = root;
    for seg in parents {
        let next = match seg {
            Seg::Key(k) => cur.get_mut(k.as_str()),
            Seg::Index(i) => cur.get_mut(*i),
        };
        let Some(next) = next else {
            return false;
        };
        cur = next;
    }
    match (last, cur, value) {
        (Seg::Key(k), Value::Object(m), Some(v)) => {
            m.insert(k.clone(), v.clone());
            true
        }
        (Seg::Key(k), Value::Object(m), None) => m.remove(k).is_some(),
        (Seg::Index(i), Value::Array(a), Some(v)) if *i == a.len() => {
            a.push(v.clone());
            true
        }
        (Seg::Index(i), Value::Array(a), Some(v)) => {
            a.get_mut(*i).map(|slot| *slot = v.clone()).is_some()
        }
        (Seg::Index(i), Value::Array(a), None) if *i < a.len() => {
            a.remove(*i);
            true
        }
        _ => false,
    }
}

/// A place where two values differ: (path, first, second).
pub(crate) type Difference = (Vec<Seg>, Option<Value>, Option<Value>);

/// Every place (keys sorted, depth first) where two values differ; a
/// differing subtree is reported once, at its root.
pub(crate) fn differences_of(a: &Value, b: &Value, path: &mut Vec<Seg>) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut pair = |path: &mut Vec<Seg>, seg: Seg, p: Option<&Value>, q: Option<&Value>| {
        path.push(seg);
        match (p, q) {
            (Some(p), Some(q)) => out.extend(differences_of(p, q, path)),
            (p, q) => out.push((path.clone(), p.cloned(), q.cloned())),
        }
        path.pop();
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                pair(path, Seg::Key(k.clone()), x.get(k), y.get(k));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                pair(path, Seg::Index(i), x.get(i), y.get(i));
            }
        }
        _ if a != b => out.push((path.clone(), Some(a.clone()), Some(b.clone()))),
        _ => {}
    }
    out
}

/// The host parser's error for the whole text (its lines count from the
/// top of the file), or the error of the document slice starting at byte
/// `start`, moved to whole-file lines.
fn syntax_error(text: &str, start: usize, slice_error: &ManifestError) -> PlanError {
    let message = match manifests::parse_documents(text) {
        Err(e) => e.to_string(),
        Ok(_) => match slice_error {
            ManifestError::Syntax {
                line,
                column,
                message,
                ..
            } => format!(
                "line {}, column {column}: {message}",
                line + yaml::line_of(text, start) as u64 - 1
            ),
            other => other.to_string(),
        },
    };
    PlanError::input(
        format!("invalid YAML: {message}"),
        "fix the YAML syntax (kubectl kustomize would reject it too)",
    )
}

/// Reads a manifest file's text; the error names the file as `display`.
pub fn read_text(path: &Path, display: &str) -> Result<String, PlanError> {
    std::fs::read_to_string(path).map_err(|e| {
        PlanError::input(
            format!("cannot read the file: {e}"),
            "check the path; a dangling symlink or a directory cannot be planned",
        )
        .in_file(display)
    })
}

/// `key: value` lines at `col` spaces.
pub fn entry_text(key: &str, value: &Y, col: usize) -> String {
    let pad = " ".repeat(col);
    let k = yaml::render_scalar(key, ScalarStyle::Plain);
    match value {
        Y::Map(m) if !m.is_empty() => format!("{pad}{k}:\n{}", yaml::emit(value, col + 2)),
        Y::List(l) if !l.is_empty() => format!("{pad}{k}:\n{}", yaml::emit(value, col + 2)),
        scalar => format!("{pad}{k}: {}\n", yaml::scalar_text(scalar)),
    }
}

/// The kustomization file of a directory, if any (the names kustomize
/// looks for, from the host).
pub fn kustomization_file(dir: &Path) -> Option<PathBuf> {
    cnpg_guard_host::render::KUSTOMIZATION_FILES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}
