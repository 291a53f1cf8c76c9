//! Accounts, sessions and the defences around forms, over real HTTP.

mod support;

use std::sync::Arc;

use reqwest::StatusCode;
use support::{PASSWORD, SettableClock, TestApp, client, csrf_of, get, location, post};
use tickler_core::{
    clock::{Clock, FixedClock},
    user::Role,
};
use tickler_web::WebConfig;

#[tokio::test(flavor = "multi_thread")]
async fn the_first_visit_offers_setup_once_and_then_login() {
    let app = TestApp::start().await;
    let browser = client();
    let first = browser.get(app.url("/")).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&first), "/setup");

    let (status, page) = get(&browser, &app, "/setup").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_of(&page);
    let short = browser
        .post(app.url("/setup"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Ada"),
            ("email", "ada@firm.example"),
            ("password", "short"),
            ("password_again", "short"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert!(
        short
            .text()
            .await
            .unwrap()
            .contains("at least 10 characters")
    );

    let done = browser
        .post(app.url("/setup"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Ada"),
            ("email", "ada@firm.example"),
            ("password", PASSWORD),
            ("password_again", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&done);
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "not behind TLS: {cookie}");

    // Setup is gone now; a second browser gets the login page.
    let other = client();
    let setup_again = other.get(app.url("/setup")).send().await.unwrap();
    assert_eq!(location(&setup_again), "/login");
    let to_login = other.get(app.url("/?notice=hi")).send().await.unwrap();
    assert_eq!(location(&to_login), "/login?next=%2F%3Fnotice%3Dhi");
    app.login("ada@firm.example").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn login_rotates_the_session_and_logout_ends_it() {
    let app = TestApp::start().await;
    app.user("sam@firm.example", Role::Sales).await;
    let browser = app.login("sam@firm.example").await;
    let (status, page) = get(&browser, &app, "/").await;
    assert_ne!(status, StatusCode::SEE_OTHER, "logged in: {page}");
    let first_token = csrf_of(&page);

    // Logging in again in the same browser gives a new session.
    let relogin = app.login("sam@firm.example").await;
    let (_, page) = get(&relogin, &app, "/").await;
    assert_ne!(csrf_of(&page), first_token);

    let out = post(&relogin, &app, "/", "/logout", &[]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = relogin.get(app.url("/")).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert!(location(&after).starts_with("/login"));
}

/// A stopped clock, so that the throttle's delays are exact: the test's own pace never lets
/// one pass.
const NOW: &str = "2027-03-01T07:00:00Z";

/// The app behind a reverse proxy at 127.0.0.1 (the test's own address), as of [`NOW`].
async fn behind_trusted_proxy() -> TestApp {
    TestApp::start_on(
        None,
        behind_proxy("127.0.0.1"),
        Arc::new(FixedClock(NOW.parse().unwrap())),
    )
    .await
}

/// One login attempt from a fresh browser, as `forwarded_for` behind the proxy if given.
async fn attempt(
    app: &TestApp,
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> StatusCode {
    let headers: Vec<(&str, &str)> = forwarded_for
        .map(|ip| ("X-Forwarded-For", ip))
        .into_iter()
        .collect();
    login_with_headers(app, email, password, &headers)
        .await
        .status()
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_passwords_are_refused_then_slowed_then_answered_429() {
    let app = TestApp::start_at(NOW.parse().unwrap()).await;
    app.user("sam@firm.example", Role::Sales).await;
    // Five free failures, then two waited for (1 s, 2 s), then the delay is too long to wait.
    for _ in 0..7 {
        let status = attempt(&app, "sam@firm.example", "wrong password!", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let refused = login_with_headers(&app, "sam@firm.example", "wrong password!", &[]).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after = refused
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap());
    assert_eq!(
        retry_after,
        Some("4"),
        "the 8th failure's delay, on a stopped clock"
    );
    // Even the right password is refused from this client while its delay runs.
    let status = attempt(&app, "sam@firm.example", PASSWORD, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guesser_behind_the_proxy_locks_out_only_themselves() {
    let app = behind_trusted_proxy().await;
    app.user("ada@firm.example", Role::Admin).await;
    app.user("sam@firm.example", Role::Sales).await;
    let guesser = Some("198.51.100.66");
    for _ in 0..7 {
        let status = attempt(&app, "ada@firm.example", "wrong password!", guesser).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    for email in ["ada@firm.example", "sam@firm.example"] {
        let status = attempt(&app, email, "wrong password!", guesser).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{email}");
    }
    assert_eq!(
        attempt(&app, "ada@firm.example", PASSWORD, guesser).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Everyone else comes through the same proxy and still gets in, the attacked admin too.
    for (email, colleague) in [
        ("sam@firm.example", "198.51.100.7"),
        ("ada@firm.example", "198.51.100.8"),
    ] {
        let status = attempt(&app, email, PASSWORD, Some(colleague)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{email} from {colleague}");
    }
    // A colleague's own typo is only a typo.
    let status = attempt(&app, "sam@firm.example", "typo", Some("198.51.100.9")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarded_addresses_from_an_untrusted_peer_do_not_dodge_the_throttle() {
    let app = TestApp::start_on(
        None,
        behind_proxy("10.0.0.0/8"),
        Arc::new(FixedClock(NOW.parse().unwrap())),
    )
    .await;
    app.user("sam@firm.example", Role::Sales).await;
    let mut statuses = Vec::new();
    for i in 0..8 {
        let made_up = format!("203.0.113.{i}");
        statuses.push(attempt(&app, "sam@firm.example", "wrong password!", Some(&made_up)).await);
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "all from 127.0.0.1: {statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn logging_in_to_ones_own_account_does_not_wipe_failures_on_others() {
    let app = behind_trusted_proxy().await;
    app.user("ada@firm.example", Role::Admin).await;
    app.user("kim@firm.example", Role::Sales).await;
    app.user("mallory@firm.example", Role::Viewer).await;
    let mallory = Some("198.51.100.66");
    for _ in 0..5 {
        let status = attempt(&app, "ada@firm.example", "guess", mallory).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let own = attempt(&app, "mallory@firm.example", PASSWORD, mallory).await;
    assert_eq!(own, StatusCode::SEE_OTHER, "her own password is right");
    // Her five failures still count against her, on any account.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(attempt(&app, "kim@firm.example", "guess", mallory).await);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

/// Failures counted for a throttle key, as the store has them (read by counting one more).
async fn failures_of(app: &TestApp, key: &str) -> u32 {
    let mut conn = app.store.conn().await.unwrap();
    let now: jiff::Timestamp = NOW.parse().unwrap();
    let window_start = now - jiff::SignedDuration::from_hours(1);
    let (before, _) = tickler_store::sessions::count_attempt(&mut conn, key, now, window_start)
        .await
        .unwrap();
    before
}

/// A wrong login from a fresh browser as `forwarded_for`, started on its own task.
fn spawn_wrong_login(app: &TestApp, forwarded_for: String) -> tokio::task::JoinHandle<StatusCode> {
    let base = app.base.clone();
    tokio::spawn(async move {
        let browser = client();
        let page = browser.get(format!("{base}/login")).send().await.unwrap();
        let csrf = csrf_of(&page.text().await.unwrap());
        browser
            .post(format!("{base}/login"))
            .header("X-Forwarded-For", forwarded_for)
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", "sam@firm.example"),
                ("password", "wrong password!"),
            ])
            .send()
            .await
            .unwrap()
            .status()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parallel_burst_of_wrong_logins_is_counted_in_full_and_mostly_refused() {
    let app = behind_trusted_proxy().await;
    app.user("sam@firm.example", Role::Sales).await;
    const BURST: usize = 12;
    let attempts: Vec<_> = (0..BURST)
        .map(|_| spawn_wrong_login(&app, "198.51.100.66".to_string()))
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap());
    }
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + refused, BURST, "{statuses:?}");
    // At most five free, one waited 1 s, one 2 s: the rest would have had to wait longer
    // (fewer when the account's count, which races ahead, applies first).
    assert!(checked <= 7, "{statuses:?}");
    assert_eq!(failures_of(&app, "ip:198.51.100.66").await, BURST as u32);
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_answer_while_a_crowd_of_logins_is_being_slowed() {
    let app = behind_trusted_proxy().await;
    app.user("sam@firm.example", Role::Sales).await;
    let browser = app.login("sam@firm.example").await;
    // More clients than the pool has connections (4 on SQLite), each with the free failures
    // spent, so that each owes a wait of a second before its password is checked. A login
    // holding a connection while it waits would keep the page waiting for a second.
    const CROWD: usize = 12;
    let now: jiff::Timestamp = NOW.parse().unwrap();
    {
        let mut conn = app.store.conn().await.unwrap();
        for i in 0..CROWD {
            for _ in 0..tickler_core::login_throttle::FREE_FAILURES {
                let key = format!("ip:198.51.100.{i}");
                let window_start = now - jiff::SignedDuration::from_hours(1);
                tickler_store::sessions::count_attempt(&mut conn, &key, now, window_start)
                    .await
                    .unwrap();
            }
        }
    }
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = std::time::Instant::now();
    let logins: Vec<_> = (0..CROWD)
        .map(|i| {
            let done = done.clone();
            let login = spawn_wrong_login(&app, format!("198.51.100.{i}"));
            tokio::spawn(async move {
                let status = login.await.unwrap();
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                status
            })
        })
        .collect();
    // Let the logins reach their wait first.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (status, _) = get(&browser, &app, "/").await;
    let answered_after = started.elapsed();
    let finished = done.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(status, StatusCode::OK);
    // No login can finish before its second is out: a page answered later than that had to
    // wait for one of them.
    assert!(
        answered_after < std::time::Duration::from_secs(1) && finished == 0,
        "the page answered after {answered_after:?}, when {finished} of {CROWD} slowed \
         logins were done: it waited for them to free a connection"
    );
    for login in logins {
        assert_eq!(login.await.unwrap(), StatusCode::UNAUTHORIZED);
    }
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "each login waited out its second"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forms_without_the_token_or_from_another_site_are_refused() {
    let app = TestApp::start().await;
    app.user("sam@firm.example", Role::Sales).await;
    let browser = app.login("sam@firm.example").await;
    let (_, page) = get(&browser, &app, "/").await;
    let csrf = csrf_of(&page);

    let no_token = browser
        .post(app.url("/logout"))
        .form(&[("x", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    let wrong_token = browser
        .post(app.url("/logout"))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_token.status(), StatusCode::FORBIDDEN);
    let other_site = browser
        .post(app.url("/logout"))
        .header("Origin", "https://evil.example")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(other_site.status(), StatusCode::FORBIDDEN);
    let fetch_site = browser
        .post(app.url("/logout"))
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(fetch_site.status(), StatusCode::FORBIDDEN);
    // Still logged in: none of those did anything.
    let (status, _) = get(&browser, &app, "/").await;
    assert_ne!(status, StatusCode::SEE_OTHER);

    let same_site = browser
        .post(app.url("/logout"))
        .header("Origin", app.base.clone())
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(same_site.status(), StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_sessions_expire_and_deactivated_users_are_logged_out() {
    let app = TestApp::start_with(
        None,
        WebConfig {
            session_idle: std::time::Duration::from_secs(2),
            ..WebConfig::default()
        },
    )
    .await;
    app.user("sam@firm.example", Role::Sales).await;
    let browser = app.login("sam@firm.example").await;
    let (status, _) = get(&browser, &app, "/").await;
    assert_ne!(status, StatusCode::SEE_OTHER);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let expired = browser.get(app.url("/")).send().await.unwrap();
    assert_eq!(
        expired.status(),
        StatusCode::SEE_OTHER,
        "the idle session ended"
    );

    let id = app.user("kim@firm.example", Role::Sales).await;
    let kim = app.login("kim@firm.example").await;
    app.engine
        .update_user(
            id,
            tickler_engine::settings::UserChanges {
                name: "Kim",
                role: Role::Sales,
                active: false,
                time_zone: None,
                language: None,
                digest: None,
                digest_time: None,
            },
            &tickler_engine::Actor::system(),
        )
        .await
        .unwrap();
    let gone = kim.get(app.url("/")).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread")]
async fn secure_cookies_behind_tls() {
    let app = TestApp::start_with(
        None,
        WebConfig {
            public_url: Some("https://tickler.firm.example".to_string()),
            ..WebConfig::default()
        },
    )
    .await;
    app.user("sam@firm.example", Role::Sales).await;
    let browser = client();
    let (_, page) = get(&browser, &app, "/login").await;
    let response = browser
        .post(app.url("/login"))
        .header("Origin", "https://tickler.firm.example")
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("email", "sam@firm.example"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let cookie = session_cookie(&response);
    assert!(cookie.contains("Secure"), "{cookie}");
}

fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tickler_session="))
        .expect("a session cookie")
        .to_string()
}

/// Logs in from a fresh browser with `next` as the login form sends it; the redirect target.
async fn login_then_go_to(app: &TestApp, next: &str) -> String {
    let browser = client();
    let (_, page) = get(&browser, app, "/login").await;
    let response = browser
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("email", "sam@firm.example"),
            ("password", PASSWORD),
            ("next", next),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next:?}");
    location(&response)
}

#[tokio::test(flavor = "multi_thread")]
async fn after_login_the_browser_goes_only_to_a_page_of_this_site() {
    let app = TestApp::start().await;
    app.user("sam@firm.example", Role::Sales).await;

    // The link of the issue: its `%09` is a tab once the query is decoded, and a browser
    // drops tabs from `Location`, which made `/\t/evil.example` the site `evil.example`.
    let browser = client();
    let (_, page) = get(&browser, &app, "/login?next=/%09/evil.example").await;
    assert!(
        page.contains("name=\"next\" value=\"/\""),
        "the form carries / only:\n{page}"
    );
    for next in [
        "/\t/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https:evil.example",
    ] {
        assert_eq!(login_then_go_to(&app, next).await, "/", "{next:?}");
    }
    assert_eq!(
        login_then_go_to(&app, "/contracts?status=active").await,
        "/contracts?status=active"
    );
}

/// Logs `email` in from a fresh browser sending `headers` along; the login's response.
async fn login_with_headers(
    app: &TestApp,
    email: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let browser = client();
    let (_, page) = get(&browser, app, "/login").await;
    let mut request = browser.post(app.url("/login")).form(&[
        ("csrf", csrf_of(&page).as_str()),
        ("email", email),
        ("password", password),
    ]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn behind_proxy(proxies: &str) -> WebConfig {
    WebConfig {
        trusted_proxies: tickler_web::client::TrustedProxies::parse(proxies).unwrap(),
        ..WebConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_session_cookie_is_secure_when_a_trusted_proxy_says_https() {
    let https = [("X-Forwarded-Proto", "https")];
    let trusted = TestApp::start_with(None, behind_proxy("127.0.0.1")).await;
    trusted.user("sam@firm.example", Role::Sales).await;
    let response = login_with_headers(&trusted, "sam@firm.example", PASSWORD, &https).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&response);
    assert!(cookie.contains("; Secure"), "{cookie}");
    let plain = login_with_headers(&trusted, "sam@firm.example", PASSWORD, &[]).await;
    assert!(!session_cookie(&plain).contains("Secure"));

    // The same header from a peer that is no trusted proxy proves nothing.
    let untrusted = TestApp::start_with(None, behind_proxy("10.0.0.0/8")).await;
    untrusted.user("sam@firm.example", Role::Sales).await;
    let response = login_with_headers(&untrusted, "sam@firm.example", PASSWORD, &https).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&response);
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[tokio::test(flavor = "multi_thread")]
async fn logged_in_pages_are_never_cached_and_https_sites_ask_for_https_only() {
    let app = TestApp::start().await;
    app.user("sam@firm.example", Role::Sales).await;
    let browser = app.login("sam@firm.example").await;
    for path in ["/", "/contracts", "/review"] {
        let page = browser.get(app.url(path)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        assert_eq!(
            page.headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{path}"
        );
        assert!(page.headers().get("strict-transport-security").is_none());
    }

    let https = TestApp::start_with(
        None,
        WebConfig {
            public_url: Some("https://tickler.firm.example".to_string()),
            ..WebConfig::default()
        },
    )
    .await;
    let page = client().get(https.url("/login")).send().await.unwrap();
    assert_eq!(
        page.headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap()),
        Some("max-age=31536000")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_active_session_still_ends_at_its_lifetime() {
    let clock = SettableClock::at(NOW);
    let app = TestApp::start_on(
        None,
        WebConfig {
            session_idle: std::time::Duration::from_secs(3600),
            session_max: std::time::Duration::from_secs(24 * 3600),
            ..WebConfig::default()
        },
        clock.clone(),
    )
    .await;
    app.user("sam@firm.example", Role::Sales).await;
    let browser = app.login("sam@firm.example").await;
    // A request every 50 minutes keeps the idle session alive for most of a day...
    for _ in 0..28 {
        clock.advance(jiff::SignedDuration::from_mins(50));
        let (status, _) = get(&browser, &app, "/").await;
        assert_eq!(status, StatusCode::OK, "alive after {:?}", clock.now());
    }
    // ...but not beyond 24 hours from login, however active.
    clock.advance(jiff::SignedDuration::from_mins(50));
    let ended = browser.get(app.url("/")).send().await.unwrap();
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
    assert!(location(&ended).starts_with("/login"));
    // Logging in again starts a new lifetime.
    let again = app.login("sam@firm.example").await;
    let (status, _) = get(&again, &app, "/").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_public_pages_limit_each_forwarded_client_not_the_proxy() {
    let app = TestApp::start_with(
        None,
        WebConfig {
            public_requests_per_minute: 2,
            ..behind_proxy("127.0.0.1")
        },
    )
    .await;
    let open = |client: &'static str| {
        let url = app.url("/answer/not-a-token");
        async move {
            reqwest::Client::new()
                .get(url)
                .header("X-Forwarded-For", client)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for _ in 0..2 {
        assert_ne!(open("198.51.100.66").await, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(open("198.51.100.66").await, StatusCode::TOO_MANY_REQUESTS);
    // Another customer behind the same proxy has their own quota.
    assert_ne!(open("198.51.100.7").await, StatusCode::TOO_MANY_REQUESTS);
}
