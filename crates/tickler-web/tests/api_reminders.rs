//! Reminders (timed emails) through the JSON API: listed and read by anyone with a token;
//! changed, sent at once or skipped, as on the review page, by those who may change the
//! contract. Every response is checked against the OpenAPI document.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{TestApp, api::client_as};
use tickler_core::user::Role;

fn ids(page: &Value) -> Vec<i64> {
    page["data"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn reminders_are_listed_read_changed_sent_and_skipped() {
    let app = TestApp::start().await;
    let sam = client_as(&app, "sam@firm.example", Role::Sales).await;
    let kim = client_as(&app, "kim@firm.example", Role::Sales).await;
    let vic = client_as(&app, "vic@firm.example", Role::Viewer).await;
    let customer = app
        .customer("Acme", "ops@acme.example", "en", "Europe/Athens")
        .await;
    let id = app
        .contract(customer, "PBX care", "2030-12-31", Some("sam@firm.example"))
        .await;
    let other = app.contract(customer, "Other", "2030-06-30", None).await;

    // Listed by contract, page by page, in the order they go out; anyone may read.
    let (status, all) = vic.get(&format!("/reminders?contract_id={id}")).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let every = ids(&all);
    // The default plan: four emails to the customer and a call for the owner.
    assert_eq!(every.len(), 5, "{all}");
    assert_eq!(all["total"], 5);
    assert!(
        all["data"]
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| r["contract_id"] == id && r["status"] == "scheduled"),
        "{all}"
    );
    assert_eq!(all["data"][0]["mode"], "auto");
    let mut walked = Vec::new();
    let mut path = format!("/reminders?contract_id={id}&limit=3");
    loop {
        let (status, page) = sam.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        walked.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/reminders?contract_id={id}&limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(walked, every);
    let (_, mine) = sam.get("/reminders?owner=me&status=scheduled").await;
    assert_eq!(ids(&mine), every, "{mine}");
    let (_, theirs) = sam.get(&format!("/reminders?contract_id={other}")).await;
    assert_eq!(ids(&theirs).len(), 5);
    assert!(ids(&theirs).iter().all(|r| !every.contains(r)));
    for bad in ["status=late", "limit=0", "cursor=x", "owner=nobody"] {
        let (status, body) = sam.get(&format!("/reminders?{bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        let field = bad.split('=').next().unwrap_or_default();
        assert_eq!(body["error"]["field"], field, "{body}");
    }

    // One, by id.
    let first = every[0];
    let (status, one) = vic.get(&format!("/reminders/{first}")).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["to"], json!(["ops@acme.example"]));
    let read_version = one["if_sent_now"]["version"]
        .as_str()
        .expect("a version")
        .to_string();
    let (status, _) = vic.get("/reminders/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Changed by its owner; not by another salesperson or a viewer.
    let path = format!("/reminders/{first}");
    let (status, body) = sam
        .patch(
            &path,
            &json!({"subject": "Your PBX care ends soon", "cc": ["boss@acme.example"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["subject"], "Your PBX care ends soon");
    assert_eq!(body["cc"], json!(["boss@acme.example"]));
    assert_eq!(body["to"], json!(["ops@acme.example"]));
    assert_eq!(body["edited"], true);
    for (who, expected) in [(&kim, StatusCode::FORBIDDEN), (&vic, StatusCode::FORBIDDEN)] {
        let (status, body) = who.patch(&path, &json!({"subject": "Nope"})).await;
        assert_eq!(status, expected, "{body}");
    }
    for (bad, field) in [
        (json!({}), "reminder"),
        (json!({"subject": "  "}), "subject"),
        (json!({"send_at": "tomorrow"}), "send_at"),
        (json!({"to": ["not an address"]}), "to"),
        (json!({"title": "unknown field"}), "title"),
    ] {
        let (status, body) = sam.patch(&path, &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["field"], field, "{bad}: {body}");
    }
    let (status, body) = sam
        .patch(&path, &json!({"send_at": "2030-10-01T10:00:00+03:00"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["send_at"], "2030-10-01T07:00:00Z");

    // Sent at once, only as read: the version read before the edit sends nothing.
    let send = format!("/reminders/{first}/send-now");
    let (status, body) = sam.post(&send, &json!({"version": read_version})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = sam.post(&send, &json!({"version": "not a version"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "version");
    let (status, body) = kim.post_empty(&send).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, now) = sam.get(&path).await;
    let version = now["if_sent_now"]["version"].clone();
    let (status, body) = sam.post(&send, &json!({"version": version})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "sent", "{body}");
    assert_eq!(body["reminder"]["status"], "sent");
    assert_eq!(body["reminder"]["subject"], "Your PBX care ends soon");
    // A sent email is out of people's hands.
    let (status, body) = sam.patch(&path, &json!({"subject": "Later"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = sam.post_empty(&send).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Skipped, with or without a reason; once.
    let skip = format!("/reminders/{}/skip", every[1]);
    let (status, body) = vic.post_empty(&skip).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = sam
        .post(&skip, &json!({"reason": "told them on the phone"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "skipped");
    assert_eq!(body["status_reason"], "told them on the phone");
    let (status, _) = sam.post_empty(&skip).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = sam
        .post(
            &format!("/reminders/{}/skip", every[2]),
            &json!({"reason": 7}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = sam.post_empty("/reminders/999999/skip").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, skipped) = sam
        .get(&format!("/reminders?contract_id={id}&status=skipped"))
        .await;
    assert_eq!(ids(&skipped), vec![every[1]]);
}
