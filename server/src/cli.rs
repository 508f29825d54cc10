//! The `linli` command line: `serve`, `user add` and `import`, with every `serve` flag
//! also readable from the environment (see CONTRACT.md). Values are parsed into typed
//! settings here, so a bad address or URL is refused with a clear message before
//! anything starts.

use crate::auth::{password, token};
use crate::clock::now_ms;
use crate::import;
use crate::startup::{Application, Settings};
use crate::store::{self, Actor, Change, DatabaseUrl, NewUser};
use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use linli_domain::care::SensorKind;
use linli_domain::cases::Party;
use linli_domain::place::LayerName;
use linli_domain::{CommunityId, Role, Username};
use std::io::{BufRead as _, IsTerminal as _, Read as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "linli",
    version,
    about = "Linli (邻里): the situational-awareness system of a street office"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API and the app.
    Serve(ServeArgs),
    /// Manage staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Import a base-map layer from a GeoJSON file (RFC 7946, WGS84 lon/lat), or the
    /// monitored elder homes with their sensors from a CSV file (see README.md).
    ///
    /// The whole file is checked first: if any feature or row is invalid, each problem
    /// is listed (feature index or row number, id, what is wrong) and nothing changes.
    /// Otherwise everything is stored in one transaction, replacing stored features or
    /// homes with the same id (a feature's `id`, else `properties.id`; a home's `id`).
    Import(ImportArgs),
    /// Manage sensors: `device add` gives a sensor its id and token.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Manage gateways: a gateway token sends for many devices.
    #[command(subcommand)]
    Gateway(GatewayCommand),
    /// Play the homes' sensors over the real protocols (HTTP or MQTT): daily water use
    /// and, now and then, each kind of anomaly. Also a load generator.
    Simulate(SimulateArgs),
    /// Write data out for the office's reports, to standard output.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Set up an MQTT broker for Linli's devices.
    #[command(subcommand)]
    Mqtt(MqttCommand),
    /// Move an office's data between databases.
    #[command(subcommand)]
    Store(StoreCommand),
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Copy every table, ids and all, from one database into another (e.g. from
    /// sqlite://data/linli.db to postgres://linli@db.example/linli), checking each
    /// table's rows and a SHA-256 of its values after. The source may be in use: the
    /// copy reads one consistent view of it. The target is migrated first and must be
    /// empty; nothing of it changes if the copy fails.
    Copy {
        /// The database to copy from.
        #[arg(long)]
        from: DatabaseUrl,
        /// The database to copy into.
        #[arg(long)]
        to: DatabaseUrl,
        /// Remove what the target holds first (its event log too).
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ExportCommand {
    /// Every case, newest first: `--format csv` (one row per case) or `geojson` (one
    /// point per case).
    Cases {
        #[arg(long, value_parser = ["csv", "geojson"])]
        format: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
    /// Add a sensor to a home. Prints `device: <id>` and `token: <token>`; the token is
    /// shown this once (only its hash is kept) and goes into the device's settings.
    Add {
        /// The home (its id, as in the homes CSV).
        #[arg(long)]
        home: String,
        /// What it measures: water, gas or smoke.
        #[arg(long, value_parser = parse_sensor_kind)]
        kind: SensorKind,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        broker: BrokerArgs,
    },
    /// Revoke a sensor's token: its readings are refused from then on (a running
    /// server notices within 30 seconds). The sensor and its history stay.
    Revoke {
        id: String,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        broker: BrokerArgs,
    },
}

#[derive(Debug, Subcommand)]
enum GatewayCommand {
    /// Add a gateway that sends readings for the devices of some communities (all when
    /// no --community is given). Prints `gateway: <id>` and `token: <token>`, once.
    Add {
        /// A name for it: 1–64 of a–z, 0–9, `-`.
        id: String,
        /// A community whose devices it sends for (repeat for several).
        #[arg(long = "community")]
        communities: Vec<CommunityId>,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        broker: BrokerArgs,
    },
    /// Revoke a gateway's token (a running server notices within 30 seconds).
    Revoke {
        id: String,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        broker: BrokerArgs,
    },
}

fn parse_sensor_kind(value: &str) -> Result<SensorKind, String> {
    SensorKind::parse(value).ok_or_else(|| "use water, gas or smoke".to_string())
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// What to import: buildings, roads, grids or communities (GeoJSON), or homes (CSV).
    #[arg(value_parser = parse_import_target)]
    what: ImportTarget,
    /// A GeoJSON FeatureCollection (or a single Feature), or a CSV file of homes.
    file: PathBuf,
    /// Empty the layer first, so it holds exactly the file's features afterwards; for
    /// homes, remove every stored home and its sensors first.
    #[arg(long)]
    replace: bool,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, Args)]
struct DatabaseArgs {
    /// Where the data lives: sqlite://PATH (created if missing) or
    /// postgres://USER@HOST/DATABASE (the database must exist; PostgreSQL 15 or later).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/linli.db")]
    database_url: DatabaseUrl,
}

/// The broker whose accounts follow devices and gateways (see `linli mqtt
/// broker-config`); without it only the database changes.
#[derive(Debug, Args)]
struct BrokerArgs {
    /// mqtt://linli:SECRET@HOST:PORT (or mqtts://… for TLS), as `linli mqtt
    /// broker-config` printed it.
    #[arg(long = "mqtt-url", env = "LINLI_MQTT_URL", hide_env_values = true)]
    mqtt_url: Option<String>,
    /// For mqtts://: the certificate authorities (a PEM file) the broker's certificate
    /// must come from, instead of the system's.
    #[arg(long = "mqtt-ca", env = "LINLI_MQTT_CA")]
    mqtt_ca: Option<PathBuf>,
}

/// The app's address as users reach it: http(s), a host, nothing after the path.
fn public_url(value: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("an http:// or https:// address with a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("no ? or # part".into());
    }
    Ok(url)
}

/// An MQTT client id: 1 to 23 letters, digits, `-` or `_` (what every broker takes).
fn client_id(value: &str) -> Result<String, String> {
    let fits = (1..=23).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if fits {
        Ok(value.to_string())
    } else {
        Err("1 to 23 letters, digits, `-` or `_`".into())
    }
}

/// Reads `--mqtt-url` here rather than by clap, whose error would repeat the value,
/// password and all, and `--mqtt-ca` with it.
fn mqtt_url(
    value: Option<&String>,
    ca_file: Option<&Path>,
) -> anyhow::Result<Option<crate::mqtt::MqttUrl>> {
    let Some(value) = value else {
        anyhow::ensure!(ca_file.is_none(), "--mqtt-ca is for --mqtt-url mqtts://…");
        return Ok(None);
    };
    let url: crate::mqtt::MqttUrl = value
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--mqtt-url: {e}"))?;
    match ca_file {
        Some(file) => Ok(Some(
            url.trusting(file)
                .map_err(|e| anyhow::anyhow!("--mqtt-ca: {e}"))?,
        )),
        None => Ok(Some(url)),
    }
}

impl BrokerArgs {
    /// The broker's dynamic-security API, when `--mqtt-url` is given.
    async fn connect(&self) -> anyhow::Result<Option<crate::dynsec::Dynsec>> {
        match mqtt_url(self.mqtt_url.as_ref(), self.mqtt_ca.as_deref())? {
            Some(url) => Ok(Some(crate::dynsec::Dynsec::connect(&url).await?)),
            None => Ok(None),
        }
    }
}

/// Revokes a device's or gateway's token in the database and, with `--mqtt-url`, its
/// broker account. Revoked already in the database, the broker account still goes (a
/// run whose broker step failed can be repeated).
async fn revoke(
    what: crate::dynsec::Account,
    id: &str,
    database: DatabaseArgs,
    broker: BrokerArgs,
) -> anyhow::Result<()> {
    let store = store::open(&database.database_url).await?;
    let revoked = match what {
        crate::dynsec::Account::Device => store.revoke_device(&cli_change(), id).await,
        crate::dynsec::Account::Gateway => store.revoke_gateway(&cli_change(), id).await,
    };
    let mut dynsec = broker.connect().await?;
    let already = match revoked {
        Ok(()) => false,
        Err(store::StoreError::Conflict(_)) if dynsec.is_some() => true,
        Err(e) => return Err(e.into()),
    };
    if let Some(dynsec) = &mut dynsec {
        dynsec.remove(what, id).await?;
    }
    let name = what.name();
    if already {
        println!("{name} `{id}` was revoked already; its broker account is gone now");
    } else {
        println!("revoked {name} `{id}`");
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
enum MqttCommand {
    /// Write DIR/mosquitto.conf and the state of Mosquitto's dynamic-security plugin
    /// for a broker that admits only Linli and registered devices and gateways; prints
    /// `mqtt-url: …` with Linli's own credentials. Start it with
    /// `mosquitto -c DIR/mosquitto.conf`.
    BrokerConfig {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 1883)]
        port: u16,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "LINLI_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Load the demo subdistrict and the demo accounts where missing.
    #[arg(long, env = "LINLI_DEMO")]
    demo: bool,
    /// The built app to serve (trunk's output folder).
    #[arg(long, env = "LINLI_STATIC_DIR", default_value = "dist")]
    static_dir: PathBuf,
    /// Serve the API only, without the app.
    #[arg(long, env = "LINLI_NO_STATIC", conflicts_with = "static_dir")]
    no_static: bool,
    /// Mark the session cookie Secure (set this when Linli is served over HTTPS).
    #[arg(long, env = "LINLI_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Take sensor readings from this MQTT broker too (mqtt://HOST:PORT,
    /// mqtt://USER:PASSWORD@HOST:PORT, or mqtts://… for TLS), from the topics
    /// linli/sensors/<device>/up.
    #[arg(long, env = "LINLI_MQTT_URL", hide_env_values = true)]
    mqtt_url: Option<String>,
    /// For mqtts://: the certificate authorities (a PEM file) the broker's certificate
    /// must come from, instead of the system's.
    #[arg(long, env = "LINLI_MQTT_CA")]
    mqtt_ca: Option<PathBuf>,
    /// The client id of Linli's persistent session at the broker, where readings wait
    /// while Linli is away. Each server instance needs its own.
    #[arg(long, env = "LINLI_MQTT_CLIENT_ID", default_value = crate::mqtt::DEFAULT_CLIENT_ID,
          value_parser = client_id)]
    mqtt_client_id: String,
    /// Share the subscription ($share/linli/…) with other server instances, each
    /// taking part of the readings. Needs a broker that keeps shared subscriptions
    /// across its restarts (Mosquitto 2.0.12 or later).
    #[arg(long, env = "LINLI_MQTT_SHARED")]
    mqtt_shared: bool,
    /// Run the sensor simulator inside the server: every device reports about once a
    /// minute, and an anomaly comes up every 90 seconds.
    #[arg(long, env = "LINLI_SIMULATE")]
    simulate: bool,
    /// A reverse proxy (address or block, e.g. 10.0.0.0/24) whose X-Forwarded-For
    /// header names the client, for the sign-in limits and the log; repeat for several
    /// (in the environment: separated by commas). Without it the header is ignored.
    #[arg(
        long = "trusted-proxy",
        env = "LINLI_TRUSTED_PROXY",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<crate::auth::address::Cidr>,
    /// Where users reach the app, e.g. https://linli.example.gov.cn: the links in
    /// notifications point there (to the listening address when left out).
    #[arg(long, env = "LINLI_PUBLIC_URL", value_parser = public_url)]
    public_url: Option<reqwest::Url>,
    /// With PostgreSQL, several servers may share one database: where the others reach
    /// this one, e.g. http://10.0.0.5:8080 (to the listening address when left out;
    /// 127.0.0.1 for 0.0.0.0). The one that runs the rules is reached there.
    #[arg(long, env = "LINLI_CLUSTER_URL", value_parser = public_url)]
    cluster_url: Option<reqwest::Url>,
    /// Connections open at once; more are closed as they come.
    #[arg(long, env = "LINLI_MAX_CONNECTIONS", default_value_t = 8192,
          value_parser = clap::value_parser!(u32).range(16..=1_000_000))]
    max_connections: u32,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["url", "mqtt_url"]))]
struct SimulateArgs {
    /// Send HTTP batches to this server (http://HOST:PORT).
    #[arg(long)]
    url: Option<String>,
    /// Publish one MQTT message per reading to this broker (mqtt://HOST:PORT, or
    /// mqtts://… for TLS).
    #[arg(long)]
    mqtt_url: Option<String>,
    /// For mqtts://: the certificate authorities (a PEM file) of the broker.
    #[arg(long)]
    mqtt_ca: Option<PathBuf>,
    /// Play the devices of this many homes (all when left out).
    #[arg(long)]
    homes: Option<usize>,
    /// Readings per second in all; as fast as they are taken when left out.
    #[arg(long)]
    rate: Option<f64>,
    /// Stop after this many seconds and print what was sent (runs until Ctrl-C when
    /// left out).
    #[arg(long)]
    duration: Option<f64>,
    /// A gateway token for --url; without one, a gateway is added to the database.
    #[arg(long, env = "LINLI_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// One anomaly every this many seconds (none when 0).
    #[arg(long, default_value_t = 90.0)]
    anomaly_every: f64,
    /// The database to read the devices from.
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account. The password is asked for on a terminal, or read from the
    /// first line of standard input otherwise.
    Add {
        name: Username,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// A community the grid worker is responsible for (repeat for several); for a
        /// partner, the only communities whose cases it sees (none: all).
        #[arg(long = "community")]
        communities: Vec<CommunityId>,
        /// A partner's organisation: community-committee, property-management,
        /// city-management, market-regulation, utilities, police or mediation-group.
        #[arg(long, value_parser = parse_party)]
        org: Option<Party>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Set a new password (asked for as with `add`); the user's sessions end.
    Passwd {
        name: Username,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Disable an account: its sessions (and live streams) end and it cannot sign in.
    Disable {
        name: Username,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Enable a disabled account again.
    Enable {
        name: Username,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// What `linli import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImportTarget {
    /// A base-map layer, from GeoJSON.
    Layer(LayerName),
    /// Elder homes with their sensors, from CSV.
    Homes,
}

fn parse_import_target(value: &str) -> Result<ImportTarget, String> {
    match LayerName::parse(value) {
        Some(layer) if import::LAYERS.contains(&layer) => Ok(ImportTarget::Layer(layer)),
        _ if value == "homes" => Ok(ImportTarget::Homes),
        _ => Err("use buildings, roads, grids, communities or homes".into()),
    }
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(value).ok_or_else(|| "use commander, grid-worker, viewer or partner".to_string())
}

fn parse_party(value: &str) -> Result<Party, String> {
    Party::parse(value).ok_or_else(|| {
        let known: Vec<&str> = Party::ALL.iter().map(|p| p.as_str()).collect();
        format!("use one of {}", known.join(", "))
    })
}

/// Runs the command line and turns any error into a message and exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("linli: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("linli: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::User(UserCommand::Add {
            name,
            role,
            communities,
            org,
            database,
        }) => add_user(name, role, communities, org, database.database_url).await,
        Command::User(UserCommand::Passwd { name, database }) => {
            set_password(name, database.database_url).await
        }
        Command::User(UserCommand::Disable { name, database }) => {
            set_disabled(name, true, database.database_url).await
        }
        Command::User(UserCommand::Enable { name, database }) => {
            set_disabled(name, false, database.database_url).await
        }
        Command::Device(DeviceCommand::Revoke {
            id,
            database,
            broker,
        }) => revoke(crate::dynsec::Account::Device, &id, database, broker).await,
        Command::Gateway(GatewayCommand::Revoke {
            id,
            database,
            broker,
        }) => revoke(crate::dynsec::Account::Gateway, &id, database, broker).await,
        Command::Import(args) => match args.what {
            ImportTarget::Layer(layer) => import_layer(layer, args).await,
            ImportTarget::Homes => import_homes(args).await,
        },
        Command::Device(DeviceCommand::Add {
            home,
            kind,
            database,
            broker,
        }) => add_device(&home, kind, database.database_url, broker).await,
        Command::Gateway(GatewayCommand::Add {
            id,
            communities,
            database,
            broker,
        }) => add_gateway(&id, communities, database.database_url, broker).await,
        Command::Mqtt(MqttCommand::BrokerConfig { dir, port }) => {
            let url = crate::dynsec::broker_config(&dir, port)?;
            let (user, secret) = url.credentials.clone().unwrap_or_default();
            println!("wrote {}", dir.join("mosquitto.conf").display());
            println!("mqtt-url: mqtt://{user}:{secret}@{}:{}", url.host, url.port);
            Ok(())
        }
        Command::Simulate(args) => simulate(args).await,
        Command::Export(ExportCommand::Cases { format, database }) => {
            export_cases(&format, database.database_url).await
        }
        Command::Store(StoreCommand::Copy { from, to, replace }) => {
            copy_store(&from, &to, replace).await
        }
    }
}

async fn copy_store(from: &DatabaseUrl, to: &DatabaseUrl, replace: bool) -> anyhow::Result<()> {
    anyhow::ensure!(from != to, "--from and --to name the same database");
    let source = crate::store::sql::SqlStore::open(from).await?;
    let target = crate::store::sql::SqlStore::open(to).await?;
    let copied = source
        .copy_to(&target, replace, |table| {
            println!(
                "{:<20} {:>10} rows  sha256 {}",
                table.table, table.rows, table.checksum
            )
        })
        .await?;
    let rows: u64 = copied.iter().map(|t| t.rows).sum();
    println!(
        "copied {} tables, {rows} rows, each checked by count and checksum",
        copied.len()
    );
    Ok(())
}

async fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    use crate::simulate::{run, SimDevice, Simulator, Sink};
    anyhow::ensure!(
        args.rate.is_none_or(|r| r > 0.0 && r.is_finite()),
        "--rate must be a positive number of readings per second"
    );
    anyhow::ensure!(
        args.duration.is_none_or(|d| d > 0.0 && d.is_finite()),
        "--duration must be a positive number of seconds"
    );
    anyhow::ensure!(
        args.anomaly_every >= 0.0 && args.anomaly_every.is_finite(),
        "--anomaly-every must be 0 or more seconds"
    );
    let store = store::open(&args.database.database_url).await?;
    let mut devices: Vec<SimDevice> = store
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
    if let Some(homes) = args.homes {
        let mut chosen = std::collections::BTreeSet::new();
        devices.retain(|d| {
            if chosen.len() < homes {
                chosen.insert(d.home.clone());
            }
            chosen.contains(&d.home)
        });
    }
    anyhow::ensure!(
        !devices.is_empty(),
        "the database has no devices to play; import homes or run `linli device add`"
    );
    let sink = match (
        &args.url,
        mqtt_url(args.mqtt_url.as_ref(), args.mqtt_ca.as_deref())?,
    ) {
        (Some(url), _) => {
            let token = match args.token {
                Some(token) => token,
                None => {
                    let token = token::new_token();
                    let id = format!("simulator-{:08x}", rand::random::<u32>());
                    let change = cli_change();
                    store
                        .add_gateway(&change, &id, &[], &token::token_hash(&token))
                        .await?;
                    eprintln!("simulate: added gateway `{id}` for all communities");
                    token
                }
            };
            Sink::Http {
                client: reqwest::Client::new(),
                url: format!("{}/api/v1/ingest", url.trim_end_matches('/')),
                token,
            }
        }
        (None, Some(mqtt)) => {
            let id = format!("linli-simulator-{:08x}", rand::random::<u32>());
            let mut options = mqtt.options(id);
            options
                .set_keep_alive(Duration::from_secs(15))
                .set_inflight(1_000);
            let (client, mut events) = rumqttc::AsyncClient::new(options, 10_000);
            tokio::spawn(async move {
                loop {
                    if let Err(e) = events.poll().await {
                        eprintln!("simulate: MQTT: {e}");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            });
            Sink::Mqtt(client)
        }
        (None, None) => anyhow::bail!("give --url or --mqtt-url"),
    };
    let anomaly_every = (args.anomaly_every > 0.0).then_some((args.anomaly_every * 1000.0) as i64);
    eprintln!(
        "simulate: {} devices, {}",
        devices.len(),
        args.rate
            .map_or("as fast as they are taken".to_string(), |r| format!(
                "{r} readings/s"
            ))
    );
    let simulator = Simulator::new(devices, now_ms() as u64, anomaly_every, now_ms());
    let started = std::time::Instant::now();
    let tally = run(
        simulator,
        sink,
        args.rate,
        args.duration.map(Duration::from_secs_f64),
    )
    .await;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "sent {} readings in {seconds:.1} s ({:.0}/s): {} accepted, {} duplicates, {} failed",
        tally.sent,
        tally.sent as f64 / seconds,
        tally.accepted,
        tally.duplicates,
        tally.failed
    );
    Ok(())
}

async fn add_device(
    home: &str,
    kind: SensorKind,
    url: DatabaseUrl,
    broker: BrokerArgs,
) -> anyhow::Result<()> {
    let store = store::open(&url).await?;
    // Reach the broker first: when it cannot be reached, nothing is added.
    let mut dynsec = broker.connect().await?;
    let token = token::new_token();
    let id = store
        .add_device(&cli_change(), home, kind, &token::token_hash(&token))
        .await?;
    if let Some(dynsec) = &mut dynsec {
        let community = store
            .homes(None)
            .await?
            .into_iter()
            .find(|h| h.id == home)
            .map(|h| h.community);
        let gateways: Vec<String> = store
            .gateways()
            .await?
            .into_iter()
            .filter(|g| {
                !g.revoked && crate::engine::gateway_covers(&g.communities, community.as_ref())
            })
            .map(|g| g.id)
            .collect();
        if let Err(e) = dynsec.add_device(&id, &token, &gateways).await {
            // Not half there: the device is revoked, what the broker took is removed.
            store.revoke_device(&cli_change(), &id).await?;
            let _ = dynsec.remove(crate::dynsec::Account::Device, &id).await;
            return Err(e.context(format!(
                "device `{id}` could not be added to the broker; it is revoked"
            )));
        }
    }
    println!("device: {id}");
    println!("token: {token}");
    Ok(())
}

async fn export_cases(format: &str, url: DatabaseUrl) -> anyhow::Result<()> {
    let store = store::open(&url).await?;
    let mut cases = store.cases(&crate::store::CaseFilter::default()).await?;
    // The office's reports count real cases only, not drills'.
    cases.retain(|c| !c.handling.drill);
    let out = match format {
        "csv" => crate::export::csv(&cases),
        _ => crate::export::geojson(&cases).to_string(),
    };
    use std::io::Write as _;
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}

async fn add_gateway(
    id: &str,
    communities: Vec<CommunityId>,
    url: DatabaseUrl,
    broker: BrokerArgs,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        crate::ingest::parse::valid_device_id(id),
        "`{id}` is not a gateway name: use 1–64 of a–z, 0–9 and -"
    );
    anyhow::ensure!(
        !crate::dynsec::reserved(id),
        "`{id}` is Linli's own name at the broker; give the gateway another name"
    );
    let store = store::open(&url).await?;
    anyhow::ensure!(
        !store.devices().await?.iter().any(|d| d.id == id),
        "`{id}` is a device's id; give the gateway another name"
    );
    let mut dynsec = broker.connect().await?;
    let token = token::new_token();
    store
        .add_gateway(&cli_change(), id, &communities, &token::token_hash(&token))
        .await?;
    if let Some(dynsec) = &mut dynsec {
        let homes: std::collections::HashMap<String, CommunityId> = store
            .homes(None)
            .await?
            .into_iter()
            .map(|h| (h.id, h.community))
            .collect();
        let devices: Vec<String> = store
            .devices()
            .await?
            .into_iter()
            .filter(|d| {
                !d.revoked && crate::engine::gateway_covers(&communities, homes.get(&d.home))
            })
            .map(|d| d.id)
            .collect();
        if let Err(e) = dynsec.add_gateway(id, &token, &devices).await {
            store.revoke_gateway(&cli_change(), id).await?;
            let _ = dynsec.remove(crate::dynsec::Account::Gateway, id).await;
            return Err(e.context(format!(
                "gateway `{id}` could not be added to the broker; it is revoked"
            )));
        }
    }
    println!("gateway: {id}");
    println!("token: {token}");
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = Settings {
        addr: args.addr,
        database_url: args.database.database_url,
        demo: args.demo,
        static_dir: (!args.no_static).then_some(args.static_dir),
        secure_cookies: args.secure_cookies,
        sign_in_policy: Default::default(),
        mqtt: mqtt_url(args.mqtt_url.as_ref(), args.mqtt_ca.as_deref())?.map(|url| {
            crate::mqtt::Subscriber {
                url,
                client_id: args.mqtt_client_id,
                shared: args.mqtt_shared,
            }
        }),
        simulate: args.simulate,
        trusted_proxies: args.trusted_proxies,
        limits: crate::listen::Limits {
            max_connections: args.max_connections as usize,
            ..Default::default()
        },
        public_url: args.public_url.map(|url| url.to_string()),
        cluster_url: args
            .cluster_url
            .map(|url| url.as_str().trim_end_matches('/').to_string()),
    };
    let app = Application::build(settings).await?;
    let base = format!("http://{}", app.local_addr());
    // The first line is what scripts and tests wait for.
    println!("linli: listening on {base}");
    println!("  command screen  {base}/command");
    println!("  field tablet    {base}/field");
    println!("  public page     {base}/public");
    if !app.demo_accounts.is_empty() {
        println!("demo accounts (password `{}`):", crate::demo::DEMO_PASSWORD);
        for (name, role) in &app.demo_accounts {
            println!("  {name:<24} {role}");
        }
    }
    app.run().await.context("the server stopped with an error")
}

async fn add_user(
    username: Username,
    role: Role,
    communities: Vec<CommunityId>,
    org: Option<Party>,
    database_url: DatabaseUrl,
) -> anyhow::Result<()> {
    match (role, communities.is_empty(), org) {
        (Role::GridWorker, true, _) => {
            anyhow::bail!("a grid worker needs at least one --community")
        }
        (Role::Commander | Role::Viewer, false, _) => {
            anyhow::bail!(
                "only grid workers and partners are bound to communities; drop --community"
            )
        }
        (Role::Partner, _, None) => {
            anyhow::bail!("a partner needs its organisation: --org utilities, police, …")
        }
        (Role::Commander | Role::Viewer | Role::GridWorker, _, Some(_)) => {
            anyhow::bail!("only partners belong to an organisation; drop --org")
        }
        _ => {}
    }
    let password_hash = new_password_hash()?;
    let store = store::open(&database_url).await?;
    store
        .create_user(
            &cli_change(),
            NewUser {
                username: username.clone(),
                password_hash,
                role,
                communities,
                org,
            },
        )
        .await?;
    match org {
        Some(org) => println!("created {role} `{username}` of {org}", org = org.as_str()),
        None => println!("created {role} `{username}`"),
    }
    Ok(())
}

/// A change made from the command line, now.
fn cli_change() -> Change {
    Change::new(Actor::System("cli"), now_ms())
}

/// Reads a new password (see [`read_password`]), checks it and hashes it.
fn new_password_hash() -> anyhow::Result<String> {
    let password = read_password()?;
    anyhow::ensure!(
        password.chars().count() >= 8,
        "the password must have at least 8 characters"
    );
    anyhow::ensure!(
        password.len() <= 1024,
        "the password must be at most 1024 bytes"
    );
    password::hash(&password)
}

async fn set_password(username: Username, database_url: DatabaseUrl) -> anyhow::Result<()> {
    let password_hash = new_password_hash()?;
    let store = store::open(&database_url).await?;
    store
        .set_password(&cli_change(), &username, &password_hash)
        .await?;
    println!("new password for `{username}`; its sessions have ended");
    Ok(())
}

async fn set_disabled(
    username: Username,
    disabled: bool,
    database_url: DatabaseUrl,
) -> anyhow::Result<()> {
    let store = store::open(&database_url).await?;
    store
        .set_user_disabled(&cli_change(), &username, disabled)
        .await?;
    if disabled {
        println!("disabled `{username}`; its sessions have ended");
    } else {
        println!("enabled `{username}`");
    }
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("password: ")?;
        let second = rpassword::prompt_password("again: ")?;
        anyhow::ensure!(first == second, "the two passwords differ");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

/// `linli import`: read, check, store; a progress bar on standard error when it is a
/// terminal. On any problem, lists them all and changes nothing.
async fn import_layer(layer: LayerName, args: ImportArgs) -> anyhow::Result<()> {
    let file = args.file.display().to_string();
    let progress = Progress::new(std::io::stderr().is_terminal(), "features");

    let bytes = progress.read(&args.file)?;
    progress.spinner("parsing JSON");
    let parsed = import::geojson::parse(layer, &bytes, &mut progress.checking());
    drop(bytes);
    let import = match parsed {
        Ok(import) => import,
        Err(problems) => {
            progress.clear();
            return Err(refused(&file, &problems));
        }
    };

    let store = store::open(&args.database.database_url).await?;
    let storing = progress.storing(import.len());
    let stored = import::save(
        store.as_ref(),
        layer,
        &import,
        args.replace,
        now_ms(),
        &storing,
    )
    .await;
    progress.clear();
    let version = stored.with_context(|| format!("nothing was imported from {file}"))?;
    println!(
        "imported {} {} from {file}{} (layer version {version})",
        import.len(),
        layer.as_str(),
        if args.replace {
            ", replacing the layer"
        } else {
            ""
        },
    );
    Ok(())
}

/// `linli import homes`: read, load what rows are checked against, check, store; a
/// progress bar on standard error when it is a terminal. On any problem, lists them all
/// and changes nothing.
async fn import_homes(args: ImportArgs) -> anyhow::Result<()> {
    let file = args.file.display().to_string();
    let progress = Progress::new(std::io::stderr().is_terminal(), "homes");

    let bytes = progress.read(&args.file)?;
    progress.spinner("loading");
    let loaded = async {
        let store = store::open(&args.database.database_url).await?;
        let context = import::homes::Context::load(store.as_ref(), args.replace)
            .await
            .context("cannot read the stored buildings, communities and homes")?;
        anyhow::Ok((store, context))
    }
    .await;
    let (store, context) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            progress.clear();
            return Err(e);
        }
    };
    let parsed = import::homes::parse(&bytes, &context, &mut progress.checking());
    drop(bytes);
    drop(context);
    let homes = match parsed {
        Ok(homes) => homes,
        Err(problems) => {
            progress.clear();
            return Err(refused(&file, &problems));
        }
    };

    let storing = progress.storing(homes.len());
    let stored =
        import::homes::save(store.as_ref(), &homes, args.replace, now_ms(), &storing).await;
    progress.clear();
    let done = stored.with_context(|| format!("nothing was imported from {file}"))?;
    let what = if args.replace {
        format!("replacing all homes ({} removed)", done.removed)
    } else {
        format!("{} new, {} replaced by id", done.added, done.replaced)
    };
    println!(
        "imported {} home{} from {file}: {what}",
        homes.len(),
        if homes.len() == 1 { "" } else { "s" }
    );
    Ok(())
}

/// Prints every problem of a refused file on standard error, and returns the error
/// that ends the command.
fn refused(file: &str, problems: &import::Problems) -> anyhow::Error {
    for line in problems.lines() {
        eprintln!("{line}");
    }
    anyhow::anyhow!(
        "nothing was imported: {file} has {} problem{}",
        problems.total(),
        if problems.total() == 1 { "" } else { "s" }
    )
}

/// The import's progress on standard error: bytes read, a spinner while the file is
/// parsed (or the store read), then items (features or homes) checked and written.
/// Hidden (draws nothing) when standard error is not a terminal.
struct Progress {
    bar: ProgressBar,
    /// What is counted: `features` or `homes`.
    unit: &'static str,
}

impl Progress {
    fn new(on_terminal: bool, unit: &'static str) -> Self {
        let bar = if on_terminal {
            ProgressBar::new(0)
        } else {
            ProgressBar::hidden()
        };
        Self { bar, unit }
    }

    fn style(&self, template: &str) {
        if let Ok(style) = ProgressStyle::with_template(template) {
            self.bar.set_style(style.progress_chars("=> "));
        }
    }

    /// Reads the whole file, counting bytes.
    fn read(&self, path: &Path) -> anyhow::Result<Vec<u8>> {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let length = file.metadata().map(|m| m.len()).unwrap_or(0);
        self.bar.set_length(length);
        self.bar.set_position(0);
        self.style("{msg:<12} [{bar:40}] {bytes}/{total_bytes}");
        self.bar.set_message("reading");
        let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
        self.bar
            .wrap_read(file)
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Ok(bytes)
    }

    /// A spinner with a message, for steps without a count.
    fn spinner(&self, message: &str) {
        self.style("{msg:<12} {spinner} {elapsed}");
        self.bar.set_message(message.to_string());
        self.bar.enable_steady_tick(Duration::from_millis(100));
    }

    /// A callback that shows the number of items checked; its first call turns the
    /// spinner into a bar, the number of items being known by then.
    fn checking(&self) -> impl FnMut(usize, usize) + '_ {
        let mut started = false;
        move |checked, total| {
            if !started {
                started = true;
                self.items("checking", total);
            }
            self.bar.set_position(checked as u64);
        }
    }

    /// A callback that shows the number of items written.
    fn storing(&self, total: usize) -> impl Fn(usize) + Sync + '_ {
        self.items("storing", total);
        |written| self.bar.set_position(written as u64)
    }

    /// A bar of `total` items.
    fn items(&self, message: &'static str, total: usize) {
        self.bar.disable_steady_tick();
        self.bar.set_position(0);
        self.bar.set_length(total as u64);
        self.style(&format!(
            "{{msg:<12}} [{{bar:40}}] {{pos}}/{{len}} {}",
            self.unit
        ));
        self.bar.set_message(message);
    }

    fn clear(&self) {
        self.bar.finish_and_clear();
    }
}
