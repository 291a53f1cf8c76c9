//! The morning digest end to end: through the binary, `dispatch --once --now` and a real SMTP
//! server. Runs on SQLite, and on PostgreSQL with TICKLER_TEST_BACKEND=postgres.

mod support;

use serde_json::Value;
use support::Tickler;
use tickler_testkit::{ReceivedMessage, SmtpTestServer};

const HANA: &str = "hana@firm.example";
const SAM: &str = "sam@firm.example";
const ADA: &str = "ada@firm.example";

fn digests_to(smtp: &SmtpTestServer, address: &str) -> Vec<ReceivedMessage> {
    smtp.messages()
        .into_iter()
        .filter(|m| m.to == [address] && m.subject.contains("digest"))
        .collect()
}

fn user(t: &Tickler, email: &str, name: &str, extra: &[&str]) {
    t.ok(&["user", "add", "--email", email, "--name", name]);
    if !extra.is_empty() {
        let mut args = vec!["user", "edit", email];
        args.extend_from_slice(extra);
        t.ok(&args);
    }
}

/// A contract of a customer in Tokyo owned by `owner`, ending `end`; returns its id.
fn contract(t: &Tickler, owner: &str, customer: &str, title: &str, end: &str) -> String {
    let email = format!(
        "{}@customer.example",
        customer.to_lowercase().replace(' ', ".")
    );
    let customer = t.customer(customer, &email, "en", "Asia/Tokyo");
    t.ok(&[
        "contract",
        "add",
        "--customer",
        &customer,
        "--title",
        title,
        "--start",
        "2026-03-21",
        "--end",
        end,
        "--owner",
        owner,
        "--amount",
        "1200.00",
        "--currency",
        "EUR",
    ])
}

/// An owner in Tokyo with two contracts: one whose renewal notice goes out today (Tokyo) and
/// one that expires within 30 days without an answer.
fn tokyo_owner(smtp: &SmtpTestServer) -> Tickler {
    let t = Tickler::with_smtp(smtp);
    user(&t, HANA, "Hana Sato", &["--time-zone", "Asia/Tokyo"]);
    // Its 60-day notice: 19 January 2027, 09:00 in Tokyo.
    contract(&t, HANA, "Kita Works", "Lift maintenance", "2027-03-20");
    // Ends 10 February: within 30 days of 19 January; its 30-day notice went out on 11 January.
    contract(&t, HANA, "Minami Foods", "Cold room service", "2027-02-10");
    t
}

#[test]
fn an_owner_in_tokyo_gets_one_digest_at_eight_tokyo_time() {
    let smtp = SmtpTestServer::start();
    let t = tokyo_owner(&smtp);

    // 07:00 on 19 January in Tokyo: the overdue notice goes out, no digest yet.
    t.dispatch_at("2027-01-18T22:00:00Z");
    assert!(digests_to(&smtp, HANA).is_empty());

    // 08:00 in Tokyo: exactly one digest, listing both contracts' items.
    t.dispatch_at("2027-01-18T23:00:00Z");
    let digests = digests_to(&smtp, HANA);
    assert_eq!(digests.len(), 1, "one digest");
    let digest = &digests[0];
    assert_eq!(
        digest.subject,
        "Your Tickler digest for 19 January 2027: 1 going out"
    );
    assert!(digest.cc.is_empty());
    let body = &digest.body;
    assert!(body.contains("Good morning, Hana Sato."), "{body}");
    assert!(body.contains("Going out today and tomorrow (1)"), "{body}");
    assert!(
        body.contains("19 January 2027 09:00  Kita Works · Lift maintenance · "),
        "the notice at 09:00 Tokyo time:\n{body}"
    );
    assert!(
        body.contains("Expiring within 30 days, no answer yet (1)"),
        "{body}"
    );
    assert!(
        body.contains("10 February 2027  Minami Foods · Cold room service"),
        "{body}"
    );
    assert!(!body.contains("Waiting for your approval"), "{body}");
    assert!(
        digest
            .html
            .as_deref()
            .is_some_and(|html| html.contains("Kita Works"))
    );

    // In the sent-mail log, once.
    let sent: Value = t.json(&["reminder", "list", "--status", "sent", "--json"]);
    let logged: Vec<&Value> = sent
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["subject_type"] == "digest")
        .collect();
    assert_eq!(logged.len(), 1, "{sent}");
    assert_eq!(logged[0]["contract_id"], Value::Null);
    assert_eq!(logged[0]["to"][0], HANA);
    assert_eq!(logged[0]["send_at"], "2027-01-18T23:00:00Z");

    // Later the same day, and again: never a second one.
    t.dispatch_at("2027-01-19T03:00:00Z");
    t.dispatch_at("2027-01-19T14:00:00Z");
    assert_eq!(digests_to(&smtp, HANA).len(), 1);
}

#[test]
fn a_digest_missed_at_its_time_goes_out_late_that_day_only() {
    let smtp = SmtpTestServer::start();
    let t = tokyo_owner(&smtp);
    // Nothing ran at 08:00 on the 19th; the dispatcher is back at 21:00 in Tokyo.
    t.dispatch_at("2027-01-19T12:00:00Z");
    let digests = digests_to(&smtp, HANA);
    assert_eq!(digests.len(), 1);
    assert!(digests[0].subject.contains("19 January 2027"));
    // Not back until the 21st at 07:00 Tokyo: the 20th's is gone, the 21st's not yet due.
    t.dispatch_at("2027-01-20T22:00:00Z");
    assert_eq!(digests_to(&smtp, HANA).len(), 1);
}

#[test]
fn nothing_is_sent_on_an_empty_day_or_when_turned_off() {
    let smtp = SmtpTestServer::start();
    let t = tokyo_owner(&smtp);
    // An owner whose only contract ends far away: every list is empty.
    user(&t, SAM, "Sam Sales", &[]);
    contract(&t, SAM, "Far Away", "Long contract", "2029-06-30");
    t.dispatch_at("2027-01-19T09:00:00Z");
    assert!(
        digests_to(&smtp, SAM).is_empty(),
        "an empty digest is not sent"
    );
    assert_eq!(digests_to(&smtp, HANA).len(), 1);

    t.ok(&["user", "edit", HANA, "--digest", "off"]);
    t.dispatch_at("2027-01-20T09:00:00Z");
    assert_eq!(digests_to(&smtp, HANA).len(), 1, "off: none on the 20th");
}

#[test]
fn weekdays_only_skips_saturday_and_sunday_in_the_owners_zone() {
    let smtp = SmtpTestServer::start();
    let t = tokyo_owner(&smtp);
    t.ok(&["user", "edit", HANA, "--digest", "weekdays"]);
    // Saturday 23 January 2027, 08:30 in Tokyo (still Friday in UTC).
    t.dispatch_at("2027-01-22T23:30:00Z");
    // Sunday 24 January.
    t.dispatch_at("2027-01-23T23:30:00Z");
    assert!(digests_to(&smtp, HANA).is_empty());
    // Monday 25 January.
    t.dispatch_at("2027-01-24T23:30:00Z");
    let digests = digests_to(&smtp, HANA);
    assert_eq!(digests.len(), 1);
    assert!(
        digests[0].subject.contains("25 January 2027"),
        "{}",
        digests[0].subject
    );
}

#[test]
fn the_digest_is_written_in_the_owners_language_at_their_time() {
    let smtp = SmtpTestServer::start();
    let t = tokyo_owner(&smtp);
    t.ok(&[
        "user",
        "edit",
        HANA,
        "--language",
        "ja",
        "--digest-time",
        "07:30",
    ]);
    t.dispatch_at("2027-01-18T22:29:00Z");
    assert!(digests_to_any(&smtp, HANA).is_empty());
    t.dispatch_at("2027-01-18T22:30:00Z");
    let digests = digests_to_any(&smtp, HANA);
    assert_eq!(digests.len(), 1);
    assert_eq!(
        digests[0].subject,
        "Tickler 本日のダイジェスト 2027年1月19日: 送信予定 1件"
    );
    assert!(digests[0].body.contains("おはようございます"));
    assert_eq!(digests[0].content_language.as_deref(), Some("ja"));
    let bad = t.fails(&["user", "edit", HANA, "--digest-time", "25:00"]);
    assert!(bad.contains("digest_time"), "{bad}");
}

fn digests_to_any(smtp: &SmtpTestServer, address: &str) -> Vec<ReceivedMessage> {
    smtp.messages()
        .into_iter()
        .filter(|m| m.to == [address] && m.subject.starts_with("Tickler"))
        .collect()
}

#[test]
fn the_admin_digest_groups_the_team_by_owner_with_yesterdays_counts() {
    let smtp = SmtpTestServer::start();
    let t = tokyo_owner(&smtp);
    // The owners take no digest of their own: the admin's covers them.
    t.ok(&["user", "edit", HANA, "--digest", "off"]);
    user(&t, SAM, "Sam Sales", &["--digest", "off"]);
    contract(&t, SAM, "Nishi Trading", "Printer fleet", "2027-02-05");
    // The day before: the two 30-day notices, overdue since 11 and 6 January, go out.
    t.dispatch_at("2027-01-18T12:00:00Z");
    user(&t, ADA, "Ada Admin", &["--role", "admin"]);
    // 08:00 UTC on the 19th: Ada's digest.
    t.dispatch_at("2027-01-19T08:00:00Z");
    let digests = digests_to(&smtp, ADA);
    assert_eq!(digests.len(), 1);
    let body = &digests[0].body;
    let hana = body
        .find("== Hana Sato <hana@firm.example> ==")
        .expect(body);
    let sam = body.find("== Sam Sales <sam@firm.example> ==").expect(body);
    assert!(hana < sam, "owners by name:\n{body}");
    assert!(
        body[sam..].contains("Nishi Trading · Printer fleet"),
        "{body}"
    );
    assert!(
        body[hana..sam].contains("Minami Foods · Cold room service"),
        "{body}"
    );
    assert!(body.contains("Yesterday across the team"), "{body}");
    // The two 30-day notices, and the two "call the customer" tasks' notices to the owners.
    assert!(body.contains("sent: 4 · failed: 0"), "the 18th:\n{body}");
    assert!(digests_to(&smtp, SAM).is_empty());
    assert!(digests_to(&smtp, HANA).is_empty());
}
