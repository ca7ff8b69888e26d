//! The planner's edit path. The input bytes choose (through `arbitrary`) a
//! database directory: the overlay layout (ArgoCD seed: root kustomization
//! with the `overlays/initdb` | `# - overlays/recovery` flag, base Cluster,
//! initdb and recovery overlays) or the single-file layout (Flux seed: one
//! Cluster in initdb or already in recovery), a plugin or in-tree archive,
//! and how every file is written: indentation, list indentation, quoting,
//! flow or block maps, comments (some naming the lineage's `vN`), blank
//! lines, `---`, a BOM, CRLF, trailing spaces and tabs. They also choose the
//! flags (`--database`, `--owner`, `--from-lineage`, `--backup-id`,
//! `--target-*`).
//!
//! The tree is planned and applied in memory ([`plan_tree`], the pure entry
//! point), then re-read with the host parser. Checked:
//!
//! * the plan succeeds, or refuses exactly where the flags are invalid
//!   (`--from-lineage` not older than the new archive, `--target-immediate`
//!   without `--backup-id`, a recovery naming no database/owner);
//! * every file reads back as the expected documents: the intended fields
//!   changed, to the intended values, nothing else;
//! * byte for byte: every line the plan replaces in place (serverName,
//!   barmanObjectName, database, owner, the flag lines) reads exactly as
//!   the same line with the new value (quoting, comments — whose `vN`
//!   follows the lockstep — and trailing whitespace kept); every other
//!   original line is kept, in order, except the lines of blocks the plan
//!   replaces (`initdb`, a stale `recoveryTarget`, a flow map it inserts
//!   into); inserted lines are content (never blank or comment-only), and
//!   only in files where something must be inserted; a CRLF file gains no
//!   bare LF;
//! * planning the written tree again moves to the NEXT lineage.
#![no_main]

use std::path::PathBuf;

use cnpg_guard_host::manifests::parse_documents;
use cnpg_plan::plan::layout::InputFile;
use cnpg_plan::plan::{Layout, PlanInput, Tree, plan_tree, restore_from_flags, target_from_flags};
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

const PLUGIN: &str = "barman-cloud.cloudnative-pg.io";
const CLUSTER: &str = "pg";
const DEST: &str = "s3://backups/pg";
const ENDPOINT: &str = "http://minio.minio.svc:9000";

// ---------------------------------------------------------------------------
// Choices
// ---------------------------------------------------------------------------

struct G<'a>(Unstructured<'a>);

impl G<'_> {
    fn b(&mut self) -> bool {
        self.0.arbitrary().unwrap_or(false)
    }
    fn n(&mut self, lo: u32, hi: u32) -> u32 {
        self.0.int_in_range(lo..=hi).unwrap_or(lo)
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        *self.0.choose(xs).unwrap_or(&xs[0])
    }
    fn quote(&mut self) -> Q {
        self.pick(&[Q::P, Q::P, Q::S, Q::D])
    }
    fn style(&mut self) -> St {
        St {
            ind: self.pick(&[2, 2, 4, 3]),
            seq_in: self.b() || self.b(),
            comments: self.b(),
            blank: self.b(),
            trailing: self.pick(&["", "", "", "  ", " \t", "\t"]),
            crlf: self.b() && self.b(),
            bom: self.n(0, 15) == 0,
            doc_start: self.b() && self.b(),
            end_nl: self.n(0, 7) != 0,
        }
    }
    fn comment(&mut self) -> Cmt {
        self.pick(&[Cmt::None, Cmt::None, Cmt::Plain, Cmt::Own])
    }
    /// A serverName: `<base>-vN`, an unversioned base, or not written.
    fn sn(&mut self, omit: bool) -> Option<String> {
        let base = self.pick(&["pg", "pg", "pg-main", "orders.db"]);
        match self.n(0, 11) {
            0 if omit => None,
            1 => Some(base.to_string()),
            2 => Some(format!("{base}-v{}", u32::MAX - self.n(0, 1))),
            3 => Some(format!("{base}-v0{}", self.n(1, 9))),
            _ => Some(format!("{base}-v{}", self.n(1, 60))),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Q {
    P,
    S,
    D,
}

fn q(s: &str, q: Q) -> String {
    match q {
        Q::P => s.to_string(),
        Q::S => format!("'{s}'"),
        Q::D => format!("\"{s}\""),
    }
}

#[derive(Clone, Copy, Debug)]
enum Cmt {
    None,
    /// A comment without a version token.
    Plain,
    /// A comment naming the line's own version (`vN`).
    Own,
}

/// How one file is written.
#[derive(Clone, Copy, Debug)]
struct St {
    ind: usize,
    /// Block-list items indented under their key (else at the key's column).
    seq_in: bool,
    comments: bool,
    blank: bool,
    trailing: &'static str,
    crlf: bool,
    bom: bool,
    doc_start: bool,
    /// Whether the last line ends with a line break.
    end_nl: bool,
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// Lines of one file, each marked when the plan may replace it (the lines
/// of a block it rewrites).
struct W {
    st: St,
    lines: Vec<(String, bool)>,
    /// Lines the plan writes anew (no trailing whitespace of the style).
    fresh: Vec<usize>,
}

impl W {
    fn new(st: St) -> W {
        let mut w = W {
            st,
            lines: Vec::new(),
            fresh: Vec::new(),
        };
        if st.doc_start {
            w.l(0, "---");
        }
        w
    }
    fn put(&mut self, col: usize, s: &str, edit: bool) {
        self.lines.push((format!("{}{s}", " ".repeat(col)), edit));
    }
    fn l(&mut self, col: usize, s: &str) {
        self.put(col, s, false);
    }
    fn e(&mut self, col: usize, s: &str) {
        self.put(col, s, true);
    }
    fn c(&mut self, col: usize, s: &str) {
        if self.st.comments {
            self.put(col, &format!("# {s}"), false);
        }
    }
    fn gap(&mut self) {
        if self.st.blank {
            self.lines.push((String::new(), false));
        }
    }
    /// Column of a nested map's keys.
    fn i(&self, col: usize) -> usize {
        col + self.st.ind
    }
    /// Column of the `-` of a block list under a key at `col`.
    fn dash(&self, col: usize) -> usize {
        if self.st.seq_in {
            col + self.st.ind
        } else {
            col
        }
    }
    /// The text, and per line whether the plan may replace it.
    fn finish(&self) -> (String, Vec<bool>) {
        let nl = if self.st.crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        if self.st.bom {
            text.push('\u{feff}');
        }
        let last = self.lines.len().saturating_sub(1);
        for (i, (l, _)) in self.lines.iter().enumerate() {
            text.push_str(l);
            if !self.fresh.contains(&i) {
                text.push_str(self.st.trailing);
            }
            if i < last || self.st.end_nl {
                text.push_str(nl);
            }
        }
        (text, self.lines.iter().map(|(_, e)| *e).collect())
    }
}

// ---------------------------------------------------------------------------
// The database model
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct Archive {
    /// In-tree `spec.backup.barmanObjectStore` (else the barman plugin).
    inline: bool,
    /// As written (None: not written, the Cluster's name by default).
    sn: Option<String>,
    q: Q,
    cmt: Cmt,
    flow: bool,
    sn_first: bool,
    endpoint: bool,
    creds: bool,
    wal: bool,
}

impl Archive {
    fn effective(&self) -> String {
        self.sn.clone().unwrap_or_else(|| CLUSTER.to_string())
    }
}

/// The recovery source (the recovery overlay's patch, or a single file
/// already in recovery).
#[derive(Debug)]
struct Source {
    inline: bool,
    name: &'static str,
    sn: Option<String>,
    q: Q,
    cmt: Cmt,
    flow: bool,
    store: &'static str,
    database: Option<String>,
    owner: Option<String>,
    secret: Option<String>,
    stale_target: bool,
}

#[derive(Debug)]
struct Init {
    database: Option<String>,
    owner: Option<String>,
    secret: Option<String>,
    /// `postInitSQL` (single file: goes with the initdb block).
    sql: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Entry {
    Init(usize),
    Rec(usize),
    Other(&'static str),
}

const INIT_SPELLINGS: [(&str, &str); 5] = [
    ("overlays/initdb", "overlays/initdb"),
    ("./overlays/initdb", "./overlays/initdb"),
    ("overlays/initdb/", "overlays/initdb/"),
    ("\"overlays/initdb\"", "overlays/initdb"),
    ("'./overlays/initdb/'", "./overlays/initdb/"),
];
const REC_SPELLINGS: [(&str, &str); 5] = [
    ("overlays/recovery", "overlays/recovery"),
    ("./overlays/recovery", "./overlays/recovery"),
    ("overlays/recovery/", "overlays/recovery/"),
    ("\"overlays/recovery\"", "overlays/recovery"),
    ("'./overlays/recovery/'", "./overlays/recovery/"),
];

#[derive(Debug)]
struct Flag {
    /// The root kustomization's `resources`, in order.
    entries: Vec<Entry>,
    /// The commented recovery line: `#` + spaces, column offset from the items.
    rec_hash: &'static str,
    rec_shift: i32,
    init_comment: bool,
    rec_comment: bool,
    /// `patchesStrategicMerge:` instead of `patches: - path:` in the overlays.
    psm: bool,
    /// How the recovery overlay writes its patch.
    form: Form,
    /// JSON6902: the source's serverName in an operation of its own.
    sn_op: bool,
}

#[derive(Debug, Clone, Copy)]
enum Form {
    /// A strategic-merge file, bootstrap-patch.yaml.
    File,
    /// A strategic merge inline in the overlay's kustomization (`patch: |`
    /// or `|-`), maybe after a `target:`.
    Inline(&'static str, bool),
    /// JSON6902 operations inline (`patch: |` or `|-`, after the target).
    OpsInline(&'static str),
    /// JSON6902 operations in recovery-ops.yaml.
    OpsFile,
}

#[derive(Debug)]
enum Layout_ {
    Overlays {
        flag: Flag,
        init: Init,
        source: Source,
    },
    /// One Cluster with `initdb` (or no bootstrap at all).
    SingleInit {
        init: Option<Init>,
        existing_ec: Option<&'static str>,
        other_doc: bool,
    },
    /// One Cluster already in recovery.
    SingleRec { source: Source, other_doc: bool },
}

#[derive(Debug)]
struct Model {
    namespace: bool,
    labels: bool,
    /// Single file: the archive written before the bootstrap.
    archive_first: bool,
    archive: Archive,
    layout: Layout_,
    styles: Vec<St>,
}

/// What the values read in a state of the tree (before, or the expected after).
#[derive(Debug, Clone)]
struct State {
    arch_sn: Option<String>,
    src_sn: Option<String>,
    src_store: String,
    database: Option<String>,
    owner: Option<String>,
    recovery_flag: bool,
}

/// `<base>-vN` → (`base`, N), as the core reads lineages.
fn versioned(s: &str) -> Option<(String, u32)> {
    let (base, n) = s.rsplit_once("-v")?;
    if base.is_empty() || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((base.to_string(), n.parse().ok()?))
}

/// The next lineage: `x-vN` → `x-v(N+1)`, anything else (or `N` at its
/// maximum) → `<name>-v2`.
fn next(s: &str) -> String {
    match versioned(s) {
        Some((base, n)) if n < u32::MAX => format!("{base}-v{}", n + 1),
        _ => format!("{s}-v2"),
    }
}

/// The trailing comment of a serverName line written as `old` and now
/// reading `new`: its `vN` names `new`'s version when both are versioned.
fn sn_comment(cmt: Cmt, old: Option<&str>, new: Option<&str>) -> String {
    match cmt {
        Cmt::None => String::new(),
        Cmt::Plain => "  # ← the lineage".into(),
        Cmt::Own => match (old.and_then(versioned), new.and_then(versioned)) {
            (Some((_, o)), Some((_, n))) if o != n => {
                format!("  # lineage v{n}: bump on every recovery")
            }
            (Some((_, o)), _) => format!("  # lineage v{o}: bump on every recovery"),
            _ => "  # lineage: bump on every recovery".into(),
        },
    }
}

fn gen_source(g: &mut G<'_>, archive: &Archive, single: bool) -> Source {
    let inline = if archive.inline {
        !g.b() || g.b()
    } else {
        g.b() && g.b()
    };
    let sn = match g.n(0, 5) {
        0 if !inline => None,
        1 => g.sn(false),
        // The usual: the lineage before the archive's.
        _ => match archive.sn.as_deref().and_then(versioned) {
            Some((base, n)) if n > 1 => Some(format!("{base}-v{}", n - 1)),
            _ => g.sn(false),
        },
    };
    let db = g.pick(&["app", "temporal", "orders"]);
    let database = (g.b() || g.b()).then(|| db.to_string());
    let owner = g
        .b()
        .then(|| g.pick(&["app", "temporal", "orders_owner"]).to_string());
    Source {
        inline,
        name: g.pick(&["origin", "temporal-backup", "pg-archive"]),
        sn,
        q: g.quote(),
        cmt: g.comment(),
        flow: g.b(),
        store: if !archive.inline && !inline && g.n(0, 4) == 0 {
            "old-store"
        } else {
            "store"
        },
        database: if single {
            database
        } else {
            database.filter(|_| g.b())
        },
        owner,
        secret: (g.n(0, 3) == 0).then(|| "pg-credentials".to_string()),
        stale_target: g.n(0, 3) == 0,
    }
}

fn gen_init(g: &mut G<'_>) -> Init {
    Init {
        database: g
            .b()
            .then(|| g.pick(&["temporal", "app", "orders"]).to_string()),
        owner: g
            .b()
            .then(|| g.pick(&["temporal", "orders_owner"]).to_string()),
        secret: g.b().then(|| {
            g.pick(&["temporal-db-credentials", "pg-secret"])
                .to_string()
        }),
        sql: g.b() && g.b(),
    }
}

fn generate(g: &mut G<'_>) -> Model {
    let inline = g.n(0, 3) == 0;
    let archive = Archive {
        inline,
        sn: g.sn(true),
        q: g.quote(),
        cmt: g.comment(),
        flow: g.b(),
        sn_first: g.b(),
        endpoint: g.b(),
        creds: g.b(),
        wal: g.b(),
    };
    let layout = match g.n(0, 3) {
        0 | 1 => {
            let mut entries = vec![Entry::Init(g.n(0, 4) as usize)];
            let rec_line = g.n(0, 5) != 0;
            if rec_line {
                let at = if g.b() { 1 } else { 0 };
                entries.insert(at, Entry::Rec(g.n(0, 4) as usize));
            }
            for other in ["externalsecret.yaml", "scheduled-backup.yaml"] {
                if g.b() || g.b() {
                    let at = g.n(0, entries.len() as u32) as usize;
                    entries.insert(at, Entry::Other(other));
                }
            }
            Layout_::Overlays {
                flag: Flag {
                    entries,
                    rec_hash: g.pick(&["# ", "#", "#   "]),
                    rec_shift: g.pick(&[0, 0, -1, 1, 2, 4]),
                    init_comment: g.b(),
                    rec_comment: g.b(),
                    psm: g.n(0, 3) == 0,
                    form: match g.n(0, 5) {
                        0 => Form::Inline(g.pick(&["|", "|-"]), g.b()),
                        1 => Form::OpsInline(g.pick(&["|", "|-"])),
                        2 => Form::OpsFile,
                        _ => Form::File,
                    },
                    sn_op: g.b(),
                },
                init: gen_init(g),
                source: gen_source(g, &archive, false),
            }
        }
        2 => Layout_::SingleInit {
            init: (g.n(0, 5) != 0).then(|| gen_init(g)),
            existing_ec: g.pick(&[None, None, Some("origin"), Some("legacy")]),
            other_doc: g.b(),
        },
        _ => Layout_::SingleRec {
            source: gen_source(g, &archive, true),
            other_doc: g.b(),
        },
    };
    let styles = (0..8).map(|_| g.style()).collect();
    Model {
        namespace: !g.b() || g.b(),
        labels: g.b(),
        archive_first: g.b(),
        archive,
        layout,
        styles,
    }
}

// ---------------------------------------------------------------------------
// Rendering a state of the tree
// ---------------------------------------------------------------------------

fn head(w: &mut W, m: &Model, kind: &str, api: &str) {
    w.l(0, &format!("apiVersion: {api}"));
    w.l(0, &format!("kind: {kind}"));
    w.l(0, "metadata:");
    let c = w.i(0);
    w.l(c, &format!("name: {CLUSTER}"));
    if m.namespace {
        w.l(c, "namespace: db");
    }
}

fn archive_block(w: &mut W, a: &Archive, s: &State) {
    let c1 = w.i(0);
    let sn_line = |w: &mut W, col: usize| {
        if let Some(sn) = &s.arch_sn {
            let cm = sn_comment(a.cmt, a.sn.as_deref(), Some(sn));
            w.l(col, &format!("serverName: {}{cm}", q(sn, a.q)));
        }
    };
    if a.inline {
        w.l(c1, "backup:");
        let c2 = w.i(c1);
        w.l(c2, "retentionPolicy: 30d");
        w.l(c2, "barmanObjectStore:");
        let c3 = w.i(c2);
        if a.sn_first {
            sn_line(w, c3);
        }
        w.l(c3, &format!("destinationPath: {DEST}"));
        if a.endpoint {
            w.l(c3, &format!("endpointURL: {}", q(ENDPOINT, Q::D)));
        }
        if a.creds {
            w.l(c3, "s3Credentials:");
            let c4 = w.i(c3);
            w.l(c4, "accessKeyId: {name: creds, key: ACCESS_KEY_ID}");
            w.l(c4, "secretAccessKey:");
            w.l(w.i(c4), "name: creds");
            w.l(w.i(c4), "key: ACCESS_SECRET_KEY");
        }
        if a.wal {
            w.c(c3, "WAL settings are not copied to a recovery source");
            w.l(c3, "wal:");
            w.l(w.i(c3), "compression: gzip");
        }
        if !a.sn_first {
            sn_line(w, c3);
        }
        return;
    }
    w.c(c1, "Barman Cloud plugin: continuous WAL + base backups.");
    w.l(c1, "plugins:");
    let d = w.dash(c1);
    let c = d + 2;
    w.l(d, &format!("- name: {PLUGIN}"));
    w.l(c, "isWALArchiver: true");
    if a.flow {
        let store = "barmanObjectName: store";
        match &s.arch_sn {
            Some(sn) => {
                let sn_kv = format!("serverName: {}", q(sn, a.q));
                let (x, y) = if a.sn_first {
                    (sn_kv, store.to_string())
                } else {
                    (store.to_string(), sn_kv)
                };
                let cm = sn_comment(a.cmt, a.sn.as_deref(), Some(sn));
                // A serverName the plan inserts rewrites this line.
                let line = format!("parameters: {{{x}, {y}}}{cm}");
                w.put(c, &line, a.sn.is_none());
            }
            None => w.e(c, &format!("parameters: {{{store}}}")),
        }
    } else {
        w.l(c, "parameters:");
        let c2 = w.i(c);
        if a.sn_first {
            sn_line(w, c2);
        }
        w.c(c2, "the ObjectStore in this namespace");
        w.l(c2, "barmanObjectName: store");
        if !a.sn_first {
            sn_line(w, c2);
        }
    }
}

/// `spec.bootstrap.recovery` and the `externalClusters` entry it names.
fn recovery_blocks(w: &mut W, src: &Source, a: &Archive, s: &State, extra_ec: Option<&str>) {
    let c1 = w.i(0);
    w.l(c1, "bootstrap:");
    let c2 = w.i(c1);
    w.l(c2, "recovery:");
    recovery_keys(w, w.i(c2), src, s);
    w.gap();
    w.l(c1, "externalClusters:");
    let d = w.dash(c1);
    if let Some(n) = extra_ec {
        w.l(d, &format!("- name: {n}"));
        w.l(
            d + 2,
            "connectionParameters: {host: old-db, dbname: postgres}",
        );
    }
    source_entry(w, d, src, a, s, true);
}

/// The keys of the recovery block, at `col`.
fn recovery_keys(w: &mut W, col: usize, src: &Source, s: &State) {
    w.l(col, &format!("source: {}", src.name));
    w.c(col, "the newest backup of the lineage, replayed to the end");
    if let Some(db) = &s.database {
        w.l(col, &format!("database: {db}"));
    }
    if let Some(o) = &s.owner {
        w.l(col, &format!("owner: {o}"));
    }
    if let Some(sec) = &src.secret {
        w.l(col, "secret:");
        w.l(w.i(col), &format!("name: {sec}"));
    }
    if src.stale_target {
        w.e(col, "recoveryTarget:");
        w.e(w.i(col), "targetTime: \"2020-01-01 00:00:00\"");
    }
}

/// The recovery source's `externalClusters` item, its `-` at `d` (its
/// serverName in it unless `with_sn` is false: a JSON6902 operation of its
/// own writes it).
fn source_entry(w: &mut W, d: usize, src: &Source, a: &Archive, s: &State, with_sn: bool) {
    let c = d + 2;
    w.l(d, &format!("- name: {}", src.name));
    let sn = s.src_sn.as_ref().filter(|_| with_sn);
    let sn_kv = |sn: &str| format!("serverName: {}", q(sn, src.q));
    let cm = sn_comment(src.cmt, src.sn.as_deref(), s.src_sn.as_deref());
    if src.inline {
        w.l(c, "barmanObjectStore:");
        let c2 = w.i(c);
        w.l(c2, &format!("destinationPath: {DEST}"));
        if a.endpoint || !a.inline {
            w.l(c2, &format!("endpointURL: {}", q(ENDPOINT, Q::D)));
        }
        if let Some(sn) = sn {
            w.l(c2, &format!("{}{cm}", sn_kv(sn)));
        }
        return;
    }
    w.c(c, "reads the archive of the previous lineage");
    w.l(c, "plugin:");
    let c2 = w.i(c);
    w.l(c2, &format!("name: {PLUGIN}"));
    let store = format!("barmanObjectName: {}", s.src_store);
    if src.flow {
        match sn {
            Some(sn) => {
                let line = format!("parameters: {{{store}, {}}}{cm}", sn_kv(sn));
                w.put(c2, &line, src.sn.is_none());
            }
            // Rewritten when the plan inserts the serverName here.
            None => w.put(c2, &format!("parameters: {{{store}}}"), src.sn.is_none()),
        }
    } else {
        w.l(c2, "parameters:");
        let c3 = w.i(c2);
        w.l(c3, &store);
        if let Some(sn) = sn {
            w.l(c3, &format!("{}{cm}", sn_kv(sn)));
        }
    }
}

/// The recovery patch as JSON6902 operations, a list at `d`.
fn ops(w: &mut W, d: usize, src: &Source, a: &Archive, s: &State, sn_op: bool) {
    let c = d + 2;
    w.l(d, "- op: add");
    w.l(c, "path: /spec/bootstrap");
    w.l(c, "value:");
    w.l(w.i(c), "recovery:");
    recovery_keys(w, w.i(w.i(c)), src, s);
    w.l(d, "- op: add");
    w.l(c, "path: /spec/externalClusters");
    w.l(c, "value:");
    source_entry(w, w.dash(c), src, a, s, !sn_op);
    if let (true, Some(sn)) = (sn_op, &s.src_sn) {
        let form = if src.inline {
            "barmanObjectStore"
        } else {
            "plugin/parameters"
        };
        let cm = sn_comment(src.cmt, src.sn.as_deref(), Some(sn));
        w.l(d, "- op: add");
        w.l(
            c,
            &format!("path: /spec/externalClusters/0/{form}/serverName"),
        );
        w.l(c, &format!("value: {}{cm}", q(sn, src.q)));
    }
}

/// What JSON6902 `add` operations mean, applied to an empty Cluster.
fn ops_meaning(ops: &Value) -> Value {
    let mut doc = json!({"spec": {}});
    for op in ops.as_array().unwrap() {
        assert_eq!(op["op"], "add", "{op}");
        let path = op["path"].as_str().unwrap();
        let (parent, key) = path.rsplit_once('/').unwrap();
        match doc.pointer_mut(parent).unwrap() {
            Value::Object(m) => drop(m.insert(key.to_string(), op["value"].clone())),
            Value::Array(a) => a.insert(key.parse().unwrap(), op["value"].clone()),
            other => panic!("{path}: {other}"),
        }
    }
    doc
}

fn init_block(w: &mut W, init: &Init, col: usize) {
    let fields =
        init.database.is_some() || init.owner.is_some() || init.secret.is_some() || init.sql;
    if !fields {
        w.e(col, "initdb: {}");
        return;
    }
    w.e(col, "initdb:");
    let c = w.i(col);
    if let Some(d) = &init.database {
        w.e(c, &format!("database: {d}"));
    }
    if let Some(o) = &init.owner {
        w.e(c, &format!("owner: {o}"));
    }
    if let Some(s) = &init.secret {
        w.e(c, "secret:");
        w.e(w.i(c), &format!("name: {s}"));
    }
    if init.sql {
        w.e(c, "postInitSQL:");
        w.e(
            w.dash(c),
            "- CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
        );
    }
}

/// The Cluster manifest (the overlays' base, or the single file).
fn cluster(w: &mut W, m: &Model, s: &State) {
    if w.st.comments {
        w.l(0, "# The database.");
    }
    head(w, m, "Cluster", "postgresql.cnpg.io/v1");
    if m.labels {
        w.l(w.i(0), "labels:");
        w.l(w.i(w.i(0)), "app.kubernetes.io/name: pg  # owner v16");
    }
    w.l(0, "spec:");
    let c1 = w.i(0);
    w.l(c1, "instances: 3");
    w.l(
        c1,
        "imageName: ghcr.io/cloudnative-pg/postgresql:16.4  # postgres v16",
    );
    w.l(c1, "storage: {size: 10Gi, storageClass: \"longhorn\"}");
    w.gap();
    match &m.layout {
        Layout_::SingleInit {
            init, existing_ec, ..
        } => {
            if m.archive_first {
                archive_block(w, &m.archive, s);
            }
            if let Some(init) = init {
                w.l(c1, "bootstrap:");
                init_block(w, init, w.i(c1));
            }
            if !m.archive_first {
                archive_block(w, &m.archive, s);
            }
            if let Some(n) = existing_ec {
                w.l(c1, "externalClusters:");
                let d = w.dash(c1);
                w.l(d, &format!("- name: {n}"));
                w.l(
                    d + 2,
                    "connectionParameters: {host: old-db, dbname: postgres}",
                );
            }
        }
        Layout_::SingleRec { source, .. } => {
            if m.archive_first {
                archive_block(w, &m.archive, s);
                w.gap();
            }
            recovery_blocks(w, source, &m.archive, s, None);
            if !m.archive_first {
                w.gap();
                archive_block(w, &m.archive, s);
            }
        }
        Layout_::Overlays { .. } => archive_block(w, &m.archive, s),
    }
    w.gap();
    w.l(c1, "resources:");
    w.l(w.i(c1), "requests: { memory: \"512Mi\", cpu: \"100m\" }");
}

fn scheduled_backup(w: &mut W, m: &Model) {
    head(w, m, "ScheduledBackup", "postgresql.cnpg.io/v1");
    w.l(0, "spec:");
    let c = w.i(0);
    w.l(
        c,
        "schedule: \"0 0 3 * * *\"  # 6 fields: daily 03:00, not v2",
    );
    w.l(c, "cluster:");
    w.l(w.i(c), &format!("name: {CLUSTER}"));
    w.l(c, "method: plugin");
    w.l(c, &format!("pluginConfiguration: {{name: {PLUGIN}}}"));
}

fn kustomization(w: &mut W, resources: &[&str], patch: Option<bool>) {
    w.l(0, "apiVersion: kustomize.config.k8s.io/v1beta1");
    w.l(0, "kind: Kustomization");
    w.l(0, "resources:");
    let d = w.dash(0);
    for r in resources {
        w.l(d, &format!("- {r}"));
    }
    match patch {
        Some(true) => {
            w.l(0, "patchesStrategicMerge:");
            w.l(d, "- bootstrap-patch.yaml");
        }
        Some(false) => {
            w.l(0, "patches:");
            w.l(d, "- path: bootstrap-patch.yaml");
        }
        None => {}
    }
}

fn root_kustomization(w: &mut W, flag: &Flag, recovery: bool) {
    if w.st.comments {
        w.l(0, "# db database: CNPG Cluster + backups.");
    }
    w.l(0, "apiVersion: kustomize.config.k8s.io/v1beta1");
    w.l(0, "kind: Kustomization");
    w.gap();
    w.l(0, "resources:");
    let d = w.dash(0);
    let init_cm = if flag.init_comment {
        "       # ← ACTIVE: normal operation"
    } else {
        ""
    };
    let rec_cm = if flag.rec_comment {
        "   # ← swap here for disaster recovery"
    } else {
        ""
    };
    let has_rec_line = flag.entries.iter().any(|e| matches!(e, Entry::Rec(_)));
    for e in &flag.entries {
        match *e {
            Entry::Init(i) => {
                let item = INIT_SPELLINGS[i].0;
                if recovery {
                    w.l(d, &format!("# - {item}{init_cm}"));
                    if !has_rec_line {
                        w.fresh.push(w.lines.len());
                        w.l(d, "- overlays/recovery");
                    }
                } else {
                    w.l(d, &format!("- {item}{init_cm}"));
                }
            }
            Entry::Rec(i) => {
                let item = REC_SPELLINGS[i].0;
                if recovery {
                    w.l(d, &format!("- {item}{rec_cm}"));
                } else {
                    let col = (d as i32 + flag.rec_shift).max(0) as usize;
                    w.l(col, &format!("{}- {item}{rec_cm}", flag.rec_hash));
                }
            }
            Entry::Other(f) => w.l(d, &format!("- {f}")),
        }
    }
}

fn objectstore(w: &mut W, m: &Model) {
    w.l(0, "apiVersion: barmancloud.cnpg.io/v1");
    w.l(0, "kind: ObjectStore");
    w.l(0, "metadata:");
    w.l(w.i(0), "name: store");
    if m.namespace {
        w.l(w.i(0), "namespace: db");
    }
    w.l(0, "spec:");
    let c = w.i(0);
    w.l(c, "retentionPolicy: \"14d\"");
    w.l(c, "configuration:");
    w.c(
        w.i(c),
        "PARENT prefix only: barman appends the serverName (v1, v2, ...)",
    );
    w.l(w.i(c), &format!("destinationPath: \"{DEST}\""));
}

/// One file of a rendered state: display path, text, per-line "may be replaced".
struct File {
    display: &'static str,
    text: String,
    edit: Vec<bool>,
    /// Whether the plan may insert lines here.
    inserts: bool,
}

fn render(m: &Model, s: &State) -> Vec<File> {
    let mut files = Vec::new();
    let mut add = |display: &'static str, st: St, inserts: bool, f: &dyn Fn(&mut W)| {
        let mut w = W::new(st);
        f(&mut w);
        let (text, edit) = w.finish();
        files.push(File {
            display,
            text,
            edit,
            inserts,
        });
    };
    let st = |i: usize| m.styles[i % m.styles.len()];
    match &m.layout {
        Layout_::Overlays { flag, init, source } => {
            add("kustomization.yaml", st(0), false, &|w| {
                root_kustomization(w, flag, s.recovery_flag)
            });
            add("base/cluster.yaml", st(1), m.archive.sn.is_none(), &|w| {
                cluster(w, m, s)
            });
            add("base/kustomization.yaml", st(2), false, &|w| {
                kustomization(w, &["cluster.yaml", "objectstore.yaml"], None)
            });
            add("base/objectstore.yaml", st(3), false, &|w| {
                objectstore(w, m)
            });
            add("scheduled-backup.yaml", st(4), false, &|w| {
                scheduled_backup(w, m)
            });
            add("overlays/initdb/kustomization.yaml", st(5), false, &|w| {
                kustomization(w, &["../../base"], Some(flag.psm))
            });
            add("overlays/initdb/bootstrap-patch.yaml", st(6), false, &|w| {
                if w.st.comments {
                    w.l(0, "# Fresh cluster: initdb.");
                }
                head(w, m, "Cluster", "postgresql.cnpg.io/v1");
                w.l(0, "spec:");
                w.l(w.i(0), "bootstrap:");
                init_block(w, init, w.i(w.i(0)));
            });
            let patch = |w: &mut W| {
                if w.st.comments {
                    w.l(0, "# Disaster recovery: restore FROM the previous lineage.");
                }
                head(w, m, "Cluster", "postgresql.cnpg.io/v1");
                w.l(0, "spec:");
                recovery_blocks(w, source, &m.archive, s, None);
            };
            let ops_patch = |w: &mut W| {
                w.c(0, "Disaster recovery as JSON6902 operations.");
                ops(w, w.dash(0), source, &m.archive, s, flag.sn_op)
            };
            let target_lines = |w: &mut W, d: usize| {
                w.l(d + 2, "target:");
                w.l(w.i(d + 2), "kind: Cluster");
                w.l(w.i(d + 2), &format!("name: {CLUSTER}"));
            };
            match flag.form {
                Form::File => {
                    add("overlays/recovery/kustomization.yaml", st(7), false, &|w| {
                        kustomization(w, &["../../base"], Some(flag.psm))
                    });
                    add(
                        "overlays/recovery/bootstrap-patch.yaml",
                        st(8),
                        true,
                        &patch,
                    );
                }
                Form::OpsFile => {
                    add("overlays/recovery/kustomization.yaml", st(7), false, &|w| {
                        kustomization(w, &["../../base"], None);
                        w.l(0, "patches:");
                        let d = w.dash(0);
                        w.l(d, "- path: recovery-ops.yaml");
                        target_lines(w, d);
                    });
                    add(
                        "overlays/recovery/recovery-ops.yaml",
                        st(8),
                        true,
                        &ops_patch,
                    );
                }
                Form::Inline(header, _) | Form::OpsInline(header) => {
                    let json6902 = matches!(flag.form, Form::OpsInline(_));
                    let target = matches!(flag.form, Form::Inline(_, true)) || json6902;
                    // A tab cannot end a line of a block scalar's indentation.
                    let mut outer = st(7);
                    if outer.trailing.contains('\t') {
                        outer.trailing = "  ";
                    }
                    add("overlays/recovery/kustomization.yaml", outer, true, &|w| {
                        kustomization(w, &["../../base"], None);
                        w.c(0, "The recovery patch, inline.");
                        w.l(0, "patches:");
                        let d = w.dash(0);
                        let col = if target {
                            if json6902 {
                                w.l(d, "- target:");
                                w.l(w.i(d + 2), "kind: Cluster");
                                w.l(w.i(d + 2), &format!("name: {CLUSTER}"));
                            } else {
                                w.l(d, "- target: {kind: Cluster, name: pg}");
                            }
                            w.l(d + 2, &format!("patch: {header}"));
                            d + 2
                        } else {
                            w.l(d, &format!("- patch: {header}"));
                            d
                        };
                        let mut inner = W::new(St {
                            bom: false,
                            doc_start: false,
                            crlf: false,
                            trailing: "",
                            end_nl: true,
                            ..outer
                        });
                        if json6902 {
                            ops_patch(&mut inner);
                        } else {
                            patch(&mut inner);
                        }
                        for (l, edit) in inner.lines {
                            let l = if l.is_empty() {
                                l
                            } else {
                                format!("{}{l}", " ".repeat(col + 2 + w.st.ind))
                            };
                            w.lines.push((l, edit));
                        }
                    });
                }
            }
        }
        Layout_::SingleInit { other_doc, .. } | Layout_::SingleRec { other_doc, .. } => {
            let other = *other_doc;
            add("cluster.yaml", st(1), true, &|w| {
                cluster(w, m, s);
                if other {
                    w.l(0, "---");
                    scheduled_backup(w, m);
                }
            });
            add("scheduled-backup.yaml", st(4), false, &|w| {
                scheduled_backup(w, m)
            });
        }
    }
    files
}

// ---------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------

struct Flags {
    database: Option<&'static str>,
    owner: Option<&'static str>,
    from: Option<String>,
    backup_id: Option<&'static str>,
    /// 0 none, 1 time, 2 LSN, 3 immediate.
    target: u8,
}

fn gen_flags(g: &mut G<'_>, arch_eff: &str) -> Flags {
    // The archive's version (1 for an unversioned name: its next is -v2).
    let n = versioned(arch_eff).map_or(1, |(_, n)| n);
    let from = match g.n(0, 8) {
        // An older lineage (or the current one, spelled out).
        0 => Some(format!("v{}", n.saturating_sub(g.n(0, 3)).max(1))),
        // The lineage the recovery archives to, or a later one: refused.
        1 => Some(format!("v{}", n.saturating_add(g.n(1, 2)))),
        2 => Some("legacy-pg".to_string()),
        // Zero-padded, or lineage 0.
        3 => Some(format!("v0{}", n.saturating_sub(g.n(0, 1)))),
        _ => None,
    };
    Flags {
        database: (g.n(0, 4) == 0).then(|| g.pick(&["orders", "temporal"])),
        owner: (g.n(0, 4) == 0).then(|| g.pick(&["orders_owner", "app"])),
        from,
        backup_id: g.b().then_some("20260501T030000"),
        target: g.pick(&[0, 0, 0, 1, 2, 3]),
    }
}

fn read(text: &str) -> Vec<Value> {
    parse_documents(text).unwrap_or_else(|e| panic!("does not read: {e}\n{text}"))
}

fn set(v: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    if v.pointer(parent).and_then(Value::as_object).is_none() {
        panic!("{parent} is not a map in {v}");
    }
    if let Some(p) = v.pointer_mut(parent).and_then(Value::as_object_mut) {
        p.insert(key.to_string(), value);
    }
}

fn remove(v: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    if let Some(p) = v.pointer_mut(parent).and_then(Value::as_object_mut) {
        p.remove(key);
    }
}

/// Lines without their line breaks (checked apart: a line the plan
/// appends to a file without a final line break brings its own).
fn lines(t: &str) -> Vec<&str> {
    t.split_inclusive('\n')
        .map(|l| {
            l.strip_suffix('\n')
                .map_or(l, |l| l.strip_suffix('\r').unwrap_or(l))
        })
        .collect()
}

/// `after` against the expected text `want` (`edit`: which of `want`'s lines
/// the plan may replace): every other line of `want` is in `after`, in
/// order; `after`'s other lines are content, and only where inserts are allowed.
fn same_bytes(display: &str, before: &str, want: &str, edit: &[bool], inserts: bool, after: &str) {
    let (a, b) = (lines(want), lines(after));
    // LCS table.
    let mut t = vec![vec![0u16; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            t[i][j] = if a[i] == b[j] {
                t[i + 1][j + 1] + 1
            } else {
                t[i + 1][j].max(t[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let fail = |why: String| -> ! {
        panic!(
            "{display}: {why}\n--- before\n{before}\n--- expected (exact lines)\n{want}\n--- after\n{after}"
        )
    };
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || t[i][j + 1] >= t[i + 1][j]) {
            let l = b[j].trim();
            if !inserts {
                fail(format!("line {} inserted: {:?}", j + 1, b[j]));
            }
            if l.is_empty() || l.starts_with('#') {
                fail(format!(
                    "blank or comment line {} inserted: {:?}",
                    j + 1,
                    b[j]
                ));
            }
            j += 1;
        } else {
            if !edit.get(i).copied().unwrap_or(false) {
                fail(format!(
                    "line {} of the expected text is not kept: {:?}",
                    i + 1,
                    a[i]
                ));
            }
            i += 1;
        }
    }
    if before.contains("\r\n") && after.replace("\r\n", "").contains('\n') {
        fail("a bare LF in a CRLF file".into());
    }
    if !before.contains('\r') && after.contains('\r') {
        fail("a CR in an LF file".into());
    }
    if before.starts_with('\u{feff}') != after.starts_with('\u{feff}') {
        fail("the BOM changed".into());
    }
}

type Files = Vec<(String, String)>;

fn tree(files: &Files, single: bool) -> Tree {
    let f = |d: &str, text: &str| InputFile {
        path: PathBuf::from("/repo/db").join(d),
        display: d.to_string(),
        text: text.to_string(),
    };
    let find = |d: &str| {
        files
            .iter()
            .find(|(n, _)| *n == d)
            .map(|(n, t)| f(n, t))
            .unwrap()
    };
    let under = |p: &str| -> Vec<InputFile> {
        files
            .iter()
            .filter(|(n, _)| n.starts_with(p))
            .map(|(n, t)| f(n, t))
            .collect()
    };
    let layout = if single {
        Layout::SingleFile {
            files: files.iter().map(|(n, t)| f(n, t)).collect(),
        }
    } else {
        Layout::Overlays {
            kustomization: find("kustomization.yaml"),
            base: files
                .iter()
                .filter(|(n, _)| !n.starts_with("overlays/") && *n != "kustomization.yaml")
                .map(|(n, t)| f(n, t))
                .collect(),
            recovery: under("overlays/recovery/"),
            initdb: under("overlays/initdb/"),
        }
    };
    Tree {
        dir: "/repo/db".into(),
        database: "db".into(),
        layout,
    }
}

/// Applies a plan: every file's text afterwards.
fn apply(before: &Files, plan: &cnpg_plan::plan::Plan) -> Files {
    for c in &plan.changes {
        assert!(
            before.iter().any(|(d, _)| *d == c.display),
            "the plan changes a file that is not in the tree: {}",
            c.display
        );
    }
    before
        .iter()
        .map(
            |(d, t)| match plan.changes.iter().find(|c| c.display == *d) {
                Some(c) => {
                    assert_eq!(&c.original, t, "{d}: the plan's original text");
                    (
                        d.clone(),
                        c.new_text().unwrap_or_else(|e| panic!("{d}: {e}")),
                    )
                }
                None => (d.clone(), t.clone()),
            },
        )
        .collect()
}

fn run(data: &[u8]) {
    let mut g = G(Unstructured::new(data));
    let m = generate(&mut g);
    let single = !matches!(m.layout, Layout_::Overlays { .. });
    let arch_eff = m.archive.effective();
    let fl = gen_flags(&mut g, &arch_eff);

    // The flags, as the CLI validates them.
    let target = target_from_flags(
        (fl.target == 1).then_some("2026-05-08T20:49:00Z"),
        (fl.target == 2).then_some("0/3000060"),
        fl.target == 3,
    )
    .unwrap();
    let restore = restore_from_flags(fl.from.as_deref(), fl.backup_id, target);
    if fl.target == 3 && fl.backup_id.is_none() {
        assert!(
            restore.is_err(),
            "--target-immediate without --backup-id is refused"
        );
        return;
    }
    let restore = restore.unwrap();
    let input = PlanInput {
        database: fl.database.map(str::to_string),
        owner: fl.owner.map(str::to_string),
        restore,
    };

    // The states before and (expected) after.
    let source = match &m.layout {
        Layout_::Overlays { source, .. } | Layout_::SingleRec { source, .. } => Some(source),
        Layout_::SingleInit { .. } => None,
    };
    let before_state = State {
        arch_sn: m.archive.sn.clone(),
        src_sn: source.and_then(|s| s.sn.clone()),
        src_store: source.map_or("store", |s| s.store).to_string(),
        database: source.and_then(|s| s.database.clone()),
        owner: source.and_then(|s| s.owner.clone()),
        recovery_flag: false,
    };
    let to = next(&arch_eff);
    // The lineage restored.
    let from = match fl.from.as_deref() {
        None => Ok(arch_eff.clone()),
        Some(chosen) => {
            let number = chosen.strip_prefix('v').unwrap_or(chosen);
            let name = if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) {
                match versioned(&arch_eff) {
                    // The current lineage as it is written (`pg-v05` for `v5`).
                    Some((_, n)) if number.parse::<u32>().ok() == Some(n) => arch_eff.clone(),
                    v => {
                        let base = v.map_or_else(|| arch_eff.clone(), |(b, _)| b);
                        let n: u32 = number.parse().unwrap();
                        format!("{base}-v{n}")
                    }
                }
            } else {
                chosen.to_string()
            };
            let older = match (versioned(&name), versioned(&to)) {
                (Some((b, n)), Some((tb, tn))) => b != tb || n < tn,
                _ => true,
            };
            if name == to || !older {
                Err(name)
            } else {
                Ok(name)
            }
        }
    };
    // The identity the recovery names.
    let init = match &m.layout {
        Layout_::Overlays { init, .. } => Some(init),
        Layout_::SingleInit { init, .. } => init.as_ref(),
        Layout_::SingleRec { .. } => None,
    };
    let init_db = init
        .and_then(|i| i.database.clone())
        .unwrap_or_else(|| "app".into());
    let init_owner = init
        .and_then(|i| i.owner.clone())
        .unwrap_or_else(|| init_db.clone());
    let has_init = !matches!(m.layout, Layout_::SingleRec { .. });
    let (want_db, want_owner) = match &m.layout {
        Layout_::SingleInit { .. } => {
            let db = fl.database.map_or(init_db.clone(), str::to_string);
            let owner = fl
                .owner
                .map(str::to_string)
                .or(init.and_then(|i| i.owner.clone()))
                .unwrap_or_else(|| db.clone());
            (Some(db), Some(owner))
        }
        _ => {
            let s = source.unwrap();
            let db = fl
                .database
                .map(str::to_string)
                .or(s.database.clone())
                .or(has_init.then(|| init_db.clone()));
            let owner = fl
                .owner
                .map(str::to_string)
                .or(s.owner.clone())
                .or(has_init.then(|| init_owner.clone()))
                .or(fl.database.map(str::to_string));
            (db, owner)
        }
    };

    let before = render(&m, &before_state);
    let texts: Files = before
        .iter()
        .map(|f| (f.display.to_string(), f.text.clone()))
        .collect();
    // PLANNER_DUMP=<dir>: write the generated tree there (to turn a finding
    // into a fixture), with the flags in <dir>/FLAGS.
    if let Some(dir) = std::env::var_os("PLANNER_DUMP") {
        let dir = PathBuf::from(dir);
        for (d, t) in &texts {
            let p = dir.join(d);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, t).unwrap();
        }
        std::fs::write(dir.join("FLAGS"), format!("{input:?}\n")).unwrap();
    }
    let result = plan_tree(&tree(&texts, single), &input);
    let from = match from {
        Err(name) => {
            assert!(
                result.is_err(),
                "--from-lineage {name} is not older than {to} yet planned"
            );
            return;
        }
        Ok(f) => f,
    };
    if want_db.is_none() || want_owner.is_none() {
        let e = result
            .err()
            .expect("a recovery naming no database/owner is refused");
        assert!(
            e.to_string().contains("database and owner are not set"),
            "{e}"
        );
        return;
    }
    let plan = result.unwrap_or_else(|e| {
        let all: String = texts.iter().map(|(d, t)| format!("=== {d}\n{t}")).collect();
        panic!("refused: {e}\n{all}")
    });
    assert_eq!(plan.to, to);
    assert_eq!(plan.from.server_name, from);
    assert_eq!(plan.current.server_name, arch_eff);

    // The expected after state: exact lines, then expected values.
    let src_store_after = match source {
        Some(s) if !s.inline && !m.archive.inline => "store".to_string(),
        Some(s) => s.store.to_string(),
        None => "store".into(),
    };
    let after_state = State {
        arch_sn: Some(to.clone()).filter(|_| m.archive.sn.is_some()),
        src_sn: source.and_then(|s| s.sn.as_ref()).map(|_| from.clone()),
        src_store: src_store_after.clone(),
        database: before_state.database.as_ref().and(want_db.clone()),
        owner: before_state.owner.as_ref().and(want_owner.clone()),
        recovery_flag: true,
    };
    let want = render(&m, &after_state);
    let after = apply(&texts, &plan);
    let target_value = {
        let mut t = Map::new();
        if let Some(id) = fl.backup_id {
            t.insert("backupID".into(), json!(id));
        }
        match fl.target {
            1 => drop(t.insert("targetTime".into(), json!("2026-05-08T20:49:00Z"))),
            2 => drop(t.insert("targetLSN".into(), json!("0/3000060"))),
            3 => drop(t.insert("targetImmediate".into(), json!(true))),
            _ => {}
        }
        (!t.is_empty()).then_some(Value::Object(t))
    };
    let archive_ptr = if m.archive.inline {
        "/spec/backup/barmanObjectStore/serverName"
    } else {
        "/spec/plugins/0/parameters/serverName"
    };
    // The recovery document afterwards: source at the restored lineage, on
    // the archive's store; database, owner, secret and target as planned.
    let point_source = |doc: &mut Value| {
        let rec = "/spec/bootstrap/recovery";
        let s = source.unwrap();
        let form = if s.inline {
            "barmanObjectStore"
        } else {
            "plugin/parameters"
        };
        set(
            doc,
            &format!("/spec/externalClusters/0/{form}/serverName"),
            json!(from),
        );
        if !s.inline {
            set(
                doc,
                "/spec/externalClusters/0/plugin/parameters/barmanObjectName",
                json!(src_store_after),
            );
        }
        set(doc, &format!("{rec}/database"), json!(want_db));
        set(doc, &format!("{rec}/owner"), json!(want_owner));
        if let (Some(sec), None) = (init.and_then(|i| i.secret.as_ref()), &s.secret) {
            set(doc, &format!("{rec}/secret"), json!({"name": sec}));
        }
        match &target_value {
            Some(t) => set(doc, &format!("{rec}/recoveryTarget"), t.clone()),
            None => remove(doc, &format!("{rec}/recoveryTarget")),
        }
    };
    let form = match &m.layout {
        Layout_::Overlays { flag, .. } => Some(flag.form),
        _ => None,
    };
    let inline_patch = matches!(form, Some(Form::Inline(..) | Form::OpsInline(_)));
    let json6902 = matches!(form, Some(Form::OpsInline(_) | Form::OpsFile));
    // JSON6902 operations: the same operations (op, path), meaning the
    // recovery document as planned.
    let check_ops = |display: &str, before: &Value, after: &Value, atext: &str| {
        let shape = |v: &Value| -> Vec<(Value, Value)> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|o| (o["op"].clone(), o["path"].clone()))
                .collect()
        };
        assert_eq!(
            shape(before),
            shape(after),
            "{display}: the operations\n{atext}"
        );
        let mut want = ops_meaning(before);
        point_source(&mut want);
        let got = ops_meaning(after);
        assert!(
            got == want,
            "{display}: the operations mean\n{}\nexpected\n{}\n--- after\n{atext}",
            serde_json::to_string_pretty(&got).unwrap(),
            serde_json::to_string_pretty(&want).unwrap()
        );
    };
    for (((display, btext), (_, atext)), w) in texts.iter().zip(&after).zip(&want) {
        same_bytes(display, btext, &w.text, &w.edit, w.inserts, atext);
        // Values.
        let mut expect = read(btext);
        match display.as_str() {
            "kustomization.yaml" => {
                let Layout_::Overlays { flag, .. } = &m.layout else {
                    unreachable!()
                };
                let has_rec_line = flag.entries.iter().any(|e| matches!(e, Entry::Rec(_)));
                let mut list = Vec::new();
                for e in &flag.entries {
                    match *e {
                        Entry::Init(_) if !has_rec_line => list.push(json!("overlays/recovery")),
                        Entry::Init(_) => {}
                        Entry::Rec(i) => list.push(json!(REC_SPELLINGS[i].1)),
                        Entry::Other(f) => list.push(json!(f)),
                    }
                }
                set(&mut expect[0], "/resources", Value::Array(list));
            }
            "base/cluster.yaml" => set(&mut expect[0], archive_ptr, json!(to)),
            "overlays/recovery/bootstrap-patch.yaml" | "cluster.yaml" => {
                let doc = &mut expect[0];
                if display == "cluster.yaml" {
                    set(doc, archive_ptr, json!(to));
                }
                if let Layout_::SingleInit {
                    init, existing_ec, ..
                } = &m.layout
                {
                    let ec_name = if *existing_ec == Some("origin") {
                        "pg-archive"
                    } else {
                        "origin"
                    };
                    let mut r = Map::new();
                    r.insert("source".into(), json!(ec_name));
                    r.insert("database".into(), json!(want_db));
                    r.insert("owner".into(), json!(want_owner));
                    if let Some(s) = init.as_ref().and_then(|i| i.secret.as_ref()) {
                        r.insert("secret".into(), json!({"name": s}));
                    }
                    if let Some(t) = &target_value {
                        r.insert("recoveryTarget".into(), t.clone());
                    }
                    set(doc, "/spec/bootstrap", json!({"recovery": r}));
                    let entry = if m.archive.inline {
                        let arch = doc
                            .pointer("/spec/backup/barmanObjectStore")
                            .unwrap()
                            .clone();
                        let mut store = Map::new();
                        for k in ["destinationPath", "endpointURL", "s3Credentials"] {
                            if let Some(v) = arch.get(k) {
                                store.insert(k.into(), v.clone());
                            }
                        }
                        store.insert("serverName".into(), json!(from));
                        json!({"name": ec_name, "barmanObjectStore": store})
                    } else {
                        json!({"name": ec_name, "plugin": {"name": PLUGIN, "parameters": {"barmanObjectName": "store", "serverName": from}}})
                    };
                    let mut list = doc
                        .pointer("/spec/externalClusters")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    list.push(entry);
                    set(doc, "/spec/externalClusters", Value::Array(list));
                } else {
                    point_source(doc);
                }
            }
            "overlays/recovery/recovery-ops.yaml" => {
                check_ops(display, &expect[0], &read(atext)[0], atext);
                continue;
            }
            "overlays/recovery/kustomization.yaml" if inline_patch => {
                // The patch is a string: its documents, as the planner reads them.
                let patch = "/patches/0/patch";
                let inner = |v: &Value| read(v.pointer(patch).and_then(Value::as_str).unwrap());
                let mut want_inner = inner(&expect[0]);
                let mut got = read(atext);
                let got_inner = inner(&got[0]);
                if json6902 {
                    check_ops(display, &want_inner[0], &got_inner[0], atext);
                    want_inner = got_inner.clone();
                } else {
                    point_source(&mut want_inner[0]);
                }
                assert!(
                    got_inner == want_inner,
                    "{display}: the inline patch reads back\n{}\nexpected\n{}\n--- before\n{btext}\n--- after\n{atext}",
                    serde_json::to_string_pretty(&got_inner).unwrap(),
                    serde_json::to_string_pretty(&want_inner).unwrap()
                );
                set(&mut got[0], patch, json!(""));
                set(&mut expect[0], patch, json!(""));
                assert_eq!(got, expect, "{display}: outside the patch\n{atext}");
                continue;
            }
            _ => {}
        }
        let got = read(atext);
        assert!(
            got == expect,
            "{display}: read back\n{}\nexpected\n{}\n--- before\n{btext}\n--- after\n{atext}",
            serde_json::to_string_pretty(&got).unwrap(),
            serde_json::to_string_pretty(&expect).unwrap()
        );
    }

    // Planning the written tree again moves to the NEXT lineage.
    let again_input = PlanInput {
        restore: cnpg_plan::plan::Restore {
            from_lineage: None,
            ..input.restore.clone()
        },
        ..input.clone()
    };
    let again_tree = after;
    let again = plan_tree(&tree(&again_tree, single), &again_input).unwrap_or_else(|e| {
        let all: String = again_tree
            .iter()
            .map(|(d, t)| format!("=== {d}\n{t}"))
            .collect();
        panic!("the written tree is refused: {e}\n{all}")
    });
    assert_eq!(again.current.server_name, to);
    assert_eq!(again.to, next(&to));
    assert_eq!(again.from.server_name, to);
    assert!(again.flag_was_recovery);
    let third = apply(&again_tree, &again);
    for ((d, t), (_, t2)) in third.iter().zip(&again_tree) {
        if d == "kustomization.yaml" {
            assert_eq!(t, t2, "the flag is flipped once");
        }
        if d == "base/cluster.yaml" || d == "cluster.yaml" {
            assert_eq!(
                read(t)[0].pointer(archive_ptr),
                Some(&json!(next(&to))),
                "{t}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| run(data));
