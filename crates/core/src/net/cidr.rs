//! CIDR parsing and address-range arithmetic shared by the allocators, splitters and diffs.
//!
//! `Ipv4Network` keeps host bits as written and its own subnet test looks at the written address,
//! so every comparison here works on the normalised `[first, last]` address range instead.

use super::NetError;
use ipnetwork::Ipv4Network;
use std::net::Ipv4Addr;

/// Parse a strict `a.b.c.d/n` CIDR (surrounding blanks ignored, host bits kept as written).
///
/// Unlike `Ipv4Network::from_str` this refuses a bare address and the `a.b.c.d/255.0.0.0` form:
/// AWS wants prefix lengths, and a missing `/n` is more likely a typo than a deliberate /32.
pub fn parse_cidr(value: &str) -> Result<Ipv4Network, NetError> {
    let value = value.trim();
    let bad = || NetError::BadCidr { value: value.to_string() };
    let (addr, prefix) = value.split_once('/').ok_or_else(bad)?;
    let is_decimal = !prefix.is_empty() && prefix.len() <= 2 && prefix.bytes().all(|b| b.is_ascii_digit());
    if !is_decimal {
        return Err(bad());
    }
    let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    Ipv4Network::new(addr, prefix).map_err(|_| bad())
}

/// True when the address part has bits set beyond the prefix (`10.1.0.22/16`); such values are
/// accepted as written but deserve a warning.
pub fn has_host_bits(cidr: &Ipv4Network) -> bool {
    cidr.ip() != cidr.network()
}

/// First address of the network, widened so block arithmetic cannot overflow.
pub(crate) fn first(net: Ipv4Network) -> u64 {
    u64::from(u32::from(net.network()))
}

/// Last (broadcast) address of the network.
pub(crate) fn last(net: Ipv4Network) -> u64 {
    u64::from(u32::from(net.broadcast()))
}

/// Number of addresses in a block of this prefix length (`prefix` ≤ 32).
pub(crate) fn block_len(prefix: u8) -> u64 {
    1u64 << (32 - u32::from(prefix.min(32)))
}

/// True when the two networks share at least one address.
pub(crate) fn overlaps(a: Ipv4Network, b: Ipv4Network) -> bool {
    first(a) <= last(b) && first(b) <= last(a)
}

/// True when every address of `inner` is in `outer`.
pub(crate) fn within(inner: Ipv4Network, outer: Ipv4Network) -> bool {
    first(outer) <= first(inner) && last(inner) <= last(outer)
}

/// The block of `prefix` length starting at `start`, if that is a valid network.
pub(crate) fn block(start: u64, prefix: u8) -> Option<Ipv4Network> {
    let start = u32::try_from(start).ok()?;
    Ipv4Network::new(Ipv4Addr::from(start), prefix).ok()
}

/// The same network with its host bits cleared.
pub(crate) fn normalized(net: Ipv4Network) -> Ipv4Network {
    block(first(net), net.prefix()).unwrap_or(net)
}

/// The lowest block of `prefix` length inside `space` that overlaps nothing in `taken`.
///
/// Skips past each obstacle instead of enumerating every candidate, so a /28 search in a /8 with
/// many existing VPCs stays cheap.
pub(crate) fn lowest_free_block(space: Ipv4Network, prefix: u8, taken: &[Ipv4Network]) -> Option<Ipv4Network> {
    if prefix < space.prefix() || prefix > 32 {
        return None;
    }
    let len = block_len(prefix);
    let mut candidate = first(space);
    while candidate + len - 1 <= last(space) {
        let end = candidate + len - 1;
        let obstacle_end = taken.iter().filter(|t| first(**t) <= end && candidate <= last(**t)).map(|t| last(*t)).max();
        match obstacle_end {
            None => return block(candidate, prefix),
            Some(obstacle_end) => candidate = (obstacle_end + 1).div_ceil(len) * len,
        }
    }
    None
}

/// `a, b, c` for error messages.
pub(crate) fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// Serde helpers: `ipnetwork` is built without its `serde` feature, so CIDRs are written as strings
/// through these.
pub(crate) mod ser {
    use ipnetwork::Ipv4Network;
    use serde::Serializer;

    pub(crate) fn net<S: Serializer>(net: &Ipv4Network, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(net)
    }

    pub(crate) fn nets<S: Serializer>(nets: &[Ipv4Network], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(nets.iter().map(ToString::to_string))
    }

    pub(crate) fn net_pairs<S: Serializer>(pairs: &[(Ipv4Network, String)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(pairs.iter().map(|(n, g)| (n.to_string(), g)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::n;

    #[test]
    fn parses_strict_cidrs() {
        assert_eq!(parse_cidr(" 10.0.0.0/16 "), Ok(n("10.0.0.0/16")));
        assert_eq!(parse_cidr("0.0.0.0/0"), Ok(n("0.0.0.0/0")));
        assert_eq!(parse_cidr("10.0.0.1/32"), Ok(n("10.0.0.1/32")));
        for bad in [
            "",
            "10.0.0.0",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.0/+8",
            "10.0.0.0/255.0.0.0",
            "10.0.0/8",
            "a/8",
            "10.0.0.0/8/8",
            "10.0.0.0/008",
        ] {
            assert_eq!(parse_cidr(bad), Err(NetError::BadCidr { value: bad.trim().into() }), "{bad}");
        }
    }

    #[test]
    fn host_bits_are_kept_and_detected() {
        let c = parse_cidr("10.1.0.22/16").unwrap();
        assert_eq!(c.to_string(), "10.1.0.22/16");
        assert!(has_host_bits(&c));
        assert!(!has_host_bits(&n("10.1.0.0/16")));
        assert!(!has_host_bits(&n("10.1.0.22/32")));
        assert_eq!(normalized(c), n("10.1.0.0/16"));
    }

    #[test]
    fn range_predicates() {
        assert!(overlaps(n("10.0.0.0/30"), n("10.0.0.2/31")));
        assert!(!overlaps(n("10.0.0.0/30"), n("10.0.0.4/30")));
        assert!(within(n("10.0.0.4/31"), n("10.0.0.0/28")));
        assert!(!within(n("10.0.0.0/27"), n("10.0.0.0/28")));
        assert!(within(n("0.0.0.0/0"), n("0.0.0.0/0")));
        assert_eq!(block_len(0), 1 << 32);
        assert_eq!(block_len(32), 1);
    }

    #[test]
    fn lowest_free_block_skips_obstacles() {
        let space = n("10.0.0.0/24");
        assert_eq!(lowest_free_block(space, 26, &[]), Some(n("10.0.0.0/26")));
        assert_eq!(lowest_free_block(space, 26, &[n("10.0.0.1/32")]), Some(n("10.0.0.64/26")));
        assert_eq!(lowest_free_block(space, 26, &[n("10.0.0.0/25"), n("10.0.0.130/31")]), Some(n("10.0.0.192/26")));
        assert_eq!(lowest_free_block(space, 26, &[n("10.0.0.0/8")]), None);
        assert_eq!(lowest_free_block(space, 23, &[]), None);
        assert_eq!(lowest_free_block(n("255.255.255.255/32"), 32, &[]), Some(n("255.255.255.255/32")));
        assert_eq!(lowest_free_block(n("0.0.0.0/0"), 0, &[]), Some(n("0.0.0.0/0")));
        assert_eq!(lowest_free_block(n("0.0.0.0/0"), 1, &[n("0.0.0.0/1")]), Some(n("128.0.0.0/1")));
        assert_eq!(lowest_free_block(n("0.0.0.0/0"), 28, &[n("0.0.0.0/1"), n("128.0.0.0/1")]), None);
    }
}
