//! The policy entry on raw bytes: `validate`'s payload as policy-server
//! sends it, through the same `run` the `.wasm` calls, against a fixed
//! context. Must never panic (a trap is a rejected request).
#![no_main]

use cnpg_guard_core::InMemory;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let context = [
        json!({"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
               "metadata": {"name": "store", "namespace": "db"},
               "spec": {"configuration": {"destinationPath": "s3://b/p"}},
               "status": {"serverRecoveryWindow": {"pg-v1": {"lastSuccessfulBackupTime": "2026-01-01T00:00:00Z"}}}}),
        json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
               "metadata": {"name": "other", "namespace": "db"},
               "spec": {"plugins": [{"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": true,
                                     "parameters": {"barmanObjectName": "store", "serverName": "pg-v1"}}]}}),
    ];
    let lookup = InMemory::new(&context, "db");
    let _ = cnpg_guard_policy::run(data, &lookup);
});
