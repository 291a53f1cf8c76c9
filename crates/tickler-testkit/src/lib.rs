//! Helpers for Tickler's tests: a real SMTP server (Debian's `python3-aiosmtpd`, driven by
//! `scripts/smtp-test-server.py`) on a free port, with faults a test can switch while it runs.
//!
//! Synchronous on purpose (std::process, std::thread), so plain and tokio tests can both use it.

pub mod postgres;
pub mod webhook_receiver;

use std::{
    ffi::OsString,
    fs,
    io::{BufRead, BufReader},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{OnceLock, mpsc},
    thread,
    time::{Duration, Instant},
};

/// Debian's interpreter: the `python3` on PATH may be a pyenv that cannot see Debian's packages.
const PYTHON: &str = "/usr/bin/python3";
const MISSING: &str =
    "python3-aiosmtpd is missing: apt-get install python3-aiosmtpd or run scripts/test";
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A port nobody listens on right now, e.g. for a "connection refused" test.
///
/// It is taken below Linux's ephemeral range (32768 and up), so that neither a server binding
/// port 0 nor a client's own source port (a TCP self-connect) can occupy it afterwards.
pub fn free_port() -> u16 {
    // A spread-out starting point, so parallel tests rarely probe the same ports.
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let start = ((std::process::id() as u64)
        .wrapping_mul(7919)
        .wrapping_add(clock)
        % 20_000) as u16;
    (0..20_000u16)
        .map(|i| 12_000 + (start + i) % 20_000)
        .find(|&port| TcpListener::bind(("127.0.0.1", port)).is_ok())
        .expect("no free local port between 12000 and 32000")
}

/// The script's path, found from this crate's folder so tests work from any working directory.
pub fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp-test-server.py")
}

fn require_aiosmtpd() {
    static CHECKED: OnceLock<bool> = OnceLock::new();
    let available = *CHECKED.get_or_init(|| {
        Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    });
    assert!(available, "{MISSING}");
}

/// A running SMTP test server; killed when dropped.
pub struct SmtpTestServer {
    child: Child,
    port: u16,
    // Kept for its lifetime: the maildir and the faults file live in it.
    dir: tempfile::TempDir,
}

impl SmtpTestServer {
    /// Starts a server that accepts everything.
    pub fn start() -> SmtpTestServer {
        Self::start_with_faults(serde_json::json!({}))
    }

    /// Starts a server with faults already set, e.g.
    /// `json!({"data_reply": "451 4.3.0 Try later", "remaining": 3})`; see the script for the forms.
    pub fn start_with_faults(faults: serde_json::Value) -> SmtpTestServer {
        Self::spawn(faults, None, &[])
    }

    /// Starts a server that waits `delay` before answering each DATA command (timeouts, slow servers).
    pub fn start_with_reply_delay(delay: Duration) -> SmtpTestServer {
        Self::spawn(serde_json::json!({}), Some(delay), &[])
    }

    /// Starts a server that speaks TLS as `tls` says with `certificates`' server certificate
    /// (none: plain text), and with `login` ("user:password") requires that login before MAIL,
    /// offering AUTH only once encrypted when it has TLS, in the clear when not (what a man
    /// in the middle who strips STARTTLS shows). See [`SmtpTestServer::logins`].
    pub fn start_secured(
        tls: Option<(ServerTls, &TestCertificates)>,
        login: Option<&str>,
    ) -> SmtpTestServer {
        let mut args: Vec<OsString> = Vec::new();
        if let Some((mode, certificates)) = tls {
            args.extend([
                "--tls-cert".into(),
                certificates.server_cert.clone().into(),
                "--tls-key".into(),
                certificates.server_key.clone().into(),
            ]);
            if mode == ServerTls::Implicit {
                args.push("--implicit-tls".into());
            }
        }
        if let Some(login) = login {
            args.extend(["--login".into(), login.into()]);
        }
        Self::spawn(serde_json::json!({}), None, &args)
    }

    fn spawn(
        faults: serde_json::Value,
        reply_delay: Option<Duration>,
        extra_args: &[OsString],
    ) -> SmtpTestServer {
        require_aiosmtpd();
        let script = script_path();
        assert!(
            script.is_file(),
            "SMTP test server script not found at {}",
            script.display()
        );
        let dir = tempfile::tempdir().expect("cannot create a temporary folder");
        write_atomically(&dir.path().join("faults.json"), &faults);
        let mut command = Command::new(PYTHON);
        command
            .arg(&script)
            .args(["--port", "0", "--maildir"])
            .arg(dir.path().join("mail"))
            .arg("--faults")
            .arg(dir.path().join("faults.json"))
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(delay) = reply_delay {
            command.args(["--reply-delay", &delay.as_secs_f64().to_string()]);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {PYTHON} {}: {e}", script.display()));
        let stdout = child.stdout.take().expect("stdout is piped");

        // The first line announces the port; a thread reads it so start-up can time out,
        // then keeps draining stdout so the server never blocks on a full pipe.
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok);
            let _ = sender.send(first);
            for _ in lines {}
        });
        let announced = receiver.recv_timeout(START_TIMEOUT).ok().flatten();
        let port = announced
            .as_deref()
            .and_then(|line| line.strip_prefix("LISTENING "))
            .and_then(|port| port.trim().parse::<u16>().ok());
        match port {
            Some(port) => SmtpTestServer { child, port, dir },
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "SMTP test server did not start (first line: {announced:?}); see its stderr above"
                );
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL Tickler's mailer takes: plain SMTP, since the test server has no certificate.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// Replaces the faults; the next SMTP command that consults them sees the new ones.
    pub fn set_faults(&self, faults: serde_json::Value) {
        write_atomically(&self.dir.path().join("faults.json"), &faults);
    }

    /// Back to accepting everything.
    pub fn clear_faults(&self) {
        self.set_faults(serde_json::json!({}));
    }

    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// Every AUTH attempt so far (a server started with a login), in order.
    pub fn logins(&self) -> Vec<LoginAttempt> {
        fs::read_to_string(self.dir.path().join("logins.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .map(|v| LoginAttempt {
                login: v["login"].as_str().unwrap_or_default().to_string(),
                accepted: v["accepted"].as_bool().unwrap_or(false),
                tls: v["tls"].as_bool().unwrap_or(false),
            })
            .collect()
    }

    /// Every message accepted so far, in the order received.
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        let mut numbered: Vec<(u64, PathBuf)> = fs::read_dir(self.maildir())
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.path())
                    .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
                    .filter_map(|path| {
                        let n = path.file_stem()?.to_str()?.parse().ok()?;
                        Some((n, path))
                    })
                    .collect()
            })
            .unwrap_or_default();
        numbered.sort();
        numbered
            .into_iter()
            .map(|(_, path)| ReceivedMessage::read(&path))
            .collect()
    }

    /// Waits until at least `n` messages have arrived and returns them all; panics after `timeout`.
    pub fn wait_for_messages(&self, n: usize, timeout: Duration) -> Vec<ReceivedMessage> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if Instant::now() >= deadline {
                panic!(
                    "expected {n} message(s) at the SMTP test server within {timeout:?}, got {}",
                    messages.len()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// How a test SMTP server speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerTls {
    /// Plain text first, STARTTLS offered and required before MAIL.
    StartTls,
    /// TLS from the first byte (smtps).
    Implicit,
}

/// One AUTH command as a test SMTP server saw it (the password is never kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAttempt {
    pub login: String,
    pub accepted: bool,
    /// Whether the connection was encrypted when the credentials arrived.
    pub tls: bool,
}

/// A certificate authority made for one test with `openssl`, and a server certificate it
/// signed: keys are made at test time, never committed.
pub struct TestCertificates {
    /// The CA's certificate (PEM): what `TICKLER_SMTP_CA_FILE` points at.
    pub ca_file: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl TestCertificates {
    /// Makes them in `dir`; the server certificate is valid for `subject_alt_name`, e.g.
    /// `IP:127.0.0.1` or `DNS:smtp.example`.
    pub fn issue(dir: &Path, subject_alt_name: &str) -> TestCertificates {
        let path = |name: &str| dir.join(name);
        let text = |path: &Path| path.to_str().expect("a UTF-8 temporary path").to_string();
        let (ca_file, ca_key) = (path("test-ca.pem"), path("test-ca.key"));
        let (server_cert, server_key) = (path("server.pem"), path("server.key"));
        let (request, extensions) = (path("server.csr"), path("server.ext"));
        fs::write(
            &extensions,
            format!(
                "subjectAltName={subject_alt_name}\nbasicConstraints=CA:FALSE\n\
                 keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
            ),
        )
        .expect("cannot write the certificate extensions");
        let new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        #[rustfmt::skip]
        openssl(&[&["req", "-x509"], &new_key[..], &[
            "-nodes", "-days", "2", "-subj", "/CN=Tickler Test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", &text(&ca_key), "-out", &text(&ca_file),
        ]].concat());
        #[rustfmt::skip]
        openssl(&[&["req"], &new_key[..], &[
            "-nodes", "-subj", "/CN=Tickler test SMTP server",
            "-keyout", &text(&server_key), "-out", &text(&request),
        ]].concat());
        #[rustfmt::skip]
        openssl(&[
            "x509", "-req", "-days", "2", "-in", &text(&request),
            "-CA", &text(&ca_file), "-CAkey", &text(&ca_key), "-CAcreateserial",
            "-extfile", &text(&extensions), "-out", &text(&server_cert),
        ]);
        TestCertificates {
            ca_file,
            server_cert,
            server_key,
        }
    }
}

impl Drop for SmtpTestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_atomically(path: &Path, value: &serde_json::Value) {
    // The server re-reads the file at every command; a rename means it never sees half of it.
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, value.to_string()).expect("cannot write the faults file");
    fs::rename(&tmp, path).expect("cannot write the faults file");
}

/// One message as the SMTP test server received it, its headers decoded.
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    /// The bytes exactly as received after DATA.
    pub raw: Vec<u8>,
    /// SMTP envelope: MAIL FROM and the accepted RCPT TO addresses (Bcc shows only here).
    pub envelope_from: String,
    pub envelope_to: Vec<String>,
    /// The decoded `From` header, e.g. `"Acme Ltd" <sales@acme.example>`.
    pub from: String,
    pub from_name: Option<String>,
    pub from_address: String,
    /// Addresses only, without display names.
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    /// Without the angle brackets.
    pub message_id: String,
    pub content_language: Option<String>,
    pub date: Option<String>,
    pub content_type: String,
    /// The decoded text of the (first text) body.
    pub body: String,
    /// The decoded HTML alternative, if the message has one.
    pub html: Option<String>,
}

impl ReceivedMessage {
    fn read(path: &Path) -> ReceivedMessage {
        let raw = fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let envelope: serde_json::Value = fs::read(path.with_extension("json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        let mut message = ReceivedMessage::parse(&raw);
        message.envelope_from = envelope["mail_from"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        message.envelope_to = envelope["rcpt_tos"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        message
    }

    /// Parses raw message bytes (an .eml file), e.g. from an outbox folder.
    pub fn parse(raw: &[u8]) -> ReceivedMessage {
        let parsed = mailparse::parse_mail(raw).expect("the message does not parse as MIME");
        let header = |name: &str| {
            parsed
                .headers
                .iter()
                .find(|h| h.get_key_ref().eq_ignore_ascii_case(name))
        };
        let text = |name: &str| header(name).map(|h| h.get_value());
        let mailboxes = |name: &str| -> Vec<mailparse::SingleInfo> {
            let Some(h) = header(name) else {
                return Vec::new();
            };
            let list = mailparse::addrparse_header(h).expect("an address header does not parse");
            list.iter()
                .flat_map(|addr| match addr {
                    mailparse::MailAddr::Single(single) => vec![single.clone()],
                    mailparse::MailAddr::Group(group) => group.addrs.clone(),
                })
                .collect()
        };
        let addresses =
            |name: &str| -> Vec<String> { mailboxes(name).into_iter().map(|m| m.addr).collect() };
        let sender = mailboxes("From").into_iter().next();
        let body_part = if parsed.subparts.is_empty() {
            &parsed
        } else {
            first_part(&parsed, "text/plain").unwrap_or(&parsed)
        };
        let html = first_part(&parsed, "text/html")
            .map(|part| part.get_body().expect("the HTML part does not decode"));
        ReceivedMessage {
            raw: raw.to_vec(),
            envelope_from: String::new(),
            envelope_to: Vec::new(),
            from: text("From").unwrap_or_default(),
            from_name: sender.as_ref().and_then(|s| s.display_name.clone()),
            from_address: sender.map(|s| s.addr).unwrap_or_default(),
            to: addresses("To"),
            cc: addresses("Cc"),
            subject: text("Subject").unwrap_or_default(),
            message_id: text("Message-ID")
                .unwrap_or_default()
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string(),
            content_language: text("Content-Language").map(|v| v.trim().to_string()),
            date: text("Date"),
            content_type: parsed.ctype.mimetype.clone(),
            body: body_part.get_body().expect("the body does not decode"),
            html,
        }
    }

    /// The MIME structure, e.g. `multipart/mixed(multipart/alternative(text/plain,text/html),application/pdf)`.
    pub fn structure(&self) -> String {
        fn describe(part: &mailparse::ParsedMail<'_>) -> String {
            if part.subparts.is_empty() {
                part.ctype.mimetype.clone()
            } else {
                let inner: Vec<String> = part.subparts.iter().map(describe).collect();
                format!("{}({})", part.ctype.mimetype, inner.join(","))
            }
        }
        mailparse::parse_mail(&self.raw)
            .map(|parsed| describe(&parsed))
            .unwrap_or_default()
    }

    /// Every attachment: its file name, its content type and its decoded bytes.
    pub fn attachments(&self) -> Vec<(String, String, Vec<u8>)> {
        let Ok(parsed) = mailparse::parse_mail(&self.raw) else {
            return Vec::new();
        };
        parsed
            .subparts
            .iter()
            .filter(|part| {
                part.get_content_disposition().disposition == mailparse::DispositionType::Attachment
            })
            .map(|part| {
                let name = part
                    .get_content_disposition()
                    .params
                    .get("filename")
                    .cloned()
                    .unwrap_or_default();
                let bytes = part.get_body_raw().expect("an attachment does not decode");
                (name, part.ctype.mimetype.clone(), bytes)
            })
            .collect()
    }

    /// Any header, decoded; None when absent.
    pub fn header(&self, name: &str) -> Option<String> {
        let parsed = mailparse::parse_mail(&self.raw).ok()?;
        parsed
            .headers
            .iter()
            .find(|h| h.get_key_ref().eq_ignore_ascii_case(name))
            .map(|h| h.get_value())
    }
}

/// A DKIM key made for a test with `openssl`, and the DNS record that publishes it.
pub struct DkimTestKey {
    /// The private key, PEM, as `openssl genpkey` (or `genrsa -traditional`) writes it.
    pub private_key: PathBuf,
    /// The TXT record's text, e.g. `v=DKIM1; k=rsa; p=MIIB...`.
    pub txt_record: String,
}

/// The kinds of key an operator may make for DKIM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DkimKeyKind {
    /// `openssl genpkey -algorithm RSA`: PKCS#8 (`BEGIN PRIVATE KEY`).
    Rsa,
    /// `openssl genrsa -traditional`: PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    RsaTraditional,
    /// `openssl genpkey -algorithm ed25519`.
    Ed25519,
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl {args:?}: {e}"));
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Makes a key in `dir` the way docs/configuration.md tells operators to, and its DNS record.
pub fn dkim_test_key(dir: &Path, kind: DkimKeyKind) -> DkimTestKey {
    use base64::Engine as _;
    let private_key = dir.join(format!("dkim-{kind:?}.pem").to_lowercase());
    let path = private_key.to_str().expect("a UTF-8 temporary path");
    match kind {
        DkimKeyKind::Rsa => openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            path,
        ]),
        DkimKeyKind::RsaTraditional => openssl(&["genrsa", "-traditional", "-out", path, "2048"]),
        DkimKeyKind::Ed25519 => openssl(&["genpkey", "-algorithm", "ed25519", "-out", path]),
    };
    let public_der = openssl(&["pkey", "-in", path, "-pubout", "-outform", "DER"]);
    let (k, public) = match kind {
        DkimKeyKind::Rsa | DkimKeyKind::RsaTraditional => ("rsa", &public_der[..]),
        // RFC 8463: the bare 32-byte key, the last bytes of its SubjectPublicKeyInfo.
        DkimKeyKind::Ed25519 => ("ed25519", &public_der[public_der.len() - 32..]),
    };
    let p = base64::engine::general_purpose::STANDARD.encode(public);
    DkimTestKey {
        private_key,
        txt_record: format!("v=DKIM1; k={k}; p={p}"),
    }
}

/// Verifies a message's DKIM signature with Debian's `python3-dkim` (dkimpy, the library
/// behind `dkimverify`), answering the key look-up of `SELECTOR._domainkey.DOMAIN` with
/// `txt_record` instead of asking DNS. Err holds the verifier's log.
pub fn verify_dkim(
    raw: &[u8],
    selector: &str,
    domain: &str,
    txt_record: &str,
) -> Result<(), String> {
    const SCRIPT: &str = r#"
import sys, logging, io, dkim
name, record = sys.argv[1].encode(), sys.argv[2].encode()
message = sys.stdin.buffer.read()
def dnsfunc(domain, timeout=5):
    return record if domain.rstrip(b".") == name else None
log = io.StringIO()
logger = logging.getLogger("dkim")
logger.addHandler(logging.StreamHandler(log))
logger.setLevel(logging.DEBUG)
ok = dkim.verify(message, logger=logger, dnsfunc=dnsfunc)
print("PASS" if ok else "FAIL\n" + log.getvalue())
"#;
    let available = Command::new(PYTHON)
        .args(["-c", "import dkim"])
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        available,
        "python3-dkim is missing: apt-get install python3-dkim or run scripts/test"
    );
    let mut child = Command::new(PYTHON)
        .args([
            "-c",
            SCRIPT,
            &format!("{selector}._domainkey.{domain}"),
            txt_record,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the DKIM verifier");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        stdin.write_all(raw).expect("cannot feed the verifier");
    }
    let output = child
        .wait_with_output()
        .expect("the DKIM verifier did not finish");
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    if said.starts_with("PASS") {
        Ok(())
    } else {
        Err(said)
    }
}

/// The first part of type `mimetype` that is not an attachment, depth first.
fn first_part<'a>(
    part: &'a mailparse::ParsedMail<'a>,
    mimetype: &str,
) -> Option<&'a mailparse::ParsedMail<'a>> {
    if part.subparts.is_empty() {
        let attached =
            part.get_content_disposition().disposition == mailparse::DispositionType::Attachment;
        return (part.ctype.mimetype == mimetype && !attached).then_some(part);
    }
    part.subparts
        .iter()
        .find_map(|sub| first_part(sub, mimetype))
}

/// The text of a PDF as Debian's `pdftotext` (poppler-utils) extracts it, layout kept.
/// Without `pdftotext` the test fails when `CI` is set and is skipped (None) otherwise.
pub fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let input = dir.path().join("document.pdf");
    fs::write(&input, pdf).expect("write the PDF");
    let output = match std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&input)
        .arg("-")
        .output()
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var_os("CI").is_none(),
                "pdftotext is missing: install Debian's poppler-utils (scripts/test does)"
            );
            eprintln!("skipped: pdftotext is not installed (apt install poppler-utils)");
            return None;
        }
        Err(e) => panic!("cannot run pdftotext: {e}"),
    };
    assert!(
        output.status.success(),
        "pdftotext refused the PDF: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{io::Write, net::TcpStream};

    /// A minimal SMTP client: the testkit must not depend on the mail crate it helps test.
    /// Returns the replies to MAIL, each RCPT, DATA and (if DATA was accepted) the message.
    fn send(port: u16, rcpts: &[&str], data: &str) -> Vec<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut reply = move || {
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap() == 0
                    || line.as_bytes().get(3) != Some(&b'-')
                {
                    return line.trim().to_string();
                }
            }
        };
        let mut command = |line: &str| stream.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        let mut replies = Vec::new();
        reply();
        command("HELO test");
        reply();
        command("MAIL FROM:<a@example.com>");
        replies.push(reply());
        for rcpt in rcpts {
            command(&format!("RCPT TO:<{rcpt}>"));
            replies.push(reply());
        }
        command("DATA");
        let go = reply();
        replies.push(go.clone());
        if go.starts_with("354") {
            command(&format!("{data}\r\n."));
            replies.push(reply());
        }
        command("QUIT");
        replies
    }

    #[test]
    fn receives_parses_and_applies_faults_that_change_while_running() {
        let server = SmtpTestServer::start_with_faults(serde_json::json!({
            "data_reply": "451 4.3.0 Try later", "remaining": 1,
            "reject_rcpt": {"bad@example.com": "550 5.1.1 No such user"}
        }));
        assert!(server.url().ends_with("?tls=none"));
        let data = "From: A <a@example.com>\r\nTo: b@example.com\r\nCc: c@example.com\r\nSubject: =?utf-8?b?44GT44KT44Gr44Gh44Gv?=\r\nMessage-ID: <x@example.com>\r\nContent-Language: ja\r\n\r\nhello";
        let first = send(server.port(), &["b@example.com", "bad@example.com"], data);
        assert!(first[2].starts_with("550"), "{first:?}");
        assert!(first.last().unwrap().starts_with("451"), "{first:?}");
        let second = send(server.port(), &["b@example.com"], data);
        assert!(second.last().unwrap().starts_with("250"), "{second:?}");

        server.set_faults(serde_json::json!({"data_reply": "554 5.7.1 Rejected"}));
        let third = send(server.port(), &["b@example.com"], data);
        assert!(third.last().unwrap().starts_with("554"), "{third:?}");

        let messages = server.wait_for_messages(1, Duration::from_secs(5));
        assert_eq!(messages.len(), 1);
        let m = &messages[0];
        assert_eq!(m.subject, "こんにちは");
        assert_eq!(m.to, ["b@example.com"]);
        assert_eq!(m.cc, ["c@example.com"]);
        assert_eq!(m.message_id, "x@example.com");
        assert_eq!(m.content_language.as_deref(), Some("ja"));
        assert_eq!(m.envelope_to, ["b@example.com"]);
        assert_eq!(m.envelope_from, "a@example.com");
        assert_eq!(m.body.trim_end(), "hello");
    }

    #[test]
    fn free_port_is_unused_and_below_the_ephemeral_range() {
        // Other processes (and this crate's other tests, starting servers) may take a port
        // between the probe and our bind: what must hold is that free ports are found, in
        // range, and that they are free at least most of the time.
        let ports: Vec<u16> = (0..5).map(|_| free_port()).collect();
        for port in &ports {
            assert!((12_000..32_000).contains(port), "{port}");
        }
        let bound = ports
            .iter()
            .filter(|&&port| TcpListener::bind(("127.0.0.1", port)).is_ok())
            .count();
        assert!(bound >= 3, "only {bound} of {ports:?} could be bound again");
    }
}
