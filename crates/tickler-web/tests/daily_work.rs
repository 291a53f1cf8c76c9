//! The team's daily work in the web app, over HTTP: "send now" shows the wording of the day
//! it goes out, skips can be undone, test mode says so on every page, a salesperson's
//! dashboard is their own, the first-run checklist, plans copied and archived in the app,
//! and a renewal that says what it cancels.

mod support;

use jiff::Timestamp;
use reqwest::StatusCode;
use support::{TestApp, admin, get, location, post};
use tickler_core::{reminder::ReminderStatus, user::Role};

const NOW: &str = "2026-12-02T10:00:00Z";
const OWNER: &str = "sam@firm.example";

async fn app() -> TestApp {
    TestApp::start_at(NOW.parse::<Timestamp>().expect("now")).await
}

/// The id of `contract`'s reminder for `step`.
async fn reminder_of(app: &TestApp, contract: i64, step: &str) -> i64 {
    app.reminder_of(contract, step).await.id
}

/// A contract's first email and the one after it in the queue: the owner's call, 14 days
/// after the first email.
async fn first_two_in_the_queue(app: &TestApp) -> (i64, i64) {
    let customer = app
        .customer("Acme", "ops@acme.example", "en", "Europe/Athens")
        .await;
    let contract = app.contract(customer, "PBX care", "2027-06-30", None).await;
    (
        reminder_of(app, contract, "before_60").await,
        reminder_of(app, contract, "call_customer").await,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn send_now_shows_and_sends_the_wording_of_today() {
    let app = app().await;
    let admin = admin(&app).await;
    let customer = app
        .customer("Acme", "ops@acme.example", "en", "Europe/Athens")
        .await;
    // Ends 24 days after NOW: the final notice is 17 days away.
    let contract = app.contract(customer, "PBX care", "2026-12-26", None).await;
    let id = reminder_of(&app, contract, "before_7").await;

    let (status, page) = get(&admin, &app, &format!("/review/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("in 7 days"), "the scheduled wording:\n{page}");
    assert!(page.contains("Sent today, it reads as of today"), "{page}");
    assert!(
        page.contains("in 24 days"),
        "the wording it would go out with:\n{page}"
    );
    let version_at = page
        .find("name=\"version\" value=\"")
        .expect("version field")
        + 22;
    let version = &page[version_at..version_at + page[version_at..].find('"').expect("end")];

    let response = post(
        &admin,
        &app,
        &format!("/review/{id}"),
        &format!("/review/{id}/send"),
        &[("version", version)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let sent = app.engine.reminder(id).await.expect("reminder");
    assert_eq!(sent.status, ReminderStatus::Sent);
    assert!(sent.body.contains("in 24 days"), "{}", sent.body);
    // In test mode the notice says where the email went.
    let (_, page) = get(&admin, &app, &location(&response)).await;
    assert!(
        page.contains("Written to the outbox folder, not sent"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_skip_is_undone_from_the_emails_page_and_skip_and_next_moves_on() {
    let app = app().await;
    let admin = admin(&app).await;
    let (first, second) = first_two_in_the_queue(&app).await;

    let response = post(
        &admin,
        &app,
        &format!("/review/{first}"),
        &format!("/review/{first}/skip"),
        &[("reason", "phoned instead"), ("then", "next")],
    )
    .await;
    assert_eq!(location(&response), format!("/review/{second}"));
    let (_, page) = get(&admin, &app, &format!("/review/{first}")).await;
    assert!(page.contains("Undo skip"), "{page}");
    assert!(
        page.contains("Was to go out"),
        "no 'goes out' beside a skip:\n{page}"
    );
    assert!(!page.contains("Goes out"));

    let response = post(
        &admin,
        &app,
        &format!("/review/{first}"),
        &format!("/review/{first}/unskip"),
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = app.engine.reminder(first).await.expect("reminder");
    assert_eq!(back.status, ReminderStatus::Scheduled);
    let history = app.engine.reminder_history(first).await.expect("history");
    assert!(history.iter().any(|e| e.action.as_str() == "restored"));
}

#[tokio::test(flavor = "multi_thread")]
async fn test_mode_shows_on_every_page_and_on_what_was_written_to_the_outbox() {
    let app = app().await;
    let admin = admin(&app).await;
    for path in ["/", "/review", "/contracts", "/plans", "/sent"] {
        let (status, page) = get(&admin, &app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(page.contains("id=\"test-mode-banner\""), "{path}:\n{page}");
    }
    let (_, page) = get(&admin, &app, "/").await;
    assert!(page.contains("Getting started"), "{page}");
    assert!(page.contains("A mail server (TICKLER_SMTP_URL)"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_salespersons_dashboard_shows_their_own_contracts_first() {
    let app = app().await;
    app.user(OWNER, Role::Sales).await;
    app.user("other@firm.example", Role::Sales).await;
    let customer = app
        .customer("Acme", "ops@acme.example", "en", "Europe/Athens")
        .await;
    app.contract(customer, "Sam's PBX", "2026-12-20", Some(OWNER))
        .await;
    app.contract(
        customer,
        "Other's lines",
        "2026-12-21",
        Some("other@firm.example"),
    )
    .await;
    let sam = app.login(OWNER).await;

    let (_, mine) = get(&sam, &app, "/").await;
    assert!(
        mine.contains("Sam&#39;s PBX") || mine.contains("Sam's PBX"),
        "{mine}"
    );
    assert!(!mine.contains("Other&#39;s lines") && !mine.contains("Other's lines"));
    let (_, all) = get(&sam, &app, "/?who=all").await;
    assert!(
        all.contains("Other&#39;s lines") || all.contains("Other's lines"),
        "{all}"
    );
    // Not an admin: no first-run checklist.
    assert!(!mine.contains("Getting started"));
}

#[tokio::test(flavor = "multi_thread")]
async fn plans_are_copied_renamed_and_archived_in_the_app() {
    let app = app().await;
    let admin = admin(&app).await;
    let renewal = app.renewal_plan_id().await;
    let response = post(
        &admin,
        &app,
        "/plans",
        "/plans/copy",
        &[("from", &renewal.to_string()), ("name", "key accounts")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    let id: i64 = to
        .trim_start_matches("/plans/")
        .trim_end_matches("#edit")
        .parse()
        .expect("new plan id");

    let response = post(
        &admin,
        &app,
        &format!("/plans/{id}"),
        &format!("/plans/{id}/describe"),
        &[
            ("name", "key accounts 2027"),
            ("description", "For our largest customers"),
            ("noun", "service agreement"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = post(
        &admin,
        &app,
        &format!("/plans/{id}"),
        &format!("/plans/{id}/archive"),
        &[("archived", "1")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&admin, &app, &format!("/plans/{id}")).await;
    assert!(page.contains("key accounts 2027"), "{page}");
    assert!(page.contains("archived"), "{page}");
    assert!(page.contains("service agreement"));
    // An archived plan is no choice for a new contract.
    let (_, form) = get(&admin, &app, "/contracts/new").await;
    assert!(!form.contains("key accounts 2027"), "{form}");
    // The shipped plan keeps its name.
    let response = post(
        &admin,
        &app,
        &format!("/plans/{renewal}"),
        &format!("/plans/{renewal}/describe"),
        &[("name", "mine"), ("description", ""), ("noun", "")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn renewing_says_what_it_cancels_and_a_missed_email_can_be_sent_late() {
    let app = app().await;
    let admin = admin(&app).await;
    let customer = app
        .customer("Acme", "ops@acme.example", "en", "Europe/Athens")
        .await;
    // Entered 20 days before its end: the 60- and 30-day emails were missed.
    let contract = app.contract(customer, "PBX care", "2026-12-22", None).await;
    let (_, page) = get(&admin, &app, &format!("/contracts/{contract}")).await;
    assert!(
        page.contains(
            "This cancels the current term&#39;s 2 pending emails: Final notice, Thank you."
        ),
        "{page}"
    );
    assert!(page.contains("Send it now, late"), "{page}");

    let missed = reminder_of(&app, contract, "before_30").await;
    let response = post(
        &admin,
        &app,
        &format!("/contracts/{contract}"),
        &format!("/review/{missed}/send-missed"),
        &[],
    )
    .await;
    assert_eq!(location(&response), format!("/contracts/{contract}"));
    let sent = app.engine.reminder(missed).await.expect("reminder");
    assert_eq!(sent.status, ReminderStatus::Sent);
    assert!(sent.body.contains("in 20 days"), "{}", sent.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invited_user_chooses_their_password_once() {
    let app = app().await;
    let admin = admin(&app).await;
    let response = post(
        &admin,
        &app,
        "/users/new",
        "/users",
        &[
            ("email", "nia@firm.example"),
            ("name", "Nia New"),
            ("role", "sales"),
            ("invite", "1"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&admin, &app, &location(&response)).await;
    let start = page.find("/invite/").expect("the link in the notice");
    let link: String = page[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "/-_".contains(*c))
        .collect();

    let visitor = support::client();
    let (status, form) = get(&visitor, &app, &link).await;
    assert_eq!(status, StatusCode::OK, "{form}");
    assert!(form.contains("Nia New"), "{form}");
    let csrf = support::csrf_of(&form);
    let set = |password: &'static str| {
        let (visitor, url, csrf) = (visitor.clone(), app.url(&link), csrf.clone());
        async move {
            visitor
                .post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("password", password),
                    ("password_again", password),
                ])
                .send()
                .await
                .expect("POST")
        }
    };
    let weak = set("short").await;
    assert_eq!(weak.status(), StatusCode::BAD_REQUEST);
    let done = set("a password of my own choosing").await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(
        done.text()
            .await
            .expect("page")
            .contains("Your password is set")
    );
    let again = set("another password entirely").await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let (status, _) = get(&visitor, &app, &link).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The password is the one they chose.
    let nia = app
        .engine
        .user_by_email("nia@firm.example")
        .await
        .expect("user");
    assert!(nia.is_some());
    let login = support::client();
    let (_, page) = get(&login, &app, "/login").await;
    let response = login
        .post(app.url("/login"))
        .form(&[
            ("csrf", support::csrf_of(&page).as_str()),
            ("email", "nia@firm.example"),
            ("password", "a password of my own choosing"),
            ("next", "/"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

/// A logged-in admin, and a customer's id as a form gives it.
async fn admin_and_acme(app: &TestApp) -> (reqwest::Client, String) {
    let admin = admin(app).await;
    let customer = app
        .customer("Acme", "ops@acme.example", "en", "Europe/Athens")
        .await;
    (admin, customer.to_string())
}

/// The page's text between `id="{id}-error">` and the end of that paragraph.
fn error_beside(page: &str, id: &str) -> Option<String> {
    let start = page.find(&format!("id=\"{id}-error\">"))? + id.len() + 9;
    let end = page[start..].find("</p>")?;
    Some(page[start..start + end].to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contract_form_says_every_error_at_once_in_the_readers_date_format() {
    let app = app().await;
    let (admin, customer) = admin_and_acme(&app).await;
    let fields = [
        ("customer", customer.as_str()),
        ("title", " "),
        ("start", "2027-03-01"),
        ("end", "2027-02-01"),
        ("amount", "ten"),
        ("currency", "EUR"),
    ];
    let response = post(&admin, &app, "/contracts/new", "/contracts", &fields).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.expect("page");
    assert!(
        page.contains("There are 3 problems with this form"),
        "{page}"
    );
    for (id, said) in [
        ("title", "must not be empty"),
        (
            "end",
            "the end date 1 February 2027 is before the start date 1 March 2027",
        ),
        ("amount", "ten"),
    ] {
        let beside = error_beside(&page, id).unwrap_or_else(|| panic!("{id}:\n{page}"));
        assert!(beside.contains(said), "{id}: {beside}");
        assert!(
            page.contains(&format!("href=\"#{id}\"")),
            "{id} in the summary"
        );
    }
    // Only the first one takes the focus.
    assert_eq!(page.matches(" autofocus").count(), 1, "{page}");
    assert!(
        page.contains(
            "aria-describedby=\"title-error\" aria-errormessage=\"title-error\" autofocus"
        )
    );

    // A reader who writes dates in Greek reads them so.
    let response = post(
        &admin,
        &app,
        "/account",
        "/account",
        &[("name", "Ada Admin"), ("time_zone", ""), ("language", "el")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = post(&admin, &app, "/contracts/new", "/contracts", &fields).await;
    let page = response.text().await.expect("page");
    let beside = error_beside(&page, "end").expect("end error");
    assert!(beside.contains("1 Φεβρουαρίου 2027"), "{beside}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_edit_refuses_every_bad_field_at_once_and_save_and_next_moves_on() {
    let app = app().await;
    let admin = admin(&app).await;
    let (first, second) = first_two_in_the_queue(&app).await;
    let response = post(
        &admin,
        &app,
        &format!("/review/{first}"),
        &format!("/review/{first}/edit"),
        &[
            ("subject", ""),
            ("to", "not an address"),
            ("send_at", "2020-01-01T09:00"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.expect("page");
    for id in ["subject", "to", "send_at"] {
        assert!(error_beside(&page, id).is_some(), "{id}:\n{page}");
    }
    assert!(page.contains("There are 3 problems"), "{page}");

    let response = post(
        &admin,
        &app,
        &format!("/review/{first}"),
        &format!("/review/{first}/edit"),
        &[("subject", "Your PBX care, renewed?"), ("then", "next")],
    )
    .await;
    assert_eq!(location(&response), format!("/review/{second}"));
    let saved = app.engine.reminder(first).await.expect("reminder");
    assert_eq!(saved.subject, "Your PBX care, renewed?");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customers_plan_is_chosen_on_their_form_and_their_new_contracts_follow_it() {
    let app = app().await;
    let admin = admin(&app).await;
    let renewal = app.renewal_plan_id().await;
    post(
        &admin,
        &app,
        "/plans",
        "/plans/copy",
        &[("from", &renewal.to_string()), ("name", "key accounts")],
    )
    .await;
    let (_, form) = get(&admin, &app, "/customers/new").await;
    assert!(form.contains("<option value=\"key accounts\""), "{form}");
    assert!(
        form.contains(">Japanese</option>"),
        "languages by name: {form}"
    );
    let response = post(
        &admin,
        &app,
        "/customers/new",
        "/customers",
        &[
            ("name", "Kanto"),
            ("emails", "it@kanto.example"),
            ("language", "ja"),
            ("time_zone", "Asia/Tokyo"),
            ("plan", "key accounts"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id: i64 = location(&response)
        .trim_start_matches("/customers/")
        .parse()
        .expect("customer id");
    assert_eq!(
        app.engine
            .customer_default_plan(id)
            .await
            .expect("plan")
            .as_deref(),
        Some("key accounts")
    );
    let contract = app.contract(id, "Lines", "2027-06-30", None).await;
    let detail = app.engine.contract_detail(contract).await.expect("detail");
    assert_eq!(detail.plan, "key accounts");

    // Its form shows the plan chosen, and every bad field at once.
    let (_, form) = get(&admin, &app, &format!("/customers/{id}/edit")).await;
    assert!(
        form.contains("<option value=\"key accounts\" selected>"),
        "{form}"
    );
    let response = post(
        &admin,
        &app,
        &format!("/customers/{id}/edit"),
        &format!("/customers/{id}/edit"),
        &[
            ("name", ""),
            ("emails", "nope"),
            ("language", "ja"),
            ("time_zone", "Mars/Olympus"),
            ("plan", "key accounts"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.expect("page");
    for id in ["name", "emails", "time_zone"] {
        assert!(error_beside(&page, id).is_some(), "{id}:\n{page}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plans_steps_are_refused_row_by_row_beside_each_field() {
    let app = app().await;
    let admin = admin(&app).await;
    let renewal = app.renewal_plan_id().await;
    let plan = app.engine.plan(renewal).await.expect("plan").plan;
    // The steps as the form shows them, with the first step's label emptied and the
    // second's offset not a number.
    let mut fields: Vec<(String, String)> = Vec::new();
    for (i, step) in plan.steps.iter().enumerate() {
        let mut add = |name: &str, value: String| fields.push((format!("{name}_{i}"), value));
        add("key", step.key.clone());
        add(
            "label",
            if i == 0 {
                String::new()
            } else {
                step.label.clone()
            },
        );
        add("template", step.template.clone());
        add("anchor", step.anchor.as_str().to_string());
        add(
            "offset",
            if i == 1 {
                "soon".to_string()
            } else {
                step.offset.days.to_string()
            },
        );
        add("unit", step.offset.unit.as_str().to_string());
        add("time", step.send_time.strftime("%H:%M").to_string());
        add("mode", step.mode.as_str().to_string());
        if step.recipients.customer {
            add("to_customer", "1".to_string());
        }
    }
    let typed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let response = post(
        &admin,
        &app,
        &format!("/plans/{renewal}"),
        &format!("/plans/{renewal}/steps"),
        &typed,
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.expect("page");
    let offset = error_beside(&page, "offset_1").unwrap_or_else(|| panic!("{page}"));
    assert!(offset.contains("Step 2, offset"), "{offset}");
    assert!(
        page.contains("id=\"offset_1\" name=\"offset_1\""),
        "the row as typed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_contract_list_shows_each_contracts_amount_and_next_email() {
    let app = app().await;
    let (admin, customer) = admin_and_acme(&app).await;
    let response = post(
        &admin,
        &app,
        "/contracts/new",
        "/contracts",
        &[
            ("customer", customer.as_str()),
            ("title", "PBX care"),
            ("start", "2026-07-01"),
            ("end", "2027-06-30"),
            ("amount", "1200.00"),
            ("currency", "EUR"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, page) = get(&admin, &app, "/contracts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("€1,200.00"), "{page}");
    // 60 days before 30 June 2027 at 09:00 in Athens (the admin's zone too).
    assert!(
        page.contains("2027-05-01 09:00</span> <span class=\"muted\">Renewal notice</span>"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contract_form_opened_before_someone_elses_change_does_not_undo_it() {
    let app = app().await;
    let (admin, customer) = admin_and_acme(&app).await;
    let contract = app
        .contract(
            customer.parse().expect("id"),
            "PBX care",
            "2027-06-30",
            None,
        )
        .await;
    let edit = format!("/contracts/{contract}/edit");
    let (_, form) = get(&admin, &app, &edit).await;
    let at = form.find("name=\"version\" value=\"").expect("the version") + 23;
    let version = form[at..at + form[at..].find('"').expect("end")].to_string();
    // Meanwhile, a colleague renames it.
    app.engine
        .edit_contract(
            contract,
            tickler_engine::contracts::ContractChanges {
                title: Some("PBX care (renamed)".to_string()),
                ..Default::default()
            },
            &tickler_engine::Actor::system(),
        )
        .await
        .expect("edit");
    let response = post(
        &admin,
        &app,
        &edit,
        &edit,
        &[
            ("title", "PBX care 2027"),
            ("start", "2026-07-01"),
            ("end", "2027-06-30"),
            ("version", version.as_str()),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let page = response.text().await.expect("page");
    assert!(page.contains("changed since"), "{page}");
    let detail = app.engine.contract_detail(contract).await.expect("detail");
    assert_eq!(detail.contract.title, "PBX care (renamed)");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_contract_list_downloads_as_csv_with_its_filters() {
    let app = app().await;
    let (admin, customer) = admin_and_acme(&app).await;
    let customer: i64 = customer.parse().expect("id");
    app.contract(customer, "PBX care", "2027-06-30", None).await;
    app.contract(customer, "=cmd|' /C calc'!A0", "2027-07-31", None)
        .await;
    let (_, page) = get(&admin, &app, "/contracts?q=PBX").await;
    assert!(page.contains("href=\"/contracts.csv?q=PBX\""), "{page}");

    let response = admin
        .get(app.url("/contracts.csv?q=PBX"))
        .send()
        .await
        .expect("download");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/csv; charset=utf-8")
    );
    let csv = response.text().await.expect("csv");
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .is_some_and(|h| h.starts_with("customer_name,customer_email,language,time_zone,title")),
        "{csv}"
    );
    assert!(csv.contains(",PBX care,"), "{csv}");
    assert_eq!(csv.lines().count(), 2, "only what the filter shows:\n{csv}");

    let everything = admin
        .get(app.url("/contracts.csv"))
        .send()
        .await
        .expect("download")
        .text()
        .await
        .expect("csv");
    assert!(
        everything.contains(",'=cmd|"),
        "made harmless:\n{everything}"
    );

    // The customers list too, with its search.
    app.customer("Globex", "it@globex.example", "en", "UTC")
        .await;
    let (_, page) = get(&admin, &app, "/customers?q=acme").await;
    assert!(page.contains("href=\"/customers.csv?q=acme\""), "{page}");
    let customers = admin
        .get(app.url("/customers.csv?q=acme"))
        .send()
        .await
        .expect("download")
        .text()
        .await
        .expect("csv");
    assert!(customers.starts_with("id,name,emails,language,time_zone,default_plan"));
    assert!(customers.contains("Acme"), "{customers}");
    assert!(
        !customers.contains("Globex"),
        "only what the search shows:\n{customers}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_page_gives_a_calendar_address_that_can_be_renewed() {
    let app = app().await;
    let admin = admin(&app).await;
    let (_, page) = get(&admin, &app, "/account").await;
    let at = page.find("id=\"calendar-url\">").expect("the address") + 18;
    let path = page[at..at + page[at..].find('<').expect("end")].to_string();
    assert!(
        path.starts_with("/calendar/") && path.ends_with(".ics"),
        "{path}"
    );
    let feed = reqwest::get(app.url(&path)).await.expect("feed");
    assert_eq!(feed.status(), StatusCode::OK);
    assert!(
        feed.text()
            .await
            .expect("text")
            .starts_with("BEGIN:VCALENDAR\r\n")
    );
    let response = post(&admin, &app, "/account", "/account/calendar/revoke", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let old = reqwest::get(app.url(&path)).await.expect("feed");
    assert_eq!(old.status(), StatusCode::NOT_FOUND);
}
