//! Turns a directory into manifests: `kustomize build` when it holds a
//! kustomization, else the `*.yaml`/`*.yml`/`*.json` files it contains.
//!
//! kustomize runs with safe defaults: no `--enable-exec`, no
//! `--enable-alpha-plugins`, the default load restrictor (off only for Flux
//! mode, as Flux builds), and `--enable-helm` only on request. It is started directly (never through a shell).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::manifests::{self, ManifestError};

/// File names that make a directory a kustomization.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// How to render.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Pass `--enable-helm` to kustomize (runs `helm template` for `helmCharts`).
    pub enable_helm: bool,
    /// For plain directories, also read subdirectories (sorted, depth first,
    /// hidden directories skipped).
    pub recursive: bool,
    /// Use this kustomize-compatible program instead of looking for `kustomize`,
    /// then `kubectl`, on `PATH`. A program whose file name starts with
    /// `kubectl` is invoked as `kubectl kustomize`.
    pub kustomize: Option<PathBuf>,
    /// `--load-restrictor LoadRestrictionsNone`, as Flux's kustomize-controller
    /// builds (files outside the kustomization root may be loaded).
    pub load_restrictor_none: bool,
}

/// Why a directory could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The path does not exist or is neither a file nor a directory.
    #[error("{}: no such file or directory", .0.display())]
    NotFound(PathBuf),
    /// A kustomization, but neither `kustomize` nor `kubectl` is on PATH.
    #[error("{} holds a kustomization but neither `kustomize` nor `kubectl` is on PATH", .0.display())]
    ToolMissing(PathBuf),
    /// kustomize failed; `stderr` is what it said.
    #[error("`{command}` failed ({status}): {stderr}")]
    Kustomize {
        /// The command line that ran.
        command: String,
        /// Exit status.
        status: String,
        /// kustomize's stderr, trimmed.
        stderr: String,
    },
    /// A file or directory could not be read, or the tool could not be started.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The rendered or read manifests do not parse.
    #[error("{context}: {source}")]
    Manifest {
        /// Where they came from.
        context: String,
        /// The parse error.
        source: ManifestError,
    },
    /// Rendering produced no objects at all.
    #[error("{}: rendering produced no Kubernetes objects", .0.display())]
    Empty(PathBuf),
}

/// Renders `dir` (a kustomization or plain manifests; a single file is read as
/// a manifest stream). Returns the objects in output order.
pub fn render(dir: &Path, opts: &RenderOptions) -> Result<Vec<Value>, RenderError> {
    let objects = if dir.is_file() {
        manifests::parse_file(dir).map_err(|source| RenderError::Manifest {
            context: "reading manifests".into(),
            source,
        })?
    } else if !dir.is_dir() {
        return Err(RenderError::NotFound(dir.to_path_buf()));
    } else if is_kustomization(dir) {
        kustomize(dir, opts)?
    } else {
        let mut files = Vec::new();
        collect_files(dir, opts.recursive, &mut files)?;
        let mut objects = Vec::new();
        for file in files {
            let parsed = manifests::parse_file(&file).map_err(|source| RenderError::Manifest {
                context: "reading manifests".into(),
                source,
            })?;
            objects.extend(parsed);
        }
        objects
    };
    if objects.is_empty() {
        return Err(RenderError::Empty(dir.to_path_buf()));
    }
    Ok(objects)
}

/// Whether `dir` contains a kustomization file.
pub fn is_kustomization(dir: &Path) -> bool {
    KUSTOMIZATION_FILES.iter().any(|f| dir.join(f).is_file())
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> RenderError {
    move |source| RenderError::Io { context, source }
}

/// The manifest files (`*.yaml`, `*.yml`, `*.json`) of a plain directory, in
/// the order [`render`] reads them: sorted, hidden entries skipped, and with
/// `recursive`, subdirectories after the files, depth first.
pub fn manifest_files(dir: &Path, recursive: bool) -> Result<Vec<PathBuf>, RenderError> {
    let mut out = Vec::new();
    collect_files(dir, recursive, &mut out)?;
    Ok(out)
}

fn collect_files(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> Result<(), RenderError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(format!("reading directory {}", dir.display())))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io(format!("reading directory {}", dir.display())))?;
    entries.sort();
    let mut subdirs = Vec::new();
    for path in entries {
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if path.is_dir() {
            // Symlinked directories are not followed: they may loop or leave
            // the tree (kubectl -R does not follow them either).
            let symlink =
                std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
            if recursive && !hidden && !symlink {
                subdirs.push(path);
            }
            continue;
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        // Regular files only (a FIFO named x.yaml would block the read).
        if !hidden && ["yaml", "yml", "json"].contains(&ext) && path.is_file() {
            out.push(path);
        }
    }
    for sub in subdirs {
        collect_files(&sub, recursive, out)?;
    }
    Ok(())
}

/// Finds an executable called `name` on `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

fn kustomize(dir: &Path, opts: &RenderOptions) -> Result<Vec<Value>, RenderError> {
    let program = opts
        .kustomize
        .clone()
        .or_else(|| find_on_path("kustomize"))
        .or_else(|| find_on_path("kubectl"))
        .ok_or_else(|| RenderError::ToolMissing(dir.to_path_buf()))?;
    let is_kubectl = program
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("kubectl"));
    let mut args: Vec<String> = vec![if is_kubectl { "kustomize" } else { "build" }.to_string()];
    args.push(dir.to_string_lossy().into_owned());
    if opts.enable_helm {
        args.push("--enable-helm".to_string());
    }
    if opts.load_restrictor_none {
        args.push("--load-restrictor".to_string());
        args.push("LoadRestrictionsNone".to_string());
    }
    let command = format!("{} {}", program.display(), args.join(" "));
    let output = Command::new(&program)
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .map_err(io(format!("starting `{command}`")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        return Err(RenderError::Kustomize {
            command,
            status: output.status.to_string(),
            stderr,
        });
    }
    let stdout = String::from_utf8(output.stdout).map_err(|e| RenderError::Io {
        context: format!("reading the output of `{command}`"),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })?;
    manifests::parse_stream(&stdout).map_err(|source| RenderError::Manifest {
        context: format!("output of `{command}`"),
        source,
    })
}
