//! `replay_wasm`: every input of a fuzz corpus through the real policy
//! `.wasm` (the one embedded in the CLIs, run by the cnpg-guard host with
//! its per-call time limit), to catch what the native fuzz runs cannot see:
//! a trap (a panic, an out-of-bounds access, running out of the 512 MiB of
//! linear memory) or a time-limit hit.
//!
//! ```text
//! replay_wasm [--timeout-ms N] [--fresh] <target> <corpus dir or file>...
//! ```
//!
//! `<target>` says how an input becomes a call, as the fuzz target reads it:
//!
//! * `policy_raw`: the bytes are `validate`'s payload;
//! * `policy_structured`: selector byte, then object `\0` settings `\0`
//!   host answers, wrapped in an AdmissionRequest of the selected kind and
//!   operation; lookups answer an error, nothing, a 500× list or the
//!   objects (the same selector bits as the fuzz target);
//! * `settings`: the bytes are `validate_settings`' payload.
//!
//! One instance is reused (`--fresh`: a new one per input); after a trap the
//! instance is replaced. Prints the counts (accepted / rejected / refused by
//! the guest / trapped / timed out) and every failing input; exits 1 if any
//! input trapped, timed out or got a reply that is not what the operation
//! promises.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cnpg_guard_host::{
    ContextSource, Engine, HostError, Instance, ModuleCache, SettingsValidation, ValidationResponse,
};
use serde_json::{Value, json};

/// Host answers of the structure-aware target (`policy_structured.rs`).
struct Answers {
    mode: u8,
    objects: Vec<Value>,
}

impl ContextSource for Answers {
    fn list(&self, _: &str, _: &str, _: Option<&str>) -> Result<Vec<Value>, String> {
        match self.mode % 4 {
            0 => Err("host call failed: forbidden".into()),
            1 => Ok(Vec::new()),
            2 => Ok(self
                .objects
                .iter()
                .cycle()
                .take(self.objects.len() * 500)
                .cloned()
                .collect()),
            _ => Ok(self.objects.clone()),
        }
    }
}

/// The fixed context of the raw target (`policy_raw.rs`).
fn raw_context() -> Vec<Value> {
    vec![
        json!({"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
               "metadata": {"name": "store", "namespace": "db"},
               "spec": {"configuration": {"destinationPath": "s3://b/p"}},
               "status": {"serverRecoveryWindow": {"pg-v1": {"lastSuccessfulBackupTime": "2026-01-01T00:00:00Z"}}}}),
        json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
               "metadata": {"name": "other", "namespace": "db"},
               "spec": {"plugins": [{"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": true,
                                     "parameters": {"barmanObjectName": "store", "serverName": "pg-v1"}}]}}),
    ]
}

const KINDS: [(&str, &str, &str); 6] = [
    ("postgresql.cnpg.io", "Cluster", "clusters"),
    ("postgresql.cnpg.io", "ScheduledBackup", "scheduledbackups"),
    ("postgresql.cnpg.io", "Backup", "backups"),
    ("barmancloud.cnpg.io", "ObjectStore", "objectstores"),
    ("", "PersistentVolumeClaim", "persistentvolumeclaims"),
    ("networking.k8s.io", "NetworkPolicy", "networkpolicies"),
];
const OPS: [&str; 4] = ["CREATE", "UPDATE", "DELETE", "CONNECT"];

/// The structured target's call: payload and host answers.
fn structured(data: &[u8]) -> Option<(Vec<u8>, Answers)> {
    let (&sel, rest) = data.split_first()?;
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.split('\0');
    let parse = |s: Option<&str>| s.and_then(|s| serde_json::from_str::<Value>(s).ok());
    let object = parse(parts.next()).unwrap_or(Value::Null);
    let settings = parse(parts.next()).unwrap_or(json!({}));
    let answers = match parse(parts.next()) {
        Some(Value::Array(a)) => a,
        Some(v) => vec![v],
        None => vec![object.clone()],
    };
    let (group, kind, resource) = KINDS.get(usize::from(sel) % KINDS.len()).copied()?;
    let op = OPS.get(usize::from(sel >> 3) % OPS.len()).copied()?;
    let mut request = json!({
        "uid": "fuzz", "kind": {"group": group, "version": "v1", "kind": kind},
        "resource": {"group": group, "version": "v1", "resource": resource},
        "name": "pg", "namespace": "db", "operation": op,
        "userInfo": {"username": "fuzz"},
    });
    if op != "DELETE" {
        request["object"] = object.clone();
    }
    if op != "CREATE" {
        request["oldObject"] = object;
    }
    let payload = serde_json::to_vec(&json!({"request": request, "settings": settings})).ok()?;
    Some((
        payload,
        Answers {
            mode: sel >> 5,
            objects: answers,
        },
    ))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Raw,
    Structured,
    Settings,
}

#[derive(Default)]
struct Counts {
    inputs: usize,
    accepted: usize,
    rejected: usize,
    refused: usize,
    trapped: usize,
    timed_out: usize,
    bad_reply: usize,
    skipped: usize,
    slowest: (Duration, PathBuf),
    total: Duration,
}

enum Outcome {
    Accepted,
    Rejected,
    /// The guest answered with a waPC error (e.g. a payload that is not JSON).
    Refused,
    Trapped(String),
    TimedOut(String),
    BadReply(String),
}

fn classify(r: Result<Vec<u8>, HostError>, settings: bool) -> Outcome {
    match r {
        Ok(reply) if settings => match serde_json::from_slice::<SettingsValidation>(&reply) {
            Ok(v) if v.valid => Outcome::Accepted,
            Ok(_) => Outcome::Rejected,
            Err(e) => Outcome::BadReply(e.to_string()),
        },
        Ok(reply) => match serde_json::from_slice::<ValidationResponse>(&reply) {
            Ok(v) if v.accepted => Outcome::Accepted,
            Ok(_) => Outcome::Rejected,
            Err(e) => Outcome::BadReply(e.to_string()),
        },
        Err(HostError::Guest { .. }) => Outcome::Refused,
        Err(HostError::Trap { message, .. }) => {
            if message.contains("time limit") || message.contains("interrupt") {
                Outcome::TimedOut(message)
            } else {
                Outcome::Trapped(message)
            }
        }
        Err(e) => Outcome::BadReply(e.to_string()),
    }
}

fn inputs(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
                .unwrap_or_default();
            v.retain(|p| p.is_file());
            v.sort();
            out.extend(v);
        } else {
            out.push(p.clone());
        }
    }
    out
}

fn usage() -> ! {
    eprintln!(
        "usage: replay_wasm [--timeout-ms N] [--fresh] <policy_raw|policy_structured|settings> <corpus dir or file>..."
    );
    std::process::exit(2);
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut timeout = None;
    let mut fresh = false;
    while let Some(a) = args.first().cloned() {
        match a.as_str() {
            "--fresh" => {
                fresh = true;
                args.remove(0);
            }
            "--timeout-ms" => {
                args.remove(0);
                let ms: u64 = args
                    .first()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage());
                timeout = Some(Duration::from_millis(ms));
                args.remove(0);
            }
            _ => break,
        }
    }
    let target = match args.first().map(String::as_str) {
        Some("policy_raw") => Target::Raw,
        Some("policy_structured") => Target::Structured,
        Some("settings") => Target::Settings,
        _ => usage(),
    };
    let paths: Vec<PathBuf> = args.iter().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        usage();
    }
    let mut engine = match Engine::new(ModuleCache::Default) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("replay_wasm: {e}");
            std::process::exit(2);
        }
    };
    if let Some(t) = timeout {
        engine.set_timeout(t);
    }
    // The host's default limit (host/src/engine.rs DEFAULT_TIMEOUT, Kubewarden's 2 s).
    let limit = timeout.unwrap_or(Duration::from_secs(2));
    let files = inputs(&paths);
    let raw_ctx: Arc<dyn ContextSource> =
        Arc::new(cnpg_guard_host::MemorySource::new(raw_context()));
    let new_instance = |ctx: Arc<dyn ContextSource>| -> Instance {
        engine.instance(ctx).unwrap_or_else(|e| {
            eprintln!("replay_wasm: {e}");
            std::process::exit(2);
        })
    };
    // The raw and settings targets share one context: one instance serves them.
    let mut shared: Option<Instance> = None;
    let mut c = Counts::default();
    let mut failures: Vec<(PathBuf, String)> = Vec::new();
    let started = Instant::now();
    for (i, path) in files.iter().enumerate() {
        let Ok(data) = std::fs::read(path) else {
            c.skipped += 1;
            continue;
        };
        c.inputs += 1;
        let t0 = Instant::now();
        let (result, settings) = match target {
            Target::Raw | Target::Settings => {
                if fresh || shared.is_none() {
                    shared = Some(new_instance(Arc::clone(&raw_ctx)));
                }
                let Some(inst) = shared.as_ref() else {
                    continue;
                };
                let op = if target == Target::Raw {
                    "validate"
                } else {
                    "validate_settings"
                };
                (inst.call_raw(op, &data), target == Target::Settings)
            }
            Target::Structured => {
                let Some((payload, answers)) = structured(&data) else {
                    c.skipped += 1;
                    c.inputs -= 1;
                    continue;
                };
                // Host answers differ per input: a new instance each time.
                let inst = new_instance(Arc::new(answers));
                (inst.call_raw("validate", &payload), false)
            }
        };
        let took = t0.elapsed();
        c.total += took;
        if took > c.slowest.0 {
            c.slowest = (took, path.clone());
        }
        match classify(result, settings) {
            Outcome::Accepted => c.accepted += 1,
            Outcome::Rejected => c.rejected += 1,
            Outcome::Refused => c.refused += 1,
            Outcome::Trapped(m) => {
                c.trapped += 1;
                shared = None;
                failures.push((path.clone(), format!("trap: {m}")));
            }
            Outcome::TimedOut(m) => {
                c.timed_out += 1;
                shared = None;
                failures.push((path.clone(), format!("time limit: {m}")));
            }
            Outcome::BadReply(m) => {
                c.bad_reply += 1;
                failures.push((path.clone(), format!("bad reply: {m}")));
            }
        }
        if (i + 1) % 1000 == 0 {
            eprintln!("replay_wasm: {} / {}", i + 1, files.len());
        }
    }
    let name = args.first().map_or("", String::as_str);
    let accepted_word = if target == Target::Settings {
        "valid"
    } else {
        "accepted"
    };
    let rejected_word = if target == Target::Settings {
        "invalid"
    } else {
        "rejected"
    };
    println!(
        "{name}: {} inputs in {:.1} s through the .wasm (limit {} ms per call): {} {accepted_word}, {} {rejected_word}, {} refused by the guest (waPC error), {} trapped, {} timed out, {} bad replies{}",
        c.inputs,
        started.elapsed().as_secs_f64(),
        limit.as_millis(),
        c.accepted,
        c.rejected,
        c.refused,
        c.trapped,
        c.timed_out,
        c.bad_reply,
        if c.skipped > 0 {
            format!(", {} skipped", c.skipped)
        } else {
            String::new()
        },
    );
    if c.inputs > 0 {
        println!(
            "{name}: mean {:.2} ms per call, slowest {:.1} ms ({})",
            c.total.as_secs_f64() * 1000.0 / c.inputs as f64,
            c.slowest.0.as_secs_f64() * 1000.0,
            c.slowest.1.display()
        );
    }
    for (p, why) in &failures {
        println!("FAIL {}: {why}", p.display());
    }
    if !failures.is_empty() {
        std::process::exit(1);
    }
}
