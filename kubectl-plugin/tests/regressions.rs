//! Regressions found by fuzzing (`fuzz/`, README "Hardening"). Each case
//! `test_data/regressions/planner/<case>/` is a database directory
//! (`before/`) and the files the plan writes (`after/`, byte for byte;
//! a file absent from `after/` must not change). Planned through the
//! library the binary uses, with the default flags or those in `<case>/flags`
//! (`from-lineage=...`, `database=...`, `owner=...`, one a line), then
//! planned again with the default flags: the written tree moves on to the
//! next lineage.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use cnpg_plan::plan::{PlanInput, Restore, plan_recovery};

fn flags(case: &Path) -> PlanInput {
    let mut input = PlanInput::default();
    let Ok(text) = fs::read_to_string(case.join("flags")) else {
        return input;
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (k, v) = line.split_once('=').unwrap();
        let v = Some(v.to_string());
        match k {
            "from-lineage" => {
                input.restore = Restore {
                    from_lineage: v,
                    ..input.restore
                }
            }
            "database" => input.database = v,
            "owner" => input.owner = v,
            other => panic!("{}: unknown flag {other}", case.display()),
        }
    }
    input
}

fn files(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    fs::read_to_string(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn planner_regressions_plan_exactly_the_recorded_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/regressions/planner");
    let mut cases: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases under {}", root.display());
    for case in cases {
        let before = case.join("before");
        let want = files(&case.join("after"));
        let plan = plan_recovery(&before, &flags(&case))
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let mut written = files(&before);
        for c in &plan.changes {
            let rel = c.path.strip_prefix(&before).unwrap().to_path_buf();
            let new = c.new_text().unwrap();
            assert_eq!(
                Some(&new),
                want.get(&rel),
                "{}: {} as planned",
                case.display(),
                rel.display()
            );
            written.insert(rel, new);
        }
        for rel in want.keys() {
            assert!(
                plan.changes.iter().any(|c| c.path == before.join(rel)),
                "{}: {} is not changed",
                case.display(),
                rel.display()
            );
        }
        // Planned again (on a copy holding the written files): the next lineage.
        let t = tempfile::tempdir().unwrap();
        for (rel, text) in &written {
            let p = t.path().join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        let again = plan_recovery(t.path(), &PlanInput::default())
            .unwrap_or_else(|e| panic!("{}: planned again: {e}", case.display()));
        assert_eq!(again.current.server_name, plan.to, "{}", case.display());
        assert_eq!(
            again.to,
            cnpg_guard_core::cnpg::lineage::next_server_name(&plan.to),
            "{}",
            case.display()
        );
    }
}
