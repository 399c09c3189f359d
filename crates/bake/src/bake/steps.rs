//! The bake's steps, one after another, each registering its undo before it makes anything. Each
//! step is a method of [`Baker`] that takes only what it needs, so it can be run (and tested) on
//! its own; [`steps`] is the sequence.

use super::*;
use std::path::Path;

/// Users a builder is logged into as, in this order: root, then the default users of common images
/// (which then act as root through `sudo -n`).
const LOGIN_USERS: [&str; 5] = ["root", "admin", "ubuntu", "ec2-user", "centos"];

/// What every step needs: the clients, the undo log, the step being run (named when it fails), and
/// the run's tags (on everything a step makes, so `reap` finds what an interrupted run left).
pub(super) struct Baker<'a> {
    pub clients: &'a Clients,
    pub undo: &'a UndoLog,
    pub step: &'a CurrentStep,
    pub tags: Vec<(String, String)>,
}

/// The image a stopped builder becomes.
pub(super) struct ImageOrder<'a> {
    /// The run (its images are deregistered by the undo until the image is done).
    pub run_id: &'a str,
    /// The image's name.
    pub name: &'a str,
    /// Its description (names the run and the source image, for `reap`).
    pub description: &'a str,
    /// Its tags (and its snapshots'), the run's tags included.
    pub tags: Vec<(String, String)>,
    /// How long to wait for it to be available once requested.
    pub wait: Duration,
    /// The run's deadline (waiting ends then at the latest).
    pub deadline: Instant,
}

impl Baker<'_> {
    /// Creates temporary key pair `name` (its undo registered first); its private key to log in
    /// with, also saved into `key_dir` when the builder is to be kept.
    pub(super) async fn temporary_key(&self, name: &str, key_dir: Option<&Path>) -> anyhow::Result<Credential> {
        self.step.set("key pair");
        self.undo.push(Undo::KeyPair(name.to_string()));
        let material = self.clients.create_key_pair(name, &self.tags).await?;
        if let Some(dir) = key_dir {
            keyfile::save(&material, dir)?;
        }
        Ok(Credential::from_text(&material, &format!("key pair {name}"))?)
    }

    /// Creates the run's security group `name` in `vpc_id`, open to SSH from `cidrs`.
    pub(super) async fn ssh_group(&self, vpc_id: &str, name: &str, cidrs: &[String]) -> anyhow::Result<String> {
        self.step.set("security group");
        self.undo.push(Undo::Group { vpc_id: vpc_id.to_string(), name: name.to_string() });
        Ok(self.clients.create_ssh_group(vpc_id, name, cidrs, &self.tags).await?)
    }

    /// Launches the builder of run `run_id`; its instance id.
    pub(super) async fn launch(&self, run_id: &str, spec: &BuilderSpec) -> anyhow::Result<String> {
        self.step.set("launch builder");
        self.undo.push(Undo::Builders(run_id.to_string()));
        let id = self.clients.launch_builder(spec).await?;
        tracing::info!("builder {id} launched from {}", spec.image);
        Ok(id)
    }

    /// Waits for builder `id` to run and to answer SSH on its private or public address; logs in.
    pub(super) async fn reach(
        &self,
        id: &str,
        private: bool,
        credentials: &[Credential],
        host_keys: &HostKeys,
        deadline: Instant,
    ) -> anyhow::Result<(Machine, String, Connection)> {
        self.step.set("wait for the builder to run");
        let machine = self.clients.wait_machine(id, "running", deadline).await?;
        let address = if private { machine.private_ip.clone() } else { machine.public_ip.clone() };
        let address = address.with_context(|| {
            format!("builder {id} has no {} address", if private { "private" } else { "public (try --use-local-ip)" })
        })?;
        let ip: IpAddr = address.parse().with_context(|| format!("builder address {address}"))?;
        self.step.set("wait for SSH");
        tracing::info!("waiting for SSH on {address}");
        let mut ssh = Connection::open(SocketAddr::new(ip, 22), &LOGIN_USERS, credentials, host_keys, deadline).await?;
        // Every command, the init script above all, ends by the run's deadline.
        ssh.end_commands_by(deadline);
        tracing::info!("logged into {address} as {}", ssh.user());
        Ok((machine, address, ssh))
    }

    /// Uploads the config tree, installs the overlay (phase 2) and runs the init script.
    pub(super) async fn provision(&self, ssh: &Connection, p: &Prepared) -> anyhow::Result<()> {
        self.step.set("upload the config tree");
        let unpack = format!(
            "rm -rf {dest} && mkdir -p {dest} && tar -xf - -C {dest}",
            dest = sila_core::shell::quote(&p.destination)
        );
        expect_success(ssh, &unpack, Some(p.tree.bytes.clone()), false, "upload").await?;
        if let Some(overlay) = &p.overlay {
            self.step.set("install the overlay");
            expect_success(ssh, "tar -xf - -C /", Some(overlay.archive.bytes.clone()), false, "overlay").await?;
            expect_success(ssh, "sh -s", Some(overlay.script.clone().into_bytes()), false, "overlay").await?;
        }
        self.step.set("run the init script");
        let prefix = format!("phase{} {}", p.target.phase, p.target.hostclass);
        expect_success(ssh, &p.command, None, p.forward_agent, &prefix).await
    }

    /// Removes the login keys from builder `id`, logs out and stops it (then turns on enhanced
    /// networking when asked: it can only be set on a stopped instance).
    pub(super) async fn shut_down(
        &self,
        ssh: Connection,
        id: &str,
        enhanced_networking: bool,
        deadline: Instant,
    ) -> anyhow::Result<()> {
        self.step.set("shut the builder down");
        let mut remove = String::from("rm -f /root/.ssh/authorized_keys");
        if ssh.user() != "root" {
            remove.push_str(&format!(" ~{}/.ssh/authorized_keys", ssh.user()));
        }
        remove.push_str(" && sync");
        expect_success(&ssh, &remove, None, false, "shutdown").await?;
        ssh.close().await;
        self.clients.stop_machine(id, deadline).await?;
        if enhanced_networking {
            self.clients.enable_sriov(id).await?;
        }
        Ok(())
    }

    /// Makes the image of stopped builder `id`, waits for it, tags its snapshots, and takes the run
    /// tags off: from then on it is kept (its undo forgotten) and `reap` leaves it alone.
    pub(super) async fn capture(&self, id: &str, image: &ImageOrder<'_>) -> anyhow::Result<String> {
        self.step.set("create the image");
        let image_undo = Undo::Images(image.run_id.to_string());
        self.undo.push(image_undo.clone());
        let image_id = self.clients.create_image(id, image.name, image.description, &image.tags).await?;
        tracing::info!("image {image_id} requested");
        self.step.set("wait for the image");
        let deadline = image.deadline.min(Instant::now() + image.wait);
        let made = self.clients.wait_image(&image_id, deadline).await?;
        self.step.set("tag the snapshots");
        self.clients.tag_resources(&made.snapshots, &image.tags).await?;
        let mut finished = vec![image_id.clone()];
        finished.extend(made.snapshots.iter().cloned());
        self.clients.untag_resources(&finished, &[RUN_TAG, UNTIL_TAG]).await?;
        self.undo.keep(&image_undo);
        Ok(image_id)
    }
}

/// The whole bake, step by step, as `p` and `args` say.
pub(super) async fn steps(
    clients: &Clients,
    p: &Prepared,
    args: &BakeArgs,
    undo: &UndoLog,
    step: &CurrentStep,
    host_keys: &HostKeys,
) -> anyhow::Result<Done> {
    let baker = Baker { clients, undo, step, tags: p.run.tags() };
    let mut credentials = p.credentials.clone();
    let key_name = match &p.key {
        KeyChoice::Configured(name) => name.clone(),
        KeyChoice::Temporary(name) => {
            let key_dir = args.no_destroy.then(|| keyfile::dir_of(&p.run.id));
            credentials.insert(0, baker.temporary_key(name, key_dir.as_deref()).await?);
            name.clone()
        }
    };
    let group_name = p.run.resource_name();
    let group = baker.ssh_group(&p.bakery.vpc_id, &group_name, &p.ssh_cidrs).await?;

    let mut builder_tags = vec![
        ("Name".to_string(), format!("bake_{}", p.target.hostclass)),
        ("hostclass".to_string(), format!("bake_{}", p.target.hostclass)),
    ];
    builder_tags.extend(baker.tags.iter().cloned());
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
    let id = baker.launch(&p.run.id, &spec).await?;
    let (machine, address, ssh) = baker.reach(&id, p.private, &credentials, host_keys, p.deadline).await?;
    baker.provision(&ssh, p).await?;
    if args.no_destroy {
        let user = ssh.user().to_string();
        ssh.close().await;
        return Ok(Done::Kept(machine, address, user));
    }
    baker.shut_down(ssh, &id, p.enhanced_networking, p.deadline).await?;

    let mut image_tags = p.image_tags.clone();
    image_tags.extend(baker.tags.iter().cloned());
    let description = plan::image_description(&p.target.hostclass, &p.run.id, &p.source_ami);
    let order = ImageOrder {
        run_id: &p.run.id,
        name: &p.image_name,
        description: &description,
        tags: image_tags,
        wait: p.image_wait,
        deadline: p.deadline,
    };
    let image_id = baker.capture(&id, &order).await?;
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

#[cfg(test)]
mod tests;
