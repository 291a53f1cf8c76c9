//! Pages read the engine's clock: the dashboard and the review queue rendered at a chosen
//! instant show what is due then, and how far off each email is, exactly.

mod support;

use reqwest::StatusCode;
use support::{TestApp, get};
use tickler_core::user::Role;

/// Monday 1 March 2027, 09:00 in Athens (UTC+2 until the end of March): the team's zone.
const NOW: &str = "2027-03-01T07:00:00Z";

/// The part of a page under the heading `title`, up to the next heading.
fn section<'a>(page: &'a str, title: &str) -> &'a str {
    page.split(&format!("<h2>{title}</h2>"))
        .nth(1)
        .and_then(|rest| rest.split("<h2>").next())
        .unwrap_or_else(|| panic!("no {title} in:\n{page}"))
}

/// Each row of the review queue as (contract, "goes out" as "when · how far off").
fn queue_cards(page: &str) -> Vec<(String, String)> {
    page.split("<tr id=\"reminder-")
        .skip(1)
        .map(|row| {
            let between = |start: &str, end: &str| {
                let from = row.find(start).expect(start) + start.len();
                row[from..][..row[from..].find(end).expect(end)].to_string()
            };
            let relative = between("<td class=\"nowrap\" title=\"", "\"");
            let when = between(&format!("title=\"{relative}\">"), "</td>");
            (
                between("data-contract=\"", "\""),
                format!("{when} · {relative}"),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_and_the_queue_speak_of_the_clocks_now() {
    let app = TestApp::start_at(NOW.parse().unwrap()).await;
    app.user("ada@firm.example", Role::Admin).await;
    let athens = app
        .customer("Acme Ltd", "ops@acme.example", "en", "Europe/Athens")
        .await;
    let new_york = app
        .customer("Globex Inc", "it@globex.example", "en", "America/New_York")
        .await;
    // Its 7-days-before email: 4 March, 09:00 in Athens, three days from now.
    app.contract(athens, "PBX maintenance", "2027-03-11", None)
        .await;
    // 1 March, 09:00 in New York (14:00 UTC): today, seven hours from now.
    app.contract(new_york, "Fleet tracking", "2027-03-08", None)
        .await;
    // Nothing of it goes out before November.
    app.contract(athens, "Cloud backup", "2027-12-31", None)
        .await;
    let client = app.login("ada@firm.example").await;

    let (status, page) = get(&client, &app, "/").await;
    assert_eq!(status, StatusCode::OK);
    for (count, card) in [
        (1, "due today"),
        (2, "due this week"),
        (0, "failed"),
        (2, "contracts expiring in 30 days"),
    ] {
        assert!(
            page.contains(&format!("<span class=\"count\">{count}</span><br>{card}")),
            "{count} {card}:\n{page}"
        );
    }
    assert!(page.contains("2 in 60 · 2 in 90"), "{page}");
    let week = section(&page, "Going out in the next 7 days");
    assert!(
        week.contains("2027-03-01 16:00<br><span class=\"muted\">in 7 hours</span>"),
        "{week}"
    );
    assert!(
        week.contains("2027-03-04 09:00<br><span class=\"muted\">in 3 days</span>"),
        "{week}"
    );
    assert!(!week.contains("Cloud backup"), "{week}");
    let expiring = section(&page, "Expiring in the next 30 days");
    assert!(
        expiring.contains("PBX maintenance</a></td><td>2027-03-11</td><td>10</td>"),
        "{expiring}"
    );
    assert!(
        expiring.contains("Fleet tracking</a></td><td>2027-03-08</td><td>7</td>"),
        "{expiring}"
    );

    let (status, page) = get(&client, &app, "/review?range=today").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        queue_cards(&page),
        [(
            "Fleet tracking".to_string(),
            "2027-03-01 16:00 · in 7 hours".to_string()
        )]
    );
    let (_, page) = get(&client, &app, "/review?range=week").await;
    let cards = queue_cards(&page);
    assert_eq!(cards.len(), 2, "{cards:?}");
    assert_eq!(
        cards[1],
        (
            "PBX maintenance".to_string(),
            "2027-03-04 09:00 · in 3 days".to_string()
        )
    );
    // Everything pending, soonest first: the steps already past when the contracts were
    // entered were never scheduled, the rest count from the same now.
    let (_, page) = get(&client, &app, "/review").await;
    let whens: Vec<String> = queue_cards(&page)
        .into_iter()
        .map(|(contract, when)| {
            let relative = when.split(" · ").nth(1).unwrap_or_default();
            format!("{contract}: {relative}")
        })
        .collect();
    assert_eq!(
        whens,
        [
            "Fleet tracking: in 7 hours",
            "PBX maintenance: in 3 days",
            "Fleet tracking: in 14 days",
            "PBX maintenance: in 17 days",
            "Cloud backup: in 245 days",
            // The owner's call, 14 days after the first email.
            "Cloud backup: in 259 days",
            "Cloud backup: in 275 days",
            "Cloud backup: in 298 days",
            "Cloud backup: in 312 days",
        ],
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_that_cannot_be_reached_is_a_503_to_try_again() {
    let app = TestApp::start().await;
    app.user("ada@firm.example", Role::Admin).await;
    app.store.close().await;
    let response = support::client()
        .get(app.url("/login"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("30")
    );
    let page = response.text().await.expect("body");
    assert!(page.contains("The database cannot be reached"), "{page}");
    assert!(page.contains("the reference "), "{page}");
    assert!(
        !page.to_lowercase().contains("pool"),
        "no internal text: {page}"
    );
}
