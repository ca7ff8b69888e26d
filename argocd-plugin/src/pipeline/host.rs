//! The seam to `cnpg-guard-host`: render, evaluate the bundle through the
//! embedded policy `.wasm`, serialise. Error texts are shaped here for the
//! ArgoCD error box: one line, bounded, paths relative to the app.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cnpg_guard_host::bundle::{self, BundleOptions};
use cnpg_guard_host::render::{self, RenderError, RenderOptions};
use cnpg_guard_host::{ContextSource, Engine, HostError, MemorySource, ModuleCache, manifests};
use serde_json::Value;

use crate::Failure;
use crate::report::ObjectResult;
use crate::settings::PluginSettings;

/// Longest render error passed on, in characters.
const MAX_ERROR_CHARS: usize = 2000;

/// Renders `path` and evaluates every object. The policy engine is loaded on
/// a second thread while kustomize runs.
pub(super) fn render_and_evaluate(
    path: &Path,
    settings: &PluginSettings,
    policy_settings: &Value,
    env: &BTreeMap<String, String>,
) -> Result<(Vec<Value>, Vec<ObjectResult>), Failure> {
    let cache = module_cache(env);
    let opts = RenderOptions {
        enable_helm: settings.enable_helm,
        ..RenderOptions::default()
    };
    let (engine, rendered) = std::thread::scope(|s| {
        let engine = s.spawn(move || load_and_validate(cache, policy_settings));
        let rendered = render::render(path, &opts);
        (engine.join(), rendered)
    });
    // A bad setting is reported before a render error: it is the cheaper fix.
    let engine = match engine {
        Ok(Ok(engine)) => engine,
        Ok(Err(failure)) => return Err(failure),
        Err(_) => {
            return Err(Failure::Internal(
                "the policy engine thread stopped unexpectedly".into(),
            ));
        }
    };
    let objects = rendered.map_err(|e| render_failure(&e, path, env))?;
    let namespace = env
        .get("ARGOCD_APP_NAMESPACE")
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .unwrap_or(bundle::DEFAULT_NAMESPACE)
        .to_string();
    let report = bundle::evaluate_bundle_with(
        &engine,
        objects,
        policy_settings,
        &BundleOptions {
            default_namespace: namespace,
        },
    )
    .map_err(|e| Failure::Internal(host_error(&e)))?;
    let results = report
        .results
        .into_iter()
        .map(|r| ObjectResult {
            object: r.object,
            verdict: r.verdict,
        })
        .collect();
    Ok((report.objects, results))
}

/// Loads the engine and asks the policy itself whether the settings are
/// valid (unknown rule ids, `mutate` on a rule that cannot mutate, ...), so
/// the plugin never duplicates the policy's knowledge of its rules.
fn load_and_validate(cache: ModuleCache, policy_settings: &Value) -> Result<Engine, Failure> {
    let engine = Engine::new(cache).map_err(|e| Failure::Internal(host_error(&e)))?;
    let empty: Arc<dyn ContextSource> = Arc::new(MemorySource::new(Vec::new()));
    let validation = engine
        .instance(empty)
        .and_then(|instance| instance.validate_settings(policy_settings))
        .map_err(|e| Failure::Internal(host_error(&e)))?;
    if validation.valid {
        Ok(engine)
    } else {
        Err(Failure::PolicySettings(one_line_bounded(
            validation
                .message
                .as_deref()
                .unwrap_or("the policy rejected the settings"),
        )))
    }
}

/// YAML stream of the objects.
pub(super) fn to_yaml(objects: &[Value]) -> Result<String, Failure> {
    Ok(manifests::to_yaml_stream(objects))
}

/// Where the compiled policy is cached. `CNPG_GUARD_CACHE_DIR` when set;
/// else the host default (XDG cache / `~/.cache`) when it is usable; else
/// (the sidecar's HOME is not writable) a private directory under the temp
/// dir; else no cache (compile in memory, slower but correct).
fn module_cache(env: &BTreeMap<String, String>) -> ModuleCache {
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
        ModuleCache::Off
    }
}

/// True when `dir` exists or can be created, is a real directory (not a
/// symlink), is writable by us and, on Unix, is owned by us and not
/// accessible by group/others — the cache holds native code that is loaded
/// and run, so a directory another user can write to must not be used.
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

/// One line, bounded, with the extraction dir replaced by the source path
/// (`ARGOCD_APP_SOURCE_PATH`), so the message is the same for every request
/// of the same commit (ArgoCD caches errors too) and readable in the UI.
fn render_failure(e: &RenderError, path: &Path, env: &BTreeMap<String, String>) -> Failure {
    let shown = env
        .get("ARGOCD_APP_SOURCE_PATH")
        .filter(|p| !p.is_empty())
        .cloned()
        .unwrap_or_else(|| path.display().to_string());
    let mut text = match e {
        RenderError::Empty(_) => format!(
            "{shown}: the render produced no Kubernetes objects; refusing to emit an empty app \
             (ArgoCD would prune everything it manages)"
        ),
        other => other
            .to_string()
            .lines()
            .map(strip_klog)
            .collect::<Vec<_>>()
            .join("\n"),
    };
    if let Ok(abs) = std::fs::canonicalize(path) {
        text = text.replace(&abs.display().to_string(), &shown);
    }
    Failure::Render(one_line_bounded(&text))
}

/// `kubectl kustomize` reports through klog:
/// `E1122 11:36:36.093499   17984 run.go:72] "command failed" err="..."`.
/// The header holds a timestamp and a pid, which would make the (cached)
/// error differ per request: keep only the message.
fn strip_klog(line: &str) -> String {
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

fn host_error(e: &HostError) -> String {
    one_line_bounded(&e.to_string())
}

fn one_line_bounded(text: &str) -> String {
    let flat: String = text
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ");
    if flat.chars().count() > MAX_ERROR_CHARS {
        let cut: String = flat.chars().take(MAX_ERROR_CHARS).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

#[cfg(test)]
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
}
