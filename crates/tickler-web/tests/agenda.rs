//! The Agenda page over real HTTP: each kind of item (timed email, task, expiry, last day
//! to cancel, invoice to issue, invoice due) on its day in the viewer's time zone, linked to
//! where it is handled; a salesperson's own contracts only, an admin's owner filter; the
//! month and week views and their navigation.

mod support;

use std::sync::Arc;

use reqwest::StatusCode;
use support::{TestApp, get, href_of};
use tickler_core::{clock::FixedClock, user::Role};
use tickler_engine::{Actor, contracts::ContractInput, settings::UserChanges, tasks::TaskQuery};

/// Wednesday 10 March 2027, 14:00 in Athens.
const NOW: &str = "2027-03-10T12:00:00Z";
const SAM: &str = "sam@firm.example";
const KIM: &str = "kim@firm.example";
const ADA: &str = "ada@firm.example";

struct World {
    app: TestApp,
    kim: i64,
    /// Sam's contract ending Friday 9 April; its "final notice" goes out on Friday 2 April
    /// at 09:00 in Los Angeles: 19:00 in Athens, Saturday 3 April 01:00 in Tokyo.
    pbx: i64,
    final_notice: i64,
    /// Kim's contract renewing by itself on 30 April unless cancelled by 31 March.
    lift: i64,
    /// Kim's monthly recurring sale: invoices due on the 15th, the next made on 1 April.
    backup: i64,
    march_invoice: i64,
}

async fn world() -> World {
    let app = TestApp::start_at(NOW.parse().expect("instant")).await;
    app.user(ADA, Role::Admin).await;
    let sam = app.user(SAM, Role::Sales).await;
    let kim = app.user(KIM, Role::Sales).await;
    app.user("vic@firm.example", Role::Viewer).await;
    app.engine
        .update_user(
            sam,
            UserChanges {
                name: "Sam",
                role: Role::Sales,
                active: true,
                time_zone: Some("Asia/Tokyo"),
                language: None,
                digest: None,
                digest_time: None,
            },
            &Actor::system(),
        )
        .await
        .expect("Sam in Tokyo");

    let acme = app
        .customer("Acme", "ops@acme.example", "en", "America/Los_Angeles")
        .await;
    let pbx = app
        .contract(acme, "PBX maintenance", "2027-04-09", Some(SAM))
        .await;
    let final_notice = app.reminder_of(pbx, "before_7").await.id;
    // Its call is due on Thursday 11 March (46 days before the end): the dispatcher opens
    // the task at the step's time.
    app.contract(acme, "Alarm service", "2027-04-26", Some(SAM))
        .await;
    // Its call is on Sunday 4 April at 09:00 in Los Angeles: Monday 01:00 in Tokyo.
    app.contract(acme, "Boiler service", "2027-05-20", Some(SAM))
        .await;
    app.engine
        .with_clock(Arc::new(FixedClock(
            "2027-03-11T18:00:00Z".parse().expect("instant"),
        )))
        .dispatch_due()
        .await
        .expect("dispatch");
    let tasks = app
        .engine
        .list_tasks(&TaskQuery::default())
        .await
        .expect("tasks");
    assert_eq!(tasks.len(), 1, "the call about the alarm service");
    assert_eq!(tasks[0].task.due_date.to_string(), "2027-03-11");

    let globex = app
        .customer("Globex", "it@globex.example", "en", "Europe/Athens")
        .await;
    let lift = app
        .engine
        .add_contract(
            ContractInput {
                customer_id: globex,
                title: "Lift service".to_string(),
                start: "2026-05-01".to_string(),
                end: "2027-04-30".to_string(),
                owner_email: Some(KIM.to_string()),
                renewal: Some("auto".to_string()),
                notice_days: Some("30".to_string()),
                ..ContractInput::default()
            },
            &Actor::system(),
        )
        .await
        .expect("auto-renewing contract");
    let backup = app.monthly_sale(globex, "2027-01-01", KIM, false).await;
    // January, February and March are billed (issued at once); April waits.
    assert_eq!(app.engine.bill_due().await.expect("billing").invoiced, 3);
    let march_invoice = app
        .engine
        .list_invoices(&tickler_engine::invoicing::InvoiceFilter {
            contract_id: Some(backup),
            ..Default::default()
        })
        .await
        .expect("invoices")
        .into_iter()
        .find(|i| i.due_date.to_string() == "2027-03-15")
        .expect("March's invoice")
        .id;
    World {
        app,
        kim,
        pbx,
        final_notice,
        lift,
        backup,
        march_invoice,
    }
}

/// The HTML of one day of the page, from its heading to the next day.
fn day<'a>(page: &'a str, date: &str) -> &'a str {
    let start = page
        .find(&format!("id=\"day-{date}\""))
        .unwrap_or_else(|| panic!("no day {date} on the page:\n{page}"));
    let rest = &page[start..];
    let end = rest
        .find("<li class=\"agenda-day")
        .or_else(|| rest.find("</ol>"))
        .unwrap_or(rest.len());
    &rest[..end]
}

#[tokio::test(flavor = "multi_thread")]
async fn each_kind_on_its_day_in_the_viewers_zone_linked_to_where_it_is_handled() {
    let w = world().await;
    let app = &w.app;

    // Sam, in Tokyo: the final notice on Saturday 3 April at 01:00, not on Friday.
    let sam = app.login(SAM).await;
    let (status, page) = get(&sam, app, "/agenda?view=month&date=2027-04-01").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Agenda: April 2027"), "{page}");
    assert!(
        page.contains("<a href=\"/agenda\" aria-current=\"page\">Agenda</a>"),
        "in the main navigation"
    );
    let saturday = day(&page, "2027-04-03");
    assert!(
        saturday.contains(&format!("href=\"/review/{}\"", w.final_notice)),
        "{saturday}"
    );
    assert!(saturday.contains("<time>01:00</time>"), "{saturday}");
    assert!(saturday.contains("Email"), "a word beside the colour");
    assert!(!day(&page, "2027-04-02").contains("/review/"));
    let expiry = day(&page, "2027-04-09");
    assert!(expiry.contains("kind-expiry"), "{expiry}");
    assert!(expiry.contains(&format!("href=\"/contracts/{}\"", w.pbx)));
    assert!(expiry.contains("Ends: PBX maintenance"), "{expiry}");
    // A step in task mode is no email to the customer: the owner is told to call.
    let monday = day(&page, "2027-04-05");
    assert!(
        monday.contains("Task for the owner: Call the customer, Boiler service"),
        "{monday}"
    );
    // Only Sam's own: nothing of Kim's contracts, and no owner filter.
    for theirs in ["Lift service", "Managed backup", "Globex"] {
        assert!(!page.contains(theirs), "{theirs} is Kim's");
    }
    assert!(
        !page.contains("id=\"owner\""),
        "a salesperson has no owner filter"
    );
    assert!(page.contains("Your contracts"));

    // March: Sam's task on Thursday 11 March, linked to the tasks.
    let (_, march) = get(&sam, app, "/agenda?view=month&date=2027-03-01").await;
    let thursday = day(&march, "2027-03-11");
    assert!(thursday.contains("kind-task"), "{thursday}");
    assert!(thursday.contains("Task: Call the customer"), "{thursday}");
    assert!(thursday.contains("href=\"/tasks\""), "{thursday}");

    // Ada, in Athens: the same email on Friday 2 April at 19:00, and everybody's items.
    let ada = app.login(ADA).await;
    let (status, page) = get(&ada, app, "/agenda?view=month&date=2027-04-01").await;
    assert_eq!(status, StatusCode::OK);
    let friday = day(&page, "2027-04-02");
    assert!(
        friday.contains(&format!("href=\"/review/{}\"", w.final_notice)),
        "{friday}"
    );
    assert!(friday.contains("<time>19:00</time>"), "{friday}");
    assert!(!day(&page, "2027-04-03").contains("/review/"));
    let cancel_by = day(&page, "2027-03-31");
    assert!(cancel_by.contains("kind-notice"), "{cancel_by}");
    assert!(cancel_by.contains("Cancel by"), "{cancel_by}");
    assert!(cancel_by.contains("Last day to cancel: Lift service"));
    assert!(cancel_by.contains(&format!("href=\"/contracts/{}\"", w.lift)));
    let issue = day(&page, "2027-04-01");
    assert!(issue.contains("kind-invoice"), "{issue}");
    assert!(
        issue.contains("Invoice to issue: Managed backup"),
        "{issue}"
    );
    assert!(issue.contains(&format!("href=\"/contracts/{}\"", w.backup)));
    assert!(day(&page, "2027-04-30").contains("Ends: Lift service"));
    assert!(page.contains("Everybody&#39;s contracts") || page.contains("Everybody's contracts"));

    // March: the issued invoice due on the 15th, linked to the invoice.
    let (_, march) = get(&ada, app, "/agenda?date=2027-03-20").await;
    let due = day(&march, "2027-03-15");
    assert!(due.contains("kind-invoice"), "{due}");
    assert!(
        due.contains(&format!("href=\"/invoices/{}\"", w.march_invoice)),
        "{due}"
    );
    assert!(due.contains("€124.00"), "the balance: {due}");
    // A step in task mode is no email to the customer: the owner is told to call.
    // The last day to cancel the lift service, whose end (30 April) is past this month's days.
    assert!(!march.contains("id=\"day-2027-04-30\""));
    assert!(day(&march, "2027-03-31").contains("Last day to cancel: Lift service"));

    // A viewer reads everybody's agenda too.
    let vic = app.login("vic@firm.example").await;
    let (status, page) = get(&vic, app, "/agenda?date=2027-04-01").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Lift service") && page.contains("PBX maintenance"));
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_filter_by_owner_and_a_salesperson_sees_only_their_own() {
    let w = world().await;
    let app = &w.app;
    let ada = app.login(ADA).await;
    let (status, page) = get(
        &ada,
        app,
        &format!("/agenda?view=month&date=2027-04-01&owner={}", w.kim),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Lift service"), "{page}");
    assert!(!page.contains("PBX maintenance"), "Sam's");
    assert!(
        page.contains(&format!("<option value=\"{}\" selected>", w.kim)),
        "the filter shows its choice"
    );
    // The navigation keeps the owner.
    let next = href_of(&page, "Next month →").expect("next month");
    assert_eq!(
        next,
        format!("/agenda?view=month&date=2027-05-01&owner={}", w.kim)
    );
    let (_, everybody) = get(&ada, app, "/agenda?date=2027-04-01&owner=all").await;
    assert!(everybody.contains("Lift service") && everybody.contains("PBX maintenance"));

    let sam = app.login(SAM).await;
    let (status, _) = get(&sam, app, &format!("/agenda?owner={}", w.kim)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not Kim's agenda");
    let (status, _) = get(&sam, app, "/agenda?owner=all").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not everybody's");
    let (status, _) = get(&sam, app, "/agenda?date=2027-02-30").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get(&sam, app, "/agenda?view=year").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn month_and_week_views_with_previous_next_and_today() {
    let w = world().await;
    let app = &w.app;
    let ada = app.login(ADA).await;

    // The month of today: whole weeks from Monday 1 March to Sunday 4 April, today marked.
    let (status, page) = get(&ada, app, "/agenda").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Agenda: March 2027"), "{page}");
    assert_eq!(page.matches("<li class=\"agenda-day").count(), 35);
    assert!(page.contains("id=\"day-2027-03-01\"") && page.contains("id=\"day-2027-04-04\""));
    assert_eq!(page.matches("aria-current=\"date\"").count(), 1);
    assert!(day(&page, "2027-03-10").contains("Today"), "today marked");
    assert!(page.contains("aria-current=\"date\" aria-labelledby=\"day-2027-03-10\""));
    assert_eq!(
        href_of(&page, "← Previous month").as_deref(),
        Some("/agenda?view=month&date=2027-02-01")
    );
    assert_eq!(
        href_of(&page, "Next month →").as_deref(),
        Some("/agenda?view=month&date=2027-04-01")
    );
    assert_eq!(
        href_of(&page, "Today").as_deref(),
        Some("/agenda?view=month&date=2027-03-10")
    );
    assert_eq!(
        href_of(&page, "Week").as_deref(),
        Some("/agenda?view=week&date=2027-03-10")
    );

    // The week of Saturday 3 April: Monday 29 March to Sunday 4 April.
    let (status, page) = get(&ada, app, "/agenda?view=week&date=2027-04-03").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Agenda: Week of 29 March 2027"), "{page}");
    assert_eq!(page.matches("<li class=\"agenda-day").count(), 7);
    assert!(page.contains("id=\"day-2027-03-29\"") && page.contains("id=\"day-2027-04-04\""));
    assert!(!page.contains("id=\"day-2027-04-05\""));
    assert!(page.contains("Monday 29 March 2027"), "a heading per day");
    // The week view says more of each item: the email's step and contract.
    assert!(day(&page, "2027-04-02").contains("Final notice of PBX maintenance."));
    assert_eq!(
        href_of(&page, "← Previous week").as_deref(),
        Some("/agenda?view=week&date=2027-03-27")
    );
    assert_eq!(
        href_of(&page, "Next week →").as_deref(),
        Some("/agenda?view=week&date=2027-04-10")
    );
    assert_eq!(
        href_of(&page, "Month").as_deref(),
        Some("/agenda?view=month&date=2027-04-03")
    );
    // Following "next" from the week goes on a week.
    let (_, next) = get(&ada, app, "/agenda?view=week&date=2027-04-10").await;
    assert!(next.contains("Agenda: Week of 5 April 2027"));
    assert!(day(&next, "2027-04-09").contains("Ends: PBX maintenance"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_day_of_the_month_links_to_its_week_which_lists_them_all() {
    let app = TestApp::start_at(NOW.parse().expect("instant")).await;
    app.user(ADA, Role::Admin).await;
    let acme = app
        .customer("Acme", "ops@acme.example", "en", "Europe/Athens")
        .await;
    for i in 1..=7 {
        app.contract(acme, &format!("Site {i}"), "2027-04-09", Some(ADA))
            .await;
    }
    let ada = app.login(ADA).await;
    let (_, month) = get(&ada, &app, "/agenda?date=2027-04-01").await;
    let friday = day(&month, "2027-04-09");
    assert_eq!(friday.matches("Ends: Site").count(), 5, "{friday}");
    assert!(
        friday.contains(
            "<a class=\"agenda-more\" href=\"/agenda?view=week&#38;date=2027-04-09\">2 more"
        ) || friday.contains(
            "<a class=\"agenda-more\" href=\"/agenda?view=week&amp;date=2027-04-09\">2 more"
        ),
        "{friday}"
    );
    let (_, week) = get(&ada, &app, "/agenda?view=week&date=2027-04-09").await;
    assert_eq!(day(&week, "2027-04-09").matches("Ends: Site").count(), 7);
}
