//! The one flow of every command that changes AWS, around a [`Plan`] from core: show the plan;
//! stop after it on `--dry-run`, when there is nothing to change, or (refused, nothing changed)
//! when it holds destructive steps that were not allowed; else run it as a graph with progress
//! and say what failed. Each tool keeps only its own words: the header, the report, the hint.

use crate::run::{destructive_refused, UsageError};
use crate::Progress;
use sila_core::plan::{execute, Plan, Planned};
use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;

/// How the operator asked for the plan to be taken.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    /// Only show the plan (`--dry-run`).
    pub dry_run: bool,
    /// Destructive steps may run (`--allow-destructive`).
    pub allow_destructive: bool,
}

/// What to do after the plan was shown.
#[derive(Debug)]
pub enum Decision {
    /// Run the plan.
    Apply,
    /// Stop here with success: a dry run, or nothing to change.
    Show,
    /// Stop here refused: destructive steps that were not allowed (exit 2, nothing changed).
    Refuse(UsageError),
}

impl Mode {
    /// Decides, for a plan that is `settled` (nothing to change) or not and holds the
    /// `destructive` steps (as the operator reads them). A dry run is never refused: it shows.
    pub fn decide(&self, settled: bool, destructive: &[String]) -> Decision {
        if self.dry_run || settled {
            Decision::Show
        } else if !destructive.is_empty() && !self.allow_destructive {
            Decision::Refuse(destructive_refused(destructive))
        } else {
            Decision::Apply
        }
    }
}

impl Decision {
    /// The command's result when it stops here: `Ok` for [`Decision::Show`], the refusal for
    /// [`Decision::Refuse`].
    pub fn stop(self) -> anyhow::Result<()> {
        match self {
            Decision::Refuse(refused) => Err(refused.into()),
            Decision::Apply | Decision::Show => Ok(()),
        }
    }
}

/// Steps of a run that failed, as the operator reads them, and how far the run got.
#[derive(Debug)]
pub struct StepsFailed {
    /// `(step, error)` for each failed step.
    pub failures: Vec<(String, String)>,
    /// Steps that succeeded before the run stopped.
    pub done: usize,
    /// Steps never started because of the failure.
    pub not_started: usize,
}

impl StepsFailed {
    /// The error for a command whose steps used to fail one at a time: a single failure reads as
    /// that step's own error did; several are listed with their steps.
    pub fn into_error(self) -> anyhow::Error {
        if let [(_, error)] = self.failures.as_slice() {
            return anyhow::anyhow!("{error}");
        }
        anyhow::anyhow!("{self}")
    }
}

impl Display for StepsFailed {
    /// `N step(s) failed:`, one indented line per failure, and how many steps the failure kept
    /// from starting (the tool adds what exists and its hint).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} step(s) failed:", self.failures.len())?;
        for (step, e) in &self.failures {
            write!(f, "\n  {step}: {e}")?;
        }
        if self.not_started > 0 {
            write!(f, "\n  ({} step(s) done, {} not started)", self.done, self.not_started)?;
        }
        Ok(())
    }
}

/// Runs `plan` through `start` (the tool's AWS call for one step), each step as soon as the steps
/// it waits for are done, at most `limit` at once; a progress line on a terminal, one log line at
/// the start (each step's end at debug level). Returns each step's output by id, or what failed.
pub async fn apply<'p, S, O, E, F, Fut>(
    plan: &'p Plan<S>,
    limit: usize,
    describe: impl Fn(&S) -> String,
    mut start: F,
) -> Result<BTreeMap<usize, O>, StepsFailed>
where
    E: Display,
    F: FnMut(&'p Planned<S>) -> Fut,
    Fut: Future<Output = Result<O, E>>,
{
    let total = plan.steps.len();
    tracing::info!("applying {total} step(s) in {} level(s), up to {limit} at once", plan.depth());
    let progress = std::sync::Mutex::new((Progress::start(), 0usize));
    let executed = execute(plan, limit, |step| {
        let work = start(step);
        let (progress, describe) = (&progress, &describe);
        async move {
            let result = work.await;
            let shown = describe(&step.step);
            match &result {
                Ok(_) => tracing::debug!("{shown}: done"),
                Err(e) => tracing::debug!("{shown}: {e}"),
            }
            if let Ok(mut guard) = progress.lock() {
                let (bar, finished) = &mut *guard;
                *finished += 1;
                bar.show(&format!("{finished}/{total} step(s): {shown}"));
            }
            result
        }
    })
    .await;
    drop(progress);
    if executed.failed.is_empty() {
        return Ok(executed.done);
    }
    let failures = executed.failed.iter().map(|(id, e)| (describe(&plan.steps[*id].step), e.to_string())).collect();
    Err(StepsFailed { failures, done: executed.done.len(), not_started: executed.not_started.len() })
}
