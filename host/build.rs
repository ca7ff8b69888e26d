//! Builds the policy for wasm32-wasip1, annotates it like `kwctl annotate` and
//! leaves it in OUT_DIR for `include_bytes!` (see `xtask::build_policy`).

use std::path::PathBuf;

fn main() {
    // Without the `runtime` feature (the browser build) nothing embeds the policy.
    if std::env::var_os("CARGO_FEATURE_RUNTIME").is_none() {
        return;
    }
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        eprintln!("CARGO_MANIFEST_DIR is not set: run through cargo");
        std::process::exit(1);
    };
    let Some(out_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        eprintln!("OUT_DIR is not set: run through cargo");
        std::process::exit(1);
    };
    let root = manifest_dir.parent().unwrap_or(&manifest_dir).to_path_buf();

    // Directories are scanned recursively by cargo; watching `policy/` (not
    // `policy/metadata.yml`) also notices the metadata file or README appearing,
    // and never names a missing path (which would rerun this script every build).
    for path in ["core/src", "core/Cargo.toml", "policy", "Cargo.lock"] {
        println!("cargo::rerun-if-changed={}", root.join(path).display());
    }

    if let Err(e) = xtask::build_policy(&root, &out_dir) {
        eprintln!("error: building the cnpg-guard policy wasm: {e:#}");
        std::process::exit(1);
    }
}
