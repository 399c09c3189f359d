//! Settings resolved once, at start-up, by the tool's `run` for each command that changes AWS: the
//! config dir, the parsed aws.ini (vpc.ini parsed the first time it is asked for), the project, the
//! acting user and the environment (checked when a command asks for it, so a tool that does not
//! use one is not stopped by a bad `default_environment`). Commands take `&Settings` instead of
//! re-reading files, flags and variables on demand.

use crate::GlobalArgs;
use anyhow::Context as _;
use sila_core::config::{AwsConfig, ConfigDir, ConfigFile, VpcConfig, GLOBAL_SECTION};
use std::sync::OnceLock;

/// What every command of a tool reads before its first AWS call.
#[derive(Debug)]
pub struct Settings {
    /// `--config-dir`, else `SILA_CONFIG_DIR`, else `ASIAQ_CONFIG`, else `.`.
    pub config_dir: ConfigDir,
    /// The parsed aws.ini (or `disco_aws.ini`) when the dir has one.
    pub aws: Option<AwsConfig>,
    /// `[disco_aws] project_name`.
    pub project: Option<String>,
    /// Who is acting (`$USER`, `$LOGNAME`, the password database): the `owner` of what is made.
    pub owner: String,
    /// `--env` as given.
    env_flag: Option<String>,
    vpc: OnceLock<Result<Option<VpcConfig>, String>>,
}

impl Settings {
    /// Resolves the settings of `global`: a parse error in aws.ini is an error here, before
    /// anything else happens.
    pub fn load(global: &GlobalArgs) -> anyhow::Result<Self> {
        let aws = global.optional_aws_config()?;
        let project =
            aws.as_ref().and_then(|a| a.ini.get(GLOBAL_SECTION, "project_name")).map(|e| e.value.trim().to_string());
        Ok(Settings {
            config_dir: global.config_dir(),
            aws,
            project,
            owner: crate::acting_user(),
            env_flag: global.env.clone(),
            vpc: OnceLock::new(),
        })
    }

    /// aws.ini, for commands that cannot work without it: an error naming the directory.
    pub fn aws(&self) -> anyhow::Result<&AwsConfig> {
        self.aws.as_ref().with_context(|| {
            format!(
                "no aws.ini, config/aws.ini or disco_aws.ini in {} (set --config-dir or SILA_CONFIG_DIR)",
                self.config_dir.root.display()
            )
        })
    }

    /// `--env`, else `[disco_aws] default_environment` when set; both checked (a bad `--env` is a
    /// usage error, a bad default is named with its file and line).
    pub fn optional_environment(&self) -> anyhow::Result<Option<String>> {
        match &self.aws {
            Some(aws) => crate::args::environment_of(self.env_flag.as_deref(), aws),
            None => crate::args::env_flag(self.env_flag.as_deref()),
        }
    }

    /// The environment, for commands that need one: an error saying how to give it.
    pub fn environment(&self) -> anyhow::Result<String> {
        let aws = self.aws()?;
        self.optional_environment()?.with_context(|| {
            format!(
                "no environment: pass --env or set default_environment in [disco_aws] of {}",
                aws.ini.path.display()
            )
        })
    }

    /// vpc.ini when the dir has one, parsed once (a parse error is an error each time it is asked).
    pub fn vpc(&self) -> anyhow::Result<Option<&VpcConfig>> {
        let loaded = self.vpc.get_or_init(|| {
            let ini = self.config_dir.load(ConfigFile::Vpc).map_err(|d| d.to_string())?;
            Ok(ini.map(VpcConfig::new))
        });
        loaded.as_ref().map(Option::as_ref).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// An option of environment type `vpc_type` in vpc.ini for `env` (its `@env` override first),
    /// trimmed; `None` when unset or empty, or when there is no vpc.ini.
    pub fn env_type_option(&self, env: &str, vpc_type: &str, option: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .vpc()?
            .and_then(|vpc| vpc.option(env, vpc_type, option))
            .map(|r| r.value.trim().to_string())
            .filter(|v| !v.is_empty()))
    }

    /// The credential buckets of environment `env` of type `vpc_type` in `region`: its type's
    /// `credential_buckets` postfixes, as bucket names (`<region>.<project>.credentials.<postfix>`).
    pub fn credential_buckets(&self, region: &str, env: &str, vpc_type: &str) -> anyhow::Result<Vec<String>> {
        Ok(self
            .env_type_option(env, vpc_type, "credential_buckets")?
            .map(|b| sila_core::environment::credential_buckets(region, self.project.as_deref().unwrap_or(""), &b))
            .unwrap_or_default())
    }
}
