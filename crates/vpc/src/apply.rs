//! Running a plan: level by level, the steps of a level concurrently (bounded), the ids each step
//! creates feeding the next levels. A failure stops after its level and says what exists.

use futures::stream::{self, StreamExt as _};
use sila_cloud::{Clients, CloudError};
use sila_core::vpc_plan::{Key, Plan};
use std::collections::BTreeMap;
use std::fmt;

/// Steps in flight at once. EC2 gives each mutating API its own bucket with a burst of 50 calls, and no
/// level of an environment sends more than a dozen calls of one API (a subnet, route table or
/// association per zone and metanetwork), so a whole level goes out at once; throttling beyond
/// that is retried with backoff.
const CONCURRENCY: usize = 32;

/// Steps that failed, and what exists now.
#[derive(Debug)]
pub struct ApplyError {
    /// `(step, error)` for each failed step.
    pub failures: Vec<(String, CloudError)>,
    /// Everything that exists (read before, or created by this run).
    pub exists: BTreeMap<Key, String>,
    /// The environment, for the hint.
    pub name: String,
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} step(s) failed:", self.failures.len())?;
        for (step, e) in &self.failures {
            writeln!(f, "  {step}: {e}")?;
        }
        let ids: Vec<&str> = self.exists.values().map(String::as_str).collect();
        writeln!(f, "exists now: {}", if ids.is_empty() { "nothing".to_string() } else { ids.join(" ") })?;
        write!(f, "hint: `sila-vpc update --name {}` completes the environment without duplicating anything", self.name)
    }
}

impl std::error::Error for ApplyError {}

/// Applies `plan`; `ids` are the ids of what exists already. Returns every id known at the end.
pub async fn apply(
    clients: &Clients,
    plan: &Plan,
    mut ids: BTreeMap<Key, String>,
    name: &str,
) -> Result<BTreeMap<Key, String>, ApplyError> {
    let levels = plan.levels();
    for (n, level) in levels.iter().enumerate() {
        tracing::info!("level {}/{}: {} step(s)", n + 1, levels.len(), level.len());
        let known = ids.clone();
        let results: Vec<_> = stream::iter(level.iter())
            .map(|s| {
                let known = &known;
                async move { (s.step.to_string(), clients.run_step(&s.step, known).await) }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut failures = Vec::new();
        for (step, result) in results {
            match result {
                Ok(Some((key, id))) => {
                    tracing::debug!("{step}: {id}");
                    ids.insert(key, id);
                }
                Ok(None) => tracing::debug!("{step}: done"),
                Err(e) => failures.push((step, e)),
            }
        }
        if !failures.is_empty() {
            return Err(ApplyError { failures, exists: ids, name: name.to_string() });
        }
    }
    Ok(ids)
}
