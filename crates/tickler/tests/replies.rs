//! Replies reach a person (issue 10): customer emails carry `Reply-To` the owner, every email
//! has an HTML twin of its text in the firm's colour, invoices keep their PDF beside both
//! forms, and DKIM signatures made by the real binary verify. The real binary, the real SMTP
//! test server, time driven by `dispatch --once --now`.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{OWNER, Tickler};
use tickler_testkit::{DkimKeyKind, ReceivedMessage, SmtpTestServer, dkim_test_key, verify_dkim};

const WAIT: Duration = Duration::from_secs(20);

/// Every line of the plain text, as the HTML shows it: the same wording in both forms.
fn assert_same_wording(message: &ReceivedMessage) {
    let html = message.html.as_deref().expect("an HTML part");
    for line in message
        .body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let escaped = line
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;");
        assert!(html.contains(&escaped), "{escaped:?} missing from {html}");
    }
}

#[test]
fn customer_emails_reply_to_the_owner_in_two_forms_and_notices_to_the_owner_do_not() {
    let smtp = SmtpTestServer::start_with_faults(
        json!({"reject_rcpt": {"gone@acme.example": "550 5.1.1 No such user"}}),
    );
    let t = Tickler::with_smtp(&smtp);
    let err = t.fails(&["settings", "set", "--brand-color", "red"]);
    assert!(
        err.contains("brand_color") && err.contains("#RRGGBB"),
        "{err}"
    );
    t.ok(&["settings", "set", "--brand-color", "#8B0000"]);
    let shown = t.json(&["settings", "show", "--json"]);
    assert_eq!(shown["brand_color"], "#8b0000");

    t.contract("ja", "Asia/Tokyo", "ops@acme.example", "2027-03-31");
    t.contract("en", "UTC", "gone@acme.example", "2027-03-31");
    // 60 days before: 09:00 in Tokyo, then in London.
    t.dispatch_at("2027-01-30T09:00:00Z");
    let received = smtp.wait_for_messages(2, WAIT);

    let customer = received
        .iter()
        .find(|m| m.to == ["ops@acme.example"])
        .expect("the customer's email");
    assert_eq!(customer.header("Reply-To").as_deref(), Some(OWNER));
    assert_eq!(
        customer.structure(),
        "multipart/alternative(text/plain,text/html)"
    );
    assert_eq!(customer.content_language.as_deref(), Some("ja"));
    assert!(
        customer.body.contains("PBX maintenance"),
        "{}",
        customer.body
    );
    assert_same_wording(customer);
    let html = customer.html.as_deref().unwrap_or_default();
    assert!(html.contains("<html lang=\"ja\">"), "{html}");
    assert!(html.contains(">Firm Maintenance Ltd</td>"), "{html}");
    assert!(html.contains("background-color:#8b0000"), "{html}");

    // The refused reminder's notice goes to the owner: no Reply-To, but two forms too.
    let notice = received
        .iter()
        .find(|m| m.to == [OWNER])
        .expect("a notice to the owner");
    assert_eq!(notice.header("Reply-To"), None);
    assert_eq!(notice.from_address, "renewals@firm.example");
    assert_same_wording(notice);
}

#[test]
fn without_an_owner_replies_go_to_the_from_address() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let customer = t.ok(&[
        "customer",
        "add",
        "--name",
        "Acme",
        "--email",
        "ops@acme.example",
    ]);
    t.ok(&[
        "contract",
        "add",
        "--customer",
        &customer,
        "--title",
        "Lift service",
        "--start",
        "2026-04-01",
        "--end",
        "2027-03-31",
    ]);
    t.dispatch_at("2027-01-30T09:00:00Z");
    let received = smtp.wait_for_messages(1, WAIT);
    assert_eq!(received[0].header("Reply-To"), None);
    assert_eq!(received[0].from_address, "renewals@firm.example");
    assert_same_wording(&received[0]);
}

#[test]
fn an_invoice_email_is_both_forms_with_the_pdf_beside_them() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    t.owner();
    let customer = t.ok(&[
        "customer",
        "add",
        "--name",
        "Alfa",
        "--email",
        "accounts@alfa.example",
        "--language",
        "el",
        "--time-zone",
        "Europe/Athens",
    ]);
    t.ok(&[
        "contract",
        "add",
        "--customer",
        &customer,
        "--title",
        "Υποστήριξη",
        "--start",
        "2027-01-01",
        "--cycles",
        "1",
        "--owner",
        OWNER,
        "--currency",
        "EUR",
        "--bill-every",
        "1m",
        "--line",
        "Υποστήριξη|1|100|24",
    ]);
    t.dispatch_at("2027-01-01T12:00:00Z");
    let received = smtp.wait_for_messages(1, WAIT);
    let invoice = received
        .iter()
        .find(|m| !m.attachments().is_empty())
        .expect("the invoice's email");
    assert_eq!(
        invoice.structure(),
        "multipart/mixed(multipart/alternative(text/plain,text/html),application/pdf)"
    );
    assert_eq!(invoice.header("Reply-To").as_deref(), Some(OWNER));
    assert!(invoice.body.contains("INV-2027-0001"), "{}", invoice.body);
    assert_same_wording(invoice);
    assert!(
        invoice
            .html
            .as_deref()
            .is_some_and(|h| h.contains("<html lang=\"el\">"))
    );
}

#[test]
fn messages_are_dkim_signed_when_both_variables_are_set() {
    let smtp = SmtpTestServer::start();
    let mut t = Tickler::with_smtp(&smtp);
    let key = dkim_test_key(t.dir(), DkimKeyKind::Rsa);
    let key_file = key.private_key.display().to_string();

    // One without the other stops every command that would send, naming what is missing.
    let mut half = Tickler::with_smtp(&smtp);
    half.set_env("TICKLER_DKIM_SELECTOR", "tickler2027");
    let err = half.fails(&["settings", "show"]);
    assert!(err.contains("TICKLER_DKIM_KEY_FILE"), "{err}");
    let mut other_half = Tickler::with_smtp(&smtp);
    other_half.set_env("TICKLER_DKIM_KEY_FILE", &key_file);
    let err = other_half.fails(&["settings", "show"]);
    assert!(err.contains("TICKLER_DKIM_SELECTOR"), "{err}");
    let mut unreadable = Tickler::with_smtp(&smtp);
    unreadable.set_env("TICKLER_DKIM_SELECTOR", "tickler2027");
    unreadable.set_env("TICKLER_DKIM_KEY_FILE", "/nonexistent/dkim.pem");
    let err = unreadable.fails(&["settings", "show"]);
    assert!(err.contains("/nonexistent/dkim.pem"), "{err}");

    t.set_env("TICKLER_DKIM_SELECTOR", "tickler2027");
    t.set_env("TICKLER_DKIM_KEY_FILE", &key_file);
    let shown = t.json(&["settings", "show", "--json"]);
    assert!(
        shown["mailer"]
            .as_str()
            .is_some_and(|m| m.contains("DKIM-signed with selector tickler2027")),
        "{shown}"
    );
    t.contract("ja", "Asia/Tokyo", "ops@acme.example", "2027-03-31");
    t.dispatch_at("2027-01-30T00:00:00Z");
    let received = smtp.wait_for_messages(1, WAIT);
    let signature = received[0].header("DKIM-Signature").expect("signed");
    assert!(signature.contains("d=firm.example"), "{signature}");
    verify_dkim(
        &received[0].raw,
        "tickler2027",
        "firm.example",
        &key.txt_record,
    )
    .unwrap_or_else(|log| panic!("the signature does not verify:\n{log}"));
}
