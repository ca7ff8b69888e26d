//! Collecting a plan's changes per file, and turning them into verified
//! [`FileChange`]s.

use serde_json::Value;

use crate::edit::{FileChange, TextEdit};
use crate::error::PlanError;
use crate::source::{Change, Source};

/// A document of one of the plan's files.
#[derive(Debug, Clone, Copy)]
pub(super) struct At<'a> {
    /// Index of the file in the plan's sources.
    pub file: usize,
    /// The file.
    pub src: &'a Source,
    /// Index of the document in the file.
    pub doc: usize,
}

impl At<'_> {
    /// The document's value (the host parser's reading).
    pub fn json(&self) -> &Value {
        self.src.json(self.doc)
    }
}

/// The documents of `sources[range]` whose value satisfies `pred`, in file
/// order.
pub(super) fn find<'a>(
    sources: &'a [Source],
    range: std::ops::Range<usize>,
    pred: &dyn Fn(&Value) -> bool,
) -> Vec<At<'a>> {
    sources
        .iter()
        .enumerate()
        .skip(range.start)
        .take(range.len())
        .flat_map(|(file, src)| {
            (0..src.docs.len())
                .filter(|doc| pred(src.json(*doc)))
                .map(move |doc| At { file, src, doc })
        })
        .collect()
}

/// The changes planned so far, in the order they were planned.
#[derive(Debug, Default)]
pub(super) struct Edits {
    changes: Vec<(usize, Change)>,
}

impl Edits {
    /// Records a change of the file `at` points into (`None`: nothing to do).
    pub fn add(&mut self, at: &At<'_>, change: Option<Change>) {
        if let Some(c) = change {
            self.changes.push((at.file, c));
        }
    }

    /// The changes planned for file `file`, in order.
    pub fn changes_of(&self, file: usize) -> Vec<Change> {
        self.changes
            .iter()
            .filter(|(f, _)| *f == file)
            .map(|(_, c)| c.clone())
            .collect()
    }

    /// Appends the changes of `other`, in its order.
    pub fn extend(&mut self, other: Edits) {
        self.changes.extend(other.changes);
    }

    /// Whether nothing was planned.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// One [`FileChange`] per changed file, in the order of `sources`. New
    /// lines get the file's own line ending (a CRLF file stays CRLF), and
    /// every file's changes are re-read by the host parser
    /// ([`Source::verify`]): a change that does not mean what it says
    /// refuses the whole plan.
    pub fn finish(self, sources: &[Source]) -> Result<Vec<FileChange>, PlanError> {
        let mut out = Vec::new();
        for (i, src) in sources.iter().enumerate() {
            let mut changes: Vec<Change> = self
                .changes
                .iter()
                .filter(|(f, _)| *f == i)
                .map(|(_, c)| c.clone())
                .collect();
            if changes.is_empty() {
                continue;
            }
            if src.text.contains("\r\n") {
                for e in changes.iter_mut().flat_map(|c| c.edits.iter_mut()) {
                    e.text = e.text.replace("\r\n", "\n").replace('\n', "\r\n");
                }
            }
            one_line_break_at_eof(&src.text, &mut changes);
            src.verify(&changes)?;
            out.push(FileChange {
                path: src.path.clone(),
                display: src.display.clone(),
                original: src.text.clone(),
                edits: changes.into_iter().flat_map(|c| c.edits).collect(),
                create: false,
            });
        }
        Ok(out)
    }
}

/// In a file without a final line break, an insertion at the end starts
/// with the break the text lacks. When several land there (a new
/// `bootstrap`, then the `externalClusters` placed after it), only the
/// first may bring it: the next one follows a line that already ends,
/// and its break would leave a blank line.
fn one_line_break_at_eof(text: &str, changes: &mut [Change]) {
    if text.is_empty() || text.ends_with('\n') {
        return;
    }
    let len = text.len();
    // The edits reaching the end, in the order `edit::apply` writes them.
    let mut at_end: Vec<&mut TextEdit> = changes
        .iter_mut()
        .flat_map(|c| c.edits.iter_mut())
        .filter(|e| e.end == len)
        .collect();
    at_end.sort_by_key(|e| (e.start, e.end));
    let mut ends_with_break = false;
    for e in at_end {
        if ends_with_break && e.start == len {
            let rest = e
                .text
                .strip_prefix("\r\n")
                .or_else(|| e.text.strip_prefix('\n'))
                .map(str::to_string);
            if let Some(rest) = rest {
                e.text = rest;
            }
        }
        ends_with_break = match (e.text.is_empty(), e.start == len) {
            (false, _) => e.text.ends_with('\n'),
            (true, true) => ends_with_break,
            (true, false) => text.get(..e.start).is_some_and(|t| t.ends_with('\n')),
        };
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::edit;

    fn insert(at: usize, text: &str) -> Change {
        Change {
            edits: vec![TextEdit {
                start: at,
                end: at,
                text: text.into(),
            }],
            intents: Vec::new(),
        }
    }

    #[test]
    fn insertions_at_the_end_of_a_file_without_a_final_break_leave_no_blank_line() {
        for (text, inserts, want) in [
            ("a: 1", vec!["\nb: 2\n", "\nc: 3\n"], "a: 1\nb: 2\nc: 3\n"),
            (
                "a: 1\r\nz: 0",
                vec!["\r\nb: 2\r\n", "\r\nc: 3\r\n"],
                "a: 1\r\nz: 0\r\nb: 2\r\nc: 3\r\n",
            ),
            // A final break already there: nothing to take back.
            ("a: 1\n", vec!["b: 2\n", "c: 3\n"], "a: 1\nb: 2\nc: 3\n"),
            ("a: 1", vec!["\nb: 2\n"], "a: 1\nb: 2\n"),
        ] {
            let mut changes: Vec<Change> = inserts.iter().map(|t| insert(text.len(), t)).collect();
            one_line_break_at_eof(text, &mut changes);
            let edits: Vec<TextEdit> = changes.into_iter().flat_map(|c| c.edits).collect();
            assert_eq!(edit::apply(text, &edits).unwrap(), want, "{text:?}");
        }
    }
}
