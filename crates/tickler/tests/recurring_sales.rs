//! Recurring sales end to end: the real binary, a real SQLite file (or PostgreSQL with
//! `TICKLER_TEST_BACKEND=postgres`), the real SMTP test server, time driven by
//! `dispatch --once --now`.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{OWNER, Tickler, field};
use tickler_testkit::{ReceivedMessage, SmtpTestServer, pdf_text};

const WAIT: Duration = Duration::from_secs(20);
const IBAN: &str = "GR16 0110 1250 0000 0001 2300 695";

/// An installation with an owner, the bank account in the settings, and a Greek customer
/// in Athens; returns the customer's id.
fn greek_customer(t: &Tickler) -> String {
    t.owner();
    t.ok(&[
        "settings",
        "set",
        "--iban",
        "GR1601101250000000012300695",
        "--bank-name",
        "Alpha Bank",
    ]);
    t.ok(&[
        "customer",
        "add",
        "--name",
        "Αλφα Ηλεκτρονική Α.Ε.",
        "--email",
        "accounts@alfa.example",
        "--language",
        "el",
        "--time-zone",
        "Europe/Athens",
    ])
}

/// A monthly sale of 100.00 + 24% VAT from 2027-01-01, twelve cycles.
fn monthly_sale(t: &Tickler, customer: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "contract",
        "add",
        "--customer",
        customer,
        "--title",
        "Υποστήριξη δικτύου",
        "--start",
        "2027-01-01",
        "--cycles",
        "12",
        "--owner",
        OWNER,
        "--currency",
        "EUR",
        "--bill-every",
        "1m",
        "--line",
        "Μηνιαία υποστήριξη|1|100|24",
    ];
    args.extend_from_slice(extra);
    t.ok(&args)
}

/// 09:00 on `day` in Athens.
fn athens_nine(day: jiff::civil::Date) -> jiff::Timestamp {
    tickler_core::schedule::local_instant(
        day,
        jiff::civil::Time::constant(9, 0, 0, 0),
        &jiff::tz::TimeZone::get("Europe/Athens").unwrap(),
    )
}

fn list(value: Value) -> Vec<Value> {
    match value {
        Value::Array(list) => list,
        other => panic!("not a list: {other}"),
    }
}

fn invoices(t: &Tickler, contract: &str) -> Vec<Value> {
    list(t.json(&["invoice", "list", "--contract", contract, "--json"]))
}

fn reminders_with(t: &Tickler, contract: &str, step: &str) -> Vec<Value> {
    t.reminders(contract)
        .into_iter()
        .filter(|r| r["step"] == step)
        .collect()
}

/// The PDF attached to an invoice's email, as text (None where pdftotext is missing).
fn attached_pdf_text(message: &ReceivedMessage) -> Option<String> {
    let attachments = message.attachments();
    assert_eq!(attachments.len(), 1, "one PDF attached: {attachments:?}");
    let (name, content_type, bytes) = &attachments[0];
    assert_eq!(content_type, "application/pdf");
    assert!(name.ends_with(".pdf"), "{name}");
    assert!(bytes.starts_with(b"%PDF-"));
    pdf_text(bytes)
}

#[test]
fn a_monthly_sale_gets_twelve_invoices_each_after_its_notice_with_the_iban() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let customer = greek_customer(&t);
    let sale = monthly_sale(&t, &customer, &[]);

    let contract = t.json(&["contract", "show", &sale, "--json"]);
    assert_eq!(contract["contract"]["end_date"], "2027-12-31", "12 cycles");
    assert_eq!(contract["plan"], "subscription");

    let notices = reminders_with(&t, &sale, "invoice_upcoming");
    assert_eq!(notices.len(), 12);
    let mut sent = 0;
    for (month, notice) in notices.iter().enumerate() {
        assert_eq!(notice["anchor"], "next_invoice_date");
        assert_eq!(notice["subject_type"], "billing_period");
        // 09:00 in Athens, 7 days before the first of each month.
        let notice_at: jiff::Timestamp = field(notice, "send_at").parse().unwrap();
        let issue_day = jiff::civil::date(2027, 1, 1)
            .checked_add(jiff::Span::new().months(month as i64))
            .unwrap();
        let expected_notice =
            athens_nine(issue_day.checked_sub(jiff::Span::new().days(7)).unwrap());
        assert_eq!(notice_at, expected_notice, "month {}", month + 1);

        t.dispatch_at(&(notice_at - jiff::SignedDuration::from_secs(1)).to_string());
        assert_eq!(smtp.messages().len(), sent, "nothing a second early");
        t.dispatch_at(&notice_at.to_string());
        sent += 1;
        let received = smtp.wait_for_messages(sent, WAIT);
        let message = received.last().unwrap();
        assert_eq!(message.to, vec!["accounts@alfa.example".to_string()]);
        assert_eq!(message.cc, vec![OWNER.to_string()]);
        assert!(message.body.contains(IBAN), "the IBAN: {}", message.body);
        assert!(message.body.contains("124,00 €"), "{}", message.body);
        assert!(message.attachments().is_empty());

        // The invoice is made and emailed at 09:00 Athens on the first of the month.
        let bill_at = athens_nine(issue_day);
        t.dispatch_at(&(bill_at - jiff::SignedDuration::from_secs(1)).to_string());
        assert_eq!(
            invoices(&t, &sale).len(),
            month,
            "no invoice before its time"
        );
        t.dispatch_at(&bill_at.to_string());
        // On 1 December the end of the sale is 30 days away: its notice goes out too.
        sent += if month == 11 { 2 } else { 1 };
        let received = smtp.wait_for_messages(sent, WAIT);
        let listed = invoices(&t, &sale);
        assert_eq!(listed.len(), month + 1);
        let invoice = listed.last().unwrap();
        let number = format!("INV-2027-{:04}", month + 1);
        assert_eq!(invoice["number"], number.as_str());
        assert_eq!(invoice["status"], "issued");
        assert_eq!(invoice["issue_date"], issue_day.to_string());
        assert_eq!(invoice["total"], "124.00");
        assert_eq!(invoice["balance"], "124.00");
        let with_number: Vec<&ReceivedMessage> = received
            .iter()
            .filter(|m| m.subject.contains(&number))
            .collect();
        assert_eq!(with_number.len(), 1, "one email for {number}");
        let message = with_number[0];
        assert_eq!(message.to, vec!["accounts@alfa.example".to_string()]);
        assert_eq!(message.cc, vec![OWNER.to_string()]);
        if let Some(text) = attached_pdf_text(message) {
            assert!(text.contains(&number), "the number in the PDF:\n{text}");
            assert!(text.contains("124,00"), "the total in the PDF:\n{text}");
            assert!(
                text.contains("Αλφα Ηλεκτρονική"),
                "Greek in the PDF:\n{text}"
            );
        }

        // Running again at the same instant makes and sends nothing more.
        t.dispatch_at(&bill_at.to_string());
        assert_eq!(invoices(&t, &sale).len(), month + 1);
        assert_eq!(smtp.messages().len(), sent);
        // The customer pays on receipt, so no payment reminder comes between the notices.
        let id = invoice["id"].as_i64().unwrap().to_string();
        t.ok(&["invoice", "pay", &id, "--amount", "124.00"]);
    }
    // The end of the sale: the customer 30 days ahead, the owner on the day.
    t.dispatch_at("2027-12-31T12:00:00Z");
    let ending = reminders_with(&t, &sale, "sale_ending");
    assert_eq!(field(&ending[0], "status"), "sent");
    assert_eq!(field(&ending[0], "anchor"), "end_date");
    let ended = reminders_with(&t, &sale, "sale_ended");
    assert_eq!(field(&ended[0], "status"), "sent");
    assert_eq!(ended[0]["to"], serde_json::json!([OWNER]));
    assert_eq!(invoices(&t, &sale).len(), 12, "exactly twelve invoices");
}

#[test]
fn after_downtime_every_missed_period_is_invoiced_in_order_and_no_stale_notice_goes_out() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let customer = greek_customer(&t);
    let sale = monthly_sale(&t, &customer, &[]);

    t.dispatch_at("2026-12-25T12:00:00Z");
    assert_eq!(smtp.wait_for_messages(1, WAIT).len(), 1, "January's notice");
    // Down from Christmas to mid-April: January to April are billed, in order, at once.
    t.dispatch_at("2027-04-15T12:00:00Z");
    let listed = invoices(&t, &sale);
    let numbers: Vec<&str> = listed.iter().map(|i| field(i, "number")).collect();
    assert_eq!(
        numbers,
        [
            "INV-2027-0001",
            "INV-2027-0002",
            "INV-2027-0003",
            "INV-2027-0004"
        ]
    );
    let starts: Vec<&str> = listed.iter().map(|i| field(i, "period_start")).collect();
    assert_eq!(
        starts,
        ["2027-01-01", "2027-02-01", "2027-03-01", "2027-04-01"]
    );
    // Their notices were pointless once the invoices existed.
    for notice in &reminders_with(&t, &sale, "invoice_upcoming")[1..4] {
        assert_eq!(field(notice, "status"), "cancelled");
        assert_eq!(
            field(notice, "status_reason"),
            "the invoice was already issued"
        );
        assert!(notice["invoice_id"].is_i64(), "{notice}");
    }
    let messages = smtp.wait_for_messages(5, WAIT);
    std::thread::sleep(Duration::from_millis(300));
    let messages_now = smtp.messages();
    let subjects: Vec<&str> = messages_now.iter().map(|m| m.subject.as_str()).collect();
    assert!(messages.len() >= 5);
    for number in [
        "INV-2027-0001",
        "INV-2027-0002",
        "INV-2027-0003",
        "INV-2027-0004",
    ] {
        assert_eq!(
            subjects.iter().filter(|s| s.contains(number)).count(),
            1,
            "one email for {number}: {subjects:?}"
        );
    }
    assert_eq!(
        messages_now
            .iter()
            .filter(|m| m.attachments().is_empty()
                && m.body.contains(IBAN)
                && !m.subject.contains("INV-"))
            .count(),
        1,
        "only January's notice went out, before the downtime: {subjects:?}"
    );
}

#[test]
fn a_draft_sale_waits_for_approval_takes_a_prepayment_and_goes_out_paid() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let customer = greek_customer(&t);
    let sale = monthly_sale(&t, &customer, &["--draft-invoices"]);

    t.dispatch_at("2026-12-25T12:00:00Z");
    smtp.wait_for_messages(1, WAIT);
    t.dispatch_at("2027-01-01T12:00:00Z");
    let listed = invoices(&t, &sale);
    assert_eq!(listed.len(), 1);
    let draft = &listed[0];
    assert_eq!(draft["status"], "draft");
    assert!(draft["number"].is_null(), "a draft has no number");
    let id = draft["id"].as_i64().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        smtp.messages().len(),
        1,
        "nothing to the customer before approval"
    );

    // The team adds a discount line to the draft and gives the customer 30 days.
    t.ok(&[
        "invoice",
        "edit",
        &id,
        "--line",
        "Μηνιαία υποστήριξη|1|100|24",
        "--line",
        "Έκπτωση|1|-10|24",
        "--due-date",
        "2027-01-31",
    ]);
    let edited = t.json(&["invoice", "show", &id, "--json"]);
    assert_eq!(edited["total"], "111.60", "90.00 + 24%");
    assert_eq!(edited["lines"].as_array().unwrap().len(), 2);
    let e = t.fails(&["invoice", "edit", &id, "--line", "Broken|1|x|24"]);
    assert!(e.contains("line 1") && e.contains("unit price"), "{e}");
    let e = t.fails(&["invoice", "edit", &id, "--due-date", "2026-12-01"]);
    assert!(e.contains("due_date"), "{e}");
    t.ok(&[
        "invoice",
        "pay",
        &id,
        "--amount",
        "111.60",
        "--date",
        "2026-12-28",
        "--reference",
        "PRE-1",
    ]);
    let shown = t.json(&["invoice", "show", &id, "--json"]);
    assert_eq!(shown["status"], "draft", "a prepaid draft stays a draft");
    assert_eq!(shown["paid"], "111.60");
    assert_eq!(shown["payments"][0]["reference"], "PRE-1");

    t.ok(&["invoice", "approve", &id]);
    let shown = t.json(&["invoice", "show", &id, "--json"]);
    assert_eq!(shown["status"], "paid");
    // Issued the day it is approved: today, on the wall clock.
    let issued: jiff::civil::Date = field(&shown, "issue_date").parse().unwrap();
    let due: jiff::civil::Date = field(&shown, "due_date").parse().unwrap();
    assert_eq!(
        issued.until(due).unwrap().get_days(),
        30,
        "the edited terms kept"
    );
    let year = &field(&shown, "issue_date")[..4];
    let number = format!("INV-{year}-0001");
    assert_eq!(shown["number"], number.as_str());
    assert_eq!(shown["balance"], "0.00");
    t.dispatch_at("2027-01-01T12:00:00Z");
    let messages = smtp.wait_for_messages(2, WAIT);
    let invoice_mail = &messages[1];
    assert!(
        invoice_mail.subject.contains(&number),
        "{}",
        invoice_mail.subject
    );
    if let Some(text) = attached_pdf_text(invoice_mail) {
        assert!(text.contains(&number), "{text}");
    }
    // Paid in advance: no payment reminders.
    let dunning: Vec<Value> = t
        .reminders(&sale)
        .into_iter()
        .filter(|r| r["anchor"] == "invoice_due_date")
        .collect();
    assert!(dunning.is_empty(), "{dunning:?}");

    // February's draft is discarded: that period is not billed again.
    t.dispatch_at("2027-02-01T12:00:00Z");
    let february = invoices(&t, &sale)[1]["id"].as_i64().unwrap().to_string();
    t.ok(&[
        "invoice",
        "discard",
        &february,
        "--reason",
        "customer paused",
    ]);
    t.dispatch_at("2027-02-01T12:00:00Z");
    let listed = invoices(&t, &sale);
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1]["status"], "void");
    assert!(
        listed[1]["number"].is_null(),
        "a discarded draft never had a number"
    );
    let reason = field(&listed[1], "void_reason");
    assert!(
        reason.starts_with("discarded by cli") && reason.ends_with("customer paused"),
        "who discarded it, and why: {reason}"
    );
}

#[test]
fn an_unpaid_invoice_walks_the_dunning_plan_until_paid_and_voiding_stops_it() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let customer = greek_customer(&t);
    let sale = monthly_sale(&t, &customer, &["--payment-days", "10"]);

    t.dispatch_at("2027-01-01T12:00:00Z");
    let january = invoices(&t, &sale)[0].clone();
    assert_eq!(january["due_date"], "2027-01-11");
    let id = january["id"].as_i64().unwrap();
    let of_january = |t: &Tickler| -> Vec<Value> {
        t.reminders(&sale)
            .into_iter()
            .filter(|r| r["invoice_id"] == id && r["anchor"] == "invoice_due_date")
            .collect()
    };
    let steps: Vec<String> = of_january(&t)
        .iter()
        .map(|r| field(r, "step").to_string())
        .collect();
    assert_eq!(
        steps,
        [
            "payment_due_soon",
            "payment_overdue_7",
            "payment_overdue_21",
            "payment_overdue_30_task",
            "payment_overdue_30_team"
        ]
    );
    // Due 11 January: 3 days before, then 7 days after, at 09:00 Athens.
    t.dispatch_at("2027-01-08T07:00:00Z");
    t.dispatch_at("2027-01-18T07:00:00Z");
    let statuses: Vec<String> = of_january(&t)
        .iter()
        .map(|r| field(r, "status").to_string())
        .collect();
    assert_eq!(statuses[..3], ["sent", "sent", "scheduled"]);

    t.ok(&["invoice", "pay", &id.to_string(), "--amount", "100"]);
    assert_eq!(
        t.json(&["invoice", "show", &id.to_string(), "--json"])["status"],
        "issued"
    );
    t.ok(&["invoice", "pay", &id.to_string(), "--amount", "24"]);
    assert_eq!(
        t.json(&["invoice", "show", &id.to_string(), "--json"])["status"],
        "paid"
    );
    for r in of_january(&t).iter().skip(2) {
        assert_eq!(field(r, "status"), "cancelled");
        assert_eq!(field(r, "status_reason"), "paid");
    }

    // February's invoice is voided: its reminders stop too, and it keeps its number.
    t.dispatch_at("2027-02-01T12:00:00Z");
    let february = invoices(&t, &sale)[1].clone();
    let february_id = february["id"].as_i64().unwrap();
    t.ok(&[
        "invoice",
        "void",
        &february_id.to_string(),
        "--reason",
        "billed by mistake",
    ]);
    let voided = t.json(&["invoice", "show", &february_id.to_string(), "--json"]);
    assert_eq!(voided["status"], "void");
    assert_eq!(voided["number"], "INV-2027-0002");
    for r in t.reminders(&sale) {
        if r["invoice_id"] == february_id && r["anchor"] == "invoice_due_date" {
            assert_eq!(field(&r, "status"), "cancelled");
            assert_eq!(field(&r, "status_reason"), "void");
        }
    }
    let refused = t.fails(&["invoice", "pay", &february_id.to_string(), "--amount", "1"]);
    assert!(refused.contains("void"), "{refused}");
}

#[test]
fn numbers_are_gapless_per_year_across_contracts() {
    let t = Tickler::new(None);
    let customer = greek_customer(&t);
    let first = monthly_sale(&t, &customer, &[]);
    let second = t.ok(&[
        "contract",
        "add",
        "--customer",
        &customer,
        "--title",
        "Backup",
        "--start",
        "2027-11-15",
        "--end",
        "2028-02-14",
        "--currency",
        "EUR",
        "--bill-every",
        "1m",
        "--line",
        "Backup|2|10.50|24",
    ]);
    t.dispatch_at("2028-03-01T12:00:00Z");
    let mut all: Vec<Value> = invoices(&t, &first);
    all.extend(invoices(&t, &second));
    let mut by_year: std::collections::BTreeMap<String, Vec<u32>> = Default::default();
    for invoice in &all {
        let number = field(invoice, "number");
        let (year, sequence) = number
            .strip_prefix("INV-")
            .and_then(|rest| rest.split_once('-'))
            .unwrap_or_else(|| panic!("{number}"));
        by_year
            .entry(year.to_string())
            .or_default()
            .push(sequence.parse().unwrap());
    }
    for (year, mut sequences) in by_year.clone() {
        sequences.sort();
        let expected: Vec<u32> = (1..=sequences.len() as u32).collect();
        assert_eq!(sequences, expected, "gapless in {year}");
    }
    assert_eq!(by_year["2027"].len(), 12 + 2);
    assert_eq!(by_year["2028"], [1], "a new sequence in 2028");
    let backup = invoices(&t, &second);
    assert_eq!(
        backup[0]["total"], "26.04",
        "2 × 10.50 = 21.00 + 24% = 5.04"
    );
}

#[test]
fn bad_input_is_refused_with_what_and_where_and_changes_nothing() {
    let t = Tickler::new(None);
    let customer = greek_customer(&t);
    let base = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = [
            "contract",
            "add",
            "--customer",
            &customer,
            "--title",
            "Bad",
            "--start",
            "2027-01-01",
            "--end",
            "2027-12-31",
            "--currency",
            "EUR",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let refused = |extra: &[&str]| -> String {
        let args = base(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        t.fails(&args)
    };
    let e = refused(&["--bill-every", "1m", "--line", "Support|x|100|24"]);
    assert!(e.contains("line 1") && e.contains("quantity"), "{e}");
    let e = refused(&["--bill-every", "1m", "--line", "Support|1|100"]);
    assert!(
        e.contains("line 1") && e.contains("DESCRIPTION|QUANTITY|UNIT_PRICE|TAX_PERCENT"),
        "{e}"
    );
    let e = refused(&[
        "--bill-every",
        "1m",
        "--line",
        "Ok|1|100|24",
        "--line",
        "Support|1|1,00|24",
    ]);
    assert!(e.contains("line 2") && e.contains("unit price"), "{e}");
    let e = refused(&["--bill-every", "1m", "--line", "Support|1|100|240"]);
    assert!(e.contains("tax"), "{e}");
    let e = refused(&["--bill-every", "0m", "--line", "Support|1|100|24"]);
    assert!(e.contains("bill_every") && e.contains("0m"), "{e}");
    let e = refused(&["--bill-every", "5x", "--line", "Support|1|100|24"]);
    assert!(e.contains("5x") || e.contains("\"x\""), "{e}");
    let e = refused(&["--bill-every", "1m"]);
    assert!(e.contains("line"), "{e}");
    let e = t.fails(&[
        "contract",
        "add",
        "--customer",
        &customer,
        "--title",
        "No currency",
        "--start",
        "2027-01-01",
        "--end",
        "2027-12-31",
        "--bill-every",
        "1m",
        "--line",
        "S|1|100|24",
    ]);
    assert!(e.contains("currency"), "{e}");
    assert_eq!(
        list(t.json(&["contract", "list", "--json"])).len(),
        0,
        "nothing written"
    );

    let sale = monthly_sale(&t, &customer, &[]);
    for (amount, currency) in [("", ""), ("100", "JPY")] {
        let e = t.fails(&[
            "contract",
            "edit",
            &sale,
            "--amount",
            amount,
            "--currency",
            currency,
        ]);
        assert!(
            e.contains("currency") && e.contains("recurring sale"),
            "{e}"
        );
    }
    t.dispatch_at("2027-01-01T12:00:00Z");
    let id = invoices(&t, &sale)[0]["id"].as_i64().unwrap().to_string();
    let before = t.json(&["invoice", "show", &id, "--json"]);
    let e = t.fails(&["invoice", "pay", &id, "--amount", "124.01"]);
    assert!(e.contains("exceeds the balance"), "{e}");
    let e = t.fails(&["invoice", "pay", &id, "--amount", "0"]);
    assert!(e.contains("more than 0"), "{e}");
    let e = t.fails(&["invoice", "pay", &id, "--amount", "1.001"]);
    assert!(e.contains("amount"), "{e}");
    let e = t.fails(&["invoice", "approve", &id]);
    assert!(e.contains("only a draft"), "{e}");
    let e = t.fails(&["invoice", "discard", &id]);
    assert!(e.contains("draft"), "{e}");
    let e = t.fails(&["invoice", "show", "999"]);
    assert!(e.contains("invoice 999 does not exist"), "{e}");
    let e = t.fails(&["invoice", "pay", "999", "--amount", "1"]);
    assert!(e.contains("invoice 999 does not exist"), "{e}");
    assert_eq!(
        t.json(&["invoice", "show", &id, "--json"]),
        before,
        "nothing changed"
    );
    let e = t.fails(&["settings", "set", "--payment-days=-3"]);
    assert!(e.contains("payment_days"), "{e}");
    let e = t.fails(&["settings", "set", "--invoice-prefix", "INV 2027"]);
    assert!(e.contains("invoice_prefix"), "{e}");
}

#[test]
fn an_invoice_unpaid_for_30_days_becomes_the_owners_call_and_payment_cancels_it() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let customer = greek_customer(&t);
    let sale = monthly_sale(&t, &customer, &["--payment-days", "10"]);
    t.dispatch_at("2027-01-01T12:00:00Z");
    let january = invoices(&t, &sale)[0]["id"].as_i64().unwrap().to_string();

    // Due 11 January: 30 days later, 10 February at 09:00 in Athens, the call is the owner's.
    t.dispatch_at("2027-02-10T06:59:59Z");
    assert_eq!(t.json(&["task", "list", "--json"]), serde_json::json!([]));
    t.dispatch_at("2027-02-10T07:00:00Z");
    let tasks = list(t.json(&["task", "list", "--json"]));
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(
        field(&tasks[0], "title"),
        "Call the customer about the unpaid invoice"
    );
    assert_eq!(field(&tasks[0], "owner"), OWNER);
    assert_eq!(field(&tasks[0], "due_date"), "2027-02-10");
    let call = reminders_with(&t, &sale, "payment_overdue_30_task");
    assert_eq!(field(&call[0], "status"), "superseded");
    let to_owner: Vec<String> = smtp
        .messages()
        .into_iter()
        .filter(|m| m.to == [OWNER])
        .map(|m| m.subject)
        .collect();
    assert!(
        to_owner.iter().any(|s| s.contains("30")),
        "the owner is sent the step's own text: {to_owner:?}"
    );

    t.ok(&["invoice", "pay", &january, "--amount", "124"]);
    let tasks = list(t.json(&["task", "list", "--json"]));
    assert_eq!(field(&tasks[0], "status"), "cancelled");
    assert_eq!(field(&tasks[0], "note"), "invoice paid");
}
