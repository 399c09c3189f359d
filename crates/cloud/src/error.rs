//! One error type for everything that goes wrong talking to AWS, classified at the boundary so
//! callers branch on [`ErrorKind`] and never on SDK types or strings.

use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::fmt;

/// What kind of failure an AWS call had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The resource does not exist (`*.NotFound`, `NoSuchEntity`).
    NotFound,
    /// It exists already (`*.Duplicate`, `*AlreadyExists`).
    AlreadyExists,
    /// Throttled even after the retry budget.
    Throttled,
    /// Credentials or permissions.
    AccessDenied,
    /// Something else still depends on it.
    DependencyViolation,
    /// AWS rejected the request as invalid.
    Invalid,
    /// The endpoint could not be reached, or timed out.
    Transport,
    /// Local setup (no region, bad profile).
    Config,
    /// A name that more than one resource carries (two VPCs named alike): refused, not guessed.
    Ambiguous,
    /// Anything else.
    Other,
}

/// A failed AWS call: which operation, what kind of failure, AWS's code, message and request id.
#[derive(Debug, Clone, thiserror::Error)]
pub struct CloudError {
    /// The API operation, e.g. `DescribeVpcs`.
    pub op: &'static str,
    /// The classified kind.
    pub kind: ErrorKind,
    /// AWS's error code, when the service sent one.
    pub code: Option<String>,
    /// The message (AWS's, or a description of the transport failure).
    pub message: String,
    /// AWS's request id, for support cases.
    pub request_id: Option<String>,
}

impl fmt::Display for CloudError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if matches!(self.kind, ErrorKind::Config | ErrorKind::Ambiguous) {
            return write!(f, "{}", self.message);
        }
        write!(f, "{} failed: ", self.op)?;
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.message)?,
            None => write!(f, "{}", self.message)?,
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl CloudError {
    /// A local configuration problem (no region, ...).
    pub fn config(message: impl Into<String>) -> Self {
        Self { op: "connect", kind: ErrorKind::Config, code: None, message: message.into(), request_id: None }
    }

    /// A wait on `resource` that ended without the state wanted (deadline passed, or a failure state).
    pub fn waiting<E: std::error::Error>(op: &'static str, resource: &str, err: &E) -> Self {
        Self {
            op,
            kind: ErrorKind::Other,
            code: None,
            message: format!("gave up waiting for {resource}: {}", DisplayErrorContext(err)),
            request_id: None,
        }
    }

    /// Classifies an SDK error of operation `op`.
    pub fn from_sdk<E, R>(op: &'static str, err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: fmt::Debug,
    {
        let (code, message, request_id) = match err {
            SdkError::ServiceError(service) => {
                let e = service.err();
                let meta = e.meta();
                (
                    e.code().map(str::to_string),
                    e.message().map(str::to_string).unwrap_or_else(|| e.to_string()),
                    meta.extra("aws_request_id").map(str::to_string),
                )
            }
            _ => (None, transport_message(err), None),
        };
        let kind = match (err, code.as_deref()) {
            (SdkError::DispatchFailure(_) | SdkError::TimeoutError(_), _) => ErrorKind::Transport,
            (_, Some(code)) => classify_code(code),
            _ => ErrorKind::Other,
        };
        Self { op, kind, code, message, request_id }
    }
}

/// The result of an SDK call's `send().await`, its error classified as a [`CloudError`] of the
/// named operation: `ec2.create_vpc()...send().await.classify("CreateVpc")?`. The one way every
/// call of the adapter turns an SDK error into Sila's.
pub(crate) trait Classify<T> {
    /// The value, or the error as a `CloudError` of operation `op`.
    fn classify(self, op: &'static str) -> Result<T, CloudError>;
}

impl<T, E, R> Classify<T> for Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug,
{
    fn classify(self, op: &'static str) -> Result<T, CloudError> {
        self.map_err(|e| CloudError::from_sdk(op, &e))
    }
}

/// The id a create call answered with. An answer without one is an error naming the call, never
/// an empty id that a later step would send on.
pub(crate) fn created(op: &'static str, id: Option<&str>) -> Result<String, CloudError> {
    match id {
        Some(id) if !id.is_empty() => Ok(id.to_string()),
        _ => Err(CloudError {
            op,
            kind: ErrorKind::Other,
            code: None,
            message: "the answer carried no id of what was created".to_string(),
            request_id: None,
        }),
    }
}

/// A one-line description of a failure that never reached a service answer: the endpoint and the
/// innermost cause, in words (`DisplayErrorContext` ends with the error's `Debug` form, whose tail
/// was all a user saw: `Unknown } }`).
fn transport_message<E, R>(err: &SdkError<E, R>) -> String
where
    E: std::error::Error + Send + Sync + 'static,
    R: fmt::Debug,
{
    let mut cause = None;
    let mut io = None;
    let mut next = std::error::Error::source(err);
    while let Some(e) = next {
        if let Some(e) = e.downcast_ref::<std::io::Error>() {
            io = Some(e.kind());
        }
        cause = Some(e.to_string());
        next = e.source();
    }
    let cause = match io {
        Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".to_string(),
        Some(std::io::ErrorKind::ConnectionReset) => "connection reset".to_string(),
        Some(std::io::ErrorKind::TimedOut) => "connection timed out".to_string(),
        _ => cause.unwrap_or_else(|| last_cause(&DisplayErrorContext(err).to_string()).to_string()),
    };
    match err {
        SdkError::DispatchFailure(_) => match crate::reach::endpoint() {
            Some(endpoint) => format!("could not reach the AWS endpoint {endpoint}: {cause}"),
            None => format!("could not reach the AWS endpoint: {cause}"),
        },
        SdkError::TimeoutError(_) => "timed out".to_string(),
        _ => cause,
    }
}

/// The innermost cause of a `DisplayErrorContext` chain (`a: b: c` → `c`), which is the useful part.
fn last_cause(text: &str) -> &str {
    text.rsplit(": ").next().unwrap_or(text).trim().trim_end_matches(')')
}

/// Maps an AWS error code to a kind (EC2, IAM, Auto Scaling and friends spell them differently).
pub(crate) fn classify_code(code: &str) -> ErrorKind {
    match code {
        c if c.ends_with(".NotFound")
            || c.ends_with("NotFound")
            || c == "NoSuchEntity"
            || c == "NoSuchBucket"
            || c == "NoSuchKey"
            || c.ends_with("NotFoundException") =>
        {
            ErrorKind::NotFound
        }
        c if c.ends_with(".Duplicate") || c.contains("AlreadyExists") || c == "EntityAlreadyExists" => {
            ErrorKind::AlreadyExists
        }
        "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "RequestThrottled"
        | "RequestThrottledException"
        | "SlowDown" => ErrorKind::Throttled,
        "UnauthorizedOperation"
        | "AccessDenied"
        | "AccessDeniedException"
        | "AuthFailure"
        | "InvalidClientTokenId"
        | "ExpiredToken"
        | "SignatureDoesNotMatch" => ErrorKind::AccessDenied,
        "DependencyViolation" | "DeleteConflict" | "ResourceInUse" | "ResourceInUseException" => {
            ErrorKind::DependencyViolation
        }
        c if c.starts_with("Invalid") || c == "ValidationError" || c.starts_with("Malformed") => ErrorKind::Invalid,
        _ => ErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        assert_eq!(classify_code("InvalidVpcID.NotFound"), ErrorKind::NotFound);
        assert_eq!(classify_code("NoSuchEntity"), ErrorKind::NotFound);
        assert_eq!(classify_code("InvalidGroup.Duplicate"), ErrorKind::AlreadyExists);
        assert_eq!(classify_code("EntityAlreadyExists"), ErrorKind::AlreadyExists);
        assert_eq!(classify_code("RequestLimitExceeded"), ErrorKind::Throttled);
        assert_eq!(classify_code("Throttling"), ErrorKind::Throttled);
        assert_eq!(classify_code("UnauthorizedOperation"), ErrorKind::AccessDenied);
        assert_eq!(classify_code("DependencyViolation"), ErrorKind::DependencyViolation);
        assert_eq!(classify_code("InvalidParameterValue"), ErrorKind::Invalid);
        assert_eq!(classify_code("Whatever"), ErrorKind::Other);
    }

    #[test]
    fn display_is_one_line() {
        let e = CloudError {
            op: "DescribeVpcs",
            kind: ErrorKind::Throttled,
            code: Some("RequestLimitExceeded".into()),
            message: "Request limit exceeded.".into(),
            request_id: Some("abc".into()),
        };
        assert_eq!(
            e.to_string(),
            "DescribeVpcs failed: RequestLimitExceeded: Request limit exceeded. (request id abc)"
        );
        assert_eq!(CloudError::config("no region").to_string(), "no region");
    }
}
