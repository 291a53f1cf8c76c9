//! A customer's "Renew" click in real headless Chromium: the link from the email opens its
//! public page (no login), the button renews, and the team sees the next term.
//!
//! Screenshots land in `target/screenshots/`; run with `TICKLER_UPDATE_SCREENSHOTS=1` to
//! refresh `docs/screenshots/` too.

mod support;

use support::{
    TestApp,
    browser::{self, Browser},
};
use tickler_core::user::Role;
use tickler_engine::{Actor, contracts::ContractInput};

/// 1 November 2027: the 60-day email of a contract ending 31 December has just gone out.
const NOW: &str = "2027-11-01T10:00:00Z";
const ADMIN: &str = "ada@firm.example";

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_renews_with_one_click_and_the_team_sees_the_next_term() {
    if !browser::available() {
        return;
    }
    let app = TestApp::start_linked_at(NOW.parse().expect("instant")).await;
    app.user(ADMIN, Role::Admin).await;
    let customer = app
        .customer("Acme Corporation", "ops@acme.example", "en", "UTC")
        .await;
    let contract = app
        .engine
        .add_contract(
            ContractInput {
                customer_id: customer,
                title: "PBX maintenance".to_string(),
                start: "2027-01-01".to_string(),
                end: "2027-12-31".to_string(),
                owner_email: Some(ADMIN.to_string()),
                amount: Some("1200.00".to_string()),
                currency: Some("EUR".to_string()),
                ..ContractInput::default()
            },
            &Actor::system(),
        )
        .await
        .expect("contract");
    let links = app.engine.contract_links(contract).await.expect("links");
    assert!(links.renew.starts_with(&app.base), "{}", links.renew);

    let browser = Browser::start().await;
    browser.goto(&links.renew).await;
    let text = browser.wait_for_text("Renew your contract").await;
    assert!(text.contains("PBX maintenance") && text.contains("2027-01-01 to 2027-12-31"));
    assert!(text.contains("Nothing happens until you press the button"));
    browser.screenshot("answer").await;
    // Opening the page answered nothing.
    let detail = app.engine.contract_detail(contract).await.expect("detail");
    assert_eq!(detail.terms.len(), 1);
    assert!(detail.answer.is_none());

    browser.click("form button[type=submit]").await;
    let text = browser.wait_for_text("your contract is renewed").await;
    assert!(!text.contains("Yes, renew"), "the button is gone: {text}");
    browser.screenshot("answer_done").await;
    let detail = app.engine.contract_detail(contract).await.expect("detail");
    assert_eq!(detail.terms.len(), 2);
    assert_eq!(detail.terms[1].start.to_string(), "2028-01-01");

    // Back, and the button again: the page says it is decided and changes nothing.
    browser.goto(&links.renew).await;
    let text = browser.wait_for_text("has been renewed").await;
    assert!(text.contains("Nothing was changed"), "{text}");
    assert_eq!(
        app.engine
            .contract_detail(contract)
            .await
            .expect("detail")
            .terms
            .len(),
        2
    );

    // The team's view: the answer, the terms and where the new one came from.
    browser.log_in(&app.url("/login"), ADMIN).await;
    browser
        .goto(&app.url(&format!("/contracts/{contract}")))
        .await;
    let text = browser.wait_for_text("Customer's answer").await;
    assert!(text.contains("renew"), "{text}");
    assert!(text.contains("2 (current)"), "{text}");
    assert!(text.contains("one-click links"), "{text}");
    browser.close().await;
}
