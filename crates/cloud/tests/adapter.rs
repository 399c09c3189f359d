//! The adapter's error and paging paths without the emulator: a canned HTTP server on loopback
//! answers each call with what AWS would (or would not) send, and records what it was asked. These
//! are the answers the emulator never gives: a create without an id, a service error with its
//! request id, a listing in pages, throttling that passes.

use sila_cloud::{connect, AwsSettings, Clients, ErrorKind};
use sila_core::vpc_plan::{Key, Step};
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One canned answer: HTTP status and XML body.
type Answer = (u16, String);

/// A loopback server that answers requests in order from a queue and keeps each request's body.
struct Canned {
    url: String,
    asked: Arc<Mutex<Vec<String>>>,
}

impl Canned {
    fn start(answers: Vec<Answer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let answers = Arc::new(Mutex::new(VecDeque::from(answers)));
        let asked = Arc::new(Mutex::new(Vec::new()));
        let (queue, log) = (answers.clone(), asked.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (queue, log) = (queue.clone(), log.clone());
                std::thread::spawn(move || serve(stream, &queue, &log));
            }
        });
        Canned { url, asked }
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().expect("log").clone()
    }

    async fn clients(&self, attempts: u32) -> Clients {
        // Dummy credentials of this process only: nothing here reaches AWS.
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        let settings = AwsSettings {
            profile: None,
            region: Some("us-west-2".into()),
            endpoint_url: Some(self.url.clone()),
            max_attempts: Some(attempts),
        };
        connect(&settings).await.expect("clients")
    }
}

/// Answers the requests of one connection (kept alive) until it closes.
fn serve(stream: std::net::TcpStream, queue: &Mutex<VecDeque<Answer>>, log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    loop {
        let mut length = 0;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        log.lock().expect("log").push(String::from_utf8_lossy(&body).into_owned());
        let (status, answer) = queue.lock().expect("queue").pop_front().unwrap_or((500, "<Response/>".into()));
        // AWS names each request in a header; the SDK reads the request id from there.
        let n = log.lock().expect("log").len();
        let head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: text/xml\r\nx-amzn-requestid: req-{n}\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        );
        if writer.write_all(head.as_bytes()).and_then(|()| writer.write_all(answer.as_bytes())).is_err() {
            return;
        }
    }
}

const EC2: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

fn ok(action: &str, inner: &str) -> Answer {
    (200, format!("<{action}Response xmlns=\"{EC2}\"><requestId>r-1</requestId>{inner}</{action}Response>"))
}

fn error(status: u16, code: &str, message: &str) -> Answer {
    (
        status,
        format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>req-9</RequestID></Response>"
        ),
    )
}

#[tokio::test]
async fn a_create_answered_without_an_id_is_an_error_not_an_empty_id() {
    let server = Canned::start(vec![ok("CreateVpc", "<vpc><cidrBlock>10.9.0.0/16</cidrBlock></vpc>")]);
    let clients = server.clients(1).await;
    let step = Step::CreateVpc { cidr: "10.9.0.0/16".into(), tags: BTreeMap::new() };
    let e = clients.run_step(&step, &BTreeMap::<Key, String>::new()).await.expect_err("no id");
    assert_eq!(e.op, "CreateVpc");
    assert!(e.to_string().contains("no id"), "{e}");
    assert_eq!(server.asked().len(), 1, "nothing was sent after it");
}

#[tokio::test]
async fn a_service_error_keeps_its_code_kind_and_request_id() {
    let server = Canned::start(vec![error(403, "UnauthorizedOperation", "You are not authorized")]);
    let clients = server.clients(1).await;
    let e = clients.availability_zones().await.expect_err("refused");
    assert_eq!(e.op, "DescribeAvailabilityZones");
    assert_eq!(e.kind, ErrorKind::AccessDenied);
    assert_eq!(e.code.as_deref(), Some("UnauthorizedOperation"));
    assert_eq!(e.request_id.as_deref(), Some("req-1"), "for a support case: {e:?}");
    assert_eq!(e.to_string().lines().count(), 1, "{e}");
}

#[tokio::test]
async fn a_listing_follows_its_pages_to_the_end() {
    let vpc = |id: &str, name: &str| {
        format!(
            "<item><vpcId>{id}</vpcId><cidrBlock>10.1.0.0/16</cidrBlock><state>available</state><tagSet><item><key>Name</key><value>{name}</value></item><item><key>type</key><value>sandbox</value></item></tagSet></item>"
        )
    };
    let server = Canned::start(vec![
        ok("DescribeVpcs", &format!("<vpcSet>{}</vpcSet><nextToken>page-2</nextToken>", vpc("vpc-1", "one"))),
        ok("DescribeVpcs", &format!("<vpcSet>{}</vpcSet>", vpc("vpc-2", "two"))),
    ]);
    let clients = server.clients(1).await;
    let found = clients.environments().await.expect("both pages");
    let names: Vec<&str> = found.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["one", "two"]);
    let asked = server.asked();
    assert_eq!(asked.len(), 2);
    assert!(asked[1].contains("NextToken=page-2"), "{asked:?}");
}

#[tokio::test]
async fn throttling_is_retried_with_backoff_until_it_passes() {
    let server = Canned::start(vec![
        error(503, "RequestLimitExceeded", "Request limit exceeded."),
        error(503, "RequestLimitExceeded", "Request limit exceeded."),
        ok("DescribeAvailabilityZones", "<availabilityZoneInfo><item><zoneName>us-west-2a</zoneName><zoneState>available</zoneState></item></availabilityZoneInfo>"),
    ]);
    let clients = server.clients(3).await;
    let zones = clients.availability_zones().await.expect("third attempt");
    assert_eq!(zones, ["us-west-2a"]);
    assert_eq!(server.asked().len(), 3);

    // Out of attempts, the throttling is the error.
    let server = Canned::start(vec![error(503, "RequestLimitExceeded", "Request limit exceeded."); 2]);
    let clients = server.clients(2).await;
    let e = clients.availability_zones().await.expect_err("throttled");
    assert_eq!(e.kind, ErrorKind::Throttled);
}
