//! Typed calls to the server's `/api/v1`. Same-origin `fetch`, so the session cookie
//! goes along by itself.

use gloo_net::http::{Request, Response};
use linli_domain::api::{Notice, NoticeRequest, PublicStatus, Snapshot};
use linli_domain::place::{FeatureCollection, LayerName};
use linli_domain::Timestamp;

/// Shapes of a layer decoded in one task (see [`decode_layer`]).
const DECODE_PER_TASK: usize = 10_000;

/// A layer whose properties are still JSON text (see `map::layers::RawProperties`).
pub type RawLayer = FeatureCollection<Box<serde_json::value::RawValue>>;
use linli_domain::cases::Case;
use linli_domain::{ErrorBody, SessionInfo, SignIn};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsCast;

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
    /// Not sent and not kept: the network is down and the browser's storage is too
    /// full to keep the change (a photo, usually) for later.
    StorageFull,
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Refused { status, .. } => Some(*status),
            ApiError::Network(_) | ApiError::StorageFull => None,
        }
    }
}

async fn read<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    read_answer(response).await?.read()
}

/// A success's body as it came, or the refusal.
async fn read_answer(response: Response) -> Result<Answer, ApiError> {
    if response.ok() {
        response.text().await.map(Answer).map_err(network)
    } else {
        Err(refusal(response).await)
    }
}

/// A refusal's status and error body.
async fn refusal(response: Response) -> ApiError {
    ApiError::Refused {
        status: response.status(),
        body: response.json::<ErrorBody>().await.ok(),
    }
}

/// The server's answer to a change, as the JSON text it sent: read into the type the
/// control expects, or shown on the map as it is. (Kept as text rather than a parsed
/// `serde_json::Value`: reading a `Value` into a type compiles a second reader for
/// that type into the app.)
#[derive(Debug, Clone, PartialEq)]
pub struct Answer(pub String);

impl Answer {
    pub fn read<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_str(&self.0).map_err(|e| ApiError::Network(e.to_string()))
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
    post("/api/v1/session", &body).await
}

/// The cookie the server sets beside the session's (which scripts cannot read): without
/// it there is no session to ask about.
const SIGNED_IN_HINT: &str = "linli_signed_in";

/// The page's cookies as scripts see them.
fn document_cookies() -> Option<web_sys::HtmlDocument> {
    web_sys::window()?.document()?.dyn_into().ok()
}

/// `GET /api/v1/session`: `None` when not signed in. Not asked at all without the
/// server's hint cookie: signed out is a normal state, not a `401` in the console.
pub async fn current_session() -> Result<Option<SessionInfo>, ApiError> {
    let hinted = document_cookies()
        .and_then(|d| d.cookie().ok())
        .is_some_and(|c| {
            c.split(';')
                .any(|kv| kv.trim() == format!("{SIGNED_IN_HINT}=1"))
        });
    if !hinted {
        return Ok(None);
    }
    let response = Request::get("/api/v1/session")
        .send()
        .await
        .map_err(network)?;
    match read(response).await {
        Ok(info) => Ok(Some(info)),
        Err(ApiError::Refused { status: 401, .. }) => {
            // The session ended (expired, signed out elsewhere): the hint goes too.
            if let Some(d) = document_cookies() {
                let _ = d.set_cookie(&format!("{SIGNED_IN_HINT}=; Path=/; Max-Age=0"));
            }
            Ok(None)
        }
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
/// (a quarter of the GeoJSON's bytes, and no decimal numbers to parse), as the browser
/// holds it (it can go to the layer worker without passing through the Wasm's memory);
/// the browser revalidates it by ETag.
pub async fn layer_bytes(layer: LayerName) -> Result<js_sys::ArrayBuffer, ApiError> {
    let response = Request::get(&format!("/api/v1/layers/{}?format=compact", layer.as_str()))
        .send()
        .await
        .map_err(network)?;
    if !response.ok() {
        return Err(refusal(response).await);
    }
    let failed = |e: wasm_bindgen::JsValue| ApiError::Network(format!("{e:?}"));
    let raw = web_sys::Response::from(response);
    let bytes = wasm_bindgen_futures::JsFuture::from(raw.array_buffer().map_err(failed)?)
        .await
        .map_err(failed)?;
    Ok(wasm_bindgen::JsCast::unchecked_into(bytes))
}

/// The layer, fetched and decoded ([`decode_layer`]).
pub async fn layer(layer: LayerName) -> Result<RawLayer, ApiError> {
    let bytes = layer_bytes(layer).await?;
    decode_layer(&js_sys::Uint8Array::new(&bytes).to_vec()).await
}

/// Decodes a compact layer on the page's thread, a slice of the shapes per task with
/// the browser let in between (a layer of 100,000 buildings would otherwise keep input
/// waiting); then the properties.
pub async fn decode_layer(bytes: &[u8]) -> Result<RawLayer, ApiError> {
    let bad = |e: linli_domain::compact::DecodeError| ApiError::Network(e.to_string());
    let mut decoding = linli_domain::compact::Decoding::start(bytes).map_err(bad)?;
    while !crate::timing::measured("linli: layer decoded", || decoding.shapes(DECODE_PER_TASK))
        .map_err(bad)?
    {
        crate::timing::yield_to_browser().await;
    }
    crate::timing::yield_to_browser().await;
    crate::timing::measured("linli: layer decoded", || decoding.finish()).map_err(bad)
}

/// `GET` a JSON answer.
async fn get<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    read(Request::get(url).send().await.map_err(network)?).await
}

/// `POST` a JSON body, read a JSON answer.
async fn post<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> Result<T, ApiError> {
    let request = Request::post(url).json(body).map_err(network)?;
    read(request.send().await.map_err(network)?).await
}

/// The header that tells the server when a change was made on this device (RFC 3339),
/// for one the outbox sends later.
const PRESSED_AT: &str = "Linli-Pressed-At";

/// A `POST` to `url` saying when it was pressed, if known.
fn post_pressed(url: &str, pressed_at: Option<Timestamp>) -> gloo_net::http::RequestBuilder {
    let request = Request::post(url);
    match pressed_at {
        Some(at) => request.header(PRESSED_AT, &at.to_string()),
        None => request,
    }
}

/// `POST` a JSON body made at `pressed_at`, read the JSON answer as it is (the
/// outbox's changes).
pub async fn post_json(
    url: &str,
    body: &impl Serialize,
    pressed_at: Option<Timestamp>,
) -> Result<Answer, ApiError> {
    let request = post_pressed(url, pressed_at).json(body).map_err(network)?;
    read_answer(request.send().await.map_err(network)?).await
}

/// `POST` a photo kept as a `data:` URL (`data:image/jpeg;base64,…`) as the raw
/// body, taken at `pressed_at`; read the JSON answer (the outbox's photos).
pub async fn post_data_url(
    url: &str,
    data_url: &str,
    pressed_at: Option<Timestamp>,
) -> Result<Answer, ApiError> {
    // Refused rather than a network error, so that the outbox lists it instead of
    // trying it forever.
    let damaged = || ApiError::Refused {
        status: 422,
        body: Some(ErrorBody {
            error: linli_domain::ErrorDetail {
                allowed: Vec::new(),
                code: "damaged".into(),
                message: "the photo kept on this device is damaged".into(),
            },
        }),
    };
    let (content_type, base64) = data_url
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(";base64,"))
        .ok_or_else(damaged)?;
    // `atob` gives one char per byte.
    let binary = web_sys::window()
        .ok_or_else(damaged)?
        .atob(base64)
        .map_err(|_| damaged())?;
    let bytes: Vec<u8> = binary.chars().map(|c| c as u8).collect();
    let request = post_pressed(url, pressed_at)
        .header("Content-Type", content_type)
        .body(js_sys::Uint8Array::from(bytes.as_slice()))
        .map_err(network)?;
    read_answer(request.send().await.map_err(network)?).await
}

/// `DELETE`, read a JSON answer.
async fn delete<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    read(Request::delete(url).send().await.map_err(network)?).await
}

/// `POST /api/v1/patrols/units/{unit}/run`: the unit sets out on a route; the run.
pub async fn start_run(
    unit: &str,
    start: &linli_domain::patrol::StartRun,
) -> Result<linli_domain::patrol::PatrolRun, ApiError> {
    post(&format!("/api/v1/patrols/units/{unit}/run"), start).await
}

/// `DELETE /api/v1/patrols/units/{unit}/run`: the unit is back (with why it missed
/// checkpoints, if it did); the run with its coverage.
pub async fn end_run(
    unit: &str,
    end: &linli_domain::patrol::EndRun,
) -> Result<linli_domain::patrol::PatrolRun, ApiError> {
    let request = Request::delete(&format!("/api/v1/patrols/units/{unit}/run"))
        .json(end)
        .map_err(network)?;
    read(request.send().await.map_err(network)?).await
}

/// `POST /api/v1/drills`: a commander starts a drill at a home.
pub async fn start_drill(
    start: &linli_domain::drill::StartDrill,
) -> Result<linli_domain::drill::Drill, ApiError> {
    post("/api/v1/drills", start).await
}

/// `DELETE /api/v1/drills/{id}`: the drill ends, its alert and case with it.
pub async fn end_drill(id: i64) -> Result<linli_domain::drill::Drill, ApiError> {
    delete(&format!("/api/v1/drills/{id}")).await
}

/// `GET /api/v1/notices`: the public notices in force.
pub async fn notices() -> Result<Vec<Notice>, ApiError> {
    get("/api/v1/notices").await
}

/// `POST /api/v1/notices`: publishes `{title, body, until?}`.
pub async fn publish_notice(notice: &NoticeRequest) -> Result<Notice, ApiError> {
    post("/api/v1/notices", notice).await
}

/// `DELETE /api/v1/notices/{id}`: takes a notice off the public page.
pub async fn withdraw_notice(id: i64) -> Result<Notice, ApiError> {
    delete(&format!("/api/v1/notices/{id}")).await
}

/// `GET /api/v1/snapshot`: homes, cases, routes and patrol units the signed-in user may see.
pub async fn snapshot() -> Result<Snapshot, ApiError> {
    get("/api/v1/snapshot").await
}

/// `GET /api/v1/stats`: the command screen's charts.
pub async fn stats() -> Result<linli_domain::api::Activity, ApiError> {
    get("/api/v1/stats").await
}

/// `GET /api/v1/public/status`: aggregates anybody may see.
pub async fn public_status() -> Result<PublicStatus, ApiError> {
    get("/api/v1/public/status").await
}

/// `GET /api/v1/alerts/{id}/deliveries`: who was notified of an alert, by what, when.
pub async fn deliveries(alert: i64) -> Result<Vec<linli_domain::notify::Delivery>, ApiError> {
    get(&format!("/api/v1/alerts/{alert}/deliveries")).await
}

/// `GET /api/v1/alerts/{id}/escalation`: the case escalating the alert would open.
pub async fn escalation_draft(
    alert: i64,
) -> Result<linli_domain::alerts::EscalationDraft, ApiError> {
    get(&format!("/api/v1/alerts/{alert}/escalation")).await
}

/// `GET /api/v1/cases`: the cases the caller may see (a partner's: its organisation's).
pub async fn cases() -> Result<Vec<linli_domain::cases::CaseSummary>, ApiError> {
    get("/api/v1/cases").await
}

/// Where a case's photo is (its thumbnail with `thumb`).
pub fn photo_url(case: i64, photo: i64, thumb: bool) -> String {
    let size = if thumb { "?size=thumb" } else { "" };
    format!("/api/v1/cases/{case}/photos/{photo}{size}")
}

/// `GET /api/v1/dispatches/candidates?<query>`: the units that could go, free and
/// nearest first.
pub async fn dispatch_candidates(
    query: &str,
) -> Result<Vec<linli_domain::dispatch::Candidate>, ApiError> {
    get(&format!("/api/v1/dispatches/candidates?{query}")).await
}

/// `GET /api/v1/cases/{id}`: the case with its timeline.
pub async fn case(id: i64) -> Result<Case, ApiError> {
    get(&format!("/api/v1/cases/{id}")).await
}
