//! The real dispatcher against the real SMTP test server when it refuses for a while, at scale.
//!
//! 600 renewal emails fall due at one instant while the server (1) answers the first 150 DATA
//! commands "421 4.3.2 Service busy", (2) greylists one customer's address (451 on RCPT TO)
//! for four attempts and (3) does not know another customer's address (550 on RCPT TO).
//! Time is injected: every run is `dispatch --once --now T`, with T the instant the
//! reminders' history announced for their next attempt; nothing sleeps.
//!
//! Proven: every email reaches the server exactly once (one distinct Message-ID per sent
//! reminder, none twice), none is lost; the busy ones are rescheduled and go out on their
//! first retry; the greylisted one holds nobody up, is retried with strictly growing gaps,
//! never before its announced time, and goes out once the greylisting ends; the unknown
//! address fails at once with the 550 reply recorded and its owner gets one notice.

mod support;

use std::collections::{HashMap, HashSet};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use support::{OWNER, Tickler, field};
use tickler_testkit::SmtpTestServer;

const CONTRACTS: usize = 600;
/// Every contract's `before_60` email is due at this instant (see `many_contracts_csv`).
const FIRST_RUN: &str = "2027-05-02T12:00:00Z";
const STEP: &str = "before_60";

const BUSY_REPLIES: usize = 150;
const BUSY: &str = "421 4.3.2 Service busy";
const GREYLISTED_ADDRESS: &str = "c7@acme.example";
const GREYLISTED: &str = "451 4.7.1 Greylisted";
/// Attempts the greylisted address refuses before the server lets it through.
const GREYLISTED_REFUSALS: usize = 4;
const UNKNOWN_ADDRESS: &str = "c11@acme.example";
const NO_SUCH_USER: &str = "550 5.1.1 No such user";

#[test]
fn a_refusing_smtp_server_delays_but_never_loses_or_duplicates_an_email() {
    let smtp = SmtpTestServer::start_with_faults(json!({
        "data_reply": BUSY,
        "remaining": BUSY_REPLIES,
        "reject_rcpt": {GREYLISTED_ADDRESS: GREYLISTED, UNKNOWN_ADDRESS: NO_SUCH_USER},
    }));
    let t = Tickler::with_smtp(&smtp);
    support::import_contracts_due_together(&t, CONTRACTS);

    let due = step_reminders(&t);
    assert_eq!(due.len(), CONTRACTS);
    assert!(due.iter().all(|r| field(r, "status") == "scheduled"));
    let greylisted = only(&due, |r| addressed_to(r, GREYLISTED_ADDRESS));
    let unknown = only(&due, |r| addressed_to(r, UNKNOWN_ADDRESS));

    // First run: the busy server and the two refused addresses hold up nobody else.
    let first = DispatchSummary::of(&t.dispatch_at(FIRST_RUN));
    let failure_notices = 1;
    let untouched = CONTRACTS - BUSY_REPLIES - 2;
    assert_eq!(
        first,
        DispatchSummary {
            claimed: CONTRACTS + failure_notices,
            sent: untouched + failure_notices,
            retrying: BUSY_REPLIES + 1,
            failed: 1,
            ..DispatchSummary::default()
        },
        "first run"
    );
    let after_first = step_reminders(&t);
    let busy: Vec<&Value> = after_first
        .iter()
        .filter(|r| {
            r["last_error"]
                .as_str()
                .is_some_and(|e| e.starts_with("421"))
        })
        .collect();
    assert_eq!(busy.len(), BUSY_REPLIES, "the server's 421s all landed");
    for r in &busy {
        assert_eq!(field(r, "status"), "scheduled", "{r}");
        assert_eq!(r["attempts"], json!(1), "{r}");
    }
    let still_greylisted = find(&after_first, id(greylisted));
    assert_eq!(field(still_greylisted, "status"), "scheduled");
    assert!(field(still_greylisted, "last_error").starts_with("451"));
    assert_eq!(field(find(&after_first, id(unknown)), "status"), "failed");
    let sent_at_once = after_first
        .iter()
        .filter(|r| field(r, "status") == "sent")
        .count();
    assert_eq!(sent_at_once, untouched, "everyone else went out at once");
    assert_eq!(smtp.messages().len(), untouched + failure_notices);

    // Each busy one is back in the queue with a retry announced for later.
    let first_run: Timestamp = FIRST_RUN.parse().unwrap();
    let mut busy_retries_at = Vec::new();
    for r in &busy {
        let history = attempts(&t, r);
        assert_eq!(history.len(), 1, "{r}: {history:?}");
        let retry = &history[0];
        assert_eq!(retry.action, "retry");
        assert_eq!(retry.at, first_run);
        assert!(retry.detail.starts_with("421"), "{}", retry.detail);
        let next = retry.next_at.expect("a retry announces its next attempt");
        assert!(next > first_run, "{}", retry.detail);
        busy_retries_at.push(next);
    }

    // Then the clock follows the greylisted reminder: each run at its announced next attempt
    // (with one run a second before, where it must not be tried yet); whatever else is due
    // by then goes out in the same run. After GREYLISTED_REFUSALS refusals the address is let
    // through; the 550 stays and the DATA countdown is not restarted.
    let mut runs = 1;
    loop {
        let history = attempts(&t, greylisted);
        let last = history.last().expect("the greylisted reminder was tried");
        if last.action != "retry" {
            break;
        }
        assert!(
            history.len() <= GREYLISTED_REFUSALS,
            "still refused after the greylisting ended: {history:?}"
        );
        let next = last.next_at.expect("a retry announces its next attempt");
        t.dispatch_at(&(next - SignedDuration::from_secs(1)).to_string());
        assert_eq!(
            attempts(&t, greylisted).len(),
            history.len(),
            "tried before its announced time {next}"
        );
        if history.len() == GREYLISTED_REFUSALS {
            smtp.set_faults(json!({"reject_rcpt": {UNKNOWN_ADDRESS: NO_SUCH_USER}}));
        }
        t.dispatch_at(&next.to_string());
        runs += 2;
    }
    // Anything still waiting goes at the latest announced instant, the clock never going back
    // (normally nothing is left: the greylisted one's retries outlast the busy ones').
    let leftovers = step_reminders(&t)
        .iter()
        .filter(|r| field(r, "status") == "scheduled")
        .count();
    if leftovers > 0 {
        let greylisted_sent_at = attempts(&t, greylisted).last().unwrap().at;
        let latest = busy_retries_at
            .iter()
            .copied()
            .fold(greylisted_sent_at, Timestamp::max);
        t.dispatch_at(&latest.to_string());
        runs += 1;
    }

    // Nothing lost: all sent but the unknown address, which failed.
    let end = step_reminders(&t);
    let statuses = count_by(&end, |r| field(r, "status").to_string());
    assert_eq!(
        statuses,
        HashMap::from([
            ("sent".to_string(), CONTRACTS - 1),
            ("failed".to_string(), 1)
        ]),
    );
    // The busy ones went out on their first retry, at or after its announced time.
    for r in &busy {
        let now = find(&end, id(r));
        assert_eq!(now["attempts"], json!(2), "{now}");
        let history = attempts(&t, r);
        assert_eq!(history.len(), 2, "{history:?}");
        assert_eq!(history[1].action, "sent");
        assert!(history[1].at >= history[0].next_at.unwrap(), "{history:?}");
    }

    // The greylisted reminder: retried with growing gaps, each try at its announced time.
    let history = attempts(&t, greylisted);
    assert_eq!(history.len(), GREYLISTED_REFUSALS + 1, "{history:?}");
    let (retries, last) = history.split_at(GREYLISTED_REFUSALS);
    assert_eq!(last[0].action, "sent");
    for (retry, next) in retries.iter().zip(&history[1..]) {
        assert_eq!(retry.action, "retry");
        assert!(retry.detail.starts_with("451"), "{}", retry.detail);
        let announced = retry.next_at.unwrap();
        assert!(
            next.at.duration_since(announced).abs() < SignedDuration::from_millis(1),
            "tried at {}, announced for {announced}",
            next.at
        );
    }
    let gaps: Vec<SignedDuration> = history
        .windows(2)
        .map(|pair| pair[1].at.duration_since(pair[0].at))
        .collect();
    assert!(
        gaps.windows(2).all(|pair| pair[1] > pair[0]),
        "the gaps between attempts must grow: {gaps:?}"
    );
    assert_eq!(field(find(&end, id(greylisted)), "status"), "sent");

    // The unknown address: failed at once, the reply on record, never retried.
    let failed = t.json(&["reminder", "show", &id(unknown).to_string(), "--json"]);
    assert_eq!(field(&failed, "status"), "failed");
    assert_eq!(failed["attempts"], json!(1));
    for name in ["smtp_reply", "status_reason", "last_error"] {
        assert!(
            field(&failed, name).contains(NO_SUCH_USER),
            "{name}: {failed}"
        );
    }
    let unknown_contract = t.reminders(&failed["contract_id"].to_string());
    let notice = only(&unknown_contract, |r| {
        field(r, "step").starts_with("delivery_failed")
    });
    assert_eq!(field(notice, "status"), "sent");
    assert_eq!(notice["to"], json!([OWNER]));

    // At the server: every sent reminder exactly once, by Message-ID; nothing else.
    let received = smtp.messages();
    let copies = count_by(&received, |m| m.message_id.clone());
    let duplicates = received.len() - copies.len();
    let mut expected: HashSet<String> = end
        .iter()
        .filter(|r| field(r, "status") == "sent")
        .map(|r| field(r, "message_id").to_string())
        .collect();
    expected.insert(field(notice, "message_id").to_string());
    assert_eq!(duplicates, 0, "a Message-ID arrived twice");
    assert_eq!(
        copies.keys().cloned().collect::<HashSet<_>>(),
        expected,
        "the messages received are exactly the reminders recorded as sent"
    );
    let to_the_unknown = received
        .iter()
        .filter(|m| m.envelope_to.iter().any(|a| a == UNKNOWN_ADDRESS))
        .count();
    assert_eq!(to_the_unknown, 0);
    let to_the_greylisted: Vec<_> = received
        .iter()
        .filter(|m| m.envelope_to.iter().any(|a| a == GREYLISTED_ADDRESS))
        .collect();
    assert_eq!(to_the_greylisted.len(), 1);
    assert_eq!(
        to_the_greylisted[0].message_id,
        field(greylisted, "message_id")
    );
    let notices: Vec<_> = received
        .iter()
        .filter(|m| m.subject.starts_with("Not delivered:"))
        .collect();
    assert_eq!(notices.len(), 1, "one notice to the owner");
    assert_eq!(notices[0].envelope_to, [OWNER]);
    assert_eq!(notices[0].to, [OWNER]);
    assert!(
        notices[0].body.contains(NO_SUCH_USER),
        "{}",
        notices[0].body
    );
    assert!(
        notices[0].body.contains(UNKNOWN_ADDRESS),
        "{}",
        notices[0].body
    );

    let seconds = |d: &SignedDuration| format!("{:.1} s", d.as_secs_f64());
    println!(
        "{CONTRACTS} emails due at {FIRST_RUN}; first run: claimed {}, sent {} \
         ({untouched} reminders + {failure_notices} failure notice), retrying {} \
         ({BUSY_REPLIES} x {BUSY}, 1 x {GREYLISTED}), failed {} ({NO_SUCH_USER})",
        first.claimed, first.sent, first.retrying, first.failed
    );
    println!(
        "busy: {} rescheduled, {} sent on their first retry",
        busy.len(),
        busy.len()
    );
    println!(
        "greylisted {GREYLISTED_ADDRESS}: {} refusals (first: \"{}\"), sent on attempt {}; \
         gaps between attempts {}",
        retries.len(),
        retries[0].detail,
        history.len(),
        gaps.iter().map(seconds).collect::<Vec<_>>().join(" < ")
    );
    println!(
        "after {runs} dispatch runs: {} sent, {} failed, 0 pending; the server received {} \
         messages, {} distinct Message-IDs, {duplicates} duplicates, 0 lost; {} notice to {OWNER}",
        statuses["sent"],
        statuses["failed"],
        received.len(),
        copies.len(),
        notices.len()
    );
}

/// The counts `dispatch --once` prints on its last line of stderr.
#[derive(Debug, Default, PartialEq, Eq)]
struct DispatchSummary {
    claimed: usize,
    sent: usize,
    retrying: usize,
    failed: usize,
    cancelled: usize,
    unrecorded: usize,
}

impl DispatchSummary {
    fn of(stderr: &str) -> DispatchSummary {
        let line = stderr
            .lines()
            .rev()
            .find(|l| l.starts_with("claimed "))
            .unwrap_or_else(|| panic!("no summary line in:\n{stderr}"));
        let counts: HashMap<&str, usize> = line
            .split(", ")
            .map(|part| {
                let (name, n) = part.split_once(' ').expect("NAME COUNT");
                (name, n.parse().expect("a count"))
            })
            .collect();
        DispatchSummary {
            claimed: counts["claimed"],
            sent: counts["sent"],
            retrying: counts["retrying"],
            failed: counts["failed"],
            cancelled: counts["cancelled"],
            unrecorded: counts["unrecorded"],
        }
    }
}

/// One delivery attempt, read from the reminder's history (`contract show --json`).
#[derive(Debug)]
struct Attempt {
    at: Timestamp,
    /// "retry", "sent" or "failed".
    action: String,
    detail: String,
    /// For a retry, the instant announced for the next attempt.
    next_at: Option<Timestamp>,
}

fn attempts(t: &Tickler, reminder: &Value) -> Vec<Attempt> {
    let detail = t.json(&[
        "contract",
        "show",
        &reminder["contract_id"].to_string(),
        "--json",
    ]);
    detail["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["subject_type"] == "reminder" && e["subject_id"] == reminder["id"])
        .filter(|e| ["retry", "sent", "failed"].contains(&field(e, "action")))
        .map(|e| {
            let detail = field(e, "detail").to_string();
            let next_at = detail
                .rsplit_once("; next attempt at ")
                .map(|(_, at)| at.parse().expect("an instant"));
            Attempt {
                at: field(e, "at").parse().expect("an instant"),
                action: field(e, "action").to_string(),
                detail,
                next_at,
            }
        })
        .collect()
}

/// The contracts' `before_60` reminders: one per contract, all due at [`FIRST_RUN`].
fn step_reminders(t: &Tickler) -> Vec<Value> {
    match t.json(&["reminder", "list", "--json"]) {
        Value::Array(list) => list.into_iter().filter(|r| r["step"] == STEP).collect(),
        other => panic!("not a list: {other}"),
    }
}

fn addressed_to(reminder: &Value, address: &str) -> bool {
    reminder["to"] == json!([address])
}

fn id(reminder: &Value) -> i64 {
    reminder["id"].as_i64().expect("an id")
}

fn find(list: &[Value], reminder_id: i64) -> &Value {
    list.iter()
        .find(|r| id(r) == reminder_id)
        .unwrap_or_else(|| panic!("reminder {reminder_id} is missing"))
}

fn only(list: &[Value], wanted: impl Fn(&Value) -> bool) -> &Value {
    let matches: Vec<&Value> = list.iter().filter(|r| wanted(r)).collect();
    assert_eq!(matches.len(), 1, "expected exactly one: {matches:?}");
    matches[0]
}

fn count_by<T, K: std::hash::Hash + Eq>(items: &[T], key: impl Fn(&T) -> K) -> HashMap<K, usize> {
    let mut counts = HashMap::new();
    for item in items {
        *counts.entry(key(item)).or_default() += 1;
    }
    counts
}
