//! `tickler import contracts`: all or nothing, every bad row named by line and column.

mod support;

use serde_json::json;
use support::{OWNER, Tickler, field};

const HEADER: &str =
    "customer_name,customer_email,language,time_zone,title,start,end,owner_email,amount,currency";

#[test]
fn a_good_file_imports_contracts_and_matches_customers_by_email() {
    let t = Tickler::new(None);
    t.owner();
    let existing = t.ok(&[
        "customer",
        "add",
        "--name",
        "Acme",
        "--email",
        "ops@acme.example",
    ]);
    let csv = t.dir().join("contracts.csv");
    std::fs::write(
        &csv,
        format!(
            "{HEADER},site\n\
             Acme,OPS@acme.example,en,,PBX maintenance,2027-01-01,2027-12-31,{OWNER},1200.00,EUR,Osaka\n\
             Beta KK,info@beta.example,ja,Asia/Tokyo,Router support,2027-02-01,2028-01-31,,120000,JPY,\n\
             Beta KK,info@beta.example,ja,Asia/Tokyo,Firewall support,2027-03-01,2028-02-29,{OWNER},,,\n\
             \"Gamma, Ltd\",hello@gamma.example,el,Europe/Athens,\"Support, 24/7\",2027-01-15,2027-07-14,,99.90,EUR,\n"
        ),
    )
    .unwrap();
    t.ok(&["import", "contracts", csv.to_str().unwrap()]);

    let contracts = t.json(&["contract", "list", "--json"]);
    let contracts = contracts.as_array().unwrap();
    assert_eq!(contracts.len(), 4);
    assert_eq!(
        contracts[0]["customer_id"].to_string(),
        existing,
        "matched by email, case aside"
    );
    assert_eq!(
        contracts[1]["customer_id"], contracts[2]["customer_id"],
        "one new customer for two rows"
    );
    assert_eq!(contracts[0]["custom_fields"], json!({"site": "Osaka"}));
    assert_eq!(contracts[1]["amount_minor"], json!(120000));
    assert_eq!(contracts[3]["amount_minor"], json!(9990));
    assert_eq!(field(&contracts[3], "title"), "Support, 24/7");
    // Each contract got its four timed emails and its call; the Tokyo customer's at 00:00Z.
    let tokyo = contracts[1]["id"].to_string();
    let modes: Vec<String> = t
        .reminders(&tokyo)
        .iter()
        .map(|r| field(r, "mode").to_string())
        .collect();
    assert_eq!(
        modes.iter().filter(|m| *m == "auto").count(),
        4,
        "{modes:?}"
    );
    assert_eq!(
        modes.iter().filter(|m| *m == "task").count(),
        1,
        "{modes:?}"
    );
    assert_eq!(
        field(&t.reminder(&tokyo, "before_60", 1), "send_at"),
        "2027-12-02T00:00:00Z"
    );
}

#[test]
fn a_file_with_bad_rows_imports_nothing_and_names_every_problem() {
    let t = Tickler::new(None);
    t.owner();
    let csv = t.dir().join("bad.csv");
    std::fs::write(
        &csv,
        format!(
            "{HEADER}\n\
             Acme,ops@acme.example,en,UTC,PBX,2027-01-01,2027-12-31,{OWNER},10.00,EUR\n\
             Beta,info@beta.example,en,UTC,Router,2027-01-01,2027-02-30,,,\n\
             Gamma,not-an-address,en,UTC,Switch,2027-01-01,2027-12-31,,,\n\
             Delta,d@delta.example,fr,UTC,Hub,2027-01-01,2027-12-31,,,\n\
             Eps,e@eps.example,en,Mars/Base,Hub,2027-01-01,2027-12-31,,,\n\
             Zeta,z@zeta.example,en,UTC,Hub,2027-06-01,2027-01-01,,,\n\
             Eta,h@eta.example,en,UTC,Hub,2027-01-01,2027-12-31,stranger@firm.example,,\n\
             Theta,t@theta.example,en,UTC,Hub,2027-01-01,2027-12-31,,12.345,EUR\n\
             Iota,not-an-address,en,UTC,,2027-13-01,2027-12-31,,,\n"
        ),
    )
    .unwrap();
    let err = t.fails(&["import", "contracts", csv.to_str().unwrap()]);
    let file = csv.display().to_string();
    for expected in [
        format!("{file} line 3, column end: \"2027-02-30\" is not a date"),
        format!(
            "{file} line 4, column customer_email: \"not-an-address\" is not a valid email address"
        ),
        format!("{file} line 5, column language: unknown language \"fr\""),
        format!("{file} line 6, column time_zone: unknown time zone \"Mars/Base\""),
        format!("{file} line 7, column end:"),
        format!("{file} line 8, column owner_email: no user has the email stranger@firm.example"),
        format!("{file} line 9, column amount:"),
        // Every problem of a row, not only its first.
        format!("{file} line 10, column customer_email:"),
        format!("{file} line 10, column title:"),
        format!("{file} line 10, column start:"),
    ] {
        assert!(err.contains(&expected), "expected {expected:?} in:\n{err}");
    }
    assert!(
        !err.contains("line 2,"),
        "the good row is not reported:\n{err}"
    );
    assert!(err.contains("8 bad rows: nothing was imported"), "{err}");
    assert_eq!(t.json(&["contract", "list", "--json"]), json!([]));
    assert_eq!(t.json(&["reminder", "list", "--json"]), json!([]));
}

#[test]
fn a_missing_column_or_file_is_reported() {
    let t = Tickler::new(None);
    let csv = t.dir().join("short.csv");
    std::fs::write(
        &csv,
        "customer_name,customer_email,title,start,end\nA,a@a.example,T,2027-01-01,2027-12-31\n",
    )
    .unwrap();
    let err = t.fails(&["import", "contracts", csv.to_str().unwrap()]);
    assert!(
        err.contains("line 1, column language: this column is missing"),
        "{err}"
    );
    let err = t.fails(&["import", "contracts", "/nonexistent/contracts.csv"]);
    assert!(err.contains("/nonexistent/contracts.csv"), "{err}");
}

/// The reminders and `created` event of a contract, without what differs between two
/// databases (ids, Message-IDs, instants of writing).
fn schedule_of(t: &Tickler, contract: &str) -> Vec<serde_json::Value> {
    let mut reminders: Vec<serde_json::Value> = t
        .reminders(contract)
        .into_iter()
        .map(|mut r| {
            if let Some(map) = r.as_object_mut() {
                map.retain(|key, _| {
                    !(key == "id"
                        || key.ends_with("_id")
                        || key == "created_at"
                        || key == "updated_at")
                });
            }
            r
        })
        .collect();
    reminders.sort_by_key(|r| (r["send_at"].to_string(), r["step"].to_string()));
    let shown = t.json(&["contract", "show", contract, "--json"]);
    let created: Vec<serde_json::Value> = shown["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["action"] == "created")
        .map(|e| json!([e["actor"], e["detail"]]))
        .collect();
    reminders.push(json!({ "created": created }));
    reminders
}

#[test]
fn an_imported_contract_gets_the_reminders_of_one_added_alone() {
    // Zones east and west of UTC, a customer on two rows, and a contract ending soon enough
    // that its early steps have passed (they are stored cancelled, as when added alone).
    let rows = [
        (
            "Acme",
            "ops@acme.example",
            "en",
            "America/New_York",
            "PBX",
            "2026-06-01",
            "2027-01-20",
        ),
        (
            "Beta KK",
            "info@beta.example",
            "ja",
            "Asia/Tokyo",
            "Router",
            "2027-02-01",
            "2028-01-31",
        ),
        (
            "Beta KK",
            "info@beta.example",
            "ja",
            "Asia/Tokyo",
            "Firewall",
            "2027-03-01",
            "2028-02-29",
        ),
        (
            "Gamma",
            "hello@gamma.example",
            "el",
            "Europe/Athens",
            "Lift",
            "2027-01-15",
            "2027-07-14",
        ),
    ];
    let imported = Tickler::new(None);
    imported.owner();
    let mut csv_text = format!("{HEADER}\n");
    for (name, email, language, zone, title, start, end) in rows {
        csv_text.push_str(&format!(
            "{name},{email},{language},{zone},{title},{start},{end},{OWNER},100.00,EUR\n"
        ));
    }
    let csv = imported.dir().join("contracts.csv");
    std::fs::write(&csv, csv_text).unwrap();
    imported.ok(&["import", "contracts", csv.to_str().unwrap()]);
    let imported_ids: Vec<String> = imported
        .json(&["contract", "list", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].to_string())
        .collect();

    let alone = Tickler::new(None);
    alone.owner();
    let mut customers = std::collections::BTreeMap::new();
    let mut alone_ids = Vec::new();
    for (name, email, language, zone, title, start, end) in rows {
        let customer = customers
            .entry(email)
            .or_insert_with(|| alone.customer(name, email, language, zone))
            .clone();
        alone_ids.push(alone.ok(&[
            "contract",
            "add",
            "--customer",
            &customer,
            "--title",
            title,
            "--start",
            start,
            "--end",
            end,
            "--owner",
            OWNER,
            "--amount",
            "100.00",
            "--currency",
            "EUR",
        ]));
    }

    assert_eq!(imported_ids.len(), rows.len());
    let cancelled = schedule_of(&imported, &imported_ids[0])
        .iter()
        .filter(|r| r["status"] == "cancelled")
        .count();
    assert!(cancelled > 0, "the first contract has steps already past");
    for (i, (imported_id, alone_id)) in imported_ids.iter().zip(&alone_ids).enumerate() {
        assert_eq!(
            schedule_of(&imported, imported_id),
            schedule_of(&alone, alone_id),
            "row {}",
            i + 2
        );
    }
}
