//! Machine images as Sila names and stages them (reference §1.7, §4.5, §4.7, §4.9): names
//! `<hostclass> <epoch>`, stage priority, lookup, listing filters, promotion rules, stragglers and
//! cleanup, which never deletes an image that something still uses.

use crate::pipeline::{Pipeline, PipelineRow};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// An image as read from AWS (plain data; `sila-cloud` fills it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Image {
    /// `ami-...`.
    pub id: String,
    /// Its name, `<hostclass> <epoch seconds>` for images Sila or Asiaq baked.
    pub name: String,
    /// `available`, `pending`, `failed`, ...
    pub state: String,
    /// Creation time as AWS gives it (ISO 8601).
    pub created: String,
    /// The owning account.
    pub owner: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// The EBS snapshots of its block devices.
    pub snapshots: Vec<String>,
    /// The device names of its block device mappings (where a spinup places extra volumes).
    #[serde(skip)]
    pub devices: Vec<String>,
    /// Its root device name.
    #[serde(skip)]
    pub root_device: String,
}

impl Image {
    /// The hostclass: the first whitespace-separated token of the name.
    pub fn hostclass(&self) -> &str {
        self.name.split_whitespace().next().unwrap_or("")
    }

    /// The bake time: the last token of the name as an integer, 0 when it is not one.
    pub fn timestamp(&self) -> u64 {
        self.name.split_whitespace().last().and_then(|t| t.parse().ok()).unwrap_or(0)
    }

    /// The `stage` tag.
    pub fn stage(&self) -> Option<&str> {
        self.tags.get("stage").map(String::as_str)
    }

    /// The `productline` tag.
    pub fn productline(&self) -> Option<&str> {
        self.tags.get("productline").map(String::as_str)
    }

    /// True when tagged `is_private=True` (any case).
    pub fn is_private(&self) -> bool {
        self.tags.get("is_private").is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// Age in hours at `now` (epoch seconds), from the name's timestamp; `None` for a name without
    /// one (an image not baked by Sila or Asiaq).
    pub fn age_hours(&self, now: u64) -> Option<u64> {
        (self.timestamp() > 0).then(|| now.saturating_sub(self.timestamp()) / 3600)
    }
}

/// True for names of baked images: `^\w+\s(?:[0-9]+\s)?[0-9]{10,50}` as Asiaq matched them (anchored
/// at the start only; `\w` and `\s` in their ASCII sense). Written out rather than pulling in a regex
/// engine for one pattern.
pub fn is_baked_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let word = bytes.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
    if word == 0 || !bytes.get(word).is_some_and(|b| b.is_ascii_whitespace()) {
        return false;
    }
    let digits_at = |i: usize| bytes[i.min(bytes.len())..].iter().take_while(|b| b.is_ascii_digit()).count();
    let first = digits_at(word + 1);
    if first >= 10 {
        return true;
    }
    let after = word + 1 + first;
    first > 0 && bytes.get(after).is_some_and(|b| b.is_ascii_whitespace()) && digits_at(after + 1) >= 10
}

/// The configured stages in order (`[bake] ami_stages`): the first is given to new bakes, the last
/// is the final stage (production-eligible).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stages(pub Vec<String>);

impl Stages {
    /// Parses the whitespace-separated list; Asiaq's default when empty.
    pub fn parse(text: Option<&str>) -> Self {
        let list: Vec<String> = text.unwrap_or("").split_whitespace().map(str::to_string).collect();
        if list.is_empty() {
            return Self(["untested", "failed", "tested"].map(String::from).to_vec());
        }
        Self(list)
    }

    /// The stage of new bakes.
    pub fn first(&self) -> &str {
        &self.0[0]
    }

    /// The final stage.
    pub fn last(&self) -> &str {
        &self.0[self.0.len() - 1]
    }

    /// True for a configured stage.
    pub fn contains(&self, stage: &str) -> bool {
        self.0.iter().any(|s| s == stage)
    }
}

/// Lookup of the best image of a hostclass (§4.5): among images named `<hostclass> ...` in one of
/// `stages` (any stage when `None`), of `productline` when given, private ones only when allowed,
/// the one whose stage comes first in `stages`; ties go to the newest. Unlike Asiaq, stage names are
/// compared trimmed (`tested, untested` works).
pub fn find_ami<'a>(
    images: &'a [Image],
    hostclass: &str,
    stages: Option<&[&str]>,
    productline: Option<&str>,
    include_private: bool,
) -> Option<&'a Image> {
    let priority = |image: &Image| -> usize {
        stages.and_then(|list| list.iter().position(|s| Some(s.trim()) == image.stage())).unwrap_or(usize::MAX)
    };
    images
        .iter()
        .filter(|i| i.hostclass() == hostclass)
        .filter(|i| stages.is_none_or(|list| list.iter().any(|s| Some(s.trim()) == i.stage())))
        .filter(|i| productline.is_none_or(|p| i.productline() == Some(p)))
        .filter(|i| include_private || !i.is_private())
        .min_by(|a, b| priority(a).cmp(&priority(b)).then(b.timestamp().cmp(&a.timestamp())))
}

/// The filters of `listamis`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only this image.
    pub ami: Option<String>,
    /// Only these image ids (for `--instance`: the images of those instances).
    pub ids: Option<Vec<String>>,
    /// Only this stage.
    pub stage: Option<String>,
    /// Only this product line.
    pub productline: Option<String>,
    /// Only this state.
    pub state: Option<String>,
    /// Only this hostclass.
    pub hostclass: Option<String>,
}

impl ListFilter {
    /// True when `image` passes every filter given.
    pub fn matches(&self, image: &Image) -> bool {
        self.ami.as_ref().is_none_or(|a| *a == image.id)
            && self.ids.as_ref().is_none_or(|ids| ids.contains(&image.id))
            && self.stage.as_ref().is_none_or(|s| image.stage() == Some(s.as_str()))
            && self.productline.as_ref().is_none_or(|p| image.productline() == Some(p.as_str()))
            && self.state.as_ref().is_none_or(|s| *s == image.state)
            && self.hostclass.as_ref().is_none_or(|h| image.hostclass() == h)
    }
}

/// Sorts images as listings show them: by name timestamp, then name.
pub fn sort_for_listing(images: &mut [Image]) {
    images.sort_by(|a, b| a.timestamp().cmp(&b.timestamp()).then_with(|| a.name.cmp(&b.name)));
}

/// True when promoting `image` to `stage` also shares it with production (§4.7): only into the final
/// stage, only when a production baker is configured and baked it. (Asiaq tested for the literal
/// stage `tested`; Sila uses the configured final stage.)
pub fn shares_on_promotion(image: &Image, stage: &str, stages: &Stages, prod_baker: Option<&str>) -> bool {
    stage == stages.last()
        && prod_baker
            .is_some_and(|baker| !baker.is_empty() && image.tags.get("baker").map(String::as_str) == Some(baker))
}

/// The `[bake]` settings that say what an image may become (§3.1, §4.7): its stages, the accounts
/// whose images are trusted, the production accounts to share with, and the production baker.
#[derive(Debug, Clone)]
pub struct ImageSettings {
    /// `ami_stages`: the stages an image goes through, in order.
    pub stages: Stages,
    /// `trusted_account_ids`: accounts whose images may be used.
    pub trusted: Vec<String>,
    /// `prod_account_ids`: the production accounts final images are shared with.
    pub prod_accounts: Vec<String>,
    /// `prod_baker`: the only baker whose images go to production, when set.
    pub prod_baker: Option<String>,
}

impl ImageSettings {
    /// From `[bake]` of aws.ini (the defaults without one).
    pub fn of(aws: Option<&crate::config::AwsConfig>) -> Self {
        let get = |key: &str| aws.and_then(|a| a.ini.get("bake", key)).map(|e| e.value.clone());
        let list = |key: &str| get(key).map(|v| v.split_whitespace().map(str::to_string).collect()).unwrap_or_default();
        Self {
            stages: Stages::parse(get("ami_stages").as_deref()),
            trusted: list("trusted_account_ids"),
            prod_accounts: list("prod_account_ids"),
            prod_baker: get("prod_baker").filter(|b| !b.trim().is_empty()),
        }
    }

    /// Refuses a stage `[bake] ami_stages` does not list (`flag` names where it came from).
    pub fn known_stage(&self, flag: &str, stage: &str) -> Result<(), String> {
        if self.stages.contains(stage) {
            return Ok(());
        }
        Err(format!("{flag} {stage}: not one of [bake] ami_stages ({})", self.stages.0.join(" ")))
    }
}

/// Whether `image`, in (or being promoted to) `stage`, may be shared with production on request
/// (§4.7): only from the final stage, and, when a production baker is configured, only its bakes.
pub fn may_share(image: &Image, stage: &str, stages: &Stages, prod_baker: Option<&str>) -> Result<(), String> {
    if stage != stages.last() {
        return Err(format!(
            "only images in the final stage ({}) are shared with production, not {stage}",
            stages.last()
        ));
    }
    match prod_baker.filter(|b| !b.is_empty()) {
        Some(baker) if image.tags.get("baker").map(String::as_str) != Some(baker) => Err(format!(
            "{} was baked by {}, not by the production baker {baker} ([bake] prod_baker)",
            image.id,
            image.tags.get("baker").map_or("nobody known", String::as_str)
        )),
        _ => Ok(()),
    }
}

/// Hostclasses whose newest bake has not been promoted (§4.9 `liststragglers`): for each hostclass
/// with any image, the newest non-private image in the final stage; when there is none, or it is older
/// than `days`, the hostclass is reported with its newest non-private image of the first stage (if
/// any). Asiaq looked at the *second* stage (`failed` with the sample's stages); Sila uses the final one.
pub fn stragglers<'a>(
    images: &'a [Image],
    stages: &Stages,
    days: u64,
    now: u64,
) -> BTreeMap<String, Option<&'a Image>> {
    let mut hostclasses: Vec<&str> = images.iter().map(Image::hostclass).filter(|h| !h.is_empty()).collect();
    hostclasses.sort();
    hostclasses.dedup();
    let cutoff = now.saturating_sub(days * 86_400);
    let mut out = BTreeMap::new();
    for hostclass in hostclasses {
        let promoted = find_ami(images, hostclass, Some(&[stages.last()]), None, false);
        if promoted.is_some_and(|p| p.timestamp() >= cutoff) {
            continue;
        }
        out.insert(hostclass.to_string(), find_ami(images, hostclass, Some(&[stages.first()]), None, false));
    }
    out
}

/// What `cleanupamis` considers (§4.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupRequest {
    /// Only images in this stage.
    pub stage: String,
    /// Keep the newest `keep` of each hostclass.
    pub keep: usize,
    /// Keep images younger than `age_days`.
    pub age_days: i64,
    /// Only this hostclass.
    pub hostclass: Option<String>,
    /// Only this product line.
    pub productline: Option<String>,
    /// Never these images.
    pub exclude: Vec<String>,
    /// The time to measure ages from (epoch seconds).
    pub now: u64,
}

/// What still uses an image: instances, launch template versions, pipeline rows that pin it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InUse {
    /// Image id → instance ids (running or stopped).
    pub instances: BTreeMap<String, Vec<String>>,
    /// Image id → launch templates and versions (`lt-... v3`).
    pub templates: BTreeMap<String, Vec<String>>,
    /// Image id → pipeline rows (`pipelines/ci.csv:4`).
    pub pipelines: BTreeMap<String, Vec<String>>,
}

/// The decision on one image of a cleanup, with the rule behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The image.
    pub image: Image,
    /// True when it is deleted.
    pub delete: bool,
    /// Why: `older than 14 days and not among the newest 3`, or the rule that kept it.
    pub reason: String,
}

/// Decides, for every image in the stage, whether `cleanupamis` deletes it: an image goes only when it
/// is older than the age limit *and* not among the newest `keep` of its hostclass (ordered by the
/// name's timestamp; Asiaq used the second name token), is not excluded, and nothing uses it.
pub fn cleanup(images: &[Image], request: &CleanupRequest, in_use: &InUse) -> Vec<Verdict> {
    let mut candidates: Vec<&Image> = images
        .iter()
        .filter(|i| i.stage() == Some(request.stage.as_str()))
        .filter(|i| request.productline.as_ref().is_none_or(|p| i.productline() == Some(p.as_str())))
        .filter(|i| request.hostclass.as_ref().is_none_or(|h| i.hostclass() == h))
        .filter(|i| is_baked_name(&i.name))
        .collect();
    candidates
        .sort_by(|a, b| a.hostclass().cmp(b.hostclass()).then(b.timestamp().cmp(&a.timestamp())).then(a.id.cmp(&b.id)));
    let cutoff = request.now as i64 - request.age_days * 86_400;
    let mut rank: BTreeMap<&str, usize> = BTreeMap::new();
    let mut verdicts = Vec::new();
    for image in candidates {
        let n = rank.entry(image.hostclass()).or_insert(0);
        *n += 1;
        let users =
            |map: &BTreeMap<String, Vec<String>>| map.get(&image.id).filter(|v| !v.is_empty()).map(|v| v.join(", "));
        let keep_reason = if request.exclude.contains(&image.id) {
            Some("excluded (--exclude-amis)".to_string())
        } else if *n <= request.keep {
            Some(format!("among the newest {} of {}", request.keep, image.hostclass()))
        } else if image.timestamp() as i64 >= cutoff {
            Some(format!("younger than {} days", request.age_days))
        } else if let Some(who) = users(&in_use.instances) {
            Some(format!("used by instance {who}"))
        } else if let Some(who) = users(&in_use.templates) {
            Some(format!("used by launch template {who}"))
        } else {
            users(&in_use.pipelines).map(|who| format!("pinned in {who}"))
        };
        verdicts.push(match keep_reason {
            Some(reason) => Verdict { image: image.clone(), delete: false, reason },
            None => Verdict {
                image: image.clone(),
                delete: true,
                reason: format!("older than {} days and not among the newest {}", request.age_days, request.keep),
            },
        });
    }
    verdicts
}

/// The images a pipeline's rows can run: those named for its hostclasses and the pinned ids that
/// exist. Spinup and `sila sandbox` read them alike and pick from them alike, so a sandbox can check
/// every row's image before it changes anything.
#[derive(Debug, Clone, Default)]
pub struct PipelineImages {
    /// Images whose names match a hostclass of the pipeline (`<hostclass> *`).
    pub images: Vec<Image>,
    /// Pinned images that exist, by id.
    pub pinned: BTreeMap<String, Image>,
}

impl PipelineImages {
    /// What to read for `pipeline`: the name patterns (`<hostclass> *`) and the pinned ids, sorted,
    /// each once.
    pub fn wanted(pipeline: &Pipeline) -> (Vec<String>, Vec<String>) {
        let mut patterns: Vec<String> = pipeline.rows.iter().map(|r| format!("{} *", r.hostclass)).collect();
        patterns.sort();
        patterns.dedup();
        let mut ids: Vec<String> = pipeline.rows.iter().filter_map(|r| r.ami.clone()).collect();
        ids.sort();
        ids.dedup();
        (patterns, ids)
    }

    /// The row's image: the pinned one, else the newest non-private image of its hostclass in the
    /// first of `stages` that has one (§4.5).
    pub fn of(&self, row: &PipelineRow, stages: &[&str]) -> Option<&Image> {
        match &row.ami {
            Some(id) => self.pinned.get(id),
            None => find_ami(&self.images, &row.hostclass, Some(stages), None, false),
        }
    }

    /// Why a row has no image, with its file and line: `path:line: mhcweb: no image (...)`.
    pub fn missing_reason(path: &Path, row: &PipelineRow, stages: &[&str]) -> String {
        let why = match &row.ami {
            Some(id) => format!("{id} does not exist"),
            None => format!("none in stage {}", stages.join(",")),
        };
        format!("{}:{}: {}: no image ({why})", path.display(), row.line, row.hostclass)
    }

    /// One message per row of `pipeline` without an image.
    pub fn missing(&self, pipeline: &Pipeline, stages: &[&str]) -> Vec<String> {
        pipeline
            .rows
            .iter()
            .filter(|r| self.of(r, stages).is_none())
            .map(|r| Self::missing_reason(&pipeline.path, r, stages))
            .collect()
    }
}

#[cfg(test)]
mod tests;
