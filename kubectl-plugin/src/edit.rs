//! Surgical text edits, unified diffs and all-or-nothing writes.
//!
//! Every change the planner makes is a byte-range replacement in the
//! original text. Nothing is re-serialised, so comments, key order, quoting
//! and blank lines outside the changed lines survive byte for byte.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Replace `start..end` of the original text with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextEdit {
    /// First byte replaced.
    pub start: usize,
    /// One past the last byte replaced (`start` for a pure insertion).
    pub end: usize,
    /// Replacement.
    pub text: String,
}

/// All edits to one file (or the full content of a new file).
#[derive(Debug, Clone)]
pub struct FileChange {
    /// Where the file is on disk.
    pub path: PathBuf,
    /// How it is shown to the user (relative to the planned directory).
    pub display: String,
    /// The text the plan was computed from (empty for a new file).
    pub original: String,
    /// Edits against `original`, non-overlapping.
    pub edits: Vec<TextEdit>,
    /// True when the file does not exist yet.
    pub create: bool,
}

/// One changed hunk, as reported in `-o json` `edits[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineEdit {
    /// File, as displayed.
    pub file: String,
    /// 1-based line in the ORIGINAL file where the change starts (for a
    /// pure insertion: the line the new text is inserted before).
    pub line: usize,
    /// The original lines (joined, each with its newline); empty for an insertion.
    pub before: String,
    /// The new lines; empty for a deletion.
    pub after: String,
}

impl FileChange {
    /// The text after applying all edits.
    pub fn new_text(&self) -> Result<String, String> {
        apply(&self.original, &self.edits)
            .map_err(|e| format!("{}: internal error: {e}", self.display))
    }

    /// The changed hunks, expanded to whole lines and merged.
    pub fn hunks(&self) -> Vec<Hunk> {
        let text = &self.original;
        let at_line_start =
            |o: usize| o == 0 || text.as_bytes().get(o.wrapping_sub(1)) == Some(&b'\n');
        let mut edits = self.edits.clone();
        edits.sort_by_key(|e| (e.start, e.end));
        // Each edit widened to whole lines: (line-range start, end, edit).
        let mut groups: Vec<(usize, usize, Vec<TextEdit>)> = Vec::new();
        for e in edits {
            let aligned = at_line_start(e.start)
                && (at_line_start(e.end) || e.end == text.len())
                && (e.text.is_empty() || e.text.ends_with('\n'));
            let (ls, le) = if aligned {
                (e.start, e.end)
            } else {
                let ls = crate::yaml::line_start(text, e.start);
                let le = crate::yaml::line_end(text, e.end.saturating_sub(1).max(e.start));
                (ls, le)
            };
            match groups.last_mut() {
                Some(g) if ls <= g.1 => {
                    g.1 = g.1.max(le);
                    g.2.push(e);
                }
                _ => groups.push((ls, le, vec![e])),
            }
        }
        groups
            .into_iter()
            .map(|(gs, ge, edits)| {
                let mut rep = String::new();
                let mut pos = gs;
                for e in &edits {
                    rep.push_str(text.get(pos..e.start.max(pos)).unwrap_or(""));
                    rep.push_str(&e.text);
                    pos = pos.max(e.end);
                }
                rep.push_str(text.get(pos..ge).unwrap_or(""));
                Hunk {
                    line: crate::yaml::line_of(text, gs),
                    before: split_lines(text.get(gs..ge).unwrap_or("")),
                    after: split_lines(&rep),
                }
            })
            .collect()
    }

    /// Hunks in the `-o json` shape.
    pub fn line_edits(&self) -> Vec<LineEdit> {
        self.hunks()
            .into_iter()
            .map(|h| LineEdit {
                file: self.display.clone(),
                line: h.line,
                before: h.before.concat(),
                after: h.after.concat(),
            })
            .collect()
    }

    /// A unified diff (3 lines of context) of this change.
    pub fn unified_diff(&self) -> String {
        let orig_lines = split_lines(&self.original);
        let hunks = self.hunks();
        if hunks.is_empty() {
            return String::new();
        }
        let mut out = String::new();
        if self.create {
            out.push_str("--- /dev/null\n");
        } else {
            out.push_str(&format!("--- a/{}\n", self.display));
        }
        out.push_str(&format!("+++ b/{}\n", self.display));
        const CTX: usize = 3;
        // Group hunks whose contexts touch.
        let mut groups: Vec<Vec<&Hunk>> = Vec::new();
        for h in &hunks {
            let start0 = h.line - 1;
            match groups.last_mut() {
                Some(g) => {
                    let prev = g.last().map_or(0, |p| p.line - 1 + p.before.len());
                    if start0 <= prev + 2 * CTX {
                        g.push(h);
                    } else {
                        groups.push(vec![h]);
                    }
                }
                None => groups.push(vec![h]),
            }
        }
        let mut delta: isize = 0;
        for g in groups {
            let (Some(first), Some(last)) = (g.first(), g.last()) else {
                continue;
            };
            let from = (first.line - 1).saturating_sub(CTX);
            let to = (last.line - 1 + last.before.len() + CTX).min(orig_lines.len());
            let mut body = String::new();
            let mut old_n = 0usize;
            let mut new_n = 0usize;
            let mut cursor = from;
            for h in &g {
                let hs = h.line - 1;
                for l in orig_lines.get(cursor..hs).unwrap_or(&[]) {
                    push_line(&mut body, ' ', l);
                    old_n += 1;
                    new_n += 1;
                }
                for l in &h.before {
                    push_line(&mut body, '-', l);
                    old_n += 1;
                }
                for l in &h.after {
                    push_line(&mut body, '+', l);
                    new_n += 1;
                }
                cursor = hs + h.before.len();
            }
            for l in orig_lines.get(cursor..to).unwrap_or(&[]) {
                push_line(&mut body, ' ', l);
                old_n += 1;
                new_n += 1;
            }
            let old_start = if old_n == 0 { from } else { from + 1 };
            let new_start_base = from as isize + delta;
            let new_start = if new_n == 0 {
                new_start_base
            } else {
                new_start_base + 1
            };
            out.push_str(&format!(
                "@@ -{old_start},{old_n} +{new_start},{new_n} @@\n"
            ));
            out.push_str(&body);
            delta += new_n as isize - old_n as isize;
        }
        out
    }
}

/// `original` with `edits` (non-overlapping byte ranges, in any order)
/// applied.
pub fn apply(original: &str, edits: &[TextEdit]) -> Result<String, String> {
    let mut edits = edits.to_vec();
    // Stable: insertions at one offset keep the order they were planned in.
    edits.sort_by_key(|e| (e.start, e.end));
    let mut out = String::with_capacity(original.len() + 64);
    let mut pos = 0;
    for e in &edits {
        if e.start < pos || e.end < e.start || e.end > original.len() {
            return Err(format!("overlapping edits at byte {}", e.start));
        }
        out.push_str(
            original
                .get(pos..e.start)
                .ok_or("edit not on a char boundary")?,
        );
        out.push_str(&e.text);
        pos = e.end;
    }
    out.push_str(original.get(pos..).unwrap_or(""));
    Ok(out)
}

/// One changed region, in whole lines.
#[derive(Debug, Clone)]
pub struct Hunk {
    /// 1-based line in the original where it starts.
    pub line: usize,
    /// Original lines (each with its newline, the last maybe without).
    pub before: Vec<String>,
    /// New lines.
    pub after: Vec<String>,
}

fn split_lines(s: &str) -> Vec<String> {
    s.split_inclusive('\n').map(str::to_string).collect()
}

fn push_line(out: &mut String, mark: char, line: &str) {
    out.push(mark);
    out.push_str(line);
    if !line.ends_with('\n') {
        out.push_str("\n\\ No newline at end of file\n");
    }
}

/// A write that failed; nothing was changed on disk (`rolled_back` lists
/// files that were restored after a partial rename).
#[derive(Debug)]
pub struct WriteError {
    /// The file the failure is about.
    pub file: PathBuf,
    /// What failed.
    pub message: String,
    /// Files already replaced and then restored from their backups.
    pub rolled_back: Vec<PathBuf>,
    /// Files that could NOT be restored (should never happen); the backup
    /// path is given so the user can restore by hand.
    pub unrestored: Vec<(PathBuf, PathBuf)>,
}

/// Writes every file or none.
///
/// 1. stage: write each new content to a temp file in the target's own
///    directory (same filesystem, so rename is atomic) with the original's
///    permissions, and copy each existing original to a backup temp file;
/// 2. check each target still holds the text the plan was computed from;
/// 3. rename temps over targets in order; if a rename fails, rename the
///    backups of the already-replaced files back, remove every temp, and
///    report.
pub fn write_all(changes: &[(PathBuf, String, Option<String>)]) -> Result<(), WriteError> {
    // (target, expected original or None for create, new text)
    struct Staged {
        target: PathBuf,
        temp: tempfile::TempPath,
        backup: Option<tempfile::TempPath>,
    }
    let err = |file: &Path, message: String| WriteError {
        file: file.to_path_buf(),
        message,
        rolled_back: vec![],
        unrestored: vec![],
    };
    let mut staged: Vec<Staged> = Vec::new();
    for (target, new_text, expected) in changes {
        let target = match fs::canonicalize(target) {
            Ok(real) => real,
            Err(_) if expected.is_none() => target.clone(),
            Err(e) => return Err(err(target, format!("cannot resolve the file: {e}"))),
        };
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let perms = fs::metadata(&target).ok().map(|m| m.permissions());
        let make_temp = |content: &str, kind: &str| -> Result<tempfile::TempPath, WriteError> {
            let mut f = tempfile::Builder::new()
                .prefix(&format!(".cnpg-plan-{kind}-"))
                .tempfile_in(dir)
                .map_err(|e| {
                    err(
                        &target,
                        format!("cannot create a temp file in {}: {e}", dir.display()),
                    )
                })?;
            f.write_all(content.as_bytes())
                .and_then(|()| f.as_file().sync_all())
                .map_err(|e| err(&target, format!("cannot write a temp file: {e}")))?;
            if let Some(p) = &perms {
                fs::set_permissions(f.path(), p.clone())
                    .map_err(|e| err(&target, format!("cannot set permissions: {e}")))?;
            }
            Ok(f.into_temp_path())
        };
        let temp = make_temp(new_text, "new")?;
        let backup = match expected {
            Some(orig) => {
                let current = fs::read_to_string(&target)
                    .map_err(|e| err(&target, format!("cannot read the file: {e}")))?;
                if &current != orig {
                    return Err(err(
                        &target,
                        "the file changed since the plan was computed; run the plan again".into(),
                    ));
                }
                Some(make_temp(orig, "backup")?)
            }
            None => {
                if target.exists() {
                    return Err(err(
                        &target,
                        "the file already exists; refusing to overwrite it".into(),
                    ));
                }
                None
            }
        };
        staged.push(Staged {
            target,
            temp,
            backup,
        });
    }
    // Rename phase.
    let mut done: Vec<usize> = Vec::new();
    let mut failure: Option<(PathBuf, String)> = None;
    for (i, s) in staged.iter().enumerate() {
        if fail_after_renames().is_some_and(|n| done.len() >= n) {
            failure = Some((
                s.target.clone(),
                "fault injected by CNPG_PLAN_FAULT_AFTER_RENAMES".into(),
            ));
            break;
        }
        match fs::rename(&s.temp, &s.target) {
            Ok(()) => done.push(i),
            Err(e) => {
                failure = Some((s.target.clone(), format!("cannot replace the file: {e}")));
                break;
            }
        }
    }
    let Some((file, message)) = failure else {
        for s in staged {
            // The temp was renamed away: forget it so its drop does not try
            // to delete the (now real) file.
            let _ = s.temp.keep();
            drop(s.backup);
        }
        return Ok(());
    };
    let mut rolled_back = Vec::new();
    let mut unrestored = Vec::new();
    for (i, s) in staged.into_iter().enumerate() {
        if done.contains(&i) {
            let _ = s.temp.keep();
            match s.backup {
                Some(b) => match fs::rename(&b, &s.target) {
                    Ok(()) => {
                        let _ = b.keep();
                        rolled_back.push(s.target);
                    }
                    Err(_) => match b.keep() {
                        Ok(p) => unrestored.push((s.target, p)),
                        Err(e) => unrestored.push((s.target, e.path.to_path_buf())),
                    },
                },
                None => {
                    // A created file: remove it again.
                    let _ = fs::remove_file(&s.target);
                    rolled_back.push(s.target);
                }
            }
        }
        // Remaining temps and backups are deleted on drop.
    }
    Err(WriteError {
        file,
        message,
        rolled_back,
        unrestored,
    })
}

/// Fault-injection hook for the rollback tests: with
/// `CNPG_PLAN_FAULT_AFTER_RENAMES=N`, `--write` fails after N files were
/// replaced. Compiled into debug builds only (what `cargo test` runs), so a
/// release binary never honours it.
fn fail_after_renames() -> Option<usize> {
    if !cfg!(debug_assertions) {
        return None;
    }
    std::env::var("CNPG_PLAN_FAULT_AFTER_RENAMES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
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

    fn change(orig: &str, edits: Vec<TextEdit>) -> FileChange {
        FileChange {
            path: "f.yaml".into(),
            display: "f.yaml".into(),
            original: orig.into(),
            edits,
            create: false,
        }
    }

    #[test]
    fn replace_inside_line_expands_to_the_line() {
        let orig = "a: 1\nb: x-v1 # c\nc: 3\n";
        let s = orig.find("x-v1").unwrap();
        let c = change(
            orig,
            vec![TextEdit {
                start: s,
                end: s + 4,
                text: "x-v2".into(),
            }],
        );
        assert_eq!(c.new_text().unwrap(), "a: 1\nb: x-v2 # c\nc: 3\n");
        let e = c.line_edits();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].line, 2);
        assert_eq!(e[0].before, "b: x-v1 # c\n");
        assert_eq!(e[0].after, "b: x-v2 # c\n");
        let d = c.unified_diff();
        assert_eq!(
            d,
            "--- a/f.yaml\n+++ b/f.yaml\n@@ -1,3 +1,3 @@\n a: 1\n-b: x-v1 # c\n+b: x-v2 # c\n c: 3\n"
        );
    }

    #[test]
    fn pure_insertion_has_no_before() {
        let orig = "a: 1\nb: 2\n";
        let c = change(
            orig,
            vec![TextEdit {
                start: 5,
                end: 5,
                text: "x: 9\n".into(),
            }],
        );
        assert_eq!(c.new_text().unwrap(), "a: 1\nx: 9\nb: 2\n");
        let e = c.line_edits();
        assert_eq!(
            (e[0].line, e[0].before.as_str(), e[0].after.as_str()),
            (2, "", "x: 9\n")
        );
        assert_eq!(
            c.unified_diff(),
            "--- a/f.yaml\n+++ b/f.yaml\n@@ -1,2 +1,3 @@\n a: 1\n+x: 9\n b: 2\n"
        );
    }

    #[test]
    fn two_edits_on_one_line_merge() {
        let orig = "p: {a: x-v1, b: y}\n";
        let c = change(
            orig,
            vec![
                TextEdit {
                    start: 7,
                    end: 11,
                    text: "x-v2".into(),
                },
                TextEdit {
                    start: 17,
                    end: 17,
                    text: ", s: z".into(),
                },
            ],
        );
        assert_eq!(c.new_text().unwrap(), "p: {a: x-v2, b: y, s: z}\n");
        let e = c.line_edits();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].after, "p: {a: x-v2, b: y, s: z}\n");
    }

    #[test]
    fn far_apart_hunks_get_separate_headers() {
        let orig: String = (1..=20).map(|i| format!("l{i}\n")).collect();
        let s2 = orig.find("l2\n").unwrap();
        let s18 = orig.find("l18\n").unwrap();
        let c = change(
            &orig,
            vec![
                TextEdit {
                    start: s2,
                    end: s2 + 2,
                    text: "L2".into(),
                },
                TextEdit {
                    start: s18,
                    end: s18 + 3,
                    text: "L18".into(),
                },
            ],
        );
        let d = c.unified_diff();
        assert!(d.contains("@@ -1,5 +1,5 @@"), "{d}");
        assert!(d.contains("@@ -15,6 +15,6 @@"), "{d}");
    }
}
