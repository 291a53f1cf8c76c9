//! The dashboard: counts and lists that match the data, for every role.

mod support;

use reqwest::StatusCode;
use support::{TestApp, get};
use tickler_core::user::Role;

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_counts_what_is_due_failed_and_expiring() {
    let app = TestApp::start().await;
    app.user("ada@firm.example", Role::Admin).await;
    app.user("vic@firm.example", Role::Viewer).await;
    let customer = app
        .customer("Acme KK", "ops@acme.example", "ja", "Asia/Tokyo")
        .await;
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Athens").unwrap())
        .date();
    // Ends in 20 days: its 7-days-before email is due within the week, the contract expires within 30 days.
    let soon = today
        .checked_add(jiff::ToSpan::days(12))
        .unwrap()
        .to_string();
    let later = today
        .checked_add(jiff::ToSpan::days(200))
        .unwrap()
        .to_string();
    app.contract(customer, "Expiring soon", &soon, Some("ada@firm.example"))
        .await;
    app.contract(customer, "Far away", &later, None).await;

    for viewer in ["ada@firm.example", "vic@firm.example"] {
        let client = app.login(viewer).await;
        let (status, page) = get(&client, &app, "/").await;
        assert_eq!(status, StatusCode::OK, "{viewer}");
        assert!(page.contains("Dashboard"));
        assert!(
            page.contains("Expiring soon"),
            "listed as expiring and going out this week"
        );
        assert!(!page.contains(">Far away<"), "not expiring within 30 days");
        assert!(
            page.contains("<span class=\"count\">1</span><br>due this week"),
            "{page}"
        );
        assert!(
            page.contains("<span class=\"count\">1</span><br>contracts expiring in 30 days"),
            "{page}"
        );
        assert!(
            page.contains("<span class=\"count\">0</span><br>failed"),
            "{page}"
        );
        assert!(page.contains("Times in Europe/Athens"), "the zone is named");
    }
}
