//! Settings from a TOML file, overridden by the environment.

mod support;

use std::time::Duration;

use support::Tickler;
use tickler_testkit::SmtpTestServer;

#[test]
fn a_config_file_sets_what_the_environment_leaves_unset() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::new(None);
    std::fs::write(
        t.dir().join("tickler.toml"),
        format!(
            "smtp_url = \"{}\"\norganisation = \"From The File Ltd\"\n",
            smtp.url()
        ),
    )
    .unwrap();
    t.contract("en", "UTC", "ops@acme.example", "2027-06-30");
    t.dispatch_at("2027-05-01T09:00:00Z");
    let message = &smtp.wait_for_messages(1, Duration::from_secs(10))[0];
    // The file gave the SMTP server; the environment's organisation wins over the file's.
    assert!(
        message.body.contains("Firm Maintenance Ltd"),
        "{}",
        message.body
    );
    assert!(
        !message.body.contains("From The File Ltd"),
        "{}",
        message.body
    );
    let err = t.fails(&["--config", "missing.toml", "contract", "list"]);
    assert!(err.contains("missing.toml"), "{err}");
    std::fs::write(t.dir().join("bad.toml"), "smtp_ulr = \"x\"\n").unwrap();
    let err = t.fails(&["--config", "bad.toml", "contract", "list"]);
    assert!(err.contains("unknown setting \"smtp_ulr\""), "{err}");
}

#[test]
fn the_database_pool_size_is_set_or_refused_by_name() {
    let mut t = Tickler::new(None);
    t.set_env("TICKLER_DATABASE_MAX_CONNECTIONS", "2");
    t.contract("en", "UTC", "ops@acme.example", "2027-06-30");
    t.dispatch_at("2027-05-01T09:00:00Z");
    assert_eq!(
        t.json(&["reminder", "list", "--status", "sent", "--json"])
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    let mut bad = Tickler::new(None);
    bad.set_env("TICKLER_DATABASE_MAX_CONNECTIONS", "lots");
    let err = bad.fails(&["contract", "list"]);
    assert!(
        err.contains("TICKLER_DATABASE_MAX_CONNECTIONS: \"lots\" is not a number"),
        "{err}"
    );
}

#[test]
fn an_smtp_timeout_as_long_as_the_lease_is_refused_naming_both() {
    let mut t = Tickler::new(None);
    t.set_env("TICKLER_LEASE_SECONDS", "60");
    t.set_env("TICKLER_SMTP_TIMEOUT_SECONDS", "60");
    let err = t.fails(&["dispatch", "--once"]);
    assert!(
        err.contains(
            "TICKLER_SMTP_TIMEOUT_SECONDS (60) must be shorter than TICKLER_LEASE_SECONDS (60)"
        ),
        "{err}"
    );
    t.set_env("TICKLER_SMTP_TIMEOUT_SECONDS", "59");
    t.ok(&["dispatch", "--once"]);
}

#[test]
fn a_guessable_metrics_token_is_refused_without_being_echoed() {
    let mut t = Tickler::new(None);
    t.set_env("TICKLER_METRICS_TOKEN", "hunter2");
    let err = t.fails(&["dispatch", "--once"]);
    assert!(
        err.contains("TICKLER_METRICS_TOKEN must be at least 16 characters"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    t.set_env("TICKLER_METRICS_TOKEN", "3f0c9a7e51d24b8c9e6a1f2d");
    t.ok(&["dispatch", "--once"]);
}
