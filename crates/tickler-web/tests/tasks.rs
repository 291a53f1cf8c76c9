//! The Tasks page and the dashboard's tasks over real HTTP: the renewal plan's "Call the
//! customer" made by the dispatcher on a stopped clock, listed by filter, marked done with
//! a note by its owner (a form with its token), and refused to viewers and to other
//! salespeople.

mod support;

use std::sync::Arc;

use reqwest::StatusCode;
use support::{TestApp, get, location, post};
use tickler_core::{clock::FixedClock, task::TaskStatus, user::Role};
use tickler_engine::{Actor, contracts::ContractInput, tasks::TaskQuery};

/// Thursday 20 May 2027: the call about the contract ending 30 June was due on Saturday
/// 15 May, and is three business days late.
const NOW: &str = "2027-05-20T09:00:00Z";
const OWNER: &str = "sam@firm.example";

async fn app_with_a_task() -> (TestApp, i64) {
    let app = TestApp::start_at(NOW.parse().expect("instant")).await;
    app.user(OWNER, Role::Sales).await;
    app.user("ada@firm.example", Role::Admin).await;
    let customer = app.customer("Acme", "ops@acme.example", "en", "UTC").await;
    // Entered in April; the call becomes a task at its time, and is escalated on the 20th.
    let at = |instant: &str| {
        app.engine
            .with_clock(Arc::new(FixedClock(instant.parse().expect("instant"))))
    };
    at("2027-04-01T09:00:00Z")
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
    app.engine.dispatch_due().await.expect("dispatch");
    let tasks = app
        .engine
        .list_tasks(&TaskQuery::default())
        .await
        .expect("tasks");
    assert_eq!(tasks.len(), 1);
    let id = tasks[0].task.id;
    (app, id)
}

async fn status_of(app: &TestApp, id: i64) -> TaskStatus {
    app.engine.get_task(id).await.expect("task").status
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_sees_the_task_and_marks_it_done_with_a_note() {
    let (app, id) = app_with_a_task().await;
    let owner = app.login(OWNER).await;

    let (status, dashboard) = get(&owner, &app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(dashboard.contains("open tasks of yours"), "{dashboard}");
    assert!(dashboard.contains("Your tasks"));
    assert!(dashboard.contains("Call the customer"));
    assert!(dashboard.contains("tasks overdue"));

    let (status, page) = get(&owner, &app, "/tasks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Call the customer"), "{page}");
    assert!(page.contains("PBX maintenance"));
    assert!(page.contains("Acme"));
    assert!(page.contains("2027-05-15"));
    assert!(page.contains("class=\"overdue\""), "overdue highlighted");
    assert!(
        page.contains(">escalated<"),
        "escalated to the admins today"
    );
    let action = format!("/tasks/{id}/done");
    assert!(page.contains(&action));
    for filter in ["mine", "overdue"] {
        let (status, page) = get(&owner, &app, &format!("/tasks?show={filter}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Call the customer"), "{filter}: {page}");
    }
    let (_, done_list) = get(&owner, &app, "/tasks?show=done").await;
    assert!(!done_list.contains("Call the customer"));
    let (status, _) = get(&owner, &app, "/tasks?show=later").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Without the form's token nothing happens.
    let forged = owner
        .post(app.url(&action))
        .form(&[("note", "x")])
        .send()
        .await
        .expect("POST");
    assert!(!forged.status().is_success() && !forged.status().is_redirection());
    assert_eq!(status_of(&app, id).await, TaskStatus::Open);

    let response = post(
        &owner,
        &app,
        "/tasks",
        &action,
        &[("note", "Called: they renew"), ("back", "/tasks?show=open")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/tasks?show=open");
    let task = app.engine.get_task(id).await.expect("task");
    assert_eq!(task.status, TaskStatus::Done);
    assert_eq!(task.note.as_deref(), Some("Called: they renew"));
    assert_eq!(task.closed_by.as_deref(), Some(OWNER));

    let (_, done_list) = get(&owner, &app, "/tasks?show=done").await;
    assert!(done_list.contains("Called: they renew"), "{done_list}");
    let (_, open_list) = get(&owner, &app, "/tasks").await;
    assert!(!open_list.contains("Call the customer"));

    let again = post(&owner, &app, "/tasks", &action, &[("note", "twice")]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(
        app.engine.get_task(id).await.expect("task").note.as_deref(),
        Some("Called: they renew")
    );
    let missing = post(&owner, &app, "/tasks", "/tasks/999/done", &[]).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn viewers_and_other_salespeople_see_but_cannot_mark_done() {
    let (app, id) = app_with_a_task().await;
    app.user("vic@firm.example", Role::Viewer).await;
    app.user("other@firm.example", Role::Sales).await;
    let action = format!("/tasks/{id}/done");
    for email in ["vic@firm.example", "other@firm.example"] {
        let client = app.login(email).await;
        let (status, page) = get(&client, &app, "/tasks").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Call the customer"), "{email}");
        assert!(!page.contains(&action), "{email} is offered no form");
        let response = post(&client, &app, "/tasks", &action, &[("note", "x")]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{email}");
        assert_eq!(status_of(&app, id).await, TaskStatus::Open);
    }
    let admin = app.login("ada@firm.example").await;
    let (_, page) = get(&admin, &app, "/tasks").await;
    assert!(page.contains(&action), "admins may mark any task done");
}
