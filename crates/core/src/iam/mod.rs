//! IAM from the `iam/` directory: the desired state ([`spec`]) and the sync plan ([`plan`]).

pub mod plan;
pub mod spec;
