//! The real `linli serve` process under attack and administration (issue 14): a flood
//! of parallel sign-ins keeps its memory bounded and is answered at once; accounts
//! and tokens end from the command line, live streams with them; SIGTERM with live
//! streams open ends the process within 10 s.

use anyhow::Result;
use linli_tests::{linli_binary, LinliServer};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Reads a stream until it ends; how long that took, or `None` after `limit`.
async fn ends_within(mut stream: reqwest::Response, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    tokio::time::timeout(limit, async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await
    .ok()
    .map(|()| started.elapsed())
}

/// 500 sign-ins at once, each from its own address (through a trusted proxy) for its
/// own made-up account: every one is answered (401, or 503 "busy" with Retry-After)
/// and the server's memory stays bounded (Argon2 needs 19 MiB per hash running).
#[tokio::test]
async fn a_flood_of_sign_ins_is_answered_with_bounded_memory() -> Result<()> {
    let server = LinliServer::start_demo_with(&["--trusted-proxy", "127.0.0.1"]).await?;
    let before = server.rss_bytes().unwrap_or(0);
    let url = server.url("/api/v1/session");
    let started = Instant::now();
    let mut flood = tokio::task::JoinSet::new();
    for i in 0..500u32 {
        let url = url.clone();
        flood.spawn(async move {
            let response = reqwest::Client::new()
                .post(url)
                .header(
                    "x-forwarded-for",
                    format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256),
                )
                .json(&json!({"username": format!("guess-{i}"), "password": "wrong"}))
                .send()
                .await
                .expect("answered");
            let retry = response.headers().contains_key("retry-after");
            (response.status().as_u16(), retry)
        });
    }
    let mut peak = before;
    let mut answers = Vec::new();
    loop {
        tokio::select! {
            next = flood.join_next() => match next {
                Some(answer) => answers.push(answer?),
                None => break,
            },
            () = tokio::time::sleep(Duration::from_millis(20)) => {
                peak = peak.max(server.rss_bytes().unwrap_or(0));
            }
        }
    }
    let took = started.elapsed();
    let count = |status| answers.iter().filter(|(s, _)| *s == status).count();
    let (refused, busy) = (count(401), count(503));
    println!(
        "sign-in flood: 500 in {took:?}: {refused} checked (401), {busy} busy (503); \
         RSS {} MB before, peak {} MB",
        before / 1_000_000,
        peak / 1_000_000
    );
    assert_eq!(refused + busy, 500, "{answers:?}");
    assert!(answers.iter().all(|(s, retry)| *s != 503 || *retry));
    assert!(busy > 0, "a flood this size is turned away in part");
    assert!(
        peak < before + 250_000_000,
        "RSS grew from {before} to {peak} bytes"
    );
    // The owner still gets in.
    let owner = reqwest::Client::new()
        .post(&url)
        .header("x-forwarded-for", "192.168.7.7")
        .json(&json!({"username": "demo-commander", "password": "demo"}))
        .send()
        .await?;
    assert_eq!(owner.status(), 200);
    Ok(())
}

/// `linli user passwd|disable|enable`, `device revoke`, `gateway revoke`, run beside the
/// running server on its database: each takes effect (streams of the account end
/// within 5 s, a revoked token is refused within 30 s) and each is an event in the log.
#[tokio::test]
async fn accounts_and_tokens_end_from_the_command_line() -> Result<()> {
    let server = LinliServer::start_demo().await?;
    let linli_with_stdin = |args: Vec<String>, stdin: &'static str| {
        let database = server.database_url();
        async move {
            use tokio::io::AsyncWriteExt as _;
            let mut child = tokio::process::Command::new(linli_binary()?)
                .args(&args)
                .args(["--database-url", &database])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()?;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(stdin.as_bytes())
                .await?;
            let out = child.wait_with_output().await?;
            anyhow::Ok((
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).to_string()
                    + &String::from_utf8_lossy(&out.stderr),
            ))
        }
    };
    let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    // Disable: the open stream ends, the right password is refused.
    let grid = server.signed_in("demo-grid-xingfuli").await?;
    let stream = grid.get(server.url("/api/v1/stream")).send().await?;
    assert_eq!(stream.status(), 200);
    let (ok, out) = linli_with_stdin(args(&["user", "disable", "demo-grid-xingfuli"]), "").await?;
    assert!(ok, "{out}");
    let ended = ends_within(stream, Duration::from_secs(5)).await;
    assert!(ended.is_some(), "the stream outlived the disabled account");
    let sign_in = |password: &'static str| {
        let url = server.url("/api/v1/session");
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({"username": "demo-grid-xingfuli", "password": password}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    };
    assert_eq!(sign_in("demo").await?, 403);
    let (ok, out) = linli_with_stdin(args(&["user", "enable", "demo-grid-xingfuli"]), "").await?;
    assert!(ok, "{out}");
    assert_eq!(sign_in("demo").await?, 200);

    // A new password: the old one no longer works, a too short one is refused.
    let (ok, out) =
        linli_with_stdin(args(&["user", "passwd", "demo-grid-xingfuli"]), "short\n").await?;
    assert!(!ok && out.contains("at least 8"), "{out}");
    let (ok, out) = linli_with_stdin(
        args(&["user", "passwd", "demo-grid-xingfuli"]),
        "a-new-long-password\n",
    )
    .await?;
    assert!(ok, "{out}");
    assert_eq!(sign_in("demo").await?, 401);
    assert_eq!(sign_in("a-new-long-password").await?, 200);
    let (ok, out) = linli_with_stdin(args(&["user", "disable", "nobody-here"]), "").await?;
    assert!(!ok && out.contains("no user `nobody-here`"), "{out}");

    // Revoking a device: its readings are refused within 30 s.
    let homes = server.homes("demo-commander").await?;
    let home = homes[0]["id"].as_str().unwrap().to_string();
    let (device, token) = server.add_device(&home, "gas").await?;
    let send = |seq: u64| {
        let (url, token, device) = (server.url("/api/v1/ingest"), token.clone(), device.clone());
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&json!({"readings": [{"device": device, "seq": seq,
                    "ts": linli_tests::now_rfc3339(), "metric": "heartbeat", "value": 1}]}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    };
    assert_eq!(send(1).await?, 202);
    let (ok, out) = linli_with_stdin(args(&["device", "revoke", &device]), "").await?;
    assert!(ok, "{out}");
    let (ok, out) = linli_with_stdin(args(&["device", "revoke", &device]), "").await?;
    assert!(!ok && out.contains("revoked already"), "{out}");
    let mut refused_after = None;
    let started = Instant::now();
    for seq in 2..40 {
        if send(seq).await? == 401 {
            refused_after = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(
        refused_after.is_some(),
        "the revoked token still sends after 38 s"
    );

    // Gateways.
    let (ok, out) = linli_with_stdin(args(&["gateway", "add", "gw-test"]), "").await?;
    assert!(ok, "{out}");
    let (ok, out) = linli_with_stdin(args(&["gateway", "revoke", "gw-test"]), "").await?;
    assert!(ok, "{out}");
    let (ok, out) = linli_with_stdin(args(&["gateway", "revoke", "gw-none"]), "").await?;
    assert!(!ok && out.contains("no gateway `gw-none`"), "{out}");

    // Each one is in the event log.
    let commander = server.signed_in("demo-commander").await?;
    let mut kinds = Vec::new();
    let mut after = 0;
    loop {
        let page: Vec<Value> = commander
            .get(server.url(&format!("/api/v1/events?after={after}&limit=1000")))
            .send()
            .await?
            .json()
            .await?;
        let Some(last) = page.last() else { break };
        after = last["id"].as_i64().unwrap();
        kinds.extend(page.iter().map(|e| e["kind"].as_str().unwrap().to_string()));
    }
    for kind in [
        "user.disabled",
        "user.enabled",
        "user.password_changed",
        "device.revoked",
        "gateway.revoked",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in the log");
    }
    Ok(())
}

/// SIGTERM with live streams open: the streams end and the process exits within 10 s
/// (before, the graceful shutdown waited for streams that never end).
#[tokio::test]
async fn sigterm_with_streams_open_exits_within_ten_seconds() -> Result<()> {
    let server = LinliServer::start_demo().await?;
    let commander = server.signed_in("demo-commander").await?;
    let mut streams = Vec::new();
    for _ in 0..20 {
        let stream = commander.get(server.url("/api/v1/stream")).send().await?;
        assert_eq!(stream.status(), 200);
        streams.push(stream);
    }
    let started = Instant::now();
    let exited = server.terminate_within(Duration::from_secs(10)).await?;
    println!(
        "exited {:?} after SIGTERM with 20 streams open",
        started.elapsed()
    );
    assert!(exited, "still running 10 s after SIGTERM");
    for stream in streams {
        assert!(ends_within(stream, Duration::from_secs(1)).await.is_some());
    }
    Ok(())
}

/// The disk fills (a file-size limit on the server, set with `prlimit` while it runs):
/// ingest is refused with a clear `503`, nothing of a refused batch is stored, and once
/// there is room again the same batches are taken, without a restart.
#[tokio::test]
async fn a_full_disk_refuses_writes_with_503_and_resumes() -> Result<()> {
    use sqlx::Row as _;
    // Without SIGXFSZ ignored, the first write past the limit would kill the process.
    let server = LinliServer::start_demo_after("trap '' XFSZ").await?;
    let pid = server.pid().expect("running").to_string();
    let homes = server.homes("demo-commander").await?;
    let (device, token) = server
        .add_device(homes[0]["id"].as_str().unwrap(), "water")
        .await?;
    let batch = |from: u64| {
        json!({"readings": (from..from + 500).map(|seq| json!({"device": device, "seq": seq,
            "ts": linli_tests::now_rfc3339(), "metric": "water_total_l", "value": seq as f64}))
            .collect::<Vec<_>>()})
    };
    let send = |body: Value| {
        let (url, token) = (server.url("/api/v1/ingest"), token.clone());
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await?;
            let status = response.status().as_u16();
            anyhow::Ok((status, response.json::<Value>().await?))
        }
    };
    assert_eq!(send(batch(0)).await?.0, 202);
    // The database files may grow a little more, then no more.
    let data = server
        .database_url()
        .trim_start_matches("sqlite://")
        .to_string();
    let size = |suffix: &str| std::fs::metadata(format!("{data}{suffix}")).map_or(0, |m| m.len());
    let limit = size("").max(size("-wal")) + 64 * 1024;
    let set_limit = |limit: &str| {
        std::process::Command::new("prlimit")
            .args(["--pid", &pid, &format!("--fsize={limit}")])
            .status()
    };
    // Soft limit only (`N:unlimited`), so that it can be lifted again unprivileged.
    assert!(set_limit(&format!("{limit}:unlimited"))?.success());
    let mut accepted = 500;
    let mut refused = Vec::new();
    for n in 1..200u64 {
        let (status, body) = send(batch(n * 500)).await?;
        match status {
            202 => accepted += body["accepted"].as_u64().unwrap(),
            503 => {
                assert_eq!(body["error"]["code"], "unavailable", "{body}");
                refused.push(n * 500);
                if refused.len() == 3 {
                    break;
                }
            }
            other => anyhow::bail!("{other}: {body}"),
        }
    }
    assert_eq!(refused.len(), 3, "the limit never bit");
    // Nothing of the refused batches is there; everything acknowledged is.
    let count = || async {
        let db = sqlx::SqlitePool::connect(&format!("sqlite://{data}?mode=ro")).await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM readings WHERE device = ?")
            .bind(&device)
            .fetch_one(&db)
            .await?
            .try_get("n")?;
        db.close().await;
        anyhow::Ok(n as u64)
    };
    assert_eq!(count().await?, accepted);
    // Room again: the same batches are taken now, as new. (`503` means "send again":
    // a sender does, for a while, as a gateway would.)
    assert!(set_limit("unlimited:unlimited")?.success());
    let started = std::time::Instant::now();
    for from in &refused {
        let body = loop {
            let (status, body) = send(batch(*from)).await?;
            if status == 202 {
                break body;
            }
            assert_eq!(status, 503, "{body}");
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "ingest did not resume within 15 s of the space returning: {body}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        };
        assert_eq!(body["accepted"], 500, "{body}");
    }
    assert_eq!(count().await?, accepted + 1_500);
    Ok(())
}
