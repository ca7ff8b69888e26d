//! Runs the rule families over one request and turns their hits into a
//! [`Verdict`]: levels from settings, exemptions, ordering.

use crate::cnpg::{self, Kind};
use crate::input::{Lookup, LookupKind, Operation, Request};
use crate::rules::{self, CONTEXT_UNAVAILABLE};
use crate::settings::{ContextSource, Level, OnContextError, Settings};
use crate::verdict::{Exemption, Finding, ObjectRef, Severity, Verdict};
use serde_json::Value;
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

type Listed = Result<Rc<Vec<Value>>, String>;

/// Everything a rule family sees.
pub(crate) struct Cx<'a> {
    pub op: Operation,
    /// The object under review: `object`, or `old_object` on DELETE.
    pub obj: &'a Value,
    pub old: Option<&'a Value>,
    /// Effective namespace of `obj`.
    pub ns: &'a str,
    pub settings: &'a Settings,
    pub kind: Option<Kind>,
    lookup: &'a dyn Lookup,
    cache: RefCell<BTreeMap<(LookupKind, Option<String>), Listed>>,
    errors: RefCell<Vec<String>>,
    pub hits: Vec<Hit>,
    /// JSON pointers of members a mutating rule removes.
    pub removals: Vec<String>,
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

    /// Lists objects through the host, once per (kind, namespace) per request.
    /// None when the lookup failed (recorded as `context-unavailable`).
    pub fn list(&self, kind: LookupKind, namespace: Option<&str>) -> Option<Rc<Vec<Value>>> {
        let key = (kind, namespace.map(str::to_string));
        if let Some(hit) = self.cache.borrow().get(&key) {
            return hit.as_ref().ok().cloned();
        }
        let result: Listed = self.lookup.list(kind, namespace).map(Rc::new);
        if let Err(e) = &result {
            let scope = namespace.map_or("all namespaces".to_string(), |ns| {
                format!("namespace '{ns}'")
            });
            self.errors
                .borrow_mut()
                .push(format!("listing {} in {scope} failed: {e}", kind.plural()));
        }
        let out = result.as_ref().ok().cloned();
        self.cache.borrow_mut().insert(key, result);
        out
    }

    /// Finds an object by namespace and name in a lookup (no copy).
    pub fn find(&self, kind: LookupKind, ns: &str, name: &str) -> Found {
        match self.list(kind, Some(ns)) {
            None => Found::Unknown,
            Some(list) => match list.iter().position(|o| cnpg::name(o) == name) {
                Some(i) => Found::Present(Shared { list, index: i }),
                None => Found::Absent,
            },
        }
    }

    /// True when lookups come from a rendered bundle rather than the cluster.
    pub fn render_mode(&self) -> bool {
        self.settings.context_source == ContextSource::Render
    }
}

/// An object inside a cached lookup result.
pub(crate) struct Shared {
    list: Rc<Vec<Value>>,
    index: usize,
}

impl std::ops::Deref for Shared {
    type Target = Value;
    fn deref(&self) -> &Value {
        // `index` came from `position` on this very list.
        self.list.get(self.index).unwrap_or(&Value::Null)
    }
}

/// Result of finding one object through the host.
pub(crate) enum Found {
    Present(Shared),
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
    let api_version = cnpg::str_at(obj, &["apiVersion"]).unwrap_or_default();
    let kind = Kind::of(
        api_version,
        cnpg::str_at(obj, &["kind"]).unwrap_or_default(),
    );
    let mut cx = Cx {
        op: req.operation,
        obj,
        old: req.old_object,
        ns: cnpg::namespace(obj, req.namespace),
        settings,
        kind,
        lookup,
        cache: RefCell::new(BTreeMap::new()),
        errors: RefCell::new(Vec::new()),
        hits: Vec::new(),
        removals: Vec::new(),
    };
    if req.operation == Operation::Connect {
        return accept();
    }
    let exemptions = rules::exemptions::check(&mut cx);
    match (kind, req.operation) {
        (Some(Kind::Cluster), Operation::Create | Operation::Update) => {
            rules::bootstrap::check(&mut cx);
            rules::lineage::check(&mut cx);
            rules::object_store::check_cluster(&mut cx);
            rules::hygiene::check(&mut cx);
            rules::labels::check(&mut cx);
        }
        (Some(Kind::ObjectStore), Operation::Delete) => rules::object_store::check_delete(&mut cx),
        (Some(Kind::ScheduledBackup | Kind::Backup), Operation::Create | Operation::Update) => {
            rules::schedule::check(&mut cx)
        }
        (Some(Kind::PersistentVolumeClaim), Operation::Create | Operation::Update) => {
            rules::labels::check(&mut cx)
        }
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
            "grant the policy access to ObjectStores, Clusters and Backups (contextAwareResources) or retry; set contextErrors: deny to fail closed".to_string(),
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
    let mutated_object = (!removals.is_empty()).then(|| {
        let mut copy = cx.obj.clone();
        crate::verdict::apply_removals(&mut copy, &removals);
        copy
    });
    Verdict {
        accepted,
        findings,
        exemptions,
        mutated_object,
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
