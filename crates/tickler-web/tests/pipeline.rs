//! The renewal pipeline page: the value expiring per month split by outcome, the emails and
//! invoices charts, their CSV files, and whose contracts each role sees.

mod support;

use reqwest::StatusCode;
use support::{TestApp, get};
use tickler_core::{renewal::Answer, user::Role};
use tickler_engine::Actor;

/// Sunday 6 December 2026, 12:00 UTC (14:00 in Athens, the organisation's zone).
const NOW: &str = "2026-12-06T12:00:00Z";

struct Fixture {
    app: TestApp,
    sue: i64,
}

/// Sam's contracts: renewed (ends Jan 2027), answered renew (Jan 2027), declined by the
/// customer (Feb 2027); Sue's: terminated (Feb 2027), no answer (Feb 2027), and one ending
/// in 2028, outside the twelve months. Every contract is worth EUR 1,200.00.
async fn fixture() -> Fixture {
    let app = TestApp::start_at(NOW.parse().unwrap()).await;
    app.user("ada@firm.example", Role::Admin).await;
    app.user("sam@firm.example", Role::Sales).await;
    let sue = app.user("sue@firm.example", Role::Sales).await;
    let customer = app
        .customer("Acme KK", "ops@acme.example", "en", "Europe/Athens")
        .await;
    let sam = Some("sam@firm.example");
    let actor = Actor::system();
    let renewed = app.contract(customer, "Renewed", "2027-01-31", sam).await;
    app.engine
        .renew_contract(renewed, None, &actor)
        .await
        .expect("renew");
    let answered = app
        .contract(customer, "Answered renew", "2027-01-15", sam)
        .await;
    // A "renew" answer starts the next term at once; one recorded without a new term yet
    // (as an import or a team member's note may leave it) is what "answered renew" counts.
    {
        let mut db = app.store.conn().await.expect("conn");
        let contract = tickler_store::contracts::get(&mut db, answered)
            .await
            .expect("contract");
        let term = tickler_store::contracts::current_term(&mut db, &contract)
            .await
            .expect("term");
        tickler_store::contracts::record_answer(
            &mut db,
            &term,
            Answer::Renew,
            "customer",
            None,
            NOW.parse().unwrap(),
        )
        .await
        .expect("answer");
    }
    let declined = app.contract(customer, "Declined", "2027-02-20", sam).await;
    app.engine
        .decline_contract(declined, None, &actor)
        .await
        .expect("decline");
    let sue_email = Some("sue@firm.example");
    let terminated = app
        .contract(customer, "Terminated", "2027-02-10", sue_email)
        .await;
    app.engine
        .terminate_contract(terminated, "closed the site", &actor)
        .await
        .expect("terminate");
    app.contract(customer, "No answer", "2027-02-05", sue_email)
        .await;
    app.contract(customer, "Far away", "2028-03-01", sue_email)
        .await;
    Fixture { app, sue }
}

/// The table row of `month` in the (first) expiring chart.
fn row(month: &str, cells: [&str; 5]) -> String {
    let mut html = format!("<tr><th scope=\"row\">{month}</th>");
    for cell in cells {
        html.push_str(&format!("<td class=\"num\">{cell}</td>"));
    }
    html.push_str("</tr>");
    html
}

const NONE: &str = "€0.00 (0)";
const ONE: &str = "€1,200.00 (1)";
const TWO: &str = "€2,400.00 (2)";

#[tokio::test(flavor = "multi_thread")]
async fn the_pipeline_splits_expiring_value_by_outcome() {
    let Fixture { app, .. } = fixture().await;
    let admin = app.login("ada@firm.example").await;
    let (status, page) = get(&admin, &app, "/pipeline").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("<h1>Renewal pipeline</h1>"));
    assert!(
        page.contains("href=\"/pipeline\" aria-current=\"page\""),
        "in the nav"
    );
    assert!(page.contains("Everyone&#39;s contracts") || page.contains("Everyone's contracts"));
    assert!(
        page.contains("Contract value expiring per month in EUR"),
        "{page}"
    );
    assert!(page.contains(&row("Dec 2026", [NONE, NONE, NONE, NONE, NONE])));
    assert!(
        page.contains(&row("Jan 2027", [ONE, ONE, NONE, NONE, TWO])),
        "renewed and answered renew in January: {page}"
    );
    assert!(
        page.contains(&row("Feb 2027", [NONE, NONE, TWO, ONE, "€3,600.00 (3)"])),
        "declined (by the customer, and terminated) and no answer in February"
    );
    assert!(
        page.contains(&row("Total", [ONE, ONE, TWO, ONE, "€6,000.00 (5)"])),
        "the 2028 contract is outside the twelve months"
    );
    // Three charts, each an accessible SVG image with its table.
    assert_eq!(page.matches("<svg class=\"chart\"").count(), 3, "{page}");
    assert_eq!(page.matches("role=\"img\"").count(), 3);
    for id in ["expiring", "emails", "invoices"] {
        assert!(page.contains(&format!("aria-labelledby=\"{id}-title {id}-desc\"")));
        assert!(page.contains(&format!("id=\"{id}-table\"")));
        assert!(page.contains(&format!("/pipeline/{id}.csv?owner=all")));
    }
    assert!(
        page.contains("<title>Jan 2027, Renewed: €1,200</title>"),
        "tooltips"
    );
    assert!(page.contains("<caption>"));
    assert!(page.contains("scope=\"col\""));
    assert!(page.contains("Counted just now."));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_csv_files_hold_the_figures() {
    let Fixture { app, .. } = fixture().await;
    let admin = app.login("ada@firm.example").await;
    let response = admin
        .get(app.url("/pipeline/expiring.csv"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let disposition = response.headers()["content-disposition"].to_str().unwrap();
    assert_eq!(
        disposition,
        "attachment; filename=\"pipeline-expiring-2026-12-06.csv\""
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "month,currency,renewed_contracts,renewed_amount,answered_renew_contracts,\
         answered_renew_amount,declined_contracts,declined_amount,no_answer_contracts,\
         no_answer_amount,total_contracts,total_amount"
    );
    assert_eq!(lines.len(), 13, "a header and twelve months: {csv}");
    assert_eq!(lines[1], "2026-12,EUR,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00");
    assert_eq!(
        lines[2],
        "2027-01,EUR,1,1200.00,1,1200.00,0,0.00,0,0.00,2,2400.00"
    );
    assert_eq!(
        lines[3],
        "2027-02,EUR,0,0.00,0,0.00,2,2400.00,1,1200.00,3,3600.00"
    );

    let (status, emails) = get(&admin, &app, "/pipeline/emails.csv").await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = emails.lines().collect();
    assert_eq!(lines[0], "day,sent,scheduled");
    assert_eq!(lines.len(), 61, "a header and 60 days");
    assert!(lines[1].starts_with("2026-11-07,"), "{}", lines[1]);
    assert!(
        lines[30].starts_with("2026-12-06,"),
        "today is the 30th day"
    );
    assert!(lines[60].starts_with("2027-01-05,"));
    // The scheduled column adds up to the reminders due in the window.
    let scheduled: i64 = lines[1..]
        .iter()
        .map(|l| l.rsplit(',').next().unwrap().parse::<i64>().unwrap())
        .sum();
    let until: jiff::Timestamp = "2027-01-05T22:00:00Z".parse().unwrap(); // 6 Jan, 00:00 Athens
    let now: jiff::Timestamp = NOW.parse().unwrap();
    let due = app
        .engine
        .list_reminders(&tickler_engine::browse::ReminderFilter {
            status: Some(tickler_core::reminder::ReminderStatus::Scheduled),
            send_until: Some(until),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.send_at >= now && r.send_at < until)
        .count() as i64;
    assert!(due > 0, "the January contracts have emails in December");
    assert_eq!(scheduled, due);

    let (status, invoices) = get(&admin, &app, "/pipeline/invoices.csv").await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = invoices.lines().collect();
    assert_eq!(lines[0], "month,issued,paid,open,overdue,void");
    assert_eq!(lines[1], "2026-01,0,0,0,0,0");
    assert_eq!(lines[12], "2026-12,0,0,0,0,0");

    let (status, body) = get(&admin, &app, "/pipeline/tasks.csv").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("tasks.csv"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn salespeople_see_their_own_figures_and_admins_anyones() {
    let Fixture { app, sue } = fixture().await;
    let sam = app.login("sam@firm.example").await;
    let (status, page) = get(&sam, &app, "/pipeline").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Your contracts"));
    assert!(
        page.contains(&row("Feb 2027", [NONE, NONE, ONE, NONE, ONE])),
        "only Sam's declined contract: {page}"
    );
    assert!(page.contains("/pipeline/expiring.csv?owner="));
    let (status, page) = get(&sam, &app, "/pipeline?owner=all").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&row("Feb 2027", [NONE, NONE, TWO, ONE, "€3,600.00 (3)"])));
    let (status, _) = get(&sam, &app, &format!("/pipeline?owner={sue}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not another salesperson's");
    let (status, _) = get(&sam, &app, &format!("/pipeline/expiring.csv?owner={sue}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let admin = app.login("ada@firm.example").await;
    let (status, page) = get(&admin, &app, &format!("/pipeline?owner={sue}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("sue&#39;s contracts") || page.contains("sue's contracts"),
        "{page}"
    );
    assert!(page.contains(&row("Jan 2027", [NONE, NONE, NONE, NONE, NONE])));
    assert!(page.contains(&row("Feb 2027", [NONE, NONE, ONE, ONE, TWO])));
    let (status, csv) = get(&admin, &app, &format!("/pipeline/expiring.csv?owner={sue}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        csv.contains("\n2027-02,EUR,0,0.00,0,0.00,1,1200.00,1,1200.00,2,2400.00\n"),
        "{csv}"
    );
    let (status, _) = get(&admin, &app, "/pipeline?owner=nobody").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
