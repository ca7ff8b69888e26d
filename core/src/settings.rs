//! Policy settings, validated once (`validate_settings`) before any request.

use crate::rules::{self, RuleInfo};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a rule does when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Reject the request.
    Deny,
    /// Accept with a warning.
    Warn,
    /// Fix the object (mutating rules only).
    Mutate,
    /// Do not evaluate the rule.
    Off,
}

/// Which Clusters count when looking for another Cluster writing the same lineage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineageScope {
    /// Only Clusters in the same namespace.
    Namespace,
    /// Clusters in every namespace (buckets are shared across namespaces).
    #[default]
    Cluster,
}

/// What to do when the host cannot answer a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnContextError {
    /// Accept, with a warning naming the checks that were skipped.
    #[default]
    Warn,
    /// Reject: fail closed.
    Deny,
}

/// Where lookups are answered from; only changes message wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContextSource {
    /// The live Kubernetes API (admission).
    #[default]
    Cluster,
    /// A rendered bundle (ArgoCD CMP, `kubectl cnpg-plan check`): a missing
    /// object may be managed elsewhere.
    Render,
}

/// cnpg-guard policy settings. Unknown keys are rejected so typos surface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// Per-rule level overrides, by rule id.
    pub severity: BTreeMap<String, Level>,
    /// Label keys stripped from CNPG PVCs (file-level backup labels).
    pub backup_label_keys: Vec<String>,
    /// The operator's `INHERITED_LABELS` globs (comma-separated in the
    /// operator configuration, a list here): Cluster `metadata.labels` matching
    /// one are copied onto every PVC (`docs/cnpg.md` §10). Default empty, as
    /// in the operator.
    pub operator_inherited_labels: Vec<String>,
    /// Scope of the shared-lineage check.
    pub lineage_scope: LineageScope,
    /// Whether `cnpg-guard.io/allow-<rule>` annotations are honoured.
    pub honour_exemptions: bool,
    /// What to do when a lookup fails.
    pub context_errors: OnContextError,
    /// Where lookups come from (wording only).
    pub context_source: ContextSource,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            severity: BTreeMap::new(),
            backup_label_keys: vec!["backup".to_string()],
            operator_inherited_labels: Vec::new(),
            lineage_scope: LineageScope::default(),
            honour_exemptions: true,
            context_errors: OnContextError::default(),
            context_source: ContextSource::default(),
        }
    }
}

impl Settings {
    /// Checks everything serde cannot: rule ids exist, `mutate` is only used
    /// on mutating rules, label keys are valid. The error names the key and
    /// lists what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        for (id, level) in &self.severity {
            let Some(rule) = rules::find(id) else {
                return Err(format!(
                    "severity: unknown rule id '{id}'; known rules: {}",
                    rules::ids().collect::<Vec<_>>().join(", ")
                ));
            };
            if *level == Level::Mutate && !rule.mutating {
                return Err(format!(
                    "severity.{id}: 'mutate' only applies to mutating rules ({}); use deny, warn or off",
                    rules::RULES
                        .iter()
                        .filter(|r| r.mutating)
                        .map(|r| r.id)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if !rule.configurable && *level == Level::Off {
                return Err(format!("severity.{id}: this rule cannot be turned off"));
            }
        }
        for key in &self.backup_label_keys {
            if !is_label_key(key) {
                return Err(format!(
                    "backupLabelKeys: '{key}' is not a valid Kubernetes label key"
                ));
            }
            if key.starts_with("cnpg.io/") {
                return Err(format!(
                    "backupLabelKeys: '{key}' is a CNPG label; stripping it would break the operator"
                ));
            }
        }
        for pattern in &self.operator_inherited_labels {
            if pattern.is_empty() || pattern.contains('[') {
                return Err(format!(
                    "operatorInheritedLabels: '{pattern}' is not supported; use label keys with '*' and '?' wildcards, as in the operator's INHERITED_LABELS"
                ));
            }
        }
        Ok(())
    }

    /// True when the operator copies a Cluster label `key` onto its PVCs.
    pub fn operator_inherits(&self, key: &str) -> bool {
        self.operator_inherited_labels
            .iter()
            .any(|p| glob_match(p.as_bytes(), key.as_bytes()))
    }

    /// The effective level of a rule.
    pub fn level(&self, rule: &RuleInfo) -> Level {
        self.severity.get(rule.id).copied().unwrap_or(rule.default)
    }
}

/// Go `path.Match` for `*` (any run of non-`/` bytes) and `?` (one non-`/`
/// byte), the pattern syntax of the operator's `INHERITED_LABELS`
/// (cnpg@v1.30.0 `internal/configuration/configuration.go:309-326`).
/// Character classes are refused by [`Settings::validate`].
fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.split_first(), name.split_first()) {
        (None, None) => true,
        (Some((b'*', rest)), _) => {
            let mut i = 0;
            loop {
                if glob_match(rest, name.get(i..).unwrap_or_default()) {
                    return true;
                }
                match name.get(i) {
                    Some(b'/') | None => return false,
                    Some(_) => i += 1,
                }
            }
        }
        (Some((b'?', rest)), Some((c, name_rest))) => *c != b'/' && glob_match(rest, name_rest),
        (Some((p, rest)), Some((c, name_rest))) => p == c && glob_match(rest, name_rest),
        _ => false,
    }
}

/// True for a valid Kubernetes label key. `[prefix/]name`: prefix a DNS subdomain, name 1-63 of [A-Za-z0-9-_.],
/// alphanumeric at both ends (Kubernetes `IsQualifiedName`).
pub fn is_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !part.starts_with('-')
                    && !part.ends_with('-')
            })
    });
    name_ok && prefix_ok
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Settings, String> {
        let s: Settings = serde_json::from_str(json).map_err(|e| e.to_string())?;
        s.validate().map(|_| s)
    }

    #[test]
    fn empty_settings_are_the_defaults() {
        let s = parse("{}").unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.backup_label_keys, vec!["backup"]);
    }

    #[test]
    fn overrides_and_options_parse() {
        let s = parse(
            r#"{"severity": {"lineage-gap": "deny", "pvc-backup-label": "warn"},
            "backupLabelKeys": ["backup", "velero.io/backup"], "lineageScope": "namespace",
            "honourExemptions": false, "contextErrors": "deny", "contextSource": "render"}"#,
        )
        .unwrap();
        assert_eq!(s.lineage_scope, LineageScope::Namespace);
        assert!(!s.honour_exemptions);
    }

    #[test]
    fn unknown_keys_and_rules_are_rejected() {
        let e = parse(r#"{"severities": {}}"#).unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
        let e = parse(r#"{"severity": {"no-such-rule": "deny"}}"#).unwrap_err();
        assert!(
            e.contains("unknown rule id 'no-such-rule'") && e.contains("lineage-self-reuse"),
            "{e}"
        );
        let e = parse(r#"{"severity": {"lineage-gap": "loud"}}"#).unwrap_err();
        assert!(e.contains("unknown variant"), "{e}");
    }

    #[test]
    fn mutate_only_for_mutating_rules() {
        assert!(parse(r#"{"severity": {"pvc-backup-label": "mutate"}}"#).is_ok());
        let e = parse(r#"{"severity": {"lineage-gap": "mutate"}}"#).unwrap_err();
        assert!(e.contains("pvc-backup-label"), "{e}");
    }

    #[test]
    fn label_keys_are_checked() {
        assert!(parse(r#"{"backupLabelKeys": ["kopia.io/backup"]}"#).is_ok());
        assert!(parse(r#"{"backupLabelKeys": [""]}"#).is_err());
        assert!(parse(r#"{"backupLabelKeys": ["-bad"]}"#).is_err());
        assert!(parse(r#"{"backupLabelKeys": ["cnpg.io/cluster"]}"#).is_err());
        assert!(parse(r#"{"operatorInheritedLabels": ["[ab]"]}"#).is_err());
    }

    #[test]
    fn inherited_label_globs_follow_path_match() {
        let s =
            parse(r#"{"operatorInheritedLabels": ["example.com/*", "backup", "team-?"]}"#).unwrap();
        assert!(s.operator_inherits("example.com/one"));
        assert!(!s.operator_inherits("example.com/a/b"));
        assert!(s.operator_inherits("backup"));
        assert!(s.operator_inherits("team-a"));
        assert!(!s.operator_inherits("team-ab"));
        assert!(!s.operator_inherits("backups"));
    }
}
