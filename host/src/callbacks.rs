//! The host-call dispatcher: what a policy's `host_call(binding, namespace,
//! operation, payload)` gets back.
//!
//! Supported (binding `kubewarden`):
//! - `kubernetes`/`list_resources_by_namespace` and `list_resources_all`:
//!   answered from the [`ContextSource`] as
//!   `{"apiVersion": <api_version>, "kind": "<Kind>List", "metadata": {}, "items": [...]}`;
//!   equality label/field selectors and `field_masks` are honoured (the
//!   policy sees what policy-server's pruned reflector cache would give it).
//!   A source that does not change ([`ContextSource::answers`]) has each
//!   answer serialised once.
//! - `kubernetes`/`get_resource`: the single object, or an error when absent.
//! - `tracing`/`log`: forwarded to the `log` crate (never printed on stdout).
//!
//! Anything else is refused with
//! `host capability not supported by cnpg-guard host: ...`.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::ContextSource;

/// Prefix of the error returned for calls this host does not implement.
pub const UNSUPPORTED: &str = "host capability not supported by cnpg-guard host";

#[derive(Debug, Deserialize)]
struct ListRequest {
    api_version: String,
    kind: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    label_selector: Option<String>,
    #[serde(default)]
    field_selector: Option<String>,
    #[serde(default)]
    field_masks: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct GetRequest {
    api_version: String,
    kind: String,
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

/// Dispatches one host call. `Ok` bytes are handed to the guest as the
/// response, `Err` text as the waPC host error.
pub fn host_call(
    ctx: &dyn ContextSource,
    binding: &str,
    namespace: &str,
    operation: &str,
    payload: &[u8],
) -> Result<Vec<u8>, String> {
    if binding != "kubewarden" {
        return Err(format!(
            "{UNSUPPORTED}: binding {binding:?} ({namespace}/{operation})"
        ));
    }
    match (namespace, operation) {
        ("tracing", "log") => {
            forward_log(payload);
            Ok(Vec::new())
        }
        ("kubernetes", "list_resources_by_namespace") => {
            let req: ListRequest = parse(operation, payload)?;
            let Some(ns) = req.namespace.as_deref().filter(|ns| !ns.is_empty()) else {
                return Err(format!(
                    "invalid {operation} request: namespace is required"
                ));
            };
            list(ctx, &req, Some(ns))
        }
        ("kubernetes", "list_resources_all") => {
            let req: ListRequest = parse(operation, payload)?;
            list(ctx, &req, None)
        }
        ("kubernetes", "get_resource") => {
            let req: GetRequest = parse(operation, payload)?;
            let ns = req.namespace.as_deref().filter(|ns| !ns.is_empty());
            let items = ctx.list(&req.api_version, &req.kind, ns)?;
            let found = items.into_iter().find(|o| {
                o.pointer("/metadata/name").and_then(Value::as_str) == Some(req.name.as_str())
            });
            match found {
                Some(obj) => serde_json::to_vec(&obj).map_err(|e| e.to_string()),
                None => Err(match ns {
                    Some(ns) => format!(
                        "Cannot find {}/{} named '{}' in namespace '{ns}'",
                        req.api_version, req.kind, req.name
                    ),
                    None => format!(
                        "Cannot find {}/{} named '{}'",
                        req.api_version, req.kind, req.name
                    ),
                }),
            }
        }
        _ => Err(format!("{UNSUPPORTED}: {binding}/{namespace}/{operation}")),
    }
}

fn parse<'a, T: Deserialize<'a>>(operation: &str, payload: &'a [u8]) -> Result<T, String> {
    serde_json::from_slice(payload).map_err(|e| format!("invalid {operation} request: {e}"))
}

fn list(
    ctx: &dyn ContextSource,
    req: &ListRequest,
    namespace: Option<&str>,
) -> Result<Vec<u8>, String> {
    let Some(memo) = ctx.answers() else {
        return list_uncached(ctx, req, namespace);
    };
    let key = (
        req.api_version.clone(),
        req.kind.clone(),
        namespace.map(str::to_string),
        req.label_selector.clone(),
        req.field_selector.clone(),
        req.field_masks.clone(),
    );
    if let Some(hit) = memo.get(&key) {
        return Ok(hit);
    }
    let answer = list_uncached(ctx, req, namespace)?;
    memo.put(key, &answer);
    Ok(answer)
}

fn list_uncached(
    ctx: &dyn ContextSource,
    req: &ListRequest,
    namespace: Option<&str>,
) -> Result<Vec<u8>, String> {
    let labels = match req.label_selector.as_deref() {
        Some(s) => parse_selector(s, "label")?,
        None => Vec::new(),
    };
    let fields = match req.field_selector.as_deref() {
        Some(s) => parse_selector(s, "field")?,
        None => Vec::new(),
    };
    let items: Vec<Value> = ctx
        .list(&req.api_version, &req.kind, namespace)?
        .into_iter()
        .filter(|o| labels.iter().all(|r| r.matches(label(o, &r.key))))
        .filter(|o| fields.iter().all(|r| r.matches(field(o, &r.key))))
        .map(|mut o| {
            if let Some(masks) = &req.field_masks {
                crate::masks::apply_in_place(&mut o, masks);
            }
            o
        })
        .collect();
    let list = json!({
        "apiVersion": req.api_version,
        "kind": format!("{}List", req.kind),
        "metadata": {},
        "items": items,
    });
    serde_json::to_vec(&list).map_err(|e| e.to_string())
}

fn label<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get("metadata")?.get("labels")?.get(key)?.as_str()
}

/// Field selectors: only `metadata.name` and `metadata.namespace` (checked by
/// [`parse_selector`]).
fn field<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    let path = if key == "metadata.name" {
        "/metadata/name"
    } else {
        "/metadata/namespace"
    };
    obj.pointer(path).and_then(Value::as_str)
}

#[derive(Debug)]
enum Op {
    Eq(String),
    Ne(String),
    Exists,
    Absent,
}

#[derive(Debug)]
struct Requirement {
    key: String,
    op: Op,
}

impl Requirement {
    fn matches(&self, value: Option<&str>) -> bool {
        match &self.op {
            Op::Eq(v) => value == Some(v.as_str()),
            Op::Ne(v) => value != Some(v.as_str()),
            Op::Exists => value.is_some(),
            Op::Absent => value.is_none(),
        }
    }
}

/// Equality-based selectors (`a=b,c==d,e!=f,g,!h`). Set-based ones (`in`,
/// `notin`) are refused rather than silently ignored.
fn parse_selector(selector: &str, what: &str) -> Result<Vec<Requirement>, String> {
    let mut out = Vec::new();
    for part in selector.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let req = if let Some((k, v)) = part.split_once("!=") {
            Requirement {
                key: k.trim().to_string(),
                op: Op::Ne(v.trim().to_string()),
            }
        } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
            Requirement {
                key: k.trim().to_string(),
                op: Op::Eq(v.trim().to_string()),
            }
        } else if let Some(k) = part.strip_prefix('!') {
            Requirement {
                key: k.trim().to_string(),
                op: Op::Absent,
            }
        } else {
            Requirement {
                key: part.to_string(),
                op: Op::Exists,
            }
        };
        if req.key.is_empty()
            || req.key.contains(char::is_whitespace)
            || req.key.contains(['(', ')'])
        {
            return Err(format!(
                "{UNSUPPORTED}: {what} selector {selector:?} (only equality selectors)"
            ));
        }
        if what == "field" && !["metadata.name", "metadata.namespace"].contains(&req.key.as_str()) {
            return Err(format!("{UNSUPPORTED}: field selector on {:?}", req.key));
        }
        out.push(req);
    }
    Ok(out)
}

/// `tracing`/`log` payload: `{"level","message",...}` from the SDK's slog drain.
fn forward_log(payload: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(payload) else {
        log::debug!(target: "cnpg_guard_policy", "{}", String::from_utf8_lossy(payload));
        return;
    };
    let level = match v.get("level").and_then(Value::as_str) {
        Some("error") => log::Level::Error,
        Some("warning" | "warn") => log::Level::Warn,
        Some("info") => log::Level::Info,
        Some("trace") => log::Level::Trace,
        _ => log::Level::Debug,
    };
    let message = v.get("message").and_then(Value::as_str).unwrap_or_default();
    log::log!(target: "cnpg_guard_policy", level, "{message} {v}");
}
