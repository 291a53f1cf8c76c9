//! SMTP over TLS against a real server (aiosmtpd with a certificate from a CA made for the
//! test): STARTTLS required with a login, implicit TLS, a private CA, refused certificates
//! reported as configuration problems, and credentials never sent before TLS.

use std::{path::Path, time::Duration};

use tickler_core::{email::EmailAddress, language::Language};
use tickler_mail::{
    MailConfig, Mailer, OutgoingMessage, SendError, Sender, SmtpCa, install_crypto_provider,
};
use tickler_testkit::{LoginAttempt, ServerTls, SmtpTestServer, TestCertificates};

const LOGIN: &str = "mailer:s3cret-pw";

fn mailer(url: String, ca_file: Option<&Path>) -> Mailer {
    install_crypto_provider();
    Mailer::new(&MailConfig {
        smtp_url: Some(url),
        outbox_dir: "unused-outbox".into(),
        from: Sender::parse("Acme Maintenance <office@acme.example>").unwrap(),
        timeout: Duration::from_secs(5),
        dkim: None,
        ca: ca_file.map(|file| SmtpCa::load(file).unwrap()),
    })
    .unwrap()
}

fn message() -> OutgoingMessage {
    OutgoingMessage {
        message_id: "r-tls@acme.example".to_string(),
        from: Sender::parse("Acme Maintenance <office@acme.example>").unwrap(),
        to: vec![EmailAddress::parse("email", "it@kanto.example").unwrap()],
        cc: Vec::new(),
        reply_to: Vec::new(),
        subject: "Reminder: service expiring".to_string(),
        body: "Dear Kanto Precision Ltd,\n".to_string(),
        html: None,
        language: Language::En,
        date: "2027-01-30T00:00:00Z".parse().unwrap(),
        attachments: Vec::new(),
    }
}

fn accepted_over_tls() -> Vec<LoginAttempt> {
    vec![LoginAttempt {
        login: "mailer".to_string(),
        accepted: true,
        tls: true,
    }]
}

/// A server speaking TLS as `tls` says, with a certificate for `subject_alt_name` from a CA
/// made for the test, requiring [`LOGIN`]; the folder holding the certificates goes with it.
fn secured_server(
    tls: ServerTls,
    subject_alt_name: &str,
) -> (SmtpTestServer, TestCertificates, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let certificates = TestCertificates::issue(dir.path(), subject_alt_name);
    let server = SmtpTestServer::start_secured(Some((tls, &certificates)), Some(LOGIN));
    (server, certificates, dir)
}

#[tokio::test]
async fn starttls_or_implicit_tls_with_a_login_and_a_private_ca_delivers() {
    // No tls parameter in smtp://: with a login, STARTTLS is required.
    for (tls, scheme, how) in [
        (ServerTls::StartTls, "smtp", "STARTTLS required"),
        (ServerTls::Implicit, "smtps", "implicit TLS"),
    ] {
        let (server, certificates, _dir) = secured_server(tls, "IP:127.0.0.1");
        let url = format!("{scheme}://{LOGIN}@127.0.0.1:{}", server.port());
        let mailer = mailer(url, Some(&certificates.ca_file));
        assert!(mailer.describe().contains(how), "{}", mailer.describe());
        let delivery = mailer.send(&message()).await.unwrap();
        assert!(delivery.reply.starts_with("250"), "{}", delivery.reply);
        let received = server.wait_for_messages(1, Duration::from_secs(10));
        assert_eq!(received[0].subject, "Reminder: service expiring");
        assert_eq!(server.logins(), accepted_over_tls(), "{scheme}");
    }
}

#[tokio::test]
async fn a_certificate_from_an_unknown_issuer_is_a_configuration_problem_and_no_login_is_sent() {
    for (tls, scheme) in [
        (ServerTls::StartTls, "smtp"),
        (ServerTls::Implicit, "smtps"),
    ] {
        let (server, _certificates, _dir) = secured_server(tls, "IP:127.0.0.1");
        // The system's store does not know the test CA, and no CA file is given.
        let mailer = mailer(
            format!("{scheme}://{LOGIN}@127.0.0.1:{}", server.port()),
            None,
        );
        let err = mailer.send(&message()).await.unwrap_err();
        assert_eq!(
            err,
            SendError::Configuration {
                problem: "SMTP TLS: certificate of 127.0.0.1 not trusted (unknown issuer: set \
                          TICKLER_SMTP_CA_FILE to a private CA)"
                    .to_string()
            },
            "{scheme}"
        );
        assert!(!err.is_transient());
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(
            server.logins().is_empty(),
            "{scheme}: {:?}",
            server.logins()
        );
        assert!(server.messages().is_empty());
    }
}

#[tokio::test]
async fn a_certificate_for_another_name_is_a_configuration_problem() {
    let (server, certificates, _dir) = secured_server(ServerTls::StartTls, "DNS:smtp.example");
    let url = format!("smtp://{LOGIN}@127.0.0.1:{}", server.port());
    let mailer = mailer(url, Some(&certificates.ca_file));
    let err = mailer.send(&message()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "SMTP TLS: certificate of 127.0.0.1 not valid for that name"
    );
    assert!(matches!(err, SendError::Configuration { .. }), "{err:?}");
    assert!(server.logins().is_empty(), "{:?}", server.logins());
}

#[tokio::test]
async fn a_login_is_never_sent_when_starttls_is_stripped() {
    // What a man in the middle shows: AUTH offered in the clear, no STARTTLS.
    let server = SmtpTestServer::start_secured(None, Some(LOGIN));
    let url = format!("smtp://{LOGIN}@127.0.0.1:{}", server.port());
    let err = mailer(url, None).send(&message()).await.unwrap_err();
    match &err {
        SendError::Configuration { problem } => {
            assert!(
                problem.starts_with("SMTP TLS: 127.0.0.1 does not offer STARTTLS"),
                "{problem}"
            );
        }
        other => panic!("expected a configuration problem, got {other:?}"),
    }
    assert!(!err.to_string().contains("s3cret"), "{err}");
    assert_eq!(server.logins(), []);
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn tls_none_said_explicitly_sends_the_login_in_the_clear() {
    let server = SmtpTestServer::start_secured(None, Some(LOGIN));
    let url = format!("smtp://{LOGIN}@127.0.0.1:{}?tls=none", server.port());
    mailer(url, None).send(&message()).await.unwrap();
    assert_eq!(
        server.wait_for_messages(1, Duration::from_secs(10)).len(),
        1
    );
    assert_eq!(
        server.logins(),
        [LoginAttempt {
            login: "mailer".to_string(),
            accepted: true,
            tls: false,
        }]
    );
}
