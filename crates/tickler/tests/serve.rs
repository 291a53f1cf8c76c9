//! `tickler serve`: the dispatcher running on the wall clock, its health endpoint, and a
//! clean stop on SIGTERM that loses nothing in flight.

mod support;

use std::{
    io::Write,
    process::{Child, Stdio},
    time::{Duration, Instant},
};

use support::{Tickler, field, http_get};
use tickler_testkit::SmtpTestServer;

/// `tickler user add` for the admin Ada (without a password unless more is appended).
const ADD_ADMIN_ADA: &[&str] = &[
    "user",
    "add",
    "--email",
    "ada@firm.example",
    "--name",
    "Ada",
    "--role",
    "admin",
];

fn wait_until_healthy(port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(response) = http_get(port, "/healthz") {
            return response;
        }
        assert!(
            Instant::now() < deadline,
            "tickler serve did not answer on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `tickler serve` on `host:port`, answering; its log (standard error) goes to `log`.
fn serve_on(t: &Tickler, host: &str, port: u16, log: Stdio) -> Child {
    let child = t
        .command(&["serve", "--listen", &format!("{host}:{port}")])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start serve");
    wait_until_healthy(port);
    child
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "tickler serve did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A contract whose first email is due `seconds` from now on the wall clock.
fn due_soon(t: &Tickler, seconds: i64) -> String {
    let contract = t.contract("en", "UTC", "ops@acme.example", "2099-06-30");
    let id = t.reminder(&contract, "before_60", 1)["id"].to_string();
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(seconds);
    t.ok(&["reminder", "edit", &id, "--send-at", &at.to_string()]);
    contract
}

#[test]
fn serve_sends_at_the_due_time_and_stops_cleanly_on_sigterm() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let contract = due_soon(&t, 2);
    let port = tickler_testkit::free_port();
    let mut serve = t
        .command(&["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve");

    let health = wait_until_healthy(port);
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("database: reachable"), "{health}");
    let ready = http_get(port, "/readyz").expect("readyz");
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    assert!(smtp.messages().is_empty(), "not before its time");
    let received = smtp.wait_for_messages(1, Duration::from_secs(20));
    let reminder = t.reminder(&contract, "before_60", 1);
    assert_eq!(received[0].message_id, field(&reminder, "message_id"));
    assert_eq!(field(&reminder, "status"), "sent");

    let status = terminate(&mut serve);
    assert!(status.success(), "serve exits 0 on SIGTERM: {status:?}");
}

#[test]
fn sigterm_during_a_slow_send_finishes_it_instead_of_losing_it() {
    let smtp = SmtpTestServer::start_with_reply_delay(Duration::from_secs(3));
    let t = Tickler::with_smtp(&smtp);
    let contract = due_soon(&t, 1);
    let port = tickler_testkit::free_port();
    let mut serve = serve_on(&t, "127.0.0.1", port, Stdio::null());

    // Wait until the dispatcher has claimed it, then ask it to stop mid-send.
    let deadline = Instant::now() + Duration::from_secs(20);
    while field(&t.reminder(&contract, "before_60", 1), "status") != "sending" {
        assert!(Instant::now() < deadline, "the reminder was never claimed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = terminate(&mut serve);
    assert!(status.success(), "{status:?}");
    let reminder = t.reminder(&contract, "before_60", 1);
    assert_eq!(
        field(&reminder, "status"),
        "sent",
        "the claimed reminder was finished: {reminder}"
    );
    assert_eq!(smtp.messages().len(), 1);
}

/// `tickler user add` of Ada as an admin, with `password` typed on standard input.
fn add_ada(t: &Tickler, password: &str) -> std::process::Output {
    let mut add = t
        .command(&[ADD_ADMIN_ADA, &["--password-stdin"]].concat())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("user add");
    let typed = format!("{password}\n");
    add.stdin
        .take()
        .unwrap()
        .write_all(typed.as_bytes())
        .unwrap();
    add.wait_with_output().unwrap()
}

#[test]
fn a_password_set_from_the_cli_logs_in_to_the_web_app() {
    let t = Tickler::new(None);
    for (typed, says) in [
        ("too short", "at least 10 characters"),
        ("Qwertyuiop123", "one of the most common passwords"),
    ] {
        let out = add_ada(&t, typed);
        assert!(!out.status.success(), "{typed}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{typed}: {stderr}");
    }

    let out = add_ada(&t, "correct horse battery");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let port = tickler_testkit::free_port();
    let mut serve = serve_on(&t, "127.0.0.1", port, Stdio::null());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let page = client
            .get(format!("{base}/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let marker = "name=\"csrf\" value=\"";
        let start = page.find(marker).expect("a form token") + marker.len();
        let csrf = &page[start..start + page[start..].find('"').unwrap()];
        let login = client
            .post(format!("{base}/login"))
            .form(&[
                ("csrf", csrf),
                ("email", "ada@firm.example"),
                ("password", "correct horse battery"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), reqwest::StatusCode::SEE_OTHER);
        client
            .get(format!("{base}/"))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, reqwest::StatusCode::OK, "the dashboard after login");
    assert!(terminate(&mut serve).success());
}

#[test]
fn beyond_loopback_serve_logs_the_setup_code_that_setup_code_prints() {
    let t = Tickler::new(None);
    let code = t.ok(&["setup-code"]).trim().to_string();
    assert_eq!(code.len(), 23, "{code}");
    assert_eq!(
        t.ok(&["setup-code"]).trim(),
        code,
        "the same code until it is used"
    );

    let port = tickler_testkit::free_port();
    let mut serve = serve_on(&t, "0.0.0.0", port, Stdio::piped());
    assert!(terminate(&mut serve).success());
    let mut log = String::new();
    std::io::Read::read_to_string(&mut serve.stderr.take().unwrap(), &mut log).unwrap();
    assert!(log.contains(&code), "the log shows the setup code: {log}");

    // Once an admin exists there is no setup, hence no code.
    t.ok(ADD_ADMIN_ADA);
    let error = t.fails(&["setup-code"]);
    assert!(error.contains("the setup is done"), "{error}");
}

#[test]
fn a_token_made_with_the_cli_opens_the_api_until_revoked_with_the_cli() {
    let t = Tickler::new(None);
    t.ok(&[
        "user",
        "add",
        "--email",
        "kim@firm.example",
        "--name",
        "Kim",
    ]);
    let made = t.ok(&[
        "token",
        "create",
        "--user",
        "kim@firm.example",
        "--name",
        "CRM sync",
    ]);
    let token = made.lines().last().expect("the token, last").to_string();
    assert!(token.starts_with("tickler_"), "{made}");
    let listed = t.json(&["token", "list", "--json"]);
    assert_eq!(listed[0]["name"], "CRM sync");
    assert!(
        !listed.to_string().contains(&token),
        "the list never shows a token"
    );
    let id = listed[0]["id"].to_string();

    let port = tickler_testkit::free_port();
    let mut serve = serve_on(&t, "127.0.0.1", port, Stdio::null());
    let me = |token: &str| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let response = reqwest::Client::new()
                .get(format!("http://127.0.0.1:{port}/api/v1/me"))
                .bearer_auth(token)
                .send()
                .await
                .expect("request");
            let status = response.status();
            (status, response.text().await.unwrap_or_default())
        })
    };
    let (status, body) = me(&token);
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert!(body.contains("\"email\":\"kim@firm.example\""), "{body}");

    t.ok(&["token", "revoke", &id]);
    let (status, body) = me(&token);
    assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("\"code\":\"unauthorized\""), "{body}");
    let again = t.fails(&["token", "revoke", &id]);
    assert!(again.contains("already revoked"), "{again}");
    assert!(terminate(&mut serve).success());
}

/// What `serve` logs from its start to a SIGTERM.
fn serve_log(t: &Tickler) -> String {
    let port = tickler_testkit::free_port();
    let mut serve = serve_on(t, "127.0.0.1", port, Stdio::piped());
    assert!(terminate(&mut serve).success());
    let mut log = String::new();
    std::io::Read::read_to_string(&mut serve.stderr.take().expect("stderr"), &mut log)
        .expect("the log");
    log
}

#[test]
fn logs_are_plain_text_in_a_file_and_json_when_asked() {
    let t = Tickler::new(None);
    let log = serve_log(&t);
    assert!(log.contains(" WARN tickler::serve:"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes outside a terminal: {log:?}"
    );

    let mut t = Tickler::new(None);
    t.set_env("TICKLER_LOG_FORMAT", "json");
    let log = serve_log(&t);
    let mut lines = 0;
    for line in log.lines().filter(|l| l.starts_with('{')) {
        let entry: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert!(
            entry["level"].is_string() && entry["fields"].is_object(),
            "{line}"
        );
        lines += 1;
    }
    assert!(lines >= 2, "serve's warnings at its start:\n{log}");

    let mut t = Tickler::new(None);
    t.set_env("TICKLER_LOG_FORMAT", "xml");
    let refused = t.fails(&["setup-code"]);
    assert!(refused.contains("TICKLER_LOG_FORMAT"), "{refused}");
}

/// GET `path` from `serve` on `port`: the status and the body.
fn fetch(port: u16, path: &str) -> (u16, String) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let response = reqwest::get(format!("http://127.0.0.1:{port}{path}"))
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    })
}

/// The events of an iCalendar feed as the `icalendar` package reads them: "UID|SUMMARY|DTSTART".
fn parsed_events(t: &Tickler, feed: &str) -> Vec<String> {
    let file = t.dir().join("feed.ics");
    std::fs::write(&file, feed).expect("write the feed");
    let out = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(
            "import sys, icalendar\n\
             cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())\n\
             for e in cal.walk('VEVENT'):\n\
             \x20   print(str(e['UID']) + '|' + str(e['SUMMARY']) + '|' + e['DTSTART'].to_ical().decode())\n",
        )
        .arg(&file)
        .output()
        .expect("python3 with icalendar (Debian's python3-icalendar)");
    assert!(
        out.status.success(),
        "icalendar refused the feed: {}\n{feed}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_salespersons_calendar_feed_lists_their_dates_and_a_revoked_address_stops() {
    let t = Tickler::new(None);
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let end = today
        .checked_add(jiff::ToSpan::days(100))
        .expect("a date")
        .to_string();
    t.contract("en", "UTC", "ops@acme.example", &end);
    let contract = t.ok(&[
        "contract",
        "add",
        "--customer",
        "1",
        "--title",
        "Fleet tracking",
        "--start",
        "2026-04-01",
        "--end",
        &end,
        "--owner",
        support::OWNER,
        "--renewal",
        "auto",
        "--notice-days",
        "30",
    ]);
    let path = t.ok(&["calendar", "url", "--user", support::OWNER]);
    assert!(
        path.starts_with("/calendar/") && path.ends_with(".ics"),
        "{path}"
    );
    assert_eq!(t.ok(&["calendar", "url", "--user", support::OWNER]), path);

    let port = tickler_testkit::free_port();
    let mut serve = serve_on(&t, "127.0.0.1", port, Stdio::null());
    let (status, feed) = fetch(port, &path);
    assert_eq!(status, 200, "{feed}");
    let events = parsed_events(&t, &feed);
    let compact = end.replace('-', "");
    assert!(
        events.contains(&format!(
            "contract-1-term-1-end@tickler|Ends: PBX maintenance|{compact}"
        )),
        "{events:#?}"
    );
    assert!(
        events.iter().any(|e| e.starts_with(&format!(
            "contract-{contract}-term-1-notice@tickler|Last day to cancel: Fleet tracking|"
        ))),
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("reminder-") && e.contains("|Email to Acme Corporation: ")),
        "{events:#?}"
    );
    // Fetched again, the same events keep their UIDs.
    let (_, again) = fetch(port, &path);
    assert_eq!(parsed_events(&t, &again), events);

    // A wrong token, and after a revocation the old address: 404.
    assert_eq!(fetch(port, &path.replace(".ics", "x.ics")).0, 404);
    let new_path = t.ok(&["calendar", "revoke", "--user", support::OWNER]);
    assert_ne!(new_path, path);
    assert_eq!(fetch(port, &path).0, 404);
    assert_eq!(fetch(port, &new_path).0, 200);
    assert!(terminate(&mut serve).success());
}
