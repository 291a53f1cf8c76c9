//! The salesperson's daily work in real headless Chromium: a week of emails on one screen,
//! reviewed by keyboard alone (move, open, skip, undo), test mode shown on every page, and
//! no page wider than a phone.
//!
//! Screenshots of the queue (desktop and phone) land in `target/screenshots/`; run with
//! `TICKLER_UPDATE_SCREENSHOTS=1` to refresh `docs/screenshots/` too.

mod support;

use support::{
    TestApp,
    browser::{self, Browser},
};
use tickler_core::{reminder::ReminderStatus, user::Role};
use tickler_engine::browse::ReminderFilter;

/// Wednesday 2 December 2026, noon in Athens.
const NOW: &str = "2026-12-02T10:00:00Z";
const ADMIN: &str = "ada@firm.example";

async fn log_in(app: &TestApp, browser: &Browser) {
    browser.log_in(&app.url("/login"), ADMIN).await;
}

/// Twenty contracts whose emails fall over the coming months, a few in each week.
async fn contracts(app: &TestApp) {
    let customer = app
        .customer("Acme Robotics", "ops@acme.example", "en", "Asia/Tokyo")
        .await;
    for i in 0..20 {
        let end = format!("2027-{:02}-{:02}", 1 + i % 6, 5 + i);
        app.contract(
            customer,
            &format!("Line {i:02} maintenance"),
            &end,
            Some(ADMIN),
        )
        .await;
    }
}

/// The queue's rows that the window shows without scrolling.
async fn rows_in_view(browser: &Browser) -> u64 {
    browser
        .eval(
            "return Array.from(document.querySelectorAll('table.queue tr[data-href]')) \
             .filter(r => { const b = r.getBoundingClientRect(); \
               return b.top >= 0 && b.bottom <= window.innerHeight; }).length;",
        )
        .await
        .as_u64()
        .unwrap_or(0)
}

/// How much wider than the window the page is (0 when it never scrolls sideways).
async fn overflow(browser: &Browser) -> i64 {
    browser
        .eval("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        .await
        .as_i64()
        .unwrap_or(i64::MAX)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_week_of_emails_on_one_screen_reviewed_by_keyboard_alone() {
    if !browser::available() {
        return;
    }
    let app = TestApp::start_at(NOW.parse().expect("instant")).await;
    app.user(ADMIN, Role::Admin).await;
    contracts(&app).await;
    let browser = Browser::start().await;
    log_in(&app, &browser).await;

    // Test mode: no mail server, and every page says so.
    let text = browser.wait_for_text("Test mode").await;
    assert!(text.contains("reach nobody"), "{text}");

    browser.goto(&app.url("/review")).await;
    let text = browser.wait_for_text("Keys:").await;
    assert!(
        text.contains("This week") || text.contains("Later"),
        "{text}"
    );
    assert!(
        text.contains("customer"),
        "the customer's own time beside ours:\n{text}"
    );
    browser.screenshot("review-queue-week").await;
    let shown = rows_in_view(&browser).await;
    assert!(shown >= 12, "only {shown} emails fit a 1280x900 window");

    // ▸ shows the email under its row, as it will be sent, and hides it again.
    browser.click("table.queue button.peek").await;
    let peek = "const b = document.querySelector('table.queue button.peek'); \
                return [document.getElementById(b.getAttribute('aria-controls')).hidden, \
                        b.getAttribute('aria-expanded')];";
    assert_eq!(browser.eval(peek).await, serde_json::json!([false, "true"]));
    let body = browser
        .eval("return document.querySelector('tr.peek-row pre.mail').innerText;")
        .await;
    assert!(
        body.as_str().unwrap_or_default().contains("Line"),
        "the email's text: {body}"
    );
    browser.click("table.queue button.peek").await;
    assert_eq!(browser.eval(peek).await, serde_json::json!([true, "false"]));

    // j moves to the first email, j j to the third; Enter opens it.
    let first_three: Vec<String> = browser
        .eval(
            "return Array.from(document.querySelectorAll('table.queue tr[data-href]')) \
             .slice(0, 3).map(r => r.dataset.href);",
        )
        .await
        .as_array()
        .expect("rows")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    browser.press("j").await;
    browser.press("j").await;
    browser.press("k").await;
    browser.press("\u{E007}").await; // Enter
    let path = browser.wait_for_path("/review/").await;
    assert_eq!(path, first_three[0], "j, j, k lands on the first email");

    // Back in the queue, s on the second email opens it for skipping, the reason first.
    browser.goto(&app.url("/review")).await;
    browser.wait_for_text("Keys:").await;
    browser.press("j").await;
    browser.press("j").await;
    browser.press("s").await;
    browser.wait_for_path(&first_three[1]).await;
    browser.wait_for_text("Reason for skipping").await;
    let mut focused = String::new();
    for _ in 0..40 {
        focused = browser.focused_id().await;
        if focused == "reason" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let debug = browser.eval("return [window.location.href, !!document.getElementById('reason'), document.activeElement && document.activeElement.tagName];").await;
    assert_eq!(
        focused, "reason",
        "the skip's reason field has the focus: {debug}"
    );
    browser.press("covered by a phone call").await;
    // Tab to "Skip this email", Enter, and confirm.
    browser.press("\u{E004}").await;
    browser.press("\u{E007}").await;
    browser.accept_confirmation("Skip this email?").await;
    browser.wait_for_text("You can undo this").await;
    let id: i64 = first_three[1]
        .trim_start_matches("/review/")
        .parse()
        .expect("id");
    assert_eq!(
        app.engine.reminder(id).await.expect("reminder").status,
        ReminderStatus::Skipped
    );

    // Undo, by keyboard: the page's "Undo skip" button.
    let undo = browser.find("form[action$='/unskip'] button").await;
    undo.send_keys("\u{E007}").await.expect("Enter on Undo");
    browser.wait_for_text("Skip undone").await;
    assert_eq!(
        app.engine.reminder(id).await.expect("reminder").status,
        ReminderStatus::Scheduled
    );

    // A form's error sits beside its field, which is marked and has the focus.
    browser.goto(&app.url("/contracts/new")).await;
    let customer = browser
        .eval("return document.querySelector('#customer option:nth-child(2)').value;")
        .await;
    browser
        .select("#customer", customer.as_str().expect("a customer"))
        .await;
    browser.fill("#title", "Backwards dates").await;
    browser.set_value("#start", "2027-03-01").await;
    browser.set_value("#end", "2027-02-01").await;
    browser
        .click("form[action='/contracts'] button[type=submit]")
        .await;
    browser
        .wait_for_text("There is a problem with this form")
        .await;
    let invalid = browser
        .eval("return document.querySelector('#end').getAttribute('aria-invalid');")
        .await;
    assert_eq!(invalid, "true");
    assert!(
        browser
            .find("#end-error")
            .await
            .text()
            .await
            .expect("text")
            .contains("1 February 2027")
    );
    assert_eq!(
        browser.focused_id().await,
        "end",
        "the bad field has the focus"
    );

    // A phone: no page is wider than the screen.
    browser.resize(390, 844).await;
    let pending = app
        .engine
        .list_reminders(&ReminderFilter::default())
        .await
        .expect("reminders");
    let contract = pending[0].contract_id.expect("a contract's reminder");
    for path in [
        "/".to_string(),
        "/review".to_string(),
        format!("/review/{id}"),
        "/contracts".to_string(),
        format!("/contracts/{contract}"),
        "/customers".to_string(),
        "/plans".to_string(),
        "/sent".to_string(),
        "/invoices".to_string(),
        "/tasks".to_string(),
        "/settings".to_string(),
        "/users".to_string(),
        "/account".to_string(),
    ] {
        browser.goto(&app.url(&path)).await;
        browser.find("main").await;
        let wider = overflow(&browser).await;
        assert!(wider <= 0, "{path} is {wider} px wider than a 390 px phone");
    }
    browser.goto(&app.url("/review")).await;
    browser.wait_for_text("Filters").await;
    browser.screenshot("review-queue-phone").await;
    browser.close().await;
}
