//! The one error type of the network maths, so callers can turn any failure into a diagnostic.
//!
//! Every message is a single line that names the offending value, because it ends up after
//! `PATH:LINE: error:` in `sila check` output or as the one-line refusal of a tool.

use super::Metanetwork;
use ipnetwork::Ipv4Network;

/// Why a network value or computation was rejected.
// The fields are the values each message names; the messages document them.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// A value that should be an IPv4 CIDR is not one.
    #[error("\"{value}\" is not an IPv4 CIDR (expected a.b.c.d/n)")]
    BadCidr { value: String },

    /// A value that should be an IPv4 address is not one.
    #[error("\"{value}\" is not an IPv4 address")]
    BadIp { value: String },

    /// A name that should be a metanetwork is not one.
    #[error("Unknown metanetwork \"{name}\": expected intranet, tunnel, dmz or maintenance")]
    UnknownMetanetwork { name: String },

    /// No `vpc_cidr` and not enough input to allocate one (Asiaq's guard was inverted).
    #[error("Cannot choose a VPC CIDR: vpc_cidr is not set and {missing} is missing")]
    MissingVpcCidrInput { missing: &'static str },

    /// `vpc_cidr_size` is wider than `ip_space` or narrower than AWS allows.
    #[error("vpc_cidr_size {size} does not fit ip_space {ip_space}: it must be between {min} and 28", min = .ip_space.prefix())]
    BadVpcCidrSize { size: u8, ip_space: Ipv4Network },

    /// Every candidate VPC block overlaps an existing VPC.
    #[error("No subnets available: every /{size} block of ip_space {ip_space} overlaps an existing VPC")]
    NoFreeVpcCidr { size: u8, ip_space: Ipv4Network },

    /// None of the four `<meta>_cidr` keys is set.
    #[error("No metanetwork configured: set at least one of intranet_cidr, tunnel_cidr, dmz_cidr, maintenance_cidr")]
    NoMetanetworks,

    /// A `<meta>_cidr` value that is neither `auto` nor a CIDR.
    #[error("\"{value}\" is neither \"auto\" nor an IPv4 CIDR")]
    BadMetaCidr { value: String },

    /// Dividing a network into `pieces` equal blocks would need a prefix longer than /32.
    #[error("Cannot divide {cidr} into {pieces} pieces: they would need prefix /{prefix}, longer than /32")]
    TooManyPieces { cidr: Ipv4Network, pieces: usize, prefix: u8 },

    /// A static metanetwork CIDR that is not inside the VPC CIDR.
    #[error("{meta}_cidr {cidr} is not inside the VPC CIDR {vpc}")]
    MetaOutsideVpc { meta: Metanetwork, cidr: Ipv4Network, vpc: Ipv4Network },

    /// Two static metanetwork CIDRs overlap.
    #[error("{first}_cidr {first_cidr} overlaps {second}_cidr {second_cidr}")]
    MetaOverlap { first: Metanetwork, first_cidr: Ipv4Network, second: Metanetwork, second_cidr: Ipv4Network },

    /// No free block left for an `auto` metanetwork.
    #[error("No room for {meta}_cidr=auto: no free /{prefix} block left in the VPC CIDR {vpc}")]
    NoFreeMetaCidr { meta: Metanetwork, prefix: u8, vpc: Ipv4Network },

    /// Splitting over zero availability zones.
    #[error("Cannot split {cidr} over zero availability zones")]
    NoZones { cidr: Ipv4Network },

    /// An `ip_address`-style value starting with `+`/`-` that is not an integer.
    #[error("Cannot find IP by offset \"{value}\": expected a signed integer such as +5 or -2")]
    BadOffset { value: String },

    /// An `ip_address`-style value that is neither an offset nor IPv4 literals.
    #[error("Cannot find IP \"{value}\": expected an offset (+N or -N) or IPv4 addresses")]
    BadIpSpec { value: String },

    /// An offset asked of a metanetwork that has no subnets.
    #[error("Cannot find IP by offset {offset}: the metanetwork has no subnets")]
    NoSubnets { offset: i64 },

    /// The offset lands outside every subnet of the metanetwork.
    #[error("Cannot find IP by offset {offset}: {address} is not inside any of the subnets {subnets}")]
    OffsetOutOfRange { offset: i64, address: String, subnets: String },

    /// A literal static address outside every subnet of its metanetwork.
    #[error("{address} is not inside any of the subnets {subnets}")]
    OutsideSubnets { address: std::net::Ipv4Addr, subnets: String },

    /// A security-group rule with fewer than three tokens.
    #[error("Cannot make heads or tails of rule \"{rule}\": expected \"protocol source port...\"")]
    BadRule { rule: String },

    /// A security-group rule whose protocol is unknown.
    #[error("Unknown protocol \"{protocol}\" in rule \"{rule}\": expected tcp, udp, icmp, all or a number 0-255")]
    BadProtocol { protocol: String, rule: String },

    /// A security-group rule whose source is neither `all`, a CIDR nor a metanetwork.
    #[error("Unknown source \"{name}\" in rule \"{rule}\": expected all, a CIDR or a metanetwork name")]
    BadSource { name: String, rule: String },

    /// A security-group rule whose source metanetwork does not exist in this VPC.
    #[error("Source metanetwork \"{meta}\" in rule \"{rule}\" is not configured in this VPC")]
    SourceNotConfigured { meta: Metanetwork, rule: String },

    /// A security-group rule with an invalid port spec.
    #[error("Bad port \"{port}\" in rule \"{rule}\": {reason}")]
    BadPort { port: String, rule: String, reason: &'static str },

    /// Rules asked for a metanetwork that is not configured in this VPC.
    #[error("Cannot build security-group rules for {meta}: it is not configured in this VPC")]
    TargetNotConfigured { meta: Metanetwork },

    /// An invalid `customer_ports` entry.
    #[error("Bad customer port \"{port}\": {reason}")]
    BadCustomerPort { port: String, reason: &'static str },

    /// `customer_ports` needs the dmz security group, which this VPC lacks.
    #[error("customer_ports is set but the dmz metanetwork is not configured")]
    CustomerPortsWithoutDmz,

    /// The same destination routed to two gateways.
    #[error("Route {cidr} is configured twice, to {first} and to {second}")]
    RouteConflict { cidr: Ipv4Network, first: String, second: String },

    /// NAT EIPs separated by spaces (the README's spelling) instead of commas.
    #[error("NAT gateway EIPs \"{value}\" must be separated by commas, not spaces")]
    NatNeedsCommas { value: String },

    /// The same NAT EIP listed twice.
    #[error("NAT gateway EIP {ip} is listed twice")]
    DuplicateNatIp { ip: String },

    /// Static NAT EIPs do not match the subnets one to one.
    #[error("{ips} NAT gateway EIP(s) configured for {subnets} subnet(s): need exactly one per subnet")]
    NatCountMismatch { ips: usize, subnets: usize },

    /// A `nat_gateway_routes` entry that is not `source/destination`.
    #[error("Bad NAT route \"{pair}\": expected source/destination metanetworks such as intranet/tunnel")]
    BadNatRoute { pair: String },

    /// A `nat_gateway_routes` entry whose source and destination are the same.
    #[error("Bad NAT route \"{pair}\": a metanetwork cannot route through its own NAT gateways")]
    NatRouteToSelf { pair: String },

    /// One source metanetwork routed to two different NAT destinations.
    #[error("NAT routes send the default route of {from} to both {first} and {second}")]
    NatRouteConflict { from: Metanetwork, first: Metanetwork, second: Metanetwork },

    /// A malformed `[peerings] connection_*` value.
    #[error("Bad peering \"{line}\": {reason}")]
    BadPeering { line: String, reason: String },
}
