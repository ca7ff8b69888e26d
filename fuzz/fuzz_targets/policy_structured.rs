//! Structure-aware policy entry: the input is split into an object (any
//! JSON), settings and host answers; wrapped in a valid AdmissionRequest of
//! a kind chosen by the first byte; lookups answer with the input's objects,
//! an error, or a huge list.
#![no_main]

use cnpg_guard_core::view::{Backup, Cluster, NetworkPolicy, ObjectStore};
use cnpg_guard_core::{Lookup, view};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

struct Answers {
    mode: u8,
    objects: Vec<Value>,
}

impl Answers {
    fn list<T: serde::de::DeserializeOwned + Default + Clone>(&self) -> Result<Vec<T>, String> {
        match self.mode % 4 {
            0 => Err("host call failed: forbidden".into()),
            1 => Ok(Vec::new()),
            2 => {
                // A huge list: the same objects many times.
                let one: Vec<T> = self.objects.iter().map(view::read).collect();
                Ok(one.iter().cycle().take(one.len() * 500).cloned().collect())
            }
            _ => Ok(self.objects.iter().map(view::read).collect()),
        }
    }
}

impl Lookup for Answers {
    fn object_stores(&self, _: Option<&str>) -> Result<Vec<ObjectStore>, String> {
        self.list()
    }
    fn clusters(&self, _: Option<&str>) -> Result<Vec<Cluster>, String> {
        self.list()
    }
    fn backups(&self, _: &str) -> Result<Vec<Backup>, String> {
        self.list()
    }
    fn scheduled_backups(&self, _: &str) -> Result<Vec<Backup>, String> {
        self.list()
    }
    fn network_policies(&self, _: &str) -> Result<Vec<NetworkPolicy>, String> {
        self.list()
    }
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

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    // object \x00 settings \x00 answers (each any JSON; unparsable = absent)
    let mut parts = text.split('\0');
    let parse = |s: Option<&str>| s.and_then(|s| serde_json::from_str::<Value>(s).ok());
    let object = parse(parts.next()).unwrap_or(Value::Null);
    let settings = parse(parts.next()).unwrap_or(json!({}));
    let answers = match parse(parts.next()) {
        Some(Value::Array(a)) => a,
        Some(v) => vec![v],
        None => vec![object.clone()],
    };
    let (group, kind, resource) = KINDS[usize::from(sel) % KINDS.len()];
    let op = OPS[usize::from(sel >> 3) % OPS.len()];
    let version = "v1";
    let mut request = json!({
        "uid": "fuzz", "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": resource},
        "name": "pg", "namespace": "db", "operation": op,
        "userInfo": {"username": "fuzz"},
    });
    if op != "DELETE" {
        request["object"] = object.clone();
    }
    if op != "CREATE" {
        request["oldObject"] = object;
    }
    let payload = serde_json::to_vec(&json!({"request": request, "settings": settings}))
        .unwrap_or_default();
    let lookup = Answers { mode: sel >> 5, objects: answers };
    if let Ok(verdict) = cnpg_guard_policy::run(&payload, &lookup) {
        // What the host returns must serialise (it crosses the waPC boundary).
        let _ = serde_json::to_vec(&cnpg_guard_policy::to_response(&verdict));
    }
});
