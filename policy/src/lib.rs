//! Kubewarden entry point (placeholder while the core lands).
use kubewarden_policy_sdk::wapc_guest as guest;
use guest::prelude::*;

#[allow(unsafe_code)] // waPC requires this exact exported symbol
#[unsafe(no_mangle)]
/// waPC entry point: registers the functions the host may call.
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function("protocol_version", kubewarden_policy_sdk::protocol_version_guest);
}

fn validate(_payload: &[u8]) -> CallResult {
    kubewarden_policy_sdk::accept_request()
}
