//! The quote pages over real HTTP: the create form prefilled from the current term, a
//! refused form shown again with nothing created, send and accept by the owner, a second
//! acceptance refused with 409, who may act (403 for others), the PDF, and a 404.

mod support;

use reqwest::StatusCode;
use support::{TestApp, get, location, post};
use tickler_core::{quote::QuoteStatus, user::Role};
use tickler_engine::quotes::QuoteFilter;

/// Monday 1 March 2027, 14:00 in Athens.
const NOW: &str = "2027-03-01T12:00:00Z";
const OWNER: &str = "sam@firm.example";
const OTHER: &str = "olga@firm.example";
const VIEWER: &str = "vic@firm.example";

async fn quotes_of(app: &TestApp, contract: i64) -> Vec<tickler_engine::quotes::Quote> {
    app.engine
        .list_quotes(&QuoteFilter {
            contract_id: Some(contract),
            ..QuoteFilter::default()
        })
        .await
        .expect("quotes")
        .into_iter()
        .map(|(quote, _)| quote)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_creates_sends_and_accepts_a_quote_and_others_may_not() {
    let app = TestApp::start_at(NOW.parse().expect("instant")).await;
    app.user(OWNER, Role::Sales).await;
    app.user(OTHER, Role::Sales).await;
    app.user(VIEWER, Role::Viewer).await;
    let customer = app
        .customer("Acme", "office@acme.example", "en", "Europe/Athens")
        .await;
    let contract = app
        .contract(customer, "Boiler service", "2027-12-31", Some(OWNER))
        .await;
    let sam = app.login(OWNER).await;

    let (status, page) = get(&sam, &app, &format!("/contracts/{contract}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Renewal quotes") && page.contains("No quote yet."));
    let new = format!("/contracts/{contract}/quotes/new");
    let (status, form) = get(&sam, &app, &new).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("Boiler service|1|1200.00|0"), "{form}");
    assert!(
        form.contains("2029-12-31"),
        "as long as the current term: {form}"
    );
    assert!(form.contains("2027-03-31"), "valid for 30 days: {form}");

    let create = format!("/contracts/{contract}/quotes");
    let refused = post(&sam, &app, &new, &create, &[("lines", "Service|two|10|0")]).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let text = refused.text().await.expect("body");
    assert!(
        text.contains("Not saved") && text.contains("Service|two|10|0"),
        "{text}"
    );
    assert!(quotes_of(&app, contract).await.is_empty());

    let created = post(
        &sam,
        &app,
        &new,
        &create,
        &[
            ("lines", "Boiler service 2028|1|1300.00|24"),
            ("end", "2028-12-31"),
        ],
    )
    .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let quote = quotes_of(&app, contract).await[0].clone();
    assert!(location(&created).starts_with(&format!("/quotes/{}", quote.id)));
    let page_path = format!("/quotes/{}", quote.id);
    let (_, page) = get(&sam, &app, &page_path).await;
    assert!(
        page.contains("€1,612.00") && page.contains("2028-01-01 to 2028-12-31"),
        "{page}"
    );

    // Only admins and the contract's owner act on it.
    for email in [OTHER, VIEWER] {
        let client = app.login(email).await;
        let refused = post(&client, &app, &page_path, &format!("{page_path}/send"), &[]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{email}");
    }
    assert_eq!(
        quotes_of(&app, contract).await[0].status,
        QuoteStatus::Draft
    );

    let sent = post(&sam, &app, &page_path, &format!("{page_path}/send"), &[]).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let accepted = post(&sam, &app, &page_path, &format!("{page_path}/accept"), &[]).await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    let again = post(&sam, &app, &page_path, &format!("{page_path}/accept"), &[]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let text = again.text().await.expect("body");
    assert!(text.contains("already accepted on 2027-03-01"), "{text}");
    let detail = app
        .engine
        .contract_detail(contract)
        .await
        .expect("contract");
    assert_eq!(detail.terms.len(), 2);
    assert_eq!(detail.terms[1].quote_id, Some(quote.id));

    let pdf = sam
        .get(app.url(&format!("{page_path}/pdf")))
        .send()
        .await
        .expect("GET pdf");
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(
        pdf.headers()["content-type"].to_str().expect("type"),
        "application/pdf"
    );
    assert!(pdf.bytes().await.expect("bytes").starts_with(b"%PDF-"));
    let (status, _) = get(&sam, &app, "/quotes/9999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
