//! `tickler export contracts|customers|invoices`: CSV safe to open in a spreadsheet, and an
//! export of contracts that imports again as the same contracts. The real binary on a real
//! database.

mod support;

use serde_json::Value;
use support::{OWNER, Tickler};

/// A file with what a spreadsheet would run (a formula in a name, a title, a custom field),
/// a recurring sale, an automatic renewal and an evergreen contract.
const HOSTILE: &str = "\
customer_name,customer_email,language,time_zone,title,start,end,owner_email,amount,currency,\
renewal,notice_days,bill_every,cycles,lines,in_arrears,draft_invoices,payment_days,site,note
\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",ops@acme.example,en,Asia/Tokyo,+44 support line,\
2026-01-01,2027-12-31,OWNER,1200.00,EUR,expires,,,,,,,,@Osaka,-5 discount
Beta KK,info@beta.example,ja,,Router rental,2026-02-01,2027-01-31,,,EUR,,,1m,12,\
\"Router|1|30.00|10\nSupport|2|5.50|10\",yes,yes,21,,
Gamma,hello@gamma.example,el,Europe/Athens,Fleet tracking,2026-03-01,2027-02-28,OWNER,99.90,EUR,\
auto,30,,,,,,,Athens,
Delta,d@delta.example,en,,Hosting,2026-04-01,,,,,evergreen,,,,,,,,,
";

fn contracts(t: &Tickler) -> Vec<Value> {
    let mut all: Vec<Value> = t
        .json(&["contract", "list", "--json"])
        .as_array()
        .expect("a list")
        .clone();
    // Only what the file says: ids and timestamps differ between databases.
    for contract in &mut all {
        if let Some(object) = contract.as_object_mut() {
            for volatile in [
                "id",
                "customer_id",
                "owner_id",
                "plan_id",
                "created_at",
                "updated_at",
            ] {
                object.remove(volatile);
            }
        }
    }
    all
}

#[test]
fn an_export_imports_again_as_the_same_contracts_and_runs_nothing_in_a_spreadsheet() {
    let first = Tickler::new(None);
    first.owner();
    let file = first.dir().join("in.csv");
    std::fs::write(&file, HOSTILE.replace("OWNER", OWNER)).expect("write the file");
    first.ok(&["import", "contracts", file.to_str().expect("path")]);

    let exported = first.dir().join("out.csv");
    first.ok(&[
        "export",
        "contracts",
        "--output",
        exported.to_str().expect("path"),
    ]);
    let text = std::fs::read_to_string(&exported).expect("the export");
    // Every cell a spreadsheet would run starts with a quote.
    for safe in [
        "\"'=HYPERLINK(",
        ",'+44 support line,",
        ",'@Osaka",
        ",'-5 discount",
    ] {
        assert!(text.contains(safe), "{safe} in:\n{text}");
    }
    for line in text.lines() {
        for cell in line.split(',') {
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "a cell that would run: {cell:?} in {line}"
            );
        }
    }

    // Into a fresh database, and out again: the same contracts, the same file.
    let second = Tickler::new(None);
    second.owner();
    second.ok(&["import", "contracts", exported.to_str().expect("path")]);
    assert_eq!(contracts(&first), contracts(&second));
    let again = second.ok(&["export", "contracts"]);
    assert_eq!(again, text.trim_end(), "the export of the import");
    let names: Vec<String> = second
        .json(&["contract", "list", "--json"])
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["title"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(names.contains(&"+44 support line".to_string()), "{names:?}");

    // Only the terminated ones: none yet.
    let terminated = first.ok(&["export", "contracts", "--status", "terminated"]);
    assert_eq!(
        terminated.lines().count(),
        1,
        "the header alone:\n{terminated}"
    );
}

#[test]
fn customers_and_invoices_are_exported_with_their_header() {
    let t = Tickler::new(None);
    t.owner();
    let file = t.dir().join("in.csv");
    std::fs::write(&file, HOSTILE.replace("OWNER", OWNER)).expect("write the file");
    t.ok(&["import", "contracts", file.to_str().expect("path")]);

    let customers = t.ok(&["export", "customers"]);
    let mut lines = customers.lines();
    assert_eq!(
        lines.next(),
        Some("id,name,emails,language,time_zone,default_plan")
    );
    assert!(customers.contains("'=HYPERLINK("), "{customers}");
    assert!(customers.contains(",info@beta.example,ja,,"), "{customers}");

    let invoices = t.dir().join("invoices.csv");
    t.ok(&[
        "export",
        "invoices",
        "--output",
        invoices.to_str().expect("path"),
    ]);
    let text = std::fs::read_to_string(&invoices).expect("the export");
    assert!(
        text.starts_with("id,number,status,customer,contract_id,contract,"),
        "{text}"
    );

    // A file that cannot be written is refused, and nothing half-written is left.
    let refused = t.fails(&["export", "customers", "--output", "/nonexistent/dir/c.csv"]);
    assert!(refused.contains("/nonexistent/dir"), "{refused}");
}
