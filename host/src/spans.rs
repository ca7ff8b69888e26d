//! YAML with source positions: WHERE things are, never what they mean.
//!
//! `kubectl cnpg-plan` edits files as TEXT: it needs the exact bytes of a
//! field, not a re-serialised document; `check` points a finding at the line
//! of its field. This module parses a (multi-document) YAML
//! stream into a small tree whose nodes carry byte spans, and finds the node
//! (or the place a missing key would go) for a field path such as
//! `spec.plugins[0].parameters.serverName`.
//!
//! What a manifest MEANS is read in exactly one way in cnpg-guard:
//! [`crate::manifests`] (YAML 1.1 like kubectl: anchors, merge keys,
//! `yes`/`no`, octal, last duplicate key wins). The span tree here does not
//! type scalars, expand aliases or apply merge keys; the planner's `Source`
//! pairs each span document with the host parser's value of the same bytes.
//! The writing side ([`render_scalar`], [`emit`]) asks the host parser too
//! whether what it writes reads back as intended.

use granit_parser::{Event, Parser, StructureStyle};

/// How a scalar was written (plain, quoted, block).
pub use granit_parser::ScalarStyle;
use serde_json::Value;

/// A parsed node with its byte span in the source text.
#[derive(Debug, Clone)]
pub enum Node {
    /// A scalar. `start..end` covers the scalar token, quotes included.
    Scalar {
        /// The text after escape processing (untyped: `yes` stays `"yes"`).
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
        /// Entries in source order (a merge key `<<` is an entry like any other).
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
    /// An alias (`*name`): content written elsewhere, never edited through.
    Alias {
        /// Byte offset of `*`.
        start: usize,
        /// Byte offset one past the alias name.
        end: usize,
    },
}

/// Where a field path leads in the span tree.
#[derive(Debug, Clone, Copy)]
pub enum Located<'a> {
    /// The node written at the path.
    Found(&'a Node),
    /// The first `n` segments lead to an alias: the rest is written
    /// elsewhere (at the anchor) and must not be edited from here.
    Alias(usize),
    /// The first `n` segments exist as written, the next one does not (it
    /// may still have a value through a merge key: ask the host value).
    Missing(usize),
}

impl Node {
    /// Byte offset of the node's first byte.
    pub fn start(&self) -> usize {
        match self {
            Node::Scalar { start, .. }
            | Node::Map { start, .. }
            | Node::Seq { start, .. }
            | Node::Alias { start, .. } => *start,
        }
    }

    /// The largest end offset of any scalar inside this node (the end of its
    /// real content, ignoring trailing comments and blank lines).
    pub fn content_end(&self) -> usize {
        match self {
            Node::Scalar { end, .. } | Node::Alias { end, .. } => *end,
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

    /// Looks up a mapping entry (key node and value node) by key. With a
    /// repeated key the LAST entry is returned: it is the one that takes
    /// effect (the host parser keeps the last duplicate, as kubectl's
    /// reader does), so it is the one to edit.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match self {
            Node::Map { entries, .. } => entries
                .iter()
                .rev()
                .find(|(k, _)| k.key_str() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// Follows a parsed path through what is written (aliases stop it).
    pub fn at(&self, path: &[Seg]) -> Option<&Node> {
        match self.locate(path) {
            Located::Found(n) => Some(n),
            Located::Alias(_) | Located::Missing(_) => None,
        }
    }

    /// Follows a parsed path and says where it stops: at the node, at an
    /// alias on the way, or at the first segment that is not written.
    pub fn locate(&self, path: &[Seg]) -> Located<'_> {
        let mut cur = self;
        for (depth, seg) in path.iter().enumerate() {
            if matches!(cur, Node::Alias { .. }) {
                return Located::Alias(depth);
            }
            let next = match (seg, cur) {
                (Seg::Key(k), Node::Map { .. }) => cur.get(k),
                (Seg::Index(i), Node::Seq { items, .. }) => items.get(*i),
                _ => None,
            };
            match next {
                Some(n) => cur = n,
                None => return Located::Missing(depth),
            }
        }
        if matches!(cur, Node::Alias { .. }) {
            Located::Alias(path.len())
        } else {
            Located::Found(cur)
        }
    }
}

/// One document of a stream.
#[derive(Debug, Clone)]
pub struct Doc {
    /// The root node (`None` for an empty document).
    pub root: Option<Node>,
    /// Byte offset where the document's slice of the stream starts: the end
    /// of the previous document (0 for the first), so comments and
    /// directives before a `---` belong to the document they precede.
    pub start: usize,
    /// Byte offset one past the document (its `...` included; the end of the
    /// text for the last one). The slices of a stream's documents tile it.
    pub end: usize,
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
    let mut doc_start = 0usize;

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
            Event::DocumentEnd => {
                docs.push(Doc {
                    root: root.take(),
                    start: doc_start,
                    end,
                });
                doc_start = end;
            }
            Event::Scalar(value, style, _, _) => {
                let node = Node::Scalar {
                    value: value.into_owned(),
                    style,
                    start,
                    end,
                };
                push_node(&mut stack, &mut root, node);
            }
            Event::Alias(_) => push_node(&mut stack, &mut root, Node::Alias { start, end }),
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
    // Trailing comments and blank lines belong to the last document.
    if let Some(last) = docs.last_mut() {
        last.end = text.len();
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

/// The value at `path` inside a host-parsed value.
pub fn value_at<'a>(root: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    path.iter().try_fold(root, |cur, seg| match seg {
        Seg::Key(k) => cur.get(k.as_str()),
        Seg::Index(i) => cur.get(*i),
    })
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

/// Renders a string as a YAML scalar in the given style, falling back to
/// double quotes (which carry any string) when the style would not read
/// back as the same string.
pub fn render_scalar(value: &str, style: ScalarStyle) -> String {
    match style {
        ScalarStyle::Plain if plain_safe(value) => value.to_string(),
        ScalarStyle::SingleQuoted => {
            let quoted = format!("'{}'", value.replace('\'', "''"));
            // Single quotes fold line breaks and cannot escape control
            // characters: only keep them when the host reads the same string.
            if reads_back(&quoted, value) {
                quoted
            } else {
                double_quoted(value)
            }
        }
        _ => double_quoted(value),
    }
}

/// A double-quoted YAML scalar: every character that YAML would fold,
/// treat as a line break or reject is escaped.
pub fn double_quoted(value: &str) -> String {
    let mut s = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                s.push_str(&format!("\\u{:04X}", u32::from(c)));
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Whether `scalar`, written as a mapping value in block and in flow
/// context, reads back through the host parser as exactly the string
/// `value`.
fn reads_back(scalar: &str, value: &str) -> bool {
    let want = Value::String(value.to_string());
    [format!("k: {scalar}\n"), format!("{{k: {scalar}}}\n")]
        .iter()
        .all(|doc| {
            crate::manifests::parse_documents(doc).is_ok_and(|docs| {
                matches!(docs.as_slice(), [Value::Object(m)]
                    if m.len() == 1 && m.get("k") == Some(&want))
            })
        })
}

/// Whether a string can be written as a plain scalar: the host parser (the
/// one reading of meaning) reads `k: <value>` and `{k: <value>}` back as the
/// same string. `yes`, `0755`, `1e3`, `~`, `a #b`, `a: b`, `*x` and `a,b`
/// (in flow) do not.
///
/// Timestamp-shaped values are quoted as well although the host (and
/// kubectl) read them as strings: YAML 1.1 defines a `!!timestamp` type,
/// and other readers in a GitOps chain (yaml.v3-based tools, PyYAML in
/// pre-commit hooks) turn an unquoted one into a date and re-emit it
/// normalised.
pub fn plain_safe(value: &str) -> bool {
    !value.is_empty() && !timestamp_like(value) && reads_back(value, value)
}

/// `YYYY-M(M)-D(D)` at the start, alone or followed by the YAML 1.1
/// timestamp's time separator (`T`, `t`, blank).
fn timestamp_like(value: &str) -> bool {
    let b = value.as_bytes();
    let digits = |from: usize, min: usize, max: usize| -> Option<usize> {
        let n = b
            .iter()
            .skip(from)
            .take(max)
            .take_while(|c| c.is_ascii_digit())
            .count();
        (n >= min).then_some(from + n)
    };
    let Some(i) = digits(0, 4, 4) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    let Some(i) = digits(i + 1, 1, 2) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    let Some(i) = digits(i + 1, 1, 2) else {
        return false;
    };
    matches!(b.get(i), None | Some(b'T' | b't' | b' ' | b'\t'))
}

/// An ordered value for NEW content the planner writes: keys keep the order
/// they are given in (a `serde_json::Value` object is sorted).
#[derive(Debug, Clone, PartialEq)]
pub enum Y {
    /// A string scalar (quoted only when needed).
    S(String),
    /// A boolean.
    B(bool),
    /// A number.
    N(serde_json::Number),
    /// Null.
    Null,
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

    /// Copies a host-parsed value (its MEANING: merge keys applied, aliases
    /// expanded, `yes` a boolean). Object keys come in the order `written`
    /// (the span node the value was read from, if any) has them; keys that
    /// are not written there (merged in) follow in the value's order.
    pub fn from_value(value: &Value, written: Option<&Node>) -> Y {
        match value {
            Value::Null => Y::Null,
            Value::Bool(b) => Y::B(*b),
            Value::Number(n) => Y::N(n.clone()),
            Value::String(s) => Y::S(s.clone()),
            Value::Array(items) => Y::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let hint = match written {
                            Some(Node::Seq { items, .. }) => items.get(i),
                            _ => None,
                        };
                        Y::from_value(v, hint)
                    })
                    .collect(),
            ),
            Value::Object(m) => {
                let mut keys: Vec<&String> = Vec::new();
                if let Some(Node::Map { entries, .. }) = written {
                    for (k, _) in entries {
                        if let Some((key, _)) = k.key_str().and_then(|k| m.get_key_value(k))
                            && !keys.contains(&key)
                        {
                            keys.push(key);
                        }
                    }
                }
                for k in m.keys() {
                    if !keys.contains(&k) {
                        keys.push(k);
                    }
                }
                Y::Map(
                    keys.into_iter()
                        .filter_map(|k| {
                            let hint = written.and_then(|w| w.get(k));
                            m.get(k).map(|v| (k.clone(), Y::from_value(v, hint)))
                        })
                        .collect(),
                )
            }
        }
    }

    /// What this content means once written (the value the host parser
    /// reads back from [`emit`]'s text).
    pub fn to_value(&self) -> Value {
        match self {
            Y::S(s) => Value::String(s.clone()),
            Y::B(b) => Value::Bool(*b),
            Y::N(n) => Value::Number(n.clone()),
            Y::Null => Value::Null,
            Y::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_value())).collect()),
            Y::List(l) => Value::Array(l.iter().map(Y::to_value).collect()),
        }
    }
}

/// Emits a [`Y`] as block YAML lines at `indent` spaces.
pub fn emit(value: &Y, indent: usize) -> String {
    let mut out = String::new();
    emit_into(value, indent, &mut out);
    out
}

/// A value written on one line (a scalar, or an empty collection).
pub fn scalar_text(v: &Y) -> String {
    match v {
        Y::S(s) => render_scalar(s, ScalarStyle::Plain),
        Y::B(b) => b.to_string(),
        Y::N(n) => n.to_string(),
        Y::Null => "null".into(),
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
    use crate::manifests::parse_documents;
    use serde_json::json;

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
        // The document slices tile the stream.
        assert_eq!((docs[0].start, docs[1].end), (0, SAMPLE.len()));
        assert_eq!(docs[0].end, docs[1].start);
        assert!(SAMPLE[docs[1].start..].starts_with("---"));
    }

    #[test]
    fn aliases_stop_a_path_and_the_last_duplicate_key_is_found() {
        let text = "a: &x {b: 1}\nc: *x\nd:\n  <<: *x\n  e: 1\nk: 1\nk: 2\n";
        let docs = parse(text).unwrap();
        let root = docs[0].root.as_ref().unwrap();
        assert!(matches!(root.locate(&parse_path("c.b")), Located::Alias(1)));
        assert!(matches!(root.locate(&parse_path("c")), Located::Alias(1)));
        // A merged key is not written in `d`: Missing, the host value has it.
        assert!(matches!(
            root.locate(&parse_path("d.b")),
            Located::Missing(1)
        ));
        match root.get("k").unwrap() {
            Node::Scalar { value, .. } => assert_eq!(value, "2"),
            other => panic!("{other:?}"),
        }
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
    fn plain_safe_is_decided_by_the_host_reading() {
        // (value, may be written unquoted)
        let cases = [
            ("temporal-database-v3", true),
            ("s3://bucket/path", true),
            ("0/3000060", true),
            ("a,b", false), // flow context splits it
            ("true", false),
            ("yes", false), // YAML 1.1 boolean
            ("No", false),
            ("on", false),
            ("y", false),
            ("123", false),
            ("0755", false), // YAML 1.1 octal
            ("0x1F", false),
            ("1e3", false),
            (".5", false),
            ("~", false),
            ("null", false),
            ("", false),
            (" x", false),
            ("x ", false),
            ("a: b", false),
            ("a #b", false),
            ("- a", false),
            ("*x", false),
            ("&x", false),
            ("!x", false),
            ("|", false),
            ("@x", false),
            ("'x", false),
            ("a\nb", false),
            ("2026-05-08", false), // timestamp-shaped: quoted for other readers
            ("2026-05-08 20:49:00+00", false),
            ("2026-5-8T1:02:03Z", false),
            ("2026-05-08x", true),
        ];
        for (value, safe) in cases {
            assert_eq!(plain_safe(value), safe, "{value:?}");
        }
    }

    #[test]
    fn rendered_scalars_read_back_as_the_same_string_in_every_style() {
        let values = [
            "x",
            "yes",
            "0755",
            "it's",
            "a\nb",
            "tab\there",
            "bell\u{7}",
            "q\"uote\\",
            "line\u{2028}sep",
            "{a: 1}",
            "",
        ];
        let styles = [
            ScalarStyle::Plain,
            ScalarStyle::SingleQuoted,
            ScalarStyle::DoubleQuoted,
            ScalarStyle::Literal,
        ];
        for v in values {
            for style in styles {
                let text = render_scalar(v, style);
                for doc in [format!("k: {text}\n"), format!("{{k: {text}}}")] {
                    let back = parse_documents(&doc).unwrap();
                    assert_eq!(back, vec![json!({ "k": v })], "{v:?} {style:?}: {doc}");
                }
            }
        }
        assert_eq!(render_scalar("x", ScalarStyle::DoubleQuoted), "\"x\"");
        assert_eq!(render_scalar("x", ScalarStyle::SingleQuoted), "'x'");
        assert_eq!(
            render_scalar("a\nb", ScalarStyle::SingleQuoted),
            "\"a\\nb\""
        );
        assert_eq!(
            render_scalar("2026-05-08 20:00:00+00", ScalarStyle::Plain),
            "\"2026-05-08 20:00:00+00\""
        );
    }

    #[test]
    fn emitted_content_means_what_the_tree_says() {
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
                Y::List(vec![Y::map([("a", Y::N(1.into())), ("b", Y::s("2"))])]),
            ),
            ("on", Y::B(true)),
            ("empty", Y::Map(vec![])),
            ("nothing", Y::Null),
        ]);
        let text = emit(&v, 2);
        assert_eq!(
            text,
            "  name: origin\n  plugin:\n    name: b\n    parameters:\n      serverName: x-v1\n  l:\n    - a: 1\n      b: \"2\"\n  \"on\": true\n  empty: {}\n  nothing: null\n"
        );
        assert_eq!(parse_documents(&text).unwrap(), vec![v.to_value()]);
    }

    #[test]
    fn values_are_copied_in_the_written_key_order() {
        let text = "a: &s {z: 1, y: yes}\nb:\n  <<: *s\n  x: 0755\n  c: {k2: 1, k1: 2}\n";
        let docs = parse(text).unwrap();
        let root = docs[0].root.as_ref().unwrap();
        let value = parse_documents(text).unwrap().remove(0);
        let b = Y::from_value(&value["b"], root.get("b"));
        // Written keys first (x, c, and c's k2, k1), merged keys after them
        // in the value's order; scalars as the host reads them.
        assert_eq!(
            b,
            Y::Map(vec![
                ("x".into(), Y::N(493.into())),
                (
                    "c".into(),
                    Y::Map(vec![
                        ("k2".into(), Y::N(1.into())),
                        ("k1".into(), Y::N(2.into()))
                    ])
                ),
                ("y".into(), Y::B(true)),
                ("z".into(), Y::N(1.into())),
            ])
        );
        assert_eq!(b.to_value(), value["b"]);
    }
}
