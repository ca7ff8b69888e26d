//! The wasmtime engine, the precompiled-module cache and policy instances.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};
use wasmtime::{InstancePre, Linker, Module, Store, StoreLimitsBuilder, TypedFunc};

use crate::wapc::HostState;
use crate::wasi::ProcExit;
use crate::{ContextSource, HostError, SettingsValidation, ValidationResponse};

/// Where compiled (native) policy code is kept between runs.
///
/// Compiling the module with Cranelift takes about a second; loading a
/// precompiled one takes about a millisecond. CLIs should use
/// [`ModuleCache::Default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleCache {
    /// Always compile in memory.
    Off,
    /// Use this directory (created if missing).
    Dir(PathBuf),
    /// `$CNPG_GUARD_CACHE_DIR`, else `$XDG_CACHE_HOME/cnpg-guard`, else
    /// `~/.cache/cnpg-guard`. An unusable directory silently means "compile in
    /// memory".
    Default,
}

impl ModuleCache {
    /// The directory this setting resolves to, if any.
    pub fn dir(&self) -> Option<PathBuf> {
        match self {
            ModuleCache::Off => None,
            ModuleCache::Dir(dir) => Some(dir.clone()),
            ModuleCache::Default => {
                let env_dir = |k: &str| {
                    std::env::var_os(k)
                        .filter(|v| !v.is_empty())
                        .map(PathBuf::from)
                };
                env_dir("CNPG_GUARD_CACHE_DIR")
                    .or_else(|| {
                        env_dir("XDG_CACHE_HOME")
                            .filter(|p| p.is_absolute())
                            .map(|p| p.join("cnpg-guard"))
                    })
                    .or_else(|| env_dir("HOME").map(|h| h.join(".cache").join("cnpg-guard")))
            }
        }
    }
}

/// How the module was obtained, for diagnostics and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadInfo {
    /// True when native code came from the cache (no compilation).
    pub from_cache: bool,
    /// The cache file used or written, when caching was possible.
    pub cache_file: Option<PathBuf>,
    /// Set when a cache file existed but was rejected (corrupt, incompatible)
    /// and the module was recompiled; says why.
    pub cache_rejected: Option<String>,
    /// Time spent compiling or loading the module.
    pub load_time: Duration,
}

/// Cache file layout: magic, SHA-256 of the payload, payload (`Module::serialize`).
const CACHE_MAGIC: &[u8; 8] = b"CNPGGCM1";
/// Epoch tick of the execution-time limit.
const TICK: Duration = Duration::from_millis(50);
/// Default time limit of one policy call (Kubewarden's default is 2 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Linear memory limit of one instance.
pub const MAX_MEMORY: usize = 512 << 20;

/// One wasmtime engine with the compiled policy module, ready to instantiate.
pub struct Engine {
    engine: wasmtime::Engine,
    pre: InstancePre<HostState>,
    info: LoadInfo,
    deadline_ticks: u64,
    /// Keeps the epoch ticker thread alive; instances hold a clone.
    alive: Arc<()>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Engine for the embedded policy ([`crate::POLICY_WASM`]).
    pub fn new(cache: ModuleCache) -> Result<Engine, HostError> {
        Engine::from_bytes(crate::POLICY_WASM, cache)
    }

    /// Engine for any waPC policy module.
    pub fn from_bytes(wasm: &[u8], cache: ModuleCache) -> Result<Engine, HostError> {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        config.cranelift_opt_level(wasmtime::OptLevel::Speed);
        let engine =
            wasmtime::Engine::new(&config).map_err(|e| HostError::Compile(format!("{e:#}")))?;

        let started = Instant::now();
        let (module, mut info) = load_module(&engine, wasm, cache.dir().as_deref())?;
        info.load_time = started.elapsed();

        let mut linker: Linker<HostState> = Linker::new(&engine);
        let link = |e: wasmtime::Error| HostError::Instantiate(format!("{e:#}"));
        crate::wapc::add_to_linker(&mut linker).map_err(link)?;
        crate::wasi::add_to_linker(&mut linker).map_err(link)?;
        crate::wasi::stub_missing(&mut linker, &module).map_err(link)?;
        for import in module.imports() {
            let known =
                import.module() == "wapc" || crate::wasi::WASI_MODULES.contains(&import.module());
            if !known {
                return Err(HostError::Instantiate(format!(
                    "the module imports {}.{}, which the cnpg-guard host does not provide",
                    import.module(),
                    import.name()
                )));
            }
        }
        let pre = linker.instantiate_pre(&module).map_err(link)?;

        let alive = Arc::new(());
        spawn_ticker(engine.clone(), Arc::downgrade(&alive));
        Ok(Engine {
            engine,
            pre,
            info,
            deadline_ticks: ticks(DEFAULT_TIMEOUT),
            alive,
        })
    }

    /// Changes the time limit of each policy call (and of instantiation) for
    /// instances created afterwards.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.deadline_ticks = ticks(timeout);
    }

    /// How the module was obtained.
    pub fn load_info(&self) -> &LoadInfo {
        &self.info
    }

    /// A fresh instance: new store, instantiate, `_start` (if exported) and
    /// `wapc_init`. Host calls are answered from `ctx`.
    pub fn instance(&self, ctx: Arc<dyn ContextSource>) -> Result<Instance, HostError> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(MAX_MEMORY)
            .instances(1)
            .build();
        let mut store = Store::new(&self.engine, HostState::new(ctx, limits));
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(self.deadline_ticks);
        let fail = |store: &Store<HostState>, e: wasmtime::Error| {
            HostError::Instantiate(describe_trap(&e, store.data(), self.deadline_ticks))
        };
        let instance = match self.pre.instantiate(&mut store) {
            Ok(i) => i,
            Err(e) => return Err(fail(&store, e)),
        };
        for start in ["_start", "wapc_init"] {
            let Some(func) = instance.get_func(&mut store, start) else {
                continue;
            };
            let func = func.typed::<(), ()>(&store).map_err(|e| {
                HostError::Instantiate(format!("{start} has an unexpected signature: {e}"))
            })?;
            match func.call(&mut store, ()) {
                Ok(()) => {}
                Err(e) if e.downcast_ref::<ProcExit>().is_some_and(|p| p.0 == 0) => {}
                Err(e) => return Err(fail(&store, e)),
            }
        }
        let guest_call = instance
            .get_typed_func::<(i32, i32), i32>(&mut store, "__guest_call")
            .map_err(|e| {
                HostError::Instantiate(format!("not a waPC module (__guest_call): {e}"))
            })?;
        Ok(Instance {
            inner: Mutex::new(Inner {
                store,
                broken: None,
            }),
            guest_call,
            deadline_ticks: self.deadline_ticks,
            _alive: Arc::clone(&self.alive),
        })
    }
}

fn ticks(timeout: Duration) -> u64 {
    let t = timeout.as_millis() / TICK.as_millis().max(1);
    u64::try_from(t).unwrap_or(u64::MAX / 2).saturating_add(1)
}

/// Advances the engine epoch every [`TICK`] while the engine or an instance lives.
fn spawn_ticker(engine: wasmtime::Engine, alive: Weak<()>) {
    let spawned = std::thread::Builder::new()
        .name("cnpg-guard-epoch".into())
        .spawn(move || {
            while alive.strong_count() > 0 {
                std::thread::sleep(TICK);
                engine.increment_epoch();
            }
        });
    if let Err(e) = spawned {
        // Without the ticker, calls simply have no time limit.
        log::warn!("cannot start the policy time-limit thread: {e}");
    }
}

fn describe_trap(e: &wasmtime::Error, state: &HostState, deadline_ticks: u64) -> String {
    let mut msg = match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => format!(
            "time limit exceeded (about {} ms)",
            deadline_ticks
                .saturating_sub(1)
                .saturating_mul(TICK.as_millis() as u64)
        ),
        Some(wasmtime::Trap::UnreachableCodeReached) => "the policy panicked".to_string(),
        Some(trap) => format!("wasm trap: {trap}"),
        None => match e.downcast_ref::<ProcExit>() {
            Some(p) => format!("the policy exited with code {}", p.0),
            None => format!("{e}"),
        },
    };
    if let Some(line) = state.last_stderr_line() {
        msg.push_str(": ");
        msg.push_str(&line);
    }
    msg
}

// ---------------------------------------------------------------------------
// Module cache
// ---------------------------------------------------------------------------

fn load_module(
    engine: &wasmtime::Engine,
    wasm: &[u8],
    dir: Option<&Path>,
) -> Result<(Module, LoadInfo), HostError> {
    let mut info = LoadInfo {
        from_cache: false,
        cache_file: None,
        cache_rejected: None,
        load_time: Duration::ZERO,
    };
    let compile = || Module::new(engine, wasm).map_err(|e| HostError::Compile(format!("{e:#}")));
    let Some(dir) = dir else {
        return Ok((compile()?, info));
    };
    let file = dir.join(format!("cnpg-guard-{}.cwasm", cache_key(engine, wasm)));

    match std::fs::read(&file) {
        Ok(bytes) => match deserialize_cached(engine, &bytes) {
            Ok(module) => {
                info.from_cache = true;
                info.cache_file = Some(file);
                return Ok((module, info));
            }
            Err(why) => {
                log::warn!(
                    "ignoring the compiled-policy cache file {} ({why}); compiling the policy again",
                    file.display()
                );
                info.cache_rejected = Some(why);
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            log::warn!(
                "cannot read the compiled-policy cache file {}: {e}",
                file.display()
            );
            info.cache_rejected = Some(format!("unreadable: {e}"));
        }
    }

    let module = compile()?;
    if let Ok(payload) = module.serialize() {
        match store_cached(dir, &file, &payload) {
            Ok(()) => info.cache_file = Some(file),
            Err(e) => log::warn!(
                "cannot cache the compiled policy in {} ({e}): every run compiles it again \
                 (set CNPG_GUARD_CACHE_DIR to a writable directory)",
                dir.display()
            ),
        }
    }
    Ok((module, info))
}

/// SHA-256 over the wasm bytes, the wasmtime version and the engine's
/// compilation settings (target, flags, features).
fn cache_key(engine: &wasmtime::Engine, wasm: &[u8]) -> String {
    let mut fingerprint = std::collections::hash_map::DefaultHasher::new();
    engine
        .precompile_compatibility_hash()
        .hash(&mut fingerprint);
    let mut h = Sha256::new();
    h.update(CACHE_MAGIC);
    h.update(b"wasmtime-48\0");
    h.update(fingerprint.finish().to_le_bytes());
    h.update(wasm);
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Verifies the stored checksum, then hands the payload to wasmtime.
#[allow(unsafe_code)]
fn deserialize_cached(engine: &wasmtime::Engine, bytes: &[u8]) -> Result<Module, String> {
    let (magic, rest) = bytes
        .split_at_checked(CACHE_MAGIC.len())
        .ok_or("truncated header")?;
    if magic != CACHE_MAGIC {
        return Err("not a cnpg-guard cache file".into());
    }
    let (sum, payload) = rest.split_at_checked(32).ok_or("truncated checksum")?;
    if Sha256::digest(payload).as_slice() != sum {
        return Err("checksum mismatch (corrupt or truncated)".into());
    }
    // SAFETY: `Module::deserialize` trusts its input to be a wasmtime artifact
    // for a compatible engine. The file is one this function's caller wrote with
    // `Module::serialize`, named after the SHA-256 of the wasm bytes, the
    // wasmtime version and the engine configuration, and its payload checksum
    // was verified above, so a truncated or corrupted file never reaches here;
    // wasmtime itself re-checks the version and configuration header. The
    // directory is the user's own cache (same trust as their home directory).
    unsafe { Module::deserialize(engine, payload) }.map_err(|e| format!("{e}"))
}

fn store_cached(dir: &Path, file: &Path, payload: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut bytes = Vec::with_capacity(CACHE_MAGIC.len() + 32 + payload.len());
    bytes.extend_from_slice(CACHE_MAGIC);
    bytes.extend_from_slice(&Sha256::digest(payload));
    bytes.extend_from_slice(payload);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = file.with_extension(format!("tmp.{}.{nanos}", std::process::id()));
    std::fs::write(&tmp, &bytes)?;
    if let Err(e) = std::fs::rename(&tmp, file) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    prune(dir, file);
    Ok(())
}

/// Drops other cache entries untouched for 30 days (old policy builds).
fn prune(dir: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let max_age = Duration::from_secs(30 * 24 * 3600);
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path == keep || !name.starts_with("cnpg-guard-") || !name.ends_with(".cwasm") {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > max_age);
        if old {
            let _ = std::fs::remove_file(&path);
        }
    }
}

// ---------------------------------------------------------------------------
// Instance
// ---------------------------------------------------------------------------

struct Inner {
    store: Store<HostState>,
    /// Set after a trap: the guest may be in any state, refuse further calls.
    broken: Option<String>,
}

/// One instantiated policy (its own store and memory). Calls are serialized.
pub struct Instance {
    inner: Mutex<Inner>,
    guest_call: TypedFunc<(i32, i32), i32>,
    deadline_ticks: u64,
    _alive: Arc<()>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").finish_non_exhaustive()
    }
}

impl Instance {
    /// Calls waPC operation `op` with `payload`, returning the guest's reply
    /// bytes. A waPC error from the guest is [`HostError::Guest`]; a trap is
    /// [`HostError::Trap`] and makes this instance unusable.
    pub fn call_raw(&self, op: &str, payload: &[u8]) -> Result<Vec<u8>, HostError> {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(why) = &inner.broken {
            return Err(HostError::Trap {
                op: op.to_string(),
                message: format!(
                    "instance unusable after an earlier abort ({why}); create a new one"
                ),
            });
        }
        let too_big = || HostError::BadReply {
            op: op.to_string(),
            message: "payload larger than 2 GiB".into(),
        };
        let op_len = i32::try_from(op.len()).map_err(|_| too_big())?;
        let len = i32::try_from(payload.len()).map_err(|_| too_big())?;
        let Inner { store, broken } = &mut *inner;
        {
            let state = store.data_mut();
            state.op.clear();
            state.op.extend_from_slice(op.as_bytes());
            state.payload.clear();
            state.payload.extend_from_slice(payload);
            state.guest_response = None;
            state.guest_error = None;
        }
        store.set_epoch_deadline(self.deadline_ticks);
        let result = self.guest_call.call(&mut *store, (op_len, len));
        let state = store.data_mut();
        state.payload.clear();
        match result {
            Ok(1) => Ok(state.guest_response.take().unwrap_or_default()),
            Ok(_) => Err(HostError::Guest {
                op: op.to_string(),
                message: state
                    .guest_error
                    .take()
                    .unwrap_or_else(|| "unknown error".to_string()),
            }),
            Err(e) => {
                let message = describe_trap(&e, state, self.deadline_ticks);
                *broken = Some(message.clone());
                Err(HostError::Trap {
                    op: op.to_string(),
                    message,
                })
            }
        }
    }

    fn call_json<T: DeserializeOwned>(&self, op: &str, payload: &Value) -> Result<T, HostError> {
        let bytes = serde_json::to_vec(payload).map_err(|source| HostError::Encode {
            op: op.to_string(),
            source,
        })?;
        let reply = self.call_raw(op, &bytes)?;
        decode(op, &reply)
    }

    /// `protocol_version` (Kubewarden expects `"v1"`).
    pub fn protocol_version(&self) -> Result<String, HostError> {
        let reply = self.call_raw("protocol_version", b"")?;
        decode("protocol_version", &reply)
    }

    /// `validate_settings` with the raw settings object. As in Kubewarden, a
    /// waPC error (e.g. settings that do not deserialize) is reported as
    /// `valid: false` with the policy's message; a missing export stays an error.
    pub fn validate_settings(&self, settings: &Value) -> Result<SettingsValidation, HostError> {
        match self.call_json("validate_settings", settings) {
            Err(HostError::Guest { message, .. })
                if !message.starts_with("No handler registered") =>
            {
                Ok(SettingsValidation {
                    valid: false,
                    message: Some(message),
                })
            }
            other => other,
        }
    }

    /// `validate` with `{"request": AdmissionRequest, "settings": {...}}`.
    pub fn validate(&self, payload: &Value) -> Result<ValidationResponse, HostError> {
        self.call_json("validate", payload)
    }

    /// `evaluate` (same payload as `validate`): the structured verdict.
    pub fn evaluate(&self, payload: &Value) -> Result<cnpg_guard_core::Verdict, HostError> {
        self.call_json("evaluate", payload)
    }
}

fn decode<T: DeserializeOwned>(op: &str, reply: &[u8]) -> Result<T, HostError> {
    serde_json::from_slice(reply).map_err(|e| HostError::BadReply {
        op: op.to_string(),
        message: format!("{e} (reply: {})", preview(reply)),
    })
}

fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}
