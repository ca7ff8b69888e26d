//! Exemption annotations: `cnpg-guard.io/allow-<rule-id>: "<reason>"`.

use super::{EXEMPTION_REASON_REQUIRED, EXEMPTION_UNKNOWN_RULE};
use crate::engine::{Cx, EXEMPTION_PREFIX};
use std::collections::BTreeMap;

/// Validates exemption annotations and returns the honoured ones
/// (rule id -> reason). Empty reasons are denied and not honoured.
pub(crate) fn check(cx: &mut Cx<'_>) -> BTreeMap<String, String> {
    let mut honoured = BTreeMap::new();
    if !cx.settings.honour_exemptions {
        return honoured;
    }
    let annotations = &cx.obj.meta().annotations;
    for (key, value) in annotations {
        let Some(id) = key.strip_prefix(EXEMPTION_PREFIX) else {
            continue;
        };
        let path = format!("metadata.annotations[{key}]");
        let Some(rule) = super::find(id) else {
            cx.hit(
                EXEMPTION_UNKNOWN_RULE,
                path,
                format!("exemption names unknown rule '{id}', so it exempts nothing"),
                format!(
                    "use one of: {}",
                    super::RULES
                        .iter()
                        .filter(|r| r.exemptable)
                        .map(|r| r.id)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            continue;
        };
        if !rule.exemptable {
            cx.hit(
                EXEMPTION_UNKNOWN_RULE,
                path,
                format!("rule '{id}' cannot be exempted"),
                "remove the annotation".to_string(),
            );
            continue;
        }
        let reason = value.trim();
        if reason.is_empty() {
            cx.hit(
                EXEMPTION_REASON_REQUIRED,
                path,
                format!("exemption from '{id}' has no reason"),
                format!("write why the check does not apply, e.g. {key}: \"restore drill 2026-11, lineage v3 is new\""),
            );
            continue;
        }
        honoured.insert(id.to_string(), reason.to_string());
    }
    honoured
}
