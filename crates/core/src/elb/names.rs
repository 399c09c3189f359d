//! Names of a hostclass's load balancer, target groups and DNS records (reference §1.7, §5.9).
//! Load balancer and target group names are at most 32 characters of `[A-Za-z0-9-]` in elbv2.

use sha2::{Digest as _, Sha256};

/// The most characters elbv2 allows in a load balancer or target group name.
pub const MAX_NAME: usize = 32;

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// `<env>-<hostclass>` (+ `-test` for the testing load balancer), every character other than
/// `[A-Za-z0-9-]` removed (Asiaq's human name).
pub fn human_name(env: &str, hostclass: &str, testing: bool) -> String {
    let name = format!("{env}-{hostclass}{}", if testing { "-test" } else { "" });
    name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect()
}

/// Asiaq's load balancer id: the first 32 hex characters of the SHA-256 of the human name (what
/// its classic load balancers are named; read when adopting them).
pub fn asiaq_id(human: &str) -> String {
    sha256_hex(human)[..32].to_string()
}

/// The load balancer's name: the human name, which says whose it is and cannot collide across
/// environments or with the `-test` one; too long for elbv2 is an error (Sila does not hide the
/// name behind a hash as Asiaq did).
pub fn load_balancer_name(env: &str, hostclass: &str, testing: bool) -> Result<String, String> {
    let name = human_name(env, hostclass, testing);
    if name.len() > MAX_NAME {
        return Err(format!(
            "the load balancer name {name} is {} characters; elbv2 allows {MAX_NAME} (shorten the environment or hostclass name)",
            name.len()
        ));
    }
    if name.starts_with("internal-") || name.starts_with('-') || name.ends_with('-') {
        return Err(format!(
            "{name} cannot name a load balancer (it may not start with internal- or a hyphen, nor end with one)"
        ));
    }
    Ok(name)
}

/// The target group of instance port `port`: `<env>-<hostclass>[-test]-<port>` with `_` as `-`;
/// longer than 32 characters, its first 27 and the first 5 hex characters of the SHA-256 of the
/// whole (reference §1.7's rule for target groups), so distinct names stay distinct.
pub fn target_group_name(env: &str, hostclass: &str, testing: bool, port: u16) -> String {
    let full = format!("{env}-{hostclass}{}-{port}", if testing { "-test" } else { "" }).replace('_', "-");
    let full: String = full.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    if full.len() <= MAX_NAME {
        return full;
    }
    format!("{}{}", &full[..27], &sha256_hex(&full)[..5])
}

/// The DNS name of the load balancer in zone `domain`: `<hostclass>-<env>.<domain>`, or
/// `<hostclass>-test-<env>.<domain>` for the testing one (reference §1.7, vector 81).
pub fn dns_name(env: &str, hostclass: &str, testing: bool, domain: &str) -> String {
    let domain = domain.trim_end_matches('.');
    match testing {
        true => format!("{hostclass}-test-{env}.{domain}"),
        false => format!("{hostclass}-{env}.{domain}"),
    }
}
