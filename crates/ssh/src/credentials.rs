//! What a connection logs in with ([`Credential`]: a private key or the ssh-agent) and which host
//! keys it trusts ([`HostKeys`]: the first one each host presents).

use crate::SshError;
use russh::keys::{HashAlg, PrivateKey, PublicKey};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A credential to log in with, tried in the order given.
#[derive(Clone)]
pub enum Credential {
    /// A private key held in memory (read from a file, or a temporary key pair's material).
    Key(Arc<PrivateKey>),
    /// Every identity of the ssh-agent at this socket.
    Agent(PathBuf),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Key(k) => write!(f, "key {}", k.public_key().fingerprint(HashAlg::Sha256)),
            Credential::Agent(p) => write!(f, "agent at {}", p.display()),
        }
    }
}

impl Credential {
    /// A private key from an OpenSSH or PEM file (unencrypted).
    pub fn from_file(path: &Path) -> Result<Self, SshError> {
        let key = russh::keys::load_secret_key(path, None)
            .map_err(|e| SshError::Key { path: path.to_path_buf(), message: e.to_string() })?;
        Ok(Credential::Key(Arc::new(key)))
    }

    /// A private key from its text (OpenSSH or PEM), e.g. a key pair's material.
    pub fn from_text(text: &str, origin: &str) -> Result<Self, SshError> {
        let key = russh::keys::decode_secret_key(text, None)
            .map_err(|e| SshError::Key { path: PathBuf::from(origin), message: e.to_string() })?;
        Ok(Credential::Key(Arc::new(key)))
    }

    /// The private keys among `objects` (origin, content), such as `private_keys/ssh/` of a
    /// credential bucket; anything that is not a private key is skipped with a warning.
    pub fn keys_among(objects: impl IntoIterator<Item = (String, Vec<u8>)>) -> Vec<Self> {
        let mut keys = Vec::new();
        for (origin, bytes) in objects {
            match Credential::from_text(&String::from_utf8_lossy(&bytes), &origin) {
                Ok(key) => keys.push(key),
                Err(e) => tracing::warn!("{e}: not a private key; skipped"),
            }
        }
        keys
    }

    /// The agent named by `SSH_AUTH_SOCK`, if any.
    pub fn agent_from_env() -> Option<Self> {
        std::env::var_os("SSH_AUTH_SOCK").filter(|v| !v.is_empty()).map(|v| Credential::Agent(PathBuf::from(v)))
    }
}

/// Host keys trusted on first contact: the first key a host presents is recorded, and any later
/// connection to it that presents another key is refused. One per bake run.
#[derive(Debug, Clone, Default)]
pub struct HostKeys(Arc<Mutex<Vec<(SocketAddr, PublicKey)>>>);

impl HostKeys {
    /// The SHA-256 fingerprint recorded for `addr`.
    pub fn fingerprint(&self, addr: SocketAddr) -> Option<String> {
        let keys = self.0.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter().find(|(a, _)| *a == addr).map(|(_, k)| k.fingerprint(HashAlg::Sha256).to_string())
    }

    /// Records `key` for `addr` on first contact; afterwards, whether `key` is the recorded one.
    pub(crate) fn check(&self, addr: SocketAddr, key: &PublicKey) -> Result<(), (String, String)> {
        let mut keys = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match keys.iter().find(|(a, _)| *a == addr) {
            Some((_, known)) if known.key_data() == key.key_data() => Ok(()),
            Some((_, known)) => {
                Err((known.fingerprint(HashAlg::Sha256).to_string(), key.fingerprint(HashAlg::Sha256).to_string()))
            }
            None => {
                tracing::info!("{addr}: host key {} recorded on first contact", key.fingerprint(HashAlg::Sha256));
                keys.push((addr, key.clone()));
                Ok(())
            }
        }
    }
}
