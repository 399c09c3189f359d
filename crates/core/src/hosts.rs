//! Hosts of an environment as `sila-aws` lists and selects them (reference §2.1): the listing's
//! order and columns, the preferred private address, smoke-test readiness, and the selectors of
//! `terminate`, `stop`, `isready`.

use serde::Serialize;
use std::collections::BTreeMap;

/// One instance, as read from EC2.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Host {
    /// `i-...`.
    pub id: String,
    /// `running`, `stopped`, ...
    pub state: String,
    /// Every tag.
    pub tags: BTreeMap<String, String>,
    /// Public address, if any.
    pub public_ip: Option<String>,
    /// Private addresses of its interfaces, by device index.
    pub private_ips: Vec<String>,
    /// Instance type.
    pub instance_type: String,
    /// Image id.
    pub image_id: String,
    /// Launch time, epoch seconds.
    pub launched: u64,
    /// Availability zone.
    pub zone: String,
    /// Names of its security groups.
    pub groups: Vec<String>,
}

impl Host {
    /// The `hostclass` tag (`-` when missing).
    pub fn hostclass(&self) -> &str {
        self.tags.get("hostclass").map_or("-", String::as_str)
    }

    /// The private address to show: the second interface's when it has two or more (the floating
    /// interface of a static IP), else the first.
    pub fn preferred_private_ip(&self) -> Option<&str> {
        self.private_ips.get(1).or_else(|| self.private_ips.first()).map(String::as_str)
    }

    /// The address to reach it on: public if it has one, else the preferred private one.
    pub fn address(&self) -> &str {
        self.public_ip.as_deref().or_else(|| self.preferred_private_ip()).unwrap_or("-")
    }

    /// Its autoscaling group, when it belongs to one.
    pub fn group(&self) -> Option<&str> {
        self.tags.get("aws:autoscaling:groupName").map(String::as_str)
    }

    /// Smoke-test state (§1.8): ready when tagged `smoketest`, failed when `failed`/`terminated`.
    pub fn readiness(&self) -> Readiness {
        if matches!(self.state.as_str(), "failed" | "terminated") {
            Readiness::Failed
        } else if self.tags.contains_key("smoketest") {
            Readiness::Ready
        } else {
            Readiness::NotReady
        }
    }
}

/// Whether a host passed its smoke test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// Tagged `smoketest`.
    Ready,
    /// Not (yet) tagged.
    NotReady,
    /// Failed or terminated.
    Failed,
}

/// Sorts as `listhosts` prints: by state, hostclass tag, hostname tag, then id.
pub fn sort_for_listing(hosts: &mut [Host]) {
    hosts.sort_by(|a, b| {
        let key = |h: &Host| {
            (
                h.state.clone(),
                h.hostclass().to_string(),
                h.tags.get("hostname").cloned().unwrap_or_default(),
                h.id.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
}

/// The optional columns of `listhosts`, in the order they print.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Columns {
    /// The instance state.
    pub state: bool,
    /// The `hostname` tag.
    pub hostname: bool,
    /// The `owner` tag.
    pub owner: bool,
    /// The instance type.
    pub instance_type: bool,
    /// The image id.
    pub ami: bool,
    /// Whether it passed its smoke test.
    pub smoke: bool,
    /// How old its image is.
    pub ami_age: bool,
    /// How long it has run.
    pub uptime: bool,
    /// Its private address.
    pub private_ip: bool,
    /// Its zone.
    pub availability_zone: bool,
    /// The `productline` tag.
    pub productline: bool,
    /// Its security groups.
    pub securitygroup: bool,
}

impl Columns {
    /// `--most`: state through uptime.
    pub fn most(mut self) -> Self {
        self.state = true;
        self.hostname = true;
        self.owner = true;
        self.instance_type = true;
        self.ami = true;
        self.smoke = true;
        self.ami_age = true;
        self.uptime = true;
        self
    }

    /// `--all`: every column.
    pub fn all(self) -> Self {
        Self { private_ip: true, availability_zone: true, productline: true, securitygroup: true, ..self.most() }
    }
}

/// The cells of one `listhosts` line: id, hostclass, address, then the chosen columns. `ami_created`
/// is the image's creation (epoch seconds) when known; `now` is epoch seconds.
pub fn listing_row(host: &Host, columns: &Columns, ami_created: Option<u64>, now: u64) -> Vec<String> {
    let flag = |b: bool| if b { "y" } else { "-" }.to_string();
    let tag = |k: &str| host.tags.get(k).cloned().unwrap_or_else(|| "-".to_string());
    let hours = |since: u64| (now.saturating_sub(since) / 3600).to_string();
    let mut row = vec![host.id.clone(), host.hostclass().to_string(), host.address().to_string()];
    let optional: [(bool, &dyn Fn() -> String); 12] = [
        (columns.state, &|| host.state.clone()),
        (columns.hostname, &|| flag(host.tags.contains_key("hostname"))),
        (columns.owner, &|| tag("owner")),
        (columns.instance_type, &|| host.instance_type.clone()),
        (columns.ami, &|| host.image_id.clone()),
        (columns.smoke, &|| flag(host.tags.contains_key("smoketest"))),
        (columns.ami_age, &|| ami_created.map_or("-".to_string(), hours)),
        (columns.uptime, &|| hours(host.launched)),
        (columns.private_ip, &|| host.preferred_private_ip().unwrap_or("-").to_string()),
        (columns.availability_zone, &|| host.zone.clone()),
        (columns.productline, &|| tag("productline")),
        (columns.securitygroup, &|| host.groups.first().cloned().unwrap_or_else(|| "-".to_string())),
    ];
    row.extend(optional.iter().filter(|(on, _)| *on).map(|(_, cell)| cell()));
    row
}

/// The headers matching [`listing_row`].
pub fn listing_headers(columns: &Columns) -> Vec<&'static str> {
    let mut headers = vec!["Instance", "Hostclass", "Address"];
    let optional = [
        (columns.state, "State"),
        (columns.hostname, "Hostname"),
        (columns.owner, "Owner"),
        (columns.instance_type, "Type"),
        (columns.ami, "AMI"),
        (columns.smoke, "Smoke"),
        (columns.ami_age, "AMI age (h)"),
        (columns.uptime, "Uptime (h)"),
        (columns.private_ip, "Private IP"),
        (columns.availability_zone, "Zone"),
        (columns.productline, "Product line"),
        (columns.securitygroup, "Security group"),
    ];
    headers.extend(optional.iter().filter(|(on, _)| *on).map(|(_, h)| *h));
    headers
}

/// The selectors of `terminate`, `stop`, `isready`: a host matches when it matches any value of any
/// given selector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selectors {
    /// Instance ids.
    pub instances: Vec<String>,
    /// `hostname` tags.
    pub hostnames: Vec<String>,
    /// Hostclasses.
    pub hostclasses: Vec<String>,
    /// Image ids.
    pub amis: Vec<String>,
    /// Autoscaling group names.
    pub groups: Vec<String>,
}

impl Selectors {
    /// True when no selector was given.
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
            && self.hostnames.is_empty()
            && self.hostclasses.is_empty()
            && self.amis.is_empty()
            && self.groups.is_empty()
    }

    /// How many kinds of selector were given.
    pub fn kinds(&self) -> usize {
        [&self.instances, &self.hostnames, &self.hostclasses, &self.amis, &self.groups]
            .iter()
            .filter(|v| !v.is_empty())
            .count()
    }

    /// Whether `host` is selected.
    pub fn matches(&self, host: &Host) -> bool {
        let any = |values: &[String], value: Option<&str>| value.is_some_and(|v| values.iter().any(|x| x == v));
        any(&self.instances, Some(&host.id))
            || any(&self.hostnames, host.tags.get("hostname").map(String::as_str))
            || any(&self.hostclasses, host.tags.get("hostclass").map(String::as_str))
            || any(&self.amis, Some(&host.image_id))
            || any(&self.groups, host.group())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(id: &str, state: &str, tags: &[(&str, &str)]) -> Host {
        Host {
            id: id.into(),
            state: state.into(),
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            private_ips: vec!["10.0.0.5".into()],
            instance_type: "t3.micro".into(),
            image_id: "ami-1".into(),
            launched: 0,
            zone: "us-west-2a".into(),
            groups: vec!["demo_intranet".into()],
            public_ip: None,
        }
    }

    #[test]
    fn hosts_sort_by_state_hostclass_hostname() {
        let mut hosts = vec![
            host("i-3", "stopped", &[("hostclass", "mhcapi")]),
            host("i-2", "running", &[("hostclass", "mhcweb"), ("hostname", "b")]),
            host("i-1", "running", &[("hostclass", "mhcweb"), ("hostname", "a")]),
            host("i-4", "running", &[("hostclass", "mhcapi")]),
        ];
        sort_for_listing(&mut hosts);
        let ids: Vec<&str> = hosts.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["i-4", "i-1", "i-2", "i-3"]);
    }

    #[test]
    fn the_second_interface_is_the_preferred_private_address() {
        let mut h = host("i-1", "running", &[]);
        assert_eq!(h.address(), "10.0.0.5");
        h.private_ips.push("10.0.0.99".into());
        assert_eq!(h.preferred_private_ip(), Some("10.0.0.99"));
        h.public_ip = Some("54.1.2.3".into());
        assert_eq!(h.address(), "54.1.2.3");
    }

    #[test]
    fn columns_print_in_order_and_most_all_select_them() {
        let h = host("i-1", "running", &[("hostclass", "mhcweb"), ("smoketest", "tested"), ("owner", "ann")]);
        let now = 7200;
        assert_eq!(listing_row(&h, &Columns::default(), None, now), ["i-1", "mhcweb", "10.0.0.5"]);
        let most = listing_row(&h, &Columns::default().most(), Some(3600), now);
        assert_eq!(most, ["i-1", "mhcweb", "10.0.0.5", "running", "-", "ann", "t3.micro", "ami-1", "y", "1", "2"]);
        let all = Columns::default().all();
        assert_eq!(listing_row(&h, &all, None, now).len(), listing_headers(&all).len());
        assert_eq!(listing_row(&h, &all, None, now)[11..], ["10.0.0.5", "us-west-2a", "-", "demo_intranet"]);
        let one = Columns { owner: true, ..Columns::default() };
        assert_eq!(listing_headers(&one), ["Instance", "Hostclass", "Address", "Owner"]);
    }

    #[test]
    fn selectors_and_readiness() {
        let h = host("i-1", "running", &[("hostclass", "mhcweb"), ("aws:autoscaling:groupName", "demo_mhcweb_1")]);
        let by = |s: Selectors| s.matches(&h);
        assert!(by(Selectors { hostclasses: vec!["mhcapi".into(), "mhcweb".into()], ..Default::default() }));
        assert!(by(Selectors { groups: vec!["demo_mhcweb_1".into()], ..Default::default() }));
        assert!(by(Selectors { amis: vec!["ami-1".into()], ..Default::default() }));
        assert!(!by(Selectors { hostnames: vec!["web-1".into()], ..Default::default() }));
        assert!(!by(Selectors::default()));
        assert_eq!(
            Selectors { instances: vec!["i-1".into()], amis: vec!["x".into()], ..Default::default() }.kinds(),
            2
        );
        assert_eq!(h.readiness(), Readiness::NotReady);
        assert_eq!(host("i-2", "running", &[("smoketest", "tested")]).readiness(), Readiness::Ready);
        assert_eq!(host("i-3", "terminated", &[("smoketest", "tested")]).readiness(), Readiness::Failed);
    }
}
