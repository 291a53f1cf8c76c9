//! Tickler's own pool of SMTP connections. lettre 0.11 opens its sockets without
//! `TCP_NODELAY`, so the final dot of every message, written after the body, waited about
//! 40 ms for the server's delayed ACK: 22 messages per second on one connection
//! (docs/performance.md). Here the mailer opens the TCP stream itself, with `TCP_NODELAY`, and
//! lettre's `AsyncSmtpConnection` speaks the protocol over it (EHLO, STARTTLS, AUTH, the
//! transaction): TLS, its certificate checks and the replies' errors are lettre's, as before.
//!
//! A connection goes back to the pool after a delivered message only; any error, and a send
//! cut short by the mailer's timeout, drops it. An idle connection is checked with NOOP before
//! it is used again, and one idle for longer than [`IDLE_LIMIT`] is closed instead: servers
//! drop idle clients after a while. The pool holds at most as many connections as there were
//! sends in flight at once, which the dispatcher bounds (`TICKLER_SEND_CONCURRENCY`).

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Mutex,
    task::{Context, Poll},
    time::{Duration, Instant},
};

#[allow(deprecated)]
use lettre::transport::smtp::client::AsyncNetworkStream;
use lettre::{
    address::Envelope,
    transport::smtp::{
        Error as SmtpError,
        authentication::{Credentials, DEFAULT_MECHANISMS},
        client::{AsyncSmtpConnection, AsyncTokioStream, Tls},
        extension::ClientId,
        response::Response,
    },
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};

/// How long a connection may wait in the pool and still be used: the 60 s lettre's pool kept
/// them, well under the 5 minutes RFC 5321 (4.5.3.2.7) lets a server wait for a command.
pub(crate) const IDLE_LIMIT: Duration = Duration::from_secs(60);

/// Where and how to connect; every connection of the pool is made alike.
pub(crate) struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub credentials: Option<Credentials>,
}

/// Why a send failed: before any SMTP was spoken (the TCP connection), or in SMTP or TLS,
/// as lettre reports it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PoolError {
    #[error("cannot connect to {server}: {source}")]
    Connect { server: String, source: io::Error },
    #[error(transparent)]
    Smtp(#[from] SmtpError),
}

pub(crate) struct SmtpPool {
    server: SmtpServer,
    hello: ClientId,
    /// Last in, first out: the most recently used connection is the likeliest to be alive,
    /// and the others age out.
    idle: Mutex<Vec<IdleConnection>>,
}

struct IdleConnection {
    connection: AsyncSmtpConnection,
    since: Instant,
}

impl SmtpPool {
    pub(crate) fn new(server: SmtpServer) -> SmtpPool {
        SmtpPool {
            server,
            hello: ClientId::default(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Sends one message (its envelope and its formatted bytes) over a pooled connection or
    /// a new one.
    pub(crate) async fn send(
        &self,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<Response, PoolError> {
        let mut connection = self.checkout().await?;
        match connection.send(envelope, message).await {
            Ok(response) => {
                self.checkin(connection);
                Ok(response)
            }
            Err(error) => {
                // lettre has already sent QUIT if the connection itself failed; otherwise
                // (a message it refused to send) this closes it the same way.
                connection.abort().await;
                Err(error.into())
            }
        }
    }

    async fn checkout(&self) -> Result<AsyncSmtpConnection, PoolError> {
        while let Some(IdleConnection {
            mut connection,
            since,
        }) = self.take_idle()
        {
            if since.elapsed() < IDLE_LIMIT && connection.test_connected().await {
                return Ok(connection);
            }
            connection.abort().await;
        }
        self.connect().await
    }

    fn take_idle(&self) -> Option<IdleConnection> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop()
    }

    fn checkin(&self, connection: AsyncSmtpConnection) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Connections idle too long are closed without a word here (no await under the
        // lock); the server drops them anyway.
        idle.retain(|idle| idle.since.elapsed() < IDLE_LIMIT);
        idle.push(IdleConnection {
            connection,
            since: Instant::now(),
        });
    }

    /// A new connection: TCP with `TCP_NODELAY`, TLS from the first byte or by STARTTLS as
    /// the URL asks, then the login.
    async fn connect(&self) -> Result<AsyncSmtpConnection, PoolError> {
        let server = &self.server;
        let tcp = connect_tcp(&server.host, server.port).await?;
        let stream: Box<dyn AsyncTokioStream> = match &server.tls {
            Tls::Wrapper(parameters) => {
                // lettre reads the greeting as soon as it has the stream, so for implicit TLS
                // the stream must already be encrypted: lettre's own TLS stream, made from
                // the socket, keeps its certificate checks and errors those of STARTTLS.
                #[allow(deprecated)]
                let mut stream = AsyncNetworkStream::use_existing_tokio1(Box::new(tcp));
                stream.upgrade_tls(parameters.clone()).await?;
                Box::new(Encrypted(stream))
            }
            _ => Box::new(tcp),
        };
        let mut connection =
            AsyncSmtpConnection::connect_with_transport(stream, &self.hello).await?;
        match &server.tls {
            Tls::Required(parameters) => {
                connection.starttls(parameters.clone(), &self.hello).await?
            }
            Tls::Opportunistic(parameters) if connection.can_starttls() => {
                connection.starttls(parameters.clone(), &self.hello).await?
            }
            _ => (),
        }
        if let Some(credentials) = &server.credentials {
            connection.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(connection)
    }
}

/// A TCP connection with `TCP_NODELAY` set: each command and the final dot leave at once
/// instead of waiting for the ACK of what was written before them.
async fn connect_tcp(host: &str, port: u16) -> Result<TcpStream, PoolError> {
    let connect_error = |source| PoolError::Connect {
        server: if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        },
        source,
    };
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(connect_error)?;
    tcp.set_nodelay(true).map_err(connect_error)?;
    Ok(tcp)
}

/// lettre's TLS stream (a futures-io stream) seen as the tokio stream that
/// `connect_with_transport` takes.
#[allow(deprecated)]
#[derive(Debug)]
struct Encrypted(AsyncNetworkStream);

impl AsyncRead for Encrypted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let read =
            futures_io::AsyncRead::poll_read(Pin::new(&mut self.0), cx, buf.initialize_unfilled());
        read.map_ok(|n| buf.advance(n))
    }
}

impl AsyncWrite for Encrypted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        futures_io::AsyncWrite::poll_write(Pin::new(&mut self.0), cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_flush(Pin::new(&mut self.0), cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_close(Pin::new(&mut self.0), cx)
    }
}

impl AsyncTokioStream for Encrypted {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_are_opened_with_tcp_nodelay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tcp, accepted) = tokio::join!(connect_tcp("127.0.0.1", port), listener.accept());
        let tcp = tcp.unwrap();
        accepted.unwrap();
        assert!(
            tcp.nodelay().unwrap(),
            "the final dot would wait for a delayed ACK"
        );
    }

    #[tokio::test]
    async fn a_closed_port_names_the_server() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let error = connect_tcp("127.0.0.1", port)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!("cannot connect to 127.0.0.1:{port}: ")),
            "{error}"
        );
    }
}
