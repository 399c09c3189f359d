//! Clap value parsers for the durations, sizes and counts of every tool, each range-checked when the
//! command line is parsed (`sila_core::limits`), so that a value out of range is a usage error (exit
//! 2) naming the flag before anything is asked of AWS, never a panic later.

use sila_core::limits::{self, AGE, DEADLINE, TIMEOUT};
use std::time::Duration;

/// `--deadline`: how long a command may wait (1 s to 7 days).
pub fn deadline(text: &str) -> Result<Duration, String> {
    limits::parse_duration(text, DEADLINE)
}

/// `--connect-timeout`, `--timeout` (1 s to 1 h).
pub fn timeout(text: &str) -> Result<Duration, String> {
    limits::parse_duration(text, TIMEOUT)
}

/// `--older-than`: an age (0 to 100 years).
pub fn age(text: &str) -> Result<Duration, String> {
    limits::parse_duration(text, AGE)
}

/// `--hours`: an age in whole hours.
pub fn hours(text: &str) -> Result<u64, String> {
    limits::parse_number(text, limits::HOURS)
}

/// `--days`: an age in whole days.
pub fn days(text: &str) -> Result<u64, String> {
    limits::parse_number(text, limits::DAYS)
}

/// `cleanupamis --age`: days, negative allowed.
pub fn age_days(text: &str) -> Result<i64, String> {
    limits::parse_number(text, limits::AGE_DAYS)
}

/// `--extra-space`: GB added to the 8 GB root volume.
pub fn extra_space_gb(text: &str) -> Result<u32, String> {
    limits::parse_number(text, limits::EXTRA_SPACE_GB)
}

/// `--extra-disk`: GB of an extra volume.
pub fn extra_disk_gb(text: &str) -> Result<u32, String> {
    limits::parse_number(text, limits::EXTRA_DISK_GB)
}

/// `--iops`: provisioned IOPS of an io1 volume.
pub fn iops(text: &str) -> Result<u32, String> {
    limits::parse_number(text, limits::IOPS)
}
