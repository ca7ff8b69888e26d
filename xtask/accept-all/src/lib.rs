//! Accept-all Kubewarden policy: the benchmark baseline.
use guest::prelude::*;
use kubewarden_policy_sdk::wapc_guest as guest;

/// waPC entry point.
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function(
        "protocol_version",
        kubewarden_policy_sdk::protocol_version_guest,
    );
}

fn validate(_payload: &[u8]) -> CallResult {
    kubewarden_policy_sdk::accept_request()
}
