//! [`Postgres`]: a private PostgreSQL for tests and benchmarks, started by
//! `scripts/private-postgres.sh` in a temporary folder on a free port, never the
//! machine's shared server. One test gets its own database in it ([`Postgres::database`]).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../scripts/private-postgres.sh"
);

/// A private PostgreSQL server, stopped (and its folder removed) when dropped, or when
/// the process that started it ends.
pub struct Postgres {
    /// `postgres://linli@127.0.0.1:PORT`, without a database.
    server: String,
    child: Child,
    databases: AtomicU32,
}

impl Postgres {
    /// Starts a server with PostgreSQL's default settings (durable: what `make bench`
    /// measures). `settings` are extra `name=value` pairs for `postgres -c`.
    pub fn start(settings: &[&str]) -> Postgres {
        let dir = tempfile::Builder::new()
            .prefix("linli-postgres-")
            .tempdir()
            .unwrap()
            .keep();
        let port = crate::free_port().unwrap();
        let mut command = Command::new("bash");
        command
            .arg(SCRIPT)
            .arg("--temporary")
            .arg(&dir)
            .arg(port.to_string())
            .arg(std::process::id().to_string());
        for setting in settings {
            command.args(["-c", setting]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {SCRIPT}: {e}"));
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let server = first
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("the private PostgreSQL did not start (see above)"))
            .to_string();
        Postgres {
            server,
            child,
            databases: AtomicU32::new(0),
        }
    }

    /// One server for the whole test process, started at first use, without waiting
    /// for the disk on commit (`fsync=off`: a test's data need not survive a crash of
    /// the machine).
    pub fn shared() -> &'static Postgres {
        static SHARED: OnceLock<Postgres> = OnceLock::new();
        SHARED.get_or_init(|| Postgres::start(&["fsync=off", "synchronous_commit=off"]))
    }

    /// A new, empty database on this server: its URL.
    pub async fn database(&self) -> String {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("linli_{}_{n}", std::process::id());
        let admin = format!("{}/postgres", self.server);
        let output = tokio::process::Command::new("psql")
            .args([&admin, "-q", "-v", "ON_ERROR_STOP=1", "-c"])
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .await
            .unwrap();
        assert!(
            output.status.success(),
            "cannot create database {name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        format!("{}/{name}", self.server)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGTERM: the script stops PostgreSQL and removes its folder (SIGKILL would
        // leave both behind).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// The database a test runs on: a new SQLite file in a temporary folder, or, when
/// `LINLI_TEST_DATABASE=postgres`, a new database on the process's private PostgreSQL
/// (`make test` runs the server's suite both ways).
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub async fn new() -> TestDatabase {
        match std::env::var("LINLI_TEST_DATABASE").as_deref() {
            Ok("postgres") => TestDatabase {
                url: Postgres::shared().database().await,
                _dir: None,
            },
            Ok("sqlite") | Err(_) => {
                let dir = tempfile::tempdir().unwrap();
                TestDatabase {
                    url: format!("sqlite://{}", dir.path().join("linli.db").display()),
                    _dir: Some(dir),
                }
            }
            Ok(other) => panic!("LINLI_TEST_DATABASE={other}: use sqlite or postgres"),
        }
    }
}
