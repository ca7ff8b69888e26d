//! Runs the rule families over one request and turns their hits into a
//! [`Verdict`]: levels from settings, exemptions, ordering.

use crate::input::{Lookup, LookupKind, Operation, Request};
use crate::rules::{self, CONTEXT_UNAVAILABLE};
use crate::settings::{ContextSource, Level, OnContextError, Settings};
use crate::verdict::{Exemption, Finding, ObjectRef, Severity, Verdict};
use crate::view::{Backup, Cluster, NetworkPolicy, Object, ObjectStore, ScheduledBackup};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Prefix of exemption annotations: `cnpg-guard.io/allow-<rule-id>: "<reason>"`.
pub const EXEMPTION_PREFIX: &str = "cnpg-guard.io/allow-";

/// A raw rule hit, before settings and exemptions.
#[derive(Debug)]
pub(crate) struct Hit {
    pub rule: &'static str,
    pub path: String,
    pub message: String,
    pub fix: String,
}

type Cache<K, T> = RefCell<BTreeMap<K, Option<Rc<Vec<T>>>>>;

/// Everything a rule family sees.
pub(crate) struct Cx<'a> {
    pub op: Operation,
    /// The object under review: `object`, or `old_object` on DELETE.
    pub obj: &'a Object,
    /// Effective namespace of `obj`.
    pub ns: &'a str,
    pub settings: &'a Settings,
    lookup: &'a dyn Lookup,
    stores: Cache<Option<String>, ObjectStore>,
    clusters: Cache<Option<String>, Cluster>,
    backups: Cache<String, Backup>,
    scheduled: Cache<String, ScheduledBackup>,
    network: Cache<String, NetworkPolicy>,
    errors: RefCell<Vec<String>>,
    pub hits: Vec<Hit>,
    /// JSON pointers of members a mutating rule removes.
    pub removals: Vec<String>,
}

/// Objects that can be found by name in a listing.
pub(crate) trait Named {
    fn object_name(&self) -> &str;
}

impl Named for ObjectStore {
    fn object_name(&self) -> &str {
        self.name()
    }
}
impl Named for Cluster {
    fn object_name(&self) -> &str {
        self.name()
    }
}
impl Named for Backup {
    fn object_name(&self) -> &str {
        self.name()
    }
}

impl<'a> Cx<'a> {
    /// True if the rule should be evaluated (not turned off).
    pub fn on(&self, rule: &str) -> bool {
        rules::find(rule).is_some_and(|r| self.settings.level(r) != Level::Off)
    }

    /// Level of a rule after settings.
    pub fn level(&self, rule: &str) -> Level {
        rules::find(rule).map_or(Level::Off, |r| self.settings.level(r))
    }

    /// Records a hit.
    pub fn hit(
        &mut self,
        rule: &'static str,
        path: impl Into<String>,
        message: String,
        fix: String,
    ) {
        self.hits.push(Hit {
            rule,
            path: path.into(),
            message,
            fix,
        });
    }

    fn cached<K: Ord + Clone, T>(
        &self,
        cache: &Cache<K, T>,
        key: K,
        kind: LookupKind,
        namespace: Option<&str>,
        list: impl FnOnce() -> Result<Vec<T>, String>,
    ) -> Option<Rc<Vec<T>>> {
        if let Some(hit) = cache.borrow().get(&key) {
            return hit.clone();
        }
        let result = match list() {
            Ok(items) => Some(Rc::new(items)),
            Err(e) => {
                let scope = namespace.map_or("all namespaces".to_string(), |ns| {
                    format!("namespace '{ns}'")
                });
                self.errors.borrow_mut().push(format!(
                    "listing {} in {scope} failed: {}",
                    kind.plural(),
                    first_line_bounded(&e)
                ));
                None
            }
        };
        cache.borrow_mut().insert(key, result.clone());
        result
    }

    /// ObjectStores in `ns` (all namespaces when None), once per request.
    /// None when the lookup failed (recorded as `context-unavailable`).
    pub fn object_stores(&self, ns: Option<&str>) -> Option<Rc<Vec<ObjectStore>>> {
        self.cached(
            &self.stores,
            ns.map(str::to_string),
            LookupKind::ObjectStore,
            ns,
            || self.lookup.object_stores(ns),
        )
    }

    /// Clusters in `ns` (all namespaces when None), once per request.
    pub fn clusters(&self, ns: Option<&str>) -> Option<Rc<Vec<Cluster>>> {
        self.cached(
            &self.clusters,
            ns.map(str::to_string),
            LookupKind::Cluster,
            ns,
            || self.lookup.clusters(ns),
        )
    }

    /// Backups in `ns`, once per request.
    pub fn backups(&self, ns: &str) -> Option<Rc<Vec<Backup>>> {
        self.cached(
            &self.backups,
            ns.to_string(),
            LookupKind::Backup,
            Some(ns),
            || self.lookup.backups(ns),
        )
    }

    /// ScheduledBackups in `ns`, once per request.
    pub fn scheduled_backups(&self, ns: &str) -> Option<Rc<Vec<ScheduledBackup>>> {
        self.cached(
            &self.scheduled,
            ns.to_string(),
            LookupKind::ScheduledBackup,
            Some(ns),
            || self.lookup.scheduled_backups(ns),
        )
    }

    /// NetworkPolicies in `ns`, once per request.
    pub fn network_policies(&self, ns: &str) -> Option<Rc<Vec<NetworkPolicy>>> {
        self.cached(
            &self.network,
            ns.to_string(),
            LookupKind::NetworkPolicy,
            Some(ns),
            || self.lookup.network_policies(ns),
        )
    }

    /// True when lookups come from a rendered bundle rather than the cluster.
    pub fn render_mode(&self) -> bool {
        self.settings.context_source == ContextSource::Render
    }
}

/// Longest host error text kept in a `context-unavailable` finding.
const MAX_HOST_ERROR_CHARS: usize = 150;

/// The first line of a host's error, bounded: a host may hand over a whole
/// error chain with a backtrace (policy-server does with `RUST_BACKTRACE`
/// set), and an admission warning is one line that Kubernetes may truncate.
fn first_line_bounded(e: &str) -> String {
    let line = e
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    if line.chars().count() > MAX_HOST_ERROR_CHARS {
        let cut: String = line.chars().take(MAX_HOST_ERROR_CHARS).collect();
        format!("{cut}…")
    } else {
        line.to_string()
    }
}

/// Finds an object by name in a listing (no copy).
pub(crate) fn find<T: Named>(list: Option<Rc<Vec<T>>>, name: &str) -> Found<T> {
    match list {
        None => Found::Unknown,
        Some(list) => match list.iter().position(|o| o.object_name() == name) {
            Some(index) => Found::Present(Shared { list, index }),
            None => Found::Absent,
        },
    }
}

/// An object inside a cached lookup result.
pub(crate) struct Shared<T> {
    list: Rc<Vec<T>>,
    index: usize,
}

impl<T> Shared<T> {
    /// The object. `index` came from `position` on this very list.
    pub fn get(&self) -> Option<&T> {
        self.list.get(self.index)
    }
}

/// Result of finding one object through the host.
pub(crate) enum Found<T> {
    Present(Shared<T>),
    Absent,
    /// The lookup failed.
    Unknown,
}

/// Evaluates one request. Never panics; unknown kinds are accepted untouched.
pub fn evaluate(req: &Request<'_>, settings: &Settings, lookup: &dyn Lookup) -> Verdict {
    let Some(obj) = (match req.operation {
        Operation::Delete => req.old_object,
        _ => req.object,
    }) else {
        return accept();
    };
    if req.operation == Operation::Connect {
        return accept();
    }
    let mut cx = Cx {
        op: req.operation,
        obj,
        ns: obj.meta().namespace_or(req.namespace),
        settings,
        lookup,
        stores: RefCell::default(),
        clusters: RefCell::default(),
        backups: RefCell::default(),
        scheduled: RefCell::default(),
        network: RefCell::default(),
        errors: RefCell::new(Vec::new()),
        hits: Vec::new(),
        removals: Vec::new(),
    };
    let exemptions = rules::exemptions::check(&mut cx);
    let writes = matches!(req.operation, Operation::Create | Operation::Update);
    match obj {
        Object::Cluster(c) if writes => {
            let old = req.old_object.and_then(Object::as_cluster);
            rules::bootstrap::check(&mut cx, c, old);
            rules::lineage::check(&mut cx, c, old);
            rules::object_store::check_cluster(&mut cx, c);
            rules::plugin_params::check(&mut cx, c);
            rules::hygiene::check(&mut cx, c);
            rules::labels::check_cluster(&mut cx, c);
            rules::coverage::check_cluster(&mut cx, c);
        }
        Object::ObjectStore(s) if writes => rules::coverage::check_object_store(&mut cx, s),
        Object::ObjectStore(_) if req.operation == Operation::Delete => {
            rules::object_store::check_delete(&mut cx)
        }
        Object::ScheduledBackup(b) if writes => rules::schedule::check(&mut cx, b, true),
        Object::Backup(b) if writes => rules::schedule::check(&mut cx, b, false),
        Object::PersistentVolumeClaim(_) if writes => rules::labels::check_pvc(&mut cx),
        _ => {}
    }
    finish(cx, exemptions)
}

fn accept() -> Verdict {
    Verdict {
        accepted: true,
        ..Verdict::default()
    }
}

fn finish(cx: Cx<'_>, exempt: BTreeMap<String, String>) -> Verdict {
    let object = ObjectRef::of(cx.obj, cx.ns);
    let mut findings = Vec::new();
    let mut exemptions: Vec<Exemption> = Vec::new();
    for hit in cx.hits {
        let Some(rule) = rules::find(hit.rule) else {
            continue;
        };
        let severity = match cx.settings.level(rule) {
            Level::Deny => Severity::Deny,
            Level::Warn | Level::Mutate => Severity::Warn,
            Level::Off => continue,
        };
        if rule.exemptable
            && let Some(reason) = exempt.get(rule.id)
        {
            if !exemptions.iter().any(|e| e.rule == rule.id) {
                exemptions.push(Exemption {
                    rule: rule.id.to_string(),
                    reason: reason.clone(),
                    object: object.clone(),
                });
            }
            continue;
        }
        findings.push(finding(
            &object,
            rule.id,
            severity,
            hit.path,
            hit.message,
            hit.fix,
        ));
    }
    let errors = cx.errors.into_inner();
    if !errors.is_empty() {
        let severity = match cx.settings.context_errors {
            OnContextError::Warn => Severity::Warn,
            OnContextError::Deny => Severity::Deny,
        };
        findings.push(finding(
            &object,
            CONTEXT_UNAVAILABLE,
            severity,
            "spec".to_string(),
            format!("{}; checks that need those objects were skipped", errors.join("; ")),
            "grant the policy access to ObjectStores, Clusters, Backups, ScheduledBackups and NetworkPolicies (contextAwareResources) or retry; set contextErrors: deny to fail closed".to_string(),
        ));
    }
    findings.sort_by(|a, b| {
        (b.severity, rules::order(&a.rule), &a.path).cmp(&(
            a.severity,
            rules::order(&b.rule),
            &b.path,
        ))
    });
    let accepted = findings.iter().all(|f| f.severity != Severity::Deny);
    let removals = if accepted { cx.removals } else { Vec::new() };
    // The core reads views, not the full object: the host applies
    // `removals` to the object it holds (`verdict::apply_removals`).
    Verdict {
        accepted,
        findings,
        exemptions,
        mutated_object: None,
        removals,
    }
}

fn finding(
    object: &ObjectRef,
    rule: &str,
    severity: Severity,
    path: String,
    message: String,
    fix: String,
) -> Finding {
    let mut f = Finding {
        rule: rule.to_string(),
        severity,
        object: object.clone(),
        path,
        message,
        fix,
        text: String::new(),
    };
    f.text = f.render();
    f
}
