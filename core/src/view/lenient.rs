//! Deserializers that never fail on a wrong type.
//!
//! A CNPG object reaching the core may come from a user's YAML (CLIs) or from
//! the API server (admission). A field of the wrong type (`serverName: 2`,
//! `plugins: "x"`) must read as "not set", never abort the parse: an aborted
//! parse is a rejected admission request with a useless message. These
//! visitors accept every JSON shape, keep the one they expect and drain the
//! rest, without buffering (serde's untagged-enum fallback would copy the
//! subtree first).
//!
//! Use them as `#[serde(default, deserialize_with = "lenient::string")]`.

use serde::de::{
    self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
    value::MapAccessDeserializer,
};
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Implements every `visit_*` for a visitor whose wanted shape is handled by
/// the caller-provided methods; everything else yields `$none`.
macro_rules! reject_other_shapes {
    ($none:expr, scalars) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
    ($none:expr, null) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
    ($none:expr, seq) => {
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq)?;
            Ok($none)
        }
    };
    ($none:expr, map) => {
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            drain_map(map)?;
            Ok($none)
        }
    };
}

struct StringVisitor;

impl<'de> Visitor<'de> for StringVisitor {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value (a string is kept)")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    reject_other_shapes!(None, null);
    reject_other_shapes!(None, seq);
    reject_other_shapes!(None, map);
}

/// A string, or `None` for anything else (absent, null, number, list, map).
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(StringVisitor)
}

struct BoolVisitor;

impl<'de> Visitor<'de> for BoolVisitor {
    type Value = Option<bool>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value (a boolean is kept)")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    reject_other_shapes!(None, null);
    reject_other_shapes!(None, seq);
    reject_other_shapes!(None, map);
}

/// A boolean, or `None` for anything else.
pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(BoolVisitor)
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: DeserializeOwned> Visitor<'de> for ObjectVisitor<T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value (an object is kept)")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Some)
    }
    reject_other_shapes!(None, scalars);
    reject_other_shapes!(None, null);
    reject_other_shapes!(None, seq);
}

/// An object (a view struct whose fields are all lenient), or `None` for
/// absent, null and any non-object value.
pub fn object<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    d.deserialize_any(ObjectVisitor(PhantomData))
}

/// At most `.0` elements (more is an error).
struct ListVisitor<T>(usize, PhantomData<T>);

/// One list element: an object, or `T::default()` for anything else, so the
/// positions of the others (and the field paths built from them) stay right.
struct Element<T>(T);

impl<'de, T: DeserializeOwned + Default> de::Deserialize<'de> for Element<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        object(d).map(|o: Option<T>| Element(o.unwrap_or_default()))
    }
}

impl<'de, T: DeserializeOwned + Default> Visitor<'de> for ListVisitor<T> {
    type Value = Vec<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value (a list of objects is kept)")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Element(e)) = seq.next_element::<Element<T>>()? {
            if out.len() == self.0 {
                return Err(de::Error::custom(format!(
                    "the list has more than {} items, the most cnpg-guard reads",
                    self.0
                )));
            }
            out.push(e);
        }
        Ok(out)
    }
    reject_other_shapes!(Vec::new(), scalars);
    reject_other_shapes!(Vec::new(), null);
    reject_other_shapes!(Vec::new(), map);
}

/// A list of objects (wrong-typed elements become defaults, keeping
/// positions), or empty for anything that is not a list.
pub fn list<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    d.deserialize_any(ListVisitor(usize::MAX, PhantomData))
}

/// [`list`], failing on the element after the `max`-th (host answers: a
/// bounded amount of work per request).
pub fn list_at_most<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
    d: D,
    max: usize,
) -> Result<Vec<T>, D::Error> {
    d.deserialize_any(ListVisitor(max, PhantomData))
}

struct PresentList<T>(PhantomData<T>);

impl<'de, T: DeserializeOwned + Default> Visitor<'de> for PresentList<T> {
    type Value = Option<Vec<T>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value (a list of objects is kept)")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        ListVisitor(usize::MAX, PhantomData)
            .visit_seq(seq)
            .map(Some)
    }
    reject_other_shapes!(None, scalars);
    reject_other_shapes!(None, null);
    reject_other_shapes!(None, map);
}

/// [`list`], but `None` unless the value IS a list: for fields whose mere
/// presence means something (NetworkPolicy `egress: []` denies all egress).
pub fn object_list<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
    d: D,
) -> Result<Option<Vec<T>>, D::Error> {
    d.deserialize_any(PresentList(PhantomData))
}

struct StringList;

impl<'de> Visitor<'de> for StringList {
    type Value = Vec<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value (a list of scalars is kept as text)")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element_seed(ScalarTextSeed)? {
            if let Some(text) = item {
                out.push(text);
            }
        }
        Ok(out)
    }
    reject_other_shapes!(Vec::new(), scalars);
    reject_other_shapes!(Vec::new(), null);
    reject_other_shapes!(Vec::new(), map);
}

/// A list of scalars as text (`policyTypes`, selector `values`); other
/// elements dropped; empty for anything that is not a list.
pub fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    d.deserialize_any(StringList)
}

/// A scalar rendered as text the way a YAML author wrote it (`true`, `5`), or
/// `None` for null, lists and maps.
struct ScalarText;

impl<'de> Visitor<'de> for ScalarText {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value (a scalar is kept as text)")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    reject_other_shapes!(None, null);
    reject_other_shapes!(None, seq);
    reject_other_shapes!(None, map);
}

/// A scalar as text (`443` and `"https"` alike: Kubernetes int-or-string
/// fields), or `None` for null, lists and maps.
pub fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(ScalarText)
}

struct ScalarTextSeed;

impl<'de> de::DeserializeSeed<'de> for ScalarTextSeed {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ScalarText)
    }
}

struct StringMapVisitor;

impl<'de> Visitor<'de> for StringMapVisitor {
    type Value = BTreeMap<String, String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value (a map of scalars is kept)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            if let Some(value) = map.next_value_seed(ScalarTextSeed)? {
                out.insert(key, value);
            }
        }
        Ok(out)
    }
    reject_other_shapes!(BTreeMap::new(), scalars);
    reject_other_shapes!(BTreeMap::new(), null);
    reject_other_shapes!(BTreeMap::new(), seq);
}

/// A `map[string]string` (labels, annotations, plugin parameters): scalar
/// values kept as text, other values dropped; empty for a non-map.
pub fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    d.deserialize_any(StringMapVisitor)
}

struct ObjectMapVisitor<T>(PhantomData<T>);

impl<'de, T: DeserializeOwned + Default> Visitor<'de> for ObjectMapVisitor<T> {
    type Value = BTreeMap<String, T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value (a map of objects is kept)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let Element(value) = map.next_value::<Element<T>>()?;
            out.insert(key, value);
        }
        Ok(out)
    }
    reject_other_shapes!(BTreeMap::new(), scalars);
    reject_other_shapes!(BTreeMap::new(), null);
    reject_other_shapes!(BTreeMap::new(), seq);
}

/// A map of objects keyed by string (`status.serverRecoveryWindow`); values
/// that are not objects become defaults; empty for a non-map.
pub fn object_map<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
    d: D,
) -> Result<BTreeMap<String, T>, D::Error> {
    d.deserialize_any(ObjectMapVisitor(PhantomData))
}

struct PresenceVisitor;

impl<'de> Visitor<'de> for PresenceVisitor {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(true)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(true)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(true)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(true)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
        Ok(true)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        drain_seq(seq)?;
        Ok(true)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        drain_map(map)?;
        Ok(true)
    }
    reject_other_shapes!(false, null);
}

/// True when the field is present and not null (its content is not read).
pub fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    d.deserialize_any(PresenceVisitor)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Inner {
        #[serde(deserialize_with = "string")]
        a: Option<String>,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Outer {
        #[serde(deserialize_with = "string")]
        s: Option<String>,
        #[serde(deserialize_with = "boolean")]
        b: Option<bool>,
        #[serde(deserialize_with = "object")]
        o: Option<Inner>,
        #[serde(deserialize_with = "list")]
        l: Vec<Inner>,
        #[serde(deserialize_with = "string_map")]
        m: BTreeMap<String, String>,
        #[serde(deserialize_with = "present")]
        p: bool,
    }

    /// Every field of the wrong shape, in both the streaming parser (what the
    /// policy uses) and the `Value` deserializer (what hosts use).
    #[test]
    fn wrong_shapes_read_as_not_set() {
        let docs = [
            r#"{"s": 1, "b": "yes", "o": [1, {"a": 2}], "l": {"a": "x"}, "m": [1], "p": null}"#,
            r#"{"s": {"x": [1, 2]}, "b": {}, "o": "str", "l": "x", "m": "x"}"#,
            r#"{"s": null, "b": null, "o": null, "l": null, "m": null}"#,
        ];
        for doc in docs {
            let a: Outer = serde_json::from_str(doc).unwrap();
            assert_eq!(a, Outer::default(), "{doc}");
            let v: serde_json::Value = serde_json::from_str(doc).unwrap();
            let b = Outer::deserialize(&v).unwrap();
            assert_eq!(b, Outer::default(), "{doc}");
        }
    }

    #[test]
    fn right_shapes_are_kept_and_positions_survive() {
        let doc = r#"{"s": "x", "b": false, "o": {"a": "y", "z": [1]},
            "l": [7, {"a": "second"}], "m": {"k": "v", "n": 5, "t": true, "skip": {"x": 1}},
            "p": {}}"#;
        let a: Outer = serde_json::from_str(doc).unwrap();
        assert_eq!(a.s.as_deref(), Some("x"));
        assert_eq!(a.b, Some(false));
        assert_eq!(a.o.unwrap().a.as_deref(), Some("y"));
        assert_eq!(a.l.len(), 2);
        assert_eq!(a.l[0], Inner::default());
        assert_eq!(a.l[1].a.as_deref(), Some("second"));
        assert_eq!(a.m.get("n").map(String::as_str), Some("5"));
        assert_eq!(a.m.get("t").map(String::as_str), Some("true"));
        assert!(!a.m.contains_key("skip"));
        assert!(a.p);
    }
}
