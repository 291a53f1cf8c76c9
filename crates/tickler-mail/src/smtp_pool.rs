//! Tickler's own pool of SMTP connections. lettre 0.11 opens its sockets without
//! `TCP_NODELAY`, so the final dot of every message, written after the body, waited about
//! 40 ms for the server's delayed ACK: 22 messages per second on one connection
//! (docs/performance.md). Here the mailer opens the TCP stream itself, with `TCP_NODELAY`, and
//! lettre's `AsyncSmtpConnection` speaks the protocol over it (EHLO, STARTTLS, AUTH, the
//! transaction): TLS, its certificate checks and the replies' errors are lettre's, as before.
//!
//! A connection goes back to the pool after a delivered message only; any error, and a send
//! cut short by the mailer's timeout, drops it. Before an idle connection is used again the
//! pool looks at its socket: if the server has closed it or said something unasked (a 421
//! before closing), a NOOP finds out whether it still serves; if nothing came, it is used at
//! once. A NOOP before every message was a fifth command per message for the server, which
//! cost a busy server a fifth of its rate (docs/performance.md). One idle for longer than
//! [`IDLE_LIMIT`] is closed instead: servers drop idle clients after a while. The pool holds at
//! most as many connections as there were sends in flight at once, which the dispatcher bounds
//! (`TICKLER_SEND_CONCURRENCY`).

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll, Waker, ready},
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
const IDLE_LIMIT: Duration = Duration::from_secs(60);

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
    pooled: Pooled,
    since: Instant,
}

/// A connection, and the pool's look at its socket.
struct Pooled {
    connection: AsyncSmtpConnection,
    socket: SharedTcp,
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
        let mut pooled = self.checkout().await?;
        match pooled.connection.send(envelope, message).await {
            Ok(response) => {
                self.checkin(pooled);
                Ok(response)
            }
            Err(error) => {
                // lettre has already sent QUIT if the connection itself failed; otherwise
                // (a message it refused to send) this closes it the same way.
                pooled.connection.abort().await;
                Err(error.into())
            }
        }
    }

    async fn checkout(&self) -> Result<Pooled, PoolError> {
        while let Some(IdleConnection { mut pooled, since }) = self.take_idle() {
            if since.elapsed() < IDLE_LIMIT
                && (pooled.socket.is_quiet() || pooled.connection.test_connected().await)
            {
                return Ok(pooled);
            }
            pooled.connection.abort().await;
        }
        self.connect().await
    }

    fn take_idle(&self) -> Option<IdleConnection> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop()
    }

    fn checkin(&self, pooled: Pooled) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Connections idle too long are closed without a word here (no await under the
        // lock); the server drops them anyway.
        idle.retain(|idle| idle.since.elapsed() < IDLE_LIMIT);
        idle.push(IdleConnection {
            pooled,
            since: Instant::now(),
        });
    }

    /// A new connection: TCP with `TCP_NODELAY`, TLS from the first byte or by STARTTLS as
    /// the URL asks, then the login.
    async fn connect(&self) -> Result<Pooled, PoolError> {
        let server = &self.server;
        let socket = SharedTcp(Arc::new(connect_tcp(&server.host, server.port).await?));
        let tcp = socket.clone();
        let stream: Box<dyn AsyncTokioStream> = match &server.tls {
            Tls::Wrapper(parameters) => {
                // lettre reads the greeting as soon as it has the stream, so for implicit TLS
                // the stream must already be encrypted. lettre's own TLS stream, made from the
                // socket, makes the certificate checks and their errors those of STARTTLS.
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
        Ok(Pooled { connection, socket })
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

/// A TCP stream that lettre reads and writes while the pool keeps a handle on it, to look at
/// it between messages ([`SharedTcp::is_quiet`]).
#[derive(Debug, Clone)]
struct SharedTcp(Arc<TcpStream>);

impl SharedTcp {
    /// True when nothing has arrived since the last reply was read: neither data (a reply
    /// nobody asked for, TLS records) nor the end of the stream. Looks without waiting.
    fn is_quiet(&self) -> bool {
        let mut byte = [0u8; 1];
        let mut peeked = ReadBuf::new(&mut byte);
        let mut cx = Context::from_waker(Waker::noop());
        self.0.poll_peek(&mut cx, &mut peeked).is_pending()
    }
}

impl AsyncRead for SharedTcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.0.poll_read_ready(cx))?;
            match self.0.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for SharedTcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                written => return Poll::Ready(written),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A TCP stream buffers nothing of its own.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The socket closes when the connection and the pool's handle are dropped, which
        // follows every close.
        Poll::Ready(Ok(()))
    }
}

impl AsyncTokioStream for SharedTcp {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }
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
    async fn a_socket_is_quiet_until_the_server_speaks_or_closes() {
        use tokio::io::AsyncWriteExt as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        for ending in [Some(&b"421 4.4.2 Idle too long\r\n"[..]), None] {
            let (tcp, accepted) = tokio::join!(connect_tcp("127.0.0.1", port), listener.accept());
            let socket = SharedTcp(Arc::new(tcp.unwrap()));
            let (mut server, _) = accepted.unwrap();
            assert!(socket.is_quiet(), "nothing was sent yet");
            match ending {
                Some(reply) => server.write_all(reply).await.unwrap(),
                None => drop(server),
            }
            socket.0.readable().await.unwrap();
            assert!(!socket.is_quiet(), "{ending:?}");
        }
    }

    /// A server that takes one message on each connection, then closes it and says so.
    async fn one_message_per_connection(
        listener: tokio::net::TcpListener,
        closed: tokio::sync::mpsc::UnboundedSender<()>,
    ) {
        use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let mut stream = BufReader::new(stream);
            stream.get_mut().write_all(b"220 test\r\n").await.unwrap();
            let (mut line, mut in_data) = (String::new(), false);
            loop {
                line.clear();
                stream.read_line(&mut line).await.unwrap();
                let reply: &[u8] = match (in_data, line.as_str()) {
                    (true, ".\r\n") => b"250 queued\r\n",
                    (true, _) => continue,
                    (false, command) if command.starts_with("DATA") => b"354 go on\r\n",
                    _ => b"250 ok\r\n",
                };
                stream.get_mut().write_all(reply).await.unwrap();
                in_data = reply.starts_with(b"354");
                if reply.starts_with(b"250 queued") {
                    break;
                }
            }
            drop(stream);
            closed.send(()).unwrap();
        }
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_is_replaced_without_a_failed_send() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (closed, mut closes) = tokio::sync::mpsc::unbounded_channel();
        let server = tokio::spawn(one_message_per_connection(listener, closed));
        let pool = SmtpPool::new(SmtpServer {
            host: "127.0.0.1".to_string(),
            port,
            tls: Tls::None,
            credentials: None,
        });
        let envelope = Envelope::new(
            Some("office@acme.example".parse().unwrap()),
            vec!["it@kanto.example".parse().unwrap()],
        )
        .unwrap();
        for _ in 0..3 {
            let reply = pool
                .send(&envelope, b"Subject: hi\r\n\r\nHello\r\n")
                .await
                .unwrap();
            assert_eq!(reply.code().to_string(), "250");
            let nodelay: Vec<bool> = (pool.idle.lock().unwrap().iter())
                .map(|idle| idle.pooled.socket.0.nodelay().unwrap())
                .collect();
            assert_eq!(nodelay, [true], "the pooled connection's socket");
            closes.recv().await.unwrap();
        }
        server.abort();
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
