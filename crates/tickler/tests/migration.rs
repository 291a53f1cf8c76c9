//! Upgrading keeps everything: a database as the code before migration 0008 (reminders by
//! subject) left it migrates with every reminder, edit and event unchanged, and the
//! dispatcher then sends exactly what it would have sent before. Runs on SQLite, and on
//! PostgreSQL with `TICKLER_TEST_BACKEND=postgres`.

mod support;

use std::{path::Path, time::Duration};

use sqlx::{AnyConnection, Connection, Row};
use support::Tickler;
use tickler_testkit::SmtpTestServer;

/// The last migration before reminders belonged to subjects.
const BEFORE: i64 = 7;

/// The reminder columns whose values the upgrade must keep, as text.
const KEPT: &str = "id, contract_id, kind, step_key, position, label, template, offset_days, \
    mode, status, status_reason, send_at, send_at_edited, due_at, to_addrs, cc_addrs, \
    recipients_edited, subject, body, message_id, attempts, last_error, smtp_reply, \
    sent_subject, sent_body, sent_at, lateness_ms, created_at, updated_at";

fn sqlite_url(url: &str) -> String {
    if url.starts_with("sqlite:") {
        format!("{url}?mode=rwc")
    } else {
        url.to_string()
    }
}

fn backend_of(url: &str) -> &'static str {
    if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    }
}

/// Every migration's version, in order.
fn versions(backend: &str) -> Vec<i64> {
    let all = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tickler-store/migrations")
        .join(backend);
    let mut versions: Vec<i64> = std::fs::read_dir(&all)
        .expect("migrations")
        .map(|entry| {
            let name = entry.expect("migration").file_name();
            name.to_string_lossy()[..4]
                .parse()
                .expect("numbered migration")
        })
        .collect();
    versions.sort_unstable();
    versions
}

/// Applies the migrations up to `version` with the files of that time (the same files, so
/// their checksums match what the current build expects).
async fn migrate_to(conn: &mut AnyConnection, backend: &str, version: i64) {
    let all = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tickler-store/migrations")
        .join(backend);
    let old = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(&all).expect("migrations") {
        let path = entry.expect("migration").path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let number: i64 = name[..4].parse().expect("numbered migration");
        if number <= version {
            std::fs::copy(&path, old.path().join(&name)).expect("copy migration");
        }
    }
    sqlx::migrate::Migrator::new(old.path())
        .await
        .expect("old migrations")
        .run(conn)
        .await
        .expect("migrate to the old schema");
}

/// Migrates a new database to version [`BEFORE`] with the migrations of that time and fills
/// it with the fixture.
async fn old_database(url: &str) {
    database_at(url, BEFORE).await;
}

/// A database as a Tickler of schema `version` left it: from [`BEFORE`] on, holding the
/// fixture's contracts, reminders and events, loaded at [`BEFORE`] and carried forward.
async fn database_at(url: &str, version: i64) {
    sqlx::any::install_default_drivers();
    let backend = backend_of(url);
    let mut conn = AnyConnection::connect(&sqlite_url(url))
        .await
        .expect("connect");
    migrate_to(&mut conn, backend, version.min(BEFORE)).await;
    if version < BEFORE {
        conn.close().await.expect("close");
        return;
    }
    let fixture = include_str!("fixtures/before_subjects.sql");
    sqlx::raw_sql(sqlx::AssertSqlSafe(fixture))
        .execute(&mut conn)
        .await
        .expect("load the fixture");
    if backend == "postgres" {
        for table in [
            "users",
            "customers",
            "plans",
            "contracts",
            "reminders",
            "events",
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 (SELECT MAX(id) FROM {table}))"
            )))
            .execute(&mut conn)
            .await
            .expect("sequence");
        }
    }
    migrate_to(&mut conn, backend, version).await;
    conn.close().await.expect("close");
}

/// The schema as text: tables, columns, indexes and triggers, comparable across databases.
async fn schema(url: &str) -> Vec<String> {
    let mut conn = AnyConnection::connect(&sqlite_url(url))
        .await
        .expect("connect");
    let queries: &[&str] = if backend_of(url) == "sqlite" {
        &[
            "SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master \
           WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
        ]
    } else {
        &[
            "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || \
             COALESCE(column_default, '') || ' ' || is_nullable FROM information_schema.columns \
             WHERE table_schema = current_schema() ORDER BY 1",
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1",
            "SELECT trigger_name || ' ' || event_object_table || ' ' || action_statement \
             FROM information_schema.triggers WHERE trigger_schema = current_schema() ORDER BY 1",
        ]
    };
    let mut lines = Vec::new();
    for query in queries {
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(*query))
            .fetch_all(&mut conn)
            .await
            .expect("schema");
        lines.extend(rows);
    }
    conn.close().await.expect("close");
    lines
}

#[test]
fn a_database_of_every_earlier_schema_version_migrates_to_the_current_one() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let fresh = Tickler::new(None);
    fresh.ok(&["migrate"]);
    let wanted = runtime.block_on(schema(&fresh.database_url()));
    let backend = backend_of(&fresh.database_url());
    let all = versions(backend);
    let latest = *all.last().expect("migrations");
    for &version in all.iter().filter(|v| **v < latest) {
        let tickler = Tickler::new(None);
        let url = tickler.database_url();
        runtime.block_on(database_at(&url, version));
        let plan = tickler.ok(&["migrate", "--dry-run"]);
        assert!(
            plan.contains(&format!("at schema version {version};")),
            "from {version}: {plan}"
        );
        tickler.ok(&["migrate"]);
        assert_eq!(
            runtime.block_on(schema(&url)),
            wanted,
            "the schema migrated from version {version} is the new one's"
        );
        if version >= BEFORE {
            let (reminders, events) = runtime.block_on(snapshot(&url));
            assert_eq!(
                reminders.len(),
                17,
                "from {version}: the fixture's reminders"
            );
            assert!(!events.is_empty(), "from {version}: the fixture's events");
        }
        let plan = tickler.ok(&["migrate", "--dry-run"]);
        assert!(plan.contains("is up to date"), "from {version}: {plan}");
    }
}

#[test]
fn a_database_newer_than_this_tickler_is_refused_and_a_dry_run_changes_nothing() {
    let tickler = Tickler::new(None);
    let url = tickler.database_url();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(database_at(&url, 20));
    let plan = tickler.ok(&["migrate", "--dry-run"]);
    assert!(plan.contains("at schema version 20;"), "{plan}");
    assert!(plan.contains("0021 api tokens"), "{plan}");
    assert!(!plan.contains("0020 "), "{plan}");
    assert_eq!(
        tickler.ok(&["migrate", "--dry-run"]),
        plan,
        "nothing was applied"
    );
    tickler.ok(&["migrate"]);

    let future = match backend_of(&url) {
        "sqlite" => "X'00'",
        _ => "'\\x00'::bytea",
    };
    runtime.block_on(async {
        let mut conn = AnyConnection::connect(&sqlite_url(&url))
            .await
            .expect("connect");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (9999, 'from a newer tickler', TRUE, {future}, 0)"
        )))
        .execute(&mut conn)
        .await
        .expect("a migration from the future");
        conn.close().await.expect("close");
    });
    for command in [
        &["migrate"][..],
        &["migrate", "--dry-run"],
        &["serve", "--listen", "127.0.0.1:0"],
        &["contract", "list"],
    ] {
        let refused = tickler.fails(command);
        assert!(
            refused.contains("schema version 9999, newer than this Tickler knows"),
            "{command:?}: {refused}"
        );
    }
}

/// Every reminder's kept columns, and every event, as text rows.
async fn snapshot(url: &str) -> (Vec<String>, Vec<String>) {
    let mut conn = AnyConnection::connect(&sqlite_url(url))
        .await
        .expect("connect");
    let text_of = |row: &sqlx::any::AnyRow, width: usize| -> String {
        (0..width)
            .map(|i| {
                row.try_get::<Option<String>, _>(i)
                    .map(|v| v.unwrap_or_else(|| "NULL".to_string()))
                    .or_else(|_| {
                        row.try_get::<Option<i64>, _>(i)
                            .map(|v| v.map_or("NULL".to_string(), |n| n.to_string()))
                    })
                    .expect("text or integer column")
            })
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let reminders = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {KEPT} FROM reminders ORDER BY id"
    )))
    .fetch_all(&mut conn)
    .await
    .expect("reminders");
    let width = KEPT.split(',').count();
    let reminders = reminders.iter().map(|r| text_of(r, width)).collect();
    let events = sqlx::query(
        "SELECT id, at, actor, subject_type, subject_id, action, detail FROM events ORDER BY id",
    )
    .fetch_all(&mut conn)
    .await
    .expect("events");
    let events = events.iter().map(|r| text_of(r, 7)).collect();
    conn.close().await.expect("close");
    (reminders, events)
}

/// (reminder id, contract id, term number) through the reminder's subject.
async fn subjects(url: &str) -> Vec<(i64, i64, i64)> {
    let mut conn = AnyConnection::connect(&sqlite_url(url))
        .await
        .expect("connect");
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT r.id, t.contract_id, t.term_number FROM reminders r \
         JOIN contract_terms t ON r.subject_type = 'contract_term' AND t.id = r.subject_id \
         ORDER BY r.id",
    )
    .fetch_all(&mut conn)
    .await
    .expect("subjects");
    conn.close().await.expect("close");
    rows
}

#[test]
fn an_old_database_migrates_with_everything_kept_and_sends_what_it_would_have_sent() {
    let smtp = SmtpTestServer::start();
    let tickler = Tickler::with_smtp(&smtp);
    let url = tickler.database_url();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(old_database(&url));
    let before = runtime.block_on(snapshot(&url));
    assert_eq!(before.0.len(), 17, "the fixture's reminders");

    let migrated = tickler.run(&["migrate"]);
    assert!(migrated.status.success());
    let said = String::from_utf8_lossy(&migrated.stderr);
    // Its step anchored on the notice date was never sent before issue 10; it is now
    // offered (by auto-renewing contracts), so nothing is flagged.
    assert!(!said.contains("is never sent"), "{said}");
    let after = runtime.block_on(snapshot(&url));
    // Kept as they were, but for the shipped renewal steps' new names on the emails still
    // to go out (migration 0018).
    let renamed = |row: &String| {
        let mut fields: Vec<String> = row.split(" | ").map(str::to_string).collect();
        if fields[2] == "step" && fields[9] == "scheduled" {
            fields[5] = match fields[5].as_str() {
                "Acknowledgement of renewal" => "Renewal notice",
                "Reminder: service expiring" => "Reminder",
                "Notice of service expiration" => "Final notice",
                "Thank you for your long use of our service" => "Thank you",
                other => other,
            }
            .to_string();
        }
        fields.join(" | ")
    };
    let expected: Vec<String> = before.0.iter().map(renamed).collect();
    assert_eq!(expected, after.0, "every reminder kept as it was");
    assert_eq!(before.1, after.1, "every event kept as it was");
    // Each reminder now belongs to the term it belonged to before.
    let expected: Vec<(i64, i64, i64)> = [
        (1, 1, 1),
        (2, 1, 1),
        (3, 1, 1),
        (4, 1, 1),
        (5, 1, 2),
        (6, 1, 2),
        (7, 1, 2),
        (8, 1, 2),
        (9, 2, 1),
        (10, 2, 1),
        (11, 2, 1),
        (12, 2, 1),
        (13, 2, 1),
        (14, 3, 1),
        (15, 3, 1),
        (16, 3, 1),
        (17, 3, 1),
    ]
    .to_vec();
    assert_eq!(runtime.block_on(subjects(&url)), expected);

    // The CLI shows them as before: contract and term.
    let edited = tickler.reminder("1", "before_30", 2);
    assert_eq!(
        edited["subject"],
        "Your renewal of Support A, as we discussed"
    );
    assert_eq!(edited["status"], "scheduled");

    // At 2027-01-10 09:00 UTC: Support A's two term-2 steps are overdue (the edited one
    // latest, so the other is superseded by the catch-up rule) and Support B's 7-day notice is
    // due. Nothing else goes out (the owner's morning digest, which came later, is turned
    // off: tests/digest.rs is about it).
    tickler.ok(&["user", "edit", "sam.sales@firm.example", "--digest", "off"]);
    tickler.dispatch_at("2027-01-10T09:00:00Z");
    let mut messages = smtp.wait_for_messages(2, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(500));
    messages = if smtp.messages().len() > messages.len() {
        smtp.messages()
    } else {
        messages
    };
    assert_eq!(messages.len(), 2, "exactly two emails go out");
    let mut ids: Vec<&str> = messages.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "tickler.fixture11@firm.example",
            "tickler.fixture6@firm.example"
        ]
    );
    let edited_mail = messages
        .iter()
        .find(|m| m.message_id == "tickler.fixture6@firm.example")
        .unwrap();
    assert_eq!(
        edited_mail.subject,
        "Your renewal of Support A, as we discussed"
    );
    assert_eq!(edited_mail.to, ["office@acme.test", "it@acme.test"]);
    assert!(edited_mail.body.contains("as agreed on the phone"));

    let status = |contract: &str, step: &str, term: i64| {
        tickler.reminder(contract, step, term)["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status("1", "before_60", 2), "superseded");
    assert_eq!(status("1", "before_30", 2), "sent");
    assert_eq!(status("1", "before_7", 2), "scheduled");
    assert_eq!(status("2", "before_7", 1), "sent");
    assert_eq!(status("2", "after_7", 1), "scheduled");
    assert_eq!(status("2", "before_30", 1), "skipped");
    assert_eq!(status("3", "before_60", 1), "failed");
    assert_eq!(status("1", "before_7", 1), "cancelled");
}
