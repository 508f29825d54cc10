//! Extractors that refuse bad input with the JSON error body instead of axum's plain
//! text: [`ApiJson`] for bodies, [`ApiQuery`] for query strings, [`ApiPath`] for path
//! segments; and [`check_text`] and [`checked_note`] for the length of what people
//! write (the limits are `linli_domain::limits`, which the app's fields use too).

use crate::error::AppError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use linli_domain::limits::NOTE_CHARS;

/// A JSON request body (or response); malformed, oversized or mistyped bodies become
/// `400`, `413`, `415` or `422` with a message that says what was wrong.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// An optional JSON body (`Option<ApiJson<T>>`): none when the request has no body;
/// a body that is not declared JSON is refused (`415`), never silently ignored.
impl<T, S> axum::extract::OptionalFromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(
        req: axum::extract::Request,
        state: &S,
    ) -> Result<Option<Self>, AppError> {
        let declared = req.headers().contains_key(axum::http::header::CONTENT_TYPE);
        if declared {
            let axum::Json(value) =
                <axum::Json<T> as FromRequest<S>>::from_request(req, state).await?;
            return Ok(Some(ApiJson(value)));
        }
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::BadRequest(format!("cannot read the body: {e}")))?;
        if body.iter().all(u8::is_ascii_whitespace) {
            Ok(None)
        } else {
            Err(AppError::UnsupportedMediaType(
                "send the body as JSON with `Content-Type: application/json`".into(),
            ))
        }
    }
}

/// Query-string parameters; bad ones become `400` naming the parameter.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// Path segments (an id); one that does not parse (`/alerts/abc`, an id beyond 2⁶³)
/// names nothing there is: `404`, saying why.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        AppError::NotFound(format!("no such resource: {}", rejection.body_text()))
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        let message = rejection.body_text();
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::PayloadTooLarge(format!("the request body is too large: {message}"))
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType(
                "send the body as JSON with `Content-Type: application/json`".into(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY => AppError::Unprocessable(message),
            _ => AppError::BadRequest(message),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::BadRequest(rejection.body_text())
    }
}

/// Refuses with `422` a position that is not `[longitude, latitude]` in degrees.
pub fn check_position(position: linli_domain::place::Position) -> Result<(), AppError> {
    let [lon, lat] = position;
    if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) {
        Ok(())
    } else {
        Err(AppError::Unprocessable(format!(
            "position must be [longitude, latitude] in degrees, not [{lon}, {lat}]"
        )))
    }
}

/// Refuses `text` (named `what` in the message) when it is longer than `max` characters.
pub fn check_text(what: &str, text: &str, max: usize) -> Result<(), AppError> {
    if text.chars().count() > max {
        return Err(AppError::Unprocessable(format!(
            "{what} may be at most {max} characters"
        )));
    }
    Ok(())
}

/// A note on an alert, a task or a check-in: at most [`NOTE_CHARS`], trimmed.
pub fn checked_note(note: &str) -> Result<String, AppError> {
    check_text("a note", note, NOTE_CHARS)?;
    Ok(note.trim().to_string())
}
