//! Several `linli serve` on one PostgreSQL database, so that one can be restarted or
//! lost without the alarms stopping.
//!
//! Every server takes requests, readings (HTTP, its share of MQTT) and streams. Exactly
//! one, the leader, runs what must run once: the rules engine (the only writer of
//! readings and alerts, see `crate::engine`) and the notifier. Leadership is a
//! PostgreSQL advisory lock held by a connection of the leader's own: when the leader
//! dies, its connection closes, the lock is free, and the next server to try (each
//! tries every [`CAMPAIGN`]) takes it and starts the engine, which loads the last
//! checkpoint and replays the readings committed after it, as after any restart.
//! A leader that lost its lock without dying (its connection cut) is fenced off by the
//! database: each claim counts up a term, and a leader's writes check that the term is
//! still its own (`SqlStore::write`); it stops itself within seconds.
//!
//! The others forward each engine command (readings, people's actions on alerts,
//! thresholds, check-ins, drills) to the leader as JSON (`POST /internal/v1/engine`,
//! [`crate::engine::Call`]), with the secret the leader recorded in the database beside
//! its address; a reading is acknowledged only once the leader committed it. While
//! there is no leader, commands are refused as unavailable (503, and MQTT's PUBACK
//! withheld): devices send again. Streams need no forwarding: every server follows
//! the event log, woken by `NOTIFY linli_events` (a trigger on the log).
//!
//! On SQLite there is one server, which runs everything itself ([`Role::Single`]).

use crate::auth::token::token_hash;
use crate::clock::now_ms;
use crate::engine::{Answer, Commands};
use crate::live::Live;
use crate::store::{DatabaseUrl, DynStore, Leader};
use anyhow::Context as _;
use sqlx::{Connection as _, PgConnection};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often a server that is not the leader tries to become it, and the leader
/// checks that its lock's connection is alive.
pub const CAMPAIGN: Duration = Duration::from_secs(1);
/// How long the leader's lock connection may take to answer before the leader stops.
const LOCK_ANSWER: Duration = Duration::from_secs(5);
/// How long a forwarded command may take at the leader.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);

/// What this server is in its cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The only server (SQLite): runs the rules itself.
    Single,
    /// Runs the rules for every server on the database.
    Leader,
    /// Forwards to the leader.
    Follower,
}

/// What must run on one server only, started when this one leads.
pub struct Singletons {
    pub store: DynStore,
    pub live: Arc<Live>,
    pub places: Arc<crate::places::PlaceNames>,
    pub public_url: String,
}

impl Singletons {
    async fn start(&self, commands: Commands) -> anyhow::Result<()> {
        crate::engine::start(
            self.store.clone(),
            self.live.clone(),
            crate::rules::Thresholds::default(),
            now_ms,
            commands,
        )
        .await
        .context("cannot load the rules' state")?;
        crate::notify::start(
            self.store.clone(),
            self.live.clone(),
            self.places.clone(),
            self.public_url.clone(),
        );
        Ok(())
    }
}

/// This server's place in the cluster, shared with the HTTP handlers.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Mutex<State>>,
}

struct State {
    role: Role,
    instance: String,
    /// While leading: what forwarded calls must carry.
    secret: Option<String>,
}

impl Cluster {
    pub fn role(&self) -> Role {
        self.lock().role
    }

    pub fn instance(&self) -> String {
        self.lock().instance.clone()
    }

    /// Whether `secret` is what this server, leading, asks forwarded calls to carry.
    pub fn admits(&self, secret: &str) -> bool {
        let state = self.lock();
        state.role == Role::Leader
            && state.secret.as_deref().is_some_and(|own| {
                // Digests compared, so the time taken says nothing of the secret.
                token_hash(own) == token_hash(secret)
            })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, role: Role, secret: Option<String>) {
        let mut state = self.lock();
        state.role = role;
        state.secret = secret;
    }
}

/// Starts this server's part: on SQLite everything at once; on PostgreSQL the engine
/// and notifier if it wins the leadership, else forwarding until it does. `address` is
/// where the other servers reach this one.
pub async fn start(
    url: &DatabaseUrl,
    address: String,
    commands: Commands,
    singletons: Singletons,
) -> anyhow::Result<Cluster> {
    let instance = format!(
        "{}-{}",
        address
            .trim_start_matches("http://")
            .trim_start_matches("https://"),
        std::process::id()
    );
    let cluster = Cluster {
        inner: Arc::new(Mutex::new(State {
            role: Role::Single,
            instance: instance.clone(),
            secret: None,
        })),
    };
    let DatabaseUrl::Postgres(url) = url else {
        singletons.start(commands).await?;
        return Ok(cluster);
    };
    follow_the_log(url, singletons.live.clone()).await?;
    let mut lock = PgConnection::connect(url)
        .await
        .context("cannot connect to PostgreSQL for the leadership")?;
    let leader = Leader {
        instance,
        address,
        secret: crate::auth::token::new_token(),
    };
    if try_lead(&mut lock).await? {
        lead(&cluster, &singletons, &leader, commands, lock).await?;
        return Ok(cluster);
    }
    cluster.set(Role::Follower, None);
    tracing::info!("another server runs the rules: this one forwards to it");
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let forwarding = tokio::spawn(forward(commands, singletons.store.clone(), stopped));
    let campaigning = cluster.clone();
    let url = url.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(CAMPAIGN).await;
            match try_lead(&mut lock).await {
                Ok(false) => continue,
                Ok(true) => {}
                Err(err) => {
                    // The lock's connection is gone: make a new one and try again.
                    tracing::warn!("cannot ask for the leadership: {err:#}");
                    if let Ok(fresh) = PgConnection::connect(&url).await {
                        lock = fresh;
                    }
                    continue;
                }
            }
            let _ = stop.send(());
            let Ok(commands) = forwarding.await else {
                fail("the forwarder ended unexpectedly")
            };
            if let Err(err) = lead(&campaigning, &singletons, &leader, commands, lock).await {
                fail(&format!("cannot take over the rules: {err:#}"))
            }
            return;
        }
    });
    Ok(cluster)
}

/// Stops the process: a server that cannot be sure it leads alone must not go on
/// writing as leader (its supervisor starts it again, as a follower).
fn fail(why: &str) -> ! {
    tracing::error!("{why}; stopping");
    std::process::exit(70)
}

async fn try_lead(lock: &mut PgConnection) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(crate::store::sql::POSTGRES_LEADER_LOCK)
        .fetch_one(lock)
        .await?)
}

/// Becomes the leader: records where the others reach it (under a new term, which
/// fences this server's writes: see `SqlStore::write`), starts the engine and the
/// notifier, and for as long as the process lives watches that it still leads: that
/// its lock's connection is alive and that no other server has claimed the term.
async fn lead(
    cluster: &Cluster,
    singletons: &Singletons,
    leader: &Leader,
    commands: Commands,
    mut lock: PgConnection,
) -> anyhow::Result<()> {
    let term = singletons.store.claim_leadership(leader, now_ms()).await?;
    cluster.set(Role::Leader, Some(leader.secret.clone()));
    singletons.start(commands).await?;
    tracing::info!(address = %leader.address, term, "this server runs the rules");
    let store = singletons.store.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(CAMPAIGN).await;
            // Unreadable now is no news: the lock's connection answers for that.
            if let Ok(Ok(false)) = tokio::time::timeout(CAMPAIGN, store.still_leads()).await {
                fail("another server has taken the leadership")
            }
            // A connection cut without a word (no reset from the other end) can leave a
            // query waiting for minutes: not answering in time is as good as lost.
            let alive =
                tokio::time::timeout(LOCK_ANSWER, sqlx::query("SELECT 1").execute(&mut lock));
            match alive.await {
                Ok(Ok(_)) => {}
                Ok(Err(err)) => fail(&format!(
                    "lost the connection that holds the leadership ({err})"
                )),
                Err(_) => fail(&format!(
                    "the connection that holds the leadership did not answer in {LOCK_ANSWER:?}"
                )),
            }
        }
    });
    Ok(())
}

/// Wakes the live streams whenever any server appends to the event log.
async fn follow_the_log(url: &str, live: Arc<Live>) -> anyhow::Result<()> {
    let mut listener = sqlx::postgres::PgListener::connect(url)
        .await
        .context("cannot listen to PostgreSQL")?;
    listener.listen("linli_events").await?;
    tokio::spawn(async move {
        loop {
            // `recv` reconnects by itself after a lost connection (and says so);
            // the live task also reads the log every second whatever happens here.
            match listener.recv().await {
                Ok(_) => live.wake(),
                Err(err) => {
                    tracing::warn!("lost PostgreSQL's notifications: {err}");
                    tokio::time::sleep(CAMPAIGN).await;
                }
            }
        }
    });
    Ok(())
}

/// Sends each command to the leader and hands its answer back, until `stop`: then
/// gives the commands not yet taken to the caller (which starts the engine on them).
async fn forward(
    mut commands: Commands,
    store: DynStore,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> Commands {
    let client = reqwest::Client::builder()
        .timeout(FORWARD_TIMEOUT)
        .build()
        .expect("an HTTP client with a timeout builds");
    let leader: Arc<tokio::sync::Mutex<Option<Leader>>> = Arc::default();
    loop {
        let (call, reply) = tokio::select! {
            _ = &mut stop => return commands,
            next = commands.next() => match next {
                Some(next) => next,
                None => return commands,
            },
        };
        let (client, store, leader) = (client.clone(), store.clone(), leader.clone());
        tokio::spawn(async move {
            match send(&client, &store, &leader, &call).await {
                Ok(answer) => reply.send(answer),
                Err(err) => {
                    tracing::warn!("cannot reach the server that runs the rules: {err:#}");
                    reply.send(call.unavailable());
                }
            }
        });
    }
}

/// One call to the leader. Its address is read again after a failure, and the call
/// made once more when another server leads now (the one known may just have died).
async fn send(
    client: &reqwest::Client,
    store: &DynStore,
    cache: &tokio::sync::Mutex<Option<Leader>>,
    call: &crate::engine::Call,
) -> anyhow::Result<Answer> {
    let mut leader = match cache.lock().await.clone() {
        Some(leader) => leader,
        None => current_leader(store).await?,
    };
    let mut answer = post(client, &leader, call).await;
    if answer.is_err() {
        let now = current_leader(store).await?;
        if now != leader {
            leader = now;
            answer = post(client, &leader, call).await;
        }
    }
    *cache.lock().await = answer.is_ok().then_some(leader);
    answer
}

async fn current_leader(store: &DynStore) -> anyhow::Result<Leader> {
    store
        .leader()
        .await?
        .context("no server has run the rules yet")
}

async fn post(
    client: &reqwest::Client,
    leader: &Leader,
    call: &crate::engine::Call,
) -> anyhow::Result<Answer> {
    let response = client
        .post(format!("{}/internal/v1/engine", leader.address))
        .bearer_auth(&leader.secret)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(call)?)
        .send()
        .await?
        .error_for_status()?;
    Ok(serde_json::from_slice(&response.bytes().await?)?)
}
