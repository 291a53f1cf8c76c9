//! The webhooks page over real HTTP: an admin registers a receiver (the secret shown once),
//! reads the delivery log with the receiver's answers, sends a delivery again and removes the
//! receiver; a bad address is refused beside its field; other roles may not see the page.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use support::{TestApp, admin, get, location, post};
use tickler_core::user::Role;
use tickler_testkit::webhook_receiver::{Reply, WebhookReceiver};

#[tokio::test]
async fn an_admin_registers_a_receiver_reads_its_log_and_sends_again() {
    let app = TestApp::start().await;
    let client = admin(&app).await;
    let receiver = WebhookReceiver::start();
    receiver.script(&[Reply::Status(500)]);

    let refused = post(
        &client,
        &app,
        "/webhooks",
        "/webhooks",
        &[("url", "ftp://crm.example"), ("event", "contract.created")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let html = refused.text().await.unwrap();
    assert!(html.contains("must start with https://"), "{html}");
    assert!(
        html.contains(r#"id="url""#) && html.contains("aria-invalid"),
        "{html}"
    );

    let made = post(
        &client,
        &app,
        "/webhooks",
        "/webhooks",
        &[
            ("url", receiver.url().as_str()),
            ("description", "CRM sync"),
            ("event", "contract.created"),
            ("event", "reminder.scheduled"),
        ],
    )
    .await;
    assert_eq!(made.status(), StatusCode::OK);
    let html = made.text().await.unwrap();
    let secret = html
        .split(r#"<code class="token" id="new-secret">"#)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the secret on the page")
        .to_string();
    assert!(secret.starts_with("whsec_"));
    let (_, again) = get(&client, &app, "/webhooks").await;
    assert!(!again.contains(&secret), "the secret is shown once only");
    assert!(again.contains("CRM sync") && again.contains("reminder.scheduled, contract.created"));

    let customer = app
        .customer("Acme", "it@acme.example", "en", "Europe/Berlin")
        .await;
    app.contract(customer, "PBX maintenance", "2027-06-30", None)
        .await;
    app.engine.deliver_webhooks_due().await.unwrap();
    let (_, log) = get(&client, &app, "/webhooks?status=pending").await;
    assert!(log.contains("HTTP 500"), "{log}");
    let delivered = receiver.wait_for(2, Duration::from_secs(5));
    assert!(delivered.len() >= 2, "{delivered:?}");

    // The delivery that got the 500, sent again by hand.
    let first = app
        .engine
        .webhook_deliveries(None, Some("pending"), 10)
        .await
        .unwrap()[0]
        .id;
    let (status, detail) = get(&client, &app, &format!("/webhooks/deliveries/{first}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(detail.contains("HTTP 500"), "{detail}");
    let sent = post(
        &client,
        &app,
        &format!("/webhooks/deliveries/{first}"),
        &format!("/webhooks/deliveries/{first}/redeliver"),
        &[],
    )
    .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    assert!(location(&sent).starts_with("/webhooks/deliveries/"));

    let endpoint = app.engine.webhooks().await.unwrap()[0].id;
    let removed = post(
        &client,
        &app,
        "/webhooks",
        &format!("/webhooks/{endpoint}/remove"),
        &[],
    )
    .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    assert!(app.engine.webhooks().await.unwrap().is_empty());

    app.user("sam@firm.example", Role::Sales).await;
    let sales = app.login("sam@firm.example").await;
    let (status, _) = get(&sales, &app, "/webhooks").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
