//! Build automation for cnpg-guard.
//!
//! The library half is shared by the `xtask` binary (`cargo xtask dist|ci|bench`)
//! and by `host/build.rs`, which builds and annotates the policy `.wasm` so that
//! `cargo test --workspace` needs no hand step and never sees a stale module.
//!
//! Annotation mirrors `kwctl annotate`: `policy/metadata.yml` (YAML) is read,
//! `protocolVersion: v1` and the `io.kubewarden.policy.usage` annotation (the
//! policy README) are added, and the result is serialized as JSON with the field
//! names of policy-evaluator's `Metadata` into a wasm custom section named
//! `io.kubewarden.metadata`.

pub mod artifacthub;
pub mod web;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

/// The wasm target the policy is built for.
pub const WASM_TARGET: &str = "wasm32-wasip1";
/// Cargo profile used for policy modules (defined in the workspace `Cargo.toml`).
pub const WASM_PROFILE: &str = "wasm";
/// Name of the custom section Kubewarden reads policy metadata from.
pub const METADATA_SECTION: &str = "io.kubewarden.metadata";
/// Annotation holding the policy README (`kwctl annotate -u README.md`).
pub const USAGE_ANNOTATION: &str = "io.kubewarden.policy.usage";
/// File name of the annotated policy module written by [`build_policy`].
pub const POLICY_WASM_NAME: &str = "cnpg-guard-policy.wasm";
/// The policy package.
pub const POLICY_PACKAGE: &str = "cnpg-guard-policy";

/// Builds `cnpg-guard-policy` for `wasm32-wasip1` (profile `wasm`), annotates it
/// like `kwctl annotate` and writes it to `out_dir/cnpg-guard-policy.wasm`.
///
/// The build uses its own target directory (`<workspace>/target/wasm-build`), so
/// a nested cargo started from a build script never waits on the outer build's
/// lock. The file is only rewritten when its content changes. Returns its path.
pub fn build_policy(workspace_root: &Path, out_dir: &Path) -> Result<PathBuf> {
    let manifest = workspace_root.join("Cargo.toml");
    let raw = build_wasm_crate(workspace_root, &manifest, POLICY_PACKAGE)?;
    let wasm = std::fs::read(&raw).with_context(|| format!("reading {}", raw.display()))?;

    let policy_dir = workspace_root.join("policy");
    let metadata_path = policy_dir.join("metadata.yml");
    let metadata_yaml = match std::fs::read_to_string(&metadata_path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            warn(&format!(
                "{} does not exist yet: annotating with a placeholder (rules: [], mutating: true)",
                metadata_path.display()
            ));
            None
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", metadata_path.display())),
    };
    let readme_path = policy_dir.join("README.md");
    let usage = match std::fs::read_to_string(&readme_path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", readme_path.display())),
    };

    let json = metadata_json(metadata_yaml.as_deref(), usage.as_deref())
        .with_context(|| format!("invalid policy metadata in {}", metadata_path.display()))?;
    let annotated =
        annotate(&wasm, &json).with_context(|| format!("annotating {}", raw.display()))?;

    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let out = out_dir.join(POLICY_WASM_NAME);
    write_if_changed(&out, &annotated)?;
    Ok(out)
}

/// Builds one `cdylib` package for `wasm32-wasip1` with the `wasm` profile and
/// returns the path of the raw (unannotated) module.
///
/// `manifest` may point at the workspace or at a package with its own
/// `[workspace]` (the benchmark's accept-all policy). The target directory is
/// always `<workspace_root>/target/wasm-build`.
pub fn build_wasm_crate(workspace_root: &Path, manifest: &Path, package: &str) -> Result<PathBuf> {
    ensure_wasm_target()?;
    let target_dir = workspace_root.join("target").join("wasm-build");
    let mut cmd = if outer_toolchain_override() {
        // The rustup proxy, so rust-toolchain.toml picks the toolchain.
        Command::new("cargo")
    } else {
        cargo_command()
    };
    scrub_build_script_env(&mut cmd);
    pin_toolchain(&mut cmd);
    cmd.current_dir(workspace_root)
        .arg("build")
        .arg("--manifest-path")
        .arg(manifest)
        .args([
            "-p",
            package,
            "--target",
            WASM_TARGET,
            "--profile",
            WASM_PROFILE,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        // Nothing a build script prints on stdout may look like a cargo directive.
        .stdout(Stdio::from(std::io::stderr()));
    let status = cmd
        .status()
        .with_context(|| format!("running cargo to build {package} for {WASM_TARGET}"))?;
    if !status.success() {
        bail!(
            "building {package} for {WASM_TARGET} failed ({status}); see the compiler output above"
        );
    }
    let file = format!("{}.wasm", package.replace('-', "_"));
    let artifact = target_dir.join(WASM_TARGET).join(WASM_PROFILE).join(file);
    if !artifact.is_file() {
        bail!(
            "cargo built {package} but {} is missing (is the crate a cdylib?)",
            artifact.display()
        );
    }
    Ok(artifact)
}

/// True when the outer build runs on a toolchain chosen by `cargo +<name>`
/// (`RUSTUP_TOOLCHAIN`), e.g. `cargo +nightly fuzz build`.
fn outer_toolchain_override() -> bool {
    std::env::var_os("RUSTUP_TOOLCHAIN").is_some()
}

/// The policy module is built with the workspace's pinned toolchain
/// (rust-toolchain.toml) whatever toolchain the outer build runs on: the
/// artifact must not depend on who embeds it, and a nightly has no
/// guaranteed wasm32-wasip1 component to download.
fn pin_toolchain(cmd: &mut Command) {
    if outer_toolchain_override() {
        cmd.env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("RUSTC")
            .current_dir(workspace_root());
    }
}

/// Installs the `wasm32-wasip1` target with rustup, only when it is missing.
pub fn ensure_wasm_target() -> Result<()> {
    ensure_target(WASM_TARGET)
}

/// Installs a target with rustup, only when it is missing.
///
/// Without rustup (a distribution toolchain) this does nothing; cargo then
/// reports a missing target itself.
pub fn ensure_target(target: &str) -> Result<()> {
    let mut list = Command::new("rustup");
    scrub_build_script_env(&mut list);
    pin_toolchain(&mut list);
    let out = match list
        .args(["target", "list", "--installed"])
        .stderr(Stdio::null())
        .output()
    {
        Ok(out) => out,
        Err(_) => return Ok(()), // no rustup
    };
    if !out.status.success() {
        return Ok(());
    }
    let installed = String::from_utf8_lossy(&out.stdout);
    if installed.lines().any(|l| l.trim() == target) {
        return Ok(());
    }
    warn(&format!("installing the {target} target with rustup"));
    let mut add = Command::new("rustup");
    scrub_build_script_env(&mut add);
    pin_toolchain(&mut add);
    let status = add
        .args(["target", "add", target])
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .context("running rustup target add")?;
    if !status.success() {
        bail!("`rustup target add {target}` failed ({status})");
    }
    Ok(())
}

/// A `cargo` command: the cargo that runs us (`$CARGO`) when known.
pub fn cargo_command() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Removes the variables cargo sets for build scripts (and flags meant for the
/// host target) so a nested `cargo build --target wasm32-wasip1` behaves like one
/// typed in a shell. `CARGO_HOME`, `CARGO_NET_*`, `CARGO_MAKEFLAGS` (the
/// jobserver, so the nested build shares the outer build's job slots) and
/// `RUSTC` are kept.
pub fn scrub_build_script_env(cmd: &mut Command) {
    const EXACT: &[&str] = &[
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_RUSTC_WRAPPER",
        "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "CLIPPY_ARGS",
        "OUT_DIR",
        "TARGET",
        "HOST",
        "NUM_JOBS",
        "OPT_LEVEL",
        "PROFILE",
        "DEBUG",
        "RUSTC_LINKER",
        "CARGO_LLVM_COV",
    ];
    const PREFIXES: &[&str] = &[
        "CARGO_PKG_",
        "CARGO_CFG_",
        "CARGO_FEATURE_",
        "CARGO_MANIFEST_",
        "DEP_",
    ];
    for (key, _) in std::env::vars_os() {
        let Some(k) = key.to_str() else { continue };
        if EXACT.contains(&k) || PREFIXES.iter().any(|p| k.starts_with(p)) {
            cmd.env_remove(&key);
        }
    }
}

/// Prints a warning: as a cargo directive inside a build script, else on stderr.
pub fn warn(msg: &str) {
    if std::env::var_os("OUT_DIR").is_some() && std::env::var_os("CARGO_MANIFEST_DIR").is_some() {
        println!("cargo::warning={}", msg.replace('\n', " "));
    } else {
        eprintln!("warning: {msg}");
    }
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Metadata (policy-evaluator `Metadata`, crates/policy-evaluator/src/policy_metadata.rs)
// ---------------------------------------------------------------------------

/// A `rules` entry (an admission webhook rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    /// API groups (`""` is the core group; `*` alone for all).
    pub api_groups: Vec<String>,
    /// API versions.
    pub api_versions: Vec<String>,
    /// Resources (plural, lower case; `x/sub` for subresources).
    pub resources: Vec<String>,
    /// `CREATE`, `UPDATE`, `DELETE`, `CONNECT` or `*` alone.
    pub operations: Vec<String>,
}

/// A `contextAwareResources` entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContextAwareResource {
    /// e.g. `postgresql.cnpg.io/v1`.
    pub api_version: String,
    /// e.g. `Cluster`.
    pub kind: String,
}

/// `metadata.yml` as authors write it (unknown keys are ignored, as Kubewarden does).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetadataIn {
    rules: Vec<Rule>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
    mutating: bool,
    #[serde(default = "default_true")]
    background_audit: bool,
    #[serde(default)]
    execution_mode: Option<String>,
    #[serde(default)]
    policy_type: Option<String>,
    #[serde(default)]
    context_aware_resources: BTreeSet<ContextAwareResource>,
    #[serde(default)]
    minimum_kubewarden_version: Option<String>,
    #[serde(default)]
    host_capabilities: Option<BTreeSet<String>>,
}

fn default_true() -> bool {
    true
}

/// The annotated metadata, in policy-evaluator's field order and serde rules:
/// `annotations`, `minimumKubewardenVersion` and `hostCapabilities` are omitted
/// when absent; everything else is always written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// Always `v1` for waPC policies (kwctl asks the module; ours answers `v1`).
    pub protocol_version: String,
    /// Admission rules.
    pub rules: Vec<Rule>,
    /// `io.kubewarden.*` / `io.artifacthub.*` annotations (sorted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Whether the policy may mutate.
    pub mutating: bool,
    /// Whether the audit scanner evaluates it.
    pub background_audit: bool,
    /// `kubewarden-wapc` for Rust policies.
    pub execution_mode: String,
    /// `kubernetes` or `raw`.
    pub policy_type: String,
    /// Kinds the policy may read through host calls.
    pub context_aware_resources: BTreeSet<ContextAwareResource>,
    /// Minimum Kubewarden version (semver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_kubewarden_version: Option<String>,
    /// Declared host capabilities (`kubernetes/list_resources_by_namespace`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_capabilities: Option<BTreeSet<String>>,
}

/// Parses `metadata.yml` (or the placeholder when `None`), adds
/// `protocolVersion: v1` and the usage annotation, validates it the way
/// policy-evaluator does, and returns the JSON payload of the custom section.
pub fn metadata_json(metadata_yaml: Option<&str>, usage: Option<&str>) -> Result<Vec<u8>> {
    let input: MetadataIn = match metadata_yaml {
        Some(text) => serde_saphyr::from_str(text).map_err(|e| anyhow!("{e}"))?,
        None => MetadataIn {
            rules: Vec::new(),
            annotations: None,
            mutating: true,
            background_audit: true,
            execution_mode: None,
            policy_type: None,
            context_aware_resources: BTreeSet::new(),
            minimum_kubewarden_version: None,
            host_capabilities: None,
        },
    };
    let mut annotations = input.annotations;
    if let Some(usage) = usage {
        annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(USAGE_ANNOTATION.to_string(), usage.to_string());
    }
    let metadata = Metadata {
        protocol_version: "v1".to_string(),
        rules: input.rules,
        annotations,
        mutating: input.mutating,
        background_audit: input.background_audit,
        execution_mode: input
            .execution_mode
            .unwrap_or_else(|| "kubewarden-wapc".to_string()),
        policy_type: input
            .policy_type
            .unwrap_or_else(|| "kubernetes".to_string()),
        context_aware_resources: input.context_aware_resources,
        minimum_kubewarden_version: input.minimum_kubewarden_version,
        host_capabilities: input.host_capabilities,
    };
    validate_metadata(&metadata)?;
    Ok(serde_json::to_vec(&metadata)?)
}

fn validate_metadata(m: &Metadata) -> Result<()> {
    const MODES: &[&str] = &["kubewarden-wapc", "opa", "gatekeeper", "wasi"];
    if !MODES.contains(&m.execution_mode.as_str()) {
        bail!(
            "executionMode {:?} is not one of {MODES:?}",
            m.execution_mode
        );
    }
    if !["kubernetes", "raw"].contains(&m.policy_type.as_str()) {
        bail!(
            "policyType {:?} is not one of kubernetes, raw",
            m.policy_type
        );
    }
    for (i, rule) in m.rules.iter().enumerate() {
        let lists = [
            ("apiGroups", &rule.api_groups),
            ("apiVersions", &rule.api_versions),
            ("resources", &rule.resources),
            ("operations", &rule.operations),
        ];
        for (field, list) in lists {
            if list.is_empty() {
                bail!("rules[{i}].{field} must not be empty");
            }
            if list.len() > 1 && list.iter().any(|s| s == "*") {
                bail!("rules[{i}].{field}: no other elements can be defined when '*' is used");
            }
        }
        if rule.resources.iter().any(String::is_empty) {
            bail!("rules[{i}].resources: empty resource is not allowed");
        }
        for op in &rule.operations {
            if !["CREATE", "UPDATE", "DELETE", "CONNECT", "*"].contains(&op.as_str()) {
                bail!("rules[{i}].operations: unknown operation {op:?}");
            }
        }
    }
    for r in &m.context_aware_resources {
        if r.api_version.is_empty() || r.kind.is_empty() {
            bail!("contextAwareResources entries need a non-empty apiVersion and kind");
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Custom sections
// ---------------------------------------------------------------------------

/// Returns `wasm` with every existing `io.kubewarden.metadata` section removed
/// and one new section carrying `metadata_json` appended at the end.
pub fn annotate(wasm: &[u8], metadata_json: &[u8]) -> Result<Vec<u8>> {
    let mut out = strip_custom_sections(wasm, METADATA_SECTION)?;
    append_custom_section(&mut out, METADATA_SECTION, metadata_json)?;
    Ok(out)
}

/// Appends a custom section (id 0, size, name, payload). A custom section may
/// appear anywhere, including after the last standard section.
pub fn append_custom_section(wasm: &mut Vec<u8>, name: &str, payload: &[u8]) -> Result<()> {
    let mut body = Vec::with_capacity(name.len() + payload.len() + 5);
    write_leb128_u32(
        &mut body,
        u32::try_from(name.len()).context("section name too long")?,
    );
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    wasm.push(0);
    write_leb128_u32(
        wasm,
        u32::try_from(body.len()).context("custom section too large")?,
    );
    wasm.extend_from_slice(&body);
    Ok(())
}

/// Copies `wasm`, dropping the custom sections called `name`.
pub fn strip_custom_sections(wasm: &[u8], name: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(wasm.len());
    for section in sections(wasm)? {
        let section = section?;
        if section.id == 0 && section.custom_name == Some(name) {
            continue;
        }
        out.extend_from_slice(section.raw);
    }
    Ok(out)
}

/// The payloads of all custom sections called `name`, in module order.
pub fn custom_sections<'a>(wasm: &'a [u8], name: &str) -> Result<Vec<&'a [u8]>> {
    let mut found = Vec::new();
    for section in sections(wasm)? {
        let section = section?;
        if section.id == 0 && section.custom_name == Some(name) {
            found.push(section.custom_payload);
        }
    }
    Ok(found)
}

const WASM_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

struct Section<'a> {
    id: u8,
    /// Bytes of the whole section, header included (the module header for the first item).
    raw: &'a [u8],
    custom_name: Option<&'a str>,
    custom_payload: &'a [u8],
}

/// Iterates the module header (as a pseudo-section with id 0xff) and each section.
fn sections(wasm: &[u8]) -> Result<impl Iterator<Item = Result<Section<'_>>>> {
    let header = wasm
        .get(..8)
        .ok_or_else(|| anyhow!("not a wasm module: too short"))?;
    if header != WASM_HEADER {
        bail!("not a wasm core module (bad magic or version)");
    }
    let mut pos = 0usize;
    let mut first = true;
    Ok(std::iter::from_fn(move || {
        if first {
            first = false;
            pos = 8;
            return Some(Ok(Section {
                id: 0xff,
                raw: header,
                custom_name: None,
                custom_payload: &[],
            }));
        }
        if pos >= wasm.len() {
            return None;
        }
        let start = pos;
        let item = (|| {
            let id = *wasm.get(pos).ok_or_else(|| anyhow!("truncated section"))?;
            pos += 1;
            let size = read_leb128_u32(wasm, &mut pos)? as usize;
            let body_start = pos;
            let end = body_start
                .checked_add(size)
                .filter(|e| *e <= wasm.len())
                .ok_or_else(|| {
                    anyhow!("section at byte {start} runs past the end of the module")
                })?;
            pos = end;
            let body = wasm
                .get(body_start..end)
                .ok_or_else(|| anyhow!("truncated section"))?;
            let raw = wasm
                .get(start..end)
                .ok_or_else(|| anyhow!("truncated section"))?;
            let (custom_name, custom_payload) = if id == 0 {
                let mut p = 0usize;
                let len = read_leb128_u32(body, &mut p)? as usize;
                let name_end = p
                    .checked_add(len)
                    .ok_or_else(|| anyhow!("bad custom section name"))?;
                let name = body
                    .get(p..name_end)
                    .ok_or_else(|| anyhow!("bad custom section name"))?;
                let name = std::str::from_utf8(name).context("custom section name is not UTF-8")?;
                (Some(name), body.get(name_end..).unwrap_or_default())
            } else {
                (None, &[][..])
            };
            Ok(Section {
                id,
                raw,
                custom_name,
                custom_payload,
            })
        })();
        if item.is_err() {
            pos = wasm.len(); // stop after the first error
        }
        Some(item)
    }))
}

/// Appends the unsigned LEB128 encoding of `v`.
pub fn write_leb128_u32(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_leb128_u32(bytes: &[u8], pos: &mut usize) -> Result<u32> {
    let mut result: u32 = 0;
    for shift in [0u32, 7, 14, 21, 28] {
        let byte = *bytes
            .get(*pos)
            .ok_or_else(|| anyhow!("truncated LEB128 at byte {}", *pos))?;
        *pos += 1;
        if shift == 28 && byte > 0x0f {
            bail!("LEB128 value overflows u32");
        }
        result |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(result);
        }
    }
    bail!("LEB128 value too long")
}

/// Workspace root, from the location of this crate's manifest.
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// Runs `program args...` streaming its output; errors when it fails.
pub fn run(program: impl AsRef<OsStr>, args: &[&str], dir: &Path) -> Result<()> {
    let program = program.as_ref();
    let shown = format!("{} {}", program.to_string_lossy(), args.join(" "));
    eprintln!("$ {shown}");
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .with_context(|| format!("starting `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
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

    /// Smallest valid module: header only.
    fn empty_module() -> Vec<u8> {
        WASM_HEADER.to_vec()
    }

    /// A module with a type section and an unrelated custom section.
    fn small_module() -> Vec<u8> {
        let mut m = empty_module();
        // type section: 1 type, func () -> ()
        m.extend_from_slice(&[0x01, 0x04, 0x01, 0x60, 0x00, 0x00]);
        append_custom_section(&mut m, "producers-ish", b"xyz").unwrap();
        m
    }

    fn parsed_sections(wasm: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            if let wasmparser::Payload::CustomSection(reader) = payload.unwrap() {
                out.push((reader.name().to_string(), reader.data().to_vec()));
            }
        }
        out
    }

    #[test]
    fn leb128_roundtrip() {
        for v in [0u32, 1, 127, 128, 300, 16_384, 1 << 21, u32::MAX] {
            let mut buf = Vec::new();
            write_leb128_u32(&mut buf, v);
            let mut pos = 0;
            assert_eq!(read_leb128_u32(&buf, &mut pos).unwrap(), v);
            assert_eq!(pos, buf.len());
        }
    }

    #[test]
    fn annotate_appends_exactly_one_section_and_wasmparser_reads_it() {
        let json = metadata_json(Some("rules: []\nmutating: false\n"), Some("# readme")).unwrap();
        let once = annotate(&small_module(), &json).unwrap();
        let twice = annotate(&once, &json).unwrap();
        assert_eq!(once, twice, "re-annotating replaces the section");
        let sections = parsed_sections(&twice);
        let meta: Vec<_> = sections
            .iter()
            .filter(|(n, _)| n == METADATA_SECTION)
            .collect();
        assert_eq!(meta.len(), 1);
        assert_eq!(meta[0].1, json);
        assert!(
            sections
                .iter()
                .any(|(n, d)| n == "producers-ish" && d == b"xyz")
        );
        // The whole module still validates structurally.
        let mut validator = wasmparser::Validator::new();
        validator.validate_all(&twice).unwrap();
        assert_eq!(
            custom_sections(&twice, METADATA_SECTION).unwrap(),
            vec![&json[..]]
        );
    }

    #[test]
    fn large_payload_uses_multibyte_leb128() {
        let payload = vec![b'x'; 70_000];
        let out = annotate(&empty_module(), &payload).unwrap();
        let sections = parsed_sections(&out);
        assert_eq!(sections.len(), 1);
        assert_eq!(sections[0].1.len(), 70_000);
    }

    #[test]
    fn metadata_json_matches_policy_evaluator_shape() {
        let yaml = r#"
rules:
  - apiGroups: [postgresql.cnpg.io]
    apiVersions: [v1]
    resources: [clusters]
    operations: [CREATE, UPDATE]
mutating: true
contextAwareResources:
  - {apiVersion: postgresql.cnpg.io/v1, kind: Cluster}
  - {apiVersion: barmancloud.cnpg.io/v1, kind: ObjectStore}
annotations:
  io.kubewarden.policy.title: cnpg-guard
contextAware: true   # obsolete key, ignored like Kubewarden does
"#;
        let json = metadata_json(Some(yaml), Some("usage text")).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "protocolVersion": "v1",
                "rules": [{"apiGroups": ["postgresql.cnpg.io"], "apiVersions": ["v1"],
                           "resources": ["clusters"], "operations": ["CREATE", "UPDATE"]}],
                "annotations": {"io.kubewarden.policy.title": "cnpg-guard",
                                "io.kubewarden.policy.usage": "usage text"},
                "mutating": true,
                "backgroundAudit": true,
                "executionMode": "kubewarden-wapc",
                "policyType": "kubernetes",
                "contextAwareResources": [
                    {"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore"},
                    {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster"}
                ]
            })
        );
        // Field order follows policy-evaluator's struct.
        let text = String::from_utf8(json).unwrap();
        assert!(
            text.starts_with(r#"{"protocolVersion":"v1","rules":"#),
            "{text}"
        );
    }

    #[test]
    fn placeholder_metadata_without_file() {
        let json = metadata_json(None, None).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["rules"], serde_json::json!([]));
        assert_eq!(v["mutating"], true);
        assert!(v.get("annotations").is_none());
    }

    #[test]
    fn invalid_metadata_is_rejected() {
        for bad in [
            "rules: [{apiGroups: ['', '*'], apiVersions: [v1], resources: [pods], operations: [CREATE]}]\nmutating: false",
            "rules: [{apiGroups: [''], apiVersions: [v1], resources: [pods], operations: [EXPLODE]}]\nmutating: false",
            "rules: [{apiGroups: [], apiVersions: [v1], resources: [pods], operations: [CREATE]}]\nmutating: false",
            "rules: []",
            "rules: []\nmutating: false\nexecutionMode: docker",
        ] {
            assert!(metadata_json(Some(bad), None).is_err(), "{bad}");
        }
    }

    #[test]
    fn malformed_modules_are_errors_not_panics() {
        assert!(annotate(b"\0asm", b"{}").is_err());
        assert!(annotate(b"not wasm at all", b"{}").is_err());
        let mut truncated = small_module();
        truncated.truncate(truncated.len() - 2);
        assert!(annotate(&truncated, b"{}").is_err());
        let mut overlong = empty_module();
        overlong.extend_from_slice(&[0x00, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert!(annotate(&overlong, b"{}").is_err());
    }
}
