//! Route 53: hosted zones, their record sets (every page), and one change batch per zone, waited
//! for until it is in sync. Throttling and `PriorRequestNotComplete` (Route 53's answer while an
//! earlier change to the zone is still being applied) are retried with backoff by the SDK's
//! standard retry, which counts both as throttling.

use crate::error::Classify as _;
use crate::error::CloudError;
use crate::Clients;
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction as SdkAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use sila_core::dns::{absolute, same_name, Alias, ChangeAction, Record, RecordChange, Zone, ZoneChange};
use std::time::Duration;

/// How long a change batch may take to be in sync (Route 53 says within 60 seconds).
pub const CHANGE_WAIT: Duration = Duration::from_secs(300);

/// A request Sila could not put together (a value Route 53's model refuses).
fn invalid(op: &'static str, e: &impl std::fmt::Display) -> CloudError {
    CloudError { op, kind: crate::ErrorKind::Invalid, code: None, message: e.to_string(), request_id: None }
}

fn record_of(set: &ResourceRecordSet) -> Record {
    Record {
        name: absolute(set.name()),
        kind: set.r#type().as_str().to_string(),
        ttl: set.ttl(),
        values: set.resource_records().iter().map(|r| r.value().to_string()).collect(),
        alias: set.alias_target().map(|a| Alias {
            zone_id: a.hosted_zone_id().to_string(),
            dns_name: a.dns_name().to_string(),
            evaluate_health: a.evaluate_target_health(),
        }),
    }
}

fn record_set(record: &Record) -> Result<ResourceRecordSet, CloudError> {
    const OP: &str = "ChangeResourceRecordSets";
    let mut set = ResourceRecordSet::builder().name(&record.name).r#type(RrType::from(record.kind.as_str()));
    match &record.alias {
        Some(alias) => {
            let target = AliasTarget::builder()
                .hosted_zone_id(&alias.zone_id)
                .dns_name(&alias.dns_name)
                .evaluate_target_health(alias.evaluate_health)
                .build()
                .map_err(|e| invalid(OP, &e))?;
            set = set.alias_target(target);
        }
        None => {
            set = set.set_ttl(record.ttl);
            for value in &record.values {
                set =
                    set.resource_records(ResourceRecord::builder().value(value).build().map_err(|e| invalid(OP, &e))?);
            }
        }
    }
    set.build().map_err(|e| invalid(OP, &e))
}

impl Clients {
    /// Every hosted zone of the account (every page).
    pub async fn hosted_zones(&self) -> Result<Vec<Zone>, CloudError> {
        let mut zones = Vec::new();
        let mut marker = None;
        loop {
            let out = self.route53.list_hosted_zones().set_marker(marker).send().await.classify("ListHostedZones")?;
            zones.extend(out.hosted_zones().iter().map(|z| Zone {
                id: z.id().trim_start_matches("/hostedzone/").to_string(),
                name: absolute(z.name()),
                private: z.config().is_some_and(|c| c.private_zone()),
                records: z.resource_record_set_count().unwrap_or_default(),
            }));
            marker = out.next_marker().map(str::to_string);
            if !out.is_truncated() || marker.is_none() {
                return Ok(zones);
            }
        }
    }

    /// Every record set of zone `zone_id` (every page).
    pub async fn records(&self, zone_id: &str) -> Result<Vec<Record>, CloudError> {
        let mut records = Vec::new();
        let (mut name, mut kind, mut identifier) = (None, None, None);
        loop {
            let out = self
                .route53
                .list_resource_record_sets()
                .hosted_zone_id(zone_id)
                .set_start_record_name(name)
                .set_start_record_type(kind)
                .set_start_record_identifier(identifier)
                .send()
                .await
                .classify("ListResourceRecordSets")?;
            records.extend(out.resource_record_sets().iter().map(record_of));
            if !out.is_truncated() {
                return Ok(records);
            }
            name = out.next_record_name().map(str::to_string);
            kind = out.next_record_type().cloned();
            identifier = out.next_record_identifier().map(str::to_string);
        }
    }

    /// The alias records, in every zone, that point at one of `dns_names` (load balancers going
    /// away), as one deletion per zone; no other record.
    pub async fn aliases_of(&self, dns_names: &[String]) -> Result<Vec<ZoneChange>, CloudError> {
        if dns_names.is_empty() {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        for zone in self.hosted_zones().await? {
            let changes: Vec<RecordChange> = self
                .records(&zone.id)
                .await?
                .into_iter()
                .filter(|r| r.alias.as_ref().is_some_and(|a| dns_names.iter().any(|n| same_name(n, &a.dns_name))))
                .map(|record| RecordChange { action: ChangeAction::Delete, record, replaces: None })
                .collect();
            if !changes.is_empty() {
                found.push(ZoneChange { zone_id: zone.id, zone_name: zone.name, changes });
            }
        }
        Ok(found)
    }

    /// Sends `changes` to zone `zone_id` as one batch (applied all or nothing) and waits until it
    /// is in sync; the change id.
    pub async fn change_records(
        &self,
        zone_id: &str,
        changes: &[RecordChange],
        comment: &str,
    ) -> Result<String, CloudError> {
        const OP: &str = "ChangeResourceRecordSets";
        let mut batch = ChangeBatch::builder().comment(comment);
        for change in changes {
            let action = match change.action {
                ChangeAction::Upsert => SdkAction::Upsert,
                ChangeAction::Delete => SdkAction::Delete,
            };
            let change = Change::builder()
                .action(action)
                .resource_record_set(record_set(&change.record)?)
                .build()
                .map_err(|e| invalid(OP, &e))?;
            batch = batch.changes(change);
        }
        let out = self
            .route53
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(batch.build().map_err(|e| invalid(OP, &e))?)
            .send()
            .await
            .classify(OP)?;
        let id = out.change_info().map(|c| c.id().to_string()).unwrap_or_default();
        if !id.is_empty() {
            tracing::info!(
                "waiting for change {id} to zone {zone_id} to be in sync (up to {}s)",
                CHANGE_WAIT.as_secs()
            );
            use aws_sdk_route53::client::Waiters as _;
            self.route53
                .wait_until_resource_record_sets_changed()
                .id(&id)
                .wait(CHANGE_WAIT)
                .await
                .map_err(|e| CloudError::waiting("ResourceRecordSetsChanged", &id, &e))?;
        }
        Ok(id.trim_start_matches("/change/").to_string())
    }
}
