//! Delivering messages: over SMTP (Tickler's pool of connections, [`crate::smtp_pool`], TLS as
//! the URL asks) or, when no SMTP
//! server is configured, into an outbox folder of .eml files. Failures come back classified
//! as transient (retry later), permanent (give up and alert someone) or a configuration
//! problem (nothing will go out until an admin fixes it: an untrusted certificate, a server
//! without the STARTTLS a login needs).

use std::{
    error::Error as _,
    path::{Path, PathBuf},
    time::Duration,
};

use lettre::transport::smtp::{
    authentication::Credentials,
    client::{Certificate, Tls, TlsParameters},
};
use percent_encoding::percent_decode_str;
use rustls::{
    CertificateError,
    pki_types::{CertificateDer, pem::PemObject},
};

use crate::{
    dkim::DkimSigner,
    message::{MessageError, OutgoingMessage, Sender, message_id_domain},
    smtp_pool::{PoolError, SmtpPool, SmtpServer},
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
    /// The longest one SMTP send may take, connecting included: a server that stops
    /// answering must not hold a reminder in `sending` forever.
    pub timeout: Duration,
    /// Signs every message (SMTP and outbox alike) for its From address's domain; `None`
    /// sends unsigned.
    pub dkim: Option<DkimSigner>,
    /// A private certificate authority trusted for the SMTP server's certificate, besides
    /// the system's (`TICKLER_SMTP_CA_FILE`).
    pub ca: Option<SmtpCa>,
}

/// The certificates of a PEM file (a private CA, or several) that the mailer trusts for
/// the SMTP server in addition to the system's store, which stays untouched.
#[derive(Clone)]
pub struct SmtpCa {
    path: PathBuf,
    certificates: Vec<CertificateDer<'static>>,
}

impl SmtpCa {
    /// Reads every certificate of a PEM file; a missing or unreadable file, or one without
    /// a single certificate, is refused now rather than at the first send.
    pub fn load(path: &Path) -> Result<SmtpCa, ConfigError> {
        let problem = |reason: String| ConfigError::CaFile {
            path: path.display().to_string(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| problem(format!("cannot be read ({e})")))?;
        let certificates = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| problem(format!("is not valid PEM ({e})")))?;
        if certificates.is_empty() {
            return Err(problem(
                "holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)".to_string(),
            ));
        }
        Ok(SmtpCa {
            path: path.to_path_buf(),
            certificates,
        })
    }
}

impl std::fmt::Debug for SmtpCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} certificates)",
            self.path.display(),
            self.certificates.len()
        )
    }
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_password))
            .field("outbox_dir", &self.outbox_dir)
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .field("dkim", &self.dkim)
            .field("ca", &self.ca)
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
    /// Tickler's mail settings cannot work with this server: its certificate is not trusted
    /// or not valid for its name, or it does not offer the STARTTLS that a login requires.
    /// Nothing will go out until an admin fixes it, so it is neither retried with backoff nor
    /// the message's fault. The text names the host and the reason, never the password.
    #[error("{problem}")]
    Configuration { problem: String },
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
    #[error("CA file {path} {reason}")]
    CaFile { path: String, reason: String },
    #[error("outbox folder {path}: {reason}")]
    Outbox { path: String, reason: String },
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
    Smtp {
        pool: SmtpPool,
        /// For error messages: "certificate of HOST not trusted".
        host: String,
    },
    Outbox {
        dir: PathBuf,
    },
}

/// What the URL asks of TLS, before its login is taken into account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsAsked {
    /// `smtp://` without a `tls` parameter.
    Unsaid,
    Opportunistic,
    Required,
    None,
    Implicit,
}

/// How the mailer speaks TLS.
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

/// The TLS decision. With a login, TLS is required unless the URL says `tls=none` itself:
/// opportunistic STARTTLS would send the password in the clear to a man in the middle who
/// strips STARTTLS from the server's greeting, so the default becomes "required" and an
/// explicit `tls=opportunistic` is refused. Without a login nothing secret travels, and
/// opportunistic stays the default.
fn tls_mode(asked: TlsAsked, login: bool) -> Result<TlsMode, ConfigError> {
    Ok(match (asked, login) {
        (TlsAsked::Implicit, _) => TlsMode::Implicit,
        (TlsAsked::Required, _) | (TlsAsked::Unsaid, true) => TlsMode::Required,
        (TlsAsked::None, _) => TlsMode::None,
        (TlsAsked::Unsaid | TlsAsked::Opportunistic, false) => TlsMode::Opportunistic,
        (TlsAsked::Opportunistic, true) => {
            return Err(ConfigError::Url(
                "tls=opportunistic with a login would send the password unencrypted to a server \
                 (or a man in the middle) that does not offer STARTTLS; leave tls out \
                 (STARTTLS is then required) or say tls=none for a trusted local server"
                    .to_string(),
            ));
        }
    })
}

impl SmtpUrl {
    /// The warning to log when the URL sends its login unencrypted because it says so.
    fn plain_login_warning(&self) -> Option<String> {
        match (&self.credentials, self.tls) {
            (Some((user, _)), TlsMode::None) => Some(format!(
                "the SMTP URL says tls=none: the login {user} and its password go to {}:{} \
                 unencrypted; use it only for a server on this machine or a trusted network",
                self.host, self.port
            )),
            _ => None,
        }
    }
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
        TlsAsked::Implicit
    } else {
        TlsAsked::Unsaid
    };
    for (key, value) in url.query_pairs() {
        match (key.as_ref(), value.as_ref(), implicit) {
            ("tls", "required", false) => tls = TlsAsked::Required,
            ("tls", "none", false) => tls = TlsAsked::None,
            ("tls", "opportunistic", false) => tls = TlsAsked::Opportunistic,
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
        tls: tls_mode(tls, credentials.is_some())?,
        credentials,
    })
}

impl Mailer {
    pub fn new(config: &MailConfig) -> Result<Mailer, ConfigError> {
        install_crypto_provider();
        let mut mailer = match &config.smtp_url {
            Some(url) => {
                let url = parse_smtp_url(url)?;
                if let Some(warning) = url.plain_login_warning() {
                    tracing::warn!("{warning}");
                }
                Self::smtp(&url, config.ca.as_ref(), config.timeout)
            }
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

    fn smtp(url: &SmtpUrl, ca: Option<&SmtpCa>, timeout: Duration) -> Result<Mailer, ConfigError> {
        let tls_parameters = || {
            let mut builder = TlsParameters::builder(url.host.clone());
            for der in ca.iter().flat_map(|ca| &ca.certificates) {
                let certificate =
                    Certificate::from_der(der.to_vec()).map_err(|e| ConfigError::CaFile {
                        path: ca
                            .map(|ca| ca.path.display().to_string())
                            .unwrap_or_default(),
                        reason: e.to_string(),
                    })?;
                builder = builder.add_root_certificate(certificate);
            }
            builder.build().map_err(|e| ConfigError::Tls {
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
        let pool = SmtpPool::new(SmtpServer {
            host: url.host.clone(),
            port: url.port,
            tls,
            credentials: url
                .credentials
                .as_ref()
                .map(|(user, password)| Credentials::new(user.clone(), password.clone())),
        });
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
            transport: Transport::Smtp {
                pool,
                host: url.host.clone(),
            },
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
            transport: Transport::Outbox { dir: dir.clone() },
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
            Transport::Smtp { pool, host } => {
                let formatted = message.formatted();
                let sent = pool.send(message.envelope(), &formatted);
                match tokio::time::timeout(self.timeout, sent).await {
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
                    Ok(Err(PoolError::Smtp(e))) => Err(classify(&e, host)),
                    Ok(Err(e @ PoolError::Connect { .. })) => Err(SendError::Transient {
                        reply: e.to_string(),
                    }),
                }
            }
            Transport::Outbox { dir } => {
                let formatted = message.formatted();
                let dir = dir.clone();
                // One hand-off to a blocking thread per message, for the folder check and
                // the write together: each hand-off costs two thread switches, which were
                // most of an outbox dispatch's time when lettre's file transport made two.
                let written =
                    tokio::task::spawn_blocking(move || write_to_outbox(&dir, &formatted))
                        .await
                        .map_err(|e| SendError::Transient {
                            reply: format!("writing to the outbox folder stopped: {e}"),
                        })?;
                let file = written.map_err(|(dir, e)| SendError::Transient {
                    reply: format!("outbox folder {}: {e}", dir.display()),
                })?;
                Ok(Delivery {
                    reply: file.display().to_string(),
                })
            }
        }
    }
}

/// Writes a formatted message to `dir` as `<time-ordered unique id>.eml` (recreating the folder if someone
/// removed it since start-up) and returns the file's path.
fn write_to_outbox(dir: &Path, formatted: &[u8]) -> Result<PathBuf, (PathBuf, std::io::Error)> {
    let failed = |e| (dir.to_path_buf(), e);
    std::fs::create_dir_all(dir).map_err(failed)?;
    let file = dir.join(format!("{}.eml", uuid::Uuid::now_v7()));
    std::fs::write(&file, formatted).map_err(failed)?;
    Ok(file)
}

/// A certificate the mailer refuses and a server without the STARTTLS it requires are
/// configuration problems; 5xx replies are permanent; everything else (4xx, refused or reset
/// connections, timeouts, other TLS trouble, garbled replies) may clear up, so it is retried.
fn classify(error: &lettre::transport::smtp::Error, host: &str) -> SendError {
    if let Some(problem) = tls_problem(error, host) {
        return SendError::Configuration { problem };
    }
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

/// What an admin must fix, if `error` is a TLS configuration problem. lettre wraps rustls's
/// error in an `io::Error`, whose `source()` skips the error it holds, so the chain is
/// walked by hand, looking inside each `io::Error` too.
fn tls_problem(error: &lettre::transport::smtp::Error, host: &str) -> Option<String> {
    if error.is_client() && error.to_string().contains("STARTTLS") {
        return Some(format!(
            "SMTP TLS: {host} does not offer STARTTLS, which the SMTP URL requires (always with \
             a login), so nothing was sent, the login neither; a man in the middle may be \
             removing it"
        ));
    }
    let mut next: Option<&(dyn std::error::Error + 'static)> = error.source();
    while let Some(current) = next {
        let rustls_error = current.downcast_ref::<rustls::Error>().or_else(|| {
            current
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls::Error::InvalidCertificate(certificate)) = rustls_error {
            return Some(format!(
                "SMTP TLS: certificate of {host} {}",
                certificate_problem(certificate)
            ));
        }
        next = current.source();
    }
    None
}

/// Why a certificate was refused, in an admin's words.
fn certificate_problem(error: &CertificateError) -> String {
    match error {
        CertificateError::UnknownIssuer => {
            "not trusted (unknown issuer: set TICKLER_SMTP_CA_FILE to a private CA)".to_string()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "not valid for that name".to_string()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "has expired".to_string()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "is not valid yet".to_string()
        }
        CertificateError::Revoked => "has been revoked".to_string(),
        other => format!("refused ({other:?})"),
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
            ca: None,
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
    fn a_login_never_goes_where_starttls_could_be_stripped() {
        use TlsAsked as A;
        use TlsMode as M;
        for (asked, login, expected) in [
            (A::Unsaid, false, Some(M::Opportunistic)),
            (A::Unsaid, true, Some(M::Required)),
            (A::Opportunistic, false, Some(M::Opportunistic)),
            (A::Opportunistic, true, None),
            (A::Required, false, Some(M::Required)),
            (A::Required, true, Some(M::Required)),
            (A::None, false, Some(M::None)),
            (A::None, true, Some(M::None)),
            (A::Implicit, false, Some(M::Implicit)),
            (A::Implicit, true, Some(M::Implicit)),
        ] {
            assert_eq!(
                tls_mode(asked, login).ok(),
                expected,
                "{asked:?}, login {login}"
            );
        }
        let err = parse_smtp_url("smtp://u:s3cret@mail.example.com?tls=opportunistic")
            .unwrap_err()
            .to_string();
        assert!(err.contains("tls=opportunistic with a login"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");

        let u = parse_smtp_url("smtp://u:s3cret@mail.example.com").unwrap();
        assert_eq!((u.port, u.tls), (587, TlsMode::Required));
        assert_eq!(u.plain_login_warning(), None);
        let u = parse_smtp_url("smtp://u:s3cret@127.0.0.1:2525?tls=none").unwrap();
        let warning = u
            .plain_login_warning()
            .expect("a warning for a plain login");
        assert!(
            warning.contains("tls=none") && warning.contains("u and its password"),
            "{warning}"
        );
        assert!(warning.contains("127.0.0.1:2525 unencrypted"), "{warning}");
        assert!(!warning.contains("s3cret"), "{warning}");
        let u = parse_smtp_url("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!(u.plain_login_warning(), None);
    }

    #[test]
    fn a_ca_file_must_hold_pem_certificates() {
        let dir = std::env::temp_dir().join(format!("tickler-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let err = SmtpCa::load(&missing).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("CA file {} cannot be read", missing.display())),
            "{err}"
        );
        let not_pem = dir.join("not.pem");
        std::fs::write(&not_pem, "just some text\n").unwrap();
        let err = SmtpCa::load(&not_pem).unwrap_err().to_string();
        assert!(err.contains("holds no certificate"), "{err}");
        let broken = dir.join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = SmtpCa::load(&broken).unwrap_err().to_string();
        assert!(err.contains("is not valid PEM"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
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
            ca: None,
        };
        let mailer = Mailer::new(&config).unwrap();
        assert_eq!(
            mailer.describe(),
            "SMTP smtp://mail.example.com:587 (STARTTLS required, login alice)"
        );
        assert!(!mailer.is_outbox());
    }
}
