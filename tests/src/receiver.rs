//! [`Receiver`]: a local HTTP server standing in for the robots and gateways Linli
//! notifies (WeCom, DingTalk, Feishu, a webhook, an SMS gateway): it records what
//! comes and answers as a robot would.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request a receiver took.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Value,
}

/// A local receiver on a free port. Paths under `/gone` answer 404 for good; a path
/// given to [`Receiver::fail_first`] answers 503 that many times first; `/feishu…`
/// answers `{"code": 0}`, everything else `{"errcode": 0}`.
#[derive(Clone)]
pub struct Receiver {
    pub base: String,
    got: Arc<Mutex<Vec<Received>>>,
    failing: Arc<Mutex<HashMap<String, u32>>>,
}

async fn receive(
    State(receiver): State<Receiver>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let path = uri.path().to_string();
    if path.starts_with("/gone") {
        return (StatusCode::NOT_FOUND, "no such robot".into());
    }
    {
        let mut failing = receiver.failing.lock().unwrap();
        if let Some(left) = failing.get_mut(&path).filter(|left| **left > 0) {
            *left -= 1;
            return (StatusCode::SERVICE_UNAVAILABLE, "busy".into());
        }
    }
    receiver.got.lock().unwrap().push(Received {
        path: path.clone(),
        query: uri.query().unwrap_or_default().to_string(),
        headers,
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
    });
    let answer = if path.starts_with("/feishu") {
        json!({"code": 0, "msg": "success"})
    } else {
        json!({"errcode": 0, "errmsg": "ok"})
    };
    (StatusCode::OK, answer.to_string())
}

impl Receiver {
    /// Starts on a free port.
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Receiver::serve(listener)
    }

    /// Starts on `port` (one that was free: Linli may have tried it already).
    pub async fn start_on(port: u16) -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        Receiver::serve(listener)
    }

    fn serve(listener: tokio::net::TcpListener) -> Receiver {
        let receiver = Receiver {
            base: format!("http://{}", listener.local_addr().unwrap()),
            got: Arc::default(),
            failing: Arc::default(),
        };
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    /// Answers the next `times` requests to `path` with 503.
    pub fn fail_first(&self, path: &str, times: u32) {
        self.failing.lock().unwrap().insert(path.into(), times);
    }

    /// Everything taken so far.
    pub fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// What `path` took so far.
    pub fn on(&self, path: &str) -> Vec<Received> {
        self.all().into_iter().filter(|r| r.path == path).collect()
    }

    /// Waits (up to 30 s) until `path` took `count` requests.
    pub async fn wait_for(&self, path: &str, count: usize) -> Vec<Received> {
        for _ in 0..300 {
            let got = self.on(path);
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{path} took {} requests, not {count}", self.on(path).len());
    }
}
