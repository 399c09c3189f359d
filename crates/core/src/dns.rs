//! DNS records in Route 53 zones: names as Route 53 writes them (absolute, with the trailing dot,
//! `*` read back as `\052`), a record's values checked by its type, and the plan that makes a zone
//! hold a record, or no longer hold one. A plan is empty when the zone already is as asked, so a
//! re-run sends no change; every change to one zone is one change batch (Route 53 allows 5
//! requests a second per account, and a batch is applied all or nothing).

use crate::plan::Plan;
use serde::Serialize;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The record types `create-record` writes (alias records are made for load balancers only).
pub const RECORD_TYPES: [&str; 10] = ["A", "AAAA", "CNAME", "TXT", "MX", "NS", "PTR", "SRV", "SPF", "CAA"];

/// A hosted zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Zone {
    /// Its id without the `/hostedzone/` prefix.
    pub id: String,
    /// Its name, with the trailing dot.
    pub name: String,
    /// Whether it is private (answers inside its VPCs only).
    pub private: bool,
    /// How many record sets it holds.
    pub records: i64,
}

/// Where an alias record points (a load balancer, or another record of the zone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alias {
    /// The hosted zone of the target (a load balancer's canonical zone).
    pub zone_id: String,
    /// The target's DNS name.
    pub dns_name: String,
    /// Whether the target's health is evaluated.
    pub evaluate_health: bool,
}

/// A record set: a name and type with its values (or an alias target).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// Absolute name, with the trailing dot.
    pub name: String,
    /// `A`, `CNAME`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Time to live in seconds (none for an alias).
    pub ttl: Option<i64>,
    /// Its values.
    pub values: Vec<String>,
    /// Its alias target, for an alias record.
    pub alias: Option<Alias>,
}

impl Record {
    /// True when `self` and `other` answer the same (values in any order; names in any case).
    pub fn same_as(&self, other: &Record) -> bool {
        let sorted = |r: &Record| {
            let mut v = r.values.clone();
            v.sort();
            v
        };
        same_name(&self.name, &other.name)
            && self.kind == other.kind
            && self.ttl == other.ttl
            && sorted(self) == sorted(other)
            && self.alias == other.alias
    }

    /// What it answers, as people read it: `60 10.0.0.1, 10.0.0.2` or `alias lb.example.com.`.
    pub fn answer(&self) -> String {
        match &self.alias {
            Some(alias) => format!("alias {}", alias.dns_name),
            None => format!("{} {}", self.ttl.unwrap_or_default(), self.values.join(", ")),
        }
    }
}

/// Whether a change writes a record or removes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChangeAction {
    /// Create, or replace the record of the same name and type.
    Upsert,
    /// Remove the record exactly as it is.
    Delete,
}

/// One record change of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordChange {
    /// Write or remove.
    pub action: ChangeAction,
    /// The record written, or removed exactly as it was read (Route 53 deletes only an exact match).
    pub record: Record,
    /// For an upsert that replaces a record: the record replaced.
    pub replaces: Option<Record>,
}

impl fmt::Display for RecordChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.record;
        match (self.action, &self.replaces) {
            (ChangeAction::Delete, _) => write!(f, "delete {} {} ({})", r.kind, r.name, r.answer()),
            (ChangeAction::Upsert, None) => write!(f, "create {} {} {}", r.kind, r.name, r.answer()),
            (ChangeAction::Upsert, Some(old)) => {
                write!(f, "change {} {} to {} (was {})", r.kind, r.name, r.answer(), old.answer())
            }
        }
    }
}

/// The changes to one zone, sent as one change batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZoneChange {
    /// The zone's id.
    pub zone_id: String,
    /// The zone's name.
    pub zone_name: String,
    /// The changes, in order.
    pub changes: Vec<RecordChange>,
}

impl fmt::Display for ZoneChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let changes: Vec<String> = self.changes.iter().map(ToString::to_string).collect();
        write!(f, "in zone {}: {}", self.zone_name, changes.join("; "))
    }
}

/// `name` with the trailing dot Route 53 writes, and `\052` (how it lists `*`) read as `*`.
pub fn absolute(name: &str) -> String {
    let name = name.trim().replace("\\052", "*");
    if name.ends_with('.') {
        name
    } else {
        format!("{name}.")
    }
}

/// True when two names are the same DNS name (case and a trailing dot aside).
pub fn same_name(a: &str, b: &str) -> bool {
    absolute(a).eq_ignore_ascii_case(&absolute(b))
}

/// The zone `given` names: by name with or without its trailing dot, or by id (with or without
/// `/hostedzone/`). More than one zone of that name (a public and a private one) must be told
/// apart by id.
pub fn find_zone<'z>(zones: &'z [Zone], given: &str) -> Result<&'z Zone, String> {
    let id = given.trim_start_matches("/hostedzone/");
    if let Some(zone) = zones.iter().find(|z| z.id == id) {
        return Ok(zone);
    }
    let named: Vec<&Zone> = zones.iter().filter(|z| same_name(&z.name, given)).collect();
    match named.as_slice() {
        [zone] => Ok(zone),
        [] => Err(format!("no hosted zone {given} (sila-route53 list-zones lists them)")),
        many => {
            let ids: Vec<String> =
                many.iter().map(|z| format!("{} ({})", z.id, if z.private { "private" } else { "public" })).collect();
            Err(format!("{} zones are named {given}: give --zone one of their ids: {}", many.len(), ids.join(", ")))
        }
    }
}

/// The zone for names under `domain`: the one of that name; of a public and a private one of that
/// name, the `private` one when asked for (an internal load balancer's names), else the public one.
pub fn zone_for<'z>(zones: &'z [Zone], domain: &str, private: bool) -> Option<&'z Zone> {
    let named: Vec<&Zone> = zones.iter().filter(|z| same_name(&z.name, domain)).collect();
    named.iter().find(|z| z.private == private).or_else(|| named.first()).copied()
}

/// `name` as an absolute name inside `zone`, or why it is not one.
pub fn name_in_zone(name: &str, zone: &Zone) -> Result<String, String> {
    let full = absolute(name);
    let zone_name = absolute(&zone.name);
    let inside = full.eq_ignore_ascii_case(&zone_name)
        || full.to_ascii_lowercase().ends_with(&format!(".{}", zone_name.to_ascii_lowercase()));
    if full.len() > 255 || full.split('.').any(|label| label.len() > 63) {
        return Err(format!("{name}: a DNS name has at most 255 characters and 63 per label"));
    }
    match inside {
        true => Ok(full),
        false => Err(format!("{name} is not in zone {zone_name}")),
    }
}

/// Checks a record type and its values (an `A` record holds IPv4 addresses, a `CNAME` exactly one
/// name, ...): the reason when they cannot be written.
pub fn check_values(kind: &str, values: &[String]) -> Result<(), String> {
    if !RECORD_TYPES.contains(&kind) {
        return Err(format!("unknown record type {kind} (one of {})", RECORD_TYPES.join(", ")));
    }
    if values.is_empty() || values.iter().any(|v| v.trim().is_empty()) {
        return Err(format!("a {kind} record needs a non-empty --value"));
    }
    for value in values {
        let ok = match kind {
            "A" => value.parse::<Ipv4Addr>().is_ok(),
            "AAAA" => value.parse::<Ipv6Addr>().is_ok(),
            "CNAME" | "NS" | "PTR" => !value.contains(char::is_whitespace),
            _ => true,
        };
        if !ok {
            let want = match kind {
                "A" => "an IPv4 address",
                "AAAA" => "an IPv6 address",
                _ => "one DNS name",
            };
            return Err(format!("{value:?} is not {want}, as a {kind} record's value must be"));
        }
    }
    if kind == "CNAME" && values.len() > 1 {
        return Err("a CNAME record has exactly one value".to_string());
    }
    Ok(())
}

/// The plan that makes `zone` hold `wanted` (nothing when a record of its name and type already
/// answers the same; a replacement says what it replaces).
pub fn plan_put(zone: &Zone, existing: &[Record], wanted: Record) -> Plan<ZoneChange> {
    let current = existing.iter().find(|r| same_name(&r.name, &wanted.name) && r.kind == wanted.kind);
    let mut plan = Plan::new();
    if current.is_some_and(|c| c.same_as(&wanted)) {
        return plan;
    }
    let change = RecordChange { action: ChangeAction::Upsert, record: wanted, replaces: current.cloned() };
    let replaces = change.replaces.is_some();
    let step = plan.add(zone_change(zone, vec![change]), []);
    if replaces {
        step.because("the record exists with another answer");
    }
    plan
}

/// The plan that removes the record `name` of type `kind` from `zone` (nothing when there is none).
pub fn plan_delete(zone: &Zone, existing: &[Record], name: &str, kind: &str) -> Plan<ZoneChange> {
    let mut plan = Plan::new();
    if let Some(record) = existing.iter().find(|r| same_name(&r.name, name) && r.kind == kind) {
        let change = RecordChange { action: ChangeAction::Delete, record: record.clone(), replaces: None };
        plan.add(zone_change(zone, vec![change]), []).destructive(true);
    }
    plan
}

fn zone_change(zone: &Zone, changes: Vec<RecordChange>) -> ZoneChange {
    ZoneChange { zone_id: zone.id.clone(), zone_name: zone.name.clone(), changes }
}

#[cfg(test)]
mod tests;
