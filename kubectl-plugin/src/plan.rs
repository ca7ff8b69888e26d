//! Computing the recovery change: the next lineage, the lockstep edits, the
//! flag flip, database/owner and the PITR target.

use std::path::{Path, PathBuf};

use cnpg_guard_core::cnpg::lineage::{self, Lineage, Store};
use cnpg_guard_core::cnpg::{BARMAN_PLUGIN, str_at};
use serde::Serialize;
use serde_json::Value;

use crate::edit::{FileChange, TextEdit};
use crate::error::PlanError;
use crate::source::{self, Source, entry_text};
use crate::timefmt;
use crate::yaml::{self, Node, Y};

/// The `barmanObjectStore` keys an in-tree recovery source copies from the
/// archive configuration (where and how to read; not wal/data/retention, and
/// serverName is set separately).
pub(crate) const SOURCE_STORE_KEYS: &[&str] = &[
    "destinationPath",
    "endpointURL",
    "endpointCA",
    "s3Credentials",
    "googleCredentials",
    "azureCredentials",
];

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

/// The next serverName after `current`: `x-vN` → `x-vN+1`; anything else
/// starts a `-v2` lineage.
pub fn next_server_name(current: &str) -> (String, Option<String>) {
    match lineage::versioned(current) {
        Some((base, n)) => (format!("{base}-v{}", n.saturating_add(1)), None),
        None => (
            format!("{current}-v2"),
            Some(format!(
                "serverName '{current}' has no -vN suffix: starting a versioned lineage at '{current}-v2' (the current WAL stays under '{current}' as the recovery source)"
            )),
        ),
    }
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
    v.get("kind").and_then(Value::as_str) == Some("Cluster")
        && str_at(v, &["apiVersion"]).is_some_and(|a| a.starts_with("postgresql.cnpg.io/"))
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
        &|v| {
            is_cluster(v) && str_at(v, &["spec", "bootstrap"]).is_none() && v.get("spec").is_some()
        },
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
        &|v| {
            is_cluster(v) && str_at(v, &["spec", "bootstrap", "recovery"]).is_some()
                || v.pointer("/spec/bootstrap/recovery").is_some()
        },
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
        &|v| v.pointer("/spec/bootstrap/initdb").is_some(),
        &[],
    )?;
    let init_val = inits.first().map(|(f, d)| files.src(*f).json(*d));

    let base_val = files.src(bf).json(bd);
    let cluster = str_at(&base_val, &["metadata", "name"])
        .unwrap_or_default()
        .to_string();
    let namespace = str_at(&base_val, &["metadata", "namespace"])
        .unwrap_or_default()
        .to_string();
    let bdisplay = files.src(bf).display.clone();
    let arch = lineage::archive(&base_val).ok_or_else(|| {
        PlanError::input(
            "the Cluster archives no WAL: no enabled barman plugin entry with barmanObjectName and no spec.backup.barmanObjectStore",
            "configure WAL archiving (spec.plugins[] barman-cloud.cloudnative-pg.io with parameters.barmanObjectName) before planning a recovery",
        )
        .in_file(bdisplay.clone())
        .at("spec.plugins")
    })?;
    // The recovery patch may omit metadata.name; lineage defaults need it.
    let mut rec_val = files.src(rf).json(rd);
    if str_at(&rec_val, &["metadata", "name"]).is_none()
        && let Some(obj) = rec_val.as_object_mut()
    {
        obj.insert("metadata".into(), serde_json::json!({"name": cluster}));
    }
    let rdisplay = files.src(rf).display.clone();
    let rec = lineage::recovery_source(&rec_val).ok_or_else(|| {
        PlanError::input(
            "spec.bootstrap.recovery.source does not name a spec.externalClusters[] entry with a barman plugin (barmanObjectName) or barmanObjectStore",
            "set recovery.source to the name of an externalClusters entry that reads the archive (plugin barman-cloud.cloudnative-pg.io)",
        )
        .in_file(rdisplay.clone())
        .at("spec.bootstrap.recovery.source")
    })?;

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
    let e = files
        .src(bf)
        .set_scalar(bd, &arch.server_name_path, &to, Some("barmanObjectName"))?;
    files.push(bf, e);
    // 2. Recovery source serverName -> vN in the overlay.
    let e = files.src(rf).set_scalar(
        rd,
        &rec.server_name_path,
        &arch.server_name,
        Some("barmanObjectName"),
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

    // 4. database / owner, explicitly (CNPG defaults both to `app`).
    let init_db = init_val.as_ref().or(Some(&base_val)).and_then(|v| {
        let i = v.pointer("/spec/bootstrap/initdb")?;
        Some((
            i.get("database")
                .and_then(Value::as_str)
                .unwrap_or("app")
                .to_string(),
            i.get("owner")
                .and_then(Value::as_str)
                .or(i.get("database").and_then(Value::as_str))
                .unwrap_or("app")
                .to_string(),
        ))
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
        store: store_name(&arch),
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

fn store_name(l: &Lineage) -> String {
    match &l.store {
        Store::ObjectStore { name, .. } => name.clone(),
        Store::Inline {
            destination_path, ..
        } => destination_path.clone(),
    }
}

fn align_store(
    files: &mut Files,
    rf: usize,
    rd: usize,
    rdisplay: &str,
    arch: &Lineage,
    rec: &Lineage,
    notes: &mut Vec<String>,
) -> Result<(), PlanError> {
    match (&arch.store, &rec.store) {
        (Store::ObjectStore { name: a, .. }, Store::ObjectStore { name: r, .. }) if a != r => {
            let e = files.src(rf).set_scalar(rd, &rec.store_path, a, None)?;
            files.push(rf, e);
            notes.push(format!(
                "{rdisplay}: the recovery source read ObjectStore '{r}' but the Cluster archives to '{a}': pointing {} at '{a}'",
                rec.store_path
            ));
        }
        (
            Store::Inline {
                destination_path: a,
                ..
            },
            Store::Inline {
                destination_path: r,
                ..
            },
        ) if a.trim_end_matches('/') != r.trim_end_matches('/') => {
            return Err(PlanError::input(
                format!("the recovery source reads destinationPath '{r}' but the Cluster archives to '{a}'"),
                "make the externalCluster's barmanObjectStore match spec.backup.barmanObjectStore (destinationPath, endpoint, credentials), then run again",
            )
            .in_file(rdisplay.to_string())
            .at(rec.store_path.clone()));
        }
        (a, r) if std::mem::discriminant(a) != std::mem::discriminant(r) => {
            notes.push(format!(
                "{rdisplay}: the recovery source uses a different backup form than the archive ({} vs {}); check it reads the same bucket",
                rec.describe(),
                arch.describe()
            ));
        }
        _ => {}
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
            "database and owner are not set and no initdb overlay names them; CNPG would create database 'app' owned by 'app' (wrong role grants)",
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
            "{}: {path} did not name {} explicitly (CNPG defaults them to 'app'): adding them",
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
    let val = src.json(d);
    let cluster = str_at(&val, &["metadata", "name"])
        .unwrap_or_default()
        .to_string();
    let namespace = str_at(&val, &["metadata", "namespace"])
        .unwrap_or_default()
        .to_string();
    let arch = lineage::archive(&val).ok_or_else(|| {
        PlanError::input(
            "the Cluster archives no WAL: no enabled barman plugin entry with barmanObjectName and no spec.backup.barmanObjectStore",
            "configure WAL archiving before planning a recovery",
        )
        .in_file(src.display.clone())
        .at("spec.plugins")
    })?;
    let mut notes = Vec::new();
    let (to, note) = next_server_name(&arch.server_name);
    notes.extend(note);
    if let Some(why) = arch.default_reason {
        notes.push(format!(
            "{}: {} is not set ({why}): the effective name is '{}'; inserting an explicit serverName '{to}'",
            src.display, arch.server_name_path, arch.server_name
        ));
    }
    let e = src.set_scalar(d, &arch.server_name_path, &to, Some("barmanObjectName"))?;
    files.push(f, e);

    if let Some(rec) = lineage::recovery_source(&val) {
        // Already in recovery mode: same lockstep bump as the overlay layout.
        let e = src.set_scalar(
            d,
            &rec.server_name_path,
            &arch.server_name,
            Some("barmanObjectName"),
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
            store: store_name(&arch),
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
    let initdb = val.pointer("/spec/bootstrap/initdb");
    if let Some(m) = cnpg_guard_core::cnpg::bootstrap_methods(&val)
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
    let database_name = input
        .database
        .clone()
        .or(initdb
            .and_then(|i| i.get("database"))
            .and_then(Value::as_str)
            .map(str::to_string))
        .unwrap_or_else(|| "app".into());
    let owner = input
        .owner
        .clone()
        .or(initdb
            .and_then(|i| i.get("owner"))
            .and_then(Value::as_str)
            .map(str::to_string))
        .unwrap_or_else(|| database_name.clone());
    let ec_names: Vec<String> = cnpg_guard_core::cnpg::items(&val, &["spec", "externalClusters"])
        .filter_map(|(_, ec)| str_at(ec, &["name"]).map(str::to_string))
        .collect();
    let ec_name = ["origin".to_string(), format!("{cluster}-archive")]
        .into_iter()
        .find(|n| !ec_names.contains(n))
        .unwrap_or_else(|| format!("{cluster}-recovery-source"));
    let mut recovery = vec![
        ("source".to_string(), Y::s(ec_name.clone())),
        ("database".to_string(), Y::s(database_name.clone())),
        ("owner".to_string(), Y::s(owner.clone())),
    ];
    if let Some(secret) = initdb
        .and_then(|i| i.pointer("/secret/name"))
        .and_then(Value::as_str)
    {
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
    // externalClusters entry reading the CURRENT lineage.
    let ec = match &arch.store {
        Store::ObjectStore { name, .. } => Y::map([
            ("name", Y::s(ec_name.clone())),
            (
                "plugin",
                Y::map([
                    ("name", Y::s(BARMAN_PLUGIN)),
                    (
                        "parameters",
                        Y::map([
                            ("barmanObjectName", Y::s(name.clone())),
                            ("serverName", Y::s(arch.server_name.clone())),
                        ]),
                    ),
                ]),
            ),
        ]),
        Store::Inline { .. } => {
            let bos = spec
                .at(&yaml::parse_path("backup.barmanObjectStore"))
                .map(Node::to_y)
                .unwrap_or(Y::Map(vec![]));
            let mut kept: Vec<(String, Y)> = match bos {
                Y::Map(m) => m
                    .into_iter()
                    .filter(|(k, _)| SOURCE_STORE_KEYS.contains(&k.as_str()))
                    .collect(),
                _ => vec![],
            };
            kept.push(("serverName".into(), Y::s(arch.server_name.clone())));
            Y::map([
                ("name", Y::s(ec_name.clone())),
                ("barmanObjectStore", Y::Map(kept)),
            ])
        }
    };
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
        store: store_name(&arch),
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
