//! Backups and restores of the embedded SQLite database, end to end: the real binary, real
//! SQLite files, the real SMTP test server. The drill takes backups while a dispatcher
//! sends, restores one into a fresh file, and checks that nothing sent before the backup
//! goes out again while everything pending goes out once.

mod support;

use std::{collections::BTreeMap, path::Path, time::Duration};

use serde_json::Value;
use sqlx::{AnyConnection, Connection, Row};
use support::{Tickler, import_contracts_due_together};
use tickler_testkit::SmtpTestServer;

const DUE: &str = "2027-05-02T12:00:00Z";
const CONTRACTS: usize = 30;

fn on_sqlite() -> bool {
    std::env::var("TICKLER_TEST_BACKEND").map_or(true, |b| b != "postgres")
}

async fn connect(file: &Path) -> AnyConnection {
    sqlx::any::install_default_drivers();
    AnyConnection::connect(&format!("sqlite://{}?mode=ro", file.display()))
        .await
        .expect("open the database file")
}

/// Every reminder's status and Message-ID, by id, as the file holds them.
fn reminders_in(file: &Path) -> BTreeMap<i64, (String, String)> {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let mut conn = connect(file).await;
            let rows = sqlx::query("SELECT id, status, message_id FROM reminders")
                .fetch_all(&mut conn)
                .await
                .expect("read reminders");
            rows.iter()
                .map(|row| {
                    (
                        row.get::<i64, _>("id"),
                        (row.get("status"), row.get("message_id")),
                    )
                })
                .collect()
        })
}

fn message_ids_with_status(
    reminders: &BTreeMap<i64, (String, String)>,
    status: &str,
) -> Vec<String> {
    reminders
        .values()
        .filter(|(s, _)| s == status)
        .map(|(_, id)| id.clone())
        .collect()
}

/// The Message-ID a received message carries, without its angle brackets.
fn message_id(message: &tickler_testkit::ReceivedMessage) -> String {
    message
        .header("Message-ID")
        .expect("a Message-ID")
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

fn bare(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

/// (id, status) of every reminder as `reminder list --json` shows them.
fn listed(t: &Tickler) -> Vec<(i64, String)> {
    let Value::Array(list) = t.json(&["reminder", "list", "--json"]) else {
        panic!("reminder list is not a list");
    };
    let mut pairs: Vec<(i64, String)> = list
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().expect("an id"),
                r["status"].as_str().expect("a status").to_string(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

/// The names of the files in `folder`, sorted; none while it does not exist.
fn files_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_backup_taken_while_sending_restores_without_sending_anything_twice() {
    if !on_sqlite() {
        return;
    }
    // Each message takes a while to be accepted, so that backups land mid-batch.
    let smtp = SmtpTestServer::start_with_reply_delay(Duration::from_millis(120));
    let mut t = Tickler::with_smtp(&smtp);
    t.set_env("TICKLER_SEND_CONCURRENCY", "2");
    t.set_env("TICKLER_BATCH_SIZE", "4");
    import_contracts_due_together(&t, CONTRACTS);
    let customer = t.customer("Alfa", "accounts@alfa.example", "en", "UTC");
    support::monthly_sale(&t, &customer, "Monthly support", "2027-03-01", 12);

    let mut dispatcher = t
        .command(&["dispatch", "--now", DUE])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the dispatcher");
    let mut backups = Vec::new();
    for i in 0..10 {
        std::thread::sleep(Duration::from_millis(250));
        let file = t.dir().join(format!("backup-{i}.db"));
        let said = t.ok(&["backup", file.to_str().expect("UTF-8")]);
        assert!(said.contains("checked"), "{said}");
        backups.push(file);
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &dispatcher.id().to_string()])
        .status();
    dispatcher.wait().expect("the dispatcher stops");
    // Whatever the stopped dispatcher left due, the original sends now.
    t.dispatch_at(DUE);
    let original = reminders_in(&t.dir().join("tickler.db"));

    // A backup from the middle of the batch: some emails sent, others still to go.
    let sent = |file: &Path| message_ids_with_status(&reminders_in(file), "sent").len();
    let finally_sent = message_ids_with_status(&original, "sent").len();
    let mid_batch: Vec<_> = backups
        .iter()
        .filter(|file| (1..finally_sent).contains(&sent(file)))
        .collect();
    assert!(
        !mid_batch.is_empty(),
        "no backup was taken while the dispatcher sent"
    );
    let chosen = mid_batch[mid_batch.len() / 2].clone();
    let in_backup = reminders_in(&chosen);
    let sent_before: Vec<String> = message_ids_with_status(&in_backup, "sent");

    let restored = Tickler::with_smtp(&smtp);
    let said = restored.ok(&["restore", chosen.to_str().expect("UTF-8")]);
    assert!(said.contains("the backup was taken at"), "{said}");
    assert!(
        said.contains("fell due between the backup and now"),
        "{said}"
    );
    let already = smtp.messages().len();
    restored.dispatch_at(DUE);
    let after: Vec<String> = smtp.messages()[already..].iter().map(message_id).collect();
    let final_state = reminders_in(&restored.dir().join("tickler.db"));

    for id in &after {
        assert!(
            !sent_before.iter().any(|sent| bare(sent) == *id),
            "{id} was sent before the backup and again after the restore"
        );
    }
    let mut once = after.clone();
    once.sort();
    once.dedup();
    assert_eq!(
        once.len(),
        after.len(),
        "a message went out twice: {after:?}"
    );
    // Everything pending in the backup went out, each once, with its own Message-ID.
    let newly_sent: Vec<String> = final_state
        .iter()
        .filter(|(id, (status, _))| status == "sent" && in_backup[*id].0 != "sent")
        .map(|(_, (_, message))| bare(message))
        .collect();
    let mut expected = newly_sent.clone();
    expected.sort();
    let mut reminder_mail: Vec<String> = after
        .iter()
        .filter(|id| final_state.values().any(|(_, m)| bare(m) == **id))
        .cloned()
        .collect();
    reminder_mail.sort();
    assert_eq!(reminder_mail, expected);

    // The restored installation ends where the original did: same reminders, same states,
    // same Message-IDs.
    assert_eq!(final_state, original);
    assert_eq!(listed(&restored), listed(&t));
    let invoices = |t: &Tickler| {
        let Value::Array(list) = t.json(&["invoice", "list", "--json"]) else {
            panic!("invoice list is not a list");
        };
        list.iter()
            .map(|i| (i["id"].clone(), i["number"].clone(), i["status"].clone()))
            .collect::<Vec<_>>()
    };
    assert!(!invoices(&t).is_empty(), "the recurring sale was invoiced");
    assert_eq!(invoices(&restored), invoices(&t));
}

#[test]
fn restore_refuses_to_replace_data_or_take_a_damaged_file_and_backup_never_overwrites() {
    if !on_sqlite() {
        return;
    }
    let t = Tickler::new(None);
    t.owner();
    let backup = t.dir().join("first.db");
    t.ok(&["backup", backup.to_str().expect("UTF-8")]);
    let refused = t.fails(&["backup", backup.to_str().expect("UTF-8")]);
    assert!(refused.contains("never replaces a file"), "{refused}");

    // A customer added after the backup, then a restore over it: refused.
    let kim = t.customer("Kim", "kim@acme.example", "en", "UTC");
    let refused = t.fails(&["restore", backup.to_str().expect("UTF-8")]);
    assert!(refused.contains("holds data"), "{refused}");
    assert!(refused.contains("--force"), "{refused}");
    t.ok(&["customer", "show", &kim]);

    // A damaged backup is refused, and the database stays as it was.
    let damaged = t.dir().join("damaged.db");
    let mut bytes = std::fs::read(&backup).expect("read the backup");
    let middle = bytes.len() / 2;
    for byte in &mut bytes[middle..middle + 4096] {
        *byte = 0x5a;
    }
    std::fs::write(&damaged, bytes).expect("write the damaged copy");
    let refused = t.fails(&["restore", "--force", damaged.to_str().expect("UTF-8")]);
    assert!(refused.contains("nothing was restored"), "{refused}");
    t.ok(&["customer", "show", &kim]);
    let not_sqlite = t.dir().join("notes.txt");
    std::fs::write(&not_sqlite, "not a database at all, just some words").expect("write");
    let refused = t.fails(&["restore", not_sqlite.to_str().expect("UTF-8")]);
    assert!(refused.contains("nothing was restored"), "{refused}");

    // With --force the backup replaces it: Kim, added after the backup, is gone.
    let said = t.ok(&["restore", "--force", backup.to_str().expect("UTF-8")]);
    assert!(said.contains("restored"), "{said}");
    let gone = t.fails(&["customer", "show", &kim]);
    assert!(gone.contains("does not exist"), "{gone}");
}

#[test]
fn on_postgresql_backup_prints_the_pg_dump_command_without_the_password() {
    let Some(database) = tickler_testkit::postgres::FreshDatabase::create("tickler_backup") else {
        return;
    };
    let url = match database.url().split_once('@') {
        Some((user, rest)) => format!("{user}:not-the-password@{rest}"),
        None => database
            .url()
            .replacen("://", "://postgres:not-the-password@", 1),
    };
    let mut t = Tickler::new(None);
    t.set_env("TICKLER_DATABASE_URL", &url);
    let out = t.run(&["--database", &url, "backup", "x.db"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "nothing was backed up: {stderr}");
    assert!(stdout.starts_with("pg_dump "), "{stdout}");
    assert!(stderr.contains("pg_basebackup"), "{stderr}");
    assert!(
        !stdout.contains("not-the-password") && !stderr.contains("not-the-password"),
        "{stdout}{stderr}"
    );
}

#[test]
fn serve_backs_up_at_start_when_no_backup_is_a_day_old_and_keeps_the_newest() {
    if !on_sqlite() {
        return;
    }
    let mut t = Tickler::new(None);
    t.owner();
    let folder = t.dir().join("backups");
    std::fs::create_dir(&folder).expect("backup folder");
    let old = [
        "tickler-20260101T020000Z.db",
        "tickler-20260102T020000Z.db",
        "tickler-20260103T020000Z.db",
    ];
    for name in old {
        std::fs::write(folder.join(name), "an old backup").expect("old backup");
    }
    std::fs::write(folder.join("keep-me.db"), "not the schedule's").expect("other file");
    t.set_env("TICKLER_BACKUP_DIR", folder.to_str().expect("UTF-8"));
    t.set_env("TICKLER_BACKUP_KEEP", "2");
    t.set_env("TICKLER_BACKUP_TIME", "03:30");
    let port = tickler_testkit::free_port();
    let served = support::Served::start(&t, port);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let names = loop {
        let names = files_in(&folder);
        // Four files before the backup, five with it, three once the oldest are pruned.
        if names.len() == 3 {
            break names;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no backup was taken: {names:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // The new backup and the newest old one remain; other files are not the schedule's.
    assert_eq!(names[0], "keep-me.db", "{names:?}");
    assert_eq!(names[1], old[2], "{names:?}");
    let new = folder.join(&names[2]);
    assert!(names[2].as_str() > old[2], "{names:?}");
    let metrics = support::http_get(port, "/metrics").expect("metrics");
    assert!(
        metrics.contains("tickler_backup_last_size_bytes ")
            && !metrics.contains("tickler_backup_last_size_bytes 0\n"),
        "{metrics}"
    );
    // The live file itself, copied while serve has it open (its write-ahead log beside it),
    // restores too: read through SQLite, which folds the log in.
    let copied_live = Tickler::new(None);
    let live = t.dir().join("tickler.db");
    let log = std::fs::metadata(t.dir().join("tickler.db-wal")).map_or(0, |m| m.len());
    assert!(log > 0, "serve keeps a write-ahead log");
    let said = copied_live.ok(&["restore", live.to_str().expect("UTF-8")]);
    assert!(said.contains("restored"), "{said}");
    assert!(
        copied_live
            .ok(&["migrate", "--dry-run"])
            .contains("is up to date")
    );

    // The database serve is using is not replaced under it, even with --force.
    let refused = t.fails(&["restore", "--force", new.to_str().expect("UTF-8")]);
    assert!(refused.contains("is in use"), "{refused}");
    drop(served);
    // The scheduled backup is a database that restores.
    let restored = Tickler::new(None);
    let said = restored.ok(&["restore", new.to_str().expect("UTF-8")]);
    assert!(said.contains("the backup was taken at"), "{said}");
}

#[test]
fn of_two_instances_on_one_database_one_takes_the_days_backup() {
    if !on_sqlite() {
        return;
    }
    let mut t = Tickler::new(None);
    t.owner();
    let folder = t.dir().join("backups");
    t.set_env("TICKLER_BACKUP_DIR", folder.to_str().expect("UTF-8"));
    // Started together, so that both find no backup of the last day and ask at once.
    let mut instances: Vec<std::process::Child> = (0..2)
        .map(|i| {
            let listen = format!("127.0.0.1:{}", tickler_testkit::free_port());
            let log = std::fs::File::create(t.dir().join(format!("serve-{i}.log"))).expect("log");
            t.command(&["serve", "--listen", &listen])
                .stdout(std::process::Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start serve")
        })
        .collect();
    let backups = || -> Vec<String> {
        files_in(&folder)
            .into_iter()
            .filter(|name| name.ends_with(".db"))
            .collect()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while backups().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no backup was taken: {}\n{}",
            std::fs::read_to_string(t.dir().join("serve-0.log")).unwrap_or_default(),
            std::fs::read_to_string(t.dir().join("serve-1.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Time for the other instance to have taken one too, had it not been claimed.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(backups().len(), 1, "{:?}", backups());
    let jobs = t.ok(&["jobs"]);
    assert!(jobs.contains("backup"), "{jobs}");
    for instance in &mut instances {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &instance.id().to_string()])
            .status();
        let _ = instance.wait();
    }
}
