//! Benchmark (not a timed test): `argocd-cnpg-guard generate` vs plain
//! `kubectl kustomize` (or `kustomize build`) on the same generated app of
//! ~1,000 objects, median of several interleaved runs each, as a ratio.
//!
//! ```sh
//! cargo bench -p argocd-cnpg-guard --bench cmp            # 100 databases, 7 runs
//! CNPG_GUARD_BENCH_DATABASES=50 CNPG_GUARD_BENCH_RUNS=11 cargo bench -p argocd-cnpg-guard --bench cmp
//! CNPG_GUARD_BENCH_KEEP=/tmp/bench-app cargo bench ...     # keep the generated tree
//! ```
//!
//! The app mirrors the seed GitOps layout, once per database: a root
//! kustomization listing `db-NNN/`, each with `base/` (Cluster + ObjectStore),
//! `overlays/initdb` (bootstrap patch), and the app side (ScheduledBackup,
//! ExternalSecret, Deployment, Service, ConfigMap, ServiceAccount, PDB,
//! NetworkPolicy): 10 objects per database.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Objects written per database.
const OBJECTS_PER_DB: usize = 10;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Writes the app tree for `databases` databases under `root`.
pub fn write_app(root: &Path, databases: usize) {
    let mut root_k = String::from(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    for i in 0..databases {
        let name = format!("app{i:03}");
        let db = format!("{name}-database");
        let dir = root.join(format!("db-{i:03}"));
        writeln!(root_k, "  - db-{i:03}").unwrap();
        write(
            &dir.join("kustomization.yaml"),
            &format!(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
                 namespace: {name}\nlabels:\n  - pairs:\n      app.kubernetes.io/part-of: {name}\n\
                 resources:\n  - overlays/initdb # ← ACTIVE\n  # - overlays/recovery\n  - app.yaml\n  - scheduled-backup.yaml\n"
            ),
        );
        write(
            &dir.join("base/kustomization.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cluster.yaml\n  - objectstore.yaml\n",
        );
        write(
            &dir.join("base/cluster.yaml"),
            &format!(
                "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: {db}\nspec:\n  instances: 2\n\
                 \x20 imageName: ghcr.io/cloudnative-pg/postgresql:16.4\n  storage:\n    size: 10Gi\n  plugins:\n\
                 \x20   - name: barman-cloud.cloudnative-pg.io\n      isWALArchiver: true\n      parameters:\n\
                 \x20       barmanObjectName: {name}-backup-store\n        serverName: {db}-v2\n"
            ),
        );
        write(
            &dir.join("base/objectstore.yaml"),
            &format!(
                "apiVersion: barmancloud.cnpg.io/v1\nkind: ObjectStore\nmetadata:\n  name: {name}-backup-store\nspec:\n\
                 \x20 retentionPolicy: \"30d\"\n  configuration:\n    destinationPath: s3://postgres-backups/cnpg/{name}/\n\
                 \x20   endpointURL: http://rustfs.storage.svc.cluster.local:9000\n    s3Credentials:\n\
                 \x20     accessKeyId: {{name: {name}-s3, key: ACCESS_KEY_ID}}\n\
                 \x20     secretAccessKey: {{name: {name}-s3, key: ACCESS_SECRET_KEY}}\n    wal:\n      compression: gzip\n"
            ),
        );
        write(
            &dir.join("overlays/initdb/kustomization.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\npatches:\n  - path: bootstrap-patch.yaml\n",
        );
        write(
            &dir.join("overlays/initdb/bootstrap-patch.yaml"),
            &format!(
                "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: {db}\nspec:\n  bootstrap:\n    initdb:\n\
                 \x20     database: {name}\n      owner: {name}\n"
            ),
        );
        write(
            &dir.join("scheduled-backup.yaml"),
            &format!(
                "apiVersion: postgresql.cnpg.io/v1\nkind: ScheduledBackup\nmetadata:\n  name: {db}-daily\nspec:\n\
                 \x20 schedule: \"0 {m} 3 * * *\"\n  backupOwnerReference: self\n  cluster:\n    name: {db}\n\
                 \x20 method: plugin\n  pluginConfiguration:\n    name: barman-cloud.cloudnative-pg.io\n",
                m = i % 60
            ),
        );
        write(&dir.join("app.yaml"), &app_yaml(&name, &db));
    }
    write(&root.join("kustomization.yaml"), &root_k);
}

fn app_yaml(name: &str, db: &str) -> String {
    format!(
        r#"apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: {name}-s3
spec:
  refreshInterval: 1h
  secretStoreRef: {{kind: ClusterSecretStore, name: onepassword}}
  target: {{name: {name}-s3}}
  data:
    - secretKey: ACCESS_KEY_ID
      remoteRef: {{key: rustfs-postgres-backups, property: access-key-id}}
    - secretKey: ACCESS_SECRET_KEY
      remoteRef: {{key: rustfs-postgres-backups, property: secret-access-key}}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}-config
data:
  DB_HOST: {db}-rw
  DB_NAME: {name}
  LOG_LEVEL: info
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 2
  selector:
    matchLabels: {{app.kubernetes.io/name: {name}}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: {name}}}
    spec:
      serviceAccountName: {name}
      containers:
        - name: app
          image: ghcr.io/example/{name}:1.4.2
          envFrom: [{{configMapRef: {{name: {name}-config}}}}]
          env:
            - name: DB_PASSWORD
              valueFrom: {{secretKeyRef: {{name: {db}-app, key: password}}}}
          ports: [{{containerPort: 8080, name: http}}]
          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
            limits: {{memory: 256Mi}}
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector: {{app.kubernetes.io/name: {name}}}
  ports: [{{name: http, port: 80, targetPort: http}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {name}
spec:
  minAvailable: 1
  selector:
    matchLabels: {{app.kubernetes.io/name: {name}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {name}-to-db
spec:
  podSelector:
    matchLabels: {{app.kubernetes.io/name: {name}}}
  policyTypes: [Egress]
  egress:
    - to:
        - podSelector:
            matchLabels: {{cnpg.io/cluster: {db}}}
      ports: [{{port: 5432}}]
"#
    )
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The tool the plugin itself would use: `kustomize` if on PATH, else `kubectl kustomize`.
fn baseline_cmd(dir: &Path) -> Command {
    let on_path = |n: &str| {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    };
    match on_path("kustomize") {
        Some(k) => {
            let mut c = Command::new(k);
            c.arg("build").arg(dir);
            c
        }
        None => {
            let mut c = Command::new("kubectl");
            c.arg("kustomize").arg(dir);
            c
        }
    }
}

fn time(mut cmd: Command) -> (Duration, Vec<u8>) {
    cmd.stdin(Stdio::null()).stderr(Stdio::piped());
    let start = Instant::now();
    let out = cmd.output().unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    (took, out.stdout)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would run this too.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let databases = env_usize("CNPG_GUARD_BENCH_DATABASES", 100);
    let runs = env_usize("CNPG_GUARD_BENCH_RUNS", 7).max(1);
    let tmp = tempfile::tempdir().unwrap();
    let root: PathBuf = match std::env::var_os("CNPG_GUARD_BENCH_KEEP") {
        Some(dir) => PathBuf::from(dir),
        None => tmp.path().join("app"),
    };
    let cache = tmp.path().join("module-cache");
    write_app(&root, databases);

    let bin = env!("CARGO_BIN_EXE_argocd-cnpg-guard");
    let plugin_cmd = || {
        let mut c = Command::new(bin);
        c.arg("generate")
            .current_dir(&root)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", "/nonexistent")
            .env("CNPG_GUARD_CACHE_DIR", &cache)
            .env("ARGOCD_APP_NAME", "bench")
            .env("ARGOCD_APP_NAMESPACE", "default")
            .env("ARGOCD_APP_PARAMETERS", "null");
        c
    };

    // Warm-up: fills the module cache (as the sidecar's /tmp after its first
    // request) and the page cache; also checks both outputs.
    let (cold, out) = time(plugin_cmd());
    let objects = out
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"kind: "))
        .count();
    assert_eq!(
        objects,
        databases * OBJECTS_PER_DB,
        "objects in plugin output"
    );
    let (_, base) = time(baseline_cmd(&root));
    let base_objects = base
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"kind: "))
        .count();
    assert_eq!(base_objects, objects);

    let mut k = Vec::new();
    let mut p = Vec::new();
    for _ in 0..runs {
        k.push(time(baseline_cmd(&root)).0);
        p.push(time(plugin_cmd()).0);
    }
    let (km, pm) = (median(k.clone()), median(p.clone()));
    let ratio = pm.as_secs_f64() / km.as_secs_f64();
    println!(
        "cnpg-guard CMP benchmark: {databases} databases, {objects} objects, {runs} runs each (interleaved)"
    );
    println!(
        "  baseline  {:<28} median {}  (min {}, max {})",
        format!("{:?}", baseline_cmd(&root).get_program()),
        ms(km),
        ms(*k.iter().min().unwrap()),
        ms(*k.iter().max().unwrap())
    );
    println!(
        "  plugin    argocd-cnpg-guard generate  median {}  (min {}, max {})",
        ms(pm),
        ms(*p.iter().min().unwrap()),
        ms(*p.iter().max().unwrap())
    );
    println!(
        "  first plugin run (module compiled, cache empty): {}",
        ms(cold)
    );
    println!("  ratio plugin/baseline = {ratio:.2}x (target <= 1.20x)");

    // `check` of the same tree (one kustomization at the root): the shared
    // check both CLIs run. Target <= 1.5x kustomize of the same tree.
    let check_cmd = |dir: &Path| {
        let mut c = Command::new(bin);
        c.args(["check", "-o", "json"])
            .arg(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", "/nonexistent")
            .env("CNPG_GUARD_CACHE_DIR", &cache);
        c
    };
    let mut k = Vec::new();
    let mut c = Vec::new();
    for _ in 0..runs {
        k.push(time(baseline_cmd(&root)).0);
        c.push(time(check_cmd(&root)).0);
    }
    let (km, cm) = (median(k), median(c.clone()));
    println!(
        "  check     argocd-cnpg-guard check     median {}  (min {}, max {})",
        ms(cm),
        ms(*c.iter().min().unwrap()),
        ms(*c.iter().max().unwrap())
    );
    println!(
        "  ratio check/baseline = {:.2}x (target <= 1.50x)",
        cm.as_secs_f64() / km.as_secs_f64()
    );

    // The same databases as a plain tree (no root kustomization): check
    // renders every kustomization on its own, in parallel; the baseline is
    // what a CI script would otherwise do, `kubectl kustomize` on each.
    let plain = tmp.path().join("plain");
    write_app(&plain, databases);
    std::fs::remove_file(plain.join("kustomization.yaml")).unwrap();
    let dirs: Vec<PathBuf> = (0..databases)
        .map(|i| plain.join(format!("db-{i:03}")))
        .collect();
    let mut k = Vec::new();
    let mut c = Vec::new();
    for _ in 0..runs.min(3) {
        let start = Instant::now();
        for d in &dirs {
            time(baseline_cmd(d));
        }
        k.push(start.elapsed());
        c.push(time(check_cmd(&plain)).0);
    }
    let (km, cm) = (median(k), median(c));
    println!(
        "  plain tree of {databases} kustomizations: check {} vs kustomize each, sequentially, {} = {:.2}x",
        ms(cm),
        ms(km),
        cm.as_secs_f64() / km.as_secs_f64()
    );
}
