//! Test harness for the server's tests: the real [`Application`] on port 0 with a
//! database of its own (SQLite, or PostgreSQL with `LINLI_TEST_DATABASE=postgres`) and a reqwest client with a cookie jar, and [`run_linli`]
//! for running the `linli` binary itself.

use linli_domain::alerts::Alert;
use linli_domain::cases::{Case, CaseCategory, CasePriority, CaseSource, NewCase};
pub use linli_domain::patrol::{PatrolRun, RouteLayer, RouteProperties};
use linli_domain::place::Position;
use linli_domain::{CommunityId, Role, Username};
use linli_server::auth::password;
use linli_server::clock::now_ms;
use linli_server::sign_in_limits::Policy;
use linli_server::startup::{Application, Settings};
use linli_server::store::{Actor, Change, DynStore, NewUser};
pub use linli_tests::{eventually, Broker, TestDatabase};
use std::time::Duration;

/// How long a test waits for what the server does on its own time (the rules, the
/// notifier, the engine's commits).
pub const WAIT: Duration = Duration::from_secs(10);
use serde_json::{json, Value};

pub struct TestApp {
    pub base: String,
    pub store: DynStore,
    pub database_url: String,
    _database: TestDatabase,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Policy::default(), true).await
}

/// Starts the demo server with these connection and time limits.
pub async fn spawn_app_limited(limits: linli_server::listen::Limits) -> TestApp {
    spawn_app_full(Policy::default(), true, None, false, limits).await
}

/// Starts the server; with `demo` it loads the demo communities and accounts.
pub async fn spawn_app_with(policy: Policy, demo: bool) -> TestApp {
    spawn_app_full(policy, demo, None, false, Default::default()).await
}

/// Starts the demo server with its built-in sensor simulator.
pub async fn spawn_app_simulating() -> TestApp {
    spawn_app_full(Policy::default(), true, None, true, Default::default()).await
}

/// Starts the demo server taking readings from an MQTT broker too, once it is
/// subscribed (`/readyz` says so).
pub async fn spawn_app_with_mqtt(broker: &Broker) -> TestApp {
    let subscriber = linli_server::mqtt::Subscriber::new(broker_url(broker));
    let app = spawn_app_taking_from(subscriber).await;
    for _ in 0..200 {
        let ready = reqwest::get(app.url("/readyz")).await.unwrap();
        if ready.status() == 200 {
            return app;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the server did not subscribe to the broker within 10 s");
}

/// Starts the demo server taking readings from an MQTT broker, without waiting for it
/// to subscribe.
pub async fn spawn_app_taking_from(subscriber: linli_server::mqtt::Subscriber) -> TestApp {
    spawn_app_full(
        Policy::default(),
        true,
        Some(subscriber),
        false,
        Default::default(),
    )
    .await
}

/// The broker's URL, trusting its authority when it speaks TLS.
pub fn broker_url(broker: &Broker) -> linli_server::mqtt::MqttUrl {
    let url: linli_server::mqtt::MqttUrl = broker.url().parse().unwrap();
    match broker.ca_file() {
        Some(ca_file) => url.trusting(ca_file).unwrap(),
        None => url,
    }
}

async fn spawn_app_full(
    policy: Policy,
    demo: bool,
    mqtt: Option<linli_server::mqtt::Subscriber>,
    simulate: bool,
    limits: linli_server::listen::Limits,
) -> TestApp {
    let database = TestDatabase::new().await;
    let database_url = database.url.clone();
    let app = Application::build(Settings {
        addr: "127.0.0.1:0".parse().unwrap(),
        database_url: database_url.parse().unwrap(),
        demo,
        static_dir: None,
        secure_cookies: false,
        sign_in_policy: policy,
        mqtt,
        simulate,
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        limits,
        public_url: None,
        cluster_url: None,
    })
    .await
    .expect("the application builds");
    let base = format!("http://{}", app.local_addr());
    let store = app.store();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        base,
        store,
        database_url,
        _database: database,
        stop: Some(stop),
    }
}

impl TestApp {
    /// The app's database, for a test that reads or changes it behind the server's
    /// back (SQLite or PostgreSQL alike: the queries use `$N` parameters).
    pub async fn sql(&self) -> sqlx::AnyPool {
        sql_pool(&self.database_url).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `host:port`, for tests that speak HTTP over a socket themselves.
    pub fn address(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        reqwest::get(self.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// A client that keeps cookies, like a browser.
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap()
    }

    pub async fn add_user(&self, name: &str, pass: &str, role: Role, communities: &[&str]) {
        self.store
            .create_user(
                &Change::new(Actor::System("test"), now_ms()),
                NewUser {
                    username: Username::parse(name).unwrap(),
                    password_hash: password::hash(pass).unwrap(),
                    role,
                    communities: communities
                        .iter()
                        .map(|c| CommunityId::parse(*c).unwrap())
                        .collect(),
                    org: None,
                },
            )
            .await
            .unwrap();
    }

    pub async fn sign_in(
        &self,
        client: &reqwest::Client,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        client
            .post(self.url("/api/v1/session"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// A signed-in client for a demo account.
    pub async fn signed_in(&self, username: &str) -> reqwest::Client {
        let client = self.browser();
        let response = self.sign_in(&client, username, "demo").await;
        assert_eq!(response.status(), 200, "{username} could not sign in");
        client
    }
}

/// GETs `url` with `client` and reads the JSON answer (panics on failure: for tests).
pub async fn get_json<T: serde::de::DeserializeOwned>(client: &reqwest::Client, url: String) -> T {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// A sensor reading as the JSON batch and MQTT carry it, measured a second ago.
pub fn reading(device: &str, seq: u64, metric: &str, value: f64) -> Value {
    json!({"device": device, "seq": seq, "ts": linli_server::clock::rfc3339(now_ms() - 1_000),
           "metric": metric, "value": value})
}

/// A new sensor, with its token, on the first demo home (of `community`, when given):
/// (device id, token, home id).
pub async fn new_device(
    app: &TestApp,
    community: Option<&str>,
    kind: linli_domain::care::SensorKind,
) -> (String, String, String) {
    let communities = community.map(|c| vec![CommunityId::parse(c).unwrap()]);
    let homes = app.store.homes(communities.as_deref()).await.unwrap();
    let home = homes[0].id.clone();
    let token = linli_server::auth::token::new_token();
    let change = Change::new(Actor::System("test"), now_ms());
    let device = app
        .store
        .add_device(
            &change,
            &home,
            kind,
            &linli_server::auth::token::token_hash(&token),
        )
        .await
        .unwrap();
    (device, token, home)
}

/// The properties of a demo patrol route that belongs to a community.
pub async fn community_route(client: &reqwest::Client, app: &TestApp) -> RouteProperties {
    let routes: RouteLayer = get_json(client, app.url("/api/v1/patrols/routes")).await;
    routes
        .features
        .into_iter()
        .map(|r| r.properties)
        .find(|r| r.community.is_some())
        .expect("a community's route")
}

/// A demo route's community.
pub fn route_community(route: &RouteProperties) -> String {
    route.community.clone().expect("a community's route")
}

/// A new gas detector in `community` reports a 45 % LEL leak: the alert the rules
/// raised, and the home.
pub async fn raise_gas_alert(app: &TestApp, community: &str) -> (i64, String) {
    let (gas, token, home) =
        new_device(app, Some(community), linli_domain::care::SensorKind::Gas).await;
    let leak = json!({"readings": [reading(&gas, 1, "gas_lel_pct", 45.0)]});
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/ingest"))
        .bearer_auth(&token)
        .json(&leak)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let commander = app.signed_in("demo-commander").await;
    (open_alert_of(&commander, app, &home).await.id, home)
}

/// `client` acknowledges alert `id`: the alert as the server answers it.
pub async fn acknowledge(client: &reqwest::Client, app: &TestApp, id: i64) -> Alert {
    let response = client
        .post(app.url(&format!("/api/v1/alerts/{id}/ack")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "acknowledging alert {id}");
    let alert: Alert = response.json().await.unwrap();
    assert_eq!(alert.state, linli_domain::alerts::AlertState::Acknowledged);
    alert
}

/// A grid worker's report of `title` in Wulimiao (a demo community) at `position`; a
/// test changes what it needs with `NewCase { .., ..case_report(..) }`.
pub fn case_report(title: &str, category: CaseCategory, position: Position) -> NewCase {
    NewCase {
        title: title.into(),
        description: String::new(),
        category,
        priority: CasePriority::Normal,
        source: CaseSource::GridVisit,
        community: CommunityId::parse("wulimiao").unwrap(),
        grid: None,
        position,
        building: None,
        responsible: None,
        cooperating: Vec::new(),
        patrol_run: None,
    }
}

/// `client` reports `case` (`POST /api/v1/cases`): the new case as the server answers it.
pub async fn create_case(client: &reqwest::Client, app: &TestApp, case: &NewCase) -> Case {
    let response = client
        .post(app.url("/api/v1/cases"))
        .json(case)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "reporting {}", case.title);
    response.json().await.unwrap()
}

/// The open alert of `home` as `client` sees it, once the rules raised it.
pub async fn open_alert_of(client: &reqwest::Client, app: &TestApp, home: &str) -> Alert {
    eventually(&format!("an open alert for {home}"), WAIT, async || {
        let alerts: Vec<Alert> = get_json(client, app.url("/api/v1/alerts?state=open")).await;
        alerts.into_iter().find(|a| a.home == home)
    })
    .await
}

/// Asserts a response is the JSON error body with `status` and `code`; returns the message.
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) -> String {
    assert_eq!(response.status(), status, "status of {}", response.url());
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "content type {content_type}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "body {body}");
    let message = body["error"]["message"]
        .as_str()
        .expect("a message")
        .to_string();
    assert!(!message.is_empty());
    assert_eq!(body.as_object().unwrap().len(), 1, "only `error` in {body}");
    message
}

/// A pool on the database at `url` (SQLite or PostgreSQL), for reading or changing it
/// behind the store's back.
pub async fn sql_pool(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(url).await.unwrap()
}

/// What a run of the `linli` binary printed on standard output.
pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a run of the `linli` binary printed on standard error.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs the `linli` binary with `args`, the environment's database and address settings
/// removed and `env` added, and `stdin` written to its standard input.
pub fn run_linli(args: &[&str], env: &[(&str, &str)], stdin: &str) -> std::process::Output {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_linli"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("LINLI_ADDR")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The process may exit before reading (e.g. on a bad flag): a closed pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}
