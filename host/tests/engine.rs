//! The embedded, annotated policy module running on the host engine, and the
//! precompiled-module cache. One compiled engine is shared by the tests that
//! only need an instance (compiling takes about a second).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use cnpg_guard_host::bundle::admission_request;
use cnpg_guard_host::{
    ContextSource, Engine, HostError, Instance, METADATA_SECTION, MemorySource, ModuleCache,
    POLICY_WASM, policy_metadata,
};
use serde_json::{Value, json};

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(ModuleCache::Off).unwrap())
}

fn empty_ctx() -> Arc<dyn ContextSource> {
    Arc::new(MemorySource::new(Vec::new()))
}

fn instance() -> Instance {
    engine().instance(empty_ctx()).unwrap()
}

/// The waPC guest's answer for a function it does not export.
fn missing_handler(e: &HostError, op: &str) -> bool {
    matches!(e, HostError::Guest { message, .. } if message == &format!("No handler registered for function {op}"))
}

#[test]
fn embedded_module_is_annotated_once_with_v1_and_the_metadata_rules() {
    let sections: Vec<_> = wasmparser::Parser::new(0)
        .parse_all(POLICY_WASM)
        .filter_map(|p| match p.unwrap() {
            wasmparser::Payload::CustomSection(r) if r.name() == METADATA_SECTION => {
                Some(r.data().to_vec())
            }
            _ => None,
        })
        .collect();
    assert_eq!(sections.len(), 1, "exactly one {METADATA_SECTION} section");
    let meta: Value = serde_json::from_slice(&sections[0]).unwrap();
    assert_eq!(meta, policy_metadata(POLICY_WASM).unwrap().unwrap());
    assert_eq!(meta["protocolVersion"], "v1");
    assert_eq!(meta["executionMode"], "kubewarden-wapc");

    let metadata_yml = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policy/metadata.yml");
    match std::fs::read_to_string(&metadata_yml) {
        Ok(text) => {
            let source: Value = serde_saphyr::from_str(&text).unwrap();
            assert_eq!(
                meta["rules"],
                source["rules"],
                "rules copied from {}",
                metadata_yml.display()
            );
            assert_eq!(meta["mutating"], source["mutating"]);
        }
        Err(_) => {
            assert_eq!(meta["rules"], json!([]), "placeholder metadata");
            assert_eq!(meta["mutating"], true);
        }
    }
    let readme = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policy/README.md");
    if let Ok(text) = std::fs::read_to_string(readme) {
        assert_eq!(meta["annotations"]["io.kubewarden.policy.usage"], text);
    }
}

#[test]
fn protocol_version_is_v1() {
    assert_eq!(instance().protocol_version().unwrap(), "v1");
}

#[test]
fn validate_answers_with_a_kubewarden_response() {
    let cluster = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
                         "metadata": {"name": "pg", "namespace": "db"}, "spec": {"instances": 1}});
    let payload = json!({"request": admission_request("CREATE", &cluster, None), "settings": {}});
    let inst = instance();
    let resp = inst.validate(&payload).unwrap();
    // Same instance can be called again.
    assert_eq!(inst.validate(&payload).unwrap(), resp);
    if resp.accepted {
        assert!(resp.code.is_none());
    } else {
        assert!(
            resp.message.is_some(),
            "a rejection carries a message: {resp:?}"
        );
    }
}

#[test]
fn settings_validation_or_missing_handler() {
    match instance().validate_settings(&json!({})) {
        Ok(v) => assert!(v.valid, "empty settings are valid: {v:?}"),
        Err(e) => assert!(missing_handler(&e, "validate_settings"), "{e}"),
    }
}

#[test]
fn evaluate_or_missing_handler() {
    let cluster = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "pg"}});
    let payload = json!({"request": admission_request("CREATE", &cluster, None), "settings": {}});
    match instance().evaluate(&payload) {
        Ok(verdict) => assert!(verdict.findings.iter().all(|f| !f.rule.is_empty())),
        Err(e) => assert!(missing_handler(&e, "evaluate"), "{e}"),
    }
}

#[test]
fn unknown_operation_is_a_guest_error_and_the_instance_survives() {
    let inst = instance();
    let err = inst.call_raw("no_such_function", b"{}").unwrap_err();
    assert!(missing_handler(&err, "no_such_function"), "{err}");
    assert_eq!(
        err.to_string(),
        "policy call `no_such_function` failed: No handler registered for function no_such_function"
    );
    assert_eq!(inst.protocol_version().unwrap(), "v1");
}

#[test]
fn garbage_payload_does_not_crash_the_host() {
    let inst = instance();
    // The policy answers garbage with a clean rejection, never a trap.
    let out = inst.call_raw("validate", b"\xff\x00 not json").unwrap();
    let response: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(response["accepted"], false);
    assert_eq!(response["code"], 400);
    let message = response["message"].as_str().unwrap();
    assert!(
        message.starts_with("cnpg-guard: cannot parse the validation payload"),
        "{message}"
    );
    // The instance is still usable afterwards.
    assert_eq!(inst.protocol_version().unwrap(), "v1");
}

#[test]
fn instances_are_independent_and_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
    assert_send_sync::<Instance>();
    let handles: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(|| instance().protocol_version().unwrap()))
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), "v1");
    }
}

#[test]
fn bad_modules_are_errors() {
    let err = Engine::from_bytes(b"\0asm\x01\0\0\0garbage", ModuleCache::Off).unwrap_err();
    assert!(matches!(err, HostError::Compile(_)), "{err}");
    let err = Engine::from_bytes(b"definitely not wasm", ModuleCache::Off).unwrap_err();
    assert!(
        err.to_string().starts_with("compiling the policy module"),
        "{err}"
    );
}

#[test]
fn module_cache_roundtrip_and_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let cache = ModuleCache::Dir(dir.path().join("nested/cache"));

    let first = Engine::new(cache.clone()).unwrap();
    assert!(!first.load_info().from_cache);
    let file = first
        .load_info()
        .cache_file
        .clone()
        .expect("cache file written");
    assert!(file.is_file());
    assert!(file.starts_with(dir.path()));
    drop(first);

    let second = Engine::new(cache.clone()).unwrap();
    assert!(second.load_info().from_cache, "{:?}", second.load_info());
    assert_eq!(
        second
            .instance(empty_ctx())
            .unwrap()
            .protocol_version()
            .unwrap(),
        "v1"
    );
    let cached_load = second.load_info().load_time;
    drop(second);

    // Flip one byte in the middle of the payload: detected, recompiled, rewritten.
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let third = Engine::new(cache.clone()).unwrap();
    assert!(!third.load_info().from_cache);
    let why = third
        .load_info()
        .cache_rejected
        .clone()
        .expect("rejection recorded");
    assert!(why.contains("checksum"), "{why}");
    assert_eq!(
        third
            .instance(empty_ctx())
            .unwrap()
            .protocol_version()
            .unwrap(),
        "v1"
    );
    drop(third);

    // Truncated file and a file of garbage.
    for garbage in [bytes[..10].to_vec(), b"hello".to_vec()] {
        std::fs::write(&file, garbage).unwrap();
        let e = Engine::new(cache.clone()).unwrap();
        assert!(!e.load_info().from_cache);
        assert!(e.load_info().cache_rejected.is_some());
    }

    let fourth = Engine::new(cache).unwrap();
    assert!(
        fourth.load_info().from_cache,
        "rewritten after the corruption"
    );
    eprintln!(
        "cached load: {cached_load:?}, compile: {:?}",
        engine().load_info().load_time
    );
}

#[test]
fn unusable_cache_dir_compiles_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, b"x").unwrap();
    let e = Engine::new(ModuleCache::Dir(not_a_dir.join("sub"))).unwrap();
    assert!(!e.load_info().from_cache);
    assert!(e.load_info().cache_file.is_none());
    assert_eq!(
        e.instance(empty_ctx()).unwrap().protocol_version().unwrap(),
        "v1"
    );
}

#[test]
fn default_cache_dir_resolution() {
    assert_eq!(ModuleCache::Off.dir(), None);
    assert_eq!(
        ModuleCache::Dir(PathBuf::from("/x")).dir(),
        Some(PathBuf::from("/x"))
    );
    // Default depends on the environment; it must at least not panic and, with
    // HOME set, name a cnpg-guard directory.
    if let Some(dir) = ModuleCache::Default.dir() {
        assert!(
            dir.to_string_lossy().contains("cnpg-guard")
                || std::env::var_os("CNPG_GUARD_CACHE_DIR").is_some()
        );
    }
}
