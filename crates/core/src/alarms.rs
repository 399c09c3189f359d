//! CloudWatch alarms and SNS notification topics from `alarms.ini` (reference §3.7, §4.14): the
//! environment's topics and each hostclass's alarms, resolved from the file alone (pure; the
//! group, load balancer, account and region come from the caller). Errors name the file and line.

use crate::ini::Ini;
use crate::truth::truthy;
use serde::Serialize;
use std::collections::BTreeMap;

/// The levels a topic and an alarm can have.
pub const LEVELS: [&str; 2] = ["critical", "info"];

/// An endpoint a topic notifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// `email`, `http` or `https` (SNS's protocol names).
    pub protocol: String,
    /// The address or URL.
    pub address: String,
}

/// A notification topic: `<team>_<env>_<level>` (lower-cased) and its endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Topic {
    /// Its name.
    pub name: String,
    /// Its endpoints.
    pub endpoints: Vec<Endpoint>,
}

fn at(ini: &Ini, line: usize) -> String {
    format!("{}:{line}", ini.path.display())
}

/// The topics of environment `env` (the `[notifications]` entries whose second `_` field is it).
pub fn topics(ini: &Ini, env: &str) -> Result<Vec<Topic>, String> {
    let Some(section) = ini.section("notifications") else { return Ok(Vec::new()) };
    let mut topics = Vec::new();
    for (name, entry) in section.options() {
        let fields: Vec<&str> = name.split('_').collect();
        if fields.len() < 3 {
            return Err(format!("{}: [notifications] {name}: keys are <team>_<env>_<level>", at(ini, entry.line)));
        }
        if fields[1] != env {
            continue;
        }
        let level = fields[fields.len() - 1];
        if !LEVELS.contains(&level) {
            return Err(format!(
                "{}: [notifications] {name}: level {level:?} is not critical or info",
                at(ini, entry.line)
            ));
        }
        let mut endpoints = Vec::new();
        for address in entry.value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let protocol = if address.starts_with("https://") {
                "https"
            } else if address.starts_with("http://") {
                "http"
            } else if address.contains('@') {
                "email"
            } else {
                return Err(format!(
                    "{}: [notifications] {name}: {address:?} is neither an email address nor an http(s) URL",
                    at(ini, entry.line)
                ));
            };
            endpoints.push(Endpoint { protocol: protocol.into(), address: address.into() });
        }
        topics.push(Topic { name: name.to_ascii_lowercase(), endpoints });
    }
    Ok(topics)
}

/// What an alarm's dimensions and actions are made of, besides the file.
#[derive(Debug, Clone, Default)]
pub struct AlarmContext<'a> {
    /// The environment.
    pub env: &'a str,
    /// The hostclass.
    pub hostclass: &'a str,
    /// Its autoscaling group (the EC2 alarms' dimension), once it exists.
    pub group: Option<&'a str>,
    /// Its load balancer and target group as CloudWatch names them (`app/<name>/<id>`,
    /// `targetgroup/<name>/<id>`), when it has them.
    pub load_balancer: Option<(&'a str, &'a str)>,
    /// The account, for the topics' ARNs.
    pub account: &'a str,
    /// The region, for the topics' ARNs.
    pub region: &'a str,
}

/// One alarm as CloudWatch keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmSpec {
    /// `<team>_<env>_<hostclass>_<metric>_<max|min>`.
    pub name: String,
    /// The metric's namespace.
    pub namespace: String,
    /// The metric.
    pub metric: String,
    /// Its dimensions.
    pub dimensions: BTreeMap<String, String>,
    /// `GreaterThanThreshold` (max) or `LessThanThreshold` (min).
    pub comparison: String,
    /// The threshold.
    pub threshold: f64,
    /// Periods compared (`duration`).
    pub evaluation_periods: i32,
    /// Seconds per period.
    pub period: i32,
    /// `Average`, `Maximum`, ...
    pub statistic: String,
    /// The level's topic, alerted and told when it is OK again.
    pub actions: Vec<String>,
}

/// An alarm section's name, split: (team, namespace, metric, hostclass if specific).
fn split(name: &str) -> Option<(&str, &str, String, Option<&str>)> {
    let fields: Vec<&str> = name.split('.').collect();
    match fields.as_slice() {
        [team, namespace, metric] => Some((team, namespace, (*metric).to_string(), None)),
        [team, namespace, metric @ .., hostclass] if !metric.is_empty() => {
            Some((team, namespace, metric.join("."), Some(hostclass)))
        }
        _ => None,
    }
}

/// The alarms of `ctx.hostclass` (reference §4.14): each section that applies (its own specific
/// ones, and the generic ones it has no specific section of), options `[defaults]` ∪ the generic
/// parent ∪ the section, one alarm per threshold.
pub fn alarms_for(ini: &Ini, ctx: &AlarmContext<'_>) -> Result<Vec<AlarmSpec>, String> {
    let sections: Vec<_> = ini
        .sections()
        .filter(|s| !matches!(s.name.as_str(), "notifications" | "defaults"))
        .filter_map(|s| Some((s, split(&s.name)?)))
        .collect();
    let specific = |team: &str, namespace: &str, metric: &str| {
        sections
            .iter()
            .any(|(_, (t, n, m, h))| *h == Some(ctx.hostclass) && *t == team && *n == namespace && m == metric)
    };
    let mut alarms = Vec::new();
    for (section, (team, namespace, metric, hostclass)) in &sections {
        match hostclass {
            Some(h) if *h != ctx.hostclass => continue,
            None if specific(team, namespace, metric) => continue,
            _ => {}
        }
        // [defaults] ∪ the generic parent ∪ this section, each option with its line.
        let parent = hostclass.and_then(|_| ini.section(&format!("{team}.{namespace}.{metric}")));
        let mut options: BTreeMap<&str, (&str, usize)> = BTreeMap::new();
        for s in [ini.section("defaults"), parent, Some(*section)].into_iter().flatten() {
            for (name, entry) in s.options() {
                options.insert(name, (entry.value.trim(), entry.line));
            }
        }
        let get = |key: &str| options.get(key).copied();
        let number = |key: &str, default: i32| -> Result<i32, String> {
            match get(key) {
                None => Ok(default),
                Some((v, line)) => v.parse::<i32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    format!("{}: [{}] {key}: {v:?} is not a positive whole number", at(ini, line), section.name)
                }),
            }
        };
        let period = number("period", 300)?;
        let evaluation_periods = number("duration", 1)?;
        let statistic = get("statistic").map_or("Average", |(v, _)| v).to_string();
        let (level, level_line) = get("level").unwrap_or(("", section.line));
        if !LEVELS.contains(&level) {
            return Err(format!("{}: [{}] level {level:?} is not critical or info", at(ini, level_line), section.name));
        }
        let log_pattern = get("log_pattern_metric").is_some_and(|(v, _)| truthy(v));
        let custom = get("custom_metric").is_some_and(|(v, _)| truthy(v));
        let (namespace_used, metric_used, dimensions) = if log_pattern {
            (format!("{namespace}/{}", ctx.env), format!("{}-{metric}", ctx.hostclass), BTreeMap::new())
        } else {
            let dimensions = match *namespace {
                "AWS/RDS" => {
                    BTreeMap::from([("DBInstanceIdentifier".to_string(), format!("{}-{}", ctx.env, ctx.hostclass))])
                }
                "AWS/ApplicationELB" | "AWS/NetworkELB" | "AWS/ELB" => {
                    let Some((lb, tg)) = ctx.load_balancer else {
                        return Err(format!(
                            "[{}]: hostclass {} has no load balancer to watch",
                            section.name, ctx.hostclass
                        ));
                    };
                    BTreeMap::from([
                        ("LoadBalancer".to_string(), lb.to_string()),
                        ("TargetGroup".to_string(), tg.to_string()),
                    ])
                }
                _ if custom => {
                    BTreeMap::from([("env_hostclass".to_string(), format!("{}_{}", ctx.env, ctx.hostclass))])
                }
                _ => {
                    let Some(group) = ctx.group else {
                        return Err(format!(
                            "[{}]: hostclass {} has no autoscaling group to watch",
                            section.name, ctx.hostclass
                        ));
                    };
                    BTreeMap::from([("AutoScalingGroupName".to_string(), group.to_string())])
                }
            };
            (namespace.to_string(), metric.clone(), dimensions)
        };
        let topic = format!("arn:aws:sns:{}:{}:{team}_{}_{level}", ctx.region, ctx.account, ctx.env);
        for (key, kind, comparison) in
            [("threshold_max", "max", "GreaterThanThreshold"), ("threshold_min", "min", "LessThanThreshold")]
        {
            let Some((value, line)) = get(key) else { continue };
            if value.is_empty() || !value.chars().all(|c| c.is_ascii_digit()) {
                return Err(format!(
                    "{}: [{}] {key} must be a whole number, not {value:?}",
                    at(ini, line),
                    section.name
                ));
            }
            alarms.push(AlarmSpec {
                name: format!("{team}_{}_{}_{metric}_{kind}", ctx.env, ctx.hostclass),
                namespace: namespace_used.clone(),
                metric: metric_used.clone(),
                dimensions: dimensions.clone(),
                comparison: comparison.to_string(),
                threshold: value.parse::<f64>().unwrap_or_default(),
                evaluation_periods,
                period,
                statistic: statistic.clone(),
                actions: vec![topic.clone()],
            });
        }
    }
    Ok(alarms)
}

#[cfg(test)]
mod tests;
