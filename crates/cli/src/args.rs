//! The flags every tool accepts, flattened into each tool's clap parser.

use clap::{Args, ValueEnum};
use sila_cloud::AwsSettings;
use sila_core::config::{AwsConfig, ConfigDir, GLOBAL_SECTION};
use sila_core::environment::validate_name;
use std::path::PathBuf;

/// `--output`: human tables or machine JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people.
    #[default]
    Text,
    /// One JSON document on stdout, for scripts and Jenkins.
    Json,
}

/// Attempts per AWS call unless told otherwise. More than the SDK's 3: an environment is built with
/// dozens of concurrent calls, and Asiaq retried throttling for minutes.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

/// How to reach AWS.
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// Named AWS profile [env: AWS_PROFILE]
    #[arg(long, global = true, value_name = "NAME", help_heading = "AWS")]
    pub profile: Option<String>,

    /// AWS region [env: AWS_REGION]
    #[arg(long, global = true, value_name = "REGION", help_heading = "AWS")]
    pub region: Option<String>,

    /// Send every AWS call to this endpoint, e.g. a local emulator [env: AWS_ENDPOINT_URL,
    /// AWS_ENDPOINT_URL_<SERVICE>]
    #[arg(long, global = true, value_name = "URL", help_heading = "AWS")]
    pub endpoint_url: Option<String>,

    /// Attempts per AWS call, first try included; throttling and transient errors are retried with
    /// exponential backoff (capped at 20 s), within the SDK's retry quota
    #[arg(long, global = true, value_name = "N", help_heading = "AWS", env = "AWS_MAX_ATTEMPTS",
          default_value_t = DEFAULT_MAX_ATTEMPTS, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
}

impl AwsArgs {
    /// The settings for `sila_cloud::connect`.
    pub fn settings(&self) -> AwsSettings {
        AwsSettings {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            max_attempts: Some(self.max_attempts),
        }
    }
}

/// Refuses an environment name from the command line that breaks the one rule (core's
/// `validate_name`), naming the argument: a usage error (exit 2).
pub fn check_environment_name(argument: &str, name: &str) -> Result<(), crate::UsageError> {
    validate_name(name).map_err(|e| crate::UsageError(format!("{argument}: {e}")))
}

/// Flags shared by every Sila tool.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Configuration directory [default: $SILA_CONFIG_DIR, else $ASIAQ_CONFIG, else the current directory]
    #[arg(long, global = true, value_name = "DIR", env = "SILA_CONFIG_DIR", hide_env = true)]
    pub config_dir: Option<PathBuf>,

    /// Environment (VPC name) to work on [default: [disco_aws] default_environment]
    #[arg(long = "env", global = true, value_name = "ENV")]
    pub env: Option<String>,

    /// Output format of results on stdout
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// More log output on stderr (-v: debug, -vv: trace, including AWS requests)
    #[arg(short = 'v', long = "verbose", alias = "debug", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// The environment variable Asiaq uses for its config directory, honoured as a fallback.
pub const ASIAQ_CONFIG_ENV: &str = "ASIAQ_CONFIG";

impl GlobalArgs {
    /// `--config-dir`, else `SILA_CONFIG_DIR` (via clap), else `ASIAQ_CONFIG`, else `.`.
    pub fn config_dir(&self) -> ConfigDir {
        let root = self
            .config_dir
            .clone()
            .or_else(|| std::env::var_os(ASIAQ_CONFIG_ENV).filter(|v| !v.is_empty()).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("."));
        ConfigDir::new(root)
    }
}

/// `--env` when given, checked (exit 2 when it breaks the name rule).
pub(crate) fn env_flag(flag: Option<&str>) -> anyhow::Result<Option<String>> {
    match flag {
        Some(env) => {
            check_environment_name("--env", env)?;
            Ok(Some(env.to_string()))
        }
        None => Ok(None),
    }
}

/// `--env` (`flag`), else `[disco_aws] default_environment` of `aws` when set; both checked, a bad
/// default named with its file and line.
pub(crate) fn environment_of(flag: Option<&str>, aws: &AwsConfig) -> anyhow::Result<Option<String>> {
    if let Some(env) = env_flag(flag)? {
        return Ok(Some(env));
    }
    let Some(env) = aws.default_environment() else { return Ok(None) };
    if let Err(e) = validate_name(&env) {
        let line = aws.ini.get(GLOBAL_SECTION, "default_environment").map_or(0, |entry| entry.line);
        anyhow::bail!("{}:{line}: [disco_aws] default_environment: {e}", aws.ini.path.display());
    }
    Ok(Some(env))
}

/// The error of a command that needs aws.ini when `dir` has none.
pub(crate) fn no_aws_ini(dir: &ConfigDir) -> anyhow::Error {
    anyhow::anyhow!(
        "no aws.ini, config/aws.ini or disco_aws.ini in {} (set --config-dir or SILA_CONFIG_DIR)",
        dir.root.display()
    )
}

/// The error of a command that needs an environment when neither `--env` nor `aws`'s
/// `default_environment` names one.
pub(crate) fn no_environment(aws: &AwsConfig) -> anyhow::Error {
    anyhow::anyhow!(
        "no environment: pass --env or set default_environment in [disco_aws] of {}",
        aws.ini.path.display()
    )
}
