//! Tasks, a contract's history and renewal quotes through the JSON API: read by anyone with
//! a token; acted on (a task done, a quote accepted or declined) by admins and the
//! contract's owner only, as on the pages. Every response is checked against the OpenAPI
//! document.

mod support;

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{TestApp, api::client_as};
use tickler_core::{clock::FixedClock, user::Role};
use tickler_engine::{
    Actor,
    contracts::ContractInput,
    quotes::QuoteInput,
    tasks::{TaskQuery, TaskRecord},
};

/// Thursday 20 May 2027: the call about the contract ending 30 June was due on Saturday
/// 15 May.
const TASK_NOW: &str = "2027-05-20T09:00:00Z";
const OWNER: &str = "sam@firm.example";

/// A contract of `OWNER` whose renewal plan's call became a task; the contract's id and
/// the task.
async fn contract_with_a_task(app: &TestApp) -> (i64, TaskRecord) {
    let customer = app.customer("Acme", "ops@acme.example", "en", "UTC").await;
    let at = |instant: &str| {
        app.engine
            .with_clock(Arc::new(FixedClock(instant.parse().expect("instant"))))
    };
    let contract = at("2027-04-01T09:00:00Z")
        .add_contract(
            ContractInput {
                customer_id: customer,
                title: "PBX maintenance".to_string(),
                start: "2026-07-01".to_string(),
                end: "2027-06-30".to_string(),
                owner_email: Some(OWNER.to_string()),
                ..ContractInput::default()
            },
            &Actor::system(),
        )
        .await
        .expect("contract");
    at("2027-05-15T09:00:00Z")
        .dispatch_due()
        .await
        .expect("dispatch");
    let tasks = app
        .engine
        .list_tasks(&TaskQuery::default())
        .await
        .expect("tasks");
    assert_eq!(tasks.len(), 1);
    (contract, tasks[0].task.clone())
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
async fn tasks_are_listed_by_filter_and_marked_done_by_their_owner() {
    let app = TestApp::start_at(TASK_NOW.parse().expect("instant")).await;
    let sam = client_as(&app, OWNER, Role::Sales).await;
    let kim = client_as(&app, "kim@firm.example", Role::Sales).await;
    let vic = client_as(&app, "vic@firm.example", Role::Viewer).await;
    let (contract, task) = contract_with_a_task(&app).await;
    let id = task.id;

    // Anyone reads; the page's filters.
    let (status, list) = vic.get("/tasks?status=open").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(ids(&list), vec![id]);
    assert_eq!(list["data"][0]["contract_title"], "PBX maintenance");
    assert_eq!(list["data"][0]["customer_name"], "Acme");
    assert_eq!(list["data"][0]["owner_email"], OWNER);
    assert_eq!(list["data"][0]["due_date"], "2027-05-15");
    for (query, expected) in [
        ("owner=me", vec![]),
        ("overdue=true", vec![id]),
        ("status=done", vec![]),
        (&format!("contract_id={contract}") as &str, vec![id]),
        ("owner=sam@firm.example", vec![id]),
    ] {
        let (status, list) = vic.get(&format!("/tasks?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {list}");
        assert_eq!(ids(&list), expected, "{query}");
    }
    let (_, mine) = sam.get("/tasks?owner=me&status=open").await;
    assert_eq!(ids(&mine), vec![id]);
    for (bad, field) in [
        ("status=late", "status"),
        ("overdue=maybe", "overdue"),
        ("overdue=true&status=done", "overdue"),
        ("owner=nobody@firm.example", "owner"),
        ("contract_id=x", "contract_id"),
    ] {
        let (status, body) = vic.get(&format!("/tasks?{bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["field"], field, "{bad}: {body}");
    }

    // Done by its owner only, once, with a note.
    let done = format!("/tasks/{id}/done");
    for who in [&kim, &vic] {
        let (status, body) = who.post_empty(&done).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let (status, body) = sam.post(&done, &json!({"note": 5})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = sam
        .post(&done, &json!({"note": "called; they renew"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "done");
    assert_eq!(body["note"], "called; they renew");
    assert_eq!(body["closed_by"], OWNER);
    let (status, body) = sam.post_empty(&done).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = sam.post_empty("/tasks/999999/done").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = sam.post_empty("/tasks/x/done").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, list) = vic.get("/tasks?status=done").await;
    assert_eq!(ids(&list), vec![id]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contracts_history_says_who_did_what_and_when() {
    let app = TestApp::start_at(TASK_NOW.parse().expect("instant")).await;
    let sam = client_as(&app, OWNER, Role::Sales).await;
    let vic = client_as(&app, "vic@firm.example", Role::Viewer).await;
    let (contract, _) = contract_with_a_task(&app).await;
    let (status, body) = sam
        .post(
            &format!("/contracts/{contract}/decline"),
            &json!({"reason": "moving to another provider"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, history) = vic.get(&format!("/contracts/{contract}/events")).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let events = history["data"].as_array().expect("events");
    assert!(!events.is_empty());
    assert!(
        events.iter().any(|e| e["subject_type"] == "contract"
            && e["subject_id"] == contract
            && e["action"] == "created"),
        "{history}"
    );
    let last = events.last().expect("an event");
    assert_eq!(last["actor"], OWNER, "{history}");
    assert!(
        last["detail"]
            .as_str()
            .is_some_and(|d| d.contains("moving to another provider")),
        "{history}"
    );
    assert!(
        events.iter().any(|e| e["subject_type"] == "reminder"),
        "the reminders' events too: {history}"
    );
    let (status, _) = vic.get("/contracts/999999/events").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = vic.get("/contracts/x/events").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "id");
}

/// Monday 1 March 2027.
const QUOTE_NOW: &str = "2027-03-01T12:00:00Z";

/// A sent quote for the renewal of a new contract of `OWNER` with `customer`.
async fn sent_quote(app: &TestApp, customer: i64, title: &str) -> i64 {
    let contract = app
        .contract(customer, title, "2027-12-31", Some(OWNER))
        .await;
    let quote = app
        .engine
        .create_quote(
            contract,
            &QuoteInput {
                lines: vec![format!("{title} 2028|1|1300.00|24")],
                end: Some("2028-12-31".to_string()),
                ..QuoteInput::default()
            },
            &Actor::system(),
        )
        .await
        .expect("quote");
    app.engine
        .send_quote(quote, &Actor::system())
        .await
        .expect("sent");
    quote
}

#[tokio::test(flavor = "multi_thread")]
async fn quotes_are_read_and_accepted_or_declined_by_the_contracts_owner() {
    let app = TestApp::start_at(QUOTE_NOW.parse().expect("instant")).await;
    let sam = client_as(&app, OWNER, Role::Sales).await;
    let kim = client_as(&app, "kim@firm.example", Role::Sales).await;
    let vic = client_as(&app, "vic@firm.example", Role::Viewer).await;
    let customer = app
        .customer("Acme", "office@acme.example", "en", "Europe/Athens")
        .await;
    let first = sent_quote(&app, customer, "Boiler service").await;
    let second = sent_quote(&app, customer, "Lift service").await;

    // Listed newest first, by status; read by anyone.
    let (status, list) = vic.get("/quotes?status=sent").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(ids(&list), vec![second, first]);
    assert_eq!(list["more"], false);
    assert_eq!(list["data"][1]["total"], "1612.00");
    let (_, one) = vic.get("/quotes?limit=1").await;
    assert_eq!(ids(&one), vec![second]);
    assert_eq!(one["more"], true);
    for (bad, field) in [("status=maybe", "status"), ("limit=0", "limit")] {
        let (status, body) = vic.get(&format!("/quotes?{bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["field"], field, "{bad}: {body}");
    }
    let (status, quote) = vic.get(&format!("/quotes/{first}")).await;
    assert_eq!(status, StatusCode::OK, "{quote}");
    assert_eq!(quote["number"], format!("Q-{first}"));
    assert_eq!(quote["status"], "sent");
    assert_eq!(quote["contract_title"], "Boiler service");
    assert_eq!(quote["term_start"], "2028-01-01");
    assert_eq!(quote["lines"][0]["description"], "Boiler service 2028");
    let (status, _) = vic.get("/quotes/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Accepted by the owner only, once.
    let accept = format!("/quotes/{first}/accept");
    for who in [&kim, &vic] {
        let (status, body) = who.post_empty(&accept).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let (status, body) = sam.post_empty(&accept).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "accepted");
    assert_eq!(body["decided_by"], OWNER);
    assert!(body["next_term_id"].is_i64(), "{body}");
    let (status, _) = sam.post_empty(&accept).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = sam.post_empty("/quotes/999999/accept").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Declined, with a reason, by the owner only.
    let decline = format!("/quotes/{second}/decline");
    let (status, body) = vic.post_empty(&decline).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    for bad in [json!({"why": "x"}), json!({"reason": "x".repeat(1001)})] {
        let (status, body) = sam.post(&decline, &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let (status, body) = sam
        .post(&decline, &json!({"reason": "too expensive this year"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "declined");
    assert_eq!(body["decline_reason"], "too expensive this year");
    let (status, _) = sam.post_empty(&decline).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = sam.post_empty("/quotes/999999/decline").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn plans_are_listed_with_their_steps() {
    let app = TestApp::start_at(QUOTE_NOW.parse().expect("instant")).await;
    let vic = client_as(&app, "vic@firm.example", Role::Viewer).await;
    let renewal = app.renewal_plan_id().await;
    let (status, list) = vic.get("/plans").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let plan = list["data"]
        .as_array()
        .expect("plans")
        .iter()
        .find(|p| p["id"] == renewal)
        .expect("the renewal plan")
        .clone();
    assert_eq!(plan["name"], "renewal");
    assert_eq!(plan["archived"], false);
    let steps = plan["steps"].as_array().expect("steps");
    assert!(!steps.is_empty(), "{plan}");
    assert!(
        steps
            .iter()
            .any(|s| s["key"] == "call_customer" && s["mode"] == "task"),
        "{plan}"
    );
    assert_eq!(steps[0]["anchor"], "end_date");
    assert_eq!(steps[0]["send_time"], "09:00");
    // Without a token: refused in the one error shape.
    let response =
        support::openapi::send_checked(reqwest::Client::new().get(app.url("/api/v1/plans"))).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);

    // The templates the steps use, with the languages the team edited each in.
    let (status, templates) = vic.get("/templates").await;
    assert_eq!(status, StatusCode::OK, "{templates}");
    let listed = templates["data"].as_array().expect("templates");
    for step in steps {
        assert!(
            listed.iter().any(|t| t["key"] == step["template"]),
            "{} missing from {templates}",
            step["template"]
        );
    }
    assert_eq!(listed[0]["languages"].as_array().map(Vec::len), Some(3));
    assert_eq!(listed[0]["languages"][0]["edited"], false);
}
