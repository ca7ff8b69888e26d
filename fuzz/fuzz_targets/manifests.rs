//! The manifest parser (the one reading of YAML/JSON meaning): any bytes.
//! Whatever parses must print and read back as the same objects.
#![no_main]

use cnpg_guard_host::manifests::{parse_documents, parse_stream, to_yaml_stream};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = parse_documents(text);
    if let Ok(objects) = parse_stream(text) {
        let printed = to_yaml_stream(&objects);
        let back = parse_stream(&printed);
        assert!(
            matches!(&back, Ok(b) if *b == objects),
            "round trip changed the objects:\n{printed}"
        );
    }
});
