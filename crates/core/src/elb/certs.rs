//! Choosing the certificate of an HTTPS or TLS listener (reference §4.13.2): an ACM certificate
//! whose subject alternative names match the name sought (exactly, or by a one-level wildcard), the
//! longest name first, then the newest; else an IAM server certificate of exactly that name.

use serde::Serialize;

/// An issued ACM certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcmCertificate {
    /// Its ARN.
    pub arn: String,
    /// Its domain name and subject alternative names.
    pub names: Vec<String>,
    /// When it was issued, epoch seconds.
    pub issued_at: i64,
}

/// An IAM server certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerCertificate {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
}

/// True when certificate name `san` covers `dns_name`: equal (case aside), or `*.<d>` where
/// `dns_name` without its first label is `<d>`. A name whose first label is empty or `*` is never
/// covered.
pub fn covers(san: &str, dns_name: &str) -> bool {
    let (san, name) = (san.to_ascii_lowercase(), dns_name.trim_end_matches('.').to_ascii_lowercase());
    let Some((first, rest)) = name.split_once('.') else { return !name.is_empty() && san == name };
    if first.is_empty() || first == "*" {
        return false;
    }
    san == name || san.strip_prefix("*.").is_some_and(|d| d == rest)
}

/// The ACM certificate for `dns_name`: among those with a covering name, the longest such name,
/// then the most recently issued.
pub fn best_acm<'c>(certs: &'c [AcmCertificate], dns_name: &str) -> Option<&'c AcmCertificate> {
    certs
        .iter()
        .filter_map(|c| c.names.iter().filter(|n| covers(n, dns_name)).map(String::len).max().map(|len| (len, c)))
        .max_by_key(|(len, c)| (*len, c.issued_at))
        .map(|(_, c)| c)
}

/// The certificate ARN for `name` (the first set of `elb_cert_name`, the alias, the DNS name):
/// ACM's best match, else the IAM server certificate of exactly that name.
pub fn choose(acm: &[AcmCertificate], iam: &[ServerCertificate], name: &str) -> Option<String> {
    best_acm(acm, name).map(|c| c.arn.clone()).or_else(|| iam.iter().find(|c| c.name == name).map(|c| c.arn.clone()))
}
