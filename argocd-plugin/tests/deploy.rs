//! The packaging in deploy/: plugin.yaml matches what the binary accepts,
//! and the kustomize Component really produces the sidecar ArgoCD expects.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::process::Command;

use argocd_cnpg_guard::settings::{PARAMS, Shape};
use serde_json::Value;

fn deploy() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy"))
}

fn yaml(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn plugin_yaml_is_a_cmp_v2_config() {
    let p = yaml(&deploy().join("plugin.yaml"));
    assert_eq!(p["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(p["kind"], "ConfigManagementPlugin");
    assert_eq!(p["metadata"]["name"], "cnpg-guard");
    assert_eq!(p["spec"]["version"], "v1");
    // An argv, no shell.
    assert_eq!(
        p["spec"]["generate"]["command"],
        serde_json::json!(["/usr/local/bin/argocd-cnpg-guard", "generate"])
    );
    assert!(p["spec"]["generate"].get("args").is_none());
    // Marker-file discovery only: never hijack plain kustomize apps.
    assert_eq!(
        p["spec"]["discover"],
        serde_json::json!({"fileName": ".cnpg-guard"})
    );
    // No keys that only the removed argocd-cm plugins had.
    for dead in ["lockRepo", "allowConcurrency"] {
        assert!(p["spec"].get(dead).is_none());
    }
}

#[test]
fn announced_parameters_are_exactly_the_ones_the_binary_reads() {
    let p = yaml(&deploy().join("plugin.yaml"));
    let announced: Vec<&Value> = p["spec"]["parameters"]["static"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    let names: Vec<&str> = announced
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    let known: Vec<&str> = PARAMS.iter().map(|s| s.name).collect();
    assert_eq!(names, known);
    for (a, spec) in announced.iter().zip(PARAMS) {
        let collection = a
            .get("collectionType")
            .and_then(Value::as_str)
            .unwrap_or("string");
        let expected = match spec.shape {
            Shape::List => "array",
            Shape::SeverityMap => "map",
            Shape::Bool | Shape::Word(_) => "string",
        };
        assert_eq!(collection, expected, "{}", spec.name);
        assert!(
            a["tooltip"].as_str().is_some_and(|t| !t.is_empty()),
            "{}",
            spec.name
        );
    }
}

#[test]
fn component_adds_the_sidecar_to_a_repo_server() {
    // A trimmed argocd-repo-server as in Argo CD's install.yaml.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("repo-server.yaml"),
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: argocd-repo-server
spec:
  selector: {matchLabels: {app.kubernetes.io/name: argocd-repo-server}}
  template:
    metadata: {labels: {app.kubernetes.io/name: argocd-repo-server}}
    spec:
      automountServiceAccountToken: false
      initContainers:
        - name: copyutil
          image: quay.io/argoproj/argocd:v3.5.1
          command: [/bin/cp, -n, /usr/local/bin/argocd, /var/run/argocd/argocd-cmp-server]
          volumeMounts: [{name: var-files, mountPath: /var/run/argocd}]
      containers:
        - name: argocd-repo-server
          image: quay.io/argoproj/argocd:v3.5.1
          volumeMounts:
            - {name: var-files, mountPath: /var/run/argocd}
            - {name: plugins, mountPath: /home/argocd/cmp-server/plugins}
            - {name: tmp, mountPath: /tmp}
      volumes:
        - {name: var-files, emptyDir: {}}
        - {name: plugins, emptyDir: {}}
        - {name: tmp, emptyDir: {}}
"#,
    )
    .unwrap();
    // kustomize wants components as relative paths: copy deploy/ beside it.
    let component = tmp.path().join("cnpg-guard");
    std::fs::create_dir(&component).unwrap();
    for f in [
        "kustomization.yaml",
        "plugin.yaml",
        "repo-server-patch.yaml",
    ] {
        std::fs::copy(deploy().join(f), component.join(f)).unwrap();
    }
    std::fs::write(
        tmp.path().join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: argocd\n\
         resources: [repo-server.yaml]\ncomponents: [cnpg-guard]\n",
    )
    .unwrap();
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(tmp.path())
        .output()
        .expect("kubectl must be on PATH for the deploy test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&String::from_utf8(out.stdout).unwrap()).unwrap();

    let cm = docs.iter().find(|d| d["kind"] == "ConfigMap").unwrap();
    assert_eq!(cm["metadata"]["name"], "cnpg-guard-plugin");
    assert_eq!(cm["metadata"]["namespace"], "argocd");
    let embedded: Value =
        serde_saphyr::from_str(cm["data"]["plugin.yaml"].as_str().unwrap()).unwrap();
    assert_eq!(embedded, yaml(&deploy().join("plugin.yaml")));

    let dep = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let spec = &dep["spec"]["template"]["spec"];
    let containers = spec["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 2, "repo-server kept, sidecar added");
    let side = containers
        .iter()
        .find(|c| c["name"] == "cnpg-guard")
        .unwrap();
    assert_eq!(
        side["command"],
        serde_json::json!(["/var/run/argocd/argocd-cmp-server"])
    );
    // Successful runs' stderr (the warnings) is logged only at info.
    assert_eq!(side["args"], serde_json::json!(["--loglevel=info"]));
    let env: Vec<(&str, &str)> = side["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["value"].as_str().unwrap()))
        .collect();
    assert!(env.contains(&("ARGOCD_EXEC_TIMEOUT", "90s")), "{env:?}");
    assert_eq!(side["securityContext"]["runAsUser"], 999);
    assert_eq!(side["securityContext"]["runAsNonRoot"], true);
    let mounts: Vec<(&str, &str)> = side["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap(),
                m["mountPath"].as_str().unwrap(),
            )
        })
        .collect();
    for want in [
        ("var-files", "/var/run/argocd"),
        ("plugins", "/home/argocd/cmp-server/plugins"),
        (
            "cnpg-guard-plugin-config",
            "/home/argocd/cmp-server/config/plugin.yaml",
        ),
        ("cnpg-guard-tmp", "/tmp"),
        ("cnpg-guard-bin", "/usr/local/bin/argocd-cnpg-guard"),
    ] {
        assert!(mounts.contains(&want), "{want:?} missing in {mounts:?}");
    }
    assert!(
        !mounts.contains(&("tmp", "/tmp")),
        "must not share the repo-server's /tmp"
    );
    let inits: Vec<&str> = spec["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // Order does not matter: the two init containers are independent.
    assert!(
        inits.contains(&"copyutil") && inits.contains(&"cnpg-guard-install"),
        "{inits:?}"
    );
    let volumes: Vec<&str> = spec["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for v in [
        "var-files",
        "plugins",
        "tmp",
        "cnpg-guard-plugin-config",
        "cnpg-guard-tmp",
        "cnpg-guard-bin",
    ] {
        assert!(volumes.contains(&v), "{v} missing in {volumes:?}");
    }
}

#[test]
fn example_application_uses_the_plugin() {
    let app = yaml(&deploy().join("example/application.yaml"));
    assert_eq!(app["kind"], "Application");
    assert_eq!(app["spec"]["source"]["plugin"]["name"], "cnpg-guard-v1");
    let known: Vec<&str> = PARAMS.iter().map(|s| s.name).collect();
    for p in app["spec"]["source"]["plugin"]["parameters"]
        .as_array()
        .unwrap()
    {
        assert!(known.contains(&p["name"].as_str().unwrap()), "{p}");
    }
}
