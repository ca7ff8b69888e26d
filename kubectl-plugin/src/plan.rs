//! Computing the recovery change: the next lineage, the lockstep edits, the
//! flag flip, database/owner and the PITR target.

use std::path::{Path, PathBuf};

use cnpg_guard_core::cnpg::lineage::{self, EntryValue, Lineage, Resolver, Store};
use cnpg_guard_core::cnpg::{DEFAULT_DATABASE, Kind, PARAM_BARMAN_OBJECT_NAME};
use cnpg_guard_core::view::{Cluster, Object};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::edit::{FileChange, TextEdit};
use crate::error::PlanError;
use crate::source::{self, Source, entry_text};
use crate::timefmt;
use crate::yaml::{self, Node, Y};

/// A PITR target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `targetTime` as given, and its epoch seconds.
    Time(String, i64),
    /// `targetLSN`.
    Lsn(String),
    /// `targetImmediate: true`.
    Immediate,
}

impl Target {
    fn to_y(&self) -> Y {
        match self {
            Target::Time(t, _) => Y::map([("targetTime", Y::S(t.clone()))]),
            Target::Lsn(l) => Y::map([("targetLSN", Y::S(l.clone()))]),
            Target::Immediate => Y::map([("targetImmediate", Y::Raw("true".into()))]),
        }
    }

    /// `key=value` for messages.
    pub fn describe(&self) -> String {
        match self {
            Target::Time(t, _) => format!("targetTime {t}"),
            Target::Lsn(l) => format!("targetLSN {l}"),
            Target::Immediate => "targetImmediate (stop at the end of the base backup)".into(),
        }
    }
}

/// Inputs beyond the directory.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    /// `--database`.
    pub database: Option<String>,
    /// `--owner`.
    pub owner: Option<String>,
    /// `--target-*`.
    pub target: Option<Target>,
}

/// Which GitOps layout the directory uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayoutKind {
    /// Root kustomization with the `overlays/initdb` / `overlays/recovery` flag (ArgoCD seed).
    Overlays,
    /// One Cluster file with `bootstrap` inline (Flux seed).
    SingleFile,
}

/// The computed change.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The directory (or file) planned, as given.
    pub dir: PathBuf,
    /// Directory name: the database id and the default ArgoCD app name.
    pub database: String,
    /// Layout.
    pub layout: LayoutKind,
    /// Cluster name from Git.
    pub cluster: String,
    /// Cluster namespace from Git (may be empty).
    pub namespace: String,
    /// The current archive lineage (what will be restored from).
    pub from: Lineage,
    /// The next archive serverName.
    pub to: String,
    /// Store description for messages.
    pub store: String,
    /// Per-file changes (only files that change).
    pub changes: Vec<FileChange>,
    /// Things the user must know (defaults applied, starts of lineages).
    pub notes: Vec<String>,
    /// Database / owner the recovery will create.
    pub database_name: String,
    /// Owner role.
    pub owner: String,
    /// The PITR target, if any.
    pub target: Option<Target>,
    /// True when the flag was already on recovery before this plan.
    pub flag_was_recovery: bool,
}

struct Files {
    sources: Vec<Source>,
    edits: Vec<Vec<TextEdit>>,
}

impl Files {
    fn add(&mut self, s: Source) -> usize {
        self.sources.push(s);
        self.edits.push(Vec::new());
        self.sources.len() - 1
    }
    fn push(&mut self, file: usize, e: Option<TextEdit>) {
        if let (Some(e), Some(list)) = (e, self.edits.get_mut(file)) {
            list.push(e);
        }
    }
    fn src(&self, i: usize) -> &Source {
        // Indices come from `add`; an out-of-range index is a bug, so fall
        // back to the first file rather than panic.
        self.sources
            .get(i)
            .or(self.sources.first())
            .unwrap_or_else(|| unreachable_source())
    }
    fn changes(self) -> Vec<FileChange> {
        self.sources
            .into_iter()
            .zip(self.edits)
            .filter(|(_, e)| !e.is_empty())
            .map(|(s, mut edits)| {
                // Keep a CRLF file CRLF: new lines get the file's ending.
                if s.text.contains("\r\n") {
                    for e in &mut edits {
                        e.text = e.text.replace("\r\n", "\n").replace('\n', "\r\n");
                    }
                }
                (s, edits)
            })
            .map(|(s, edits)| FileChange {
                path: s.path,
                display: s.display,
                original: s.text,
                edits,
                create: false,
            })
            .collect()
    }
}

fn unreachable_source() -> &'static Source {
    static EMPTY: std::sync::OnceLock<Source> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Source {
        path: PathBuf::new(),
        display: String::new(),
        text: String::new(),
        docs: Vec::new(),
    })
}

/// The next serverName after `current` (the core's [`lineage::next_server_name`]),
/// with a note when `current` is not versioned yet and a new `-vN` lineage starts.
pub fn next_server_name(current: &str) -> (String, Option<String>) {
    let next = lineage::next_server_name(current);
    let note = lineage::versioned(current).is_none().then(|| {
        format!(
            "serverName '{current}' has no -vN suffix: starting a versioned lineage at '{next}' (the current WAL stays under '{current}' as the recovery source)"
        )
    });
    (next, note)
}

/// The Cluster view of a manifest or patch (patches may lack apiVersion/kind).
fn cluster_view(v: &Value) -> Cluster {
    Cluster::deserialize(v).unwrap_or_default()
}

/// Git alone does not resolve ObjectStore references: stores compare by reference.
fn no_resolver<'a>() -> &'a Resolver<'a> {
    &|_, _| None
}

/// A flag line in the root kustomization.
#[derive(Debug, Clone, Copy)]
struct FlagLine {
    /// Byte offset of the line start.
    start: usize,
    /// Whether the line is active (not commented).
    active: bool,
}

/// The first directory below `dir` (at most `depth` levels) whose
/// kustomization carries the initdb/recovery overlay flag.
fn overlay_layout_below(dir: &Path, depth: usize) -> Option<PathBuf> {
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && !p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or(".")
                    .starts_with('.')
        })
        .collect();
    subdirs.sort();
    for sub in subdirs {
        if let Some(k) = source::kustomization_file(&sub) {
            let text = std::fs::read_to_string(&k).unwrap_or_default();
            if !flag_lines(&text, "initdb").is_empty() || !flag_lines(&text, "recovery").is_empty()
            {
                return Some(sub);
            }
        }
        if depth > 1
            && let Some(found) = overlay_layout_below(&sub, depth - 1)
        {
            return Some(found);
        }
    }
    None
}

fn flag_lines(text: &str, overlay: &str) -> Vec<FlagLine> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        let (active, rest) = match t.strip_prefix('#') {
            Some(r) => (false, r.trim_start()),
            None => (true, t),
        };
        if let Some(item) = rest.strip_prefix("- ") {
            let item = item.split(" #").next().unwrap_or("").trim();
            let item = item.trim_matches(|c| c == '"' || c == '\'');
            let item = item.trim_start_matches("./").trim_end_matches('/');
            if item == overlay
                || item.ends_with(&format!("/{overlay}")) && item.starts_with("overlays")
            {
                out.push(FlagLine {
                    start: offset,
                    active,
                });
            }
        }
        offset += line.len();
    }
    out
}

/// Plans the in-place recovery of the database in `dir`.
pub fn plan_recovery(dir: &Path, input: &PlanInput) -> Result<Plan, PlanError> {
    let (root_dir, single_file) = if dir.is_file() {
        (
            dir.parent().unwrap_or(Path::new(".")).to_path_buf(),
            Some(dir.to_path_buf()),
        )
    } else if dir.is_dir() {
        (dir.to_path_buf(), None)
    } else {
        return Err(PlanError::input(
            format!("{}: no such directory or file", dir.display()),
            "pass the database directory (the one holding kustomization.yaml) or a Cluster file",
        ));
    };
    let database = dir
        .canonicalize()
        .ok()
        .and_then(|p| {
            let p = if single_file.is_some() {
                p.parent().map(Path::to_path_buf)?
            } else {
                p
            };
            p.file_name().and_then(|n| n.to_str()).map(str::to_string)
        })
        .unwrap_or_else(|| "db".into());
    let rel = |p: &Path| -> String {
        p.strip_prefix(&root_dir)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    let mut files = Files {
        sources: Vec::new(),
        edits: Vec::new(),
    };

    // Overlay layout?
    let kust = source::kustomization_file(&root_dir).filter(|_| single_file.is_none());
    if let Some(kpath) = &kust {
        let ks = Source::load(kpath, rel(kpath))?;
        let init_lines = flag_lines(&ks.text, "initdb");
        let rec_lines = flag_lines(&ks.text, "recovery");
        if !init_lines.is_empty() || !rec_lines.is_empty() {
            let k = files.add(ks);
            return plan_overlays(
                &root_dir, database, k, files, init_lines, rec_lines, input, &rel,
            );
        }
    }

    // A parent of database directories is not a single-file layout: point
    // at the database directory instead of editing its base/ in place.
    if single_file.is_none()
        && let Some(sub) = overlay_layout_below(&root_dir, 2)
    {
        return Err(PlanError::input(
            format!(
                "{}: not a database directory (no kustomization.yaml with the overlays/initdb | overlays/recovery flag here), but {} has one",
                dir.display(),
                sub.display()
            ),
            format!("run: kubectl cnpg-plan recovery {}", sub.display()),
        ));
    }

    // Single-file layout.
    let candidates: Vec<PathBuf> = match &single_file {
        Some(f) => vec![f.clone()],
        None => source::yaml_files(&root_dir, 2),
    };
    let mut found = Vec::new();
    for p in candidates {
        let s = Source::load(&p, rel(&p))?;
        for d in s.cluster_docs() {
            found.push((s.clone(), d));
        }
    }
    match found.len() {
        0 => Err(PlanError::input(
            format!("{}: no CNPG Cluster found", dir.display()),
            "pass a directory with either the overlay layout (kustomization.yaml with `- overlays/initdb` and `# - overlays/recovery`) or a single Cluster file",
        )),
        1 => {
            let Some((s, d)) = found.pop() else {
                return Err(PlanError::input("no Cluster", ""));
            };
            let f = files.add(s);
            plan_single(root_dir, database, f, d, files, input)
        }
        n => Err(PlanError::input(
            format!(
                "{}: {n} CNPG Clusters found ({}); the planner handles one database at a time",
                dir.display(),
                found
                    .iter()
                    .map(|(s, _)| s.display.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "pass the Cluster file itself, or the directory of one database",
        )),
    }
}

fn find_doc(
    files: &mut Files,
    dir: &Path,
    rel: &dyn Fn(&Path) -> String,
    pred: &dyn Fn(&Value) -> bool,
    skip: &[PathBuf],
) -> Result<Vec<(usize, usize)>, PlanError> {
    let mut out = Vec::new();
    for p in source::yaml_files(dir, 3) {
        if skip.iter().any(|s| p.starts_with(s)) {
            continue;
        }
        let s = Source::load(&p, rel(&p))?;
        let docs: Vec<usize> = (0..s.docs.len()).filter(|i| pred(&s.json(*i))).collect();
        if !docs.is_empty() {
            let f = files.add(s);
            out.extend(docs.into_iter().map(|d| (f, d)));
        }
    }
    Ok(out)
}

fn is_cluster(v: &Value) -> bool {
    Object::from_value(v).kind() == Some(Kind::Cluster)
}

fn overlay_dir(text: &str, line: FlagLine) -> String {
    let l = text
        .get(line.start..)
        .unwrap_or("")
        .lines()
        .next()
        .unwrap_or("");
    let t = l.trim_start().trim_start_matches('#').trim_start();
    let item = t.strip_prefix("- ").unwrap_or(t);
    let item = item.split(" #").next().unwrap_or("").trim();
    item.trim_matches(|c| c == '"' || c == '\'')
        .trim_end_matches('/')
        .to_string()
}

#[allow(clippy::too_many_arguments)]
fn plan_overlays(
    root: &Path,
    database: String,
    k: usize,
    mut files: Files,
    init_lines: Vec<FlagLine>,
    rec_lines: Vec<FlagLine>,
    input: &PlanInput,
    rel: &dyn Fn(&Path) -> String,
) -> Result<Plan, PlanError> {
    let kdisplay = files.src(k).display.clone();
    let ktext = files.src(k).text.clone();
    let init_active = init_lines.iter().any(|l| l.active);
    let rec_active = rec_lines.iter().any(|l| l.active);
    if init_active && rec_active {
        return Err(PlanError::input(
            "both overlays/initdb and overlays/recovery are active: kustomize would render two bootstrap methods, which CNPG rejects",
            "comment out one of the two lines (normally keep `- overlays/initdb` active), then run again",
        )
        .in_file(kdisplay)
        .at("resources"));
    }
    let rec_dir_name = rec_lines
        .first()
        .map(|l| overlay_dir(&ktext, *l))
        .unwrap_or_else(|| "overlays/recovery".into());
    let init_dir_name = init_lines
        .first()
        .map(|l| overlay_dir(&ktext, *l))
        .unwrap_or_else(|| "overlays/initdb".into());
    let rec_dir = root.join(&rec_dir_name);
    let init_dir = root.join(&init_dir_name);
    let overlays_root = root.join("overlays");

    // Base Cluster: a full Cluster outside the overlays.
    let bases = find_doc(
        &mut files,
        root,
        rel,
        // Any full Cluster (one with a spec): a bootstrap left in the base is
        // not rejected here, the policy judges the rendered result.
        &|v| is_cluster(v) && v.get("spec").is_some(),
        &[rec_dir.clone(), init_dir.clone(), overlays_root.clone()],
    )?;
    let (bf, bd) = match bases.as_slice() {
        [one] => *one,
        [] => {
            return Err(PlanError::input(
                "no base Cluster found outside the overlays",
                "keep the Cluster WITHOUT spec.bootstrap in base/cluster.yaml (the overlays add the bootstrap)",
            )
            .in_file("base/"));
        }
        many => {
            return Err(PlanError::input(
                format!(
                    "{} Cluster manifests found outside the overlays; expected one",
                    many.len()
                ),
                "plan one database directory at a time",
            ));
        }
    };
    let recs = find_doc(
        &mut files,
        &rec_dir,
        rel,
        &|v| cluster_view(v).recovery().is_some(),
        &[],
    )?;
    let Some(&(rf, rd)) = recs.first() else {
        return Err(PlanError::input(
            "no patch with spec.bootstrap.recovery found in the recovery overlay",
            "add overlays/recovery/bootstrap-patch.yaml with spec.bootstrap.recovery.source and spec.externalClusters (see the seed runbook)",
        )
        .in_file(format!("{rec_dir_name}/")));
    };
    let inits = find_doc(
        &mut files,
        &init_dir,
        rel,
        &|v| cluster_view(v).bootstrap().initdb.is_some(),
        &[],
    )?;
    let init_view = inits
        .first()
        .map(|(f, d)| cluster_view(&files.src(*f).json(*d)));

    let base = cluster_view(&files.src(bf).json(bd));
    let cluster = base.name().to_string();
    let namespace = base
        .metadata
        .as_ref()
        .map_or("", |m| m.namespace_or(""))
        .to_string();
    let bdisplay = files.src(bf).display.clone();
    let arch = lineage::archive(&base, &namespace).ok_or_else(|| {
        PlanError::input(
            "the Cluster archives no WAL: no enabled barman plugin entry with barmanObjectName and no spec.backup.barmanObjectStore",
            "configure WAL archiving (spec.plugins[] barman-cloud.cloudnative-pg.io with parameters.barmanObjectName) before planning a recovery",
        )
        .in_file(bdisplay.clone())
        .at("spec.plugins")
    })?;
    // The recovery patch may omit metadata.name (and namespace); lineage
    // defaults need the name, ObjectStore references the namespace: both are
    // the base Cluster's.
    let mut rec_view = cluster_view(&files.src(rf).json(rd));
    if rec_view.name().is_empty() {
        rec_view.metadata.get_or_insert_default().name = Some(cluster.clone());
    }
    let rdisplay = files.src(rf).display.clone();
    let rec = lineage::recovery_source(&rec_view, &namespace).ok_or_else(|| {
        PlanError::input(
            "spec.bootstrap.recovery.source does not name a spec.externalClusters[] entry with a barman plugin (barmanObjectName) or barmanObjectStore",
            "set recovery.source to the name of an externalClusters entry that reads the archive (plugin barman-cloud.cloudnative-pg.io)",
        )
        .in_file(rdisplay.clone())
        .at("spec.bootstrap.recovery.source")
    })?;
    reject_empty_server_name(&arch, &bdisplay)?;

    let mut notes = Vec::new();
    let (to, note) = next_server_name(&arch.server_name);
    notes.extend(note);
    if let Some(why) = arch.default_reason {
        notes.push(format!(
            "{bdisplay}: {} is not set ({why}): the effective name is '{}'; inserting an explicit serverName '{to}'",
            arch.server_name_path, arch.server_name
        ));
    }
    // 1. Archive serverName vN -> vN+1 in base.
    let e = files.src(bf).set_scalar(
        bd,
        &arch.server_name_path,
        &to,
        Some(PARAM_BARMAN_OBJECT_NAME),
    )?;
    files.push(bf, e);
    // 2. Recovery source serverName -> vN in the overlay.
    let e = files.src(rf).set_scalar(
        rd,
        &rec.server_name_path,
        &arch.server_name,
        Some(PARAM_BARMAN_OBJECT_NAME),
    )?;
    files.push(rf, e);
    align_store(&mut files, rf, rd, &rdisplay, &arch, &rec, &mut notes)?;

    // 3. Flip the flag.
    let mut flag_was_recovery = false;
    if rec_active {
        flag_was_recovery = true;
        notes.push(format!(
            "{kdisplay}: the flag already points at {rec_dir_name}: planning the NEXT lineage. If the previous drill's commit was pushed but the Cluster was not recreated yet, do not apply this: finish that runbook instead (live mode checks this)"
        ));
    } else {
        for l in init_lines.iter().filter(|l| l.active) {
            let line = ktext.get(l.start..).unwrap_or("");
            let dash = line.find('-').unwrap_or(0);
            files.push(
                k,
                Some(TextEdit {
                    start: l.start + dash,
                    end: l.start + dash,
                    text: "# ".into(),
                }),
            );
        }
        match rec_lines.first() {
            Some(l) => {
                let line = ktext.get(l.start..).unwrap_or("");
                let hash = line.find('#').unwrap_or(0);
                let dash = line.find('-').unwrap_or(hash);
                files.push(
                    k,
                    Some(TextEdit {
                        start: l.start + hash,
                        end: l.start + dash,
                        text: String::new(),
                    }),
                );
            }
            None => {
                let Some(il) = init_lines.first() else {
                    return Err(PlanError::input("no flag line", "").in_file(kdisplay));
                };
                let line = ktext.get(il.start..).unwrap_or("");
                let indent: String = line
                    .chars()
                    .take_while(|c| c.is_whitespace() && *c != '\n')
                    .collect();
                let end = yaml::line_end(&ktext, il.start);
                let nl = if end == ktext.len() && !ktext.ends_with('\n') {
                    "\n"
                } else {
                    ""
                };
                files.push(
                    k,
                    Some(TextEdit {
                        start: end,
                        end,
                        text: format!("{nl}{indent}- overlays/recovery\n"),
                    }),
                );
            }
        }
    }

    // 4. database / owner, explicitly (CNPG defaults both to `app`): what
    // the initdb overlay (else the base) declares, with CNPG's defaults.
    let init_db = [init_view.as_ref(), Some(&base)]
        .into_iter()
        .flatten()
        .find(|c| c.bootstrap().initdb.is_some())
        .map(|c| {
            let id = cnpg_guard_core::cnpg::bootstrap_identity(c);
            (id.database, id.owner)
        });
    let (database_name, owner) = ensure_db_owner(&mut files, rf, rd, input, init_db, &mut notes)?;
    // 5. PITR target.
    set_target(&mut files, rf, rd, input.target.as_ref(), &mut notes)?;

    Ok(Plan {
        dir: root.to_path_buf(),
        database,
        layout: LayoutKind::Overlays,
        cluster,
        namespace,
        store: arch.store.label().to_string(),
        from: arch.clone(),
        to,
        changes: files.changes(),
        notes,
        database_name,
        owner,
        target: input.target.clone(),
        flag_was_recovery,
    })
}

/// Points the recovery source at the store the Cluster archives to, when
/// the two differ ([`lineage::same_store`]: same location, endpoint
/// included, or the same ObjectStore reference).
fn align_store(
    files: &mut Files,
    rf: usize,
    rd: usize,
    rdisplay: &str,
    arch: &Lineage,
    rec: &Lineage,
    notes: &mut Vec<String>,
) -> Result<(), PlanError> {
    if lineage::same_store(arch, rec, no_resolver()) {
        return Ok(());
    }
    match (&arch.store, &rec.store) {
        (Store::ObjectStore { name: a, .. }, Store::ObjectStore { name: r, .. }) => {
            let e = files.src(rf).set_scalar(rd, &rec.store_path, a, None)?;
            files.push(rf, e);
            notes.push(format!(
                "{rdisplay}: the recovery source read ObjectStore '{r}' but the Cluster archives to '{a}': pointing {} at '{a}'",
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
                "make the externalCluster's barmanObjectStore match spec.backup.barmanObjectStore (destinationPath, endpoint, credentials), then run again",
            )
            .in_file(rdisplay.to_string())
            .at(rec.store_path.clone()));
        }
        _ => {
            notes.push(format!(
                "{rdisplay}: the recovery source uses a different backup form than the archive ({} vs {}); check it reads the same bucket",
                rec.describe(),
                arch.describe()
            ));
        }
    }
    Ok(())
}

fn ensure_db_owner(
    files: &mut Files,
    rf: usize,
    rd: usize,
    input: &PlanInput,
    init_db: Option<(String, String)>,
    notes: &mut Vec<String>,
) -> Result<(String, String), PlanError> {
    let src = files.src(rf).clone();
    let path = "spec.bootstrap.recovery";
    let root = src.root(rd);
    let rec_node = root
        .and_then(|r| r.at(&yaml::parse_path(path)))
        .ok_or_else(|| {
            PlanError::input("spec.bootstrap.recovery is missing", "report this as a bug")
                .in_file(src.display.clone())
        })?;
    let cur_db = rec_node
        .get("database")
        .and_then(Node::key_str)
        .map(str::to_string);
    let cur_owner = rec_node
        .get("owner")
        .and_then(Node::key_str)
        .map(str::to_string);
    let want_db = input
        .database
        .clone()
        .or(cur_db.clone())
        .or(init_db.as_ref().map(|d| d.0.clone()));
    let want_owner = input
        .owner
        .clone()
        .or(cur_owner.clone())
        .or(init_db.as_ref().map(|d| d.1.clone()))
        .or(input.database.clone());
    let (Some(db), Some(owner)) = (want_db, want_owner) else {
        return Err(PlanError::input(
            format!("database and owner are not set and no initdb overlay names them; CNPG would create database '{DEFAULT_DATABASE}' owned by '{DEFAULT_DATABASE}' (wrong role grants)"),
            "pass --database <name> --owner <role> (the names of the real application database)",
        )
        .in_file(src.display.clone())
        .at("spec.bootstrap.recovery.database"));
    };
    if let Some((idb, iowner)) = &init_db
        && (idb != &db || iowner != &owner)
        && input.database.is_none()
    {
        notes.push(format!(
            "{}: recovery creates database '{db}' owned by '{owner}' but initdb declared '{idb}' owned by '{iowner}'; pass --database/--owner to change it",
            src.display
        ));
    }
    let mut missing = Vec::new();
    for (key, cur, want) in [("database", &cur_db, &db), ("owner", &cur_owner, &owner)] {
        match cur {
            Some(c) if c == want => {}
            Some(_) => {
                let e = src.set_scalar(rd, &format!("{path}.{key}"), want, None)?;
                files.push(rf, e);
            }
            None => missing.push((key, want.clone())),
        }
    }
    if !missing.is_empty() {
        notes.push(format!(
            "{}: {path} did not name {} explicitly (CNPG defaults them to '{DEFAULT_DATABASE}'): adding them",
            src.display,
            missing
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(" and ")
        ));
        let Node::Map { entries, .. } = rec_node else {
            return Err(PlanError::input(
                "spec.bootstrap.recovery is not a mapping",
                "write it as a block mapping",
            )
            .in_file(src.display.clone()));
        };
        let anchor = ["owner", "database", "source"]
            .into_iter()
            .find(|a| entries.iter().any(|(k, _)| k.key_str() == Some(a)));
        let mut edit = src.insert_entry(
            rec_node,
            path,
            missing.first().map_or("database", |m| m.0),
            &Y::s(missing.first().map(|m| m.1.clone()).unwrap_or_default()),
            anchor,
        )?;
        if let Some((k2, v2)) = missing.get(1) {
            if edit.text.ends_with('\n') {
                let col = edit
                    .text
                    .trim_start_matches('\n')
                    .chars()
                    .take_while(|c| *c == ' ')
                    .count();
                edit.text.push_str(&entry_text(k2, &Y::s(v2.clone()), col));
            } else {
                edit.text.push_str(&format!(
                    ", {k2}: {}",
                    yaml::render_scalar(v2, granit_parser::ScalarStyle::Plain)
                ));
            }
        }
        files.push(rf, Some(edit));
    }
    Ok((db, owner))
}

fn set_target(
    files: &mut Files,
    rf: usize,
    rd: usize,
    target: Option<&Target>,
    notes: &mut Vec<String>,
) -> Result<(), PlanError> {
    let src = files.src(rf).clone();
    let path = "spec.bootstrap.recovery";
    let Some(rec_node) = src.root(rd).and_then(|r| r.at(&yaml::parse_path(path))) else {
        return Ok(());
    };
    let existing = rec_node.get("recoveryTarget");
    match (target, existing) {
        (Some(t), Some(_)) => {
            let (s, e) = src.entry_lines(rec_node, path, "recoveryTarget")?;
            let col = yaml::column(
                &src.text,
                rec_node
                    .entry("recoveryTarget")
                    .map_or(s, |(k, _)| k.start()),
            );
            files.push(
                rf,
                Some(TextEdit {
                    start: s,
                    end: e,
                    text: entry_text("recoveryTarget", &t.to_y(), col),
                }),
            );
        }
        (Some(t), None) => {
            let anchor = ["owner", "database", "source"]
                .into_iter()
                .find(|a| rec_node.get(a).is_some());
            let mut edit = src.insert_entry(rec_node, path, "recoveryTarget", &t.to_y(), anchor)?;
            // Keep it after database/owner when those are being inserted at the same spot.
            edit.text = edit.text.clone();
            files.push(rf, Some(edit));
        }
        (None, Some(old)) => {
            let (s, e) = src.entry_lines(rec_node, path, "recoveryTarget")?;
            files.push(
                rf,
                Some(TextEdit {
                    start: s,
                    end: e,
                    text: String::new(),
                }),
            );
            notes.push(format!(
                "{}: removed the stale {path}.recoveryTarget ({}): without --target-* the restore replays to the end of the archived WAL. A target older than the first recoverability point fails with \"recovery ended before configured recovery target was reached\"",
                src.display,
                old.to_json()
            ));
        }
        (None, None) => {}
    }
    Ok(())
}

fn plan_single(
    root: PathBuf,
    database: String,
    f: usize,
    d: usize,
    mut files: Files,
    input: &PlanInput,
) -> Result<Plan, PlanError> {
    let src = files.src(f).clone();
    let view = cluster_view(&src.json(d));
    let cluster = view.name().to_string();
    let namespace = view
        .metadata
        .as_ref()
        .map_or("", |m| m.namespace_or(""))
        .to_string();
    let arch = lineage::archive(&view, &namespace).ok_or_else(|| {
        PlanError::input(
            "the Cluster archives no WAL: no enabled barman plugin entry with barmanObjectName and no spec.backup.barmanObjectStore",
            "configure WAL archiving before planning a recovery",
        )
        .in_file(src.display.clone())
        .at("spec.plugins")
    })?;
    reject_empty_server_name(&arch, &src.display)?;
    let mut notes = Vec::new();
    let (to, note) = next_server_name(&arch.server_name);
    notes.extend(note);
    if let Some(why) = arch.default_reason {
        notes.push(format!(
            "{}: {} is not set ({why}): the effective name is '{}'; inserting an explicit serverName '{to}'",
            src.display, arch.server_name_path, arch.server_name
        ));
    }
    let e = src.set_scalar(
        d,
        &arch.server_name_path,
        &to,
        Some(PARAM_BARMAN_OBJECT_NAME),
    )?;
    files.push(f, e);

    if let Some(rec) = lineage::recovery_source(&view, &namespace) {
        // Already in recovery mode: same lockstep bump as the overlay layout.
        let e = src.set_scalar(
            d,
            &rec.server_name_path,
            &arch.server_name,
            Some(PARAM_BARMAN_OBJECT_NAME),
        )?;
        files.push(f, e);
        let display = src.display.clone();
        align_store(&mut files, f, d, &display, &arch, &rec, &mut notes)?;
        notes.push(format!(
            "{display}: the Cluster already bootstraps from recovery: planning the NEXT lineage (if the previous change was pushed but the Cluster was not recreated yet, finish that runbook instead)"
        ));
        let (database_name, owner) = ensure_db_owner(&mut files, f, d, input, None, &mut notes)?;
        set_target(&mut files, f, d, input.target.as_ref(), &mut notes)?;
        return Ok(Plan {
            dir: root,
            database,
            layout: LayoutKind::SingleFile,
            cluster,
            namespace,
            store: arch.store.label().to_string(),
            from: arch.clone(),
            to,
            changes: files.changes(),
            notes,
            database_name,
            owner,
            target: input.target.clone(),
            flag_was_recovery: true,
        });
    }

    // initdb -> recovery + externalClusters, in place.
    let root_node = src
        .root(d)
        .ok_or_else(|| PlanError::input("empty document", "").in_file(src.display.clone()))?;
    let spec = root_node.get("spec").ok_or_else(|| {
        PlanError::input("spec is missing", "add the Cluster spec").in_file(src.display.clone())
    })?;
    if let Some(m) = cnpg_guard_core::cnpg::bootstrap_methods(&view)
        .into_iter()
        .find(|m| *m != "initdb")
    {
        return Err(PlanError::input(
            format!("spec.bootstrap.{m} is set: only initdb or recovery Clusters can be planned"),
            "convert the bootstrap by hand",
        )
        .in_file(src.display.clone())
        .at(format!("spec.bootstrap.{m}")));
    }
    // initdb (or no bootstrap at all) with CNPG's defaults applied; an
    // explicit --database also becomes the default owner.
    let identity = cnpg_guard_core::cnpg::bootstrap_identity(&view);
    let database_name = input.database.clone().unwrap_or(identity.database);
    let owner = input
        .owner
        .clone()
        .or(identity.owner_explicit.then_some(identity.owner))
        .unwrap_or_else(|| database_name.clone());
    let ec_names: Vec<&str> = view
        .spec()
        .external_clusters
        .iter()
        .filter_map(|ec| ec.name.as_deref())
        .collect();
    let ec_name = ["origin".to_string(), format!("{cluster}-archive")]
        .into_iter()
        .find(|n| !ec_names.contains(&n.as_str()))
        .unwrap_or_else(|| format!("{cluster}-recovery-source"));
    let mut recovery = vec![
        ("source".to_string(), Y::s(ec_name.clone())),
        ("database".to_string(), Y::s(database_name.clone())),
        ("owner".to_string(), Y::s(owner.clone())),
    ];
    if let Some(secret) = identity.secret {
        recovery.push(("secret".into(), Y::map([("name", Y::s(secret))])));
    }
    if let Some(t) = &input.target {
        recovery.push(("recoveryTarget".into(), t.to_y()));
    }
    let recovery = Y::Map(recovery);
    let bootstrap = spec.get("bootstrap");
    match bootstrap {
        Some(b @ Node::Map { .. }) if b.get("initdb").is_some() => {
            let (s, e) = src.entry_lines(b, "spec.bootstrap", "initdb")?;
            let col = yaml::column(&src.text, b.entry("initdb").map_or(s, |(k, _)| k.start()));
            files.push(
                f,
                Some(TextEdit {
                    start: s,
                    end: e,
                    text: entry_text("recovery", &recovery, col),
                }),
            );
            notes.push(format!(
                "{}: spec.bootstrap.initdb replaced by spec.bootstrap.recovery (init-only settings such as postInitApplicationSQL are not needed: the data comes from the backup). Git history keeps the initdb block",
                src.display
            ));
        }
        _ => {
            let edit = src.insert_entry(
                spec,
                "spec",
                "bootstrap",
                &Y::Map(vec![("recovery".into(), recovery)]),
                None,
            )?;
            files.push(f, Some(edit));
        }
    }
    // externalClusters entry reading the CURRENT lineage (the core's shape;
    // in-tree store keys are copied as written from the archive block).
    let archive_block = spec.at(&yaml::parse_path("backup.barmanObjectStore"));
    let ec = Y::Map(
        lineage::source_entry(&ec_name, &arch)
            .iter()
            .filter_map(|(k, v)| entry_to_y(v, archive_block).map(|y| (k.clone(), y)))
            .collect(),
    );
    match spec.get("externalClusters") {
        Some(seq @ Node::Seq { flow: false, .. }) => {
            let col = yaml::column(&src.text, seq.start());
            let at = yaml::line_end(&src.text, seq.content_end().saturating_sub(1));
            files.push(
                f,
                Some(TextEdit {
                    start: at,
                    end: at,
                    text: yaml::emit(&Y::List(vec![ec]), col),
                }),
            );
        }
        Some(_) => {
            return Err(PlanError::input(
                "spec.externalClusters is not a block sequence",
                "write externalClusters as a block list (`- name: ...`), then run again",
            )
            .in_file(src.display.clone())
            .at("spec.externalClusters"));
        }
        None => {
            let edit = src.insert_entry(
                spec,
                "spec",
                "externalClusters",
                &Y::List(vec![ec]),
                Some("bootstrap"),
            )?;
            files.push(f, Some(edit));
        }
    }
    Ok(Plan {
        dir: root,
        database,
        layout: LayoutKind::SingleFile,
        cluster,
        namespace,
        store: arch.store.label().to_string(),
        from: arch.clone(),
        to,
        changes: files.changes(),
        notes,
        database_name,
        owner,
        target: input.target.clone(),
        flag_was_recovery: false,
    })
}

/// A core-built entry value as YAML; `CopyFromArchive` copies the node as
/// written from `archive` (`spec.backup.barmanObjectStore`), or drops the key.
fn entry_to_y(v: &EntryValue, archive: Option<&Node>) -> Option<Y> {
    match v {
        EntryValue::Str(s) => Some(Y::s(s.clone())),
        EntryValue::Map(m) => Some(Y::Map(
            m.iter()
                .filter_map(|(k, v)| entry_to_y(v, archive).map(|y| (k.clone(), y)))
                .collect(),
        )),
        EntryValue::CopyFromArchive(key) => archive?.get(key).map(Node::to_y),
    }
}

/// A plugin entry written with `serverName: ""` archives under an empty
/// lineage name (the plugin keeps it): there is no version to bump.
fn reject_empty_server_name(arch: &Lineage, display: &str) -> Result<(), PlanError> {
    if !arch.empty_server_name() {
        return Ok(());
    }
    Err(PlanError::input(
        format!(
            "{} is written empty: the barman plugin keeps an empty serverName, so the archive has no lineage name to bump",
            arch.server_name_path
        ),
        "remove the empty serverName (it then defaults to the Cluster name) or set the lineage name, then run again",
    )
    .in_file(display.to_string())
    .at(arch.server_name_path.clone()))
}

/// Validates the mutually exclusive target flags.
pub fn target_from_flags(
    time: Option<&str>,
    lsn: Option<&str>,
    immediate: bool,
) -> Result<Option<Target>, PlanError> {
    let n = usize::from(time.is_some()) + usize::from(lsn.is_some()) + usize::from(immediate);
    if n > 1 {
        return Err(PlanError::input(
            "--target-time, --target-lsn and --target-immediate are mutually exclusive (CNPG: \"Recovery target options are mutually exclusive\")",
            "pass at most one of them",
        ));
    }
    if let Some(t) = time {
        let secs =
            timefmt::parse_timestamp(t).map_err(|e| PlanError::input(e, "fix --target-time"))?;
        return Ok(Some(Target::Time(t.to_string(), secs)));
    }
    if let Some(l) = lsn {
        timefmt::validate_lsn(l).map_err(|e| PlanError::input(e, "fix --target-lsn"))?;
        return Ok(Some(Target::Lsn(l.to_string())));
    }
    Ok(immediate.then_some(Target::Immediate))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;

    #[test]
    fn next_names() {
        assert_eq!(
            next_server_name("temporal-database-v2").0,
            "temporal-database-v3"
        );
        let (n, note) = next_server_name("pg");
        assert_eq!(n, "pg-v2");
        assert!(note.is_some());
        // The core's rule: no wrap-around, no reuse of the current name.
        assert_eq!(next_server_name("pg-v4294967295").0, "pg-v4294967295-v2");
    }

    #[test]
    fn inline_source_entry_copies_only_the_store_keys_as_written() {
        let text = "metadata:\n  name: pg\nspec:\n  backup:\n    barmanObjectStore:\n      destinationPath: \"s3://b/x\"\n      s3Credentials:\n        accessKeyId: {name: s, key: K}\n      wal:\n        compression: gzip\n";
        let docs = yaml::parse(text).unwrap();
        let root = docs[0].root.as_ref().unwrap();
        let cluster = cluster_view(&root.to_json());
        let arch = lineage::archive(&cluster, "").unwrap();
        let archive = root.at(&yaml::parse_path("spec.backup.barmanObjectStore"));
        let entry: Vec<(String, Y)> = lineage::source_entry("origin", &arch)
            .iter()
            .filter_map(|(k, v)| entry_to_y(v, archive).map(|y| (k.clone(), y)))
            .collect();
        let out = yaml::emit(&Y::Map(entry), 0);
        assert_eq!(
            out,
            "name: origin\nbarmanObjectStore:\n  destinationPath: s3://b/x\n  s3Credentials:\n    accessKeyId:\n      name: s\n      key: K\n  serverName: pg\n"
        );
    }

    #[test]
    fn empty_plugin_server_name_is_not_bumped() {
        let v = serde_json::json!({"metadata": {"name": "pg"}, "spec": {"plugins": [{
            "name": cnpg_guard_core::cnpg::BARMAN_PLUGIN,
            "parameters": {"barmanObjectName": "s", "serverName": ""}}]}});
        let arch = lineage::archive(&cluster_view(&v), "").unwrap();
        let e = reject_empty_server_name(&arch, "c.yaml").unwrap_err();
        assert!(e.to_string().contains("written empty"), "{e}");
        let v = serde_json::json!({"metadata": {"name": "pg"}, "spec": {"plugins": [{
            "name": cnpg_guard_core::cnpg::BARMAN_PLUGIN,
            "parameters": {"barmanObjectName": "s"}}]}});
        let arch = lineage::archive(&cluster_view(&v), "").unwrap();
        assert!(reject_empty_server_name(&arch, "c.yaml").is_ok());
        assert_eq!(arch.server_name, "pg");
    }

    #[test]
    fn flag_lines_found() {
        let t = "resources:\n  - overlays/initdb # on\n  # - overlays/recovery\n  - x.yaml\n";
        let i = flag_lines(t, "initdb");
        let r = flag_lines(t, "recovery");
        assert_eq!(i.len(), 1);
        assert!(i[0].active);
        assert_eq!(r.len(), 1);
        assert!(!r[0].active);
        assert_eq!(overlay_dir(t, r[0]), "overlays/recovery");
    }

    #[test]
    fn targets_are_exclusive_and_validated() {
        assert!(target_from_flags(Some("2026-05-08T20:49:00Z"), Some("0/1"), false).is_err());
        assert!(target_from_flags(Some("yesterday"), None, false).is_err());
        assert!(
            target_from_flags(None, Some("0/3000060"), false)
                .unwrap()
                .is_some()
        );
        assert_eq!(
            target_from_flags(None, None, true).unwrap(),
            Some(Target::Immediate)
        );
        assert_eq!(target_from_flags(None, None, false).unwrap(), None);
    }
}
