//! Security-group rules: the `<meta>_sg_rules` grammar, its expansion into concrete ingress rules,
//! and the add/revoke diff against what AWS has (§4.2.1, §4.2.2).
//!
//! Protocols and ports are normalised to the spelling AWS hands back, so a rule written `TCP` or
//! `6` compares equal to the live rule instead of causing a duplicate-rule error on every update.

use super::cidr::{normalized, parse_cidr};
use super::{Metanetwork, NetError};
use ipnetwork::Ipv4Network;
use serde::Serialize;
use std::collections::BTreeSet;

/// Where an expanded rule lets traffic come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SgSource {
    /// An address range (host bits cleared, as AWS stores it).
    Cidr(#[serde(serialize_with = "super::cidr::ser::net")] Ipv4Network),
    /// The security group of a metanetwork of the same VPC.
    Metanetwork(Metanetwork),
}

/// One concrete ingress rule on the security group of `target`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SgRule {
    /// The metanetwork whose security group gets the rule.
    pub target: Metanetwork,
    /// `tcp`, `udp`, `icmp`, `-1` (all) or a protocol number, as AWS reports it.
    pub protocol: String,
    /// First port (ICMP: type; `-1` when the protocol has no ports).
    pub from_port: i32,
    /// Last port (ICMP: code; `-1` when the protocol has no ports).
    pub to_port: i32,
    /// Where the traffic may come from.
    pub source: SgSource,
}

/// The source token of a rule as written, before it is checked against the VPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceSpec {
    /// `all`: every configured metanetwork, the target included.
    All,
    /// A CIDR (host bits cleared).
    Cidr(#[serde(serialize_with = "super::cidr::ser::net")] Ipv4Network),
    /// A metanetwork name.
    Metanetwork(Metanetwork),
}

/// One comma-separated item of a `<meta>_sg_rules` value, parsed but not yet expanded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SgRuleSpec {
    /// The item as written (trimmed), for error messages.
    pub rule: String,
    /// Normalised protocol (see [`normalize_protocol`]).
    pub protocol: String,
    /// The source token.
    pub source: SourceSpec,
    /// `(from, to)` per port spec, in the order written.
    pub ports: Vec<(i32, i32)>,
}

/// `customer_ports` and `customer_cidr`, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct CustomerPorts {
    /// TCP `(from, to)` ranges, in the order written.
    pub ports: Vec<(i32, i32)>,
    /// Customer address ranges (host bits cleared), in the order written.
    #[serde(serialize_with = "super::cidr::ser::nets")]
    pub cidrs: Vec<Ipv4Network>,
}

/// What the port tokens of a rule mean for its protocol.
#[derive(Clone, Copy)]
enum PortKind {
    /// TCP/UDP ports, 0..=65535, ascending.
    Ports,
    /// ICMP type and code, each -1..=255.
    IcmpTypeCode,
    /// AWS ignores ports for this protocol; stored as (-1, -1).
    Ignored,
}

fn port_kind(protocol: &str) -> PortKind {
    match protocol {
        "tcp" | "udp" => PortKind::Ports,
        // 58 is ICMPv6, which AWS also describes by type and code.
        "icmp" | "58" => PortKind::IcmpTypeCode,
        _ => PortKind::Ignored,
    }
}

/// The protocol as AWS reports it: `tcp`/`6` → `tcp`, `udp`/`17` → `udp`, `icmp`/`1` → `icmp`,
/// `all`/`-1` → `-1`, any other number 0–255 → that number. Case-insensitive; `None` if unknown.
pub fn normalize_protocol(protocol: &str) -> Option<String> {
    let lower = protocol.trim().to_ascii_lowercase();
    let named = match lower.as_str() {
        "tcp" => Some("tcp"),
        "udp" => Some("udp"),
        "icmp" => Some("icmp"),
        "all" => Some("-1"),
        _ => None,
    };
    if let Some(name) = named {
        return Some(name.to_string());
    }
    match lower.parse::<i32>().ok()? {
        -1 => Some("-1".to_string()),
        6 => Some("tcp".to_string()),
        17 => Some("udp".to_string()),
        1 => Some("icmp".to_string()),
        n @ 0..=255 => Some(n.to_string()),
        _ => None,
    }
}

/// `A:B` → (A, B), `A` → (A, A), checked against what the protocol allows.
fn parse_ports(token: &str, kind: PortKind) -> Result<(i32, i32), &'static str> {
    let (a, b) = token.split_once(':').unwrap_or((token, token));
    let number = |s: &str| s.parse::<i32>().map_err(|_| "expected a number or a range A:B");
    let (from, to) = (number(a)?, number(b)?);
    match kind {
        PortKind::Ports if !(0..=65535).contains(&from) || !(0..=65535).contains(&to) => {
            Err("ports must be between 0 and 65535")
        }
        PortKind::Ports if from > to => Err("the range starts above its end"),
        PortKind::IcmpTypeCode if !(-1..=255).contains(&from) || !(-1..=255).contains(&to) => {
            Err("ICMP type and code must be between -1 and 255")
        }
        PortKind::Ignored => Ok((-1, -1)),
        _ => Ok((from, to)),
    }
}

fn parse_source(token: &str, rule: &str) -> Result<SourceSpec, NetError> {
    let bad = || NetError::BadSource { name: token.to_string(), rule: rule.to_string() };
    if token.eq_ignore_ascii_case("all") {
        Ok(SourceSpec::All)
    } else if token.contains('/') {
        parse_cidr(token).map(|c| SourceSpec::Cidr(normalized(c))).map_err(|_| bad())
    } else {
        Metanetwork::from_name(token).map(SourceSpec::Metanetwork).ok_or_else(bad)
    }
}

fn parse_rule(rule: &str) -> Result<SgRuleSpec, NetError> {
    let tokens: Vec<&str> = rule.split_whitespace().collect();
    let [protocol, source, ports @ ..] = tokens.as_slice() else {
        return Err(NetError::BadRule { rule: rule.to_string() });
    };
    if ports.is_empty() {
        return Err(NetError::BadRule { rule: rule.to_string() });
    }
    let protocol = normalize_protocol(protocol)
        .ok_or_else(|| NetError::BadProtocol { protocol: protocol.to_string(), rule: rule.to_string() })?;
    let source = parse_source(source, rule)?;
    let kind = port_kind(&protocol);
    let ports = ports
        .iter()
        .map(|p| {
            parse_ports(p, kind).map_err(|reason| NetError::BadPort {
                port: p.to_string(),
                rule: rule.to_string(),
                reason,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(SgRuleSpec { rule: rule.to_string(), protocol, source, ports })
}

/// Parse a `<meta>_sg_rules` value: comma-separated rules, blanks around commas and empty items
/// ignored, each rule `protocol source port...`. Independent of the VPC, so a checker can run it
/// on any config section.
pub fn parse_sg_rules(value: &str) -> Result<Vec<SgRuleSpec>, NetError> {
    value.split(',').map(str::trim).filter(|r| !r.is_empty()).map(parse_rule).collect()
}

impl CustomerPorts {
    /// Parse `customer_ports` (whitespace-separated TCP ports or `A:B` ranges) and `customer_cidr`
    /// (whitespace-separated CIDRs). Both may be empty.
    pub fn parse(ports: &str, cidrs: &str) -> Result<Self, NetError> {
        let ports = ports.split_whitespace().map(parse_customer_port).collect::<Result<_, _>>()?;
        let cidrs = cidrs.split_whitespace().map(|c| parse_cidr(c).map(normalized)).collect::<Result<_, _>>()?;
        Ok(CustomerPorts { ports, cidrs })
    }

    /// True when no customer port is configured (then the CIDRs do not matter).
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty()
    }
}

fn parse_customer_port(token: &str) -> Result<(i32, i32), NetError> {
    // The README spells `customer_ports=443,80`, which Asiaq never accepted; say how to fix it.
    let reason = if token.contains(',') {
        Err("separate customer ports with spaces, not commas")
    } else {
        parse_ports(token, PortKind::Ports)
    };
    reason.map_err(|reason| NetError::BadCustomerPort { port: token.to_string(), reason })
}

fn resolve_source(spec: &SgRuleSpec, configured: &BTreeSet<Metanetwork>) -> Result<Vec<SgSource>, NetError> {
    match spec.source {
        SourceSpec::All => Ok(configured.iter().copied().map(SgSource::Metanetwork).collect()),
        SourceSpec::Cidr(cidr) => Ok(vec![SgSource::Cidr(cidr)]),
        SourceSpec::Metanetwork(meta) if configured.contains(&meta) => Ok(vec![SgSource::Metanetwork(meta)]),
        SourceSpec::Metanetwork(meta) => Err(NetError::SourceNotConfigured { meta, rule: spec.rule.clone() }),
    }
}

/// The complete desired ingress rule set of `target`'s security group: `value` (its
/// `<meta>_sg_rules`) expanded over the `configured` metanetworks, plus the customer-port rules.
///
/// Customer ports: on dmz, each port from every customer CIDR and from dmz itself; on intranet,
/// each port from dmz. Unlike Asiaq (which skipped them when `<meta>_sg_rules` was empty and then
/// revoked every rule), they are added even when `value` is empty. Customer ports with no dmz
/// configured are an error for those two targets and irrelevant to the others.
pub fn expand_sg_rules(
    target: Metanetwork,
    value: &str,
    configured: &BTreeSet<Metanetwork>,
    customer: &CustomerPorts,
) -> Result<BTreeSet<SgRule>, NetError> {
    if !configured.contains(&target) {
        return Err(NetError::TargetNotConfigured { meta: target });
    }
    let mut rules = BTreeSet::new();
    for spec in parse_sg_rules(value)? {
        let sources = resolve_source(&spec, configured)?;
        for &(from_port, to_port) in &spec.ports {
            for &source in &sources {
                rules.insert(SgRule { target, protocol: spec.protocol.clone(), from_port, to_port, source });
            }
        }
    }
    rules.extend(customer_rules(target, configured, customer)?);
    Ok(rules)
}

fn customer_rules(
    target: Metanetwork,
    configured: &BTreeSet<Metanetwork>,
    customer: &CustomerPorts,
) -> Result<Vec<SgRule>, NetError> {
    let wants_dmz = matches!(target, Metanetwork::Dmz | Metanetwork::Intranet);
    if customer.is_empty() || !wants_dmz {
        return Ok(Vec::new());
    }
    if !configured.contains(&Metanetwork::Dmz) {
        return Err(NetError::CustomerPortsWithoutDmz);
    }
    let mut sources: Vec<SgSource> = Vec::new();
    if target == Metanetwork::Dmz {
        sources.extend(customer.cidrs.iter().copied().map(SgSource::Cidr));
    }
    sources.push(SgSource::Metanetwork(Metanetwork::Dmz));
    let tcp = |(from_port, to_port): (i32, i32), source| SgRule {
        target,
        protocol: "tcp".to_string(),
        from_port,
        to_port,
        source,
    };
    Ok(customer.ports.iter().flat_map(|&p| sources.iter().map(move |&s| tcp(p, s))).collect())
}

/// `(to_add, to_revoke)`: desired rules missing from AWS, and live rules no longer desired.
/// Generic so the cloud layer can diff its own resolved tuples (security-group ids instead of
/// metanetworks) with the same semantics.
pub fn diff_sg_rules<T: Ord + Clone>(current: &BTreeSet<T>, desired: &BTreeSet<T>) -> (BTreeSet<T>, BTreeSet<T>) {
    let to_add = desired.difference(current).cloned().collect();
    let to_revoke = current.difference(desired).cloned().collect();
    (to_add, to_revoke)
}

/// The `(from, to)` to compare for a live rule whose ports AWS may leave out.
///
/// Asiaq read a missing from-port as 0 and a missing to-port as 65535; for protocols whose ports
/// AWS ignores (`-1`, and numbers other than tcp/udp/icmp) Sila uses (-1, -1) on both sides so
/// such rules do not show up as changed on every update.
pub fn current_rule_ports(protocol: &str, from: Option<i32>, to: Option<i32>) -> (i32, i32) {
    let protocol = normalize_protocol(protocol).unwrap_or_default();
    match port_kind(&protocol) {
        PortKind::Ignored => (-1, -1),
        _ => (from.unwrap_or(0), to.unwrap_or(65535)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::n;
    use Metanetwork::*;

    const INTRANET: &str = "tcp all 0:65535, udp intranet 0:65535, tcp dmz 2181";
    const TUNNEL: &str = "tcp all 25 80 443, tcp maintenance 22, udp all 123";
    const DMZ: &str = "tcp maintenance 22 3212, tcp 66.104.227.162/32 80 443, tcp 38.117.159.162/32 80 443, tcp 64.106.168.244/32 80 443";
    const MAINTENANCE: &str = "tcp maintenance 22, tcp 66.104.227.162/32 0:65535, tcp 38.117.159.162/32 0:65535";

    fn all_four() -> BTreeSet<Metanetwork> {
        Metanetwork::ALL.into()
    }

    fn customer() -> CustomerPorts {
        CustomerPorts::parse("80 443", "0.0.0.0/0").unwrap()
    }

    fn sg(m: Metanetwork) -> SgSource {
        SgSource::Metanetwork(m)
    }

    fn cidr(c: &str) -> SgSource {
        SgSource::Cidr(n(c))
    }

    fn rule(target: Metanetwork, protocol: &str, from_port: i32, to_port: i32, source: SgSource) -> SgRule {
        SgRule { target, protocol: protocol.into(), from_port, to_port, source }
    }

    fn expand(target: Metanetwork, value: &str) -> BTreeSet<SgRule> {
        expand_sg_rules(target, value, &all_four(), &customer()).unwrap()
    }

    #[test]
    fn vector_19_intranet() {
        let mut want: BTreeSet<SgRule> =
            [Tunnel, Intranet, Dmz, Maintenance].into_iter().map(|m| rule(Intranet, "tcp", 0, 65535, sg(m))).collect();
        want.insert(rule(Intranet, "udp", 0, 65535, sg(Intranet)));
        want.insert(rule(Intranet, "tcp", 2181, 2181, sg(Dmz)));
        want.insert(rule(Intranet, "tcp", 80, 80, sg(Dmz)));
        want.insert(rule(Intranet, "tcp", 443, 443, sg(Dmz)));
        let got = expand(Intranet, INTRANET);
        assert_eq!(got.len(), 8);
        assert_eq!(got, want);
    }

    #[test]
    fn vector_20_tunnel() {
        let mut want = BTreeSet::new();
        for port in [25, 80, 443] {
            for m in Metanetwork::ALL {
                want.insert(rule(Tunnel, "tcp", port, port, sg(m)));
            }
        }
        want.insert(rule(Tunnel, "tcp", 22, 22, sg(Maintenance)));
        for m in Metanetwork::ALL {
            want.insert(rule(Tunnel, "udp", 123, 123, sg(m)));
        }
        let got = expand(Tunnel, TUNNEL);
        assert_eq!(got.len(), 17);
        assert_eq!(got, want);
    }

    #[test]
    fn vector_21_dmz_with_customer_ports() {
        let mut want =
            BTreeSet::from([rule(Dmz, "tcp", 22, 22, sg(Maintenance)), rule(Dmz, "tcp", 3212, 3212, sg(Maintenance))]);
        for c in ["66.104.227.162/32", "38.117.159.162/32", "64.106.168.244/32"] {
            for port in [80, 443] {
                want.insert(rule(Dmz, "tcp", port, port, cidr(c)));
            }
        }
        for port in [80, 443] {
            want.insert(rule(Dmz, "tcp", port, port, cidr("0.0.0.0/0")));
            want.insert(rule(Dmz, "tcp", port, port, sg(Dmz)));
        }
        let got = expand(Dmz, DMZ);
        assert_eq!(got.len(), 12);
        assert_eq!(got, want);
    }

    #[test]
    fn vector_22_maintenance_gets_no_customer_rules() {
        let want = BTreeSet::from([
            rule(Maintenance, "tcp", 22, 22, sg(Maintenance)),
            rule(Maintenance, "tcp", 0, 65535, cidr("66.104.227.162/32")),
            rule(Maintenance, "tcp", 0, 65535, cidr("38.117.159.162/32")),
        ]);
        assert_eq!(expand(Maintenance, MAINTENANCE), want);
    }

    #[test]
    fn vector_23_icmp_all() {
        let got = expand(Tunnel, "icmp 10.0.0.0/8 -1");
        assert_eq!(got, BTreeSet::from([rule(Tunnel, "icmp", -1, -1, cidr("10.0.0.0/8"))]));
    }

    #[test]
    fn vector_24_two_tokens() {
        let err = parse_sg_rules("tcp all").unwrap_err();
        assert_eq!(err, NetError::BadRule { rule: "tcp all".into() });
        assert_eq!(
            err.to_string(),
            "Cannot make heads or tails of rule \"tcp all\": expected \"protocol source port...\""
        );
        assert!(matches!(parse_sg_rules("tcp all 22, udp"), Err(NetError::BadRule { rule }) if rule == "udp"));
    }

    #[test]
    fn vector_25_diff() {
        // The vector's `source_sg_id` is a security group; the generic diff takes the cloud
        // layer's own tuples as well as SgRule.
        type Tuple = (&'static str, i32, i32, Option<&'static str>, Option<&'static str>);
        let current: BTreeSet<Tuple> = [("udp", 43, 21, None, Some("12.23.34.45/23"))].into();
        let desired: BTreeSet<Tuple> = [("tcp", 123, 234, Some("source_sg_id"), None)].into();
        let (add, revoke) = diff_sg_rules(&current, &desired);
        assert_eq!(add, desired);
        assert_eq!(revoke, current);

        let current = BTreeSet::from([rule(Dmz, "udp", 43, 21, cidr("12.23.34.0/23"))]);
        let desired = BTreeSet::from([rule(Dmz, "tcp", 123, 234, sg(Tunnel)), rule(Dmz, "tcp", 22, 22, sg(Tunnel))]);
        let both = current.union(&desired).cloned().collect();
        let (add, revoke) = diff_sg_rules(&both, &desired);
        assert!(add.is_empty());
        assert_eq!(revoke, current);
    }

    #[test]
    fn irregular_spacing_and_empty_items() {
        let a = expand(Tunnel, "tcp maintenance 22 ,udp   all\t123,, ");
        let b = expand(Tunnel, "tcp maintenance 22, udp all 123");
        assert_eq!(a, b);
        assert_eq!(a.len(), 5);
    }

    #[test]
    fn duplicates_collapse() {
        let got = expand(Tunnel, "tcp dmz 22, tcp dmz 22:22, TCP dmz 22, 6 dmz 22");
        assert_eq!(got, BTreeSet::from([rule(Tunnel, "tcp", 22, 22, sg(Dmz))]));
    }

    #[test]
    fn protocols_are_normalised() {
        let cases = [
            ("tcp", "tcp"),
            ("TCP", "tcp"),
            ("6", "tcp"),
            ("udp", "udp"),
            ("17", "udp"),
            ("Icmp", "icmp"),
            ("1", "icmp"),
            ("all", "-1"),
            ("ALL", "-1"),
            ("-1", "-1"),
            ("50", "50"),
            ("0", "0"),
            ("255", "255"),
        ];
        for (written, want) in cases {
            assert_eq!(normalize_protocol(written).as_deref(), Some(want), "{written}");
        }
        for bad in ["256", "-2", "tcpx", "", "icmpv6"] {
            assert_eq!(normalize_protocol(bad), None, "{bad}");
        }
        let err = parse_sg_rules("sctp all 22").unwrap_err();
        assert_eq!(err, NetError::BadProtocol { protocol: "sctp".into(), rule: "sctp all 22".into() });
    }

    #[test]
    fn all_protocol_ignores_ports() {
        let got = expand(Tunnel, "-1 dmz 0:65535, all dmz 22, 50 dmz 500");
        assert_eq!(got, BTreeSet::from([rule(Tunnel, "-1", -1, -1, sg(Dmz)), rule(Tunnel, "50", -1, -1, sg(Dmz))]));
        // Ignored, but still must look like ports.
        assert!(matches!(parse_sg_rules("all dmz x"), Err(NetError::BadPort { .. })));
    }

    #[test]
    fn port_validation() {
        let reason = |value: &str| match parse_sg_rules(value) {
            Err(NetError::BadPort { reason, .. }) => reason,
            other => panic!("{value}: {other:?}"),
        };
        assert_eq!(reason("tcp dmz 65536"), "ports must be between 0 and 65535");
        assert_eq!(reason("tcp dmz -1"), "ports must be between 0 and 65535");
        assert_eq!(reason("udp dmz 90:80"), "the range starts above its end");
        assert_eq!(reason("tcp dmz http"), "expected a number or a range A:B");
        assert_eq!(reason("tcp dmz 1:2:3"), "expected a number or a range A:B");
        assert_eq!(reason("tcp dmz 80:"), "expected a number or a range A:B");
        assert_eq!(reason("icmp dmz 256"), "ICMP type and code must be between -1 and 255");
        assert_eq!(reason("icmp dmz -2"), "ICMP type and code must be between -1 and 255");
        // ICMP keeps type:code as from/to, in any order.
        assert_eq!(expand(Dmz, "icmp all 8:0").first().map(|r| (r.from_port, r.to_port)), Some((8, 0)));
        assert_eq!(parse_sg_rules("tcp dmz 0:65535").unwrap()[0].ports, [(0, 65535)]);
        let err = parse_sg_rules("tcp dmz 22 7000000").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Bad port \"7000000\" in rule \"tcp dmz 22 7000000\": ports must be between 0 and 65535"
        );
    }

    #[test]
    fn sources() {
        let specs = parse_sg_rules("tcp ALL 1, tcp 10.1.2.3/16 1, tcp dmz 1").unwrap();
        let sources: Vec<_> = specs.iter().map(|s| s.source).collect();
        assert_eq!(sources, [SourceSpec::All, SourceSpec::Cidr(n("10.1.0.0/16")), SourceSpec::Metanetwork(Dmz)]);
        for bad in ["tcp public 22", "tcp DMZ 22", "tcp 10.0.0.0/33 22", "tcp 10.0.0/8 22"] {
            assert!(matches!(parse_sg_rules(bad), Err(NetError::BadSource { .. })), "{bad}");
        }
        let err = parse_sg_rules("tcp public 22").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Unknown source \"public\" in rule \"tcp public 22\": expected all, a CIDR or a metanetwork name"
        );
    }

    #[test]
    fn all_means_configured_metanetworks_including_target() {
        let configured = BTreeSet::from([Intranet, Tunnel]);
        let got = expand_sg_rules(Intranet, "tcp all 22", &configured, &CustomerPorts::default()).unwrap();
        assert_eq!(
            got,
            BTreeSet::from([rule(Intranet, "tcp", 22, 22, sg(Intranet)), rule(Intranet, "tcp", 22, 22, sg(Tunnel))])
        );
    }

    #[test]
    fn unconfigured_metanetworks_are_errors() {
        let configured = BTreeSet::from([Intranet, Tunnel]);
        let none = CustomerPorts::default();
        assert_eq!(
            expand_sg_rules(Intranet, "tcp dmz 22", &configured, &none),
            Err(NetError::SourceNotConfigured { meta: Dmz, rule: "tcp dmz 22".into() })
        );
        assert_eq!(
            expand_sg_rules(Dmz, "tcp tunnel 22", &configured, &none),
            Err(NetError::TargetNotConfigured { meta: Dmz })
        );
    }

    #[test]
    fn customer_ports_without_sg_rules_are_still_added() {
        // Asiaq quirk fixed: an empty <meta>_sg_rules no longer drops the customer-port rules.
        let got = expand(Intranet, "");
        assert_eq!(
            got,
            BTreeSet::from([rule(Intranet, "tcp", 80, 80, sg(Dmz)), rule(Intranet, "tcp", 443, 443, sg(Dmz))])
        );
        assert_eq!(expand(Dmz, " , ").len(), 4);
        assert!(expand(Tunnel, "").is_empty());
    }

    #[test]
    fn customer_ports_need_dmz() {
        let configured = BTreeSet::from([Intranet, Tunnel]);
        assert_eq!(expand_sg_rules(Intranet, "", &configured, &customer()), Err(NetError::CustomerPortsWithoutDmz));
        // Tunnel has nothing to do with customer ports.
        assert_eq!(expand_sg_rules(Tunnel, "", &configured, &customer()), Ok(BTreeSet::new()));
    }

    #[test]
    fn customer_port_ranges_and_several_cidrs() {
        let customer = CustomerPorts::parse("11200:11210", "1.2.3.0/24  5.6.7.8/32").unwrap();
        let got = expand_sg_rules(Dmz, "", &all_four(), &customer).unwrap();
        assert_eq!(
            got,
            BTreeSet::from([
                rule(Dmz, "tcp", 11200, 11210, cidr("1.2.3.0/24")),
                rule(Dmz, "tcp", 11200, 11210, cidr("5.6.7.8/32")),
                rule(Dmz, "tcp", 11200, 11210, sg(Dmz)),
            ])
        );
    }

    #[test]
    fn customer_port_parsing() {
        assert_eq!(CustomerPorts::parse("", ""), Ok(CustomerPorts::default()));
        assert!(CustomerPorts::parse("", "1.2.3.4/32").unwrap().is_empty());
        assert_eq!(
            CustomerPorts::parse("443,80", "0.0.0.0/0"),
            Err(NetError::BadCustomerPort {
                port: "443,80".into(),
                reason: "separate customer ports with spaces, not commas"
            })
        );
        assert!(matches!(CustomerPorts::parse("70000", ""), Err(NetError::BadCustomerPort { .. })));
        assert_eq!(CustomerPorts::parse("80", "0.0.0.0"), Err(NetError::BadCidr { value: "0.0.0.0".into() }));
        assert_eq!(CustomerPorts::parse("80", "10.1.1.1/16").unwrap().cidrs, [n("10.1.0.0/16")]);
    }

    #[test]
    fn live_rule_ports() {
        assert_eq!(current_rule_ports("tcp", None, None), (0, 65535));
        assert_eq!(current_rule_ports("tcp", Some(22), Some(22)), (22, 22));
        assert_eq!(current_rule_ports("icmp", Some(-1), Some(-1)), (-1, -1));
        assert_eq!(current_rule_ports("-1", None, None), (-1, -1));
        assert_eq!(current_rule_ports("50", None, None), (-1, -1));
    }

    #[test]
    fn serializes() {
        let r = rule(Dmz, "tcp", 80, 80, cidr("0.0.0.0/0"));
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"target":"dmz","protocol":"tcp","from_port":80,"to_port":80,"source":{"cidr":"0.0.0.0/0"}}"#
        );
    }
}
