//! Typed calls to the server's `/api/v1`. Same-origin `fetch`, so the session cookie
//! goes along by itself.

use gloo_net::http::{Request, Response};
use linli_domain::api::{PublicStatus, Snapshot};
use linli_domain::place::{FeatureCollection, LayerName};

/// A layer whose properties are still JSON text (see `map::layers::RawProperties`).
pub type RawLayer = FeatureCollection<Box<serde_json::value::RawValue>>;
use linli_domain::{ErrorBody, SessionInfo, SignIn};
use serde::de::DeserializeOwned;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The server answered with an error status and body.
    Refused {
        status: u16,
        body: Option<ErrorBody>,
    },
    /// No answer: network down, server stopped, or an unreadable body.
    Network(String),
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Refused { status, .. } => Some(*status),
            ApiError::Network(_) => None,
        }
    }
}

async fn read<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    if response.ok() {
        response
            .json::<T>()
            .await
            .map_err(|e| ApiError::Network(e.to_string()))
    } else {
        Err(ApiError::Refused {
            status: response.status(),
            body: response.json::<ErrorBody>().await.ok(),
        })
    }
}

fn network(e: gloo_net::Error) -> ApiError {
    ApiError::Network(e.to_string())
}

/// `POST /api/v1/session`.
pub async fn sign_in(username: &str, password: &str) -> Result<SessionInfo, ApiError> {
    let body = SignIn {
        username: username.into(),
        password: password.into(),
    };
    let response = Request::post("/api/v1/session")
        .json(&body)
        .map_err(network)?
        .send()
        .await
        .map_err(network)?;
    read(response).await
}

/// `GET /api/v1/session`: `None` when not signed in.
pub async fn current_session() -> Result<Option<SessionInfo>, ApiError> {
    let response = Request::get("/api/v1/session")
        .send()
        .await
        .map_err(network)?;
    match read(response).await {
        Ok(info) => Ok(Some(info)),
        Err(ApiError::Refused { status: 401, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `DELETE /api/v1/session`.
pub async fn sign_out() -> Result<(), ApiError> {
    let response = Request::delete("/api/v1/session")
        .send()
        .await
        .map_err(network)?;
    if response.ok() {
        Ok(())
    } else {
        Err(ApiError::Refused {
            status: response.status(),
            body: None,
        })
    }
}

/// `GET /api/v1/layers/{layer}?format=compact`: the layer in its compact binary form
/// (a quarter of the GeoJSON's bytes, and no decimal numbers to parse); the browser
/// revalidates it by ETag.
pub async fn layer(layer: LayerName) -> Result<RawLayer, ApiError> {
    let response = Request::get(&format!("/api/v1/layers/{}?format=compact", layer.as_str()))
        .send()
        .await
        .map_err(network)?;
    if !response.ok() {
        return read(response).await;
    }
    let bytes = response.binary().await.map_err(network)?;
    linli_domain::compact::decode_as(&bytes).map_err(|e| ApiError::Network(e.to_string()))
}

/// `GET /api/v1/snapshot`: homes, cases and routes the signed-in user may see.
pub async fn snapshot() -> Result<Snapshot, ApiError> {
    let response = Request::get("/api/v1/snapshot")
        .send()
        .await
        .map_err(network)?;
    read(response).await
}

/// `GET /api/v1/public/status`: aggregates anybody may see.
pub async fn public_status() -> Result<PublicStatus, ApiError> {
    let response = Request::get("/api/v1/public/status")
        .send()
        .await
        .map_err(network)?;
    read(response).await
}

/// `POST /api/v1/alerts/{id}/{action}` with a JSON body: the alert as it now stands.
pub async fn alert_action(
    id: i64,
    action: &str,
    body: &serde_json::Value,
) -> Result<linli_domain::alerts::Alert, ApiError> {
    let response = Request::post(&format!("/api/v1/alerts/{id}/{action}"))
        .json(body)
        .map_err(network)?
        .send()
        .await
        .map_err(network)?;
    read(response).await
}

/// `GET /api/v1/cases/{id}`: the case with its timeline.
pub async fn case(id: i64) -> Result<linli_domain::cases::Case, ApiError> {
    let response = Request::get(&format!("/api/v1/cases/{id}"))
        .send()
        .await
        .map_err(network)?;
    read(response).await
}

/// `POST /api/v1/cases/{id}/events`: one step; the case as it now stands.
pub async fn case_step(
    id: i64,
    step: &linli_domain::cases::CaseStep,
) -> Result<linli_domain::cases::Case, ApiError> {
    let response = Request::post(&format!("/api/v1/cases/{id}/events"))
        .json(step)
        .map_err(network)?
        .send()
        .await
        .map_err(network)?;
    read(response).await
}
