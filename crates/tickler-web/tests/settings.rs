//! The settings pages over real HTTP: what admins save takes effect at once (the next email,
//! new schedules), bad values are refused naming the field, the test email reaches a real
//! SMTP server, secrets never show, and other roles can neither see nor change anything.

mod support;

use std::{sync::Arc, time::Duration};

use jiff::{Timestamp, ToSpan, civil::Time, tz::TimeZone};
use reqwest::StatusCode;
use support::{TestApp, get, location, post};
use tickler_core::{clock::FixedClock, user::Role};
use tickler_engine::browse::ReminderFilter;
use tickler_engine::{Actor, directory::NewCustomer};
use tickler_testkit::{ServerTls, SmtpTestServer, TestCertificates};
use tickler_web::WebConfig;

const ADMIN: &str = "ada@firm.example";

/// Every field of the settings form, as the page would post it.
fn fields<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![
        ("organisation_name", "Firm Maintenance Ltd"),
        ("mail_from", "Renewals <renewals@firm.example>"),
        ("default_time_zone", "Europe/Athens"),
        ("default_send_time", ""),
        ("bank_iban", ""),
        ("bank_name", ""),
        ("brand_color", ""),
    ];
    for (key, value) in changes {
        if let Some(field) = all.iter_mut().find(|(k, _)| k == key) {
            field.1 = value;
        }
    }
    all
}

fn today_plus(days: i64) -> String {
    Timestamp::now()
        .to_zoned_datetime(TimeZone::UTC)
        .date()
        .checked_add(days.days())
        .expect("date")
        .to_string()
}

async fn reminders_of(app: &TestApp, contract: i64) -> Vec<tickler_engine::review::ReminderView> {
    app.engine
        .list_reminders(&ReminderFilter {
            contract_id: Some(contract),
            ..ReminderFilter::default()
        })
        .await
        .expect("reminders")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_shows_the_settings_and_where_mail_goes_but_never_the_password() {
    let app = TestApp::start_with(
        Some("smtp://alice:s3cret-pw@127.0.0.1:2525?tls=none".to_string()),
        WebConfig::default(),
    )
    .await;
    app.user(ADMIN, Role::Admin).await;
    let admin = app.login(ADMIN).await;
    let (status, page) = get(&admin, &app, "/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Firm Maintenance Ltd"), "{page}");
    assert!(page.contains("Europe/Athens"));
    assert!(page.contains("renewals@firm.example"));
    assert!(
        page.contains("SMTP smtp://127.0.0.1:2525 (no TLS, login alice)"),
        "{page}"
    );
    assert!(!page.contains("s3cret"), "the SMTP password is shown");
    assert!(page.contains("action=\"/settings/test-email\""));
    assert!(page.contains("action=\"/settings/holidays\""));
    // Admins see the entries in the navigation.
    assert!(page.contains("href=\"/settings\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_organisation_and_sender_reach_the_next_email() {
    let smtp = SmtpTestServer::start();
    let app = TestApp::start_with(Some(smtp.url()), WebConfig::default()).await;
    app.user(ADMIN, Role::Admin).await;
    let admin = app.login(ADMIN).await;
    let customer = app
        .customer("Kappa Hotels", "desk@kappa.example", "en", "Europe/Athens")
        .await;
    let contract = app
        .contract(customer, "Lift maintenance", &today_plus(100), None)
        .await;

    let saved = post(
        &admin,
        &app,
        "/settings",
        "/settings",
        &fields(&[
            ("organisation_name", "Acme Lifts SA"),
            ("mail_from", "Acme Renewals <renew@acme.example>"),
            ("bank_iban", "gr16 0110 1250 0000 0001 2300 695"),
            ("bank_name", "National Bank"),
            ("default_send_time", "08:30"),
        ]),
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), "/settings");
    let (_, page) = get(&admin, &app, &location(&saved)).await;
    assert!(page.contains("Settings saved."), "{page}");
    assert!(page.contains("value=\"Acme Lifts SA\""));
    assert!(page.contains("GR16 0110 1250 0000 0001 2300 695"), "{page}");
    assert!(page.contains("value=\"08:30\""));
    assert!(page.contains("National Bank"));
    // A new plan step (after the renewal plan's five) starts at the organisation's default
    // send time.
    let plan = app.renewal_plan_id().await;
    let (_, plan_page) = get(&admin, &app, &format!("/plans/{plan}")).await;
    assert!(
        plan_page.contains("name=\"time_5\" type=\"time\" value=\"08:30\""),
        "{plan_page}"
    );
    assert_eq!(app.engine.settings().organisation_name, "Acme Lifts SA");

    // The dispatcher (another clone of the engine, at a later clock) uses them.
    let first = reminders_of(&app, contract).await;
    let due = first
        .iter()
        .map(|r| r.send_at)
        .min()
        .expect("a scheduled reminder");
    let later = app
        .engine
        .with_clock(Arc::new(FixedClock(due + 1.minute())));
    let report = later.dispatch_due().await.expect("dispatch");
    assert_eq!(report.sent, 1, "{report:?}");
    let messages = smtp.wait_for_messages(1, Duration::from_secs(10));
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert!(message.body.contains("Acme Lifts SA"), "{}", message.body);
    assert_eq!(message.from_address, "renew@acme.example");
    assert_eq!(message.from_name.as_deref(), Some("Acme Renewals"));

    // Stored settings survive a restart of the engine: a fresh load finds them.
    app.engine.load_settings().await.expect("load");
    assert_eq!(app.engine.settings().organisation_name, "Acme Lifts SA");
    assert_eq!(
        app.engine
            .organisation()
            .bank_iban
            .as_ref()
            .map(|i| i.as_str().to_string()),
        Some("GR1601101250000000012300695".to_string())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_values_are_refused_naming_the_field_and_nothing_is_saved() {
    let app = TestApp::start().await;
    app.user(ADMIN, Role::Admin).await;
    let admin = app.login(ADMIN).await;
    for (field, value, named) in [
        ("bank_iban", "DE88 3704 0044 0532 0130 00", "bank_iban"),
        ("bank_iban", "DE89-3704-0044", "bank_iban"),
        ("default_time_zone", "Europe/Atlantis", "default_time_zone"),
        ("mail_from", "Renewals <not an address>", "mail_from"),
        ("default_send_time", "25:00", "default_send_time"),
        ("organisation_name", "Two\u{7}lines", "organisation_name"),
        ("brand_color", "dark red", "brand_color"),
        ("brand_color", "#8B00", "brand_color"),
    ] {
        let response = post(
            &admin,
            &app,
            "/settings",
            "/settings",
            &fields(&[("organisation_name", "Changed Name"), (field, value)]),
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "{field}={value}"
        );
        let page = response.text().await.expect("body");
        assert!(page.contains(named), "{field}={value}: {page}");
        assert!(page.contains("role=\"alert\""));
        if field != "organisation_name" {
            // What was typed is kept.
            assert!(page.contains("value=\"Changed Name\""), "{page}");
        }
        assert_eq!(
            app.engine.settings().organisation_name,
            "Firm Maintenance Ltd",
            "{field}={value} changed something"
        );
    }
    assert!(app.engine.organisation().bank_iban.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_field_goes_back_to_the_servers_value() {
    let app = TestApp::start().await;
    app.user(ADMIN, Role::Admin).await;
    let admin = app.login(ADMIN).await;
    let saved = post(
        &admin,
        &app,
        "/settings",
        "/settings",
        &fields(&[("organisation_name", "Other Name")]),
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.engine.settings().organisation_name, "Other Name");
    let cleared = post(
        &admin,
        &app,
        "/settings",
        "/settings",
        &fields(&[("organisation_name", ""), ("mail_from", "")]),
    )
    .await;
    assert_eq!(cleared.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.engine.settings().organisation_name,
        "Firm Maintenance Ltd"
    );
    assert_eq!(
        app.engine.settings().mail_from.to_string(),
        "Renewals <renewals@firm.example>"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_default_zone_moves_the_reminders_of_customers_without_one() {
    let app = TestApp::start().await;
    app.user(ADMIN, Role::Admin).await;
    let admin = app.login(ADMIN).await;
    let zoneless = app
        .engine
        .add_customer(
            NewCustomer {
                name: "No Zone Ltd".to_string(),
                emails: vec!["desk@nozone.example".to_string()],
                language: "en".parse().expect("language"),
                time_zone: None,
            },
            &Actor::system(),
        )
        .await
        .expect("customer");
    let zoned = app
        .customer("Tokyo KK", "desk@tokyo.example", "ja", "Asia/Tokyo")
        .await;
    let end = today_plus(120);
    let moves = app.contract(zoneless, "Boiler care", &end, None).await;
    let stays = app.contract(zoned, "Elevator care", &end, None).await;
    let local = |r: &tickler_engine::review::ReminderView, zone: &str| {
        r.send_at
            .to_zoned_datetime(TimeZone::get(zone).expect("zone"))
            .time()
    };
    let before = reminders_of(&app, moves).await;
    assert!(!before.is_empty());
    assert!(
        before
            .iter()
            .all(|r| local(r, "Europe/Athens") == Time::constant(9, 0, 0, 0))
    );
    let untouched = reminders_of(&app, stays).await;

    let saved = post(
        &admin,
        &app,
        "/settings",
        "/settings",
        &fields(&[("default_time_zone", "America/New_York")]),
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), "/settings");
    let (_, page) = get(&admin, &app, "/settings").await;
    assert!(page.contains("moved"), "the notice: {page}");
    let after = reminders_of(&app, moves).await;
    assert_eq!(after.len(), before.len());
    assert!(
        after
            .iter()
            .all(|r| local(r, "America/New_York") == Time::constant(9, 0, 0, 0)),
        "{after:?}"
    );
    let still: Vec<_> = reminders_of(&app, stays)
        .await
        .iter()
        .map(|r| r.send_at)
        .collect();
    assert_eq!(
        still,
        untouched.iter().map(|r| r.send_at).collect::<Vec<_>>()
    );
    // Pages now show times in the new zone for users without their own.
    let (_, page) = get(&admin, &app, "/settings").await;
    assert!(page.contains("Times in America/New_York"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_holiday_list_is_saved_and_bad_lines_are_named() {
    let app = TestApp::start().await;
    app.user(ADMIN, Role::Admin).await;
    let admin = app.login(ADMIN).await;
    let saved = post(
        &admin,
        &app,
        "/settings",
        "/settings/holidays",
        &[(
            "holidays",
            "2026-12-25 Christmas Day\n2026-03-25 Independence Day\n\n2026-12-26",
        )],
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&admin, &app, &location(&saved)).await;
    assert!(page.contains("Holiday list saved (3 days)"), "{page}");
    assert!(page.contains("2026-03-25 Independence Day\n2026-12-25 Christmas Day\n2026-12-26"));
    let christmas: jiff::civil::Date = "2026-12-25".parse().expect("date");
    assert!(app.engine.organisation().holiday_set.0.contains(&christmas));

    let bad = post(
        &admin,
        &app,
        "/settings",
        "/settings/holidays",
        &[("holidays", "2026-01-01 New Year\n2026-02-30 Nonsense")],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let page = bad.text().await.expect("body");
    assert!(page.contains("holidays line 2"), "{page}");
    assert!(page.contains("2026-02-30 Nonsense"), "typed text kept");
    assert_eq!(app.engine.organisation().holidays.len(), 3);

    let emptied = post(
        &admin,
        &app,
        "/settings",
        "/settings/holidays",
        &[("holidays", "")],
    )
    .await;
    assert_eq!(emptied.status(), StatusCode::SEE_OTHER);
    assert!(app.engine.organisation().holidays.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_test_email_reaches_the_smtp_server_and_shows_its_reply() {
    let smtp = SmtpTestServer::start();
    let app = TestApp::start_with(Some(smtp.url()), WebConfig::default()).await;
    app.user(ADMIN, Role::Admin).await;
    let admin = app.login(ADMIN).await;
    let saved = post(
        &admin,
        &app,
        "/settings",
        "/settings",
        &fields(&[("brand_color", "#8B0000")]),
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&admin, &app, "/settings").await;
    assert!(page.contains("value=\"#8b0000\""), "{page}");
    let sent = post(
        &admin,
        &app,
        "/settings",
        "/settings/test-email",
        &[("to", "ops@firm.example")],
    )
    .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&admin, &app, &location(&sent)).await;
    assert!(
        page.contains("Test email sent to ops@firm.example"),
        "{page}"
    );
    assert!(page.contains("250"), "the server's reply is shown: {page}");
    let messages = smtp.wait_for_messages(1, Duration::from_secs(10));
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].to, vec!["ops@firm.example".to_string()]);
    assert_eq!(messages[0].subject, "Test email from Firm Maintenance Ltd");
    assert_eq!(messages[0].from_address, "renewals@firm.example");
    // The admin sees the HTML form as customers will, in the saved colour.
    let html = messages[0].html.as_deref().expect("an HTML part");
    assert!(html.contains("background-color:#8b0000"), "{html}");
    assert!(
        html.contains("a test email from Tickler for Firm Maintenance Ltd"),
        "{html}"
    );

    let bad = post(
        &admin,
        &app,
        "/settings",
        "/settings/test-email",
        &[("to", "not an address")],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(
        bad.text()
            .await
            .expect("body")
            .contains("<p class=\"field-error\" id=\"to-error\">")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_test_email_says_why() {
    let port = tickler_testkit::free_port();
    let app = TestApp::start_with(
        Some(format!("smtp://127.0.0.1:{port}?tls=none")),
        WebConfig::default(),
    )
    .await;
    app.user(ADMIN, Role::Admin).await;
    let admin = app.login(ADMIN).await;
    let page = failed_test_email(&app, &admin).await;
    assert!(
        page.contains("The test email to ops@firm.example was not sent"),
        "{page}"
    );
}

/// Posts the Settings page's test email to ops@firm.example, which must fail (502); the
/// page that says why.
async fn failed_test_email(app: &TestApp, admin: &reqwest::Client) -> String {
    let failed = post(
        admin,
        app,
        "/settings",
        "/settings/test-email",
        &[("to", "ops@firm.example")],
    )
    .await;
    assert_eq!(failed.status(), StatusCode::BAD_GATEWAY);
    failed.text().await.expect("body")
}

/// An SMTP server whose certificate Tickler does not trust is a configuration problem shown
/// at once: the test email says why, then `/healthz` and a dashboard banner say that mail is
/// not going out, naming the host and the reason, never the password.
#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_smtp_certificate_shows_on_the_test_email_healthz_and_the_dashboard() {
    const PROBLEM: &str = "SMTP TLS: certificate of 127.0.0.1 not trusted (unknown issuer: \
                           set TICKLER_SMTP_CA_FILE to a private CA)";
    let dir = tempfile::tempdir().unwrap();
    let certificates = TestCertificates::issue(dir.path(), "IP:127.0.0.1");
    let smtp = SmtpTestServer::start_secured(
        Some((ServerTls::StartTls, &certificates)),
        Some("mailer:s3cret-pw"),
    );
    // The test CA is not in the system's store, and no CA file is given.
    let url = format!("smtp://mailer:s3cret-pw@127.0.0.1:{}", smtp.port());
    let app = TestApp::start_with(Some(url), WebConfig::default()).await;
    app.user(ADMIN, Role::Admin).await;
    let admin = app.login(ADMIN).await;
    let healthz = || async {
        let response = reqwest::get(app.url("/healthz")).await.expect("GET");
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.expect("body")
    };

    // Nothing is known to be wrong before a send tries.
    assert!(healthz().await.contains("\nmail: ok\n"));
    let (_, dashboard) = get(&admin, &app, "/").await;
    assert!(!dashboard.contains("Mail is not going out"), "{dashboard}");

    let page = failed_test_email(&app, &admin).await;
    assert!(
        page.contains(&format!(
            "The test email to ops@firm.example was not sent: {PROBLEM}"
        )),
        "{page}"
    );
    let health = healthz().await;
    assert!(
        health.contains(&format!("\nmail: not going out: {PROBLEM}\n")),
        "{health}"
    );
    let (_, dashboard) = get(&admin, &app, "/").await;
    assert!(
        dashboard.contains(&format!("Mail is not going out: {PROBLEM}.")),
        "{dashboard}"
    );
    for shown in [&page, &health, &dashboard] {
        assert!(!shown.contains("s3cret"), "the SMTP password is shown");
    }
    assert!(smtp.logins().is_empty(), "{:?}", smtp.logins());
}

#[tokio::test(flavor = "multi_thread")]
async fn sales_and_viewers_can_neither_see_nor_change_settings() {
    let smtp = SmtpTestServer::start();
    let app = TestApp::start_with(Some(smtp.url()), WebConfig::default()).await;
    app.user(ADMIN, Role::Admin).await;
    app.user("sam@firm.example", Role::Sales).await;
    app.user("vic@firm.example", Role::Viewer).await;
    for email in ["sam@firm.example", "vic@firm.example"] {
        let browser = app.login(email).await;
        let (status, page) = get(&browser, &app, "/settings").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{email}");
        assert!(!page.contains("Firm Maintenance Ltd"));
        let (_, dashboard) = get(&browser, &app, "/").await;
        assert!(
            !dashboard.contains("href=\"/settings\""),
            "{email} sees the entry"
        );
        for (path, form) in [
            ("/settings", fields(&[("organisation_name", "Hijacked")])),
            (
                "/settings/holidays",
                vec![("holidays", "2026-05-01 Labour Day")],
            ),
            ("/settings/test-email", vec![("to", "x@evil.example")]),
        ] {
            let response = post(&browser, &app, "/", path, &form).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{email} {path}");
        }
    }
    assert_eq!(
        app.engine.settings().organisation_name,
        "Firm Maintenance Ltd"
    );
    assert!(app.engine.organisation().holidays.is_empty());
    app.engine.load_settings().await.expect("load");
    assert_eq!(
        app.engine.settings().organisation_name,
        "Firm Maintenance Ltd"
    );
    assert!(app.engine.organisation().holidays.is_empty());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(smtp.messages().is_empty(), "a test email went out");
}
