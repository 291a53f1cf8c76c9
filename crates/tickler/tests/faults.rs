//! A dispatcher killed with SIGKILL in the middle of a batch: after a restart nothing is lost,
//! and the only duplicates are messages the mail server had accepted just before the kill,
//! re-sent with the same Message-ID.

mod support;

use std::{collections::HashMap, process::Stdio, time::Duration};

use support::Tickler;
use tickler_testkit::SmtpTestServer;

const CONTRACTS: usize = 400;

#[test]
fn a_killed_dispatcher_loses_nothing_and_resends_only_with_the_same_message_id() {
    // A slow server, so the kill lands while messages are in flight.
    let smtp = SmtpTestServer::start_with_reply_delay(Duration::from_millis(20));
    let mut t = Tickler::with_smtp(&smtp);
    t.use_short_leases();
    support::import_contracts_due_together(&t, CONTRACTS);

    let mut dispatcher = t
        .command(&["dispatch", "--once", "--now", "2027-05-02T12:00:00Z"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dispatch");
    smtp.wait_for_messages(CONTRACTS / 4, Duration::from_secs(60));
    dispatcher.kill().expect("SIGKILL");
    dispatcher.wait().unwrap();
    let before_restart = smtp.messages().len();
    assert!(
        before_restart < CONTRACTS,
        "the kill came too late to test anything"
    );

    // After the lease has run out, another dispatcher takes the claimed ones over.
    support::wait_out_short_leases();
    t.dispatch_at("2027-05-02T12:02:00Z");
    let received = smtp.wait_for_messages(CONTRACTS, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(300));
    let received = if smtp.messages().len() > received.len() {
        smtp.messages()
    } else {
        received
    };
    let mut copies: HashMap<&str, usize> = HashMap::new();
    for message in &received {
        *copies.entry(message.message_id.as_str()).or_default() += 1;
    }
    let duplicates = received.len() - copies.len();
    println!(
        "{CONTRACTS} due; {before_restart} received before the kill; after restart {} received, \
         {} distinct, {duplicates} duplicates, 0 lost",
        received.len(),
        copies.len()
    );
    assert_eq!(copies.len(), CONTRACTS, "every email arrived");
    assert!(copies.values().all(|&n| n <= 2), "at most one re-send each");
    // Only messages in flight at the kill can be duplicated.
    assert!(
        duplicates <= 8,
        "{duplicates} duplicates for a concurrency of 8"
    );
    let sent = t.json(&["reminder", "list", "--status", "sent", "--json"]);
    assert_eq!(
        sent.as_array().map(Vec::len),
        Some(CONTRACTS),
        "all recorded as sent"
    );

    // The restarted dispatcher's take-over job returned the dead one's claims to the queue.
    let jobs = t.json(&["jobs", "--json"]);
    let takeover = jobs
        .as_array()
        .and_then(|jobs| jobs.iter().find(|j| j["name"] == "lease_takeover"))
        .unwrap_or_else(|| panic!("no lease_takeover job in {jobs}"));
    assert!(takeover["last_started_at"].is_string(), "{takeover}");
    let taken_over: usize = takeover["last_outcome"]
        .as_str()
        .and_then(|outcome| outcome.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no count in {takeover}"));
    println!("lease take-over: {}", takeover["last_outcome"]);
    assert!(
        taken_over > 0 && taken_over <= CONTRACTS - before_restart + 8,
        "{taken_over} claims taken over"
    );
}
