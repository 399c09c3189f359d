//! `create --hostclass H`: a new hostclass's init script from `init/template.sh`.

use anyhow::Context as _;
use clap::Args;
use sila_cli::{Settings, UsageError};

/// Arguments of `create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The new hostclass (must start with `mhc`)
    #[arg(long, value_name = "HOSTCLASS")]
    pub hostclass: String,
}

/// Copies `init/template.sh` to `init/<H>.sh` with `$TEMPLATED_HOSTCLASS` → H and `$TEMPLATED_NAME`
/// → H without `mhc`, keeping the template's mode. An existing script is never overwritten.
pub fn create(settings: &Settings, args: &CreateArgs) -> anyhow::Result<()> {
    let h = &args.hostclass;
    let name = h
        .strip_prefix("mhc")
        .filter(|rest| !rest.is_empty())
        .ok_or_else(|| UsageError(format!("--hostclass {h}: hostclass names start with \"mhc\" (e.g. mhcweb)")))?;
    if !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(UsageError(format!("--hostclass {h}: letters, digits and '_' only")).into());
    }
    let init = settings.config_dir.init_dir();
    let template = init.join("template.sh");
    let text = std::fs::read_to_string(&template).with_context(|| format!("{}", template.display()))?;
    let target = init.join(format!("{h}.sh"));
    if target.exists() {
        anyhow::bail!("{} exists already; nothing was changed", target.display());
    }
    let text = text.replace("$TEMPLATED_HOSTCLASS", h).replace("$TEMPLATED_NAME", name);
    std::fs::write(&target, text).with_context(|| format!("{}", target.display()))?;
    let mode = std::fs::metadata(&template)?.permissions();
    std::fs::set_permissions(&target, mode)?;
    let printer = settings.printer();
    if printer.json() {
        printer.print_json(&serde_json::json!({"hostclass": h, "created": target}))?;
    } else {
        printer.line(&format!("created {}", target.display()))?;
    }
    Ok(())
}
