//! barman plugin `parameters`: a free string map the plugin reads exactly two
//! keys of (`docs/cnpg.md` §4, §5). A typo or an empty value silently moves
//! the lineage.

use super::{PLUGIN_PARAMETER_UNKNOWN, SERVER_NAME_EMPTY};
use crate::cnpg::lineage::Role;
use crate::cnpg::{PARAM_SERVER_NAME, PLUGIN_PARAMETER_KEYS};
use crate::engine::Cx;
use crate::rules::object_store::barman_entries;
use crate::view::Cluster;

pub(crate) fn check(cx: &mut Cx<'_>, cluster: &Cluster) {
    let entries = barman_entries(cluster);
    if cx.on(PLUGIN_PARAMETER_UNKNOWN) {
        for (path, entry, role) in &entries {
            for key in entry.parameters.keys() {
                if PLUGIN_PARAMETER_KEYS.contains(&key.as_str()) {
                    continue;
                }
                let suggestion = closest(key);
                let (message_tail, fix) = match suggestion {
                    Some(real) => (
                        format!(" — it looks like '{real}', which is then unset"),
                        format!(
                            "rename {path}.parameters.{key} to {real} (keys are case-sensitive)"
                        ),
                    ),
                    None => (
                        String::new(),
                        format!(
                            "remove {path}.parameters.{key}; the barman plugin reads only {}",
                            PLUGIN_PARAMETER_KEYS.join(" and ")
                        ),
                    ),
                };
                cx.hit(
                    PLUGIN_PARAMETER_UNKNOWN,
                    format!("{path}.parameters.{key}"),
                    format!(
                        "the barman plugin ({role}) never reads parameters key '{key}' (it reads exactly {}, case-sensitive, and validates nothing){message_tail}",
                        PLUGIN_PARAMETER_KEYS.join(" and ")
                    ),
                    fix,
                );
            }
        }
    }
    if cx.on(SERVER_NAME_EMPTY) {
        for (i, plugin) in cluster.spec().plugins.iter().enumerate() {
            let empty = plugin
                .parameters
                .get(PARAM_SERVER_NAME)
                .is_some_and(|v| v.is_empty());
            if !empty || !crate::cnpg::is_barman(plugin) || !crate::cnpg::plugin_enabled(plugin) {
                continue;
            }
            let path = format!("spec.plugins[{i}].parameters.{PARAM_SERVER_NAME}");
            cx.hit(
                SERVER_NAME_EMPTY,
                path.clone(),
                format!(
                    "serverName is \"\": for the {} the barman plugin keeps an empty value instead of defaulting it to the Cluster name, so WAL and base backups land directly under the ObjectStore's destinationPath with no server folder, mixed with any other Cluster that does the same",
                    Role::Archive.describe()
                ),
                format!(
                    "set {path} to a lineage of its own, e.g. '{}', or remove the key to use the Cluster name",
                    crate::cnpg::lineage::first_server_name(cluster.name())
                ),
            );
        }
    }
}

/// The real key a typo most likely meant: same letters ignoring case, or
/// within two edits of one.
fn closest(key: &str) -> Option<&'static str> {
    let lower = key.to_ascii_lowercase();
    PLUGIN_PARAMETER_KEYS
        .iter()
        .map(|real| (edit_distance(&lower, &real.to_ascii_lowercase()), *real))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, real)| real)
}

/// Levenshtein distance over chars (keys are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(usize::MAX) + usize::from(ca != *cb);
            let del = prev
                .get(j + 1)
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(1);
            let ins = cur.get(j).copied().unwrap_or(usize::MAX).saturating_add(1);
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_map_to_the_real_key() {
        assert_eq!(closest("servername"), Some("serverName"));
        assert_eq!(closest("serverNmae"), Some("serverName"));
        assert_eq!(closest("barmanObjectname"), Some("barmanObjectName"));
        assert_eq!(closest("barmanObjName"), None);
        assert_eq!(closest("retention"), None);
    }
}
