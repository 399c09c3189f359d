//! Static private IPs given as an offset into a metanetwork (`ip_address=+5`, §4.1.4, §4.2.4).
//!
//! Offsets count from the bottom of the lowest subnet or the top of the highest one, so the
//! resulting address (and thereby the AZ of the instance) does not depend on subnet order in AWS.

use super::cidr::{first, join, last, normalized};
use super::NetError;
use ipnetwork::Ipv4Network;
use serde::Serialize;
use std::net::Ipv4Addr;

/// A parsed `ip_address` / `ntp_server_offset`-style value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IpSpec {
    /// `+N` / `-N`: resolve with [`ip_by_offset`].
    Offset(i64),
    /// One or more literal addresses, in the order written.
    Literal(Vec<Ipv4Addr>),
}

/// Values starting with `+` or `-` are offsets; anything else is a whitespace-separated list of
/// IPv4 literals. An empty value or garbage is an error.
pub fn parse_ip_spec(value: &str) -> Result<IpSpec, NetError> {
    let value = value.trim();
    if value.starts_with('+') || value.starts_with('-') {
        return value.parse::<i64>().map(IpSpec::Offset).map_err(|_| NetError::BadOffset { value: value.to_string() });
    }
    let addrs: Option<Vec<Ipv4Addr>> = value.split_whitespace().map(|t| t.parse().ok()).collect();
    match addrs {
        Some(addrs) if !addrs.is_empty() => Ok(IpSpec::Literal(addrs)),
        _ => Err(NetError::BadIpSpec { value: value.to_string() }),
    }
}

/// The address `offset` steps from the first address of the lowest subnet (offset ≥ 0) or from the
/// broadcast address of the highest subnet (offset < 0). It must land inside one of the subnets —
/// not merely inside the metanetwork, whose unused last piece has no subnet.
pub fn ip_by_offset(subnets: &[Ipv4Network], offset: i64) -> Result<Ipv4Addr, NetError> {
    let mut sorted: Vec<Ipv4Network> = subnets.iter().copied().map(normalized).collect();
    sorted.sort_by_key(|s| first(*s));
    let (Some(&lowest), Some(&highest)) = (sorted.first(), sorted.last()) else {
        return Err(NetError::NoSubnets { offset });
    };
    let base = if offset >= 0 { first(lowest) } else { last(highest) };
    let target = i128::from(base) + i128::from(offset);
    let out_of_range = |address: String| NetError::OffsetOutOfRange { offset, address, subnets: join(&sorted) };
    let Ok(addr) = u32::try_from(target).map(Ipv4Addr::from) else {
        return Err(out_of_range("an address beyond the IPv4 range".to_string()));
    };
    if sorted.iter().any(|s| s.contains(addr)) {
        Ok(addr)
    } else {
        Err(out_of_range(addr.to_string()))
    }
}

/// The addresses an `ip_address` value names in a metanetwork with `subnets`: an offset resolved
/// with [`ip_by_offset`], or the literals, each of which must lie in one of the subnets.
pub fn static_ips(value: &str, subnets: &[Ipv4Network]) -> Result<Vec<Ipv4Addr>, NetError> {
    match parse_ip_spec(value)? {
        IpSpec::Offset(offset) => Ok(vec![ip_by_offset(subnets, offset)?]),
        IpSpec::Literal(list) => {
            if let Some(stray) = list.iter().find(|a| !subnets.iter().any(|s| s.contains(**a))) {
                let mut sorted: Vec<Ipv4Network> = subnets.iter().copied().map(normalized).collect();
                sorted.sort_by_key(|s| first(*s));
                return Err(NetError::OutsideSubnets { address: *stray, subnets: join(&sorted) });
            }
            Ok(list)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_ips_resolve_offsets_and_check_literals_against_the_subnets() {
        let subnets: Vec<Ipv4Network> = ["10.0.2.0/24", "10.0.0.0/24"].iter().map(|s| s.parse().unwrap()).collect();
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(static_ips("+10", &subnets).unwrap(), [ip("10.0.0.10")]);
        assert_eq!(static_ips("-2", &subnets).unwrap(), [ip("10.0.2.253")]);
        assert_eq!(static_ips("10.0.2.7 10.0.0.7", &subnets).unwrap(), [ip("10.0.2.7"), ip("10.0.0.7")]);
        let e = static_ips("10.0.2.7 10.0.1.7", &subnets).unwrap_err().to_string();
        assert_eq!(e, "10.0.1.7 is not inside any of the subnets 10.0.0.0/24, 10.0.2.0/24");
        assert!(static_ips("ten", &subnets).is_err());
    }
    use crate::net::n;

    fn intranet() -> Vec<Ipv4Network> {
        // Deliberately unsorted: AWS returns subnets in any order.
        vec![n("10.101.8.0/22"), n("10.101.0.0/22"), n("10.101.4.0/22")]
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn vector_13_plus_five() {
        assert_eq!(ip_by_offset(&intranet(), 5), Ok(ip("10.101.0.5")));
    }

    #[test]
    fn vector_14_minus_two_from_broadcast_of_highest() {
        assert_eq!(ip_by_offset(&intranet(), -2), Ok(ip("10.101.11.253")));
    }

    #[test]
    fn vector_15_tunnel_plus_five() {
        let tunnel = [n("10.101.16.0/22"), n("10.101.20.0/22"), n("10.101.24.0/22")];
        assert_eq!(ip_by_offset(&tunnel, 5), Ok(ip("10.101.16.5")));
    }

    #[test]
    fn vector_16_offset_in_second_zone() {
        assert_eq!(ip_by_offset(&intranet(), 1100), Ok(ip("10.101.4.76")));
    }

    #[test]
    fn vector_17_offset_in_unused_quarter() {
        let err = ip_by_offset(&intranet(), 3072).unwrap_err();
        assert_eq!(
            err,
            NetError::OffsetOutOfRange {
                offset: 3072,
                address: "10.101.12.0".into(),
                subnets: "10.101.0.0/22, 10.101.4.0/22, 10.101.8.0/22".into()
            }
        );
        assert!(err.to_string().starts_with("Cannot find IP by offset 3072"), "{err}");
    }

    #[test]
    fn vector_18_garbage_offsets() {
        let err = parse_ip_spec("abc").unwrap_err();
        assert_eq!(err, NetError::BadIpSpec { value: "abc".into() });
        assert!(err.to_string().starts_with("Cannot find IP"), "{err}");
        let err = parse_ip_spec("+abc").unwrap_err();
        assert_eq!(err.to_string(), "Cannot find IP by offset \"+abc\": expected a signed integer such as +5 or -2");
        assert!(matches!(parse_ip_spec("-"), Err(NetError::BadOffset { .. })));
        assert!(matches!(parse_ip_spec("+5 +6"), Err(NetError::BadOffset { .. })));
    }

    #[test]
    fn parses_specs() {
        assert_eq!(parse_ip_spec("+5"), Ok(IpSpec::Offset(5)));
        assert_eq!(parse_ip_spec(" -2 "), Ok(IpSpec::Offset(-2)));
        assert_eq!(parse_ip_spec("-0"), Ok(IpSpec::Offset(0)));
        assert_eq!(parse_ip_spec("10.101.16.5"), Ok(IpSpec::Literal(vec![ip("10.101.16.5")])));
        assert_eq!(parse_ip_spec("10.0.0.1  10.0.0.2"), Ok(IpSpec::Literal(vec![ip("10.0.0.1"), ip("10.0.0.2")])));
        assert_eq!(parse_ip_spec(""), Err(NetError::BadIpSpec { value: String::new() }));
        assert_eq!(parse_ip_spec("10.0.0.1 ntp"), Err(NetError::BadIpSpec { value: "10.0.0.1 ntp".into() }));
        assert_eq!(parse_ip_spec("5"), Err(NetError::BadIpSpec { value: "5".into() }));
    }

    #[test]
    fn offset_edges() {
        let one = [n("10.0.0.0/24")];
        assert_eq!(ip_by_offset(&one, 0), Ok(ip("10.0.0.0")));
        assert_eq!(ip_by_offset(&one, 255), Ok(ip("10.0.0.255")));
        // Negative offsets count down from the broadcast address, which itself is never reached.
        assert_eq!(ip_by_offset(&one, -1), Ok(ip("10.0.0.254")));
        assert_eq!(ip_by_offset(&one, -255), Ok(ip("10.0.0.0")));
        assert!(matches!(ip_by_offset(&one, -256), Err(NetError::OffsetOutOfRange { .. })));
        assert!(matches!(ip_by_offset(&one, 256), Err(NetError::OffsetOutOfRange { .. })));
        assert_eq!(ip_by_offset(&[n("10.0.0.9/32")], 0), Ok(ip("10.0.0.9")));
        assert_eq!(ip_by_offset(&[], 5), Err(NetError::NoSubnets { offset: 5 }));
        let top = [n("255.255.255.0/24")];
        assert!(matches!(
            ip_by_offset(&top, i64::MAX),
            Err(NetError::OffsetOutOfRange { ref address, .. }) if address == "an address beyond the IPv4 range"
        ));
        assert!(matches!(ip_by_offset(&[n("0.0.0.0/24")], i64::MIN), Err(NetError::OffsetOutOfRange { .. })));
    }
}
