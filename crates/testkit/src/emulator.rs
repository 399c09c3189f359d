//! The emulator process: started through the project's own Python entry point and virtualenv.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A client of SDK crate `$sdk` pointed at the emulator at `$endpoint`, with dummy credentials
/// (and `$extra` applied to its config builder).
macro_rules! emulator_client {
    ($sdk:ident, $endpoint:expr) => {
        emulator_client!($sdk, $endpoint, |b| b)
    };
    ($sdk:ident, $endpoint:expr, $extra:expr) => {{
        let builder = $sdk::Config::builder()
            .behavior_version($sdk::config::BehaviorVersion::v2026_01_12())
            .region($sdk::config::Region::new(crate::REGION))
            .endpoint_url($endpoint)
            .credentials_provider($sdk::config::Credentials::new("test", "test", None, None, "sila-testkit"));
        $sdk::Client::from_conf(($extra)(builder).build())
    }};
}

/// A running emulator.
pub struct Emulator {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Its log file (moto's own output), worth reading when a test fails oddly.
    pub log: PathBuf,
    _child: Mutex<Child>,
}

/// One request as the fault wrapper saw it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct LoggedRequest {
    /// The signing service name (`ec2`, `iam`, ...).
    pub service: String,
    /// The API action.
    pub action: String,
    /// The request's parameter names (query protocol) or top-level keys (JSON protocol).
    pub params: Vec<String>,
    /// The injected error code, when the request was answered by a fault rule.
    pub fault: Option<String>,
}

impl LoggedRequest {
    /// False for `Describe*`, `List*` and `Get*` actions, and for the `GET` and `HEAD` requests of
    /// REST services (Route 53, S3), which are logged as `METHOD /path`.
    pub fn is_mutating(&self) -> bool {
        !["Describe", "List", "Get", "GET ", "HEAD "].iter().any(|p| self.action.starts_with(p))
    }
}

/// The request log since the last reset.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Requests {
    /// Count per `service:Action`.
    pub counts: BTreeMap<String, u64>,
    /// Every request in order.
    pub log: Vec<LoggedRequest>,
}

impl Requests {
    /// How many requests had this action (any service).
    pub fn count(&self, action: &str) -> usize {
        self.log.iter().filter(|r| r.action == action).count()
    }

    /// The requests that change something.
    pub fn mutating(&self) -> Vec<&LoggedRequest> {
        self.log.iter().filter(|r| r.is_mutating()).collect()
    }
}

/// A fault-injection rule (see `scripts/sila_emulator.py` for the semantics of each field).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FaultRule {
    /// Glob on the service name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Glob on the action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Only mutating (true) or only read-only (false) actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mutating: Option<bool>,
    /// Latency added per matching request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Error code to answer with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// HTTP status of the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Chance that a matching request fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Matching requests let through before the error fires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// Maximum number of injected errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Carry the request out, then answer with the error (an answer lost on the way back).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub lost: bool,
}

impl FaultRule {
    /// EC2-style throttling (`RequestLimitExceeded`, HTTP 503) on `action`, `times` times.
    pub fn throttle(action: &str, times: u64) -> Self {
        Self {
            action: Some(action.into()),
            error: Some("RequestLimitExceeded".into()),
            status: Some(503),
            times: Some(times),
            ..Self::default()
        }
    }

    /// `action` answered with error `code` and HTTP `status`, `times` times, without being carried out.
    pub fn error(action: &str, code: &str, status: u16, times: u64) -> Self {
        Self {
            action: Some(action.into()),
            error: Some(code.into()),
            status: Some(status),
            times: Some(times),
            ..Self::default()
        }
    }

    /// `action` is carried out but its answer lost (HTTP 503), `times` times: the SDK retries a
    /// request that has already done its work.
    pub fn lost_answer(action: &str, times: u64) -> Self {
        Self { action: Some(action.into()), status: Some(503), times: Some(times), lost: true, ..Self::default() }
    }

    /// `delay_ms` of latency on every request.
    pub fn latency(delay_ms: u64) -> Self {
        Self { delay_ms: Some(delay_ms), ..Self::default() }
    }
}

impl Emulator {
    /// Creates the virtualenv if needed (`scripts/emulator setup`), then starts the emulator on a free
    /// loopback port, bound to this process's lifetime.
    pub(crate) fn start() -> Self {
        let root = crate::project_root();
        let python = root.join(".venv/bin/python");
        let setup = Command::new(root.join("scripts/emulator"))
            .arg("setup")
            .stdout(Stdio::inherit())
            .status()
            .expect("run scripts/emulator setup");
        assert!(setup.success(), "scripts/emulator setup failed");

        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let log = std::env::temp_dir().join(format!("sila-emulator-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("emulator log file");
        let child = Command::new(python)
            .arg(root.join("scripts/sila_emulator.py"))
            .args(["--port", &port.to_string(), "--parent-pid", &std::process::id().to_string()])
            .env("MOTO_ALLOW_NONEXISTENT_REGION", "false")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log handle"))
            .stderr(log_file)
            .spawn()
            .expect("start the emulator");
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if ureq::get(&format!("{endpoint}/_sila/health")).call().is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "emulator did not answer within 60 s; see {}", log.display());
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { endpoint, log, _child: Mutex::new(child) }
    }

    fn post(&self, path: &str, body: &str) {
        ureq::post(&format!("{}{path}", self.endpoint))
            .set("Content-Type", "application/json")
            .send_string(body)
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    }

    /// Resets moto's state and the wrapper's log and rules.
    pub fn reset(&self) {
        self.post("/moto-api/reset", "");
        self.post("/_sila/reset", "");
    }

    /// The request log since the last reset.
    pub fn requests(&self) -> Requests {
        let body = ureq::get(&format!("{}/_sila/requests", self.endpoint))
            .call()
            .expect("GET /_sila/requests")
            .into_string()
            .expect("request log body");
        serde_json::from_str(&body).expect("request log JSON")
    }

    /// Forgets the request log (not the fault rules), so a test can look only at what came after its
    /// own setup calls.
    pub fn forget_requests(&self) {
        self.post("/_sila/requests/reset", "");
    }

    /// Replaces the fault rules (the seed makes probabilistic rules repeatable).
    pub fn set_faults(&self, seed: u64, rules: &[FaultRule]) {
        let body = serde_json::json!({ "seed": seed, "rules": rules });
        self.post("/_sila/faults", &body.to_string());
    }

    /// An Auto Scaling client pointed at the emulator.
    pub fn autoscaling(&self) -> aws_sdk_autoscaling::Client {
        emulator_client!(aws_sdk_autoscaling, &self.endpoint)
    }

    /// An IAM client pointed at the emulator.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        emulator_client!(aws_sdk_iam, &self.endpoint)
    }

    /// An S3 client pointed at the emulator (path-style, as the emulator needs).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        emulator_client!(aws_sdk_s3, &self.endpoint, |b: aws_sdk_s3::config::Builder| b.force_path_style(true))
    }

    /// An elbv2 (load balancer) client pointed at the emulator.
    pub fn elb(&self) -> aws_sdk_elasticloadbalancingv2::Client {
        emulator_client!(aws_sdk_elasticloadbalancingv2, &self.endpoint)
    }

    /// An ACM client pointed at the emulator.
    pub fn acm(&self) -> aws_sdk_acm::Client {
        emulator_client!(aws_sdk_acm, &self.endpoint)
    }

    /// A Route 53 client pointed at the emulator.
    pub fn route53(&self) -> aws_sdk_route53::Client {
        emulator_client!(aws_sdk_route53, &self.endpoint)
    }

    /// An SSM client pointed at the emulator.
    pub fn ssm(&self) -> aws_sdk_ssm::Client {
        emulator_client!(aws_sdk_ssm, &self.endpoint)
    }

    /// An EC2 client pointed at the emulator.
    pub fn ec2(&self) -> aws_sdk_ec2::Client {
        ec2_client(&self.endpoint)
    }
}

/// An EC2 client pointed at the emulator at `endpoint`, with dummy credentials.
pub fn ec2_client(endpoint: &str) -> aws_sdk_ec2::Client {
    emulator_client!(aws_sdk_ec2, endpoint)
}
