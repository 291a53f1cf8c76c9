//! Delivering messages: over SMTP (pooled connections, TLS as the URL asks) or, when no SMTP
//! server is configured, into an outbox folder of .eml files. Failures come back classified
//! as transient (retry later) or permanent (give up and alert someone).

use std::{error::Error as _, path::PathBuf, time::Duration};

use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    transport::smtp::{
        PoolConfig,
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
};
use percent_encoding::percent_decode_str;

use crate::{
    dkim::DkimSigner,
    message::{MessageError, OutgoingMessage, Sender, message_id_domain},
};

/// Installs rustls's aws-lc-rs crypto provider as the process default. Call it once at
/// start-up (the mailer also does): two providers compiled into one build make rustls panic
/// at run time unless one is installed explicitly. A provider already installed is kept.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// How mail leaves Tickler. Its `Debug` form hides the SMTP password.
#[derive(Clone)]
pub struct MailConfig {
    /// `smtp://[user:pass@]host[:port][?tls=required|none]` or `smtps://[user:pass@]host[:port]`;
    /// None writes messages into `outbox_dir` instead.
    pub smtp_url: Option<String>,
    pub outbox_dir: PathBuf,
    pub from: Sender,
    /// The longest one SMTP send may take, connecting included. lettre bounds only the
    /// connect, so the mailer bounds the whole exchange: a server that stops answering must
    /// not hold a reminder in `sending` forever.
    pub timeout: Duration,
    /// Signs every message (SMTP and outbox alike) for its From address's domain; `None`
    /// sends unsigned.
    pub dkim: Option<DkimSigner>,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_password))
            .field("outbox_dir", &self.outbox_dir)
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .field("dkim", &self.dkim)
            .finish()
    }
}

/// An SMTP URL with its password (between `user:` and `@` in the authority) replaced by
/// `***`, for logs and debug output.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// The server's answer to a delivered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The SMTP server's reply to DATA, e.g. "250 2.0.0 OK queued as 12", or for the outbox
    /// the path of the written file.
    pub reply: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: a 4xx reply, a refused or lost connection, a timeout, TLS trouble,
    /// an outbox folder that cannot be written.
    #[error("temporary failure: {reply}")]
    Transient { reply: String },
    /// The server refused the message for good (5xx); retrying will not help.
    #[error("permanent failure: {reply}")]
    Permanent { code: u16, reply: String },
    /// The message itself could not be built (no recipient, a bad address); never sent.
    #[error("invalid message: {0}")]
    Invalid(#[from] MessageError),
}

impl SendError {
    pub fn is_transient(&self) -> bool {
        matches!(self, SendError::Transient { .. })
    }
}

/// A mail configuration that cannot work. Never contains the SMTP password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("SMTP URL: {0}")]
    Url(String),
    #[error("SMTP TLS for {host}: {reason}")]
    Tls { host: String, reason: String },
    #[error("outbox folder {path}: {reason}")]
    Outbox { path: String, reason: String },
    #[error(
        "the SMTP mailer must be created inside a Tokio runtime (its connection pool runs there)"
    )]
    NoRuntime,
    #[error("DKIM selector: {0}")]
    DkimSelector(String),
    #[error("DKIM key file {path} {reason}")]
    DkimKey { path: String, reason: String },
}

/// Sends messages over SMTP or into the outbox folder. Cheap to share behind an `Arc`; the SMTP
/// side keeps a pool of connections, so several sends may be in flight at once.
pub struct Mailer {
    transport: Transport,
    description: String,
    timeout: Duration,
    dkim: Option<DkimSigner>,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox {
        transport: AsyncFileTransport<Tokio1Executor>,
        dir: PathBuf,
    },
}

/// What the URL asks of TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsMode {
    /// STARTTLS when the server offers it, plain otherwise.
    Opportunistic,
    /// STARTTLS or no delivery.
    Required,
    /// TLS from the first byte (smtps).
    Implicit,
    /// Plain text: only for local test servers.
    None,
}

#[derive(Debug)]
struct SmtpUrl {
    host: String,
    port: u16,
    tls: TlsMode,
    credentials: Option<(String, String)>,
}

/// Default ports: 465 for `smtps`; for `smtp`, 587 (submission) when credentials are given,
/// since servers that take logins listen there, else 25 (a relay that trusts the host).
fn parse_smtp_url(text: &str) -> Result<SmtpUrl, ConfigError> {
    // The error never repeats the URL: it may hold the password.
    let url = url::Url::parse(text.trim())
        .map_err(|e| ConfigError::Url(format!("not a valid URL ({e})")))?;
    let implicit = match url.scheme() {
        "smtp" => false,
        "smtps" => true,
        other => {
            return Err(ConfigError::Url(format!(
                "scheme \"{other}\" is not supported (use smtp:// or smtps://)"
            )));
        }
    };
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| ConfigError::Url("it has no host name".to_string()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if !matches!(url.path(), "" | "/") {
        return Err(ConfigError::Url(format!(
            "unexpected path \"{}\" after the host",
            url.path()
        )));
    }
    let decode = |part: &str, what: &str| {
        percent_decode_str(part)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| ConfigError::Url(format!("the {what} is not valid UTF-8 once decoded")))
    };
    let credentials = if url.username().is_empty() {
        None
    } else {
        let user = decode(url.username(), "user name")?;
        let password = decode(url.password().unwrap_or(""), "password")?;
        Some((user, password))
    };
    let mut tls = if implicit {
        TlsMode::Implicit
    } else {
        TlsMode::Opportunistic
    };
    for (key, value) in url.query_pairs() {
        match (key.as_ref(), value.as_ref(), implicit) {
            ("tls", "required", false) => tls = TlsMode::Required,
            ("tls", "none", false) => tls = TlsMode::None,
            ("tls", "opportunistic", false) => tls = TlsMode::Opportunistic,
            ("tls", _, true) => {
                return Err(ConfigError::Url(
                    "smtps:// always uses TLS; the tls parameter is only for smtp://".to_string(),
                ));
            }
            ("tls", other, false) => {
                return Err(ConfigError::Url(format!(
                    "tls={other} is not supported (use tls=required or tls=none)"
                )));
            }
            (other, _, _) => {
                return Err(ConfigError::Url(format!(
                    "unknown parameter \"{other}\" (only tls is supported)"
                )));
            }
        }
    }
    let port = url
        .port()
        .unwrap_or(match (implicit, credentials.is_some()) {
            (true, _) => 465,
            (false, true) => 587,
            (false, false) => 25,
        });
    Ok(SmtpUrl {
        host,
        port,
        tls,
        credentials,
    })
}

impl Mailer {
    /// For SMTP this must run inside a Tokio runtime: the connection pool starts a task there.
    pub fn new(config: &MailConfig) -> Result<Mailer, ConfigError> {
        install_crypto_provider();
        let mut mailer = match &config.smtp_url {
            Some(url) => Self::smtp(&parse_smtp_url(url)?, config.timeout),
            None => Self::outbox(config.outbox_dir.clone()),
        }?;
        if let Some(dkim) = &config.dkim {
            mailer.description.push_str(&format!(
                ", DKIM-signed with selector {} ({})",
                dkim.selector(),
                dkim.algorithm_name()
            ));
            mailer.dkim = Some(dkim.clone());
        }
        Ok(mailer)
    }

    fn smtp(url: &SmtpUrl, timeout: Duration) -> Result<Mailer, ConfigError> {
        // lettre would panic instead.
        tokio::runtime::Handle::try_current().map_err(|_| ConfigError::NoRuntime)?;
        let tls_parameters = || {
            TlsParameters::new(url.host.clone()).map_err(|e| ConfigError::Tls {
                host: url.host.clone(),
                reason: e.to_string(),
            })
        };
        let (tls, scheme, how) = match url.tls {
            TlsMode::Opportunistic => (
                Tls::Opportunistic(tls_parameters()?),
                "smtp",
                "STARTTLS if offered",
            ),
            TlsMode::Required => (
                Tls::Required(tls_parameters()?),
                "smtp",
                "STARTTLS required",
            ),
            TlsMode::Implicit => (Tls::Wrapper(tls_parameters()?), "smtps", "implicit TLS"),
            TlsMode::None => (Tls::None, "smtp", "no TLS"),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&url.host)
            .port(url.port)
            .tls(tls)
            .timeout(Some(timeout))
            .pool_config(
                PoolConfig::new()
                    .max_size(8)
                    .idle_timeout(Duration::from_secs(60)),
            );
        if let Some((user, password)) = &url.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let host = if url.host.contains(':') {
            format!("[{}]", url.host)
        } else {
            url.host.clone()
        };
        let login = match &url.credentials {
            Some((user, _)) => format!(", login {user}"),
            None => String::new(),
        };
        Ok(Mailer {
            transport: Transport::Smtp(builder.build()),
            description: format!("SMTP {scheme}://{host}:{} ({how}{login})", url.port),
            timeout,
            dkim: None,
        })
    }

    fn outbox(dir: PathBuf) -> Result<Mailer, ConfigError> {
        std::fs::create_dir_all(&dir).map_err(|e| ConfigError::Outbox {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(Mailer {
            transport: Transport::Outbox {
                transport: AsyncFileTransport::new(&dir),
                dir: dir.clone(),
            },
            description: format!("outbox folder {}", dir.display()),
            timeout: Duration::MAX,
            dkim: None,
        })
    }

    /// Where mail goes, for logs and the admin page; never includes the password.
    pub fn describe(&self) -> String {
        self.description.clone()
    }

    /// True when messages are only written to a folder, not sent.
    pub fn is_outbox(&self) -> bool {
        matches!(self.transport, Transport::Outbox { .. })
    }

    pub async fn send(&self, msg: &OutgoingMessage) -> Result<Delivery, SendError> {
        let mut message = msg.to_lettre()?;
        // Last, once every header is final: the outbox then shows exactly what would be sent.
        if let Some(dkim) = &self.dkim {
            dkim.sign(&mut message, message_id_domain(&msg.from.address));
        }
        match &self.transport {
            Transport::Smtp(transport) => {
                match tokio::time::timeout(self.timeout, transport.send(message)).await {
                    Err(_elapsed) => Err(SendError::Transient {
                        reply: format!("no answer from the SMTP server within {:?}", self.timeout),
                    }),
                    Ok(Ok(response)) => Ok(Delivery {
                        reply: format!(
                            "{} {}",
                            response.code(),
                            response.message().collect::<Vec<_>>().join(" ")
                        )
                        .trim()
                        .to_string(),
                    }),
                    Ok(Err(e)) => Err(classify(&e)),
                }
            }
            Transport::Outbox { transport, dir } => {
                // Someone may have removed the folder since start-up.
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| SendError::Transient {
                        reply: format!("outbox folder {}: {e}", dir.display()),
                    })?;
                let id = transport
                    .send(message)
                    .await
                    .map_err(|e| SendError::Transient {
                        reply: format!("outbox folder {}: {e}", dir.display()),
                    })?;
                Ok(Delivery {
                    reply: dir.join(format!("{id}.eml")).display().to_string(),
                })
            }
        }
    }
}

/// 5xx replies are permanent; everything else (4xx, refused or reset connections, timeouts,
/// TLS handshakes, garbled replies) may clear up, so it is retried.
fn classify(error: &lettre::transport::smtp::Error) -> SendError {
    let detail = error.source().map(|s| s.to_string()).unwrap_or_default();
    match error.status().map(u16::from) {
        Some(code) if (500..600).contains(&code) => SendError::Permanent {
            code,
            reply: format!("{code} {detail}").trim().to_string(),
        },
        Some(code) => SendError::Transient {
            reply: format!("{code} {detail}").trim().to_string(),
        },
        None => SendError::Transient {
            reply: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_smtp_password() {
        let config = MailConfig {
            smtp_url: Some("smtp://mailer:s3cret%21@smtp.example.com:587?tls=required".into()),
            outbox_dir: PathBuf::from("outbox"),
            from: Sender::parse("Tickler <t@example.com>").expect("sender"),
            timeout: Duration::from_secs(30),
            dkim: None,
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("smtp://mailer:***@smtp.example.com:587?tls=required"),
            "{shown}"
        );
        for (url, redacted) in [
            ("smtps://u:p@h", "smtps://u:***@h"),
            ("smtp://h:25", "smtp://h:25"),
            ("smtp://user@h", "smtp://user@h"),
            ("smtp://a:b:c@h/x@y", "smtp://a:***@h/x@y"),
        ] {
            assert_eq!(redact_password(url), redacted);
        }
    }

    #[test]
    fn parses_url_forms_with_documented_default_ports() {
        let u = parse_smtp_url("smtp://mail.example.com").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.tls),
            ("mail.example.com", 25, TlsMode::Opportunistic)
        );
        assert!(u.credentials.is_none());

        let u = parse_smtp_url("smtp://al%40ice:p%3Ass%20w@mail.example.com?tls=required").unwrap();
        assert_eq!((u.port, u.tls), (587, TlsMode::Required));
        assert_eq!(
            u.credentials,
            Some(("al@ice".to_string(), "p:ss w".to_string()))
        );

        let u = parse_smtp_url("smtps://mail.example.com").unwrap();
        assert_eq!((u.port, u.tls), (465, TlsMode::Implicit));

        let u = parse_smtp_url("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.tls),
            ("127.0.0.1", 2525, TlsMode::None)
        );
    }

    #[test]
    fn refuses_bad_urls_without_echoing_the_password() {
        for bad in [
            "http://user:s3cret@mail.example.com",
            "smtp://user:s3cret@mail.example.com?tls=maybe",
            "smtp://user:s3cret@mail.example.com?starttls=1",
            "smtps://user:s3cret@mail.example.com?tls=none",
            "smtp://user:s3cret@mail.example.com/path",
            "smtp://user:s3cret@:25",
            "not a url s3cret",
        ] {
            let err = parse_smtp_url(bad).unwrap_err().to_string();
            assert!(!err.contains("s3cret"), "{bad}: {err}");
        }
    }

    #[tokio::test]
    async fn describe_never_shows_the_password() {
        install_crypto_provider();
        let config = MailConfig {
            smtp_url: Some("smtp://alice:s3cret@mail.example.com:587".to_string()),
            outbox_dir: PathBuf::from("unused"),
            from: Sender::parse("a@example.com").unwrap(),
            timeout: Duration::from_secs(5),
            dkim: None,
        };
        let mailer = Mailer::new(&config).unwrap();
        assert_eq!(
            mailer.describe(),
            "SMTP smtp://mail.example.com:587 (STARTTLS if offered, login alice)"
        );
        assert!(!mailer.is_outbox());
    }
}
