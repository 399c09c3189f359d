//! What a bake refuses to do to a builder or put into an image: replace a system directory with the
//! config tree (`[bake] data_destination` is removed with `rm -rf` first), or bake in files that look
//! like secrets (the image may be shared with production accounts).

/// Trees a destination may be neither in nor equal to: the system's own files, and where logins and
/// keys live.
const SYSTEM_TREES: &[&str] = &[
    "/bin",
    "/boot",
    "/dev",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/run",
    "/sbin",
    "/sys",
    "/usr",
    "/etc/init.d",
    "/etc/pam.d",
    "/etc/pki",
    "/etc/security",
    "/etc/ssh",
    "/etc/ssl",
    "/etc/sudoers.d",
    "/etc/systemd",
    "/root/.ssh",
    "/var/cache",
    "/var/lib",
    "/var/log",
    "/var/mail",
    "/var/run",
    "/var/spool",
    "/var/tmp",
];

/// Checks `[bake] data_destination` and returns it written plainly (`//` and a trailing `/` folded).
/// The bake replaces that directory, so it must be absolute, without `.` or `..` components, at
/// least two levels deep (never `/`, `/etc`, `/opt`, ...), not a home directory, and outside the
/// system trees (`/usr`, `/boot`, `/var/lib`, `/etc/ssh`, any `.ssh`, ...). Its characters need no
/// care: every command quotes it as one shell word.
pub fn data_destination(value: &str) -> Result<String, String> {
    if !value.starts_with('/') {
        return Err(format!("{value}: must be an absolute path"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{value:?}: holds a control character"));
    }
    let mut parts = Vec::new();
    for part in value.split('/').filter(|p| !p.is_empty()) {
        if part == "." || part == ".." {
            return Err(format!("{value}: no `.` or `..` components (name the directory itself)"));
        }
        parts.push(part);
    }
    let path = format!("/{}", parts.join("/"));
    let replaced = "the bake replaces it (rm -rf); use a directory of its own such as /opt/<name>/config";
    if parts.len() < 2 {
        return Err(format!("{value}: a top-level directory; {replaced}"));
    }
    if let Some(tree) = SYSTEM_TREES.iter().find(|t| path == **t || path.starts_with(&format!("{t}/"))) {
        return Err(format!("{value}: inside the system directory {tree}; {replaced}"));
    }
    if parts[0] == "home" && parts.len() == 2 {
        return Err(format!("{value}: a home directory; {replaced}"));
    }
    if parts.contains(&".ssh") {
        return Err(format!("{value}: inside an .ssh directory; {replaced}"));
    }
    Ok(path)
}

/// File names (lower case) of private keys and credentials.
const SECRET_NAMES: &[(&str, &str)] = &[
    ("id_rsa", "an SSH private key"),
    ("id_dsa", "an SSH private key"),
    ("id_ecdsa", "an SSH private key"),
    ("id_ecdsa_sk", "an SSH private key"),
    ("id_ed25519", "an SSH private key"),
    ("id_ed25519_sk", "an SSH private key"),
    ("credentials", "a credentials file"),
    ("credentials.json", "a credentials file"),
    (".git-credentials", "a credentials file"),
    (".netrc", "a credentials file"),
    (".pgpass", "a credentials file"),
    (".s3cfg", "a credentials file"),
    (".boto", "a credentials file"),
    (".htpasswd", "a password file"),
    (".env", "an environment file with secrets"),
];

/// File name endings (lower case) of keys, key stores and credentials.
const SECRET_SUFFIXES: &[(&str, &str)] = &[
    (".pem", "a PEM file (keys or certificates)"),
    (".key", "a private key"),
    (".ppk", "a PuTTY private key"),
    (".p12", "a PKCS#12 key store"),
    (".pfx", "a PKCS#12 key store"),
    (".p8", "a PKCS#8 private key"),
    (".jks", "a Java key store"),
    (".keystore", "a key store"),
    (".kdbx", "a password database"),
    (".credentials", "a credentials file"),
];

/// Why the file named `name` with content `content` looks like a secret, if it does: its name (SSH
/// private keys, `*.pem`, `*.key`, key stores, credentials files) or its content (a PEM or OpenSSH
/// private key, an AWS secret access key).
pub fn secret_kind(name: &str, content: &[u8]) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if let Some((_, why)) = SECRET_NAMES.iter().find(|(n, _)| lower == *n) {
        return Some(why);
    }
    if let Some((_, why)) = SECRET_SUFFIXES.iter().find(|(s, _)| lower.len() > s.len() && lower.ends_with(s)) {
        return Some(why);
    }
    if contains(content, b"-----BEGIN ") && contains(content, b"PRIVATE KEY") {
        return Some("a private key");
    }
    if contains(&content.to_ascii_lowercase(), b"aws_secret_access_key") {
        return Some("AWS credentials");
    }
    None
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_folded_and_system_ones_refused() {
        assert_eq!(data_destination("/opt/sila/config").unwrap(), "/opt/sila/config");
        assert_eq!(data_destination("//opt//acme/config/").unwrap(), "/opt/acme/config");
        assert_eq!(data_destination("/opt/x;touch pwned;:").unwrap(), "/opt/x;touch pwned;:");
        assert_eq!(data_destination("/etc/acme").unwrap(), "/etc/acme");
        assert_eq!(data_destination("/home/admin/sila").unwrap(), "/home/admin/sila");
        for bad in [
            "",
            "/",
            "//",
            "/etc",
            "/etc/",
            "/opt",
            "/usr",
            "/usr/local/bin",
            "/usr/share/acme",
            "/var/lib",
            "/var/lib/acme",
            "/var",
            "/root",
            "/root/.ssh",
            "/home/admin",
            "/home/admin/.ssh/x",
            "/etc/ssh",
            "/boot/sila",
            "/proc/1",
            "/opt/../etc",
            "/opt/acme/..",
            "/./root",
            "/opt/./acme",
            "opt/acme",
            "/opt/acme\n/x",
        ] {
            assert!(data_destination(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn secrets_by_name_and_by_content() {
        assert_eq!(secret_kind("id_rsa", b""), Some("an SSH private key"));
        assert_eq!(secret_kind("ID_ED25519", b""), Some("an SSH private key"));
        assert_eq!(secret_kind("id_rsa.pub", b"ssh-rsa AAAA"), None);
        assert!(secret_kind("site.pem", b"-----BEGIN CERTIFICATE-----").is_some());
        assert!(secret_kind("server.KEY", b"").is_some());
        assert!(secret_kind("credentials", b"").is_some());
        assert!(secret_kind("prod.credentials", b"").is_some());
        assert!(secret_kind(".netrc", b"").is_some());
        assert!(secret_kind("deploy", b"x\n-----BEGIN OPENSSH PRIVATE KEY-----\nabc").is_some());
        assert!(secret_kind("backup", b"-----BEGIN ENCRYPTED PRIVATE KEY-----").is_some());
        assert!(secret_kind("config", b"[default]\nAWS_SECRET_ACCESS_KEY = x").is_some());
        assert_eq!(secret_kind("aws.ini", b"[bake]\nbake_key=ci\n"), None);
        assert_eq!(secret_kind("keys.txt", b"public keys only"), None);
        assert_eq!(secret_kind(".key", b""), None, "a name that is only the ending");
    }
}
