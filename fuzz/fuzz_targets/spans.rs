//! The span parser the planner edits through (and `check` locates fields
//! with): any text, and any field path looked up in it.
#![no_main]

use cnpg_guard_host::spans;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (yaml, path) = text.split_once('\u{1}').unwrap_or((text, "spec.plugins[0].parameters.serverName"));
    let Ok(docs) = spans::parse(yaml) else { return };
    let segs = spans::parse_path(path);
    for doc in &docs {
        let Some(root) = &doc.root else { continue };
        if let Some(node) = root.at(&segs) {
            let start = node.start();
            assert!(start <= yaml.len());
            let _ = spans::line_of(yaml, start);
        }
        let _ = root.locate(&segs);
    }
});
