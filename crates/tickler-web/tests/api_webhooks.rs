//! Webhook receivers through the JSON API, admins only: registered (the secret answered
//! once), listed, read with their deliveries, a delivery posted again, removed. Every
//! response is checked against the OpenAPI document.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::{TestApp, api::client_as};
use tickler_core::user::Role;
use tickler_testkit::webhook_receiver::{Reply, WebhookReceiver};

#[tokio::test]
async fn admins_register_list_read_redeliver_and_remove_receivers() {
    let app = TestApp::start().await;
    let admin = client_as(&app, "ada@firm.example", Role::Admin).await;
    let sales = client_as(&app, "sam@firm.example", Role::Sales).await;
    let receiver = WebhookReceiver::start();
    receiver.script(&[Reply::Status(500)]);

    let (status, refused) = admin
        .post(
            "/webhooks",
            &json!({"url": "https://hooks.example", "events": ["contract.exploded"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["field"], "events");
    let (status, _) = sales
        .post(
            "/webhooks",
            &json!({"url": receiver.url(), "events": ["contract.created"]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, made) = admin
        .post(
            "/webhooks",
            &json!({"url": receiver.url(), "events": ["contract.created"], "description": "CRM"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert!(made["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(made["events"], json!(["contract.created"]));
    let id = made["id"].as_i64().unwrap();
    let (_, listed) = admin.get("/webhooks").await;
    assert_eq!(listed["data"][0]["id"], id);
    assert!(
        listed["data"][0].get("secret").is_none(),
        "never shown again"
    );
    let (status, _) = sales.get("/webhooks").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let customer = app
        .customer("Acme", "it@acme.example", "en", "Europe/Berlin")
        .await;
    app.contract(customer, "PBX maintenance", "2027-06-30", None)
        .await;
    app.engine.deliver_webhooks_due().await.unwrap();
    let (_, deliveries) = admin.get(&format!("/webhooks/{id}/deliveries")).await;
    let first = &deliveries["data"][0];
    assert_eq!(first["event_type"], "contract.created");
    assert_eq!(first["status"], "pending");
    assert_eq!(first["last_status"], 500);
    let (status, again) = admin
        .post_empty(&format!(
            "/webhooks/deliveries/{}/redeliver",
            first["id"].as_i64().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    let (status, _) = admin
        .get(&format!("/webhooks/{id}/deliveries?status=lost"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, _) = admin.delete(&format!("/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = admin.get(&format!("/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
