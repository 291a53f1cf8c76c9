//! The one-time setup of the first admin over real HTTP: it succeeds once even when
//! submitted twice at the same moment, never reopens, and asks for the setup code when the
//! app is reachable from other machines. Runs on PostgreSQL too (`TICKLER_TEST_BACKEND`).

mod support;

use reqwest::{Client, StatusCode};
use support::{PASSWORD, TestApp, client, csrf_of, get, location};
use tickler_core::user::Role;
use tickler_engine::{Actor, directory::NewUser};
use tickler_web::WebConfig;

/// The setup form's fields, filled for `email`.
fn setup_form<'a>(csrf: &'a str, email: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("name", "First"),
        ("email", email),
        ("password", PASSWORD),
        ("password_again", PASSWORD),
    ]
}

/// A fresh browser's setup form, filled for `email`, with `code` if given.
async fn submit_setup(app: &TestApp, email: &str, code: Option<&str>) -> (Client, StatusCode) {
    let browser = client();
    let (status, page) = get(&browser, app, "/setup").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let csrf = csrf_of(&page);
    let mut form = setup_form(&csrf, email);
    if let Some(code) = code {
        form.push(("setup_code", code));
    }
    let response = browser
        .post(app.url("/setup"))
        .form(&form)
        .send()
        .await
        .expect("POST /setup");
    (browser, response.status())
}

async fn admins(app: &TestApp) -> Vec<String> {
    app.engine
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .filter(|u| u.role == Role::Admin)
        .map(|u| u.email)
        .collect()
}

async fn setup_offered(app: &TestApp) -> bool {
    let response = client().get(app.url("/setup")).send().await.unwrap();
    response.status() == StatusCode::OK
}

#[tokio::test(flavor = "multi_thread")]
async fn simultaneous_setups_make_exactly_one_admin() {
    let app = TestApp::start().await;
    // Every form is fetched first, so that all of them are filled while the setup is open.
    let mut forms = Vec::new();
    for n in 0..8 {
        let browser = client();
        let (_, page) = get(&browser, &app, "/setup").await;
        forms.push((browser, csrf_of(&page), format!("admin{n}@firm.example")));
    }
    let submissions = forms.into_iter().map(|(browser, csrf, email)| {
        let url = app.url("/setup");
        tokio::spawn(async move {
            browser
                .post(url)
                .form(&setup_form(&csrf, &email))
                .send()
                .await
                .expect("POST /setup")
                .status()
        })
    });
    let mut statuses = Vec::new();
    for submission in submissions.collect::<Vec<_>>() {
        statuses.push(submission.await.expect("task"));
    }
    let won = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(won, 1, "exactly one setup succeeds: {statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::FORBIDDEN),
        "the others are refused: {statuses:?}"
    );
    assert_eq!(admins(&app).await.len(), 1, "{:?}", admins(&app).await);
    assert!(!setup_offered(&app).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn setup_never_reopens_once_an_admin_exists() {
    let app = TestApp::start().await;
    let (_, status) = submit_setup(&app, "ada@firm.example", None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(!setup_offered(&app).await);

    // The only admin deactivated behind the app's back (the app refuses to do it): nobody
    // can log in, and still nobody may make themselves admin.
    let ada = app
        .engine
        .user_by_email("ada@firm.example")
        .await
        .unwrap()
        .expect("the admin");
    let mut conn = app.store.conn().await.unwrap();
    tickler_store::users::update(
        &mut conn,
        &tickler_store::users::User {
            active: false,
            time_zone: None,
            ..ada.clone()
        },
    )
    .await
    .unwrap();
    drop(conn);
    let nobody = client().get(app.url("/")).send().await.unwrap();
    assert!(location(&nobody).starts_with("/login"), "{nobody:?}");
    let page = client().get(app.url("/setup")).send().await.unwrap();
    assert_eq!(location(&page), "/login");
    assert_eq!(
        submit_status_without_form(&app, "mallory@evil.example").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(admins(&app).await, vec!["ada@firm.example".to_string()]);
}

/// A setup POST with a pre-session form token of its own (the setup page redirects away
/// once setup is closed, so the token comes from the login page).
async fn submit_status_without_form(app: &TestApp, email: &str) -> StatusCode {
    let browser = client();
    let (_, page) = get(&browser, app, "/login").await;
    let csrf = csrf_of(&page);
    browser
        .post(app.url("/setup"))
        .form(&setup_form(&csrf, email))
        .send()
        .await
        .expect("POST /setup")
        .status()
}

#[tokio::test(flavor = "multi_thread")]
async fn password_less_users_keep_setup_open_only_until_an_admin_exists() {
    let app = TestApp::start().await;
    let add = |email: &str, role: Role| NewUser {
        email: email.to_string(),
        name: email.to_string(),
        role,
        password_hash: None,
    };
    // Owners entered by an import cannot log in: the setup is still to be done.
    app.engine
        .add_user(add("owner@firm.example", Role::Sales), &Actor::system())
        .await
        .unwrap();
    assert!(setup_offered(&app).await);

    // An admin made from the command line without a password yet: the setup is over.
    app.engine
        .add_user(add("boss@firm.example", Role::Admin), &Actor::system())
        .await
        .unwrap();
    assert!(!setup_offered(&app).await);
    assert_eq!(
        submit_status_without_form(&app, "owner@firm.example").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(admins(&app).await, vec!["boss@firm.example".to_string()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn beyond_loopback_the_setup_code_is_required_and_single_use() {
    let app = TestApp::start_with(
        None,
        WebConfig {
            setup_needs_code: true,
            ..WebConfig::default()
        },
    )
    .await;
    let code = app
        .engine
        .setup_code()
        .await
        .unwrap()
        .expect("a code while setup is open");
    assert_eq!(
        app.engine.setup_code().await.unwrap().as_deref(),
        Some(code.as_str()),
        "every process on the database gets the same code"
    );
    let (_, page) = get(&client(), &app, "/setup").await;
    assert!(page.contains("name=\"setup_code\""), "{page}");

    for wrong in [
        None,
        Some(""),
        Some("aaaaa-aaaaa-aaaaa-aaaaa"),
        Some(&code[1..]),
    ] {
        let (_, status) = submit_setup(&app, "mallory@evil.example", wrong).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{wrong:?}");
        assert!(admins(&app).await.is_empty(), "{wrong:?}");
    }

    let (ada, status) = submit_setup(&app, "ada@firm.example", Some(&code)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = get(&ada, &app, "/").await;
    assert_eq!(status, StatusCode::OK, "the admin is logged in");

    // Used: gone from the database, and worth nothing a second time.
    assert_eq!(app.engine.setup_code().await.unwrap(), None);
    let stored = tickler_store::settings::get(&mut app.store.conn().await.unwrap(), "setup_code")
        .await
        .unwrap();
    assert_eq!(stored, None);
    assert_eq!(
        submit_status_without_form(&app, "mallory@evil.example").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(admins(&app).await, vec!["ada@firm.example".to_string()]);
}
