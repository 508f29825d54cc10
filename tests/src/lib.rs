//! The end-to-end test harness: real processes, no stand-ins.
//!
//! - [`LinliServer`] runs the real `linli serve` binary on a free port with a database
//!   of its own (a temporary SQLite file, or with `LINLI_TEST_DATABASE=postgres` a
//!   database on a private PostgreSQL), and the built app from `dist/`.
//! - [`Browser`] starts Debian's `chromedriver` and drives headless Chromium through
//!   the W3C WebDriver protocol (a small client over reqwest: sessions, navigation,
//!   scripts, elements, screenshots, and three of chromedriver's own commands: the
//!   DevTools protocol, network conditions, the performance log `make bench` reads
//!   traces from). Hand-written rather than a WebDriver crate: measured 2026-12-01,
//!   `thirtyfour` 0.35 would add 6 crates to the workspace (`cargo tree`) and has
//!   every command used here but the performance log, which would still be a raw
//!   request; the client is about 390 lines with nothing else to learn. A fair trade
//!   either way; switching is an option if the tests come to need much more of the
//!   protocol (frames, windows, alerts).
//! - [`Broker`] runs a private Mosquitto on a free port, [`Postgres`] a private
//!   PostgreSQL; [`TestDatabase`] is the database a test runs on (SQLite, or
//!   PostgreSQL with `LINLI_TEST_DATABASE=postgres`).
//! - [`Receiver`] stands in for the robots and gateways notifications go to.
//! - [`eventually`] waits for what a server does on its own (rules, notifier, stream).
//!
//! The binary and the app must be built first (`make test` does both); missing pieces
//! fail the test with the command that builds them, never skip.

mod broker;
mod postgres;
mod receiver;

pub use broker::Broker;
pub use postgres::{Postgres, TestDatabase};
pub use receiver::{Received, Receiver};

use anyhow::{anyhow, bail, Context as _, Result};
use base64::Engine as _;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// Asks `check` every 50 ms until it answers `Some`, and returns that; panics saying
/// that `what` did not happen when `within` has passed. For what the server does on its
/// own time: an alert the rules raise, a message the notifier sends.
pub async fn eventually<T>(
    what: &str,
    within: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lies in the workspace")
        .to_path_buf()
}

/// Where screenshots and other test artefacts go: `target/e2e/`.
pub fn artefacts() -> PathBuf {
    let dir = workspace().join("target").join("e2e");
    std::fs::create_dir_all(&dir).expect("can create target/e2e");
    dir
}

/// The `linli` binary under test: `$LINLI_BIN`, else `target/debug/linli`.
pub fn linli_binary() -> Result<PathBuf> {
    let path = std::env::var_os("LINLI_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/debug/linli"));
    if !path.is_file() {
        bail!(
            "{} is missing: run `cargo build -p linli-server` (or `make test`)",
            path.display()
        );
    }
    Ok(path)
}

/// The built app: `$LINLI_DIST`, else `dist/`.
pub fn dist_dir() -> Result<PathBuf> {
    let dir = std::env::var_os("LINLI_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("dist"));
    if !dir.join("index.html").is_file() || !dir.join("public/index.html").is_file() {
        bail!(
            "{} has no built app: run `make app` (or `make test`)",
            dir.display()
        );
    }
    Ok(dir)
}

/// A running `linli serve` (the demo, or imported data), stopped when dropped.
pub struct LinliServer {
    pub base_url: String,
    child: Child,
    /// Its database's URL.
    database: String,
    /// Its database, when the server has one of its own.
    _database: Option<TestDatabase>,
    demo: bool,
    flags: Vec<String>,
    /// Shell commands run before `linli` replaces the shell (e.g. `trap '' XFSZ`).
    shell: Option<String>,
}

impl LinliServer {
    /// Starts the demo server on a free port with a fresh database.
    pub async fn start_demo() -> Result<Self> {
        Self::start_demo_with(&[]).await
    }

    /// The demo server with more `linli serve` flags (e.g. `--mqtt-url`).
    pub async fn start_demo_with(flags: &[&str]) -> Result<Self> {
        Self::serve(TestDatabase::new().await, true, flags, None).await
    }

    /// A server on a database it shares (several servers on one PostgreSQL database
    /// form a cluster), without the app: the demo loaded when `demo`.
    pub async fn start_on(database: &str, demo: bool, flags: &[&str]) -> Result<Self> {
        let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        let (child, base_url) = Self::launch(database, demo, &flags, None, "127.0.0.1:0").await?;
        Ok(Self {
            base_url,
            child,
            database: database.to_string(),
            _database: None,
            demo,
            flags,
            shell: None,
        })
    }

    /// The demo server started through `sh -c '<shell>; exec linli …'`, so that the
    /// shell can set what `linli` inherits (an ignored signal, a limit).
    pub async fn start_demo_after(shell: &str) -> Result<Self> {
        Self::serve(
            TestDatabase::new().await,
            true,
            &[],
            Some(shell.to_string()),
        )
        .await
    }

    /// Kills the server with SIGKILL, as a machine lost or a process killed by the
    /// kernel would end: no chance to finish anything.
    pub async fn kill(&mut self) -> Result<()> {
        self.child.start_kill()?;
        self.child.wait().await?;
        Ok(())
    }

    /// The exit code of the server if it stops by itself within `limit`.
    pub async fn exited_within(&mut self, limit: Duration) -> Option<Option<i32>> {
        let status = tokio::time::timeout(limit, self.child.wait()).await.ok()?;
        Some(status.ok()?.code())
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The server's database URL (other `linli` processes may use it alongside).
    pub fn database_url(&self) -> String {
        self.database.clone()
    }

    /// A pool on the server's database, SQLite or PostgreSQL, beside the server.
    pub async fn sql(&self) -> Result<sqlx::AnyPool> {
        sqlx::any::install_default_drivers();
        Ok(sqlx::AnyPool::connect(&self.database).await?)
    }

    /// Runs `linli` with `args` against this server's database; its standard output.
    pub async fn linli(&self, args: &[&str]) -> Result<String> {
        let out = Command::new(linli_binary()?)
            .args(args)
            .arg("--database-url")
            .arg(&self.database)
            .output()
            .await?;
        anyhow::ensure!(
            out.status.success(),
            "linli {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8(out.stdout)?)
    }

    /// Starts a server whose fresh database holds only `imports`, each a layer
    /// (`buildings`, `roads`, …) and a GeoJSON file loaded with `linli import` first.
    pub async fn start_imported(imports: &[(&str, &Path)]) -> Result<Self> {
        Self::start_imported_with(imports, &[]).await
    }

    /// As [`LinliServer::start_imported`], started with `flags` (e.g. `--static-dir`
    /// for another build of the app).
    pub async fn start_imported_with(imports: &[(&str, &Path)], flags: &[&str]) -> Result<Self> {
        let database = TestDatabase::new().await;
        for (layer, file) in imports {
            let status = Command::new(linli_binary()?)
                .args(["import", layer])
                .arg(file)
                .arg("--database-url")
                .arg(&database.url)
                .stdout(Stdio::null())
                .status()
                .await?;
            anyhow::ensure!(
                status.success(),
                "linli import {layer} {} failed",
                file.display()
            );
        }
        Self::serve(database, false, flags, None).await
    }

    /// A server on a database of its own: SQLite, or PostgreSQL with
    /// `LINLI_TEST_DATABASE=postgres` (see [`TestDatabase`]).
    async fn serve(
        own: TestDatabase,
        demo: bool,
        flags: &[&str],
        shell: Option<String>,
    ) -> Result<Self> {
        let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        let database = own.url.clone();
        let (child, base_url) =
            Self::launch(&database, demo, &flags, shell.as_deref(), "127.0.0.1:0").await?;
        Ok(Self {
            base_url,
            child,
            database,
            _database: Some(own),
            demo,
            flags,
            shell,
        })
    }

    /// Kills the server with SIGKILL (no chance to finish anything) and starts it
    /// again on the same address and database.
    pub async fn kill_and_restart(&mut self) -> Result<()> {
        self.kill().await?;
        let addr = self
            .base_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let (child, base_url) = Self::launch(
            &self.database,
            self.demo,
            &self.flags,
            self.shell.as_deref(),
            &addr,
        )
        .await?;
        self.child = child;
        self.base_url = base_url;
        Ok(())
    }

    async fn launch(
        database: &str,
        demo: bool,
        flags: &[String],
        shell: Option<&str>,
        addr: &str,
    ) -> Result<(Child, String)> {
        let mut command = match shell {
            Some(shell) => {
                let mut command = Command::new("sh");
                command
                    .arg("-c")
                    .arg(format!("{shell}; exec \"$0\" \"$@\""))
                    .arg(linli_binary()?);
                command
            }
            None => Command::new(linli_binary()?),
        };
        command
            .arg("serve")
            .args(demo.then_some("--demo"))
            .args(flags)
            .args(["--addr", addr, "--database-url", database]);
        if !flags
            .iter()
            .any(|f| f == "--no-static" || f == "--static-dir")
        {
            command.arg("--static-dir").arg(dist_dir()?);
        }
        let mut child = command
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start linli")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let base_url = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix("linli: listening on ") {
                    return Ok(url.trim().to_string());
                }
            }
            Err(anyhow!("linli exited before it listened"))
        })
        .await
        .context("linli did not start within 60 s")??;
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok((child, base_url))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Sends SIGTERM and waits up to `limit` for the process to exit; whether it did
    /// (it is killed otherwise).
    pub async fn terminate_within(mut self, limit: Duration) -> Result<bool> {
        let pid = self.child.id().context("the server exited already")?;
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await?;
        anyhow::ensure!(status.success(), "kill -TERM {pid} failed");
        Ok(tokio::time::timeout(limit, self.child.wait()).await.is_ok())
    }

    /// The server's resident memory, from /proc (Linux), in bytes.
    pub fn rss_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb * 1024)
    }

    /// The homes the demo account `username` may see (`GET /api/v1/homes`).
    pub async fn homes(&self, username: &str) -> Result<Vec<Value>> {
        let client = self.signed_in(username).await?;
        Ok(client
            .get(self.url("/api/v1/homes"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Fits a sensor of `kind` (`water`, `gas`, `smoke`) to `home` with `linli device
    /// add`: its device id and token.
    pub async fn add_device(&self, home: &str, kind: &str) -> Result<(String, String)> {
        let added = self
            .linli(&["device", "add", "--home", home, "--kind", kind])
            .await?;
        let field = |name: &str| {
            added
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .map(str::to_string)
                .ok_or_else(|| anyhow!("no {name} in `linli device add`'s output"))
        };
        Ok((field("device")?, field("token")?))
    }

    /// Fits a gas detector to `home` and has it report 45 % LEL over HTTP: a critical
    /// gas alert for the home.
    pub async fn raise_gas_alarm(&self, home: &str) -> Result<()> {
        let (device, token) = self.add_device(home, "gas").await?;
        self.report_gas_leak(&device, &token).await
    }

    /// Has the gas detector `device` report 45 % LEL over HTTP (its first reading).
    pub async fn report_gas_leak(&self, device: &str, token: &str) -> Result<()> {
        self.report_gas(device, token, 1, 45.0).await
    }

    /// Has the gas detector `device` report `lel_pct` over HTTP as its reading `seq`.
    pub async fn report_gas(
        &self,
        device: &str,
        token: &str,
        seq: u64,
        lel_pct: f64,
    ) -> Result<()> {
        reqwest::Client::new()
            .post(self.url("/api/v1/ingest"))
            .bearer_auth(token)
            .json(
                &json!({"readings": [{"device": device, "seq": seq, "ts": now_rfc3339(),
                                        "metric": "gas_lel_pct", "value": lel_pct}]}),
            )
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// An HTTP client signed in as a demo account (password `demo`).
    pub async fn signed_in(&self, username: &str) -> Result<reqwest::Client> {
        let client = reqwest::Client::builder().cookie_store(true).build()?;
        let answer = client
            .post(self.url("/api/v1/session"))
            .json(&json!({"username": username, "password": "demo"}))
            .send()
            .await?;
        anyhow::ensure!(
            answer.status().is_success(),
            "{username} could not sign in: {}",
            answer.status()
        );
        Ok(client)
    }
}

impl Drop for LinliServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Now as RFC 3339 UTC with milliseconds, as sensors write their readings' times.
pub fn now_rfc3339() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    linli_domain::Timestamp::from_millis(ms).to_string()
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Headless Chromium driven through chromedriver. Closed when dropped.
pub struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// The trace categories of [`Browser::start_traced`]: tasks (`RunTask`), what ran in
/// them (event handlers, animation frames, timers, script, garbage collection), user
/// timing marks, and the thread names that tell the page's main thread apart. Not
/// `toplevel` nor `v8`: they more than double the events, and chromedriver's log keeps
/// only the first 100,000 or so.
const TRACE_CATEGORIES: &str =
    "devtools.timeline,disabled-by-default-devtools.timeline,blink.user_timing,__metadata";

/// A found element.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver and a headless Chromium window of `width`×`height` CSS pixels
    /// whose preferred language is `language` (e.g. `zh-CN`).
    pub async fn start(width: u32, height: u32, language: &str) -> Result<Self> {
        Self::start_with(width, height, language, None).await
    }

    /// As [`Browser::start`], recording Chromium's performance trace (the categories
    /// DevTools' Performance panel uses) for [`Browser::trace_events`].
    pub async fn start_traced(width: u32, height: u32, language: &str) -> Result<Self> {
        Self::start_with(width, height, language, Some(TRACE_CATEGORIES)).await
    }

    async fn start_with(
        width: u32,
        height: u32,
        language: &str,
        trace_categories: Option<&str>,
    ) -> Result<Self> {
        let port = free_port()?;
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context(
                "cannot start chromedriver: install Debian's chromium-driver (`make test` does)",
            )?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while http.get(format!("{base}/status")).send().await.is_err() {
            if started.elapsed() > Duration::from_secs(20) {
                bail!("chromedriver did not answer on port {port}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir()?;
        let mut capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                    "--enable-precise-memory-info",
                    format!("--window-size={width},{height}"),
                    format!("--lang={language}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {"intl.accept_languages": language},
            }
        }}});
        if let Some(categories) = trace_categories {
            // chromedriver runs the trace and hands its events out in the performance
            // log (one `Tracing.dataCollected` message per event).
            let options = &mut capabilities["capabilities"]["alwaysMatch"];
            options["goog:loggingPrefs"] = json!({"performance": "ALL"});
            options["goog:chromeOptions"]["perfLoggingPrefs"] =
                json!({"enableNetwork": false, "enablePage": false, "traceCategories": categories});
        }
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await?
            .json()
            .await?;
        let session = answer["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("chromedriver refused the session: {answer}"))?
            .to_string();
        let browser = Self {
            http,
            session: format!("{base}/session/{session}"),
            driver,
            _profile: profile,
        };
        browser.set_size(width, height).await?;
        Ok(browser)
    }

    /// Makes the page (not the outer window) `width`×`height` CSS pixels.
    pub async fn set_size(&self, width: u32, height: u32) -> Result<()> {
        let (outer_w, outer_h): (f64, f64) = serde_json::from_value(
            self.script(
                "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]",
                json!([]),
            )
            .await?,
        )?;
        let size =
            json!({"width": f64::from(width) + outer_w, "height": f64::from(height) + outer_h});
        self.command("POST", "/window/rect", size).await.map(drop)
    }

    async fn command(&self, method: &str, path: &str, body: Value) -> Result<Value> {
        let url = format!("{}{path}", self.session);
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let answer: Value = request.send().await?.json().await?;
        if let Some(error) = answer["value"]["error"].as_str() {
            bail!(
                "webdriver {method} {path}: {error}: {}",
                answer["value"]["message"]
            );
        }
        Ok(answer["value"].clone())
    }

    pub async fn goto(&self, url: &str) -> Result<()> {
        self.command("POST", "/url", json!({"url": url}))
            .await
            .map(drop)
    }

    pub async fn current_url(&self) -> Result<String> {
        Ok(self
            .command("GET", "/url", Value::Null)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// Runs `body` as a function with `args` and returns what it returns.
    pub async fn script(&self, body: &str, args: Value) -> Result<Value> {
        self.execute("sync", body, args).await
    }

    async fn execute(&self, mode: &str, body: &str, args: Value) -> Result<Value> {
        let path = format!("/execute/{mode}");
        self.command("POST", &path, json!({"script": body, "args": args}))
            .await
    }

    /// Runs an asynchronous script: it gets a callback as its last argument and
    /// answers by calling it (the session's script timeout applies, 30 s by default).
    pub async fn execute_async(&self, body: &str, args: Value) -> Result<Value> {
        self.execute("async", body, args).await
    }

    /// Polls the script `body` until it returns something other than null, false or
    /// undefined, and returns that; fails after `timeout` with `what`.
    pub async fn wait_for(&self, what: &str, body: &str, timeout: Duration) -> Result<Value> {
        let started = Instant::now();
        loop {
            let value = self.script(body, json!([])).await?;
            if !(value.is_null() || value == Value::Bool(false)) {
                return Ok(value);
            }
            if started.elapsed() > timeout {
                let url = self.current_url().await.unwrap_or_default();
                bail!("timed out after {timeout:?} waiting for {what} (at {url})");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the page's path is `path`.
    pub async fn wait_for_path(&self, path: &str) -> Result<()> {
        let script = format!("return location.pathname === {}", json!(path));
        self.wait_for(
            &format!("the path {path}"),
            &script,
            Duration::from_secs(15),
        )
        .await
        .map(drop)
    }

    pub async fn find(&self, css: &str) -> Result<Element> {
        let started = Instant::now();
        loop {
            match self
                .command(
                    "POST",
                    "/element",
                    json!({"using": "css selector", "value": css}),
                )
                .await
            {
                Ok(found) => {
                    let id = found[ELEMENT_KEY]
                        .as_str()
                        .ok_or_else(|| anyhow!("odd element answer {found}"))?;
                    return Ok(Element(id.to_string()));
                }
                Err(e) if started.elapsed() > Duration::from_secs(15) => {
                    return Err(e.context(format!("no element matches `{css}`")))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    pub async fn type_into(&self, element: &Element, text: &str) -> Result<()> {
        self.command(
            "POST",
            &format!("/element/{}/value", element.0),
            json!({"text": text}),
        )
        .await
        .map(drop)
    }

    /// Clicks `element` as a user would: scrolled to the middle of its scrolling box
    /// first, where a panel's sticky header and footer do not cover it (a user scrolls
    /// to what they want to tap; WebDriver alone scrolls it just into view).
    pub async fn click(&self, element: &Element) -> Result<()> {
        self.script(
            "arguments[0].scrollIntoView({block: 'center', inline: 'nearest'}); return true;",
            json!([{ELEMENT_KEY: element.0}]),
        )
        .await?;
        self.command("POST", &format!("/element/{}/click", element.0), json!({}))
            .await
            .map(drop)
    }

    pub async fn text(&self, element: &Element) -> Result<String> {
        Ok(self
            .command("GET", &format!("/element/{}/text", element.0), Value::Null)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// Performs W3C WebDriver input actions (real pointer, key and wheel events).
    pub async fn actions(&self, sources: Value) -> Result<()> {
        self.command("POST", "/actions", json!({"actions": sources}))
            .await
            .map(drop)
    }

    /// Drags the mouse from `from` to `to` (page CSS pixels) over `ms` milliseconds.
    pub async fn drag(&self, from: (f64, f64), to: (f64, f64), ms: u64) -> Result<()> {
        self.actions(json!([{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
            {"type": "pointerMove", "duration": 0, "x": from.0.round() as i64, "y": from.1.round() as i64, "origin": "viewport"},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerMove", "duration": ms, "x": to.0.round() as i64, "y": to.1.round() as i64, "origin": "viewport"},
            {"type": "pointerUp", "button": 0},
        ]}]))
        .await
    }

    /// Clicks the mouse at `at` (page CSS pixels).
    pub async fn click_at(&self, at: (f64, f64)) -> Result<()> {
        self.actions(json!([{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
            {"type": "pointerMove", "duration": 0, "x": at.0.round() as i64, "y": at.1.round() as i64, "origin": "viewport"},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerUp", "button": 0},
        ]}]))
        .await
    }

    /// Cuts the page off the network (`true`) or gives it back, as a tablet losing its
    /// signal would: requests fail and the page is told it is offline.
    pub async fn set_offline(&self, offline: bool) -> Result<()> {
        self.network_conditions(offline, 0).await
    }

    /// Makes every request of the page wait `ms` milliseconds (0: as fast as it is), as
    /// on a weak mobile signal.
    pub async fn set_latency(&self, ms: u64) -> Result<()> {
        self.network_conditions(false, ms).await
    }

    async fn network_conditions(&self, offline: bool, latency_ms: u64) -> Result<()> {
        let conditions = json!({"offline": offline, "latency": latency_ms,
                                "download_throughput": -1, "upload_throughput": -1});
        self.command(
            "POST",
            "/chromium/network_conditions",
            json!({"network_conditions": conditions}),
        )
        .await
        .map(drop)
    }

    /// The trace events recorded since the last call (a browser from
    /// [`Browser::start_traced`]): Chrome's trace event format, `ts` and `dur` in µs.
    pub async fn trace_events(&self) -> Result<Vec<Value>> {
        let entries = self
            .command("POST", "/se/log", json!({"type": "performance"}))
            .await?;
        let entries = entries
            .as_array()
            .context("the performance log is a list")?;
        let mut events = Vec::with_capacity(entries.len());
        for entry in entries {
            let text = entry["message"].as_str().context("a log entry's message")?;
            let mut message: Value = serde_json::from_str(text)?;
            if message["message"]["method"] == "Tracing.dataCollected" {
                events.push(message["message"]["params"].take());
            }
        }
        Ok(events)
    }

    /// Runs a Chrome DevTools Protocol command (`Browser.grantPermissions`, …).
    pub async fn cdp(&self, command: &str, params: Value) -> Result<Value> {
        self.command(
            "POST",
            "/goog/cdp/execute",
            json!({"cmd": command, "params": params}),
        )
        .await
    }

    /// Lets the page read the device's position and says it is at `[lon, lat]`.
    pub async fn set_position(&self, position: [f64; 2]) -> Result<()> {
        self.cdp(
            "Browser.grantPermissions",
            json!({"permissions": ["geolocation"]}),
        )
        .await?;
        self.cdp(
            "Emulation.setGeolocationOverride",
            json!({"longitude": position[0], "latitude": position[1], "accuracy": 5}),
        )
        .await
        .map(drop)
    }

    /// Presses and releases the right mouse button at `at` (page CSS pixels).
    pub async fn context_click_at(&self, at: (f64, f64)) -> Result<()> {
        self.actions(json!([{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
            {"type": "pointerMove", "duration": 0, "x": at.0.round() as i64, "y": at.1.round() as i64, "origin": "viewport"},
            {"type": "pointerDown", "button": 2},
            {"type": "pointerUp", "button": 2},
        ]}]))
        .await
    }

    /// Chooses the option with `value` in the `<select>` matching `css`, as a user does
    /// (the page hears a `change` event).
    pub async fn choose(&self, css: &str, value: &str) -> Result<()> {
        self.find(&format!("{css} option[value='{value}']")).await?;
        let chosen = self
            .script(
                "const s = document.querySelector(arguments[0]); s.value = arguments[1]; \
                 s.dispatchEvent(new Event('change', {bubbles: true})); return s.value",
                json!([css, value]),
            )
            .await?;
        anyhow::ensure!(chosen == value, "`{css}` did not take `{value}`");
        Ok(())
    }

    /// Turns the mouse wheel at `at` by `delta_y` pixels (negative zooms in on a map).
    pub async fn wheel(&self, at: (f64, f64), delta_y: i64) -> Result<()> {
        self.actions(json!([{"type": "wheel", "id": "wheel", "actions": [
            {"type": "scroll", "x": at.0.round() as i64, "y": at.1.round() as i64, "deltaX": 0, "deltaY": delta_y, "duration": 0, "origin": "viewport"},
        ]}]))
        .await
    }

    /// Saves a PNG screenshot of the page to `target/e2e/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let encoded = self.command("GET", "/screenshot", Value::Null).await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .context("screenshot is not base64")?;
        let path = artefacts().join(format!("{name}.png"));
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)?;
        }
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Signs in through the login form (the page must be showing it).
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<()> {
        let name = self.find("input[name=username]").await?;
        self.type_into(&name, username).await?;
        let pass = self.find("input[name=password]").await?;
        self.type_into(&pass, password).await?;
        let button = self.find("[data-test=sign-in]").await?;
        self.click(&button).await
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ask chromedriver to close Chromium (killing the driver alone leaves Chromium
        // running). Drop cannot await, so this runs on a runtime of its own, with a
        // client of its own: pooled connections belong to the runtime that made them.
        let session = self.session.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                let _ = rt.block_on(async move {
                    reqwest::Client::new()
                        .delete(session)
                        .timeout(Duration::from_secs(10))
                        .send()
                        .await
                });
            }
        })
        .join();
        let _ = self.driver.start_kill();
    }
}
