//! The waPC/WASI host ABI against a tiny hand-assembled guest (wasm-encoder):
//! host-call round trips with a context source, host errors, guest errors,
//! stderr capture on a trap, the time limit, and guest stdout never reaching
//! the process stdout.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use cnpg_guard_host::{ContextSource, Engine, HostError, MemorySource, ModuleCache};
use serde_json::{Value, json};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, DataSection, EntityType, ExportKind, ExportSection,
    Function, FunctionSection, ImportSection, Instruction as I, MemorySection, MemoryType, Module,
    TypeSection, ValType,
};

const LIST_REQUEST: &str =
    r#"{"api_version":"v1","kind":"Pod","label_selector":null,"field_selector":null}"#;

/// Operations are told apart by name length: `say` (3) writes "boom\n" to
/// stdout then echoes, `echo` (4) echoes the payload, `crash` (5) writes
/// "boom\n" to stderr and traps, `lookup` (6) does a `list_resources_all` host
/// call and returns its response (or its error as a guest error), `forever`
/// (7) loops; anything else is a guest error "boom".
fn guest_module() -> Vec<u8> {
    use ValType::I32;
    let mut types = TypeSection::new();
    types.ty().function([I32, I32], []); // 0
    types.ty().function([I32; 8], [I32]); // 1
    types.ty().function([], [I32]); // 2
    types.ty().function([I32], []); // 3
    types.ty().function([I32; 4], [I32]); // 4
    types.ty().function([], []); // 5
    types.ty().function([I32, I32], [I32]); // 6

    let mut imports = ImportSection::new();
    for (name, ty) in [
        ("__guest_request", 0),     // f0
        ("__guest_response", 0),    // f1
        ("__guest_error", 0),       // f2
        ("__host_call", 1),         // f3
        ("__host_response_len", 2), // f4
        ("__host_response", 3),     // f5
        ("__host_error_len", 2),    // f6
        ("__host_error", 3),        // f7
    ] {
        imports.import("wapc", name, EntityType::Function(ty));
    }
    imports.import(
        "wasi_snapshot_preview1",
        "fd_write",
        EntityType::Function(4),
    ); // f8

    let mut funcs = FunctionSection::new();
    funcs.function(5); // f9 wapc_init
    funcs.function(6); // f10 __guest_call

    let mut memory = MemorySection::new();
    memory.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });

    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export("wapc_init", ExportKind::Func, 9);
    exports.export("__guest_call", ExportKind::Func, 10);

    let mut code = CodeSection::new();
    let mut init = Function::new([]);
    init.instruction(&I::End);
    code.function(&init);

    let mut f = Function::new([(1, I32)]); // local 2: length
    let ins = |f: &mut Function, list: &[I<'_>]| {
        for i in list {
            f.instruction(i);
        }
    };
    ins(&mut f, &[I::I32Const(1024), I::I32Const(2048), I::Call(0)]);
    // echo
    ins(
        &mut f,
        &[
            I::LocalGet(0),
            I::I32Const(4),
            I::I32Eq,
            I::If(BlockType::Empty),
        ],
    );
    ins(
        &mut f,
        &[
            I::I32Const(2048),
            I::LocalGet(1),
            I::Call(1),
            I::I32Const(1),
            I::Return,
            I::End,
        ],
    );
    // say: stdout, then echo
    ins(
        &mut f,
        &[
            I::LocalGet(0),
            I::I32Const(3),
            I::I32Eq,
            I::If(BlockType::Empty),
        ],
    );
    ins(
        &mut f,
        &[
            I::I32Const(1),
            I::I32Const(512),
            I::I32Const(1),
            I::I32Const(600),
            I::Call(8),
            I::Drop,
        ],
    );
    ins(
        &mut f,
        &[
            I::I32Const(2048),
            I::LocalGet(1),
            I::Call(1),
            I::I32Const(1),
            I::Return,
            I::End,
        ],
    );
    // crash: stderr, then trap
    ins(
        &mut f,
        &[
            I::LocalGet(0),
            I::I32Const(5),
            I::I32Eq,
            I::If(BlockType::Empty),
        ],
    );
    ins(
        &mut f,
        &[
            I::I32Const(2),
            I::I32Const(512),
            I::I32Const(1),
            I::I32Const(600),
            I::Call(8),
            I::Drop,
        ],
    );
    ins(&mut f, &[I::Unreachable, I::End]);
    // forever
    ins(
        &mut f,
        &[
            I::LocalGet(0),
            I::I32Const(7),
            I::I32Eq,
            I::If(BlockType::Empty),
        ],
    );
    ins(
        &mut f,
        &[I::Loop(BlockType::Empty), I::Br(0), I::End, I::End],
    );
    // lookup
    ins(
        &mut f,
        &[
            I::LocalGet(0),
            I::I32Const(6),
            I::I32Eq,
            I::If(BlockType::Empty),
        ],
    );
    ins(
        &mut f,
        &[
            I::I32Const(0),
            I::I32Const(10),
            I::I32Const(16),
            I::I32Const(10),
            I::I32Const(32),
            I::I32Const(18),
        ],
    );
    ins(
        &mut f,
        &[
            I::I32Const(64),
            I::I32Const(LIST_REQUEST.len() as i32),
            I::Call(3),
        ],
    );
    ins(&mut f, &[I::I32Const(1), I::I32Eq, I::If(BlockType::Empty)]);
    ins(
        &mut f,
        &[I::Call(4), I::LocalSet(2), I::I32Const(4096), I::Call(5)],
    );
    ins(
        &mut f,
        &[
            I::I32Const(4096),
            I::LocalGet(2),
            I::Call(1),
            I::I32Const(1),
            I::Return,
            I::End,
        ],
    );
    ins(
        &mut f,
        &[I::Call(6), I::LocalSet(2), I::I32Const(4096), I::Call(7)],
    );
    ins(
        &mut f,
        &[
            I::I32Const(4096),
            I::LocalGet(2),
            I::Call(2),
            I::I32Const(0),
            I::Return,
            I::End,
        ],
    );
    // anything else
    ins(
        &mut f,
        &[
            I::I32Const(256),
            I::I32Const(4),
            I::Call(2),
            I::I32Const(0),
            I::End,
        ],
    );
    code.function(&f);

    let mut data = DataSection::new();
    let at = |o: i32| ConstExpr::i32_const(o);
    data.active(0, &at(0), b"kubewarden".iter().copied());
    data.active(0, &at(16), b"kubernetes".iter().copied());
    data.active(0, &at(32), b"list_resources_all".iter().copied());
    data.active(0, &at(64), LIST_REQUEST.bytes());
    data.active(0, &at(256), b"boom\n".iter().copied());
    data.active(0, &at(512), [0u8, 1, 0, 0, 5, 0, 0, 0]); // iovec {buf: 256, len: 5}

    let mut module = Module::new();
    module
        .section(&types)
        .section(&imports)
        .section(&funcs)
        .section(&memory)
        .section(&exports)
        .section(&code)
        .section(&data);
    module.finish()
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::from_bytes(&guest_module(), ModuleCache::Off).unwrap())
}

fn ctx(objects: Vec<Value>) -> Arc<dyn ContextSource> {
    Arc::new(MemorySource::new(objects))
}

#[test]
fn payload_round_trip() {
    let inst = engine().instance(ctx(vec![])).unwrap();
    assert_eq!(inst.call_raw("echo", b"hello").unwrap(), b"hello");
    assert_eq!(inst.call_raw("echo", b"").unwrap(), b"");
    let big = vec![b'x'; 40_000];
    assert_eq!(inst.call_raw("echo", &big).unwrap(), big);
    let err = inst.call_raw("unknown-op", b"").unwrap_err();
    assert_eq!(err.to_string(), "policy call `unknown-op` failed: boom");
}

#[test]
fn host_call_answers_from_the_context_source() {
    let pods = vec![
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "x"}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "x"}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b", "namespace": "y"}}),
    ];
    let inst = engine().instance(ctx(pods)).unwrap();
    let reply: Value = serde_json::from_slice(&inst.call_raw("lookup", b"").unwrap()).unwrap();
    assert_eq!(reply["kind"], "PodList");
    assert_eq!(reply["apiVersion"], "v1");
    let names: Vec<_> = reply["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["metadata"]["name"].clone())
        .collect();
    assert_eq!(names, [json!("a"), json!("b")]);
}

#[test]
fn host_errors_reach_the_guest() {
    struct Down;
    impl ContextSource for Down {
        fn list(&self, _: &str, _: &str, _: Option<&str>) -> Result<Vec<Value>, String> {
            Err("api server unreachable".into())
        }
    }
    let inst = engine().instance(Arc::new(Down)).unwrap();
    match inst.call_raw("lookup", b"").unwrap_err() {
        HostError::Guest { message, .. } => assert_eq!(message, "api server unreachable"),
        other => panic!("unexpected {other}"),
    }
    // The instance is still usable after a guest error.
    assert_eq!(inst.call_raw("echo", b"ok").unwrap(), b"ok");
}

#[test]
fn trap_reports_stderr_and_breaks_the_instance() {
    let inst = engine().instance(ctx(vec![])).unwrap();
    let err = inst.call_raw("crash", b"").unwrap_err();
    assert!(matches!(err, HostError::Trap { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "policy call `crash` aborted: the policy panicked: boom"
    );
    let again = inst.call_raw("echo", b"x").unwrap_err();
    assert!(
        again
            .to_string()
            .contains("unusable after an earlier abort"),
        "{again}"
    );
    // A new instance from the same engine works.
    assert_eq!(
        engine()
            .instance(ctx(vec![]))
            .unwrap()
            .call_raw("echo", b"x")
            .unwrap(),
        b"x"
    );
}

#[test]
fn runaway_guest_hits_the_time_limit() {
    let mut engine = Engine::from_bytes(&guest_module(), ModuleCache::Off).unwrap();
    engine.set_timeout(Duration::from_millis(200));
    let inst = engine.instance(ctx(vec![])).unwrap();
    let t = Instant::now();
    let err = inst.call_raw("forever", b"").unwrap_err();
    let took = t.elapsed();
    assert!(err.to_string().contains("time limit exceeded"), "{err}");
    assert!(
        took >= Duration::from_millis(150) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

/// Child half of `guest_stdout_never_reaches_process_stdout`.
#[test]
fn child_guest_writes_stdout() {
    if std::env::var_os("CNPG_GUARD_GUEST_CHILD").is_none() {
        return;
    }
    let inst = engine().instance(ctx(vec![])).unwrap();
    assert_eq!(inst.call_raw("say", b"quiet").unwrap(), b"quiet");
    println!("child-done");
}

#[test]
fn guest_stdout_never_reaches_process_stdout() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "child_guest_writes_stdout",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CNPG_GUARD_GUEST_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("child-done"), "the child ran: {stdout}");
    assert!(
        !stdout.contains("boom") && !stderr.contains("boom"),
        "guest output leaked:\n{stdout}\n{stderr}"
    );
}
