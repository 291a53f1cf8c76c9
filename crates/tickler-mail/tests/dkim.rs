//! DKIM end to end: a key made with openssl as an operator would, real messages signed by
//! the mailer (over SMTP and into the outbox), checked by a real verifier (dkimpy).

use std::time::Duration;

use tickler_core::{email::EmailAddress, language::Language};
use tickler_mail::{
    ActionLink, Attachment, BrandColor, HtmlLayout, MailConfig, Mailer, OutgoingMessage, Sender,
    dkim::DkimSigner, install_crypto_provider, render_html,
};
use tickler_testkit::{DkimKeyKind, ReceivedMessage, SmtpTestServer, dkim_test_key, verify_dkim};

const SELECTOR: &str = "tickler2027";
const DOMAIN: &str = "acme.example";

fn address(text: &str) -> EmailAddress {
    EmailAddress::parse("email", text).unwrap()
}

fn mailer(url: Option<String>, outbox: &std::path::Path, dkim: DkimSigner) -> Mailer {
    install_crypto_provider();
    Mailer::new(&MailConfig {
        smtp_url: url,
        outbox_dir: outbox.to_path_buf(),
        from: Sender::parse("Acme Maintenance <office@acme.example>").unwrap(),
        timeout: Duration::from_secs(5),
        dkim: Some(dkim),
        ca: None,
    })
    .unwrap()
}

/// A message with everything a notice can carry: Japanese text, HTML, Reply-To, a PDF.
fn notice(id: &str) -> OutgoingMessage {
    let body = "Kanto Precision Ltd\nご担当者様\n\n更新はこちら: https://tickler.acme.example/a/renew?t=1\n";
    let brand = BrandColor::default();
    let links = [ActionLink {
        url: "https://tickler.acme.example/a/renew?t=1".to_string(),
        label: "更新する".to_string(),
    }];
    let html = render_html(
        body,
        &HtmlLayout {
            language: Language::Ja,
            title: "ご契約更新のお願い",
            organisation: "Acme Maintenance",
            brand_color: &brand,
            action_links: &links,
        },
    );
    OutgoingMessage {
        message_id: format!("r-{id}@acme.example"),
        from: Sender::parse("Acme Maintenance <office@acme.example>").unwrap(),
        to: vec![address("it@kanto.example")],
        cc: vec![address("sato@acme.example")],
        reply_to: vec![address("sato@acme.example")],
        subject: "ご契約更新のお願い".to_string(),
        body: body.to_string(),
        html: Some(html),
        language: Language::Ja,
        date: "2027-01-30T00:00:00Z".parse().unwrap(),
        attachments: vec![Attachment {
            filename: "INV-2027-0001.pdf".to_string(),
            content_type: "application/pdf".to_string(),
            content: b"%PDF-1.7\n\x00\x01\xff\r\n.\r\n".to_vec(),
        }],
    }
}

#[tokio::test]
async fn signatures_verify_for_every_kind_of_key_over_smtp() {
    let keys = tempfile::tempdir().unwrap();
    for kind in [
        DkimKeyKind::Rsa,
        DkimKeyKind::RsaTraditional,
        DkimKeyKind::Ed25519,
    ] {
        let key = dkim_test_key(keys.path(), kind);
        let signer = DkimSigner::load(SELECTOR, &key.private_key).unwrap();
        let server = SmtpTestServer::start();
        let outbox = tempfile::tempdir().unwrap();
        let mailer = mailer(Some(server.url()), outbox.path(), signer);
        assert!(
            mailer
                .describe()
                .contains("DKIM-signed with selector tickler2027")
        );
        mailer.send(&notice(&format!("{kind:?}"))).await.unwrap();
        let received = server.wait_for_messages(1, Duration::from_secs(10));
        let raw = &received[0].raw;
        let signature = received[0].header("DKIM-Signature").expect("a signature");
        assert!(signature.contains("d=acme.example"), "{signature}");
        assert!(signature.contains("s=tickler2027"), "{signature}");
        verify_dkim(raw, SELECTOR, DOMAIN, &key.txt_record)
            .unwrap_or_else(|log| panic!("{kind:?}: the signature does not verify:\n{log}"));

        // The verifier is not a rubber stamp: a changed subject or body fails.
        let text = String::from_utf8(raw.clone()).unwrap();
        let forged = text.replacen("Subject: ", "Subject: Re: ", 1);
        assert!(verify_dkim(forged.as_bytes(), SELECTOR, DOMAIN, &key.txt_record).is_err());
        let boundary_line = text.rfind("\r\n--").unwrap();
        let mut tampered = text.clone();
        tampered.insert_str(boundary_line, "\r\nextra line");
        assert!(verify_dkim(tampered.as_bytes(), SELECTOR, DOMAIN, &key.txt_record).is_err());
    }
}

#[tokio::test]
async fn the_outbox_holds_the_signed_message() {
    let keys = tempfile::tempdir().unwrap();
    let key = dkim_test_key(keys.path(), DkimKeyKind::Rsa);
    let signer = DkimSigner::load(SELECTOR, &key.private_key).unwrap();
    let outbox = tempfile::tempdir().unwrap();
    let mailer = mailer(None, outbox.path(), signer);
    let delivery = mailer.send(&notice("outbox")).await.unwrap();
    let raw = std::fs::read(&delivery.reply).unwrap();
    let parsed = ReceivedMessage::parse(&raw);
    assert!(parsed.header("DKIM-Signature").is_some());
    verify_dkim(&raw, SELECTOR, DOMAIN, &key.txt_record)
        .unwrap_or_else(|log| panic!("the outbox copy does not verify:\n{log}"));
}

#[test]
fn a_key_that_is_not_a_private_key_is_refused_with_the_file_named() {
    let keys = tempfile::tempdir().unwrap();
    let key = dkim_test_key(keys.path(), DkimKeyKind::Rsa);
    let public = keys.path().join("public.pem");
    let status = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key.private_key)
        .arg("-out")
        .arg(&public)
        .status()
        .unwrap();
    assert!(status.success());
    let err = DkimSigner::load(SELECTOR, &public).unwrap_err().to_string();
    assert!(
        err.contains("public.pem") && err.contains("PUBLIC KEY"),
        "{err}"
    );

    let short = keys.path().join("short.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:512",
            "-out",
        ])
        .arg(&short)
        .status()
        .unwrap();
    assert!(status.success());
    let err = DkimSigner::load(SELECTOR, &short).unwrap_err().to_string();
    assert!(
        err.contains("short.pem") && err.contains("512 bits"),
        "{err}"
    );
}
