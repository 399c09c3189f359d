//! Tests of `discoroot.rs`.

use super::*;

fn pairs(names: &[&str], priority: &[&str]) -> Vec<(String, String)> {
    select_variants(names, priority)
}

fn pair(source: &str, installed: &str) -> (String, String) {
    (source.to_string(), installed.to_string())
}

#[test]
fn metadata_script_applies_each_chosen_line_and_refuses_odd_names() {
    let entry = |line, path: &str, owner: &str| MetadataEntry {
        line,
        path: path.into(),
        hostclass: None,
        mode: 0o640,
        owner: owner.into(),
        group: "web".into(),
    };
    let entries = [entry(2, "/etc/it's.conf", "www-data"), entry(5, "/opt/app", "app")];
    let chosen = effective_metadata(&entries, &["mhcweb"]);
    let script = metadata_script(&chosen).unwrap();
    assert!(script.starts_with("set -e\nensure_group() {"), "{script}");
    assert!(script.contains("apply '/etc/it'\\''s.conf' 0640 www-data web 2\n"), "{script}");
    assert!(script.ends_with("apply '/opt/app' 0640 app web 5\n"), "{script}");
    let bad = [entry(7, "/etc/x", "root;reboot")];
    let err = metadata_script(&effective_metadata(&bad, &[])).unwrap_err();
    assert_eq!(err, "acfg.metadata:7: \"root;reboot\" is not a user or group name");
    let bad = [entry(8, "/etc/app/link/../../shadow", "root")];
    let err = metadata_script(&effective_metadata(&bad, &[])).unwrap_err();
    assert_eq!(err, "acfg.metadata:8: /etc/app/link/../../shadow: no `.` or `..` components");
    assert!(script
        .contains(r#"if [ -L "$1" ]; then ensure_group "$4" && ensure_user "$3" "$4" && chown -h "$3:$4" "$1"; elif"#));
}

#[test]
fn vector_127_variants() {
    let names = ["ntp.conf", "ntp.conf~mhcntp"];
    assert_eq!(pairs(&names, &["mhcntp"]), [pair("ntp.conf~mhcntp", "ntp.conf")]);
    assert_eq!(pairs(&names, &["mhcfoo"]), [pair("ntp.conf", "ntp.conf")]);
    let names = ["x", "x~mhcgeneric", "x~centos6_phase1"];
    assert_eq!(pairs(&names, &["centos6_phase1", "mhcgeneric"]), [pair("x~centos6_phase1", "x")]);
    assert_eq!(pairs(&names, &["mhcgeneric", "centos6_phase1"]), [pair("x~mhcgeneric", "x")]);
    assert_eq!(pairs(&names, &["mhcgeneric"]), [pair("x~mhcgeneric", "x")]);
    assert_eq!(pairs(&names, &[]), [pair("x", "x")]);
}

#[test]
fn variants_without_a_plain_file_and_placeholders() {
    let names = ["ssl.conf~mhcadminproxy", "ssl.conf~mhcdiscojenkins", "empty~mhcdoesnotexist", "plain"];
    assert_eq!(
        pairs(&names, &["mhcdiscojenkins"]),
        [pair("plain", "plain"), pair("ssl.conf~mhcdiscojenkins", "ssl.conf")]
    );
    assert_eq!(pairs(&names, &["mhcadminproxy"]), [pair("plain", "plain"), pair("ssl.conf~mhcadminproxy", "ssl.conf")]);
    assert_eq!(pairs(&names, &["mhcntp"]), [pair("plain", "plain")]);
    // The order of the names does not matter.
    let mut reversed = names;
    reversed.reverse();
    assert_eq!(pairs(&reversed, &["mhcdiscojenkins"]), pairs(&names, &["mhcdiscojenkins"]));
}

#[test]
fn odd_names_are_literal() {
    let names = ["notes~", "~weird", "a~b~c"];
    assert_eq!(pairs(&names, &["b~c"]), [pair("a~b~c", "a"), pair("notes~", "notes~"), pair("~weird", "~weird")]);
    assert_eq!(pairs(&names, &["b"]), [pair("notes~", "notes~"), pair("~weird", "~weird")]);
}

/// Builds a small tree with the sample discoroot's quirks.
fn sample_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for d in ["etc/httpd/conf.d", "etc/httpd/conf", "home/apache", "opt/wgen/log", "odd~dir"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    for f in [
        "acfg.metadata",
        "etc/ntp.conf",
        "etc/ntp.conf~mhcntp",
        "etc/httpd/conf.d/ssl.conf~mhcadminproxy",
        "etc/httpd/conf.d/ssl.conf~mhcdiscojenkins",
        "etc/httpd/conf.d/server_status.conf",
        "etc/httpd/conf/httpd.conf",
        "etc/httpd/conf/httpd.conf~for_centos7",
        "etc/httpd/conf/httpd.conf~mhcadminproxy",
        "home/apache/empty~mhcdoesnotexist",
        "opt/wgen/log/empty~mhcdoesnotexist",
        "odd~dir/file",
    ] {
        fs::write(root.join(f), f).unwrap();
    }
    dir
}

fn installed(plan: &[OverlayEntry]) -> Vec<(String, String, EntryKind)> {
    plan.iter().map(|e| (e.source.display().to_string(), e.dest.display().to_string(), e.kind)).collect()
}

fn entry(source: &str, dest: &str, kind: EntryKind) -> (String, String, EntryKind) {
    (source.to_string(), dest.to_string(), kind)
}

#[test]
fn plan_for_mhcntp() {
    use EntryKind::{Dir, File};
    let tree = sample_tree();
    let plan = plan_overlay(tree.path(), &["mhcntp"]).unwrap();
    assert_eq!(
        installed(&plan),
        [
            entry("etc", "etc", Dir),
            entry("etc/httpd", "etc/httpd", Dir),
            entry("etc/httpd/conf", "etc/httpd/conf", Dir),
            entry("etc/httpd/conf/httpd.conf", "etc/httpd/conf/httpd.conf", File),
            entry("etc/httpd/conf.d", "etc/httpd/conf.d", Dir),
            entry("etc/httpd/conf.d/server_status.conf", "etc/httpd/conf.d/server_status.conf", File),
            entry("etc/ntp.conf~mhcntp", "etc/ntp.conf", File),
            entry("home", "home", Dir),
            entry("home/apache", "home/apache", Dir),
            entry("odd~dir", "odd~dir", Dir),
            entry("odd~dir/file", "odd~dir/file", File),
            entry("opt", "opt", Dir),
            entry("opt/wgen", "opt/wgen", Dir),
            entry("opt/wgen/log", "opt/wgen/log", Dir),
        ]
    );
}

#[test]
fn plan_for_other_hostclasses() {
    let tree = sample_tree();
    let find = |plan: &[OverlayEntry], dest: &str| {
        plan.iter().find(|e| e.dest == Path::new(dest)).map(|e| e.source.display().to_string())
    };
    let plan = plan_overlay(tree.path(), &["mhcfoo"]).unwrap();
    assert_eq!(find(&plan, "etc/ntp.conf").as_deref(), Some("etc/ntp.conf"));
    assert_eq!(find(&plan, "etc/httpd/conf.d/ssl.conf"), None);

    let plan = plan_overlay(tree.path(), &["mhcadminproxy"]).unwrap();
    assert_eq!(find(&plan, "etc/httpd/conf.d/ssl.conf").as_deref(), Some("etc/httpd/conf.d/ssl.conf~mhcadminproxy"));
    assert_eq!(find(&plan, "etc/httpd/conf/httpd.conf").as_deref(), Some("etc/httpd/conf/httpd.conf~mhcadminproxy"));

    let plan = plan_overlay(tree.path(), &["mhcdiscojenkins", "for_centos7"]).unwrap();
    assert_eq!(find(&plan, "etc/httpd/conf.d/ssl.conf").as_deref(), Some("etc/httpd/conf.d/ssl.conf~mhcdiscojenkins"));
    assert_eq!(find(&plan, "etc/httpd/conf/httpd.conf").as_deref(), Some("etc/httpd/conf/httpd.conf~for_centos7"));

    let plan = plan_overlay(tree.path(), &["mhcadminproxy", "for_centos7"]).unwrap();
    assert_eq!(find(&plan, "etc/httpd/conf/httpd.conf").as_deref(), Some("etc/httpd/conf/httpd.conf~mhcadminproxy"));

    for plan in [plan_overlay(tree.path(), &["mhcdoesnotexist"]).unwrap(), plan] {
        assert!(plan.iter().all(|e| e.dest != Path::new("acfg.metadata")));
    }
    let plan = plan_overlay(tree.path(), &["mhcdoesnotexist"]).unwrap();
    assert_eq!(find(&plan, "home/apache/empty").as_deref(), Some("home/apache/empty~mhcdoesnotexist"));
}

#[test]
fn plan_is_deterministic() {
    let tree = sample_tree();
    let a = plan_overlay(tree.path(), &["mhcadminproxy"]).unwrap();
    let b = plan_overlay(tree.path(), &["mhcadminproxy"]).unwrap();
    assert_eq!(a, b);
}

#[cfg(unix)]
#[test]
fn symlinks_are_entries_not_followed() {
    let tree = sample_tree();
    std::os::unix::fs::symlink("/etc", tree.path().join("etc/link~mhcntp")).unwrap();
    std::os::unix::fs::symlink("../etc", tree.path().join("dirlink")).unwrap();
    let plan = plan_overlay(tree.path(), &["mhcntp"]).unwrap();
    let links: Vec<_> = installed(&plan).into_iter().filter(|(_, _, k)| *k == EntryKind::Symlink).collect();
    assert_eq!(
        links,
        [entry("dirlink", "dirlink", EntryKind::Symlink), entry("etc/link~mhcntp", "etc/link", EntryKind::Symlink)]
    );
}

#[test]
fn file_colliding_with_a_directory_is_an_error() {
    let tree = sample_tree();
    fs::write(tree.path().join("etc/httpd~mhcntp"), "x").unwrap();
    let err = plan_overlay(tree.path(), &["mhcntp"]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(plan_overlay(tree.path(), &["mhcfoo"]).is_ok());
}

#[test]
fn missing_root_is_an_io_error() {
    let tree = sample_tree();
    assert!(plan_overlay(&tree.path().join("absent"), &["mhcntp"]).is_err());
}

fn meta(text: &str) -> Vec<MetadataEntry> {
    parse_acfg_metadata(Path::new("discoroot/acfg.metadata"), text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn metadata_lines() {
    let entries = meta(
        "# comment\n\n/etc/rsyslog.d 755 root root\n  /etc/sudoers 0440 root root   # inline comment\n\
         /etc/pki/tls/private/server.key~mhcdiscojenkins 0400 root root\n/opt/x/ 4755 a b\n",
    );
    assert_eq!(
        entries[0],
        MetadataEntry {
            line: 3,
            path: "/etc/rsyslog.d".into(),
            hostclass: None,
            mode: 0o755,
            owner: "root".into(),
            group: "root".into(),
        }
    );
    assert_eq!((entries[1].line, entries[1].mode), (4, 0o440));
    assert_eq!(entries[2].path, "/etc/pki/tls/private/server.key");
    assert_eq!(entries[2].hostclass.as_deref(), Some("mhcdiscojenkins"));
    assert_eq!(entries[2].mode, 0o400);
    assert_eq!((entries[3].path.as_str(), entries[3].mode), ("/opt/x", 0o4755));
    assert_eq!(meta("/ 0755 root root\n")[0].path, "/");
    assert_eq!(meta("/odd~dir/file 0644 root root\n")[0].path, "/odd~dir/file");
    assert_eq!(meta("/odd~dir/file 0644 root root\n")[0].hostclass, None);
    assert_eq!(meta("/backup~ 0644 root root\n")[0].path, "/backup~");
    assert_eq!(meta("/a 00755 r r\n")[0].mode, 0o755);
    assert_eq!(meta("/a 7777 r r\n")[0].mode, 0o7777);
    assert!(meta("# only comments\n\n   \n").is_empty());
}

#[test]
fn metadata_errors_are_all_reported() {
    let text = "/ok 0644 root root\n/too few 0644\nrelative 0644 root root\n/bad 0855 root root\n\
                /big 17777 root root\n/five 0644 root root extra\n/x 0644 root root # fine\n/neg -644 r r\n";
    let Err(Diagnostics(errs)) = parse_acfg_metadata(Path::new("m"), text) else { panic!("accepted") };
    let lines: Vec<Option<usize>> = errs.iter().map(|d| d.line).collect();
    assert_eq!(lines, [Some(2), Some(3), Some(4), Some(5), Some(6), Some(8)]);
    assert!(errs[0].message.contains("found 3"));
    assert!(errs[1].message.contains("absolute"));
    assert!(errs[2].message.contains("0855"));
    assert!(errs.iter().all(Diagnostic::is_error));
}

#[test]
fn applies_to_and_effective_metadata() {
    let entries = meta(
        "/etc/ssh/sshd_config 0600 root root\n\
         /etc/ssh/sshd_config~mhcgeneric 0644 root root\n\
         /etc/ssh/sshd_config~centos6_phase1 0640 root root\n\
         /etc/ssh/sshd_config 0777 nobody nobody\n\
         /etc/x~mhcgeneric 0600 a a\n\
         /etc/x 0644 b b\n\
         /etc/y~mhcother 0600 a a\n",
    );
    assert!(entries[0].applies_to(&[]));
    assert!(entries[1].applies_to(&["centos6_phase1", "mhcgeneric"]));
    assert!(!entries[1].applies_to(&["mhcntp"]));

    let pick = |priority: &[&str]| -> Vec<(String, u32)> {
        effective_metadata(&entries, priority).into_iter().map(|(p, e)| (p.to_string(), e.mode)).collect()
    };
    assert_eq!(pick(&["mhcntp"]), [("/etc/ssh/sshd_config".into(), 0o600), ("/etc/x".into(), 0o644)]);
    assert_eq!(pick(&["mhcgeneric"]), [("/etc/ssh/sshd_config".into(), 0o644), ("/etc/x".into(), 0o600)]);
    assert_eq!(
        pick(&["centos6_phase1", "mhcgeneric"]),
        [("/etc/ssh/sshd_config".into(), 0o640), ("/etc/x".into(), 0o600)]
    );
    assert_eq!(
        pick(&["mhcgeneric", "centos6_phase1"]),
        [("/etc/ssh/sshd_config".into(), 0o644), ("/etc/x".into(), 0o600)]
    );
    assert_eq!(pick(&["mhcother"]).last().cloned(), Some(("/etc/y".into(), 0o600)));
}

#[test]
fn load_metadata_from_a_tree() {
    let tree = sample_tree();
    fs::write(tree.path().join(METADATA_FILE_NAME), "/etc/ntp.conf 0644 root root\n").unwrap();
    assert_eq!(load_acfg_metadata(tree.path()).unwrap().len(), 1);
    let empty = tempfile::tempdir().unwrap();
    assert!(load_acfg_metadata(empty.path()).unwrap().is_empty());
}

fn sample_discoroot() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/asiaq-sample-config/discoroot");
    if root.join(METADATA_FILE_NAME).is_file() {
        return Some(root);
    }
    eprintln!("skipping: sample discoroot not found at {}", root.display());
    None
}

#[test]
fn sample_acfg_metadata_parses() {
    let Some(root) = sample_discoroot() else { return };
    let path = root.join(METADATA_FILE_NAME);
    let text = fs::read_to_string(&path).unwrap();
    let entries = parse_acfg_metadata(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    assert!(entries.len() >= 28, "{} entries", entries.len());
    let rsyslog = entries.iter().find(|e| e.path == "/etc/rsyslog.d").unwrap();
    assert_eq!((rsyslog.mode, rsyslog.owner.as_str()), (0o755, "root"));
    let snapshot = entries.iter().find(|e| e.path == "/opt/wgen/bin/take_snapshot.sh").unwrap();
    assert_eq!((snapshot.mode, snapshot.owner.as_str(), snapshot.group.as_str()), (0o555, "snapshot", "snapshot"));
    let key = entries.iter().find(|e| e.path == "/etc/pki/tls/private/server.key").unwrap();
    assert_eq!((key.hostclass.as_deref(), key.mode), (Some("mhcdiscojenkins"), 0o400));
    let generic = effective_metadata(&entries, &["mhcgeneric"]);
    assert!(!generic.contains_key("/etc/pki/tls/private/server.key"));
    assert!(effective_metadata(&entries, &["mhcdiscojenkins"]).contains_key("/etc/pki/tls/private/server.key"));
}

#[test]
fn sample_discoroot_plans() {
    let Some(root) = sample_discoroot() else { return };
    let jenkins = plan_overlay(&root, &["mhcdiscojenkins"]).unwrap();
    let source_of = |plan: &[OverlayEntry], dest: &str| {
        plan.iter().find(|e| e.dest == Path::new(dest)).map(|e| e.source.display().to_string())
    };
    assert_eq!(
        source_of(&jenkins, "etc/httpd/conf.d/ssl.conf").as_deref(),
        Some("etc/httpd/conf.d/ssl.conf~mhcdiscojenkins")
    );
    assert_eq!(source_of(&jenkins, "etc/disco-boot.conf").as_deref(), Some("etc/disco-boot.conf~mhcdiscojenkins"));
    let ntp = plan_overlay(&root, &["mhcntp"]).unwrap();
    assert_eq!(source_of(&ntp, "etc/ntp.conf").as_deref(), Some("etc/ntp.conf~mhcntp"));
    assert_eq!(source_of(&ntp, "etc/disco-boot.conf").as_deref(), Some("etc/disco-boot.conf"));
    // Placeholder directories are created, their placeholder files are not installed.
    assert!(ntp.iter().any(|e| e.dest == Path::new("opt/wgen/gitrepos") && e.kind == EntryKind::Dir));
    assert!(ntp.iter().all(|e| !e.dest.ends_with("empty") && e.dest != Path::new("acfg.metadata")));
    assert!(ntp
        .iter()
        .all(|e| !e.source.to_string_lossy().contains('~') || e.source.to_string_lossy().ends_with("~mhcntp")));
    let phase1 = plan_overlay(&root, &["centos6_phase1", "mhcgeneric"]).unwrap();
    assert_eq!(source_of(&phase1, "etc/ssh/sshd_config").as_deref(), Some("etc/ssh/sshd_config~mhcgeneric"));
}
