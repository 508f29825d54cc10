//! `linli store copy`: an office moved from SQLite to PostgreSQL and back, every table
//! checked, a full target refused unless told. Runs on a private PostgreSQL whichever
//! database the rest of the suite uses.

use crate::support::{acknowledge, raise_gas_alert, run_linli, spawn_app, stderr, stdout};
use linli_server::store::sql::{copy::TABLES, SqlStore};
use linli_server::store::Store as _;
use linli_tests::Postgres;

/// Each table's line of the copy's output: (table, rows, checksum).
fn tables(out: &str) -> Vec<(String, u64, String)> {
    out.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [table, rows, "rows", "sha256", sum] => {
                    Some((table.to_string(), rows.parse().unwrap(), sum.to_string()))
                }
                _ => None,
            }
        })
        .collect()
}

#[tokio::test]
async fn every_table_is_listed_for_the_copy_in_both_databases() {
    let listed = {
        let mut names: Vec<String> = TABLES.iter().map(|(t, _)| t.to_string()).collect();
        names.sort();
        names
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("linli.db").display());
    let postgres = Postgres::shared().database().await;
    for url in [sqlite, postgres] {
        let store = SqlStore::open(&url.parse().unwrap()).await.unwrap();
        assert_eq!(store.table_names().await.unwrap(), listed, "{url}");
    }
}

#[tokio::test]
async fn an_office_moves_to_postgresql_and_back_with_every_row() {
    // An office with a day behind it: the demo, a gas alarm and its acknowledgement.
    let app = spawn_app().await;
    let (alert, _home) = raise_gas_alert(&app, "xingfuli").await;
    let commander = app.signed_in("demo-commander").await;
    acknowledge(&commander, &app, alert).await;
    let from = app.database_url.clone();
    let to = Postgres::shared().database().await;

    let out = run_linli(&["store", "copy", "--from", &from, "--to", &to], &[], "");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let there = tables(&stdout(&out));
    assert_eq!(there.len(), TABLES.len(), "{}", stdout(&out));
    let rows = |table: &str| there.iter().find(|t| t.0 == table).unwrap().1;
    assert!(rows("events") > 10 && rows("homes") > 10 && rows("alerts") >= 1);

    // The copy reads as the original: its log, its homes, the alert as acknowledged.
    let source = &app.store;
    let target = SqlStore::open(&to.parse().unwrap()).await.unwrap();
    let log = |events: Vec<linli_domain::api::EventRecord>| {
        events
            .into_iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        log(target.events_after(0, 100_000).await.unwrap()),
        log(source.events_after(0, 100_000).await.unwrap())
    );
    assert_eq!(
        target.homes(None).await.unwrap(),
        source.homes(None).await.unwrap()
    );
    assert_eq!(
        target.alert(alert).await.unwrap(),
        source.alert(alert).await.unwrap()
    );
    // New rows continue after the copied ids.
    let next = linli_server::store::Change::new(
        linli_server::store::Actor::System("test"),
        linli_server::clock::now_ms(),
    );
    let notice = target
        .publish_notice(
            &next,
            &linli_server::store::NewNotice {
                title: "停水通知".into(),
                body: "明日 9:00–12:00".into(),
                until: None,
            },
        )
        .await
        .unwrap();
    let last = target.events_after(0, 100_000).await.unwrap();
    assert!(
        last.last().unwrap().id as u64 > rows("events"),
        "{notice:?}"
    );

    // A database that holds something is refused, and nothing of it changes ...
    let again = run_linli(&["store", "copy", "--from", &from, "--to", &to], &[], "");
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));
    assert!(
        stderr(&again).contains("not empty") && stderr(&again).contains("--replace"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        target.events_after(0, 100_000).await.unwrap().len(),
        last.len()
    );
    // ... unless told: then it holds the copy alone.
    let replaced = run_linli(
        &["store", "copy", "--from", &from, "--to", &to, "--replace"],
        &[],
        "",
    );
    assert!(replaced.status.success(), "{}", stderr(&replaced));
    assert_eq!(tables(&stdout(&replaced)), there);

    // And back into SQLite: every table's checksum is the same in all three.
    let dir = tempfile::tempdir().unwrap();
    let back = format!("sqlite://{}", dir.path().join("back.db").display());
    let out = run_linli(&["store", "copy", "--from", &to, "--to", &back], &[], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(tables(&stdout(&out)), there);
}

#[test]
fn copying_a_database_onto_itself_is_refused() {
    let out = run_linli(
        &[
            "store",
            "copy",
            "--from",
            "sqlite://x.db",
            "--to",
            "sqlite://x.db",
        ],
        &[],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("same database"), "{}", stderr(&out));
}
