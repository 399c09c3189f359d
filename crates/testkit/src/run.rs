//! Running the real binaries.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (where `Cargo.toml`, `scripts/` and the sample config live).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("project root")
}

/// The path of a workspace binary in this build's target directory. Tool crates' own tests should
/// prefer `env!("CARGO_BIN_EXE_<name>")`; tests that cross tools use this (`cargo test --workspace`
/// builds every tool binary, since every tool crate has integration tests).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(path.is_file(), "{} is not built; run the whole suite with `cargo test --workspace`", path.display());
    path
}

/// A command with the developer's AWS and Sila settings removed, pointed at `endpoint` with dummy
/// credentials, so nothing a test runs can reach real AWS or read a real profile.
pub(crate) fn scrubbed_command(program: impl AsRef<OsStr>, endpoint: &str) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("AWS_") || key.starts_with("SILA_") || key == "ASIAQ_CONFIG" {
            command.env_remove(key.as_ref());
        }
    }
    // Empty shared config files: nothing of the developer's leaks in, and the SDK has nothing to warn about.
    let nowhere = std::env::temp_dir().join("sila-testkit-empty-aws-config");
    if !nowhere.is_file() {
        let _ = std::fs::write(&nowhere, "");
    }
    command
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", crate::REGION)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", &nowhere)
        .env("AWS_SHARED_CREDENTIALS_FILE", &nowhere);
    command
}

/// What a command did.
#[derive(Debug)]
pub struct Outcome {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl Outcome {
    /// Runs `command` to completion.
    pub fn of(command: &mut Command) -> Self {
        let out = command.output().expect("run command");
        Self {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Exit code, stdout and stderr in one text with what differs between runs as placeholders
    /// ([`stable`]), for snapshot tests.
    pub fn transcript(&self) -> String {
        stable(&format!("exit {:?}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr))
    }
}

/// The global options every Sila binary documents in `--help`.
pub const GLOBAL_FLAGS: [&str; 8] =
    ["--config-dir", "--env", "--output", "--verbose", "--profile", "--region", "--endpoint-url", "--max-attempts"];

/// Checks the command-line contract every tool shares: `--help` exits 0 and documents the global
/// options and the exit status of an interruption; no arguments at all is a usage error (exit 2) that prints the help on stderr.
pub fn assert_cli_contract(program: &Path) {
    let help = Outcome::of(Command::new(program).arg("--help"));
    assert_eq!(help.code, Some(0), "{} --help: {help:?}", program.display());
    for flag in GLOBAL_FLAGS {
        assert!(help.stdout.contains(flag), "{} --help lacks {flag}:\n{}", program.display(), help.stdout);
    }
    // One exit status for an interruption in every tool, stated in its help (sila_cli::INTERRUPTED_HELP).
    let rule = "Interrupted by Ctrl-C (SIGINT) or SIGTERM, every command exits 130";
    assert!(help.stdout.contains(rule), "{} --help does not say \"{rule}\":\n{}", program.display(), help.stdout);
    let bare = Outcome::of(&mut Command::new(program));
    assert_eq!(bare.code, Some(2), "{} with no arguments: {bare:?}", program.display());
    assert!(bare.stderr.contains("Usage:"), "{} with no arguments prints usage: {bare:?}", program.display());
}

/// Checks that `program ARGS`, pointed at a loopback port nobody listens on (with the default retry
/// budget), fails soon (exit 1 within 10 s) with one readable line naming the endpoint: connection
/// refused is not worth half a minute of retries.
pub fn assert_unreachable_endpoint_is_one_line(program: &Path, args: &[&str]) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("port").port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let out = Outcome::of(scrubbed_command(program, &endpoint).args(args));
    let took = started.elapsed();
    let shown = format!("{} {}", program.display(), args.join(" "));
    assert_eq!(out.code, Some(1), "{shown}: {out:?}");
    assert!(took < std::time::Duration::from_secs(10), "{shown} took {took:?} to give up: {out:?}");
    let lines: Vec<&str> = out.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{shown}: one line on stderr: {out:?}");
    assert!(lines[0].contains("error: "), "{shown}: {out:?}");
    assert!(lines[0].contains("could not reach") && lines[0].contains(&endpoint), "{shown}: {out:?}");
    assert!(lines[0].contains("connection refused"), "{shown}: {out:?}");
}

/// Every `--help` page of `program`: its own, then each subcommand's (found in the `Commands:` list
/// of the page above it, recursively), each under a `$ NAME ARGS --help` header. Snapshot tests of
/// these pages keep every flag, default and description from changing unnoticed.
pub fn help_pages(program: &Path) -> String {
    let name = program.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut pages = String::new();
    let mut pending: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = pending.pop() {
        // Fixed width: clap wraps help text to the terminal, or to COLUMNS when there is none.
        let out = Outcome::of(Command::new(program).args(&path).arg("--help").env("COLUMNS", "100"));
        assert_eq!(out.code, Some(0), "{name} {} --help: {out:?}", path.join(" "));
        let shown: Vec<&str> = std::iter::once(name.as_str()).chain(path.iter().map(String::as_str)).collect();
        pages.push_str(&format!("$ {} --help\n{}\n", shown.join(" "), out.stdout.trim_end()));
        pages.push('\n');
        let subcommands: Vec<String> = out
            .stdout
            .lines()
            .skip_while(|l| *l != "Commands:")
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .filter(|l| !l.starts_with("   "))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|c| *c != "help")
            .map(str::to_string)
            .collect();
        // Depth first, in the order the help lists them.
        for sub in subcommands.into_iter().rev() {
            pending.push(path.iter().cloned().chain([sub]).collect());
        }
    }
    pages
}

/// `text` with what differs from run to run spelled as placeholders, for snapshots: resource ids
/// (`vpc-<id>`), timestamps (`<time>`), the seconds a run took (`<t>s`), the time suffix of group
/// names (`_<stamp>`), bake run ids (`<run>`) and epoch seconds in image names (`<epoch>`).
/// Everything else, including every count and name, stays.
pub fn stable(text: &str) -> String {
    use std::sync::OnceLock;
    static RULES: OnceLock<Vec<(regex::Regex, &'static str)>> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        [
            (
                r"\b(vpc|subnet|rtb|rtbassoc|sg|sgr|igw|nat|eipalloc|eipassoc|eni|dopt|pcx|vgw|lt|ami|i|vpce|snap|vol|acl|r)-[0-9a-f]{8,17}\b",
                "$1-<id>",
            ),
            (r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?", "<time>"),
            (r"\b\d+\.\d+s\b", "<t>s"),
            (r"_\d{10,14}\b", "_<stamp>"),
            // Bake run ids (time and randomness in hex) and image names' epoch seconds.
            (r"\b[0-9a-f]{10,12}-[0-9a-f]{1,8}\b", "<run>"),
            (r"\b1\d{9}\b", "<epoch>"),
        ]
        .into_iter()
        .map(|(pattern, with)| (regex::Regex::new(pattern).expect("pattern"), with))
        .collect()
    });
    rules.iter().fold(text.to_string(), |text, (pattern, with)| pattern.replace_all(&text, *with).into_owned())
}
