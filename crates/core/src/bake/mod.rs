//! What a bake is before anything is launched: its phase, hostclass, source and name (reference §4.6),
//! the tags of the image it makes (§1.8, vector 69), the run tags every temporary resource carries so
//! that `reap` can find what a killed run left, and the `.nosync` excludes of the uploaded tree.

use crate::ami::{self, Image, Stages};
use crate::config::AwsConfig;
use std::collections::BTreeMap;

mod safety;
pub use safety::{data_destination, secret_kind};

/// Tag on every resource a bake run creates: the run's id. Removed from the image once it is done.
pub const RUN_TAG: &str = "sila-bake-run";
/// Tag beside [`RUN_TAG`]: epoch seconds after which the run is over, whatever state it is in.
pub const UNTIL_TAG: &str = "sila-bake-until";

/// One bake run: its id and its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BakeRun {
    /// Unique per run (time and process), e.g. `19a3c2f5d1e-4f2a`.
    pub id: String,
    /// Epoch seconds the run started.
    pub started: u64,
    /// Epoch seconds after which the run is over.
    pub until: u64,
}

impl BakeRun {
    /// A run starting at `now_nanos` (since the epoch) with `deadline_secs` to finish.
    pub fn new(now_nanos: u128, pid: u32, deadline_secs: u64) -> Self {
        let started = u64::try_from(now_nanos / 1_000_000_000).unwrap_or(u64::MAX);
        let id = format!("{:x}-{:x}", now_nanos / 1_000_000, (now_nanos % 1_000_000) as u32 ^ pid);
        Self { id, started, until: started.saturating_add(deadline_secs) }
    }

    /// The name of its temporary key pair and security group.
    pub fn resource_name(&self) -> String {
        resource_name(&self.id)
    }

    /// The tags that mark a resource as this run's.
    pub fn tags(&self) -> Vec<(String, String)> {
        vec![(RUN_TAG.to_string(), self.id.clone()), (UNTIL_TAG.to_string(), self.until.to_string())]
    }
}

/// The name of run `id`'s temporary key pair and security group.
pub fn resource_name(id: &str) -> String {
    format!("sila-bake-{id}")
}

/// The description of the image run `run` makes of `hostclass` from `source`. Unlike tags, which
/// anyone who may tag can set (`sila-aws tag`, the console), it is written once, when the image is
/// made; `reap` takes an image only when it is described so for the run in its tags.
pub fn image_description(hostclass: &str, run: &str, source: &str) -> String {
    format!("{hostclass} baked by sila-bake run {run} from {source}")
}

/// The run a key pair or security group named `name` belongs to: the run in its tags, when its
/// name, which tags cannot change, is that run's ([`resource_name`]). Anything else carrying run
/// tags was not made by a bake, and `reap` leaves it alone.
pub fn run_of_named<'a>(name: &str, tags: &'a BTreeMap<String, String>) -> Option<&'a str> {
    tags.get(RUN_TAG).map(String::as_str).filter(|run| name == resource_name(run))
}

/// Whether an image with this description and these tags is an unfinished image of the run in its
/// tags ([`image_description`]).
pub fn described_for_run(description: &str, tags: &BTreeMap<String, String>) -> bool {
    tags.get(RUN_TAG).is_some_and(|run| description.contains(&format!(" baked by sila-bake run {run} from ")))
}

/// When the run with this id started (epoch seconds): ids begin with the start in hex milliseconds.
pub fn run_started(id: &str) -> Option<u64> {
    u64::from_str_radix(id.split('-').next()?, 16).ok().map(|ms| ms / 1000)
}

/// Whether a resource with these tags belongs to a bake run that is over: its deadline passed, or
/// (with `older_than`) it was made longer ago than that, judged by `created` (epoch seconds) when
/// known, else by the start of its run.
pub fn reapable(tags: &BTreeMap<String, String>, now: u64, older_than: Option<u64>, created: Option<u64>) -> bool {
    let Some(run) = tags.get(RUN_TAG) else { return false };
    if let (Some(age), Some(created)) = (older_than, created.or_else(|| run_started(run))) {
        if now.saturating_sub(created) >= age {
            return true;
        }
    }
    match tags.get(UNTIL_TAG).and_then(|u| u.parse::<u64>().ok()) {
        Some(until) => now >= until,
        // A run tag without a readable deadline: judged by age only.
        None => false,
    }
}

/// What the command line asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BakeRequest {
    /// `--hostclass`: a hostclass (phase 2 by default) or a phase-1 image section.
    pub hostclass: Option<String>,
    /// `--source-ami`.
    pub source_ami: Option<String>,
    /// `--stage`.
    pub stage: Option<String>,
}

/// Where the builder's image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// This image (from `--source-ami`, or a phase-1 section's `bake_ami`).
    Ami(String),
    /// The newest non-private image named `<prefix> <time>` in the final stage (a phase-2 bake).
    NewestPhase1 {
        /// `phase1_ami_name` of the hostclass.
        prefix: String,
    },
}

/// A bake resolved from configuration (§4.6 steps 2–4), before anything is read from AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BakeTarget {
    /// 1 or 2: which `init/phase<N>.sh` runs.
    pub phase: u8,
    /// The hostclass the init script is given and the image is tagged with.
    pub hostclass: String,
    /// The image name's first word.
    pub base_name: String,
    /// Where the builder starts from.
    pub source: Source,
    /// The stage the new image is tagged with: `--stage`, or the first of `ami_stages`.
    pub stage: String,
}

/// A bake option (resolver D: `[section]`, `[bake]`, `[disco_aws] default_`), trimmed; empty is unset.
pub fn bake_value(aws: &AwsConfig, section: &str, key: &str) -> Option<String> {
    aws.bake_option(section, key).map(|r| r.value.trim().to_string()).filter(|v| !v.is_empty())
}

/// Resolves phase, hostclass, source and name (§4.6): with `--hostclass H`, the phase is H's `phase`
/// (resolver D); without, phase 1 of `[bake] phase1_ami_name`. A hostclass that is itself a
/// phase-1 section (`phase=1`, e.g. `debian12_phase1`) bakes that base image.
pub fn resolve(aws: &AwsConfig, request: &BakeRequest, stages: &Stages) -> Result<BakeTarget, String> {
    let stage = match &request.stage {
        Some(s) if !stages.contains(s) => {
            return Err(format!("--stage {s}: not one of [bake] ami_stages ({})", stages.0.join(" ")))
        }
        Some(s) => s.clone(),
        None => stages.first().to_string(),
    };
    let phase = match &request.hostclass {
        None => 1,
        Some(h) => match bake_value(aws, h, "phase").as_deref() {
            None | Some("2") => 2,
            Some("1") => 1,
            Some(other) => return Err(format!("{h}: phase is {other}, not 1 or 2")),
        },
    };
    if phase == 1 {
        let base_name = match &request.hostclass {
            Some(h) => h.clone(),
            None => bake_value(aws, "bake", "phase1_ami_name")
                .ok_or("no --hostclass and no [bake] phase1_ami_name: nothing to bake")?,
        };
        let source = match &request.source_ami {
            Some(ami) => ami.clone(),
            None => aws
                .ini
                .get(&base_name, "bake_ami")
                .map(|e| e.value.trim().to_string())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("[{base_name}] has no bake_ami, and no --source-ami was given"))?,
        };
        let hostclass = bake_value(aws, "bake", "phase1_hostclass").unwrap_or_else(|| base_name.clone());
        return Ok(BakeTarget { phase, hostclass, base_name, source: Source::Ami(source), stage });
    }
    let hostclass = request.hostclass.clone().unwrap_or_default();
    if !hostclass.starts_with("mhc") {
        return Err(format!("--hostclass {hostclass}: hostclasses start with mhc (or name a phase-1 section)"));
    }
    let source = match &request.source_ami {
        Some(ami) => Source::Ami(ami.clone()),
        None => Source::NewestPhase1 {
            prefix: bake_value(aws, &hostclass, "phase1_ami_name")
                .ok_or_else(|| format!("{hostclass}: no phase1_ami_name ([{hostclass}] or [bake])"))?,
        },
    };
    Ok(BakeTarget { phase, base_name: hostclass.clone(), hostclass, source, stage })
}

/// The image a phase-2 bake starts from: the newest non-private `<prefix> <time>` image in the final
/// stage (vector 65).
pub fn newest_phase1<'a>(images: &'a [Image], prefix: &str, stages: &Stages) -> Option<&'a Image> {
    ami::find_ami(images, prefix, Some(&[stages.last()]), None, false)
}

/// Everything the image is tagged with besides the run tags (§1.8, vector 69).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageTagInput<'a> {
    /// The hostclass baked.
    pub hostclass: &'a str,
    /// The stage (`--stage` or the first stage).
    pub stage: &'a str,
    /// The builder's source image.
    pub source_ami: &'a str,
    /// The local OS user baking.
    pub baker: &'a str,
    /// Sila's version and, when the config is a git work tree, `<branch>-<short hash>`.
    pub version: &'a str,
    /// `--private`.
    pub private: bool,
    /// `product_line` of the hostclass, when configured.
    pub productline: Option<&'a str>,
    /// `--tag k:v` values.
    pub extra: &'a [(String, String)],
}

/// The image's tags in Asiaq's priority order; extra tags never override the standard ones.
pub fn image_tags(input: &ImageTagInput<'_>) -> Vec<(String, String)> {
    let mut tags = vec![
        ("hostclass".to_string(), input.hostclass.to_string()),
        ("stage".to_string(), input.stage.to_string()),
        ("source_ami".to_string(), input.source_ami.to_string()),
        ("baker".to_string(), input.baker.to_string()),
        ("version-sila".to_string(), input.version.to_string()),
        ("is_private".to_string(), if input.private { "True" } else { "False" }.to_string()),
    ];
    if let Some(p) = input.productline {
        tags.push(("productline".to_string(), p.to_string()));
    }
    for (k, v) in input.extra {
        if !tags.iter().any(|(key, _)| key == k) {
            tags.push((k.clone(), v.clone()));
        }
    }
    tags
}

/// The excludes of one directory's `.nosync` file (rsync's per-directory exclude file, as Asiaq
/// passes `--filter=:e /.nosync`): one pattern a line, `#` comments, `*` and `?` wildcards, a
/// leading `/` anchors to that directory, a trailing `/` matches directories only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Excludes {
    patterns: Vec<(String, bool, bool)>,
}

impl Excludes {
    /// Parses a `.nosync` file's text.
    pub fn parse(text: &str) -> Self {
        let patterns = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let anchored = l.starts_with('/');
                let dir_only = l.ends_with('/');
                (l.trim_start_matches('/').trim_end_matches('/').to_string(), anchored, dir_only)
            })
            .collect();
        Self { patterns }
    }

    /// Whether `relative` (a path below the `.nosync` file's directory, `/`-separated) is excluded.
    /// An unanchored pattern without `/` matches the last component at any depth; others match the
    /// whole relative path.
    pub fn excludes(&self, relative: &str, is_dir: bool) -> bool {
        let name = relative.rsplit('/').next().unwrap_or(relative);
        self.patterns.iter().any(|(pattern, anchored, dir_only)| {
            if *dir_only && !is_dir {
                return false;
            }
            if !anchored && !pattern.contains('/') {
                wildcard(pattern, name)
            } else {
                wildcard(pattern, relative)
            }
        })
    }
}

/// `*` (any run, not `/`) and `?` (one character, not `/`) matching.
fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' && t[ti] != '/' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star.filter(|_| t[mark] != '/') {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// `ami_available_wait_time` of `hostclass` (resolver D; seconds, 600 when unset): how long a new
/// image may take to become available. An error names the file, line and value, so a bake stops
/// before it launches anything (a huge value used to overflow the wait's deadline and panic).
pub fn image_wait(aws: &AwsConfig, hostclass: &str) -> Result<std::time::Duration, String> {
    let Some(r) = aws.bake_option(hostclass, "ami_available_wait_time").filter(|r| !r.value.trim().is_empty()) else {
        return Ok(std::time::Duration::from_secs(600));
    };
    parse_image_wait(&r.value)
        .map_err(|e| format!("{}:{}: [{}] {}: {e}", aws.ini.path.display(), r.line, r.section, r.option))
}

/// An `ami_available_wait_time` value: whole seconds, 1 to a day.
pub fn parse_image_wait(value: &str) -> Result<std::time::Duration, String> {
    let range = crate::limits::IMAGE_WAIT;
    crate::limits::parse_number(value, range.min.as_secs()..=range.max.as_secs())
        .map(std::time::Duration::from_secs)
        .map_err(|e| format!("must be a number of seconds: {e}"))
}

#[cfg(test)]
mod tests;
