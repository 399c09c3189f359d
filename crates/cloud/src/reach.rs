//! Failing fast on an endpoint that cannot be reached.
//!
//! The SDK's standard retries treat a failed connection as transient, so a wrong `--endpoint-url`
//! (or no network) cost ten attempts with backoff, about 40 s, before an error. Until the endpoint
//! has answered once, a failed connection is final: the connect timeout (3.1 s, from the pinned
//! behaviour version) has already waited for it. Once it has answered, a failed connection is a
//! blip worth the usual retries (a long spinup should not die of one).

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{BeforeTransmitInterceptorContextRef, InterceptorContext};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction, RetryClassifierPriority};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The endpoint (`scheme://host:port`) of the latest request sent, for the message of a failed
/// connection: the SDK's connection error does not carry the address.
static ENDPOINT: Mutex<Option<String>> = Mutex::new(None);

/// The endpoint of the latest request, if any was sent.
pub(crate) fn endpoint() -> Option<String> {
    ENDPOINT.lock().ok().and_then(|u| u.clone())
}

/// Forbids retrying a failed connection until some call has had an answer. One instance is
/// shared by every client of a command, so any answer counts.
#[derive(Debug, Clone, Default)]
pub(crate) struct FirstContact {
    answered: Arc<AtomicBool>,
}

impl ClassifyRetry for FirstContact {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        if ctx.response().is_some() {
            self.answered.store(true, Ordering::Relaxed);
            return RetryAction::NoActionIndicated;
        }
        let Some(Err(error)) = ctx.output_or_error() else { return RetryAction::NoActionIndicated };
        let Some(connector) = error.as_connector_error() else { return RetryAction::NoActionIndicated };
        if !(connector.is_io() || connector.is_timeout()) {
            return RetryAction::NoActionIndicated;
        }
        if self.answered.load(Ordering::Relaxed) {
            RetryAction::NoActionIndicated
        } else {
            RetryAction::RetryForbidden
        }
    }

    fn name(&self) -> &'static str {
        "FirstContact"
    }

    fn priority(&self) -> RetryClassifierPriority {
        // After the SDK's transient-error classifier, so its verdict on a connection is overruled.
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

impl Intercept for FirstContact {
    fn name(&self) -> &'static str {
        "FirstContact"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Ok(mut last) = ENDPOINT.lock() {
            *last = Some(origin(context.request().uri()).to_string());
        }
        Ok(())
    }
}

/// Scheme, host and port of `uri`: the path and query say nothing about reachability.
fn origin(uri: &str) -> &str {
    let host = uri.find("://").map_or(0, |i| i + 3);
    uri[host..].find('/').map_or(uri, |end| &uri[..host + end])
}

#[cfg(test)]
mod tests {
    #[test]
    fn origin_is_scheme_host_and_port() {
        assert_eq!(super::origin("http://127.0.0.1:9/?Action=DescribeVpcs"), "http://127.0.0.1:9");
        assert_eq!(super::origin("https://ec2.us-west-2.amazonaws.com/"), "https://ec2.us-west-2.amazonaws.com");
        assert_eq!(super::origin("http://localhost:5000"), "http://localhost:5000");
    }
}
