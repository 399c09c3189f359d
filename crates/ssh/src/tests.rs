//! Tests of `lib.rs`.

use super::*;
use russh::keys::PublicKey;

#[test]
fn a_host_key_is_trusted_on_first_contact_and_a_different_one_refused() {
    let key = |text: &str| PublicKey::from_openssh(text).unwrap();
    let first = key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOWJvVvvw5EZ6GxuCThPMkyvDNf1PnssllHD51rsso6j a");
    let other = key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINJLuGJ63IgPm7a1RiC5Nv+F8SLWr4cL6+i2/jK2ojzQ b");
    let (a, b): (SocketAddr, SocketAddr) = ("127.0.1.4:22".parse().unwrap(), "127.0.1.5:22".parse().unwrap());
    let keys = HostKeys::default();
    assert_eq!(keys.fingerprint(a), None);
    assert!(keys.check(a, &first).is_ok(), "first contact");
    assert!(keys.check(a, &first).is_ok(), "the same key again");
    let (expected, got) = keys.check(a, &other).unwrap_err();
    assert_eq!(Some(expected.clone()), keys.fingerprint(a));
    assert_ne!(expected, got);
    assert!(keys.check(b, &other).is_ok(), "another host has its own key");
}

#[test]
fn lines_are_split_across_chunks_and_the_tail_is_bounded() {
    let mut seen = Vec::new();
    let mut on_line = |l: &str| seen.push(l.to_string());
    let mut lines = Lines::default();
    lines.push(b"one\ntw", true, &mut on_line);
    lines.push(b"o\r\n", true, &mut on_line);
    lines.push(b"err\n", false, &mut on_line);
    lines.push(b"no newline", true, &mut on_line);
    lines.finish(&mut on_line);
    lines.push(b"\x1b]0;title\x07\tred: \x1b[31mx\rover\n", false, &mut on_line);
    lines.finish(&mut on_line);
    assert_eq!(seen, ["one", "two", "err", "no newline", "\\x1b]0;title\\x07\tred: \\x1b[31mx\\x0dover"]);
    assert_eq!(lines.stdout, "one\ntwo\r\nno newline");
    for i in 0..50 {
        lines.push(format!("{i}\n").as_bytes(), false, &mut |_| {});
    }
    assert_eq!(lines.tail.len(), TAIL_LINES);
    assert_eq!(lines.tail.back().map(String::as_str), Some("49"));
}
