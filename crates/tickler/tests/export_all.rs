//! `tickler export all` / `import all`: a whole installation moved from SQLite to PostgreSQL
//! and back, row for row, and every way an import is refused leaving the database as it
//! was. The real binary; PostgreSQL from the test kit (a fresh database per test; with
//! `CI` set, a missing server fails the test instead of skipping it).

mod support;

use std::{
    collections::BTreeMap,
    io::Write as _,
    path::{Path, PathBuf},
    process::Stdio,
};

use serde_json::Value;
use sha2::{Digest, Sha256};
use support::{OWNER, Tickler};
use tickler_testkit::postgres::FreshDatabase;

const ADMIN: &str = "ada.admin@firm.example";

/// An installation on a SQLite file, whatever backend the suite runs on.
fn on_sqlite() -> Tickler {
    let mut t = Tickler::new(None);
    let url = format!("sqlite://{}", t.dir().join("tickler.db").display());
    t.set_env("TICKLER_DATABASE_URL", &url);
    t
}

/// An installation on a fresh PostgreSQL database; `None` (skipped, said loudly) when no
/// server answers outside CI.
fn on_postgres() -> Option<(Tickler, FreshDatabase)> {
    let db = FreshDatabase::create("tickler_transfer")?;
    let mut t = Tickler::new(None);
    t.set_env("TICKLER_DATABASE_URL", db.url());
    Some((t, db))
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// A bit of everything: users with a password and a token, customers in three scripts (one
/// whose name starts with a backslash, one with two addresses), a contract whose emails
/// went out and whose call became a task, a quote, a recurring sale with invoices issued
/// and one paid, settings, a webhook receiver with deliveries waiting.
fn fill(t: &Tickler) {
    t.owner();
    let mut add_admin = t.command(&[
        "user",
        "add",
        "--email",
        ADMIN,
        "--name",
        "Ada Admin",
        "--role",
        "admin",
        "--password-stdin",
    ]);
    let mut child = add_admin
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("user add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"a long enough password\n")
        .expect("write the password");
    assert!(child.wait().expect("user add").success());
    t.ok(&["token", "create", "--user", OWNER, "--name", "CRM sync"]);
    t.ok(&[
        "settings",
        "set",
        "--iban",
        "GR1601101250000000012300695",
        "--bank-name",
        "Alpha Bank",
    ]);
    t.ok(&[
        "webhook",
        "add",
        "--url",
        "http://127.0.0.1:9/hook",
        "--events",
        "*",
    ]);
    let greek = t.ok(&[
        "customer",
        "add",
        "--name",
        "Αλφα Ηλεκτρονική Α.Ε.",
        "--email",
        "accounts@alfa.example",
        "--email",
        "ops@alfa.example",
        "--language",
        "el",
        "--time-zone",
        "Europe/Athens",
    ]);
    t.customer("株式会社ベータ", "info@beta.example", "ja", "Asia/Tokyo");
    let odd = t.customer(
        "\\N Backslash, \"Quoted\" Ltd",
        "x@odd.example",
        "en",
        "UTC",
    );
    let renewal = t.ok(&[
        "contract",
        "add",
        "--customer",
        &odd,
        "--title",
        "\\ PBX maintenance",
        "--start",
        "2026-07-01",
        "--end",
        "2027-06-30",
        "--owner",
        OWNER,
        "--amount",
        "1200.00",
        "--currency",
        "EUR",
        "--field",
        "site=",
    ]);
    let sale = support::monthly_sale(t, &greek, "Monitoring", "2027-01-01", 3);
    // The 60-day email of the renewal, its call (a task), and the sale's three invoices.
    t.dispatch_at("2027-05-16T12:00:00Z");
    t.ok(&["quote", "create", "--contract", &renewal]);
    let invoices = t.json(&["invoice", "list", "--contract", &sale, "--json"]);
    let first = invoices[0]["id"].as_i64().expect("an invoice").to_string();
    t.ok(&[
        "invoice",
        "pay",
        &first,
        "--amount",
        "124.00",
        "--date",
        "2027-01-10",
    ]);
    assert_eq!(
        t.json(&["task", "list", "--json"]).as_array().map(Vec::len),
        Some(1),
        "the call became a task"
    );
}

/// The lists of `a` and `b` are the same, told apart item by item when not.
fn assert_same_views(a: &Tickler, b: &Tickler) {
    for (a, b) in views(a).iter().zip(views(b).iter()) {
        match (a.as_array(), b.as_array()) {
            (Some(a), Some(b)) => {
                assert_eq!(a.len(), b.len());
                for (a, b) in a.iter().zip(b) {
                    assert_eq!(a, b);
                }
            }
            _ => assert_eq!(a, b),
        }
    }
}

/// What the lists show, to compare installations.
fn views(t: &Tickler) -> Vec<Value> {
    [
        &["contract", "list", "--json"][..],
        &["reminder", "list", "--json"],
        &["invoice", "list", "--json"],
        &["task", "list", "--json"],
        &["quote", "list", "--json"],
        &["settings", "show", "--json"],
        &["webhook", "deliveries", "--json"],
    ]
    .iter()
    .map(|command| {
        let mut shown = t.json(command);
        // Where this process's mail goes: its own folder, not the data.
        if let Some(settings) = shown.as_object_mut() {
            settings.remove("mailer");
        }
        shown
    })
    .collect()
}

fn export(t: &Tickler, name: &str) -> PathBuf {
    let dir = t.dir().join(name);
    t.ok(&["export", "all", "--output", path(&dir)]);
    dir
}

fn files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .expect("the export")
        .map(|entry| {
            let path = entry.expect("a file").path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read_to_string(&path).expect("a text file"))
        })
        .filter(|(name, _)| name.ends_with(".csv"))
        .collect()
}

/// `after` is `before` row for row, but for the one event the import recorded.
fn assert_same_rows(before: &Path, after: &Path) {
    let before = files(before);
    let after = files(after);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (name, text) in &before {
        if name == "events.csv" {
            let imported = after[name]
                .strip_prefix(text.as_str())
                .unwrap_or_else(|| panic!("the events before, then one more:\n{}", after[name]));
            assert_eq!(imported.lines().count(), 1, "{imported}");
            // id, action, actor, at, detail, subject_id, subject_type
            assert!(imported.contains(",imported,"), "{imported}");
            assert!(imported.trim_end().ends_with(",0,settings"), "{imported}");
        } else {
            assert_eq!(text, &after[name], "{name}");
        }
    }
}

fn manifest(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("the manifest");
    serde_json::from_str(&text).expect("JSON")
}

#[test]
fn an_installation_moves_from_sqlite_to_postgres_and_back_row_for_row() {
    let Some((postgres, _db)) = on_postgres() else {
        return;
    };
    let sqlite = on_sqlite();
    fill(&sqlite);
    let from_sqlite = export(&sqlite, "from-sqlite");
    let written = manifest(&from_sqlite);
    assert_eq!(written["backend"], "sqlite");
    assert_eq!(written["format"], "tickler-export");
    let table = |name: &str| {
        written["tables"]
            .as_array()
            .expect("tables")
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in the manifest"))
            .clone()
    };
    assert_eq!(table("invoices")["rows"], 3);
    assert_eq!(table("customer_emails")["rows"], 4);
    let names: Vec<&str> = written["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(!names.iter().any(|n| n.contains("_search")), "{names:?}");
    assert!(!names.contains(&"_sqlx_migrations"));
    let position = |name: &str| names.iter().position(|n| *n == name).unwrap();
    assert!(position("customers") < position("contracts"));
    assert!(position("contracts") < position("reminders"));

    // The customer whose name starts with a backslash; NULL told from the empty text.
    let customers = std::fs::read_to_string(from_sqlite.join("customers.csv")).unwrap();
    assert!(customers.contains("\"\\\\N Backslash"), "{customers}");
    assert!(customers.contains("\\N"), "{customers}");

    postgres.ok(&["import", "all", path(&from_sqlite)]);
    let from_postgres = export(&postgres, "from-postgres");
    assert_eq!(manifest(&from_postgres)["backend"], "postgres");
    assert_same_rows(&from_sqlite, &from_postgres);
    assert_same_views(&postgres, &sqlite);
    // New rows get new ids: the sequences were moved past the imported ones.
    assert_eq!(
        postgres.customer("Gamma", "g@gamma.example", "en", "UTC"),
        "4"
    );

    let back = on_sqlite();
    back.ok(&["import", "all", path(&from_postgres)]);
    let from_back = export(&back, "back-on-sqlite");
    assert_same_rows(&from_postgres, &from_back);
    assert_same_views(&back, &sqlite);
    // The search index was filled again by its triggers.
    let found = back.json(&["contract", "list", "--json"]);
    assert_eq!(found.as_array().map(Vec::len), Some(2));
    assert_eq!(back.customer("Gamma", "g@gamma.example", "en", "UTC"), "4");
}

/// An export of a filled SQLite installation, and a new SQLite installation to import it.
fn exported_and_new() -> (Tickler, PathBuf, Tickler) {
    let source = on_sqlite();
    fill(&source);
    let dir = export(&source, "export");
    (source, dir, on_sqlite())
}

/// Nothing of an import that failed is left: the lists are empty, and the same export
/// still imports.
fn assert_nothing_written(target: &Tickler, good: &Path) {
    assert_eq!(
        target.json(&["contract", "list", "--json"]),
        Value::Array(vec![])
    );
    assert_eq!(
        target.json(&["reminder", "list", "--json"]),
        Value::Array(vec![])
    );
    target.ok(&["import", "all", path(good)]);
}

/// A copy of `dir` to spoil.
fn copy(dir: &Path, to: &Path) -> PathBuf {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let from = entry.unwrap().path();
        std::fs::copy(&from, to.join(from.file_name().unwrap())).unwrap();
    }
    to.to_path_buf()
}

fn set_manifest(dir: &Path, change: impl FnOnce(&mut Value)) {
    let mut value = manifest(dir);
    change(&mut value);
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_string_pretty(&value).unwrap(),
    )
    .unwrap();
}

#[test]
fn a_database_in_use_is_refused() {
    let (source, dir, _) = exported_and_new();
    let refused = source.fails(&["import", "all", path(&dir)]);
    assert!(refused.contains("this database is in use"), "{refused}");
    assert!(refused.contains("contracts (2 rows)"), "{refused}");
    // And an export does not write into a folder that holds anything.
    let refused = source.fails(&["export", "all", "--output", path(&dir)]);
    assert!(refused.contains("is not empty"), "{refused}");
}

#[test]
fn a_file_changed_since_the_export_is_refused_and_nothing_is_written() {
    let (source, dir, target) = exported_and_new();
    let spoiled = copy(&dir, &source.dir().join("spoiled"));
    let customers = spoiled.join("customers.csv");
    let text = std::fs::read_to_string(&customers).unwrap();
    std::fs::write(&customers, text.replace("Αλφα", "Alfa")).unwrap();
    let refused = target.fails(&["import", "all", path(&spoiled)]);
    assert!(refused.contains("customers.csv"), "{refused}");
    assert!(refused.contains("SHA-256"), "{refused}");
    assert!(refused.contains("nothing was imported"), "{refused}");
    assert_nothing_written(&target, &dir);
}

#[test]
fn a_bad_cell_is_named_by_file_line_and_column_and_nothing_is_written() {
    let (source, dir, target) = exported_and_new();
    let spoiled = copy(&dir, &source.dir().join("spoiled"));
    let contracts = spoiled.join("contracts.csv");
    let text = std::fs::read_to_string(&contracts).unwrap();
    // The second contract's amount (in minor units), on line 3.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let amount = header.iter().position(|c| *c == "amount_minor").unwrap();
    let mut cells: Vec<String> = lines[2].split(',').map(str::to_string).collect();
    cells[amount] = "12.5".to_string();
    lines[2] = cells.join(",");
    let spoilt_text = lines.join("\n") + "\n";
    std::fs::write(&contracts, &spoilt_text).unwrap();
    // The manifest made to agree, as by someone editing the files on purpose.
    let sha256: String = Sha256::digest(spoilt_text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    set_manifest(&spoiled, |m| {
        for table in m["tables"].as_array_mut().unwrap() {
            if table["name"] == "contracts" {
                table["sha256"] = Value::String(sha256.clone());
            }
        }
    });
    let refused = target.fails(&["import", "all", path(&spoiled)]);
    assert!(
        refused.contains("contracts.csv line 3, column amount_minor: \"12.5\" is not an integer"),
        "{refused}"
    );
    assert!(refused.contains("nothing was imported"), "{refused}");
    assert_nothing_written(&target, &dir);
}

#[test]
fn an_export_of_another_schema_version_is_refused_with_what_to_do() {
    let (source, dir, target) = exported_and_new();
    let older = copy(&dir, &source.dir().join("older"));
    let version = manifest(&dir)["schema_version"].as_i64().unwrap();
    set_manifest(&older, |m| m["schema_version"] = Value::from(version - 1));
    let refused = target.fails(&["import", "all", path(&older)]);
    assert!(
        refused.contains(&format!("schema version {}", version - 1)),
        "{refused}"
    );
    assert!(
        refused.contains(&format!("at version {version}")),
        "{refused}"
    );
    assert!(refused.contains("export it again"), "{refused}");
    assert_nothing_written(&target, &dir);
}
