//! The WASI preview1 calls a Rust `wasm32-wasip1` policy imports, implemented
//! hermetically: no arguments, no environment, no files, no stdin; stdout is
//! discarded (forwarded to `log` at debug level) and the tail of stderr is kept
//! so a guest panic message can be reported when the call traps. Clocks and
//! randomness are real (std's `HashMap` seeds need `random_get`).
//!
//! Any other `wasi_snapshot_preview1` import returning an errno answers
//! `ENOSYS`, so std degrades gracefully instead of failing to link.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use wasmtime::{Caller, Extern, FuncType, Linker, Module, Val, ValType};

use crate::wapc::HostState;

pub(crate) const WASI_MODULES: [&str; 2] = ["wasi_snapshot_preview1", "wasi_unstable"];

const ESUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const EINVAL: i32 = 28;
const ENOSYS: i32 = 52;
const ESPIPE: i32 = 70;

/// Bytes of guest stderr kept for error messages.
pub(crate) const STDERR_KEEP: usize = 4096;

/// `proc_exit` unwinds the guest with this error.
#[derive(Debug)]
pub(crate) struct ProcExit(pub i32);

impl std::fmt::Display for ProcExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "policy called proc_exit({})", self.0)
    }
}

impl std::error::Error for ProcExit {}

fn mem_range(ptr: i32, len: usize) -> Option<std::ops::Range<usize>> {
    let start = ptr as u32 as usize;
    Some(start..start.checked_add(len)?)
}

fn put(mem: &mut [u8], ptr: i32, bytes: &[u8]) -> bool {
    match mem_range(ptr, bytes.len()).and_then(|r| mem.get_mut(r)) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            true
        }
        None => false,
    }
}

fn get_u32(mem: &[u8], ptr: i32) -> Option<u32> {
    let bytes = mem.get(mem_range(ptr, 4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// `(memory bytes, host state)` of the calling instance.
fn memory<'a>(caller: &'a mut Caller<'_, HostState>) -> Option<(&'a mut [u8], &'a mut HostState)> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Some(m.data_and_store_mut(caller)),
        _ => None,
    }
}

fn errno(ok: bool) -> i32 {
    if ok { ESUCCESS } else { EFAULT }
}

/// Writes two zero counters (argc/argv size, environ count/size).
fn zero_sizes(mut caller: Caller<'_, HostState>, a: i32, b: i32) -> i32 {
    match memory(&mut caller) {
        Some((mem, _)) => {
            errno(put(mem, a, &0u32.to_le_bytes()) && put(mem, b, &0u32.to_le_bytes()))
        }
        None => EFAULT,
    }
}

fn now_ns(state: &HostState, clock: i32) -> u64 {
    match clock {
        0 => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        _ => u64::try_from(Instant::now().duration_since(state.started).as_nanos())
            .unwrap_or(u64::MAX),
    }
}

/// The functions [`add_to_linker`] defines.
const PROVIDED: &[&str] = &[
    "args_sizes_get",
    "environ_sizes_get",
    "args_get",
    "environ_get",
    "clock_res_get",
    "clock_time_get",
    "random_get",
    "fd_write",
    "fd_read",
    "fd_fdstat_get",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_close",
    "fd_seek",
    "sched_yield",
    "proc_exit",
];

/// Adds the preview1 functions to `linker` for both WASI module names.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    for m in WASI_MODULES {
        linker.func_wrap(
            m,
            "args_sizes_get",
            |c: Caller<'_, HostState>, a: i32, b: i32| zero_sizes(c, a, b),
        )?;
        linker.func_wrap(
            m,
            "environ_sizes_get",
            |c: Caller<'_, HostState>, a: i32, b: i32| zero_sizes(c, a, b),
        )?;
        linker.func_wrap(m, "args_get", |_: Caller<'_, HostState>, _: i32, _: i32| {
            ESUCCESS
        })?;
        linker.func_wrap(
            m,
            "environ_get",
            |_: Caller<'_, HostState>, _: i32, _: i32| ESUCCESS,
        )?;
        linker.func_wrap(
            m,
            "clock_res_get",
            |mut c: Caller<'_, HostState>, id: i32, ptr: i32| {
                if !(0..=3).contains(&id) {
                    return EINVAL;
                }
                match memory(&mut c) {
                    Some((mem, _)) => errno(put(mem, ptr, &1_000u64.to_le_bytes())),
                    None => EFAULT,
                }
            },
        )?;
        linker.func_wrap(
            m,
            "clock_time_get",
            |mut c: Caller<'_, HostState>, id: i32, _precision: i64, ptr: i32| {
                if !(0..=3).contains(&id) {
                    return EINVAL;
                }
                match memory(&mut c) {
                    Some((mem, state)) => errno(put(mem, ptr, &now_ns(state, id).to_le_bytes())),
                    None => EFAULT,
                }
            },
        )?;
        linker.func_wrap(
            m,
            "random_get",
            |mut c: Caller<'_, HostState>, ptr: i32, len: i32| {
                let Some((mem, state)) = memory(&mut c) else {
                    return EFAULT;
                };
                let Some(dst) = mem_range(ptr, len as u32 as usize).and_then(|r| mem.get_mut(r))
                else {
                    return EFAULT;
                };
                for chunk in dst.chunks_mut(8) {
                    let bytes = state.next_random().to_le_bytes();
                    chunk.copy_from_slice(bytes.get(..chunk.len()).unwrap_or_default());
                }
                ESUCCESS
            },
        )?;
        linker.func_wrap(
            m,
            "fd_write",
            |mut c: Caller<'_, HostState>, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32| {
                if !(1..=2).contains(&fd) {
                    return EBADF;
                }
                let Some((mem, state)) = memory(&mut c) else { return EFAULT };
                let mut total: u32 = 0;
                for i in 0..iovs_len.max(0) {
                    let entry = iovs.wrapping_add(i.wrapping_mul(8));
                    let (Some(buf), Some(len)) = (get_u32(mem, entry), get_u32(mem, entry.wrapping_add(4))) else {
                        return EFAULT;
                    };
                    let Some(data) = mem_range(buf as i32, len as usize).and_then(|r| mem.get(r)) else {
                        return EFAULT;
                    };
                    if fd == 2 {
                        state.push_stderr(data);
                    } else {
                        log::debug!(target: "cnpg_guard_policy", "stdout: {}", String::from_utf8_lossy(data));
                    }
                    total = total.saturating_add(len);
                }
                errno(put(mem, nwritten, &total.to_le_bytes()))
            },
        )?;
        linker.func_wrap(
            m,
            "fd_read",
            |mut c: Caller<'_, HostState>, fd: i32, _iovs: i32, _len: i32, nread: i32| {
                if fd != 0 {
                    return EBADF;
                }
                match memory(&mut c) {
                    // stdin is always at end of file
                    Some((mem, _)) => errno(put(mem, nread, &0u32.to_le_bytes())),
                    None => EFAULT,
                }
            },
        )?;
        linker.func_wrap(
            m,
            "fd_fdstat_get",
            |mut c: Caller<'_, HostState>, fd: i32, ptr: i32| {
                if !(0..=2).contains(&fd) {
                    return EBADF;
                }
                // filetype character_device, no flags; rights: fd_read (1<<1), fd_write (1<<6)
                let rights: u64 = (1 << 1) | (1 << 6);
                let mut stat = Vec::with_capacity(24);
                stat.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 0]);
                stat.extend_from_slice(&rights.to_le_bytes());
                stat.extend_from_slice(&0u64.to_le_bytes());
                match memory(&mut c) {
                    Some((mem, _)) => errno(put(mem, ptr, &stat)),
                    None => EFAULT,
                }
            },
        )?;
        // No preopened directories: std stops enumerating at the first EBADF.
        linker.func_wrap(
            m,
            "fd_prestat_get",
            |_: Caller<'_, HostState>, _: i32, _: i32| EBADF,
        )?;
        linker.func_wrap(
            m,
            "fd_prestat_dir_name",
            |_: Caller<'_, HostState>, _: i32, _: i32, _: i32| EBADF,
        )?;
        linker.func_wrap(m, "fd_close", |_: Caller<'_, HostState>, fd: i32| {
            if (0..=2).contains(&fd) {
                ESUCCESS
            } else {
                EBADF
            }
        })?;
        linker.func_wrap(
            m,
            "fd_seek",
            |_: Caller<'_, HostState>, fd: i32, _: i64, _: i32, _: i32| {
                if (0..=2).contains(&fd) { ESPIPE } else { EBADF }
            },
        )?;
        linker.func_wrap(m, "sched_yield", |_: Caller<'_, HostState>| ESUCCESS)?;
        linker.func_wrap(
            m,
            "proc_exit",
            |_: Caller<'_, HostState>, code: i32| -> wasmtime::Result<()> {
                Err(wasmtime::Error::new(ProcExit(code)))
            },
        )?;
    }
    Ok(())
}

/// For the module's remaining WASI imports: `ENOSYS` when the function returns
/// an errno, a trap otherwise.
pub(crate) fn stub_missing(
    linker: &mut Linker<HostState>,
    module: &Module,
) -> wasmtime::Result<()> {
    let engine = module.engine().clone();
    for import in module.imports() {
        if !WASI_MODULES.contains(&import.module()) {
            continue;
        }
        if PROVIDED.contains(&import.name()) {
            continue;
        }
        let Some(ty) = import.ty().func().cloned() else {
            continue;
        };
        let name = format!("{}.{}", import.module(), import.name());
        let returns_errno =
            ty.results().len() == 1 && matches!(ty.results().next(), Some(ValType::I32));
        let func_ty = FuncType::new(&engine, ty.params(), ty.results());
        linker.func_new(
            import.module(),
            import.name(),
            func_ty,
            move |_c, _params, results| {
                if returns_errno && let Some(slot) = results.first_mut() {
                    *slot = Val::I32(ENOSYS);
                    return Ok(());
                }
                Err(wasmtime::format_err!(
                    "the policy called {name}, which the cnpg-guard host does not provide"
                ))
            },
        )?;
    }
    Ok(())
}
