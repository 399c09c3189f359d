//! A hostclass's load balancer (reference §4.13, with elbv2 instead of classic load balancers):
//! its options resolved once with the file and line each came from ([`ElbSettings`]), and the
//! load balancer, target groups and listeners they describe ([`LoadBalancerSpec`]). HTTP and
//! HTTPS listeners make an application load balancer, TCP and TLS (Asiaq's SSL) a network one;
//! both in one hostclass is a configuration error.

pub mod certs;
pub mod names;
pub mod plan;
pub mod ports;

use crate::config::AwsConfig;
use crate::truth::truthy;
use ports::{Mapping, Protocol};
use serde::Serialize;
use std::collections::BTreeMap;

/// Seconds between health checks, and how many answers make a target healthy or unhealthy
/// (reference §4.13: interval 5, timeout 4, thresholds 2 and 2).
pub const HEALTH_INTERVAL: i32 = 5;
/// Seconds a health check may take.
pub const HEALTH_TIMEOUT: i32 = 4;
/// Answers in a row that change a target's health.
pub const HEALTH_THRESHOLD: i32 = 2;

/// Application (HTTP, HTTPS) or network (TCP, TLS) load balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An application load balancer.
    Application,
    /// A network load balancer.
    Network,
}

impl Kind {
    /// Its elbv2 type name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Application => "application",
            Kind::Network => "network",
        }
    }
}

/// The `elb*` options of a hostclass in an environment, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElbSettings {
    /// The hostclass.
    pub hostclass: String,
    /// Where its `elb` option is (`<file>:<line>: [<section>] elb`), for errors about the load
    /// balancer as a whole.
    pub origin: String,
    /// Where the name its certificate is sought by comes from (`elb_cert_name`, else the listener
    /// protocols), for a missing certificate.
    pub certificate_origin: String,
    /// The forwardings (§4.13.1).
    pub mappings: Vec<Mapping>,
    /// Application or network.
    pub kind: Kind,
    /// `elb_health_check_url`.
    pub health_check_url: Option<String>,
    /// `elb_idle_timeout` (default 300 seconds; application load balancers).
    pub idle_timeout: u32,
    /// `elb_connection_draining`: the deregistration delay (default 300; 0 turns it off).
    pub draining: u32,
    /// `elb_sticky_app_cookie`.
    pub sticky_cookie: Option<String>,
    /// `elb_cross_zone_load_balancing` (default true).
    pub cross_zone: bool,
    /// `elb_public`: internet-facing instead of internal.
    pub public: bool,
    /// `elb_meta_network`, else `meta_network`.
    pub meta_network: Option<String>,
    /// `elb_cert_name`.
    pub cert_name: Option<String>,
    /// `elb_dns_alias` (or `elb_alias`): another name in the zone.
    pub dns_alias: Option<String>,
    /// `domain_name`: the zone its names go in.
    pub domain_name: Option<String>,
    /// `product_line`, for the tags.
    pub product_line: Option<String>,
}

/// How a hostclass option is named in errors: `<file>:<line>: [<section>] <option>`.
fn origin(aws: &AwsConfig, r: &crate::config::Resolved) -> String {
    format!("{}:{}: [{}] {}", aws.ini.path.display(), r.line, r.section, r.option)
}

impl ElbSettings {
    /// The settings of `hostclass` in `env`; `None` when its `elb` option is not true. An error
    /// names the file, line and option at fault.
    pub fn resolve(aws: &AwsConfig, hostclass: &str, env: &str) -> Result<Option<Self>, String> {
        let get = |o: &str| aws.hostclass_option(hostclass, o, Some(env)).filter(|r| !r.value.trim().is_empty());
        let value = |o: &str| get(o).map(|r| r.value.trim().to_string());
        if !get("elb").is_some_and(|r| truthy(r.value.trim())) {
            return Ok(None);
        }
        let text = |o: &str| value(o).unwrap_or_default();
        let mappings = ports::mappings(
            &text("elb_instance_port"),
            &text("elb_instance_protocol"),
            &text("elb_port"),
            &text("elb_protocol"),
        )
        .map_err(|e| {
            let at = ["elb_protocol", "elb_port", "elb_instance_protocol", "elb_instance_port"]
                .iter()
                .find_map(|o| get(o))
                .map_or_else(|| format!("[{hostclass}]"), |r| origin(aws, &r));
            format!("{at}: {e}")
        })?;
        let kind = kind_of(&mappings).map_err(|e| {
            let at = get("elb_protocol").or_else(|| get("elb_port")).or_else(|| get("elb"));
            format!("{}: {e}", at.map_or_else(|| format!("[{hostclass}]"), |r| origin(aws, &r)))
        })?;
        let seconds = |o: &str, default: u32| -> Result<u32, String> {
            match get(o) {
                None => Ok(default),
                Some(r) => r.value.trim().parse::<u32>().ok().filter(|n| *n <= 4000).ok_or_else(|| {
                    format!("{}: {:?} is not a number of seconds (0-4000)", origin(aws, &r), r.value.trim())
                }),
            }
        };
        let idle_timeout = seconds("elb_idle_timeout", 300)?;
        if kind == Kind::Application && idle_timeout == 0 {
            let r = get("elb_idle_timeout").expect("set when 0");
            return Err(format!("{}: an idle timeout is at least 1 second", origin(aws, &r)));
        }
        let elb = get("elb").map(|r| origin(aws, &r)).unwrap_or_else(|| format!("[{hostclass}]"));
        let certificate_origin = get("elb_cert_name")
            .or_else(|| get("elb_protocol"))
            .or_else(|| get("elb_port"))
            .map_or_else(|| elb.clone(), |r| origin(aws, &r));
        Ok(Some(ElbSettings {
            hostclass: hostclass.to_string(),
            origin: elb,
            certificate_origin,
            mappings,
            kind,
            health_check_url: value("elb_health_check_url"),
            idle_timeout,
            draining: seconds("elb_connection_draining", 300)?.min(3600),
            sticky_cookie: value("elb_sticky_app_cookie"),
            cross_zone: value("elb_cross_zone_load_balancing").is_none_or(|v| truthy(&v)),
            public: value("elb_public").is_some_and(|v| truthy(&v)),
            meta_network: value("elb_meta_network").or_else(|| value("meta_network")),
            cert_name: value("elb_cert_name"),
            dns_alias: value("elb_dns_alias").or_else(|| value("elb_alias")),
            domain_name: value("domain_name"),
            product_line: value("product_line"),
        }))
    }
}

/// Application when every listener is HTTP or HTTPS, network when every one is TCP or TLS; an
/// application load balancer's targets must speak HTTP or HTTPS too.
fn kind_of(mappings: &[Mapping]) -> Result<Kind, String> {
    let http = mappings.iter().filter(|m| m.external.protocol.is_http()).count();
    if http != 0 && http != mappings.len() {
        let listed: Vec<String> = mappings.iter().map(ToString::to_string).collect();
        return Err(format!(
            "HTTP(S) and TCP/TLS listeners cannot share a load balancer ({}): an application load balancer speaks HTTP, a network one TCP",
            listed.join(", ")
        ));
    }
    if http == 0 {
        return Ok(Kind::Network);
    }
    if let Some(m) = mappings.iter().find(|m| !m.internal.protocol.is_http()) {
        return Err(format!("{m}: an application load balancer forwards to HTTP or HTTPS instance ports only"));
    }
    Ok(Kind::Application)
}

/// A target group's health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    /// Its protocol.
    pub protocol: Protocol,
    /// The instance port it asks.
    pub port: u16,
    /// The path, for HTTP and HTTPS checks.
    pub path: Option<String>,
}

/// One target group: the instances' port and protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetGroupSpec {
    /// Its name.
    pub name: String,
    /// The instance port.
    pub port: u16,
    /// The protocol to the instances.
    pub protocol: Protocol,
    /// Its health check.
    pub health: HealthCheck,
    /// Its attributes (deregistration delay, stickiness, cross-zone).
    pub attributes: BTreeMap<String, String>,
}

/// One listener: the load balancer's port and protocol, forwarding to a target group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListenerSpec {
    /// The port.
    pub port: u16,
    /// Its protocol.
    pub protocol: Protocol,
    /// The target group it forwards to (by name).
    pub target_group: String,
}

/// A hostclass's load balancer as its settings describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadBalancerSpec {
    /// Its name.
    pub name: String,
    /// The hostclass.
    pub hostclass: String,
    /// The testing load balancer (`-test`).
    pub testing: bool,
    /// Application or network.
    pub kind: Kind,
    /// Internal (the default) or internet-facing.
    pub internal: bool,
    /// The metanetwork whose subnets and security group it gets.
    pub meta_network: Option<String>,
    /// Its listeners, by port.
    pub listeners: Vec<ListenerSpec>,
    /// Its target groups.
    pub target_groups: Vec<TargetGroupSpec>,
    /// Its attributes.
    pub attributes: BTreeMap<String, String>,
    /// Its tags (reference §1.8).
    pub tags: BTreeMap<String, String>,
    /// Its DNS names (`<hostclass>-<env>.<domain>` and the alias), when the hostclass has a domain.
    pub dns_names: Vec<String>,
    /// The name its certificate is sought by, when a listener is HTTPS or TLS.
    pub certificate_name: Option<String>,
    /// Where that name comes from in the config, for a missing certificate.
    #[serde(skip)]
    pub certificate_origin: String,
}

impl LoadBalancerSpec {
    /// The load balancer `settings` describe for `env` (the testing one with `testing`).
    pub fn of(settings: &ElbSettings, env: &str, testing: bool) -> Result<Self, String> {
        Self::described(settings, env, testing).map_err(|e| format!("{}: {e}", settings.origin))
    }

    fn described(settings: &ElbSettings, env: &str, testing: bool) -> Result<Self, String> {
        let s = settings;
        let name = names::load_balancer_name(env, &s.hostclass, testing)?;
        // The health check asks the first HTTP(S) instance port, else the first one (§4.13).
        let checked = s.mappings.iter().find(|m| m.internal.protocol.is_http()).unwrap_or(&s.mappings[0]).internal;
        let health = HealthCheck {
            protocol: checked.protocol,
            port: checked.port,
            path: checked.protocol.is_http().then(|| s.health_check_url.clone().unwrap_or_else(|| "/".to_string())),
        };
        let mut target_groups: Vec<TargetGroupSpec> = Vec::new();
        let mut listeners = Vec::new();
        for m in &s.mappings {
            let protocol = match (s.kind, m.internal.protocol) {
                (Kind::Network, Protocol::Http) => Protocol::Tcp,
                (Kind::Network, Protocol::Https) => Protocol::Tls,
                (_, p) => p,
            };
            let tg = names::target_group_name(env, &s.hostclass, testing, m.internal.port);
            if !target_groups.iter().any(|t| t.name == tg) {
                target_groups.push(TargetGroupSpec {
                    name: tg.clone(),
                    port: m.internal.port,
                    protocol,
                    health: health.clone(),
                    attributes: target_group_attributes(s),
                });
            }
            if let Some(other) = listeners.iter().find(|l: &&ListenerSpec| l.port == m.external.port) {
                return Err(format!(
                    "port {} listens twice ({} and {})",
                    m.external.port, other.protocol, m.external.protocol
                ));
            }
            listeners.push(ListenerSpec { port: m.external.port, protocol: m.external.protocol, target_group: tg });
        }
        let mut attributes = BTreeMap::new();
        match s.kind {
            Kind::Application => {
                attributes.insert("idle_timeout.timeout_seconds".to_string(), s.idle_timeout.to_string());
            }
            Kind::Network => {
                attributes.insert("load_balancing.cross_zone.enabled".to_string(), s.cross_zone.to_string());
            }
        }
        let mut tags = BTreeMap::from([
            ("hostclass".to_string(), s.hostclass.clone()),
            ("environment".to_string(), env.to_string()),
            ("is_testing".to_string(), if testing { "1" } else { "0" }.to_string()),
        ]);
        if let Some(line) = &s.product_line {
            tags.insert("productline".to_string(), line.clone());
        }
        let mut dns_names = Vec::new();
        if let Some(domain) = &s.domain_name {
            dns_names.push(names::dns_name(env, &s.hostclass, testing, domain));
            if let (Some(alias), false) = (&s.dns_alias, testing) {
                dns_names.push(format!("{alias}.{}", domain.trim_end_matches('.')));
            }
        }
        let secure = listeners.iter().any(|l| l.protocol.is_secure());
        let certificate_name = secure
            .then(|| s.cert_name.clone().or_else(|| dns_names.get(1).cloned()).or_else(|| dns_names.first().cloned()))
            .flatten();
        if secure && certificate_name.is_none() {
            return Err("an HTTPS or TLS listener needs a certificate: set elb_cert_name or domain_name".to_string());
        }
        Ok(LoadBalancerSpec {
            name,
            hostclass: s.hostclass.clone(),
            testing,
            kind: s.kind,
            internal: !s.public,
            meta_network: s.meta_network.clone(),
            listeners,
            target_groups,
            attributes,
            tags,
            dns_names,
            certificate_name,
            certificate_origin: s.certificate_origin.clone(),
        })
    }
}

impl LoadBalancerSpec {
    /// What names and owns the load balancer of `hostclass` (name, tags, DNS names in `domain`)
    /// when its config no longer describes one: enough to find it and take it away.
    pub fn identity(env: &str, hostclass: &str, testing: bool, domain: Option<&str>) -> Result<Self, String> {
        let settings = ElbSettings {
            hostclass: hostclass.to_string(),
            origin: format!("[{hostclass}]"),
            certificate_origin: format!("[{hostclass}]"),
            mappings: ports::mappings("", "", "", "")?,
            kind: Kind::Application,
            health_check_url: None,
            idle_timeout: 300,
            draining: 300,
            sticky_cookie: None,
            cross_zone: true,
            public: false,
            meta_network: None,
            cert_name: None,
            dns_alias: None,
            domain_name: domain.map(str::to_string),
            product_line: None,
        };
        let mut spec = Self::of(&settings, env, testing)?;
        spec.listeners.clear();
        spec.target_groups.clear();
        Ok(spec)
    }
}

/// Deregistration delay, and for application load balancers cross-zone (on the target group: the
/// load balancer's own is always on) and stickiness (an app cookie, or the load balancer's own for
/// `ELB`/`AWSELB`).
fn target_group_attributes(s: &ElbSettings) -> BTreeMap<String, String> {
    let mut a = BTreeMap::from([("deregistration_delay.timeout_seconds".to_string(), s.draining.to_string())]);
    if s.kind == Kind::Application {
        // An application load balancer always balances across zones; a target group can opt out.
        a.insert("load_balancing.cross_zone.enabled".into(), s.cross_zone.to_string());
        match s.sticky_cookie.as_deref() {
            None => {
                a.insert("stickiness.enabled".into(), "false".into());
            }
            Some("ELB" | "AWSELB") => {
                a.insert("stickiness.enabled".into(), "true".into());
                a.insert("stickiness.type".into(), "lb_cookie".into());
            }
            Some(cookie) => {
                a.insert("stickiness.enabled".into(), "true".into());
                a.insert("stickiness.type".into(), "app_cookie".into());
                a.insert("stickiness.app_cookie.cookie_name".into(), cookie.to_string());
            }
        }
    }
    a
}

#[cfg(test)]
mod tests;
