//! Collecting a plan's changes per file, and turning them into verified
//! [`FileChange`]s.

use serde_json::Value;

use crate::edit::FileChange;
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
