//! The contracts pages over real HTTP: the list with its search, filters, sorting and pages,
//! a contract's page with its reminders and history, entering, editing, renewing and
//! terminating, and who may do which.

mod support;

use jiff::{Timestamp, ToSpan, civil::Date, tz::TimeZone};
use reqwest::StatusCode;
use support::{TestApp, admin, get, href_of, location, post};
use tickler_core::{plan::Mode, reminder::ReminderStatus, user::Role};
use tickler_engine::browse::{ContractQuery, ContractStatus};
use tickler_engine::{Actor, review::ReminderChanges};

/// Today where the test users see times (the organisation's zone: Europe/Athens).
fn today() -> Date {
    Timestamp::now()
        .to_zoned_datetime(TimeZone::get("Europe/Athens").expect("zone"))
        .date()
}

fn in_days(days: i64) -> String {
    today().checked_add(days.days()).expect("date").to_string()
}

/// How many contract rows a list page shows.
fn rows(html: &str) -> usize {
    html.matches("<tr>\n    <td><a href=\"/contracts/").count()
}

/// The `href` of the link whose text is `text`, HTML entities undone.
async fn status_of(app: &TestApp, id: i64) -> ContractStatus {
    app.engine
        .contract_detail(id)
        .await
        .expect("contract")
        .contract
        .status
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_searches_filters_sorts_and_pages_in_the_database() {
    let app = TestApp::start().await;
    let browser = admin(&app).await;
    app.user("sam@firm.example", Role::Sales).await;
    let acme = app
        .customer("Acme Copiers", "ops@acme.example", "en", "Europe/Athens")
        .await;
    let kyoto = app
        .customer("Kyoto Lifts", "info@kyoto.example", "ja", "Asia/Tokyo")
        .await;
    for i in 0..55 {
        app.contract(
            acme,
            &format!("Copier fleet {i:02}"),
            &in_days(100 + i),
            Some("sam@firm.example"),
        )
        .await;
    }
    let soon = app
        .contract(kyoto, "Elevator service", &in_days(20), None)
        .await;
    let later = app
        .contract(kyoto, "Zebra crossing lights", &in_days(45), None)
        .await;

    // The first page: 50 rows, soonest end first, with the total and a next page.
    let (status, page) = get(&browser, &app, "/contracts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("57 contracts"), "{page}");
    assert_eq!(rows(&page), 50);
    assert!(page.find("Elevator service") < page.find("Zebra crossing lights"));
    assert!(page.contains("Kyoto Lifts") && page.contains("sam"));
    assert!(page.contains(">20</td>"), "days left: {page}");
    let next = href_of(&page, "Next page").expect("a next page");
    assert!(next.contains("after="), "{next}");
    assert!(href_of(&page, "Previous page").is_none());

    let (_, second) = get(&browser, &app, &next).await;
    assert_eq!(rows(&second), 7);
    assert!(second.contains("Copier fleet 54"));
    assert!(!second.contains("Elevator service"));
    assert!(href_of(&second, "Next page").is_none());
    let previous = href_of(&second, "Previous page").expect("a previous page");
    let (_, back) = get(&browser, &app, &previous).await;
    assert_eq!(rows(&back), 50);
    assert!(back.contains("Elevator service") && !back.contains("Copier fleet 54"));

    // Search in titles and in customer names, case-insensitively.
    let (_, found) = get(&browser, &app, "/contracts?q=ZEBRA").await;
    assert_eq!(rows(&found), 1);
    assert!(
        found.contains("1 contract<")
            || found.contains("1 contract\n")
            || found.contains(">1 contract"),
        "{found}"
    );
    let (_, by_customer) = get(&browser, &app, "/contracts?q=kyoto").await;
    assert_eq!(rows(&by_customer), 2);
    let (_, none) = get(&browser, &app, "/contracts?q=nothing%25like").await;
    assert!(none.contains("No contract matches."));
    // A NUL once ended SQLite's full-text query early: a 500. It matches nothing.
    for odd in ["/contracts?q=kyo%00to", "/customers?q=kyo%00to"] {
        let (status, page) = get(&browser, &app, odd).await;
        assert_eq!(status, StatusCode::OK, "{odd}: {page}");
    }
    let (status, short) = get(&browser, &app, "/contracts?q=%20k%20").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(short.contains("too short to search for"), "{short}");

    // Filters: expiring (as the dashboard links), before a date, owner, customer, status.
    let (_, expiring) = get(&browser, &app, "/contracts?expiring=30").await;
    assert_eq!(rows(&expiring), 1);
    assert!(expiring.contains("Elevator service"));
    let (_, before) = get(
        &browser,
        &app,
        &format!("/contracts?before={}", in_days(101)),
    )
    .await;
    assert_eq!(rows(&before), 3, "20 days, 45 days and the first copier");
    let (_, mine) = get(&browser, &app, "/contracts?owner=me").await;
    assert!(mine.contains("No contract matches."), "the admin owns none");
    let sam = app
        .engine
        .user_by_email("sam@firm.example")
        .await
        .unwrap()
        .unwrap()
        .id;
    let (_, sams) = get(&browser, &app, &format!("/contracts?owner={sam}")).await;
    assert!(sams.contains("55 contracts"));
    let (_, kyotos) = get(&browser, &app, &format!("/contracts?customer={kyoto}")).await;
    assert_eq!(rows(&kyotos), 2);
    app.engine
        .terminate_contract(later, "moved away", &Actor::system())
        .await
        .unwrap();
    let (_, terminated) = get(&browser, &app, "/contracts?status=terminated").await;
    assert_eq!(rows(&terminated), 1);
    assert!(terminated.contains("Zebra crossing lights"));
    let (_, active) = get(&browser, &app, "/contracts?status=active&q=kyoto").await;
    assert_eq!(rows(&active), 1);

    // Sorting: by title descending puts Zebra first; by customer, Acme before Kyoto.
    let (_, by_title) = get(&browser, &app, "/contracts?sort=title&dir=desc").await;
    let first_row = by_title.find("<tbody>").unwrap();
    assert!(by_title[first_row..].find("Zebra") < by_title[first_row..].find("Elevator"));
    assert!(by_title.contains("aria-sort=\"descending\""));
    let next = href_of(&by_title, "Next page").expect("next page by title");
    assert!(
        next.contains("sort=title") && next.contains("dir=desc"),
        "{next}"
    );
    let (_, by_title_2) = get(&browser, &app, &next).await;
    assert_eq!(rows(&by_title_2), 7);
    assert!(
        by_title_2.contains("Copier fleet 00"),
        "the last by title descending"
    );
    let (_, by_customer) = get(&browser, &app, "/contracts?sort=customer&dir=desc").await;
    assert!(by_customer.find("Kyoto Lifts") < by_customer.find("Acme Copiers"));
    let (_, by_created) = get(&browser, &app, "/contracts?sort=created&dir=desc").await;
    assert!(by_created.find("Zebra") < by_created.find("Elevator"));
    let _ = soon;

    // Nonsense is refused, naming the parameter.
    for (path, word) in [
        ("/contracts?sort=amount", "sort"),
        ("/contracts?status=paused", "status"),
        ("/contracts?expiring=soon", "expiring"),
        ("/contracts?before=2027-02-30", "before"),
        ("/contracts?owner=someone", "owner"),
        ("/contracts?after=x", "after"),
    ] {
        let (status, page) = get(&browser, &app, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(page.contains(word), "{path}: {page}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn entering_a_contract_schedules_its_reminders_shown_in_the_viewers_zone() {
    let app = TestApp::start().await;
    let browser = admin(&app).await;
    app.user("sam@firm.example", Role::Sales).await;
    let customer = app
        .customer("Kyoto Lifts", "info@kyoto.example", "ja", "Asia/Tokyo")
        .await;

    let (status, form) = get(&browser, &app, "/contracts/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("Kyoto Lifts"), "customers to choose from");
    assert!(form.contains("sam@firm.example"), "owners to choose from");
    assert!(form.contains("renewal"), "plans to choose from");

    let response = post(
        &browser,
        &app,
        "/contracts/new",
        "/contracts",
        &[
            ("customer", &customer.to_string()),
            ("title", "Elevator maintenance"),
            ("start", "2026-07-01"),
            ("end", "2027-06-30"),
            ("owner", "sam@firm.example"),
            ("plan", "renewal"),
            ("amount", "1200000"),
            ("currency", "JPY"),
            ("custom_fields", "site=Kyoto HQ\nunits = 3"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    assert!(
        to.starts_with("/contracts/") && !to.contains('?'),
        "the notice is in the session, not the URL: {to}"
    );
    let id: i64 = to["/contracts/".len()..].parse().unwrap();

    let (status, page) = get(&browser, &app, &to).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Contract entered"), "the notice");
    assert!(page.contains("2026-07-01 to 2027-06-30"));
    assert!(page.contains("Kyoto Lifts") && page.contains("Asia/Tokyo"));
    assert!(
        page.contains("sam &lt;sam@firm.example&gt;") || page.contains("sam &#60;"),
        "{page}"
    );
    assert!(page.contains("¥1,200,000"), "amount formatted: {page}");
    assert!(page.contains("site") && page.contains("Kyoto HQ") && page.contains("units"));
    // Four scheduled emails and the owner's call, at 09:00 in Tokyo, shown in Athens (UTC+3
    // in summer, +2 in winter): -60 days is 2027-05-01 09:00 JST = 03:00 EEST.
    assert_eq!(page.matches("status scheduled").count(), 5, "{page}");
    for shown in [
        "2027-05-01 03:00",
        "2027-05-15 03:00",
        "2027-05-31 03:00",
        "2027-06-23 03:00",
        "2027-07-07 03:00",
    ] {
        assert!(page.contains(shown), "{shown} in {page}");
    }
    assert!(page.contains("Times in Europe/Athens"));
    assert!(page.contains("/review/"), "links to the review page");
    assert!(page.contains("created"), "the history");
    let detail = app.engine.contract_detail(id).await.unwrap();
    let modes: Vec<Mode> = detail.reminders.iter().map(|r| r.mode).collect();
    assert_eq!(
        modes,
        [Mode::Auto, Mode::Task, Mode::Auto, Mode::Auto, Mode::Auto]
    );
    assert_eq!(detail.contract.custom_fields["units"], "3");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_contract_form_comes_back_with_what_was_typed() {
    let app = TestApp::start().await;
    let browser = admin(&app).await;
    let customer = app
        .customer("Acme Copiers", "ops@acme.example", "en", "Europe/Athens")
        .await
        .to_string();
    let before = app
        .engine
        .browse_contracts(&ContractQuery::default())
        .await
        .unwrap()
        .total;
    for (fields, field, message) in [
        (
            vec![
                ("customer", customer.as_str()),
                ("title", "Typed title"),
                ("start", "2026-01-01"),
                ("end", "2027-02-30"),
            ],
            "end",
            "2027-02-30",
        ),
        (
            vec![
                ("customer", ""),
                ("title", "Typed title"),
                ("start", "2026-01-01"),
                ("end", "2027-01-01"),
            ],
            "customer",
            "choose a customer",
        ),
        (
            vec![
                ("customer", customer.as_str()),
                ("title", "Typed title"),
                ("start", "2026-01-01"),
                ("end", "2027-01-01"),
                ("custom_fields", "site=A\nbroken line"),
            ],
            "custom_fields",
            "line 2",
        ),
        (
            vec![
                ("customer", customer.as_str()),
                ("title", "Typed title"),
                ("start", "2026-01-01"),
                ("end", "2027-01-01"),
                ("amount", "12.345"),
                ("currency", "EUR"),
            ],
            "amount",
            "amount",
        ),
        (
            vec![
                ("customer", "999"),
                ("title", "Typed title"),
                ("start", "2026-01-01"),
                ("end", "2027-01-01"),
            ],
            "customer",
            "customer 999 does not exist",
        ),
        (
            vec![
                ("customer", customer.as_str()),
                ("title", "Typed title"),
                ("start", "2026-01-01"),
                ("end", "2027-01-01"),
                ("plan", "nonexistent"),
            ],
            "plan",
            "nonexistent",
        ),
    ] {
        let response = post(&browser, &app, "/contracts/new", "/contracts", &fields).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{field}");
        let page = response.text().await.unwrap();
        assert!(page.contains(message), "{field}: {page}");
        // Beside the field it is about, with a summary at the top that links to it.
        assert!(
            page.contains(&format!("<p class=\"field-error\" id=\"{field}-error\">")),
            "beside the field {field}: {page}"
        );
        assert!(page.contains(&format!("href=\"#{field}\"")), "{page}");
        assert!(page.contains(&format!("aria-errormessage=\"{field}-error\" autofocus")));
        assert!(
            page.contains("value=\"Typed title\""),
            "keeps what was typed"
        );
        assert!(page.contains("aria-invalid"), "marks the field");
    }
    let after = app
        .engine
        .browse_contracts(&ContractQuery::default())
        .await
        .unwrap()
        .total;
    assert_eq!(before, after, "nothing entered");
}

#[tokio::test(flavor = "multi_thread")]
async fn editing_moves_the_reminders_but_keeps_what_people_edited() {
    let app = TestApp::start().await;
    let browser = admin(&app).await;
    app.user("sam@firm.example", Role::Sales).await;
    let customer = app
        .customer("Acme Copiers", "ops@acme.example", "en", "Europe/Athens")
        .await;
    let id = app
        .contract(customer, "Copier fleet", "2027-06-30", None)
        .await;
    let detail = app.engine.contract_detail(id).await.unwrap();
    let first = &detail.reminders[0];
    let edited_at: Timestamp = "2027-04-20T07:00:00Z".parse().unwrap();
    app.engine
        .edit_reminder(
            first.id,
            ReminderChanges {
                subject: Some("Our personal note".to_string()),
                send_at: Some(edited_at),
                ..ReminderChanges::default()
            },
            &Actor::system(),
        )
        .await
        .unwrap();

    let (status, form) = get(&browser, &app, &format!("/contracts/{id}/edit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("value=\"2027-06-30\"") && form.contains("value=\"Copier fleet\""));

    let response = post(
        &browser,
        &app,
        &format!("/contracts/{id}/edit"),
        &format!("/contracts/{id}/edit"),
        &[
            ("title", "Copier fleet (renamed)"),
            ("start", "2026-01-01"),
            ("end", "2027-09-30"),
            ("owner", "sam@firm.example"),
            ("plan", "renewal"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let detail = app.engine.contract_detail(id).await.unwrap();
    assert_eq!(detail.contract.title, "Copier fleet (renamed)");
    assert_eq!(detail.contract.end_date.to_string(), "2027-09-30");
    assert_eq!(
        detail.owner.map(|o| o.email).as_deref(),
        Some("sam@firm.example")
    );
    let kept = detail.reminders.iter().find(|r| r.id == first.id).unwrap();
    assert_eq!(kept.send_at, edited_at, "the person's send time is kept");
    assert_eq!(kept.subject, "Our personal note");
    let moved = detail
        .reminders
        .iter()
        .find(|r| r.step == "before_30" && r.status == ReminderStatus::Scheduled)
        .unwrap();
    assert_eq!(
        moved
            .send_at
            .to_zoned_datetime(TimeZone::get("Europe/Athens").unwrap())
            .date()
            .to_string(),
        "2027-08-31"
    );
    let (_, page) = get(&browser, &app, &location(&response)).await;
    assert!(page.contains("Contract saved") && page.contains("edited"));

    // A refused edit shows the form again with the typed values and changes nothing.
    let response = post(
        &browser,
        &app,
        &format!("/contracts/{id}/edit"),
        &format!("/contracts/{id}/edit"),
        &[
            ("title", "Another name"),
            ("start", "2026-01-01"),
            ("end", "2025-01-01"),
            ("owner", ""),
            ("plan", "renewal"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(page.contains("value=\"Another name\"") && page.contains("value=\"2025-01-01\""));
    let unchanged = app.engine.contract_detail(id).await.unwrap();
    assert_eq!(unchanged.contract.title, "Copier fleet (renamed)");
}

#[tokio::test(flavor = "multi_thread")]
async fn renewing_and_terminating_show_on_the_contract() {
    let app = TestApp::start().await;
    let browser = admin(&app).await;
    let customer = app
        .customer("Acme Copiers", "ops@acme.example", "en", "Europe/Athens")
        .await;
    let id = app
        .contract(customer, "Copier fleet", "2027-06-30", None)
        .await;
    let page_path = format!("/contracts/{id}");

    let (_, page) = get(&browser, &app, &page_path).await;
    assert!(page.contains("data-confirm="), "terminating asks first");
    assert!(page.contains("Renew contract") && page.contains("Terminate contract"));

    let response = post(
        &browser,
        &app,
        &page_path,
        &format!("/contracts/{id}/renew"),
        &[("end", "2026-01-01")],
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "a new end before the new start"
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("value=\"2026-01-01\"")
    );
    assert_eq!(
        app.engine
            .contract_detail(id)
            .await
            .unwrap()
            .contract
            .term_number,
        1
    );

    let response = post(
        &browser,
        &app,
        &page_path,
        &format!("/contracts/{id}/renew"),
        &[("end", "")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&browser, &app, &location(&response)).await;
    assert!(
        page.contains("Renewed: the new term runs 2027-07-01 to 2028-12-31"),
        "{page}"
    );
    assert!(page.contains("term 2: 2027-07-01 to 2028-12-31"));
    assert!(page.contains("2 (current)"), "both terms listed");
    assert_eq!(
        page.matches("status cancelled").count(),
        5,
        "term 1's reminders: four emails and the call"
    );
    assert_eq!(
        page.matches("status scheduled").count(),
        5,
        "term 2's reminders"
    );

    let response = post(
        &browser,
        &app,
        &page_path,
        &format!("/contracts/{id}/terminate"),
        &[("reason", " ")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("reason"));
    assert_eq!(status_of(&app, id).await, ContractStatus::Active);

    let response = post(
        &browser,
        &app,
        &page_path,
        &format!("/contracts/{id}/terminate"),
        &[("reason", "customer moved away")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_of(&app, id).await, ContractStatus::Terminated);
    let (_, page) = get(&browser, &app, &page_path).await;
    assert!(page.contains("status terminated") && page.contains("customer moved away"));
    assert_eq!(page.matches("status scheduled").count(), 0);
    assert!(!page.contains("Terminate contract"), "nothing left to do");

    let response = post(
        &browser,
        &app,
        &page_path,
        &format!("/contracts/{id}/renew"),
        &[("end", "")],
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::CONFLICT,
        "a terminated contract is not renewed"
    );
    let (status, _) = get(&browser, &app, "/contracts/99999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_role_may_do_only_its_share() {
    let app = TestApp::start().await;
    app.user("ada@firm.example", Role::Admin).await;
    app.user("sam@firm.example", Role::Sales).await;
    app.user("sue@firm.example", Role::Sales).await;
    app.user("vic@firm.example", Role::Viewer).await;
    let customer = app
        .customer("Acme Copiers", "ops@acme.example", "en", "Europe/Athens")
        .await;
    let sams = app
        .contract(
            customer,
            "Sam's contract",
            "2027-06-30",
            Some("sam@firm.example"),
        )
        .await;
    let customer_text = customer.to_string();
    let new_contract: Vec<(&str, &str)> = vec![
        ("customer", customer_text.as_str()),
        ("title", "Another"),
        ("start", "2026-01-01"),
        ("end", "2027-01-01"),
    ];
    let edit = [
        ("title", "Changed"),
        ("start", "2026-01-01"),
        ("end", "2027-12-31"),
        ("owner", "sam@firm.example"),
        ("plan", "renewal"),
    ];
    let count = || async {
        app.engine
            .browse_contracts(&ContractQuery::default())
            .await
            .unwrap()
            .total
    };

    // The viewer reads everything and changes nothing.
    let vic = app.login("vic@firm.example").await;
    for path in [
        "/contracts",
        &format!("/contracts/{sams}"),
        "/contracts?owner=me",
    ] {
        assert_eq!(get(&vic, &app, path).await.0, StatusCode::OK, "{path}");
    }
    let (_, page) = get(&vic, &app, &format!("/contracts/{sams}")).await;
    assert!(!page.contains("Terminate contract") && !page.contains("Edit contract"));
    assert_eq!(
        get(&vic, &app, "/contracts/new").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&vic, &app, &format!("/contracts/{sams}/edit")).await.0,
        StatusCode::FORBIDDEN
    );
    let before = count().await;
    let refused = post(&vic, &app, "/contracts", "/contracts", &new_contract).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(count().await, before);
    for (path, fields) in [
        (format!("/contracts/{sams}/edit"), edit.to_vec()),
        (format!("/contracts/{sams}/renew"), vec![("end", "")]),
        (
            format!("/contracts/{sams}/terminate"),
            vec![("reason", "no")],
        ),
    ] {
        let refused = post(&vic, &app, "/contracts", &path, &fields).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "viewer: {path}");
    }

    // Another salesperson enters contracts but leaves Sam's alone.
    let sue = app.login("sue@firm.example").await;
    let (_, form) = get(&sue, &app, "/contracts/new").await;
    assert!(
        form.contains("<option value=\"sue@firm.example\" selected"),
        "owns what she enters"
    );
    let entered = post(&sue, &app, "/contracts", "/contracts", &new_contract).await;
    assert_eq!(entered.status(), StatusCode::SEE_OTHER);
    assert_eq!(count().await, before + 1);
    assert_eq!(
        get(&sue, &app, &format!("/contracts/{sams}/edit")).await.0,
        StatusCode::FORBIDDEN
    );
    for (path, fields) in [
        (format!("/contracts/{sams}/edit"), edit.to_vec()),
        (format!("/contracts/{sams}/renew"), vec![("end", "")]),
        (
            format!("/contracts/{sams}/terminate"),
            vec![("reason", "no")],
        ),
    ] {
        let refused = post(&sue, &app, "/contracts", &path, &fields).await;
        assert_eq!(
            refused.status(),
            StatusCode::FORBIDDEN,
            "other sales: {path}"
        );
    }
    let untouched = app.engine.contract_detail(sams).await.unwrap();
    assert_eq!(untouched.contract.title, "Sam's contract");
    assert_eq!(untouched.contract.term_number, 1);
    assert_eq!(untouched.contract.status, ContractStatus::Active);

    // Sam changes, renews and terminates his own; the admin may do it to anyone's.
    let sam = app.login("sam@firm.example").await;
    let path = format!("/contracts/{sams}/edit");
    assert_eq!(
        post(&sam, &app, &path, &path, &edit).await.status(),
        StatusCode::SEE_OTHER
    );
    let renew = format!("/contracts/{sams}/renew");
    assert_eq!(
        post(&sam, &app, "/contracts", &renew, &[("end", "")])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let after = app.engine.contract_detail(sams).await.unwrap();
    assert_eq!(
        (after.contract.title.as_str(), after.contract.term_number),
        ("Changed", 2)
    );
    let ada = app.login("ada@firm.example").await;
    let terminate = format!("/contracts/{sams}/terminate");
    let done = post(
        &ada,
        &app,
        "/contracts",
        &terminate,
        &[("reason", "ended by the admin")],
    )
    .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_of(&app, sams).await, ContractStatus::Terminated);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_amount_and_custom_fields_can_be_changed_later() {
    let app = TestApp::start().await;
    let browser = admin(&app).await;
    let customer = app
        .customer("Acme Copiers", "ops@acme.example", "en", "Europe/Athens")
        .await;
    let id = app
        .contract(customer, "Copier fleet", "2027-06-30", None)
        .await;
    let (_, form) = get(&browser, &app, &format!("/contracts/{id}/edit")).await;
    assert!(
        form.contains("value=\"1200.00\"") && form.contains("value=\"EUR\""),
        "prefilled"
    );

    let fields = |amount: &'static str, custom: &'static str| {
        vec![
            ("title", "Copier fleet"),
            ("start", "2026-01-01"),
            ("end", "2027-06-30"),
            ("owner", ""),
            ("plan", "renewal"),
            ("amount", amount),
            ("currency", "EUR"),
            ("custom_fields", custom),
        ]
    };
    let path = format!("/contracts/{id}/edit");
    let saved = post(
        &browser,
        &app,
        &path,
        &path,
        &fields("1350.50", "site=Athens\nunits=3"),
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let contract = app.engine.contract_detail(id).await.unwrap().contract;
    assert_eq!(contract.amount_minor, Some(135050));
    assert_eq!(contract.custom_fields["site"], "Athens");
    assert_eq!(contract.custom_fields["units"], "3");

    let refused = post(&browser, &app, &path, &path, &fields("12,50", "")).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.unwrap().contains("12,50"));
    let unchanged = app.engine.contract_detail(id).await.unwrap().contract;
    assert_eq!(unchanged.amount_minor, Some(135050), "nothing saved");
}
