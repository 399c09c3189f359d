//! The client side of one connection: the host key check, forwarded agent channels served only
//! while a command that asked for them runs, and every other channel a server opens refused
//! (russh would accept them; OpenSSH's client refuses them as "probably a break-in attempt").

use crate::HostKeys;
use russh::client::{self, ChannelOpenHandle, Msg, Session};
use russh::keys::{PublicKey, PublicKeyOrCertificate};
use russh::{Channel, ChannelOpenFailure};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The client side of one connection: checks the host key, serves forwarded agent channels while
/// asked for, refuses every other channel the server opens.
pub(crate) struct Client {
    pub(crate) addr: SocketAddr,
    pub(crate) host_keys: HostKeys,
    pub(crate) agent: Option<PathBuf>,
    /// How many of this client's commands asked for the agent and still run: agent channels are
    /// accepted only while this is above zero.
    pub(crate) forwarding: Arc<AtomicUsize>,
    /// Set when the host key did not match, to tell that apart from other failures.
    pub(crate) mismatch: Arc<Mutex<Option<(String, String)>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(&mut self, key: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let key = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(cert) => PublicKey::from(cert.public_key().clone()),
        };
        match self.host_keys.check(self.addr, &key) {
            Ok(()) => Ok(true),
            Err(m) => {
                *self.mismatch.lock().unwrap_or_else(|e| e.into_inner()) = Some(m);
                Ok(false)
            }
        }
    }

    async fn server_channel_open_agent_forward(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let asked = self.forwarding.load(Ordering::SeqCst) > 0;
        let Some(socket) = self.agent.clone().filter(|_| asked) else {
            tracing::warn!(
                "{}: the server opened an ssh-agent channel this client did not ask for: refused (possibly a break-in attempt)",
                self.addr
            );
            reply.reject(ChannelOpenFailure::AdministrativelyProhibited).await;
            return Ok(());
        };
        reply.accept().await;
        // Each remote use of the agent is one channel: relay it to a fresh connection to the agent.
        tokio::spawn(async move {
            match tokio::net::UnixStream::connect(&socket).await {
                Ok(mut agent) => {
                    let mut remote = channel.into_stream();
                    let _ = tokio::io::copy_bidirectional(&mut remote, &mut agent).await;
                }
                Err(e) => tracing::warn!("forwarded agent: {}: {e}", socket.display()),
            }
        });
        Ok(())
    }

    // Channels a server may open towards a client that asked for them (remote port forwarding,
    // X11): this client never does, so each is refused.

    async fn server_channel_open_forwarded_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        _connected_address: &str,
        _connected_port: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse("forwarded-tcpip", reply).await
    }

    async fn server_channel_open_forwarded_streamlocal(
        &mut self,
        _channel: Channel<Msg>,
        _socket_path: &str,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse("forwarded-streamlocal", reply).await
    }

    async fn server_channel_open_session(
        &mut self,
        _channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse("session", reply).await
    }

    async fn server_channel_open_direct_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        _host_to_connect: &str,
        _port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse("direct-tcpip", reply).await
    }

    async fn server_channel_open_direct_streamlocal(
        &mut self,
        _channel: Channel<Msg>,
        _socket_path: &str,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse("direct-streamlocal", reply).await
    }

    async fn server_channel_open_x11(
        &mut self,
        _channel: Channel<Msg>,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse("x11", reply).await
    }
}

impl Client {
    async fn refuse(&self, kind: &str, reply: ChannelOpenHandle) -> Result<(), russh::Error> {
        tracing::warn!("{}: the server opened a {kind} channel this client did not ask for: refused", self.addr);
        reply.reject(ChannelOpenFailure::AdministrativelyProhibited).await;
        Ok(())
    }
}

/// Counts a command that asked for the agent for as long as it runs.
pub(crate) struct Forwarding(Arc<AtomicUsize>);

impl Forwarding {
    pub(crate) fn start(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Forwarding(count.clone())
    }
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
