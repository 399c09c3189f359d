//! VPC peerings: the `[peerings] connection_*` grammar and its resolution against the VPCs of a
//! region into unordered, deduplicated connections (§4.4).
//!
//! Connections carry the metanetwork of each side, so a second metanetwork pair between two
//! already-peered VPCs counts as missing (Asiaq compared VPC ids only and never created it).

use super::{Metanetwork, NetError};
use serde::Serialize;
use std::collections::BTreeSet;

/// One side of a peering line: `name[:type]/metanetwork`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PeeringEndpoint {
    /// The VPC name (`Name` tag); `None` for `*`, any VPC of the type.
    pub name: Option<String>,
    /// The VPC type (`type` tag); defaults to the name.
    pub vpc_type: String,
    /// The metanetwork whose route tables get the peering route.
    pub metanetwork: Metanetwork,
}

impl PeeringEndpoint {
    /// True when `vpc` is one of the VPCs this endpoint designates.
    pub fn matches(&self, vpc: &VpcRef) -> bool {
        self.vpc_type == vpc.vpc_type && self.name.as_ref().is_none_or(|name| *name == vpc.name)
    }
}

/// A VPC of the region that carries both a `Name` and a `type` tag (others cannot be peered).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct VpcRef {
    /// `vpc-…` id.
    pub id: String,
    /// `Name` tag (the environment name).
    pub name: String,
    /// `type` tag (the environment type).
    pub vpc_type: String,
}

/// One end of a resolved connection.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PeeringSide {
    /// `vpc-…` id.
    pub vpc_id: String,
    /// The metanetwork routed over the peering on this side.
    pub metanetwork: Metanetwork,
}

/// An unordered pair of sides: built through [`PeeringConnection::new`], which stores the smaller
/// side first, so A–B and B–A are equal and deduplicate in sets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PeeringConnection {
    first: PeeringSide,
    second: PeeringSide,
}

impl PeeringConnection {
    /// The connection between `a` and `b`, in either order.
    pub fn new(a: PeeringSide, b: PeeringSide) -> Self {
        if a <= b {
            PeeringConnection { first: a, second: b }
        } else {
            PeeringConnection { first: b, second: a }
        }
    }

    /// The smaller side.
    pub fn first(&self) -> &PeeringSide {
        &self.first
    }

    /// The larger side.
    pub fn second(&self) -> &PeeringSide {
        &self.second
    }

    /// True when either side is in the VPC `vpc_id`.
    pub fn involves(&self, vpc_id: &str) -> bool {
        self.first.vpc_id == vpc_id || self.second.vpc_id == vpc_id
    }
}

fn bad(line: &str, reason: impl Into<String>) -> NetError {
    NetError::BadPeering { line: line.to_string(), reason: reason.into() }
}

fn parse_endpoint(text: &str, line: &str) -> Result<PeeringEndpoint, NetError> {
    let shape = || bad(line, format!("endpoint \"{text}\" must look like name[:type]/metanetwork"));
    let (vpc, meta) = text.split_once('/').ok_or_else(shape)?;
    let (name, vpc_type) = match vpc.split_once(':') {
        Some((name, vpc_type)) => (name.trim(), Some(vpc_type.trim())),
        None => (vpc.trim(), None),
    };
    if name.is_empty() || meta.contains('/') || vpc_type.is_some_and(|t| t.is_empty() || t.contains(':')) {
        return Err(shape());
    }
    let metanetwork = Metanetwork::from_name(meta.trim())
        .ok_or_else(|| bad(line, format!("endpoint \"{text}\" names unknown metanetwork \"{}\"", meta.trim())))?;
    match (name, vpc_type) {
        (_, Some("*")) => Err(bad(line, format!("endpoint \"{text}\" has a wildcard type; only the name may be *"))),
        ("*", None) => {
            Err(bad(line, format!("endpoint \"{text}\" needs an explicit type with a * name, as in *:sandbox/{meta}")))
        }
        ("*", Some(t)) => Ok(PeeringEndpoint { name: None, vpc_type: t.to_string(), metanetwork }),
        (n, t) => Ok(PeeringEndpoint { name: Some(n.to_string()), vpc_type: t.unwrap_or(n).to_string(), metanetwork }),
    }
}

/// Parse a `connection_*` value: exactly two endpoints separated by blanks (any run of them).
pub fn parse_peering(value: &str) -> Result<(PeeringEndpoint, PeeringEndpoint), NetError> {
    let line = value.trim();
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let [a, b] = tokens.as_slice() else {
        return Err(bad(line, format!("expected exactly two endpoints, found {}", tokens.len())));
    };
    let (a, b) = (parse_endpoint(a, line)?, parse_endpoint(b, line)?);
    if a.name.is_some() && a.name == b.name && a.vpc_type == b.vpc_type {
        return Err(bad(line, "both endpoints are the same VPC"));
    }
    Ok((a, b))
}

/// Every connection the lines ask for: for each line, every VPC matching the first endpoint with
/// every VPC matching the second, except a VPC with itself; unordered and deduplicated.
pub fn resolve_peerings(lines: &[(PeeringEndpoint, PeeringEndpoint)], vpcs: &[VpcRef]) -> BTreeSet<PeeringConnection> {
    let side =
        |vpc: &VpcRef, end: &PeeringEndpoint| PeeringSide { vpc_id: vpc.id.clone(), metanetwork: end.metanetwork };
    let mut connections = BTreeSet::new();
    for (a, b) in lines {
        for va in vpcs.iter().filter(|v| a.matches(v)) {
            for vb in vpcs.iter().filter(|v| b.matches(v) && v.id != va.id) {
                connections.insert(PeeringConnection::new(side(va, a), side(vb, b)));
            }
        }
    }
    connections
}

/// The connections that involve the VPC `vpc_id` (the desired set when updating that VPC).
pub fn connections_of_vpc(connections: &BTreeSet<PeeringConnection>, vpc_id: &str) -> BTreeSet<PeeringConnection> {
    connections.iter().filter(|c| c.involves(vpc_id)).cloned().collect()
}

/// Desired connections that do not exist yet, compared by both VPCs *and* both metanetworks.
pub fn missing_peerings(
    desired: &BTreeSet<PeeringConnection>,
    existing: &BTreeSet<PeeringConnection>,
) -> BTreeSet<PeeringConnection> {
    desired.difference(existing).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Metanetwork::*;

    fn end(name: Option<&str>, vpc_type: &str, metanetwork: Metanetwork) -> PeeringEndpoint {
        PeeringEndpoint { name: name.map(str::to_string), vpc_type: vpc_type.into(), metanetwork }
    }

    fn vpc(id: &str, name: &str, vpc_type: &str) -> VpcRef {
        VpcRef { id: id.into(), name: name.into(), vpc_type: vpc_type.into() }
    }

    fn conn(a: &str, am: Metanetwork, b: &str, bm: Metanetwork) -> PeeringConnection {
        PeeringConnection::new(
            PeeringSide { vpc_id: a.into(), metanetwork: am },
            PeeringSide { vpc_id: b.into(), metanetwork: bm },
        )
    }

    fn sandboxes() -> Vec<VpcRef> {
        vec![
            vpc("vpc-1", "mock-vpc-1", "sandbox"),
            vpc("vpc-2", "mock-vpc-2", "sandbox"),
            vpc("vpc-3", "mock-vpc-3", "sandbox"),
            vpc("vpc-9", "ci", "ci"),
        ]
    }

    fn resolve(line: &str, vpcs: &[VpcRef]) -> BTreeSet<PeeringConnection> {
        resolve_peerings(&[parse_peering(line).unwrap()], vpcs)
    }

    fn reason(line: &str) -> String {
        match parse_peering(line) {
            Err(NetError::BadPeering { reason, .. }) => reason,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn vector_31_type_defaults_to_name() {
        let (a, b) = parse_peering("ci/intranet build:build/tunnel").unwrap();
        assert_eq!(a, end(Some("ci"), "ci", Intranet));
        assert_eq!(b, end(Some("build"), "build", Tunnel));
        assert_eq!(parse_peering("ci/intranet x/dmz").unwrap().0, parse_peering("ci:ci/intranet x/dmz").unwrap().0);
    }

    #[test]
    fn wildcard_name_with_type() {
        let (a, _) = parse_peering("*:sandbox/intranet mock-vpc-3:sandbox/intranet").unwrap();
        assert_eq!(a, end(None, "sandbox", Intranet));
    }

    #[test]
    fn vector_32_wildcard_to_one() {
        let got = resolve("*:sandbox/intranet mock-vpc-3:sandbox/intranet", &sandboxes());
        let want =
            BTreeSet::from([conn("vpc-1", Intranet, "vpc-3", Intranet), conn("vpc-2", Intranet, "vpc-3", Intranet)]);
        assert_eq!(got, want);
    }

    #[test]
    fn vector_33_wildcard_to_wildcard() {
        let got = resolve("*:sandbox/intranet *:sandbox/intranet", &sandboxes());
        let want = BTreeSet::from([
            conn("vpc-1", Intranet, "vpc-2", Intranet),
            conn("vpc-1", Intranet, "vpc-3", Intranet),
            conn("vpc-2", Intranet, "vpc-3", Intranet),
        ]);
        assert_eq!(got, want);
    }

    #[test]
    fn vector_34_existing_reverse_peering_is_not_missing() {
        let desired = resolve("mock-vpc-1:sandbox/intranet mock-vpc-2:sandbox/tunnel", &sandboxes());
        let existing = BTreeSet::from([conn("vpc-2", Tunnel, "vpc-1", Intranet)]);
        assert!(missing_peerings(&desired, &existing).is_empty());
        assert_eq!(missing_peerings(&desired, &BTreeSet::new()), desired);
        assert_eq!(desired.len(), 1);
    }

    #[test]
    fn missing_compares_metanetworks_too() {
        let desired =
            BTreeSet::from([conn("vpc-1", Intranet, "vpc-2", Intranet), conn("vpc-1", Tunnel, "vpc-2", Intranet)]);
        let existing = BTreeSet::from([conn("vpc-1", Intranet, "vpc-2", Intranet)]);
        assert_eq!(missing_peerings(&desired, &existing), BTreeSet::from([conn("vpc-1", Tunnel, "vpc-2", Intranet)]));
    }

    #[test]
    fn vector_35_bad_lines() {
        assert_eq!(reason("a/intranet b/intranet c/intranet"), "expected exactly two endpoints, found 3");
        assert_eq!(reason("a/intranet"), "expected exactly two endpoints, found 1");
        assert_eq!(reason(""), "expected exactly two endpoints, found 0");
        assert_eq!(
            reason("*/tunnel ci/intranet"),
            "endpoint \"*/tunnel\" needs an explicit type with a * name, as in *:sandbox/tunnel"
        );
        assert_eq!(
            reason("ci:*/tunnel ci/intranet"),
            "endpoint \"ci:*/tunnel\" has a wildcard type; only the name may be *"
        );
        assert_eq!(
            reason("*:*/tunnel ci/intranet"),
            "endpoint \"*:*/tunnel\" has a wildcard type; only the name may be *"
        );
    }

    #[test]
    fn malformed_endpoints() {
        for line in
            ["ci build/tunnel", "/tunnel ci/intranet", "ci:/tunnel x/dmz", "a:b:c/dmz x/dmz", "ci/intranet/x y/dmz"]
        {
            assert!(reason(line).contains("must look like name[:type]/metanetwork"), "{line}");
        }
        assert_eq!(reason("ci/public x/dmz"), "endpoint \"ci/public\" names unknown metanetwork \"public\"");
        assert_eq!(reason("ci/intranet ci:ci/tunnel"), "both endpoints are the same VPC");
        let err = parse_peering("ci/public x/dmz").unwrap_err();
        assert!(err.to_string().starts_with("Bad peering \"ci/public x/dmz\": "), "{err}");
    }

    #[test]
    fn any_blank_run_separates_endpoints() {
        assert_eq!(parse_peering("  build/tunnel \t ci/intranet "), parse_peering("build/tunnel ci/intranet"));
    }

    #[test]
    fn sample_peerings_resolve_per_vpc() {
        let vpcs = [vpc("vpc-b", "build", "build"), vpc("vpc-c", "ci", "ci"), vpc("vpc-x", "other", "ci")];
        let lines =
            [parse_peering("build/tunnel ci/intranet").unwrap(), parse_peering("build/tunnel ci/maintenance").unwrap()];
        let all = resolve_peerings(&lines, &vpcs);
        let want =
            BTreeSet::from([conn("vpc-b", Tunnel, "vpc-c", Intranet), conn("vpc-b", Tunnel, "vpc-c", Maintenance)]);
        assert_eq!(all, want);
        assert_eq!(connections_of_vpc(&all, "vpc-c"), want);
        assert!(connections_of_vpc(&all, "vpc-x").is_empty());
        // Unmatched endpoints resolve to nothing.
        assert!(resolve("nosuch/tunnel ci/intranet", &vpcs).is_empty());
    }

    #[test]
    fn no_self_peering_even_across_metanetworks() {
        let vpcs = [vpc("vpc-1", "a", "sandbox")];
        assert!(resolve("*:sandbox/intranet *:sandbox/tunnel", &vpcs).is_empty());
    }

    #[test]
    fn connection_order_is_normalised() {
        let ab = conn("vpc-1", Dmz, "vpc-2", Intranet);
        let ba = conn("vpc-2", Intranet, "vpc-1", Dmz);
        assert_eq!(ab, ba);
        assert_eq!(ab.first().vpc_id, "vpc-1");
        assert_eq!(ba.second().metanetwork, Intranet);
        assert!(ab.involves("vpc-2") && !ab.involves("vpc-3"));
    }
}
