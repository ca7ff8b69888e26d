//! Flux mode: render each Flux `Kustomization` found in the tree the way
//! kustomize-controller builds it (docs/spec/v1/kustomizations.md of
//! fluxcd/kustomize-controller):
//!
//! - `spec.path` is relative to the source root (the git repository holding
//!   the input, or `--source-root`); a directory without a kustomization gets
//!   one generated from the manifests below it (subdirectories with their own
//!   kustomization are included as a whole), as Flux does;
//! - the build runs with the load restrictor off;
//! - `targetNamespace`, `components`, `patches`, `images`, `namePrefix`,
//!   `nameSuffix` and `commonMetadata` are applied by a generated kustomization
//!   around `spec.path` (Flux edits the kustomization in place; the only
//!   difference is that here components run after that kustomization's own
//!   patches, not before);
//! - `postBuild.substitute` / `substituteFrom` (ConfigMaps and Secrets found in
//!   the tree) are substituted into each rendered object's YAML, skipping
//!   objects labelled or annotated `kustomize.toolkit.fluxcd.io/substitute:
//!   disabled`. Undefined `${var}` become empty, as in Flux — unless a
//!   `substituteFrom` source is not in the tree (or is SOPS-encrypted): then
//!   the value is unknown and the text is left as written, with a note.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value, json};

use super::tree::{self, Rendered, Unit, UnitKind, UnitSource};
use crate::manifests;
use crate::render::{self, RenderOptions};

/// API group of Flux Kustomizations.
pub const GROUP: &str = "kustomize.toolkit.fluxcd.io";

/// Label/annotation that turns substitution off for one object.
pub const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// Whether `v` is a Flux `Kustomization` (not a kustomize `Kustomization`,
/// whose group is `kustomize.config.k8s.io`).
pub fn is_flux_kustomization(v: &Value) -> bool {
    v.get("kind").and_then(Value::as_str) == Some("Kustomization")
        && v.get("apiVersion")
            .and_then(Value::as_str)
            .and_then(|a| a.split_once('/'))
            .is_some_and(|(g, _)| g == GROUP)
}

/// A Flux Kustomization ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct FluxUnit {
    /// `metadata.namespace/metadata.name`.
    pub id: String,
    /// The file that declares it.
    pub declared_in: PathBuf,
    /// `spec.path`, resolved.
    pub dir: PathBuf,
    /// `spec`, as written.
    pub spec: Value,
    /// Substitution variables, when `postBuild` configures any.
    pub vars: Option<Vars>,
}

/// Variables of `postBuild`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars {
    /// Known values (`substituteFrom` in order, then `substitute`).
    pub known: BTreeMap<String, String>,
    /// `substituteFrom` sources whose values are unknown here (not in the
    /// tree, or encrypted). When empty, undefined variables become "".
    pub unknown_sources: Vec<String>,
}

/// Finds the Flux Kustomizations under `path` and makes a unit of each.
/// Without any, falls back to the plain tree walk (with a note).
pub fn discover(
    path: &Path,
    source_root: Option<&Path>,
    notes: &mut Vec<String>,
) -> Result<Vec<Unit>, String> {
    let files = if path.is_file() {
        vec![path.to_path_buf()]
    } else {
        render::manifest_files(path, true).map_err(|e| e.to_string())?
    };
    let mut kustomizations: Vec<(Value, PathBuf)> = Vec::new();
    let mut sources: Vec<Value> = Vec::new();
    for file in &files {
        // Files that are not manifests (templates, values) are not Flux's
        // business either; kustomize reports them if a build uses them.
        let Ok(objects) = manifests::parse_file(file) else {
            continue;
        };
        for o in objects {
            if is_flux_kustomization(&o) {
                kustomizations.push((o, file.clone()));
            } else if matches!(
                o.get("kind").and_then(Value::as_str),
                Some("ConfigMap" | "Secret")
            ) && o.get("apiVersion").and_then(Value::as_str) == Some("v1")
            {
                sources.push(o);
            }
        }
    }
    if kustomizations.is_empty() {
        notes.push(format!(
            "{}: no Flux Kustomization found; checked as a plain tree",
            path.display()
        ));
        return tree::discover(path, notes);
    }
    let roots = roots(path, source_root);
    let mut seen = std::collections::BTreeSet::new();
    let mut pools: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    let mut units = Vec::new();
    for (ks, file) in kustomizations {
        let s = |p: &str| ks.pointer(p).and_then(Value::as_str).unwrap_or_default();
        let ns = match s("/metadata/namespace") {
            "" => "default",
            n => n,
        };
        let id = format!("{ns}/{}", s("/metadata/name"));
        if !seen.insert(id.clone()) {
            continue;
        }
        let rel = s("/spec/path");
        let rel_clean = rel.trim_start_matches("./");
        let Some((root, dir)) = roots
            .iter()
            .map(|r| (r, join_clean(r, rel_clean)))
            .find(|(_, d)| d.is_dir())
        else {
            notes.push(format!(
                "Kustomization {id} ({}): spec.path {rel:?} is not in this tree (looked under {}); skipped",
                file.display(),
                roots
                    .iter()
                    .map(|r| r.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            continue;
        };
        let spec = ks.get("spec").cloned().unwrap_or(Value::Null);
        let vars = vars(&spec, ns, &sources);
        let (mut own, patch_files) = tree::source_files(&dir);
        // Then every file of the source root: with the load restrictor off, a
        // build may use files anywhere in it.
        let pool = pools.entry(root.clone()).or_insert_with(|| {
            render::manifest_files(root, true)
                .unwrap_or_default()
                .into_iter()
                .map(|f| f.strip_prefix(".").map(Path::to_path_buf).unwrap_or(f))
                .collect()
        });
        own.extend(pool.iter().cloned());
        units.push(Unit {
            label: format!(
                "Kustomization {id} ({} → {})",
                file.display(),
                dir.display()
            ),
            kind: UnitKind::Flux,
            source: UnitSource::Flux(Box::new(FluxUnit {
                id,
                declared_in: file,
                dir,
                spec,
                vars,
            })),
            files: own,
            patch_files,
        });
    }
    Ok(units)
}

/// `root/rel` without a leading `./` when root is `.`.
fn join_clean(root: &Path, rel: &str) -> PathBuf {
    if root == Path::new(".") && !rel.is_empty() {
        PathBuf::from(rel)
    } else {
        root.join(rel)
    }
}

/// Where `spec.path` may be relative to, in order.
fn roots(path: &Path, source_root: Option<&Path>) -> Vec<PathBuf> {
    if let Some(r) = source_root {
        return vec![r.to_path_buf()];
    }
    let dir = if path.is_file() {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        path.to_path_buf()
    };
    let mut out = Vec::new();
    if let Ok(abs) = std::fs::canonicalize(&dir)
        && let Some(git) = abs.ancestors().find(|a| a.join(".git").exists())
    {
        out.push(shown(git));
    }
    out.push(dir);
    out
}

/// `path` relative to the current directory when it is below it (what the
/// user typed is relative too), else as is.
fn shown(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().and_then(std::fs::canonicalize);
    match cwd.as_deref().map(|c| path.strip_prefix(c)) {
        Ok(Ok(rel)) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(Ok(rel)) => rel.to_path_buf(),
        _ => path.to_path_buf(),
    }
}

fn vars(spec: &Value, ns: &str, sources: &[Value]) -> Option<Vars> {
    let post = spec.get("postBuild")?;
    let substitute = post.get("substitute").and_then(Value::as_object);
    let from = post.get("substituteFrom").and_then(Value::as_array);
    if substitute.is_none_or(Map::is_empty) && from.is_none_or(Vec::is_empty) {
        // Flux substitutes only when at least one variable or source is set.
        return None;
    }
    let mut v = Vars::default();
    for src in from.into_iter().flatten() {
        let kind = src.get("kind").and_then(Value::as_str).unwrap_or_default();
        let name = src.get("name").and_then(Value::as_str).unwrap_or_default();
        let found = sources.iter().find(|o| {
            o.get("kind").and_then(Value::as_str) == Some(kind)
                && o.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
                && o.pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .is_none_or(|n| n == ns)
        });
        match found.and_then(source_values) {
            Some(values) => v.known.extend(values),
            None => v.unknown_sources.push(format!("{kind} {ns}/{name}")),
        }
    }
    for (k, val) in substitute.into_iter().flatten() {
        let text = match val {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        v.known.insert(k.clone(), text);
    }
    Some(v)
}

/// The variables of a ConfigMap (`data`) or Secret (`stringData`, and `data`
/// base64-decoded); `None` when SOPS-encrypted (values unknown).
fn source_values(o: &Value) -> Option<BTreeMap<String, String>> {
    use base64::Engine as _;
    if o.get("sops").is_some() {
        return None;
    }
    let mut out = BTreeMap::new();
    let is_secret = o.get("kind").and_then(Value::as_str) == Some("Secret");
    if let Some(data) = o.get("data").and_then(Value::as_object) {
        for (k, v) in data {
            let Some(s) = v.as_str() else { continue };
            if is_secret {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(s.trim())
                    .ok()?;
                out.insert(k.clone(), String::from_utf8(bytes).ok()?);
            } else {
                out.insert(k.clone(), s.to_string());
            }
        }
    }
    if is_secret && let Some(data) = o.get("stringData").and_then(Value::as_object) {
        for (k, v) in data {
            if let Some(s) = v.as_str() {
                out.insert(k.clone(), s.to_string());
            }
        }
    }
    Some(out)
}

/// Renders one Flux Kustomization.
pub fn render(ks: &FluxUnit, opts: &RenderOptions) -> Result<Rendered, String> {
    let tmp = tempfile::Builder::new()
        .prefix("cnpg-guard-flux-")
        .tempdir()
        .map_err(|e| format!("Kustomization {}: cannot create a temp dir: {e}", ks.id))?;
    let base =
        std::fs::canonicalize(tmp.path()).map_err(|e| format!("Kustomization {}: {e}", ks.id))?;
    tree::refuse_remote(&ks.dir).map_err(|e| {
        format!(
            "Kustomization {} ({}): {e}",
            ks.id,
            ks.declared_in.display()
        )
    })?;
    let kustomization = wrapper(ks, &base)?;
    let text = serde_json::to_string_pretty(&kustomization)
        .map_err(|e| format!("Kustomization {}: {e}", ks.id))?;
    std::fs::write(base.join("kustomization.yaml"), text)
        .map_err(|e| format!("Kustomization {}: cannot write the build file: {e}", ks.id))?;
    let opts = RenderOptions {
        load_restrictor_none: true,
        recursive: false,
        ..opts.clone()
    };
    let objects = render::render(&base, &opts).map_err(|e| {
        // Say it in the user's paths: not the generated build dir, not the
        // relative path from it, not the canonical directory.
        let shown = ks.dir.display().to_string();
        let mut text = tree::render_error(&e, &base);
        if let Ok(dir) = std::fs::canonicalize(&ks.dir) {
            text = text
                .replace(&relative(&base, &dir), &shown)
                .replace(&dir.display().to_string(), &shown);
        }
        text.replace(&base.display().to_string(), &shown)
    })?;
    let mut notes = Vec::new();
    let objects = match &ks.vars {
        None => objects,
        Some(vars) => {
            let mut unresolved = std::collections::BTreeSet::new();
            let mut out = Vec::with_capacity(objects.len());
            for o in objects {
                out.push(substitute_object(o, vars, &mut unresolved).map_err(|e| {
                    format!("Kustomization {}: postBuild substitution: {e}", ks.id)
                })?);
            }
            if !unresolved.is_empty() {
                notes.push(format!(
                    "Kustomization {}: left {} as written: the values come from {}, which this tree does not hold in clear text",
                    ks.id,
                    unresolved
                        .iter()
                        .map(|v| format!("${{{v}}}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    vars.unknown_sources.join(", ")
                ));
            }
            out
        }
    };
    Ok(Rendered { objects, notes })
}

/// The generated kustomization around `spec.path`.
fn wrapper(ks: &FluxUnit, base: &Path) -> Result<Value, String> {
    let dir = std::fs::canonicalize(&ks.dir)
        .map_err(|e| format!("Kustomization {}: {}: {e}", ks.id, ks.dir.display()))?;
    let resources: Vec<String> = if render::is_kustomization(&dir) {
        vec![relative(base, &dir)]
    } else {
        generated_resources(&dir)?
            .iter()
            .map(|p| relative(base, p))
            .collect()
    };
    if resources.is_empty() {
        return Err(format!(
            "Kustomization {} ({}): spec.path {} holds no Kubernetes manifests",
            ks.id,
            ks.declared_in.display(),
            ks.dir.display()
        ));
    }
    let mut k = Map::new();
    k.insert(
        "apiVersion".into(),
        json!("kustomize.config.k8s.io/v1beta1"),
    );
    k.insert("kind".into(), json!("Kustomization"));
    k.insert("resources".into(), json!(resources));
    let spec = &ks.spec;
    let ignore_missing = spec
        .get("ignoreMissingComponents")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut components = Vec::new();
    for c in spec
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        match std::fs::canonicalize(dir.join(c)) {
            Ok(p) => components.push(relative(base, &p)),
            Err(_) if ignore_missing => {}
            Err(_) => {
                return Err(format!(
                    "Kustomization {} ({}): spec.components: {c:?} does not exist under {}",
                    ks.id,
                    ks.declared_in.display(),
                    ks.dir.display()
                ));
            }
        }
    }
    if !components.is_empty() {
        k.insert("components".into(), json!(components));
    }
    if let Some(ns) = spec
        .get("targetNamespace")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    {
        k.insert("namespace".into(), json!(ns));
    }
    for key in ["namePrefix", "nameSuffix", "patches", "images"] {
        if let Some(v) = spec.get(key).filter(|v| !v.is_null()) {
            k.insert(key.into(), v.clone());
        }
    }
    if let Some(meta) = spec.get("commonMetadata") {
        if let Some(labels) = meta.get("labels").filter(|l| l.is_object()) {
            // Flux sets metadata labels only, never selectors.
            k.insert(
                "labels".into(),
                json!([{"pairs": labels, "includeSelectors": false}]),
            );
        }
        if let Some(a) = meta.get("annotations").filter(|a| a.is_object()) {
            k.insert("commonAnnotations".into(), a.clone());
        }
    }
    Ok(Value::Object(k))
}

/// What Flux's generated kustomization lists for a plain directory: every
/// manifest file below it, and every subdirectory with its own kustomization
/// (not descended into).
fn generated_resources(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut notes = Vec::new();
    let mut walk = tree::Walk::default();
    walk.dir(dir, &mut notes)?;
    let mut out = Vec::new();
    for f in walk.files {
        let is_object = manifests::parse_file(&f)
            .is_ok_and(|objs| !objs.is_empty() && objs.iter().all(tree::is_manifest));
        if is_object {
            out.push(std::fs::canonicalize(&f).map_err(|e| format!("{}: {e}", f.display()))?);
        }
    }
    for d in walk.kustomizations {
        out.push(std::fs::canonicalize(&d).map_err(|e| format!("{}: {e}", d.display()))?);
    }
    Ok(out)
}

/// `to` relative to `from` (both absolute, canonical): kustomize refuses
/// absolute roots.
fn relative(from: &Path, to: &Path) -> String {
    let f: Vec<Component> = from.components().collect();
    let t: Vec<Component> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in t.iter().skip(common) {
        out.push(c.as_os_str());
    }
    out.display().to_string()
}

fn substitute_object(
    obj: Value,
    vars: &Vars,
    unresolved: &mut std::collections::BTreeSet<String>,
) -> Result<Value, String> {
    let disabled = |section: &str| {
        obj.pointer(&format!("/metadata/{section}"))
            .and_then(|m| m.get(SUBSTITUTE_KEY))
            .and_then(Value::as_str)
            == Some("disabled")
    };
    if disabled("labels") || disabled("annotations") {
        return Ok(obj);
    }
    let text = manifests::to_yaml_stream(std::slice::from_ref(&obj));
    if !text.contains("${") {
        return Ok(obj);
    }
    let out = envsubst(&text, vars, unresolved);
    let mut parsed = manifests::parse_stream(&out).map_err(|e| {
        format!(
            "{} {}: the substituted YAML does not parse: {e}",
            obj.get("kind").and_then(Value::as_str).unwrap_or_default(),
            obj.pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
        )
    })?;
    match (parsed.len(), parsed.pop()) {
        (1, Some(v)) => Ok(v),
        _ => Err("a substitution turned one object into several".into()),
    }
}

/// Flux's `${var}` substitution (fluxcd/pkg envsubst, a fork of
/// drone/envsubst): `${var}`, `${var:=default}`, `${var:-default}`,
/// `${var=default}`, `${var-default}`; `$$` is a literal `$`; `$var` without
/// braces is left alone (Flux documents it as the way to opt out). Other
/// bash operators (`${var/a/b}`, `${var:1:2}`) are left as written. Written
/// here because no maintained crate implements this dialect.
pub fn envsubst(
    text: &str,
    vars: &Vars,
    unresolved: &mut std::collections::BTreeSet<String>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(rest.get(..i).unwrap_or_default());
        let tail = rest.get(i..).unwrap_or_default();
        if let Some(after) = tail.strip_prefix("$$") {
            out.push('$');
            rest = after;
            continue;
        }
        let Some(body) = tail.strip_prefix("${") else {
            out.push('$');
            rest = tail.get(1..).unwrap_or_default();
            continue;
        };
        let Some(close) = matching_brace(body) else {
            out.push_str(tail);
            rest = "";
            break;
        };
        let expr = body.get(..close).unwrap_or_default();
        let whole = tail.get(..close + 3).unwrap_or(tail);
        rest = body.get(close + 1..).unwrap_or_default();
        out.push_str(&expand(expr, whole, vars, unresolved));
    }
    out.push_str(rest);
    out
}

/// Byte index of the `}` closing the expression that starts `body`.
fn matching_brace(body: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn expand(
    expr: &str,
    whole: &str,
    vars: &Vars,
    unresolved: &mut std::collections::BTreeSet<String>,
) -> String {
    let name_len = expr
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_alphabetic() || *c == '_' || (*i > 0 && c.is_ascii_digit()))
        .count();
    let (name, op) = expr.split_at(name_len);
    if name.is_empty() {
        return whole.to_string();
    }
    let value = vars.known.get(name);
    let default = |d: &str, unresolved: &mut std::collections::BTreeSet<String>| {
        envsubst(d, vars, unresolved)
    };
    match op {
        "" => match value {
            Some(v) => v.clone(),
            None if vars.unknown_sources.is_empty() => String::new(),
            None => {
                unresolved.insert(name.to_string());
                whole.to_string()
            }
        },
        _ if op.starts_with(":=") || op.starts_with(":-") => match value {
            Some(v) if !v.is_empty() => v.clone(),
            _ if value.is_none() && !vars.unknown_sources.is_empty() => {
                unresolved.insert(name.to_string());
                whole.to_string()
            }
            _ => default(op.get(2..).unwrap_or_default(), unresolved),
        },
        _ if op.starts_with('=') || op.starts_with('-') => match value {
            Some(v) => v.clone(),
            None if !vars.unknown_sources.is_empty() => {
                unresolved.insert(name.to_string());
                whole.to_string()
            }
            None => default(op.get(1..).unwrap_or_default(), unresolved),
        },
        _ => whole.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)], unknown: bool) -> Vars {
        Vars {
            known: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            unknown_sources: if unknown {
                vec!["ConfigMap flux-system/vars".into()]
            } else {
                vec![]
            },
        }
    }

    #[test]
    fn envsubst_table() {
        let known = vars(&[("APP", "immich"), ("EMPTY", "")], false);
        let partial = vars(&[("APP", "immich")], true);
        for (input, v, want, unresolved) in [
            ("garage-${APP}", &known, "garage-immich", ""),
            ("${APP}${APP}", &known, "immichimmich", ""),
            ("${MISSING}", &known, "", ""),
            ("${MISSING:=dflt}", &known, "dflt", ""),
            ("${EMPTY:-dflt}", &known, "dflt", ""),
            ("${EMPTY-dflt}", &known, "", ""),
            ("${MISSING=${APP}-x}", &known, "immich-x", ""),
            ("$APP and $${APP}", &known, "$APP and ${APP}", ""),
            ("${APP/a/b}", &known, "${APP/a/b}", ""),
            ("${1x}", &known, "${1x}", ""),
            ("unterminated ${APP", &known, "unterminated ${APP", ""),
            (
                "${MISSING}-${APP}",
                &partial,
                "${MISSING}-immich",
                "MISSING",
            ),
            ("${MISSING:=d}", &partial, "${MISSING:=d}", "MISSING"),
            ("price: 5$", &known, "price: 5$", ""),
        ] {
            let mut un = std::collections::BTreeSet::new();
            assert_eq!(envsubst(input, v, &mut un), want, "{input}");
            let un: Vec<String> = un.into_iter().collect();
            assert_eq!(un.join(","), unresolved, "{input}");
        }
    }

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative(Path::new("/tmp/x"), Path::new("/work/repo/apps")),
            "../../work/repo/apps"
        );
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/b/c")), "c");
    }

    #[test]
    fn flux_kustomization_is_told_from_kustomize() {
        assert!(is_flux_kustomization(
            &json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization"})
        ));
        assert!(!is_flux_kustomization(
            &json!({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"})
        ));
    }
}
