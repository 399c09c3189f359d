//! Test support for Sila's end-to-end tests.
//!
//! * [`session`] gives a test exclusive use of this test binary's emulator (moto behind Sila's fault
//!   wrapper, `scripts/sila_emulator.py`), freshly reset. The emulator starts once per test binary
//!   and exits with it.
//! * [`Session::command`] runs a real binary pointed at the emulator, with every `AWS_*`, `SILA_*`
//!   and `ASIAQ_CONFIG` variable of the developer's shell removed.
//! * [`Session::ec2`] is an SDK client for independent assertions.
//! * [`Session::requests`] and [`Session::set_faults`] read the request log and inject throttling,
//!   5xx and latency per action.
//! * [`TestHost`] is a real sshd confined to a busybox root, standing in for a booted builder.
//! * [`fixtures`] builds what a tool expects to find (an environment, an image) through the SDK.
//! * [`HostileHost`] is an SSH server that opens an agent channel unasked (paramiko).

pub mod bench;
mod emulator;
pub mod fixtures;
mod hostile;
mod run;
mod sshd;

pub use emulator::{ec2_client, Emulator, FaultRule, LoggedRequest, Requests};
pub use hostile::{Agent, HostileHost};
pub use run::{
    assert_cli_contract, assert_unreachable_endpoint_is_one_line, bin, help_pages, project_root, stable, Outcome,
    GLOBAL_FLAGS,
};
pub use sshd::TestHost;

use std::sync::{Mutex, MutexGuard, OnceLock};

/// The region every test uses.
pub const REGION: &str = "us-west-2";

static EMULATOR: OnceLock<Emulator> = OnceLock::new();
static EXCLUSIVE: Mutex<()> = Mutex::new(());

/// Exclusive, freshly reset use of the emulator for one test.
pub struct Session {
    _guard: MutexGuard<'static, ()>,
    /// The emulator of this test binary.
    pub emulator: &'static Emulator,
}

/// Starts the emulator if needed, waits for other tests of this binary to finish with it, and resets
/// its state, request log and fault rules.
pub fn session() -> Session {
    // A test that panicked while holding the lock leaves it poisoned; the state is reset anyway.
    let guard = EXCLUSIVE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let emulator = EMULATOR.get_or_init(Emulator::start);
    emulator.reset();
    Session { _guard: guard, emulator }
}

impl Session {
    /// The endpoint URL, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> &str {
        &self.emulator.endpoint
    }

    /// A command for `program` with a clean environment pointed at the emulator.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        run::scrubbed_command(program, &self.emulator.endpoint)
    }

    /// The request log since the last reset.
    pub fn requests(&self) -> Requests {
        self.emulator.requests()
    }

    /// Forgets the request log so far (the test's own setup calls).
    pub fn forget_requests(&self) {
        self.emulator.forget_requests();
    }

    /// Replaces the fault rules.
    pub fn set_faults(&self, seed: u64, rules: &[FaultRule]) {
        self.emulator.set_faults(seed, rules);
    }

    /// An EC2 client for independent checks.
    pub fn ec2(&self) -> aws_sdk_ec2::Client {
        self.emulator.ec2()
    }

    /// An IAM client for independent checks and fixtures.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        self.emulator.iam()
    }

    /// An S3 client for independent checks and fixtures.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        self.emulator.s3()
    }

    /// An elbv2 client for independent checks.
    pub fn elb(&self) -> aws_sdk_elasticloadbalancingv2::Client {
        self.emulator.elb()
    }

    /// An ACM client for fixtures (certificates).
    pub fn acm(&self) -> aws_sdk_acm::Client {
        self.emulator.acm()
    }

    /// A Route 53 client for independent checks and fixtures.
    pub fn route53(&self) -> aws_sdk_route53::Client {
        self.emulator.route53()
    }

    /// An SSM client for independent checks.
    pub fn ssm(&self) -> aws_sdk_ssm::Client {
        self.emulator.ssm()
    }

    /// An Auto Scaling client for independent checks and fixtures.
    pub fn autoscaling(&self) -> aws_sdk_autoscaling::Client {
        self.emulator.autoscaling()
    }
}

/// Runs a future on the test kit's runtime (one per test binary, so SDK clients can be reused).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime")
        })
        .block_on(future)
}
