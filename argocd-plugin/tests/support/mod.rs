//! Drives the real binary the way argocd-cmp-server does: the repo is
//! extracted into a fresh temp dir, the command runs in the Application's
//! source path with the sidecar env plus the request env, nothing else.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Where the fixtures live.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Recursive copy (files and dirs only; fixtures have no symlinks).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// A fixture "repo" extracted into a temp dir, as the sidecar does per request.
pub struct App {
    /// Keeps the temp dir alive.
    pub tmp: tempfile::TempDir,
    /// `spec.source.path`, relative to the repo root.
    pub source_path: String,
    /// Absolute app dir (the command's cwd).
    pub dir: PathBuf,
    /// `metadata.name` of the Application.
    pub name: String,
}

impl App {
    /// Extracts `fixtures/<fixture>` at `infrastructure/database/cloudnative-pg/<name>`
    /// (the seed's layout) inside a fresh `_cmp_server/<random>` work dir.
    pub fn new(fixture: &str, name: &str) -> App {
        let tmp = tempfile::Builder::new()
            .prefix("_cmp_server")
            .tempdir()
            .unwrap();
        let source_path = format!("infrastructure/database/cloudnative-pg/{name}");
        let dir = tmp.path().join(&source_path);
        copy_dir(&fixtures().join(fixture), &dir);
        App {
            tmp,
            source_path,
            dir,
            name: name.to_string(),
        }
    }

    /// Replaces exactly one occurrence of `from` in a file of the app
    /// (a Git edit of the DR drill). Fails if the text is not there once.
    pub fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.matches(from).count(),
            1,
            "{file}: {from:?} must occur once"
        );
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    /// The request env argocd-repo-server sends for this app, plus the
    /// plugin stanza's env and parameters (`plugin: {env, parameters}`).
    /// `parameters` is the `spec.source.plugin.parameters` list as JSON;
    /// `PARAM_*` are derived from it exactly like ArgoCD does.
    pub fn argocd_env(
        &self,
        plugin_env: &[(&str, &str)],
        parameters: Option<Value>,
    ) -> Vec<(String, String)> {
        let rev = "4f2c9d1e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d";
        let mut env: Vec<(String, String)> = vec![
            ("ARGOCD_APP_NAME", self.name.as_str()),
            ("ARGOCD_APP_NAMESPACE", "cloudnative-pg"),
            ("ARGOCD_APP_PROJECT_NAME", "databases"),
            ("ARGOCD_APP_REVISION", rev),
            ("ARGOCD_APP_REVISION_SHORT", &rev[..7]),
            ("ARGOCD_APP_REVISION_SHORT_8", &rev[..8]),
            ("ARGOCD_APP_SOURCE_PATH", self.source_path.as_str()),
            ("ARGOCD_APP_SOURCE_REPO_URL", "https://git.example.com/homelab/gitops.git"),
            ("ARGOCD_APP_SOURCE_TARGET_REVISION", "HEAD"),
            ("KUBE_VERSION", "1.32.4"),
            (
                "KUBE_API_VERSIONS",
                "apps/v1,apps/v1/Deployment,barmancloud.cnpg.io/v1,barmancloud.cnpg.io/v1/ObjectStore,\
                 postgresql.cnpg.io/v1,postgresql.cnpg.io/v1/Cluster,v1,v1/PersistentVolumeClaim",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in plugin_env {
            env.push((format!("ARGOCD_ENV_{k}"), v.to_string()));
        }
        let params = parameters.unwrap_or(Value::Null);
        env.push(("ARGOCD_APP_PARAMETERS".into(), params.to_string()));
        for p in params.as_array().into_iter().flatten() {
            let name = escape(p["name"].as_str().unwrap());
            if let Some(s) = p.get("string").and_then(Value::as_str) {
                env.push((format!("PARAM_{name}"), s.to_string()));
            }
            if let Some(a) = p.get("array").and_then(Value::as_array) {
                for (i, v) in a.iter().enumerate() {
                    env.push((format!("PARAM_{name}_{i}"), v.as_str().unwrap().to_string()));
                }
            }
            if let Some(m) = p.get("map").and_then(Value::as_object) {
                for (k, v) in m {
                    env.push((
                        format!("PARAM_{name}_{}", escape(k)),
                        v.as_str().unwrap().to_string(),
                    ));
                }
            }
        }
        env
    }

    /// Runs `argocd-cnpg-guard generate` like cmp-server: cwd = app dir.
    pub fn generate(&self, plugin_env: &[(&str, &str)], parameters: Option<Value>) -> Run {
        run_in(
            &self.dir,
            &["generate"],
            self.argocd_env(plugin_env, parameters),
        )
    }
}

/// ArgoCD's escaping (`types.go: escaped`): upper case, non-`[A-Z0-9_]` → `_`.
pub fn escape(s: &str) -> String {
    s.to_uppercase()
        .chars()
        .map(|c| {
            if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The module cache shared by every test run (compiling the policy is the
/// slow part; the cache makes later runs fast, as in the sidecar's /tmp).
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("cnpg-guard-module-cache")
}

/// The finished process.
pub struct Run {
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
    /// stdout.
    pub stdout: String,
    /// stderr.
    pub stderr: String,
}

impl Run {
    /// Parses stdout as a YAML stream (what ArgoCD's decoder does).
    pub fn manifests(&self) -> Vec<Value> {
        assert_eq!(self.code, 0, "generate failed: {}", self.stderr);
        serde_saphyr::from_multiple::<Value>(&self.stdout)
            .unwrap()
            .into_iter()
            .filter(|v| !v.is_null())
            .collect()
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8(o.stdout).unwrap(),
            stderr: String::from_utf8(o.stderr).unwrap(),
        }
    }
}

/// Runs the binary in `cwd` with ONLY `env` plus the sidecar's own env
/// (PATH so kubectl/kustomize are found, HOME, the module cache dir).
pub fn run_in(cwd: &Path, args: &[&str], env: Vec<(String, String)>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_argocd-cnpg-guard"));
    cmd.args(args).current_dir(cwd).env_clear();
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
    // The sidecar runs as uid 999 with HOME pointing somewhere not writable.
    cmd.env("HOME", "/nonexistent");
    cmd.env("CNPG_GUARD_CACHE_DIR", cache_dir());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap().into()
}

/// Finds the object of `kind`/`name` in a rendered list.
pub fn find<'a>(objs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} not in output"))
}

/// The warnings annotation of an object, if any.
pub fn warnings(obj: &Value) -> Option<&str> {
    obj["metadata"]["annotations"]["cnpg-guard.io/warnings"].as_str()
}
