//! Reads only the parts of an object the rules look at.
//!
//! A live Cluster carries its whole `status`, Postgres parameters, resources,
//! affinity...; building a `serde_json::Value` of all of it dominates the cost
//! of a request inside the wasm sandbox (allocations, and page faults on a
//! fresh instance). The rules only read the fields below, so everything else
//! is skipped while parsing (`IgnoredAny`, no allocation). Mutations are
//! applied to the full object by the entry point, never to this copy.

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// What to keep of a JSON subtree.
pub enum Node {
    /// Keep everything below.
    Keep,
    /// Keep only these members of an object (applied to each element of an
    /// array); scalars are kept as they are.
    Fields(&'static [(&'static str, Node)]),
}

const METADATA: Node = Node::Fields(&[
    ("name", Node::Keep),
    ("namespace", Node::Keep),
    ("generateName", Node::Keep),
    ("labels", Node::Keep),
    ("annotations", Node::Keep),
]);

/// Everything any rule reads, for every kind the policy sees.
const SPEC: Node = Node::Fields(&[
    // Cluster
    ("bootstrap", Node::Keep),
    ("backup", Node::Keep),
    ("plugins", Node::Keep),
    ("externalClusters", Node::Keep),
    ("inheritedMetadata", Node::Keep),
    // ScheduledBackup / Backup
    ("schedule", Node::Keep),
    ("method", Node::Keep),
    ("pluginConfiguration", Node::Keep),
    ("cluster", Node::Keep),
    // ObjectStore
    (
        "configuration",
        Node::Fields(&[("destinationPath", Node::Keep), ("endpointURL", Node::Keep)]),
    ),
]);

const STATUS: Node = Node::Fields(&[
    ("serverRecoveryWindow", Node::Keep),
    ("method", Node::Keep),
    ("pluginMetadata", Node::Keep),
]);

/// A Kubernetes object as the rules need it.
pub const OBJECT: Node = Node::Fields(&[
    ("apiVersion", Node::Keep),
    ("kind", Node::Keep),
    ("metadata", METADATA),
    ("spec", SPEC),
    ("status", STATUS),
]);

/// A `<Kind>List` answer from the host: only its items, pruned.
pub const LIST: Node = Node::Fields(&[("items", OBJECT)]);

/// Parses `json` keeping only what `node` allows.
pub fn parse(json: &str, node: &'static Node) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    let v = Prune(node).deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

struct Prune(&'static Node);

impl<'de> DeserializeSeed<'de> for Prune {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        match self.0 {
            Node::Keep => Value::deserialize(d),
            Node::Fields(_) => d.deserialize_any(PruneVisitor(self.0)),
        }
    }
}

struct PruneVisitor(&'static Node);

/// Which member a key is: its position in the allow-list, or skipped.
struct KeySeed(&'static [(&'static str, Node)]);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|(k, _)| *k == key))
    }
}

impl<'de> Visitor<'de> for PruneVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Prune(self.0))? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Node::Fields(fields) = self.0 else {
            return Err(de::Error::custom(
                "internal: Keep node reached the pruning visitor",
            ));
        };
        let mut out = Map::new();
        while let Some(slot) = map.next_key_seed(KeySeed(fields))? {
            match slot.and_then(|i| fields.get(i)) {
                Some((key, node)) => {
                    let v = map.next_value_seed(Prune(node))?;
                    out.insert((*key).to_string(), v);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_what_rules_read_and_drops_the_rest() {
        let full = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": {"name": "pg", "namespace": "db", "uid": "x", "managedFields": [{"a": 1}],
                "annotations": {"cnpg-guard.io/allow-x": "y"}},
            "spec": {"instances": 3, "postgresql": {"parameters": {"a": "b"}},
                "plugins": [{"name": "p", "parameters": {"serverName": "s"}}]},
            "status": {"phase": "Cluster in healthy state", "conditions": [{"type": "Ready"}],
                "serverRecoveryWindow": {"s": {"firstRecoverabilityPoint": "t"}}}});
        let pruned = parse(&full.to_string(), &OBJECT).unwrap();
        assert_eq!(
            pruned,
            json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": {"name": "pg", "namespace": "db", "annotations": {"cnpg-guard.io/allow-x": "y"}},
            "spec": {"plugins": [{"name": "p", "parameters": {"serverName": "s"}}]},
            "status": {"serverRecoveryWindow": {"s": {"firstRecoverabilityPoint": "t"}}}})
        );
    }

    #[test]
    fn odd_shapes_survive_and_lists_keep_items() {
        assert_eq!(
            parse(
                r#"{"spec": 5, "metadata": [1, {"name": "a", "x": 1}]}"#,
                &OBJECT
            )
            .unwrap(),
            json!({"spec": 5, "metadata": [1, {"name": "a"}]})
        );
        let list = parse(r#"{"apiVersion": "v1", "kind": "ObjectStoreList", "items": [{"metadata": {"name": "s", "uid": "u"}}]}"#, &LIST).unwrap();
        assert_eq!(list, json!({"items": [{"metadata": {"name": "s"}}]}));
        assert!(parse("{", &OBJECT).is_err());
        assert!(parse(r#"{"a": 1} x"#, &OBJECT).is_err());
    }

    #[test]
    fn escaped_keys_are_matched() {
        let v = parse(r#"{"meta\u0064ata": {"name": "pg"}}"#, &OBJECT).unwrap();
        assert_eq!(v, json!({"metadata": {"name": "pg"}}));
    }
}
