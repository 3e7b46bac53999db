//! The Kubernetes manifests in examples/deploy/ cannot rot: their YAML parses, their names and
//! ports refer to each other, the ConfigMap's samlet.toml is a valid configuration with the
//! Secret's variables, the probes' paths answer on a running gateway, and the binary drains
//! and exits 0 on SIGTERM. Every example configuration also validates against the checked-in
//! config JSON Schema, with ajv (what editors and CI tools use).

#![cfg(feature = "demo")]

mod common;
#[path = "common/node.rs"]
mod node;

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every document of every `examples/deploy/*.yaml`, by kind.
fn manifests() -> BTreeMap<String, Vec<Value>> {
    let dir = root().join("examples/deploy");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/deploy")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut by_kind: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read manifest");
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v: Value = serde::Deserialize::deserialize(doc)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let kind = v["kind"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: a document without kind", file.display()))
                .to_owned();
            assert!(
                v["apiVersion"].is_string(),
                "{}: apiVersion",
                file.display()
            );
            by_kind.entry(kind).or_default().push(v);
        }
    }
    by_kind
}

fn one<'a>(m: &'a BTreeMap<String, Vec<Value>>, kind: &str) -> &'a Value {
    match m.get(kind).map(Vec::as_slice) {
        Some([v]) => v,
        other => panic!(
            "expected one {kind}, found {}",
            other.map_or(0, |v| v.len())
        ),
    }
}

/// The Secret's variables, as the pod's environment would hold them.
fn secret_env(m: &BTreeMap<String, Vec<Value>>) -> BTreeMap<String, String> {
    one(m, "Secret")["stringData"]
        .as_object()
        .expect("stringData")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("string value").to_owned()))
        .collect()
}

fn config_text(m: &BTreeMap<String, Vec<Value>>) -> String {
    one(m, "ConfigMap")["data"]["samlet.toml"]
        .as_str()
        .expect("data.samlet.toml")
        .to_owned()
}

#[test]
fn the_manifests_fit_together_and_the_config_map_is_a_valid_config() {
    let m = manifests();
    for kind in [
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
    ] {
        assert!(m.contains_key(kind), "no {kind} in examples/deploy");
    }
    let env = secret_env(&m);
    let text = config_text(&m);
    let config = samlet::Config::parse("configmap.yaml samlet.toml", &text, &|k| {
        env.get(k).cloned()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.connectors.len(), 4);
    // Every secret is used, so none is stale.
    for name in env.keys() {
        assert!(
            text.contains(&format!("${{{name}}}")),
            "secret {name} is not used by samlet.toml"
        );
    }

    let deploy = one(&m, "Deployment");
    let pod = &deploy["spec"]["template"];
    let labels = &pod["metadata"]["labels"];
    assert_eq!(&deploy["spec"]["selector"]["matchLabels"], labels);
    let spec = &pod["spec"];
    let containers = spec["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    let c = &containers[0];

    // The config file: mounted from the ConfigMap, at the path `serve --config` reads.
    let args: Vec<&str> = c["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let config_path = args
        .windows(2)
        .find(|w| w[0] == "--config")
        .map(|w| w[1])
        .expect("--config");
    assert_eq!(args[0], "serve");
    let volume = spec["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["configMap"]["name"] == one(&m, "ConfigMap")["metadata"]["name"])
        .expect("a volume of the ConfigMap");
    let mount = c["volumeMounts"]
        .as_array()
        .expect("volumeMounts")
        .iter()
        .find(|mnt| mnt["name"] == volume["name"])
        .expect("the ConfigMap mounted");
    assert_eq!(
        format!("{}/samlet.toml", mount["mountPath"].as_str().unwrap()),
        config_path
    );
    // The secrets: the Secret in the environment.
    assert!(
        c["envFrom"]
            .as_array()
            .expect("envFrom")
            .iter()
            .any(|e| e["secretRef"]["name"] == one(&m, "Secret")["metadata"]["name"]),
        "the Secret is not in the environment"
    );
    // The port: what the config listens on, named for the probes and the Service.
    let port = &c["ports"][0];
    assert_eq!(port["containerPort"], config.server.listen.port());
    assert!(
        config.server.listen.ip().is_unspecified(),
        "listen on all interfaces in a pod"
    );
    let port_name = port["name"].as_str().expect("a named port");
    for (probe, path) in [
        ("livenessProbe", "/health"),
        ("readinessProbe", "/ready"),
        ("startupProbe", "/health"),
    ] {
        assert_eq!(c[probe]["httpGet"]["path"], path, "{probe}");
        assert_eq!(c[probe]["httpGet"]["port"], port_name, "{probe}");
    }
    // Resources and a locked-down container.
    for key in ["requests", "limits"] {
        assert!(c["resources"][key]["memory"].is_string(), "resources.{key}");
        assert!(c["resources"][key]["cpu"].is_string(), "resources.{key}");
    }
    assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        spec["securityContext"]["runAsUser"], 10001,
        "the Dockerfile's uid"
    );
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]));

    let service = one(&m, "Service");
    assert_eq!(&service["spec"]["selector"], labels);
    assert_eq!(service["spec"]["ports"][0]["targetPort"], port_name);

    let hpa = one(&m, "HorizontalPodAutoscaler");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"],
        deploy["metadata"]["name"]
    );
    assert!(hpa["spec"]["minReplicas"].as_u64() >= Some(2));
    assert!(hpa["spec"]["maxReplicas"].as_u64() > hpa["spec"]["minReplicas"].as_u64());

    // kustomization.yaml lists every manifest file.
    let kustomization = one(&m, "Kustomization");
    let listed: Vec<&str> = kustomization["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for entry in std::fs::read_dir(root().join("examples/deploy")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".yaml") && name != "kustomization.yaml" {
            assert!(
                listed.contains(&name.as_str()),
                "{name} not in kustomization.yaml"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_paths_answer_on_a_running_gateway() {
    let m = manifests();
    let c = &one(&m, "Deployment")["spec"]["template"]["spec"]["containers"][0];
    let g = common::Running::start(samlet::demo::Stack::A).await;
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let path = c[probe]["httpGet"]["path"].as_str().expect("probe path");
        let resp = g
            .http
            .get(format!("{}{path}", g.url))
            .send()
            .await
            .expect("gateway answers");
        assert_eq!(resp.status(), 200, "{probe} {path}");
    }
}

/// Kubernetes stops a pod with SIGTERM; the gateway must drain and exit 0, not die by signal.
#[test]
fn the_binary_exits_cleanly_on_sigterm() {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_samlet"))
        .args(["demo", "--port", "0"])
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run samlet demo");
    // Read stdout to its end on a thread (the demo prints after it starts serving; a closed
    // pipe would make that print fail), and hear when it serves.
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if line.starts_with("GraphQL and IDE:") {
                let _ = tx.send(());
            }
        }
    });
    let serving = rx.recv_timeout(std::time::Duration::from_secs(60)).is_ok();
    if !serving {
        let _ = child.kill();
    }
    assert!(serving, "the demo did not start serving");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    // Bounded: a gateway that ignored SIGTERM is killed and reported.
    let mut exited = None;
    for _ in 0..200 {
        if let Some(s) = child.try_wait().expect("wait") {
            exited = Some(s);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let Some(exit) = exited else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("samlet did not exit within 20 s of SIGTERM");
    };
    let _ = reader.join();
    assert!(exit.success(), "samlet exited with {exit} on SIGTERM");
}

/// Every example configuration, and the ConfigMap's, is valid against
/// schema/samlet.config.schema.json as a JSON Schema validator (ajv, strict mode) sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_config_validates_against_the_config_json_schema() {
    let mut configs = serde_json::Map::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let v: toml::Value = toml::from_str(&text).unwrap();
        configs.insert(
            f.strip_prefix(root()).unwrap().display().to_string(),
            serde_json::to_value(v).unwrap(),
        );
    }
    let cm: toml::Value = toml::from_str(&config_text(&manifests())).unwrap();
    configs.insert(
        "examples/deploy/configmap.yaml".into(),
        serde_json::to_value(cm).unwrap(),
    );
    // And a broken one, so a schema that accepts anything fails this test.
    let mut broken = configs["examples/stack-a.toml"].clone();
    broken["connectors"]["pim"]["page_sise"] = json!(100);
    broken["server"]["request_timeout"] = json!("15 seconds");
    configs.insert("broken".into(), broken);

    let input = Value::Object(configs).to_string();
    let schema = root()
        .join("schema/samlet.config.schema.json")
        .display()
        .to_string();
    let out = tokio::task::spawn_blocking(move || {
        node::run("validate-config.mjs", &[&schema], Some(&input))
    })
    .await
    .unwrap();
    let results: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), files.len() + 2, "{out}");
    for r in &results {
        if r["name"] == "broken" {
            let errors = r["errors"].to_string();
            assert_eq!(r["valid"], false, "{r:#}");
            assert!(errors.contains("page_sise"), "{errors}");
            assert!(errors.contains("request_timeout"), "{errors}");
        } else {
            assert_eq!(r["valid"], true, "{r:#}");
        }
    }
}
