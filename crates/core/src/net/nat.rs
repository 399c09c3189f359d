//! NAT gateway settings: `<meta>_nat_gateways` and `nat_gateway_routes` (§4.2.5).
//!
//! Only the config side lives here; looking EIPs up and pairing them with subnets is the cloud
//! layer's job. The parsers refuse the README's space-separated EIP spelling and routes that
//! would fight over one metanetwork's default route, both of which Asiaq mishandled silently.

use super::{Metanetwork, NetError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// The NAT gateways a metanetwork should have.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NatGateways {
    /// Empty or absent: the metanetwork's NAT gateways are deleted.
    #[default]
    None,
    /// `auto`: one NAT per subnet with a dynamically allocated EIP.
    Auto,
    /// Pre-allocated EIP public addresses, one per subnet, in the order written.
    Static(Vec<Ipv4Addr>),
}

impl NatGateways {
    /// Empty → `None`; `auto` (any case) → `Auto`; else comma-separated EIPs, blanks around them
    /// and empty items ignored.
    pub fn parse(value: &str) -> Result<Self, NetError> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(NatGateways::None);
        }
        if value.eq_ignore_ascii_case("auto") {
            return Ok(NatGateways::Auto);
        }
        let mut ips: Vec<Ipv4Addr> = Vec::new();
        for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if item.contains(char::is_whitespace) {
                return Err(NetError::NatNeedsCommas { value: value.to_string() });
            }
            let ip: Ipv4Addr = item.parse().map_err(|_| NetError::BadIp { value: item.to_string() })?;
            if ips.contains(&ip) {
                return Err(NetError::DuplicateNatIp { ip: item.to_string() });
            }
            ips.push(ip);
        }
        if ips.is_empty() {
            return Err(NetError::BadIp { value: value.to_string() });
        }
        Ok(NatGateways::Static(ips))
    }
}

impl FromStr for NatGateways {
    type Err = NetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Static EIPs must match the metanetwork's subnets one to one; `None` and `Auto` always fit.
pub fn check_static_count(nat: &NatGateways, subnets: usize) -> Result<(), NetError> {
    match nat {
        NatGateways::Static(ips) if ips.len() != subnets => Err(NetError::NatCountMismatch { ips: ips.len(), subnets }),
        _ => Ok(()),
    }
}

fn parse_nat_route(pair: &str) -> Result<(Metanetwork, Metanetwork), NetError> {
    let bad = || NetError::BadNatRoute { pair: pair.to_string() };
    let (from, to) = pair.split_once('/').ok_or_else(bad)?;
    let from = Metanetwork::from_name(from.trim()).ok_or_else(bad)?;
    let to = Metanetwork::from_name(to.trim()).ok_or_else(bad)?;
    if from == to {
        return Err(NetError::NatRouteToSelf { pair: pair.to_string() });
    }
    Ok((from, to))
}

/// `nat_gateway_routes`: whitespace-separated `source/destination` metanetwork pairs, in the
/// order written, exact repeats dropped. A source may route to one destination only, since its
/// subnets have a single default route.
pub fn parse_nat_routes(value: &str) -> Result<Vec<(Metanetwork, Metanetwork)>, NetError> {
    let mut destinations: BTreeMap<Metanetwork, Metanetwork> = BTreeMap::new();
    let mut pairs = Vec::new();
    for token in value.split_whitespace() {
        let (from, to) = parse_nat_route(token)?;
        match destinations.get(&from) {
            Some(&first) if first != to => return Err(NetError::NatRouteConflict { from, first, second: to }),
            Some(_) => {}
            None => {
                destinations.insert(from, to);
                pairs.push((from, to));
            }
        }
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Metanetwork::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn vector_28_static_and_auto() {
        assert_eq!(
            NatGateways::parse("10.1.0.4,10.1.0.5,10.1.0.6"),
            Ok(NatGateways::Static(vec![ip("10.1.0.4"), ip("10.1.0.5"), ip("10.1.0.6")]))
        );
        assert_eq!(NatGateways::parse("auto"), Ok(NatGateways::Auto));
        assert_eq!("AUTO".parse(), Ok(NatGateways::Auto));
        assert_eq!(parse_nat_routes("intranet/tunnel"), Ok(vec![(Intranet, Tunnel)]));
    }

    #[test]
    fn empty_means_none() {
        assert_eq!(NatGateways::parse(""), Ok(NatGateways::None));
        assert_eq!(NatGateways::parse("  "), Ok(NatGateways::None));
        assert_eq!(NatGateways::default(), NatGateways::None);
    }

    #[test]
    fn commas_with_blanks_and_trailing_comma() {
        assert_eq!(
            NatGateways::parse(" 1.2.3.4 , 5.6.7.8, "),
            Ok(NatGateways::Static(vec![ip("1.2.3.4"), ip("5.6.7.8")]))
        );
    }

    #[test]
    fn space_separated_eips_ask_for_commas() {
        let err = NatGateways::parse("1.2.3.4 5.6.7.8").unwrap_err();
        assert_eq!(err, NetError::NatNeedsCommas { value: "1.2.3.4 5.6.7.8".into() });
        assert!(err.to_string().contains("commas"));
        assert!(matches!(NatGateways::parse("1.2.3.4, 5.6.7.8 9.9.9.9"), Err(NetError::NatNeedsCommas { .. })));
    }

    #[test]
    fn bad_and_duplicate_eips() {
        assert_eq!(NatGateways::parse("1.2.3.4,eip"), Err(NetError::BadIp { value: "eip".into() }));
        assert_eq!(NatGateways::parse(","), Err(NetError::BadIp { value: ",".into() }));
        assert_eq!(NatGateways::parse("1.2.3.4,1.2.3.4"), Err(NetError::DuplicateNatIp { ip: "1.2.3.4".into() }));
    }

    #[test]
    fn vector_29_one_eip_for_three_subnets() {
        let one = NatGateways::parse("10.1.0.4").unwrap();
        let err = check_static_count(&one, 3).unwrap_err();
        assert_eq!(err, NetError::NatCountMismatch { ips: 1, subnets: 3 });
        assert_eq!(err.to_string(), "1 NAT gateway EIP(s) configured for 3 subnet(s): need exactly one per subnet");
        let three = NatGateways::parse("10.1.0.4,10.1.0.5,10.1.0.6").unwrap();
        assert_eq!(check_static_count(&three, 3), Ok(()));
        assert_eq!(check_static_count(&NatGateways::Auto, 3), Ok(()));
        assert_eq!(check_static_count(&NatGateways::None, 3), Ok(()));
    }

    #[test]
    fn vector_30_three_routes() {
        assert_eq!(
            parse_nat_routes("intranet/tunnel dmz/tunnel maintenance/tunnel"),
            Ok(vec![(Intranet, Tunnel), (Dmz, Tunnel), (Maintenance, Tunnel)])
        );
    }

    #[test]
    fn nat_routes_leniency_and_errors() {
        assert_eq!(parse_nat_routes(""), Ok(vec![]));
        assert_eq!(parse_nat_routes(" intranet/tunnel\t\tdmz/tunnel "), Ok(vec![(Intranet, Tunnel), (Dmz, Tunnel)]));
        assert_eq!(parse_nat_routes("intranet/tunnel intranet/tunnel"), Ok(vec![(Intranet, Tunnel)]));
        for bad in ["intranet", "intranet/", "intranet/public", "Intranet/tunnel", "a/b/c", "intranet,tunnel"] {
            assert_eq!(parse_nat_routes(bad), Err(NetError::BadNatRoute { pair: bad.into() }), "{bad}");
        }
        assert_eq!(parse_nat_routes("dmz/dmz"), Err(NetError::NatRouteToSelf { pair: "dmz/dmz".into() }));
        assert_eq!(
            parse_nat_routes("intranet/tunnel intranet/dmz"),
            Err(NetError::NatRouteConflict { from: Intranet, first: Tunnel, second: Dmz })
        );
    }

    #[test]
    fn serializes() {
        let s = NatGateways::Static(vec![ip("1.2.3.4")]);
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"static":["1.2.3.4"]}"#);
        assert_eq!(serde_json::to_string(&NatGateways::Auto).unwrap(), r#""auto""#);
    }
}
