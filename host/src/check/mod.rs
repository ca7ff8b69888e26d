//! The one `check`: `argocd-cnpg-guard check` and `kubectl cnpg-plan check`
//! are this module with a different program name.
//!
//! A check takes inputs (files, directories, `-` for stdin), splits them into
//! [`tree::Unit`]s (a kustomization, a plain manifest file, a Flux
//! `Kustomization`, the stdin stream), renders each unit on its own — a unit
//! that fails is reported with its error and the rest are still checked — and
//! evaluates every rendered object through the embedded policy as one bundle
//! (the whole tree is the lookup context, as it would be in the cluster).
//!
//! Exit codes are [`exit`]: one table for both programs.

use std::path::PathBuf;
#[cfg(feature = "runtime")]
use std::{collections::BTreeMap, path::Path, sync::Arc};

use cnpg_guard_core::{ObjectRef, Verdict};
use serde_json::Value;

use crate::HostError;
use crate::bundle::{self, BundleOptions, Evaluator};
#[cfg(feature = "runtime")]
use crate::{ContextSource, Engine, MemorySource, ModuleCache};

#[cfg(feature = "runtime")]
pub mod cli;
pub mod flux;
pub mod locate;
pub mod report;
pub mod settings;
pub mod tree;

/// Process exit codes of both CLIs. Each means one thing, so CI can branch on it.
pub mod exit {
    /// Nothing denied (warnings do not fail); `generate` printed the manifests;
    /// a plan was computed and accepted.
    pub const OK: u8 = 0;
    /// The policy denied at least one object (or the planned result).
    pub const DENIED: u8 = 1;
    /// Bad command line, bad parameter or settings, unreadable input.
    pub const USAGE: u8 = 2;
    /// Something could not be rendered: a kustomization failed, a render was
    /// empty, a file is not parseable manifests. `check` still checks every
    /// other unit and reports them; this code wins over [`DENIED`] because
    /// the verdict is incomplete.
    pub const RENDER: u8 = 3;
    /// The policy engine failed, output could not be written, or
    /// `kubectl cnpg-plan recovery --write` failed (every file left untouched).
    pub const INTERNAL: u8 = 4;
    /// `kubectl cnpg-plan recovery` only: a live check against the cluster failed.
    pub const LIVE: u8 = 5;

    /// The table, as printed in `--help` of both programs.
    pub const TABLE: &str = "\
Exit codes (the same for argocd-cnpg-guard and kubectl cnpg-plan):
  0  ok: nothing denied (warnings allowed), manifests printed, plan accepted
  1  denied: the policy denies at least one object (or the planned result)
  2  usage: bad flag, parameter or settings, unreadable input
  3  render: a kustomization/file/Flux Kustomization could not be rendered or is empty
     (check still checks the rest and reports it; 3 wins over 1)
  4  internal: policy engine failure, output not writable, or --write failed (nothing changed)
  5  live: a live check against the cluster failed (kubectl cnpg-plan recovery)";
}

/// One input of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file or directory.
    Path(PathBuf),
    /// A manifest stream already read (from stdin: `-`).
    Stream {
        /// How it is shown (`-`).
        label: String,
        /// The text.
        text: String,
    },
}

/// How a check renders and evaluates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// The policy settings (see [`settings::PluginSettings::policy_settings`]).
    pub policy_settings: Value,
    /// Namespace of namespaced objects that name none after rendering
    /// (`-n`, `ARGOCD_APP_NAMESPACE`); `default` when unset.
    pub namespace: Option<String>,
    /// Let kustomize inflate `helmCharts`.
    pub enable_helm: bool,
    /// Render the Flux `Kustomization`s found in the inputs as Flux would.
    pub flux: bool,
    /// Root `spec.path` of Flux Kustomizations is relative to (default: the
    /// git repository holding the input, else the input directory).
    pub source_root: Option<PathBuf>,
    /// kustomize program (default: `kustomize`, then `kubectl`, on PATH).
    pub kustomize: Option<PathBuf>,
}

/// One object as it was checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// Which object (namespace as evaluated).
    pub object: ObjectRef,
    /// The policy's verdict.
    pub verdict: Verdict,
    /// The unit that rendered it (index into [`Report::units`]).
    pub unit: usize,
    /// The source file that declares it, when known.
    pub file: Option<String>,
    /// 1-based line of its document in [`Checked::file`].
    pub line: Option<u64>,
    /// Per finding (same order as `verdict.findings`): the line of its field
    /// path in [`Checked::file`], when found.
    pub finding_lines: Vec<Option<u64>>,
}

/// One rendered unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitReport {
    /// How the unit is shown (a path, `-`, `Kustomization flux-system/apps`).
    pub label: String,
    /// What kind of unit it is.
    pub kind: tree::UnitKind,
    /// Objects it rendered.
    pub objects: usize,
    /// Why it could not be rendered (one line), when it failed.
    pub error: Option<String>,
}

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The inputs as given.
    pub inputs: Vec<String>,
    /// Every unit, in discovery order.
    pub units: Vec<UnitReport>,
    /// Every checked object, in unit order then render order.
    pub checked: Vec<Checked>,
    /// Things the user should know that are not findings (skipped files,
    /// unresolved Flux variables), one line each.
    pub notes: Vec<String>,
    /// The objects as `generate` prints them: render order, the policy's
    /// mutations applied, no namespace added.
    pub objects: Vec<Value>,
}

impl Report {
    /// True when no object was denied.
    pub fn accepted(&self) -> bool {
        self.checked.iter().all(|c| c.verdict.accepted)
    }

    /// True when every unit rendered.
    pub fn complete(&self) -> bool {
        self.units.iter().all(|u| u.error.is_none())
    }

    /// The exit code of this report (see [`exit`]).
    pub fn exit_code(&self) -> u8 {
        if !self.complete() {
            exit::RENDER
        } else if !self.accepted() {
            exit::DENIED
        } else {
            exit::OK
        }
    }
}

/// Why a check could not run at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// Bad input or settings (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Nothing at all could be rendered, or nothing was found (exit 3).
    #[error("{0}")]
    Render(String),
    /// Engine failure (exit 4).
    #[error("{0}")]
    Internal(String),
}

impl CheckError {
    /// The exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            CheckError::Usage(_) => exit::USAGE,
            CheckError::Render(_) => exit::RENDER,
            CheckError::Internal(_) => exit::INTERNAL,
        }
    }
}

/// Longest error text passed on, in characters.
pub const MAX_ERROR_CHARS: usize = 2000;

/// Loads the policy and asks it whether the settings are valid (unknown rule
/// ids, `mutate` on a rule that cannot mutate, ...), so no CLI duplicates the
/// policy's knowledge of its rules.
#[cfg(feature = "runtime")]
pub fn load_engine(cache: ModuleCache, policy_settings: &Value) -> Result<Engine, CheckError> {
    let engine = Engine::new(cache).map_err(|e| CheckError::Internal(host_error(&e)))?;
    let empty: Arc<dyn ContextSource> = Arc::new(MemorySource::new(Vec::new()));
    let validation = engine
        .instance(empty)
        .and_then(|instance| instance.validate_settings(policy_settings))
        .map_err(|e| CheckError::Internal(host_error(&e)))?;
    if validation.valid {
        Ok(engine)
    } else {
        Err(CheckError::Usage(format!(
            "bad parameter: {}",
            one_line_bounded(
                validation
                    .message
                    .as_deref()
                    .unwrap_or("the policy rejected the settings")
            )
        )))
    }
}

/// Renders every input and evaluates every object through `engine`
/// ([`prepare`] then [`evaluate`]).
///
/// Fails as a whole only when there is nothing to check: no input rendered
/// an object (exit 3), or an input path does not exist (exit 2).
#[cfg(feature = "runtime")]
pub fn run(engine: &Engine, inputs: &[Input], opts: &Options) -> Result<Report, CheckError> {
    evaluate(engine, prepare(inputs, opts)?, opts)
}

/// Loads the engine (and has the policy check the settings) on a second
/// thread while the inputs render: the two are independent, and kustomize is
/// the slow part. The engine comes back first, so a bad setting, the cheaper
/// fix, is reported before a render error.
#[cfg(feature = "runtime")]
pub fn load_and_prepare(
    cache: ModuleCache,
    inputs: &[Input],
    opts: &Options,
) -> Result<(Engine, Result<Prepared, CheckError>), CheckError> {
    let (engine, prepared) = std::thread::scope(|s| {
        let engine = s.spawn(|| load_engine(cache, &opts.policy_settings));
        let prepared = prepare(inputs, opts);
        (engine.join(), prepared)
    });
    let engine = engine.map_err(|_| {
        CheckError::Internal("the policy engine thread stopped unexpectedly".into())
    })??;
    Ok((engine, prepared))
}

/// Rendered inputs, ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    inputs: Vec<String>,
    units: Vec<tree::Unit>,
    reports: Vec<UnitReport>,
    objects: Vec<Value>,
    origin: Vec<usize>,
    notes: Vec<String>,
}

impl Prepared {
    /// Units that failed to render: (label, one-line error).
    pub fn errors(&self) -> Vec<(&str, &str)> {
        self.reports
            .iter()
            .filter_map(|u| u.error.as_deref().map(|e| (u.label.as_str(), e)))
            .collect()
    }

    /// Notes collected while rendering.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The rendered objects, in unit order then render order.
    pub fn into_objects(self) -> Vec<Value> {
        self.objects
    }
}

/// Splits the inputs into units and renders them (no policy involved, so
/// this can run while the engine loads).
pub fn prepare(inputs: &[Input], opts: &Options) -> Result<Prepared, CheckError> {
    let mut notes = Vec::new();
    let mut units = Vec::new();
    for input in inputs {
        match input {
            Input::Path(p) => {
                if !p.exists() {
                    return Err(CheckError::Usage(format!(
                        "{}: no such file or directory",
                        p.display()
                    )));
                }
                let found = if opts.flux {
                    flux::discover(p, opts.source_root.as_deref(), &mut notes)
                } else {
                    tree::discover(p, &mut notes)
                };
                units.extend(found.map_err(|e| CheckError::Usage(one_line_bounded(&e)))?);
            }
            Input::Stream { label, text } => units.push(tree::Unit::stream(label, text)),
        }
    }
    let rendered = tree::render_all(&units, opts);
    let mut reports = Vec::with_capacity(units.len());
    let mut objects = Vec::new();
    let mut origin = Vec::new();
    for (i, (unit, result)) in units.iter().zip(rendered).enumerate() {
        let (count, error) = match result {
            Ok(out) => {
                notes.extend(out.notes);
                let n = out.objects.len();
                origin.extend(std::iter::repeat_n(i, n));
                objects.extend(out.objects);
                (n, None)
            }
            Err(e) => (0, Some(one_line_bounded(&e))),
        };
        reports.push(UnitReport {
            label: unit.label.clone(),
            kind: unit.kind.clone(),
            objects: count,
            error,
        });
    }
    if !opts.flux && objects.iter().any(flux::is_flux_kustomization) {
        notes.push(
            "the tree holds Flux Kustomizations: pass --flux to render them as Flux does \
             (spec.path, targetNamespace, components, postBuild substitutions)"
                .to_string(),
        );
    }
    let shown: Vec<String> = inputs.iter().map(input_label).collect();
    if objects.is_empty() {
        let failed: Vec<String> = reports
            .iter()
            .filter_map(|u| {
                // File and stream errors already start with their label.
                u.error
                    .as_ref()
                    .map(|e| match e.strip_prefix(u.label.as_str()) {
                        Some(rest) if rest.starts_with(": ") => e.clone(),
                        _ => format!("{}: {e}", u.label),
                    })
            })
            .collect();
        return Err(CheckError::Render(if failed.is_empty() {
            format!(
                "{}: no Kubernetes objects found; refusing to report an empty check as passing",
                shown.join(", ")
            )
        } else {
            one_line_bounded(&failed.join("\n"))
        }));
    }
    Ok(Prepared {
        inputs: shown,
        units,
        reports,
        objects,
        origin,
        notes,
    })
}

/// Evaluates prepared objects as one bundle through the policy `.wasm`.
#[cfg(feature = "runtime")]
pub fn evaluate(engine: &Engine, p: Prepared, opts: &Options) -> Result<Report, CheckError> {
    evaluate_with(&mut bundle::WasmEvaluator::new(engine), p, opts)
}

/// Evaluates prepared objects as one bundle through `evaluator` and locates
/// each in its file.
pub fn evaluate_with(
    evaluator: &mut dyn Evaluator,
    p: Prepared,
    opts: &Options,
) -> Result<Report, CheckError> {
    let index = locate::Index::build(&p.units);
    let ns = opts
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| bundle::DEFAULT_NAMESPACE.to_string());
    let located: Vec<(Option<String>, Option<u64>)> = p
        .objects
        .iter()
        .zip(&p.origin)
        .map(|(o, u)| index.find(o, *u))
        .collect();
    let report = bundle::evaluate_bundle_by(
        evaluator,
        p.objects,
        &opts.policy_settings,
        &BundleOptions {
            default_namespace: ns,
        },
    )
    .map_err(|e| CheckError::Internal(host_error(&e)))?;
    let mut fields = locate::FieldLines::for_units(&p.units);
    let checked = report
        .results
        .into_iter()
        .zip(p.origin)
        .zip(located)
        .map(|((r, unit), (file, line))| {
            let finding_lines = r
                .verdict
                .findings
                .iter()
                .map(|f| match (&file, line) {
                    (Some(file), Some(line)) => fields.line(file, line, &f.path),
                    _ => None,
                })
                .collect();
            Checked {
                object: r.object,
                verdict: r.verdict,
                unit,
                file,
                line,
                finding_lines,
            }
        })
        .collect();
    Ok(Report {
        inputs: p.inputs,
        units: p.reports,
        checked,
        notes: p.notes,
        objects: report.objects,
    })
}

fn input_label(i: &Input) -> String {
    match i {
        Input::Path(p) => p.display().to_string(),
        Input::Stream { label, .. } => label.clone(),
    }
}

/// Where the compiled policy is cached: `CNPG_GUARD_CACHE_DIR` when set;
/// else the host default (XDG cache / `~/.cache`) when it is usable; else
/// (the ArgoCD sidecar's HOME is not writable) a private directory under the
/// temp dir; else no cache (compile in memory, slower but correct).
#[cfg(feature = "runtime")]
pub fn module_cache(env: &BTreeMap<String, String>) -> ModuleCache {
    if let Some(dir) = env.get("CNPG_GUARD_CACHE_DIR").filter(|d| !d.is_empty()) {
        return ModuleCache::Dir(PathBuf::from(dir));
    }
    if let Some(dir) = ModuleCache::Default.dir()
        && usable_private_dir(&dir)
    {
        return ModuleCache::Dir(dir);
    }
    let tmp = env
        .get("TMPDIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"))
        .join("cnpg-guard-cache");
    if usable_private_dir(&tmp) {
        ModuleCache::Dir(tmp)
    } else {
        log::info!(
            "no private cache directory is usable; the policy is compiled on every run \
             (set CNPG_GUARD_CACHE_DIR)"
        );
        ModuleCache::Off
    }
}

/// True when `dir` exists or can be created, is a real directory (not a
/// symlink), is writable by us and, on Unix, is owned by us and not
/// accessible by group/others — the cache holds native code that is loaded
/// and run, so a directory another user can write to must not be used.
#[cfg(feature = "runtime")]
fn usable_private_dir(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        if std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .is_err()
        {
            return false;
        }
        let Ok(meta) = std::fs::symlink_metadata(dir) else {
            return false;
        };
        if !meta.is_dir() || meta.permissions().mode() & 0o022 != 0 {
            return false;
        }
        // Owned by us: compare with a file we create in it.
        let probe = dir.join(format!(".probe-{}", std::process::id()));
        let owner = std::fs::File::create(&probe)
            .and_then(|_| std::fs::metadata(&probe))
            .map(|m| m.uid());
        let _ = std::fs::remove_file(&probe);
        matches!(owner, Ok(uid) if uid == meta.uid())
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir).is_ok()
    }
}

/// A host error as one bounded line.
pub fn host_error(e: &HostError) -> String {
    one_line_bounded(&e.to_string())
}

/// Joins lines with ` | `, drops klog headers (`E1122 11:36:36.093499 17984
/// run.go:72] ...`: their timestamp and pid would make every error differ,
/// and ArgoCD caches errors), and bounds the length.
pub fn one_line_bounded(text: &str) -> String {
    let flat: String = text
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(strip_klog)
        .collect::<Vec<_>>()
        .join(" | ");
    if flat.chars().count() > MAX_ERROR_CHARS {
        let cut: String = flat.chars().take(MAX_ERROR_CHARS).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

/// `kubectl kustomize` reports through klog:
/// `E1122 11:36:36.093499   17984 run.go:72] "command failed" err="..."`.
/// Keep only the message.
pub fn strip_klog(line: &str) -> String {
    let Some(start) = find_klog_start(line) else {
        return line.to_string();
    };
    let before = line.get(..start).unwrap_or_default();
    let Some((_, rest)) = line.get(start..).and_then(|l| l.split_once("] ")) else {
        return line.to_string();
    };
    let msg = rest
        .strip_prefix("\"command failed\" err=\"")
        .and_then(|m| m.strip_suffix('"'))
        .map(|m| m.replace("\\\"", "\""))
        .unwrap_or_else(|| rest.to_string());
    format!("{before}{msg}")
}

/// Byte offset of a klog header (`E1122 hh:mm:ss.micros pid file.go:N] `) in `line`.
fn find_klog_start(line: &str) -> Option<usize> {
    line.char_indices().find_map(|(i, c)| {
        if !matches!(c, 'I' | 'W' | 'E' | 'F') {
            return None;
        }
        let tail = line.get(i..)?;
        let head = tail.split_once("] ")?.0;
        let digits = head.get(1..5)?;
        let colon = head.get(8..9)?;
        (digits.chars().all(|c| c.is_ascii_digit()) && colon == ":" && head.contains(".go:"))
            .then_some(i)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn klog_header_is_dropped() {
        let line = r#"`/usr/bin/kubectl kustomize .` failed (exit status: 1): E1122 11:36:36.093499   17984 run.go:72] "command failed" err="accumulating resources: 'x.yaml': no such file""#;
        assert_eq!(
            strip_klog(line),
            "`/usr/bin/kubectl kustomize .` failed (exit status: 1): accumulating resources: 'x.yaml': no such file"
        );
        let plain = "Error: accumulating resources: boom";
        assert_eq!(strip_klog(plain), plain);
        assert_eq!(
            strip_klog(r#"E0101 00:00:00.000001 1 run.go:72] "command failed" err="a \"b\"""#),
            r#"a "b""#
        );
    }

    #[test]
    fn exit_code_precedence() {
        let unit = |error: Option<&str>| UnitReport {
            label: "u".into(),
            kind: tree::UnitKind::Files,
            objects: 0,
            error: error.map(str::to_string),
        };
        let denied = Checked {
            object: ObjectRef::default(),
            verdict: Verdict::default(),
            unit: 0,
            file: None,
            line: None,
            finding_lines: vec![],
        };
        let mut r = Report {
            inputs: vec![],
            units: vec![unit(None)],
            checked: vec![],
            notes: vec![],
            objects: vec![],
        };
        assert_eq!(r.exit_code(), exit::OK);
        r.checked.push(denied);
        assert_eq!(r.exit_code(), exit::DENIED);
        r.units.push(unit(Some("boom")));
        assert_eq!(r.exit_code(), exit::RENDER);
    }
}
