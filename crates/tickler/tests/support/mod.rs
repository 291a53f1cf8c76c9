//! Drives the real `tickler` binary against a real SQLite file in a temporary folder.

#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;

pub const OWNER: &str = "sam.sales@firm.example";
pub const FROM: &str = "Renewals at Firm <renewals@firm.example>";

/// One Tickler installation: its database, outbox and environment.
pub struct Tickler {
    dir: tempfile::TempDir,
    pub smtp_url: Option<String>,
    extra_env: Vec<(String, String)>,
    /// Set when the suite runs on PostgreSQL (`TICKLER_TEST_BACKEND=postgres`).
    postgres: Option<tickler_testkit::postgres::FreshDatabase>,
}

impl Tickler {
    pub fn new(smtp_url: Option<String>) -> Tickler {
        let postgres = tickler_testkit::postgres::FreshDatabase::for_suite("tickler_e2e");
        Tickler {
            dir: tempfile::tempdir().expect("temp dir"),
            smtp_url,
            extra_env: Vec::new(),
            postgres,
        }
    }

    pub fn with_smtp(smtp: &tickler_testkit::SmtpTestServer) -> Tickler {
        Tickler::new(Some(smtp.url()))
    }

    pub fn set_env(&mut self, name: &str, value: &str) {
        self.extra_env.push((name.to_string(), value.to_string()));
    }

    /// Leases of [`SHORT_LEASE_SECONDS`], and an SMTP timeout shorter still (a timeout as
    /// long as the lease is refused at start).
    pub fn use_short_leases(&mut self) {
        self.set_env("TICKLER_LEASE_SECONDS", SHORT_LEASE_SECONDS);
        self.set_env("TICKLER_SMTP_TIMEOUT_SECONDS", SHORT_SMTP_TIMEOUT_SECONDS);
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn outbox(&self) -> PathBuf {
        self.dir.path().join("outbox")
    }

    pub fn database_url(&self) -> String {
        match &self.postgres {
            Some(database) => database.url().to_string(),
            None => format!("sqlite://{}", self.dir.path().join("tickler.db").display()),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tickler"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TICKLER_DATABASE_URL", self.database_url())
            .env("TICKLER_MAIL_FROM", FROM)
            .env("TICKLER_ORGANISATION", "Firm Maintenance Ltd")
            .env("TICKLER_OUTBOX", self.outbox())
            .env("TICKLER_LOG", "warn");
        if let Some(url) = &self.smtp_url {
            command.env("TICKLER_SMTP_URL", url);
        }
        for (name, value) in &self.extra_env {
            command.env(name, value);
        }
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run tickler")
    }

    /// Runs a command that must succeed; returns its stdout, trimmed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "tickler {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Runs a command that must fail; returns its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "tickler {args:?} should have failed but printed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).to_string()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("tickler {args:?} printed no JSON ({e}):\n{text}"))
    }

    pub fn reminders(&self, contract: &str) -> Vec<Value> {
        match self.json(&["reminder", "list", "--contract", contract, "--json"]) {
            Value::Array(list) => list,
            other => panic!("not a list: {other}"),
        }
    }

    pub fn reminder(&self, contract: &str, step: &str, term: i64) -> Value {
        self.reminders(contract)
            .into_iter()
            .find(|r| r["step"] == step && r["term_number"] == term)
            .unwrap_or_else(|| panic!("contract {contract} has no {step} reminder in term {term}"))
    }

    pub fn dispatch_at(&self, now: &str) -> String {
        let out = self.run(&["dispatch", "--once", "--now", now]);
        assert!(
            out.status.success(),
            "dispatch failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).to_string()
    }

    /// `customer add` with one address; returns the customer's id.
    pub fn customer(&self, name: &str, email: &str, language: &str, zone: &str) -> String {
        self.ok(&[
            "customer",
            "add",
            "--name",
            name,
            "--email",
            email,
            "--language",
            language,
            "--time-zone",
            zone,
        ])
    }

    /// Adds the owner, [`OWNER`], unless there already. The owner takes no morning digest:
    /// most tests count every message the server receives, and tests/digest.rs is about the
    /// digest.
    pub fn owner(&self) {
        if self
            .run(&["user", "add", "--email", OWNER, "--name", "Sam Sales"])
            .status
            .success()
        {
            self.ok(&["user", "edit", OWNER, "--digest", "off"]);
        }
    }

    /// The owner user, a customer and a contract; returns the contract id.
    pub fn contract(&self, language: &str, zone: &str, email: &str, end: &str) -> String {
        self.owner();
        let customer = self.customer("Acme Corporation", email, language, zone);
        self.ok(&[
            "contract",
            "add",
            "--customer",
            &customer,
            "--title",
            "PBX maintenance",
            "--start",
            "2026-04-01",
            "--end",
            end,
            "--owner",
            OWNER,
            "--amount",
            "1200.00",
            "--currency",
            "EUR",
        ])
    }
}

/// `contract add` of a recurring sale of `customer`, owned by [`OWNER`], billed monthly
/// from `start` for `cycles` months, one line of 100.00 EUR + 24% VAT; returns its id.
pub fn monthly_sale(t: &Tickler, customer: &str, title: &str, start: &str, cycles: u32) -> String {
    t.ok(&[
        "contract",
        "add",
        "--customer",
        customer,
        "--title",
        title,
        "--start",
        start,
        "--owner",
        OWNER,
        "--currency",
        "EUR",
        "--bill-every",
        "1m",
        "--cycles",
        &cycles.to_string(),
        "--line",
        "Support|1|100.00|24",
    ])
}

pub fn field<'a>(value: &'a Value, name: &str) -> &'a str {
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} is not a string in {value}"))
}

/// Adds the owner ([`OWNER`]) and imports [`many_contracts_csv`]: `count` contracts whose
/// 60-day emails are all due at 2027-05-02T12:00:00Z.
pub fn import_contracts_due_together(t: &Tickler, count: usize) {
    t.ok(&["user", "add", "--email", OWNER, "--name", "Sam Sales"]);
    let csv = many_contracts_csv(t, OWNER, count);
    t.ok(&["import", "contracts", csv.to_str().expect("a UTF-8 path")]);
}

/// A contracts CSV of `count` customers, all owned by `owner` and ending 2027-06-30, so that
/// exactly their 60-day emails are due at 2027-05-02T12:00:00Z: one message per contract.
pub fn many_contracts_csv(t: &Tickler, owner: &str, count: usize) -> PathBuf {
    let path = t.dir().join("many.csv");
    let mut text = String::from(
        "customer_name,customer_email,language,time_zone,title,start,end,owner_email,amount,currency\n",
    );
    for i in 0..count {
        text.push_str(&format!(
            "Customer {i},c{i}@acme.example,en,UTC,Maintenance {i},2026-07-01,2027-06-30,{owner},,\n"
        ));
    }
    std::fs::write(&path, text).expect("write the CSV");
    path
}

/// A plain HTTP/1.1 GET to 127.0.0.1:`port`, the whole response as text (status line,
/// headers, body); `None` while nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// A lease short enough for a kill test to wait out (leases run on the wall clock, whatever
/// `--now` says), long enough for a `dispatch --once` batch to finish inside it.
pub const SHORT_LEASE_SECONDS: &str = "5";

/// The SMTP timeout that goes with [`SHORT_LEASE_SECONDS`].
pub const SHORT_SMTP_TIMEOUT_SECONDS: &str = "3";

/// Sleeps until claims made before now with [`SHORT_LEASE_SECONDS`] have expired.
pub fn wait_out_short_leases() {
    let lease: f64 = SHORT_LEASE_SECONDS.parse().unwrap_or(5.0);
    std::thread::sleep(std::time::Duration::from_secs_f64(lease + 1.5));
}

/// One HTTP/1.1 request to 127.0.0.1:`port` with an empty body: the status code and the
/// whole response as text; `None` while nothing answers.
pub fn http_request(port: u16, method: &str, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, response))
}

/// `tickler serve` on a free port, stopped (SIGTERM) when dropped.
pub struct Served {
    pub port: u16,
    child: std::process::Child,
}

impl Served {
    /// Starts `serve` for `t` on `port` and waits until it answers.
    pub fn start(t: &Tickler, port: u16) -> Served {
        let child = t
            .command(&["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start serve");
        let served = Served { port, child };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while http_get(port, "/healthz").is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "tickler serve did not answer on port {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        served
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// The messages the SMTP server received for `address` alone (not the owner's or the
/// admins' notices).
pub fn messages_to(
    smtp: &tickler_testkit::SmtpTestServer,
    address: &str,
) -> Vec<tickler_testkit::ReceivedMessage> {
    smtp.messages()
        .into_iter()
        .filter(|m| m.to == [address])
        .collect()
}
