//! Settings resolved once, for every command: the config dir, aws.ini and vpc.ini, the project,
//! the acting user, the environment, the output format, and the AWS clients with their region.
//! Each is resolved the first time a command asks for it and kept (a file that does not parse is
//! an error each time it is asked for), so a command reads only what it uses: a tool that needs
//! no aws.ini is not stopped by a broken one, one that uses no environment not by a bad
//! `default_environment`, and one that never calls AWS never resolves credentials. Commands take
//! `&Settings` instead of re-reading files, flags and variables on demand.

use crate::{GlobalArgs, OutputFormat, Printer};
use sila_cloud::{AwsSettings, Clients};
use sila_core::config::{AwsConfig, ConfigDir, ConfigFile, VpcConfig, GLOBAL_SECTION};
use std::sync::OnceLock;

/// What the commands of a tool read before their first AWS call.
#[derive(Debug)]
pub struct Settings {
    /// `--config-dir`, else `SILA_CONFIG_DIR`, else `ASIAQ_CONFIG`, else `.`.
    pub config_dir: ConfigDir,
    /// `--output`.
    pub output: OutputFormat,
    /// `--env` as given.
    env_flag: Option<String>,
    /// `--profile`, `--region`, `--endpoint-url`, `--max-attempts`.
    connect: AwsSettings,
    aws: OnceLock<Result<Option<AwsConfig>, String>>,
    vpc: OnceLock<Result<Option<VpcConfig>, String>>,
    owner: OnceLock<String>,
    clients: tokio::sync::OnceCell<Clients>,
}

impl Settings {
    /// The settings of `global`; nothing is read until a command asks.
    pub fn load(global: &GlobalArgs) -> Self {
        Settings {
            config_dir: global.config_dir(),
            output: global.output,
            env_flag: global.env.clone(),
            connect: global.aws.settings(),
            aws: OnceLock::new(),
            vpc: OnceLock::new(),
            owner: OnceLock::new(),
            clients: tokio::sync::OnceCell::new(),
        }
    }

    /// The AWS clients for `--profile`, `--region`, `--endpoint-url` and `--max-attempts`, made on
    /// first use (credentials and region resolved once per run).
    pub async fn clients(&self) -> anyhow::Result<&Clients> {
        Ok(self.clients.get_or_try_init(|| sila_cloud::connect(&self.connect)).await?)
    }

    /// The region every call goes to (`--region`, else the profile's or the environment's).
    pub async fn region(&self) -> anyhow::Result<&str> {
        Ok(self.clients().await?.region())
    }

    /// The printer for `--output`.
    pub fn printer(&self) -> Printer {
        Printer::new(self.output)
    }

    /// aws.ini (or `disco_aws.ini`) when the dir has one, parsed once.
    pub fn optional_aws(&self) -> anyhow::Result<Option<&AwsConfig>> {
        let loaded = self.aws.get_or_init(|| {
            let ini = self.config_dir.load(ConfigFile::Aws).map_err(|d| d.to_string())?;
            Ok(ini.map(AwsConfig::new))
        });
        loaded.as_ref().map(Option::as_ref).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// aws.ini, for commands that cannot work without it: an error naming the directory.
    pub fn aws(&self) -> anyhow::Result<&AwsConfig> {
        self.optional_aws()?.ok_or_else(|| crate::args::no_aws_ini(&self.config_dir))
    }

    /// `[disco_aws] project_name`, when aws.ini sets it.
    pub fn project(&self) -> anyhow::Result<Option<String>> {
        Ok(self
            .optional_aws()?
            .and_then(|a| a.ini.get(GLOBAL_SECTION, "project_name"))
            .map(|e| e.value.trim().to_string()))
    }

    /// Who is acting (`$USER`, `$LOGNAME`, the password database): the `owner` of what is made.
    pub fn owner(&self) -> &str {
        self.owner.get_or_init(crate::acting_user)
    }

    /// `--env` when given (checked: a bad one is a usage error); no config is read, so a command
    /// told its environment is not stopped by a broken aws.ini it does not otherwise need.
    pub fn env_flag(&self) -> anyhow::Result<Option<String>> {
        crate::args::env_flag(self.env_flag.as_deref())
    }

    /// `--env`, else `[disco_aws] default_environment` when set; both checked (a bad `--env` is a
    /// usage error, a bad default is named with its file and line).
    pub fn optional_environment(&self) -> anyhow::Result<Option<String>> {
        match self.optional_aws()? {
            Some(aws) => crate::args::environment_of(self.env_flag.as_deref(), aws),
            None => crate::args::env_flag(self.env_flag.as_deref()),
        }
    }

    /// The environment, for commands that need one: an error saying how to give it.
    pub fn environment(&self) -> anyhow::Result<String> {
        let aws = self.aws()?;
        self.optional_environment()?.ok_or_else(|| crate::args::no_environment(aws))
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
        let Some(postfixes) = self.env_type_option(env, vpc_type, "credential_buckets")? else { return Ok(Vec::new()) };
        let project = self.project()?.unwrap_or_default();
        Ok(sila_core::environment::credential_buckets(region, &project, &postfixes))
    }
}
