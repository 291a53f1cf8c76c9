//! Invoices in real headless Chromium: from the approval queue to a draft's page, where a
//! prepayment is recorded and the draft approved, which issues it already paid.
//!
//! Screenshots of the Invoices page and of an invoice land in `target/screenshots/`; run
//! with `TICKLER_UPDATE_SCREENSHOTS=1` to refresh `docs/screenshots/` too.

mod support;

use support::{
    TestApp,
    browser::{self, Browser},
};
use tickler_core::{invoice::InvoiceStatus, user::Role};
use tickler_engine::{
    Actor, billing::BillingInput, contracts::ContractInput, invoicing::InvoiceFilter,
    settings::SettingsInput,
};

/// Monday 1 March 2027, 14:00 in Athens: three monthly periods from 1 January are due.
const NOW: &str = "2027-03-01T12:00:00Z";
const ADMIN: &str = "ada@firm.example";

/// A monthly recurring sale from 1 January 2027, owned by the admin.
async fn sale(app: &TestApp, customer: &str, title: &str, lines: &[&str], drafts: bool) -> i64 {
    let email = format!(
        "billing@{}.example",
        customer.to_lowercase().replace(' ', "")
    );
    let customer = app.customer(customer, &email, "en", "Europe/Athens").await;
    app.engine
        .add_contract(
            ContractInput {
                customer_id: customer,
                title: title.to_string(),
                start: "2027-01-01".to_string(),
                end: "2027-12-31".to_string(),
                owner_email: Some(ADMIN.to_string()),
                currency: Some("EUR".to_string()),
                billing: Some(BillingInput {
                    every: "1m".to_string(),
                    lines: lines.iter().map(|l| l.to_string()).collect(),
                    draft_invoices: drafts,
                    payment_days: Some("14".to_string()),
                    ..BillingInput::default()
                }),
                ..ContractInput::default()
            },
            &Actor::system(),
        )
        .await
        .expect("add a recurring sale")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prepaid_draft_is_approved_on_its_page_and_issued_paid() {
    if !browser::available() {
        return;
    }
    let app = TestApp::start_at(NOW.parse().expect("instant")).await;
    app.user(ADMIN, Role::Admin).await;
    app.engine
        .save_settings(
            &SettingsInput {
                organisation_name: "Firm Maintenance Ltd".to_string(),
                mail_from: "Renewals <renewals@firm.example>".to_string(),
                default_time_zone: "Europe/Athens".to_string(),
                default_send_time: "09:00".to_string(),
                bank_iban: "GR16 0110 1250 0000 0001 2300 695".to_string(),
                bank_name: "Piraeus Bank".to_string(),
                invoice_prefix: String::new(),
                payment_days: String::new(),
                brand_color: String::new(),
            },
            &Actor::system(),
        )
        .await
        .expect("settings");
    let drafts = sale(
        &app,
        "Acme Copiers",
        "Copier fleet care",
        &[
            "Copier maintenance, 12 machines|12|45.00|24",
            "Toner delivery|1|80.00|24",
            "On-site training|2|150.00|13",
        ],
        true,
    )
    .await;
    sale(
        &app,
        "Globex",
        "Cloud backup",
        &["Managed backup, 2 TB|1|240.00|24"],
        false,
    )
    .await;
    app.engine.bill_due().await.expect("billing run");
    let january = app
        .engine
        .list_invoices(&InvoiceFilter {
            contract_id: Some(drafts),
            ..InvoiceFilter::default()
        })
        .await
        .expect("invoices")[0]
        .clone();
    assert_eq!(january.status, InvoiceStatus::Draft);
    let total = january.money(january.total).to_decimal_string();
    let browser = Browser::start().await;

    browser.log_in(&app.url("/login"), ADMIN).await;

    // The list: the approval queue first, the overdue ones marked.
    browser.click("nav a[href='/invoices']").await;
    browser.wait_for_path("/invoices").await;
    let text = browser.wait_for_text("Drafts waiting for approval").await;
    assert!(
        text.find("Drafts waiting for approval (3)") < text.find("Overdue (2)"),
        "{text}"
    );
    // 540.00 + 80.00 at 24% and 300.00 at 13%: 920.00 + 148.80 + 39.00.
    assert!(
        text.contains("Copier fleet care") && text.contains("€1,107.80"),
        "{text}"
    );
    assert_eq!(
        browser.find_all("tr.overdue").await.len(),
        2,
        "Globex's January and February: {text}"
    );
    browser.screenshot("invoices").await;

    // The draft's page: a prepayment of the whole total, then the approval.
    browser
        .click(&format!("section.draft a[href='/invoices/{}']", january.id))
        .await;
    browser
        .wait_for_path(&format!("/invoices/{}", january.id))
        .await;
    browser
        .wait_for_text("Draft (numbered when approved)")
        .await;
    browser.fill("#amount", &total).await;
    browser.set_value("#date", "2026-12-28").await;
    browser.fill("#reference", "Bank transfer 4471").await;
    browser.click("#record-payment").await;
    browser
        .wait_for_text("Prepayment of €1,107.80 recorded")
        .await;
    browser.click("#approve").await;
    browser.accept_confirmation("Approve this draft?").await;
    let text = browser
        .wait_for_text("already paid by its prepayments")
        .await;

    let issued = app
        .engine
        .invoice_detail(january.id)
        .await
        .expect("invoice")
        .invoice;
    assert_eq!(issued.status, InvoiceStatus::Paid);
    let number = issued.number.expect("a number once issued");
    assert_eq!(number, "INV-2027-0004", "after Globex's three");
    assert!(text.contains(&format!("Invoice {number}")), "{text}");
    let status = browser
        .find("h1 .status")
        .await
        .text()
        .await
        .expect("status");
    assert_eq!(status, "paid");
    let sheet = browser
        .find(".sheet-number")
        .await
        .text()
        .await
        .expect("number");
    assert_eq!(sheet, number);
    assert!(text.contains("Bank transfer 4471") && text.contains("2026-12-28"));
    assert!(text.contains("Paid in full."), "{text}");
    assert!(
        browser.find_all("#record-payment").await.is_empty(),
        "nothing left to pay"
    );
    browser
        .client
        .execute("window.scrollTo(0, 0);", vec![])
        .await
        .expect("scroll");
    browser.screenshot("invoice").await;

    browser.close().await;
}
