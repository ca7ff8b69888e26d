//! The waPC host protocol (wapc-guest 1.2 `protocol.rs`, wapc 2.2), host side.
//!
//! Guest exports `__guest_call(op_len, req_len) -> i32` and `wapc_init`; the
//! host provides, under module `wapc`: `__guest_request(op_ptr, ptr)`,
//! `__guest_response(ptr, len)`, `__guest_error(ptr, len)`,
//! `__host_call(bd_ptr, bd_len, ns_ptr, ns_len, op_ptr, op_len, ptr, len) -> i32`
//! (1 = ok, 0 = error), `__host_response_len() -> i32`, `__host_response(ptr)`,
//! `__host_error_len() -> i32`, `__host_error(ptr)` and `__console_log(ptr, len)`.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::{Caller, Extern, Linker, StoreLimits};

use crate::ContextSource;
use crate::wasi::STDERR_KEEP;

/// Per-store state: the pending call, the replies, the context source.
pub(crate) struct HostState {
    pub(crate) ctx: Arc<dyn ContextSource>,
    pub(crate) op: Vec<u8>,
    pub(crate) payload: Vec<u8>,
    pub(crate) guest_response: Option<Vec<u8>>,
    pub(crate) guest_error: Option<String>,
    pub(crate) host_response: Vec<u8>,
    pub(crate) host_error: Vec<u8>,
    pub(crate) limits: StoreLimits,
    pub(crate) stderr: Vec<u8>,
    pub(crate) started: Instant,
    rng: u64,
}

impl HostState {
    pub(crate) fn new(ctx: Arc<dyn ContextSource>, limits: StoreLimits) -> HostState {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        HostState {
            ctx,
            op: Vec::new(),
            payload: Vec::new(),
            guest_response: None,
            guest_error: None,
            host_response: Vec::new(),
            host_error: Vec::new(),
            limits,
            stderr: Vec::new(),
            started: Instant::now(),
            rng: h.finish() | 1,
        }
    }

    /// xorshift64*: only seeds the guest's hash maps.
    pub(crate) fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Keeps the last [`STDERR_KEEP`] bytes of guest stderr.
    pub(crate) fn push_stderr(&mut self, data: &[u8]) {
        self.stderr.extend_from_slice(data);
        if self.stderr.len() > STDERR_KEEP {
            let cut = self.stderr.len() - STDERR_KEEP;
            self.stderr.drain(..cut);
        }
    }

    /// The last non-empty stderr line, for error messages.
    pub(crate) fn last_stderr_line(&self) -> Option<String> {
        let text = String::from_utf8_lossy(&self.stderr);
        text.lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .map(str::to_string)
    }
}

fn range(ptr: i32, len: i32) -> wasmtime::Result<std::ops::Range<usize>> {
    let start = ptr as u32 as usize;
    let len = usize::try_from(len).map_err(|_| wasmtime::format_err!("negative length {len}"))?;
    let end = start
        .checked_add(len)
        .ok_or_else(|| wasmtime::format_err!("guest pointer overflow"))?;
    Ok(start..end)
}

fn memory<'a>(
    caller: &'a mut Caller<'_, HostState>,
) -> wasmtime::Result<(&'a mut [u8], &'a mut HostState)> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Ok(m.data_and_store_mut(caller)),
        _ => Err(wasmtime::format_err!("the policy module exports no memory")),
    }
}

fn read(mem: &[u8], ptr: i32, len: i32) -> wasmtime::Result<&[u8]> {
    let r = range(ptr, len)?;
    mem.get(r)
        .ok_or_else(|| wasmtime::format_err!("guest buffer {ptr}+{len} is outside its memory"))
}

fn write(mem: &mut [u8], ptr: i32, bytes: &[u8]) -> wasmtime::Result<()> {
    let len = i32::try_from(bytes.len()).map_err(|_| wasmtime::format_err!("buffer too large"))?;
    let r = range(ptr, len)?;
    let dst = mem
        .get_mut(r)
        .ok_or_else(|| wasmtime::format_err!("guest buffer {ptr}+{len} is outside its memory"))?;
    dst.copy_from_slice(bytes);
    Ok(())
}

fn len_i32(bytes: &[u8]) -> i32 {
    i32::try_from(bytes.len()).unwrap_or(i32::MAX)
}

/// Adds the `wapc` imports to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    const NS: &str = "wapc";
    linker.func_wrap(
        NS,
        "__guest_request",
        |mut c: Caller<'_, HostState>, op_ptr: i32, ptr: i32| {
            let (mem, state) = memory(&mut c)?;
            write(mem, op_ptr, &state.op)?;
            write(mem, ptr, &state.payload)
        },
    )?;
    linker.func_wrap(
        NS,
        "__guest_response",
        |mut c: Caller<'_, HostState>, ptr: i32, len: i32| {
            let (mem, state) = memory(&mut c)?;
            state.guest_response = Some(read(mem, ptr, len)?.to_vec());
            Ok(())
        },
    )?;
    linker.func_wrap(
        NS,
        "__guest_error",
        |mut c: Caller<'_, HostState>, ptr: i32, len: i32| {
            let (mem, state) = memory(&mut c)?;
            state.guest_error = Some(String::from_utf8_lossy(read(mem, ptr, len)?).into_owned());
            Ok(())
        },
    )?;
    linker.func_wrap(
        NS,
        "__host_call",
        |mut c: Caller<'_, HostState>,
         bd_ptr: i32,
         bd_len: i32,
         ns_ptr: i32,
         ns_len: i32,
         op_ptr: i32,
         op_len: i32,
         ptr: i32,
         len: i32|
         -> wasmtime::Result<i32> {
            let (mem, state) = memory(&mut c)?;
            let binding = String::from_utf8_lossy(read(mem, bd_ptr, bd_len)?);
            let namespace = String::from_utf8_lossy(read(mem, ns_ptr, ns_len)?);
            let operation = String::from_utf8_lossy(read(mem, op_ptr, op_len)?);
            let payload = read(mem, ptr, len)?;
            state.host_response.clear();
            state.host_error.clear();
            let result = crate::callbacks::host_call(
                state.ctx.as_ref(),
                &binding,
                &namespace,
                &operation,
                payload,
            );
            Ok(match result {
                Ok(bytes) => {
                    state.host_response = bytes;
                    1
                }
                Err(message) => {
                    log::debug!("host call {binding}/{namespace}/{operation} failed: {message}");
                    state.host_error = message.into_bytes();
                    0
                }
            })
        },
    )?;
    linker.func_wrap(NS, "__host_response_len", |c: Caller<'_, HostState>| {
        len_i32(&c.data().host_response)
    })?;
    linker.func_wrap(
        NS,
        "__host_response",
        |mut c: Caller<'_, HostState>, ptr: i32| {
            let (mem, state) = memory(&mut c)?;
            write(mem, ptr, &state.host_response)
        },
    )?;
    linker.func_wrap(NS, "__host_error_len", |c: Caller<'_, HostState>| {
        len_i32(&c.data().host_error)
    })?;
    linker.func_wrap(
        NS,
        "__host_error",
        |mut c: Caller<'_, HostState>, ptr: i32| {
            let (mem, state) = memory(&mut c)?;
            write(mem, ptr, &state.host_error)
        },
    )?;
    linker.func_wrap(NS, "__console_log", |mut c: Caller<'_, HostState>, ptr: i32, len: i32| {
        let (mem, _) = memory(&mut c)?;
        log::debug!(target: "cnpg_guard_policy", "{}", String::from_utf8_lossy(read(mem, ptr, len)?));
        Ok(())
    })?;
    Ok(())
}
