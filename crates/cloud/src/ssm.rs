//! SSM Run Command: send a document to instances, wait for it, read each instance's output.

use crate::error::Classify as _;
use crate::error::CloudError;
use crate::Clients;
use std::collections::BTreeMap;

/// What to send.
#[derive(Debug, Clone, Default)]
pub struct CommandSpec {
    /// The instances to run it on.
    pub instances: Vec<String>,
    /// The SSM document.
    pub document: String,
    /// The document's parameters.
    pub parameters: BTreeMap<String, Vec<String>>,
    /// A comment shown in the SSM console.
    pub comment: Option<String>,
    /// Where SSM writes the complete output, when the bucket exists.
    pub output_bucket: Option<String>,
}

/// One instance's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Invocation {
    /// The instance.
    pub instance: String,
    /// `Success`, `Failed`, `TimedOut`, ...
    pub status: String,
    /// The document's exit code on the instance (-1 when it did not run).
    pub response_code: i32,
    /// Its standard output (as much as SSM returns inline).
    pub stdout: String,
    /// Its standard error (as much as SSM returns inline).
    pub stderr: String,
    /// The complete stdout in S3, when an output bucket was given.
    pub stdout_url: Option<String>,
}

impl Clients {
    /// Sends the command; its id.
    pub async fn send_command(&self, spec: &CommandSpec) -> Result<String, CloudError> {
        let out = self
            .ssm
            .send_command()
            .set_instance_ids(Some(spec.instances.clone()))
            .document_name(&spec.document)
            .set_parameters(Some(spec.parameters.clone().into_iter().collect()))
            .set_comment(spec.comment.clone())
            .set_output_s3_bucket_name(spec.output_bucket.clone())
            .send()
            .await
            .classify("SendCommand")?;
        out.command()
            .and_then(|c| c.command_id())
            .map(str::to_string)
            .ok_or_else(|| CloudError::config("SendCommand answered without a command id"))
    }

    /// The command's overall status (`Pending`, `InProgress`, `Success`, `Failed`, ...); `None`
    /// while SSM does not list it yet.
    pub async fn command_status(&self, command_id: &str) -> Result<Option<String>, CloudError> {
        let out = self.ssm.list_commands().command_id(command_id).send().await.classify("ListCommands")?;
        Ok(out.commands().first().and_then(|c| c.status()).map(|s| s.as_str().to_string()))
    }

    /// One instance's status and output (SSM keeps the first 24,000 characters inline; the output
    /// bucket has all of it).
    pub async fn command_invocation(&self, command_id: &str, instance: &str) -> Result<Invocation, CloudError> {
        let out = self
            .ssm
            .get_command_invocation()
            .command_id(command_id)
            .instance_id(instance)
            .send()
            .await
            .classify("GetCommandInvocation")?;
        Ok(Invocation {
            instance: instance.to_string(),
            status: out.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
            response_code: out.response_code(),
            stdout: out.standard_output_content().unwrap_or_default().to_string(),
            stderr: out.standard_error_content().unwrap_or_default().to_string(),
            stdout_url: out.standard_output_url().filter(|u| !u.is_empty()).map(str::to_string),
        })
    }
}
