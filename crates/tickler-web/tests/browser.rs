//! The web app in real headless Chromium: a first visit from setup to a timed email that
//! goes out with the wording and at the time a person gave it in the review form.
//!
//! Screenshots of the main pages land in `target/screenshots/`; run with
//! `TICKLER_UPDATE_SCREENSHOTS=1` to refresh the ones in `docs/screenshots/` too.

mod support;

use std::{sync::Arc, time::Duration};

use jiff::{Timestamp, ToSpan, civil::Date, tz::TimeZone};
use support::{
    PASSWORD, TestApp,
    browser::{self, Browser},
};
use tickler_core::{clock::FixedClock, plan::Mode, reminder::ReminderStatus};
use tickler_engine::browse::ReminderFilter;
use tickler_engine::{
    Actor, contracts::ContractInput, directory::NewCustomer, review::ReminderView,
};
use tickler_testkit::SmtpTestServer;
use tickler_web::WebConfig;

const ADMIN: &str = "ada@firm.example";
const CUSTOMER: &str = "Acme Robotics";
const CUSTOMER_EMAIL: &str = "ops@acme.example";
const TITLE: &str = "Conveyor line maintenance";
const NEW_SUBJECT: &str = "Your conveyor maintenance renews soon: new terms inside";
const NEW_BODY_LINE: &str = "From next term, on-site visits are monthly instead of quarterly.";
const SKIP_REASON: &str = "customer already called to renew";

#[tokio::test(flavor = "multi_thread")]
async fn a_first_visit_from_setup_to_an_edited_email_that_goes_out() {
    if !browser::available() {
        return;
    }
    let started = std::time::Instant::now();
    let smtp = SmtpTestServer::start();
    let app = TestApp::start_with(Some(smtp.url()), WebConfig::default()).await;
    let browser = Browser::start().await;

    setup_first_admin(&app, &browser).await;
    other_contracts(&app).await;
    let contract_id = enter_customer_and_contract(&app, &browser).await;
    find_the_contract(&app, &browser, contract_id).await;
    // The renewal plan's four timed emails (its fifth step, the owner's call, is a task:
    // tests/tasks.rs).
    let reminders: Vec<ReminderView> = reminders_of(&app, contract_id)
        .await
        .into_iter()
        .filter(|r| r.mode == Mode::Auto)
        .collect();
    assert_eq!(
        reminders
            .iter()
            .map(|r| r.step.as_str())
            .collect::<Vec<_>>(),
        ["before_60", "before_30", "before_7", "after_7"],
        "the renewal plan's four timed emails"
    );
    let (first, second, third) = (&reminders[0], &reminders[1], &reminders[2]);

    // The 60-day email: new wording and a new send time, seen in the preview, then saved.
    let new_time = edit_in_the_review_queue(&app, &browser, first).await;

    // The 30-day email is skipped with a reason; the 7-day one goes out right now.
    skip(&app, &browser, second.id).await;
    send_now(&app, &browser, &smtp, third).await;

    // The edited email goes out at its new time, with its new wording.
    let dispatcher = app.engine.with_clock(Arc::new(FixedClock(new_time)));
    dispatcher.dispatch_due().await.expect("dispatch");
    let sent = app.engine.reminder(first.id).await.expect("reminder");
    assert_eq!(sent.status, ReminderStatus::Sent, "{sent:?}");
    assert_eq!(
        sent.sent_at,
        Some(new_time),
        "sent at the time set in the form"
    );
    let received = smtp.wait_for_messages(2, Duration::from_secs(10));
    let message = received
        .iter()
        .find(|m| m.message_id == first.message_id)
        .unwrap_or_else(|| panic!("the edited email did not arrive: {received:#?}"));
    assert_eq!(message.subject, NEW_SUBJECT);
    assert!(
        message.body.contains(NEW_BODY_LINE),
        "the new wording: {}",
        message.body
    );
    assert_eq!(message.to, [CUSTOMER_EMAIL]);
    assert_eq!(message.cc, [ADMIN], "the owner in CC");

    dashboard(&app, &browser).await;
    sent_mail(&app, &browser, first.id).await;
    plans(&app, &browser).await;
    settings(&app, &browser).await;

    // Long after the contract's end, everything else due has gone out: never the skipped one.
    let later = Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(24 * 200))
        .expect("later");
    app.engine
        .with_clock(Arc::new(FixedClock(later)))
        .dispatch_due()
        .await
        .expect("dispatch");
    let skipped = app.engine.reminder(second.id).await.expect("reminder");
    assert_eq!(skipped.status, ReminderStatus::Skipped);
    assert!(
        smtp.messages()
            .iter()
            .all(|m| m.message_id != second.message_id),
        "the skipped email was never sent"
    );

    log_out_and_back_in_by_keyboard(&app, &browser).await;

    browser.close().await;
    eprintln!("browser scenario took {:?}", started.elapsed());
}

/// `/` sends a browser to the one-time setup while nobody can log in; the first admin
/// lands on the dashboard.
async fn setup_first_admin(app: &TestApp, browser: &Browser) {
    browser.goto(&app.url("/")).await;
    browser.wait_for_path("/setup").await;
    browser
        .wait_for_text("Create the first administrator")
        .await;
    browser.screenshot("setup").await;
    browser.fill("#name", "Ada Admin").await;
    browser.fill("#email", ADMIN).await;
    browser.fill("#password", PASSWORD).await;
    browser.fill("#password_again", PASSWORD).await;
    browser
        .click("form[action='/setup'] button[type=submit]")
        .await;
    browser.wait_for_text("Ada Admin (admin)").await;
    assert_eq!(browser.path().await, "/");
    browser.wait_for_text("Dashboard").await;
}

/// The contract ends in about four months, so all four emails are still ahead.
fn contract_dates() -> (Date, Date) {
    let today = today_in("Asia/Tokyo");
    let end = today.checked_add(120.days()).expect("end date");
    let start = end
        .checked_sub(1.year())
        .and_then(|d| d.checked_add(1.day()))
        .expect("start date");
    (start, end)
}

/// The customer and the contract through the web forms: the customer's page offers a new
/// contract for it, and the contract's page lists the four timed emails it scheduled.
async fn enter_customer_and_contract(app: &TestApp, browser: &Browser) -> i64 {
    browser.goto(&app.url("/customers")).await;
    browser.click("a[href='/customers/new']").await;
    browser.wait_for_path("/customers/new").await;
    every_field_has_a_label(browser, "main form").await;
    browser.fill("#name", CUSTOMER).await;
    browser.fill("#emails", CUSTOMER_EMAIL).await;
    browser.select("#language", "en").await;
    browser.fill("#time_zone", "Asia/Tokyo").await;
    browser
        .click("form[action='/customers'] button[type=submit]")
        .await;
    browser.wait_for_text("Customer entered.").await;
    let customer_path = browser.wait_for_path("/customers/").await;
    let customer_id = id_in(&customer_path, "/customers/");
    let customer = app.engine.customer(customer_id).await.expect("customer");
    assert_eq!(customer.name, CUSTOMER);

    browser
        .click(&format!("a[href='/contracts/new?customer={customer_id}']"))
        .await;
    browser.wait_for_path("/contracts/new").await;
    every_field_has_a_label(browser, "main form").await;
    let (start, end) = contract_dates();
    browser.fill("#title", TITLE).await;
    browser.set_value("#start", &start.to_string()).await;
    browser.set_value("#end", &end.to_string()).await;
    browser.select("#owner", ADMIN).await;
    browser.fill("#amount", "4800.00").await;
    browser.fill("#currency", "EUR").await;
    browser
        .click("form[action='/contracts'] button[type=submit]")
        .await;
    browser.wait_for_text("Contract entered").await;
    let contract_path = browser.wait_for_path("/contracts/").await;
    let contract_id = id_in(&contract_path, "/contracts/");
    let detail = app
        .engine
        .contract_detail(contract_id)
        .await
        .expect("contract");
    assert_eq!(detail.contract.title, TITLE);
    assert_eq!(detail.contract.end_date, end);
    assert_eq!(detail.customer.id, customer_id);
    assert_eq!(detail.owner.as_ref().map(|o| o.email.as_str()), Some(ADMIN));
    contract_id
}

/// The number after `prefix` in a path such as `/contracts/7` or `/review/3/edit`.
fn id_in(path: &str, prefix: &str) -> i64 {
    path.strip_prefix(prefix)
        .and_then(|rest| rest.split(['?', '/']).next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no id in {path}"))
}

/// The contracts list, searched by part of the title, leads to the contract's page with
/// its four timed emails.
async fn find_the_contract(app: &TestApp, browser: &Browser, contract_id: i64) {
    browser.goto(&app.url("/contracts")).await;
    browser.wait_for_text("Cold storage monitoring").await;
    browser.screenshot("contracts").await;
    browser.fill("#q", "conveyor").await;
    browser
        .click("form[action='/contracts'] button[type=submit]")
        .await;
    browser.wait_for_path("/contracts?").await;
    let text = browser.wait_for_text(TITLE).await;
    assert!(
        !text.contains("Cold storage monitoring") && !text.contains("Press line support"),
        "the search keeps only the matching contract:\n{text}"
    );
    browser
        .click(&format!("main table a[href='/contracts/{contract_id}']"))
        .await;
    browser
        .wait_for_path(&format!("/contracts/{contract_id}"))
        .await;
    let page = browser.wait_for_text(CUSTOMER).await;
    for label in ["Renewal notice", "Reminder", "Final notice", "Thank you"] {
        assert!(
            page.contains(label),
            "{label} on the contract's page:\n{page}"
        );
    }
    browser.screenshot("contract-detail").await;
}

/// Two more contracts, entered through the engine as if imported earlier, so the dashboard
/// and the lists show what a working day looks like: one whose first email goes out within
/// the week, one that ends within 30 days.
async fn other_contracts(app: &TestApp) {
    let actor = Actor(ADMIN.to_string());
    let today = today_in("Europe/Athens");
    for (name, email, zone, title, days_left) in [
        (
            "Hellas Foods SA",
            "it@hellasfoods.example",
            "Europe/Athens",
            "Cold storage monitoring",
            64,
        ),
        (
            "Nordic Print AB",
            "admin@nordicprint.example",
            "Europe/Stockholm",
            "Press line support",
            20,
        ),
    ] {
        let customer = app
            .engine
            .add_customer(
                NewCustomer {
                    name: name.to_string(),
                    emails: vec![email.to_string()],
                    language: "en".parse().expect("language"),
                    time_zone: Some(zone.to_string()),
                },
                &actor,
            )
            .await
            .expect("add customer");
        let end = today.checked_add(days_left.days()).expect("end date");
        let start = end.checked_sub(1.year()).expect("start date");
        app.engine
            .add_contract(
                ContractInput {
                    customer_id: customer,
                    title: title.to_string(),
                    start: start.to_string(),
                    end: end.to_string(),
                    owner_email: Some(ADMIN.to_string()),
                    amount: Some("2400.00".to_string()),
                    currency: Some("EUR".to_string()),
                    ..ContractInput::default()
                },
                &actor,
            )
            .await
            .expect("add contract");
    }
}

fn today_in(zone: &str) -> Date {
    let tz = TimeZone::get(zone).expect("zone");
    Timestamp::now().to_zoned_datetime(tz).date()
}

async fn reminders_of(app: &TestApp, contract_id: i64) -> Vec<ReminderView> {
    app.engine
        .list_reminders(&ReminderFilter {
            contract_id: Some(contract_id),
            ..ReminderFilter::default()
        })
        .await
        .expect("reminders")
}

/// Opens the email from the review queue, checks the edit form's labels, types new wording
/// and a new send time, sees them in the live preview, and saves. Returns the new time.
async fn edit_in_the_review_queue(
    app: &TestApp,
    browser: &Browser,
    reminder: &ReminderView,
) -> Timestamp {
    let id = reminder.id;
    browser.goto(&app.url("/review")).await;
    browser.wait_for_text(TITLE).await;
    browser.screenshot("review-queue").await;
    browser.click(&format!("#reminder-{id} td a")).await;
    browser.wait_for_path(&format!("/review/{id}")).await;
    browser.wait_for_text(&reminder.subject).await;

    every_field_has_a_label(browser, "form[action$='/edit']").await;
    every_field_has_a_label(browser, "main").await;

    // Three days from now at 10:30 in the viewer's zone (the organisation's, Athens).
    let athens = TimeZone::get("Europe/Athens").expect("zone");
    let day = today_in("Europe/Athens")
        .checked_add(3.days())
        .expect("a date");
    let local = day.at(10, 30, 0, 0);
    let new_time = athens
        .to_ambiguous_timestamp(local)
        .compatible()
        .expect("an instant");
    let typed = local.strftime("%Y-%m-%dT%H:%M").to_string();

    browser.fill("#subject", NEW_SUBJECT).await;
    browser
        .fill(
            "#body",
            &format!("Dear Acme team,\n\n{NEW_BODY_LINE}\n\nAda"),
        )
        .await;
    // A datetime-local field takes its value from script, the way a date picker sets it.
    browser
        .client
        .execute(
            "const f = document.getElementById('send_at'); f.value = arguments[0]; \
             f.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![serde_json::json!(typed)],
        )
        .await
        .expect("set the send time");

    // The page's script refreshes the preview as one types.
    browser.wait_for_text("Preview: as it would be sent").await;
    let shown = browser.find("#preview .preview-subject").await;
    wait_until(|| async { shown.text().await.unwrap_or_default() == NEW_SUBJECT }).await;
    let body = browser
        .find("#preview .preview-body")
        .await
        .text()
        .await
        .expect("body");
    assert!(body.contains(NEW_BODY_LINE), "preview body: {body}");
    let preview_text = browser
        .find("#preview")
        .await
        .text()
        .await
        .expect("preview");
    assert!(
        preview_text.contains(&local.strftime("%Y-%m-%d %H:%M").to_string()),
        "the new send time in the preview: {preview_text}"
    );
    browser
        .client
        .execute(
            "document.getElementById('preview').scrollIntoView({ block: 'end' });",
            vec![],
        )
        .await
        .expect("scroll to the preview");
    browser.screenshot("review-edit-preview").await;

    browser
        .click("form[action$='/edit'] button[type=submit]:not([formaction])")
        .await;
    browser.wait_for_text("Changes saved.").await;
    let saved = app.engine.reminder(id).await.expect("reminder");
    assert_eq!(saved.subject, NEW_SUBJECT);
    assert!(saved.body.contains(NEW_BODY_LINE), "{}", saved.body);
    assert_eq!(saved.send_at, new_time);
    assert!(saved.edited);
    assert_eq!(saved.status, ReminderStatus::Scheduled);
    new_time
}

/// Every visible field inside `scope` has a `<label for=...>` naming it.
async fn every_field_has_a_label(browser: &Browser, scope: &str) {
    let unlabelled = browser
        .client
        .execute(
            "const scope = document.querySelector(arguments[0]); \
             if (!scope) { return ['no ' + arguments[0]]; } \
             const fields = scope.querySelectorAll('input:not([type=hidden]), textarea, select'); \
             if (fields.length === 0) { return ['no fields in ' + arguments[0]]; } \
             return Array.from(fields) \
               .filter((f) => !f.id || !document.querySelector('label[for=\"' + f.id + '\"]')) \
               .map((f) => f.outerHTML);",
            vec![serde_json::json!(scope)],
        )
        .await
        .expect("script");
    assert_eq!(
        unlabelled,
        serde_json::json!([]),
        "fields without a <label for> in {scope}"
    );
}

/// Waits until `check` holds, or fails after [`browser::WAIT`].
async fn wait_until<F, Fut>(check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + browser::WAIT;
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "a condition did not hold within {:?}",
            browser::WAIT
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Skips an email from its page, with a reason; the page asks for confirmation first.
async fn skip(app: &TestApp, browser: &Browser, id: i64) {
    browser.goto(&app.url(&format!("/review/{id}"))).await;
    browser.fill("#reason", SKIP_REASON).await;
    browser
        .click("form[action$='/skip'] button[type=submit]")
        .await;
    browser.accept_confirmation("Skip this email?").await;
    browser
        .wait_for_text("Skipped: this email will not be sent.")
        .await;
    let skipped = app.engine.reminder(id).await.expect("reminder");
    assert_eq!(skipped.status, ReminderStatus::Skipped);
    assert_eq!(skipped.status_reason.as_deref(), Some(SKIP_REASON));
    browser.wait_for_text(SKIP_REASON).await;
}

/// Sends an email from its page at once: the SMTP server has it before the page is back.
async fn send_now(
    app: &TestApp,
    browser: &Browser,
    smtp: &SmtpTestServer,
    reminder: &ReminderView,
) {
    let before = smtp.messages().len();
    browser
        .goto(&app.url(&format!("/review/{}", reminder.id)))
        .await;
    browser
        .click("form[action$='/send'] button[type=submit]")
        .await;
    browser.accept_confirmation("Send this email now").await;
    browser
        .wait_for_text("Sent. The mail server answered")
        .await;
    let messages = smtp.messages();
    assert_eq!(messages.len(), before + 1, "received at once");
    let message = messages.last().expect("a message");
    assert_eq!(message.message_id, reminder.message_id);
    assert_eq!(message.subject, reminder.subject);
    assert_eq!(message.to, [CUSTOMER_EMAIL]);
    assert_eq!(message.cc, [ADMIN]);
    let sent = app.engine.reminder(reminder.id).await.expect("reminder");
    assert_eq!(sent.status, ReminderStatus::Sent);
}

async fn sent_mail(app: &TestApp, browser: &Browser, id: i64) {
    browser.goto(&app.url("/sent")).await;
    browser.wait_for_text(NEW_SUBJECT).await;
    browser.screenshot("sent").await;
    browser.goto(&app.url(&format!("/sent/{id}"))).await;
    browser.wait_for_text(NEW_BODY_LINE).await;
}

async fn plans(app: &TestApp, browser: &Browser) {
    browser.goto(&app.url("/plans")).await;
    browser.wait_for_text("Plans and templates").await;
    browser.wait_for_text("renewal").await;
    browser.screenshot("plans").await;
}

async fn settings(app: &TestApp, browser: &Browser) {
    browser.goto(&app.url("/settings")).await;
    browser.wait_for_text("Firm Maintenance Ltd").await;
    every_field_has_a_label(browser, "main").await;
    browser.screenshot("settings").await;
}

async fn dashboard(app: &TestApp, browser: &Browser) {
    browser.goto(&app.url("/")).await;
    browser.wait_for_text("Dashboard").await;
    browser.screenshot("dashboard").await;
}

/// On the login page the keyboard alone reaches email, password and the button in order.
async fn log_out_and_back_in_by_keyboard(app: &TestApp, browser: &Browser) {
    browser.goto(&app.url("/")).await;
    browser
        .click("form[action='/logout'] button[type=submit]")
        .await;
    browser.wait_for_path("/login").await;
    browser.find("#email").await;
    assert_eq!(
        browser.focused_id().await,
        "email",
        "the email field has focus first"
    );
    let tab = fantoccini::key::Key::Tab.to_string();
    browser
        .client
        .active_element()
        .await
        .expect("focused element")
        .send_keys(&format!("{ADMIN}{tab}"))
        .await
        .expect("type the email, then Tab");
    assert_eq!(
        browser.focused_id().await,
        "password",
        "Tab moves to the password"
    );
    browser
        .client
        .active_element()
        .await
        .expect("focused element")
        .send_keys(&format!("{PASSWORD}{tab}"))
        .await
        .expect("type the password, then Tab");
    let focused = browser
        .client
        .active_element()
        .await
        .expect("focused element");
    assert_eq!(focused.tag_name().await.expect("tag"), "button");
    assert_eq!(
        focused.attr("type").await.expect("type").as_deref(),
        Some("submit")
    );
    let enter = fantoccini::key::Key::Enter.to_string();
    focused.send_keys(&enter).await.expect("press Enter");
    browser.wait_for_text("Ada Admin (admin)").await;
    assert_eq!(browser.path().await, "/");
}
