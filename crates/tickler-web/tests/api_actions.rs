//! Contract actions through the JSON API: renew, decline, terminate; the same engine
//! functions as the contract page, with its role checks. Every response is checked
//! against the OpenAPI document.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::{TestApp, api::client_as};
use tickler_core::user::Role;

#[tokio::test(flavor = "multi_thread")]
async fn a_contract_is_renewed_declined_and_terminated_by_those_who_may() {
    let app = TestApp::start().await;
    let sam = client_as(&app, "sam@firm.example", Role::Sales).await;
    let kim = client_as(&app, "kim@firm.example", Role::Sales).await;
    let vic = client_as(&app, "vic@firm.example", Role::Viewer).await;
    let admin = client_as(&app, "ada@firm.example", Role::Admin).await;
    let customer = app
        .customer("Acme", "ops@acme.example", "en", "Europe/Athens")
        .await;
    let id = app
        .contract(customer, "PBX care", "2030-12-31", Some("sam@firm.example"))
        .await;

    // Renewed without a body: the next term as long as this one.
    let (status, body) = sam.post_empty(&format!("/contracts/{id}/renew")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["term_number"], 2);
    assert_eq!(body["start_date"], "2031-01-01");
    // With the next term's end date.
    let (status, body) = sam
        .post(
            &format!("/contracts/{id}/renew"),
            &json!({"end": "2037-06-30"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["term_number"], 3);
    assert_eq!(body["end_date"], "2037-06-30");
    // A date that is none, an empty one (schemathesis found it taken as "left out"), or an
    // end before the start: 422 naming `end`.
    for end in ["2038-02-30", "", "2020-01-01"] {
        let (status, body) = sam
            .post(&format!("/contracts/{id}/renew"), &json!({"end": end}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "end", "{body}");
    }
    // Another salesperson and a viewer may not; an unknown contract is 404.
    for (who, path) in [
        (&kim, format!("/contracts/{id}/renew")),
        (&vic, format!("/contracts/{id}/renew")),
        (&kim, format!("/contracts/{id}/decline")),
        (&vic, format!("/contracts/{id}/terminate")),
    ] {
        let (status, body) = who.post(&path, &json!({"reason": "x"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
    }
    let (status, body) = sam.post_empty("/contracts/999999/renew").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // Declined: the term's answer; a second decline conflicts.
    let (status, body) = sam
        .post(
            &format!("/contracts/{id}/decline"),
            &json!({"reason": "moving away"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["answer"], "decline");
    let (status, body) = sam.post_empty(&format!("/contracts/{id}/decline")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = sam
        .post(&format!("/contracts/{id}/decline"), &json!({"why": "typo"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Terminated (an admin may change any contract); the reason is required, one line.
    for reason in [
        json!({}),
        json!({"reason": "  "}),
        json!({"reason": "a\nb"}),
    ] {
        let (status, body) = admin
            .post(&format!("/contracts/{id}/terminate"), &reason)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reason}: {body}");
        assert_eq!(body["error"]["field"], "reason", "{body}");
    }
    let (status, body) = admin
        .post(
            &format!("/contracts/{id}/terminate"),
            &json!({"reason": "site closed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "terminated");
    let pending = app
        .engine
        .list_reminders(&tickler_engine::browse::ReminderFilter {
            contract_id: Some(id),
            status: Some(tickler_core::reminder::ReminderStatus::Scheduled),
            ..Default::default()
        })
        .await
        .expect("reminders");
    // No email to the customer is left (the owner's notice of the decline may be).
    assert!(
        pending
            .iter()
            .all(|r| !r.to.contains(&"ops@acme.example".to_string())),
        "{pending:?}"
    );
    // Terminated: not again, and not renewed.
    let (status, _) = admin
        .post(
            &format!("/contracts/{id}/terminate"),
            &json!({"reason": "again"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = sam.post_empty(&format!("/contracts/{id}/renew")).await;
    assert_eq!(status, StatusCode::CONFLICT);
}
