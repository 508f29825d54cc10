//! The HTTP service: every route, who may call it, and the layers around them.
//!
//! [`router`] is the one table of routes. API routes are grouped by their
//! [`Access`] level; each group above `Anyone` gets the `enforce` middleware, and the
//! generated OpenAPI document states each operation's access, so the description, the
//! routes and their protection come from the same place and cannot drift apart.

pub mod alerts;
pub mod care;
pub mod cases;
pub mod dispatches;
pub mod drills;
pub mod events;
pub mod extract;
pub mod homes;
pub mod ingest;
pub mod internal;
pub mod layers;
pub mod notices;
pub mod notify;
pub mod open311;
pub mod ops;
pub mod patrols;
pub mod public;
pub mod security;
pub mod session;
pub mod snapshot;
pub mod stats;
pub mod stream;

use crate::auth::access::{enforce, Access};
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::sign_in_limits::Policy;
use crate::store::DynStore;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use linli_domain::Face;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest request body the API reads (sign-in, case notes, …). Ingest has its own.
pub const API_BODY_LIMIT: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    /// The limits on failed sign-ins (counted in the store, for every server).
    pub sign_in_policy: Policy,
    /// Password hashes running at once.
    pub hashing: Arc<crate::auth::password::Hashing>,
    /// Whose `X-Forwarded-For` names the client.
    pub proxies: Arc<crate::auth::address::TrustedProxies>,
    pub metrics: Arc<Metrics>,
    /// Serialised base-map layers, per version.
    pub layers: Arc<layers::LayerCache>,
    /// The public figures, worked out at most every half minute.
    pub public: Arc<public::PublicCache>,
    /// Mark the session cookie `Secure` (when served over HTTPS).
    pub secure_cookies: bool,
    /// The rules engine: readings in, alert actions.
    pub engine: crate::engine::EngineHandle,
    /// The event log as it grows, for the live stream.
    pub live: Arc<crate::live::Live>,
    /// Device and gateway tokens already looked up.
    pub credentials: Arc<ingest::Credentials>,
    /// Says when the server stops (live streams end then).
    pub shutdown: crate::listen::Shutdown,
    /// What the sessions of live streams allow now.
    pub session_checks: Arc<stream::SessionChecks>,
    /// The MQTT connections, when readings come from a broker too.
    pub mqtt: Option<Arc<crate::mqtt::MqttStatus>>,
    /// Community and building names, for what alerts' cases and messages say.
    pub places: Arc<crate::places::PlaceNames>,
    /// Whether this server runs the rules or forwards to the one that does.
    pub cluster: crate::cluster::Cluster,
}

/// The routes of `/api/v1`, each under its access level, and their OpenAPI document.
fn api(state: &AppState) -> (Router<AppState>, OpenApi) {
    let anyone = OpenApiRouter::new()
        .routes(routes!(session::sign_in, session::sign_out))
        .routes(routes!(layers::layer))
        .routes(routes!(public::status));
    // Ingest reads its body itself, after the token (`ingest::INGEST_BODY_LIMIT`).
    let devices = OpenApiRouter::new().routes(routes!(ingest::ingest));
    let signed_in = OpenApiRouter::new()
        .routes(routes!(session::who_am_i))
        .routes(routes!(cases::list, cases::create))
        .routes(routes!(cases::get_one))
        .routes(routes!(cases::step))
        .routes(routes!(cases::add_photo))
        .routes(routes!(cases::photo));
    let staff = OpenApiRouter::new()
        .routes(routes!(homes::list))
        .routes(routes!(patrols::routes))
        .routes(routes!(patrols::units))
        .routes(routes!(patrols::start_run, patrols::end_run))
        .routes(routes!(patrols::position))
        .routes(routes!(snapshot::snapshot))
        .routes(routes!(stats::stats))
        .routes(routes!(notices::list, notices::publish))
        .routes(routes!(notices::withdraw))
        .routes(routes!(drills::list, drills::start))
        .routes(routes!(drills::end))
        .routes(routes!(alerts::list))
        .routes(routes!(alerts::get_one))
        .routes(routes!(alerts::acknowledge))
        .routes(routes!(alerts::resolve))
        .routes(routes!(alerts::escalate))
        .routes(routes!(alerts::escalation_draft))
        .routes(routes!(notify::deliveries))
        .routes(routes!(dispatches::list, dispatches::create))
        .routes(routes!(dispatches::candidates))
        .routes(routes!(dispatches::step))
        .routes(routes!(notify::roster, notify::set_roster))
        .routes(routes!(care::district, care::set_district))
        .routes(routes!(care::home, care::set_home))
        .routes(routes!(care::check_in))
        .routes(routes!(stream::stream));
    let commander = OpenApiRouter::new()
        .routes(routes!(events::list))
        .routes(routes!(notify::channels, notify::add_channel))
        .routes(routes!(notify::delete_channel));

    let (router, mut openapi) = guard(state, Access::Anyone, anyone)
        .merge(guard(state, Access::SignedIn, signed_in))
        .merge(guard(state, Access::Staff, staff))
        .merge(guard(state, Access::Commander, commander))
        .merge(guard(state, Access::DeviceToken, devices))
        .split_for_parts();
    describe(&mut openapi);
    let document = Arc::new(openapi.clone());
    let router = router
        .route(
            "/openapi.json",
            get(move || {
                let document = document.clone();
                async move { axum::Json(document.as_ref().clone()) }
            }),
        )
        .fallback(api_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT));
    (router, openapi)
}

/// Puts a group of routes behind `access`, and says so in their API description.
fn guard(
    state: &AppState,
    access: Access,
    routes: OpenApiRouter<AppState>,
) -> OpenApiRouter<AppState> {
    let mut routes = if matches!(access, Access::Anyone | Access::DeviceToken) {
        routes
    } else {
        routes.route_layer(middleware::from_fn_with_state(
            state.clone(),
            move |State(state): State<AppState>, request, next| {
                enforce(state.store, access, request, next)
            },
        ))
    };
    for item in routes.get_openapi_mut().paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            document_refusals(operation, access);
            let text = operation.description.take().unwrap_or_default();
            operation.description = Some(format!("{text}\n\n{}", access.describe()).trim().into());
            let scheme = match access {
                Access::Anyone => None,
                Access::DeviceToken => Some("device_token"),
                Access::SignedIn | Access::Staff | Access::Commander => Some("session_cookie"),
            };
            if let Some(scheme) = scheme {
                operation.security =
                    Some(vec![SecurityRequirement::new(scheme, Vec::<String>::new())]);
            }
        }
    }
    routes
}

/// Adds to an operation the refusals any operation of its kind can answer, where its
/// own description left them out: a generated client must know every status it may
/// get. (Each refusal has the error body.)
fn document_refusals(operation: &mut utoipa::openapi::path::Operation, access: Access) {
    use utoipa::openapi::path::ParameterIn;
    let has_body = operation.request_body.is_some();
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has_path = parameters
        .iter()
        .any(|p| p.parameter_in == ParameterIn::Path);
    let has_query = parameters
        .iter()
        .any(|p| p.parameter_in == ParameterIn::Query);
    let mut refusals: Vec<(&str, &str)> = vec![
        (
            "408",
            "The request was not complete within the server's time limit",
        ),
        (
            "503",
            "The server is busy or its store unavailable; try again",
        ),
    ];
    if has_body || has_query || has_path {
        refusals.push(("400", "A path, query or body that cannot be read"));
    }
    if has_path {
        refusals.push(("404", "No such resource"));
    }
    if has_body {
        refusals.push(("413", "The body is too large"));
        refusals.push((
            "415",
            "The body is not of a media type this operation reads",
        ));
        refusals.push(("422", "The body does not describe a valid request"));
    }
    match access {
        Access::Anyone => {}
        Access::DeviceToken => refusals.push(("401", "No valid device or gateway token")),
        Access::SignedIn | Access::Staff | Access::Commander => {
            refusals.push(("401", "Not signed in"));
            refusals.push(("403", "Signed in, but not allowed this"));
        }
    }
    for (status, description) in refusals {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| {
                utoipa::openapi::ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        utoipa::openapi::Content::new(Some(
                            utoipa::openapi::Ref::from_schema_name("ErrorBody"),
                        )),
                    )
                    .into()
            });
    }
}

/// Title, version and the session cookie scheme of the API description.
fn describe(openapi: &mut OpenApi) {
    openapi.info.title = "Linli API".into();
    openapi.info.version = env!("CARGO_PKG_VERSION").into();
    openapi.info.description = Some(
        "The situational-awareness API of a street office: places, elder homes, alerts, \
         cases and patrols. Errors are `{\"error\":{\"code\":…,\"message\":…}}`."
            .into(),
    );
    openapi.servers = Some(vec![utoipa::openapi::Server::new("/api/v1")]);
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "device_token",
        SecurityScheme::Http(utoipa::openapi::security::Http::new(
            utoipa::openapi::security::HttpAuthScheme::Bearer,
        )),
    );
    components.add_security_scheme(
        "session_cookie",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
            crate::auth::token::COOKIE_NAME,
        ))),
    );
}

/// The folder of `static_dir` that holds the public status page's own build (`make app`
/// builds it apart, so that residents on phones download only that page).
pub const PUBLIC_PAGE_DIR: &str = "public";

/// The pages the built app consists of, relative to `static_dir`: the staff app (every
/// route but `/public`) and the public status page.
pub fn app_pages() -> [PathBuf; 2] {
    [
        PathBuf::from("index.html"),
        [PUBLIC_PAGE_DIR, "index.html"].iter().collect(),
    ]
}

/// The whole service: operations endpoints, the API, and the app's static files when
/// `static_dir` is given: `/public` answered with the public page, any other path that
/// is not a file with the staff app's `index.html` (its router takes it from there).
pub fn router(
    state: AppState,
    static_dir: Option<PathBuf>,
    request_limit: Duration,
) -> (Router, OpenApi) {
    let (api, openapi) = api(&state);
    let policy: Arc<str> = security::content_security_policy(static_dir.as_deref()).into();
    let mut app = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route(
            "/internal/v1/engine",
            post(internal::engine).layer(DefaultBodyLimit::max(internal::INTERNAL_BODY_LIMIT)),
        )
        .route("/open311/v2/services.json", get(open311::services))
        .route("/open311/v2/requests.json", get(open311::requests))
        .nest("/api/v1", api)
        .route("/api", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found));
    app = match static_dir {
        Some(dir) => {
            let [staff, public] = app_pages().map(|page| dir.join(page));
            // `make app` writes a `.gz` beside each asset: sent as is, not compressed
            // again per request (the Wasm is most of a first visit's bytes).
            let assets = ServeDir::new(dir).precompressed_gzip();
            app.route_service(Face::Public.path(), ServeFile::new(&public))
                .route_service(&format!("{}/", Face::Public.path()), ServeFile::new(public))
                .fallback_service(assets.fallback(ServeFile::new(staff)))
        }
        None => app.fallback(api_not_found),
    };
    let app = app
        .layer(middleware::from_fn(security::same_origin_writes))
        .layer(middleware::from_fn_with_state(policy, security::headers))
        .layer(middleware::from_fn_with_state(request_limit, deadline))
        .layer(middleware::from_fn_with_state(state.clone(), track_metrics))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .layer(CompressionLayer::new())
        // 5xx are not logged per response here: internal errors log themselves (with a
        // reference, `error.rs`), and a flood answered `503` must not flood the log.
        .layer(TraceLayer::new_for_http().on_failure(()))
        .with_state(state);
    (app, openapi)
}

/// The path of the live stream, whose answer is meant to last.
const STREAM_PATH: &str = "/api/v1/stream";

/// Answers `408` to a request not answered within `limit` (the live stream excepted):
/// a client trickling its body, or a handler stuck on a store, holds nothing for long.
async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    if request.uri().path() == STREAM_PATH {
        return next.run(request).await;
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => AppError::TimedOut(format!(
            "the request was not complete within {} seconds",
            limit.as_secs()
        ))
        .into_response(),
    }
}

async fn api_not_found() -> AppError {
    AppError::NotFound("there is no such endpoint; see /api/v1/openapi.json".into())
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed(
        "this endpoint does not take that method; see /api/v1/openapi.json".into(),
    )
}

/// Counts every request by method, matched route and status, with its latency. The
/// labels come from closed sets (the methods HTTP defines, the route table), so that
/// made-up methods or paths cannot grow `/metrics` without bound.
async fn track_metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method: &'static str = match request.method().as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "static".to_string());
    let response = next.run(request).await;
    state.metrics.record_request(
        method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response.into_response()
}
