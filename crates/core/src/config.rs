//! The configuration tree: where each file lives, and the option resolvers of reference §1.3.
//!
//! A config dir may be laid out the Sila way (`config/aws.ini`, `config/vpc.ini`, ...) or the Asiaq
//! way (`disco_aws.ini`, `disco_vpc.ini`, ... at the top), so an Asiaq config repo works unchanged.
//! `pipelines/`, `iam/`, `init/` and `discoroot/` always resolve against the config dir, never the
//! current directory (fixing Asiaq's CWD-relative quirk, reference §1.1).

use crate::diag::Diagnostics;
use crate::ini::{Entry, Ini};
use std::path::{Path, PathBuf};

/// The ini files Sila knows, each with a Sila name and the Asiaq name it falls back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConfigFile {
    /// `aws.ini` / `disco_aws.ini`: global options, bake, IAM, hostclasses.
    Aws,
    /// `vpc.ini` / `disco_vpc.ini`: environment types, environments, peerings.
    Vpc,
    /// `rds.ini` / `disco_rds.ini`.
    Rds,
    /// `alarms.ini` / `disco_alarms.ini`.
    Alarms,
    /// `elasticache.ini` / `disco_elasticache.ini`.
    Elasticache,
    /// `elasticsearch.ini` / `disco_elasticsearch.ini`.
    Elasticsearch,
    /// `log_metrics.ini` / `disco_log_metrics.ini`.
    LogMetrics,
}

impl ConfigFile {
    /// Every config file, in a stable order.
    pub const ALL: [Self; 7] =
        [Self::Aws, Self::Vpc, Self::Rds, Self::Alarms, Self::Elasticache, Self::Elasticsearch, Self::LogMetrics];

    /// Sila's own file name.
    pub fn sila_name(self) -> &'static str {
        match self {
            Self::Aws => "aws.ini",
            Self::Vpc => "vpc.ini",
            Self::Rds => "rds.ini",
            Self::Alarms => "alarms.ini",
            Self::Elasticache => "elasticache.ini",
            Self::Elasticsearch => "elasticsearch.ini",
            Self::LogMetrics => "log_metrics.ini",
        }
    }

    /// Asiaq's name for the same file.
    pub fn asiaq_name(self) -> String {
        format!("disco_{}", self.sila_name())
    }
}

/// A configuration directory (`--config-dir`, `SILA_CONFIG_DIR`, `ASIAQ_CONFIG`, or `.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigDir {
    /// The directory everything resolves against.
    pub root: PathBuf,
}

impl ConfigDir {
    /// A config dir rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The candidate paths of `file`, in the order they are tried: `config/<sila name>`,
    /// `<sila name>`, `<asiaq name>`.
    pub fn candidates(&self, file: ConfigFile) -> [PathBuf; 3] {
        [
            self.root.join("config").join(file.sila_name()),
            self.root.join(file.sila_name()),
            self.root.join(file.asiaq_name()),
        ]
    }

    /// The path of `file` that exists, if any (the first candidate wins).
    pub fn file_path(&self, file: ConfigFile) -> Option<PathBuf> {
        self.candidates(file).into_iter().find(|p| p.is_file())
    }

    /// Paths of `file` that exist but are shadowed by an earlier candidate (worth a warning).
    pub fn shadowed(&self, file: ConfigFile) -> Vec<PathBuf> {
        self.candidates(file).into_iter().filter(|p| p.is_file()).skip(1).collect()
    }

    /// Parses `file`; `Ok(None)` when it does not exist.
    pub fn load(&self, file: ConfigFile) -> Result<Option<Ini>, Diagnostics> {
        self.file_path(file).map(|p| Ini::load(&p)).transpose()
    }

    /// `pipelines/` under the config dir.
    pub fn pipelines_dir(&self) -> PathBuf {
        self.root.join("pipelines")
    }

    /// `iam/` under the config dir.
    pub fn iam_dir(&self) -> PathBuf {
        self.root.join("iam")
    }

    /// `init/` under the config dir.
    pub fn init_dir(&self) -> PathBuf {
        self.root.join("init")
    }

    /// `discoroot/` under the config dir.
    pub fn discoroot_dir(&self) -> PathBuf {
        self.root.join("discoroot")
    }

    /// A path given relative to the config dir (absolute paths are kept).
    pub fn resolve(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.root.join(relative)
    }
}

/// The section of `aws.ini` holding global options.
pub const GLOBAL_SECTION: &str = "disco_aws";

/// Option resolvers over `aws.ini` (reference §1.3, resolvers A–F). Each resolver is kept distinct
/// because Asiaq's differ in which sections and `@env` suffixes they try. A present-but-empty value
/// wins over later fallbacks (empty values mask).
#[derive(Debug, Clone)]
pub struct AwsConfig {
    /// The parsed file.
    pub ini: Ini,
}

/// Where a resolved value came from, for messages and `gethostclassoption`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The value.
    pub value: String,
    /// The section it was found in.
    pub section: String,
    /// The option name as stored (e.g. `ip_address@ci`).
    pub option: String,
    /// Its line.
    pub line: usize,
}

impl AwsConfig {
    /// Wraps a parsed `aws.ini`.
    pub fn new(ini: Ini) -> Self {
        Self { ini }
    }

    /// The first of `(section, option)` candidates that is present.
    fn first(&self, candidates: &[(String, String)]) -> Option<Resolved> {
        candidates.iter().find_map(|(section, option)| {
            self.ini.get(section, option).map(|Entry { value, line }| Resolved {
                value: value.clone(),
                section: section.clone(),
                option: option.to_ascii_lowercase(),
                line: *line,
            })
        })
    }

    /// `[disco_aws] default_environment`.
    pub fn default_environment(&self) -> Option<String> {
        self.ini.get(GLOBAL_SECTION, "default_environment").map(|e| e.value.clone()).filter(|v| !v.is_empty())
    }

    /// Resolver A (hostclass option) and C (`get_asiaq_option`), which try the same places:
    /// `[section] opt@env` → `[section] opt` → `[disco_aws] default_opt@env` → `[disco_aws] default_opt`.
    pub fn hostclass_option(&self, section: &str, option: &str, env: Option<&str>) -> Option<Resolved> {
        let default = format!("default_{option}");
        let mut candidates = Vec::new();
        if let Some(env) = env {
            candidates.push((section.to_string(), format!("{option}@{env}")));
        }
        candidates.push((section.to_string(), option.to_string()));
        if let Some(env) = env {
            candidates.push((GLOBAL_SECTION.to_string(), format!("{default}@{env}")));
        }
        candidates.push((GLOBAL_SECTION.to_string(), default));
        self.first(&candidates)
    }

    /// Resolver B (general option): `[section] opt@env` → `[section] opt`.
    pub fn general_option(&self, section: &str, option: &str, env: Option<&str>) -> Option<Resolved> {
        let mut candidates = Vec::new();
        if let Some(env) = env {
            candidates.push((section.to_string(), format!("{option}@{env}")));
        }
        candidates.push((section.to_string(), option.to_string()));
        self.first(&candidates)
    }

    /// Resolver D (bake option, no `@env`): `[hostclass] key` → `[bake] key` → `[disco_aws] default_key`.
    pub fn bake_option(&self, hostclass: &str, option: &str) -> Option<Resolved> {
        self.first(&[
            (hostclass.to_string(), option.to_string()),
            ("bake".to_string(), option.to_string()),
            (GLOBAL_SECTION.to_string(), format!("default_{option}")),
        ])
    }

    /// Resolver E (deploy/test option, no `@env`): `[hostclass] key` → `[test] key` →
    /// `[test] key-without-test_` → `[disco_aws] default_key`.
    pub fn test_option(&self, hostclass: &str, option: &str) -> Option<Resolved> {
        let mut candidates =
            vec![(hostclass.to_string(), option.to_string()), ("test".to_string(), option.to_string())];
        if let Some(short) = option.strip_prefix("test_") {
            candidates.push(("test".to_string(), short.to_string()));
        }
        candidates.push((GLOBAL_SECTION.to_string(), format!("default_{option}")));
        self.first(&candidates)
    }

    /// Resolver F (IAM option): `[iam] key@env` → `[iam] key`.
    pub fn iam_option(&self, option: &str, env: Option<&str>) -> Option<Resolved> {
        self.general_option("iam", option, env)
    }

    /// Names of hostclass sections: those starting with `mhc`, as Asiaq scans them.
    pub fn hostclass_sections(&self) -> impl Iterator<Item = &str> {
        self.ini.sections().map(|s| s.name.as_str()).filter(|n| n.starts_with("mhc"))
    }
}

/// Resolver G over `vpc.ini`: `[env:<name>] opt` → `[envtype:<type>] opt` → `[peerings] opt`.
/// (The `[peerings]` fallback is Asiaq's quirk, kept so Asiaq configs that lean on it still work.)
#[derive(Debug, Clone)]
pub struct VpcConfig {
    /// The parsed file.
    pub ini: Ini,
}

impl VpcConfig {
    /// Wraps a parsed `vpc.ini`.
    pub fn new(ini: Ini) -> Self {
        Self { ini }
    }

    /// The value of `option` for environment `name` of type `vpc_type`.
    pub fn option(&self, name: &str, vpc_type: &str, option: &str) -> Option<Resolved> {
        [format!("env:{name}"), format!("envtype:{vpc_type}"), "peerings".to_string()].into_iter().find_map(|section| {
            self.ini.get(&section, option).map(|e| Resolved {
                value: e.value.clone(),
                option: option.to_ascii_lowercase(),
                line: e.line,
                section,
            })
        })
    }

    /// Environment types (`[envtype:X]` → `X`).
    pub fn envtypes(&self) -> impl Iterator<Item = &str> {
        self.ini.sections().filter_map(|s| s.name.strip_prefix("envtype:"))
    }

    /// True when `[envtype:<vpc_type>]` exists.
    pub fn has_envtype(&self, vpc_type: &str) -> bool {
        self.ini.section(&format!("envtype:{vpc_type}")).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws(text: &str) -> AwsConfig {
        AwsConfig::new(Ini::parse(Path::new("aws.ini"), text).unwrap())
    }

    // Reference vector 95.
    #[test]
    fn vector_95_hostclass_resolver() {
        let cfg = aws("[disco_aws]\ndefault_environment=fake-build\ndefault_unused_option=fall-all-the-way-back\n\
             [mhcfoobar]\neasy_option=easy_answer\nenvy_option=fallback_answer\n\
             envy_option@fake-build=default_env_answer\nenvy_option@ci=ci_answer\n");
        let env = cfg.default_environment();
        let get = |opt: &str, env: Option<&str>| cfg.hostclass_option("mhcfoobar", opt, env).map(|r| r.value);
        assert_eq!(get("easy_option", env.as_deref()).as_deref(), Some("easy_answer"));
        assert_eq!(get("envy_option", env.as_deref()).as_deref(), Some("default_env_answer"));
        assert_eq!(get("envy_option", Some("ci")).as_deref(), Some("ci_answer"));
        assert_eq!(get("envy_option", Some("nope")).as_deref(), Some("fallback_answer"));
        assert_eq!(get("unused_option", Some("ci")).as_deref(), Some("fall-all-the-way-back"));
        assert_eq!(
            cfg.hostclass_option("nosuchsection", "unused_option", None).map(|r| r.value).as_deref(),
            Some("fall-all-the-way-back")
        );
        assert_eq!(get("missing", None), None);
    }

    #[test]
    fn empty_values_mask_fallbacks() {
        let cfg = aws("[disco_aws]\ndefault_eip=1.2.3.4\n[mhcx]\neip=\n");
        let r = cfg.hostclass_option("mhcx", "eip", None).unwrap();
        assert_eq!(r.value, "");
        assert_eq!((r.section.as_str(), r.line), ("mhcx", 4));
    }

    #[test]
    fn env_suffix_is_case_insensitive() {
        let cfg = aws("[mhcx]\nIp_Address@CI=10.0.0.1\n");
        assert_eq!(cfg.hostclass_option("mhcx", "ip_address", Some("ci")).unwrap().value, "10.0.0.1");
        assert_eq!(cfg.hostclass_option("mhcx", "ip_address", Some("CI")).unwrap().value, "10.0.0.1");
    }

    #[test]
    fn bake_and_test_and_iam_resolvers() {
        let cfg = aws("[disco_aws]\ndefault_phase=9\ndefault_user=fallback\n[bake]\nphase=2\nbake_ami=ami-1\n\
             [centos6_phase1]\nphase=1\n[test]\nuser=tester\n[mhcx]\ntest_command=run\n\
             [iam]\nrole_prefix=disco\nrole_prefix@prod=p\n");
        assert_eq!(cfg.bake_option("centos6_phase1", "phase").unwrap().value, "1");
        assert_eq!(cfg.bake_option("mhcx", "phase").unwrap().value, "2");
        assert_eq!(cfg.bake_option("mhcx", "nothing"), None);
        assert_eq!(cfg.test_option("mhcx", "test_command").unwrap().value, "run");
        assert_eq!(cfg.test_option("mhcx", "test_user").unwrap().value, "tester");
        assert_eq!(cfg.iam_option("role_prefix", Some("prod")).unwrap().value, "p");
        assert_eq!(cfg.iam_option("role_prefix", Some("dev")).unwrap().value, "disco");
    }

    #[test]
    fn vpc_resolver_env_over_envtype_over_peerings() {
        let ini = Ini::parse(
            Path::new("vpc.ini"),
            "[envtype:sandbox]\nvpc_cidr=10.0.0.0/16\ndomain_name=d\n[env:mine]\nvpc_cidr=10.9.0.0/16\n\
             domain_name=\n[peerings]\nconnection_1=a/intranet b/intranet\nodd=1\n",
        )
        .unwrap();
        let vpc = VpcConfig::new(ini);
        assert_eq!(vpc.option("mine", "sandbox", "vpc_cidr").unwrap().value, "10.9.0.0/16");
        assert_eq!(vpc.option("other", "sandbox", "vpc_cidr").unwrap().value, "10.0.0.0/16");
        assert_eq!(vpc.option("mine", "sandbox", "domain_name").unwrap().value, "");
        assert_eq!(vpc.option("mine", "sandbox", "odd").unwrap().section, "peerings");
        assert!(vpc.has_envtype("sandbox"));
        assert_eq!(vpc.envtypes().collect::<Vec<_>>(), vec!["sandbox"]);
    }

    #[test]
    fn file_resolution_prefers_sila_names() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = ConfigDir::new(dir.path());
        assert_eq!(cfg.file_path(ConfigFile::Aws), None);
        std::fs::write(dir.path().join("disco_aws.ini"), "[disco_aws]\n").unwrap();
        assert_eq!(cfg.file_path(ConfigFile::Aws), Some(dir.path().join("disco_aws.ini")));
        std::fs::create_dir(dir.path().join("config")).unwrap();
        std::fs::write(dir.path().join("config/aws.ini"), "[disco_aws]\n").unwrap();
        assert_eq!(cfg.file_path(ConfigFile::Aws), Some(dir.path().join("config/aws.ini")));
        assert_eq!(cfg.shadowed(ConfigFile::Aws), vec![dir.path().join("disco_aws.ini")]);
        assert_eq!(cfg.pipelines_dir(), dir.path().join("pipelines"));
    }
}
