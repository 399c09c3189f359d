//! `exec` over real SSH: the environment's instances are made with the SDK inside 127.0.0.0/16, so
//! their private addresses are loopback ones, and a real OpenSSH sshd (the test kit's host,
//! confined to a busybox root) listens on each address the test wants reachable.

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use serde_json::Value;
use sila_testkit::{block_on, session, Agent, HostileHost, Outcome, Session, TestHost};
use std::path::{Path, PathBuf};

const BIN: &str = env!("CARGO_BIN_EXE_sila-aws");

fn tags(kind: ResourceType, tags: &[(&str, &str)]) -> TagSpecification {
    let tags = tags.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect();
    TagSpecification::builder().resource_type(kind).set_tags(Some(tags)).build()
}

/// Config of environment `ci` (type sandbox, credential bucket `us-west-2.acme.credentials.ci`),
/// with mhcadminproxy as the jump hostclass.
fn config() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aws.ini"),
        "[disco_aws]\ndefault_environment=ci\nproject_name=acme\njump_box_hostclasses=mhcbastion mhcadminproxy\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("vpc.ini"), "[envtype:sandbox]\ncredential_buckets=ci\n").unwrap();
    dir
}

/// A key pair made by ssh-keygen: (private key file, public key line).
fn key(dir: &Path) -> (PathBuf, String) {
    let path = dir.join("operator");
    let made =
        std::process::Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&path).status();
    assert!(made.unwrap().success());
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    (path, public)
}

/// Environment `ci` in 127.0.0.0/16 with one subnet, 127.0.2.0/24; returns the subnet.
fn environment(ec2: &aws_sdk_ec2::Client) -> String {
    let vpc = block_on(
        ec2.create_vpc()
            .cidr_block("127.0.0.0/16")
            .tag_specifications(tags(ResourceType::Vpc, &[("Name", "ci"), ("type", "sandbox")]))
            .send(),
    )
    .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap();
    let subnet =
        block_on(ec2.create_subnet().vpc_id(vpc).cidr_block("127.0.2.0/24").availability_zone("us-west-2a").send())
            .unwrap();
    subnet.subnet().unwrap().subnet_id().unwrap().to_string()
}

/// An instance with `host_tags`: (id, private address).
fn launch(ec2: &aws_sdk_ec2::Client, subnet: &str, host_tags: &[(&str, &str)]) -> (String, String) {
    let out = block_on(
        ec2.run_instances()
            .image_id("ami-0000000000000de12")
            .instance_type("t3.micro".into())
            .min_count(1)
            .max_count(1)
            .subnet_id(subnet)
            .tag_specifications(tags(ResourceType::Instance, host_tags))
            .send(),
    )
    .unwrap();
    let i = &out.instances()[0];
    (i.instance_id().unwrap().to_string(), i.private_ip_address().unwrap().to_string())
}

/// An sshd on `address` accepting `public`, whose root holds `/etc/marker` = `marker`.
fn host(address: &str, public: &str, marker: &str) -> TestHost {
    let mut host = TestHost::prepare();
    std::fs::write(host.path("/etc/marker"), format!("{marker}\n")).unwrap();
    host.listen(address.parse().unwrap(), public);
    host
}

fn sila(s: &Session, config: &Path, args: &[&str]) -> Outcome {
    Outcome::of(s.command(BIN).arg("--config-dir").arg(config).args(args))
}

fn json(out: &Outcome) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

/// The JSON result of `instance`.
fn result<'a>(all: &'a Value, instance: &str) -> &'a Value {
    all.as_array().unwrap().iter().find(|r| r["instance"] == instance).unwrap_or_else(|| panic!("{instance}: {all}"))
}

const COMMAND: &str = "cat /etc/marker; id -u; if test -f /etc/fail; then echo failing >&2; exit 3; fi";

#[test]
fn exec_runs_on_each_selected_host_and_exits_with_the_highest_status() {
    let s = session();
    let ec2 = s.ec2();
    let cfg = config();
    let (key, public) = key(cfg.path());
    let subnet = environment(&ec2);
    let (web_a, ip_a) = launch(&ec2, &subnet, &[("hostclass", "mhcweb")]);
    let (web_b, ip_b) = launch(&ec2, &subnet, &[("hostclass", "mhcweb")]);
    let (_, ip_api) = launch(&ec2, &subnet, &[("hostclass", "mhcapi")]);
    let _a = host(&ip_a, &public, "web-a");
    let b = host(&ip_b, &public, "web-b");
    let _api = host(&ip_api, &public, "api");
    let key = key.to_str().unwrap();
    let base = ["exec", "--user", "root", "--ssh-key", key, "--command", COMMAND];

    // One host: its lines as they are.
    let out = sila(&s, cfg.path(), &[&base[..], &["--instance", &web_a]].concat());
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "web-a\n0\n");

    // Several: each line prefixed by its instance; the failing host's status is the exit status.
    std::fs::write(b.path("/etc/fail"), "").unwrap();
    for mode in [&[][..], &["--concurrent"][..]] {
        let out = sila(&s, cfg.path(), &[&base[..], &["--hostclass", "mhcweb"], mode].concat());
        assert_eq!(out.code, Some(3), "{mode:?} {out:?}");
        for line in [format!("{web_a}: web-a"), format!("{web_b}: web-b"), format!("{web_b}: failing")] {
            assert!(out.stdout.lines().any(|l| l == line), "{line} missing: {out:?}");
        }
        assert!(!out.stdout.contains("api"), "mhcapi was not selected: {out:?}");
    }

    let out = sila(&s, cfg.path(), &[&["--output", "json"][..], &base[..], &["--hostclass", "mhcweb"]].concat());
    assert_eq!(out.code, Some(3), "{out:?}");
    let all = json(&out);
    assert_eq!(all.as_array().unwrap().len(), 2);
    let a = result(&all, &web_a);
    assert_eq!(
        (a["status"].as_u64(), a["address"].as_str(), &a["through"]),
        (Some(0), Some(ip_a.as_str()), &Value::Null)
    );
    assert_eq!(a["output"], serde_json::json!(["web-a", "0"]));
    assert_eq!(result(&all, &web_b)["status"], 3);
}

#[test]
fn exec_goes_through_the_jump_host_with_keys_from_the_credential_bucket() {
    let s = session();
    let ec2 = s.ec2();
    let cfg = config();
    let (key, public) = key(cfg.path());
    // The operator's key is in the environment's credential bucket, next to something else.
    let s3 = s.s3();
    let bucket = "us-west-2.acme.credentials.ci";
    let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
        .build();
    block_on(s3.create_bucket().bucket(bucket).create_bucket_configuration(location).send()).unwrap();
    for (name, body) in
        [("private_keys/ssh/README", b"not a key".to_vec()), ("private_keys/ssh/ci.pem", std::fs::read(&key).unwrap())]
    {
        block_on(s3.put_object().bucket(bucket).key(name).body(body.into()).send()).unwrap();
    }
    let subnet = environment(&ec2);
    let (_, ip_unready) = launch(&ec2, &subnet, &[("hostclass", "mhcadminproxy")]);
    let (_, ip_jump) = launch(&ec2, &subnet, &[("hostclass", "mhcadminproxy"), ("smoketest", "tested")]);
    let (web, ip_web) = launch(&ec2, &subnet, &[("hostclass", "mhcweb")]);
    let jump_host = host(&ip_jump, &public, "jump");
    let _unready = host(&ip_unready, &public, "not smoke-tested");
    let web_host = host(&ip_web, &public, "web");

    let out = sila(
        &s,
        cfg.path(),
        &[
            "--output",
            "json",
            "exec",
            "--user",
            "root",
            "--jump",
            "always",
            "--hostname",
            "nothing",
            "--command",
            "true",
        ],
    );
    assert_eq!(out.code, Some(1), "no host matches: {out:?}");
    assert!(out.stderr.contains("no running instance of environment ci matches"), "{out:?}");

    let out = sila(
        &s,
        cfg.path(),
        &["--output", "json", "exec", "--user", "root", "--jump", "always", "--instance", &web, "--command", COMMAND],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let all = json(&out);
    let ran = result(&all, &web);
    assert_eq!(ran["through"].as_str(), Some(ip_jump.as_str()), "{all}");
    assert_eq!(ran["output"], serde_json::json!(["web", "0"]));
    // The jump host's sshd relayed the connection to the target's port 22 (and ran nothing itself).
    let log = jump_host.log();
    assert!(log.contains(&format!("target {ip_web} port 22")), "{log}");
    drop(web_host);
}

#[test]
fn an_unreachable_host_needs_a_jump_host_and_a_failed_login_is_status_255() {
    let s = session();
    let ec2 = s.ec2();
    let cfg = config();
    let (key, public) = key(cfg.path());
    let key = key.to_str().unwrap();
    let subnet = environment(&ec2);
    // Nothing listens on the target's address.
    let (web, _) = launch(&ec2, &subnet, &[("hostclass", "mhcweb")]);
    let base = ["exec", "--user", "root", "--ssh-key", key, "--connect-timeout", "3s", "--command", "true"];

    let out = sila(&s, cfg.path(), &[&base[..], &["--hostclass", "mhcweb"]].concat());
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "one line: {out:?}");
    assert!(out.stderr.contains(&format!("{web} not reachable on port 22, and there is no jump host")), "{out:?}");

    // With a jump host, the target is tried through it, and the failure is the host's status 255.
    let (_, ip_jump) = launch(&ec2, &subnet, &[("hostclass", "mhcbastion"), ("smoketest", "tested")]);
    let _jump = host(&ip_jump, &public, "jump");
    let out = sila(&s, cfg.path(), &[&base[..], &["--hostclass", "mhcweb"]].concat());
    assert_eq!(out.code, Some(255), "{out:?}");
    assert!(out.stderr.contains(&format!("{web} (")) && out.stderr.contains("did not answer SSH"), "{out:?}");
    assert!(out.stderr.contains(&format!("through {ip_jump}:22")), "{out:?}");

    // Bad usage: no selector, or two kinds of selector.
    for bad in [&base[..], &[&base[..], &["--hostclass", "mhcweb", "--instance", &web]].concat()[..]] {
        let out = sila(&s, cfg.path(), bad);
        assert_eq!(out.code, Some(2), "{out:?}");
        assert!(out.stderr.contains("exactly one kind of selector"), "{out:?}");
    }
}

#[test]
fn exec_refuses_an_agent_channel_it_did_not_ask_for_directly_and_through_the_jump_host() {
    let s = session();
    let ec2 = s.ec2();
    let cfg = config();
    let (key, _) = key(cfg.path());
    let key = key.to_str().unwrap();
    // The operator's agent is loaded (with another key than the one that logs in).
    let agent = Agent::start(cfg.path());
    let subnet = environment(&ec2);
    let (_, ip_jump) = launch(&ec2, &subnet, &[("hostclass", "mhcbastion"), ("smoketest", "tested")]);
    let (web, ip_web) = launch(&ec2, &subnet, &[("hostclass", "mhcweb")]);
    let run = |jump: &str| {
        let args =
            ["exec", "--user", "root", "--ssh-key", key, "--jump", jump, "--instance", &web, "--command", "true"];
        Outcome::of(s.command(BIN).env("SSH_AUTH_SOCK", &agent.socket).arg("--config-dir").arg(cfg.path()).args(args))
    };

    // A hostile target, reached directly: it opens an agent channel after the login and at the
    // command, and gets neither the agent's keys nor a signature.
    let target = HostileHost::start(ip_web.parse().unwrap(), false);
    let out = run("never");
    assert_eq!(out.code, Some(0), "{out:?}\n{}", target.log());
    target.assert_agent_refused();
    assert!(target.log().contains("exec true"), "{}", target.log());
    assert!(!target.log().contains(&agent.fingerprint), "{}", target.log());
    drop(target);

    // Through a hostile jump host to a hostile target: neither gets the agent.
    let jump = HostileHost::start(ip_jump.parse().unwrap(), true);
    let target = HostileHost::start(ip_web.parse().unwrap(), false);
    let out = run("always");
    assert_eq!(out.code, Some(0), "{out:?}\njump: {}\ntarget: {}", jump.log(), target.log());
    assert!(jump.log().contains(&format!("relay {ip_web}:22")), "{}", jump.log());
    jump.assert_agent_refused();
    target.assert_agent_refused();
    for log in [jump.log(), target.log()] {
        assert!(!log.contains(&agent.fingerprint), "{log}");
    }
}

#[test]
fn exec_output_is_escaped_and_timeout_ends_the_command_with_status_124() {
    let s = session();
    let ec2 = s.ec2();
    let cfg = config();
    let (key, public) = key(cfg.path());
    let key = key.to_str().unwrap();
    let subnet = environment(&ec2);
    let (web, ip) = launch(&ec2, &subnet, &[("hostclass", "mhcweb")]);
    let host = host(&ip, &public, "web");
    let base = ["exec", "--user", "root", "--ssh-key", key, "--instance", &web];

    // Escape sequences (a window title, colours, a C1 CSI) are spelled out; tabs stay tabs.
    let noisy = r"printf 'a\033[31mred\007\tb\r\n'; printf 'c1 \302\233 2J\n'; printf 'err \033]0;owned\007\n' >&2";
    let out = sila(&s, cfg.path(), &[&base[..], &["--command", noisy]].concat());
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!out.stdout.contains('\x1b') && !out.stdout.contains('\x07') && !out.stdout.contains('\u{9b}'), "{out:?}");
    for line in ["a\\x1b[31mred\\x07\tb", "c1 \\u{9b} 2J", "err \\x1b]0;owned\\x07"] {
        assert!(out.stdout.lines().any(|l| l == line), "{line}: {out:?}");
    }
    let out = sila(&s, cfg.path(), &[&["--output", "json"][..], &base[..], &["--command", noisy]].concat());
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!out.stdout.contains("\\u001b") && !out.stdout.contains('\x1b'), "{}", out.stdout);
    let all = json(&out);
    assert!(result(&all, &web)["output"].as_array().unwrap().iter().any(|l| l == "a\\x1b[31mred\\x07\tb"), "{all}");

    // --timeout: the command (and what it started) is ended, and the host's status is 124.
    let slow = "sleep 300 & echo $! > /tmp/sleep.pid; echo started; wait; echo never";
    let started = std::time::Instant::now();
    let out = sila(&s, cfg.path(), &[&base[..], &["--timeout", "2s", "--command", slow]].concat());
    assert_eq!(out.code, Some(124), "{out:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
    assert_eq!(out.stdout, "started\n", "{out:?}");
    assert!(out.stderr.contains(&format!("{web} ({ip}): timed out after 2s: the command was ended")), "{out:?}");
    if let Err(e) = host.wait_ended("/tmp/sleep.pid", std::time::Duration::from_secs(5)) {
        panic!("the remote sleep: {e}: {}", host.log());
    }
    let out =
        sila(&s, cfg.path(), &[&["--output", "json"][..], &base[..], &["--timeout", "1s", "--command", slow]].concat());
    assert_eq!(out.code, Some(124), "{out:?}");
    let all = json(&out);
    let ran = result(&all, &web);
    assert_eq!((ran["status"].as_u64(), ran["timed_out"].as_bool()), (Some(124), Some(true)), "{all}");

    // A command that ends in time is not touched.
    let out = sila(&s, cfg.path(), &[&base[..], &["--timeout", "30s", "--command", "cat /etc/marker"]].concat());
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), "web\n"), "{out:?}");
}
