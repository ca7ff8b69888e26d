//! YAML with source positions.
//!
//! The planner edits files as TEXT: it needs the exact bytes of a field, not
//! a re-serialised document. This module parses a (multi-document) YAML
//! stream into a small tree whose nodes carry byte spans, converts it to
//! `serde_json::Value` for the semantic side, and finds the node (or the
//! place a missing key would go) for a field path such as
//! `spec.plugins[0].parameters.serverName`.

use granit_parser::{Event, Parser, ScalarStyle, StructureStyle};
use serde_json::Value;

/// A parsed node with its byte span in the source text.
#[derive(Debug, Clone)]
pub enum Node {
    /// A scalar. `start..end` covers the scalar token, quotes included.
    Scalar {
        /// The value after escape processing.
        value: String,
        /// How it was written.
        style: ScalarStyle,
        /// Byte offset of the first byte.
        start: usize,
        /// Byte offset one past the last byte.
        end: usize,
    },
    /// A mapping; keys are scalars (complex keys are kept as their text).
    Map {
        /// Block or flow.
        flow: bool,
        /// Entries in source order.
        entries: Vec<(Node, Node)>,
        /// Byte offset where the mapping starts.
        start: usize,
        /// Byte offset of the closing `}` for flow maps, or where the next
        /// token starts for block maps.
        end: usize,
    },
    /// A sequence.
    Seq {
        /// Block or flow.
        flow: bool,
        /// Items in order.
        items: Vec<Node>,
        /// Byte offset where the sequence starts.
        start: usize,
        /// Byte offset after the sequence.
        end: usize,
    },
    /// An alias (`*name`): readable, never edited.
    Alias {
        /// Byte offset of `*`.
        start: usize,
    },
}

impl Node {
    /// Byte offset of the node's first byte.
    pub fn start(&self) -> usize {
        match self {
            Node::Scalar { start, .. }
            | Node::Map { start, .. }
            | Node::Seq { start, .. }
            | Node::Alias { start } => *start,
        }
    }

    /// The largest end offset of any scalar inside this node (the end of its
    /// real content, ignoring trailing comments and blank lines).
    pub fn content_end(&self) -> usize {
        match self {
            Node::Scalar { end, .. } => *end,
            Node::Alias { start } => *start + 1,
            Node::Map {
                flow: true, end, ..
            }
            | Node::Seq {
                flow: true, end, ..
            } => *end + 1,
            Node::Map { entries, start, .. } => entries
                .iter()
                .map(|(k, v)| k.content_end().max(v.content_end()))
                .max()
                .unwrap_or(*start),
            Node::Seq { items, start, .. } => {
                items.iter().map(Node::content_end).max().unwrap_or(*start)
            }
        }
    }

    /// The scalar text of a key node.
    pub fn key_str(&self) -> Option<&str> {
        match self {
            Node::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// Looks up a mapping entry by key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// Looks up a mapping entry (key node and value node) by key.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match self {
            Node::Map { entries, .. } => entries
                .iter()
                .find(|(k, _)| k.key_str() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// Follows a parsed path.
    pub fn at(&self, path: &[Seg]) -> Option<&Node> {
        let mut cur = self;
        for seg in path {
            cur = match (seg, cur) {
                (Seg::Key(k), Node::Map { .. }) => cur.get(k)?,
                (Seg::Index(i), Node::Seq { items, .. }) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Converts to JSON with YAML 1.2 core-schema typing of plain scalars.
    pub fn to_json(&self) -> Value {
        match self {
            Node::Scalar { value, style, .. } => {
                if *style == ScalarStyle::Plain {
                    plain_to_json(value)
                } else {
                    Value::String(value.clone())
                }
            }
            Node::Map { entries, .. } => {
                let mut m = serde_json::Map::new();
                for (k, v) in entries {
                    let key = match k {
                        Node::Scalar { value, .. } => value.clone(),
                        other => other.to_json().to_string(),
                    };
                    if key == "<<" {
                        // Merge key: keys already present win.
                        if let Value::Object(merged) = v.to_json() {
                            for (mk, mv) in merged {
                                m.entry(mk).or_insert(mv);
                            }
                        }
                        continue;
                    }
                    m.insert(key, v.to_json());
                }
                Value::Object(m)
            }
            Node::Seq { items, .. } => Value::Array(items.iter().map(Node::to_json).collect()),
            Node::Alias { .. } => Value::Null,
        }
    }
}

fn plain_to_json(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let looks_numeric = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '+' || c == '.');
    if looks_numeric {
        if let Ok(i) = s.parse::<i64>() {
            return Value::from(i);
        }
        if s.chars().any(|c| c.is_ascii_digit())
            && !s.contains(':')
            && let Ok(f) = s.parse::<f64>()
            && f.is_finite()
        {
            return Value::from(f);
        }
    }
    Value::String(s.to_string())
}

/// One document of a stream.
#[derive(Debug, Clone)]
pub struct Doc {
    /// The root node (`None` for an empty document).
    pub root: Option<Node>,
}

/// A parse error with a 1-based line.
#[derive(Debug, Clone)]
pub struct YamlError {
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// What went wrong.
    pub message: String,
}

/// Parses a YAML stream into documents with spans.
pub fn parse(text: &str) -> Result<Vec<Doc>, YamlError> {
    let mut docs = Vec::new();
    // Stack of open collections.
    enum Open {
        Map {
            flow: bool,
            start: usize,
            entries: Vec<(Node, Node)>,
            pending_key: Option<Node>,
        },
        Seq {
            flow: bool,
            start: usize,
            items: Vec<Node>,
        },
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Node> = None;

    fn push_node(stack: &mut [Open], root: &mut Option<Node>, node: Node) {
        match stack.last_mut() {
            None => *root = Some(node),
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }

    for ev in Parser::new_from_str(text) {
        let (event, span) = ev.map_err(|e| YamlError {
            line: e.marker().line(),
            message: e.to_string(),
        })?;
        let start = span.start.byte_offset().unwrap_or(0);
        let end = span.end.byte_offset().unwrap_or(start);
        match event {
            Event::DocumentStart(..) => root = None,
            Event::DocumentEnd => docs.push(Doc { root: root.take() }),
            Event::Scalar(value, style, _, _) => {
                let node = Node::Scalar {
                    value: value.into_owned(),
                    style,
                    start,
                    end,
                };
                push_node(&mut stack, &mut root, node);
            }
            Event::Alias(_) => push_node(&mut stack, &mut root, Node::Alias { start }),
            Event::MappingStart(style, _, _) => stack.push(Open::Map {
                flow: style == StructureStyle::Flow,
                start,
                entries: Vec::new(),
                pending_key: None,
            }),
            Event::SequenceStart(style, _, _) => stack.push(Open::Seq {
                flow: style == StructureStyle::Flow,
                start,
                items: Vec::new(),
            }),
            Event::MappingEnd | Event::SequenceEnd => {
                let node = match stack.pop() {
                    Some(Open::Map {
                        flow,
                        start: s,
                        entries,
                        ..
                    }) => Node::Map {
                        flow,
                        entries,
                        start: s,
                        end: start,
                    },
                    Some(Open::Seq {
                        flow,
                        start: s,
                        items,
                    }) => Node::Seq {
                        flow,
                        items,
                        start: s,
                        end: start,
                    },
                    None => {
                        return Err(YamlError {
                            line: span.start.line(),
                            message: "unbalanced YAML structure".into(),
                        });
                    }
                };
                push_node(&mut stack, &mut root, node);
            }
            _ => {}
        }
    }
    Ok(docs)
}

/// One segment of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// Parses `spec.plugins[0].parameters.serverName` into segments.
pub fn parse_path(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        if let Some(b) = rest.find('[') {
            let (key, idx) = rest.split_at(b);
            if !key.is_empty() {
                out.push(Seg::Key(key.to_string()));
            }
            rest = idx;
            while let Some(stripped) = rest.strip_prefix('[') {
                let Some(close) = stripped.find(']') else {
                    break;
                };
                let (num, tail) = stripped.split_at(close);
                if let Ok(i) = num.parse() {
                    out.push(Seg::Index(i));
                }
                rest = tail.get(1..).unwrap_or("");
            }
        } else {
            out.push(Seg::Key(rest.to_string()));
        }
    }
    out
}

/// Renders a path back to its dotted form.
pub fn path_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// 1-based line number of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Byte offset of the start of the line containing `offset`.
pub fn line_start(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .and_then(|s| s.rfind('\n'))
        .map_or(0, |p| p + 1)
}

/// Byte offset just after the newline ending the line containing `offset`
/// (or the end of the text).
pub fn line_end(text: &str, offset: usize) -> usize {
    text.get(offset..)
        .and_then(|s| s.find('\n'))
        .map_or(text.len(), |p| offset + p + 1)
}

/// Column (in bytes, 0-based) of an offset inside its line.
pub fn column(text: &str, offset: usize) -> usize {
    offset - line_start(text, offset)
}

/// Renders a string as a YAML scalar in the given style (falls back to
/// double quotes when the style cannot carry the value).
pub fn render_scalar(value: &str, style: ScalarStyle) -> String {
    match style {
        ScalarStyle::SingleQuoted => format!("'{}'", value.replace('\'', "''")),
        ScalarStyle::Plain if plain_safe(value) => value.to_string(),
        _ => double_quoted(value),
    }
}

/// A double-quoted YAML scalar.
pub fn double_quoted(value: &str) -> String {
    let mut s = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Whether a string can be written as a plain scalar and read back as the
/// same string.
pub fn plain_safe(value: &str) -> bool {
    if value.is_empty() || value.trim() != value {
        return false;
    }
    if !matches!(plain_to_json(value), Value::String(_)) {
        return false;
    }
    // YAML 1.1 parsers (go-yaml, used by kubectl and kustomize) may read an
    // unquoted date as a timestamp: always quote date-like values.
    let b = value.as_bytes();
    if b.len() >= 10
        && b.iter().take(4).all(u8::is_ascii_digit)
        && b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
    {
        return false;
    }
    let first = value.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    !(value.contains(": ")
        || value.contains(" #")
        || value.ends_with(':')
        || value.contains('\n')
        || value.contains('\t'))
}

/// An ordered value for NEW content the planner writes (keys keep the order
/// they are given in).
#[derive(Debug, Clone, PartialEq)]
pub enum Y {
    /// A string scalar (quoted only when needed).
    S(String),
    /// A scalar written verbatim (numbers, booleans).
    Raw(String),
    /// A mapping.
    Map(Vec<(String, Y)>),
    /// A sequence.
    List(Vec<Y>),
}

impl Y {
    /// A string scalar.
    pub fn s(v: impl Into<String>) -> Y {
        Y::S(v.into())
    }
    /// A mapping from pairs.
    pub fn map<const N: usize>(pairs: [(&str, Y); N]) -> Y {
        Y::Map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }
}

impl Node {
    /// Copies a node into an ordered [`Y`] (for re-emitting existing content).
    pub fn to_y(&self) -> Y {
        match self {
            Node::Scalar { value, style, .. } => {
                if *style == ScalarStyle::Plain && !matches!(plain_to_json(value), Value::String(_))
                {
                    Y::Raw(value.clone())
                } else {
                    Y::S(value.clone())
                }
            }
            Node::Map { entries, .. } => Y::Map(
                entries
                    .iter()
                    .map(|(k, v)| (k.key_str().unwrap_or_default().to_string(), v.to_y()))
                    .collect(),
            ),
            Node::Seq { items, .. } => Y::List(items.iter().map(Node::to_y).collect()),
            Node::Alias { .. } => Y::Raw("null".into()),
        }
    }
}

/// Emits a [`Y`] as block YAML lines at `indent` spaces.
pub fn emit(value: &Y, indent: usize) -> String {
    let mut out = String::new();
    emit_into(value, indent, &mut out);
    out
}

fn scalar_text(v: &Y) -> String {
    match v {
        Y::S(s) => render_scalar(s, ScalarStyle::Plain),
        Y::Raw(r) => r.clone(),
        Y::Map(_) => "{}".into(),
        Y::List(_) => "[]".into(),
    }
}

fn emit_into(value: &Y, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Y::Map(m) => {
            for (k, v) in m {
                let key = render_scalar(k, ScalarStyle::Plain);
                match v {
                    Y::Map(inner) if !inner.is_empty() => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        emit_into(v, indent + 2, out);
                    }
                    Y::List(items) if !items.is_empty() => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        emit_into(v, indent + 2, out);
                    }
                    scalar => out.push_str(&format!("{pad}{key}: {}\n", scalar_text(scalar))),
                }
            }
        }
        Y::List(items) => {
            for item in items {
                match item {
                    Y::Map(m) if !m.is_empty() => {
                        let body = emit(item, indent + 2);
                        // The first line goes after "- ".
                        let trimmed = body.get(indent + 2..).unwrap_or("");
                        out.push_str(&format!("{pad}- {trimmed}"));
                    }
                    Y::List(l) if !l.is_empty() => {
                        out.push_str(&format!("{pad}-\n"));
                        emit_into(item, indent + 2, out);
                    }
                    scalar => out.push_str(&format!("{pad}- {}\n", scalar_text(scalar))),
                }
            }
        }
        scalar => out.push_str(&format!("{pad}{}\n", scalar_text(scalar))),
    }
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

    const SAMPLE: &str = "# c\napiVersion: v1 # x\nspec:\n  plugins:\n    - name: \"barman\"\n      parameters:\n        serverName: 'db-v2' # hi\n  flow: { a: 1, serverName: x }\n---\nother: 1\n";

    #[test]
    fn spans_cover_quoted_scalars() {
        let docs = parse(SAMPLE).unwrap();
        assert_eq!(docs.len(), 2);
        let root = docs[0].root.as_ref().unwrap();
        let n = root
            .at(&parse_path("spec.plugins[0].parameters.serverName"))
            .unwrap();
        match n {
            Node::Scalar {
                value, start, end, ..
            } => {
                assert_eq!(value, "db-v2");
                assert_eq!(&SAMPLE[*start..*end], "'db-v2'");
            }
            other => panic!("{other:?}"),
        }
        let v = root.to_json();
        assert_eq!(v["spec"]["flow"]["a"], 1);
        assert_eq!(v["spec"]["flow"]["serverName"], "x");
    }

    #[test]
    fn paths_round_trip() {
        let p = parse_path("spec.externalClusters[1].plugin.parameters.serverName");
        assert_eq!(p[2], Seg::Index(1));
        assert_eq!(
            path_string(&p),
            "spec.externalClusters[1].plugin.parameters.serverName"
        );
    }

    #[test]
    fn plain_scalars_are_typed_and_quoted_when_needed() {
        assert!(plain_safe("temporal-database-v3"));
        assert!(!plain_safe("true"));
        assert!(!plain_safe("123"));
        assert!(!plain_safe("a: b"));
        assert_eq!(
            render_scalar("2026-05-08 20:00:00+00", ScalarStyle::Plain),
            "\"2026-05-08 20:00:00+00\""
        );
        assert_eq!(render_scalar("x", ScalarStyle::DoubleQuoted), "\"x\"");
    }

    #[test]
    fn emit_block_yaml() {
        let v = Y::map([
            ("name", Y::s("origin")),
            (
                "plugin",
                Y::map([
                    ("name", Y::s("b")),
                    ("parameters", Y::map([("serverName", Y::s("x-v1"))])),
                ]),
            ),
            (
                "l",
                Y::List(vec![Y::map([("a", Y::Raw("1".into())), ("b", Y::s("2"))])]),
            ),
        ]);
        let text = emit(&v, 2);
        assert_eq!(
            text,
            "  name: origin\n  plugin:\n    name: b\n    parameters:\n      serverName: x-v1\n  l:\n    - a: 1\n      b: \"2\"\n"
        );
        let back = parse(&text).unwrap();
        assert_eq!(back[0].root.as_ref().unwrap().to_y(), v);
    }
}
