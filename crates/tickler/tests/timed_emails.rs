//! The timed-email engine end to end: the real binary, a real SQLite file, and a real SMTP
//! server (Debian's aiosmtpd) receiving and parsing every message.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{OWNER, Tickler, field};
use tickler_testkit::SmtpTestServer;

const WAIT: Duration = Duration::from_secs(10);

/// The recipients of the other messages: the owner's and the admins' notices.
fn not_to_customer(smtp: &SmtpTestServer) -> Vec<Vec<String>> {
    smtp.messages()
        .into_iter()
        .filter(|m| m.to != ["ops@acme.example"])
        .map(|m| m.to)
        .collect()
}

/// The messages to the customer of these tests (not the owner's or the admins' notices).
fn to_customer(smtp: &SmtpTestServer) -> Vec<tickler_testkit::ReceivedMessage> {
    support::messages_to(smtp, "ops@acme.example")
}

#[test]
fn the_four_renewal_emails_go_out_at_their_exact_instants_once() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let contract = t.contract("ja", "Asia/Tokyo", "ops@acme.example", "2027-03-31");

    let reminders = t.reminders(&contract);
    let plan: Vec<(&str, i64, &str, &str)> = reminders
        .iter()
        .map(|r| {
            (
                field(r, "step"),
                r["offset_days"].as_i64().unwrap(),
                field(r, "status"),
                field(r, "send_at"),
            )
        })
        .collect();
    // 09:00 in Tokyo is 00:00 UTC.
    assert_eq!(
        plan,
        vec![
            ("before_60", -60, "scheduled", "2027-01-30T00:00:00Z"),
            ("call_customer", -46, "scheduled", "2027-02-13T00:00:00Z"),
            ("before_30", -30, "scheduled", "2027-03-01T00:00:00Z"),
            ("before_7", -7, "scheduled", "2027-03-24T00:00:00Z"),
            ("after_7", 7, "scheduled", "2027-04-07T00:00:00Z"),
        ]
    );
    // The four emails to the customer; the fifth step is the owner's call (tests/tasks.rs).
    let emails: Vec<&serde_json::Value> =
        reminders.iter().filter(|r| r["mode"] == "auto").collect();
    assert_eq!(emails.len(), 4);
    for r in &emails {
        assert_eq!(r["to"], json!(["ops@acme.example"]));
        assert_eq!(r["cc"], json!([OWNER]));
        assert!(r["sent_at"].is_null());
    }

    let mut expected = 0;
    for r in &emails {
        let send_at: jiff::Timestamp = field(r, "send_at").parse().unwrap();
        let just_before = send_at - jiff::SignedDuration::from_secs(1);
        t.dispatch_at(&just_before.to_string());
        assert_eq!(
            to_customer(&smtp).len(),
            expected,
            "nothing goes out a second early"
        );

        t.dispatch_at(&send_at.to_string());
        expected += 1;
        smtp.wait_for_messages(expected, WAIT);
        let received = to_customer(&smtp);
        assert_eq!(received.len(), expected);
        let message = received.last().unwrap();
        assert_eq!(message.message_id, field(r, "message_id"));
        assert_eq!(message.to, vec!["ops@acme.example".to_string()]);
        assert_eq!(message.cc, vec![OWNER.to_string()]);
        assert_eq!(message.from_address, "renewals@firm.example");
        assert_eq!(message.subject, field(r, "subject"));
        assert_eq!(message.content_language.as_deref(), Some("ja"));
        assert!(message.body.contains("PBX maintenance"), "{}", message.body);
        assert!(
            message.body.contains("2027年3月31日"),
            "dates in Japanese: {}",
            message.body
        );

        // Running again as of the same instant sends nothing twice.
        t.dispatch_at(&send_at.to_string());
        assert_eq!(to_customer(&smtp).len(), expected);
    }

    for r in t
        .reminders(&contract)
        .iter()
        .filter(|r| r["mode"] == "auto")
    {
        assert_eq!(field(r, "status"), "sent");
        assert_eq!(r["sent_at"], r["send_at"], "sent exactly at its instant");
    }
    let again = t.dispatch_at("2028-01-01T00:00:00Z");
    assert!(again.contains("claimed 0"), "{again}");
    assert_eq!(to_customer(&smtp).len(), 4);
    // Besides: the owner was told of the call, and the admins (here the sender address: no
    // admin yet) once that it was left open.
    let others = not_to_customer(&smtp);
    assert_eq!(
        others,
        [
            vec![OWNER.to_string()],
            vec!["renewals@firm.example".to_string()]
        ]
    );
}

#[test]
fn send_instants_follow_each_customers_zone_across_daylight_saving() {
    let t = Tickler::new(None);
    // New York: 2027-03-14 is the spring-forward day; 09:00 EDT is 13:00Z, a week before 09:00 EST is 14:00Z.
    let ny = t.contract("en", "America/New_York", "ny@acme.example", "2027-03-21");
    assert_eq!(
        field(&t.reminder(&ny, "before_7", 1), "send_at"),
        "2027-03-14T13:00:00Z"
    );
    assert_eq!(
        field(&t.reminder(&ny, "before_30", 1), "send_at"),
        "2027-02-19T14:00:00Z"
    );
    // Athens: summer time starts 2027-03-28 (UTC+3), before that UTC+2.
    let athens = t.contract("el", "Europe/Athens", "athens@acme.example", "2027-04-04");
    assert_eq!(
        field(&t.reminder(&athens, "before_7", 1), "send_at"),
        "2027-03-28T06:00:00Z"
    );
    assert_eq!(
        field(&t.reminder(&athens, "before_30", 1), "send_at"),
        "2027-03-05T07:00:00Z"
    );
    // Month ends and leap days are calendar arithmetic, not 24-hour multiples.
    let leap = t.contract("en", "UTC", "leap@acme.example", "2028-04-29");
    assert_eq!(
        field(&t.reminder(&leap, "before_60", 1), "send_at"),
        "2028-02-29T09:00:00Z"
    );
}

#[test]
fn people_edit_skip_and_send_early_and_sent_mail_is_immutable() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let contract = t.contract("en", "Europe/London", "ops@acme.example", "2027-06-30");
    let before_60 = t.reminder(&contract, "before_60", 1);
    let id60 = before_60["id"].to_string();

    let body = t.dir().join("body.txt");
    std::fs::write(
        &body,
        "Dear Acme,\n\nYour contract ends soon. Shall we renew? Our special offer: 5% off.\n",
    )
    .unwrap();
    t.ok(&[
        "reminder",
        "edit",
        &id60,
        "--subject",
        "Renewal offer for your PBX",
        "--body-file",
        body.to_str().unwrap(),
        "--send-at",
        "2027-05-03T08:30:00Z",
    ]);
    let edited = t.reminder(&contract, "before_60", 1);
    assert_eq!(field(&edited, "subject"), "Renewal offer for your PBX");
    assert_eq!(field(&edited, "send_at"), "2027-05-03T08:30:00Z");
    assert_eq!(edited["edited"], json!(true));

    // Not at the old time; at the new one, with the new words.
    t.dispatch_at("2027-05-01T08:00:00Z");
    assert!(
        smtp.messages().is_empty(),
        "the edited email must wait for its new time"
    );
    t.dispatch_at("2027-05-03T08:30:00Z");
    let received = smtp.wait_for_messages(1, WAIT);
    assert_eq!(received[0].subject, "Renewal offer for your PBX");
    assert!(received[0].body.contains("5% off"));

    // Skipped: never sent, with its reason.
    let id30 = t.reminder(&contract, "before_30", 1)["id"].to_string();
    t.ok(&[
        "reminder",
        "skip",
        &id30,
        "--reason",
        "customer already called",
    ]);
    let skipped = t.reminder(&contract, "before_30", 1);
    assert_eq!(field(&skipped, "status"), "skipped");
    assert_eq!(field(&skipped, "status_reason"), "customer already called");

    // Sent now, long before its time, as read: a version read before an edit sends nothing.
    // (What "send now" sends is the email as of today, `if_sent_now`, with its own version.)
    let id7 = t.reminder(&contract, "before_7", 1)["id"].to_string();
    let read = field(
        &t.reminder(&contract, "before_7", 1)["if_sent_now"],
        "version",
    )
    .to_string();
    t.ok(&[
        "reminder",
        "edit",
        &id7,
        "--subject",
        "Last call for your PBX",
    ]);
    let err = t.fails(&["reminder", "send", &id7, "--version", &read]);
    assert!(
        err.contains("its subject differs now") && err.contains("nothing was sent"),
        "{err}"
    );
    let err = t.fails(&["reminder", "send", &id7, "--version", "latest"]);
    assert!(
        err.contains("--version") && err.contains("not an email version"),
        "{err}"
    );
    let read = field(
        &t.reminder(&contract, "before_7", 1)["if_sent_now"],
        "version",
    )
    .to_string();
    t.ok(&["reminder", "send", &id7, "--version", &read]);
    let received = smtp.wait_for_messages(2, WAIT);
    assert_eq!(
        received[1].message_id,
        field(&t.reminder(&contract, "before_7", 1), "message_id")
    );
    assert_eq!(
        field(&t.reminder(&contract, "before_7", 1), "status"),
        "sent"
    );

    // Finished reminders cannot be changed, skipped or sent again.
    let err = t.fails(&["reminder", "edit", &id60, "--subject", "changed"]);
    assert!(err.contains("sent reminders cannot be changed"), "{err}");
    let err = t.fails(&["reminder", "send", &id7]);
    assert!(err.contains("is sent"), "{err}");
    let err = t.fails(&["reminder", "skip", &id30]);
    assert!(err.contains("skipped"), "{err}");

    // At the old instants nothing more goes out to the customer: only after_7 remains (the
    // owner's call became a task meanwhile, and escalated: tests/tasks.rs).
    t.dispatch_at("2027-06-30T00:00:00Z");
    assert_eq!(to_customer(&smtp).len(), 2);
    t.dispatch_at("2027-07-07T08:00:00Z");
    smtp.wait_for_messages(5, WAIT);
    assert_eq!(to_customer(&smtp).len(), 3);

    // The history says who did what.
    let detail = t.json(&["contract", "show", &contract, "--json"]);
    let actions: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| field(e, "action"))
        .collect();
    for action in ["created", "edited", "skipped", "send now", "sent"] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
}

#[test]
fn bad_edits_are_refused_with_the_field_named() {
    let t = Tickler::new(None);
    let contract = t.contract("en", "UTC", "ops@acme.example", "2027-06-30");
    let id = t.reminder(&contract, "before_60", 1)["id"].to_string();
    let err = t.fails(&[
        "reminder",
        "edit",
        &id,
        "--subject",
        "Hello\r\nBcc: thief@evil.example",
    ]);
    assert!(err.contains("subject"), "{err}");
    let err = t.fails(&["reminder", "edit", &id, "--send-at", "tomorrow"]);
    assert!(
        err.contains("--send-at") && err.contains("tomorrow"),
        "{err}"
    );
    let err = t.fails(&["reminder", "edit", "999", "--subject", "x"]);
    assert!(err.contains("reminder 999 does not exist"), "{err}");
    assert_eq!(
        t.reminder(&contract, "before_60", 1)["edited"],
        json!(false)
    );
}

#[test]
fn renewal_cancels_the_old_terms_reminders_and_schedules_the_new_ones() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let contract = t.contract("en", "UTC", "ops@acme.example", "2027-03-31");
    t.dispatch_at("2027-01-30T09:00:00Z");
    smtp.wait_for_messages(1, WAIT);

    assert_eq!(t.ok(&["contract", "renew", &contract]), contract);
    let all = t.reminders(&contract);
    let status = |step: &str, term: i64| {
        let r = all
            .iter()
            .find(|r| r["step"] == step && r["term_number"] == term)
            .unwrap();
        (
            field(r, "status").to_string(),
            r["send_at"].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(status("before_60", 1).0, "sent");
    for step in ["before_30", "before_7", "after_7"] {
        assert_eq!(status(step, 1).0, "cancelled", "{step} of the old term");
    }
    // The new term runs 2027-04-01 to 2028-03-31.
    assert_eq!(
        status("before_60", 2),
        ("scheduled".into(), "2028-01-31T09:00:00Z".into())
    );
    assert_eq!(
        status("after_7", 2),
        ("scheduled".into(), "2028-04-07T09:00:00Z".into())
    );
    let reason = all
        .iter()
        .find(|r| r["step"] == "before_30" && r["term_number"] == 1)
        .map(|r| field(r, "status_reason").to_string())
        .unwrap();
    assert!(reason.contains("renewed"), "{reason}");

    // The old term's dates pass quietly.
    t.dispatch_at("2027-04-08T00:00:00Z");
    assert_eq!(smtp.messages().len(), 1);
    t.dispatch_at("2028-01-31T09:00:00Z");
    assert_eq!(smtp.wait_for_messages(2, WAIT).len(), 2);

    // An explicit end date, and the contract shows its current term.
    t.ok(&["contract", "renew", &contract, "--end", "2030-03-31"]);
    let detail = t.json(&["contract", "show", &contract, "--json"]);
    assert_eq!(detail["contract"]["term_number"], json!(3));
    assert_eq!(detail["contract"]["end_date"], json!("2030-03-31"));
}

#[test]
fn after_downtime_only_the_latest_overdue_step_is_sent() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let contract = t.contract("el", "Europe/Athens", "ops@acme.example", "2027-06-30");
    // Nobody ran the dispatcher for two months: -60 and -30 are overdue, -7 too.
    t.dispatch_at("2027-06-25T12:00:00Z");
    // The customer's email, and the owner's notice of the call (below).
    let received: Vec<_> = smtp
        .wait_for_messages(2, WAIT)
        .into_iter()
        .filter(|m| m.to == ["ops@acme.example"])
        .collect();
    assert_eq!(received.len(), 1);
    let before_7 = t.reminder(&contract, "before_7", 1);
    assert_eq!(field(&before_7, "status"), "sent");
    assert_eq!(received[0].message_id, field(&before_7, "message_id"));
    assert_eq!(received[0].content_language.as_deref(), Some("el"));
    assert!(
        before_7["lateness_ms"].as_i64().unwrap() > 0,
        "lateness is recorded"
    );
    for step in ["before_60", "before_30"] {
        assert_eq!(
            field(&t.reminder(&contract, step, 1), "status"),
            "superseded",
            "{step}"
        );
    }
    assert_eq!(
        field(&t.reminder(&contract, "after_7", 1), "status"),
        "scheduled"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(to_customer(&smtp).len(), 1);
    // The owner's call is still worth making: it became a task, late, and the owner is told
    // (escalation counts its 3 business days from today, not from the missed due date).
    let others = not_to_customer(&smtp);
    assert_eq!(others, [vec![OWNER.to_string()]]);
}

#[test]
fn temporary_smtp_failures_are_retried_with_growing_gaps() {
    let smtp = SmtpTestServer::start_with_faults(
        json!({"data_reply": "451 4.3.0 Try again later", "remaining": 2}),
    );
    let t = Tickler::with_smtp(&smtp);
    let contract = t.contract("en", "UTC", "ops@acme.example", "2027-06-30");
    let due = "2027-05-01T09:00:00Z";

    t.dispatch_at(due);
    let first = t.reminder(&contract, "before_60", 1);
    assert_eq!(field(&first, "status"), "scheduled");
    assert_eq!(first["attempts"], json!(1));
    assert!(field(&first, "last_error").contains("451"), "{first}");
    // The next try is shown, 30 to 60 s later (the first backoff step, with jitter).
    let next: jiff::Timestamp = field(&first, "next_attempt_at").parse().unwrap();
    let gap = next.duration_since(due.parse().unwrap()).as_secs();
    assert!(
        (30..=60).contains(&gap),
        "next attempt {gap} s after the first"
    );

    // Not before the backoff has passed.
    t.dispatch_at(due);
    assert_eq!(t.reminder(&contract, "before_60", 1)["attempts"], json!(1));
    t.dispatch_at("2027-05-01T10:00:00Z");
    assert_eq!(t.reminder(&contract, "before_60", 1)["attempts"], json!(2));
    t.dispatch_at("2027-05-01T12:00:00Z");
    let sent = t.reminder(&contract, "before_60", 1);
    assert_eq!(field(&sent, "status"), "sent");
    assert_eq!(sent["attempts"], json!(3));
    let received = smtp.wait_for_messages(1, WAIT);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].message_id, field(&sent, "message_id"));
}

#[test]
fn a_permanent_refusal_fails_the_reminder_and_tells_the_owner() {
    let smtp = SmtpTestServer::start_with_faults(
        json!({"reject_rcpt": {"gone@acme.example": "550 5.1.1 No such user"}}),
    );
    let t = Tickler::with_smtp(&smtp);
    let bad = t.contract("en", "UTC", "gone@acme.example", "2027-06-30");
    let good = t.contract("en", "UTC", "ops@other.example", "2027-06-30");

    t.dispatch_at("2027-05-01T09:00:00Z");
    let failed = t.reminder(&bad, "before_60", 1);
    assert_eq!(field(&failed, "status"), "failed");
    assert!(field(&failed, "smtp_reply").contains("550"), "{failed}");
    assert_eq!(field(&t.reminder(&good, "before_60", 1), "status"), "sent");

    // The owner's notice went out in the same run (it is due at once).
    let received = smtp.wait_for_messages(2, WAIT);
    let notice = received
        .iter()
        .find(|m| m.to == vec![OWNER.to_string()])
        .expect("a notice to the owner");
    assert!(notice.body.contains("550"), "{}", notice.body);
    assert!(
        received
            .iter()
            .all(|m| !m.to.contains(&"gone@acme.example".to_string()))
    );
}

#[test]
fn nothing_is_lost_while_the_mail_server_is_down() {
    let down = format!("smtp://127.0.0.1:{}?tls=none", tickler_testkit::free_port());
    let mut t = Tickler::new(Some(down));
    t.set_env("TICKLER_SMTP_TIMEOUT_SECONDS", "5");
    let contract = t.contract("en", "UTC", "ops@acme.example", "2027-06-30");
    t.dispatch_at("2027-05-01T09:00:00Z");
    let waiting = t.reminder(&contract, "before_60", 1);
    assert_eq!(field(&waiting, "status"), "scheduled");
    assert!(waiting["last_error"].is_string());

    let smtp = SmtpTestServer::start();
    let mut t = t;
    t.smtp_url = Some(smtp.url());
    t.dispatch_at("2027-05-02T09:00:00Z");
    assert_eq!(smtp.wait_for_messages(1, WAIT).len(), 1);
    assert_eq!(
        field(&t.reminder(&contract, "before_60", 1), "status"),
        "sent"
    );
}

#[test]
fn without_smtp_mail_goes_to_the_outbox_folder() {
    let t = Tickler::new(None);
    let contract = t.contract("en", "UTC", "ops@acme.example", "2027-06-30");
    t.dispatch_at("2027-05-01T09:00:00Z");
    let files: Vec<_> = std::fs::read_dir(t.outbox())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let eml: Vec<_> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    assert_eq!(eml.len(), 1, "{files:?}");
    let message = tickler_testkit::ReceivedMessage::parse(&std::fs::read(eml[0]).unwrap());
    assert_eq!(
        message.message_id,
        field(&t.reminder(&contract, "before_60", 1), "message_id")
    );
}

#[test]
fn bad_input_is_refused_with_what_and_where() {
    let t = Tickler::new(None);
    let customer = t.ok(&[
        "customer",
        "add",
        "--name",
        "Acme",
        "--email",
        "a@acme.example",
    ]);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "contract",
                "add",
                "--customer",
                "42",
                "--title",
                "x",
                "--start",
                "2027-01-01",
                "--end",
                "2027-12-31",
            ],
            "customer 42 does not exist",
        ),
        (
            vec![
                "contract",
                "add",
                "--customer",
                &customer,
                "--title",
                "x",
                "--start",
                "2027-01-01",
                "--end",
                "2026-12-31",
            ],
            "before the start",
        ),
        (
            vec![
                "contract",
                "add",
                "--customer",
                &customer,
                "--title",
                "x",
                "--start",
                "2027-01-01",
                "--end",
                "2027-02-30",
            ],
            "\"2027-02-30\" is not a date",
        ),
        (
            vec![
                "contract",
                "add",
                "--customer",
                &customer,
                "--title",
                "x",
                "--start",
                "2027-01-01",
                "--end",
                "2027-12-31",
                "--owner",
                "nobody@firm.example",
            ],
            "no user has the email nobody@firm.example",
        ),
        (
            vec![
                "contract",
                "add",
                "--customer",
                &customer,
                "--title",
                "x",
                "--start",
                "2027-01-01",
                "--end",
                "2027-12-31",
                "--amount",
                "12,50",
                "--currency",
                "EUR",
            ],
            "amount",
        ),
        (
            vec![
                "customer",
                "add",
                "--name",
                "B",
                "--email",
                "b@acme.example",
                "--time-zone",
                "Mars/Olympus",
            ],
            "unknown time zone \"Mars/Olympus\"",
        ),
        (
            vec![
                "customer",
                "add",
                "--name",
                "B",
                "--email",
                "b@acme.example",
                "--language",
                "fr",
            ],
            "unknown language \"fr\"",
        ),
        (
            vec![
                "customer",
                "add",
                "--name",
                "B",
                "--email",
                "not-an-address",
            ],
            "\"not-an-address\" is not a valid email address",
        ),
        (
            vec!["user", "add", "--email", "x@", "--name", "X"],
            "is not a valid email address",
        ),
    ];
    for (args, expected) in cases {
        let err = t.fails(&args);
        assert!(
            err.contains(expected),
            "tickler {args:?}: expected {expected:?} in:\n{err}"
        );
    }
    let contracts = t.json(&["contract", "list", "--json"]);
    assert_eq!(contracts, json!([]), "no failed command wrote anything");
}

#[test]
fn changing_dates_zone_or_owner_recomputes_unedited_reminders_and_keeps_edits() {
    let t = Tickler::new(None);
    let contract = t.contract("en", "UTC", "ops@acme.example", "2027-06-30");
    let id30 = t.reminder(&contract, "before_30", 1)["id"].to_string();
    t.ok(&[
        "reminder",
        "edit",
        &id30,
        "--send-at",
        "2027-06-01T10:00:00Z",
    ]);

    t.ok(&["contract", "edit", &contract, "--end", "2027-09-30"]);
    assert_eq!(
        field(&t.reminder(&contract, "before_60", 1), "send_at"),
        "2027-08-01T09:00:00Z"
    );
    assert_eq!(
        field(&t.reminder(&contract, "before_30", 1), "send_at"),
        "2027-06-01T10:00:00Z",
        "a person's time is kept"
    );
    assert_eq!(
        field(&t.reminder(&contract, "after_7", 1), "send_at"),
        "2027-10-07T09:00:00Z"
    );

    let detail = t.json(&["contract", "show", &contract, "--json"]);
    let customer = detail["customer"]["id"].to_string();
    t.ok(&[
        "customer",
        "edit",
        &customer,
        "--time-zone",
        "Asia/Tokyo",
        "--email",
        "new@acme.example",
    ]);
    let moved = t.reminder(&contract, "before_60", 1);
    assert_eq!(
        field(&moved, "send_at"),
        "2027-08-01T00:00:00Z",
        "09:00 in Tokyo"
    );
    assert_eq!(moved["to"], json!(["new@acme.example"]));
    assert_eq!(
        field(&t.reminder(&contract, "before_30", 1), "send_at"),
        "2027-06-01T10:00:00Z"
    );

    t.ok(&[
        "user",
        "add",
        "--email",
        "kim@firm.example",
        "--name",
        "Kim",
    ]);
    t.ok(&["contract", "edit", &contract, "--owner", "kim@firm.example"]);
    assert_eq!(
        t.reminder(&contract, "before_7", 1)["cc"],
        json!(["kim@firm.example"])
    );

    // Moving the end date so early that steps are in the past cancels them with the reason.
    t.ok(&["contract", "edit", &contract, "--end", "2026-12-31"]);
    let past = t.reminder(&contract, "before_60", 1);
    assert_eq!(field(&past, "status"), "cancelled");
    assert!(
        field(&past, "status_reason").contains("already passed"),
        "{past}"
    );

    let err = t.fails(&["contract", "edit", &contract, "--end", "2025-01-01"]);
    assert!(err.contains("before the start"), "{err}");
    let err = t.fails(&["contract", "edit", &contract, "--plan", "nonexistent"]);
    assert!(err.contains("no plan is named \"nonexistent\""), "{err}");
}

#[test]
fn a_terminated_contract_sends_nothing_more() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let contract = t.contract("en", "UTC", "ops@acme.example", "2027-06-30");
    t.ok(&[
        "contract",
        "terminate",
        &contract,
        "--reason",
        "customer went bankrupt",
    ]);
    for r in t.reminders(&contract) {
        assert_eq!(field(&r, "status"), "cancelled");
    }
    t.dispatch_at("2027-08-01T00:00:00Z");
    assert!(smtp.messages().is_empty());
    let err = t.fails(&["contract", "renew", &contract]);
    assert!(err.contains("terminated"), "{err}");
}

#[test]
fn a_mail_server_that_does_not_answer_in_time_is_a_temporary_failure() {
    let smtp = SmtpTestServer::start_with_reply_delay(Duration::from_secs(4));
    let mut t = Tickler::with_smtp(&smtp);
    t.set_env("TICKLER_SMTP_TIMEOUT_SECONDS", "1");
    let contract = t.contract("en", "UTC", "ops@acme.example", "2027-06-30");
    t.dispatch_at("2027-05-01T09:00:00Z");
    let waiting = t.reminder(&contract, "before_60", 1);
    assert_eq!(field(&waiting, "status"), "scheduled", "{waiting}");
    assert_eq!(waiting["attempts"], json!(1));
    assert!(waiting["last_error"].is_string(), "{waiting}");
}

#[test]
fn line_breaks_can_never_smuggle_headers_in() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let err = t.fails(&[
        "customer",
        "add",
        "--name",
        "Evil\r\nBcc: thief@evil.example",
        "--email",
        "a@acme.example",
    ]);
    assert!(
        err.contains("name: must not contain control characters"),
        "{err}"
    );
    let customer = t.ok(&[
        "customer",
        "add",
        "--name",
        "Acme",
        "--email",
        "a@acme.example",
    ]);
    let err = t.fails(&[
        "contract",
        "add",
        "--customer",
        &customer,
        "--title",
        "PBX\nBcc: thief@evil.example",
        "--start",
        "2027-01-01",
        "--end",
        "2027-06-30",
    ]);
    assert!(err.contains("title"), "{err}");
    let contract = t.ok(&[
        "contract",
        "add",
        "--customer",
        &customer,
        "--title",
        "PBX",
        "--start",
        "2027-01-01",
        "--end",
        "2027-06-30",
    ]);
    let id = t.reminder(&contract, "before_60", 1)["id"].to_string();
    let body = t.dir().join("body.txt");
    std::fs::write(
        &body,
        "Hello\r\nBcc: thief@evil.example\r\n\r\nstill the body\n",
    )
    .unwrap();
    t.ok(&[
        "reminder",
        "edit",
        &id,
        "--body-file",
        body.to_str().unwrap(),
    ]);
    t.dispatch_at("2027-05-01T09:00:00Z");
    let message = &smtp.wait_for_messages(1, WAIT)[0];
    assert_eq!(message.envelope_to, vec!["a@acme.example".to_string()]);
    assert!(message.header("Bcc").is_none());
    assert!(
        message.body.contains("Bcc: thief@evil.example"),
        "stays in the body: {}",
        message.body
    );
}

#[test]
fn user_emails_are_unique_whatever_their_case() {
    let t = Tickler::new(None);
    t.ok(&[
        "user",
        "add",
        "--email",
        "sam@firm.example",
        "--name",
        "Sam",
    ]);
    let err = t.fails(&[
        "user",
        "add",
        "--email",
        "SAM@firm.example",
        "--name",
        "Sam again",
    ]);
    assert!(err.contains("already exists"), "{err}");
}
