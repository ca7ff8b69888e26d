//! The parity table (tests/fixtures/parity/cases.yaml): the same manifest
//! gets the same findings at admission (the .wasm's `validate`, as
//! policy-server calls it), from `argocd-cnpg-guard check` and from
//! `kubectl cnpg-plan check` — the real binaries, as users run them — and
//! from the browser API (`cnpg-guard-web`, the same code the playground's
//! module is built from, here linked natively; `web/tests/browser.mjs` runs
//! the same table in Chromium).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use cnpg_guard_host::bundle::{self, admission_request};
use cnpg_guard_host::check::settings::PluginSettings;
use cnpg_guard_host::{ContextSource, MemorySource, manifests};
use cnpg_guard_tests::{binaries, engine, fixtures};
use serde_json::{Value, json};

#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    findings: BTreeSet<String>,
    mutated: BTreeSet<String>,
}

fn object_id(kind: &str, ns: &str, name: &str) -> String {
    format!("{kind} {ns}/{name}")
}

/// Admission: each object as a CREATE request through `validate`; the other
/// objects of the file are the cluster state, stored as the API server stores
/// them (namespace-less ones in `default`).
fn admission(file: &Path) -> Seen {
    let text = std::fs::read_to_string(file).unwrap();
    let objects = manifests::parse_stream(&text).unwrap();
    let settings = PluginSettings::default().policy_settings();
    let stored: Vec<Value> = objects
        .iter()
        .map(|o| bundle::with_namespace(o, bundle::DEFAULT_NAMESPACE))
        .collect();
    let ctx: Arc<dyn ContextSource> = Arc::new(MemorySource::new(stored));
    let mut seen = Seen::default();
    for obj in &objects {
        let request = admission_request("CREATE", obj, None);
        let payload = json!({"request": request, "settings": settings});
        let resp = engine()
            .instance(Arc::clone(&ctx))
            .unwrap()
            .validate(&payload)
            .unwrap();
        let denials = resp
            .message
            .iter()
            .filter(|_| !resp.accepted)
            .flat_map(|m| m.lines().map(|l| ("deny", l.to_string())))
            .collect::<Vec<_>>();
        let warns = resp
            .warnings
            .iter()
            .flatten()
            .map(|w| ("warn", w.clone()))
            .collect::<Vec<_>>();
        for (sev, line) in denials.into_iter().chain(warns) {
            seen.findings.insert(parse_line(sev, &line));
        }
        if resp.mutated_object.is_some() {
            let r = &request;
            seen.mutated.insert(object_id(
                r["kind"]["kind"].as_str().unwrap(),
                r["namespace"].as_str().unwrap_or_default(),
                r["name"].as_str().unwrap(),
            ));
        }
    }
    seen
}

/// `Kind ns/name: path: [rule] message — fix` → `severity rule Kind ns/name path`.
fn parse_line(sev: &str, line: &str) -> String {
    let (object, rest) = line
        .split_once(": ")
        .unwrap_or_else(|| panic!("not a finding line: {line}"));
    let (path, rest) = rest
        .split_once(": [")
        .unwrap_or_else(|| panic!("not a finding line: {line}"));
    let (rule, _) = rest.split_once(']').unwrap();
    format!("{sev} {rule} {object} {path}")
}

fn from_json_report(stdout: &[u8]) -> Seen {
    let report: Value = serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(stdout)));
    let o = |v: &Value| {
        object_id(
            v["kind"].as_str().unwrap(),
            v["namespace"].as_str().unwrap(),
            v["name"].as_str().unwrap(),
        )
    };
    Seen {
        findings: report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{} {} {} {}",
                    f["severity"].as_str().unwrap(),
                    f["rule"].as_str().unwrap(),
                    o(&f["object"]),
                    f["path"].as_str().unwrap()
                )
            })
            .collect(),
        mutated: report["mutated"]
            .as_array()
            .unwrap()
            .iter()
            .map(o)
            .collect(),
    }
}

/// Runs `cmd` with `input` on its stdin.
fn piped(mut cmd: Command, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn run(mut cmd: Command) -> (Seen, i32) {
    let out = cmd.output().unwrap();
    assert!(
        out.stderr.is_empty(),
        "{:?} wrote to stderr: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    (from_json_report(&out.stdout), out.status.code().unwrap())
}

#[test]
fn the_three_entry_points_agree_on_every_case() {
    let dir = fixtures().join("parity");
    let index: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(dir.join("cases.yaml")).unwrap()).unwrap();
    let cases = index["cases"].as_array().unwrap();
    assert!(cases.len() >= 8, "the table lost cases");
    let bins = binaries();
    let mut files_on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "cases.yaml")
        .collect();
    for case in cases {
        let name = case["file"].as_str().unwrap();
        files_on_disk.remove(name);
        let file = dir.join(name);
        let list = |key: &str| -> BTreeSet<String> {
            case.get(key)
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        let expected = Seen {
            findings: list("expect"),
            mutated: list("mutated"),
        };
        let path = file.to_str().unwrap();
        let at_admission = admission(&file);
        let (argocd, argocd_code) = run(bins.argocd_cnpg_guard(&["check", path, "-o", "json"]));
        let (kubectl, kubectl_code) = run(bins.kubectl_cnpg_plan(&["check", path, "-o", "json"]));
        let text = std::fs::read_to_string(&file).unwrap();
        let web = from_json_report(cnpg_guard_web::check_json(&text, None).unwrap().as_bytes());
        assert_eq!(at_admission, expected, "{name}: admission");
        assert_eq!(web, expected, "{name}: the browser API");
        assert_eq!(argocd, expected, "{name}: argocd-cnpg-guard check");
        assert_eq!(kubectl, expected, "{name}: kubectl cnpg-plan check");
        let denied = expected.findings.iter().any(|f| f.starts_with("deny "));
        assert_eq!(argocd_code, i32::from(denied), "{name}: exit code");
        assert_eq!(kubectl_code, argocd_code, "{name}: exit codes differ");
    }
    assert!(
        files_on_disk.is_empty(),
        "fixtures not in cases.yaml: {files_on_disk:?}"
    );
}

/// The browser API's report is the CLIs' report, byte for byte, for the same
/// stream: messages, fixes, lines, units, notes, exit code.
#[test]
fn the_browser_report_is_the_cli_report() {
    let bins = binaries();
    for name in [
        "anchors-merge.yaml",
        "list-kind.yaml",
        "manifests.json",
        "store-missing.yaml",
    ] {
        let text = std::fs::read_to_string(fixtures().join("parity").join(name)).unwrap();
        let out = piped(
            bins.argocd_cnpg_guard(&["check", "-", "-o", "json"]),
            text.as_bytes(),
        );
        let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
        let files = json!([{"name": "-", "text": text}]).to_string();
        let web: Value =
            serde_json::from_str(&cnpg_guard_web::check_files_json(&files, None).unwrap()).unwrap();
        assert_eq!(web, cli, "{name}");
        assert!(
            cli["findings"][0]["line"].is_u64() || cli["findings"].as_array().unwrap().is_empty()
        );
    }
}

/// The two evaluators agree on every real manifest: the policy `.wasm` in
/// wasmtime, and the core linked in (the browser's evaluator).
#[test]
fn native_and_wasm_evaluators_agree_on_the_corpus() {
    use cnpg_guard_host::check::{self, Input, Options};
    let opts = Options {
        policy_settings: PluginSettings::default().policy_settings(),
        ..Options::default()
    };
    let mut files = 0;
    for dir in ["corpus", "parity"] {
        let mut paths: Vec<_> = std::fs::read_dir(fixtures().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "json"))
            .filter(|p| p.file_name().is_some_and(|n| n != "cases.yaml"))
            .collect();
        paths.sort();
        for path in paths {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let inputs = [Input::Stream {
                label: "-".into(),
                text,
            }];
            let Ok(prepared) = check::prepare(&inputs, &opts) else {
                continue;
            };
            let wasm = check::evaluate(engine(), prepared.clone(), &opts).unwrap();
            let native =
                check::evaluate_with(&mut cnpg_guard_host::native::Native, prepared, &opts)
                    .unwrap();
            assert_eq!(native, wasm, "{}", path.display());
            files += 1;
        }
    }
    assert!(files >= 60, "only {files} fixtures compared");
}

#[test]
fn the_two_checks_print_the_same_report_in_every_format() {
    let bins = binaries();
    let dir = fixtures().join("parity");
    let path = dir.to_str().unwrap();
    for format in ["text", "json", "sarif", "markdown"] {
        let a = bins
            .argocd_cnpg_guard(&["check", path, "-o", format])
            .output()
            .unwrap();
        let k = bins
            .kubectl_cnpg_plan(&["check", path, "-o", format])
            .output()
            .unwrap();
        assert_eq!(a.status.code(), Some(1), "{format}");
        assert_eq!(a.status.code(), k.status.code(), "{format}");
        assert_eq!(
            String::from_utf8_lossy(&a.stdout),
            String::from_utf8_lossy(&k.stdout),
            "{format}"
        );
    }
}

#[test]
fn stdin_is_the_same_as_the_file() {
    let bins = binaries();
    let file = fixtures().join("parity/anchors-merge.yaml");
    let text = std::fs::read(&file).unwrap();
    let checked = |cmd: Command| {
        let out = piped(cmd, &text);
        (from_json_report(&out.stdout), out.status.code())
    };
    let (from_file, code) =
        run(bins.argocd_cnpg_guard(&["check", file.to_str().unwrap(), "-o", "json"]));
    assert!(!from_file.findings.is_empty());
    let a = checked(bins.argocd_cnpg_guard(&["check", "-", "-o", "json"]));
    let k = checked(bins.kubectl_cnpg_plan(&["check", "-", "-o", "json"]));
    assert_eq!(a, (from_file, Some(code)));
    assert_eq!(k, a);
}

#[test]
fn generate_reads_a_stream_from_stdin() {
    let file = fixtures().join("parity/list-kind.yaml");
    let mut cmd = binaries().argocd_cnpg_guard(&["generate", "-"]);
    cmd.env("ARGOCD_APP_NAMESPACE", "db");
    let out = piped(cmd, &std::fs::read(&file).unwrap());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects = manifests::parse_stream(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(objects.len(), 2, "the List is flattened");
    // The PVC's file-level backup label is stripped, as admission would.
    assert_eq!(objects[0]["kind"], "PersistentVolumeClaim");
    assert!(objects[0]["metadata"]["labels"].get("backup").is_none());
    assert_eq!(objects[0]["metadata"]["labels"]["cnpg.io/cluster"], "pg");
}
