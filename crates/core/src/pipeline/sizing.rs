//! Group sizes of a pipeline row: the `N` / `N@cron[:N@cron...]` syntax, the numbers a group gets when it
//! is created or updated, and the recurring scheduled actions (reference §4.10.2, §4.10.5, vectors 36–49).
//!
//! Kept apart from the CSV reader because the provisioning tools use these rules on their own (sizes
//! given on the command line follow the same syntax). Nothing here performs I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use croner::parser::{CronParser, Seconds, Year};
use serde::Serialize;

/// One of `min_size`, `desired_size`, `max_size`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    /// Empty cell: leave the group's value alone (or use the default for a new group).
    #[default]
    Unset,
    /// A plain number.
    Constant(u32),
    /// Recurring sizes, keyed by a normalised 5-field UTC cron (fields separated by single spaces).
    Schedule(BTreeMap<String, u32>),
}

impl Size {
    /// Parses a size cell: empty → [`Size::Unset`], all digits → [`Size::Constant`], otherwise
    /// `N@cron[:N@cron...]`. A cron given twice keeps the later count (Asiaq builds a dict).
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(Self::Unset);
        }
        if is_digits(value) {
            return parse_count(value).map(Self::Constant);
        }
        if !value.contains('@') {
            return Err(format!("`{value}` is neither a number nor a schedule `N@cron[:N@cron...]`"));
        }
        let mut schedule = BTreeMap::new();
        // `:` separates entries, so a cron can never contain one.
        for entry in value.split(':') {
            let entry = entry.trim();
            let Some((count, cron)) = entry.split_once('@') else {
                return Err(format!("schedule entry `{entry}` is not of the form `N@cron`"));
            };
            let count = count.trim();
            if !is_digits(count) {
                return Err(format!("schedule entry `{entry}`: `{count}` is not a non-negative integer"));
            }
            let count = parse_count(count).map_err(|e| format!("schedule entry `{entry}`: {e}"))?;
            let cron = validate_cron(cron).map_err(|e| format!("schedule entry `{entry}`: {e}"))?;
            schedule.insert(cron, count);
        }
        Ok(Self::Schedule(schedule))
    }

    /// True for an empty cell.
    pub fn is_unset(&self) -> bool {
        matches!(self, Self::Unset)
    }

    /// The smallest value (how Asiaq reads `min_size`); `None` when unset.
    pub fn min_value(&self) -> Option<u32> {
        match self {
            Self::Unset => None,
            Self::Constant(n) => Some(*n),
            Self::Schedule(map) => map.values().copied().min(),
        }
    }

    /// The largest value (how Asiaq reads `desired_size` and `max_size`); `None` when unset.
    pub fn max_value(&self) -> Option<u32> {
        match self {
            Self::Unset => None,
            Self::Constant(n) => Some(*n),
            Self::Schedule(map) => map.values().copied().max(),
        }
    }

    /// The cron → count map of a schedule; `None` for constants and unset sizes.
    pub fn schedule(&self) -> Option<&BTreeMap<String, u32>> {
        match self {
            Self::Schedule(map) => Some(map),
            _ => None,
        }
    }
}

impl fmt::Display for Size {
    /// Writes the size back in pipeline syntax (schedules in cron order), empty when unset.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unset => Ok(()),
            Self::Constant(n) => write!(f, "{n}"),
            Self::Schedule(map) => {
                for (i, (cron, n)) in map.iter().enumerate() {
                    if i > 0 {
                        f.write_str(":")?;
                    }
                    write!(f, "{n}@{cron}")?;
                }
                Ok(())
            }
        }
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses an all-digit string, reporting overflow in words rather than as a Rust error. Counts go to
/// Auto Scaling's integer fields: beyond them is an error, never a value clamped on the way out.
pub(crate) fn parse_count(digits: &str) -> Result<u32, String> {
    let max = crate::limits::GROUP_SIZE_MAX;
    digits.parse::<u32>().ok().filter(|n| *n <= max).ok_or_else(|| format!("`{digits}` is too large (at most {max})"))
}

const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const FIELD_NAMES: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];

/// Checks that `expr` is a 5-field UNIX cron as AWS Auto Scaling recurrences accept it
/// (`minute hour day-of-month month day-of-week`, day-of-week 0–7 with Sunday 0 or 7, `JAN`/`MON` names,
/// ranges, lists, steps) and returns it with its fields joined by single spaces.
///
/// `croner` does the range checking. Before handing the expression over, this rejects what croner
/// accepts but plain cron does not: seconds/year fields, `@nicknames`, and Quartz extensions
/// (`L`, `W`, `#`, `?`, `+`), and names outside the month/day-of-week fields.
pub fn validate_cron(expr: &str) -> Result<String, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "`{}` is not a cron: expected 5 fields (minute hour day-of-month month day-of-week), found {}",
            expr.trim(),
            fields.len()
        ));
    }
    for (i, field) in fields.iter().enumerate() {
        check_cron_field(i, field).map_err(|e| format!("`{}` is not a valid cron: {e}", fields.join(" ")))?;
    }
    let normalised = fields.join(" ");
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(&normalised)
        .map_err(|e| format!("`{normalised}` is not a valid cron: {e}"))?;
    Ok(normalised)
}

fn check_cron_field(index: usize, field: &str) -> Result<(), String> {
    let what = FIELD_NAMES[index];
    if let Some(bad) = field.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '*' | ',' | '-' | '/'))) {
        return Err(format!("character `{bad}` is not allowed in the {what} field `{field}`"));
    }
    // croner skips empty list items; cron itself does not accept them.
    if field.split(',').any(str::is_empty) {
        return Err(format!("the {what} field `{field}` has an empty list item"));
    }
    let names: &[&str] = match index {
        3 => &MONTHS,
        4 => &WEEKDAYS,
        _ => &[],
    };
    for token in field.split([',', '-', '/']) {
        if token.bytes().any(|b| b.is_ascii_alphabetic()) && !names.iter().any(|name| name.eq_ignore_ascii_case(token))
        {
            return Err(format!("`{token}` is not allowed in the {what} field `{field}`"));
        }
    }
    Ok(())
}

/// The three numbers a pipeline row asks for, each `None` when its cell is empty
/// (`min_size` → minimum of its values, `desired_size` and `max_size` → maximum; §4.10.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct WantedSizes {
    /// Wanted MinSize.
    pub min: Option<u32>,
    /// Wanted DesiredCapacity.
    pub desired: Option<u32>,
    /// Wanted MaxSize.
    pub max: Option<u32>,
}

impl WantedSizes {
    /// The effective numbers of three size cells.
    pub fn from_sizes(min: &Size, desired: &Size, max: &Size) -> Self {
        Self { min: min.min_value(), desired: desired.max_value(), max: max.max_value() }
    }
}

/// The sizes of an existing or about-to-be-created group; always `min <= desired <= max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct GroupSizes {
    /// MinSize.
    pub min: u32,
    /// DesiredCapacity.
    pub desired: u32,
    /// MaxSize.
    pub max: u32,
}

/// Sizes for a new group (vectors 44–47): MinSize = min or 0; MaxSize = the largest of the given values
/// and 0; DesiredCapacity = desired, or MaxSize when desired is unset.
///
/// Fixes two Asiaq bugs: a desired of 0 stays 0 (Asiaq replaced it by MaxSize), and a desired below
/// min is raised to min (Asiaq sent it as is and AWS refused the call).
pub fn new_group_sizes(wanted: WantedSizes) -> GroupSizes {
    let min = wanted.min.unwrap_or(0);
    let max = [wanted.min, wanted.max, wanted.desired].into_iter().flatten().max().unwrap_or(0);
    let desired = wanted.desired.unwrap_or(max).max(min);
    GroupSizes { min, desired, max }
}

/// Sizes after updating an existing group (vector 48): only the values the row sets change.
///
/// Asiaq sent the given values as they were, so AWS refused an update that left the group inconsistent.
/// Here the result always satisfies `min <= desired <= max`:
/// * a value the row sets beats the group's current one, which moves to make room (a new max below the
///   current desired lowers desired; a new desired above the current max raises max; a new max below the
///   current min lowers min; a new desired below the current min lowers min);
/// * when two values the row sets conflict, max grows to fit (as Asiaq computes MaxSize for a new group)
///   and desired is raised to min.
pub fn updated_group_sizes(current: GroupSizes, wanted: WantedSizes) -> GroupSizes {
    let mut min = wanted.min.unwrap_or(current.min);
    let mut max = wanted.max.unwrap_or(current.max);
    let mut desired = wanted.desired.unwrap_or(current.desired);
    if min > max {
        if wanted.max.is_some() && wanted.min.is_none() {
            min = max;
        } else {
            max = min;
        }
    }
    if desired > max {
        if wanted.desired.is_some() {
            max = desired;
        } else {
            desired = max;
        }
    }
    if desired < min {
        if wanted.desired.is_some() && wanted.min.is_none() {
            min = desired;
        } else {
            desired = min;
        }
    }
    GroupSizes { min, desired, max }
}

/// One recurring scheduled action: at `cron` (UTC) set the sizes that are `Some`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduledAction {
    /// Normalised 5-field cron.
    pub cron: String,
    /// MinSize to set, if the `min_size` schedule has this cron.
    pub min: Option<u32>,
    /// DesiredCapacity to set, if the `desired_size` schedule has this cron.
    pub desired: Option<u32>,
    /// MaxSize to set, if the `max_size` schedule has this cron.
    pub max: Option<u32>,
}

/// The recurring actions of a row (vectors 39–42): one per cron of the union of the three schedules,
/// sorted by cron, each value taken from its own schedule or `None`. Constant and unset sizes give none.
pub fn scheduled_actions(min: &Size, desired: &Size, max: &Size) -> Vec<ScheduledAction> {
    let crons: BTreeSet<&String> =
        [min, desired, max].into_iter().filter_map(Size::schedule).flat_map(BTreeMap::keys).collect();
    let at = |size: &Size, cron: &str| size.schedule().and_then(|m| m.get(cron).copied());
    crons
        .into_iter()
        .map(|cron| ScheduledAction {
            cron: cron.clone(),
            min: at(min, cron),
            desired: at(desired, cron),
            max: at(max, cron),
        })
        .collect()
}

/// Name of the scheduled action for `cron` on `group`: `<group>_<cron with * → star, space → _>`
/// (vector 43).
pub fn scheduled_action_name(group: &str, cron: &str) -> String {
    format!("{group}_{}", cron.replace('*', "star").replace(' ', "_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(entries: &[(&str, u32)]) -> Size {
        Size::Schedule(entries.iter().map(|(c, n)| ((*c).to_string(), *n)).collect())
    }

    fn parse(s: &str) -> Size {
        Size::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn wanted(min: Option<u32>, max: Option<u32>, desired: Option<u32>) -> WantedSizes {
        // Argument order (min, max, desired) follows the reference's vectors.
        WantedSizes { min, desired, max }
    }

    fn sizes(min: u32, desired: u32, max: u32) -> GroupSizes {
        GroupSizes { min, desired, max }
    }

    #[test]
    fn unset_sizes_vector_36() {
        for s in ["", "   "] {
            let size = parse(s);
            assert_eq!(size, Size::Unset);
            assert!(size.is_unset());
            assert_eq!(size.min_value(), None);
            assert_eq!(size.max_value(), None);
        }
    }

    #[test]
    fn constants_vector_37() {
        assert_eq!(parse("5"), Size::Constant(5));
        assert_eq!(parse("0"), Size::Constant(0));
        assert_eq!(parse(" 12 "), Size::Constant(12));
        assert_eq!(parse("007"), Size::Constant(7));
        assert_eq!(parse("5").min_value(), Some(5));
        assert_eq!(parse("5").max_value(), Some(5));
        assert!(parse("5").schedule().is_none());
    }

    #[test]
    fn schedules_vector_38() {
        let size = parse("2@1 0 * * *:3@6 0 * * *");
        assert_eq!(size, sched(&[("1 0 * * *", 2), ("6 0 * * *", 3)]));
        assert_eq!(size.min_value(), Some(2));
        assert_eq!(size.max_value(), Some(3));
        assert_eq!(parse("2@1 0 * * *:3@6 0 * * *:3@6 0 * * *"), size);
    }

    #[test]
    fn duplicate_cron_later_wins_and_whitespace_is_normalised() {
        assert_eq!(parse("2@1 0 * * *:7@1  0 * * * "), sched(&[("1 0 * * *", 7)]));
        assert_eq!(parse(" 4 @ 30 10 * * * "), sched(&[("30 10 * * *", 4)]));
        assert_eq!(parse("1@30 10 * * *:5@45 1 * * *").to_string(), "1@30 10 * * *:5@45 1 * * *");
    }

    #[test]
    fn display_round_trips() {
        for s in ["", "3", "1@0 1 * * *:2@0 2 * * 1-5"] {
            assert_eq!(parse(s).to_string(), s);
            assert_eq!(parse(&parse(s).to_string()), parse(s));
        }
    }

    #[test]
    fn bad_sizes_are_rejected() {
        for bad in [
            "-1",
            "1.5",
            "abc",
            "x@0 0 * * *",
            "-1@0 0 * * *",
            "@0 0 * * *",
            "1@0 0 * * *:",
            "1@0 0 * * *:2",
            "1@61 * * * *",
            "1@not a cron",
            "1@* * * *",
            "99999999999",
            "99999999999@0 0 * * *",
        ] {
            assert!(Size::parse(bad).is_err(), "{bad} should be rejected");
        }
        let err = Size::parse("2@61 * * * *").unwrap_err();
        assert!(err.contains("61 * * * *"), "{err}");
    }

    #[test]
    fn valid_crons() {
        for cron in [
            "30 10 * * *",
            "0 0 * * 0",
            "0 0 * * 7",
            "0 22 * * 1-5",
            "*/15 * * * *",
            "0 0 1 JAN *",
            "0 0 1 jan *",
            "0 9 * * MON-FRI",
            "0 9 * * mon,wed,fri",
            "0 0 * * 0-6",
            "0 0 * * 5-7",
            "0-30/10 1,2,3 1-15 1-12/2 *",
            "59 23 31 12 6",
        ] {
            assert_eq!(validate_cron(cron).as_deref(), Ok(cron), "{cron}");
        }
        assert_eq!(validate_cron("  0   0 * *\t0 ").as_deref(), Ok("0 0 * * 0"));
    }

    #[test]
    fn invalid_crons() {
        for cron in [
            "61 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * 32 * *",
            "* * * 13 *",
            "* * * * 8",
            "not a cron",
            "* * * *",
            "",
            "0 0 0 * * *",
            "0 0 * * * 2024",
            "0 0 L * *",
            "0 0 * * 5L",
            "0 0 * * 1#2",
            "0 0 15W * *",
            "0 0 ? * *",
            "0 0 * * +1",
            "0 0 * * MONDAY",
            "0 0 * MON *",
            "0 0 * * JAN",
            "0 JAN * * *",
            "@daily",
            "*/0 * * * *",
            "5-1 * * * *",
            "1,,2 * * * *",
            ", * * * *",
            "0 0 * * 1,",
            "- * * * *",
            "/5 * * * *",
        ] {
            assert!(validate_cron(cron).is_err(), "{cron:?} should be rejected");
        }
    }

    #[test]
    fn wanted_sizes_use_min_of_min_and_max_of_others() {
        let w = WantedSizes::from_sizes(
            &parse("1@1 0 * * *:2@6 0 * * *"),
            &parse("2@1 0 * * *:3@6 0 * * *"),
            &parse("6@1 0 * * *:9@6 0 * * *"),
        );
        assert_eq!(w, WantedSizes { min: Some(1), desired: Some(3), max: Some(9) });
        assert_eq!(WantedSizes::from_sizes(&Size::Unset, &Size::Unset, &Size::Unset), WantedSizes::default());
    }

    #[test]
    fn new_group_vectors_44_to_47_and_49() {
        assert_eq!(new_group_sizes(wanted(None, Some(5), Some(4))), sizes(0, 4, 5));
        assert_eq!(new_group_sizes(wanted(Some(1), None, Some(4))), sizes(1, 4, 4));
        assert_eq!(new_group_sizes(wanted(Some(1), Some(5), None)), sizes(1, 5, 5));
        assert_eq!(new_group_sizes(wanted(None, None, None)), sizes(0, 0, 0));
        // Asiaq's bug fixed: desired 0 stays 0 (Asiaq gave 5).
        assert_eq!(new_group_sizes(wanted(Some(0), Some(5), Some(0))), sizes(0, 0, 5));
        // Vector 49: min '', desired `2@..:3@..`, max '' on a new group.
        let w = WantedSizes::from_sizes(&Size::Unset, &parse("2@1 0 * * *:3@6 0 * * *"), &Size::Unset);
        assert_eq!(new_group_sizes(w), sizes(0, 3, 3));
    }

    #[test]
    fn new_group_conflicting_values_stay_consistent() {
        // min above max: max grows (Asiaq's MaxSize rule).
        assert_eq!(new_group_sizes(wanted(Some(7), Some(3), None)), sizes(7, 7, 7));
        // desired above max: max grows.
        assert_eq!(new_group_sizes(wanted(None, Some(3), Some(6))), sizes(0, 6, 6));
        // desired below min: desired raised to min.
        assert_eq!(new_group_sizes(wanted(Some(3), Some(5), Some(1))), sizes(3, 3, 5));
        assert_eq!(new_group_sizes(wanted(Some(2), None, None)), sizes(2, 2, 2));
    }

    #[test]
    fn update_vector_48() {
        let current = sizes(1, 1, 1);
        assert_eq!(updated_group_sizes(current, wanted(None, Some(5), Some(4))), sizes(1, 4, 5));
        assert_eq!(updated_group_sizes(current, wanted(Some(0), Some(1), Some(0))), sizes(0, 0, 1));
        assert_eq!(updated_group_sizes(current, WantedSizes::default()), current);
        assert_eq!(updated_group_sizes(sizes(2, 3, 9), WantedSizes::default()), sizes(2, 3, 9));
    }

    #[test]
    fn update_clamps_current_values_to_the_given_ones() {
        let current = sizes(3, 5, 10);
        // New max below the current desired and min: both come down.
        assert_eq!(updated_group_sizes(current, wanted(None, Some(2), None)), sizes(2, 2, 2));
        assert_eq!(updated_group_sizes(current, wanted(None, Some(4), None)), sizes(3, 4, 4));
        // New min above the current desired/max: they go up.
        assert_eq!(updated_group_sizes(current, wanted(Some(12), None, None)), sizes(12, 12, 12));
        assert_eq!(updated_group_sizes(current, wanted(Some(7), None, None)), sizes(7, 7, 10));
        // New desired outside the current range: the bound moves.
        assert_eq!(updated_group_sizes(current, wanted(None, None, Some(15))), sizes(3, 15, 15));
        assert_eq!(updated_group_sizes(current, wanted(None, None, Some(1))), sizes(1, 1, 10));
        // Conflicting given values: max grows, desired is raised to min.
        assert_eq!(updated_group_sizes(current, wanted(Some(8), Some(4), None)), sizes(8, 8, 8));
        assert_eq!(updated_group_sizes(current, wanted(None, Some(4), Some(6))), sizes(3, 6, 6));
        assert_eq!(updated_group_sizes(current, wanted(Some(4), None, Some(2))), sizes(4, 4, 10));
    }

    #[test]
    fn update_results_are_always_consistent() {
        let values = [None, Some(0), Some(1), Some(3), Some(7)];
        let currents = [sizes(0, 0, 0), sizes(1, 1, 1), sizes(1, 3, 5), sizes(2, 7, 7)];
        for current in currents {
            for min in values {
                for desired in values {
                    for max in values {
                        let w = WantedSizes { min, desired, max };
                        let got = updated_group_sizes(current, w);
                        assert!(got.min <= got.desired && got.desired <= got.max, "{current:?} {w:?} → {got:?}");
                        let new = new_group_sizes(w);
                        assert!(new.min <= new.desired && new.desired <= new.max, "{w:?} → {new:?}");
                        // A value the row sets is kept unless another given value conflicts with it.
                        if let (Some(m), None, None) = (min, desired, max) {
                            assert_eq!(got.min, m);
                        }
                        if let (None, Some(d), None) = (min, desired, max) {
                            assert_eq!(got.desired, d);
                        }
                        if let (None, None, Some(m)) = (min, desired, max) {
                            assert_eq!(got.max, m);
                        }
                    }
                }
            }
        }
    }

    fn action(cron: &str, min: Option<u32>, desired: Option<u32>, max: Option<u32>) -> ScheduledAction {
        ScheduledAction { cron: cron.to_string(), min, desired, max }
    }

    #[test]
    fn scheduled_actions_vectors_39_to_42() {
        // 39
        let got = scheduled_actions(&parse("1"), &parse("2@1 0 * * *:3@6 0 * * *"), &parse("5"));
        assert_eq!(got, vec![action("1 0 * * *", None, Some(2), None), action("6 0 * * *", None, Some(3), None)]);
        // 40
        assert!(scheduled_actions(&parse("1"), &parse("2"), &parse("5")).is_empty());
        assert!(scheduled_actions(&Size::Unset, &Size::Unset, &Size::Unset).is_empty());
        // 41
        let got = scheduled_actions(
            &parse("1@1 0 * * *:2@6 0 * * *"),
            &parse("2@1 0 * * *:3@6 0 * * *"),
            &parse("6@1 0 * * *:9@6 0 * * *"),
        );
        assert_eq!(
            got,
            vec![action("1 0 * * *", Some(1), Some(2), Some(6)), action("6 0 * * *", Some(2), Some(3), Some(9))]
        );
        // 42
        let got = scheduled_actions(
            &parse("1@1 0 * * *:2@7 0 * * *"),
            &parse("2@1 0 * * *:3@6 0 * * *"),
            &parse("6@2 0 * * *:9@6 0 * * *"),
        );
        assert_eq!(
            got,
            vec![
                action("1 0 * * *", Some(1), Some(2), None),
                action("2 0 * * *", None, None, Some(6)),
                action("6 0 * * *", None, Some(3), Some(9)),
                action("7 0 * * *", Some(2), None, None),
            ]
        );
    }

    #[test]
    fn scheduled_action_name_vector_43() {
        assert_eq!(
            scheduled_action_name("ci_mhcfoo_1457000000", "0 22 * * *"),
            "ci_mhcfoo_1457000000_0_22_star_star_star"
        );
        assert_eq!(scheduled_action_name("g", "*/15 * * * 1-5"), "g_star/15_star_star_star_1-5");
    }
}
