//! Steps that wait for a person: a step in `approval` mode is never sent by itself, and a
//! `task` is a to-do. At their time the contract's owner gets one email saying so; an
//! approval step stays in the review queue until someone sends or skips it, a task step
//! becomes the owner's task.

mod support;

use std::{sync::Arc, time::Duration};

use tickler_core::{clock::FixedClock, plan::Mode, reminder::ReminderStatus, user::Role};
use tickler_engine::Actor;
use tickler_testkit::SmtpTestServer;
use tickler_web::WebConfig;

use support::TestApp;

const OWNER: &str = "sam@firm.example";
const CUSTOMER: &str = "ops@acme.example";

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_is_alerted_once_and_nothing_goes_out_without_them() {
    let smtp = SmtpTestServer::start();
    let app = TestApp::start_with(Some(smtp.url()), WebConfig::default()).await;
    app.user(OWNER, Role::Sales).await;
    let plan_id = app.renewal_plan_id().await;
    let mut steps = app.engine.plan(plan_id).await.expect("plan").plan.steps;
    steps[0].mode = Mode::Approval;
    steps[1].mode = Mode::Task;
    app.engine
        .update_plan_steps(plan_id, steps, &Actor::system())
        .await
        .expect("plan");
    let customer = app.customer("Acme", CUSTOMER, "en", "UTC").await;
    let contract = app
        .contract(customer, "PBX maintenance", "2027-06-30", Some(OWNER))
        .await;
    let reminders = app
        .engine
        .contract_detail(contract)
        .await
        .expect("detail")
        .reminders;
    let step = |key: &str| {
        reminders
            .iter()
            .find(|r| r.step == key)
            .expect("a reminder of the step")
    };
    let (approval, task) = (step("before_60"), step("before_30"));
    assert_eq!((approval.mode, task.mode), (Mode::Approval, Mode::Task));
    let at = |instant: &str| {
        app.engine
            .with_clock(Arc::new(FixedClock(instant.parse().expect("instant"))))
    };

    // The 60-day step's time: its owner is told, the customer gets nothing.
    let report = at("2027-05-01T09:00:00Z")
        .dispatch_due()
        .await
        .expect("dispatch");
    assert_eq!((report.sent, report.failed), (1, 0), "{report:?}");
    let received = smtp.wait_for_messages(1, Duration::from_secs(10));
    assert_eq!(received[0].to, [OWNER]);
    assert_eq!(
        received[0].subject,
        format!("Your turn: {} for Acme", approval.label)
    );
    assert!(
        received[0]
            .body
            .contains("nothing is sent to the customer until you act")
    );

    // Once only, however often the dispatcher looks.
    at("2027-05-01T09:00:00Z")
        .dispatch_due()
        .await
        .expect("dispatch");
    at("2027-05-20T09:00:00Z")
        .dispatch_due()
        .await
        .expect("dispatch");
    // Meanwhile (2027-05-15) the renewal plan's own call became the owner's task.
    let received = smtp.wait_for_messages(2, Duration::from_secs(10));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 2);
    assert_eq!(received[1].to, [OWNER]);
    assert_eq!(
        received[1].subject,
        "Task: call Acme about the renewal of PBX maintenance"
    );
    let waiting = app.engine.reminder(approval.id).await.expect("reminder");
    assert_eq!(waiting.status, ReminderStatus::Scheduled, "still waiting");

    // The task step's time: it becomes a task, and its owner is sent the step's text.
    at("2027-05-31T09:00:00Z")
        .dispatch_due()
        .await
        .expect("dispatch");
    // With it, the call left open since 20 May is escalated (to the sender address: this
    // team has no admin).
    let received = smtp.wait_for_messages(4, Duration::from_secs(10));
    let mut new: Vec<&[String]> = received[2..].iter().map(|m| m.to.as_slice()).collect();
    new.sort();
    assert_eq!(new, [["renewals@firm.example"], [OWNER]]);
    let closed = app.engine.reminder(task.id).await.expect("reminder");
    assert_eq!(closed.status, ReminderStatus::Superseded);
    let tasks = app
        .engine
        .list_tasks(&tickler_engine::tasks::TaskQuery::default())
        .await
        .expect("tasks");
    let titles: Vec<&str> = tasks.iter().map(|t| t.task.title.as_str()).collect();
    assert_eq!(titles, ["Call the customer", task.label.as_str()]);

    // The owner approves: the email goes to the customer.
    app.engine
        .send_reminder_now(approval.id, None, &Actor(OWNER.to_string()))
        .await
        .expect("send now");
    let received = smtp.wait_for_messages(5, Duration::from_secs(10));
    assert_eq!(received[4].to, [CUSTOMER]);
    assert_eq!(received[4].message_id, approval.message_id);
}
