//! `networking.k8s.io/v1` NetworkPolicy: the egress side, as far as the
//! coverage rules read it (does anything let a Cluster's pods reach the
//! object store?). Semantics are Kubernetes' (API reference
//! `networking.k8s.io/v1`, NetworkPolicySpec): `policyTypes` defaults to
//! `Ingress`, plus `Egress` when `egress` is set; an empty `to` or `ports`
//! means "all"; allowed traffic is the union over every policy that selects
//! the pod for egress.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Meta, lenient};

/// A label selector (`matchLabels` + `matchExpressions`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LabelSelector {
    /// `matchLabels`.
    #[serde(deserialize_with = "lenient::string_map")]
    pub match_labels: BTreeMap<String, String>,
    /// `matchExpressions`.
    #[serde(deserialize_with = "lenient::list")]
    pub match_expressions: Vec<Requirement>,
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Requirement {
    /// `key`.
    #[serde(deserialize_with = "lenient::string")]
    pub key: Option<String>,
    /// `operator`: In, NotIn, Exists, DoesNotExist.
    #[serde(deserialize_with = "lenient::string")]
    pub operator: Option<String>,
    /// `values`.
    #[serde(deserialize_with = "lenient::strings")]
    pub values: Vec<String>,
}

impl LabelSelector {
    /// Whether the selector selects an object with `labels`. An unknown
    /// operator selects nothing (the API server rejects it anyway).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| {
                let key = r.key.as_deref().unwrap_or_default();
                let value = labels.get(key);
                match r.operator.as_deref() {
                    Some("In") => value.is_some_and(|v| r.values.contains(v)),
                    Some("NotIn") => value.is_none_or(|v| !r.values.contains(v)),
                    Some("Exists") => value.is_some(),
                    Some("DoesNotExist") => value.is_none(),
                    _ => false,
                }
            })
    }
}

/// `ipBlock`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct IpBlock {
    /// `cidr`.
    #[serde(deserialize_with = "lenient::string")]
    pub cidr: Option<String>,
    /// `except`.
    #[serde(deserialize_with = "lenient::strings")]
    pub except: Vec<String>,
}

/// One `to` peer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Peer {
    /// `ipBlock`.
    #[serde(deserialize_with = "lenient::object")]
    pub ip_block: Option<IpBlock>,
    /// `namespaceSelector`.
    #[serde(deserialize_with = "lenient::object")]
    pub namespace_selector: Option<LabelSelector>,
    /// `podSelector`.
    #[serde(deserialize_with = "lenient::object")]
    pub pod_selector: Option<LabelSelector>,
}

/// One `ports` entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Port {
    /// `protocol` (default TCP).
    #[serde(deserialize_with = "lenient::string")]
    pub protocol: Option<String>,
    /// `port`: a number or a named port.
    #[serde(deserialize_with = "lenient::scalar")]
    pub port: Option<String>,
    /// `endPort`.
    #[serde(deserialize_with = "lenient::scalar")]
    pub end_port: Option<String>,
}

/// One `egress` rule.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct EgressRule {
    /// `to` (empty: every destination).
    #[serde(deserialize_with = "lenient::list")]
    pub to: Vec<Peer>,
    /// `ports` (empty: every port).
    #[serde(deserialize_with = "lenient::list")]
    pub ports: Vec<Port>,
}

/// `spec`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NetworkPolicySpec {
    /// `podSelector` (empty: every pod of the namespace).
    #[serde(deserialize_with = "lenient::object")]
    pub pod_selector: Option<LabelSelector>,
    /// `policyTypes`.
    #[serde(deserialize_with = "lenient::strings")]
    pub policy_types: Vec<String>,
    /// `egress`; `None` when the key is absent (which matters for the
    /// `policyTypes` default).
    #[serde(deserialize_with = "lenient::object_list")]
    pub egress: Option<Vec<EgressRule>>,
}

/// A NetworkPolicy.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct NetworkPolicy {
    /// `apiVersion`.
    #[serde(rename = "apiVersion", deserialize_with = "lenient::string")]
    pub api_version: Option<String>,
    /// `kind`.
    #[serde(deserialize_with = "lenient::string")]
    pub kind: Option<String>,
    /// `metadata`.
    #[serde(deserialize_with = "lenient::object")]
    pub metadata: Option<Meta>,
    /// `spec`.
    #[serde(deserialize_with = "lenient::object")]
    pub spec: Option<NetworkPolicySpec>,
}

impl NetworkPolicy {
    /// `metadata.name` (empty when unset).
    pub fn name(&self) -> &str {
        self.metadata.as_ref().map_or("", Meta::name)
    }

    /// The egress rules when this policy isolates the pods it selects for
    /// egress (`policyTypes` contains `Egress`, or is unset and `egress` is
    /// present); `None` when it does not restrict egress.
    pub fn egress_rules(&self) -> Option<&[EgressRule]> {
        let spec = self.spec.as_ref()?;
        let restricts = if spec.policy_types.is_empty() {
            spec.egress.is_some()
        } else {
            spec.policy_types.iter().any(|t| t == "Egress")
        };
        restricts.then(|| spec.egress.as_deref().unwrap_or_default())
    }

    /// Whether it selects pods with `labels` (in its own namespace).
    pub fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        self.spec
            .as_ref()
            .and_then(|s| s.pod_selector.as_ref())
            .is_none_or(|sel| sel.matches(labels))
    }
}

/// Field masks for listing NetworkPolicies.
pub const FIELD_MASKS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata.name",
    "metadata.namespace",
    "spec.podSelector",
    "spec.policyTypes",
    "spec.egress",
];
