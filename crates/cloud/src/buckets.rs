//! S3 buckets an environment uses: its credential buckets (SSH keys), and the sandbox config
//! and SSM output buckets.

use crate::error::Classify as _;
use crate::error::CloudError;
use crate::Clients;

impl Clients {
    /// The objects under `prefix` in `bucket`, as (key, contents); none when the bucket does not
    /// exist. For the SSH keys an environment's credential bucket holds (`private_keys/ssh/`).
    pub async fn bucket_objects(&self, bucket: &str, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, CloudError> {
        let mut keys = Vec::new();
        let mut pages = self.s3.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            match page.classify("ListObjectsV2") {
                Ok(page) => keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_string))),
                Err(e) if e.kind == crate::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(e),
            }
        }
        let mut objects = Vec::new();
        for key in keys.into_iter().filter(|k| !k.ends_with('/')) {
            let out = self.s3.get_object().bucket(bucket).key(&key).send().await.classify("GetObject")?;
            let body = out.body.collect().await.map_err(|e| CloudError::config(format!("s3://{bucket}/{key}: {e}")))?;
            objects.push((key, body.into_bytes().to_vec()));
        }
        Ok(objects)
    }

    /// The SSH private keys Asiaq keeps under `private_keys/ssh/` in an environment's credential
    /// buckets, as (`s3://bucket/key`, contents). Buckets that do not exist are skipped.
    pub async fn ssh_keys(&self, buckets: &[String]) -> Result<Vec<(String, Vec<u8>)>, CloudError> {
        let mut keys = Vec::new();
        for bucket in buckets {
            for (key, bytes) in self.bucket_objects(bucket, "private_keys/ssh/").await? {
                keys.push((format!("s3://{bucket}/{key}"), bytes));
            }
        }
        Ok(keys)
    }

    /// Whether `bucket` exists (and can be reached).
    pub async fn bucket_exists(&self, bucket: &str) -> Result<bool, CloudError> {
        match self.s3.head_bucket().bucket(bucket).send().await.classify("HeadBucket") {
            Ok(_) => Ok(true),
            Err(e) if e.kind == crate::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Writes `body` to `s3://bucket/key`.
    pub async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), CloudError> {
        self.s3.put_object().bucket(bucket).key(key).body(body.into()).send().await.classify("PutObject")?;
        Ok(())
    }
}
