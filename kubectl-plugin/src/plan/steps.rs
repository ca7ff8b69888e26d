//! The steps both layouts share, on the recovery document: the lineage
//! bump in lockstep, the store the source reads, database/owner and the
//! PITR target. Meaning is read from the host-parsed values (through the
//! core's views and lineage rules); span nodes only say where to edit.

use cnpg_guard_core::cnpg::lineage::{self, EntryValue, Lineage, Resolver, Store};
use cnpg_guard_core::cnpg::{
    BARMAN_PLUGIN, DEFAULT_DATABASE, Identity, PARAM_BARMAN_OBJECT_NAME, PARAM_SERVER_NAME,
};
use cnpg_guard_core::view::Cluster;
use serde::Deserialize;
use serde_json::Value;

use super::edits::Edits;
use super::patches::Doc;
use super::{PlanInput, Restore};
use crate::edit::TextEdit;
use crate::error::PlanError;
use crate::source::Change;
use crate::yaml::{self, Node, Y};

/// Where a Cluster's recovery bootstrap is written.
pub(super) const RECOVERY_PATH: &str = "spec.bootstrap.recovery";
/// The key of the PITR target in the recovery block.
pub(super) const RECOVERY_TARGET: &str = "recoveryTarget";

/// The next serverName after `current` (the core's [`lineage::next_server_name`]),
/// with a note when `current` is not versioned yet and a new `-vN` lineage starts.
pub fn next_server_name(current: &str) -> (String, Option<String>) {
    lineage::next_server_name_noted(current)
}

/// The Cluster view of a manifest or patch (patches may lack apiVersion/kind).
pub(super) fn cluster_view(v: &Value) -> Cluster {
    Cluster::deserialize(v).unwrap_or_default()
}

/// Git alone does not resolve ObjectStore references: stores compare by reference.
fn no_resolver<'a>() -> &'a Resolver<'a> {
    &|_, _| None
}

/// The lineage the Cluster archives to (what the recovery restores from).
pub(super) fn archive_of(
    view: &Cluster,
    namespace: &str,
    display: &str,
) -> Result<Lineage, PlanError> {
    let arch = lineage::archive(view, namespace).ok_or_else(|| {
        PlanError::input(
            format!("the Cluster archives no WAL: no enabled barman plugin entry with {PARAM_BARMAN_OBJECT_NAME} and no {}", lineage::INLINE_ARCHIVE_PATH),
            format!("configure WAL archiving (spec.plugins[] {BARMAN_PLUGIN} with parameters.{PARAM_BARMAN_OBJECT_NAME}) before planning a recovery"),
        )
        .in_file(display.to_string())
        .at("spec.plugins")
    })?;
    reject_empty_server_name(&arch, display)?;
    Ok(arch)
}

/// The note for an archive serverName that was not written (a default).
pub(super) fn default_note(display: &str, arch: &Lineage, to: &str) -> Option<String> {
    arch.default_reason.map(|why| {
        format!(
            "{display}: {} is not set ({why}): the effective name is '{}'; inserting an explicit {PARAM_SERVER_NAME} '{to}'",
            arch.server_name_path, arch.server_name
        )
    })
}

/// The lineage the recovery restores: the archive's current one, or the
/// one `--from-lineage` names (a serverName, or `vN` / `N` for `<base>-vN`
/// of the archive's lineage). It must be older than the new archive `to`:
/// restoring from the lineage the recovery writes (or a later one) is what
/// `lineage-self-reuse` and `lineage-order` deny.
pub(super) fn source_lineage(
    arch: &Lineage,
    to: &str,
    chosen: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<Lineage, PlanError> {
    let Some(chosen) = chosen.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(arch.clone());
    };
    let number = chosen.strip_prefix('v').unwrap_or(chosen);
    let name = if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) {
        match lineage::versioned(&arch.server_name) {
            // The current lineage, as it is written (`pg-v05` for `v5`).
            Some((_, n)) if number.parse::<u32>().ok() == Some(n) => arch.server_name.clone(),
            versioned => {
                let base = versioned.map_or_else(|| arch.server_name.clone(), |(b, _)| b);
                let digits = number.trim_start_matches('0');
                format!("{base}-v{}", if digits.is_empty() { "0" } else { digits })
            }
        }
    } else {
        chosen.to_string()
    };
    let refuse = |why: String| {
        PlanError::input(
            format!("--from-lineage {chosen}: {why}"),
            format!(
                "name a lineage older than the new archive '{to}': the current one ('{}') or an earlier one (e.g. --from-lineage v{})",
                arch.server_name,
                lineage::versioned(&arch.server_name)
                    .map_or(1, |(_, n)| n.saturating_sub(1).max(1))
            ),
        )
    };
    if name == to {
        return Err(refuse(format!(
            "'{name}' is the lineage this recovery will ARCHIVE to: a Cluster restoring from it writes into what it reads"
        )));
    }
    if let (Some((base, n)), Some((to_base, to_n))) =
        (lineage::versioned(&name), lineage::versioned(to))
        && base == to_base
        && n >= to_n
    {
        return Err(refuse(format!(
            "'{name}' is not older than the new archive '{to}': lineages only move forward"
        )));
    }
    if name != arch.server_name {
        notes.push(format!(
            "restoring from '{name}', not from '{}' (the lineage the Cluster archives to now); the archive still moves on to '{to}'. Without --backup-id the newest backup of '{name}' is restored",
            arch.server_name
        ));
    }
    Ok(Lineage {
        server_name: name,
        explicit: true,
        default_reason: None,
        ..arch.clone()
    })
}

/// The lockstep's moves, `old → new` serverNames of the archive and of the
/// recovery source: a `vN` in the trailing comment of an edited line that
/// named an old version names the new one afterwards.
#[derive(Debug, Clone, Default)]
pub(super) struct Moves {
    /// The archive: current → next.
    pub archive: (String, String),
    /// The recovery source: as written → the lineage restored.
    pub source: (String, String),
}

impl Moves {
    /// Version number moves, `first`'s pair before `second`'s (the edited
    /// line's own move wins when both name the same old version).
    ///
    /// The line's own version is kept when it has no new number (a source
    /// pointed from `pg-v7` to `orders-v7`, or to `legacy`): the other move
    /// must not renumber it.
    fn versions(first: &(String, String), second: &(String, String)) -> Vec<(u32, u32)> {
        let mut out: Vec<(u32, u32)> = Vec::new();
        let own_kept = match (lineage::versioned(&first.0), lineage::versioned(&first.1)) {
            (Some((_, o)), Some((_, n))) if o == n => Some(o),
            (Some((_, o)), None) => Some(o),
            _ => None,
        };
        for (old, new) in [first, second] {
            if let (Some((_, o)), Some((_, n))) = (lineage::versioned(old), lineage::versioned(new))
                && o != n
                && own_kept != Some(o)
                && !out.iter().any(|(k, _)| *k == o)
            {
                out.push((o, n));
            }
        }
        out
    }
}

/// `text` with every `vN` token (a `v` that does not continue a word,
/// then digits that end one) whose N is an old version replaced by the new
/// one, all at once.
fn shift_versions(text: &str, moves: &[(u32, u32)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut prev: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        let starts = c == 'v' && !prev.is_some_and(char::is_alphanumeric);
        let digits = rest
            .get(1..)
            .map_or(0, |r| r.bytes().take_while(u8::is_ascii_digit).count());
        let after = rest.get(1 + digits..).and_then(|r| r.chars().next());
        if starts && digits > 0 && !after.is_some_and(char::is_alphanumeric) {
            let token = rest.get(1..1 + digits).unwrap_or("");
            let moved = token
                .parse::<u32>()
                .ok()
                .and_then(|n| moves.iter().find(|(o, _)| *o == n))
                .map(|(_, n)| n.to_string());
            out.push('v');
            out.push_str(moved.as_deref().unwrap_or(token));
            prev = token.chars().last();
            rest = rest.get(1 + digits..).unwrap_or("");
            continue;
        }
        out.push(c);
        prev = Some(c);
        rest = rest.get(c.len_utf8()..).unwrap_or("");
    }
    out
}

/// Where the comment of `rest` (what follows a scalar on its line) starts:
/// the first `#` after a space or tab outside quoted scalars. In a flow map
/// (`parameters: {serverName: pg-v2, barmanObjectName: s}  # v2`) the
/// comment follows the rest of the map, not the scalar.
fn comment_start(rest: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut prev = None;
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match quote {
            // `\"` in a double-quoted scalar, `''` in a single-quoted one.
            Some('"') if c == '\\' => {
                chars.next();
            }
            Some('\'') if c == '\'' && chars.peek().is_some_and(|(_, n)| *n == '\'') => {
                chars.next();
            }
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '#' && matches!(prev, Some(' ' | '\t')) => return Some(i),
            // A quote opens a scalar only where one can start (after
            // whitespace, `{`, `[`, `,` or `:`), not inside a plain one.
            None if (c == '"' || c == '\'')
                && matches!(prev, Some(' ' | '\t' | '{' | '[' | ',' | ':')) =>
            {
                quote = Some(c);
            }
            None => {}
        }
        prev = Some(c);
    }
    None
}

/// Adds to `change` (a scalar replaced in place) the refresh of the line's
/// trailing comment: its `vN` tokens follow `moves`.
fn refresh_comment(doc: &Doc<'_>, change: &mut Change, moves: &[(u32, u32)]) {
    let text = &doc.at.src.text;
    let Some(end) = change.edits.first().map(|e| e.end) else {
        return;
    };
    let line_end = yaml::line_end(text, end);
    let Some(rest) = text.get(end..line_end) else {
        return;
    };
    let rest = rest.trim_end_matches(['\n', '\r']);
    let Some(lead) = comment_start(rest) else {
        return;
    };
    let Some(comment) = rest.get(lead..) else {
        return;
    };
    let shifted = shift_versions(comment, moves);
    if shifted != comment {
        let start = end + lead;
        change.edits.push(TextEdit {
            start,
            end: start + comment.len(),
            text: shifted,
        });
    }
}

/// Archive serverName `vN` → `to` (`vN+1`), where the core read it; the
/// line's comment follows the lockstep.
pub(super) fn bump_archive(
    edits: &mut Edits,
    doc: &Doc<'_>,
    arch: &Lineage,
    to: &str,
    moves: &Moves,
) -> Result<(), PlanError> {
    let mut c = doc.set_scalar(&arch.server_name_path, to, Some(PARAM_BARMAN_OBJECT_NAME))?;
    if let Some(c) = &mut c {
        refresh_comment(doc, c, &Moves::versions(&moves.archive, &moves.source));
    }
    edits.add(&doc.at, c);
    Ok(())
}

/// Recovery source serverName → the lineage restored (`from`); the line's
/// comment follows the lockstep.
pub(super) fn point_source(
    edits: &mut Edits,
    doc: &Doc<'_>,
    rec: &Lineage,
    from: &Lineage,
    moves: &Moves,
) -> Result<(), PlanError> {
    let mut c = doc.set_scalar(
        &rec.server_name_path,
        &from.server_name,
        Some(PARAM_BARMAN_OBJECT_NAME),
    )?;
    if let Some(c) = &mut c {
        refresh_comment(doc, c, &Moves::versions(&moves.source, &moves.archive));
    }
    edits.add(&doc.at, c);
    Ok(())
}

/// A plugin entry written with `serverName: ""` archives under an empty
/// lineage name (the plugin keeps it): there is no version to bump.
pub(super) fn reject_empty_server_name(arch: &Lineage, display: &str) -> Result<(), PlanError> {
    if !arch.empty_server_name() {
        return Ok(());
    }
    Err(PlanError::input(
        format!(
            "{} is written empty: the barman plugin keeps an empty {PARAM_SERVER_NAME}, so the archive has no lineage name to bump",
            arch.server_name_path
        ),
        format!("remove the empty {PARAM_SERVER_NAME} (it then defaults to the Cluster name) or set the lineage name, then run again"),
    )
    .in_file(display.to_string())
    .at(arch.server_name_path.clone()))
}

/// Points the recovery source at the store the Cluster archives to, when
/// the two differ ([`lineage::same_store`]: same location, endpoint
/// included, or the same ObjectStore reference).
pub(super) fn align_store(
    edits: &mut Edits,
    doc: &Doc<'_>,
    arch: &Lineage,
    rec: &Lineage,
    notes: &mut Vec<String>,
) -> Result<(), PlanError> {
    if lineage::same_store(arch, rec, no_resolver()) {
        return Ok(());
    }
    let display = &doc.display().to_string();
    match (&arch.store, &rec.store) {
        (Store::ObjectStore { name: a, .. }, Store::ObjectStore { name: r, .. }) => {
            let c = doc.set_scalar(&rec.store_path, a, None)?;
            edits.add(&doc.at, c);
            notes.push(format!(
                "{display}: the recovery source read ObjectStore '{r}' but the Cluster archives to '{a}': pointing {} at '{a}'",
                rec.store_path
            ));
        }
        (Store::Inline { .. }, Store::Inline { .. }) => {
            let show = |l: &Lineage| {
                l.inline_location()
                    .map_or_else(|| l.store.label().to_string(), |loc| loc.to_string())
            };
            return Err(PlanError::input(
                format!(
                    "the recovery source reads '{}' but the Cluster archives to '{}'",
                    show(rec),
                    show(arch)
                ),
                format!("make the externalCluster's barmanObjectStore match {} (destinationPath, endpoint, credentials), then run again", lineage::INLINE_ARCHIVE_PATH),
            )
            .in_file(display.clone())
            .at(rec.store_path.clone()));
        }
        _ => {
            notes.push(format!(
                "{display}: the recovery source uses a different backup form than the archive ({} vs {}); check it reads the same bucket",
                rec.describe(),
                arch.describe()
            ));
        }
    }
    Ok(())
}

/// The keys the recovery block's new keys go after, the last written first:
/// database, owner and secret land together after `source`, the target
/// after them.
const RECOVERY_ANCHORS: [&str; 4] = ["secret", "owner", "database", "source"];

fn anchor_in(rec_node: &Node) -> Option<&'static str> {
    RECOVERY_ANCHORS
        .into_iter()
        .find(|a| rec_node.get(a).is_some())
}

/// The recovery block as written, or the refusal to edit it.
fn recovery_node<'a>(doc: &Doc<'a>) -> Result<&'a Node, PlanError> {
    let path = RECOVERY_PATH;
    doc.node(path)?.ok_or_else(|| {
        PlanError::input(
            format!("{path} is not written in this file as a block of its own"),
            format!("write `{path}:` out here (source, database, owner), then run again"),
        )
        .in_file(doc.display().to_string())
        .at(path)
    })
}

/// Names database and owner explicitly in the recovery block (CNPG
/// defaults both to `app`), and carries the initdb's `secret` over (CNPG
/// otherwise generates `<cluster>-app` and resets the owner's password to
/// it): the flags, else what the block already says, else what the initdb
/// bootstrap declared (`init`, CNPG defaults applied). Returns database and
/// owner.
pub(super) fn ensure_identity(
    edits: &mut Edits,
    doc: &Doc<'_>,
    input: &PlanInput,
    init: Option<&Identity>,
    notes: &mut Vec<String>,
) -> Result<(String, String), PlanError> {
    let display = doc.display().to_string();
    let path = RECOVERY_PATH;
    let rec_node = recovery_node(doc)?;
    // What the block says (merge keys applied), not what its spans spell.
    let current = |key: &str| {
        doc.value_at(&format!("{path}.{key}"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let cur_db = current("database");
    let cur_owner = current("owner");
    let cur_secret = current("secret.name");
    let want_db = input
        .database
        .clone()
        .or(cur_db.clone())
        .or(init.map(|i| i.database.clone()));
    let want_owner = input
        .owner
        .clone()
        .or(cur_owner.clone())
        .or(init.map(|i| i.owner.clone()))
        .or(input.database.clone());
    let (Some(db), Some(owner)) = (want_db, want_owner) else {
        return Err(PlanError::input(
            format!("database and owner are not set and no initdb overlay names them; CNPG would create database '{DEFAULT_DATABASE}' owned by '{DEFAULT_DATABASE}' (wrong role grants)"),
            "pass --database <name> --owner <role> (the names of the real application database)",
        )
        .in_file(display)
        .at(format!("{path}.database")));
    };
    if let Some(i) = init
        && (i.database != db || i.owner != owner)
        && input.database.is_none()
    {
        notes.push(format!(
            "{display}: recovery creates database '{db}' owned by '{owner}' but initdb declared '{}' owned by '{}'; pass --database/--owner to change it",
            i.database, i.owner
        ));
    }
    let anchor = anchor_in(rec_node);
    let mut missing = Vec::new();
    for (key, cur, want) in [("database", &cur_db, &db), ("owner", &cur_owner, &owner)] {
        if cur.as_ref() == Some(want) {
            continue;
        }
        if cur.is_none() {
            missing.push(key);
        }
        let c = doc.set_scalar(&format!("{path}.{key}"), want, anchor)?;
        edits.add(&doc.at, c);
    }
    if !missing.is_empty() {
        notes.push(format!(
            "{display}: {path} did not name {} explicitly (CNPG defaults the database to '{DEFAULT_DATABASE}' and the owner to the database): adding {}",
            missing.join(" and "),
            if missing.len() > 1 { "them" } else { "it" }
        ));
    }
    match (init.and_then(|i| i.secret.as_deref()), cur_secret.as_deref()) {
        (Some(secret), None) => {
            let c = doc.set_entry(
                path,
                "secret",
                &Y::map([("name", Y::s(secret))]),
                anchor,
            )?;
            edits.add(&doc.at, Some(c));
            notes.push(format!(
                "{display}: carrying secret '{secret}' over from the initdb bootstrap: without {path}.secret CNPG generates '<cluster>-app' with a new password and resets the owner's password to it, so applications still using '{secret}' could not log in"
            ));
        }
        (Some(secret), Some(cur)) if secret != cur => notes.push(format!(
            "{display}: {path}.secret is '{cur}' but initdb used '{secret}': the owner's password is reset to the one in '{cur}'"
        )),
        _ => {}
    }
    Ok((db, owner))
}

/// Writes, replaces or (without one) removes `recoveryTarget`.
pub(super) fn set_target(
    edits: &mut Edits,
    doc: &Doc<'_>,
    choice: &Restore,
    notes: &mut Vec<String>,
) -> Result<(), PlanError> {
    let display = doc.display().to_string();
    let path = RECOVERY_PATH;
    let key = RECOVERY_TARGET;
    let rec_node = recovery_node(doc)?;
    let existing = doc
        .value_at(&format!("{path}.{key}"))
        .filter(|v| !v.is_null());
    match (choice.recovery_target(), existing) {
        (Some(t), existing) => {
            if existing == Some(&t.to_value()) && rec_node.get(key).is_some() {
                return Ok(());
            }
            let c = doc.set_entry(path, key, &t, anchor_in(rec_node))?;
            edits.add(&doc.at, Some(c));
        }
        (None, Some(old)) => {
            let c = doc.remove_entry(path, key)?;
            edits.add(&doc.at, Some(c));
            notes.push(format!(
                "{display}: removed the stale {path}.{key} ({old}): without --target-*/--backup-id the restore replays the latest backup to the end of the archived WAL. A target older than the first recoverability point fails with \"recovery ended before configured recovery target was reached\"",
            ));
        }
        (None, None) => {}
    }
    Ok(())
}

/// A core-built entry value as YAML; `CopyFromArchive` copies the archive
/// block's value of that key (`archive`: the host's reading of
/// [`lineage::INLINE_ARCHIVE_PATH`], merge keys applied), in the key order
/// it is `written` in, or drops the key when it has none.
pub(super) fn entry_to_y(
    v: &EntryValue,
    archive: Option<&Value>,
    written: Option<&Node>,
) -> Option<Y> {
    match v {
        EntryValue::Str(s) => Some(Y::s(s.clone())),
        EntryValue::Map(m) => Some(Y::Map(
            m.iter()
                .filter_map(|(k, v)| entry_to_y(v, archive, written).map(|y| (k.clone(), y)))
                .collect(),
        )),
        EntryValue::CopyFromArchive(key) => archive?
            .get(*key)
            .filter(|v| !v.is_null())
            .map(|v| Y::from_value(v, written.and_then(|w| w.get(key)))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn version_tokens_follow_the_lockstep_all_at_once() {
        let moves = Moves::versions(
            &("pg-v9".into(), "pg-v10".into()),
            &("pg-v8".into(), "pg-v9".into()),
        );
        assert_eq!(moves, [(9, 10), (8, 9)]);
        for (comment, want) in [
            (
                "# restore from v8 → write v9",
                "# restore from v9 → write v10",
            ),
            ("# pg-v9 (was pg-v8)", "# pg-v10 (was pg-v9)"),
            // Not a version token, or not an old version.
            ("# pg v16, rev9, v9a, V9, v7", "# pg v16, rev9, v9a, V9, v7"),
            ("# ← previous lineage", "# ← previous lineage"),
            ("# v9.", "# v10."),
        ] {
            assert_eq!(shift_versions(comment, &moves), want, "{comment}");
        }
        // The edited line's own move wins when both sides named one version.
        let own_first = Moves::versions(
            &("pg-v2".into(), "pg-v3".into()),
            &("pg-v2".into(), "pg-v1".into()),
        );
        assert_eq!(own_first, [(2, 3)]);
        assert!(
            Moves::versions(&("pg".into(), "pg-v2".into()), &("a".into(), "a".into())).is_empty()
        );
        // The edited line's own number did not move (another base): the
        // other move leaves its comment alone.
        let renamed = Moves::versions(
            &("pg-v7".into(), "orders-v7".into()),
            &("orders-v7".into(), "orders-v8".into()),
        );
        assert!(renamed.is_empty(), "{renamed:?}");
        let unversioned = Moves::versions(
            &("pg-v1".into(), "legacy-pg".into()),
            &("pg-v1".into(), "pg-v2".into()),
        );
        assert!(unversioned.is_empty(), "{unversioned:?}");
    }

    #[test]
    fn the_comment_of_a_line_is_found_after_a_flow_map() {
        for (rest, want) in [
            ("  # v2", Some(2)),
            ("\t# v2", Some(1)),
            ("# not a comment", None),
            ("", None),
            (", barmanObjectName: store}  # lineage v4", Some(28)),
            ("}  # v4", Some(3)),
            (", b: \"x # y\"}  # v4", Some(15)),
            (", b: 'it''s # y'}  # v4", Some(19)),
            (", b: \"a\\\" # y\"}  # v4", Some(17)),
            (", b: x#y}", None),
            (", b: it's} # v4", Some(11)),
        ] {
            assert_eq!(comment_start(rest), want, "{rest:?}");
        }
    }

    #[test]
    fn the_restored_lineage_is_older_than_the_new_archive() {
        let arch = Lineage {
            role: lineage::Role::Archive,
            store: Store::ObjectStore {
                namespace: "db".into(),
                name: "s".into(),
            },
            store_path: "spec.plugins[0].parameters.barmanObjectName".into(),
            server_name: "pg-v7".into(),
            server_name_path: "spec.plugins[0].parameters.serverName".into(),
            explicit: true,
            default_reason: None,
        };
        let pick = |c: Option<&str>| {
            source_lineage(&arch, "pg-v8", c, &mut Vec::new()).map(|l| l.server_name)
        };
        assert_eq!(pick(None).unwrap(), "pg-v7");
        assert_eq!(pick(Some("v6")).unwrap(), "pg-v6");
        assert_eq!(pick(Some("6")).unwrap(), "pg-v6");
        assert_eq!(pick(Some("v06")).unwrap(), "pg-v6");
        assert_eq!(pick(Some("old-cluster")).unwrap(), "old-cluster");
        assert_eq!(pick(Some("v0")).unwrap(), "pg-v0");
        assert_eq!(pick(Some("v007")).unwrap(), "pg-v7");
        // The current lineage as written, zero-padded or not.
        let padded = Lineage {
            server_name: "pg-v05".into(),
            ..arch.clone()
        };
        let from =
            |c| source_lineage(&padded, "pg-v6", Some(c), &mut Vec::new()).map(|l| l.server_name);
        assert_eq!(from("v5").unwrap(), "pg-v05");
        assert_eq!(from("v4").unwrap(), "pg-v4");
        assert!(pick(Some("v8")).is_err());
        assert!(pick(Some("pg-v9")).is_err());
    }
}
