//! The salesperson's daily work from the command line, end to end: wording computed for the
//! moment an email is actually sent, Message-IDs under the sender's domain, plans the team
//! makes, copies and archives, a customer's own plan, undoing a skip and sending a missed
//! email late. The real binary, a real database, a real SMTP server.

mod support;

use jiff::{Timestamp, ToSpan, civil::Date, tz::TimeZone};
use serde_json::Value;
use support::{OWNER, Tickler, field};
use tickler_testkit::SmtpTestServer;

/// Today in UTC (the customers of these tests live in UTC), and the date `days` later.
fn in_days(days: i64) -> Date {
    let today = Timestamp::now().to_zoned_datetime(TimeZone::UTC).date();
    today.checked_add(days.days()).expect("a date")
}

/// The owner and a customer in UTC with a contract ending `end`; returns the contract id.
fn contract_ending(t: &Tickler, end: Date) -> String {
    t.contract("en", "UTC", "ops@acme.example", &end.to_string())
}

fn sent_to_customer(smtp: &SmtpTestServer) -> Vec<tickler_testkit::ReceivedMessage> {
    support::messages_to(smtp, "ops@acme.example")
}

#[test]
fn an_email_sent_early_counts_its_days_from_the_day_it_goes_out() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    // The final notice (7 days before the end) is 17 days away: sent now, 24 days are left.
    let contract = contract_ending(&t, in_days(24));
    let notice = t.reminder(&contract, "before_7", 1);
    assert_eq!(field(&notice, "status"), "scheduled");
    assert!(
        field(&notice, "body").contains("in 7 days"),
        "as scheduled it reads as of its own day:\n{}",
        field(&notice, "body")
    );
    let id = notice["id"].to_string();

    // What `reminder show` offers to send now is today's wording, with its own version.
    let shown = t.json(&["reminder", "show", &id, "--json"]);
    let now = &shown["if_sent_now"];
    assert!(
        field(now, "body").contains("in 24 days"),
        "{}",
        field(now, "body")
    );
    assert_ne!(field(now, "version"), field(&shown, "version"));
    let text = t.ok(&["reminder", "show", &id]);
    assert!(text.contains("if sent now"), "{text}");

    // Sending the version read as scheduled is refused: the words would differ.
    let refused = t.fails(&[
        "reminder",
        "send",
        &id,
        "--version",
        field(&shown, "version"),
    ]);
    assert!(refused.contains("changed since you read it"), "{refused}");
    assert!(sent_to_customer(&smtp).is_empty());

    t.ok(&["reminder", "send", &id, "--version", field(now, "version")]);
    let sent = smtp.wait_for_messages(1, std::time::Duration::from_secs(10));
    let message = sent
        .iter()
        .find(|m| m.to == ["ops@acme.example"])
        .expect("the final notice");
    assert!(
        message.body.contains("in 24 days"),
        "sent with today's wording:\n{}",
        message.body
    );
    assert!(!message.body.contains("in 7 days"));
    let recorded = t.json(&["reminder", "show", &id, "--json"]);
    assert!(field(&recorded, "body").contains("in 24 days"));
    assert!(recorded["if_sent_now"].is_null());
}

#[test]
fn a_message_id_minted_before_the_sender_was_set_goes_out_under_the_senders_domain() {
    let smtp = SmtpTestServer::start();
    let mut t = Tickler::with_smtp(&smtp);
    // Entered before anyone set a sender: the ids end in @localhost.
    t.set_env("TICKLER_MAIL_FROM", "Tickler <tickler@localhost>");
    let contract = contract_ending(&t, in_days(40));
    let reminder = t.reminder(&contract, "before_30", 1);
    let minted = field(&reminder, "message_id").to_string();
    assert!(minted.ends_with("@localhost"), "{minted}");

    t.set_env(
        "TICKLER_MAIL_FROM",
        "Renewals at Firm <renewals@firm.example>",
    );
    let id = reminder["id"].to_string();
    t.ok(&["reminder", "send", &id]);
    let sent = smtp.wait_for_messages(1, std::time::Duration::from_secs(10));
    let message = sent
        .iter()
        .find(|m| m.to == ["ops@acme.example"])
        .expect("the reminder");
    let local = minted.trim_end_matches("@localhost");
    assert_eq!(message.message_id, format!("{local}@firm.example"));
    let recorded = t.json(&["reminder", "show", &id, "--json"]);
    assert_eq!(field(&recorded, "message_id"), message.message_id);
}

fn plan_names(t: &Tickler) -> Vec<(String, bool)> {
    match t.json(&["plan", "list", "--json"]) {
        Value::Array(plans) => plans
            .iter()
            .map(|p| (field(p, "name").to_string(), p["archived"] == true))
            .collect(),
        other => panic!("not a list: {other}"),
    }
}

#[test]
fn the_team_makes_copies_renames_and_archives_plans() {
    let t = Tickler::new(None);
    let shipped = plan_names(&t);
    for name in ["renewal", "auto_renewal", "subscription", "dunning"] {
        assert!(
            shipped.contains(&(name.to_string(), false)),
            "{name} in {shipped:?}"
        );
    }

    // A plan from a file: the renewal plan's steps as `plan show --json` prints them, less
    // the call and the thank-you.
    let mut renewal = t.json(&["plan", "show", "renewal", "--json"]);
    assert_eq!(renewal["built_in"], true);
    let steps = renewal["steps"].as_array_mut().expect("steps");
    steps.retain(|s| s["key"] != "call_customer" && s["key"] != "after_7");
    let file = t.dir().join("short.json");
    std::fs::write(&file, renewal.to_string()).expect("write");
    let short = t.ok(&[
        "plan",
        "add",
        "--name",
        "short renewal",
        "--steps",
        file.to_str().expect("path"),
        "--noun",
        "support agreement",
    ]);
    let shown = t.json(&["plan", "show", &short, "--json"]);
    assert_eq!(field(&shown, "name"), "short renewal");
    assert_eq!(field(&shown, "noun"), "support agreement");
    assert_eq!(shown["steps"].as_array().map(Vec::len), Some(3));

    // A contract on it gets its three emails, which call the contract by the plan's noun.
    t.owner();
    let customer = t.customer("Acme Corporation", "ops@acme.example", "en", "UTC");
    let end = in_days(100).to_string();
    let contract = t.ok(&[
        "contract",
        "add",
        "--customer",
        &customer,
        "--title",
        "PBX care",
        "--start",
        "2026-01-01",
        "--end",
        &end,
        "--plan",
        "short renewal",
    ]);
    let reminders = t.reminders(&contract);
    let steps: Vec<&str> = reminders.iter().map(|r| field(r, "step")).collect();
    assert_eq!(steps, ["before_60", "before_30", "before_7"]);
    assert!(
        field(&reminders[0], "body").contains("your support agreement \"PBX care\""),
        "{}",
        field(&reminders[0], "body")
    );

    // A copy, renamed; the name is unique; the shipped plans keep theirs.
    let copy = t.ok(&["plan", "copy", "short renewal", "--name", "copy"]);
    t.ok(&["plan", "edit", &copy, "--name", "three emails"]);
    let taken = t.fails(&["plan", "copy", "renewal", "--name", "three emails"]);
    assert!(taken.contains("already named \"three emails\""), "{taken}");
    let kept = t.fails(&["plan", "edit", "renewal", "--name", "mine"]);
    assert!(kept.contains("keeps its name"), "{kept}");
    let kept = t.fails(&["plan", "archive", "renewal"]);
    assert!(kept.contains("cannot be archived"), "{kept}");

    // Archived: no new contract may choose it; its contract goes on.
    let second_on_short_plan = [
        "contract",
        "add",
        "--customer",
        &customer,
        "--title",
        "Second",
        "--start",
        "2026-01-01",
        "--end",
        &end,
        "--plan",
        "short renewal",
    ];
    t.ok(&["plan", "archive", "short renewal"]);
    assert!(plan_names(&t).contains(&("short renewal".to_string(), true)));
    let refused = t.fails(&second_on_short_plan);
    assert!(refused.contains("is archived"), "{refused}");
    assert_eq!(t.reminders(&contract).len(), 3);
    t.ok(&["contract", "edit", &contract, "--title", "PBX care plus"]);
    t.ok(&["plan", "restore", "short renewal"]);
    t.ok(&second_on_short_plan);
}

#[test]
fn a_steps_file_that_is_not_a_plan_is_refused_with_its_position() {
    let t = Tickler::new(None);
    let file = t.dir().join("bad.json");
    std::fs::write(
        &file,
        "[\n  {\"key\": \"before_60\",\n   \"label\": 3}\n]\n",
    )
    .expect("write");
    let error = t.fails(&[
        "plan",
        "add",
        "--name",
        "broken",
        "--steps",
        file.to_str().expect("path"),
    ]);
    assert!(error.contains("bad.json"), "{error}");
    assert!(error.contains("line 3"), "{error}");
    assert!(!plan_names(&t).iter().any(|(name, _)| name == "broken"));

    std::fs::write(&file, "[]").expect("write");
    let error = t.fails(&[
        "plan",
        "add",
        "--name",
        "empty",
        "--steps",
        file.to_str().expect("path"),
    ]);
    assert!(error.contains("at least one step"), "{error}");
}

/// A copy of the renewal plan named "key accounts", and a customer whose own plan it is.
fn customer_on_key_accounts(t: &Tickler) -> String {
    t.ok(&["plan", "copy", "renewal", "--name", "key accounts"]);
    t.ok(&[
        "customer",
        "add",
        "--name",
        "Kanto",
        "--email",
        "it@kanto.example",
        "--plan",
        "key accounts",
    ])
}

#[test]
fn a_customers_own_plan_applies_to_their_new_contracts() {
    let t = Tickler::new(None);
    let customer = customer_on_key_accounts(&t);
    let end = in_days(200).to_string();
    let contract = t.ok(&[
        "contract",
        "add",
        "--customer",
        &customer,
        "--title",
        "Lines",
        "--start",
        "2026-01-01",
        "--end",
        &end,
    ]);
    let shown = t.json(&["contract", "show", &contract, "--json"]);
    assert_eq!(field(&shown, "plan"), "key accounts");

    // Named explicitly, another plan wins; cleared, the default applies again.
    let named = t.ok(&[
        "contract",
        "add",
        "--customer",
        &customer,
        "--title",
        "Other",
        "--start",
        "2026-01-01",
        "--end",
        &end,
        "--plan",
        "renewal",
    ]);
    assert_eq!(
        field(&t.json(&["contract", "show", &named, "--json"]), "plan"),
        "renewal"
    );
    t.ok(&["customer", "edit", &customer, "--plan", ""]);
    let plain = t.ok(&[
        "contract",
        "add",
        "--customer",
        &customer,
        "--title",
        "Third",
        "--start",
        "2026-01-01",
        "--end",
        &end,
    ]);
    assert_eq!(
        field(&t.json(&["contract", "show", &plain, "--json"]), "plan"),
        "renewal"
    );

    // A bad plan adds no customer.
    let refused = t.fails(&[
        "customer",
        "add",
        "--name",
        "Nobody",
        "--email",
        "no@body.example",
        "--plan",
        "nope",
    ]);
    assert!(refused.contains("no plan is named \"nope\""), "{refused}");
}

#[test]
fn an_import_follows_each_existing_customers_own_plan() {
    let t = Tickler::new(None);
    customer_on_key_accounts(&t);
    let end = in_days(200).to_string();
    let csv = t.dir().join("contracts.csv");
    std::fs::write(
        &csv,
        format!(
            "customer_name,customer_email,language,time_zone,title,start,end,owner_email,amount,currency\n\
             Kanto,IT@kanto.example,en,,Lines,2026-01-01,{end},,,\n\
             Beta,info@beta.example,en,,Routers,2026-01-01,{end},,,\n"
        ),
    )
    .expect("write the file");
    t.ok(&["import", "contracts", csv.to_str().expect("a path")]);
    let plans: Vec<(String, String)> = t
        .json(&["contract", "list", "--json"])
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| {
            let shown = t.json(&["contract", "show", &c["id"].to_string(), "--json"]);
            (
                field(c, "title").to_string(),
                field(&shown, "plan").to_string(),
            )
        })
        .collect();
    assert!(
        plans.contains(&("Lines".to_string(), "key accounts".to_string())),
        "the existing customer's own plan: {plans:?}"
    );
    assert!(
        plans.contains(&("Routers".to_string(), "renewal".to_string())),
        "a new customer has none: {plans:?}"
    );
}

#[test]
fn a_user_is_given_a_time_zone_and_a_language() {
    let t = Tickler::new(None);
    t.ok(&[
        "user",
        "add",
        "--email",
        "kim@firm.example",
        "--name",
        "Kim",
    ]);
    t.ok(&[
        "user",
        "edit",
        "kim@firm.example",
        "--time-zone",
        "Asia/Tokyo",
        "--language",
        "ja",
    ]);
    let refused = t.fails(&["user", "edit", "kim@firm.example", "--language", "fr"]);
    assert!(refused.contains("language"), "{refused}");
    let refused = t.fails(&[
        "user",
        "edit",
        "kim@firm.example",
        "--time-zone",
        "Mars/Olympus",
    ]);
    assert!(refused.contains("Mars/Olympus"), "{refused}");
    let refused = t.fails(&["user", "edit", "nobody@firm.example", "--name", "X"]);
    assert!(refused.contains("nobody@firm.example"), "{refused}");
}

#[test]
fn a_skip_can_be_undone_until_the_emails_time() {
    let t = Tickler::new(None);
    let contract = contract_ending(&t, in_days(90));
    let id = t.reminder(&contract, "before_30", 1)["id"].to_string();
    t.ok(&["reminder", "skip", &id, "--reason", "called them instead"]);
    assert_eq!(
        field(&t.reminder(&contract, "before_30", 1), "status"),
        "skipped"
    );
    t.ok(&["reminder", "unskip", &id]);
    let back = t.reminder(&contract, "before_30", 1);
    assert_eq!(field(&back, "status"), "scheduled");
    let again = t.fails(&["reminder", "unskip", &id]);
    assert!(again.contains("not skipped"), "{again}");
}

#[test]
fn an_email_missed_because_the_contract_came_late_can_be_sent_late_once() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    // Entered 20 days before its end: the 60- and 30-day emails were missed.
    let contract = contract_ending(&t, in_days(20));
    let missed = t.reminder(&contract, "before_30", 1);
    assert_eq!(field(&missed, "status"), "cancelled");
    let id = missed["id"].to_string();
    t.ok(&["reminder", "send-missed", &id]);
    let sent = smtp.wait_for_messages(1, std::time::Duration::from_secs(10));
    let message = sent
        .iter()
        .find(|m| m.to == ["ops@acme.example"])
        .expect("the late reminder");
    assert!(message.body.contains("20 days"), "{}", message.body);
    assert_eq!(
        field(&t.reminder(&contract, "before_30", 1), "status"),
        "sent"
    );
    let twice = t.fails(&["reminder", "send-missed", &id]);
    assert!(twice.contains("nothing to send late"), "{twice}");
    // A step that simply lies ahead is no missed email.
    let ahead = t.reminder(&contract, "before_7", 1)["id"].to_string();
    assert!(
        t.fails(&["reminder", "send-missed", &ahead])
            .contains("nothing to send late")
    );
}

#[test]
fn an_invitation_prints_a_link_that_works_once() {
    let t = Tickler::new(None);
    let link = t.ok(&[
        "user",
        "invite",
        "--email",
        "nia@firm.example",
        "--name",
        "Nia New",
        "--role",
        "sales",
    ]);
    let link = link.lines().last().expect("the link").to_string();
    assert!(link.starts_with("/invite/"), "{link}");
    // Already invited and not yet in: a fresh link; once in, no more invitations.
    let again = t.ok(&[
        "user",
        "invite",
        "--email",
        "nia@firm.example",
        "--name",
        "Nia New",
    ]);
    assert_ne!(again.lines().last(), Some(link.as_str()));
    t.owner();
    let mut command = t.command(&["user", "password", "--email", OWNER]);
    command.stdin(std::process::Stdio::piped());
    let mut child = command
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"a long enough password\n")
        .expect("write");
    assert!(child.wait().expect("wait").success());
    let refused = t.fails(&["user", "invite", "--email", OWNER, "--name", "Sam Sales"]);
    assert!(refused.contains("can already log in"), "{refused}");
}
