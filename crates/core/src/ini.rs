//! The ini dialect of Asiaq's config files: Python 2.7 `ConfigParser`, reproduced rule by rule
//! (reference §1.2), keeping the line of every option so errors can say `path:line`.
//!
//! Why not `rust-ini`: it has no line numbers, treats `#`/`;` anywhere as comments, has no
//! continuation lines and splits only on `=`. Asiaq configs depend on all four of those rules.

use crate::diag::{Diagnostic, Diagnostics};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The name of the section whose options are fallbacks for every other section.
pub const DEFAULT_SECTION: &str = "DEFAULT";

/// One option's value and the line it started on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The value after comment stripping and trimming; continuation lines are joined with `\n`.
    pub value: String,
    /// 1-based line of the option name.
    pub line: usize,
}

/// A section: its options (lower-cased names), in file order of first appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    /// The section name as written (case-sensitive).
    pub name: String,
    /// Line of the first header for this section (duplicate sections are merged).
    pub line: usize,
    options: Vec<(String, Entry)>,
}

impl Section {
    /// The option `name` (case-insensitive), without `[DEFAULT]` fallback.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        let name = name.to_ascii_lowercase();
        self.options.iter().find(|(k, _)| *k == name).map(|(_, e)| e)
    }

    /// All options in file order.
    pub fn options(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.options.iter().map(|(k, e)| (k.as_str(), e))
    }

    fn set(&mut self, name: String, entry: Entry) {
        // A duplicate option overwrites the earlier one (last wins), keeping its place.
        match self.options.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = entry,
            None => self.options.push((name, entry)),
        }
    }

    fn last_mut(&mut self, name: &str) -> Option<&mut Entry> {
        self.options.iter_mut().find(|(k, _)| k == name).map(|(_, e)| e)
    }
}

/// A parsed ini file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ini {
    /// Where it was read from (used in diagnostics).
    pub path: PathBuf,
    sections: Vec<Section>,
    defaults: Section,
}

impl Ini {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self, Diagnostics> {
        let bytes = std::fs::read(path)
            .map_err(|e| Diagnostics(vec![Diagnostic::error(path, None, format!("cannot read: {e}"))]))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Diagnostics(vec![Diagnostic::error(path, None, "not valid UTF-8 text")]))?;
        Self::parse(path, &text)
    }

    /// Parses `text` as if read from `path`. Every malformed line is reported, not just the first.
    pub fn parse(path: &Path, text: &str) -> Result<Self, Diagnostics> {
        let mut ini = Self { path: path.to_path_buf(), sections: Vec::new(), defaults: Section::default() };
        ini.defaults.name = DEFAULT_SECTION.to_string();
        let mut errors = Vec::new();
        // (index into sections, or None for DEFAULT) of the section being filled.
        let mut current: Option<Option<usize>> = None;
        let mut last_option: Option<String> = None;

        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.trim().is_empty() || line.starts_with('#') || line.starts_with(';') || is_rem(line) {
                continue;
            }
            let first = line.chars().next().unwrap_or(' ');
            if first.is_whitespace() {
                // A continuation line appends to the previous option, even when it starts with `#`.
                if let (Some(section), Some(option)) = (current, last_option.as_deref()) {
                    let value = line.trim();
                    if !value.is_empty() {
                        if let Some(entry) = ini.section_mut(section).last_mut(option) {
                            // Always a newline, even after an empty first value ("a=" then "  b" is "\nb").
                            entry.value.push('\n');
                            entry.value.push_str(value);
                        }
                    }
                    continue;
                }
                errors.push(Diagnostic::error(
                    path,
                    Some(line_no),
                    format!("indented line outside an option: {}", line.trim()),
                ));
                continue;
            }
            if let Some(name) = section_header(line) {
                last_option = None;
                if name == DEFAULT_SECTION {
                    current = Some(None);
                } else if let Some(i) = ini.sections.iter().position(|s| s.name == name) {
                    current = Some(Some(i)); // duplicate sections merge
                } else {
                    ini.sections.push(Section { name: name.to_string(), line: line_no, options: Vec::new() });
                    current = Some(Some(ini.sections.len() - 1));
                }
                continue;
            }
            let Some(section) = current else {
                errors.push(Diagnostic::error(path, Some(line_no), "option before any [section] header"));
                continue;
            };
            match option_line(line) {
                Some((name, value)) => {
                    ini.section_mut(section).set(name.clone(), Entry { value, line: line_no });
                    last_option = Some(name);
                }
                None => {
                    last_option = None;
                    errors.push(Diagnostic::error(
                        path,
                        Some(line_no),
                        format!("cannot parse line (expected `name = value` or `[section]`): {line}"),
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(ini)
        } else {
            Err(Diagnostics(errors))
        }
    }

    fn section_mut(&mut self, index: Option<usize>) -> &mut Section {
        match index {
            Some(i) => &mut self.sections[i],
            None => &mut self.defaults,
        }
    }

    /// The section called `name` (case-sensitive), if any.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// All sections except `[DEFAULT]`, in file order.
    pub fn sections(&self) -> impl Iterator<Item = &Section> {
        self.sections.iter()
    }

    /// The `[DEFAULT]` section (empty when the file has none).
    pub fn defaults(&self) -> &Section {
        &self.defaults
    }

    /// The raw value of `section.option`, falling back to `[DEFAULT]` as `ConfigParser` does.
    /// `None` when the section does not exist.
    pub fn get(&self, section: &str, option: &str) -> Option<&Entry> {
        let s = self.section(section)?;
        s.get(option).or_else(|| self.defaults.get(option))
    }

    /// The value of `section.option` with `%(name)s` interpolation applied (names looked up in the same
    /// section, then `[DEFAULT]`). `Ok(None)` when absent.
    pub fn get_interpolated(&self, section: &str, option: &str) -> Result<Option<Entry>, String> {
        let Some(entry) = self.get(section, option) else { return Ok(None) };
        let value = self.interpolate(section, &entry.value, 0)?;
        Ok(Some(Entry { value, line: entry.line }))
    }

    /// Expands `%(name)s` references in `value` as Python 2.7's `ConfigParser.get` does: only when the
    /// value contains `%(`, `%%` becomes `%`, and references nest up to ten levels.
    pub fn interpolate(&self, section: &str, value: &str, depth: usize) -> Result<String, String> {
        if !value.contains("%(") {
            return Ok(value.to_string());
        }
        if depth >= 10 {
            return Err(format!("interpolation nested too deeply in {value:?}"));
        }
        let mut out = String::new();
        let mut rest = value;
        while let Some(pos) = rest.find('%') {
            out.push_str(&rest[..pos]);
            let after = &rest[pos + 1..];
            if let Some(stripped) = after.strip_prefix('%') {
                out.push('%');
                rest = stripped;
            } else if let Some(inner) = after.strip_prefix('(') {
                let close = inner.find(")s").ok_or_else(|| format!("bad interpolation syntax in {value:?}"))?;
                let name = inner[..close].to_ascii_lowercase();
                let referenced = self
                    .get(section, &name)
                    .ok_or_else(|| format!("%({name})s refers to an option that does not exist"))?;
                out.push_str(&self.interpolate(section, &referenced.value, depth + 1)?);
                rest = &inner[close + 2..];
            } else {
                return Err(format!("'%' must be followed by '%' or '(' in {value:?}"));
            }
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// `rem` comment lines: the first word is `rem` (any case) and the line starts with `r`/`R`.
fn is_rem(line: &str) -> bool {
    line.starts_with(['r', 'R']) && line.split_whitespace().next().is_some_and(|w| w.eq_ignore_ascii_case("rem"))
}

/// `[name]anything` → `name` (everything up to the first `]`; at least one character).
fn section_header(line: &str) -> Option<&str> {
    let inner = line.strip_prefix('[')?;
    let end = inner.find(']')?;
    (end > 0).then(|| &inner[..end])
}

/// `name <sep> value` where `<sep>` is the first `=` or `:`; the name must not start with a blank or a
/// separator. Returns the lower-cased name and the cleaned value.
fn option_line(line: &str) -> Option<(String, String)> {
    let sep = line.find(['=', ':'])?;
    let name = &line[..sep];
    if name.is_empty() {
        return None;
    }
    let name = name.trim_end();
    let mut value = &line[sep + 1..];
    // Only the first `;`, and only when a blank precedes it, starts a comment (Python 2.7 looks no further).
    if let Some(pos) = value.find(';') {
        if pos > 0 && value[..pos].ends_with(char::is_whitespace) {
            value = &value[..pos];
        }
    }
    let mut value = value.trim().to_string();
    if value == "\"\"" {
        value.clear();
    }
    Some((name.to_ascii_lowercase(), value))
}

/// Splits an option name of the form `name@env` into `("name", Some("env"))`.
pub fn split_env_suffix(option: &str) -> (&str, Option<&str>) {
    match option.split_once('@') {
        Some((name, env)) => (name, Some(env)),
        None => (option, None),
    }
}

/// Groups every option of a section by its base name (`ip_address`, `ip_address@ci`, ... → `ip_address`).
pub fn options_by_base(section: &Section) -> BTreeMap<&str, Vec<(&str, &Entry)>> {
    let mut map: BTreeMap<&str, Vec<(&str, &Entry)>> = BTreeMap::new();
    for (name, entry) in section.options() {
        map.entry(split_env_suffix(name).0).or_default().push((name, entry));
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Ini {
        Ini::parse(Path::new("t.ini"), text).expect("parses")
    }

    fn value(ini: &Ini, s: &str, o: &str) -> String {
        ini.get(s, o).map(|e| e.value.clone()).unwrap_or_else(|| panic!("{s}.{o} missing"))
    }

    // Reference vector 98, line by line.
    #[test]
    fn vector_98_comments_case_and_quotes() {
        let ini = parse(
            "[bake]\nasiaq_data_source=..  ; this will be rsync'd\nperiod=300  ; seconds\nx=foo # not a comment\n\
             semi=a;b\nIp_Address@CI=10.0.0.1\nquoted=\"\"\nlog_buffer = 4096000\ncolon: value\ndup=1\ndup=2\n\
             [mhcfoo] trailing junk\nkey=first\n  # indented comment\n",
        );
        assert_eq!(value(&ini, "bake", "asiaq_data_source"), "..");
        assert_eq!(value(&ini, "bake", "period"), "300");
        assert_eq!(value(&ini, "bake", "x"), "foo # not a comment");
        assert_eq!(value(&ini, "bake", "semi"), "a;b");
        assert_eq!(value(&ini, "bake", "ip_address@ci"), "10.0.0.1");
        assert_eq!(value(&ini, "bake", "IP_ADDRESS@CI"), "10.0.0.1");
        assert_eq!(value(&ini, "bake", "quoted"), "");
        assert_eq!(value(&ini, "bake", "log_buffer"), "4096000");
        assert_eq!(value(&ini, "bake", "colon"), "value");
        assert_eq!(value(&ini, "bake", "dup"), "2");
        assert_eq!(value(&ini, "mhcfoo", "key"), "first\n# indented comment");
    }

    #[test]
    fn only_first_semicolon_is_considered() {
        let ini = parse("[s]\na=x;y ;z\nb=x ;y ;z\n");
        assert_eq!(value(&ini, "s", "a"), "x;y ;z");
        assert_eq!(value(&ini, "s", "b"), "x");
    }

    #[test]
    fn separators_values_and_section_names() {
        let ini = parse(
            "[envtype:sandbox]\nintranet_sg_rules=tcp all 0:65535\ncustomer_ports=\n\
             [astro.EC2/Memory.%MemFree.mhczookeeper]\nthreshold_min=10\n[a@b]\nk:v=w\n",
        );
        assert_eq!(value(&ini, "envtype:sandbox", "intranet_sg_rules"), "tcp all 0:65535");
        assert_eq!(value(&ini, "envtype:sandbox", "customer_ports"), "");
        assert_eq!(value(&ini, "astro.EC2/Memory.%MemFree.mhczookeeper", "threshold_min"), "10");
        assert_eq!(value(&ini, "a@b", "k"), "v=w");
    }

    #[test]
    fn continuation_lines_join_with_newline() {
        let ini = parse("[s]\nsync=a b\n  c d\n\n  e f\nnext=1\n");
        assert_eq!(value(&ini, "s", "sync"), "a b\nc d\ne f");
        assert_eq!(ini.get("s", "next").unwrap().line, 6);
    }

    #[test]
    fn comments_rem_and_lines() {
        let ini = parse("# c\n; c\n[s]\nrem this is a comment\nREM also\nremote=1\n");
        assert!(ini.get("s", "rem").is_none());
        assert_eq!(value(&ini, "s", "remote"), "1");
        assert_eq!(ini.get("s", "remote").unwrap().line, 6);
        assert_eq!(ini.section("s").unwrap().line, 3);
    }

    #[test]
    fn duplicate_sections_merge() {
        let ini = parse("[s]\na=1\n[t]\nx=0\n[s]\nb=2\na=3\n");
        assert_eq!(value(&ini, "s", "a"), "3");
        assert_eq!(value(&ini, "s", "b"), "2");
        assert_eq!(ini.sections().count(), 2);
    }

    #[test]
    fn default_section_is_a_fallback() {
        let ini = parse("[DEFAULT]\nbase=/opt\n[s]\npath=%(base)s/bin\npct=50%\nesc=%(base)s 100%%\n");
        assert_eq!(value(&ini, "s", "base"), "/opt");
        assert_eq!(ini.get_interpolated("s", "path").unwrap().unwrap().value, "/opt/bin");
        assert_eq!(ini.get_interpolated("s", "pct").unwrap().unwrap().value, "50%");
        assert_eq!(ini.get_interpolated("s", "esc").unwrap().unwrap().value, "/opt 100%");
        assert!(ini.section("DEFAULT").is_none());
    }

    #[test]
    fn interpolation_errors() {
        let ini = parse("[s]\na=%(missing)s\nb=%(b)s\n");
        assert!(ini.get_interpolated("s", "a").is_err());
        assert!(ini.get_interpolated("s", "b").is_err());
    }

    #[test]
    fn all_errors_are_reported_with_lines() {
        let err = Ini::parse(Path::new("bad.ini"), "orphan=1\n[s]\n  indented_first=1\nno separator here\nok=1\n")
            .unwrap_err();
        let lines: Vec<_> = err.0.iter().map(|d| d.line).collect();
        assert_eq!(lines, vec![Some(1), Some(3), Some(4)]);
        assert!(err.to_string().starts_with("bad.ini:1: error: option before any [section] header"));
    }

    #[test]
    fn empty_file_has_no_sections() {
        let ini = parse("");
        assert_eq!(ini.sections().count(), 0);
    }

    #[test]
    fn env_suffix_grouping() {
        let ini = parse("[h]\nip_address=1\nip_address@ci=2\nmeta_network=x\n");
        let groups = options_by_base(ini.section("h").unwrap());
        assert_eq!(groups["ip_address"].len(), 2);
        assert_eq!(split_env_suffix("ip_address@ci"), ("ip_address", Some("ci")));
    }
}
