//! Kubewarden `field_masks` on listed objects, as policy-server applies them
//! to its reflector cache (kubewarden-controller@v1.35.0
//! `crates/policy-evaluator/src/callback_handler/kubernetes/field_mask.rs`,
//! `reflector.rs:182-195`; `docs/kubewarden-field-masks.md`):
//! - an allow-list of dot paths, arrays traversed implicitly;
//! - a path with no longer path below it keeps its whole subtree; when both
//!   `a` and `a.b` are given, only `a.b` survives (the mask is a tree);
//! - `apiVersion`, `kind` and `metadata` are never pruned (masks apply to the
//!   object's data only), but `metadata.managedFields` and the
//!   last-applied-configuration annotation are always dropped.
//!
//! The CLI host applies them so the policy sees what it would see in a cluster.

use serde_json::Value;

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A copy of `obj` holding only what `masks` allow. No masks (or an empty
/// list) prune nothing.
pub fn apply(obj: &Value, masks: &[String]) -> Value {
    let mut out = obj.clone();
    apply_in_place(&mut out, masks);
    out
}

/// [`apply`] on an object the caller owns (no copy).
pub fn apply_in_place(obj: &mut Value, masks: &[String]) {
    let paths: Vec<Vec<&str>> = masks.iter().map(|m| m.split('.').collect()).collect();
    let refs: Vec<&[&str]> = paths.iter().map(Vec::as_slice).collect();
    let Value::Object(map) = obj else {
        prune(obj, &refs);
        return;
    };
    // apiVersion, kind and metadata are outside the masked data.
    let kept: Vec<(String, Value)> = ["apiVersion", "kind", "metadata"]
        .into_iter()
        .filter_map(|k| map.remove(k).map(|v| (k.to_string(), v)))
        .collect();
    let mut data = Value::Object(std::mem::take(map));
    prune(&mut data, &refs);
    if let Value::Object(pruned) = data {
        *map = pruned;
    }
    for (k, v) in kept {
        map.insert(k, v);
    }
    if let Some(Value::Object(meta)) = map.get_mut("metadata") {
        meta.remove("managedFields");
        if let Some(Value::Object(a)) = meta.get_mut("annotations") {
            a.remove(LAST_APPLIED);
        }
    }
}

/// `masks` are the remaining path segments below `value`. When all of them
/// are exhausted the whole subtree is kept; otherwise the longer ones decide.
fn prune(value: &mut Value, masks: &[&[&str]]) {
    if masks.iter().all(|m| m.is_empty()) {
        return;
    }
    match value {
        Value::Object(map) => {
            map.retain(|key, child| {
                let below: Vec<&[&str]> = masks
                    .iter()
                    .filter_map(|m| match m.split_first() {
                        Some((first, rest)) if *first == key => Some(rest),
                        _ => None,
                    })
                    .collect();
                if below.is_empty() {
                    return false;
                }
                prune(child, &below);
                true
            });
        }
        Value::Array(items) => items.iter_mut().for_each(|i| prune(i, masks)),
        // A mask that goes deeper than a scalar keeps the scalar.
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_only_masked_paths_through_arrays() {
        let obj = json!({"apiVersion": "v1", "kind": "Cluster",
            "metadata": {"name": "pg", "namespace": "db", "labels": {"a": "b"}},
            "spec": {"instances": 3, "plugins": [{"name": "x", "parameters": {"k": "v"}}, {"name": "y"}],
                     "externalClusters": [{"name": "e", "connectionParameters": {"host": "h"}}]},
            "status": {"serverRecoveryWindow": {"pg-v1": {"firstRecoverabilityPoint": "t"}}}});
        let masks: Vec<String> = [
            "metadata.name",
            "spec.plugins",
            "spec.externalClusters.name",
            "status.serverRecoveryWindow",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            apply(&obj, &masks),
            json!({"apiVersion": "v1", "kind": "Cluster",
                "metadata": {"name": "pg", "namespace": "db", "labels": {"a": "b"}},
                "spec": {"plugins": [{"name": "x", "parameters": {"k": "v"}}, {"name": "y"}],
                         "externalClusters": [{"name": "e"}]},
                "status": {"serverRecoveryWindow": {"pg-v1": {"firstRecoverabilityPoint": "t"}}}})
        );
    }

    #[test]
    fn the_narrower_mask_wins_and_metadata_is_cleaned() {
        let obj = json!({"metadata": {"name": "x", "managedFields": [{}],
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "keep": "y"}},
            "spec": {"plugins": [{"name": "a", "parameters": {"k": "v"}}]}});
        let masks: Vec<String> = ["spec.plugins", "spec.plugins.name"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            apply(&obj, &masks),
            json!({"metadata": {"name": "x", "annotations": {"keep": "y"}},
                "spec": {"plugins": [{"name": "a"}]}})
        );
        assert_eq!(
            apply(&json!({"spec": {"a": 1}}), &[]),
            json!({"spec": {"a": 1}})
        );
    }
}
