//! examples/kubernetes/: the manifests parse, wire the shard, the probes,
//! the state volume and the reload as its README says, and the
//! configuration in its ConfigMap passes the real `sandlog check`, whole
//! and shard by shard.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use yaml_rust2::{Yaml, YamlLoader};

use crate::util;

fn documents() -> Vec<Yaml> {
    let dir = util::repo_root().join("examples/kubernetes");
    let mut docs = Vec::new();
    for file in ["configmap.yaml", "statefulset.yaml"] {
        let text = std::fs::read_to_string(dir.join(file)).expect(file);
        let parsed = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        docs.extend(parsed);
    }
    docs
}

fn of_kind<'a>(docs: &'a [Yaml], kind: &str) -> &'a Yaml {
    let found: Vec<&Yaml> = docs
        .iter()
        .filter(|d| d["kind"].as_str() == Some(kind))
        .collect();
    assert_eq!(found.len(), 1, "one {kind}");
    found[0]
}

fn list(y: &Yaml) -> &[Yaml] {
    y.as_vec().map(Vec::as_slice).unwrap_or_default()
}

fn named<'a>(items: &'a Yaml, name: &str) -> &'a Yaml {
    list(items)
        .iter()
        .find(|i| i["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no entry named {name:?}"))
}

fn str_of<'a>(y: &'a Yaml, what: &str) -> &'a str {
    y.as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {y:?}"))
}

/// `sandlog check` on `config`, with `args` before it.
fn check(config: &std::path::Path, args: &[&str]) -> util::Output {
    let mut cmd = Command::new(util::bin());
    cmd.arg("--cache-dir")
        .arg(util::cache_dir())
        .arg("check")
        .args(args)
        .arg(config)
        .env_remove("SANDLOG_SHARD")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let out = util::wait(
        util::spawn(&mut cmd, "sandlog check"),
        Duration::from_secs(120),
    );
    out.assert_success();
    out
}

#[test]
fn the_kubernetes_example_is_wired_and_its_config_checks() {
    let docs = documents();
    let config_map = of_kind(&docs, "ConfigMap");
    let set = of_kind(&docs, "StatefulSet");
    let service = of_kind(&docs, "Service");
    assert_eq!(set["apiVersion"].as_str(), Some("apps/v1"));
    assert_eq!(
        service["spec"]["clusterIP"].as_str(),
        Some("None"),
        "a headless service"
    );
    assert_eq!(
        set["spec"]["serviceName"].as_str(),
        service["metadata"]["name"].as_str()
    );
    let replicas = set["spec"]["replicas"].as_i64().expect("replicas");
    assert!(replicas >= 2, "a fleet: {replicas}");
    let pod = &set["spec"]["template"]["spec"];
    let sandlog = named(&pod["containers"], "sandlog");

    // The shard: the pod's ordinal of the replica count.
    let env = &sandlog["env"];
    assert_eq!(
        env_field(env, "SHARD_INDEX"),
        "metadata.labels['apps.kubernetes.io/pod-index']"
    );
    assert_eq!(
        str_of(&named(env, "SANDLOG_SHARD")["value"], "SANDLOG_SHARD"),
        format!("$(SHARD_INDEX)/{replicas}"),
        "the shard count is the replica count"
    );

    // Where the config, the state and the cache are, from the arguments.
    let args: Vec<&str> = list(&sandlog["args"])
        .iter()
        .map(|a| str_of(a, "an argument"))
        .collect();
    let after = |flag: &str| {
        let at = args.iter().position(|a| *a == flag);
        at.and_then(|i| args.get(i + 1).copied())
            .unwrap_or_else(|| panic!("{flag} in {args:?}"))
    };
    let run_at = args.iter().position(|a| *a == "run").expect("run");
    let config_path = std::path::Path::new(args[run_at + 1]);
    let state_dir = after("--state-dir");

    // The state directory is on the pod's own volume.
    let claims = &set["spec"]["volumeClaimTemplates"];
    let claim = list(claims).first().expect("a volume claim template");
    let claim_name = str_of(&claim["metadata"]["name"], "the claim's name");
    assert_eq!(
        str_of(&claim["spec"]["accessModes"][0], "access mode"),
        "ReadWriteOnce"
    );
    assert_eq!(
        mount_of(sandlog, claim_name),
        state_dir,
        "--state-dir is the claim's mount"
    );

    // The config comes from the ConfigMap, mounted whole (a subPath mount
    // would never be updated), in the sandlog and reload containers.
    let volume = list(&pod["volumes"])
        .iter()
        .find(|v| v["configMap"]["name"].as_str() == config_map["metadata"]["name"].as_str())
        .expect("a volume of the ConfigMap");
    let config_volume = str_of(&volume["name"], "volume name");
    let config_dir = mount_of(sandlog, config_volume);
    assert_eq!(config_path.parent(), Some(std::path::Path::new(config_dir)));
    let reload = list(&pod["containers"])
        .iter()
        .find(|c| c["name"].as_str() != Some("sandlog"))
        .expect("a reload sidecar");
    assert_eq!(mount_of(reload, config_volume), config_dir);
    let script: String = list(&reload["command"])
        .iter()
        .map(|a| str_of(a, "command"))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        script.contains("kill -HUP") && script.contains(&format!("{config_dir}/..data")),
        "{script}"
    );
    assert_eq!(
        pod["shareProcessNamespace"].as_bool(),
        Some(true),
        "the sidecar must see sandlog's process"
    );

    // The files of the ConfigMap, as the pod sees them.
    let dir = tempfile::tempdir().unwrap();
    let data = config_map["data"].as_hash().expect("data");
    for (key, value) in data {
        std::fs::write(dir.path().join(str_of(key, "key")), str_of(value, "a file")).unwrap();
    }
    let config_file = dir.path().join(config_path.file_name().unwrap());
    let config = sandlog::config::Config::load(&config_file).expect("the ConfigMap's config");

    // Probes on the metrics listener's port.
    let listen = config.metrics.expect("[metrics] listen").listen;
    let port = list(&sandlog["ports"])
        .iter()
        .find(|p| p["containerPort"].as_i64() == Some(i64::from(listen.port())))
        .expect("the metrics port is a container port");
    let port_name = str_of(&port["name"], "port name");
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let get = &sandlog[probe]["httpGet"];
        assert_eq!(get["path"].as_str(), Some(path), "{probe}");
        assert!(
            get["port"].as_str() == Some(port_name)
                || get["port"].as_i64() == Some(i64::from(listen.port())),
            "{probe} is not on the metrics port: {get:?}"
        );
    }
    assert!(
        !listen.ip().is_loopback(),
        "the kubelet cannot reach a loopback listener"
    );

    // The real check: the whole file, then every shard's share.
    let total = config.sources.len();
    let out = check(&config_file, &[]);
    assert!(
        out.stdout
            .contains(&format!("{total} of {total} sources sound")),
        "{}",
        out.stdout
    );
    let mut seen = BTreeSet::new();
    for i in 0..replicas {
        let out = check(&config_file, &["--shard", &format!("{i}/{replicas}")]);
        assert!(
            out.stdout.contains("ok      "),
            "pod {i} runs nothing: {}",
            out.stdout
        );
        for name in out
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("ok      "))
        {
            assert!(seen.insert(name.to_owned()), "{name} on two shards");
            if name == "audit" {
                assert_eq!(i, 0, "audit is pinned to shard 0");
            }
        }
    }
    let all: BTreeSet<String> = config.sources.iter().map(|s| s.name.clone()).collect();
    assert_eq!(seen, all);
}

/// The downward API field an env var of a container reads.
fn env_field<'a>(env: &'a Yaml, name: &str) -> &'a str {
    str_of(
        &named(env, name)["valueFrom"]["fieldRef"]["fieldPath"],
        name,
    )
}

/// Where `container` mounts the volume `volume` (without a subPath).
fn mount_of<'a>(container: &'a Yaml, volume: &str) -> &'a str {
    let mount = named(&container["volumeMounts"], volume);
    assert!(
        mount["subPath"].is_badvalue(),
        "{volume} is mounted with a subPath"
    );
    str_of(&mount["mountPath"], "mountPath")
}
