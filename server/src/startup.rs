//! [`Application`]: everything `linli serve` runs, built from typed [`Settings`].
//!
//! `build` opens and migrates the store, seeds the demo when asked, binds the port
//! (port 0 picks a free one: tests use that) and assembles the HTTP service; `run`
//! serves until Ctrl-C or SIGTERM, finishing requests in flight.

use crate::auth::address::TrustedProxies;
use crate::clock::now_ms;
use crate::http::{self, AppState};
use crate::listen::{self, Limits};
use crate::metrics::Metrics;
use crate::sign_in_limits::Policy;
use crate::store::{self, DatabaseUrl, DynStore};
use anyhow::Context as _;
use axum::Router;
use linli_domain::{Role, Username};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Settings of `linli serve`, already checked for form by the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    pub database_url: DatabaseUrl,
    /// Load the demo subdistrict and accounts into the database where missing.
    pub demo: bool,
    /// The built app (trunk's `dist/`); `None` serves the API only.
    pub static_dir: Option<PathBuf>,
    pub secure_cookies: bool,
    pub sign_in_policy: Policy,
    /// The MQTT broker to take readings from, if any.
    pub mqtt: Option<crate::mqtt::Subscriber>,
    /// Run the sensor simulator inside the server, for every device.
    pub simulate: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<crate::auth::address::Cidr>,
    /// Connection and time limits of the accept loop.
    pub limits: Limits,
    /// Where users reach the app (for the links in notifications), e.g.
    /// `https://linli.example.gov.cn`; the listening address when `None`.
    pub public_url: Option<String>,
    /// Where the other servers on the same PostgreSQL database reach this one, e.g.
    /// `http://10.0.0.5:8080`; `http://` and the listening address when `None` (with
    /// 127.0.0.1 for an unspecified address).
    pub cluster_url: Option<String>,
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    store: DynStore,
    limits: Limits,
    /// Tells live streams the server is stopping.
    stopping: tokio::sync::watch::Sender<bool>,
    metrics: Arc<Metrics>,
    /// The demo accounts, when the demo was loaded.
    pub demo_accounts: Vec<(Username, Role)>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        if let Some(dir) = &settings.static_dir {
            for page in http::app_pages() {
                anyhow::ensure!(
                    dir.join(&page).is_file(),
                    "the static folder `{}` has no {}: build the app first (`make app` does, \
                     as `make run` does), or pass --static-dir with the folder of the built app",
                    dir.display(),
                    page.display()
                );
            }
        }
        let store = store::open(&settings.database_url).await?;
        let demo_accounts = if settings.demo {
            crate::demo::seed(store.as_ref(), now_ms())
                .await
                .context("cannot load the demo subdistrict")?
        } else {
            Vec::new()
        };
        let listener = TcpListener::bind(settings.addr)
            .await
            .with_context(|| format!("cannot listen on {}", settings.addr))?;
        let live = crate::live::Live::start(store.clone())
            .await
            .context("cannot read the event log")?;
        let (engine, commands) = crate::engine::EngineHandle::channel();
        let metrics = Arc::new(Metrics::default());
        let mqtt = settings
            .mqtt
            .clone()
            .map(|subscriber| crate::mqtt::start(subscriber, engine.clone(), metrics.clone()));
        let public_url = settings.public_url.clone().unwrap_or_else(|| {
            let url = format!("http://{}", listener.local_addr().unwrap_or(settings.addr));
            tracing::info!(
                "links in notifications point to {url}; set --public-url to where users reach Linli"
            );
            url
        });
        let places = Arc::new(crate::places::PlaceNames::default());
        let cluster_url = settings.cluster_url.clone().unwrap_or_else(|| {
            let mut addr = listener.local_addr().unwrap_or(settings.addr);
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            format!("http://{addr}")
        });
        let cluster = crate::cluster::start(
            &settings.database_url,
            cluster_url,
            commands,
            crate::cluster::Singletons {
                store: store.clone(),
                live: live.clone(),
                places: places.clone(),
                public_url,
            },
        )
        .await?;
        let engine_for_simulator = engine.clone();
        let (stopping, shutdown) = listen::shutdown_signal();
        let state = AppState {
            shutdown,
            session_checks: Arc::default(),
            engine,
            live,
            credentials: Arc::default(),
            mqtt,
            store: store.clone(),
            sign_in_policy: settings.sign_in_policy,
            hashing: Arc::default(),
            proxies: Arc::new(TrustedProxies(settings.trusted_proxies)),
            metrics: metrics.clone(),
            layers: Arc::default(),
            public: Arc::default(),
            secure_cookies: settings.secure_cookies,
            places,
            cluster,
        };
        if settings.simulate {
            start_simulator(&store, engine_for_simulator).await?;
        }
        let (router, _) = http::router(state, settings.static_dir, settings.limits.request);
        Ok(Self {
            listener,
            router,
            store,
            limits: settings.limits,
            stopping,
            metrics,
            demo_accounts,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn store(&self) -> DynStore {
        self.store.clone()
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then ends live streams and finishes the requests
    /// in flight, for [`Limits::shutdown_grace`] at most.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let metrics = self.metrics;
        listen::serve(
            self.listener,
            self.router,
            self.limits,
            self.stopping,
            stop,
            move || metrics.count("linli_connections_refused_total", "over_limit"),
        )
        .await
    }
}

/// Every known device reports about once a minute, with an anomaly every 90 seconds.
async fn start_simulator(
    store: &DynStore,
    engine: crate::engine::EngineHandle,
) -> anyhow::Result<()> {
    use crate::simulate::{run, SimDevice, Simulator, Sink};
    let devices: Vec<SimDevice> = store
        .devices()
        .await?
        .into_iter()
        .filter(|d| !d.revoked)
        .map(|d| SimDevice {
            id: d.id,
            home: d.home,
            kind: d.kind,
        })
        .collect();
    let rate = devices.len() as f64 / 60.0;
    tracing::info!(
        devices = devices.len(),
        "sensor simulator on: {rate:.0} readings/s"
    );
    let simulator = Simulator::new(devices, now_ms() as u64, Some(90_000), now_ms());
    tokio::spawn(run(simulator, Sink::Engine(engine), Some(rate), None));
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
