//! Choosing the VPC CIDR and the metanetwork CIDRs of a new VPC (reference §4.1.1, §4.1.2).
//!
//! Asiaq picked free blocks at random and never checked static CIDRs; Sila picks the lowest free
//! block (so plans are reproducible) and rejects static CIDRs that stray outside the VPC or overlap.

use super::cidr::{lowest_free_block, normalized, overlaps, parse_cidr, within};
use super::zones::zone_offset;
use super::{Metanetwork, NetError};
use ipnetwork::Ipv4Network;
use serde::Serialize;
use std::collections::BTreeMap;
use std::str::FromStr;

/// The smallest VPC AWS allows; `vpc_cidr_size` may not exceed it.
pub const MAX_VPC_PREFIX: u8 = 28;

/// The VPC CIDR: `static_cidr` (`vpc_cidr`) if set, else the lowest `/size` block of `ip_space`
/// (`ip_space`, `vpc_cidr_size`) that overlaps none of the `existing` VPC CIDRs of the region.
///
/// A static CIDR is returned with its host bits cleared, so all later arithmetic sees a real
/// network (`has_host_bits` lets a checker warn about the spelling).
pub fn vpc_cidr(
    static_cidr: Option<Ipv4Network>,
    ip_space: Option<Ipv4Network>,
    size: Option<u8>,
    existing: &[Ipv4Network],
) -> Result<Ipv4Network, NetError> {
    if let Some(cidr) = static_cidr {
        return Ok(normalized(cidr));
    }
    let (ip_space, size) = match (ip_space, size) {
        (Some(space), Some(size)) => (normalized(space), size),
        (None, None) => return Err(NetError::MissingVpcCidrInput { missing: "ip_space and vpc_cidr_size" }),
        (None, Some(_)) => return Err(NetError::MissingVpcCidrInput { missing: "ip_space" }),
        (Some(_), None) => return Err(NetError::MissingVpcCidrInput { missing: "vpc_cidr_size" }),
    };
    if size < ip_space.prefix() || size > MAX_VPC_PREFIX {
        return Err(NetError::BadVpcCidrSize { size, ip_space });
    }
    lowest_free_block(ip_space, size, existing).ok_or(NetError::NoFreeVpcCidr { size, ip_space })
}

/// A parsed `<meta>_cidr` value. An empty value means "metanetwork not configured" and is the
/// caller's business, so it is not representable here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetaCidrSpec {
    /// A fixed CIDR, as written.
    Static(#[serde(serialize_with = "super::cidr::ser::net")] Ipv4Network),
    /// `auto`: the lowest free block of the computed size.
    Auto,
}

impl MetaCidrSpec {
    /// `auto` (any case) or a CIDR; surrounding blanks ignored.
    pub fn parse(value: &str) -> Result<Self, NetError> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("auto") {
            return Ok(MetaCidrSpec::Auto);
        }
        parse_cidr(value).map(MetaCidrSpec::Static).map_err(|_| NetError::BadMetaCidr { value: value.to_string() })
    }
}

impl FromStr for MetaCidrSpec {
    type Err = NetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The CIDR of every configured metanetwork of a new VPC.
///
/// `auto` blocks get prefix `vpc prefix + ceil(log2(count))`; they are handed out in canonical
/// order, each the lowest block overlapping neither a static CIDR nor an earlier auto block.
/// Static CIDRs (host bits cleared) must lie inside the VPC and must not overlap each other.
pub fn metanetwork_cidrs(
    vpc: Ipv4Network,
    specs: &BTreeMap<Metanetwork, MetaCidrSpec>,
) -> Result<BTreeMap<Metanetwork, Ipv4Network>, NetError> {
    if specs.is_empty() {
        return Err(NetError::NoMetanetworks);
    }
    let vpc = normalized(vpc);
    let prefix = vpc.prefix() + zone_offset(specs.len());
    if prefix > 32 {
        return Err(NetError::TooManyPieces { cidr: vpc, pieces: specs.len(), prefix });
    }
    let mut assigned = static_cidrs(vpc, specs)?;
    for (&meta, spec) in specs {
        if *spec == MetaCidrSpec::Auto {
            let taken: Vec<Ipv4Network> = assigned.values().copied().collect();
            let block = lowest_free_block(vpc, prefix, &taken).ok_or(NetError::NoFreeMetaCidr { meta, prefix, vpc })?;
            assigned.insert(meta, block);
        }
    }
    Ok(assigned)
}

/// The static metanetwork CIDRs, checked against the VPC and each other.
fn static_cidrs(
    vpc: Ipv4Network,
    specs: &BTreeMap<Metanetwork, MetaCidrSpec>,
) -> Result<BTreeMap<Metanetwork, Ipv4Network>, NetError> {
    let mut statics = BTreeMap::new();
    for (&meta, spec) in specs {
        let MetaCidrSpec::Static(cidr) = *spec else { continue };
        let cidr = normalized(cidr);
        if !within(cidr, vpc) {
            return Err(NetError::MetaOutsideVpc { meta, cidr, vpc });
        }
        if let Some((&first, &first_cidr)) = statics.iter().find(|(_, other)| overlaps(cidr, **other)) {
            return Err(NetError::MetaOverlap { first, first_cidr, second: meta, second_cidr: cidr });
        }
        statics.insert(meta, cidr);
    }
    Ok(statics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::n;
    use Metanetwork::*;

    fn specs(items: &[(Metanetwork, &str)]) -> BTreeMap<Metanetwork, MetaCidrSpec> {
        items.iter().map(|(m, v)| (*m, MetaCidrSpec::parse(v).unwrap())).collect()
    }

    fn all_auto() -> BTreeMap<Metanetwork, MetaCidrSpec> {
        Metanetwork::ALL.into_iter().map(|m| (m, MetaCidrSpec::Auto)).collect()
    }

    #[test]
    fn static_vpc_cidr_wins() {
        let got = vpc_cidr(Some(n("10.101.0.0/16")), Some(n("10.0.0.0/8")), Some(20), &[n("10.101.0.0/16")]);
        assert_eq!(got, Ok(n("10.101.0.0/16")));
        assert_eq!(vpc_cidr(Some(n("10.101.7.7/16")), None, None, &[]), Ok(n("10.101.0.0/16")));
    }

    #[test]
    fn vector_10_lowest_block_of_ip_space() {
        assert_eq!(vpc_cidr(None, Some(n("10.0.0.0/24")), Some(26), &[]), Ok(n("10.0.0.0/26")));
    }

    #[test]
    fn vector_11_skips_existing_vpcs_and_reports_exhaustion() {
        let space = Some(n("10.0.0.0/24"));
        assert_eq!(vpc_cidr(None, space, Some(26), &[n("10.0.0.0/25")]), Ok(n("10.0.0.128/26")));
        let full = [n("10.0.0.0/25"), n("10.0.0.128/25")];
        let err = vpc_cidr(None, space, Some(26), &full).unwrap_err();
        assert_eq!(err, NetError::NoFreeVpcCidr { size: 26, ip_space: n("10.0.0.0/24") });
        assert!(err.to_string().starts_with("No subnets available"), "{err}");
        // An unrelated VPC elsewhere in the region does not matter.
        assert_eq!(vpc_cidr(None, space, Some(26), &[n("172.16.0.0/12")]), Ok(n("10.0.0.0/26")));
    }

    #[test]
    fn missing_dynamic_inputs_are_named() {
        let missing = |space, size| match vpc_cidr(None, space, size, &[]) {
            Err(NetError::MissingVpcCidrInput { missing }) => missing,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(missing(None, None), "ip_space and vpc_cidr_size");
        assert_eq!(missing(None, Some(26)), "ip_space");
        assert_eq!(missing(Some(n("10.0.0.0/24")), None), "vpc_cidr_size");
    }

    #[test]
    fn vpc_size_must_fit() {
        let space = Some(n("10.0.0.0/24"));
        assert!(matches!(vpc_cidr(None, space, Some(23), &[]), Err(NetError::BadVpcCidrSize { size: 23, .. })));
        assert!(matches!(vpc_cidr(None, space, Some(29), &[]), Err(NetError::BadVpcCidrSize { size: 29, .. })));
        assert_eq!(vpc_cidr(None, space, Some(24), &[]), Ok(n("10.0.0.0/24")));
        assert_eq!(vpc_cidr(None, space, Some(28), &[]), Ok(n("10.0.0.0/28")));
    }

    #[test]
    fn parses_meta_cidr_specs() {
        assert_eq!(MetaCidrSpec::parse("auto"), Ok(MetaCidrSpec::Auto));
        assert_eq!(MetaCidrSpec::parse(" AUTO "), Ok(MetaCidrSpec::Auto));
        assert_eq!("10.0.0.4/31".parse(), Ok(MetaCidrSpec::Static(n("10.0.0.4/31"))));
        for bad in ["", "automatic", "10.0.0.0", "10.0.0.0/40"] {
            assert_eq!(MetaCidrSpec::parse(bad), Err(NetError::BadMetaCidr { value: bad.into() }));
        }
    }

    #[test]
    fn vector_8_all_auto_in_a_28() {
        let got = metanetwork_cidrs(n("10.0.0.0/28"), &all_auto()).unwrap();
        let want: BTreeMap<_, _> = [
            (Intranet, n("10.0.0.0/30")),
            (Tunnel, n("10.0.0.4/30")),
            (Dmz, n("10.0.0.8/30")),
            (Maintenance, n("10.0.0.12/30")),
        ]
        .into();
        assert_eq!(got, want);
    }

    #[test]
    fn vector_9_static_31_blocks_the_overlapping_auto_block() {
        let s = specs(&[(Intranet, "auto"), (Tunnel, "auto"), (Dmz, "10.0.0.4/31"), (Maintenance, "auto")]);
        let got = metanetwork_cidrs(n("10.0.0.0/28"), &s).unwrap();
        let want: BTreeMap<_, _> = [
            (Intranet, n("10.0.0.0/30")),
            (Tunnel, n("10.0.0.8/30")),
            (Dmz, n("10.0.0.4/31")),
            (Maintenance, n("10.0.0.12/30")),
        ]
        .into();
        assert_eq!(got, want);
    }

    #[test]
    fn vector_12_four_metanetworks_in_a_31() {
        let err = metanetwork_cidrs(n("10.0.0.0/31"), &all_auto()).unwrap_err();
        assert_eq!(err, NetError::TooManyPieces { cidr: n("10.0.0.0/31"), pieces: 4, prefix: 33 });
    }

    #[test]
    fn sample_sizes_single_and_three() {
        let one = specs(&[(Tunnel, "auto")]);
        assert_eq!(metanetwork_cidrs(n("10.0.0.0/16"), &one).unwrap()[&Tunnel], n("10.0.0.0/16"));
        let three = specs(&[(Intranet, "auto"), (Dmz, "auto"), (Maintenance, "auto")]);
        let got = metanetwork_cidrs(n("10.0.0.0/16"), &three).unwrap();
        assert_eq!(
            got.values().copied().collect::<Vec<_>>(),
            [n("10.0.0.0/18"), n("10.0.64.0/18"), n("10.0.128.0/18")]
        );
        // A /32 VPC holds exactly one metanetwork.
        assert_eq!(metanetwork_cidrs(n("10.0.0.1/32"), &one).unwrap()[&Tunnel], n("10.0.0.1/32"));
    }

    #[test]
    fn all_static_sample_is_used_as_is() {
        let s = specs(&[
            (Intranet, "10.101.0.0/20"),
            (Tunnel, "10.101.16.0/20"),
            (Dmz, "10.101.32.0/20"),
            (Maintenance, "10.101.48.0/20"),
        ]);
        let got = metanetwork_cidrs(n("10.101.0.0/16"), &s).unwrap();
        assert_eq!(got[&Dmz], n("10.101.32.0/20"));
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn zero_metanetworks_is_an_error() {
        assert_eq!(metanetwork_cidrs(n("10.0.0.0/16"), &BTreeMap::new()), Err(NetError::NoMetanetworks));
    }

    #[test]
    fn static_outside_vpc_is_an_error() {
        let s = specs(&[(Intranet, "10.1.0.0/20"), (Tunnel, "auto")]);
        assert_eq!(
            metanetwork_cidrs(n("10.0.0.0/16"), &s),
            Err(NetError::MetaOutsideVpc { meta: Intranet, cidr: n("10.1.0.0/20"), vpc: n("10.0.0.0/16") })
        );
        let wider = specs(&[(Intranet, "10.0.0.0/15")]);
        assert!(matches!(metanetwork_cidrs(n("10.0.0.0/16"), &wider), Err(NetError::MetaOutsideVpc { .. })));
    }

    #[test]
    fn overlapping_statics_are_an_error() {
        let s = specs(&[(Intranet, "10.0.0.0/20"), (Dmz, "10.0.8.0/24")]);
        let err = metanetwork_cidrs(n("10.0.0.0/16"), &s).unwrap_err();
        assert_eq!(
            err,
            NetError::MetaOverlap {
                first: Intranet,
                first_cidr: n("10.0.0.0/20"),
                second: Dmz,
                second_cidr: n("10.0.8.0/24")
            }
        );
        assert_eq!(err.to_string(), "intranet_cidr 10.0.0.0/20 overlaps dmz_cidr 10.0.8.0/24");
    }

    #[test]
    fn auto_exhaustion_is_an_error() {
        // Two statics fill half the /28 each; no /29 is left for the auto one.
        let s = specs(&[(Intranet, "10.0.0.0/29"), (Tunnel, "10.0.0.8/29"), (Dmz, "auto")]);
        assert_eq!(
            metanetwork_cidrs(n("10.0.0.0/28"), &s),
            Err(NetError::NoFreeMetaCidr { meta: Dmz, prefix: 30, vpc: n("10.0.0.0/28") })
        );
    }

    #[test]
    fn statics_may_be_any_size() {
        // A big static leaves the autos to fill the rest, lowest first.
        let s = specs(&[(Intranet, "auto"), (Tunnel, "10.0.0.0/29"), (Dmz, "auto")]);
        let got = metanetwork_cidrs(n("10.0.0.0/28"), &s).unwrap();
        assert_eq!(got[&Intranet], n("10.0.0.8/30"));
        assert_eq!(got[&Dmz], n("10.0.0.12/30"));
    }
}
