//! Loading a database directory and finding the files the runbook edits.

use std::path::{Path, PathBuf};

use cnpg_guard_core::view::{Kind, Object};
use serde_json::Value;

use crate::edit::TextEdit;
use crate::error::PlanError;
use crate::yaml::{self, Node, Seg, Y};

/// One YAML file, its text and its parsed documents.
#[derive(Debug, Clone)]
pub struct Source {
    /// Path on disk.
    pub path: PathBuf,
    /// Path shown to the user (relative to the planned directory).
    pub display: String,
    /// The exact text.
    pub text: String,
    /// Parsed documents with spans.
    pub docs: Vec<yaml::Doc>,
}

impl Source {
    /// Reads and parses a file.
    pub fn load(path: &Path, display: String) -> Result<Source, PlanError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            PlanError::input(
                format!("cannot read the file: {e}"),
                "check the path; a dangling symlink or a directory cannot be planned",
            )
            .in_file(display.clone())
        })?;
        let docs = yaml::parse(&text).map_err(|e| {
            PlanError::input(
                format!("line {}: invalid YAML: {}", e.line, e.message),
                "fix the YAML syntax (kubectl kustomize would reject it too)",
            )
            .in_file(display.clone())
        })?;
        Ok(Source {
            path: path.to_path_buf(),
            display,
            text,
            docs,
        })
    }

    /// Root node of document `i`.
    pub fn root(&self, i: usize) -> Option<&Node> {
        self.docs.get(i).and_then(|d| d.root.as_ref())
    }

    /// Document `i` as JSON.
    pub fn json(&self, i: usize) -> Value {
        self.root(i).map_or(Value::Null, Node::to_json)
    }

    /// 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        yaml::line_of(&self.text, offset)
    }

    /// Indexes of documents that are CNPG Clusters (or patches of one).
    pub fn cluster_docs(&self) -> Vec<usize> {
        (0..self.docs.len())
            .filter(|i| Object::from_value(&self.json(*i)).kind() == Some(Kind::Cluster))
            .collect()
    }

    fn err(&self, field: &str, message: impl Into<String>, fix: impl Into<String>) -> PlanError {
        PlanError::input(message, fix)
            .in_file(self.display.clone())
            .at(field)
    }

    /// Sets the scalar at `path` (in document `doc`) to `value`, replacing
    /// it in its own quoting style, or inserting the key into its parent
    /// mapping (after `after` when that key exists). `None` when the value
    /// is already there.
    pub fn set_scalar(
        &self,
        doc: usize,
        path: &str,
        value: &str,
        after: Option<&str>,
    ) -> Result<Option<TextEdit>, PlanError> {
        let root = self
            .root(doc)
            .ok_or_else(|| self.err(path, "empty document", "add the Cluster manifest"))?;
        let segs = yaml::parse_path(path);
        if let Some(node) = root.at(&segs) {
            return match node {
                Node::Scalar {
                    value: cur,
                    style,
                    start,
                    end,
                } => {
                    if cur == value {
                        Ok(None)
                    } else {
                        Ok(Some(TextEdit {
                            start: *start,
                            end: *end,
                            text: yaml::render_scalar(value, *style),
                        }))
                    }
                }
                _ => Err(self.err(
                    path,
                    "expected a plain value here",
                    "write the field as `key: value`",
                )),
            };
        }
        let (Some(Seg::Key(key)), Some(parent_path)) =
            (segs.last(), segs.get(..segs.len().saturating_sub(1)))
        else {
            return Err(self.err(
                path,
                "field path does not end in a key",
                "report this as a bug",
            ));
        };
        let parent = root.at(parent_path).ok_or_else(|| {
            self.err(
                &yaml::path_string(parent_path),
                "the mapping that should hold this field is missing",
                format!(
                    "add `{}:` with `{key}: {value}` by hand, then run again",
                    yaml::path_string(parent_path)
                ),
            )
        })?;
        self.insert_entry(
            parent,
            &yaml::path_string(parent_path),
            key,
            &Y::s(value),
            after,
        )
        .map(Some)
    }

    /// Inserts `key: value` into the mapping `map` (found at `map_path`).
    /// Block mappings get a new line after the `after` entry (or at the end
    /// of the mapping), indented like its siblings; flow mappings get
    /// `, key: value` before the closing brace.
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
            flow,
            entries,
            start,
            end,
        } = map
        else {
            return Err(self.err(
                map_path,
                "expected a mapping",
                "write it as a block mapping (`key:` on its own line)",
            ));
        };
        if *flow {
            let scalar = match value {
                Y::S(s) => yaml::render_scalar(s, granit_parser::ScalarStyle::Plain),
                Y::Raw(r) => r.clone(),
                _ => {
                    return Err(self.err(
                        map_path,
                        format!(
                            "cannot add `{key}` with nested content to a flow mapping `{{...}}`"
                        ),
                        "rewrite the mapping in block style, then run again",
                    ));
                }
            };
            return Ok(match entries.last() {
                Some((_, v)) => TextEdit {
                    start: v.content_end(),
                    end: v.content_end(),
                    text: format!(", {key}: {scalar}"),
                },
                None => TextEdit {
                    start: *end,
                    end: *end,
                    text: format!("{key}: {scalar}"),
                },
            });
        }
        let anchor = after
            .and_then(|a| entries.iter().find(|(k, _)| k.key_str() == Some(a)))
            .or(entries.last());
        let Some((first_key, _)) = entries.first() else {
            return Err(self.err(map_path, "empty mapping", "add the field by hand"));
        };
        let col = yaml::column(text, first_key.start());
        let _ = start;
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
}

/// `key: value` lines at `col` spaces.
pub fn entry_text(key: &str, value: &Y, col: usize) -> String {
    let pad = " ".repeat(col);
    let k = yaml::render_scalar(key, granit_parser::ScalarStyle::Plain);
    match value {
        Y::Map(m) if !m.is_empty() => format!("{pad}{k}:\n{}", yaml::emit(value, col + 2)),
        Y::List(l) if !l.is_empty() => format!("{pad}{k}:\n{}", yaml::emit(value, col + 2)),
        Y::Map(_) => format!("{pad}{k}: {{}}\n"),
        Y::List(_) => format!("{pad}{k}: []\n"),
        Y::S(s) => format!(
            "{pad}{k}: {}\n",
            yaml::render_scalar(s, granit_parser::ScalarStyle::Plain)
        ),
        Y::Raw(r) => format!("{pad}{k}: {r}\n"),
    }
}

/// Lists `*.yaml` / `*.yml` files under `dir` (sorted, skipping hidden
/// entries), descending at most `depth` levels.
pub fn yaml_files(dir: &Path, depth: usize) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            if depth > 0 {
                out.extend(yaml_files(&p, depth - 1));
            }
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(p);
        }
    }
    out
}

/// The kustomization file of a directory, if any.
pub fn kustomization_file(dir: &Path) -> Option<PathBuf> {
    ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}
