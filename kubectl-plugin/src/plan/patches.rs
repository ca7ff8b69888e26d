//! The overlays' patches, whatever form they take, as documents the steps
//! edit by CLUSTER paths (`spec.bootstrap.recovery.database`):
//!
//! * a strategic-merge patch (a file, or inline in the overlay's
//!   kustomization): its paths are the Cluster's own;
//! * a JSON6902 patch (a file, or inline): a list of operations. A Cluster
//!   path is edited inside the `value` of the operation that writes it (the
//!   last one whose `path` leads to it), so `/spec/externalClusters` with a
//!   list value is edited at `[k].value[0].plugin.parameters.serverName`;
//!   a layout where that is not safe (no such operation, a later one
//!   overwriting the field, `move`/`copy`) is refused with the file, what
//!   was expected and an example.
//!
//! An inline patch (`patches[i].patch: |-`) is a file of its own inside the
//! kustomization: its literal block is cut out (indentation removed),
//! edited and verified like a file, then put back line for line at the
//! block's indentation; the kustomization is re-read to prove that the
//! block's string is exactly the edited patch.

use cnpg_guard_core::view::{Kind, Object};
use cnpg_guard_host::manifests;
use serde_json::{Map, Value};

use super::edits::{At, Edits};
use super::steps::cluster_view;
use crate::edit::TextEdit;
use crate::error::PlanError;
use crate::source::{self, Change, Intent, Source};
use crate::yaml::{self, Node, Seg, Y};

/// Kustomization keys whose entries are patches: `patches` (path or patch,
/// strategic merge or JSON6902), the legacy `patchesJson6902` and
/// `patchesStrategicMerge` (a list of file names or inline patches).
const PATCH_KEYS: [&str; 3] = ["patches", "patchesJson6902", "patchesStrategicMerge"];

/// One operation of a JSON6902 patch, as far as the planner uses it.
#[derive(Debug, Clone)]
struct Op {
    /// `op`.
    kind: String,
    /// `path` as written (a JSON pointer).
    pointer: String,
    /// The Cluster path it writes or removes, resolved against what the
    /// operations before it built (`-` is the index it appends at).
    path: Vec<Seg>,
    /// Its value no longer reads where it was written (a later operation
    /// shifted or replaced it): nothing may be edited through it.
    stale: bool,
}

impl Op {
    fn writes(&self) -> bool {
        self.kind == "add" || self.kind == "replace"
    }
}

/// A JSON6902 operation list and the Cluster it builds.
#[derive(Debug, Clone)]
pub(super) struct Ops {
    ops: Vec<Op>,
}

/// JSON pointer segments (`~1` is `/`, `~0` is `~`).
fn pointer_segments(pointer: &str) -> Option<Vec<String>> {
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// Applies one `add`/`replace`/`remove` to `doc` as a patch-only view
/// (missing parents are created: the base provides them at render time).
/// Returns the resolved path, or why it cannot be followed.
fn apply_op(
    doc: &mut Value,
    kind: &str,
    segs: &[String],
    value: Option<&Value>,
) -> Option<Vec<Seg>> {
    let (last, parents) = segs.split_last()?;
    let mut path = Vec::new();
    let mut cur = doc;
    for (i, seg) in parents.iter().enumerate() {
        let next_is_index = segs
            .get(i + 1)
            .is_some_and(|n| n == "-" || n.bytes().all(|b| b.is_ascii_digit()));
        if cur.is_null() {
            *cur = Value::Object(Map::new());
        }
        cur = match cur {
            Value::Object(m) => {
                path.push(Seg::Key(seg.clone()));
                m.entry(seg.clone()).or_insert_with(|| {
                    if next_is_index {
                        Value::Array(Vec::new())
                    } else {
                        Value::Null
                    }
                })
            }
            Value::Array(a) => {
                let i: usize = seg.parse().ok()?;
                path.push(Seg::Index(i));
                a.get_mut(i)?
            }
            _ => return None,
        };
    }
    if cur.is_null() {
        *cur = Value::Object(Map::new());
    }
    match cur {
        Value::Object(m) => {
            path.push(Seg::Key(last.clone()));
            match (kind, value) {
                ("remove", _) => {
                    m.remove(last);
                }
                (_, Some(v)) => {
                    m.insert(last.clone(), v.clone());
                }
                _ => return None,
            }
        }
        Value::Array(a) => {
            let i = if last == "-" {
                a.len()
            } else {
                last.parse().ok()?
            };
            path.push(Seg::Index(i));
            match (kind, value) {
                ("remove", _) if i < a.len() => {
                    a.remove(i);
                }
                ("add", Some(v)) if i <= a.len() => a.insert(i, v.clone()),
                ("replace", Some(v)) => *a.get_mut(i)? = v.clone(),
                _ => return None,
            }
        }
        _ => return None,
    }
    Some(path)
}

impl Ops {
    /// Reads a JSON6902 operation list: the operations, and the Cluster
    /// they build on their own (what the steps read as "the patch").
    fn read(list: &[Value], label: &str) -> Result<(Ops, Value), PlanError> {
        let mut doc = Value::Object(Map::new());
        let mut ops = Vec::new();
        let refuse = |i: usize, what: String| {
            PlanError::input(
                format!("{label}: operation [{i}] {what}"),
                "write the recovery as `add`/`replace` operations whose values hold the blocks (see the example), then run again",
            )
            .with_example(json6902_example())
        };
        for (i, op) in list.iter().enumerate() {
            let kind = op.get("op").and_then(Value::as_str).unwrap_or_default();
            let pointer = op.get("path").and_then(Value::as_str).unwrap_or_default();
            match kind {
                "add" | "replace" | "remove" | "test" => {}
                "move" | "copy" => {
                    return Err(refuse(
                        i,
                        format!(
                            "is `{kind}`: what it moves cannot be followed to the bytes that hold it, so the planner does not edit through it"
                        ),
                    ));
                }
                other => {
                    return Err(refuse(
                        i,
                        format!("has op {other:?}, not a JSON6902 operation"),
                    ));
                }
            }
            let segs = pointer_segments(pointer)
                .ok_or_else(|| refuse(i, format!("has path {pointer:?}, not a JSON pointer")))?;
            let path = if kind == "test" {
                Vec::new()
            } else {
                apply_op(&mut doc, kind, &segs, op.get("value")).ok_or_else(|| {
                    refuse(
                        i,
                        format!("({kind} {pointer}) cannot be followed on its own"),
                    )
                })?
            };
            ops.push(Op {
                kind: kind.to_string(),
                pointer: pointer.to_string(),
                path,
                stale: false,
            });
        }
        // Each write must still read back where it was written, unless a
        // later operation changed inside it on purpose.
        for (i, op) in ops.clone().iter().enumerate() {
            if !op.writes() {
                continue;
            }
            let written = list.get(i).and_then(|o| o.get("value"));
            let later_inside = ops
                .iter()
                .skip(i + 1)
                .any(|o| o.path.starts_with(&op.path) && o.path.len() > op.path.len());
            if !later_inside
                && yaml::value_at(&doc, &op.path) != written
                && let Some(o) = ops.get_mut(i)
            {
                o.stale = true;
            }
        }
        Ok((Ops { ops }, doc))
    }

    /// The operation whose `value` holds the Cluster path `path`: the last
    /// write whose path leads to it, with the rest of the path inside its
    /// value. `Err` names why no operation can be edited for it.
    fn locate(&self, path: &[Seg]) -> Result<(usize, Vec<Seg>), String> {
        self.locate_as(path, true)
    }

    /// [`Ops::locate`]; `editing: false` only reads what the operation
    /// writes there (later operations may add beside or inside it).
    fn locate_as(&self, path: &[Seg], editing: bool) -> Result<(usize, Vec<Seg>), String> {
        let Some((k, op)) = self
            .ops
            .iter()
            .enumerate()
            .rev()
            .find(|(_, o)| o.writes() && path.starts_with(&o.path))
        else {
            return Err(format!(
                "no operation writes {} (or a block holding it)",
                yaml::path_string(path)
            ));
        };
        // A write shifted or replaced by a later one poisons its list: which
        // operation holds which item is then not what the paths say.
        if let Some((j, stale)) = self.ops.iter().enumerate().find(|(_, o)| {
            o.stale
                && (path.starts_with(&o.path)
                    || o.path
                        .split_last()
                        .is_some_and(|(_, parent)| path.starts_with(parent)))
        }) {
            return Err(format!(
                "operation [{j}] ({} {}) no longer reads where it is written after the operations that follow it",
                stale.kind, stale.pointer
            ));
        }
        if let Some((j, later)) = self.ops.iter().enumerate().skip(k + 1).find(|(_, o)| {
            editing && (o.kind != "test" && o.path.starts_with(path))
                || (o.kind == "remove" && path.starts_with(&o.path))
        }) {
            return Err(format!(
                "operation [{j}] ({} {}) changes {} after operation [{k}] ({} {}) writes it",
                later.kind,
                later.pointer,
                yaml::path_string(path),
                op.kind,
                op.pointer
            ));
        }
        Ok((k, path.get(op.path.len()..).unwrap_or(&[]).to_vec()))
    }

    /// The Cluster path a path of the operation list stands for
    /// (`[k].value.rest` → the operation's path + rest).
    fn cluster_path(&self, file_path: &[Seg]) -> Option<Vec<Seg>> {
        match file_path {
            [Seg::Index(k), Seg::Key(v), rest @ ..] if v == "value" => {
                let op = self.ops.get(*k)?;
                let mut p = op.path.clone();
                p.extend(rest.iter().cloned());
                Some(p)
            }
            _ => None,
        }
    }
}

/// The op-list path of the value of operation `k`, plus `rest`.
fn op_value_path(k: usize, rest: &[Seg]) -> Vec<Seg> {
    let mut p = vec![Seg::Index(k), Seg::Key("value".into())];
    p.extend(rest.iter().cloned());
    p
}

/// A JSON6902 patch that adds a plugin recovery, as an example for refusals.
pub(super) fn json6902_example() -> String {
    "- op: add\n  path: /spec/bootstrap\n  value:\n    recovery:\n      source: origin\n      database: <database>\n      owner: <owner>\n- op: add\n  path: /spec/externalClusters\n  value:\n    - name: origin\n      plugin:\n        name: barman-cloud.cloudnative-pg.io\n        parameters:\n          barmanObjectName: <ObjectStore>\n          serverName: <cluster>-vN\n".into()
}

/// A document the steps edit by Cluster paths.
#[derive(Debug)]
pub(super) struct Doc<'a> {
    /// The file (or inline patch) and document.
    pub at: At<'a>,
    /// The Cluster this document says (for JSON6902: what its operations add).
    value: Value,
    /// How Cluster paths map into it (`None`: they are its own paths).
    ops: Option<Ops>,
    /// Which inline patch it is (an index into [`Discovered::inline`]).
    pub inline: Option<usize>,
}

impl<'a> Doc<'a> {
    /// A manifest or strategic-merge patch: Cluster paths are its paths.
    pub fn plain(at: At<'a>) -> Doc<'a> {
        Doc {
            value: at.json().clone(),
            at,
            ops: None,
            inline: None,
        }
    }

    /// Where it is shown in messages.
    pub fn display(&self) -> &str {
        &self.at.src.display
    }

    /// The document as a Cluster.
    pub fn json(&self) -> &Value {
        &self.value
    }

    /// The value at a Cluster path, as the host reads it.
    pub fn value_at(&self, path: &str) -> Option<&Value> {
        yaml::value_at(&self.value, &yaml::parse_path(path))
    }

    fn refuse(&self, path: &str, why: String) -> PlanError {
        PlanError::input(
            format!("this JSON6902 patch cannot be edited safely at {path}: {why}"),
            format!("write {path} inside the value of one `add`/`replace` operation (as in the example), with no later operation changing it, then run again"),
        )
        .in_file(self.display().to_string())
        .with_example(json6902_example())
    }

    /// The path in the file of a Cluster path.
    fn file_path(&self, path: &str) -> Result<String, PlanError> {
        let Some(ops) = &self.ops else {
            return Ok(path.to_string());
        };
        let (k, rest) = ops
            .locate(&yaml::parse_path(path))
            .map_err(|why| self.refuse(path, why))?;
        Ok(yaml::path_string(&op_value_path(k, &rest)))
    }

    /// The node written at a Cluster path (`Ok(None)`: not written); only
    /// read, so operations after the one holding it do not matter.
    pub fn node(&self, path: &str) -> Result<Option<&'a Node>, PlanError> {
        let file = match &self.ops {
            None => path.to_string(),
            Some(ops) => {
                let (k, rest) = ops
                    .locate_as(&yaml::parse_path(path), false)
                    .map_err(|why| self.refuse(path, why))?;
                yaml::path_string(&op_value_path(k, &rest))
            }
        };
        Ok(self
            .at
            .src
            .root(self.at.doc)
            .and_then(|r| r.at(&yaml::parse_path(&file))))
    }

    /// [`Source::set_scalar`] at a Cluster path.
    pub fn set_scalar(
        &self,
        path: &str,
        value: &str,
        after: Option<&str>,
    ) -> Result<Option<Change>, PlanError> {
        self.at
            .src
            .set_scalar(self.at.doc, &self.file_path(path)?, value, after)
    }

    /// [`Source::set_entry`] at a Cluster path: an operation that writes
    /// exactly `map_path.key` gets its whole `value` replaced.
    pub fn set_entry(
        &self,
        map_path: &str,
        key: &str,
        value: &Y,
        after: Option<&str>,
    ) -> Result<Change, PlanError> {
        let (map, key, after) = self.entry_place(map_path, key, after)?;
        self.at.src.set_entry(self.at.doc, &map, &key, value, after)
    }

    /// [`Source::remove_entry`] at a Cluster path.
    pub fn remove_entry(&self, map_path: &str, key: &str) -> Result<Change, PlanError> {
        let full = format!("{map_path}.{key}");
        if let Some(ops) = &self.ops {
            let (k, rest) = ops
                .locate(&yaml::parse_path(&full))
                .map_err(|why| self.refuse(&full, why))?;
            if rest.is_empty() {
                return Err(self.refuse(
                    &full,
                    format!(
                        "operation [{k}] writes exactly this field: remove that operation by hand"
                    ),
                ));
            }
        }
        let (map, key, _) = self.entry_place(map_path, key, None)?;
        self.at.src.remove_entry(self.at.doc, &map, &key)
    }

    /// Where `map_path.key` is written in the file: (mapping path, key, after).
    fn entry_place<'k>(
        &self,
        map_path: &str,
        key: &str,
        after: Option<&'k str>,
    ) -> Result<(String, String, Option<&'k str>), PlanError> {
        let Some(ops) = &self.ops else {
            return Ok((map_path.to_string(), key.to_string(), after));
        };
        let full = format!("{map_path}.{key}");
        let (k, rest) = ops
            .locate(&yaml::parse_path(&full))
            .map_err(|why| self.refuse(&full, why))?;
        match rest.split_last() {
            None => Ok((format!("[{k}]"), "value".into(), None)),
            Some((Seg::Key(last), parent)) => Ok((
                yaml::path_string(&op_value_path(k, parent)),
                last.clone(),
                after,
            )),
            Some((Seg::Index(_), _)) => Err(self.refuse(&full, "a list item, not a field".into())),
        }
    }

    /// Proves that `changes` (this document's edits) mean, as a Cluster,
    /// exactly the Cluster paths they were made for: the edited text is
    /// re-read, its operations re-applied, and the Cluster compared with
    /// the old one with the intents applied. Plain documents are proven by
    /// [`Source::verify`] alone.
    pub fn verify_cluster(&self, changes: &[Change]) -> Result<(), PlanError> {
        let Some(ops) = &self.ops else {
            return Ok(());
        };
        let src = self.at.src;
        let edits: Vec<TextEdit> = changes.iter().flat_map(|c| c.edits.clone()).collect();
        let broken = |why: String| {
            PlanError::input(
                format!(
                    "the planned edit of this JSON6902 patch would not mean what it should: {why}"
                ),
                "make this change by hand; if the patch is ordinary, report this as a bug",
            )
            .in_file(self.display().to_string())
        };
        let text = crate::edit::apply(&src.text, &edits).map_err(broken)?;
        let reread = Source::from_text(src.path.clone(), src.display.clone(), text)?;
        let list = reread
            .json(self.at.doc)
            .as_array()
            .cloned()
            .unwrap_or_default();
        let (_, after) = Ops::read(&list, self.display())?;
        let mut expected = self.value.clone();
        for intent in changes.iter().flat_map(|c| &c.intents) {
            let (path, value) = match intent {
                Intent::Set { path, value, .. } => (path, Some(value)),
                Intent::Remove { path, .. } => (path, None),
            };
            let Some(cluster) = ops.cluster_path(path) else {
                return Err(broken(format!(
                    "{} is not inside an operation's value",
                    yaml::path_string(path)
                )));
            };
            if !source::apply(&mut expected, &cluster, value) {
                return Err(broken(format!(
                    "{} has no parent",
                    yaml::path_string(&cluster)
                )));
            }
        }
        match source::differences_of(&expected, &after, &mut Vec::new()).first() {
            None => Ok(()),
            Some((path, want, got)) => Err(broken(format!(
                "{} would read {} instead of {}",
                yaml::path_string(path),
                got.as_ref().map_or("nothing".into(), Value::to_string),
                want.as_ref().map_or("nothing".into(), Value::to_string)
            ))),
        }
    }
}

/// How a literal block keeps its final line breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chomp {
    /// `|-`: none.
    Strip,
    /// `|`: one.
    Clip,
    /// `|+`: all.
    Keep,
}

impl Chomp {
    fn apply(self, text: &str) -> String {
        let body = text.trim_end_matches('\n');
        match self {
            Chomp::Strip => body.to_string(),
            Chomp::Clip if body.is_empty() => String::new(),
            Chomp::Clip => format!("{body}\n"),
            Chomp::Keep => text.to_string(),
        }
    }
}

/// One line of an inline block.
#[derive(Debug, Clone, Copy)]
struct Line {
    /// Offset of the line in the cut-out text.
    inner: usize,
    /// Offset of the line's start in the kustomization.
    outer: usize,
    /// Indentation characters removed from it.
    stripped: usize,
}

/// An inline patch (`patches[i].patch: |-`), cut out as a file of its own.
#[derive(Debug)]
pub(super) struct Inline {
    /// Index of the kustomization in the plan's sources.
    pub file: usize,
    /// Its document.
    pub doc: usize,
    /// Field path of the block (`patches[0].patch`).
    pub path: Vec<Seg>,
    /// The patch text, indentation removed, as a file.
    pub src: Source,
    indent: String,
    lines: Vec<Line>,
    /// Offset just after the block's last line in the kustomization.
    end: usize,
    chomp: Chomp,
}

impl Inline {
    /// Cuts the literal block at `path` out of `k`. `Err` when the patch is
    /// written in a form the planner cannot put back line for line.
    fn cut(k: &Source, file: usize, doc: usize, path: Vec<Seg>) -> Result<Inline, PlanError> {
        let field = yaml::path_string(&path);
        let refuse = |what: &str| {
            PlanError::input(
                format!("the inline patch is written {what}: the planner edits inline patches written as a literal block, line for line"),
                format!("write {field} as `patch: |-` followed by the patch indented below it (or move it to a file and use `path:`), then run again"),
            )
            .in_file(k.display.clone())
            .at(field.clone())
            .with_example(format!("patches:\n  - target:\n      kind: Cluster\n    patch: |-\n{}", indent_lines(&json6902_example(), 6)))
        };
        let root = k.root(doc).ok_or_else(|| refuse("nowhere"))?;
        let text = &k.text;
        // The block and the offset where its header (`key: |-` or
        // `- |-`) starts, with the column of the key or the dash.
        let (node, header_start) = match path.split_last() {
            Some((Seg::Key(key), parent)) => {
                let (key_node, value) = root
                    .at(parent)
                    .and_then(|m| m.entry(key))
                    .ok_or_else(|| refuse("nowhere"))?;
                (value, key_node.start())
            }
            Some((Seg::Index(_), _)) => {
                let value = root.at(&path).ok_or_else(|| refuse("nowhere"))?;
                // A list item's header is the nearest non-blank line above
                // its content: `- |`.
                let mut line = yaml::line_start(text, value.start());
                loop {
                    let prev = yaml::line_start(text, line.saturating_sub(1));
                    if line == 0 || prev == line {
                        break;
                    }
                    line = prev;
                    if !text
                        .get(line..yaml::line_end(text, line))
                        .unwrap_or("")
                        .trim()
                        .is_empty()
                    {
                        break;
                    }
                }
                let dash = text.get(line..).and_then(|t| t.find('-')).unwrap_or(0);
                (value, line + dash)
            }
            None => return Err(refuse("nowhere")),
        };
        let Node::Scalar { style, .. } = node else {
            return Err(refuse("as something other than a string"));
        };
        if *style != yaml::ScalarStyle::Literal {
            return Err(refuse(match style {
                yaml::ScalarStyle::Folded => "as a folded block (`>`), which joins its lines",
                yaml::ScalarStyle::Plain => "as a plain scalar",
                _ => "as a quoted string",
            }));
        }
        // The header: `key: |-` / `- |-` (chomping indicator, no
        // indentation digit).
        let header_end = yaml::line_end(text, header_start);
        let header = text.get(header_start..header_end).unwrap_or("");
        let indicator = header
            .split(['#', '\r', '\n'])
            .next()
            .unwrap_or("")
            .rsplit(['|', ' '])
            .next()
            .unwrap_or("")
            .trim();
        if indicator.chars().any(|c| c.is_ascii_digit()) {
            return Err(refuse("with an indentation indicator (`|2`)"));
        }
        let key_col = yaml::column(text, header_start);
        let mut indent: Option<usize> = None;
        let mut lines = Vec::new();
        let mut inner = String::new();
        let mut pos = header_end;
        let mut end = header_end;
        while pos < text.len() {
            let le = yaml::line_end(text, pos);
            let line = text.get(pos..le).unwrap_or("");
            let content = line.trim_end_matches(['\n', '\r']);
            let spaces = content.len() - content.trim_start_matches(' ').len();
            let blank = content.trim().is_empty();
            if !blank {
                let want = *indent.get_or_insert(spaces);
                if spaces < want || spaces <= key_col {
                    break;
                }
            }
            let strip = spaces.min(indent.unwrap_or(spaces));
            let strip = if blank {
                strip.min(content.len())
            } else {
                strip
            };
            lines.push(Line {
                inner: inner.len(),
                outer: pos,
                stripped: strip,
            });
            // Line breaks as the value reads them (a CRLF file's `\r` is
            // not content).
            inner.push_str(content.get(strip..).unwrap_or(""));
            if line.ends_with('\n') {
                inner.push('\n');
            }
            pos = le;
            end = le;
        }
        let indent = " ".repeat(indent.unwrap_or(key_col + 2));
        let value = k
            .value_at(doc, &path)
            .and_then(Value::as_str)
            .ok_or_else(|| refuse("as something other than a string"))?;
        let chomp = [Chomp::Strip, Chomp::Clip, Chomp::Keep]
            .into_iter()
            .find(|c| c.apply(&inner) == value)
            .ok_or_else(|| refuse("in a form whose lines could not be matched to its value"))?;
        let src = Source::from_text(k.path.clone(), format!("{} ({field})", k.display), inner)?;
        Ok(Inline {
            file,
            doc,
            path,
            src,
            indent,
            lines,
            end,
            chomp,
        })
    }

    /// The kustomization offset of the start of the cut-out line starting
    /// at `inner` (the block's end for the end of the text), if `inner` is
    /// a line start.
    fn line_start(&self, inner: usize) -> Option<usize> {
        if inner >= self.src.text.len() {
            return Some(self.end);
        }
        self.lines
            .iter()
            .find(|l| l.inner == inner)
            .map(|l| l.outer)
    }

    /// The kustomization offset of an offset inside a cut-out line.
    fn inside(&self, inner: usize) -> Option<usize> {
        let line = self.lines.iter().rev().find(|l| l.inner <= inner)?;
        Some(line.outer + line.stripped + (inner - line.inner))
    }

    /// The kustomization's change for the patch's verified `edits`: each
    /// edit moved to the block, its lines indented like the block's; the
    /// block must read back as exactly the edited patch.
    fn put_back(&self, k: &Source, edits: &[TextEdit]) -> Result<Change, PlanError> {
        let bug = || {
            PlanError::tooling(
                "an inline patch edit could not be put back",
                "report this as a bug",
            )
        };
        let mut out = Vec::new();
        for e in edits {
            let whole_lines = e.text.is_empty() || e.text.ends_with('\n');
            let edit = match (
                whole_lines,
                self.line_start(e.start),
                self.line_start(e.end),
            ) {
                // Whole lines: from line start to line start, each new line
                // at the block's indentation.
                (true, Some(start), Some(end)) => TextEdit {
                    start,
                    end,
                    text: e
                        .text
                        .split_inclusive('\n')
                        .map(|l| {
                            if l == "\n" {
                                l.to_string()
                            } else {
                                format!("{}{l}", self.indent)
                            }
                        })
                        .collect(),
                },
                // Inside one line (a scalar, a comment): the same bytes.
                _ if !e.text.contains('\n') => TextEdit {
                    start: self.inside(e.start).ok_or_else(bug)?,
                    end: self.inside(e.end).ok_or_else(bug)?,
                    text: e.text.clone(),
                },
                _ => return Err(bug()),
            };
            out.push(edit);
        }
        let new_inner = crate::edit::apply(&self.src.text, edits)
            .map_err(|e| PlanError::tooling(e, "report this as a bug"))?;
        let change = Change {
            edits: out,
            intents: vec![Intent::Set {
                doc: self.doc,
                path: self.path.clone(),
                value: Value::String(self.chomp.apply(&new_inner)),
            }],
        };
        k.verify(std::slice::from_ref(&change))?;
        Ok(change)
    }
}

fn indent_lines(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// The patches of one overlay found beyond its strategic-merge files.
#[derive(Debug, Default)]
pub(super) struct Discovered {
    /// Inline patches of the overlay's kustomization.
    pub inline: Vec<Inline>,
    /// JSON6902 patch files: (index in the plan's sources, document).
    pub json6902: Vec<(usize, usize)>,
}

/// Whether a kustomization patch entry's `target` can be the Cluster `name`.
fn targets(entry: &Value, name: &str) -> bool {
    let Some(t) = entry.get("target") else {
        return true;
    };
    let field = |k: &str| t.get(k).and_then(Value::as_str);
    let kind_ok = field("kind").is_none_or(|k| k == "Cluster");
    // `name` is a regular expression for kustomize: a pattern is taken as
    // matching (the render shows whether it does).
    let name_ok =
        field("name").is_none_or(|n| n == name || n.chars().any(|c| "^$.*+?()[]{}|\\".contains(c)));
    kind_ok && name_ok
}

/// Reads the patches the overlay kustomization `sources[kust]` lists beyond
/// strategic-merge files: inline patches (cut out) and JSON6902 files.
/// Only patches that touch `spec.bootstrap` of the Cluster `cluster` matter;
/// one written in a form that cannot be edited is refused then.
pub(super) fn discover(
    sources: &[Source],
    kust: usize,
    files: std::ops::Range<usize>,
    cluster: &str,
    wanted: &dyn Fn(&Value) -> bool,
) -> Result<Discovered, PlanError> {
    let mut found = Discovered::default();
    let Some(k) = sources.get(kust) else {
        return Ok(found);
    };
    let doc = (0..k.docs.len())
        .find(|i| k.json(*i).is_object())
        .unwrap_or(0);
    let dir = k
        .path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    for key in PATCH_KEYS {
        let Some(list) = k
            .value_at(doc, &[Seg::Key(key.into())])
            .and_then(Value::as_array)
        else {
            continue;
        };
        for (i, entry) in list.iter().enumerate() {
            // patchesStrategicMerge: a file name or an inline patch string.
            let (inline, file) = match (key, entry) {
                ("patchesStrategicMerge", Value::String(s))
                    if s.contains('\n') || s.contains(':') =>
                {
                    (
                        Some((s.clone(), vec![Seg::Key(key.into()), Seg::Index(i)])),
                        None,
                    )
                }
                ("patchesStrategicMerge", Value::String(s)) => (None, Some(s.clone())),
                (_, Value::Object(_)) if targets(entry, cluster) => (
                    entry.get("patch").and_then(Value::as_str).map(|p| {
                        (
                            p.to_string(),
                            vec![
                                Seg::Key(key.into()),
                                Seg::Index(i),
                                Seg::Key("patch".into()),
                            ],
                        )
                    }),
                    entry
                        .get("path")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                ),
                _ => (None, None),
            };
            if let Some((text, path)) = inline {
                let Ok(docs) = manifests::parse_documents(&text) else {
                    continue;
                };
                let label = format!("{} ({})", k.display, yaml::path_string(&path));
                let mut relevant = false;
                for d in &docs {
                    relevant |= patch_view(d, &label)?.as_ref().is_some_and(wanted);
                }
                if !relevant {
                    continue;
                }
                found.inline.push(Inline::cut(k, kust, doc, path)?);
            }
            if let Some(name) = file {
                let path = dir.join(&name);
                let Some(f) = files
                    .clone()
                    .find(|f| sources.get(*f).is_some_and(|s| s.path == path))
                else {
                    continue;
                };
                let Some(src) = sources.get(f) else { continue };
                for d in 0..src.docs.len() {
                    if src.json(d).is_array()
                        && patch_view(src.json(d), &src.display)?
                            .as_ref()
                            .is_some_and(wanted)
                    {
                        found.json6902.push((f, d));
                    }
                }
            }
        }
    }
    Ok(found)
}

/// The Cluster a patch document says: itself (strategic merge) or what its
/// operations add (JSON6902). `Ok(None)` when it is neither; a JSON6902
/// list that cannot be followed is an error only when it touches the
/// bootstrap or the externalClusters (else it is not the planner's).
fn patch_view(doc: &Value, label: &str) -> Result<Option<Value>, PlanError> {
    match doc {
        Value::Array(list) => match Ops::read(list, label) {
            Ok((_, v)) => Ok(Some(v)),
            Err(e) => {
                let ours = list.iter().any(|op| {
                    op.get("path").and_then(Value::as_str).is_some_and(|p| {
                        p.starts_with("/spec/bootstrap") || p.starts_with("/spec/externalClusters")
                    })
                });
                if ours { Err(e) } else { Ok(None) }
            }
        },
        Value::Object(_) => Ok(Some(doc.clone())),
        _ => Ok(None),
    }
}

impl Discovered {
    /// The documents of the discovered patches satisfying `wanted`, inline
    /// ones first (in the kustomization's order), then JSON6902 files.
    pub fn docs<'a>(
        &'a self,
        sources: &'a [Source],
        wanted: &dyn Fn(&Value) -> bool,
    ) -> Result<Vec<Doc<'a>>, PlanError> {
        let mut out = Vec::new();
        for (n, inl) in self.inline.iter().enumerate() {
            for d in 0..inl.src.docs.len() {
                let at = At {
                    file: 0,
                    src: &inl.src,
                    doc: d,
                };
                if let Some(doc) = doc_of(at, Some(n))?
                    && wanted(&doc.value)
                {
                    out.push(doc);
                }
            }
        }
        for (f, d) in &self.json6902 {
            let Some(src) = sources.get(*f) else { continue };
            let at = At {
                file: *f,
                src,
                doc: *d,
            };
            if let Some(doc) = doc_of(at, None)?
                && wanted(&doc.value)
            {
                out.push(doc);
            }
        }
        Ok(out)
    }

    /// Puts the recovery document's edits where they belong: a file's into
    /// `edits`; an inline patch's, verified on their own, into the
    /// kustomization as one change.
    pub fn finish(
        &self,
        doc: &Doc<'_>,
        own: Edits,
        sources: &[Source],
        edits: &mut Edits,
    ) -> Result<(), PlanError> {
        doc.verify_cluster(&own.changes_of(doc.at.file))?;
        let Some(n) = doc.inline else {
            edits.extend(own);
            return Ok(());
        };
        let (Some(inl), false) = (self.inline.get(n), own.is_empty()) else {
            return Ok(());
        };
        let changed = own.finish(std::slice::from_ref(&inl.src))?;
        let Some(k) = sources.get(inl.file) else {
            return Err(PlanError::input("no kustomization", "report this as a bug"));
        };
        let inner_edits: Vec<TextEdit> = changed.into_iter().flat_map(|c| c.edits).collect();
        let change = inl.put_back(k, &inner_edits)?;
        edits.add(
            &At {
                file: inl.file,
                src: k,
                doc: inl.doc,
            },
            Some(change),
        );
        Ok(())
    }
}

/// The [`Doc`] of a patch document: JSON6902 lists are read as operations;
/// anything but a list or a mapping is no patch (`None`).
fn doc_of(at: At<'_>, inline: Option<usize>) -> Result<Option<Doc<'_>>, PlanError> {
    match at.json() {
        Value::Array(list) => {
            let (ops, value) = Ops::read(list, &at.src.display)?;
            Ok(Some(Doc {
                at,
                value,
                ops: Some(ops),
                inline,
            }))
        }
        Value::Object(_) => Ok(Some(Doc {
            inline,
            ..Doc::plain(at)
        })),
        _ => Ok(None),
    }
}

/// Whether a document is (a patch of) a Cluster: a full Cluster, or a
/// patch naming no other kind.
pub(super) fn is_cluster_patch(v: &Value) -> bool {
    match Object::from_value(v).kind() {
        Some(Kind::Cluster) => true,
        Some(_) => false,
        None => v.get("kind").is_none() || v.get("kind") == Some(&Value::String("Cluster".into())),
    }
}

/// Whether a patch's view bootstraps from a recovery.
pub(super) fn has_recovery(v: &Value) -> bool {
    is_cluster_patch(v) && cluster_view(v).recovery().is_some()
}

/// Whether a patch's view bootstraps with initdb.
pub(super) fn has_initdb(v: &Value) -> bool {
    is_cluster_patch(v) && cluster_view(v).bootstrap().initdb.is_some()
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
    use serde_json::json;

    fn ops(list: Value) -> (Ops, Value) {
        Ops::read(list.as_array().unwrap(), "p.yaml").unwrap()
    }

    #[test]
    fn operations_build_the_cluster_they_patch() {
        let (o, v) = ops(json!([
            {"op": "add", "path": "/spec/bootstrap", "value": {"recovery": {"source": "a"}}},
            {"op": "add", "path": "/spec/externalClusters", "value": []},
            {"op": "add", "path": "/spec/externalClusters/-", "value": {"name": "a"}},
            {"op": "add", "path": "/spec/externalClusters/0/plugin", "value": {"name": "x"}},
            {"op": "test", "path": "/spec/instances", "value": 1},
            {"op": "remove", "path": "/spec/bootstrap/initdb"},
            {"op": "add", "path": "/metadata/annotations/a~1b", "value": "c"}
        ]));
        assert_eq!(
            v,
            json!({"spec": {"bootstrap": {"recovery": {"source": "a"}},
                "externalClusters": [{"name": "a", "plugin": {"name": "x"}}]},
                "metadata": {"annotations": {"a/b": "c"}}})
        );
        let p = |s: &str| yaml::parse_path(s);
        // The last operation whose path leads to the field holds it.
        assert_eq!(
            o.locate(&p("spec.externalClusters[0].plugin.parameters.serverName"))
                .unwrap(),
            (3, p("parameters.serverName"))
        );
        assert_eq!(
            o.locate(&p("spec.externalClusters[0].name")).unwrap(),
            (2, p("name"))
        );
        assert_eq!(
            o.locate(&p("spec.bootstrap.recovery")).unwrap(),
            (0, p("recovery"))
        );
        assert!(o.locate(&p("spec.plugins")).is_err());
        assert_eq!(
            o.cluster_path(&p("[3].value.parameters.serverName")),
            Some(p("spec.externalClusters[0].plugin.parameters.serverName"))
        );
    }

    #[test]
    fn an_operation_changed_later_is_not_edited() {
        let (o, _) = ops(json!([
            {"op": "add", "path": "/spec/bootstrap", "value": {"recovery": {"recoveryTarget": {"backupID": "a"}}}},
            {"op": "add", "path": "/spec/bootstrap/recovery/recoveryTarget/targetTime", "value": "t"}
        ]));
        assert!(
            o.locate(&yaml::parse_path("spec.bootstrap.recovery.source"))
                .is_ok()
        );
        let e = o
            .locate(&yaml::parse_path("spec.bootstrap.recovery.recoveryTarget"))
            .unwrap_err();
        assert!(
            e.contains("operation [1]") && e.contains("after operation [0]"),
            "{e}"
        );
        // Two inserts at one index: the first no longer reads where it was.
        let (o, _) = ops(json!([
            {"op": "add", "path": "/spec/externalClusters", "value": []},
            {"op": "add", "path": "/spec/externalClusters/0", "value": {"name": "a"}},
            {"op": "add", "path": "/spec/externalClusters/0", "value": {"name": "b"}}
        ]));
        assert!(
            o.locate(&yaml::parse_path("spec.externalClusters[1].name"))
                .is_err()
        );
        for bad in [
            json!([{"op": "move", "from": "/a", "path": "/spec/bootstrap"}]),
            json!([{"op": "add", "path": "spec/bootstrap", "value": 1}]),
            json!([{"op": "merge", "path": "/spec", "value": 1}]),
        ] {
            assert!(
                Ops::read(bad.as_array().unwrap(), "p.yaml").is_err(),
                "{bad}"
            );
        }
    }

    fn kustomization(text: &str) -> Source {
        Source::from_text("k.yaml".into(), "k.yaml".into(), text.into()).unwrap()
    }

    #[test]
    fn inline_blocks_are_cut_out_and_put_back_line_for_line() {
        // (block header, line ending)
        for (header, nl) in [("|-", "\n"), ("|", "\n"), ("|+", "\n"), ("|-", "\r\n")] {
            let text = format!(
                "patches:\n  - target: {{kind: Cluster}}\n    patch: {header}\n      - op: add\n        path: /spec/bootstrap\n\n        value:\n          recovery:\n            source: a   # src\n  - path: other.yaml\n"
            )
            .replace('\n', nl);
            let k = kustomization(&text);
            let path = yaml::parse_path("patches[0].patch");
            let inl = Inline::cut(&k, 0, 0, path.clone()).unwrap();
            assert_eq!(
                inl.src.text,
                "- op: add\n  path: /spec/bootstrap\n\n  value:\n    recovery:\n      source: a   # src\n",
                "{header}"
            );
            // Insert a key after `source` and change the value of `source`.
            let rec = "[0].value.recovery";
            let c1 = inl
                .src
                .set_scalar(0, &format!("{rec}.source"), "b", None)
                .unwrap()
                .unwrap();
            let c2 = inl
                .src
                .set_scalar(0, &format!("{rec}.database"), "db", Some("source"))
                .unwrap()
                .unwrap();
            let edits: Vec<TextEdit> = [c1, c2].into_iter().flat_map(|c| c.edits).collect();
            let change = inl.put_back(&k, &edits).unwrap();
            let out = crate::edit::apply(&k.text, &change.edits).unwrap();
            let want = text
                .replace("source: a   # src", "source: b   # src")
                .replace(
                    &format!("# src{nl}"),
                    &format!("# src{nl}            database: db\n"),
                );
            assert_eq!(out, want, "{header}");
        }
    }

    #[test]
    fn an_inline_list_item_is_cut_out_too() {
        // patchesStrategicMerge takes inline patches as list items.
        let text = "patchesStrategicMerge:\n  - |-\n    kind: Cluster\n    spec:\n      bootstrap:\n        recovery:\n          source: a\n  - other.yaml\n";
        let k = kustomization(text);
        let inl = Inline::cut(&k, 0, 0, yaml::parse_path("patchesStrategicMerge[0]")).unwrap();
        assert_eq!(
            inl.src.text,
            "kind: Cluster\nspec:\n  bootstrap:\n    recovery:\n      source: a\n"
        );
        let c = inl
            .src
            .set_scalar(0, "spec.bootstrap.recovery.database", "db", Some("source"))
            .unwrap()
            .unwrap();
        let change = inl.put_back(&k, &c.edits).unwrap();
        assert_eq!(
            crate::edit::apply(&k.text, &change.edits).unwrap(),
            text.replace("source: a\n", "source: a\n          database: db\n")
        );
    }

    #[test]
    fn inline_patches_that_cannot_be_put_back_are_refused() {
        for (text, why) in [
            ("patches:\n  - patch: >-\n      - op: add\n", "folded"),
            ("patches:\n  - patch: '- op: add'\n", "quoted"),
            (
                "patches:\n  - patch: |2-\n        - op: add\n",
                "indentation indicator",
            ),
        ] {
            let k = kustomization(text);
            let e = Inline::cut(&k, 0, 0, yaml::parse_path("patches[0].patch")).unwrap_err();
            let e = e.to_string();
            assert!(e.contains(why) && e.contains("example:"), "{text}: {e}");
        }
    }

    #[test]
    fn patch_targets() {
        let e = |t: Value| json!({"target": t});
        assert!(targets(&json!({"path": "x"}), "pg"));
        assert!(targets(&e(json!({"kind": "Cluster", "name": "pg"})), "pg"));
        assert!(targets(&e(json!({"name": "pg-.*"})), "pg"));
        assert!(!targets(
            &e(json!({"kind": "Cluster", "name": "other"})),
            "pg"
        ));
        assert!(!targets(&e(json!({"kind": "ScheduledBackup"})), "pg"));
    }
}
