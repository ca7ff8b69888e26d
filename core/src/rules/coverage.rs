//! Coverage rules: a database that is quietly NOT recoverable — no base
//! backups, a retention window shorter than the backup interval, an egress
//! policy that blocks the object store, a recovered database a later prune
//! deletes, a new lineage with no base backup yet (`docs/cnpg.md` §16).

use std::collections::BTreeMap;

use super::{
    BACKUP_SCHEDULE_MISSING, EGRESS_BLOCKED, POST_RECOVERY_BACKUP_MISSING,
    PRUNE_PROTECTION_MISSING, RETENTION_POLICY,
};
use crate::cnpg::cron;
use crate::cnpg::lineage::{self, Lineage, Store};
use crate::cnpg::{BARMAN_PLUGIN, CLUSTER_LABEL};
use crate::engine::Cx;
use crate::input::Operation;
use crate::view::network::EgressRule;
use crate::view::{Cluster, ObjectStore};

/// Flux's per-object prune opt-out (kustomize-controller docs, "Prune").
const FLUX_PRUNE: &str = "kustomize.toolkit.fluxcd.io/prune";
/// Argo CD's per-object sync options (`Prune=false`, `Delete=false`).
const ARGO_SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
/// Helm keeps an object on uninstall.
const HELM_RESOURCE_POLICY: &str = "helm.sh/resource-policy";

/// Cluster rules.
pub(crate) fn check_cluster(cx: &mut Cx<'_>, cluster: &Cluster) {
    let archives = lineage::archives(cluster, cx.ns);
    if archives.is_empty() {
        return;
    }
    schedule_missing(cx, cluster, &archives);
    egress(cx, cluster, &archives);
    if cluster.recovery().is_some() && cx.render_mode() {
        prune(cx, cluster);
        post_recovery_backup(cx, cluster, &archives);
    }
}

/// The ScheduledBackups of `cluster` that are not suspended, and whether
/// any exist at all; `None` when they could not be listed.
fn schedules_of(cx: &Cx<'_>, cluster: &str) -> Option<(Vec<String>, usize)> {
    let list = cx.scheduled_backups(cx.ns)?;
    let mine: Vec<_> = list
        .iter()
        .filter(|s| s.spec().cluster() == Some(cluster))
        .collect();
    let active = mine
        .iter()
        .filter(|s| !s.spec().suspended())
        .filter_map(|s| s.spec().schedule().map(str::to_string))
        .collect();
    Some((active, mine.len()))
}

fn schedule_missing(cx: &mut Cx<'_>, cluster: &Cluster, archives: &[Lineage]) {
    if !cx.on(BACKUP_SCHEDULE_MISSING) {
        return;
    }
    // At admission a fresh Cluster usually arrives in the same sync as its
    // ScheduledBackup, in either order: only a render (which sees the whole
    // change) or an UPDATE can tell.
    if cx.op == Operation::Create && !cx.render_mode() {
        return;
    }
    let name = cluster.name();
    let Some((active, all)) = schedules_of(cx, name) else {
        return;
    };
    if !active.is_empty() {
        return;
    }
    let Some(archive) = archives.first() else {
        return;
    };
    let method = match archive.store {
        Store::ObjectStore { .. } => {
            format!("method: plugin, pluginConfiguration: {{name: {BARMAN_PLUGIN}}}")
        }
        Store::Inline { .. } => "method: barmanObjectStore".to_string(),
    };
    let why = if all > 0 {
        format!("its {all} ScheduledBackup(s) are all suspended")
    } else {
        format!("no ScheduledBackup in namespace '{}' targets it", cx.ns)
    };
    cx.hit(
        BACKUP_SCHEDULE_MISSING,
        archive.store_path.clone(),
        format!(
            "Cluster '{name}' archives WAL to '{}' but {why}: WAL piles up against one old base backup (or none), and a recovery must replay all of it — or cannot start at all",
            archive.server_name
        ),
        format!(
            "add a ScheduledBackup with spec.cluster.name: {name}, {method} and a 6-field schedule (seconds first), e.g. '0 0 3 * * *' for 03:00 daily"
        ),
    );
}

/// ObjectStore rules (CREATE/UPDATE).
pub(crate) fn check_object_store(cx: &mut Cx<'_>, store: &ObjectStore) {
    if !cx.on(RETENTION_POLICY) {
        return;
    }
    let name = store.name().to_string();
    let raw = store
        .spec
        .as_ref()
        .and_then(|s| s.retention_policy.as_deref());
    let Some(raw) = raw else {
        cx.hit(
            RETENTION_POLICY,
            "spec.retentionPolicy",
            format!(
                "ObjectStore '{name}' has no retentionPolicy: base backups and WAL are never deleted, the bucket grows until writes fail — and then archiving stops"
            ),
            "set spec.retentionPolicy to a recovery window longer than the backup interval, e.g. '30d' (^[1-9][0-9]*[dwm]$)".into(),
        );
        return;
    };
    let Some(window) = retention_secs(raw) else {
        cx.hit(
            RETENTION_POLICY,
            "spec.retentionPolicy",
            format!(
                "ObjectStore '{name}' retentionPolicy '{raw}' does not match ^[1-9][0-9]*[dwm]$ (days, weeks, months): the API server rejects the ObjectStore"
            ),
            "write a number and one unit, e.g. '30d', '4w' or '3m'".into(),
        );
        return;
    };
    // The ScheduledBackups of the Clusters that archive here.
    let (Some(clusters), Some(schedules)) = (cx.clusters(Some(cx.ns)), cx.scheduled_backups(cx.ns))
    else {
        return;
    };
    let ns = cx.ns.to_string();
    let writers: Vec<String> = clusters
        .iter()
        .filter(|c| {
            lineage::archives(c, &ns)
                .iter()
                .any(|l| matches!(&l.store, Store::ObjectStore { name: n, .. } if *n == name))
        })
        .map(|c| c.name().to_string())
        .collect();
    let longest = schedules
        .iter()
        .filter(|s| !s.spec().suspended())
        .filter(|s| {
            s.spec()
                .cluster()
                .is_some_and(|c| writers.iter().any(|w| w == c))
        })
        .filter_map(|s| {
            let spec = s.spec().schedule()?;
            Some((
                cron::max_interval_secs(spec)?,
                s.name().to_string(),
                spec.to_string(),
            ))
        })
        .max_by_key(|(secs, _, _)| *secs);
    if let Some((interval, sb, spec)) = longest
        && interval > window
    {
        cx.hit(
            RETENTION_POLICY,
            "spec.retentionPolicy",
            format!(
                "ObjectStore '{name}' keeps a {raw} recovery window, but ScheduledBackup '{sb}' ('{spec}') takes a base backup only every {}: at times the window holds no base backup to restore from",
                human(interval)
            ),
            format!(
                "make the window longer than the interval (e.g. retentionPolicy: '{}d') or back up more often",
                interval.div_ceil(86_400) * 2
            ),
        );
    }
}

/// `30d` / `4w` / `3m` in seconds (a month counted as 31 days, so a window
/// is never reported shorter than it is); `None` when malformed. The
/// pattern is the CRD's (plugin-barman-cloud@v0.14.0
/// `api/v1/objectstore_types.go:68`).
fn retention_secs(s: &str) -> Option<u64> {
    let (num, unit) = s.split_at(s.len().checked_sub(1)?);
    if num.is_empty() || num.starts_with('0') || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = num.parse().ok()?;
    let day = 86_400u64;
    n.checked_mul(match unit {
        "d" => day,
        "w" => 7 * day,
        "m" => 31 * day,
        _ => return None,
    })
}

fn human(secs: u64) -> String {
    if secs.is_multiple_of(86_400) {
        format!("{} day(s)", secs / 86_400)
    } else if secs.is_multiple_of(3_600) {
        format!("{} hour(s)", secs / 3_600)
    } else {
        format!("{secs} s")
    }
}

fn prune(cx: &mut Cx<'_>, cluster: &Cluster) {
    if !cx.on(PRUNE_PROTECTION_MISSING) {
        return;
    }
    let ann = cluster
        .metadata
        .as_ref()
        .map(|m| &m.annotations)
        .cloned()
        .unwrap_or_default();
    let argo = ann.get(ARGO_SYNC_OPTIONS).is_some_and(|o| {
        o.split(',')
            .map(str::trim)
            .any(|opt| opt == "Prune=false" || opt == "Delete=false")
    });
    let flux = ann.get(FLUX_PRUNE).is_some_and(|v| v == "disabled");
    let helm = ann.get(HELM_RESOURCE_POLICY).is_some_and(|v| v == "keep");
    if argo || flux || helm {
        return;
    }
    cx.hit(
        PRUNE_PROTECTION_MISSING,
        "metadata.annotations",
        format!(
            "Cluster '{}' is a restored database (spec.bootstrap.recovery) with no prune protection: if the app is deleted, renamed or its path moves, Argo CD or Flux prunes the Cluster and its PVCs — the restored data goes with them",
            cluster.name()
        ),
        format!(
            "annotate the Cluster with {ARGO_SYNC_OPTIONS}: Prune=false,Delete=false (Argo CD) or {FLUX_PRUNE}: disabled (Flux)"
        ),
    );
}

fn post_recovery_backup(cx: &mut Cx<'_>, cluster: &Cluster, archives: &[Lineage]) {
    if !cx.on(POST_RECOVERY_BACKUP_MISSING) {
        return;
    }
    let name = cluster.name();
    let Some(backups) = cx.backups(cx.ns) else {
        return;
    };
    if backups.iter().any(|b| b.spec().cluster() == Some(name)) {
        return;
    }
    let Some(schedules) = cx.scheduled_backups(cx.ns) else {
        return;
    };
    let immediate = schedules
        .iter()
        .any(|s| s.spec().cluster() == Some(name) && s.spec().immediate() && !s.spec().suspended());
    if immediate {
        return;
    }
    let Some(archive) = archives.first() else {
        return;
    };
    cx.hit(
        POST_RECOVERY_BACKUP_MISSING,
        "spec.bootstrap.recovery",
        format!(
            "Cluster '{name}' recovers into the new lineage '{}' but this change has no on-demand Backup of it and no ScheduledBackup with immediate: true: until the next scheduled backup the new lineage has WAL but no base backup, so it cannot be restored",
            archive.server_name
        ),
        format!(
            "add a Backup (spec.cluster.name: {name}) to this change, or set spec.immediate: true on its ScheduledBackup"
        ),
    );
}

/// Where the WAL goes: host and port of the store endpoint, when known.
fn endpoint(cx: &Cx<'_>, l: &Lineage) -> Option<(String, u16)> {
    let (dest, url) = match &l.store {
        Store::Inline {
            destination_path,
            endpoint_url,
        } => (destination_path.clone(), endpoint_url.clone()),
        Store::ObjectStore { namespace, name } => {
            let stores = cx.object_stores(Some(namespace))?;
            let conf = stores
                .iter()
                .find(|s| s.name() == name)?
                .configuration()?
                .clone();
            (conf.destination_path.unwrap_or_default(), conf.endpoint_url)
        }
    };
    match url {
        Some(u) => parse_url(&u),
        // Cloud defaults: S3, GCS and Azure are reached over HTTPS.
        None if ["s3://", "gs://", "https://"]
            .iter()
            .any(|p| dest.starts_with(p)) =>
        {
            Some((String::new(), 443))
        }
        None => None,
    }
}

/// `scheme://host[:port]/...` → (host, port).
fn parse_url(u: &str) -> Option<(String, u16)> {
    let (scheme, rest) = u.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let default = match scheme {
        "http" => 80,
        _ => 443,
    };
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
        return Some((host.to_string(), port.unwrap_or(default)));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), p.parse().ok()?)),
        None => Some((authority.to_string(), default)),
    }
}

/// The labels a Cluster's primary instance pod carries: CNPG's own
/// (`cnpg.io/cluster`, `cnpg.io/podRole: instance`, `cnpg.io/instanceRole` /
/// `role: primary`; cnpg@v1.30.0 `pkg/utils/labels_annotations.go:79,92,109,112,349`)
/// plus `spec.inheritedMetadata.labels`. `cnpg.io/instanceName` varies per
/// pod, so a selector on it is taken to select (one of) them.
fn primary_labels(cluster: &Cluster) -> BTreeMap<String, String> {
    let mut l = cluster
        .spec()
        .inherited_metadata
        .as_ref()
        .map(|m| m.labels.clone())
        .unwrap_or_default();
    l.insert(CLUSTER_LABEL.to_string(), cluster.name().to_string());
    l.insert("cnpg.io/podRole".into(), "instance".into());
    l.insert("cnpg.io/instanceRole".into(), "primary".into());
    l.insert("role".into(), "primary".into());
    l
}

/// Whether a rule may let traffic to `host:port` through. Unknown is
/// "maybe" (named ports, DNS names against ipBlocks, in-cluster services
/// against pod/namespace selectors): only a provable block is reported.
fn may_allow(rule: &EgressRule, host: &str, port: u16) -> bool {
    let port_ok = rule.ports.is_empty()
        || rule.ports.iter().any(|p| {
            let tcp = p.protocol.as_deref().is_none_or(|pr| pr == "TCP");
            let Some(start) = p.port.as_deref() else {
                return tcp; // every port of the protocol
            };
            let Ok(start) = start.parse::<u16>() else {
                return tcp; // a named port: cannot tell
            };
            let end = p
                .end_port
                .as_deref()
                .and_then(|e| e.parse::<u16>().ok())
                .unwrap_or(start);
            tcp && (start..=end).contains(&port)
        });
    if !port_ok {
        return false;
    }
    if rule.to.is_empty() {
        return true;
    }
    let ip = host.parse::<std::net::IpAddr>().ok();
    rule.to.iter().any(|peer| match (&peer.ip_block, ip) {
        (Some(block), Some(ip)) => {
            block.cidr.as_deref().is_some_and(|c| cidr_contains(c, ip))
                && !block.except.iter().any(|e| cidr_contains(e, ip))
        }
        // A name behind an ipBlock, or a pod/namespace selector: unknown.
        _ => true,
    })
}

fn cidr_contains(cidr: &str, ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    let Some((net, len)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(net), Ok(len)) = (net.parse::<IpAddr>(), len.parse::<u32>()) else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) if len <= 32 => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) if len <= 128 => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

fn egress(cx: &mut Cx<'_>, cluster: &Cluster, archives: &[Lineage]) {
    if !cx.on(EGRESS_BLOCKED) {
        return;
    }
    let Some(policies) = cx.network_policies(cx.ns) else {
        return;
    };
    let labels = primary_labels(cluster);
    let selecting: Vec<_> = policies
        .iter()
        .filter(|p| p.selects(&labels))
        .filter_map(|p| Some((p.name().to_string(), p.egress_rules()?)))
        .collect();
    if selecting.is_empty() {
        return;
    }
    let names: Vec<&str> = selecting.iter().map(|(n, _)| n.as_str()).collect();
    let rules: Vec<&EgressRule> = selecting.iter().flat_map(|(_, r)| r.iter()).collect();
    let Some(archive) = archives.first() else {
        return;
    };
    let target = endpoint(cx, archive);
    let blocked = match &target {
        Some((host, port)) => !rules.iter().any(|r| may_allow(r, host, *port)),
        // Unknown endpoint: report only a policy that allows nothing at all.
        None => rules.is_empty(),
    };
    if !blocked {
        return;
    }
    let to = match &target {
        Some((host, port)) if !host.is_empty() => format!("{host}:{port}"),
        Some((_, port)) => format!("the object store (port {port})"),
        None => "anywhere".to_string(),
    };
    cx.hit(
        EGRESS_BLOCKED,
        archive.store_path.clone(),
        format!(
            "NetworkPolicy {} selects the pods of Cluster '{}' for egress and allows no traffic to {to}: barman-cloud cannot upload WAL, archiving fails silently and WAL fills the volume",
            names.join(", "),
            cluster.name()
        ),
        format!(
            "add an egress rule to {to} (and DNS, port 53) to a NetworkPolicy selecting cnpg.io/cluster: {}",
            cluster.name()
        ),
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_cidrs() {
        assert_eq!(
            parse_url("https://s3.eu-west-1.amazonaws.com"),
            Some(("s3.eu-west-1.amazonaws.com".into(), 443))
        );
        assert_eq!(
            parse_url("http://minio.minio.svc:9000/bucket"),
            Some(("minio.minio.svc".into(), 9000))
        );
        assert_eq!(
            parse_url("http://[fd00::1]:9000"),
            Some(("fd00::1".into(), 9000))
        );
        assert!(cidr_contains("10.0.0.0/8", "10.1.2.3".parse().unwrap()));
        assert!(!cidr_contains("10.0.0.0/8", "192.168.1.1".parse().unwrap()));
        assert!(cidr_contains("0.0.0.0/0", "192.168.1.1".parse().unwrap()));
    }

    #[test]
    fn retention_windows() {
        assert_eq!(retention_secs("30d"), Some(30 * 86_400));
        assert_eq!(retention_secs("2w"), Some(14 * 86_400));
        assert_eq!(retention_secs("1m"), Some(31 * 86_400));
        for bad in ["", "d", "0d", "30", "30D", "30 d", "1y", "01d"] {
            assert_eq!(retention_secs(bad), None, "{bad}");
        }
    }
}
