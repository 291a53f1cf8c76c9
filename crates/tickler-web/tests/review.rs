//! The review queue and one email's page, over real HTTP: filters, pagination, preview
//! before saving, edits, reset, send now, skip, and each role against each action.

mod support;

use std::time::Duration;

use jiff::{Timestamp, ToSpan, civil::DateTime, tz::TimeZone};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use support::{TestApp, href_of, location, post};
use tickler_core::user::Role;
use tickler_engine::{Actor, browse::ReminderFilter, review::ReminderEdits};
use tickler_testkit::SmtpTestServer;
use tickler_web::WebConfig;

const ADMIN: &str = "ada@firm.example";
const OWNER: &str = "sam@firm.example";
const OTHER: &str = "olga@firm.example";
const VIEWER: &str = "vic@firm.example";

fn athens() -> TimeZone {
    TimeZone::get("Europe/Athens").unwrap()
}

/// A date `days` from today in Athens (the viewers' zone), as YYYY-MM-DD.
fn date_in(days: i64) -> String {
    Timestamp::now()
        .to_zoned_datetime(athens())
        .date()
        .checked_add(days.days())
        .unwrap()
        .to_string()
}

/// Users of every role and a customer; contracts come per test.
async fn team(app: &TestApp) -> i64 {
    app.user(ADMIN, Role::Admin).await;
    app.user(OWNER, Role::Sales).await;
    app.user(OTHER, Role::Sales).await;
    app.user(VIEWER, Role::Viewer).await;
    app.customer("Acme Ltd", "ops@acme.example", "en", "Europe/Athens")
        .await
}

/// A contract of Sam's ending in 120 days: its four emails are all ahead.
async fn sams_contract(app: &TestApp, customer: i64) -> i64 {
    app.contract(customer, "PBX maintenance", &date_in(120), Some(OWNER))
        .await
}

async fn reminder_id(app: &TestApp, contract: i64, step: &str) -> i64 {
    app.engine
        .list_reminders(&ReminderFilter {
            contract_id: Some(contract),
            ..ReminderFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.step == step)
        .unwrap_or_else(|| panic!("no {step} reminder"))
        .id
}

/// The reminder as the engine's JSON shows it.
async fn json_of(app: &TestApp, id: i64) -> Value {
    serde_json::to_value(app.engine.reminder(id).await.unwrap()).unwrap()
}

async fn history_len(app: &TestApp, id: i64) -> usize {
    app.engine.reminder_history(id).await.unwrap().len()
}

/// The page's text with HTML's escapes undone, so messages can be compared as written.
fn decode(html: &str) -> String {
    html.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

/// GETs a page: its status and its decoded text.
async fn fetch(client: &Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let (status, html) = support::get(client, app, path).await;
    (status, decode(&html))
}

/// Form fields posted, the message expected, and text the form must keep.
type Case = (
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static str,
);

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

async fn post_form(
    client: &Client,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    post(client, app, "/review", path, fields).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_queue_lists_pending_emails_in_send_order_as_they_will_be_sent() {
    let app = TestApp::start().await;
    let customer = team(&app).await;
    let contract = sams_contract(&app, customer).await;
    let admin = app.login(ADMIN).await;

    let (status, page) = fetch(&admin, &app, "/review").await;
    assert_eq!(status, StatusCode::OK);
    // The four emails and the owner's call (a task step, skippable like the others).
    assert!(page.contains("5 pending emails"), "{page}");
    let first = reminder_id(&app, contract, "before_60").await;
    let last = reminder_id(&app, contract, "after_7").await;
    let at = |id: i64| {
        page.find(&format!("id=\"reminder-{id}\""))
            .unwrap_or_else(|| panic!("reminder {id} missing"))
    };
    assert!(at(first) < at(last), "send order");
    let view = app.engine.reminder(first).await.unwrap();
    assert!(page.contains(&view.subject), "subject as sent");
    assert!(page.contains("ops@acme.example"), "recipients");
    assert!(page.contains(OWNER), "the owner in CC");
    let first_line = view.body.lines().next().unwrap();
    assert!(page.contains(first_line), "body as sent: {first_line}");
    assert!(page.contains("in 59 days") || page.contains("in 60 days"));
    assert!(page.contains("times in Europe/Athens"), "zone named");
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_mine_all_step_dates_range_mode_and_pagination() {
    let app = TestApp::start().await;
    let customer = team(&app).await;
    let mut contracts = Vec::new();
    for i in 0..7 {
        contracts.push(
            app.contract(
                customer,
                &format!("Site {i} maintenance"),
                &date_in(100 + i),
                Some(OWNER),
            )
            .await,
        );
    }
    let sam = app.login(OWNER).await;
    let olga = app.login(OTHER).await;
    let vic = app.login(VIEWER).await;

    // Salespeople see their own by default; others see all. Five steps a contract: four
    // emails and the owner's call.
    let (_, page) = fetch(&sam, &app, "/review").await;
    assert!(page.contains("35 pending emails"), "{page}");
    let (_, page) = fetch(&olga, &app, "/review").await;
    assert!(page.contains("0 pending emails"), "{page}");
    let (_, page) = fetch(&olga, &app, "/review?who=all").await;
    assert!(page.contains("35 pending emails"));
    let (_, page) = fetch(&vic, &app, "/review").await;
    assert!(page.contains("35 pending emails"));

    // Pagination in pages of 25, in send order: the last ten are the seven after_7s (days
    // 107 to 113) and the latest three before_7s (days 97 to 99).
    let (_, page) = fetch(&sam, &app, "/review").await;
    assert_eq!(count(&page, "<tr id=\"reminder-"), 25);
    let next = href_of(&page, "Next page").expect("a link to the next page");
    assert!(
        next.contains("who=mine") && next.contains("after="),
        "{next}"
    );
    let (status, page) = fetch(&sam, &app, &next).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(&page, "<tr id=\"reminder-"), 10);
    assert!(href_of(&page, "Next page").is_none());
    let second_page = page.clone();
    for (i, contract) in contracts.iter().enumerate() {
        let after_7 = reminder_id(&app, *contract, "after_7").await;
        assert!(page.contains(&format!("reminder-{after_7}\"")), "{page}");
        let before_7 = reminder_id(&app, *contract, "before_7").await;
        assert_eq!(
            page.contains(&format!("reminder-{before_7}\"")),
            i >= 4,
            "before_7 of site {i}"
        );
    }

    // No page skips rows by count: `page=` is not a parameter any more (the first page).
    let (status, page) = fetch(&sam, &app, "/review?page=1000000").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(&page, "<tr id=\"reminder-"), 25);

    // By step.
    let (_, page) = fetch(&vic, &app, "/review?step=before_30").await;
    assert!(page.contains("7 pending emails"), "{page}");
    let id = reminder_id(&app, contracts[0], "before_30").await;
    assert!(page.contains(&format!("reminder-{id}")));

    // By date range in the viewer's zone, both ends included: before_60 of sites 0..=2.
    let path = format!("/review?from={}&to={}", date_in(40), date_in(42));
    let (_, page) = fetch(&vic, &app, &path).await;
    assert!(page.contains("3 pending emails"), "{path}: {page}");
    for contract in &contracts[..3] {
        let id = reminder_id(&app, *contract, "before_60").await;
        assert!(page.contains(&format!("reminder-{id}")));
    }

    // The dashboard's links: nothing due this week, nothing waiting for approval.
    let (_, page) = fetch(&vic, &app, "/review?range=today").await;
    assert!(page.contains("0 pending emails"));
    let (_, page) = fetch(&vic, &app, "/review?range=week").await;
    assert!(page.contains("0 pending emails"));
    let (_, page) = fetch(&vic, &app, "/review?mode=approval").await;
    assert!(page.contains("0 pending emails"));

    // Bad filters are named.
    for (path, field) in [
        ("/review?from=2027-02-30", "from"),
        ("/review?to=tomorrow", "to"),
        ("/review?who=everybody", "who"),
        ("/review?range=month", "range"),
        ("/review?mode=loud", "mode"),
        ("/review?after=0x1", "after"),
        ("/review?before_id=last", "before_id"),
    ] {
        let (status, page) = fetch(&vic, &app, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(page.contains(&format!("{field}:")), "{path}: {page}");
    }

    // A cursor is stable: five emails inserted before it (a contract ending sooner) move
    // nothing on the next page, where counting rows (OFFSET) would shift it by five.
    app.contract(customer, "Site 9 PBX", &date_in(70), Some(OWNER))
        .await;
    let (_, page) = fetch(&sam, &app, &next).await;
    let ids = |html: &str| -> Vec<String> {
        html.match_indices("id=\"reminder-")
            .map(|(at, _)| html[at..].split('"').nth(1).unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(ids(&page), ids(&second_page));
    // Back from there: the 25 just before it, and the five new ones before those.
    let previous = href_of(&page, "Previous page").expect("a previous page");
    let (_, back) = fetch(&sam, &app, &previous).await;
    assert_eq!(ids(&back).len(), 25);
    assert!(href_of(&back, "Previous page").is_some(), "{back}");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_email_shows_its_preview_time_zone_history_and_forms_for_those_who_may_act() {
    let app = TestApp::start().await;
    let customer = team(&app).await;
    let contract = sams_contract(&app, customer).await;
    let id = reminder_id(&app, contract, "before_30").await;
    let view = app.engine.reminder(id).await.unwrap();

    let sam = app.login(OWNER).await;
    let (status, page) = fetch(&sam, &app, &format!("/review/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&view.subject));
    assert!(page.contains(view.body.lines().next().unwrap()));
    assert!(page.contains("ops@acme.example") && page.contains(OWNER));
    let local = view
        .send_at
        .to_zoned_datetime(athens())
        .strftime("%Y-%m-%d %H:%M")
        .to_string();
    assert!(page.contains(&format!("{local} (Europe/Athens)")), "{page}");
    assert!(page.contains("in 89 days") || page.contains("in 90 days"));
    assert!(page.contains(&view.message_id));
    for action in ["edit", "preview", "send", "reset", "skip"] {
        assert!(
            page.contains(&format!("/review/{id}/{action}")),
            "{action} form"
        );
    }
    assert!(page.contains("type=\"datetime-local\""));
    assert!(page.contains("data-preview="));

    // Olga (sales, not the owner) and Vic (viewer) read it without forms.
    for email in [OTHER, VIEWER] {
        let client = app.login(email).await;
        let (status, page) = fetch(&client, &app, &format!("/review/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(&view.subject));
        assert!(!page.contains(&format!("/review/{id}/send")), "{email}");
        assert!(!page.contains(&format!("/review/{id}/edit")), "{email}");
    }

    // History: an edit appears with who did it.
    let response = post_form(
        &sam,
        &app,
        &format!("/review/{id}/edit"),
        &[("subject", "Your PBX contract: time to renew")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = fetch(&sam, &app, &location(&response)).await;
    assert!(page.contains("Changes saved."));
    assert!(page.contains("edited") && page.contains(OWNER), "{page}");

    let (status, _) = fetch(&sam, &app, "/review/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn preview_renders_the_typed_changes_and_saves_nothing() {
    let app = TestApp::start().await;
    let customer = team(&app).await;
    let contract = sams_contract(&app, customer).await;
    let id = reminder_id(&app, contract, "before_60").await;
    let before = json_of(&app, id).await;
    let history = history_len(&app, id).await;
    let sam = app.login(OWNER).await;

    let fields = [
        ("subject", "A special renewal offer"),
        (
            "body",
            "Dear Acme,\r\n\r\n5% off if you renew this month.\r\n",
        ),
        ("to", "ops@acme.example, cfo@acme.example"),
        ("cc", OWNER),
    ];
    let response = post_form(&sam, &app, &format!("/review/{id}/preview"), &fields).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = decode(&response.text().await.unwrap());
    assert!(page.contains("Preview: as it would be sent"), "{page}");
    assert!(page.contains("A special renewal offer"));
    assert!(page.contains("5% off if you renew this month."));
    assert!(page.contains("cfo@acme.example"));
    assert!(page.contains("Not saved yet"));
    // The form keeps what was typed, ready to save.
    assert!(page.contains("value=\"A special renewal offer\""));

    // The script's variant answers the preview alone.
    let fragment = post_form(
        &sam,
        &app,
        &format!("/review/{id}/preview?fragment=1"),
        &fields,
    )
    .await;
    assert_eq!(fragment.status(), StatusCode::OK);
    let fragment = decode(&fragment.text().await.unwrap());
    assert!(fragment.contains("A special renewal offer"));
    assert!(!fragment.contains("<html"), "{fragment}");
    // ...and names a bad field.
    let bad = post_form(
        &sam,
        &app,
        &format!("/review/{id}/preview?fragment=1"),
        &[("to", "nobody")],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(decode(&bad.text().await.unwrap()).contains("to: \"nobody\""));

    assert_eq!(json_of(&app, id).await, before, "nothing saved");
    assert_eq!(history_len(&app, id).await, history, "nothing recorded");
    let (_, queue) = fetch(&sam, &app, "/review").await;
    assert!(!queue.contains("A special renewal offer"));
}

#[tokio::test(flavor = "multi_thread")]
async fn edits_show_on_the_queue_and_in_the_engine_and_reset_brings_the_template_back() {
    let app = TestApp::start().await;
    let customer = team(&app).await;
    let contract = sams_contract(&app, customer).await;
    let id = reminder_id(&app, contract, "before_60").await;
    let original = json_of(&app, id).await;
    let sam = app.login(OWNER).await;

    let new_time = format!("{}T10:30", date_in(65));
    let response = post_form(
        &sam,
        &app,
        &format!("/review/{id}/edit"),
        &[
            ("subject", "A special renewal offer"),
            (
                "body",
                "Dear Acme,\r\n\r\n5% off if you renew this month.\r\n",
            ),
            ("to", "ops@acme.example, cfo@acme.example"),
            ("cc", "boss@firm.example"),
            ("send_at", &new_time),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/review/{id}"));

    let edited = json_of(&app, id).await;
    assert_eq!(edited["subject"], json!("A special renewal offer"));
    assert_eq!(
        edited["body"],
        json!("Dear Acme,\n\n5% off if you renew this month.\n")
    );
    assert_eq!(
        edited["to"],
        json!(["ops@acme.example", "cfo@acme.example"])
    );
    assert_eq!(edited["cc"], json!(["boss@firm.example"]));
    assert_eq!(edited["edited"], json!(true));
    let expected: Timestamp = athens()
        .to_ambiguous_timestamp(new_time.parse::<DateTime>().unwrap())
        .compatible()
        .unwrap();
    assert_eq!(
        edited["send_at"],
        json!(expected.to_string()),
        "Athens time"
    );

    let (_, queue) = fetch(&sam, &app, "/review").await;
    assert!(queue.contains("A special renewal offer"));
    assert!(queue.contains("cfo@acme.example"));
    assert!(queue.contains("5% off if you renew this month."));

    // Posting the form unchanged changes nothing.
    let (_, page) = fetch(&sam, &app, &format!("/review/{id}")).await;
    assert!(page.contains(&format!("value=\"{new_time}\"")), "{page}");
    let response = post_form(
        &sam,
        &app,
        &format!("/review/{id}/edit"),
        &[
            ("subject", "A special renewal offer"),
            ("to", "ops@acme.example, cfo@acme.example"),
            ("cc", "boss@firm.example"),
            ("send_at", &new_time),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/review/{id}"));
    let (_, page) = fetch(&sam, &app, &location(&response)).await;
    assert!(page.contains("Nothing changed."), "the notice: {page}");
    assert_eq!(json_of(&app, id).await, edited);

    // Reset: the template's wording and the computed recipients; the time edit stays.
    let response = post_form(&sam, &app, &format!("/review/{id}/reset"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let reset = json_of(&app, id).await;
    assert_eq!(reset["subject"], original["subject"]);
    // The template again, its days counted from the edited send time.
    let body = reset["body"].as_str().unwrap();
    assert!(body.starts_with("Dear Acme Ltd,"), "{body}");
    assert!(
        body.contains("in 55 days") && !body.contains("5% off"),
        "{body}"
    );
    assert_eq!(reset["to"], original["to"]);
    assert_eq!(reset["cc"], original["cc"]);
    assert_eq!(reset["send_at"], edited["send_at"]);
    let history = app.engine.reminder_history(id).await.unwrap();
    assert_eq!(history.last().unwrap().action, "reset");
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_errors_name_the_field_keep_the_typed_values_and_change_nothing() {
    let app = TestApp::start().await;
    let customer = team(&app).await;
    let contract = sams_contract(&app, customer).await;
    let id = reminder_id(&app, contract, "before_7").await;
    let before = json_of(&app, id).await;
    let admin = app.login(ADMIN).await;

    let cases: [Case; 7] = [
        (
            &[("to", "ops@acme.example, not-an-address")],
            "\"not-an-address\" is not a valid email address",
            "value=\"ops@acme.example, not-an-address\"",
        ),
        (&[("to", " ")], "give at least one address", ""),
        (
            &[("cc", "boss@@firm")],
            "\"boss@@firm\"",
            "value=\"boss@@firm\"",
        ),
        (
            &[("subject", "   "), ("body", "Kept body text")],
            "must not be empty",
            "Kept body text",
        ),
        (&[("body", "  ")], "must not be empty", ""),
        (
            &[("send_at", "2027-13-45T10:00")],
            "\"2027-13-45T10:00\" is not a date and time",
            "value=\"2027-13-45T10:00\"",
        ),
        (
            &[("send_at", "2020-01-01T10:00")],
            "2020-01-01T10:00 is in the past",
            "",
        ),
    ];
    for (fields, message, kept) in cases {
        for action in ["edit", "preview"] {
            let response = post_form(&admin, &app, &format!("/review/{id}/{action}"), fields).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{fields:?}");
            let page = decode(&response.text().await.unwrap());
            assert!(page.contains(message), "{action} {fields:?}: {page}");
            assert!(page.contains(kept), "{action} {fields:?} keeps {kept}");
            assert!(page.contains("aria-invalid=\"true\""));
        }
    }
    assert_eq!(json_of(&app, id).await, before);
}

/// An app sending through a real SMTP test server, Sam's contract's first email, and Sam
/// logged in.
async fn sams_first_email_over_smtp() -> (SmtpTestServer, TestApp, i64, Client) {
    let smtp = SmtpTestServer::start();
    let app = TestApp::start_with(Some(smtp.url()), WebConfig::default()).await;
    let customer = team(&app).await;
    let contract = sams_contract(&app, customer).await;
    let id = reminder_id(&app, contract, "before_60").await;
    let sam = app.login(OWNER).await;
    (smtp, app, id, sam)
}

#[tokio::test(flavor = "multi_thread")]
async fn send_now_delivers_with_the_owner_in_cc_and_then_every_action_is_a_conflict() {
    let (smtp, app, id, sam) = sams_first_email_over_smtp().await;

    post_form(
        &sam,
        &app,
        &format!("/review/{id}/edit"),
        &[("subject", "Renewing your PBX maintenance")],
    )
    .await;
    let version = app.send_now_version(id).await;
    let send = format!("/review/{id}/send");
    let response = post_form(&sam, &app, &send, &[("version", &version)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let received = smtp.wait_for_messages(1, Duration::from_secs(10));
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.subject, "Renewing your PBX maintenance");
    assert_eq!(message.to, vec!["ops@acme.example"]);
    assert_eq!(message.cc, vec![OWNER]);
    let sent = json_of(&app, id).await;
    assert_eq!(sent["status"], json!("sent"));
    assert_eq!(message.message_id, sent["message_id"].as_str().unwrap());
    let (_, page) = fetch(&sam, &app, &location(&response)).await;
    assert!(
        page.contains("Sent. The mail server answered: 250"),
        "{page}"
    );

    // Sent: still viewable, but nothing more can be done to it.
    for (action, fields) in [
        ("edit", vec![("subject", "Too late")]),
        ("preview", vec![("subject", "Too late")]),
        ("reset", vec![]),
        ("send", vec![]),
        ("skip", vec![("reason", "too late")]),
    ] {
        let response = post_form(&sam, &app, &format!("/review/{id}/{action}"), &fields).await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{action}");
        assert!(decode(&response.text().await.unwrap()).contains("sent"));
    }
    assert_eq!(json_of(&app, id).await, sent);
    assert_eq!(smtp.messages().len(), 1, "sent once");
    let (status, page) = fetch(&sam, &app, &format!("/review/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("can no longer be changed"));
    assert!(!page.contains(&format!("/review/{id}/send")));
}

#[tokio::test(flavor = "multi_thread")]
async fn skip_records_the_reason_and_leaves_the_queue() {
    let app = TestApp::start().await;
    let customer = team(&app).await;
    let contract = sams_contract(&app, customer).await;
    let id = reminder_id(&app, contract, "after_7").await;
    let admin = app.login(ADMIN).await;
    let response = post_form(
        &admin,
        &app,
        &format!("/review/{id}/skip"),
        &[("reason", "customer renewed by phone")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let skipped = json_of(&app, id).await;
    assert_eq!(skipped["status"], json!("skipped"));
    assert_eq!(skipped["status_reason"], json!("customer renewed by phone"));
    let (_, queue) = fetch(&admin, &app, "/review").await;
    assert!(queue.contains("4 pending emails"));
    assert!(!queue.contains(&format!("reminder-{id}\"")));
    let (status, page) = fetch(&admin, &app, &format!("/review/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("customer renewed by phone"));
}

#[tokio::test(flavor = "multi_thread")]
async fn each_role_against_each_action() {
    let app = TestApp::start().await;
    let customer = team(&app).await;
    let contract = sams_contract(&app, customer).await;
    let id = reminder_id(&app, contract, "before_30").await;
    let actions: [(&str, Vec<(&str, &str)>); 5] = [
        ("preview", vec![("subject", "Changed")]),
        ("edit", vec![("subject", "Changed")]),
        ("reset", vec![]),
        ("send", vec![]),
        ("skip", vec![("reason", "not wanted")]),
    ];

    // Olga (sales, another's contract) and Vic (viewer): 403, nothing changed.
    let before = json_of(&app, id).await;
    let history = history_len(&app, id).await;
    for email in [OTHER, VIEWER] {
        let client = app.login(email).await;
        for (action, fields) in &actions {
            let response =
                post_form(&client, &app, &format!("/review/{id}/{action}"), fields).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{email} {action}");
        }
    }
    assert_eq!(json_of(&app, id).await, before);
    assert_eq!(history_len(&app, id).await, history);

    // The owner and an admin may do each.
    for email in [OWNER, ADMIN] {
        let client = app.login(email).await;
        let other = app
            .contract(
                customer,
                &format!("Contract of {email}"),
                &date_in(150),
                Some(OWNER),
            )
            .await;
        let rid = reminder_id(&app, other, "before_30").await;
        for (action, fields) in &actions {
            // "Send now" carries the version of the email as the page shows it just now.
            let version = app.send_now_version(rid).await;
            let mut fields = fields.clone();
            if *action == "send" {
                fields.push(("version", &version));
            }
            let response =
                post_form(&client, &app, &format!("/review/{rid}/{action}"), &fields).await;
            let expected = if *action == "preview" {
                StatusCode::OK
            } else {
                StatusCode::SEE_OTHER
            };
            assert_eq!(response.status(), expected, "{email} {action}");
            if *action == "send" {
                assert_eq!(json_of(&app, rid).await["status"], json!("sent"));
                // The rest need a reminder still scheduled.
                break;
            }
        }
        let rid = reminder_id(&app, other, "before_7").await;
        let response = post_form(
            &client,
            &app,
            &format!("/review/{rid}/skip"),
            &[("reason", "no")],
        )
        .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{email} skip");
    }
}

/// The version the email's page carries in its "Send now" form.
fn version_on(page: &str) -> String {
    let marker = "name=\"version\" value=\"";
    let start = page.find(marker).expect("a version field") + marker.len();
    page[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn send_now_sends_only_the_version_that_was_read() {
    let (smtp, app, id, sam) = sams_first_email_over_smtp().await;
    let send = format!("/review/{id}/send");
    let scheduled = json_of(&app, id).await;

    // Sam reads the email; meanwhile the admin rewords it: his click sends nothing.
    let (_, page) = fetch(&sam, &app, &format!("/review/{id}")).await;
    let read = version_on(&page);
    let edit = ReminderEdits {
        subject: Some("Something Sam never read".to_string()),
        ..ReminderEdits::default()
    };
    app.engine
        .edit_reminder(id, edit, &Actor(ADMIN.to_string()))
        .await
        .unwrap();
    let response = post_form(&sam, &app, &send, &[("version", &read)]).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let refusal = decode(&response.text().await.unwrap());
    assert!(
        refusal.contains("changed since you read it: its subject differs now")
            && refusal.contains("nothing was sent"),
        "{refusal}"
    );
    let after = json_of(&app, id).await;
    assert_eq!(
        (&after["status"], &after["send_at"]),
        (&scheduled["status"], &scheduled["send_at"]),
        "still scheduled at its own time"
    );

    // Read again, then the team's template changes under it: the body is named.
    let (_, page) = fetch(&sam, &app, &format!("/review/{id}")).await;
    let read = version_on(&page);
    let template = app.engine.template("before_60", "en").await.unwrap();
    app.engine
        .save_template(
            "before_60",
            "en",
            &template.subject,
            &format!("{}\nP.S. Prices rise next year.", template.body),
            &Actor(ADMIN.to_string()),
        )
        .await
        .unwrap();
    let response = post_form(&sam, &app, &send, &[("version", &read)]).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let refusal = decode(&response.text().await.unwrap());
    assert!(refusal.contains("its body differs now"), "{refusal}");

    // No version, or one that is not a version: refused, saying which field.
    let response = post_form(&sam, &app, &send, &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = post_form(&sam, &app, &send, &[("version", "v2")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(decode(&response.text().await.unwrap()).contains("not an email version"));
    assert!(smtp.messages().is_empty(), "nothing sent");
    assert_eq!(json_of(&app, id).await["status"], json!("scheduled"));

    // What is read now is what goes out.
    let (_, page) = fetch(&sam, &app, &format!("/review/{id}")).await;
    let response = post_form(&sam, &app, &send, &[("version", &version_on(&page))]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let received = smtp.wait_for_messages(1, Duration::from_secs(10));
    assert_eq!(received[0].subject, "Something Sam never read");
    assert!(received[0].body.contains("Prices rise next year"));
}
