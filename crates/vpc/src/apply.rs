//! Running an environment's plan on the shared runner (`sila_cli::converge::apply`): each step
//! as soon as the steps it waits for are done, the ids each step creates feeding the steps after
//! it. A failure stops new steps and says what exists.

use sila_cli::converge::{self, StepsFailed};
use sila_cloud::Clients;
use sila_core::vpc_plan::{Key, Plan};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

/// Steps in flight at once. EC2 gives each mutating API its own bucket with a burst of 50 calls, and no
/// level of an environment sends more than a dozen calls of one API (a subnet, route table or
/// association per zone and metanetwork), so a whole level goes out at once; throttling beyond
/// that is retried with backoff.
pub(crate) const CONCURRENCY: usize = 32;

/// Steps that failed, and what exists now.
#[derive(Debug)]
pub struct ApplyError {
    /// The failed steps.
    pub failed: StepsFailed,
    /// Everything that exists (read before, or created by this run).
    pub exists: BTreeMap<Key, String>,
    /// The environment, for the hint.
    pub name: String,
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.failed)?;
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
    ids: BTreeMap<Key, String>,
    name: &str,
) -> Result<BTreeMap<Key, String>, ApplyError> {
    // A step starts only once the steps it waits for are done, and each inserts what it made before
    // it counts as done: the ids a step reads at its start include everything it needs.
    let known = Mutex::new(ids);
    let ran = converge::apply(plan, CONCURRENCY, ToString::to_string, |s| {
        let known = &known;
        async move {
            let now = known.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let made = clients.run_step(&s.step.action, &now).await?;
            if let Some((key, id)) = made {
                tracing::debug!("{}: {id}", s.step);
                known.lock().unwrap_or_else(|e| e.into_inner()).insert(key, id);
            }
            Ok::<_, sila_cloud::CloudError>(())
        }
    })
    .await;
    let exists = known.into_inner().unwrap_or_else(|e| e.into_inner());
    match ran {
        Ok(_) => Ok(exists),
        Err(failed) => Err(ApplyError { failed, exists, name: name.to_string() }),
    }
}
