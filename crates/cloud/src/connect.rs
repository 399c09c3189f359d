//! Building the clients: one `SdkConfig` for every service, made once per command.

use crate::error::Classify as _;
use crate::error::CloudError;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};

/// The pinned SDK behaviour version. Bump it on purpose: a new one can change retry and timeout
/// defaults (v2026_01_12: retries on for every client, 3.1 s connect timeout).
fn behavior_version() -> BehaviorVersion {
    BehaviorVersion::v2026_01_12()
}

/// The pinned behaviour version, for `--version`-style reports.
pub const BEHAVIOR_VERSION_NAME: &str = "v2026_01_12";

/// How to reach AWS, from the command line (each `None` falls back to the SDK's standard chain:
/// `AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_MAX_ATTEMPTS`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsSettings {
    /// Named profile from the shared config files.
    pub profile: Option<String>,
    /// Region; required from somewhere (flag, environment or profile).
    pub region: Option<String>,
    /// Endpoint for every service (local emulators).
    pub endpoint_url: Option<String>,
    /// Total attempts per call, first try included (standard retry mode with throttling backoff).
    pub max_attempts: Option<u32>,
}

/// Every client a command may need, built from one shared configuration.
#[derive(Debug, Clone)]
pub struct Clients {
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) elb: aws_sdk_elasticloadbalancingv2::Client,
    pub(crate) acm: aws_sdk_acm::Client,
    pub(crate) autoscaling: aws_sdk_autoscaling::Client,
    pub(crate) sts: aws_sdk_sts::Client,
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) route53: aws_sdk_route53::Client,
    pub(crate) s3: aws_sdk_s3::Client,
    pub(crate) ssm: aws_sdk_ssm::Client,
    region: String,
}

impl Clients {
    /// The region the clients talk to.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The account the credentials belong to (STS GetCallerIdentity).
    pub async fn account_id(&self) -> Result<String, CloudError> {
        let out = self.sts.get_caller_identity().send().await.classify("GetCallerIdentity")?;
        Ok(out.account.unwrap_or_default())
    }
}

/// Builds the clients. Fails when no region can be found: an ops tool must never guess a region.
pub async fn connect(settings: &AwsSettings) -> Result<Clients, CloudError> {
    let mut loader = aws_config::defaults(behavior_version());
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &settings.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(attempts) = settings.max_attempts {
        // Standard mode: exponential backoff with jitter, throttling and transient errors retried,
        // a client-side retry quota so an outage fails fast instead of storming.
        loader = loader.retry_config(RetryConfig::standard().with_max_attempts(attempts.max(1)));
    }
    let config = loader.load().await;
    let region = config.region().map(ToString::to_string).ok_or_else(|| {
        CloudError::config("no AWS region: pass --region, set AWS_REGION, or set a region in the profile")
    })?;
    // One classifier for all clients: an answer to any of them shows the endpoint is reachable.
    let contact = crate::reach::FirstContact::default();
    macro_rules! client {
        ($sdk:ident) => {
            $sdk::Client::from_conf(
                $sdk::config::Builder::from(&config)
                    .retry_classifier(contact.clone())
                    .interceptor(contact.clone())
                    .build(),
            )
        };
    }
    Ok(Clients {
        ec2: client!(aws_sdk_ec2),
        elb: client!(aws_sdk_elasticloadbalancingv2),
        acm: client!(aws_sdk_acm),
        autoscaling: client!(aws_sdk_autoscaling),
        sts: client!(aws_sdk_sts),
        iam: client!(aws_sdk_iam),
        route53: client!(aws_sdk_route53),
        ssm: client!(aws_sdk_ssm),
        // Path-style addressing: Asiaq's credential bucket names contain dots
        // (`us-west-2.<project>.credentials.<env>`), which break virtual-hosted TLS names.
        s3: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .retry_classifier(contact.clone())
                .interceptor(contact)
                .build(),
        ),
        region,
    })
}
