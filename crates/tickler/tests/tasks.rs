//! Tasks end to end: the real binary, a real SQLite file (or PostgreSQL with
//! `TICKLER_TEST_BACKEND=postgres`) and a real SMTP server. The renewal plan's "Call the
//! customer" step becomes the owner's task when its time comes, is marked done from the
//! command line, escalates once to the admins when left open, and is cancelled by a renewal.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{OWNER, Tickler, field};
use tickler_testkit::{ReceivedMessage, SmtpTestServer};

const WAIT: Duration = Duration::from_secs(10);
const ADMIN: &str = "ada.admin@firm.example";
/// The contract ends on 2027-05-31: the first email goes out on 2027-04-01, the call is due
/// 46 days before the end, Thursday 2027-04-15, at 09:00 in the customer's zone (UTC here).
const END: &str = "2027-05-31";
const CALL_AT: &str = "2027-04-15T09:00:00Z";

fn tasks(t: &Tickler, args: &[&str]) -> Vec<Value> {
    let mut command = vec!["task", "list", "--json"];
    command.extend_from_slice(args);
    match t.json(&command) {
        Value::Array(list) => list,
        other => panic!("not a list: {other}"),
    }
}

fn to(messages: &[ReceivedMessage], address: &str) -> Vec<ReceivedMessage> {
    messages
        .iter()
        .filter(|m| m.to.iter().any(|a| a == address))
        .cloned()
        .collect()
}

#[test]
fn the_call_becomes_the_owners_task_once_is_done_with_a_note_and_escalates_once() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    t.ok(&[
        "user",
        "add",
        "--email",
        ADMIN,
        "--name",
        "Ada Admin",
        "--role",
        "admin",
    ]);
    // Only the escalation may reach the admin here: no morning digest.
    t.ok(&["user", "edit", ADMIN, "--digest", "off"]);
    let contract = t.contract("en", "UTC", "ops@acme.example", END);
    let call = t.reminder(&contract, "call_customer", 1);
    assert_eq!(field(&call, "send_at"), CALL_AT);
    assert_eq!(field(&call, "mode"), "task");

    // A second early: the first email goes out, no task yet.
    t.dispatch_at("2027-04-15T08:59:59Z");
    assert!(tasks(&t, &[]).is_empty());
    smtp.wait_for_messages(1, WAIT);
    assert!(
        to(&smtp.messages(), OWNER).is_empty(),
        "the owner is in CC only"
    );

    t.dispatch_at(CALL_AT);
    let received = smtp.wait_for_messages(2, WAIT);
    let list = tasks(&t, &[]);
    assert_eq!(list.len(), 1, "{list:?}");
    let task = &list[0];
    let id = task["id"].as_i64().expect("an id").to_string();
    assert_eq!(
        task["contract_id"].as_i64().map(|c| c.to_string()),
        Some(contract.clone())
    );
    assert_eq!(field(task, "title"), "Call the customer");
    assert_eq!(field(task, "owner"), OWNER);
    assert_eq!(field(task, "due_date"), "2027-04-15");
    assert_eq!(field(task, "status"), "open");
    assert!(task["escalated_at"].is_null());
    let notices = to(&received, OWNER);
    assert_eq!(notices.len(), 1, "the owner is told the task is theirs");
    assert_eq!(
        notices[0].subject,
        "Task: call Acme Corporation about the renewal of PBX maintenance"
    );
    assert!(
        notices[0].body.contains("Tasks page"),
        "{}",
        notices[0].body
    );
    let call = t.reminder(&contract, "call_customer", 1);
    assert_eq!(field(&call, "status"), "superseded");
    assert_eq!(field(&call, "status_reason"), format!("became task {id}"));

    // Again as of the same instant, and later: one task, one notice.
    t.dispatch_at(CALL_AT);
    t.dispatch_at("2027-04-16T12:00:00Z");
    assert_eq!(tasks(&t, &[]).len(), 1);
    assert_eq!(to(&smtp.messages(), OWNER).len(), 1);
    assert_eq!(tasks(&t, &["--owner", OWNER, "--status", "open"]).len(), 1);
    assert!(tasks(&t, &["--status", "done"]).is_empty());
    let unknown = t.fails(&["task", "list", "--owner", "nobody@firm.example"]);
    assert!(unknown.contains("nobody@firm.example"), "{unknown}");

    // Due Thursday; three business days later is Tuesday: not on Monday night.
    t.dispatch_at("2027-04-19T23:59:59Z");
    assert!(to(&smtp.messages(), ADMIN).is_empty());
    assert!(tasks(&t, &[])[0]["escalated_at"].is_null());
    t.dispatch_at("2027-04-20T00:00:00Z");
    let escalations = to(&smtp.wait_for_messages(3, WAIT), ADMIN);
    assert_eq!(escalations.len(), 1);
    assert!(
        escalations[0]
            .subject
            .contains("Call the customer (due 2027-04-15)"),
        "{}",
        escalations[0].subject
    );
    assert!(
        escalations[0].body.contains("Sam Sales"),
        "{}",
        escalations[0].body
    );
    let escalated_at = tasks(&t, &[])[0]["escalated_at"].clone();
    assert_eq!(escalated_at.as_str(), Some("2027-04-20T00:00:00Z"));
    // Once: later runs tell nobody again.
    t.dispatch_at("2027-04-20T00:00:00Z");
    t.dispatch_at("2027-04-27T09:00:00Z");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(to(&smtp.messages(), ADMIN).len(), 1);
    assert_eq!(tasks(&t, &[])[0]["escalated_at"], escalated_at);

    let missing = t.fails(&["task", "done", "999", "--note", "x"]);
    assert!(missing.contains("task 999 does not exist"), "{missing}");
    t.ok(&[
        "task",
        "done",
        &id,
        "--note",
        "Called Mr Ito: they renew for a year",
    ]);
    let done = tasks(&t, &["--status", "done"]);
    assert_eq!(done.len(), 1);
    assert_eq!(field(&done[0], "status"), "done");
    assert_eq!(
        field(&done[0], "note"),
        "Called Mr Ito: they renew for a year"
    );
    assert!(field(&done[0], "closed_by").starts_with("cli"));
    assert!(tasks(&t, &["--status", "open"]).is_empty());
    let again = t.fails(&["task", "done", &id]);
    assert!(
        again.contains(&format!("task {id} is already done")),
        "{again}"
    );
    assert_eq!(
        field(&tasks(&t, &["--status", "done"])[0], "note"),
        "Called Mr Ito: they renew for a year",
        "a refused second 'done' changes nothing"
    );
}

#[test]
fn renewing_the_contract_cancels_its_open_call() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let contract = t.contract("en", "UTC", "ops@acme.example", END);
    t.dispatch_at("2027-04-16T09:00:00Z");
    let list = tasks(&t, &["--status", "open"]);
    assert_eq!(list.len(), 1);
    let id = list[0]["id"].to_string();

    t.ok(&["contract", "renew", &contract]);
    let list = tasks(&t, &[]);
    assert_eq!(list.len(), 1);
    assert_eq!(field(&list[0], "status"), "cancelled");
    assert!(tasks(&t, &["--status", "open"]).is_empty());
    let closed = t.fails(&["task", "done", &id]);
    assert!(closed.contains("already cancelled"), "{closed}");
    // A cancelled task is never escalated.
    t.dispatch_at("2027-05-01T09:00:00Z");
    assert!(tasks(&t, &[])[0]["escalated_at"].is_null());
}

#[test]
fn a_call_before_its_time_is_not_a_task() {
    let t = Tickler::new(None);
    t.contract("en", "UTC", "ops@acme.example", END);
    t.dispatch_at("2027-04-14T09:00:00Z");
    assert!(tasks(&t, &[]).is_empty());
    let listed = t.ok(&["task", "list"]);
    assert!(listed.starts_with("ID"), "{listed}");
}
