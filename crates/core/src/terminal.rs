//! Text from remote machines made safe for the operator's terminal (and for JSON that a script may
//! print raw): a builder's init script, an `exec` command or an SSM document can print escape
//! sequences that retitle the window, rewrite earlier lines, or worse on some terminals.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every control character but newline and tab spelled out: C0 and DEL as `\xHH`
/// (ESC is `\x1b`), C1 (which some terminals obey as ESC sequences: U+009B is CSI) as `\u{9b}`.
/// Everything else, backslashes included, is left as it is.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !needs_escape(c) => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_but_newline_and_tab_are_spelled_out() {
        assert!(matches!(printable("plain text\twith a tab\nand lines"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(printable("a\x1b[31mred\x1b[0m"), "a\\x1b[31mred\\x1b[0m");
        assert_eq!(printable("\x1b]0;owned\x07title"), "\\x1b]0;owned\\x07title");
        assert_eq!(printable("carriage\rreturn, nul\0, del\x7f"), "carriage\\x0dreturn, nul\\x00, del\\x7f");
        assert_eq!(printable("c1 csi \u{9b}2J and nel \u{85}"), "c1 csi \\u{9b}2J and nel \\u{85}");
        assert_eq!(printable("été ✓ \\x1b stays"), "été ✓ \\x1b stays");
    }
}
