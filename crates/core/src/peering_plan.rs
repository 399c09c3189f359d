//! What the `[peerings]` of vpc.ini mean for one environment: which VPC pairs need a peering
//! connection, and which routes go over it on both sides. Pure.
//!
//! AWS allows one peering connection per pair of VPCs, so every configured metanetwork pair of two
//! VPCs shares that connection and only adds routes (Asiaq compared VPC pairs only and never added a
//! second metanetwork pair to an existing peering). Each peered metanetwork's security group admits
//! the peer metanetwork's CIDR ([`peering_rules`]), on both sides.

use crate::net::{Metanetwork, PeeringConnection, SgRule, SgSource};
use ipnetwork::Ipv4Network;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A peering connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Peering {
    /// `pcx-...`.
    pub id: String,
    /// The VPC that asked.
    pub requester_vpc: String,
    /// The VPC that accepted.
    pub accepter_vpc: String,
    /// Its status code.
    pub status: String,
    /// Its `Name` tag (Sila names the peerings it makes `<env>-<env>`).
    pub name: Option<String>,
}

/// A route one side of a peering needs: in every route table of `meta` in `vpc_id`, `destination`
/// (the peer metanetwork's CIDR) goes to the peering with `peer_vpc_id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PeeringRoute {
    /// The VPC whose route tables get the route.
    pub vpc_id: String,
    /// The metanetwork whose route tables get it.
    pub meta: Metanetwork,
    /// The peer metanetwork's CIDR.
    #[serde(serialize_with = "crate::environment::as_string")]
    pub destination: Ipv4Network,
    /// The VPC on the other side.
    pub peer_vpc_id: String,
}

/// An unordered pair of VPC ids, smaller first.
pub fn vpc_pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

/// The VPC pairs that need a peering connection, and the routes of both sides, for `connections`.
/// `cidrs` has the CIDR of every metanetwork of the VPCs involved; a connection naming a metanetwork
/// a VPC does not have is returned in the third list instead.
pub fn peering_routes(
    connections: &BTreeSet<PeeringConnection>,
    cidrs: &BTreeMap<(String, Metanetwork), Ipv4Network>,
) -> (BTreeSet<(String, String)>, BTreeSet<PeeringRoute>, Vec<String>) {
    let (mut pairs, mut routes, mut problems) = (BTreeSet::new(), BTreeSet::new(), Vec::new());
    for c in connections {
        let (a, b) = (c.first(), c.second());
        let cidr_a = cidrs.get(&(a.vpc_id.clone(), a.metanetwork));
        let cidr_b = cidrs.get(&(b.vpc_id.clone(), b.metanetwork));
        let (Some(cidr_a), Some(cidr_b)) = (cidr_a, cidr_b) else {
            problems.push(format!(
                "{}/{} <-> {}/{}: a side has no such metanetwork",
                a.vpc_id, a.metanetwork, b.vpc_id, b.metanetwork
            ));
            continue;
        };
        pairs.insert(vpc_pair(&a.vpc_id, &b.vpc_id));
        routes.insert(PeeringRoute {
            vpc_id: a.vpc_id.clone(),
            meta: a.metanetwork,
            destination: *cidr_b,
            peer_vpc_id: b.vpc_id.clone(),
        });
        routes.insert(PeeringRoute {
            vpc_id: b.vpc_id.clone(),
            meta: b.metanetwork,
            destination: *cidr_a,
            peer_vpc_id: a.vpc_id.clone(),
        });
    }
    (pairs, routes, problems)
}

/// The ingress rules peerings give the metanetworks of `vpc_id`: all traffic from each peer
/// metanetwork's CIDR (`routes` as from [`peering_routes`]).
pub fn peering_rules(routes: &BTreeSet<PeeringRoute>, vpc_id: &str) -> BTreeMap<Metanetwork, BTreeSet<SgRule>> {
    let mut rules: BTreeMap<Metanetwork, BTreeSet<SgRule>> = BTreeMap::new();
    for r in routes.iter().filter(|r| r.vpc_id == vpc_id) {
        rules.entry(r.meta).or_default().insert(SgRule {
            target: r.meta,
            protocol: "-1".into(),
            from_port: -1,
            to_port: -1,
            source: SgSource::Cidr(r.destination),
        });
    }
    rules
}

/// The name Sila gives (and tags) the peering of two environments; only peerings with this name are
/// removed when their line leaves the config.
pub fn peering_name(a: &str, b: &str) -> String {
    if a <= b {
        format!("{a}-{b}")
    } else {
        format!("{b}-{a}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{parse_peering, resolve_peerings, VpcRef};

    #[test]
    fn two_metanetwork_pairs_share_one_connection() {
        let vpcs = [
            VpcRef { id: "vpc-b".into(), name: "build".into(), vpc_type: "build".into() },
            VpcRef { id: "vpc-c".into(), name: "ci".into(), vpc_type: "ci".into() },
        ];
        let lines =
            [parse_peering("build/tunnel ci/intranet").unwrap(), parse_peering("build/tunnel ci/maintenance").unwrap()];
        let connections = resolve_peerings(&lines, &vpcs);
        let n = |s: &str| s.parse::<Ipv4Network>().unwrap();
        let cidrs = BTreeMap::from([
            (("vpc-b".to_string(), Metanetwork::Tunnel), n("10.100.16.0/20")),
            (("vpc-c".to_string(), Metanetwork::Intranet), n("10.101.0.0/20")),
            (("vpc-c".to_string(), Metanetwork::Maintenance), n("10.101.48.0/20")),
        ]);
        let (pairs, routes, problems) = peering_routes(&connections, &cidrs);
        assert!(problems.is_empty());
        assert_eq!(pairs.into_iter().collect::<Vec<_>>(), [("vpc-b".to_string(), "vpc-c".to_string())]);
        let got: Vec<String> =
            routes.iter().map(|r| format!("{} {} {} {}", r.vpc_id, r.meta, r.destination, r.peer_vpc_id)).collect();
        assert_eq!(
            got,
            [
                "vpc-b tunnel 10.101.0.0/20 vpc-c",
                "vpc-b tunnel 10.101.48.0/20 vpc-c",
                "vpc-c intranet 10.100.16.0/20 vpc-b",
                "vpc-c maintenance 10.100.16.0/20 vpc-b",
            ]
        );
        let rules = peering_rules(&routes, "vpc-c");
        assert_eq!(rules.len(), 2);
        let intranet: Vec<String> =
            rules[&Metanetwork::Intranet].iter().map(|r| format!("{} {:?}", r.protocol, r.source)).collect();
        assert_eq!(intranet, ["-1 Cidr(Ipv4Network { addr: 10.100.16.0, prefix: 20 })"]);
        assert_eq!(peering_rules(&routes, "vpc-b")[&Metanetwork::Tunnel].len(), 2);
        assert_eq!(peering_name("demo", "bakery"), "bakery-demo");
        let (_, _, problems) = peering_routes(&connections, &BTreeMap::new());
        assert_eq!(problems.len(), 2);
    }
}
