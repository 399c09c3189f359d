//! The undo log of a bake: each step registers how to take back what it is about to make, *before*
//! it makes it, and by name or run tag rather than by id, so that a step interrupted with its call in
//! flight is still undone (Packer leaked instances whose id it stored too late).

use sila_cloud::Clients;
use sila_core::bake::RUN_TAG;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Budget for taking everything back: terminating a builder takes a minute or two on AWS.
const UNDO_BUDGET: Duration = Duration::from_secs(15 * 60);

/// One thing to take back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Undo {
    /// Delete the temporary key pair of this name.
    KeyPair(String),
    /// Delete the temporary security group of this name in this VPC.
    Group { vpc_id: String, name: String },
    /// Terminate every instance tagged with this run id.
    Builders(String),
    /// Deregister every image tagged with this run id, and delete its snapshots.
    Images(String),
}

impl Undo {
    fn describe(&self) -> String {
        match self {
            Undo::KeyPair(name) => format!("delete key pair {name}"),
            Undo::Group { name, .. } => format!("delete security group {name}"),
            Undo::Builders(run) => format!("terminate the builder of run {run}"),
            Undo::Images(run) => format!("deregister the image of run {run}"),
        }
    }

    async fn apply(&self, clients: &Clients, deadline: Instant) -> anyhow::Result<()> {
        match self {
            Undo::KeyPair(name) => clients.delete_key_pair(name).await?,
            Undo::Group { vpc_id, name } => {
                for id in clients.groups_named(vpc_id, name).await? {
                    clients.delete_group_when_free(&id, deadline).await?;
                }
            }
            Undo::Builders(run) => {
                let ids: Vec<String> = clients.machines_tagged(RUN_TAG, run).await?.into_iter().map(|m| m.id).collect();
                clients.terminate_machines(&ids, deadline).await?;
            }
            Undo::Images(run) => {
                for image in clients.images_tagged(RUN_TAG, run).await? {
                    clients.delete_image(&image).await?;
                }
            }
        }
        Ok(())
    }
}

/// The steps' undos, shared between the bake and whoever stops it.
#[derive(Debug, Clone, Default)]
pub(crate) struct UndoLog(Arc<Mutex<Vec<Undo>>>);

impl UndoLog {
    /// Registers `undo`, to be run before those registered earlier.
    pub fn push(&self, undo: Undo) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(undo);
    }

    /// Forgets `undo`: what it would take back is kept (the finished image).
    pub fn keep(&self, undo: &Undo) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).retain(|u| u != undo);
    }

    /// Takes everything back, newest first. Every undo is tried even when one fails; the failures
    /// are returned (what they left carries the run tag, for `reap`).
    pub async fn unwind(&self, clients: &Clients) -> Vec<String> {
        let undos: Vec<Undo> = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        let deadline = Instant::now() + UNDO_BUDGET;
        let mut failures = Vec::new();
        for undo in undos.iter().rev() {
            tracing::info!("undo: {}", undo.describe());
            if let Err(e) = undo.apply(clients, deadline).await {
                failures.push(format!("{}: {e:#}", undo.describe()));
            }
        }
        failures
    }
}
