//! Plays the boot of every bake builder on the emulator, for the demo: once a builder (an instance
//! tagged `sila-bake-run`) runs, it puts the builder's key pair's public key in root's
//! `authorized_keys` of a fresh busybox root and starts a real sshd on the builder's private
//! address, which the bake then reaches with `--use-local-ip`. The bakery must therefore live in
//! 127.0.0.0/8. The sshd stops when the builder is terminated. Needs root (port 22, chroot).
//!
//!     stand-in-builder <emulator endpoint>
//!
//! Runs until killed.

use sila_testkit::{block_on, ec2_client, TestHost};
use std::collections::BTreeMap;
use std::time::Duration;

fn main() {
    let endpoint = std::env::args().nth(1).expect("usage: stand-in-builder <emulator endpoint>");
    let ec2 = ec2_client(&endpoint);
    let mut hosts: BTreeMap<String, TestHost> = BTreeMap::new();
    loop {
        let filter = |n: &str, v: &[&str]| {
            aws_sdk_ec2::types::Filter::builder()
                .name(n)
                .set_values(Some(v.iter().map(|s| s.to_string()).collect()))
                .build()
        };
        let found = block_on(ec2.describe_instances().filters(filter("tag-key", &["sila-bake-run"])).send());
        let Ok(found) = found else {
            std::thread::sleep(Duration::from_millis(500));
            continue;
        };
        let instances: Vec<_> = found.reservations().iter().flat_map(|r| r.instances()).cloned().collect();
        for i in &instances {
            let id = i.instance_id().unwrap_or_default().to_string();
            let state = i.state().and_then(|s| s.name()).map(|n| n.as_str().to_string()).unwrap_or_default();
            if state != "running" {
                if hosts.remove(&id).is_some() {
                    eprintln!("stand-in builder {id}: {state}, sshd stopped");
                }
                continue;
            }
            if hosts.contains_key(&id) {
                continue;
            }
            let (Some(address), Some(key)) = (i.private_ip_address(), i.key_name()) else { continue };
            let Ok(pairs) = block_on(ec2.describe_key_pairs().key_names(key).include_public_key(true).send()) else {
                continue;
            };
            let Some(public) = pairs.key_pairs().first().and_then(|k| k.public_key()) else { continue };
            let Ok(ip) = address.parse() else { continue };
            let mut host = TestHost::prepare();
            host.listen(ip, &format!("{public}\n"));
            eprintln!("stand-in builder {id}: sshd on {address}:22 accepts key pair {key}");
            hosts.insert(id, host);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
