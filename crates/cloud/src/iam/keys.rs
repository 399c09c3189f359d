//! Access keys: list, create, activate, deactivate, delete.

use super::iso;
use crate::error::{CloudError, ErrorKind};
use crate::finders::paginated;
use crate::Clients;
use aws_sdk_iam::types::StatusType;
use serde::Serialize;

/// An access key (without its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyRow {
    /// The user.
    pub user: String,
    /// The access key id.
    pub access_key_id: String,
    /// `Active` or `Inactive`.
    pub status: String,
    /// Creation time, ISO 8601.
    pub created: String,
}

/// A new access key, secret included (shown once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewKey {
    /// The user.
    pub user: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
}

impl Clients {
    /// The access keys of a user.
    pub async fn access_keys(&self, user: &str) -> Result<Vec<KeyRow>, CloudError> {
        let keys: Vec<_> = paginated!(self.iam.list_access_keys().user_name(user), "ListAccessKeys")?;
        Ok(keys
            .iter()
            .map(|k| KeyRow {
                user: k.user_name().unwrap_or(user).to_string(),
                access_key_id: k.access_key_id().unwrap_or_default().to_string(),
                status: k.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                created: iso(k.create_date()),
            })
            .collect())
    }

    /// Creates an access key for a user.
    pub async fn create_access_key(&self, user: &str) -> Result<NewKey, CloudError> {
        let out = call!(self.iam.create_access_key().user_name(user), "CreateAccessKey")?;
        let key = out.access_key().ok_or_else(|| CloudError {
            op: "CreateAccessKey",
            kind: ErrorKind::Other,
            code: None,
            message: "the answer held no access key".into(),
            request_id: None,
        })?;
        Ok(NewKey {
            user: user.to_string(),
            access_key_id: key.access_key_id().to_string(),
            secret_access_key: key.secret_access_key().to_string(),
        })
    }

    /// Activates or deactivates an access key.
    pub async fn set_access_key_active(&self, user: &str, key: &str, active: bool) -> Result<(), CloudError> {
        let status = if active { StatusType::Active } else { StatusType::Inactive };
        call!(self.iam.update_access_key().user_name(user).access_key_id(key).status(status), "UpdateAccessKey")
            .map(drop)
    }

    /// Deletes an access key.
    pub async fn delete_access_key(&self, user: &str, key: &str) -> Result<(), CloudError> {
        call!(self.iam.delete_access_key().user_name(user).access_key_id(key), "DeleteAccessKey").map(drop)
    }
}
