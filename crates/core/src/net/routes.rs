//! Internet/VPN gateway routes of a metanetwork: the `<meta>_igw_routes` / `<meta>_vgw_routes`
//! lists and the delete/replace/add plan against the live route table (§4.2.3).
//!
//! Destinations are compared by their normalised network, so a configured `10.1.0.22/16` (kept as
//! written, as Asiaq did) matches the `10.1.0.0/16` AWS reports instead of being churned each run.

use super::cidr::{normalized, parse_cidr};
use super::NetError;
use ipnetwork::Ipv4Network;
use serde::Serialize;
use std::collections::BTreeMap;

/// Whitespace-separated destination CIDRs, kept exactly as written (host bits included; see
/// [`has_host_bits`](super::has_host_bits)). An empty value is an empty list.
pub fn parse_route_list(value: &str) -> Result<Vec<Ipv4Network>, NetError> {
    value.split_whitespace().map(parse_cidr).collect()
}

/// What to do to a metanetwork's route tables, each list in ascending destination order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct RouteDiff {
    /// Live destinations no longer wanted (as AWS reports them).
    #[serde(serialize_with = "super::cidr::ser::nets")]
    pub delete: Vec<Ipv4Network>,
    /// Live destinations that must point at another gateway (destination as AWS reports it).
    #[serde(serialize_with = "super::cidr::ser::net_pairs")]
    pub replace: Vec<(Ipv4Network, String)>,
    /// New destinations (as configured).
    #[serde(serialize_with = "super::cidr::ser::net_pairs")]
    pub add: Vec<(Ipv4Network, String)>,
}

impl RouteDiff {
    /// True when the route tables already match.
    pub fn is_empty(&self) -> bool {
        self.delete.is_empty() && self.replace.is_empty() && self.add.is_empty()
    }
}

/// Error when the desired routes send one destination to two different gateways (for example the
/// same CIDR in `<meta>_igw_routes` and `<meta>_vgw_routes`); a route table cannot hold both.
pub fn check_route_conflicts(desired: &[(Ipv4Network, String)]) -> Result<(), NetError> {
    let mut seen: BTreeMap<Ipv4Network, &str> = BTreeMap::new();
    for (cidr, gateway) in desired {
        match seen.get(&normalized(*cidr)) {
            Some(first) if first != gateway => {
                return Err(NetError::RouteConflict { cidr: *cidr, first: first.to_string(), second: gateway.clone() })
            }
            Some(_) => {}
            None => {
                seen.insert(normalized(*cidr), gateway);
            }
        }
    }
    Ok(())
}

/// Index by normalised destination; the first entry for a destination wins.
fn by_destination(routes: &[(Ipv4Network, String)]) -> BTreeMap<Ipv4Network, (Ipv4Network, &str)> {
    let mut map = BTreeMap::new();
    for (cidr, gateway) in routes {
        map.entry(normalized(*cidr)).or_insert((*cidr, gateway.as_str()));
    }
    map
}

/// Asiaq's delete/replace/add split of gateway routes (current = the live routes with a gateway
/// other than `local`): destinations only live are deleted, destinations in both whose gateway
/// differs are replaced, destinations only desired are added. Desired routes should pass
/// [`check_route_conflicts`] first; otherwise the first entry for a destination wins.
pub fn diff_gateway_routes(current: &[(Ipv4Network, String)], desired: &[(Ipv4Network, String)]) -> RouteDiff {
    let current = by_destination(current);
    let desired = by_destination(desired);
    let mut diff = RouteDiff::default();
    for (key, (live, live_gateway)) in &current {
        match desired.get(key) {
            None => diff.delete.push(*live),
            Some((_, gateway)) if gateway != live_gateway => diff.replace.push((*live, gateway.to_string())),
            Some(_) => {}
        }
    }
    for (key, (wanted, gateway)) in &desired {
        if !current.contains_key(key) {
            diff.add.push((*wanted, gateway.to_string()));
        }
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::n;

    fn routes(items: &[(&str, &str)]) -> Vec<(Ipv4Network, String)> {
        items.iter().map(|(c, g)| (n(c), g.to_string())).collect()
    }

    #[test]
    fn vector_26_delete_replace_add() {
        let current = routes(&[("23.34.32.12/32", "old_gw_1"), ("65.76.23.23/32", "old_gw_2")]);
        let desired = routes(&[("65.76.23.23/32", "new_gw_1"), ("6.6.4.23/32", "new_gw_2")]);
        let diff = diff_gateway_routes(&current, &desired);
        assert_eq!(
            diff,
            RouteDiff {
                delete: vec![n("23.34.32.12/32")],
                replace: routes(&[("65.76.23.23/32", "new_gw_1")]),
                add: routes(&[("6.6.4.23/32", "new_gw_2")]),
            }
        );
    }

    #[test]
    fn vector_27_route_lists_keep_order_and_spelling() {
        assert_eq!(parse_route_list("0.0.0.0/0"), Ok(vec![n("0.0.0.0/0")]));
        assert_eq!(
            parse_route_list("66.104.227.162/32 38.117.159.162/32 64.106.168.244/32"),
            Ok(vec![n("66.104.227.162/32"), n("38.117.159.162/32"), n("64.106.168.244/32")])
        );
        assert_eq!(parse_route_list("10.1.0.22/32\t10.1.0.24/32\n"), Ok(vec![n("10.1.0.22/32"), n("10.1.0.24/32")]));
        assert_eq!(parse_route_list(""), Ok(vec![]));
        assert_eq!(parse_route_list("   "), Ok(vec![]));
    }

    #[test]
    fn host_bits_are_accepted_as_written() {
        let got = parse_route_list("10.1.0.22/16").unwrap();
        assert_eq!(got[0].to_string(), "10.1.0.22/16");
        assert!(crate::net::has_host_bits(&got[0]));
    }

    #[test]
    fn bad_route_names_the_value() {
        assert_eq!(parse_route_list("10.0.0.0/8 10.0.0.1"), Err(NetError::BadCidr { value: "10.0.0.1".into() }));
        assert_eq!(
            parse_route_list("10.0.0.0/8,10.1.0.0/16"),
            Err(NetError::BadCidr { value: "10.0.0.0/8,10.1.0.0/16".into() })
        );
    }

    #[test]
    fn unchanged_routes_give_an_empty_diff() {
        let both = routes(&[("0.0.0.0/0", "igw-1"), ("10.1.0.0/16", "vgw-1")]);
        assert!(diff_gateway_routes(&both, &both).is_empty());
        assert!(diff_gateway_routes(&[], &[]).is_empty());
    }

    #[test]
    fn host_bit_spelling_matches_the_normalised_live_route() {
        let current = routes(&[("10.1.0.0/16", "vgw-1")]);
        assert!(diff_gateway_routes(&current, &routes(&[("10.1.0.22/16", "vgw-1")])).is_empty());
        let moved = diff_gateway_routes(&current, &routes(&[("10.1.0.22/16", "igw-1")]));
        assert_eq!(moved.replace, routes(&[("10.1.0.0/16", "igw-1")]));
        let fresh = diff_gateway_routes(&[], &routes(&[("10.1.0.22/16", "vgw-1")]));
        assert_eq!(fresh.add[0].0.to_string(), "10.1.0.22/16");
    }

    #[test]
    fn diff_order_is_deterministic() {
        let current = routes(&[("9.0.0.0/8", "a"), ("1.0.0.0/8", "a"), ("5.0.0.0/8", "a")]);
        let desired = routes(&[("8.0.0.0/8", "b"), ("2.0.0.0/8", "b")]);
        let diff = diff_gateway_routes(&current, &desired);
        assert_eq!(diff.delete, [n("1.0.0.0/8"), n("5.0.0.0/8"), n("9.0.0.0/8")]);
        assert_eq!(diff.add, routes(&[("2.0.0.0/8", "b"), ("8.0.0.0/8", "b")]));
    }

    #[test]
    fn conflicting_destinations() {
        let desired = routes(&[("10.0.0.0/8", "igw-1"), ("10.0.0.0/8", "igw-1"), ("10.0.0.0/8", "vgw-1")]);
        assert_eq!(
            check_route_conflicts(&desired),
            Err(NetError::RouteConflict { cidr: n("10.0.0.0/8"), first: "igw-1".into(), second: "vgw-1".into() })
        );
        assert_eq!(check_route_conflicts(&desired[..2]), Ok(()));
        // First entry wins in the diff.
        assert_eq!(diff_gateway_routes(&[], &desired).add, routes(&[("10.0.0.0/8", "igw-1")]));
    }

    #[test]
    fn serializes_cidrs_as_strings() {
        let diff = RouteDiff { delete: vec![n("1.2.3.4/32")], replace: vec![], add: routes(&[("0.0.0.0/0", "igw-1")]) };
        assert_eq!(
            serde_json::to_string(&diff).unwrap(),
            r#"{"delete":["1.2.3.4/32"],"replace":[],"add":[["0.0.0.0/0","igw-1"]]}"#
        );
    }
}
