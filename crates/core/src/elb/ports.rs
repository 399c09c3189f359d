//! Port mappings (reference §4.13.1): which load-balancer port and protocol forwards to which
//! instance port and protocol, from the hostclass's `elb_port`/`elb_protocol` (external) and
//! `elb_instance_port`/`elb_instance_protocol` (internal) options.

use serde::Serialize;
use std::fmt;

/// A listener or target protocol. `SSL` is read as `TLS`, its elbv2 name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    /// HTTP (application load balancer).
    Http,
    /// HTTPS (application load balancer; a certificate on the listener).
    Https,
    /// TCP (network load balancer).
    Tcp,
    /// TLS, written `SSL` by Asiaq (network load balancer; a certificate on the listener).
    Tls,
}

impl Protocol {
    /// The protocol named `text` (any case), or why there is none.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_uppercase().as_str() {
            "HTTP" => Ok(Protocol::Http),
            "HTTPS" => Ok(Protocol::Https),
            "TCP" => Ok(Protocol::Tcp),
            "SSL" | "TLS" => Ok(Protocol::Tls),
            other => Err(format!("unknown protocol {other:?} (HTTP, HTTPS, TCP, SSL or TLS)")),
        }
    }

    /// Its elbv2 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "HTTP",
            Protocol::Https => "HTTPS",
            Protocol::Tcp => "TCP",
            Protocol::Tls => "TLS",
        }
    }

    /// True for the protocols of an application load balancer.
    pub fn is_http(self) -> bool {
        matches!(self, Protocol::Http | Protocol::Https)
    }

    /// True when a listener of this protocol needs a certificate.
    pub fn is_secure(self) -> bool {
        matches!(self, Protocol::Https | Protocol::Tls)
    }

    /// The port a protocol listens on when none is given (HTTP 80, HTTPS 443).
    fn default_port(self) -> Option<u16> {
        match self {
            Protocol::Http => Some(80),
            Protocol::Https => Some(443),
            Protocol::Tcp | Protocol::Tls => None,
        }
    }

    /// The protocol of a port when none is given (80 HTTP, 443 HTTPS, else TCP).
    fn of_port(port: u16) -> Self {
        match port {
            80 => Protocol::Http,
            443 => Protocol::Https,
            _ => Protocol::Tcp,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A port and its protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Endpoint {
    /// The port.
    pub port: u16,
    /// Its protocol.
    pub protocol: Protocol,
}

/// One forwarding: the load balancer's `external` endpoint to the instances' `internal` one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Mapping {
    /// What the instances listen on.
    pub internal: Endpoint,
    /// What the load balancer listens on.
    pub external: Endpoint,
}

impl fmt::Display for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}→{} {}", self.internal.port, self.internal.protocol, self.external.port, self.external.protocol)
    }
}

/// Ports and protocols as written (comma-separated; either may be empty), zipped with the shorter
/// list padded: a missing port is its protocol's default (an error for TCP and TLS), a missing
/// protocol its port's. Both empty: nothing.
fn endpoints(ports: &str, protocols: &str) -> Result<Vec<Endpoint>, String> {
    let split =
        |s: &str| -> Vec<String> { s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect() };
    let ports: Vec<u16> = split(ports)
        .iter()
        .map(|p| p.parse::<u16>().ok().filter(|n| *n > 0).ok_or_else(|| format!("{p:?} is not a port (1-65535)")))
        .collect::<Result<_, _>>()?;
    let protocols: Vec<Protocol> = split(protocols).iter().map(|p| Protocol::parse(p)).collect::<Result<_, _>>()?;
    let count = ports.len().max(protocols.len());
    (0..count)
        .map(|i| match (ports.get(i), protocols.get(i)) {
            (Some(&port), Some(&protocol)) => Ok(Endpoint { port, protocol }),
            (Some(&port), None) => Ok(Endpoint { port, protocol: Protocol::of_port(port) }),
            (None, Some(&protocol)) => protocol
                .default_port()
                .map(|port| Endpoint { port, protocol })
                .ok_or_else(|| format!("{protocol} needs a port: it has no default")),
            (None, None) => unreachable!("index below the longer list"),
        })
        .collect()
}

/// The mappings of the four options (reference §4.13.1): with exactly one internal endpoint every
/// external one forwards to it; otherwise the two lists are zipped and a missing side copies the
/// other's endpoint. Nothing configured: `80 HTTP → 80 HTTP`.
pub fn mappings(
    instance_ports: &str,
    instance_protocols: &str,
    ports: &str,
    protocols: &str,
) -> Result<Vec<Mapping>, String> {
    let internal = endpoints(instance_ports, instance_protocols)?;
    let external = endpoints(ports, protocols)?;
    let http80 = Endpoint { port: 80, protocol: Protocol::Http };
    Ok(match (internal.as_slice(), external.as_slice()) {
        ([], []) => vec![Mapping { internal: http80, external: http80 }],
        ([only], _) if !external.is_empty() => {
            external.iter().map(|&e| Mapping { internal: *only, external: e }).collect()
        }
        _ => (0..internal.len().max(external.len()))
            .map(|i| {
                let inside = internal.get(i).or(external.get(i)).copied().unwrap_or(http80);
                let outside = external.get(i).or(internal.get(i)).copied().unwrap_or(http80);
                Mapping { internal: inside, external: outside }
            })
            .collect(),
    })
}
