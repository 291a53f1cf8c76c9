//! `GET /metrics`: Prometheus text with the cluster-wide queue and this process's deliveries.

mod support;

use std::{sync::Arc, time::Duration};

use reqwest::StatusCode;
use tickler_core::clock::FixedClock;
use tickler_testkit::SmtpTestServer;
use tickler_web::{WebConfig, metrics::MetricsToken};

use support::{TestApp, admin, client, get};

/// The value of one sample line, e.g. `tickler_queue_due 0`.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_show_the_queue_and_what_was_delivered() {
    let smtp = SmtpTestServer::start();
    let app = TestApp::start_with(Some(smtp.url()), WebConfig::default()).await;
    let customer = app.customer("Acme", "ops@acme.example", "en", "UTC").await;
    app.contract(customer, "PBX maintenance", "2027-06-30", None)
        .await;

    // No login needed, like /healthz: scrapers have no session.
    let (status, text) = get(&client(), &app, "/metrics").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(sample(&text, "tickler_queue_due"), Some(0.0), "{text}");
    assert_eq!(sample(&text, "tickler_queue_sending"), Some(0.0), "{text}");
    assert_eq!(sample(&text, "tickler_database_up"), Some(1.0), "{text}");

    // As of a day in the 60-day step's window: one due, waiting since its send time.
    let at = |instant: &str| Arc::new(FixedClock(instant.parse().expect("instant")));
    let stats = app
        .engine
        .with_clock(at("2027-05-02T09:00:00Z"))
        .queue_stats()
        .await
        .expect("queue");
    assert_eq!(stats.due, 1);
    assert_eq!(
        stats.oldest_due_at,
        Some("2027-05-01T09:00:00Z".parse().unwrap())
    );

    let receiver = tickler_testkit::webhook_receiver::WebhookReceiver::start();
    app.engine
        .add_webhook(
            &receiver.url(),
            "reminder.sent",
            None,
            &tickler_engine::Actor::system(),
        )
        .await
        .expect("a webhook");
    let report = app
        .engine
        .with_clock(at("2027-05-02T09:00:00Z"))
        .dispatch_due()
        .await
        .expect("dispatch");
    assert_eq!(report.sent, 1);
    smtp.wait_for_messages(1, Duration::from_secs(10));
    let posted = app
        .engine
        .with_clock(at("2027-05-02T09:00:00Z"))
        .deliver_webhooks_due()
        .await
        .expect("webhooks");
    assert_eq!(posted.delivered, 1);

    let (_, text) = get(&client(), &app, "/metrics").await;
    assert_eq!(
        sample(&text, "tickler_deliveries_total{outcome=\"sent\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "tickler_reminders_claimed_total"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "tickler_smtp_send_seconds_count"),
        Some(1.0),
        "{text}"
    );
    // Sent a day late (the clock said so): the lateness is recorded in seconds.
    assert_eq!(
        sample(&text, "tickler_send_lateness_seconds_sum"),
        Some(86_400.0),
        "{text}"
    );
    assert!(
        text.contains("tickler_job_runs_total{job=\"lease_takeover\"}"),
        "{text}"
    );
    // Webhooks: the deliveries by status across instances, and this process's attempts.
    assert_eq!(
        sample(&text, "tickler_webhook_deliveries{status=\"delivered\"}"),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "tickler_webhook_deliveries_total{outcome=\"delivered\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    // Every request is timed by its route's pattern, not its path.
    assert!(
        text.contains(
            "tickler_http_request_duration_seconds_count{method=\"GET\",route=\"/metrics\",status=\"2xx\"}"
        ),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_metrics_token_only_its_bearer_is_answered() {
    let token = "3f0c9a7e51d24b8c9e6a1f2d";
    let app = TestApp::start_with(
        None,
        WebConfig {
            metrics_token: Some(MetricsToken::new(token)),
            ..WebConfig::default()
        },
    )
    .await;
    let scrape = |authorization: Option<String>| {
        let request = client().get(app.url("/metrics"));
        let request = match authorization {
            Some(value) => request.header("authorization", value),
            None => request,
        };
        async move { request.send().await.expect("GET /metrics") }
    };

    let anonymous = scrape(None).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer realm=\"metrics\"")
    );
    assert!(
        !anonymous
            .text()
            .await
            .unwrap()
            .contains("tickler_queue_due")
    );
    for wrong in [
        format!("Bearer {token}x"),
        format!("Bearer {}", &token[1..]),
        format!("Basic {token}"),
        token.to_string(),
    ] {
        let refused = scrape(Some(wrong.clone())).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{wrong}");
    }

    let scraper = scrape(Some(format!("Bearer {token}"))).await;
    assert_eq!(scraper.status(), StatusCode::OK);
    let text = scraper.text().await.unwrap();
    assert_eq!(sample(&text, "tickler_database_up"), Some(1.0), "{text}");
    assert!(
        !format!("{:?}", MetricsToken::new(token)).contains(&token[..6]),
        "the token never shows in Debug output (logs)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn health_endpoints_say_unreachable_without_the_database_error() {
    let app = TestApp::start().await;
    let (status, text) = get(&client(), &app, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text, "ok\ndatabase: reachable\nmail: ok\n");

    // The pool closed: every query fails with sqlx's own text, which must stay in the log.
    app.store.close().await;
    let (status, text) = get(&client(), &app, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text, "ok\ndatabase: unreachable\nmail: ok\n");
    let (status, text) = get(&client(), &app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(text, "not ready: database unreachable\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_backup_shows_on_the_admins_dashboard_and_in_metrics() {
    let app = TestApp::start().await;
    let admin = admin(&app).await;
    let (_, page) = get(&admin, &app, "/").await;
    if !app.engine.takes_own_backups() {
        // PostgreSQL is backed up by its own tools, which Tickler does not see.
        assert!(!page.contains("backup"), "{page}");
        return;
    }
    assert!(page.contains("No backup of the database yet"), "{page}");
    let (_, text) = get(&client(), &app, "/metrics").await;
    assert_eq!(
        sample(&text, "tickler_backup_last_success_timestamp_seconds"),
        Some(0.0),
        "{text}"
    );

    let folder = tempfile::tempdir().expect("temp dir");
    let report = app
        .engine
        .back_up(&folder.path().join("tickler-backup.db"))
        .await
        .expect("a backup");
    assert!(report.size > 0);
    let (_, page) = get(&admin, &app, "/").await;
    assert!(page.contains("Last backup: just now"), "{page}");
    let (_, text) = get(&client(), &app, "/metrics").await;
    let when = sample(&text, "tickler_backup_last_success_timestamp_seconds").expect("gauge");
    assert!(
        (when - jiff::Timestamp::now().as_second() as f64).abs() < 60.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, "tickler_backup_last_size_bytes"),
        Some(report.size as f64)
    );
    assert_eq!(sample(&text, "tickler_backup_last_failed"), Some(0.0));

    // An attempt into a folder that does not exist fails, and says so; the last good one
    // is still the one shown.
    let failed = app
        .engine
        .back_up(&folder.path().join("missing").join("b.db"))
        .await;
    assert!(failed.is_err());
    let (_, page) = get(&admin, &app, "/").await;
    assert!(page.contains("The latest backup failed"), "{page}");
    assert!(page.contains("Last backup: just now"), "{page}");
    let (_, text) = get(&client(), &app, "/metrics").await;
    assert_eq!(sample(&text, "tickler_backup_last_failed"), Some(1.0));

    // Salespeople are not told about backups.
    app.user("sam@firm.example", tickler_core::user::Role::Sales)
        .await;
    let sam = app.login("sam@firm.example").await;
    let (_, page) = get(&sam, &app, "/").await;
    assert!(!page.contains("Last backup"), "{page}");
}
