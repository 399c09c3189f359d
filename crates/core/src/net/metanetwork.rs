//! The four fixed network tiers of a VPC, named as in Asiaq's config keys and tags.

use super::NetError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One of the four metanetworks. The derived order is the canonical order (intranet, tunnel, dmz,
/// maintenance), which every deterministic choice in this module follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metanetwork {
    /// Internal hosts.
    Intranet,
    /// Hosts that proxy traffic to and from the internet.
    Tunnel,
    /// Client-facing hosts.
    Dmz,
    /// Admin jump boxes.
    Maintenance,
}

impl Metanetwork {
    /// All four, in canonical order.
    pub const ALL: [Metanetwork; 4] =
        [Metanetwork::Intranet, Metanetwork::Tunnel, Metanetwork::Dmz, Metanetwork::Maintenance];

    /// The lower-case name used in config keys (`intranet_cidr`) and tags.
    pub fn name(self) -> &'static str {
        match self {
            Metanetwork::Intranet => "intranet",
            Metanetwork::Tunnel => "tunnel",
            Metanetwork::Dmz => "dmz",
            Metanetwork::Maintenance => "maintenance",
        }
    }

    /// The metanetwork with exactly this (lower-case) name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The description Asiaq gives the metanetwork's security group.
    pub fn sg_description(self) -> &'static str {
        match self {
            Metanetwork::Intranet => "Inter host",
            Metanetwork::Tunnel => "internet http proxy",
            Metanetwork::Dmz => "Client facing",
            Metanetwork::Maintenance => "Admin jump box",
        }
    }
}

impl fmt::Display for Metanetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metanetwork {
    type Err = NetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| NetError::UnknownMetanetwork { name: s.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_order_and_names() {
        let names: Vec<_> = Metanetwork::ALL.iter().map(|m| m.name()).collect();
        assert_eq!(names, ["intranet", "tunnel", "dmz", "maintenance"]);
        let mut sorted = Metanetwork::ALL;
        sorted.sort();
        assert_eq!(sorted, Metanetwork::ALL);
    }

    #[test]
    fn from_name_is_exact() {
        for m in Metanetwork::ALL {
            assert_eq!(Metanetwork::from_name(m.name()), Some(m));
            assert_eq!(m.to_string(), m.name());
        }
        assert_eq!(Metanetwork::from_name("DMZ"), None);
        assert_eq!(Metanetwork::from_name(" dmz"), None);
        assert_eq!(Metanetwork::from_name("all"), None);
        assert_eq!("public".parse::<Metanetwork>(), Err(NetError::UnknownMetanetwork { name: "public".into() }));
    }

    #[test]
    fn sg_descriptions() {
        let d: Vec<_> = Metanetwork::ALL.iter().map(|m| m.sg_description()).collect();
        assert_eq!(d, ["Inter host", "internet http proxy", "Client facing", "Admin jump box"]);
    }

    #[test]
    fn serializes_lower_case() {
        assert_eq!(serde_json::to_string(&Metanetwork::Dmz).unwrap(), "\"dmz\"");
    }
}
