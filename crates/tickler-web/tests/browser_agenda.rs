//! The Agenda page in real headless Chromium: a month of a salesperson's emails, expiries,
//! notice dates and invoices, reached by keyboard alone from the main navigation to an
//! email's review page; the week view; and on a phone a list of days no wider than the
//! screen.
//!
//! Screenshots (agenda-month, agenda-week, agenda-phone) land in `target/screenshots/`; run
//! with `TICKLER_UPDATE_SCREENSHOTS=1` to refresh `docs/screenshots/` too.

mod support;

use support::{
    TestApp,
    browser::{self, Browser},
};
use tickler_core::user::Role;
use tickler_engine::{Actor, contracts::ContractInput};

/// Wednesday 10 March 2027, 14:00 in Athens.
const NOW: &str = "2027-03-10T12:00:00Z";
const ADMIN: &str = "ada@firm.example";
const SAM: &str = "sam@firm.example";

/// Contracts ending over April and May (their emails fall in March and April), an
/// auto-renewing one with a notice date, and a monthly recurring sale.
async fn contracts(app: &TestApp) {
    let acme = app
        .customer("Acme Robotics", "ops@acme.example", "en", "Europe/Athens")
        .await;
    let names = [
        "PBX",
        "Lift",
        "Alarm",
        "Boiler",
        "Network",
        "Printers",
        "Air conditioning",
        "Solar",
        "Doors",
        "Cameras",
        "Kitchen",
        "Servers",
    ];
    for (i, name) in names.iter().enumerate() {
        let end = format!("2027-{:02}-{:02}", 4 + i % 2, 3 + 2 * i);
        let owner = if i % 3 == 0 { SAM } else { ADMIN };
        app.contract(acme, &format!("{name} maintenance"), &end, Some(owner))
            .await;
    }
    let globex = app
        .customer("Globex", "it@globex.example", "en", "Europe/Athens")
        .await;
    app.engine
        .add_contract(
            ContractInput {
                customer_id: globex,
                title: "Elevator service".to_string(),
                start: "2026-05-01".to_string(),
                end: "2027-04-30".to_string(),
                owner_email: Some(ADMIN.to_string()),
                renewal: Some("auto".to_string()),
                notice_days: Some("30".to_string()),
                ..ContractInput::default()
            },
            &Actor::system(),
        )
        .await
        .expect("auto-renewing contract");
    app.monthly_sale(globex, "2027-01-05", ADMIN, false).await;
    app.engine.bill_due().await.expect("billing");
}

/// How much wider than the window the page is (0 when it never scrolls sideways).
async fn overflow(browser: &Browser) -> i64 {
    browser
        .eval("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        .await
        .as_i64()
        .unwrap_or(i64::MAX)
}

/// The focused element: its link target (or tag), and whether it draws a focus outline.
async fn focused(browser: &Browser) -> (String, bool) {
    let value = browser
        .eval(
            "const e = document.activeElement; if (!e) return ['', false]; \
             const s = getComputedStyle(e); \
             return [e.getAttribute('href') || e.tagName.toLowerCase(), \
                     s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0];",
        )
        .await;
    (
        value[0].as_str().unwrap_or_default().to_string(),
        value[1].as_bool().unwrap_or(false),
    )
}

/// Presses Tab until the focus is on a link whose target starts with `prefix`; returns
/// that target and how many presses it took.
async fn tab_to(browser: &Browser, prefix: &str, most: usize) -> (String, usize) {
    for presses in 1..=most {
        browser.press("\u{E004}").await; // Tab
        let (href, outlined) = focused(browser).await;
        if href.starts_with(prefix) {
            assert!(outlined, "{href} has the focus but no visible outline");
            return (href, presses);
        }
    }
    panic!("no link to {prefix} within {most} presses of Tab");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_agenda_by_keyboard_to_a_review_page_and_on_a_phone() {
    if !browser::available() {
        return;
    }
    let app = TestApp::start_at(NOW.parse().expect("instant")).await;
    app.user(ADMIN, Role::Admin).await;
    app.user(SAM, Role::Sales).await;
    contracts(&app).await;
    let browser = Browser::start().await;
    browser.log_in(&app.url("/login"), ADMIN).await;

    // From the dashboard, by keyboard alone: Tab to "Agenda" in the main navigation, Enter.
    let (href, _) = tab_to(&browser, "/agenda", 30).await;
    assert_eq!(href, "/agenda");
    browser.press("\u{E007}").await; // Enter
    browser.wait_for_path("/agenda").await;
    let text = browser.wait_for_text("Agenda: March 2027").await;
    for word in ["Email", "Task", "Expires", "Cancel by", "Invoice", "Today"] {
        assert!(
            text.contains(word),
            "{word} in the legend or the days:\n{text}"
        );
    }
    assert_eq!(overflow(&browser).await, 0, "the month fits 1280 px");
    let columns = browser
        .eval(
            "return getComputedStyle(document.querySelector('.view-month .agenda-row')) \
             .gridTemplateColumns.split(' ').length;",
        )
        .await;
    assert_eq!(columns, 7, "a grid of seven days a row");
    let today = browser
        .eval("return document.querySelector('[aria-current=date] h2').textContent;")
        .await;
    assert!(
        today
            .as_str()
            .unwrap_or_default()
            .contains("Wednesday 10 March 2027"),
        "{today}"
    );
    // Each cell shows its number, and its heading reads the whole date.
    let heading = browser
        .eval("return document.getElementById('day-2027-03-17').innerText;")
        .await;
    assert!(
        heading.as_str().unwrap_or_default().contains("17"),
        "{heading}"
    );
    let hidden = browser
        .eval(
            "const e = document.querySelector('#day-2027-03-17 .long'); \
             return [e.textContent, getComputedStyle(e).display !== 'none'];",
        )
        .await;
    assert_eq!(hidden, serde_json::json!(["Wednesday 17 March 2027", true]));
    browser.screenshot("agenda-month").await;

    // Tab on through the navigation and the days to the first email; Enter reviews it.
    let (review, presses) = tab_to(&browser, "/review/", 80).await;
    assert!(
        presses > 3,
        "the days' links come after the agenda's own navigation"
    );
    browser.press("\u{E007}").await;
    let path = browser.wait_for_path("/review/").await;
    assert_eq!(path, review);
    browser.wait_for_text("Send now").await;

    // The week view of 29 March, reached by "Week" then "Next week" by keyboard.
    browser
        .goto(&app.url("/agenda?view=month&date=2027-03-24"))
        .await;
    browser.wait_for_text("Agenda: March 2027").await;
    let (week, _) = tab_to(&browser, "/agenda?view=week", 40).await;
    assert_eq!(week, "/agenda?view=week&date=2027-03-24");
    browser.press("\u{E007}").await;
    browser.wait_for_text("Agenda: Week of 22 March 2027").await;
    let (next, _) = tab_to(&browser, "/agenda?view=week&date=2027-03-31", 40).await;
    assert_eq!(next, "/agenda?view=week&date=2027-03-31");
    browser.press("\u{E007}").await;
    let text = browser.wait_for_text("Agenda: Week of 29 March 2027").await;
    assert!(text.contains("Monday 29 March 2027"), "{text}");
    assert!(
        text.contains("Last day to cancel: Elevator service"),
        "{text}"
    );
    assert_eq!(overflow(&browser).await, 0);
    browser.screenshot("agenda-week").await;

    // A phone: the month becomes a list of the days that have something, as wide as the
    // screen.
    browser.resize(390, 844).await;
    browser.goto(&app.url("/agenda")).await;
    browser.wait_for_text("Agenda: March 2027").await;
    let wider = overflow(&browser).await;
    let widest = browser
        .eval(
            "const w = document.documentElement.clientWidth; \
             return Array.from(document.querySelectorAll('body *')) \
             .filter(e => e.getBoundingClientRect().right > w + 1) \
             .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + \
               Math.round(e.getBoundingClientRect().right)).join(', ');",
        )
        .await;
    assert!(
        wider <= 0,
        "the agenda is {wider} px wider than a phone: {widest}"
    );
    let layout = browser
        .eval(
            "const row = document.querySelector('.view-month .agenda-row'); \
             const empty = document.querySelector('.view-month .agenda-day.empty:not(.today)'); \
             return [getComputedStyle(row).display, empty ? getComputedStyle(empty).display : 'none', \
                     document.querySelector('.view-month .agenda-weekdays').offsetHeight];",
        )
        .await;
    assert_eq!(
        layout,
        serde_json::json!(["block", "none", 0]),
        "a day list"
    );
    browser.screenshot("agenda-phone").await;
    browser.close().await;
}
