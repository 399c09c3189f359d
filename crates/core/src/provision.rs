//! What provisioning a hostclass writes, decided without AWS: the instance user data (reference
//! §3.13), the autoscaling group's tags (§1.8), the block device mappings (§4.10.4) and the chaos
//! opt-out. `sila-aws provision/spinup` build on these.

use crate::config::AwsConfig;
use crate::shell::quote;
use crate::truth::truthy;

/// What goes into the user data, resolved by the caller (IPs of other hostclasses, buckets, ...).
/// `None` values are written as the literal `None`, as Asiaq did, because on-box scripts written
/// for Asiaq test for that text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserData {
    /// `hostclass`.
    pub hostclass: String,
    /// `environment_name`.
    pub environment_name: String,
    /// `domain_name` (also the zookeepers' domain).
    pub domain_name: Option<String>,
    /// `owner`: who spun it up.
    pub owner: String,
    /// `project_name`.
    pub project_name: Option<String>,
    /// `credential_buckets`, space-separated.
    pub credential_buckets: Vec<String>,
    /// `http_proxy_ip` (written only with `enable_proxy`).
    pub http_proxy_ip: Option<String>,
    /// Whether the host uses the HTTP proxy.
    pub enable_proxy: bool,
    /// `logger_ip`: the logger hostclass's static address.
    pub logger_ip: Option<String>,
    /// `logforwarder_ip`: the log forwarder hostclass's static address.
    pub logforwarder_ip: Option<String>,
    /// `eip`: the elastic IP the host associates.
    pub eip: Option<String>,
    /// `floating_ips`: the static addresses the host takes.
    pub floating_ips: Vec<String>,
    /// `smoketest_termination`: terminate the host when its smoke test fails.
    pub smoketest_termination: bool,
    /// `is_spotinst` (always 0: Sila launches no Spotinst groups).
    pub is_spotinst: bool,
}

impl UserData {
    /// The zookeeper list on-box scripts read: `["mhczookeeper-<env>.<domain>:2181"]`.
    pub fn zookeepers(&self) -> String {
        format!("[\"mhczookeeper-{}.{}:2181\"]", self.environment_name, self.domain_name.as_deref().unwrap_or("None"))
    }

    /// The file: `key='value'` lines in a fixed order, each value one single-quoted shell word (Asiaq
    /// wrote `key="value"` unescaped, so a value with a quote or `$` broke the file; what a script
    /// reads after sourcing it is the same). No trailing newline, as Asiaq.
    pub fn render(&self) -> String {
        let none = || "None".to_string();
        let flag = |b: bool| if b { "1" } else { "0" }.to_string();
        let mut lines: Vec<(&str, String)> = vec![("hostclass", self.hostclass.clone())];
        if self.enable_proxy {
            lines.push(("http_proxy_ip", self.http_proxy_ip.clone().unwrap_or_else(none)));
        }
        lines.extend([
            ("logger_ip", self.logger_ip.clone().unwrap_or_else(none)),
            ("logforwarder_ip", self.logforwarder_ip.clone().unwrap_or_else(none)),
            ("environment_name", self.environment_name.clone()),
            ("domain_name", self.domain_name.clone().unwrap_or_else(none)),
            ("owner", self.owner.clone()),
            ("credential_buckets", self.credential_buckets.join(" ")),
            ("zookeepers", self.zookeepers()),
            ("eip", self.eip.clone().unwrap_or_else(none)),
            ("floating_ips", self.floating_ips.join(" ")),
            ("floating_ip", self.floating_ips.first().cloned().unwrap_or_default()),
            ("smoketest_termination", flag(self.smoketest_termination)),
            ("project_name", self.project_name.clone().unwrap_or_else(none)),
            ("is_spotinst", flag(self.is_spotinst)),
        ]);
        lines.iter().map(|(k, v)| format!("{k}={}", quote(v))).collect::<Vec<_>>().join("\n")
    }
}

/// The hostclass option `tags` (`k:v,k2:v2`): each item must split into exactly two parts on `:`;
/// keys and values are trimmed. An error names the item.
pub fn parse_hostclass_tags(value: &str) -> Result<Vec<(String, String)>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let parts: Vec<&str> = item.split(':').collect();
            match parts.as_slice() {
                [k, v] if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
                _ => Err(format!("tags item {item:?}: expected key:value")),
            }
        })
        .collect()
}

/// Whether the hostclass takes part in chaos: the row's `chaos` cell, else the hostclass option
/// `chaos` (resolver A), else yes.
pub fn chaos(aws: &AwsConfig, hostclass: &str, env: &str, row: Option<bool>) -> bool {
    row.unwrap_or_else(|| aws.hostclass_option(hostclass, "chaos", Some(env)).is_none_or(|r| truthy(&r.value)))
}

/// The autoscaling group's tags, propagated to its instances (§1.8), in this order: hostclass,
/// application, owner, environment, environment_class, chaos, is_testing, then the hostclass's
/// `tags` option (which cannot override the others).
pub fn group_tags(
    hostclass: &str,
    owner: &str,
    environment: &str,
    environment_class: &str,
    chaos: bool,
    testing: bool,
    extra: &[(String, String)],
) -> Vec<(String, String)> {
    let mut tags = vec![
        ("hostclass".to_string(), hostclass.to_string()),
        ("application".to_string(), hostclass.to_string()),
        ("owner".to_string(), owner.to_string()),
        ("environment".to_string(), environment.to_string()),
        ("environment_class".to_string(), environment_class.to_string()),
        ("chaos".to_string(), if chaos { "True" } else { "False" }.to_string()),
        ("is_testing".to_string(), if testing { "1" } else { "0" }.to_string()),
    ];
    // The standard tags are how Sila finds its groups again: the option cannot override them.
    for (k, v) in extra {
        if !tags.iter().any(|(key, _)| key == k) {
            tags.push((k.clone(), v.clone()));
        }
    }
    tags
}

/// One block device of the launch template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDevice {
    /// `/dev/sda`, `/dev/sdb`, ... (the root keeps the image's own name).
    pub device: String,
    /// Size in GB; `None` keeps the image's.
    pub size_gb: Option<u32>,
    /// Restore from this snapshot.
    pub snapshot: Option<String>,
    /// `io1` with these IOPS; otherwise the default volume type.
    pub iops: Option<u32>,
}

/// The block devices (§4.10.4) in position order: the root (grown to 8 + `extra_space` GB when
/// given), the hostclass's newest snapshot (`snapshot` = id and size), then an `extra_disk`. `iops`
/// makes the snapshot and extra volumes io1. The root device is `/dev/sda` when the image maps
/// `/dev/sda`, else the image's root device name; later positions are `/dev/sdb`, `/dev/sdc`, ...
/// Unlike Asiaq, a root entry without a size is kept out rather than silently dropped later.
pub fn block_devices(
    image_devices: &[String],
    image_root: &str,
    extra_space: Option<u32>,
    snapshot: Option<(String, u32)>,
    extra_disk: Option<u32>,
    iops: Option<u32>,
) -> Vec<BlockDevice> {
    let root =
        if image_devices.iter().any(|d| d == "/dev/sda") { "/dev/sda".to_string() } else { image_root.to_string() };
    let mut devices = Vec::new();
    if let Some(extra) = extra_space {
        devices.push(BlockDevice { device: root, size_gb: Some(8 + extra), snapshot: None, iops: None });
    }
    let mut letters = (b'b'..=b'z').map(|c| format!("/dev/sd{}", c as char));
    if let Some((id, size)) = snapshot {
        devices.push(BlockDevice {
            device: letters.next().unwrap_or_default(),
            size_gb: Some(size),
            snapshot: Some(id),
            iops,
        });
    }
    if let Some(size) = extra_disk {
        devices.push(BlockDevice {
            device: letters.next().unwrap_or_default(),
            size_gb: Some(size),
            snapshot: None,
            iops,
        });
    }
    devices
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ini::Ini;
    use std::path::Path;

    fn data() -> UserData {
        UserData {
            hostclass: "mhcweb".into(),
            environment_name: "unittestenv".into(),
            domain_name: Some("example.com".into()),
            owner: "jenkins".into(),
            credential_buckets: vec!["us-west-2.p.credentials.ci".into(), "us-west-2.p.credentials.x".into()],
            ..UserData::default()
        }
    }

    #[test]
    fn vector_100_user_data() {
        let d = data();
        assert_eq!(d.zookeepers(), r#"["mhczookeeper-unittestenv.example.com:2181"]"#);
        let text = d.render();
        assert!(!text.ends_with('\n'));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "hostclass='mhcweb'");
        assert!(lines.contains(&r#"zookeepers='["mhczookeeper-unittestenv.example.com:2181"]'"#), "{text}");
        assert!(lines.contains(&"eip='None'") && lines.contains(&"is_spotinst='0'"), "{text}");
        assert!(lines.contains(&"credential_buckets='us-west-2.p.credentials.ci us-west-2.p.credentials.x'"));
        assert!(!text.contains("http_proxy_ip"), "only with enable_proxy");
        let d = UserData {
            eip: Some("54.201.250.76".into()),
            is_spotinst: true,
            enable_proxy: true,
            floating_ips: vec!["10.0.0.10".into(), "10.0.0.11".into()],
            owner: "o'brien".into(),
            ..data()
        };
        let text = d.render();
        for line in [
            "eip='54.201.250.76'",
            "is_spotinst='1'",
            "http_proxy_ip='None'",
            "floating_ips='10.0.0.10 10.0.0.11'",
            "floating_ip='10.0.0.10'",
            r"owner='o'\''brien'",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
    }

    #[test]
    fn group_tags_in_order_with_the_hostclass_tags_option() {
        let extra = parse_hostclass_tags(" team : web ,tier:front,").unwrap();
        assert_eq!(extra, [("team".to_string(), "web".to_string()), ("tier".to_string(), "front".to_string())]);
        let tags = group_tags("mhcweb", "ann", "ci", "development", true, false, &extra);
        let keys: Vec<&str> = tags.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "hostclass",
                "application",
                "owner",
                "environment",
                "environment_class",
                "chaos",
                "is_testing",
                "team",
                "tier"
            ]
        );
        assert_eq!(tags[5].1, "True");
        assert_eq!(tags[6].1, "0");
        let clash =
            group_tags("mhcweb", "ann", "ci", "development", true, false, &[("environment".into(), "x".into())]);
        assert_eq!(clash.len(), 7);
        assert_eq!(clash[3].1, "ci");
        assert_eq!(parse_hostclass_tags("a:b:c").unwrap_err(), "tags item \"a:b:c\": expected key:value");
        assert!(parse_hostclass_tags("novalue").is_err());
    }

    #[test]
    fn chaos_comes_from_the_row_then_the_option_then_yes() {
        let aws = AwsConfig::new(Ini::parse(Path::new("aws.ini"), "[mhcdb]\nchaos=no\n[mhcweb]\n").unwrap());
        assert!(chaos(&aws, "mhcweb", "ci", None));
        assert!(!chaos(&aws, "mhcdb", "ci", None));
        assert!(chaos(&aws, "mhcdb", "ci", Some(true)), "the row wins");
        assert!(!chaos(&aws, "mhcweb", "ci", Some(false)));
    }

    #[test]
    fn block_devices_by_position() {
        let image = ["/dev/sda1".to_string()];
        assert!(block_devices(&image, "/dev/sda1", None, None, None, None).is_empty(), "the image's own root");
        let all = block_devices(&image, "/dev/sda1", Some(12), Some(("snap-1".into(), 100)), Some(50), Some(300));
        assert_eq!(
            all,
            [
                BlockDevice { device: "/dev/sda1".into(), size_gb: Some(20), snapshot: None, iops: None },
                BlockDevice {
                    device: "/dev/sdb".into(),
                    size_gb: Some(100),
                    snapshot: Some("snap-1".into()),
                    iops: Some(300)
                },
                BlockDevice { device: "/dev/sdc".into(), size_gb: Some(50), snapshot: None, iops: Some(300) },
            ]
        );
        let mapped = ["/dev/sda".to_string(), "/dev/sda1".to_string()];
        assert_eq!(block_devices(&mapped, "/dev/sda1", Some(0), None, Some(10), None)[0].device, "/dev/sda");
        assert_eq!(block_devices(&image, "/dev/xvda", None, None, Some(10), None)[0].device, "/dev/sdb");
    }
}
