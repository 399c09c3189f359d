//! A hostclass's options for a spinup, resolved once: each with its `@env` override and the
//! `default_` fallback of `[disco_aws]` (resolver A, reference §3.1), kept with the file and line
//! it came from where an error must name it.

use crate::config::{AwsConfig, GLOBAL_SECTION};
use crate::provision::parse_hostclass_tags;
use crate::truth::truthy;

/// One option's value and where it was set (`path:line: [section] option`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The value, trimmed.
    pub value: String,
    /// Where it was set, for errors.
    pub origin: String,
}

/// Every option of one hostclass that a spinup uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostclassSettings {
    /// The hostclass.
    pub hostclass: String,
    /// `meta_network`: the metanetwork it runs in.
    pub meta_network: Option<String>,
    /// `ip_address`: static private addresses (or offsets into the metanetwork's subnets).
    pub ip_address: Option<Setting>,
    /// `eip`: the elastic IP its on-box scripts associate (`None` spelled out means none).
    pub eip: Option<String>,
    /// `ssh_key_name` (`None` spelled out means none).
    pub ssh_key_name: Option<String>,
    /// `domain_name`.
    pub domain_name: Option<String>,
    /// `instance_profile_name`.
    pub instance_profile: Option<String>,
    /// `public_ip`.
    pub public_ip: bool,
    /// `enable_proxy`.
    pub enable_proxy: bool,
    /// `smoketest_termination`.
    pub smoketest_termination: bool,
    /// `tags` (`k:v,k2:v2`), parsed; an error says which item is wrong.
    pub tags: Result<Vec<(String, String)>, String>,
    /// `chaos` as written (empty counts as no), when set.
    pub chaos: Option<String>,
}

impl Default for HostclassSettings {
    /// A hostclass with no options set.
    fn default() -> Self {
        HostclassSettings {
            hostclass: String::new(),
            meta_network: None,
            ip_address: None,
            eip: None,
            ssh_key_name: None,
            domain_name: None,
            instance_profile: None,
            public_ip: false,
            enable_proxy: false,
            smoketest_termination: false,
            tags: Ok(Vec::new()),
            chaos: None,
        }
    }
}

impl HostclassSettings {
    /// The options of `hostclass` in environment `env`.
    pub fn resolve(aws: &AwsConfig, hostclass: &str, env: &str) -> Self {
        let option = |o: &str| {
            aws.hostclass_option(hostclass, o, Some(env)).map(|r| r.value.trim().to_string()).filter(|v| !v.is_empty())
        };
        let ip_address = aws
            .hostclass_option(hostclass, "ip_address", Some(env))
            .filter(|r| !r.value.trim().is_empty())
            .map(|r| Setting {
                value: r.value.clone(),
                origin: format!("{}:{}: [{hostclass}] {}", aws.ini.path.display(), r.line, r.option),
            });
        let tags = match option("tags") {
            Some(t) => parse_hostclass_tags(&t).map_err(|e| format!("[{hostclass}] {e}")),
            None => Ok(Vec::new()),
        };
        HostclassSettings {
            hostclass: hostclass.to_string(),
            meta_network: option("meta_network"),
            ip_address,
            eip: option("eip").filter(|e| e != "None"),
            ssh_key_name: option("ssh_key_name").filter(|k| k != "None"),
            domain_name: option("domain_name"),
            instance_profile: option("instance_profile_name"),
            public_ip: option("public_ip").is_some_and(|v| truthy(&v)),
            enable_proxy: option("enable_proxy").is_some_and(|v| truthy(&v)),
            smoketest_termination: option("smoketest_termination").is_some_and(|v| truthy(&v)),
            tags,
            chaos: aws.hostclass_option(hostclass, "chaos", Some(env)).map(|r| r.value.clone()),
        }
    }

    /// Whether the hostclass takes part in chaos: the row's `chaos` cell, else the option, else yes.
    pub fn chaos(&self, row: Option<bool>) -> bool {
        row.unwrap_or_else(|| self.chaos.as_deref().is_none_or(truthy))
    }
}

/// The hostclasses whose static addresses every host's user data carries (reference §3.13):
/// `http_proxy_hostclass`, `logger_hostclass` and `logforwarder_hostclass` of `[disco_aws]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceHostclasses {
    /// The HTTP proxy's hostclass.
    pub http_proxy: Option<String>,
    /// The logger's hostclass.
    pub logger: Option<String>,
    /// The log forwarder's hostclass.
    pub logforwarder: Option<String>,
}

impl ServiceHostclasses {
    /// From `[disco_aws]`.
    pub fn of(aws: &AwsConfig) -> Self {
        let get = |key: &str| aws.ini.get(GLOBAL_SECTION, key).map(|e| e.value.trim().to_string());
        ServiceHostclasses {
            http_proxy: get("http_proxy_hostclass"),
            logger: get("logger_hostclass"),
            logforwarder: get("logforwarder_hostclass"),
        }
    }

    /// Each that is set, with the option that names it.
    pub fn named(&self) -> Vec<(&'static str, &str)> {
        [
            ("http_proxy_hostclass", &self.http_proxy),
            ("logger_hostclass", &self.logger),
            ("logforwarder_hostclass", &self.logforwarder),
        ]
        .into_iter()
        .filter_map(|(key, h)| Some((key, h.as_deref()?)))
        .collect()
    }
}
