//! The schedule parser: robfig v1.2 classification and the max interval.
#![no_main]

use cnpg_guard_core::cnpg::cron;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(spec) = std::str::from_utf8(data) else { return };
    let _ = cron::classify(spec);
    if let Some(secs) = cron::max_interval_secs(spec) {
        assert!(secs > 0, "{spec:?} has a zero interval");
    }
    let _ = cron::go_duration_secs(spec);
});
