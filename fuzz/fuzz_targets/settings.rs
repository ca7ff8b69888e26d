//! The settings parsers: the policy's settings JSON (validated once) and the
//! CLIs' environment/parameter resolution (`ARGOCD_APP_PARAMETERS`, `PARAM_*`).
#![no_main]

use std::collections::BTreeMap;

use cnpg_guard_core::Settings;
use cnpg_guard_host::check::settings::{FlagOverrides, resolve};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = serde_json::from_slice::<Settings>(data) {
        let _ = s.validate();
    }
    let text = String::from_utf8_lossy(data);
    let mut env = BTreeMap::new();
    env.insert("ARGOCD_APP_PARAMETERS".to_string(), text.to_string());
    for (i, line) in text.lines().take(16).enumerate() {
        if let Some((k, v)) = line.split_once('=') {
            let prefix = ["PARAM_", "ARGOCD_ENV_", "CNPG_GUARD_"][i % 3];
            env.insert(format!("{prefix}{k}"), v.to_string());
        }
    }
    if let Ok(settings) = resolve(&env, &FlagOverrides::default()) {
        let _ = serde_json::to_vec(&settings.policy_settings());
    }
});
