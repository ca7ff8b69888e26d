//! `artifacthub-pkg.yml` from `policy/metadata.yml` and
//! `policy/questions-ui.yml`, field for field as `kwctl scaffold artifacthub`
//! builds it (policy-evaluator `policy_artifacthub.rs` at kubewarden-controller
//! v1.35.0): version from `io.kubewarden.policy.version`, the image from
//! `io.kubewarden.policy.ociUrl`, links from a GitHub `source`, maintainers
//! from `author`, and the `kubewarden/*` annotations (mutation, rules,
//! contextAwareResources, resources, questions-ui).
//!
//! Written here rather than by running kwctl: kwctl is not installable on
//! this project's machines, and the file must be regenerated (and checked
//! for drift) by the project's own commands.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;
use serde_json::Value;

/// The header kwctl writes above the YAML.
pub const HEADER: &str = "\
# Kubewarden Artifacthub Package config
#
# Use this config to submit the policy to https://artifacthub.io.
#
# Generated from policy/metadata.yml and policy/questions-ui.yml by
# `cargo xtask artifacthub` (the same fields `kwctl scaffold artifacthub`
# writes); tests/tests/packaging.rs fails if it drifts. Do not edit by hand.
";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Pkg {
    version: String,
    name: String,
    display_name: String,
    created_at: String,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    license: Option<String>,
    #[serde(rename = "homeURL", skip_serializing_if = "Option::is_none")]
    home_url: Option<String>,
    containers_images: Vec<NameImage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keywords: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    links: Option<Vec<NameUrl>>,
    install: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    maintainers: Option<Vec<Maintainer>>,
    provider: Name,
    recommendations: Vec<Url>,
    annotations: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct NameImage {
    name: String,
    image: String,
}

#[derive(Serialize)]
struct NameUrl {
    name: String,
    url: String,
}

#[derive(Serialize)]
struct Maintainer {
    name: String,
    email: String,
}

#[derive(Serialize)]
struct Name {
    name: String,
}

#[derive(Serialize)]
struct Url {
    url: String,
}

/// The `createdAt` of an existing `artifacthub-pkg.yml`, and its version.
pub fn existing(text: &str) -> Option<(String, String)> {
    let v: Value = serde_saphyr::from_str(text).ok()?;
    Some((
        v.get("createdAt")?.as_str()?.to_string(),
        v.get("version")?.as_str()?.to_string(),
    ))
}

/// Renders the package file. `created_at` is RFC 3339 (kwctl uses "now";
/// `cargo xtask artifacthub` keeps the existing value while the version is
/// unchanged, so the file only changes when its inputs do).
pub fn render(
    metadata_yaml: &str,
    questions_yaml: Option<&str>,
    created_at: &str,
) -> Result<String> {
    let meta: Value =
        serde_saphyr::from_str(metadata_yaml).map_err(|e| anyhow!("metadata.yml: {e}"))?;
    let annots = meta
        .get("annotations")
        .and_then(Value::as_object)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| anyhow!("no annotations in policy metadata"))?;
    let get = |k: &str| annots.get(k).and_then(Value::as_str).map(str::to_string);
    let need = |k: &str| {
        get(k).ok_or_else(|| anyhow!("policy metadata must specify {k:?} in annotations"))
    };
    let version = need("io.kubewarden.policy.version")?;
    if !is_semver(&version) {
        bail!("io.kubewarden.policy.version {version:?} is not semver");
    }
    if questions_yaml.is_some_and(|q| q.trim().is_empty()) {
        bail!("questions-ui content cannot be empty");
    }
    let oci = format!("{}:v{version}", need("io.kubewarden.policy.ociUrl")?);
    let keywords = match get("io.artifacthub.keywords") {
        Some(csv) => {
            let words: Vec<String> = csv.split(',').map(|w| w.trim().to_string()).collect();
            if words.iter().any(String::is_empty) {
                bail!("io.artifacthub.keywords is malformed: must be comma-separated values");
            }
            Some(words)
        }
        None => None,
    };
    let links = get("io.kubewarden.policy.source").map(|src| {
        let src = src.trim_end_matches('/').to_string();
        let mut links = Vec::new();
        if src.starts_with("https://github.com/") {
            links.push(NameUrl {
                name: "policy".into(),
                url: format!("{src}/releases/download/v{version}/policy.wasm"),
            });
        }
        links.push(NameUrl {
            name: "source".into(),
            url: src,
        });
        links
    });
    let maintainers = get("io.kubewarden.policy.author")
        .map(|a| maintainers(&a))
        .transpose()?;
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "kubewarden/mutation".to_string(),
        meta.get("mutating")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .to_string(),
    );
    if let Some(car) = meta
        .get("contextAwareResources")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    {
        annotations.insert(
            "kubewarden/contextAwareResources".to_string(),
            serde_saphyr::to_string(car).context("contextAwareResources")?,
        );
    }
    let rules = meta
        .get("rules")
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    annotations.insert(
        "kubewarden/rules".to_string(),
        serde_saphyr::to_string(&rules).context("rules")?,
    );
    if let Some(q) = questions_yaml {
        annotations.insert("kubewarden/questions-ui".to_string(), q.to_string());
    }
    if let Some(hidden) = get("io.kubewarden.hidden-ui") {
        if !matches!(hidden.as_str(), "true" | "false") {
            bail!("io.kubewarden.hidden-ui must be true or false");
        }
        annotations.insert("kubewarden/hidden-ui".to_string(), hidden);
    }
    if let Some(r) = get("io.artifacthub.resources") {
        annotations.insert("kubewarden/resources".to_string(), r);
    }
    let pkg = Pkg {
        version,
        name: need("io.kubewarden.policy.title")?,
        display_name: need("io.artifacthub.displayName")?,
        created_at: created_at.to_string(),
        description: need("io.kubewarden.policy.description")?,
        license: get("io.kubewarden.policy.license"),
        home_url: get("io.kubewarden.policy.url"),
        containers_images: vec![NameImage {
            name: "policy".into(),
            image: oci.clone(),
        }],
        keywords,
        links,
        install: install(&oci),
        maintainers,
        provider: Name {
            name: "kubewarden".into(),
        },
        recommendations: vec![Url {
            url: "https://artifacthub.io/packages/helm/kubewarden/kubewarden-controller".into(),
        }],
        annotations,
    };
    let body = serde_saphyr::to_string(&pkg).context("serializing artifacthub-pkg.yml")?;
    Ok(format!("{HEADER}{body}"))
}

/// kwctl's install text (`compose_install`).
fn install(oci: &str) -> String {
    format!(
        "The policy can be obtained using [`kwctl`](https://github.com/kubewarden/kwctl):\n\
         ```console\nkwctl pull {oci}\n```\n\
         Then, generate the policy manifest and tune it to your liking. For example:\n\
         ```console\nkwctl scaffold manifest -t ClusterAdmissionPolicy registry://{oci}\n```\n"
    )
}

/// `Name <email>, Other <other@x>` (RFC 5322 name-addr list, the subset
/// policy metadata uses).
fn maintainers(author: &str) -> Result<Vec<Maintainer>> {
    let mut out = Vec::new();
    for part in author.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, rest) = part.split_once('<').ok_or_else(|| {
            anyhow!("io.kubewarden.policy.author: {part:?} is not `name <email>`")
        })?;
        let email = rest
            .strip_suffix('>')
            .filter(|e| e.contains('@') && !e.contains(char::is_whitespace))
            .ok_or_else(|| anyhow!("io.kubewarden.policy.author: {part:?} has no valid <email>"))?;
        out.push(Maintainer {
            name: name.trim().to_string(),
            email: email.to_string(),
        });
    }
    if out.is_empty() {
        bail!("io.kubewarden.policy.author is empty");
    }
    Ok(out)
}

fn is_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Now, as RFC 3339 UTC with second precision (`2026-12-02T13:20:00Z`).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const META: &str = "rules: []\nmutating: false\nannotations:\n  io.kubewarden.policy.title: p\n  \
        io.artifacthub.displayName: P\n  io.kubewarden.policy.description: d\n  \
        io.kubewarden.policy.version: 1.2.3\n  io.kubewarden.policy.ociUrl: ghcr.io/x/p\n  \
        io.kubewarden.policy.source: https://github.com/x/p\n  \
        io.kubewarden.policy.author: A B <a@x.io>, C <c@x.io>\n  io.artifacthub.keywords: a, b\n";

    #[test]
    fn fields_follow_kwctl() {
        let out = render(META, Some("questions: []\n"), "2026-01-01T00:00:00Z").unwrap();
        let v: Value = serde_saphyr::from_str(&out).unwrap();
        assert_eq!(v["version"], "1.2.3");
        assert_eq!(v["containersImages"][0]["image"], "ghcr.io/x/p:v1.2.3");
        assert_eq!(
            v["links"][0]["url"],
            "https://github.com/x/p/releases/download/v1.2.3/policy.wasm"
        );
        assert_eq!(v["maintainers"][1]["email"], "c@x.io");
        assert_eq!(v["keywords"][1], "b");
        assert_eq!(v["annotations"]["kubewarden/mutation"], "false");
        assert_eq!(
            v["annotations"]["kubewarden/questions-ui"],
            "questions: []\n"
        );
        assert!(out.starts_with("# Kubewarden Artifacthub Package config\n"));
    }

    #[test]
    fn missing_inputs_are_errors() {
        let no_oci = META.replace("  io.kubewarden.policy.ociUrl: ghcr.io/x/p\n", "");
        assert!(
            render(&no_oci, None, "t")
                .unwrap_err()
                .to_string()
                .contains("ociUrl")
        );
        let bad = META.replace("1.2.3", "one");
        assert!(render(&bad, None, "t").is_err());
        assert!(render(META, Some("  "), "t").is_err());
    }

    #[test]
    fn now_is_rfc3339() {
        let n = now_rfc3339();
        assert_eq!(n.len(), 20, "{n}");
        assert!(n.ends_with('Z') && n.as_bytes()[10] == b'T');
    }
}
