//! The one-line confirmation after an action ("User ... created") travels in the session
//! and shows once on the next page; a `?notice=` in a link shows nothing.

mod support;

use reqwest::StatusCode;
use support::{PASSWORD, TestApp, get, location, post};
use tickler_core::user::Role;

const NOTICE_MARKUP: &str = "class=\"notice\"";

#[tokio::test(flavor = "multi_thread")]
async fn a_notice_shows_once_on_the_next_page_and_never_from_the_url() {
    let app = TestApp::start().await;
    app.user("admin@firm.example", Role::Admin).await;
    let admin = app.login("admin@firm.example").await;

    // A crafted link cannot make a page speak.
    for path in [
        "/?notice=Session+expired%2C+call+%2B1+555+0100",
        "/users?notice=Session+expired%2C+call+%2B1+555+0100",
    ] {
        let (status, page) = get(&admin, &app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!page.contains("Session expired"), "{path}: {page}");
        assert!(!page.contains(NOTICE_MARKUP), "{path}: {page}");
    }

    let created = post(
        &admin,
        &app,
        "/users/new",
        "/users",
        &[
            ("email", "sam@firm.example"),
            ("name", "Sam Seller"),
            ("role", "sales"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&created), "/users", "a clean URL");

    let (_, first) = get(&admin, &app, "/users").await;
    assert!(
        first.contains("User sam@firm.example created; they can log in"),
        "the next page shows the notice: {first}"
    );
    let (_, second) = get(&admin, &app, "/users").await;
    assert!(!second.contains("created; they can"), "only once: {second}");
    assert!(!second.contains(NOTICE_MARKUP), "{second}");

    // Another person's session never sees it.
    let sam = app.login("sam@firm.example").await;
    let (_, dashboard) = get(&sam, &app, "/").await;
    assert!(!dashboard.contains(NOTICE_MARKUP), "{dashboard}");
}
