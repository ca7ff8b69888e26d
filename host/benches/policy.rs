//! Policy latency benchmark (`cargo xtask bench`, not part of `cargo test`).
//!
//! Measures, in one run, per-request `validate` latency of the embedded
//! cnpg-guard policy and of a trivial accept-all policy (built by xtask from
//! `xtask/accept-all`, path in `$CNPG_GUARD_ACCEPT_ALL_WASM`), for a Cluster
//! CREATE with lookup context and a PVC request, on a fresh instance per
//! request (policy-server) and on a reused instance (kwctl bench). Also module
//! compile vs. cached load time and module sizes. Prints a markdown table.
//!
//! Usage: `cargo bench -p cnpg-guard-host --bench policy -- [ITERATIONS]`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use cnpg_guard_core::LookupKind;
use cnpg_guard_host::bundle::admission_request;
use cnpg_guard_host::{ContextSource, Engine, MemorySource, ModuleCache, POLICY_WASM};
use serde_json::{Value, json};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn cluster() -> Value {
    json!({
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "pg", "namespace": "db", "labels": {"app.kubernetes.io/name": "pg"}},
        "spec": {
            "instances": 3,
            "imageName": "ghcr.io/cloudnative-pg/postgresql:17.5",
            "storage": {"size": "20Gi", "storageClass": "local-path"},
            "walStorage": {"size": "5Gi"},
            "postgresql": {"parameters": {"max_connections": "200", "shared_buffers": "512MB"}},
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
            "bootstrap": {"recovery": {"source": "origin"}},
            "externalClusters": [{
                "name": "origin",
                "plugin": {"name": "barman-cloud.cloudnative-pg.io",
                           "parameters": {"barmanObjectName": "store", "serverName": "pg-v1"}}
            }],
            "plugins": [{
                "name": "barman-cloud.cloudnative-pg.io",
                "isWALArchiver": true,
                "parameters": {"barmanObjectName": "store", "serverName": "pg-v2"}
            }],
            "monitoring": {"enablePodMonitor": true}
        }
    })
}

fn object_store() -> Value {
    json!({
        "apiVersion": "barmancloud.cnpg.io/v1",
        "kind": "ObjectStore",
        "metadata": {"name": "store", "namespace": "db"},
        "spec": {
            "retentionPolicy": "30d",
            "configuration": {
                "destinationPath": "s3://backups/cnpg",
                "endpointURL": "https://minio.example.internal",
                "s3Credentials": {
                    "accessKeyId": {"name": "minio", "key": "ACCESS_KEY_ID"},
                    "secretAccessKey": {"name": "minio", "key": "ACCESS_SECRET_KEY"}
                },
                "wal": {"compression": "gzip", "maxParallel": 4},
                "data": {"compression": "gzip"}
            }
        }
    })
}

fn pvc() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "pg-1", "namespace": "db",
                     "labels": {"cnpg.io/cluster": "pg", "cnpg.io/instanceName": "pg-1", "backup": "daily"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}},
                 "storageClassName": "local-path"}
    })
}

/// A live Cluster as the API server holds it (status, managed fields and
/// all): what a list answer carried before field masks.
fn live_cluster(i: usize) -> Value {
    let name = format!("app-{i}");
    let ns = format!("team-{}", i % 50);
    json!({
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": name, "namespace": ns, "uid": format!("00000000-0000-0000-0000-{i:012}"),
            "resourceVersion": "123456", "generation": 3, "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app.kubernetes.io/name": name, "team": ns},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "x".repeat(1500)},
            "managedFields": [{"manager": "argocd-controller", "operation": "Apply", "fieldsV1": {"f:spec": {}}}]},
        "spec": {
            "instances": 3, "imageName": "ghcr.io/cloudnative-pg/postgresql:17.5",
            "storage": {"size": "20Gi"}, "walStorage": {"size": "5Gi"},
            "postgresql": {"parameters": {"max_connections": "200", "shared_buffers": "512MB", "work_mem": "16MB"}},
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
            "affinity": {"podAntiAffinityType": "preferred", "topologyKey": "kubernetes.io/hostname"},
            "bootstrap": {"initdb": {"database": "app", "owner": "app"}},
            "plugins": [{"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": true,
                         "parameters": {"barmanObjectName": "store", "serverName": format!("{name}-v1")}}]
        },
        "status": {
            "phase": "Cluster in healthy state", "instances": 3, "readyInstances": 3,
            "currentPrimary": format!("{name}-1"), "targetPrimary": format!("{name}-1"),
            "instancesStatus": {"healthy": [format!("{name}-1"), format!("{name}-2"), format!("{name}-3")]},
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "ClusterIsReady", "message": "Cluster is Ready", "lastTransitionTime": "2026-01-01T00:00:00Z"},
                {"type": "ContinuousArchiving", "status": "True", "reason": "ContinuousArchivingSuccess", "message": "Continuous archiving is working", "lastTransitionTime": "2026-01-01T00:00:00Z"}
            ],
            "certificates": {"expirations": {"a": "2027-01-01", "b": "2027-01-01"}, "serverAltDNSNames": [format!("{name}-rw"), format!("{name}-ro"), format!("{name}-r")]},
            "topology": {"instances": {}, "successfullyExtracted": true}
        }
    })
}

/// Answers like policy-server's reflector cache: objects stored already
/// pruned by the policy's masks, serialised on every call (no memo).
struct Reflector(MemorySource);

impl ContextSource for Reflector {
    fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Vec<Value>, String> {
        self.0.list(api_version, kind, namespace)
    }
}

fn pruned(o: &Value) -> Value {
    let kind = o["kind"].as_str().unwrap_or_default();
    let masks: Vec<String> = LookupKind::ALL
        .into_iter()
        .find(|k| k.kind() == kind)
        .map(|k| k.field_masks().iter().map(|m| m.to_string()).collect())
        .unwrap_or_default();
    cnpg_guard_host::masks::apply(o, &masks)
}

fn lookup_scaling(engine: &Engine, iterations: usize) {
    println!("### Lookup scaling: one Cluster admission while the cluster holds N Clusters\n");
    println!(
        "Fresh instance per request (policy-server's model); context answered like policy-server's"
    );
    println!(
        "reflector: objects stored pruned by the policy's field masks, serialised on every call."
    );
    println!("`host` is the host's share (filtering + serialising the list answers).\n");
    println!(
        "| Clusters | list answer, masked (bytes) | unmasked (bytes) | CREATE (µs) | of which host (µs) | CREATE req/s | vs 10 | UPDATE, lineage kept (µs) | UPDATE vs 10 |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut base: Option<(f64, f64)> = None;
    for n in [10usize, 1000, 5000] {
        let whole: Vec<Value> = (0..n).map(live_cluster).chain([object_store()]).collect();
        let clusters = |f: &dyn Fn(&Value) -> Value| {
            serde_json::to_vec(
                &whole
                    .iter()
                    .filter(|o| o["kind"] == "Cluster")
                    .map(f)
                    .collect::<Vec<_>>(),
            )
            .unwrap()
            .len()
        };
        let masked_bytes = clusters(&pruned);
        let whole_bytes = clusters(&|o| o.clone());
        let source = MemorySource::new(whole.iter().map(pruned).collect());
        // The host's share: answer the list call the policy makes, as it makes it.
        let list_req = serde_json::to_vec(&json!({"api_version": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "label_selector": null, "field_selector": null, "field_masks": LookupKind::Cluster.field_masks()})).unwrap();
        let iters = (iterations / (1 + n / 100)).max(20);
        let host = median(
            (0..iters)
                .map(|_| {
                    let t = Instant::now();
                    std::hint::black_box(
                        cnpg_guard_host::callbacks::host_call(
                            &Reflector(source.clone()),
                            "kubewarden",
                            "kubernetes",
                            "list_resources_all",
                            &list_req,
                        )
                        .unwrap(),
                    );
                    t.elapsed()
                })
                .collect(),
        );
        let ctx: Arc<dyn ContextSource> = Arc::new(Reflector(source));
        let create = Scenario {
            name: "",
            payload: json!({"request": admission_request("CREATE", &cluster(), None), "settings": {}}),
            ctx: Arc::clone(&ctx),
        };
        let update = Scenario {
            name: "",
            payload: json!({"request": admission_request("UPDATE", &cluster(), Some(&cluster())), "settings": {}}),
            ctx,
        };
        let (c, _) = measure(engine, &create, iters);
        let (u, _) = measure(engine, &update, iters);
        let (c_rps, u_rps) = (
            1.0 / c.as_secs_f64().max(1e-12),
            1.0 / u.as_secs_f64().max(1e-12),
        );
        let (bc, bu) = *base.get_or_insert((c_rps, u_rps));
        println!(
            "| {n} | {masked_bytes} | {whole_bytes} | {:.1} | {:.1} | {c_rps:.0} | {:.0} % | {:.1} | {:.0} % |",
            us(c),
            us(host),
            100.0 * c_rps / bc,
            us(u),
            100.0 * u_rps / bu
        );
    }
    println!();
}

struct Scenario {
    name: &'static str,
    payload: Value,
    ctx: Arc<dyn ContextSource>,
}

/// Median `validate` latency: fresh instance per request, and reused instance.
fn measure(engine: &Engine, s: &Scenario, iterations: usize) -> (Duration, Duration) {
    let warmup = (iterations / 10).max(50);
    let mut fresh = Vec::with_capacity(iterations);
    for i in 0..warmup + iterations {
        let t = Instant::now();
        let inst = engine.instance(Arc::clone(&s.ctx)).unwrap();
        let resp = inst.validate(&s.payload).unwrap();
        let d = t.elapsed();
        std::hint::black_box(resp);
        if i >= warmup {
            fresh.push(d);
        }
    }
    let inst = engine.instance(Arc::clone(&s.ctx)).unwrap();
    let mut reused = Vec::with_capacity(iterations);
    for i in 0..warmup + iterations {
        let t = Instant::now();
        let resp = inst.validate(&s.payload).unwrap();
        let d = t.elapsed();
        std::hint::black_box(resp);
        if i >= warmup {
            reused.push(d);
        }
    }
    (median(fresh), median(reused))
}

fn main() {
    let iterations: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let Some(accept_all_path) = std::env::var_os("CNPG_GUARD_ACCEPT_ALL_WASM") else {
        eprintln!(
            "CNPG_GUARD_ACCEPT_ALL_WASM is not set: run `cargo xtask bench`, which builds the baseline policy"
        );
        std::process::exit(2);
    };
    let accept_all = std::fs::read(&accept_all_path).unwrap_or_else(|e| {
        eprintln!("reading {}: {e}", accept_all_path.to_string_lossy());
        std::process::exit(2);
    });

    // Module load: Cranelift compile vs. precompiled cache.
    let compile = median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(Engine::from_bytes(POLICY_WASM, ModuleCache::Off).unwrap());
                t.elapsed()
            })
            .collect(),
    );
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = ModuleCache::Dir(cache_dir.path().to_path_buf());
    Engine::from_bytes(POLICY_WASM, cache.clone()).unwrap();
    let cache_file_size = std::fs::read_dir(cache_dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum::<u64>();
    let mut cached = Vec::new();
    let mut cached_module = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let e = Engine::from_bytes(POLICY_WASM, cache.clone()).unwrap();
        cached.push(t.elapsed());
        assert!(e.load_info().from_cache);
        cached_module.push(e.load_info().load_time);
    }

    let guard = Engine::from_bytes(POLICY_WASM, ModuleCache::Off).unwrap();
    let baseline = Engine::from_bytes(&accept_all, ModuleCache::Off).unwrap();

    let bundle: Arc<dyn ContextSource> =
        Arc::new(MemorySource::new(vec![cluster(), object_store(), pvc()]));
    let scenarios = [
        Scenario {
            name: "Cluster CREATE (plugin, recovery, ObjectStore in context)",
            payload: json!({"request": admission_request("CREATE", &cluster(), None), "settings": {}}),
            ctx: Arc::clone(&bundle),
        },
        Scenario {
            name: "PVC CREATE (cnpg.io/cluster, backup: daily)",
            payload: json!({"request": admission_request("CREATE", &pvc(), None), "settings": {}}),
            ctx: Arc::clone(&bundle),
        },
    ];

    println!("## cnpg-guard policy benchmark\n");
    println!("{iterations} iterations per cell after warm-up; medians; same process, same run.\n");
    println!("| request | model | cnpg-guard (µs) | accept-all (µs) | ratio |");
    println!("|---|---|---:|---:|---:|");
    for s in &scenarios {
        let (g_fresh, g_reused) = measure(&guard, s, iterations);
        let (b_fresh, b_reused) = measure(&baseline, s, iterations);
        for (model, g, b) in [
            ("fresh instance per request", g_fresh, b_fresh),
            ("reused instance", g_reused, b_reused),
        ] {
            println!(
                "| {} | {model} | {:.1} | {:.1} | {:.2}× |",
                s.name,
                us(g),
                us(b),
                us(g) / us(b).max(1e-9)
            );
        }
    }
    println!();
    lookup_scaling(&guard, iterations);
    println!("| module | value |");
    println!("|---|---:|");
    println!(
        "| cnpg-guard-policy.wasm (annotated) size | {} bytes |",
        POLICY_WASM.len()
    );
    println!("| accept-all.wasm size | {} bytes |", accept_all.len());
    println!("| precompiled module in the cache | {cache_file_size} bytes |");
    println!(
        "| cnpg-guard compile (Cranelift, `Engine::from_bytes`, cache off) | {:.1} ms |",
        ms(compile)
    );
    println!(
        "| cnpg-guard `Engine::from_bytes` from the module cache | {:.2} ms |",
        ms(median(cached))
    );
    println!(
        "| of which: checksum + deserialize | {:.2} ms |",
        ms(median(cached_module))
    );
}
