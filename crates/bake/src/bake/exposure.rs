//! What a builder exposes, decided before anything is made: how it is reached and from where SSH is
//! admitted, where the config tree goes, and which secret-looking files may travel (issue 11, item 8).

use anyhow::{anyhow, bail};
use sila_cloud::bake::Bakery;
use sila_cloud::Clients;
use sila_core::bake::{self as plan, Excludes};
use sila_core::config::AwsConfig;

/// A `[bake]` setting (resolver D, §1.3) and where it is written, for errors:
/// `path:line: [bake] key=value`.
fn setting(aws: &AwsConfig, key: &str) -> Option<(String, String)> {
    let r = aws.bake_option("bake", key).filter(|r| !r.value.trim().is_empty())?;
    let at = format!("{}:{}: [{}] {}={}", aws.ini.path.display(), r.line, r.section, r.option, r.value.trim());
    Some((r.value.trim().to_string(), at))
}

/// `[bake] data_destination` (default `/opt/sila/config`), checked ([`plan::data_destination`]).
pub(crate) fn destination(aws: &AwsConfig) -> anyhow::Result<String> {
    match setting(aws, "data_destination") {
        Some((value, at)) => plan::data_destination(&value).map_err(|e| anyhow!("{at}: {e}")),
        None => Ok("/opt/sila/config".to_string()),
    }
}

/// `[bake] allow_upload_patterns`: whitespace-separated patterns, as in `.nosync` and relative to
/// `config_data_source`, of secret-looking files that may be uploaded all the same.
pub(crate) fn allowed_uploads(aws: &AwsConfig) -> Excludes {
    let patterns = setting(aws, "allow_upload_patterns").map(|(v, _)| v).unwrap_or_default();
    Excludes::parse(&patterns.split_whitespace().collect::<Vec<_>>().join("\n"))
}

/// `[bake] ssh_cidrs`, each a CIDR (written as its network).
fn configured_cidrs(aws: &AwsConfig) -> anyhow::Result<Option<Vec<String>>> {
    let Some((value, at)) = setting(aws, "ssh_cidrs") else { return Ok(None) };
    let cidrs = value
        .split_whitespace()
        .map(|c| {
            let net = sila_core::net::parse_cidr(c).map_err(|e| anyhow!("{at}: {e}"))?;
            Ok(format!("{}/{}", net.network(), net.prefix()))
        })
        .collect::<anyhow::Result<Vec<String>>>()?;
    Ok(Some(cidrs))
}

/// How the builder is reached, and from where its temporary group admits SSH.
pub(crate) struct Reach {
    /// On its private address, with no public one.
    pub private: bool,
    /// Where SSH is admitted from.
    pub ssh_cidrs: Vec<String>,
}

/// Decides how the builder in `subnet` of `bakery` is reached. Privately with `--use-local-ip`, or
/// when the subnet has no route to an internet gateway (a public address would be useless there):
/// then the builder gets no public address. SSH is admitted from `[bake] ssh_cidrs`; without it,
/// from the bakery's network when reached privately (the operator's address as the builder sees
/// it is not knowable in general: a peered network or a VPN may stand between), and over a public
/// address not at all: Sila cannot learn the address it connects from without asking outside AWS,
/// and Asiaq's default of the whole internet is refused.
pub(crate) async fn reach(
    clients: &Clients,
    aws: &AwsConfig,
    bakery_name: &str,
    bakery: &Bakery,
    subnet: &str,
    use_local_ip: bool,
) -> anyhow::Result<Reach> {
    let configured = configured_cidrs(aws)?;
    let private = use_local_ip || !clients.subnet_reaches_internet(&bakery.vpc_id, subnet).await?;
    let ssh_cidrs = match configured {
        Some(cidrs) => cidrs,
        None if private => vec![bakery.cidr.clone()],
        None => bail!(
            "{}: [bake] ssh_cidrs is not set, and the builder in {bakery_name} would be reached on a public address: set it to the address(es) Sila connects from (e.g. 203.0.113.7/32), or reach the builder privately with --use-local-ip",
            aws.ini.path.display()
        ),
    };
    Ok(Reach { private, ssh_cidrs })
}
