//! The bake end to end: the emulator plays EC2, a real sshd confined to a busybox root plays the
//! builder (it comes up on the builder's address once the emulator says the builder runs, with the
//! key pair's public key for root, as cloud-init would). Checked with an independent EC2 client and
//! by looking into the builder's root.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag};
use serde_json::Value;
use sila_testkit::fixtures::{image, tag_spec};
use sila_testkit::{block_on, session, stable, Agent, HostileHost, Outcome, Session, TestHost};
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sila-bake");

fn f(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The bakery as `sila-vpc` makes it, inside 127.0.0.0/16 so builders get loopback addresses.
/// The bakery environment a bake looks for; returns its VPC and its tunnel subnet.
fn bakery(ec2: &aws_sdk_ec2::Client) -> (String, String) {
    let vpc = block_on(
        ec2.create_vpc()
            .cidr_block("127.0.0.0/16")
            .tag_specifications(tag_spec(ResourceType::Vpc, &[("Name", "bakery"), ("type", "build")]))
            .send(),
    )
    .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let tunnel = [("Name", "bakery_tunnel_us-west-2a"), ("meta_network", "tunnel"), ("subnet", "us-west-2a")];
    let subnet = block_on(
        ec2.create_subnet()
            .vpc_id(&vpc)
            .cidr_block("127.0.1.0/24")
            .availability_zone("us-west-2a")
            .tag_specifications(tag_spec(ResourceType::Subnet, &tunnel))
            .send(),
    )
    .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
    block_on(
        ec2.create_security_group()
            .vpc_id(&vpc)
            .group_name("bakery_tunnel")
            .description("tunnel")
            .tag_specifications(tag_spec(ResourceType::SecurityGroup, &[("meta_network", "tunnel")]))
            .send(),
    )
    .unwrap();
    (vpc, subnet)
}

fn write(path: &Path, text: &str, mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A config dir of its own (not the repo's sample): two stages, a phase-1 section starting from
/// `upstream`, a hostclass with a product line, init scripts, and a discoroot with variants.
fn config(upstream: &str, phase2: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        &root.join("aws.ini"),
        &format!(
            "[disco_aws]\ndefault_environment=ci\n\n[bake]\nbakery_environment=bakery\nbakery_instance_type=t3.small\n\
             phase1_ami_name=base_phase1\nphase1_hostclass=mhcbase\nphase=2\nami_stages=untested tested\n\
             data_destination=/opt/acme/config\n\n[base_phase1]\nbake_ami={upstream}\nphase=1\n\n\
             [mhcweb]\nproduct_line=storefront\n"
        ),
        0o644,
    );
    write(
        &root.join("init/phase1.sh"),
        "#!/bin/sh\nset -eu\necho \"$1 $2 $3\" > /var/log/phase1.args\necho phase 1 done\n",
        0o755,
    );
    write(&root.join("init/phase2.sh"), phase2, 0o755);
    write(&root.join("discoroot/etc/app/app.conf"), "plain\n", 0o644);
    write(&root.join("discoroot/etc/app/app.conf~mhcweb"), "web\n", 0o644);
    write(&root.join("discoroot/etc/app/only~mhcother"), "other\n", 0o644);
    write(&root.join("discoroot/usr/local/bin/run-app"), "#!/bin/sh\n", 0o750);
    write(
        &root.join("discoroot/acfg.metadata"),
        "# path mode owner group\n/etc/app/app.conf 0640 app appgroup\n/etc/app/app.conf~mhcother 0600 other other\n/etc/missing 0600 root root\n",
        0o644,
    );
    write(&root.join(".nosync"), "/secrets/\n", 0o644);
    write(&root.join("secrets/token"), "do not upload\n", 0o600);
    dir
}

/// Phase 2: records its arguments and the forwarded agent, waits (10 s at most) until the test has
/// asked that agent for its keys, then prints a line.
const PHASE2: &str = "#!/bin/sh\nset -eu\necho \"$1 $2 $3\" > /var/log/phase2.args\necho \"${SSH_AUTH_SOCK:-none}\" > /var/log/agent.sock\n\
i=0\nwhile [ ! -e /var/log/agent.checked ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done\necho \"phase 2 of $1 done\"\n";

/// Starts a bake (stdout and stderr into files of `out`), without the developer's ssh-agent.
fn spawn(s: &Session, config: &Path, out: &Path, args: &[&str], agent: Option<&Path>) -> Child {
    let mut command = s.command(BIN);
    command.env_remove("SSH_AUTH_SOCK").env("USER", "ci-baker");
    if let Some(agent) = agent {
        command.env("SSH_AUTH_SOCK", agent);
    }
    command
        .arg("--config-dir")
        .arg(config)
        .arg("bake")
        .args(args)
        .stdout(std::fs::File::create(out.join("stdout")).unwrap())
        .stderr(std::fs::File::create(out.join("stderr")).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

fn finish(mut child: Child, out: &Path, limit: Duration) -> Outcome {
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the bake did not end within {limit:?}: {}", std::fs::read_to_string(out.join("stderr")).unwrap());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Outcome {
        code: status.code(),
        stdout: std::fs::read_to_string(out.join("stdout")).unwrap(),
        stderr: std::fs::read_to_string(out.join("stderr")).unwrap(),
    }
}

/// Plays the builder's boot: once the bake's instance runs, puts its key pair's public key in root's
/// authorized_keys and starts sshd on the instance's private (`local`) or public address.
fn boot(s: &Session, host: &mut TestHost, child: &mut Child, out: &Path, local: bool) -> String {
    let ec2 = s.ec2();
    let i = running_builder(s, child, out);
    let address = if local { i.private_ip_address() } else { i.public_ip_address() };
    let address = address.unwrap_or_else(|| panic!("builder without the address wanted: {i:?}"));
    let key =
        block_on(ec2.describe_key_pairs().key_names(i.key_name().unwrap()).include_public_key(true).send()).unwrap();
    let public = key.key_pairs()[0].public_key().unwrap().to_string();
    host.listen(address.parse().unwrap(), &format!("{public}\n"));
    i.instance_id().unwrap().to_string()
}

/// Waits until the bake's builder runs (within 60 s, while the bake is still going); the instance.
fn running_builder(s: &Session, child: &mut Child, out: &Path) -> aws_sdk_ec2::types::Instance {
    let ec2 = s.ec2();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the bake ended ({status}) before its builder ran: {}",
                std::fs::read_to_string(out.join("stderr")).unwrap()
            );
        }
        let found = block_on(
            ec2.describe_instances()
                .filters(f("tag-key", "sila-bake-run"))
                .filters(f("instance-state-name", "running"))
                .send(),
        )
        .unwrap();
        if let Some(i) = found.reservations().iter().flat_map(|r| r.instances()).next() {
            return i.clone();
        }
        assert!(Instant::now() < deadline, "no builder ran");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn image_tags(ec2: &aws_sdk_ec2::Client, id: &str) -> (String, BTreeMap<String, String>, Vec<String>) {
    let out = block_on(ec2.describe_images().image_ids(id).send()).unwrap();
    let image = &out.images()[0];
    let tags = image.tags().iter().map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string())).collect();
    let snapshots =
        image.block_device_mappings().iter().filter_map(|b| b.ebs()?.snapshot_id().map(str::to_string)).collect();
    (image.name().unwrap().to_string(), tags, snapshots)
}

/// Nothing of a bake run is left: builders terminated, no temporary key pair or group, and no image
/// named `prefix *`.
fn assert_nothing_left(ec2: &aws_sdk_ec2::Client, prefix: &str) {
    let live = block_on(
        ec2.describe_instances()
            .filters(f("tag-key", "sila-bake-run"))
            .filters(f("instance-state-name", "pending"))
            .filters(f("instance-state-name", "running"))
            .send(),
    )
    .unwrap();
    let live: Vec<_> = live
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| i.state().and_then(|s| s.name()).map(|n| n.as_str()) != Some("terminated"))
        .collect();
    assert!(live.is_empty(), "builders left: {live:?}");
    let keys = block_on(ec2.describe_key_pairs().send()).unwrap();
    assert!(!keys.key_pairs().iter().any(|k| k.key_name().unwrap_or_default().starts_with("sila-bake-")), "{keys:?}");
    let groups = block_on(ec2.describe_security_groups().send()).unwrap();
    assert!(
        !groups.security_groups().iter().any(|g| g.group_name().unwrap_or_default().starts_with("sila-bake-")),
        "{groups:?}"
    );
    let images =
        block_on(ec2.describe_images().owners("self").filters(f("name", &format!("{prefix} *"))).send()).unwrap();
    assert!(images.images().is_empty(), "images left: {:?}", images.images());
}

fn json(out: &Outcome) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

#[test]
fn phase_one_then_phase_two_over_real_ssh() {
    let s = session();
    let ec2 = s.ec2();
    bakery(&ec2);
    let upstream = image(&ec2, "upstream debian 12", &[]);
    let cfg = config(&upstream, PHASE2);
    let work = tempfile::tempdir().unwrap();

    // Phase 1, reaching the builder on its private address.
    let mut host = TestHost::prepare();
    let mut child = spawn(&s, cfg.path(), work.path(), &["--use-local-ip", "--output", "json"], None);
    let builder = boot(&s, &mut host, &mut child, work.path(), true);
    let out = finish(child, work.path(), Duration::from_secs(120));
    assert_eq!(out.code, Some(0), "{out:?}\nsshd: {}", host.log());
    let result = json(&out);
    let run = result["run_id"].as_str().unwrap();
    let phase1 = result["image_id"].as_str().unwrap().to_string();
    assert_eq!(std::fs::read_to_string(host.path("/var/log/phase1.args")).unwrap(), format!("mhcbase #None {run}\n"));
    assert!(out.stderr.contains("[phase1 mhcbase] phase 1 done"), "streamed with a prefix: {}", out.stderr);
    let (name, tags, _) = image_tags(&ec2, &phase1);
    assert!(name.starts_with("base_phase1 "), "{name}");
    assert_eq!(tags["hostclass"], "mhcbase");
    assert_eq!(tags["source_ami"], upstream);
    assert_eq!(tags["stage"], "untested");
    assert!(!host.authorized_keys().exists(), "root's authorized_keys removed before imaging");
    let state = block_on(ec2.describe_instances().instance_ids(&builder).send()).unwrap();
    let state = state.reservations()[0].instances()[0].state().unwrap().name().unwrap().as_str().to_string();
    assert_eq!(state, "terminated");
    drop(host);

    // Phase 2 needs a phase-1 image in the final stage.
    let promoted = Outcome::of(
        s.command(BIN).arg("--config-dir").arg(cfg.path()).args(["promote", "--ami", &phase1, "--stage", "tested"]),
    );
    assert_eq!(promoted.code, Some(0), "{promoted:?}");

    // Phase 2, with an ssh-agent to forward ([bake] forward_agent). (The emulator's public addresses
    // of instances are not loopback addresses, so every test reaches its builder on the private one.)
    forward_agent(cfg.path(), true);
    let agent = Agent::start(work.path());
    let mut host = TestHost::prepare();
    let args =
        ["--hostclass", "mhcweb", "--use-local-ip", "--tag", "team:web", "--tag", "baker:mallory", "--output", "json"];
    let mut child = spawn(&s, cfg.path(), work.path(), &args, Some(&agent.socket));
    boot(&s, &mut host, &mut child, work.path(), true);
    // The init script waits while the test asks the forwarded agent (sshd's socket for it is made
    // outside the root) for its keys.
    let deadline = Instant::now() + Duration::from_secs(60);
    let sock = loop {
        if let Ok(text) = std::fs::read_to_string(host.path("/var/log/agent.sock")) {
            if text.ends_with('\n') {
                break text.trim().to_string();
            }
        }
        assert!(Instant::now() < deadline, "the init script never ran: {}", host.log());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_ne!(sock, "none", "SSH_AUTH_SOCK is set for the init script");
    let listed = std::process::Command::new("ssh-add").arg("-l").env("SSH_AUTH_SOCK", &sock).output().unwrap();
    write(&host.path("/var/log/agent.checked"), "", 0o644);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains(&agent.fingerprint),
        "the forwarded agent answers with the operator's key: {listed:?}"
    );
    let out = finish(child, work.path(), Duration::from_secs(120));
    assert_eq!(out.code, Some(0), "{out:?}\nsshd: {}", host.log());
    let result = json(&out);
    let run = result["run_id"].as_str().unwrap();
    let id = result["image_id"].as_str().unwrap();
    assert!(out.stderr.contains("[phase2 mhcweb] phase 2 of mhcweb done"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(host.path("/var/log/phase2.args")).unwrap(), format!("mhcweb #None {run}\n"));

    // The config tree, minus .nosync excludes.
    assert!(host.path("/opt/acme/config/aws.ini").is_file());
    assert!(host.path("/opt/acme/config/init/phase2.sh").is_file());
    assert!(!host.path("/opt/acme/config/secrets").exists(), "excluded by .nosync");
    assert!(!host.path("/opt/acme/config/.nosync").exists());
    // The overlay: the hostclass variant, modes, owners (accounts created), no other hostclass's file.
    let conf = host.path("/etc/app/app.conf");
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), "web\n");
    let meta = std::fs::metadata(&conf).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o640);
    let passwd = std::fs::read_to_string(host.path("/etc/passwd")).unwrap();
    let group = std::fs::read_to_string(host.path("/etc/group")).unwrap();
    let id_of = |file: &str, name: &str, field: usize| -> u32 {
        let line =
            file.lines().find(|l| l.starts_with(&format!("{name}:"))).unwrap_or_else(|| panic!("{name} in {file}"));
        line.split(':').nth(field).unwrap().parse().unwrap()
    };
    assert_eq!(meta.uid(), id_of(&passwd, "app", 2), "{passwd}");
    assert_eq!(meta.gid(), id_of(&group, "appgroup", 2), "{group}");
    assert_eq!(std::fs::metadata(host.path("/usr/local/bin/run-app")).unwrap().mode() & 0o7777, 0o750);
    assert!(!host.path("/etc/app/only").exists());
    assert!(out.stderr.contains("acfg.metadata:4: /etc/missing is not on this machine; skipped"), "{}", out.stderr);

    // The image, with every tag, and its snapshots; the run's tags are gone from both.
    let (name, tags, snapshots) = image_tags(&ec2, id);
    assert!(name.starts_with("mhcweb "), "{name}");
    let expected = [
        ("hostclass", "mhcweb"),
        ("stage", "untested"),
        ("source_ami", phase1.as_str()),
        ("baker", "ci-baker"),
        ("is_private", "False"),
        ("productline", "storefront"),
        ("team", "web"),
    ];
    for (k, v) in expected {
        assert_eq!(tags.get(k).map(String::as_str), Some(v), "{k} in {tags:?}");
    }
    assert!(tags["version-sila"].starts_with(env!("CARGO_PKG_VERSION")), "{tags:?}");
    assert!(!tags.contains_key("sila-bake-run") && !tags.contains_key("sila-bake-until"), "{tags:?}");
    assert!(!snapshots.is_empty());
    let snaps = block_on(ec2.describe_snapshots().snapshot_ids(&snapshots[0]).send()).unwrap();
    let snap_tags: BTreeMap<_, _> =
        snaps.snapshots()[0].tags().iter().map(|t| (t.key().unwrap(), t.value().unwrap())).collect();
    assert_eq!(snap_tags.get("hostclass"), Some(&"mhcweb"), "{snap_tags:?}");
    assert!(!snap_tags.contains_key("sila-bake-run"));
    // Nothing temporary is left (the new image is kept: only temporary resources are checked).
    assert_nothing_left(&ec2, "nothing-is-named-like-this");
}

/// A phase-2 bake of mhcweb with this init script, under way: its builder has booted.
fn bake_phase2(
    s: &Session,
    script: &str,
    extra: &[&str],
) -> (aws_sdk_ec2::Client, tempfile::TempDir, tempfile::TempDir, TestHost, Child) {
    let ec2 = s.ec2();
    bakery(&ec2);
    let upstream = image(&ec2, "upstream", &[]);
    image(&ec2, "base_phase1 0000000100", &[("stage", "tested")]);
    let cfg = config(&upstream, script);
    let work = tempfile::tempdir().unwrap();
    let mut host = TestHost::prepare();
    let mut args = vec!["--hostclass", "mhcweb", "--use-local-ip"];
    args.extend(extra);
    let mut child = spawn(s, cfg.path(), work.path(), &args, None);
    boot(s, &mut host, &mut child, work.path(), true);
    (ec2, cfg, work, host, child)
}

#[test]
fn a_failing_init_script_leaves_nothing_behind() {
    let s = session();
    // Its output (streamed, and quoted in the error) has escape sequences: they are spelled out.
    let (ec2, _cfg, work, _host, child) =
        bake_phase2(&s, "#!/bin/sh\necho about to fail\nprintf 'boom \\033]0;owned\\007\\n' >&2\nexit 3\n", &[]);
    let out = finish(child, work.path(), Duration::from_secs(120));
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("bake failed at step run the init script"), "{}", out.stderr);
    assert!(out.stderr.contains("exit status 3") && out.stderr.contains("boom"), "{}", out.stderr);
    assert!(out.stderr.contains("[phase2 mhcweb] boom \\x1b]0;owned\\x07\n"), "streamed: {}", out.stderr);
    assert!(out.stderr.contains("\n  boom \\x1b]0;owned\\x07"), "quoted: {}", out.stderr);
    assert!(!out.stderr.contains('\x1b') && !out.stderr.contains('\x07'), "{}", out.stderr);
    assert!(out.stderr.contains("everything it made is removed"), "{}", out.stderr);
    assert_nothing_left(&ec2, "mhcweb");
}

#[test]
fn sigint_in_the_middle_takes_everything_back() {
    interrupted_in_the_middle("INT");
}

#[test]
fn sigterm_in_the_middle_takes_everything_back() {
    interrupted_in_the_middle("TERM");
}

fn interrupted_in_the_middle(signal: &str) {
    let s = session();
    let (ec2, _cfg, work, host, child) = bake_phase2(&s, "#!/bin/sh\ntouch /var/log/started\nsleep 60\n", &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !host.path("/var/log/started").exists() {
        assert!(Instant::now() < deadline, "the init script never started: {}", host.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = Instant::now();
    let kill = std::process::Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status();
    assert!(kill.unwrap().success());
    let out = finish(child, work.path(), Duration::from_secs(60));
    // Interrupted: 130, as every tool, once everything is taken back.
    assert_eq!(out.code, Some(130), "{out:?}");
    assert!(started.elapsed() < Duration::from_secs(30), "it did not wait for the init script to end");
    assert!(out.stderr.contains(&format!("interrupted by SIG{signal}")), "{}", out.stderr);
    assert!(out.stderr.contains("step \"run the init script\" failed; taking back"), "{}", out.stderr);
    assert_nothing_left(&ec2, "mhcweb");
}

#[test]
fn dry_run_and_bad_input_change_nothing() {
    let s = session();
    let ec2 = s.ec2();
    bakery(&ec2);
    let upstream = image(&ec2, "upstream", &[]);
    let base = image(&ec2, "base_phase1 0000000100", &[("stage", "tested")]);
    let cfg = config(&upstream, PHASE2);
    s.forget_requests();
    let run = |args: &[&str]| {
        Outcome::of(
            s.command(BIN)
                .env_remove("SSH_AUTH_SOCK")
                .env("USER", "ci-baker")
                .arg("--config-dir")
                .arg(cfg.path())
                .arg("bake")
                .args(args),
        )
    };

    let out = run(&["--hostclass", "mhcweb", "--dry-run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains(&format!("bake mhcweb (phase 2) from {base} (base_phase1 0000000100)")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("+ run '/opt/acme/config/init/phase2.sh' 'mhcweb' '#None' "), "{}", out.stdout);
    assert!(out.stdout.contains("overlay discoroot for mhcweb: 2 file(s), 2 metadata line(s)"), "{}", out.stdout);
    assert!(out.stdout.contains("dry run: nothing changed"), "{}", out.stdout);
    // The whole plan, as it was before the bake took `&Settings` (ids and the config dir as placeholders).
    let shown = |out: &Outcome| stable(&out.stdout.replace(&cfg.path().display().to_string(), "<dir>"));
    insta::assert_snapshot!("bake_dry_run", shown(&out));
    let out = run(&["--hostclass", "mhcweb", "--dry-run", "--output", "json"]);
    assert_eq!(json(&out)["source_ami"], base.as_str());
    insta::assert_snapshot!("bake_dry_run_json", shown(&out));
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());

    let out = run(&["--hostclass", "mhcnope"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("--hostclass mhcnope: unknown hostclass"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    let out = run(&["--hostclass", "mhcweb", "--tag", "novalue"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    let out = run(&["--hostclass", "mhcweb", "--stage", "shipped"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    let out = run(&["--hostclass", "mhcweb", "--source-ami", "ami-00000000000000bad"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("source image ami-00000000000000bad does not exist"), "{}", out.stderr);
    let elsewhere = cfg.path().join("aws.ini");
    let text =
        std::fs::read_to_string(&elsewhere).unwrap().replace("bakery_environment=bakery", "bakery_environment=nowhere");
    std::fs::write(&elsewhere, text).unwrap();
    let out = run(&["--hostclass", "mhcweb"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("bakery environment nowhere does not exist"), "{}", out.stderr);
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
}

/// What a bake run leaves when it is killed, made the way the bake makes it: a key pair and a group
/// named after the run, a builder in that group, an unfinished image described as the bake describes
/// it, each with the run's tags. Returns the builder and the image.
fn leftovers_of(ec2: &aws_sdk_ec2::Client, vpc: &str, subnet: &str, run: &str, until: &str) -> (String, String) {
    let tags = [("sila-bake-run", run), ("sila-bake-until", until)];
    let name = format!("sila-bake-{run}");
    block_on(ec2.create_key_pair().key_name(&name).tag_specifications(tag_spec(ResourceType::KeyPair, &tags)).send())
        .unwrap();
    let group = block_on(
        ec2.create_security_group()
            .vpc_id(vpc)
            .group_name(&name)
            .description("SSH to a Sila bake builder (temporary)")
            .tag_specifications(tag_spec(ResourceType::SecurityGroup, &tags))
            .send(),
    )
    .unwrap();
    let builder = block_on(
        ec2.run_instances()
            .image_id("ami-0000000000000de12")
            .min_count(1)
            .max_count(1)
            .subnet_id(subnet)
            .security_group_ids(group.group_id().unwrap())
            .key_name(&name)
            .tag_specifications(tag_spec(ResourceType::Instance, &tags))
            .send(),
    )
    .unwrap()
    .instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    let made = block_on(
        ec2.create_image()
            .instance_id(&builder)
            .name(format!("mhcweb 00000002{}", run.len()))
            .description(format!("mhcweb baked by sila-bake run {run} from ami-0000000000000de12"))
            .tag_specifications(tag_spec(ResourceType::Image, &tags))
            .send(),
    )
    .unwrap();
    (builder, made.image_id().unwrap().to_string())
}

fn state_of(ec2: &aws_sdk_ec2::Client, id: &str) -> String {
    let out = block_on(ec2.describe_instances().instance_ids(id).send()).unwrap();
    out.reservations()[0].instances()[0].state().unwrap().name().unwrap().as_str().to_string()
}

#[test]
fn reap_removes_what_finished_runs_left_and_nothing_else() {
    let s = session();
    let ec2 = s.ec2();
    let (vpc, subnet) = bakery(&ec2);
    let far =
        (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3600).to_string();
    let (old_builder, unfinished) = leftovers_of(&ec2, &vpc, &subnet, "old-run", "1000");
    let (live_builder, live_image) = leftovers_of(&ec2, &vpc, &subnet, "live-run", &far);
    let finished = image(&ec2, "mhcweb 0000000100", &[("stage", "untested")]);
    // Run tags Sila did not write: on a host (as `sila-aws tag` or the console could put them), on an
    // image, a key pair and a group of other names.
    let forged = [("sila-bake-run", "old-run"), ("sila-bake-until", "1000")];
    let host = block_on(
        ec2.run_instances().image_id("ami-0000000000000de12").min_count(1).max_count(1).subnet_id(&subnet).send(),
    )
    .unwrap()
    .instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    let tags: Vec<Tag> = forged.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect();
    block_on(ec2.create_tags().resources(&host).set_tags(Some(tags)).send()).unwrap();
    let precious = image(&ec2, "mhcdb 0000000100", &forged);
    block_on(ec2.create_key_pair().key_name("ops").tag_specifications(tag_spec(ResourceType::KeyPair, &forged)).send())
        .unwrap();
    block_on(
        ec2.create_security_group()
            .vpc_id(&vpc)
            .group_name("ops")
            .description("t")
            .tag_specifications(tag_spec(ResourceType::SecurityGroup, &forged))
            .send(),
    )
    .unwrap();
    let cfg = config("ami-unused", PHASE2);
    let reap = |args: &[&str]| {
        Outcome::of(s.command(BIN).arg("--config-dir").arg(cfg.path()).arg("reap").args(args).stdin(Stdio::null()))
    };

    s.forget_requests();
    let out = reap(&["--dry-run", "--output", "json"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let mut listed: Vec<String> =
        json(&out).as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
    listed.sort();
    let old_group = block_on(ec2.describe_security_groups().filters(f("group-name", "sila-bake-old-run")).send())
        .unwrap()
        .security_groups()[0]
        .group_id()
        .unwrap()
        .to_string();
    let mut expected = vec![old_builder.clone(), unfinished.clone(), old_group, "sila-bake-old-run".to_string()];
    expected.sort();
    assert_eq!(listed, expected);
    // Not on a terminal, and no --yes: refused, nothing changed.
    let out = reap(&[]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());

    let out = reap(&["--yes"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let mut keys: Vec<String> = block_on(ec2.describe_key_pairs().send())
        .unwrap()
        .key_pairs()
        .iter()
        .map(|k| k.key_name().unwrap().to_string())
        .collect();
    keys.sort();
    assert_eq!(keys, ["ops", "sila-bake-live-run"], "a run still within its deadline keeps its key pair");
    let groups = block_on(ec2.describe_security_groups().filters(f("vpc-id", &vpc)).send()).unwrap();
    let names: Vec<&str> = groups.security_groups().iter().filter_map(|g| g.group_name()).collect();
    assert!(names.contains(&"sila-bake-live-run") && names.contains(&"ops"), "{names:?}");
    assert!(!names.contains(&"sila-bake-old-run"), "{names:?}");
    assert_eq!(state_of(&ec2, &old_builder), "terminated");
    assert_eq!(state_of(&ec2, &live_builder), "running", "within its deadline");
    assert_eq!(state_of(&ec2, &host), "running", "run tags Sila did not write");
    assert!(block_on(ec2.describe_images().image_ids(&unfinished).send()).map_or(true, |o| o.images().is_empty()));
    for kept in [&finished, &live_image, &precious] {
        assert!(!block_on(ec2.describe_images().image_ids(kept).send()).unwrap().images().is_empty(), "{kept}");
    }

    // --older-than, given explicitly, takes the live run too; still not the forged ones.
    let out = reap(&["--older-than", "0s", "--yes"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(state_of(&ec2, &live_builder), "terminated");
    assert_eq!(state_of(&ec2, &host), "running");
    assert!(!block_on(ec2.describe_images().image_ids(&precious).send()).unwrap().images().is_empty());
}

#[test]
fn reap_asks_on_a_terminal() {
    let s = session();
    let ec2 = s.ec2();
    let (vpc, subnet) = bakery(&ec2);
    let (builder, _) = leftovers_of(&ec2, &vpc, &subnet, "old-run", "1000");
    let cfg = config("ami-unused", PHASE2);
    // `script` gives the command a terminal; the answer comes through it.
    let on_terminal = |answer: &str| {
        let command = format!("{BIN} --config-dir {} reap", cfg.path().display());
        let mut child = s
            .command("script")
            .args(["-qec", &command, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs(3));
        // (Before it asked, a reap that did not wait has closed the pipe already.)
        let _ = std::io::Write::write_all(child.stdin.as_mut().unwrap(), answer.as_bytes());
        let out = child.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string())
    };
    s.forget_requests();
    let (code, text) = on_terminal("n\n");
    assert_ne!(code, Some(0), "{text}");
    assert!(text.contains("Remove"), "{text}");
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
    assert_eq!(state_of(&ec2, &builder), "running");
    let (code, text) = on_terminal("y\n");
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(state_of(&ec2, &builder), "terminated");
}

/// Where the private half of a configured `bake_key` is.
#[derive(Clone, Copy, PartialEq)]
enum KeySource {
    Bucket,
    Agent,
    File,
}

/// A phase-2 bake with `[bake] bake_key=ci-bake`, whose private key is only in `source`.
fn bake_with_configured_key(source: KeySource) {
    let s = session();
    let ec2 = s.ec2();
    bakery(&ec2);
    let upstream = image(&ec2, "upstream", &[]);
    image(&ec2, "base_phase1 0000000100", &[("stage", "tested")]);
    let cfg = config(&upstream, "#!/bin/sh\necho baked with the configured key\n");
    let ini = cfg.path().join("aws.ini");
    let text = std::fs::read_to_string(&ini).unwrap();
    let text = text
        .replace("default_environment=ci\n", "default_environment=ci\nproject_name=acme\n")
        .replace("bakery_instance_type=t3.small\n", "bakery_instance_type=t3.small\nbake_key=ci-bake\n");
    std::fs::write(&ini, text).unwrap();
    write(&cfg.path().join("vpc.ini"), "[envtype:build]\ncredential_buckets=build\n", 0o644);

    // The operator's key: its public half imported as the key pair.
    let work = tempfile::tempdir().unwrap();
    let agent = (source == KeySource::Agent).then(|| Agent::start(work.path()));
    let key = match &agent {
        Some(_) => work.path().join("agent_key"),
        None => {
            let key = work.path().join("ci-bake");
            let made = std::process::Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(&key)
                .status()
                .unwrap();
            assert!(made.success());
            key
        }
    };
    let public = std::fs::read(key.with_extension("pub")).unwrap();
    let blob = aws_sdk_ec2::primitives::Blob::new(public);
    block_on(ec2.import_key_pair().key_name("ci-bake").public_key_material(blob).send()).unwrap();
    // The bakery's credential bucket holds something that is not a key, and, for Bucket, the key.
    let s3 = s.s3();
    let bucket = "us-west-2.acme.credentials.build";
    let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
        .build();
    block_on(s3.create_bucket().bucket(bucket).create_bucket_configuration(location).send()).unwrap();
    let mut objects = vec![("private_keys/ssh/README", b"keys".to_vec())];
    if source == KeySource::Bucket {
        objects.push(("private_keys/ssh/ci-bake.pem", std::fs::read(&key).unwrap()));
    }
    for (name, body) in objects {
        block_on(s3.put_object().bucket(bucket).key(name).body(body.into()).send()).unwrap();
    }

    let mut args = vec!["--hostclass", "mhcweb", "--use-local-ip"];
    let file = key.display().to_string();
    if source == KeySource::File {
        args.extend(["--ssh-key", file.as_str()]);
    }
    let mut host = TestHost::prepare();
    let mut child = spawn(&s, cfg.path(), work.path(), &args, agent.as_ref().map(|a| a.socket.as_path()));
    boot(&s, &mut host, &mut child, work.path(), true);
    let out = finish(child, work.path(), Duration::from_secs(120));
    assert_eq!(out.code, Some(0), "{out:?}\nsshd: {}", host.log());
    assert!(out.stdout.contains("+ key pair ci-bake\n"), "{}", out.stdout);
    assert!(out.stderr.contains("s3://us-west-2.acme.credentials.build/private_keys/ssh/README"), "{}", out.stderr);
    let keys = block_on(ec2.describe_key_pairs().send()).unwrap();
    let names: Vec<&str> = keys.key_pairs().iter().filter_map(|k| k.key_name()).collect();
    assert_eq!(names, ["ci-bake"], "the configured key pair stays; no temporary one was made");
    assert_nothing_left(&ec2, "nothing-is-named-like-this");
}

#[test]
fn a_configured_bake_key_from_the_credential_bucket() {
    bake_with_configured_key(KeySource::Bucket);
}

#[test]
fn a_configured_bake_key_from_the_agent() {
    bake_with_configured_key(KeySource::Agent);
}

#[test]
fn a_configured_bake_key_from_a_file() {
    bake_with_configured_key(KeySource::File);
}

#[test]
fn a_configured_bake_key_nowhere_to_be_found_is_refused_before_anything_is_made() {
    let s = session();
    let ec2 = s.ec2();
    bakery(&ec2);
    image(&ec2, "base_phase1 0000000100", &[("stage", "tested")]);
    let cfg = config("ami-unused", PHASE2);
    let ini = cfg.path().join("aws.ini");
    let text = std::fs::read_to_string(&ini).unwrap().replace("[bake]\n", "[bake]\nbake_key=ci-bake\n");
    std::fs::write(&ini, text).unwrap();
    let blob = aws_sdk_ec2::primitives::Blob::new(
        b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHZ8n0sv1bYy9YQfQ0uXKg0yZrYhB2m8b1ZqA9mQb5Vd x".to_vec(),
    );
    block_on(ec2.import_key_pair().key_name("ci-bake").public_key_material(blob).send()).unwrap();
    s.forget_requests();
    let out = Outcome::of(s.command(BIN).env_remove("SSH_AUTH_SOCK").arg("--config-dir").arg(cfg.path()).args([
        "bake",
        "--hostclass",
        "mhcweb",
    ]));
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("[bake] bake_key ci-bake: its private key must be in the ssh-agent"), "{}", out.stderr);
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
}

#[test]
fn no_destroy_keeps_the_builder_reachable_until_reaped() {
    let s = session();
    let (ec2, cfg, work, host, child) =
        bake_phase2(&s, "#!/bin/sh\necho ready for a look\n", &["--no-destroy", "--output", "json"]);
    let out = finish(child, work.path(), Duration::from_secs(120));
    assert_eq!(out.code, Some(0), "{out:?}\nsshd: {}", host.log());
    let kept = &json(&out)["kept_builder"];
    let ssh = kept["ssh"].as_str().unwrap();
    let key = ssh.split_whitespace().nth(2).unwrap().trim_matches('\'');
    assert!(ssh.starts_with("ssh -i ") && ssh.ends_with(&format!("root@{}", host.addr)), "{ssh}");
    // The key file: made afresh, 0600, alone in a directory only its owner can enter.
    assert_eq!(kept["key_file"].as_str(), Some(key), "{kept}");
    let file = std::fs::symlink_metadata(key).unwrap();
    assert!(file.file_type().is_file());
    assert_eq!(file.mode() & 0o777, 0o600);
    let dir = Path::new(key).parent().unwrap();
    assert_ne!(dir, std::env::temp_dir(), "a private directory, not the shared temporary one");
    let dir_meta = std::fs::symlink_metadata(dir).unwrap();
    assert!(dir_meta.file_type().is_dir());
    assert_eq!(dir_meta.mode() & 0o777, 0o700);
    assert!(kept["host_key"].as_str().unwrap().starts_with("SHA256:"), "{kept}");
    // The saved key really logs in (OpenSSH's own client, against the builder's sshd).
    let login = std::process::Command::new("ssh")
        .args([
            "-i",
            key,
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
        ])
        .arg(format!("root@{}", host.addr))
        .arg("echo logged-in")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&login.stdout).trim(), "logged-in", "{login:?}");
    assert!(host.authorized_keys().exists(), "kept as it was after the init script");
    let id = kept["instance_id"].as_str().unwrap();
    let state = |id: &str| {
        let out = block_on(ec2.describe_instances().instance_ids(id).send()).unwrap();
        out.reservations()[0].instances()[0].state().unwrap().name().unwrap().as_str().to_string()
    };
    assert_eq!(state(id), "running");
    assert!(block_on(ec2.describe_images().owners("self").filters(f("name", "mhcweb *")).send())
        .unwrap()
        .images()
        .is_empty());

    // Within its deadline reap leaves it; --older-than takes it.
    let reap = |args: &[&str]| Outcome::of(s.command(BIN).arg("--config-dir").arg(cfg.path()).arg("reap").args(args));
    assert_eq!(reap(&["--yes"]).code, Some(0));
    assert_eq!(state(id), "running");
    assert!(Path::new(key).exists());
    let out = reap(&["--older-than", "0s", "--yes"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(state(id), "terminated");
    assert_nothing_left(&ec2, "mhcweb");
    assert!(!Path::new(key).exists() && !dir.exists(), "reap removes the key file and its directory");
}

/// `sila-bake bake ARGS --dry-run`-style runs of a config, without the developer's agent.
fn plan(s: &Session, cfg: &Path, args: &[&str]) -> Outcome {
    Outcome::of(
        s.command(BIN)
            .env_remove("SSH_AUTH_SOCK")
            .env("USER", "ci-baker")
            .arg("--config-dir")
            .arg(cfg)
            .arg("bake")
            .args(args)
            .stdin(Stdio::null()),
    )
}

/// Adds `lines` at the top of `[bake]` in the config's aws.ini.
fn bake_setting(cfg: &Path, lines: &str) {
    let ini = cfg.join("aws.ini");
    let text = std::fs::read_to_string(&ini).unwrap().replace("[bake]\n", &format!("[bake]\n{lines}"));
    std::fs::write(&ini, text).unwrap();
}

/// The name the password database gives this process's user.
fn whoami() -> String {
    let out = std::process::Command::new("id").arg("-un").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn without_user_or_logname_the_baker_is_the_password_database_user() {
    let s = session();
    let ec2 = s.ec2();
    bakery(&ec2);
    image(&ec2, "base_phase1 0000000100", &[("stage", "tested")]);
    let cfg = config("ami-unused", PHASE2);
    let out = Outcome::of(
        s.command(BIN)
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("USER")
            .env_remove("LOGNAME")
            .arg("--config-dir")
            .arg(cfg.path())
            .args(["bake", "--hostclass", "mhcweb", "--dry-run", "--output", "json"]),
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let me = whoami();
    assert!(!me.is_empty() && me != "unknown");
    assert_eq!(json(&out)["image_tags"]["baker"], me.as_str(), "as Asiaq's getpass.getuser()");
    // An empty $USER counts as unset too.
    let out = Outcome::of(
        s.command(BIN)
            .env_remove("SSH_AUTH_SOCK")
            .env("USER", "")
            .env_remove("LOGNAME")
            .arg("--config-dir")
            .arg(cfg.path())
            .args(["bake", "--hostclass", "mhcweb", "--dry-run", "--output", "json"]),
    );
    assert_eq!(json(&out)["image_tags"]["baker"], me.as_str());
}

/// Gives the bakery's tunnel subnet a default route to an internet gateway, so that its builders can
/// be reached on public addresses.
fn make_bakery_public(ec2: &aws_sdk_ec2::Client, (vpc, subnet): &(String, String)) {
    let igw = block_on(ec2.create_internet_gateway().send()).unwrap();
    let igw = igw.internet_gateway().unwrap().internet_gateway_id().unwrap().to_string();
    block_on(ec2.attach_internet_gateway().internet_gateway_id(&igw).vpc_id(vpc).send()).unwrap();
    let table = block_on(ec2.create_route_table().vpc_id(vpc).send()).unwrap();
    let table = table.route_table().unwrap().route_table_id().unwrap().to_string();
    block_on(ec2.create_route().route_table_id(&table).destination_cidr_block("0.0.0.0/0").gateway_id(&igw).send())
        .unwrap();
    block_on(ec2.associate_route_table().route_table_id(&table).subnet_id(subnet).send()).unwrap();
}

#[test]
fn ssh_comes_from_the_bakery_when_reached_privately_and_from_ssh_cidrs_when_public() {
    let s = session();
    let ec2 = s.ec2();
    let made = bakery(&ec2);
    image(&ec2, "base_phase1 0000000100", &[("stage", "tested")]);
    let cfg = config("ami-unused", PHASE2);
    let dry = ["--hostclass", "mhcweb", "--dry-run", "--output", "json"];
    s.forget_requests();

    // The tunnel subnet has no route to an internet gateway: the builder is reached on its private
    // address, gets no public one, and admits SSH from the bakery's network only.
    let out = plan(&s, cfg.path(), &dry);
    assert_eq!(out.code, Some(0), "{out:?}");
    let p = json(&out);
    assert_eq!(p["ssh_from"], serde_json::json!(["127.0.0.0/16"]), "{p}");
    assert_eq!(p["reached_on"], "private", "{p}");

    // A public bakery, without --use-local-ip: Sila cannot know the address it connects from.
    make_bakery_public(&ec2, &made);
    s.forget_requests();
    let out = plan(&s, cfg.path(), &dry[..3]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("[bake] ssh_cidrs"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    // --use-local-ip: private again.
    let mut local = dry.to_vec();
    local.push("--use-local-ip");
    let p = json(&plan(&s, cfg.path(), &local));
    assert_eq!(
        (p["ssh_from"].clone(), p["reached_on"].clone()),
        (serde_json::json!(["127.0.0.0/16"]), "private".into())
    );
    // [bake] ssh_cidrs says from where, in both cases.
    bake_setting(cfg.path(), "ssh_cidrs=203.0.113.7/32 198.51.100.0/24\n");
    let p = json(&plan(&s, cfg.path(), &dry));
    assert_eq!(p["ssh_from"], serde_json::json!(["203.0.113.7/32", "198.51.100.0/24"]), "{p}");
    assert_eq!(p["reached_on"], "public", "{p}");
    let p = json(&plan(&s, cfg.path(), &local));
    assert_eq!(p["ssh_from"], serde_json::json!(["203.0.113.7/32", "198.51.100.0/24"]), "{p}");
    // A bad CIDR names the file and line.
    let ini = cfg.path().join("aws.ini");
    let text = std::fs::read_to_string(&ini).unwrap();
    std::fs::write(&ini, text.replace("ssh_cidrs=203.0.113.7/32 198.51.100.0/24", "ssh_cidrs=203.0.113.7/33")).unwrap();
    let out = plan(&s, cfg.path(), &dry[..3]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("aws.ini:") && out.stderr.contains("203.0.113.7/33"), "{}", out.stderr);
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
}

#[test]
fn a_privately_reached_builder_has_no_public_address_and_admits_ssh_from_the_bakery_only() {
    let s = session();
    let (ec2, cfg, work, host, child) =
        bake_phase2(&s, "#!/bin/sh\necho ready\n", &["--no-destroy", "--output", "json"]);
    let out = finish(child, work.path(), Duration::from_secs(120));
    assert_eq!(out.code, Some(0), "{out:?}\nsshd: {}", host.log());
    let id = json(&out)["kept_builder"]["instance_id"].as_str().unwrap().to_string();
    let found = block_on(ec2.describe_instances().instance_ids(&id).send()).unwrap();
    let builder = &found.reservations()[0].instances()[0];
    assert_eq!(builder.public_ip_address(), None, "reached privately: no public address");
    let ids: Vec<String> = builder
        .network_interfaces()
        .iter()
        .flat_map(|n| n.groups())
        .filter_map(|g| g.group_id().map(str::to_string))
        .collect();
    let groups = block_on(ec2.describe_security_groups().set_group_ids(Some(ids)).send()).unwrap();
    let temporary = groups
        .security_groups()
        .iter()
        .find(|g| g.group_name().unwrap_or_default().starts_with("sila-bake-"))
        .unwrap_or_else(|| panic!("the builder is in its temporary group: {groups:?}"));
    let from: Vec<(Option<i32>, &str)> = temporary
        .ip_permissions()
        .iter()
        .flat_map(|p| p.ip_ranges().iter().map(move |r| (p.from_port(), r.cidr_ip().unwrap_or_default())))
        .collect();
    assert_eq!(from, [(Some(22), "127.0.0.0/16")]);
    let reap =
        Outcome::of(s.command(BIN).arg("--config-dir").arg(cfg.path()).args(["reap", "--older-than", "0s", "--yes"]));
    assert_eq!(reap.code, Some(0), "{reap:?}");
    assert_nothing_left(&ec2, "mhcweb");
}

#[test]
fn obvious_secrets_are_not_uploaded_unless_excluded_or_allowed() {
    let s = session();
    let ec2 = s.ec2();
    bakery(&ec2);
    image(&ec2, "base_phase1 0000000100", &[("stage", "tested")]);
    let cfg = config("ami-unused", PHASE2);
    let root = cfg.path();
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    write(&root.join("keys/deploy_key"), key, 0o600);
    write(&root.join("ssh/id_ed25519"), "anything\n", 0o600);
    write(
        &root.join("discoroot/etc/ssl/site.pem"),
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        0o644,
    );
    write(&root.join("home/.aws/credentials"), "[default]\naws_secret_access_key = x\n", 0o600);
    write(&root.join("notes/readme.txt"), "just words\n", 0o644);
    s.forget_requests();
    let out = plan(&s, root, &["--hostclass", "mhcweb", "--dry-run"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    for path in ["keys/deploy_key", "ssh/id_ed25519", "discoroot/etc/ssl/site.pem", "home/.aws/credentials"] {
        assert!(out.stderr.contains(path), "{path}: {}", out.stderr);
    }
    assert!(!out.stderr.contains("readme.txt"), "{}", out.stderr);
    assert!(out.stderr.contains(".nosync") && out.stderr.contains("[bake] allow_upload_patterns"), "{}", out.stderr);

    // Excluded by .nosync, or allowed: the bake goes on.
    write(&root.join(".nosync"), "/secrets/\n/keys/\n.aws/\n", 0o644);
    write(&root.join("ssh/.nosync"), "id_*\n", 0o644);
    bake_setting(root, "allow_upload_patterns=discoroot/etc/ssl/*.pem\n");
    let out = plan(&s, root, &["--hostclass", "mhcweb", "--dry-run", "--output", "json"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(json(&out)["overlay_files"], 3, "app.conf, run-app and the allowed site.pem");
    // What .nosync leaves out of the tree is left out of the overlay too (Asiaq's acfg read the
    // uploaded copy).
    write(&root.join("discoroot/etc/app/server.key"), key, 0o600);
    write(&root.join("discoroot/.nosync"), "/etc/app/server.key\n", 0o644);
    let out = plan(&s, root, &["--hostclass", "mhcweb", "--dry-run", "--output", "json"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(json(&out)["overlay_files"], 3, "{}", out.stdout);
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
}

#[test]
fn dangerous_data_destinations_are_refused_before_anything_is_made() {
    let s = session();
    let ec2 = s.ec2();
    bakery(&ec2);
    image(&ec2, "base_phase1 0000000100", &[("stage", "tested")]);
    let cfg = config("ami-unused", PHASE2);
    let ini = cfg.path().join("aws.ini");
    let original = std::fs::read_to_string(&ini).unwrap();
    s.forget_requests();
    for dest in [
        "/",
        "//",
        "/etc",
        "/etc/",
        "/usr",
        "/usr/local/bin",
        "/var",
        "/var/lib",
        "/opt/../etc",
        "/opt/acme/..",
        "/./root",
        "/root/.ssh",
        "/home/admin",
        "/boot/sila",
        "opt/acme",
        "/opt",
    ] {
        std::fs::write(
            &ini,
            original.replace("data_destination=/opt/acme/config", &format!("data_destination={dest}")),
        )
        .unwrap();
        let out = plan(&s, cfg.path(), &["--hostclass", "mhcweb", "--dry-run"]);
        assert_eq!(out.code, Some(1), "{dest}: {out:?}");
        assert!(out.stderr.contains("aws.ini:") && out.stderr.contains("data_destination"), "{dest}: {}", out.stderr);
    }
    // Fine, and written the way it is used.
    std::fs::write(&ini, original.replace("data_destination=/opt/acme/config", "data_destination=/opt//acme/config/"))
        .unwrap();
    let out = plan(&s, cfg.path(), &["--hostclass", "mhcweb", "--dry-run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("upload 8 file(s) to /opt/acme/config\n"), "{}", out.stdout);
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
}

#[test]
fn the_destination_is_one_shell_word_and_metadata_never_follows_a_symlink() {
    let s = session();
    let ec2 = s.ec2();
    bakery(&ec2);
    image(&ec2, "base_phase1 0000000100", &[("stage", "tested")]);
    let cfg = config("ami-unused", "#!/bin/sh\necho \"phase 2 ran as $0\"\n");
    let root = cfg.path();
    let ini = root.join("aws.ini");
    let text = std::fs::read_to_string(&ini).unwrap();
    std::fs::write(&ini, text.replace("data_destination=/opt/acme/config", "data_destination=/opt/x;touch /pwned;:"))
        .unwrap();
    // The overlay ships a link to a file of the builder, and acfg.metadata names the link.
    std::os::unix::fs::symlink("/etc/passwd", root.join("discoroot/etc/app/users")).unwrap();
    let mut metadata = std::fs::read_to_string(root.join("discoroot/acfg.metadata")).unwrap();
    metadata.push_str("/etc/app/users 0666 app appgroup\n");
    std::fs::write(root.join("discoroot/acfg.metadata"), metadata).unwrap();

    let work = tempfile::tempdir().unwrap();
    let mut host = TestHost::prepare();
    let passwd = host.path("/etc/passwd");
    let before = std::fs::metadata(&passwd).unwrap();
    let mut child = spawn(&s, root, work.path(), &["--hostclass", "mhcweb", "--use-local-ip"], None);
    boot(&s, &mut host, &mut child, work.path(), true);
    let out = finish(child, work.path(), Duration::from_secs(120));
    assert!(!host.path("/pwned").exists(), "the destination ran as a command: {out:?}");
    assert_eq!(out.code, Some(0), "{out:?}\nsshd: {}", host.log());
    assert!(out.stderr.contains("phase 2 ran as /opt/x;touch /pwned;:/init/phase2.sh"), "{}", out.stderr);
    let after = std::fs::metadata(&passwd).unwrap();
    assert_eq!(
        (after.mode(), after.uid(), after.gid()),
        (before.mode(), before.uid(), before.gid()),
        "the link's target"
    );
    let link = std::fs::symlink_metadata(host.path("/etc/app/users")).unwrap();
    assert!(link.file_type().is_symlink());
    let users = std::fs::read_to_string(&passwd).unwrap();
    let app = users.lines().find(|l| l.starts_with("app:")).unwrap().split(':').nth(2).unwrap().parse::<u32>().unwrap();
    assert_eq!(link.uid(), app, "the link itself is chowned (chown -h)");
}

/// Turns `[bake] forward_agent` on or off in the config dir made by [`config`].
fn forward_agent(config: &Path, on: bool) {
    let path = config.join("aws.ini");
    let text = std::fs::read_to_string(&path).unwrap().replace("forward_agent=true\n", "");
    let text = if on { text.replace("[bake]\n", "[bake]\nforward_agent=true\n") } else { text };
    std::fs::write(&path, text).unwrap();
}

/// Waits until the bake's builder runs; its private address.
fn builder_address(s: &Session, child: &mut Child, out: &Path) -> String {
    running_builder(s, child, out).private_ip_address().unwrap().to_string()
}

#[test]
fn a_builder_gets_the_agent_only_with_forward_agent_and_never_unasked() {
    let s = session();
    let ec2 = s.ec2();
    bakery(&ec2);
    let upstream = image(&ec2, "upstream debian 12", &[]);
    let cfg = config(&upstream, PHASE2);
    let work = tempfile::tempdir().unwrap();
    let agent = Agent::start(work.path());

    // The plan says when the agent goes to the builder; by default it does not.
    let plan = |json: bool| {
        let mut command = s.command(BIN);
        command.env("SSH_AUTH_SOCK", &agent.socket).arg("--config-dir").arg(cfg.path());
        if json {
            command.args(["--output", "json"]);
        }
        Outcome::of(command.args(["bake", "--dry-run"]))
    };
    let out = plan(false);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("+ run '/opt/acme/config/init/phase1.sh' 'mhcbase' '#None' "), "{}", out.stdout);
    assert!(!out.stdout.contains("agent"), "{}", out.stdout);
    assert_eq!(json(&plan(true))["forward_agent"], false);
    forward_agent(cfg.path(), true);
    let out = plan(false);
    assert!(out.stdout.contains("with the ssh-agent forwarded ([bake] forward_agent)"), "{}", out.stdout);
    assert_eq!(json(&plan(true))["forward_agent"], true);
    forward_agent(cfg.path(), false);

    // A hostile builder opens an agent channel unasked (after the login and at each command): the
    // bake refuses it, so the builder gets neither the agent's keys nor a signature.
    let mut child = spawn(&s, cfg.path(), work.path(), &["--use-local-ip"], Some(&agent.socket));
    let address = builder_address(&s, &mut child, work.path());
    let hostile = HostileHost::start(address.parse().unwrap(), false);
    let out = finish(child, work.path(), Duration::from_secs(120));
    assert_eq!(out.code, Some(0), "{out:?}\n{}", hostile.log());
    assert!(hostile.log().contains("'/opt/acme/config/init/phase1.sh' 'mhcbase'"), "{}", hostile.log());
    hostile.assert_agent_refused();
    assert!(!hostile.log().contains(&agent.fingerprint), "{}", hostile.log());
}

#[test]
fn an_init_script_still_running_at_the_deadline_is_ended_and_the_bake_taken_back() {
    let s = session();
    let started = Instant::now();
    let script = "#!/bin/sh\nsleep 300 &\necho $! > /var/log/sleep.pid\necho still going\nwait\necho never\n";
    let (ec2, _cfg, work, host, child) = bake_phase2(&s, script, &["--deadline", "30s"]);
    let out = finish(child, work.path(), Duration::from_secs(120));
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(started.elapsed() < Duration::from_secs(90), "{:?}", started.elapsed());
    assert!(out.stderr.contains("bake failed at step run the init script"), "{}", out.stderr);
    assert!(
        out.stderr.contains("was still running at the bake's deadline (--deadline) and was ended:\n  still going"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("never"), "{}", out.stderr);
    assert!(out.stderr.contains("everything it made is removed"), "{}", out.stderr);
    // The script, and what it started, were ended on the builder.
    if let Err(e) = host.wait_ended("/var/log/sleep.pid", Duration::from_secs(5)) {
        panic!("the init script's sleep: {e}");
    }
    assert_nothing_left(&ec2, "mhcweb");
}
