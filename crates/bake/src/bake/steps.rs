//! The bake's steps, one after another, each registering its undo before it makes anything.

use super::*;

/// Users a builder is logged into as, in this order: root, then the default users of common images
/// (which then act as root through `sudo -n`).
const LOGIN_USERS: [&str; 5] = ["root", "admin", "ubuntu", "ec2-user", "centos"];

pub(super) async fn steps(
    clients: &Clients,
    p: &Prepared,
    args: &BakeArgs,
    undo: &UndoLog,
    step: &CurrentStep,
    host_keys: &HostKeys,
) -> anyhow::Result<Done> {
    let tags = p.run.tags();
    let mut credentials = p.credentials.clone();
    step.set("key pair");
    let key_name = match &p.key {
        KeyChoice::Configured(name) => name.clone(),
        KeyChoice::Temporary(name) => {
            undo.push(Undo::KeyPair(name.clone()));
            let material = clients.create_key_pair(name, &tags).await?;
            if args.no_destroy {
                keyfile::save(&material, &keyfile::dir_of(&p.run.id))?;
            }
            credentials.insert(0, Credential::from_text(&material, &format!("key pair {name}"))?);
            name.clone()
        }
    };

    step.set("security group");
    let group_name = p.run.resource_name();
    undo.push(Undo::Group { vpc_id: p.bakery.vpc_id.clone(), name: group_name.clone() });
    let group = clients.create_ssh_group(&p.bakery.vpc_id, &group_name, &p.ssh_cidrs, &tags).await?;

    step.set("launch builder");
    undo.push(Undo::Builders(p.run.id.clone()));
    let mut builder_tags = vec![
        ("Name".to_string(), format!("bake_{}", p.target.hostclass)),
        ("hostclass".to_string(), format!("bake_{}", p.target.hostclass)),
    ];
    builder_tags.extend(tags.iter().cloned());
    let mut groups = vec![group];
    groups.extend(p.bakery.tunnel_group.clone());
    let spec = BuilderSpec {
        image: p.source_ami.clone(),
        instance_type: p.instance_type.clone(),
        subnet: p.subnet.clone(),
        groups,
        key_name,
        instance_profile: p.instance_profile.clone(),
        public_ip: !p.private,
        tags: builder_tags,
        token: group_name,
    };
    let id = clients.launch_builder(&spec).await?;
    tracing::info!("builder {id} launched from {}", p.source_ami);

    step.set("wait for the builder to run");
    let machine = clients.wait_machine(&id, "running", p.deadline).await?;
    let address = if p.private { machine.private_ip.clone() } else { machine.public_ip.clone() };
    let address = address.with_context(|| {
        format!("builder {id} has no {} address", if p.private { "private" } else { "public (try --use-local-ip)" })
    })?;
    let ip: IpAddr = address.parse().with_context(|| format!("builder address {address}"))?;

    step.set("wait for SSH");
    tracing::info!("waiting for SSH on {address}");
    let mut ssh = Connection::open(SocketAddr::new(ip, 22), &LOGIN_USERS, &credentials, host_keys, p.deadline).await?;
    // Every command, the init script above all, ends by the run's deadline.
    ssh.end_commands_by(p.deadline);
    tracing::info!("logged into {address} as {}", ssh.user());

    step.set("upload the config tree");
    let unpack = format!(
        "rm -rf {dest} && mkdir -p {dest} && tar -xf - -C {dest}",
        dest = sila_core::shell::quote(&p.destination)
    );
    expect_success(&ssh, &unpack, Some(p.tree.bytes.clone()), false, "upload").await?;

    if let Some(overlay) = &p.overlay {
        step.set("install the overlay");
        expect_success(&ssh, "tar -xf - -C /", Some(overlay.archive.bytes.clone()), false, "overlay").await?;
        expect_success(&ssh, "sh -s", Some(overlay.script.clone().into_bytes()), false, "overlay").await?;
    }

    step.set("run the init script");
    let prefix = format!("phase{} {}", p.target.phase, p.target.hostclass);
    expect_success(&ssh, &p.command, None, p.forward_agent, &prefix).await?;

    if args.no_destroy {
        let user = ssh.user().to_string();
        ssh.close().await;
        return Ok(Done::Kept(machine, address, user));
    }

    step.set("shut the builder down");
    let mut remove = String::from("rm -f /root/.ssh/authorized_keys");
    if ssh.user() != "root" {
        remove.push_str(&format!(" ~{}/.ssh/authorized_keys", ssh.user()));
    }
    remove.push_str(" && sync");
    expect_success(&ssh, &remove, None, false, "shutdown").await?;
    ssh.close().await;
    clients.stop_machine(&id, p.deadline).await?;
    if p.enhanced_networking {
        clients.enable_sriov(&id).await?;
    }

    step.set("create the image");
    let image_undo = Undo::Images(p.run.id.clone());
    undo.push(image_undo.clone());
    let mut image_tags = p.image_tags.clone();
    image_tags.extend(tags.iter().cloned());
    let description = plan::image_description(&p.target.hostclass, &p.run.id, &p.source_ami);
    let image_id = clients.create_image(&id, &p.image_name, &description, &image_tags).await?;
    tracing::info!("image {image_id} requested");

    step.set("wait for the image");
    let image_deadline = p.deadline.min(Instant::now() + p.image_wait);
    let image = clients.wait_image(&image_id, image_deadline).await?;

    step.set("tag the snapshots");
    clients.tag_resources(&image.snapshots, &image_tags).await?;
    // Done: the run tags go, so reap leaves the image alone.
    let mut finished = vec![image_id.clone()];
    finished.extend(image.snapshots.iter().cloned());
    clients.untag_resources(&finished, &[RUN_TAG, UNTIL_TAG]).await?;
    undo.keep(&image_undo);
    step.set("clean up");
    Ok(Done::Image(image_id))
}

/// Runs `command` as root on the builder; a non-zero exit, or still running at the deadline, is an
/// error that quotes its last lines (control characters spelled out, as when streamed).
async fn expect_success(
    ssh: &Connection,
    command: &str,
    stdin: Option<Vec<u8>>,
    forward_agent: bool,
    prefix: &str,
) -> anyhow::Result<()> {
    let mut show = |line: &str| eprintln!("[{prefix}] {line}");
    let out = ssh.run(command, stdin, forward_agent, &mut show).await?;
    let tail = if out.tail.is_empty() { String::new() } else { format!(":\n  {}", out.tail.join("\n  ")) };
    if out.timed_out {
        return Err(anyhow!("`{command}` was still running at the bake's deadline (--deadline) and was ended{tail}"));
    }
    match out.status {
        Some(0) => Ok(()),
        status => {
            let status = status.map_or("no exit status".to_string(), |s| format!("exit status {s}"));
            Err(anyhow!("`{command}` ended with {status}{tail}"))
        }
    }
}
