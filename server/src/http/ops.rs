//! Operations endpoints outside the versioned API: `/healthz` (the process answers),
//! `/readyz` (its database answers, and its MQTT broker when it has one; and whether it
//! runs the rules: `role` single, leader or follower), `/metrics` (Prometheus text).

use super::AppState;
use crate::error::AppError;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::json;

pub async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

pub async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    state.store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        AppError::Unavailable("the database does not answer".into())
    })?;
    let mqtt = state.mqtt.as_ref().map(|m| m.subscribed());
    if mqtt == Some(false) {
        return Err(AppError::Unavailable(
            "not subscribed to the MQTT broker (yet)".into(),
        ));
    }
    Ok(axum::Json(json!({
        "status": "ready",
        "mqtt_subscribed": mqtt,
        "role": state.cluster.role(),
        "instance": state.cluster.instance(),
    })))
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
