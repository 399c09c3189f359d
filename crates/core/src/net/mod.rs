//! Network maths for VPCs: the pure half of `disco_vpc.ini` (reference §3.2, §4.1–§4.4).
//!
//! Everything here is deterministic and free of I/O so that `sila check` can validate a VPC config
//! and the tools can compute a plan before they touch AWS. Where Asiaq picked at random or
//! silently accepted nonsense, these functions choose the lowest candidate or return a [`NetError`].

mod alloc;
mod cidr;
mod error;
mod metanetwork;
mod nat;
mod offset;
mod peering;
mod routes;
mod sg;
mod zones;

pub use alloc::{metanetwork_cidrs, vpc_cidr, MetaCidrSpec, MAX_VPC_PREFIX};
pub use cidr::{has_host_bits, parse_cidr};
pub use error::NetError;
pub use metanetwork::Metanetwork;
pub use nat::{check_static_count, parse_nat_routes, NatGateways};
pub use offset::{ip_by_offset, parse_ip_spec, static_ips, IpSpec};
pub use peering::{
    connections_of_vpc, missing_peerings, parse_peering, resolve_peerings, PeeringConnection, PeeringEndpoint,
    PeeringSide, VpcRef,
};
pub use routes::{check_route_conflicts, diff_gateway_routes, parse_route_list, RouteDiff};
pub use sg::{
    current_rule_ports, diff_sg_rules, expand_sg_rules, normalize_protocol, parse_sg_rules, CustomerPorts, SgRule,
    SgRuleSpec, SgSource, SourceSpec,
};
pub use zones::{reconstruct_metanetwork, split_for_zones, zone_offset};

/// Test shorthand: a CIDR literal that is known to be valid.
#[cfg(test)]
pub(crate) fn n(cidr: &str) -> ipnetwork::Ipv4Network {
    cidr.parse().expect("test CIDR literal")
}
