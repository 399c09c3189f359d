//! Asiaq's notion of a "true" config value (reference §1.4).

/// True iff `value` is one of `true, yes, t, y, aye, 1` (any case, surrounding blanks ignored).
/// Everything else, `on` and `enabled` included, is false, as in Asiaq.
pub fn truthy(value: &str) -> bool {
    matches!(value.trim().to_ascii_lowercase().as_str(), "true" | "yes" | "t" | "y" | "aye" | "1")
}

#[cfg(test)]
mod tests {
    use super::truthy;

    #[test]
    fn asiaq_truth_table() {
        for yes in ["true", "True", "YES", "t", "y", "aye", "1", " yes "] {
            assert!(truthy(yes), "{yes}");
        }
        for no in ["", "no", "false", "0", "on", "enabled", "None", "2"] {
            assert!(!truthy(no), "{no}");
        }
    }
}
