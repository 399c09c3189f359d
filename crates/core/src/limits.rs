//! The ranges of durations, sizes and counts a user can give (flags, pipeline cells, config values),
//! checked where they are read: a value out of range is an error that names it, never a panic later
//! (an `Instant` plus a huge duration overflows, so does `hours * 3600`) and never a value silently
//! clamped to what AWS accepts.

use std::ops::RangeInclusive;
use std::time::Duration;

const DAY: u64 = 86_400;

/// The durations a kind of value may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    /// Shortest accepted.
    pub min: Duration,
    /// Longest accepted.
    pub max: Duration,
}

/// How long a command may wait (`--deadline` of spinup, provision, exec-ssm, bake, sandbox): a week
/// at most; no wait of Sila's needs longer, and the bake's run tag records it as an epoch.
pub const DEADLINE: DurationRange = DurationRange { min: Duration::from_secs(1), max: Duration::from_secs(7 * DAY) };

/// A connection or command timeout (`--connect-timeout`, `--timeout`): an hour at most.
pub const TIMEOUT: DurationRange = DurationRange { min: Duration::from_secs(1), max: Duration::from_secs(3600) };

/// An age to compare against (`reap --older-than`): up to a hundred years.
pub const AGE: DurationRange = DurationRange { min: Duration::ZERO, max: Duration::from_secs(36_500 * DAY) };

/// `[bake] ami_available_wait_time` (seconds): how long a new image may take to become available.
pub const IMAGE_WAIT: DurationRange = DurationRange { min: Duration::from_secs(1), max: Duration::from_secs(DAY) };

/// Ages in whole hours (`promoterunning --hours`): up to a hundred years.
pub const HOURS: RangeInclusive<u64> = 0..=36_500 * 24;

/// Ages in whole days (`liststragglers --days`): up to a hundred years.
pub const DAYS: RangeInclusive<u64> = 0..=36_500;

/// `cleanupamis --age` in days; negative (Asiaq allowed it) keeps nothing for its age.
pub const AGE_DAYS: RangeInclusive<i64> = -36_500..=36_500;

/// Largest EBS volume AWS makes of the types Sila uses (gp2, gp3, io1): 16 TiB.
pub const VOLUME_GB_MAX: u32 = 16_384;

/// `extra_space`: added to the 8 GB root, which must stay a volume AWS can make.
pub const EXTRA_SPACE_GB: RangeInclusive<u32> = 0..=VOLUME_GB_MAX - 8;

/// `extra_disk`: a volume of this many GB.
pub const EXTRA_DISK_GB: RangeInclusive<u32> = 1..=VOLUME_GB_MAX;

/// `iops`: provisioned IOPS of an io1 volume.
pub const IOPS: RangeInclusive<u32> = 100..=64_000;

/// io1 allows at most this many IOPS per GB of volume, and volumes of at least 4 GB.
pub const IOPS_PER_GB: u32 = 50;

/// Smallest io1 volume.
pub const IO1_MIN_GB: u32 = 4;

/// Group sizes (min, desired, max, scheduled): what Auto Scaling's integer fields take.
pub const GROUP_SIZE_MAX: u32 = i32::MAX as u32;

/// Parses a duration (`20m`, `1h30m`, `2days`, as `humantime` reads them) and checks its range.
pub fn parse_duration(text: &str, range: DurationRange) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration such as 90s, 20m or 1h30m ({e})"))?;
    check_duration(text, duration, range)
}

/// Checks that `duration` (written `text`) is within `range`.
pub fn check_duration(text: &str, duration: Duration, range: DurationRange) -> Result<Duration, String> {
    let show = |d: Duration| humantime::format_duration(d).to_string();
    if duration > range.max {
        return Err(format!("`{text}` is longer than the {} allowed", show(range.max)));
    }
    if duration < range.min {
        return Err(format!("`{text}` is shorter than the {} needed", show(range.min)));
    }
    Ok(duration)
}

/// Parses a whole number and checks that it is within `range`.
pub fn parse_number<T>(text: &str, range: RangeInclusive<T>) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let n: T = text.trim().parse().map_err(|_| format!("`{text}` is not a whole number"))?;
    check_number(n, range)
}

/// Checks that `n` is within `range`, saying which bound it passed.
pub fn check_number<T: PartialOrd + std::fmt::Display + Copy>(n: T, range: RangeInclusive<T>) -> Result<T, String> {
    if n > *range.end() {
        return Err(format!("{n} is more than the {} allowed", range.end()));
    }
    if n < *range.start() {
        return Err(format!("{n} is less than the {} needed", range.start()));
    }
    Ok(n)
}

/// Checks the volumes a row or `provision` asks for against what EC2 makes: the root grown by
/// `extra_space`, an `extra_disk` volume, and `iops` (io1) on the extra disk and on the restored
/// snapshot's volume of `snapshot_gb`, when known. Each problem names the value.
pub fn check_volumes(
    extra_space: Option<u32>,
    extra_disk: Option<u32>,
    iops: Option<u32>,
    snapshot_gb: Option<u32>,
) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if let Some(gb) = extra_space {
        if let Err(e) = check_number(gb, EXTRA_SPACE_GB) {
            problems.push(("extra_space", format!("{e} (GB added to the 8 GB root, a volume of at most 16384 GB)")));
        }
    }
    if let Some(gb) = extra_disk {
        if let Err(e) = check_number(gb, EXTRA_DISK_GB) {
            problems.push(("extra_disk", format!("{e} (GB of a volume)")));
        }
    }
    let Some(iops) = iops else { return problems };
    if let Err(e) = check_number(iops, IOPS) {
        problems.push(("iops", format!("{e} (provisioned IOPS of an io1 volume)")));
        return problems;
    }
    for (what, gb) in [("extra disk", extra_disk), ("snapshot volume", snapshot_gb)] {
        let Some(gb) = gb else { continue };
        if gb < IO1_MIN_GB || u64::from(iops) > u64::from(gb) * u64::from(IOPS_PER_GB) {
            problems.push((
                "iops",
                format!(
                    "{iops} IOPS on a {gb} GB {what}: io1 takes at most {IOPS_PER_GB} per GB, on {IO1_MIN_GB} GB or more"
                ),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_parsed_and_range_checked() {
        assert_eq!(parse_duration("20m", DEADLINE), Ok(Duration::from_secs(1200)));
        assert_eq!(parse_duration(" 1h30m ", DEADLINE), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7days", DEADLINE), Ok(Duration::from_secs(7 * DAY)));
        for (text, words) in [
            ("500000000000y", "longer than the 7days allowed"),
            ("8days", "longer than"),
            ("0s", "shorter than the 1s needed"),
            ("soon", "not a duration"),
            ("", "not a duration"),
            ("99999999999999999999999999s", "not a duration"),
        ] {
            let e = parse_duration(text, DEADLINE).unwrap_err();
            assert!(e.contains(words), "{text}: {e}");
        }
        assert_eq!(parse_duration("0s", AGE), Ok(Duration::ZERO));
        assert!(parse_duration("2h", TIMEOUT).is_err());
    }

    #[test]
    fn numbers_are_range_checked() {
        assert_eq!(parse_number("3", HOURS), Ok(3));
        assert!(parse_number("99999999999999999", HOURS).unwrap_err().contains("more than the 876000 allowed"));
        assert!(parse_number("-1", DAYS).unwrap_err().contains("not a whole number"));
        assert_eq!(parse_number("-1", AGE_DAYS), Ok(-1));
        assert!(parse_number("999999999999999999999", AGE_DAYS).is_err());
        assert!(check_number(99, IOPS).unwrap_err().contains("less than the 100 needed"));
    }

    #[test]
    fn volumes_aws_would_refuse() {
        assert!(check_volumes(Some(16_376), Some(16_384), Some(64_000), None).is_empty());
        assert!(check_volumes(None, None, Some(1000), None).is_empty(), "iops alone waits for a snapshot");
        let names = |p: Vec<(&'static str, String)>| p.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(names(check_volumes(Some(16_377), Some(0), None, None)), ["extra_space", "extra_disk"]);
        assert_eq!(names(check_volumes(None, Some(10), Some(1000), None)), ["iops"]);
        assert_eq!(names(check_volumes(None, None, Some(1000), Some(3))), ["iops"]);
        assert_eq!(names(check_volumes(None, None, Some(70_000), None)), ["iops"]);
        assert!(check_volumes(None, Some(20), Some(1000), Some(100)).is_empty());
    }
}
