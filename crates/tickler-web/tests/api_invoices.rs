//! Invoices through the JSON API: listed and read (and their PDF) by anyone with a token;
//! approved, paid and voided, as on the invoice's page, by those who may change the
//! contract. The invoices are made by the engine's billing run on a stopped clock. Every
//! response is checked against the OpenAPI document.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{TestApp, api::client_as};
use tickler_core::user::Role;

/// Monday 1 March 2027: three monthly periods from 1 January are due.
const NOW: &str = "2027-03-01T12:00:00Z";

/// A monthly recurring sale from 1 January 2027 owned by `owner`, paid within 14 days;
/// its invoices drafts when `drafts`; billed up to now. Its invoices' ids, oldest first.
async fn sale(app: &TestApp, owner: &str, drafts: bool) -> (i64, Vec<i64>) {
    let customer = app
        .customer("Acme", "billing@acme.example", "en", "Europe/Athens")
        .await;
    let contract = app
        .monthly_sale(customer, "2027-01-01", owner, drafts)
        .await;
    app.engine.bill_due().await.expect("billing run");
    let ids = app
        .engine
        .list_invoices(&tickler_engine::invoicing::InvoiceFilter {
            contract_id: Some(contract),
            ..Default::default()
        })
        .await
        .expect("invoices")
        .iter()
        .map(|i| i.id)
        .collect();
    (contract, ids)
}

fn ids(list: &Value) -> Vec<i64> {
    list["data"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn invoices_are_listed_read_approved_paid_and_voided() {
    let app = TestApp::start_at(NOW.parse().expect("instant")).await;
    let sam = client_as(&app, "sam@firm.example", Role::Sales).await;
    let kim = client_as(&app, "kim@firm.example", Role::Sales).await;
    let vic = client_as(&app, "vic@firm.example", Role::Viewer).await;
    let (contract, drafts) = sale(&app, "sam@firm.example", true).await;
    assert_eq!(drafts.len(), 3, "{drafts:?}");

    // Listed by status and contract; anyone may read.
    let (status, list) = vic
        .get(&format!("/invoices?status=draft&contract_id={contract}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(ids(&list), drafts);
    assert_eq!(list["more"], false);
    let (_, two) = vic.get("/invoices?limit=2").await;
    assert_eq!(ids(&two), drafts[..2]);
    assert_eq!(two["more"], true);
    for (bad, field) in [
        ("status=late", "status"),
        ("limit=0", "limit"),
        ("overdue=maybe", "overdue"),
        ("overdue=true&status=draft", "overdue"),
    ] {
        let (status, body) = vic.get(&format!("/invoices?{bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["field"], field, "{bad}: {body}");
    }

    // One, with its lines; and its PDF.
    let first = drafts[0];
    let (status, one) = vic.get(&format!("/invoices/{first}")).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["status"], "draft");
    assert_eq!(one["number"], Value::Null);
    assert_eq!(one["total"], "124.00");
    assert_eq!(one["lines"][0]["description"], "Managed backup");
    let (status, _) = vic.get("/invoices/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let pdf = support::openapi::send_checked(
        reqwest::Client::new()
            .get(app.url(&format!("/api/v1/invoices/{first}/pdf")))
            .bearer_auth(&vic.token),
    )
    .await;
    assert_eq!(pdf.status, StatusCode::OK);
    let (status, _) = vic.get("/invoices/999999/pdf").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Approved by its owner; not by another salesperson or a viewer; once.
    let approve = format!("/invoices/{first}/approve");
    for who in [&kim, &vic] {
        let (status, body) = who.post_empty(&approve).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let (status, body) = sam.post_empty(&approve).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "issued");
    assert!(body["number"].is_string(), "{body}");
    assert_eq!(body["issue_date"], "2027-03-01");
    let (status, _) = sam.post_empty(&approve).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = sam.post_empty("/invoices/999999/approve").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Paid in two parts; refused values name their field.
    let pay = format!("/invoices/{first}/payments");
    for (bad, field) in [
        (json!({"amount": "lots"}), "amount"),
        (json!({"amount": "10.00", "date": "2027-02-30"}), "date"),
        (json!({"date": "2027-03-02"}), "amount"),
    ] {
        let (status, body) = sam.post(&pay, &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["field"], field, "{bad}: {body}");
    }
    let (status, body) = vic.post(&pay, &json!({"amount": "24.00"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = sam
        .post(
            &pay,
            &json!({"amount": "24.00", "date": "2027-03-02", "reference": "transfer 1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "issued");
    assert_eq!(body["balance"], "100.00");
    assert_eq!(body["payments"][0]["reference"], "transfer 1");
    let (status, body) = sam.post(&pay, &json!({"amount": "100.00"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "paid");
    let (status, body) = sam.post(&pay, &json!({"amount": "1.00"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, paid) = vic.get("/invoices?status=paid").await;
    assert_eq!(ids(&paid), vec![first]);

    // Voided: an issued invoice, not a draft or a paid one.
    let second = drafts[1];
    let (status, _) = sam.post_empty(&format!("/invoices/{second}/void")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = sam.post_empty(&format!("/invoices/{first}/void")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    sam.post_empty(&format!("/invoices/{second}/approve")).await;
    let (status, body) = kim.post_empty(&format!("/invoices/{second}/void")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = sam
        .post(
            &format!("/invoices/{second}/void"),
            &json!({"reason": "billed twice"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "void");
    assert_eq!(body["void_reason"], "billed twice");
    let (status, body) = sam
        .post(&format!("/invoices/{second}/void"), &json!({"why": 1}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn overdue_invoices_are_the_issued_ones_past_their_due_date() {
    let app = TestApp::start_at(NOW.parse().expect("instant")).await;
    let vic = client_as(&app, "vic@firm.example", Role::Viewer).await;
    // Issued at once: January's and February's are due before 1 March; March's is not.
    let (_, issued) = sale(&app, "vic@firm.example", false).await;
    let (status, list) = vic.get("/invoices?overdue=true").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let overdue = ids(&list);
    assert!(
        !overdue.is_empty() && overdue.len() < issued.len(),
        "{list}"
    );
    assert!(overdue.iter().all(|id| issued.contains(id)));
    let (_, same) = vic.get("/invoices?overdue=true&status=issued").await;
    assert_eq!(ids(&same), overdue);
}
