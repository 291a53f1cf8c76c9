//! Sent mail over real HTTP: the list (status filter, search, pagination) and one message
//! with its headers, body as sent, SMTP reply, attempts and, for a failure, the reason.

mod support;

use std::time::Duration;

use jiff::{Timestamp, ToSpan, tz::TimeZone};
use reqwest::{Client, StatusCode};
use serde_json::json;
use support::{TestApp, href_of, location, post};
use tickler_core::user::Role;
use tickler_engine::Actor;
use tickler_engine::browse::ReminderFilter;
use tickler_testkit::SmtpTestServer;
use tickler_web::WebConfig;

const ADMIN: &str = "ada@firm.example";
const OWNER: &str = "sam@firm.example";
const VIEWER: &str = "vic@firm.example";

fn date_in(days: i64) -> String {
    Timestamp::now()
        .to_zoned_datetime(TimeZone::get("Europe/Athens").unwrap())
        .date()
        .checked_add(days.days())
        .unwrap()
        .to_string()
}

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

async fn fetch(client: &Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let (status, html) = support::get(client, app, path).await;
    (status, decode(&html))
}

async fn reminder_ids(app: &TestApp, contract: i64) -> Vec<i64> {
    app.engine
        .list_reminders(&ReminderFilter {
            contract_id: Some(contract),
            ..ReminderFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        // The four emails; the plan's call is a task for the owner, not a message.
        .filter(|r| r.mode != tickler_core::plan::Mode::Task)
        .map(|r| r.id)
        .collect()
}

async fn team(app: &TestApp) {
    app.user(ADMIN, Role::Admin).await;
    app.user(OWNER, Role::Sales).await;
    app.user(VIEWER, Role::Viewer).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sent_mail_lists_latest_first_searches_and_paginates() {
    let app = TestApp::start().await;
    team(&app).await;
    let acme = app
        .customer("Acme Ltd", "ops@acme.example", "en", "Europe/Athens")
        .await;
    let globex = app
        .customer("Globex Corp", "it@globex.example", "en", "Europe/Athens")
        .await;
    let system = Actor::system();
    // 7 contracts of Acme, 4 emails each, all sent now (into the outbox): 28 messages.
    let mut acme_ids = Vec::new();
    for i in 0..7 {
        let contract = app
            .contract(
                acme,
                &format!("Site {i} PBX"),
                &date_in(100 + i),
                Some(OWNER),
            )
            .await;
        acme_ids.extend(reminder_ids(&app, contract).await);
    }
    let printers = app
        .contract(globex, "Printers care", &date_in(200), Some(OWNER))
        .await;
    let globex_ids = reminder_ids(&app, printers).await;
    for id in acme_ids.iter().chain(&globex_ids[..1]) {
        app.engine
            .send_reminder_now(*id, None, &system)
            .await
            .unwrap();
    }
    let vic = app.login(VIEWER).await;

    let (status, page) = fetch(&vic, &app, "/sent").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("29 messages"), "{page}");
    assert_eq!(
        page.matches("<tr>").count() - 1,
        25,
        "25 rows and the header"
    );
    let next = href_of(&page, "Next page").expect("a next page");
    // Latest first: Globex's, sent last, leads.
    let globex_at = page.find("Printers care").expect("globex row");
    let acme_at = page.find("Site 6 PBX").expect("acme row");
    assert!(globex_at < acme_at);
    let (_, page2) = fetch(&vic, &app, &next).await;
    assert_eq!(page2.matches("<tr>").count() - 1, 4);
    assert!(page2.contains("Site 0 PBX"), "the first sent is last");

    // Search by customer and by contract title, case-insensitive.
    let (_, page) = fetch(&vic, &app, "/sent?q=globex").await;
    assert!(page.contains("1 message"), "{page}");
    assert!(page.contains("Printers care") && !page.contains("Site 0 PBX"));
    let (_, page) = fetch(&vic, &app, "/sent?q=site%203").await;
    assert!(page.contains("4 messages"), "{page}");
    assert!(page.contains("Site 3 PBX") && !page.contains("Site 4 PBX"));
    let (_, page) = fetch(&vic, &app, "/sent?q=nobody").await;
    assert!(page.contains("0 messages"));
    let (status, page) = fetch(&vic, &app, "/sent?q=gl").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("q:") && page.contains("at least 3 characters"),
        "{page}"
    );

    // Status filter; pending emails are not sent mail.
    let (_, page) = fetch(&vic, &app, "/sent?status=failed").await;
    assert!(page.contains("0 messages"));
    let (_, page) = fetch(&vic, &app, "/sent?status=sent&q=acme").await;
    assert!(page.contains("28 messages"));
    assert!(
        page.contains("status=sent") && page.contains("q=acme"),
        "pager keeps filters"
    );
    let (status, page) = fetch(&vic, &app, "/sent?status=pending").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("status:"));
    let (status, page) = fetch(&vic, &app, "/sent?after=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("after:"));

    // A pending one's page is the review page.
    let response = vic
        .get(app.url(&format!("/sent/{}", globex_ids[1])))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/review/{}", globex_ids[1]));
    let (status, _) = fetch(&vic, &app, "/sent/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sent_message_shows_headers_body_reply_and_attempts() {
    let smtp = SmtpTestServer::start();
    let app = TestApp::start_with(Some(smtp.url()), WebConfig::default()).await;
    team(&app).await;
    let acme = app
        .customer("Acme Ltd", "ops@acme.example", "en", "Asia/Tokyo")
        .await;
    let contract = app
        .contract(acme, "PBX maintenance", &date_in(120), Some(OWNER))
        .await;
    let id = reminder_ids(&app, contract).await[0];
    let sam = app.login(OWNER).await;
    let version = app.send_now_version(id).await;
    let send = format!("/review/{id}/send");
    let response = post(&sam, &app, "/review", &send, &[("version", &version)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let message = smtp.wait_for_messages(1, Duration::from_secs(10)).remove(0);
    let view = app.engine.reminder(id).await.unwrap();

    let vic = app.login(VIEWER).await;
    let (status, page) = fetch(&vic, &app, &format!("/sent/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Renewals <renewals@firm.example>"),
        "From: {page}"
    );
    assert!(page.contains("ops@acme.example"));
    assert!(page.contains(OWNER), "Cc");
    assert!(page.contains(&message.subject));
    assert!(page.contains(&format!("<{}>", message.message_id)));
    let sent_at = view.sent_at.unwrap();
    let local = sent_at
        .to_zoned_datetime(TimeZone::get("Europe/Athens").unwrap())
        .strftime("%Y-%m-%d %H:%M")
        .to_string();
    assert!(page.contains(&format!("{local} (Europe/Athens)")), "Date");
    for line in message
        .body
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(3)
    {
        assert!(page.contains(line.trim()), "body as sent: {line}");
    }
    assert!(
        page.contains(view.smtp_reply.as_deref().unwrap()),
        "SMTP reply"
    );
    assert!(page.contains("<dt>Attempts</dt><dd>1</dd>"));
    assert!(page.contains("Lateness"));
    // Its history names who sent it.
    assert!(page.contains("send now") && page.contains(OWNER));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_message_shows_the_reason_and_is_found_by_the_failed_filter() {
    let smtp = SmtpTestServer::start_with_faults(
        json!({"data_reply": "550 5.1.1 Mailbox unavailable", "remaining": 1}),
    );
    let app = TestApp::start_with(Some(smtp.url()), WebConfig::default()).await;
    team(&app).await;
    let acme = app
        .customer("Acme Ltd", "ops@acme.example", "en", "Europe/Athens")
        .await;
    let contract = app
        .contract(acme, "PBX maintenance", &date_in(120), Some(OWNER))
        .await;
    let id = reminder_ids(&app, contract).await[0];
    let admin = app.login(ADMIN).await;
    let version = app.send_now_version(id).await;
    let send = format!("/review/{id}/send");
    let response = post(&admin, &app, "/review", &send, &[("version", &version)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = fetch(&admin, &app, &location(&response)).await;
    assert!(page.contains("Sending failed"), "{page}");
    let failed = app.engine.reminder(id).await.unwrap();
    assert_eq!(failed.status.as_str(), "failed");

    let (_, list) = fetch(&admin, &app, "/sent?status=failed").await;
    assert!(list.contains(&format!("/sent/{id}\"")), "{list}");
    assert!(list.contains("550"));
    let (_, list) = fetch(&admin, &app, "/sent?status=sent").await;
    assert!(!list.contains(&format!("/sent/{id}\"")));

    let (status, page) = fetch(&admin, &app, &format!("/sent/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Not delivered:"), "{page}");
    assert!(page.contains("550 5.1.1 Mailbox unavailable"));
    assert!(page.contains("<dt>Attempts</dt><dd>1</dd>"));
    assert!(page.contains(&format!("<{}>", failed.message_id)));
}
