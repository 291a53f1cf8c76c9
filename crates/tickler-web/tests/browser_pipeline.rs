//! The renewal pipeline in real headless Chromium: three charts drawn as SVG on the server
//! (the page runs no script to draw them), each with its table of numbers, readable on a
//! phone.
//!
//! Screenshots (desktop and phone) land in `target/screenshots/`; run with
//! `TICKLER_UPDATE_SCREENSHOTS=1` to refresh `docs/screenshots/pipeline.png` and
//! `pipeline-phone.png` too.

mod support;

use support::{
    TestApp,
    browser::{self, Browser},
};
use tickler_core::user::Role;
use tickler_engine::{Actor, contracts::ContractInput};

/// Sunday 6 December 2026, 14:00 in Athens.
const NOW: &str = "2026-12-06T12:00:00Z";
const ADMIN: &str = "ada@firm.example";

/// Contracts ending over the coming year, some renewed, some declined, in euros and dollars.
async fn contracts(app: &TestApp) {
    let customer = app
        .customer("Acme Robotics", "ops@acme.example", "en", "Europe/Athens")
        .await;
    let actor = Actor::system();
    for i in 0..36i64 {
        let month = 1 + i % 12;
        let (year, month) = if month == 12 {
            (2026, 12)
        } else {
            (2027, month)
        };
        let end = format!("{year}-{month:02}-{:02}", 10 + i % 15);
        let id = app
            .engine
            .add_contract(
                ContractInput {
                    customer_id: customer,
                    title: format!("Line {i:02} maintenance"),
                    start: "2026-01-01".to_string(),
                    end,
                    owner_email: Some(ADMIN.to_string()),
                    amount: Some(format!("{}.00", 800 + 350 * (i % 7))),
                    currency: Some(if i % 5 == 4 { "USD" } else { "EUR" }.to_string()),
                    ..ContractInput::default()
                },
                &actor,
            )
            .await
            .expect("add contract");
        // Each month gets a mix: renewed, declined, no answer.
        match (i + i / 12) % 4 {
            0 => {
                app.engine
                    .renew_contract(id, None, &actor)
                    .await
                    .expect("renew");
            }
            1 => app
                .engine
                .decline_contract(id, None, &actor)
                .await
                .expect("decline"),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pipeline_draws_its_charts_with_their_tables() {
    if !browser::available() {
        return;
    }
    let app = TestApp::start_at(NOW.parse().expect("instant")).await;
    app.user(ADMIN, Role::Admin).await;
    contracts(&app).await;
    let browser = Browser::start().await;
    browser.log_in(&app.url("/login"), ADMIN).await;

    browser.goto(&app.url("/pipeline")).await;
    let text = browser.wait_for_text("Renewal pipeline").await;
    assert!(
        text.contains("Contract value expiring per month in EUR"),
        "{text}"
    );
    assert!(
        text.contains("Contract value expiring per month in USD"),
        "{text}"
    );

    // Every chart is drawn (a visible SVG with bars) and followed by its table.
    let charts = browser
        .eval(
            "return Array.from(document.querySelectorAll('section.pipeline-chart')).map(s => { \
               const svg = s.querySelector('svg.chart'); const b = svg.getBoundingClientRect(); \
               const table = s.querySelector('table.figures'); \
               return { width: b.width, height: b.height, \
                 bars: svg.querySelectorAll('g.bar rect').length, \
                 legend: svg.querySelectorAll('g.legend').length, \
                 label: svg.getAttribute('aria-labelledby'), \
                 title: svg.querySelector('title').textContent, \
                 after: !!(svg.compareDocumentPosition(table) & Node.DOCUMENT_POSITION_FOLLOWING), \
                 rows: table.querySelectorAll('tbody tr').length }; });",
        )
        .await;
    let charts = charts.as_array().expect("a list of charts");
    assert_eq!(charts.len(), 4, "EUR, USD, emails, invoices: {charts:?}");
    for chart in charts {
        assert!(chart["width"].as_f64().unwrap_or(0.0) > 300.0, "{chart}");
        assert!(chart["height"].as_f64().unwrap_or(0.0) > 100.0, "{chart}");
        assert!(chart["legend"].as_u64().unwrap_or(0) >= 2, "{chart}");
        assert!(
            chart["after"].as_bool().unwrap_or(false),
            "table after the chart: {chart}"
        );
        assert!(chart["rows"].as_u64().unwrap_or(0) >= 12, "{chart}");
    }
    assert!(
        charts[0]["bars"].as_u64().unwrap_or(0) > 20,
        "{:?}",
        charts[0]
    );
    assert!(
        charts[2]["bars"].as_u64().unwrap_or(0) > 0,
        "emails: {:?}",
        charts[2]
    );
    browser.scroll_to("figure.chart").await;
    browser.screenshot("pipeline").await;

    // On a phone the charts shrink to the width and the page never scrolls sideways.
    browser.resize(390, 844).await;
    browser.goto(&app.url("/pipeline")).await;
    browser.wait_for_text("Renewal pipeline").await;
    let overflow = browser
        .eval("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        .await
        .as_i64()
        .unwrap_or(i64::MAX);
    assert!(
        overflow <= 0,
        "the page is {overflow} px wider than a phone"
    );
    let width = browser
        .eval("return document.querySelector('svg.chart').getBoundingClientRect().width;")
        .await
        .as_f64()
        .unwrap_or(0.0);
    assert!(
        width > 300.0 && width <= 390.0,
        "the chart fits the phone: {width}"
    );
    browser.scroll_to("figure.chart").await;
    browser.screenshot("pipeline-phone").await;
    browser.close().await;
}
