//! The adapter between Sila and AWS: the only product crate that depends on the AWS SDK.
//!
//! It builds every client from one `SdkConfig` (pinned behaviour version, standard retries with
//! throttling backoff, the standard credential and region chains, `--endpoint-url` for emulators),
//! turns SDK errors into [`CloudError`] at the boundary, and offers filtered, paginated finders that
//! return plain Sila types. No SDK type appears in its public API, so tools never recompile the SDK.

mod autoscaling;
pub mod bake;
mod buckets;
mod connect;
pub mod ec2;
pub mod elb;
pub mod elb_apply;
pub mod elb_state;
mod error;
mod finders;
pub mod hosts;
pub mod iam;
pub mod images;
pub mod peering;
pub mod provision;
mod reach;
pub mod route53;
pub mod ssm;
mod templates;
pub mod vpc;

pub use connect::{connect, AwsSettings, Clients, BEHAVIOR_VERSION_NAME};
pub use error::{CloudError, ErrorKind};
