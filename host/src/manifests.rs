//! Kubernetes manifest streams: YAML (multi-document) or JSON, into
//! `serde_json::Value`s, and back to a YAML stream.
//!
//! YAML is read the way kubectl reads it (YAML 1.1 flavour of go-yaml):
//! anchors, aliases and merge keys (`<<:`) are resolved; `yes`/`no`/`on`/`off`
//! are booleans and `0755` is octal; unquoted timestamps stay strings;
//! `${VAR}` is left as text; a repeated key keeps its last value. Empty and
//! `null` documents are skipped, and `kind: *List` documents are flattened into
//! their `items`. Alias expansion is budgeted (no alias bombs).

use std::path::{Path, PathBuf};

use serde_json::Value;

/// A manifest stream that cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// Invalid YAML or JSON.
    #[error("document {document}, line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based index of the document in the stream.
        document: usize,
        /// 1-based line in the whole stream.
        line: u64,
        /// 1-based column.
        column: u64,
        /// What is wrong.
        message: String,
    },
    /// A document that is not a mapping (a bare string, number or list).
    #[error(
        "document {document}, line {line}: expected a Kubernetes object (a mapping), found {found}"
    )]
    NotAnObject {
        /// 1-based index of the document in the stream.
        document: usize,
        /// 1-based line where the document starts.
        line: u64,
        /// JSON type found.
        found: &'static str,
    },
    /// A `*List` whose `items` contains something other than objects.
    #[error("document {document}, line {line}: item {item} of {kind} is not an object")]
    BadListItem {
        /// 1-based index of the document in the stream.
        document: usize,
        /// 1-based line where the document starts.
        line: u64,
        /// 0-based index in `items`.
        item: usize,
        /// The list kind.
        kind: String,
    },
    /// The file could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An error inside a file (adds the path).
    #[error("{}: {source}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What went wrong in it.
        source: Box<ManifestError>,
    },
}

/// Reads and parses one manifest file (see [`parse_stream`]).
pub fn parse_file(path: &Path) -> Result<Vec<Value>, ManifestError> {
    let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_stream(&text).map_err(|e| ManifestError::InFile {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

/// Parses a YAML multi-document stream, or JSON (one object, an array of
/// objects, or several concatenated values), into objects.
pub fn parse_stream(text: &str) -> Result<Vec<Value>, ManifestError> {
    Ok(parse_stream_located(text)?
        .into_iter()
        .map(|(v, _)| v)
        .collect())
}

/// [`parse_stream`], with the 1-based line where each object's document
/// starts (every item of a `List` gets the line of its list).
pub fn parse_stream_located(text: &str) -> Result<Vec<(Value, u64)>, ManifestError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        match parse_json(text) {
            Ok(objects) => return Ok(objects),
            // `{a: 1}` is YAML flow style, and `{..}\n---\n{..}` a YAML stream
            // of JSON documents: not JSON, but YAML. The JSON error is kept
            // when YAML fails too (it points at the real mistake).
            Err(e) => {
                if let Ok(objects) = parse_yaml(text) {
                    return Ok(objects);
                }
                return Err(e);
            }
        }
    }
    parse_yaml(text)
}

fn parse_json(text: &str) -> Result<Vec<(Value, u64)>, ManifestError> {
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut document = 0usize;
    loop {
        let start = stream.byte_offset();
        let next = stream.next();
        let Some(next) = next else { break };
        document += 1;
        let value = match next {
            Ok(v) => v,
            Err(e) => {
                return Err(ManifestError::Syntax {
                    document,
                    line: e.line() as u64,
                    column: e.column() as u64,
                    message: strip_json_position(&e.to_string()),
                });
            }
        };
        let ws = text
            .get(start..)
            .map_or(0, |t| t.len() - t.trim_start().len());
        let line = 1 + text
            .get(..start + ws)
            .unwrap_or_default()
            .matches('\n')
            .count() as u64;
        let items = match value {
            Value::Array(items) => items,
            other => vec![other],
        };
        for item in items {
            push_document(&mut out, item, document, line)?;
        }
    }
    Ok(out)
}

fn strip_json_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg.get(..i).unwrap_or(msg).to_string(),
        None => msg.to_string(),
    }
}

/// A document of the stream: its 1-based number, first line, and text.
struct Chunk<'a> {
    document: usize,
    first_line: u64,
    text: &'a str,
}

/// Whether `line` is a `---` document start marker (YAML forbids `---` at
/// column 0 inside content, so this split agrees with the parser).
fn is_doc_start(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
}

fn is_blank_or_comment(text: &str) -> bool {
    text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l.starts_with('%')
    })
}

fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1u64;
    let mut offset = 0usize;
    for (line_no, line) in (1u64..).zip(text.split_inclusive('\n')) {
        if is_doc_start(line) && offset > start {
            chunks.push((start_line, text.get(start..offset).unwrap_or_default()));
            start = offset;
            start_line = line_no;
        }
        offset += line.len();
    }
    chunks.push((start_line, text.get(start..).unwrap_or_default()));

    // A leading chunk with only comments/directives before the first `---` is
    // not a document of its own.
    let preamble = chunks
        .first()
        .is_some_and(|(_, t)| is_blank_or_comment(t) && !is_doc_start(t))
        && chunks.len() > 1;
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, (first_line, text))| Chunk {
            document: if preamble { i } else { i + 1 },
            first_line,
            text,
        })
        .collect()
}

fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        legacy_octal_numbers: true,
        with_snippet: false,
    }
}

/// Every document of a YAML stream (or the values of a JSON stream), in
/// order and as written: `List`s are not flattened and non-objects are kept.
/// Empty documents are `Value::Null`, so an editor that walks the same stream
/// with its own span parser can line its documents up with these.
///
/// This is the one reading of a manifest's MEANING in cnpg-guard (same rules
/// as [`parse_stream`]); span-aware layers only locate bytes to edit.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, ManifestError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
        let mut out = Vec::new();
        let mut ok = true;
        for v in stream.by_ref() {
            match v {
                Ok(v) => out.push(v),
                Err(_) => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            return Ok(out);
        }
    }
    let mut out = Vec::new();
    for chunk in split_documents(text) {
        let docs = yaml_chunk(&chunk)?;
        if docs.is_empty() && (chunk_has_marker(chunk.text) || !is_blank_or_comment(chunk.text)) {
            out.push(Value::Null);
        }
        out.extend(docs);
    }
    Ok(out)
}

fn chunk_has_marker(text: &str) -> bool {
    text.lines().any(is_doc_start)
}

fn yaml_chunk(chunk: &Chunk<'_>) -> Result<Vec<Value>, ManifestError> {
    serde_saphyr::from_multiple_with_options(chunk.text, yaml_options()).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        ManifestError::Syntax {
            document: chunk.document,
            line: chunk.first_line + line.saturating_sub(1),
            column,
            message: yaml_message(&e),
        }
    })
}

fn parse_yaml(text: &str) -> Result<Vec<(Value, u64)>, ManifestError> {
    let mut out = Vec::new();
    for chunk in split_documents(text) {
        let docs = yaml_chunk(&chunk)?;
        let first_content = chunk
            .text
            .lines()
            .position(|l| {
                let l = l.trim();
                !(l.is_empty() || l.starts_with('#') || l == "---")
            })
            .unwrap_or(0) as u64;
        for doc in docs {
            push_document(
                &mut out,
                doc,
                chunk.document,
                chunk.first_line + first_content,
            )?;
        }
    }
    Ok(out)
}

/// The parser's message without its own "at line X, column Y" suffix (the
/// location is reported separately, relative to the whole stream).
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let full = e.to_string();
    let first = full.lines().next().unwrap_or_default();
    let message = first
        .find(" at line ")
        .and_then(|i| first.get(..i))
        .unwrap_or(first)
        .trim_end_matches([':', ' ']);
    if message.starts_with("budget breached") {
        format!("{message} (the document, with its aliases expanded, is too large)")
    } else {
        message.to_string()
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn push_document(
    out: &mut Vec<(Value, u64)>,
    doc: Value,
    document: usize,
    line: u64,
) -> Result<(), ManifestError> {
    match doc {
        Value::Null => Ok(()),
        Value::Object(_) => flatten(out, doc, document, line),
        other => Err(ManifestError::NotAnObject {
            document,
            line,
            found: type_name(&other),
        }),
    }
}

/// `kind: XyzList` with an `items` array becomes its items (recursively).
fn flatten(
    out: &mut Vec<(Value, u64)>,
    obj: Value,
    document: usize,
    line: u64,
) -> Result<(), ManifestError> {
    let is_list = obj
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && obj.get("items").is_some_and(Value::is_array);
    if !is_list {
        out.push((obj, line));
        return Ok(());
    }
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Value::Object(mut map) = obj else {
        return Ok(());
    };
    let Some(Value::Array(items)) = map.remove("items") else {
        return Ok(());
    };
    for (item, value) in items.into_iter().enumerate() {
        match value {
            Value::Object(_) => flatten(out, value, document, line)?,
            Value::Null => {}
            _ => {
                return Err(ManifestError::BadListItem {
                    document,
                    line,
                    item,
                    kind,
                });
            }
        }
    }
    Ok(())
}

/// Serializes objects as a YAML stream: documents separated by `---`, keys in
/// each object's order (sorted, with this build of serde_json), strings that
/// YAML 1.1 readers would retype (`"yes"`, `"0755"`, dates) quoted.
pub fn to_yaml_stream(objects: &[Value]) -> String {
    let mut out = String::new();
    for (i, obj) in objects.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        match serde_saphyr::to_string(obj) {
            Ok(doc) => out.push_str(&doc),
            // Not reachable for serde_json values; JSON is valid YAML.
            Err(_) => out.push_str(&obj.to_string()),
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}
