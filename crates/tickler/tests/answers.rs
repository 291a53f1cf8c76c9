//! The customer's answers end to end: links parsed out of real emails (the real SMTP test
//! server), opened and confirmed over real HTTP against `tickler serve`; auto-renewing and
//! evergreen contracts driven by `dispatch --once --now`.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{OWNER, Served, Tickler, http_request};
use tickler_testkit::{ReceivedMessage, SmtpTestServer, free_port};

const WAIT: Duration = Duration::from_secs(30);

/// An installation whose links point at `serve` on `port`.
fn linked(smtp: &SmtpTestServer, port: u16) -> Tickler {
    let mut t = Tickler::with_smtp(smtp);
    t.set_env("TICKLER_PUBLIC_URL", &format!("http://127.0.0.1:{port}"));
    t
}

/// The owner, an English customer in UTC, and a contract for 2027 with `extra` flags.
fn contract_2027(t: &Tickler, extra: &[&str]) -> String {
    t.owner();
    let customer = t.ok(&[
        "customer",
        "add",
        "--name",
        "Acme Corporation",
        "--email",
        "ops@acme.example",
        "--time-zone",
        "UTC",
    ]);
    let mut args = vec![
        "contract",
        "add",
        "--customer",
        &customer,
        "--title",
        "PBX maintenance",
        "--start",
        "2027-01-01",
        "--owner",
        OWNER,
        "--amount",
        "1200.00",
        "--currency",
        "EUR",
    ];
    if !extra.contains(&"evergreen") {
        args.extend(["--end", "2027-12-31"]);
    }
    args.extend_from_slice(extra);
    t.ok(&args)
}

fn show(t: &Tickler, contract: &str) -> Value {
    t.json(&["contract", "show", contract, "--json"])
}

fn terms(t: &Tickler, contract: &str) -> Vec<Value> {
    show(t, contract)["terms"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The answer links in a message's text, by what they do.
fn links_in(message: &ReceivedMessage, port: u16) -> Vec<String> {
    let prefix = format!("http://127.0.0.1:{port}/answer/");
    message
        .body
        .split_whitespace()
        .filter_map(|word| word.find(&prefix).map(|at| &word[at..]))
        .map(|url| {
            url.trim_end_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-')
                .to_string()
        })
        .collect()
}

fn path_of(url: &str) -> &str {
    &url[url.find("/answer/").expect("an answer link")..]
}

fn status_of(t: &Tickler, contract: &str, step: &str, term: i64) -> String {
    t.reminder(contract, step, term)["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn each_link_of_a_renewal_email_works_once_through_its_page() {
    let smtp = SmtpTestServer::start();
    let port = free_port();
    let t = linked(&smtp, port);
    let contract = contract_2027(&t, &[]);
    let _serve = Served::start(&t, port);

    t.dispatch_at("2027-11-01T09:00:00Z");
    let email = smtp.wait_for_messages(1, WAIT).remove(0);
    assert!(email.subject.contains("please renew"), "{}", email.subject);
    let links = links_in(&email, port);
    assert_eq!(links.len(), 3, "renew, decline, quote: {}", email.body);
    let html = email.html.as_deref().expect("an HTML part");
    assert!(
        links.iter().all(|l| html.contains(l.as_str())),
        "buttons: {html}"
    );
    let (renew, decline) = (path_of(&links[0]), path_of(&links[1]));

    // A GET (a person looking, a mail scanner prefetching) changes nothing.
    let (status, page) = http_request(port, "GET", renew).expect("page");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Yes, renew") && page.contains("PBX maintenance"));
    assert!(page.contains("x-frame-options") || page.contains("X-Frame-Options"));
    assert!(
        page.to_ascii_lowercase()
            .contains("content-security-policy")
    );
    assert_eq!(terms(&t, &contract).len(), 1);
    assert!(show(&t, &contract)["answer"].is_null());

    // An altered token, a forged one and a truncated one are refused and change nothing.
    let mut altered = renew.to_string();
    let last = altered.pop().expect("a token");
    altered.push(if last == 'A' { 'B' } else { 'A' });
    let forged = format!("/answer/{}", "A".repeat(42));
    for bad in [altered.as_str(), forged.as_str(), &renew[..renew.len() - 5]] {
        for method in ["GET", "POST"] {
            let (status, page) = http_request(port, method, bad).expect("page");
            assert_eq!(status, 400, "{method} {bad}: {page}");
            assert!(page.contains("This link is not valid"), "{page}");
            assert!(page.contains("Nothing was changed"));
        }
    }
    assert_eq!(terms(&t, &contract).len(), 1);

    // Confirming renews: the next term, as long as the current one, linked to it.
    let (status, page) = http_request(port, "POST", renew).expect("confirm");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("your contract is renewed"), "{page}");
    let detail = show(&t, &contract);
    assert_eq!(detail["answer"], "renew");
    let all = terms(&t, &contract);
    assert_eq!(all.len(), 2);
    assert_eq!(all[1]["start"], "2028-01-01");
    assert_eq!(all[1]["end"], "2028-12-31");
    assert_eq!(all[1]["previous_term_id"], all[0]["id"]);
    assert_eq!(all[0]["answer"], "renew");
    // The old term's pending emails are cancelled, the new term's scheduled.
    assert_eq!(status_of(&t, &contract, "before_30", 1), "cancelled");
    assert_eq!(status_of(&t, &contract, "before_60", 2), "scheduled");

    // The owner is told, by the dispatcher of `serve`.
    let told = smtp.wait_for_messages(2, WAIT);
    let notice = told
        .iter()
        .find(|m| m.to == [OWNER])
        .expect("the owner's notice");
    assert!(
        notice.subject.contains("The customer renewed"),
        "{}",
        notice.subject
    );

    // A second click, and the decline link of the renewed term, change nothing.
    let (status, page) = http_request(port, "POST", renew).expect("again");
    assert_eq!(status, 200);
    assert!(page.contains("has been renewed") && page.contains("Nothing was changed"));
    let (_, page) = http_request(port, "POST", decline).expect("decline after renew");
    assert!(page.contains("has been renewed"), "{page}");
    assert_eq!(terms(&t, &contract).len(), 2);
    assert_eq!(show(&t, &contract)["answer"], "renew");
}

#[test]
fn two_confirmations_racing_renew_exactly_once() {
    let smtp = SmtpTestServer::start();
    let port = free_port();
    let t = linked(&smtp, port);
    let contract = contract_2027(&t, &[]);
    let links = t.json(&["contract", "links", &contract, "--json"]);
    let renew = path_of(links["renew"].as_str().expect("renew")).to_string();
    let _serve = Served::start(&t, port);

    let clicks: Vec<_> = (0..8)
        .map(|_| {
            let renew = renew.clone();
            std::thread::spawn(move || http_request(port, "POST", &renew).expect("answer").0)
        })
        .collect();
    for click in clicks {
        assert_eq!(click.join().expect("thread"), 200);
    }
    assert_eq!(terms(&t, &contract).len(), 2, "one next term");
    let renewals = show(&t, &contract)["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == "renewed")
        .count();
    assert_eq!(renewals, 1);
}

#[test]
fn declining_stops_the_emails_before_the_end_and_keeps_the_thank_you() {
    let smtp = SmtpTestServer::start();
    let port = free_port();
    let t = linked(&smtp, port);
    let contract = contract_2027(&t, &[]);
    let links = t.json(&["contract", "links", &contract, "--json"]);
    let _serve = Served::start(&t, port);

    let decline = path_of(links["decline"].as_str().expect("decline")).to_string();
    let (status, page) = http_request(port, "POST", &decline).expect("decline");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("no more renewal reminders"), "{page}");
    assert_eq!(show(&t, &contract)["answer"], "decline");
    for step in ["before_60", "before_30", "before_7"] {
        assert_eq!(status_of(&t, &contract, step, 1), "cancelled", "{step}");
    }
    assert_eq!(status_of(&t, &contract, "after_7", 1), "scheduled");

    // Taken once: the page says what was decided; the team's decline is refused too.
    let (_, page) = http_request(port, "POST", &decline).expect("again");
    assert!(page.contains("do not wish to renew") && page.contains("Nothing was changed"));
    let error = t.fails(&["contract", "decline", &contract]);
    assert!(error.contains("already decline"), "{error}");
    // A renew link of the declined term changes nothing either.
    let renew = path_of(links["renew"].as_str().expect("renew")).to_string();
    let (_, page) = http_request(port, "POST", &renew).expect("renew after decline");
    assert!(page.contains("do not wish to renew"), "{page}");
    assert_eq!(terms(&t, &contract).len(), 1);
}

#[test]
fn asking_for_a_quote_puts_a_task_before_the_owner_once() {
    let smtp = SmtpTestServer::start();
    let port = free_port();
    let t = linked(&smtp, port);
    let contract = contract_2027(&t, &[]);
    let links = t.json(&["contract", "links", &contract, "--json"]);
    let _serve = Served::start(&t, port);

    // 14 days after the first email, the owner's call is a task.
    t.dispatch_at("2027-11-15T09:00:00Z");
    let open = t.json(&["task", "list", "--status", "open", "--json"]);
    assert_eq!(open.as_array().map(Vec::len), Some(1), "{open}");
    assert_eq!(open[0]["title"], "Call the customer");

    let quote = path_of(links["quote"].as_str().expect("quote")).to_string();
    let (status, page) = http_request(port, "POST", &quote).expect("quote");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("preparing a renewal quote"), "{page}");
    assert_eq!(show(&t, &contract)["answer"], "quote");
    // The call vanishes; preparing the quote takes its place.
    let open = t.json(&["task", "list", "--status", "open", "--json"]);
    assert_eq!(open.as_array().map(Vec::len), Some(1), "{open}");
    assert!(
        open[0]["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Prepare a renewal quote")),
        "{open}"
    );
    assert_eq!(open[0]["owner"], OWNER);
    let (_, page) = http_request(port, "POST", &quote).expect("again");
    assert!(
        page.contains("You have asked for a renewal quote"),
        "{page}"
    );
    let answered = show(&t, &contract)["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == "answered")
        .count();
    assert_eq!(answered, 1);
    let notice = smtp
        .wait_for_messages(2, WAIT)
        .into_iter()
        .find(|m| m.to == [OWNER] && m.subject.contains("renewal quote"))
        .expect("the owner is emailed");
    assert!(
        notice.body.contains("Prepare a renewal quote"),
        "{}",
        notice.body
    );
    // The renewal is still open: the customer may still renew.
    let renew = path_of(links["renew"].as_str().expect("renew")).to_string();
    let (_, page) = http_request(port, "POST", &renew).expect("renew");
    assert!(page.contains("your contract is renewed"), "{page}");
}

#[test]
fn an_expired_link_says_so_and_changes_nothing() {
    let smtp = SmtpTestServer::start();
    let port = free_port();
    let t = linked(&smtp, port);
    t.owner();
    let customer = t.ok(&[
        "customer",
        "add",
        "--name",
        "Old",
        "--email",
        "old@acme.example",
    ]);
    // Its links stopped working 60 days after 2025-12-31.
    let contract = t.ok(&[
        "contract",
        "add",
        "--customer",
        &customer,
        "--title",
        "Old service",
        "--start",
        "2025-01-01",
        "--end",
        "2025-12-31",
    ]);
    let links = t.json(&["contract", "links", &contract, "--json"]);
    assert_eq!(links["expires_on"], "2026-03-01");
    let _serve = Served::start(&t, port);
    let renew = path_of(links["renew"].as_str().expect("renew")).to_string();
    for method in ["GET", "POST"] {
        let (status, page) = http_request(port, method, &renew).expect("page");
        assert_eq!(status, 410, "{page}");
        assert!(page.contains("This link has expired"), "{page}");
    }
    assert_eq!(terms(&t, &contract).len(), 1);
}

#[test]
fn rotating_the_secret_retires_every_link_sent() {
    let smtp = SmtpTestServer::start();
    let port = free_port();
    let t = linked(&smtp, port);
    let contract = contract_2027(&t, &[]);
    let before = t.json(&["contract", "links", &contract, "--json"]);
    let said = t.ok(&["secret", "rotate"]);
    assert!(said.contains("no longer work"), "{said}");
    let after = t.json(&["contract", "links", &contract, "--json"]);
    assert_ne!(before["renew"], after["renew"]);
    let _serve = Served::start(&t, port);
    let old = path_of(before["renew"].as_str().expect("renew")).to_string();
    let (status, _) = http_request(port, "GET", &old).expect("old link");
    assert_eq!(status, 400);
    let new = path_of(after["renew"].as_str().expect("renew")).to_string();
    let (status, _) = http_request(port, "GET", &new).expect("new link");
    assert_eq!(status, 200);
}

#[test]
fn without_a_public_url_there_are_no_links_and_emails_ask_for_a_reply() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let contract = contract_2027(&t, &[]);
    let error = t.fails(&["contract", "links", &contract]);
    assert!(error.contains("TICKLER_PUBLIC_URL"), "{error}");
    t.dispatch_at("2027-11-01T09:00:00Z");
    let email = smtp.wait_for_messages(1, WAIT).remove(0);
    assert!(!email.body.contains("/answer/"), "{}", email.body);
    assert!(email.body.contains("reply to this email"), "{}", email.body);
    assert_eq!(email.header("Reply-To").as_deref(), Some(OWNER));
}

#[test]
fn an_auto_contract_is_told_before_its_notice_date_and_renews_itself() {
    let smtp = SmtpTestServer::start();
    let port = free_port();
    let t = linked(&smtp, port);
    let contract = contract_2027(&t, &["--renewal", "auto", "--notice-days", "30"]);
    let detail = show(&t, &contract);
    assert_eq!(detail["renewal"], "auto");
    assert_eq!(detail["notice_date"], "2027-12-01");
    assert_eq!(detail["plan"], "auto_renewal");

    // 30 days before the notice date, at 09:00 in the customer's zone, not a second sooner.
    t.dispatch_at("2027-11-01T08:59:59Z");
    assert!(smtp.messages().is_empty());
    t.dispatch_at("2027-11-01T09:00:00Z");
    let notice = smtp.wait_for_messages(1, WAIT).remove(0);
    assert!(
        notice.subject.contains("1 December 2027"),
        "{}",
        notice.subject
    );
    let links = links_in(&notice, port);
    assert_eq!(links.len(), 1, "the decline link only: {}", notice.body);
    assert!(links[0].contains("/answer/"));

    // Not before the term has ended; then by itself, at the next run.
    let out = t.dispatch_at("2027-12-31T23:59:59Z");
    assert!(!out.contains("terms started"), "{out}");
    assert_eq!(terms(&t, &contract).len(), 1);
    let out = t.dispatch_at("2028-01-01T00:00:00Z");
    assert!(out.contains("terms started by themselves 1"), "{out}");
    let all = terms(&t, &contract);
    assert_eq!(all.len(), 2);
    assert_eq!(
        (all[1]["start"].as_str(), all[1]["end"].as_str()),
        (Some("2028-01-01"), Some("2028-12-31"))
    );
    assert_eq!(show(&t, &contract)["notice_date"], "2028-12-01");
    // The owner heard 7 days before the end.
    assert!(
        smtp.messages()
            .iter()
            .any(|m| m.to == [OWNER] && m.subject.contains("renews by itself"))
    );
    // Running again changes nothing.
    t.dispatch_at("2028-01-01T00:00:00Z");
    assert_eq!(terms(&t, &contract).len(), 2);
}

#[test]
fn a_declined_auto_contract_does_not_renew() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let contract = contract_2027(&t, &["--renewal", "auto", "--notice-days", "30"]);
    t.ok(&[
        "contract",
        "decline",
        &contract,
        "--reason",
        "moving to another provider",
    ]);
    assert_eq!(show(&t, &contract)["answer"], "decline");
    assert_eq!(
        status_of(&t, &contract, "auto_renewal_notice", 1),
        "cancelled"
    );
    let out = t.dispatch_at("2028-02-01T00:00:00Z");
    assert!(!out.contains("terms started"), "{out}");
    assert_eq!(terms(&t, &contract).len(), 1);
    // The customer changed their mind and the team renewed: the refusal stays with the
    // term it refused, and the new term renews by itself again.
    t.ok(&["contract", "renew", &contract]);
    assert!(show(&t, &contract)["answer"].is_null());
    let out = t.dispatch_at("2029-01-01T00:00:00Z");
    assert!(out.contains("terms started by themselves 1"), "{out}");
    assert_eq!(terms(&t, &contract).len(), 3);
}

#[test]
fn an_evergreen_sale_has_no_end_emails_and_its_invoices_go_on() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let contract = contract_2027(
        &t,
        &[
            "--renewal",
            "evergreen",
            "--bill-every",
            "1m",
            "--line",
            "Support|1|100|24",
        ],
    );
    let detail = show(&t, &contract);
    assert_eq!(detail["renewal"], "evergreen");
    assert!(detail["notice_date"].is_null());
    let steps: Vec<String> = t
        .reminders(&contract)
        .iter()
        .map(|r| r["step"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        !steps
            .iter()
            .any(|s| s == "sale_ending" || s == "sale_ended"),
        "{steps:?}"
    );
    t.dispatch_at("2028-02-01T12:00:00Z");
    assert!(terms(&t, &contract).len() >= 2, "the year rolled on");
    let invoices = t.json(&["invoice", "list", "--contract", &contract, "--json"]);
    let count = invoices.as_array().map(Vec::len).unwrap_or_default();
    assert_eq!(count, 14, "January 2027 to February 2028: {invoices}");
}

#[test]
fn renewal_flags_are_checked_and_bad_ones_change_nothing() {
    let t = Tickler::new(None);
    let contract = contract_2027(&t, &[]);
    let error = t.fails(&[
        "contract",
        "add",
        "--customer",
        "1",
        "--title",
        "X",
        "--start",
        "2027-01-01",
        "--end",
        "2027-12-31",
        "--notice-days",
        "30",
    ]);
    assert!(
        error.contains("--notice-days needs --renewal auto"),
        "{error}"
    );
    let error = t.fails(&[
        "contract",
        "add",
        "--customer",
        "1",
        "--title",
        "X",
        "--start",
        "2027-01-01",
        "--end",
        "2027-01-10",
        "--renewal",
        "auto",
        "--notice-days",
        "30",
    ]);
    assert!(error.contains("longer than the term"), "{error}");
    let error = t.fails(&[
        "contract",
        "add",
        "--customer",
        "1",
        "--title",
        "X",
        "--start",
        "2027-01-01",
        "--end",
        "2027-12-31",
        "--renewal",
        "evergreen",
    ]);
    assert!(error.contains("no end date"), "{error}");
    let error = t.fails(&[
        "contract",
        "add",
        "--customer",
        "1",
        "--title",
        "X",
        "--start",
        "2027-01-01",
        "--end",
        "2027-12-31",
        "--renewal",
        "sometimes",
    ]);
    assert!(error.contains("unknown renewal \"sometimes\""), "{error}");
    let list = t.json(&["contract", "list", "--json"]);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "only {contract}");
}

#[test]
fn a_quote_accepted_by_its_link_starts_the_linked_next_term_once() {
    let smtp = SmtpTestServer::start();
    let port = free_port();
    let t = linked(&smtp, port);
    let contract = contract_2027(&t, &[]);
    let quote = t.ok(&[
        "quote",
        "create",
        "--contract",
        &contract,
        "--line",
        "PBX maintenance 2028|1|1300|24",
    ]);
    t.ok(&["quote", "send", &quote]);
    let _serve = Served::start(&t, port);
    // `serve`'s dispatcher sends the quote at once, its PDF attached.
    let email = smtp
        .wait_for_messages(1, WAIT)
        .into_iter()
        .find(|m| m.subject.contains(&format!("Q-{quote}")))
        .expect("the quote's email");
    let links = links_in(&email, port);
    assert_eq!(links.len(), 2, "accept and decline: {}", email.body);
    let (accept, decline) = (path_of(&links[0]), path_of(&links[1]));
    assert!(
        email
            .html
            .as_deref()
            .is_some_and(|h| h.contains("Accept the quote"))
    );

    let (status, page) = http_request(port, "GET", accept).expect("page");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("Q-{quote}")) && page.contains("Accept the quote"));
    assert!(page.contains("2028-01-01 to 2028-12-31"), "{page}");
    assert_eq!(terms(&t, &contract).len(), 1, "a GET accepts nothing");

    let (status, page) = http_request(port, "POST", accept).expect("accept");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("the quote is accepted"), "{page}");
    let all = terms(&t, &contract);
    assert_eq!(all.len(), 2);
    assert_eq!(all[1]["quote_id"].to_string(), quote);
    assert_eq!(all[1]["previous_term_id"], all[0]["id"]);
    let shown = t.json(&["quote", "show", &quote, "--json"]);
    assert_eq!(shown["status"], "accepted");
    assert_eq!(shown["next_term_id"], all[1]["id"]);
    assert_eq!(status_of(&t, &contract, "before_60", 2), "scheduled");

    // Once: again, or declining after, says it was accepted and changes nothing.
    for path in [accept, decline] {
        let (status, page) = http_request(port, "POST", path).expect("again");
        assert_eq!(status, 200);
        assert!(page.contains("This quote was accepted"), "{page}");
    }
    assert_eq!(terms(&t, &contract).len(), 2);
    let error = t.fails(&["quote", "accept", &quote]);
    assert!(error.contains("already accepted"), "{error}");
}

#[test]
fn a_contract_made_auto_later_gets_its_notice_date_and_plan() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let contract = contract_2027(&t, &[]);
    assert_eq!(show(&t, &contract)["plan"], "renewal");
    let error = t.fails(&["contract", "edit", &contract, "--notice-days", "30"]);
    assert!(
        error.contains("--notice-days needs --renewal auto"),
        "{error}"
    );
    t.ok(&[
        "contract",
        "edit",
        &contract,
        "--renewal",
        "auto",
        "--notice-days",
        "45",
    ]);
    let detail = show(&t, &contract);
    assert_eq!(detail["renewal"], "auto");
    assert_eq!(detail["notice_days"], 45);
    assert_eq!(detail["notice_date"], "2027-11-16");
    assert_eq!(
        detail["plan"], "auto_renewal",
        "the default plan follows the type"
    );
    let notice = t.reminder(&contract, "auto_renewal_notice", 1);
    assert_eq!(notice["status"], "scheduled");
    assert_eq!(status_of(&t, &contract, "before_60", 1), "cancelled");
    // Back to expiring: the notice period goes with it, the renewal plan comes back.
    t.ok(&["contract", "edit", &contract, "--renewal", "expires"]);
    let detail = show(&t, &contract);
    assert_eq!(detail["renewal"], "expires");
    assert!(detail["notice_date"].is_null() && detail["notice_days"].is_null());
    assert_eq!(detail["plan"], "renewal");
}
