//! An email moved to a moment from now in the web app goes out then: the change wakes this
//! process's dispatcher, which would otherwise sleep until its next recurring job (15 s) or
//! poll (set to an hour here). Other processes are woken by PostgreSQL's notifications
//! (crates/tickler/tests/postgres.rs).

mod support;

use std::time::{Duration, Instant};

use tickler_engine::{Actor, review::ReminderChanges};
use tickler_testkit::SmtpTestServer;
use tickler_web::WebConfig;

use support::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn an_edit_wakes_the_sleeping_dispatcher() {
    let smtp = SmtpTestServer::start();
    let app = TestApp::start_with(Some(smtp.url()), WebConfig::default()).await;
    let customer = app.customer("Acme", "ops@acme.example", "en", "UTC").await;
    let contract = app
        .contract(customer, "PBX maintenance", "2027-06-30", None)
        .await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let dispatcher = {
        let engine = app.engine.clone();
        tokio::spawn(async move { engine.run_dispatcher(stopped).await })
    };
    // Let it finish its first round and go to sleep.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let detail = app.engine.contract_detail(contract).await.expect("detail");
    let first = detail.reminders.first().expect("a reminder");
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1);
    let edited = Instant::now();
    app.engine
        .edit_reminder(
            first.id,
            ReminderChanges {
                send_at: Some(soon),
                ..ReminderChanges::default()
            },
            &Actor::system(),
        )
        .await
        .expect("edit");

    // Well before the dispatcher's next recurring job (15 s) would have woken it.
    let received = smtp.wait_for_messages(1, Duration::from_secs(8));
    println!("sent {:?} after the edit", edited.elapsed());
    assert_eq!(received[0].message_id, first.message_id);

    let _ = stop.send(true);
    dispatcher.await.expect("dispatcher stops");
}
