//! The accept loop: how connections come in and go, with the limits a server facing
//! the network needs.
//!
//! - At most [`Limits::max_connections`] open at once; past that a new connection is
//!   closed at once (and counted), instead of the process running out of descriptors.
//! - A client has [`Limits::header_read`] to send a request's headers, from the moment
//!   the connection is open or idle: half a header followed by silence (slowloris), or
//!   a kept-alive connection left idle, is closed then.
//! - A request has [`Limits::request`] to be answered (`408` after it), except the live
//!   stream, whose answer is meant to last (see `http::deadline`).
//! - On shutdown the listener closes, live streams end (they watch [`Shutdown`]),
//!   requests in flight finish, and [`serve`] returns after
//!   [`Limits::shutdown_grace`] at most, leaving what is still open to end with the
//!   process.
//!
//! Only HTTP/1.1: Linli sits behind a reverse proxy for TLS and HTTP/2.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt as _;

/// The limits of the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read: Duration,
    pub request: Duration,
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 8_192,
            header_read: Duration::from_secs(10),
            request: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(8),
        }
    }
}

/// Tells long-lived answers (the live stream) that the server is stopping.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A shutdown that never comes (for tests and tools without a server loop).
    pub fn never() -> Shutdown {
        let (sender, receiver) = watch::channel(false);
        std::mem::forget(sender);
        Shutdown(receiver)
    }

    /// Completes once the server stops.
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|stopping| *stopping).await;
    }
}

/// Starts the signal a [`Shutdown`] watches: send `true` to stop.
pub fn shutdown_signal() -> (watch::Sender<bool>, Shutdown) {
    let (sender, receiver) = watch::channel(false);
    (sender, Shutdown(receiver))
}

/// Serves `router` on `listener` until `stop` completes, then shuts down (see the
/// module's comment); `stopping` is told when it does.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    stopping: watch::Sender<bool>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
    refused: impl Fn() + Send + Sync + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .max_buf_size(64 * 1024);
    let builder = Arc::new(builder);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: wait a moment, do not spin.
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refused();
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "connections still open after {:?}; closing them",
            limits.shutdown_grace
        );
    }
    Ok(())
}
