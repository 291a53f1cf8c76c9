//! The customers pages over real HTTP: the list with its search and pages, a customer with
//! their contracts, entering and editing one, and who may do which.

mod support;

use reqwest::StatusCode;
use support::{TestApp, admin, get, href_of, location, post};
use tickler_core::{language::Language, user::Role};
use tickler_engine::browse::CustomerQuery;

fn rows(html: &str) -> usize {
    html.matches("<tr>\n    <td><a href=\"/customers/").count()
}

async fn count(app: &TestApp) -> i64 {
    app.engine
        .browse_customers(&CustomerQuery::default())
        .await
        .expect("count")
        .total
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_searches_by_name_or_address_and_pages() {
    let app = TestApp::start().await;
    let browser = admin(&app).await;
    for i in 0..53 {
        app.customer(
            &format!("Customer {i:02}"),
            &format!("c{i}@example.com"),
            "en",
            "UTC",
        )
        .await;
    }
    let kyoto = app
        .customer("Kyoto Lifts", "info@kyoto.example", "ja", "Asia/Tokyo")
        .await;
    app.contract(kyoto, "Elevator service", "2027-06-30", None)
        .await;

    let (status, page) = get(&browser, &app, "/customers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("54 customers"), "{page}");
    assert_eq!(rows(&page), 50);
    assert!(page.contains("Customer 00") && !page.contains("Kyoto Lifts"));
    let next = href_of(&page, "Next page").expect("a next page");
    let (_, second) = get(&browser, &app, &next).await;
    assert_eq!(rows(&second), 4);
    assert!(second.contains("Kyoto Lifts") && second.contains("Asia/Tokyo"));
    assert!(
        second.contains(&format!("/contracts?customer={kyoto}\">1</a>")),
        "contract count links to them: {second}"
    );
    let previous = href_of(&second, "Previous page").expect("a previous page");
    let (_, back) = get(&browser, &app, &previous).await;
    assert_eq!(rows(&back), 50);
    assert!(back.contains("Customer 00"));

    let (_, by_name) = get(&browser, &app, "/customers?q=kyoto").await;
    assert_eq!(rows(&by_name), 1);
    assert!(by_name.contains("1 customer<") || by_name.contains(">1 customer"));
    let (_, by_email) = get(&browser, &app, "/customers?q=C17%40EXAMPLE").await;
    assert_eq!(rows(&by_email), 1);
    assert!(by_email.contains("Customer 17"));
    let (_, none) = get(&browser, &app, "/customers?q=nobody").await;
    assert!(none.contains("No customer matches."));
    let (status, _) = get(&browser, &app, "/customers?after=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Searches read trigram indexes: fewer than three characters are refused, saying so.
    let (status, page) = get(&browser, &app, "/customers?q=ky").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("too short to search for") && page.contains("at least 3"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn entering_a_customer_and_seeing_their_contracts() {
    let app = TestApp::start().await;
    let browser = admin(&app).await;
    let (status, form) = get(&browser, &app, "/customers/new").await;
    assert_eq!(status, StatusCode::OK);
    for language in ["en", "ja", "el"] {
        assert!(form.contains(&format!("<option value=\"{language}\"")));
    }
    assert!(form.contains("Europe/Athens"), "the default zone is named");

    let response = post(
        &browser,
        &app,
        "/customers/new",
        "/customers",
        &[
            ("name", "Πελάτης Α.Ε."),
            (
                "emails",
                "main@pelatis.example\r\nbilling@pelatis.example\r\n",
            ),
            ("language", "el"),
            ("time_zone", "Europe/Athens"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    let id: i64 = to["/customers/".len()..].parse().unwrap();
    let customer = app.engine.customer(id).await.unwrap();
    assert_eq!(
        customer.emails,
        ["main@pelatis.example", "billing@pelatis.example"]
    );
    assert_eq!(customer.language, Language::El);

    app.contract(id, "Συντήρηση ανελκυστήρα", "2027-06-30", None)
        .await;
    let (status, page) = get(&browser, &app, &to).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Customer entered."));
    assert!(page.contains("Πελάτης Α.Ε.") && page.contains("billing@pelatis.example"));
    assert!(page.contains("Συντήρηση ανελκυστήρα") && page.contains("2027-06-30"));
    assert!(page.contains("1 contract"));
    assert!(page.contains(&format!("/contracts/new?customer={id}")));
    let (_, form) = get(&browser, &app, &format!("/contracts/new?customer={id}")).await;
    assert!(
        form.contains(&format!("<option value=\"{id}\" selected")),
        "the customer is chosen"
    );
    let (status, _) = get(&browser, &app, "/customers/9999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_customer_form_comes_back_with_what_was_typed() {
    let app = TestApp::start().await;
    let browser = admin(&app).await;
    app.customer("Acme", "ops@acme.example", "en", "UTC").await;
    let before = count(&app).await;
    for (fields, field, status) in [
        (
            [
                ("name", "Typed name"),
                ("emails", "a@b.example"),
                ("language", "en"),
                ("time_zone", "Mars/Olympus"),
            ],
            "time_zone",
            StatusCode::BAD_REQUEST,
        ),
        (
            [
                ("name", "Typed name"),
                ("emails", "not an address"),
                ("language", "en"),
                ("time_zone", ""),
            ],
            "email",
            StatusCode::BAD_REQUEST,
        ),
        (
            [
                ("name", "Typed name"),
                ("emails", ""),
                ("language", "en"),
                ("time_zone", ""),
            ],
            "email",
            StatusCode::BAD_REQUEST,
        ),
        (
            [
                ("name", "Typed name"),
                ("emails", "a@b.example"),
                ("language", "fr"),
                ("time_zone", ""),
            ],
            "language",
            StatusCode::BAD_REQUEST,
        ),
        (
            [
                ("name", " "),
                ("emails", "a@b.example"),
                ("language", "en"),
                ("time_zone", ""),
            ],
            "name",
            StatusCode::BAD_REQUEST,
        ),
        (
            [
                ("name", "Typed name"),
                ("emails", "OPS@acme.example"),
                ("language", "en"),
                ("time_zone", ""),
            ],
            "emails",
            StatusCode::CONFLICT,
        ),
    ] {
        let response = post(&browser, &app, "/customers/new", "/customers", &fields).await;
        assert_eq!(response.status(), status, "{field}");
        let page = response.text().await.unwrap();
        // Beside its field: the addresses are all typed in one box.
        let element = if field == "email" { "emails" } else { field };
        assert!(
            page.contains(&format!("id=\"{element}-error\"")),
            "beside {field}: {page}"
        );
        assert!(page.contains("aria-invalid"), "marks the field");
        if fields[0].1 == "Typed name" {
            assert!(
                page.contains("value=\"Typed name\""),
                "keeps what was typed"
            );
        }
        assert!(page.contains(fields[1].1), "keeps the addresses");
    }
    assert_eq!(count(&app).await, before, "nothing entered");
}

#[tokio::test(flavor = "multi_thread")]
async fn editing_a_customer_moves_their_reminders_to_the_new_zone() {
    let app = TestApp::start().await;
    let browser = admin(&app).await;
    let id = app
        .customer("Kyoto Lifts", "info@kyoto.example", "ja", "Asia/Tokyo")
        .await;
    let contract = app
        .contract(id, "Elevator service", "2027-06-30", None)
        .await;
    let path = format!("/customers/{id}/edit");
    let (status, form) = get(&browser, &app, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("info@kyoto.example") && form.contains("value=\"Asia/Tokyo\""));
    assert!(form.contains("<option value=\"ja\" selected"));

    let response = post(
        &browser,
        &app,
        &path,
        &path,
        &[
            ("name", "Kyoto Lifts KK"),
            ("emails", "info@kyoto.example\nboss@kyoto.example"),
            ("language", "en"),
            ("time_zone", "America/New_York"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let customer = app.engine.customer(id).await.unwrap();
    assert_eq!(customer.name, "Kyoto Lifts KK");
    assert_eq!(customer.emails.len(), 2);
    assert_eq!(customer.time_zone.as_deref(), Some("America/New_York"));
    assert_eq!(customer.language, Language::En);
    // 09:00 in New York on 2027-05-01 is 13:00Z, 16:00 in Athens (the viewer's zone).
    let (_, page) = get(&browser, &app, &format!("/contracts/{contract}")).await;
    assert!(page.contains("2027-05-01 16:00"), "{page}");
    assert!(page.contains("boss@kyoto.example"));

    let refused = post(
        &browser,
        &app,
        &path,
        &path,
        &[
            ("name", "Renamed"),
            ("emails", "info@kyoto.example"),
            ("language", "en"),
            ("time_zone", "Nowhere/Town"),
        ],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let page = refused.text().await.unwrap();
    assert!(page.contains("value=\"Nowhere/Town\"") && page.contains("value=\"Renamed\""));
    assert_eq!(
        app.engine.customer(id).await.unwrap().name,
        "Kyoto Lifts KK"
    );
    let (status, _) = get(&browser, &app, "/customers/9999/edit").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn viewers_read_salespeople_enter_and_edit_customers() {
    let app = TestApp::start().await;
    app.user("sam@firm.example", Role::Sales).await;
    app.user("vic@firm.example", Role::Viewer).await;
    let id = app.customer("Acme", "ops@acme.example", "en", "UTC").await;
    let edit_path = format!("/customers/{id}/edit");
    let fields = [
        ("name", "Changed"),
        ("emails", "ops@acme.example"),
        ("language", "en"),
        ("time_zone", "UTC"),
    ];

    let vic = app.login("vic@firm.example").await;
    assert_eq!(get(&vic, &app, "/customers").await.0, StatusCode::OK);
    let (status, page) = get(&vic, &app, &format!("/customers/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("Edit customer") && !page.contains("New contract for"));
    assert_eq!(
        get(&vic, &app, "/customers/new").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(get(&vic, &app, &edit_path).await.0, StatusCode::FORBIDDEN);
    let before = count(&app).await;
    let new_fields = [
        ("name", "New one"),
        ("emails", "new@one.example"),
        ("language", "en"),
        ("time_zone", ""),
    ];
    let refused = post(&vic, &app, "/customers", "/customers", &new_fields).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = post(&vic, &app, "/customers", &edit_path, &fields).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(count(&app).await, before);
    assert_eq!(app.engine.customer(id).await.unwrap().name, "Acme");

    let sam = app.login("sam@firm.example").await;
    let entered = post(&sam, &app, "/customers/new", "/customers", &new_fields).await;
    assert_eq!(entered.status(), StatusCode::SEE_OTHER);
    assert_eq!(count(&app).await, before + 1);
    let edited = post(&sam, &app, &edit_path, &edit_path, &fields).await;
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.engine.customer(id).await.unwrap().name, "Changed");
}

/// The internal notices queued about `contract` from the customer-redirected template, as
/// (recipients, subject).
async fn redirect_notices(app: &TestApp, contract: i64) -> Vec<(Vec<String>, String)> {
    use tickler_store::reminders::{ReminderFilter, list};
    let mut db = app.store.conn().await.expect("db");
    let filter = ReminderFilter {
        contract_id: Some(contract),
        ..ReminderFilter::default()
    };
    list(&mut db, &filter)
        .await
        .expect("reminders")
        .into_iter()
        .filter(|r| r.template == tickler_mail::templates::CUSTOMER_REDIRECTED)
        .map(|r| (r.to, r.subject.unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn only_an_admin_or_the_owner_redirects_a_customers_mail_and_the_owners_are_told() {
    let app = TestApp::start().await;
    app.user("sam@firm.example", Role::Sales).await;
    app.user("olga@firm.example", Role::Sales).await;
    let id = app.customer("Acme", "ops@acme.example", "en", "UTC").await;
    let sams = app
        .contract(id, "Copier care", "2027-06-30", Some("sam@firm.example"))
        .await;
    let olgas = app
        .contract(id, "Lift service", "2027-09-30", Some("olga@firm.example"))
        .await;
    let edit_path = format!("/customers/{id}/edit");
    let with_emails = |emails: &'static str| {
        [
            ("name", "Acme"),
            ("emails", emails),
            ("language", "en"),
            ("time_zone", "UTC"),
        ]
    };

    // Sam owns one contract of two: Olga's reminders may not follow his new address.
    let sam = app.login("sam@firm.example").await;
    let refused = post(
        &sam,
        &app,
        &edit_path,
        &edit_path,
        &with_emails("evil@else.example"),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("owned by olga") && page.contains("only an admin or that owner"),
        "{page}"
    );
    assert_eq!(
        app.engine.customer(id).await.unwrap().emails,
        ["ops@acme.example"]
    );
    assert!(redirect_notices(&app, olgas).await.is_empty());
    // What does not move mail stays his to change.
    let renamed = post(
        &sam,
        &app,
        &edit_path,
        &edit_path,
        &[
            ("name", "Acme Ltd"),
            ("emails", "ops@acme.example"),
            ("language", "en"),
            ("time_zone", "UTC"),
        ],
    )
    .await;
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);

    // An admin may; both owners are told, and the change is recorded with both addresses.
    let boss = admin(&app).await;
    let moved = post(
        &boss,
        &app,
        &edit_path,
        &edit_path,
        &with_emails("billing@acme.example"),
    )
    .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.engine.customer(id).await.unwrap().emails,
        ["billing@acme.example"]
    );
    for (contract, owner) in [(sams, "sam@firm.example"), (olgas, "olga@firm.example")] {
        let notices = redirect_notices(&app, contract).await;
        assert_eq!(notices.len(), 1, "{owner}: {notices:?}");
        assert_eq!(notices[0].0, [owner]);
        assert!(notices[0].1.contains("addresses changed"), "{notices:?}");
    }
    let mut db = app.store.conn().await.unwrap();
    let events = tickler_store::events::for_subject(
        &mut db,
        tickler_core::event::EventSubject::Customer(id),
    )
    .await
    .unwrap();
    assert!(
        events.iter().any(|e| e
            .detail
            .contains("addresses ops@acme.example → billing@acme.example")),
        "{events:?}"
    );
    drop(db);

    // Owning one of the contracts is not enough: Olga is refused, naming Sam.
    let olga = app.login("olga@firm.example").await;
    let refused = post(
        &olga,
        &app,
        &edit_path,
        &edit_path,
        &with_emails("x@acme.example"),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("owned by sam"));

    // The owner of every active contract may, and is not told of their own change.
    let solo = app.customer("Solo", "a@solo.example", "en", "UTC").await;
    let solos = app
        .contract(solo, "Solo care", "2027-06-30", Some("sam@firm.example"))
        .await;
    let solo_path = format!("/customers/{solo}/edit");
    let own = post(
        &sam,
        &app,
        &solo_path,
        &solo_path,
        &with_emails("b@solo.example"),
    )
    .await;
    assert_eq!(own.status(), StatusCode::SEE_OTHER);
    assert!(redirect_notices(&app, solos).await.is_empty());
}
