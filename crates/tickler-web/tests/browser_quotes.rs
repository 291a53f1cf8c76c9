//! A renewal quote in real headless Chromium: created from the contract's page (prefilled
//! from the current term, one price changed), sent, and accepted, which starts the next term.
//!
//! The screenshot of the accepted quote lands in `target/screenshots/`; run with
//! `TICKLER_UPDATE_SCREENSHOTS=1` to refresh `docs/screenshots/quote.png` too.

mod support;

use support::{
    PASSWORD, TestApp,
    browser::{self, Browser},
};
use tickler_core::{quote::QuoteStatus, user::Role};
use tickler_engine::{Actor, billing::BillingInput, contracts::ContractInput, quotes::QuoteFilter};

/// Monday 1 March 2027, 14:00 in Athens.
const NOW: &str = "2027-03-01T12:00:00Z";
const ADMIN: &str = "ada@firm.example";

#[tokio::test(flavor = "multi_thread")]
async fn a_quote_is_created_sent_and_accepted_in_the_app() {
    if !browser::available() {
        return;
    }
    let app = TestApp::start_at(NOW.parse().expect("instant")).await;
    app.user(ADMIN, Role::Admin).await;
    let customer = app
        .customer(
            "Acme Copiers",
            "billing@acme.example",
            "en",
            "Europe/Athens",
        )
        .await;
    let contract = app
        .engine
        .add_contract(
            ContractInput {
                customer_id: customer,
                title: "Copier fleet care".to_string(),
                start: "2027-01-01".to_string(),
                end: "2027-12-31".to_string(),
                owner_email: Some(ADMIN.to_string()),
                currency: Some("EUR".to_string()),
                billing: Some(BillingInput {
                    every: "1m".to_string(),
                    lines: vec!["Copier maintenance|12|45.00|24".to_string()],
                    ..BillingInput::default()
                }),
                ..ContractInput::default()
            },
            &Actor::system(),
        )
        .await
        .expect("add a recurring sale");

    let browser = Browser::start().await;
    browser.goto(&app.url("/login")).await;
    browser.fill("#email", ADMIN).await;
    browser.fill("#password", PASSWORD).await;
    browser
        .click("form[action='/login'] button[type=submit]")
        .await;
    browser.wait_for_text("(admin)").await;

    browser
        .goto(&app.url(&format!("/contracts/{contract}")))
        .await;
    browser.wait_for_text("Renewal quotes").await;
    browser.click("#new-quote").await;
    browser
        .wait_for_path(&format!("/contracts/{contract}/quotes/new"))
        .await;
    // Prefilled from the current term: its line, its interval, the next year.
    let lines = browser
        .find("#lines")
        .await
        .prop("value")
        .await
        .expect("lines")
        .unwrap_or_default();
    assert_eq!(lines, "Copier maintenance|12|45.00|24");
    let end = browser
        .find("#end")
        .await
        .prop("value")
        .await
        .expect("end")
        .unwrap_or_default();
    assert_eq!(end, "2028-12-31");
    browser
        .fill(
            "#lines",
            "Copier maintenance|12|48.00|24\nToner delivery|1|80.00|24",
        )
        .await;
    browser.click("#save-quote").await;
    browser.wait_for_text("Quote drafted").await;

    browser.click("#send-quote").await;
    browser.accept_confirmation("Send this quote").await;
    browser.wait_for_text("sent: its email").await;

    browser.click("#accept-quote").await;
    browser.accept_confirmation("Accept this quote?").await;
    let text = browser.wait_for_text("accepted: term 2").await;
    // 576.00 + 80.00 at 24%: 656.00 + 157.44.
    assert!(text.contains("€813.44"), "{text}");

    let quotes = app
        .engine
        .list_quotes(&QuoteFilter {
            contract_id: Some(contract),
            ..QuoteFilter::default()
        })
        .await
        .expect("quotes");
    assert_eq!(quotes.len(), 1);
    let quote = &quotes[0].0;
    assert_eq!(quote.status, QuoteStatus::Accepted);
    let detail = app
        .engine
        .contract_detail(contract)
        .await
        .expect("contract");
    assert_eq!(detail.contract.term_number, 2);
    assert_eq!(detail.terms[1].quote_id, Some(quote.id));
    assert_eq!(quote.next_term_id, Some(detail.terms[1].id));

    browser
        .client
        .execute("window.scrollTo(0, 0);", vec![])
        .await
        .expect("scroll");
    browser.screenshot("quote").await;
    browser.close().await;
}
