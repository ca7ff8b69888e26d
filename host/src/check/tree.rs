//! Splitting inputs into units and rendering each unit on its own.
//!
//! A directory is walked the way a GitOps tool would apply it:
//! - a directory holding a kustomization is ONE unit (`kustomize build`), and
//!   is not descended into;
//! - a plain directory is descended into (sorted, hidden entries and Helm
//!   chart directories skipped); each manifest file in it is a unit;
//! - a kustomization or file that another kustomization of the walk lists
//!   (`resources`, `bases`, `components`, patches) is a part of that one,
//!   not a root of its own, so a base is not checked without its overlay.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use super::{Options, flux};
use crate::manifests;
use crate::render::{self, RenderError, RenderOptions};

/// What a unit is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitKind {
    /// A directory with a kustomization, rendered with `kustomize build`.
    Kustomization,
    /// A plain manifest file.
    Files,
    /// A Flux `Kustomization` object, rendered as kustomize-controller would.
    Flux,
    /// A manifest stream read from stdin.
    Stream,
}

impl UnitKind {
    /// Stable name used in JSON output.
    pub fn as_str(&self) -> &'static str {
        match self {
            UnitKind::Kustomization => "kustomization",
            UnitKind::Files => "file",
            UnitKind::Flux => "flux-kustomization",
            UnitKind::Stream => "stream",
        }
    }
}

/// Where a unit's manifests come from.
#[derive(Debug, Clone, PartialEq)]
pub enum UnitSource {
    /// A kustomization directory.
    Kustomization(PathBuf),
    /// One manifest file.
    File(PathBuf),
    /// Text read from stdin.
    Stream(String),
    /// A Flux Kustomization.
    Flux(Box<flux::FluxUnit>),
}

/// One independently rendered part of a check.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// How it is shown.
    pub label: String,
    /// What it is.
    pub kind: UnitKind,
    /// Where its manifests come from.
    pub source: UnitSource,
    /// Files a rendered object of this unit may be declared in (used to point
    /// findings at a file), most specific first.
    pub files: Vec<PathBuf>,
    /// Of [`Unit::files`], those used as patches (a lower-priority match).
    pub patch_files: BTreeSet<PathBuf>,
}

impl Unit {
    /// A unit for a stream read from stdin.
    pub fn stream(label: &str, text: &str) -> Unit {
        Unit {
            label: label.to_string(),
            kind: UnitKind::Stream,
            source: UnitSource::Stream(text.to_string()),
            files: Vec::new(),
            patch_files: BTreeSet::new(),
        }
    }

    fn file(path: &Path) -> Unit {
        Unit {
            label: path.display().to_string(),
            kind: UnitKind::Files,
            source: UnitSource::File(path.to_path_buf()),
            files: vec![path.to_path_buf()],
            patch_files: BTreeSet::new(),
        }
    }

    fn kustomization(dir: &Path) -> Unit {
        let (files, patch_files) = source_files(dir);
        Unit {
            label: dir.display().to_string(),
            kind: UnitKind::Kustomization,
            source: UnitSource::Kustomization(dir.to_path_buf()),
            files,
            patch_files,
        }
    }
}

/// What rendering one unit produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    /// The objects, in output order, namespaces as rendered.
    pub objects: Vec<Value>,
    /// Notes for the user.
    pub notes: Vec<String>,
}

/// Splits `path` into units (see the module docs).
pub fn discover(path: &Path, notes: &mut Vec<String>) -> Result<Vec<Unit>, String> {
    if path.is_file() {
        return Ok(vec![Unit::file(path)]);
    }
    if render::is_kustomization(path) {
        return Ok(vec![Unit::kustomization(path)]);
    }
    let mut walk = Walk::default();
    walk.dir(path, notes)?;
    let mut referenced = BTreeSet::new();
    for dir in &walk.kustomizations {
        referenced.extend(kustomization_refs(dir).all());
    }
    let is_referenced = |p: &Path| std::fs::canonicalize(p).is_ok_and(|c| referenced.contains(&c));
    let mut units = Vec::new();
    for file in walk.files.iter().filter(|f| !is_referenced(f)) {
        units.push(Unit::file(file));
    }
    // A kustomization may use files elsewhere in the tree (`../../components`):
    // they are its candidates too, after its own.
    let pool = render::manifest_files(path, true).unwrap_or_default();
    for dir in walk.kustomizations.iter().filter(|d| !is_referenced(d)) {
        let mut unit = Unit::kustomization(dir);
        unit.files.extend(pool.iter().cloned());
        units.push(unit);
    }
    Ok(units)
}

/// A walk of plain directories.
#[derive(Default)]
pub(super) struct Walk {
    /// Directories holding a kustomization (not descended into).
    pub kustomizations: Vec<PathBuf>,
    /// Manifest files of plain directories.
    pub files: Vec<PathBuf>,
}

impl Walk {
    pub(super) fn dir(&mut self, dir: &Path, notes: &mut Vec<String>) -> Result<(), String> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .and_then(|rd| rd.map(|e| e.map(|e| e.path())).collect())
            .map_err(|e| format!("reading directory {}: {e}", dir.display()))?;
        entries.sort();
        let mut subdirs = Vec::new();
        for p in entries {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.starts_with('.') {
                continue;
            }
            let symlink = std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
            if p.is_dir() && symlink {
                // A link may loop or leave the tree; kubectl -R does not
                // follow it either.
                notes.push(format!(
                    "{}: a symlink to a directory, not followed",
                    p.display()
                ));
            } else if p.is_dir() {
                subdirs.push(p);
            } else if is_manifest_name(name)
                && !render::KUSTOMIZATION_FILES.contains(&name)
                && p.is_file()
            {
                // Regular files only: reading a FIFO or a device would hang.
                self.files.push(p);
            }
        }
        for sub in subdirs {
            if render::is_kustomization(&sub) {
                self.kustomizations.push(sub);
            } else if sub.join("Chart.yaml").is_file() {
                notes.push(format!(
                    "{}: a Helm chart, skipped (its templates are not manifests; render it with \
                     `helm template … | check -` or a kustomization with helmCharts and --enable-helm)",
                    sub.display()
                ));
            } else {
                self.dir(&sub, notes)?;
            }
        }
        Ok(())
    }
}

fn is_manifest_name(name: &str) -> bool {
    [".yaml", ".yml", ".json"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// The paths a kustomization refers to, canonicalised.
#[derive(Debug, Default)]
pub(super) struct Refs {
    /// `resources`, `bases`, `components`: directories and files.
    pub resources: Vec<PathBuf>,
    /// Files used as patches.
    pub patches: Vec<PathBuf>,
}

impl Refs {
    fn all(self) -> impl Iterator<Item = PathBuf> {
        self.resources.into_iter().chain(self.patches)
    }
}

/// Reads the kustomization file of `dir` (errors ignored: kustomize reports
/// them when it renders).
pub(super) fn kustomization_refs(dir: &Path) -> Refs {
    let mut refs = Refs::default();
    let Some((_, k)) = read_kustomization(dir) else {
        return refs;
    };
    let strings = |key: &str| string_list(&k, key);
    let resolve = |rel: &str| -> Option<PathBuf> {
        // Remote resources (URLs, git refs) are not files of this tree.
        if is_remote(rel) {
            return None;
        }
        std::fs::canonicalize(dir.join(rel)).ok()
    };
    for key in ["resources", "bases", "components"] {
        refs.resources
            .extend(strings(key).iter().filter_map(|r| resolve(r)));
    }
    refs.patches.extend(
        strings("patchesStrategicMerge")
            .iter()
            .filter_map(|r| resolve(r)),
    );
    for key in ["patches", "patchesJson6902"] {
        if let Some(items) = k.get(key).and_then(Value::as_array) {
            refs.patches.extend(
                items
                    .iter()
                    .filter_map(|i| i.get("path").and_then(Value::as_str))
                    .filter_map(resolve),
            );
        }
    }
    refs
}

/// The kustomization file of `dir` and its first document (`None` when there
/// is none or it does not parse: kustomize reports that when it renders).
fn read_kustomization(dir: &Path) -> Option<(PathBuf, Value)> {
    let file = render::KUSTOMIZATION_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())?;
    let text = std::fs::read_to_string(&file).ok()?;
    let doc = manifests::parse_documents(&text).ok()?.into_iter().next()?;
    Some((file, doc))
}

/// The string items of the list at `key`.
fn string_list(doc: &Value, key: &str) -> Vec<String> {
    doc.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The manifest files under a kustomization directory (recursively), and
/// which of them its kustomizations use as patches.
pub(super) fn source_files(dir: &Path) -> (Vec<PathBuf>, BTreeSet<PathBuf>) {
    let files = render::manifest_files(dir, true).unwrap_or_default();
    let mut patches = BTreeSet::new();
    for f in &files {
        let is_kustomization = f
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| render::KUSTOMIZATION_FILES.contains(&n));
        if is_kustomization && let Some(parent) = f.parent() {
            patches.extend(kustomization_refs(parent).patches);
        }
    }
    let files = files
        .into_iter()
        .filter(|f| {
            !f.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| render::KUSTOMIZATION_FILES.contains(&n))
        })
        .collect();
    (files, patches)
}

/// Renders every unit, two at a time on a 2-core machine (kustomize is a
/// separate process per unit, so this is where the wall time goes).
pub fn render_all(units: &[Unit], opts: &Options) -> Vec<Result<Rendered, String>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8)
        .min(units.len().max(1));
    // One unit (or no threads, as in the browser): no worker to start.
    if workers <= 1 {
        return units.iter().map(|u| render_unit(u, opts)).collect();
    }
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Result<Rendered, String>>>> = Mutex::new(vec![None; units.len()]);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(unit) = units.get(i) else { break };
                    let result = render_unit(unit, opts);
                    if let Ok(mut slots) = slots.lock()
                        && let Some(slot) = slots.get_mut(i)
                    {
                        *slot = Some(result);
                    }
                }
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("the render worker stopped unexpectedly".into())))
        .collect()
}

/// Renders one unit.
pub fn render_unit(unit: &Unit, opts: &Options) -> Result<Rendered, String> {
    let render_opts = RenderOptions {
        enable_helm: opts.enable_helm,
        recursive: false,
        kustomize: opts.kustomize.clone(),
        load_restrictor_none: false,
    };
    match &unit.source {
        UnitSource::Kustomization(dir) => {
            refuse_remote(dir)?;
            let objects = render::render(dir, &render_opts).map_err(|e| render_error(&e, dir))?;
            Ok(Rendered {
                objects,
                notes: Vec::new(),
            })
        }
        UnitSource::File(path) => {
            let objects = manifests::parse_file(path).map_err(|e| e.to_string())?;
            Ok(keep_manifests(objects, &unit.label))
        }
        UnitSource::Stream(text) => {
            let objects =
                manifests::parse_stream(text).map_err(|e| format!("{}: {e}", unit.label))?;
            Ok(keep_manifests(objects, &unit.label))
        }
        UnitSource::Flux(ks) => flux::render(ks, &render_opts),
    }
}

/// Whether a kustomization entry names something outside the tree that
/// kustomize would fetch (a URL, a `github.com/...` or `git@` repository).
pub fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("github.com/")
        || entry.starts_with("gitlab.com/")
        || entry.starts_with("bitbucket.org/")
        || entry.starts_with("git@")
        || entry.contains("?ref=")
}

/// Refuses a kustomization that would fetch remote resources (here or in a
/// local base it uses), before kustomize runs: a check never reaches the
/// network, and its answer must not depend on it.
pub fn refuse_remote(dir: &Path) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(canonical) = std::fs::canonicalize(&d) else {
            continue;
        };
        if !seen.insert(canonical) || seen.len() > 1000 {
            continue;
        }
        let Some((file, doc)) = read_kustomization(&d) else {
            continue;
        };
        for key in ["resources", "bases", "components"] {
            for entry in string_list(&doc, key) {
                if is_remote(&entry) {
                    return Err(format!(
                        "{}: {key} entry {entry:?} is remote; cnpg-guard never fetches (no network): vendor it into the repository, or check the rendered output with `kustomize build … | check -`",
                        file.display()
                    ));
                }
                let local = d.join(&entry);
                if local.is_dir() {
                    stack.push(local);
                }
            }
        }
    }
    Ok(())
}

/// Drops documents that are not Kubernetes objects (no `apiVersion` or no
/// `kind`: Helm values, tool configs), with a note: a plain directory often
/// holds such files, and kubectl would refuse them rather than apply them.
fn keep_manifests(objects: Vec<Value>, label: &str) -> Rendered {
    let before = objects.len();
    let objects: Vec<Value> = objects.into_iter().filter(is_manifest).collect();
    let mut notes = Vec::new();
    if objects.len() < before {
        notes.push(format!(
            "{label}: skipped {} document(s) without apiVersion and kind (not Kubernetes objects)",
            before - objects.len()
        ));
    }
    Rendered { objects, notes }
}

/// Whether a value has a non-empty `apiVersion` and `kind`.
pub fn is_manifest(v: &Value) -> bool {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    s("apiVersion") && s("kind")
}

/// A render error as one line, with the absolute directory replaced by the
/// path as given (so messages are stable across checkouts).
pub fn render_error(e: &RenderError, shown: &Path) -> String {
    let mut text = match e {
        RenderError::Empty(_) => "the render produced no Kubernetes objects".to_string(),
        other => other.to_string(),
    };
    if let Ok(abs) = std::fs::canonicalize(shown) {
        text = text.replace(&abs.display().to_string(), &shown.display().to_string());
    }
    super::one_line_bounded(&text)
}
