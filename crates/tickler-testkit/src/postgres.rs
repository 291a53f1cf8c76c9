//! A private PostgreSQL server for fault tests that stop and restart the database: a fresh
//! cluster (`initdb`) in a temporary folder, on its own port, so that restarting it cannot
//! disturb the shared server other tests use. Uses the installed server's binaries
//! (`/usr/lib/postgresql/*/bin`, Debian's layout), run as the `postgres` user when the tests
//! run as root, since PostgreSQL refuses to run as root.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use crate::free_port;

/// A running private cluster; stopped and deleted when dropped.
pub struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    run_as_postgres: bool,
    dir: tempfile::TempDir,
}

impl PrivatePostgres {
    /// Creates and starts a cluster with trust authentication on 127.0.0.1 and a free port.
    /// Panics with what is missing when the server binaries are not installed.
    pub fn start() -> PrivatePostgres {
        let bin = server_binaries().unwrap_or_else(|| {
            panic!(
                "PostgreSQL's server binaries are missing (no /usr/lib/postgresql/*/bin/initdb): \
                 apt-get install postgresql, or run scripts/test"
            )
        });
        let dir = tempfile::tempdir().expect("cannot create a temporary folder");
        let run_as_postgres = running_as_root();
        if run_as_postgres {
            give_to_postgres(dir.path());
        }
        let data = dir.path().join("data");
        let cluster = PrivatePostgres {
            bin,
            data,
            port: free_port(),
            run_as_postgres,
            dir,
        };
        let data = cluster.data.to_string_lossy().to_string();
        cluster.expect_success(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        cluster.start_server();
        cluster
    }

    /// The URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server the way a restart by an operator does (`pg_ctl stop -m fast`):
    /// open transactions are rolled back and every client connection is cut.
    pub fn stop(&self) {
        let data = self.data.to_string_lossy().to_string();
        self.expect_success("pg_ctl", &["stop", "-D", &data, "-m", "fast", "-w"]);
    }

    /// Starts the server again after [`stop`](Self::stop), on the same port.
    pub fn start_server(&self) {
        let data = self.data.to_string_lossy().to_string();
        let socket_dir = self.dir.path().to_string_lossy().to_string();
        let log = self.dir.path().join("server.log");
        let options = format!(
            "-p {} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c max_connections=100",
            self.port
        );
        self.expect_success(
            "pg_ctl",
            &[
                "start",
                "-D",
                &data,
                "-o",
                &options,
                "-l",
                &log.to_string_lossy(),
                "-w",
                "-t",
                "60",
            ],
        );
    }

    /// `pg_ctl stop` then start: a database restart.
    pub fn restart(&self) {
        self.stop();
        self.start_server();
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let program = self.bin.join(tool);
        let mut command = if self.run_as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        command
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
    }

    fn expect_success(&self, tool: &str, args: &[&str]) {
        let out = self.run(tool, args);
        if !out.status.success() {
            let log = fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
            panic!(
                "{tool} {args:?} failed ({}):\n{}{}\nserver log:\n{log}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data.to_string_lossy().to_string();
        let _ = self.run("pg_ctl", &["stop", "-D", &data, "-m", "immediate", "-w"]);
    }
}

/// The newest installed server's binary folder.
fn server_binaries() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Hands the folder to the `postgres` user, who must own the data directory.
fn give_to_postgres(dir: &Path) {
    let status = Command::new("chown")
        .args(["postgres:postgres"])
        .arg(dir)
        .status()
        .expect("cannot run chown");
    assert!(
        status.success(),
        "cannot give {} to the postgres user",
        dir.display()
    );
}

/// The server most tests share: `TICKLER_TEST_POSTGRES_URL`, or the local one.
pub fn shared_server_url() -> String {
    std::env::var("TICKLER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A new, empty database on the shared server, dropped (with its connections) when this is
/// dropped. Created with `psql`, so it works from plain and async tests alike.
pub struct FreshDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl FreshDatabase {
    /// `None` (the caller skips; said loudly) when no server answers outside CI; under `CI`
    /// a missing server is a failure, and so is, anywhere, a server that answers but refuses
    /// (a wrong user, say).
    pub fn create(prefix: &str) -> Option<FreshDatabase> {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let admin_url = shared_server_url();
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        // A leftover of an earlier run of a process with the same id would be stale.
        let created = drop_database(&admin_url, &name)
            .and_then(|()| psql(&admin_url, &format!("CREATE DATABASE \"{name}\"")));
        match created {
            Ok(()) => Some(FreshDatabase {
                url: with_database(&admin_url, &name),
                admin_url,
                name,
            }),
            Err(e) if !e.no_server => panic!("PostgreSQL at {admin_url} refused: {}", e.message),
            Err(e) if std::env::var_os("CI").is_some() => panic!(
                "PostgreSQL at {admin_url} is needed in CI (set TICKLER_TEST_POSTGRES_URL to \
                 another): {}",
                e.message
            ),
            Err(e) => {
                // Straight to stderr: the test harness captures eprintln! of passing tests.
                let _ = std::io::Write::write_all(
                    &mut std::io::stderr(),
                    format!(
                        "\n*** SKIPPED on PostgreSQL: no server at {admin_url} ({}); start one \
                         or set TICKLER_TEST_POSTGRES_URL; under CI this fails ***\n",
                        e.message
                    )
                    .as_bytes(),
                );
                None
            }
        }
    }

    /// A fresh database when this run of the suite is on PostgreSQL
    /// (`TICKLER_TEST_BACKEND=postgres`: scripts/test runs the end-to-end tests on both
    /// backends); `None` for the default, SQLite.
    pub fn for_suite(prefix: &str) -> Option<FreshDatabase> {
        let on_postgres =
            std::env::var("TICKLER_TEST_BACKEND").is_ok_and(|backend| backend == "postgres");
        on_postgres.then(|| {
            FreshDatabase::create(prefix)
                .expect("TICKLER_TEST_BACKEND=postgres needs a PostgreSQL server")
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the database now, cutting its connections: the database "goes away".
    /// Best effort: a database left behind is only litter.
    pub fn drop_now(&self) {
        if let Err(e) = drop_database(&self.admin_url, &self.name) {
            eprintln!(
                "could not drop the test database {}: {}",
                self.name, e.message
            );
        }
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        self.drop_now();
    }
}

fn drop_database(admin_url: &str, name: &str) -> Result<(), PsqlError> {
    psql(
        admin_url,
        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
}

/// `url` with its database (the path) replaced by `name`, query kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

struct PsqlError {
    message: String,
    /// Nothing answered (as opposed to a server that answered and refused).
    no_server: bool,
}

fn psql(url: &str, statement: &str) -> Result<(), PsqlError> {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            statement,
        ])
        .env("PGCONNECT_TIMEOUT", "5")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| PsqlError {
            message: format!("cannot run psql (package postgresql-client): {e}"),
            no_server: true,
        })?;
    if out.status.success() {
        return Ok(());
    }
    let message = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let no_server = [
        "Connection refused",
        "could not connect",
        "timeout expired",
        "No such file",
    ]
    .iter()
    .any(|sign| message.contains(sign));
    Err(PsqlError { message, no_server })
}
