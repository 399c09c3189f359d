//! Who is acting: the name Sila records as an image's `baker` and a spinup's `owner`.

/// The name of the user running Sila, as Asiaq's `getpass.getuser()` found it: `$USER`, else
/// `$LOGNAME` (an empty value counts as unset), else the password database's name for the process's
/// uid (cron, Jenkins agents and containers often set neither variable), else `uid-<N>`.
pub fn acting_user() -> String {
    acting_user_from(|key| std::env::var(key).ok(), from_passwd)
}

/// The password database's name for the process's (real) uid, or `uid-<N>` when it has none.
fn from_passwd() -> String {
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => format!("uid-{uid}"),
    }
}

/// [`acting_user`] with the environment and the password database given.
fn acting_user_from(env: impl Fn(&str) -> Option<String>, passwd: impl FnOnce() -> String) -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|key| env(key))
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
        .unwrap_or_else(passwd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_first_then_the_password_database() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string())
        };
        let db = || "from-passwd".to_string();
        assert_eq!(acting_user_from(env(&[("USER", "ann"), ("LOGNAME", "bob")]), db), "ann");
        assert_eq!(acting_user_from(env(&[("LOGNAME", "bob")]), db), "bob");
        assert_eq!(acting_user_from(env(&[("USER", ""), ("LOGNAME", "bob")]), db), "bob");
        assert_eq!(acting_user_from(env(&[]), db), "from-passwd");
        assert_eq!(acting_user_from(env(&[("USER", " ")]), db), "from-passwd");
    }

    #[test]
    fn the_password_database_knows_this_process() {
        let id = std::process::Command::new("id").arg("-un").output().unwrap();
        assert_eq!(from_passwd(), String::from_utf8_lossy(&id.stdout).trim());
    }
}
