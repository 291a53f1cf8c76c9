//! Delivery against a real SMTP server (aiosmtpd, started on a free port) and into an outbox.

use std::time::Duration;

use serde_json::json;
use tickler_core::{email::EmailAddress, language::Language};
use tickler_mail::{
    Attachment, Delivery, MailConfig, Mailer, OutgoingMessage, SendError, Sender,
    install_crypto_provider,
};
use tickler_testkit::{ReceivedMessage, SmtpTestServer, free_port};

fn address(text: &str) -> EmailAddress {
    EmailAddress::parse("email", text).unwrap()
}

fn sender() -> Sender {
    Sender::parse("Acme Maintenance <office@acme.example>").unwrap()
}

fn mailer(url: Option<String>, outbox: &std::path::Path) -> Mailer {
    install_crypto_provider();
    Mailer::new(&MailConfig {
        smtp_url: url,
        outbox_dir: outbox.to_path_buf(),
        from: sender(),
        timeout: Duration::from_secs(5),
        dkim: None,
        ca: None,
    })
    .unwrap()
}

fn message(id: &str, subject: &str, body: &str, language: Language) -> OutgoingMessage {
    OutgoingMessage {
        message_id: format!("r-{id}@acme.example"),
        from: sender(),
        to: vec![address("it@kanto.example"), address("office@kanto.example")],
        cc: vec![address("sato@acme.example")],
        reply_to: Vec::new(),
        subject: subject.to_string(),
        body: body.to_string(),
        html: None,
        language,
        date: "2027-01-30T00:00:00Z".parse().unwrap(),
        attachments: Vec::new(),
    }
}

fn assert_received(got: &ReceivedMessage, sent: &OutgoingMessage) {
    assert_eq!(got.to, ["it@kanto.example", "office@kanto.example"]);
    assert_eq!(got.cc, ["sato@acme.example"]);
    assert_eq!(got.from_name.as_deref(), Some("Acme Maintenance"));
    assert_eq!(got.from_address, "office@acme.example");
    assert_eq!(got.subject, sent.subject);
    assert_eq!(got.message_id, sent.message_id);
    assert_eq!(got.content_language.as_deref(), Some(sent.language.code()));
    assert_eq!(got.content_type, "text/plain");
    assert_eq!(
        got.body.replace("\r\n", "\n").trim_end(),
        sent.body.trim_end()
    );
    assert_eq!(got.date.as_deref(), Some("Sat, 30 Jan 2027 00:00:00 +0000"));
    let mut envelope = got.envelope_to.clone();
    envelope.sort();
    assert_eq!(
        envelope,
        [
            "it@kanto.example",
            "office@kanto.example",
            "sato@acme.example"
        ]
    );
}

#[tokio::test]
async fn delivers_to_a_real_server_in_three_languages() {
    let server = SmtpTestServer::start();
    let outbox = tempfile::tempdir().unwrap();
    let mailer = mailer(Some(server.url()), outbox.path());
    assert!(!mailer.is_outbox());
    assert_eq!(
        mailer.describe(),
        format!("SMTP smtp://127.0.0.1:{} (no TLS)", server.port())
    );

    let sent = [
        message(
            "en",
            "Reminder: service expiring on 31 March 2027",
            "Dear Kanto Precision Ltd,\n\nYour contract expires soon.\n",
            Language::En,
        ),
        message(
            "ja",
            "【ご契約更新のお願い】サーバー保守契約",
            "株式会社関東精密\nご担当者様\n\n平素より格別のご高配を賜り、厚く御礼申し上げます。\n",
            Language::Ja,
        ),
        message(
            "el",
            "Υπενθύμιση: η υπηρεσία σας λήγει στις 31 Μαρτίου 2027",
            "Αγαπητέ/ή Kanto Precision Ltd,\n\nΜε εκτίμηση,\n",
            Language::El,
        ),
    ];
    for message in &sent {
        let Delivery { reply } = mailer.send(message).await.unwrap();
        assert!(reply.starts_with("250"), "{reply}");
    }
    let received = server.wait_for_messages(3, Duration::from_secs(10));
    for (got, sent) in received.iter().zip(&sent) {
        assert_received(got, sent);
    }
    // Japanese and Greek subjects travel RFC 2047-encoded, never as raw 8-bit headers.
    assert!(received[1].raw.is_ascii());
    assert!(String::from_utf8_lossy(&received[1].raw).contains("=?utf-8?"));
}

#[tokio::test]
async fn a_4xx_reply_is_transient_and_the_next_try_succeeds() {
    let server = SmtpTestServer::start_with_faults(
        json!({"data_reply": "451 4.3.0 Try later", "remaining": 1}),
    );
    let outbox = tempfile::tempdir().unwrap();
    let mailer = mailer(Some(server.url()), outbox.path());
    let msg = message("retry", "Hello", "Body\n", Language::En);
    match mailer.send(&msg).await {
        Err(SendError::Transient { reply }) => assert!(reply.starts_with("451"), "{reply}"),
        other => panic!("expected a transient error, got {other:?}"),
    }
    mailer.send(&msg).await.unwrap();
    assert_eq!(server.wait_for_messages(1, Duration::from_secs(5)).len(), 1);
}

#[tokio::test]
async fn a_5xx_reply_is_permanent_with_its_code() {
    let server =
        SmtpTestServer::start_with_faults(json!({"data_reply": "550 5.7.1 Message refused"}));
    let outbox = tempfile::tempdir().unwrap();
    let mailer = mailer(Some(server.url()), outbox.path());
    let err = mailer
        .send(&message("refused", "Hello", "Body\n", Language::En))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SendError::Permanent {
            code: 550,
            reply: "550 5.7.1 Message refused".to_string()
        }
    );
    assert!(!err.is_transient());
}

#[tokio::test]
async fn a_rejected_recipient_is_permanent() {
    let server = SmtpTestServer::start_with_faults(
        json!({"reject_rcpt": {"office@kanto.example": "550 5.1.1 No such user"}}),
    );
    let outbox = tempfile::tempdir().unwrap();
    let mailer = mailer(Some(server.url()), outbox.path());
    let err = mailer
        .send(&message("rcpt", "Hello", "Body\n", Language::En))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SendError::Permanent { code: 550, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn faults_changed_while_running_apply_to_the_next_message() {
    let server = SmtpTestServer::start();
    let outbox = tempfile::tempdir().unwrap();
    let mailer = mailer(Some(server.url()), outbox.path());
    mailer
        .send(&message("a", "One", "Body\n", Language::En))
        .await
        .unwrap();
    server.set_faults(json!({"data_reply": "421 4.3.2 Shutting down"}));
    let err = mailer
        .send(&message("b", "Two", "Body\n", Language::En))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    server.clear_faults();
    mailer
        .send(&message("c", "Three", "Body\n", Language::En))
        .await
        .unwrap();
    let subjects: Vec<_> = server
        .wait_for_messages(2, Duration::from_secs(5))
        .into_iter()
        .map(|m| m.subject)
        .collect();
    assert_eq!(subjects, ["One", "Three"]);
}

#[tokio::test]
async fn a_closed_port_is_transient() {
    let outbox = tempfile::tempdir().unwrap();
    let url = format!("smtp://127.0.0.1:{}?tls=none", free_port());
    let mailer = mailer(Some(url), outbox.path());
    let err = mailer
        .send(&message("closed", "Hello", "Body\n", Language::En))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn a_server_that_does_not_answer_in_time_is_transient() {
    let server = SmtpTestServer::start_with_reply_delay(Duration::from_secs(3));
    let outbox = tempfile::tempdir().unwrap();
    install_crypto_provider();
    let mailer = Mailer::new(&MailConfig {
        smtp_url: Some(server.url()),
        outbox_dir: outbox.path().to_path_buf(),
        from: sender(),
        timeout: Duration::from_millis(500),
        dkim: None,
        ca: None,
    })
    .unwrap();
    let err = mailer
        .send(&message("slow", "Hello", "Body\n", Language::En))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn a_dropped_connection_is_transient() {
    let server = SmtpTestServer::start_with_faults(json!({"data_reply": "disconnect"}));
    let outbox = tempfile::tempdir().unwrap();
    let mailer = mailer(Some(server.url()), outbox.path());
    let err = mailer
        .send(&message("dropped", "Hello", "Body\n", Language::En))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn the_outbox_writes_a_complete_parseable_eml() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("outbox/not/yet/there");
    let mailer = mailer(None, &dir);
    assert!(mailer.is_outbox());
    assert_eq!(
        mailer.describe(),
        format!("outbox folder {}", dir.display())
    );
    let sent = message(
        "outbox",
        "Τελική ειδοποίηση",
        "Αγαπητέ/ή Kanto Precision Ltd,\n",
        Language::El,
    );
    let Delivery { reply } = mailer.send(&sent).await.unwrap();
    assert!(reply.ends_with(".eml"), "{reply}");
    let raw = std::fs::read(&reply).unwrap();
    let got = ReceivedMessage::parse(&raw);
    assert_eq!(got.subject, sent.subject);
    assert_eq!(got.to, ["it@kanto.example", "office@kanto.example"]);
    assert_eq!(got.cc, ["sato@acme.example"]);
    assert_eq!(got.message_id, sent.message_id);
    assert_eq!(got.content_language.as_deref(), Some("el"));
    assert_eq!(
        got.body.replace("\r\n", "\n").trim_end(),
        sent.body.trim_end()
    );
}

#[tokio::test]
async fn an_invalid_message_is_neither_sent_nor_retried() {
    let server = SmtpTestServer::start();
    let outbox = tempfile::tempdir().unwrap();
    let mailer = mailer(Some(server.url()), outbox.path());
    let mut msg = message("none", "Hello", "Body\n", Language::En);
    msg.to.clear();
    msg.cc.clear();
    let err = mailer.send(&msg).await.unwrap_err();
    assert!(matches!(err, SendError::Invalid(_)), "{err:?}");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn an_invoice_pdf_reaches_a_real_server_intact() {
    let server = SmtpTestServer::start();
    let outbox = tempfile::tempdir().unwrap();
    let mailer = mailer(Some(server.url()), outbox.path());
    let mut pdf = b"%PDF-1.7\n".to_vec();
    // Long enough to span many base64 lines, with every byte value and a lone dot line that
    // SMTP's dot-stuffing must carry through.
    for _ in 0..40 {
        pdf.extend(0..=255u8);
        pdf.extend(b"\r\n.\r\n");
    }
    let mut sent = message(
        "invoice",
        "請求書 INV-2027-0001 のご送付",
        "Kanto Precision Ltd\nご担当者様\n\n請求書をPDFファイルにて添付いたします。\n",
        Language::Ja,
    );
    sent.attachments.push(Attachment {
        filename: "請求書_INV-2027-0001.pdf".to_string(),
        content_type: "application/pdf".to_string(),
        content: pdf.clone(),
    });
    mailer.send(&sent).await.unwrap();
    let received = server.wait_for_messages(1, Duration::from_secs(10));
    assert!(received[0].raw.is_ascii());
    let parsed = mailparse::parse_mail(&received[0].raw).unwrap();
    assert_eq!(parsed.ctype.mimetype, "multipart/mixed");
    let [text, file] = &parsed.subparts[..] else {
        panic!("expected two parts, got {}", parsed.subparts.len());
    };
    assert_eq!(text.get_body().unwrap().replace("\r\n", "\n"), sent.body);
    assert_eq!(
        file.get_content_disposition()
            .params
            .get("filename")
            .map(String::as_str),
        Some("請求書_INV-2027-0001.pdf")
    );
    assert_eq!(file.get_body_raw().unwrap(), pdf);
}
