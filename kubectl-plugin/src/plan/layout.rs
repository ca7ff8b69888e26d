//! Which files form a database directory, read into memory: the only part
//! of planning that touches the filesystem.
//!
//! Two layouts are understood. The overlay layout (ArgoCD seed) is a root
//! kustomization whose resources flag `overlays/initdb` or
//! `overlays/recovery` (one of them commented out); its files are the base
//! manifests outside `overlays/`, and those of the two overlays. Anything
//! else is the single-file layout (Flux seed): the one Cluster file given,
//! or every manifest under the directory. Files are listed by the host's
//! walker (`cnpg_guard_host::render::manifest_files`, the one rendering
//! uses), in its order.

use std::path::{Path, PathBuf};

use cnpg_guard_host::render;

use super::flag::{self, Flags};
use crate::error::PlanError;
use crate::source;

/// One file of the database directory, in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// Where it is on disk (where `--write` puts the edited text).
    pub path: PathBuf,
    /// How it is shown, relative to the planned directory.
    pub display: String,
    /// Its exact text.
    pub text: String,
}

/// The files that form a database directory, by layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// A root kustomization flagging `overlays/initdb` | `overlays/recovery`.
    Overlays {
        /// The root kustomization (the flag is flipped there).
        kustomization: InputFile,
        /// Manifests outside the overlays (the base Cluster is one of them).
        base: Vec<InputFile>,
        /// Manifests of the recovery overlay (the recovery patch).
        recovery: Vec<InputFile>,
        /// Manifests of the initdb overlay (the identity to keep).
        initdb: Vec<InputFile>,
    },
    /// One Cluster edited in place among these files.
    SingleFile {
        /// The Cluster file given, or every manifest of the directory.
        files: Vec<InputFile>,
    },
}

/// A database directory, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    /// The directory planned (the parent of a single file given).
    pub dir: PathBuf,
    /// Its name: the database id and the default ArgoCD app name.
    pub database: String,
    /// Its files.
    pub layout: Layout,
}

/// Finds the layout of `dir` (a database directory, or one Cluster file)
/// and reads its files.
pub fn discover(dir: &Path) -> Result<Tree, PlanError> {
    let (root, single_file) = if dir.is_file() {
        (
            dir.parent().unwrap_or(Path::new(".")).to_path_buf(),
            Some(dir.to_path_buf()),
        )
    } else if dir.is_dir() {
        (dir.to_path_buf(), None)
    } else {
        return Err(PlanError::input(
            format!("{}: no such directory or file", dir.display()),
            "pass the database directory (the one holding kustomization.yaml) or a Cluster file",
        ));
    };
    let database = dir
        .canonicalize()
        .ok()
        .and_then(|p| {
            let p = if single_file.is_some() {
                p.parent().map(Path::to_path_buf)?
            } else {
                p
            };
            p.file_name().and_then(|n| n.to_str()).map(str::to_string)
        })
        .unwrap_or_else(|| "db".into());
    let read = |p: &Path| -> Result<InputFile, PlanError> {
        let display = p
            .strip_prefix(&root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned();
        let text = source::read_text(p, &display)?;
        Ok(InputFile {
            path: p.to_path_buf(),
            display,
            text,
        })
    };
    let tree = |layout| Tree {
        dir: root.clone(),
        database: database.clone(),
        layout,
    };

    if let Some(f) = &single_file {
        return Ok(tree(Layout::SingleFile {
            files: vec![read(f)?],
        }));
    }
    if let Some(kpath) = source::kustomization_file(&root) {
        let kustomization = read(&kpath)?;
        let flags = Flags::scan(&kustomization.text);
        if flags.is_layout() {
            let in_dir = |d: &str| root.join(d);
            let (rec_dir, init_dir) = (
                in_dir(&flags.dir(flag::RECOVERY)),
                in_dir(&flags.dir(flag::INITDB)),
            );
            let overlays = root.join("overlays");
            let (mut base, mut recovery, mut initdb) = (Vec::new(), Vec::new(), Vec::new());
            for p in manifest_files(&root)? {
                if p.starts_with(&rec_dir) {
                    recovery.push(read(&p)?);
                } else if p.starts_with(&init_dir) {
                    initdb.push(read(&p)?);
                } else if !p.starts_with(&overlays) {
                    base.push(read(&p)?);
                }
            }
            return Ok(tree(Layout::Overlays {
                kustomization,
                base,
                recovery,
                initdb,
            }));
        }
    }

    // A parent of database directories is not a single-file layout: point
    // at the database directory instead of editing its base/ in place.
    if let Some(sub) = overlay_layout_below(&root, 2) {
        return Err(PlanError::input(
            format!(
                "{}: not a database directory (no kustomization.yaml with the overlays/initdb | overlays/recovery flag here), but {} has one",
                dir.display(),
                sub.display()
            ),
            format!("run: kubectl cnpg-plan recovery {}", sub.display()),
        ));
    }
    let files = manifest_files(&root)?
        .iter()
        .map(|p| read(p))
        .collect::<Result<_, _>>()?;
    Ok(tree(Layout::SingleFile { files }))
}

/// Every manifest file under `dir`, as rendering would read them.
fn manifest_files(dir: &Path) -> Result<Vec<PathBuf>, PlanError> {
    render::manifest_files(dir, true).map_err(|e| {
        PlanError::input(
            e.to_string(),
            "check the directory is readable (and holds no broken entries)",
        )
    })
}

/// The first directory below `dir` (at most `depth` levels) whose
/// kustomization carries the initdb/recovery overlay flag.
fn overlay_layout_below(dir: &Path, depth: usize) -> Option<PathBuf> {
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && !p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or(".")
                    .starts_with('.')
        })
        .collect();
    subdirs.sort();
    for sub in subdirs {
        if let Some(k) = source::kustomization_file(&sub) {
            let text = std::fs::read_to_string(&k).unwrap_or_default();
            if Flags::scan(&text).is_layout() {
                return Some(sub);
            }
        }
        if depth > 1
            && let Some(found) = overlay_layout_below(&sub, depth - 1)
        {
            return Some(found);
        }
    }
    None
}
