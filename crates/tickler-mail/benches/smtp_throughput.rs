//! How many messages per second the mailer delivers to a real SMTP server (aiosmtpd on
//! loopback, the test server), against what that server accepts from a trivial client over
//! the same number of connections: the server's own rate is the ceiling.
//!
//! ```sh
//! cargo bench -p tickler-mail --bench smtp_throughput
//! BENCH_MESSAGES=5000 BENCH_CONNECTIONS=1,4,8 cargo bench -p tickler-mail --bench smtp_throughput
//! ```
//!
//! For each number of connections C (BENCH_CONNECTIONS, default 1 and 8), BENCH_MESSAGES
//! messages (default 2,000) go out twice, each time to a fresh server: first from a trivial
//! client (C plain TCP connections with `TCP_NODELAY`, one EHLO each, then MAIL, RCPT, DATA
//! and the message with its final dot in one write, nothing checked between messages), then
//! through `Mailer::send` from C tasks sharing one mailer. Both send the same bytes. Run as
//! a test (without cargo bench's `--bench` argument) it makes a small smoke run.

use std::{
    error::Error,
    sync::Arc,
    time::{Duration, Instant},
};

use tickler_core::{email::EmailAddress, language::Language};
use tickler_mail::{MailConfig, Mailer, OutgoingMessage, Sender, install_crypto_provider};
use tickler_testkit::SmtpTestServer;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

fn message(n: usize) -> Result<OutgoingMessage> {
    Ok(OutgoingMessage {
        message_id: format!("bench-{n}@acme.example"),
        from: Sender::parse("Acme Maintenance <office@acme.example>")?,
        to: vec![EmailAddress::parse("email", "it@kanto.example")?],
        cc: Vec::new(),
        reply_to: Vec::new(),
        subject: "Reminder: service expiring".to_string(),
        body: "Dear customer,\n\nyour maintenance contract ends on 2027-06-30.\n\n".repeat(10),
        html: None,
        language: Language::parse("language", "en")?,
        date: "2027-01-30T00:00:00Z".parse()?,
        attachments: Vec::new(),
    })
}

/// Reads one reply, all its lines, and fails unless its code is `expected`.
async fn expect_reply(reader: &mut BufReader<TcpStream>, expected: &str) -> Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Err("the server closed the connection".into());
        }
        if !line.starts_with(expected) {
            return Err(format!("expected {expected}, got {line:?}").into());
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(());
        }
    }
}

/// The trivial client: one connection sending `count` messages as fast as the server answers.
async fn trivial_client(port: u16, count: usize, data: Arc<Vec<u8>>) -> Result<()> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream);
    expect_reply(&mut reader, "220").await?;
    reader.get_mut().write_all(b"EHLO bench\r\n").await?;
    expect_reply(&mut reader, "250").await?;
    for _ in 0..count {
        let stream = reader.get_mut();
        stream
            .write_all(b"MAIL FROM:<office@acme.example>\r\n")
            .await?;
        expect_reply(&mut reader, "250").await?;
        reader
            .get_mut()
            .write_all(b"RCPT TO:<it@kanto.example>\r\n")
            .await?;
        expect_reply(&mut reader, "250").await?;
        reader.get_mut().write_all(b"DATA\r\n").await?;
        expect_reply(&mut reader, "354").await?;
        reader.get_mut().write_all(&data).await?;
        expect_reply(&mut reader, "250").await?;
    }
    reader.get_mut().write_all(b"QUIT\r\n").await?;
    Ok(())
}

/// Messages per second from `connections` tasks running `one` with their share of `total`.
async fn rate<F, Fut>(total: usize, connections: usize, one: F) -> Result<f64>
where
    F: Fn(usize, usize) -> Fut,
    Fut: std::future::Future<Output = Result<()>> + Send + 'static,
{
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|c| {
            let share = total / connections + usize::from(c < total % connections);
            tokio::spawn(one(c, share))
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> Result<()> {
    install_crypto_provider();
    let full = std::env::args().any(|arg| arg == "--bench");
    let total: usize = match std::env::var("BENCH_MESSAGES") {
        Ok(text) => text.parse()?,
        Err(_) if full => 2_000,
        Err(_) => 20,
    };
    let connections: Vec<usize> = std::env::var("BENCH_CONNECTIONS")
        .unwrap_or_else(|_| "1,8".to_string())
        .split(',')
        .map(|n| n.trim().parse())
        .collect::<std::result::Result<_, _>>()?;
    // The bytes the mailer sends, dot-stuffed as the protocol wants (none of its lines begins
    // with a dot), ended by the final dot.
    let mut data = message(0)?.to_lettre()?.formatted();
    data.extend_from_slice(b"\r\n.\r\n");
    let data = Arc::new(data);

    println!(
        "| connections | messages | trivial client, messages/s | Tickler's mailer, messages/s | ratio |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: |");
    for c in connections {
        let server = SmtpTestServer::start();
        let port = server.port();
        let server_rate = rate(total, c, |_, share| {
            trivial_client(port, share, Arc::clone(&data))
        })
        .await?;
        drop(server);

        let server = SmtpTestServer::start();
        let mailer = Arc::new(Mailer::new(&MailConfig {
            smtp_url: Some(server.url()),
            outbox_dir: std::env::temp_dir(),
            from: Sender::parse("Acme Maintenance <office@acme.example>")?,
            timeout: Duration::from_secs(30),
            dkim: None,
            ca: None,
        })?);
        let mailer_rate = rate(total, c, |task, share| {
            let mailer = Arc::clone(&mailer);
            async move {
                for n in 0..share {
                    mailer.send(&message(task * total + n)?).await?;
                }
                Ok(())
            }
        })
        .await?;
        let received = server
            .wait_for_messages(total, Duration::from_secs(30))
            .len();
        if received != total {
            return Err(format!("the server received {received} of {total} messages").into());
        }
        println!(
            "| {c} | {total} | {server_rate:.0} | {mailer_rate:.0} | {:.2} |",
            mailer_rate / server_rate
        );
    }
    Ok(())
}
