//! Shared helpers for the end-to-end tests in `tests/tests/`.

use cnpg_guard_host::{Engine, ModuleCache};
use std::path::PathBuf;
use std::sync::OnceLock;

/// Directory of the fixtures owned by this crate.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// One engine per test binary: the embedded, annotated policy .wasm, compiled
/// once (and cached on disk under target/ so later test binaries deserialize).
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let cache =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/cnpg-guard-test-cache");
        match Engine::new(ModuleCache::Dir(cache)) {
            Ok(e) => e,
            Err(e) => {
                // Tests cannot proceed without the policy; say why plainly.
                eprintln!("cannot load the policy .wasm: {e}");
                std::process::exit(1)
            }
        }
    })
}
