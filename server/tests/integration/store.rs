//! The store through the `Store` trait, on a database of its own (SQLite, or
//! PostgreSQL with `LINLI_TEST_DATABASE=postgres`): the event log is append-only and
//! complete, and a refused change leaves nothing behind. The migration tests are
//! SQLite's: they build a database as an older Linli left it.

use linli_domain::care::{CareLevel, Health, Home, Sensor, SensorKind};
use linli_domain::place::{Geometry, LayerName};
use linli_domain::{CommunityId, Role, Username};
use linli_server::store::sql::SqlStore;
use linli_server::store::{Actor, Change, Community, HomesImported, NewUser, Store, StoreError};
use linli_tests::TestDatabase;

async fn open() -> (SqlStore, String, TestDatabase) {
    let database = TestDatabase::new().await;
    let url = database.url.clone();
    (
        SqlStore::open(&url.parse().unwrap()).await.unwrap(),
        url,
        database,
    )
}

fn change() -> Change {
    Change::new(Actor::System("test"), 1_000)
}

fn community(id: &str) -> Community {
    Community {
        id: CommunityId::parse(id).unwrap(),
        name: "幸福里".into(),
        name_en: "Xingfuli".into(),
        geometry: Geometry::Polygon(vec![vec![
            [117.3, 31.8],
            [117.4, 31.8],
            [117.4, 31.9],
            [117.3, 31.8],
        ]]),
    }
}

fn worker(name: &str, communities: &[&str]) -> NewUser {
    NewUser {
        username: Username::parse(name).unwrap(),
        password_hash: "$argon2id$placeholder".into(),
        role: Role::GridWorker,
        communities: communities
            .iter()
            .map(|c| CommunityId::parse(*c).unwrap())
            .collect(),
        org: None,
    }
}

#[tokio::test]
async fn a_new_sqlite_file_is_made_with_its_folders() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested/folder/linli.db");
    let url = format!("sqlite://{}", file.display());
    let store = SqlStore::open(&url.parse().unwrap()).await.unwrap();
    store.ping().await.unwrap();
    assert!(file.exists());
}

#[tokio::test]
async fn the_database_refuses_to_rewrite_or_delete_the_event_log() {
    let (store, url, _dir) = open().await;
    store
        .save_communities(&change(), &[community("xingfuli")])
        .await
        .unwrap();
    let pool = crate::support::sql_pool(&url).await;
    let update = sqlx::query("UPDATE events SET actor = 'user:mallory'")
        .execute(&pool)
        .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM events").execute(&pool).await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    assert_eq!(store.events_after(0, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_refused_account_leaves_neither_a_user_nor_an_event() {
    let (store, _url, _dir) = open().await;
    store
        .save_communities(&change(), &[community("xingfuli")])
        .await
        .unwrap();
    let before = store.events_after(0, 100).await.unwrap().len();

    // The second community does not exist: the whole account is refused.
    let err = store
        .create_user(&change(), worker("li-ming", &["xingfuli", "atlantis"]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(m) if m.contains("atlantis")),
        "{err}"
    );
    assert!(store
        .user_by_name(&Username::parse("li-ming").unwrap())
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.events_after(0, 100).await.unwrap().len(), before);

    store
        .create_user(&change(), worker("li-ming", &["xingfuli"]))
        .await
        .unwrap();
    let err = store
        .create_user(&change(), worker("li-ming", &["xingfuli"]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(store.events_after(0, 100).await.unwrap().len(), before + 1);
}

#[tokio::test]
async fn sessions_expire_and_end() {
    let (store, _url, _dir) = open().await;
    store
        .save_communities(&change(), &[community("xingfuli")])
        .await
        .unwrap();
    let user = store
        .create_user(&change(), worker("zhao-lei", &["xingfuli"]))
        .await
        .unwrap();
    store
        .create_session(&change(), user.id, "hash-1", 5_000)
        .await
        .unwrap();
    let found = store.session_user("hash-1", 4_999).await.unwrap().unwrap();
    assert_eq!(
        found.communities,
        vec![CommunityId::parse("xingfuli").unwrap()]
    );
    assert!(
        store.session_user("hash-1", 5_000).await.unwrap().is_none(),
        "expired"
    );
    assert!(
        store.session_user("hash-2", 1_000).await.unwrap().is_none(),
        "unknown"
    );

    store
        .create_session(&change(), user.id, "hash-3", 9_000)
        .await
        .unwrap();
    store.delete_session(&change(), "hash-3").await.unwrap();
    assert!(
        store.session_user("hash-3", 1_000).await.unwrap().is_none(),
        "ended"
    );
    let kinds: Vec<String> = store
        .events_after(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind.as_str().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "community.saved",
            "user.created",
            "session.opened",
            "session.opened",
            "session.closed"
        ]
    );
}

#[tokio::test]
async fn saving_a_community_again_replaces_it() {
    let (store, _url, _dir) = open().await;
    store
        .save_communities(&change(), &[community("xingfuli")])
        .await
        .unwrap();
    let mut renamed = community("xingfuli");
    renamed.name_en = "Xingfu Li".into();
    store
        .save_communities(&change(), &[renamed.clone()])
        .await
        .unwrap();
    assert_eq!(store.communities().await.unwrap(), vec![renamed]);
}

#[tokio::test]
async fn replacing_communities_drops_the_others_unless_a_user_is_bound_to_one() {
    let (store, _url, _dir) = open().await;
    let all = [
        community("xingfuli"),
        community("zhugang"),
        community("weigang"),
    ];
    store.save_communities(&change(), &all).await.unwrap();
    store
        .create_user(&change(), worker("li-ming", &["zhugang"]))
        .await
        .unwrap();
    let events = store.events_after(0, 100).await.unwrap().len();
    let version = store.layer_version(LayerName::Communities).await.unwrap();

    // zhugang would go, but li-ming is bound to it: nothing changes at all.
    let err = store
        .replace_communities(&change(), &[community("xingfuli")])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(m) if m.contains("zhugang") && m.contains("li-ming")),
        "{err}"
    );
    assert_eq!(store.communities().await.unwrap().len(), 3);
    assert_eq!(store.events_after(0, 100).await.unwrap().len(), events);
    assert_eq!(
        store.layer_version(LayerName::Communities).await.unwrap(),
        version
    );

    // weigang has nobody: it goes, with an event, and the layer's version moves on.
    let mut renamed = community("xingfuli");
    renamed.name_en = "Xingfu Li".into();
    store
        .replace_communities(&change(), &[renamed.clone(), community("zhugang")])
        .await
        .unwrap();
    assert_eq!(
        store.communities().await.unwrap(),
        vec![renamed, community("zhugang")]
    );
    let kinds: Vec<String> = store
        .events_after(events as i64, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind.as_str().to_string())
        .collect();
    assert_eq!(
        kinds,
        ["community.deleted", "community.saved", "community.saved"]
    );
    assert!(store.layer_version(LayerName::Communities).await.unwrap() > version);
}

/// A home in xingfuli with water meters of the given device ids.
fn home(id: &str, sensors: &[&str]) -> Home {
    Home {
        id: id.into(),
        building: "way/101".into(),
        community: CommunityId::parse("xingfuli").unwrap(),
        grid: None,
        unit: 1,
        floor: 2,
        room: "201".into(),
        resident: "王秀英".into(),
        age_band: "80-89".into(),
        living_alone: true,
        care_level: CareLevel::Attention,
        phone: None,
        contact: None,
        position: [117.3003, 31.8463],
        sensors: sensors
            .iter()
            .map(|s| Sensor {
                id: s.to_string(),
                kind: SensorKind::Water,
                health: Health::Ok,
                battery_pct: None,
                last_seen: None,
            })
            .collect(),
    }
}

#[tokio::test]
async fn importing_homes_replaces_by_id_in_any_order_or_all_of_them() {
    let (store, _url, _dir) = open().await;
    store
        .save_communities(&change(), &[community("xingfuli")])
        .await
        .unwrap();
    let first = [home("a", &["s1"]), home("b", &["s2"])];
    let done = store
        .import_homes(&change(), &first, false, &|_| {})
        .await
        .unwrap();
    assert_eq!(
        done,
        HomesImported {
            added: 2,
            replaced: 0,
            removed: 0
        }
    );

    // `c` takes a's sensor before `a`, listed later, gives it up: fine in one change.
    let second = [home("c", &["s1"]), home("a", &["s3"])];
    let written = std::sync::Mutex::new(Vec::new());
    let done = store
        .import_homes(&change(), &second, false, &|n| {
            written.lock().unwrap().push(n)
        })
        .await
        .unwrap();
    assert_eq!((done.added, done.replaced, done.removed), (1, 1, 0));
    assert_eq!(*written.lock().unwrap(), [1, 2]);
    let homes = store.homes(None).await.unwrap();
    assert_eq!(
        homes,
        vec![home("a", &["s3"]), home("b", &["s2"]), home("c", &["s1"])]
    );

    let done = store
        .import_homes(&change(), &[home("d", &["s2"])], true, &|_| {})
        .await
        .unwrap();
    assert_eq!((done.added, done.replaced, done.removed), (1, 0, 3));
    assert_eq!(store.homes(None).await.unwrap(), vec![home("d", &["s2"])]);
    let kinds: Vec<String> = store
        .events_after(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind.as_str().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "community.saved",
            "homes.imported",
            "homes.imported",
            "homes.imported"
        ]
    );
}

#[tokio::test]
async fn an_import_taking_a_sensor_of_a_home_that_stays_changes_nothing() {
    let (store, _url, _dir) = open().await;
    store
        .save_communities(&change(), &[community("xingfuli")])
        .await
        .unwrap();
    store
        .import_homes(&change(), &[home("a", &["s1"])], false, &|_| {})
        .await
        .unwrap();
    let events = store.events_after(0, 100).await.unwrap().len();

    let err = store
        .import_homes(
            &change(),
            &[home("b", &["s2"]), home("c", &["s1"])],
            false,
            &|_| {},
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m == "home `c`: sensor `s1` belongs to home `a`"),
        "{err}"
    );
    assert_eq!(store.homes(None).await.unwrap(), vec![home("a", &["s1"])]);
    assert_eq!(store.events_after(0, 100).await.unwrap().len(), events);

    let mut elsewhere = home("b", &["s2"]);
    elsewhere.community = CommunityId::parse("atlantis").unwrap();
    let err = store
        .import_homes(&change(), &[elsewhere], true, &|_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(m) if m.contains("atlantis")),
        "{err}"
    );
    assert_eq!(
        store.homes(None).await.unwrap(),
        vec![home("a", &["s1"])],
        "a refused --replace removes nothing"
    );
}

/// The partners' migration rebuilds `users` (SQLite changes no CHECK in place): the
/// accounts, their communities and their sessions of a database made before it are
/// all still there after it, and the new role needs its organisation.
/// A database made by the migrations before `version`, with `statements` run in it:
/// its URL (and the folder that holds it).
async fn database_before(version: i64, statements: &[&str]) -> (String, tempfile::TempDir) {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use std::str::FromStr;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    let options = SqliteConnectOptions::from_str(&url)
        .unwrap()
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .connect_with(options)
        .await
        .unwrap();
    let all = sqlx::migrate!("migrations/sqlite");
    let before = sqlx::migrate::Migrator {
        migrations: all
            .migrations
            .iter()
            .filter(|m| m.version < version)
            .cloned()
            .collect::<Vec<_>>()
            .into(),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    before.run(&pool).await.unwrap();
    for statement in statements {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    (url, dir)
}

#[tokio::test]
async fn accounts_communities_and_sessions_survive_the_partners_migration() {
    let (url, _dir) = database_before(
        12,
        &[
            "INSERT INTO communities (id, name, name_en, geometry) VALUES ('xingfuli', '幸福里', 'Xingfuli', '{}')",
            "INSERT INTO users (id, username, password_hash, role, created_ms) VALUES (7, 'wang', 'h', 'grid-worker', 1)",
            "INSERT INTO user_communities (user_id, community_id) VALUES (7, 'xingfuli')",
            "INSERT INTO sessions (token_hash, user_id, created_ms, expires_ms) VALUES ('t', 7, 1, 9000000000000)",
        ],
    )
    .await;

    let store = SqlStore::open(&url.parse().unwrap()).await.unwrap();
    let user = store
        .session_user("t", 2)
        .await
        .unwrap()
        .expect("the session survived");
    assert_eq!(user.username.as_str(), "wang");
    assert_eq!(user.role, Role::GridWorker);
    assert_eq!(
        user.communities,
        vec![CommunityId::parse("xingfuli").unwrap()]
    );
    assert_eq!(user.org, None);
    let partner = NewUser {
        username: Username::parse("gas-co").unwrap(),
        password_hash: "h".into(),
        role: Role::Partner,
        communities: vec![],
        org: Some(linli_domain::cases::Party::Utilities),
    };
    store.create_user(&change(), partner.clone()).await.unwrap();
    let stored = store
        .user_by_name(&partner.username)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.org, Some(linli_domain::cases::Party::Utilities));
    // The table itself refuses a partner without its organisation, and staff with one.
    for (name, role, org) in [
        ("no-org", "partner", None),
        ("odd", "viewer", Some("police")),
    ] {
        let refused = store
            .create_user(
                &change(),
                NewUser {
                    username: Username::parse(name).unwrap(),
                    role: Role::parse(role).unwrap(),
                    org: org.and_then(linli_domain::cases::Party::parse),
                    ..partner.clone()
                },
            )
            .await;
        assert!(refused.is_err(), "{name}");
    }
}

/// The rounds' migration rebuilds the notification outbox: the messages and chains of
/// a database made before it are kept, as round 1, and the one-message rule now counts
/// rounds.
#[tokio::test]
async fn messages_and_chains_survive_the_rounds_migration() {
    let (url, _dir) = database_before(
        16,
        &[
            "INSERT INTO notify_channels (id, name, kind, url, communities, min_severity, created_ms) \
             VALUES (3, '值班群', 'webhook', 'http://127.0.0.1:9/hook', '[]', 'warning', 1)",
            "INSERT INTO notify_chains (alert_id, home, kind, started_ms, level, next_ms, ended) \
             VALUES (41, 'h1', 'tamper', 1000, 1, NULL, 'resolved')",
            "INSERT INTO notify_outbox (id, alert_id, level, level_title, channel_id, message, state, \
             attempts, next_try_ms, decided_ms, sent_ms) \
             VALUES (5, 41, 1, '网格员', 3, '{}', 'sent', 1, 1000, 1000, 1200)",
        ],
    )
    .await;
    let store = SqlStore::open(&url.parse().unwrap()).await.unwrap();
    let chains = store.chains(&[41]).await.unwrap();
    assert_eq!(
        (chains[0].round, chains[0].answered),
        (1, true),
        "{chains:?}"
    );
    let deliveries = store.deliveries(41).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].title, "网格员");
    let pool = crate::support::sql_pool(&url).await;
    let again = "INSERT INTO notify_outbox (alert_id, round, level, level_title, channel_id, message, \
                 state, next_try_ms, decided_ms) VALUES (41, $1, 1, '网格员', 3, '{}', 'pending', 2000, 2000)";
    assert!(
        sqlx::query(again).bind(1).execute(&pool).await.is_err(),
        "round 1 has its message"
    );
    sqlx::query(again).bind(2).execute(&pool).await.unwrap();
}

/// The reports' migration: the note a case was opened with becomes its report, a case
/// without one (the demo's) gets an empty report at its opening, first on its
/// timeline; later notes stay notes.
#[tokio::test]
async fn every_case_starts_with_its_report_after_the_reports_migration() {
    let case = |id: i64| {
        format!(
            "INSERT INTO cases (id, title, category, stage, priority, source, community, lon, lat, \
             opened_ms, updated_ms, due_ms) VALUES ({id}, '楼道堆物', 'environment', 'identified', \
             'normal', 'grid-visit', 'xingfuli', 117.3, 31.8, 1000, 5000, 9000000)"
        )
    };
    let (first, second) = (case(1), case(2));
    let (url, _dir) = database_before(
        17,
        &[
            "INSERT INTO communities (id, name, name_en, geometry) VALUES ('xingfuli', '幸福里', 'Xingfuli', '{}')",
            &first,
            &second,
            "INSERT INTO case_events (case_id, at_ms, actor, step, stage) VALUES \
             (1, 1000, 'user:wang', '{\"action\":\"note\",\"note\":\"三楼楼道\"}', 'reported'), \
             (1, 3000, 'user:wang', '{\"action\":\"note\",\"note\":\"已通知物业\"}', 'reported'), \
             (2, 4000, 'user:li', '{\"action\":\"note\",\"note\":\"联合巡查发现\"}', 'identified')",
        ],
    )
    .await;
    let store = SqlStore::open(&url.parse().unwrap()).await.unwrap();
    let steps = |case: linli_domain::cases::Case| {
        case.timeline
            .iter()
            .map(|e| (e.by.clone(), serde_json::to_value(&e.step).unwrap()))
            .collect::<Vec<_>>()
    };
    let one = store.case(1).await.unwrap().unwrap();
    assert_eq!(
        steps(one),
        vec![
            (
                "user:wang".to_string(),
                serde_json::json!({"action": "report", "note": "三楼楼道"})
            ),
            (
                "user:wang".to_string(),
                serde_json::json!({"action": "note", "note": "已通知物业"})
            ),
        ]
    );
    let two = store.case(2).await.unwrap().unwrap();
    assert_eq!(
        steps(two),
        vec![
            (
                "system:report".to_string(),
                serde_json::json!({"action": "report", "note": ""})
            ),
            (
                "user:li".to_string(),
                serde_json::json!({"action": "note", "note": "联合巡查发现"})
            ),
        ]
    );
}

mod sign_in_limits {
    //! The sign-in limits' counts, kept in the database (`crate::sign_in_limits`):
    //! what one store counted, another store on the same database (another server,
    //! or this one after a restart) sees.

    use super::open;
    use linli_server::sign_in_limits::{Attempt, Policy};
    use linli_server::store::sql::SqlStore;
    use linli_server::store::Store as _;
    use std::time::Duration;

    const POLICY: Policy = Policy {
        window: Duration::from_secs(60),
        per_pair: 3,
        per_address: 5,
        per_account: 3,
        account_spacing: Duration::from_secs(4),
    };

    fn attempt(account: &str, address: &str) -> Attempt {
        Attempt::new(account, address.parse().unwrap())
    }

    async fn fail(store: &SqlStore, account: &str, address: &str, at: i64) {
        let begun = store
            .begin_sign_in(&attempt(account, address), &POLICY, at)
            .await
            .unwrap();
        begun.expect("may try");
    }

    async fn wait(store: &SqlStore, account: &str, address: &str, at: i64) -> Option<Duration> {
        (store.begin_sign_in(&attempt(account, address), &POLICY, at))
            .await
            .unwrap()
            .err()
    }

    #[tokio::test]
    async fn an_account_is_locked_at_one_address_and_only_slowed_elsewhere_on_every_server() {
        let (one, url, _database) = open().await;
        let other = SqlStore::open(&url.parse().unwrap()).await.unwrap();
        let t0 = 1_000_000;
        fail(&one, "wang", "10.0.0.1", t0).await;
        fail(&other, "wang", "10.0.0.1", t0 + 1_000).await;
        fail(&one, "wang", "10.0.0.1", t0 + 2_000).await;
        // From the guesser's address, on either server: locked until the first failure
        // leaves the window; case does not dodge it.
        let locked = Some(Duration::from_secs(50));
        assert_eq!(wait(&other, "WANG", "10.0.0.1", t0 + 10_000).await, locked);
        assert_eq!(wait(&one, "wang", "10.0.0.1", t0 + 10_000).await, locked);
        // From elsewhere: a few seconds after the last attempt at most.
        let slowed = wait(&other, "wang", "10.0.0.2", t0 + 3_000).await;
        assert_eq!(slowed, Some(Duration::from_secs(3)));
        let owner = attempt("wang", "10.0.0.2");
        let id = one
            .begin_sign_in(&owner, &POLICY, t0 + 6_000)
            .await
            .unwrap();
        one.sign_in_succeeded(id.expect("the owner gets through"), &owner)
            .await
            .unwrap();
        // The owner's success forgave the account (no more slowing, from anywhere) but
        // not the guesser, whose address stays locked out of it.
        assert_eq!(wait(&other, "wang", "10.0.0.3", t0 + 7_000).await, None);
        let still = wait(&other, "wang", "10.0.0.1", t0 + 7_000).await;
        assert_eq!(still, Some(Duration::from_secs(53)));
    }

    #[tokio::test]
    async fn an_address_is_locked_across_accounts_and_ipv6_counts_per_64() {
        let (store, _url, _database) = open().await;
        for i in 0..5 {
            let address = format!("2001:db8:1:2:{i}:{i}:{i}:{i}");
            fail(&store, &format!("user{i}"), &address, 0).await;
        }
        assert!(wait(&store, "someone", "2001:db8:1:2::9", 0)
            .await
            .is_some());
        assert!(wait(&store, "someone", "2001:db8:1:3::1", 0)
            .await
            .is_none());
        // Failures leave the window: past it, the address may try again.
        assert!(wait(&store, "someone", "2001:db8:1:2::9", 60_000)
            .await
            .is_none());
    }

    #[tokio::test]
    async fn concurrent_attempts_on_two_servers_are_counted_before_their_check() {
        let (one, url, _database) = open().await;
        let other = SqlStore::open(&url.parse().unwrap()).await.unwrap();
        let servers = [std::sync::Arc::new(one), std::sync::Arc::new(other)];
        let mut tries = tokio::task::JoinSet::new();
        for i in 0..30 {
            let store = servers[i % 2].clone();
            tries.spawn(async move {
                store
                    .begin_sign_in(&attempt("li", "10.0.0.1"), &POLICY, 0)
                    .await
            });
        }
        let mut admitted = 0;
        for begun in tries.join_all().await {
            admitted += usize::from(begun.unwrap().is_ok());
        }
        assert_eq!(admitted, 3);
    }

    #[tokio::test]
    async fn a_success_forgives_the_account_not_the_address_and_a_withdrawal_counts_nothing() {
        let (store, _url, _database) = open().await;
        let li = attempt("li", "10.0.0.1");
        for _ in 0..10 {
            let busy = store.begin_sign_in(&li, &POLICY, 0).await.unwrap().unwrap();
            store.withdraw_sign_in(busy).await.unwrap();
        }
        fail(&store, "li", "10.0.0.1", 0).await;
        fail(&store, "li", "10.0.0.1", 0).await;
        let right = store.begin_sign_in(&li, &POLICY, 0).await.unwrap().unwrap();
        store.sign_in_succeeded(right, &li).await.unwrap();
        fail(&store, "li", "10.0.0.1", 0).await;
        fail(&store, "li", "10.0.0.1", 0).await;
        assert!(
            wait(&store, "li", "10.0.0.1", 0).await.is_none(),
            "count restarted"
        );
        // The address kept its failures: 2 + 2 + 1 now.
        assert!(wait(&store, "other", "10.0.0.1", 0).await.is_some());
    }
}
