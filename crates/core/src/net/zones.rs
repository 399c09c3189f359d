//! Splitting a metanetwork over availability zones, and undoing that for existing VPCs (§4.1.3).
//!
//! A metanetwork is cut into `2^ceil(log2(zones))` equal pieces and the first `zones` are used;
//! the metanetwork CIDR itself is never stored in AWS, so it has to be recomputed from the subnets.

use super::cidr::{block, block_len, first, normalized, within};
use super::NetError;
use ipnetwork::Ipv4Network;

/// `ceil(log2(n))`: how many prefix bits it takes to give each of `n` zones its own piece.
/// `n = 0` yields 0 (nothing to split); [`split_for_zones`] rejects zero zones itself.
pub fn zone_offset(n: usize) -> u8 {
    if n <= 1 {
        return 0;
    }
    // ceil(log2(n)) is the bit length of n - 1; at most 64, so it fits a u8.
    (usize::BITS - (n - 1).leading_zeros()) as u8
}

/// The first `zones` of the `2^zone_offset(zones)` equal pieces of `cidr`, ascending.
/// `cidr` is taken with its host bits cleared.
pub fn split_for_zones(cidr: Ipv4Network, zones: usize) -> Result<Vec<Ipv4Network>, NetError> {
    let cidr = normalized(cidr);
    if zones == 0 {
        return Err(NetError::NoZones { cidr });
    }
    let prefix = cidr.prefix() + zone_offset(zones);
    if prefix > 32 {
        return Err(NetError::TooManyPieces { cidr, pieces: zones, prefix });
    }
    let len = block_len(prefix);
    Ok((0..zones as u64).filter_map(|i| block(first(cidr) + i * len, prefix)).collect())
}

/// The metanetwork CIDR that `split_for_zones` would have cut these subnets from: the lowest
/// subnet widened by `zone_offset(count)` bits.
///
/// `None` when there are no subnets or they cannot come from one split (different sizes, or a
/// subnet outside the widened network) — better no answer than a wrong one.
pub fn reconstruct_metanetwork(subnets: &[Ipv4Network]) -> Option<Ipv4Network> {
    let lowest = *subnets.iter().min_by_key(|s| first(**s))?;
    let offset = zone_offset(subnets.len());
    if subnets.iter().any(|s| s.prefix() != lowest.prefix()) || lowest.prefix() < offset {
        return None;
    }
    let meta = normalized(block(first(lowest), lowest.prefix() - offset)?);
    subnets.iter().all(|s| within(*s, meta)).then_some(meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::n;

    fn split(cidr: &str, zones: usize) -> Vec<String> {
        split_for_zones(n(cidr), zones).unwrap().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn vector_6_offsets() {
        let got: Vec<u8> = (1..=9).map(zone_offset).collect();
        assert_eq!(got, [0, 1, 2, 2, 3, 3, 3, 3, 4]);
        assert_eq!(zone_offset(0), 0);
        assert_eq!(zone_offset(16), 4);
        assert_eq!(zone_offset(17), 5);
        assert_eq!(zone_offset(usize::MAX), 64);
    }

    #[test]
    fn vector_1_sample_16_over_three_zones() {
        assert_eq!(split("10.101.0.0/16", 3), ["10.101.0.0/18", "10.101.64.0/18", "10.101.128.0/18"]);
    }

    #[test]
    fn vector_2_another_16() {
        assert_eq!(split("10.0.0.0/16", 3), ["10.0.0.0/18", "10.0.64.0/18", "10.0.128.0/18"]);
    }

    #[test]
    fn vector_3_sample_intranet_20() {
        assert_eq!(split("10.101.0.0/20", 3), ["10.101.0.0/22", "10.101.4.0/22", "10.101.8.0/22"]);
    }

    #[test]
    fn vector_4_two_and_four_pieces() {
        assert_eq!(split("10.0.0.0/22", 2), ["10.0.0.0/23", "10.0.2.0/23"]);
        assert_eq!(split("10.0.0.0/22", 4), ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]);
    }

    #[test]
    fn vector_5_nine_zones() {
        let got = split("10.0.0.0/24", 9);
        assert_eq!(got.len(), 9);
        assert_eq!(got[0], "10.0.0.0/28");
        assert_eq!(got[1], "10.0.0.16/28");
        assert_eq!(got[8], "10.0.0.128/28");
    }

    #[test]
    fn edge_cases() {
        assert_eq!(split("10.0.0.7/32", 1), ["10.0.0.7/32"]);
        assert_eq!(split("10.0.0.0/31", 2), ["10.0.0.0/32", "10.0.0.1/32"]);
        assert_eq!(split("10.0.0.5/24", 1), ["10.0.0.0/24"]);
        assert_eq!(split("0.0.0.0/0", 2), ["0.0.0.0/1", "128.0.0.0/1"]);
        assert_eq!(split("255.255.255.252/30", 3), ["255.255.255.252/32", "255.255.255.253/32", "255.255.255.254/32"]);
        assert_eq!(
            split_for_zones(n("10.0.0.0/32"), 2),
            Err(NetError::TooManyPieces { cidr: n("10.0.0.0/32"), pieces: 2, prefix: 33 })
        );
        assert_eq!(split_for_zones(n("10.0.0.0/24"), 0), Err(NetError::NoZones { cidr: n("10.0.0.0/24") }));
    }

    #[test]
    fn vector_7_reconstruct_from_three_22s() {
        let subnets = [n("10.101.8.0/22"), n("10.101.4.0/22"), n("10.101.0.0/22")];
        assert_eq!(reconstruct_metanetwork(&subnets), Some(n("10.101.0.0/20")));
        // Two subnets widen by one bit only: the first two pieces give their /21...
        assert_eq!(reconstruct_metanetwork(&subnets[1..]), Some(n("10.101.0.0/21")));
        // ...but the second and third are not halves of one /21.
        assert_eq!(reconstruct_metanetwork(&subnets[..2]), None);
    }

    #[test]
    fn reconstruct_round_trips_split() {
        for (cidr, zones) in [("10.101.0.0/16", 3), ("10.0.0.0/22", 2), ("10.0.0.0/24", 9), ("10.0.0.3/32", 1)] {
            let pieces = split_for_zones(n(cidr), zones).unwrap();
            assert_eq!(reconstruct_metanetwork(&pieces), Some(normalized(n(cidr))), "{cidr} over {zones}");
        }
    }

    #[test]
    fn reconstruct_refuses_inconsistent_subnets() {
        assert_eq!(reconstruct_metanetwork(&[]), None);
        assert_eq!(reconstruct_metanetwork(&[n("10.0.0.0/24"), n("10.0.1.0/25")]), None);
        // Two /24s that are not halves of one /23.
        assert_eq!(reconstruct_metanetwork(&[n("10.0.1.0/24"), n("10.0.2.0/24")]), None);
        // Three /1s cannot come from one split (would need prefix -1).
        assert_eq!(reconstruct_metanetwork(&[n("0.0.0.0/1"), n("128.0.0.0/1"), n("128.0.0.0/1")]), None);
    }
}
