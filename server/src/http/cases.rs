//! `/api/v1/cases`: residents' problems and where they stand, through the article's
//! loop. A grid worker sees and changes only their own communities' cases, a viewer
//! only reads. A partner organisation's account sees only the cases its organisation
//! handles (responsible or cooperating), and only adds notes to them and marks its own
//! part done; it opens no case. Which steps are allowed where a case stands is
//! `linli_domain::cases`'s to say.
//!
//! Every case a request touches is checked, not only the one in the path: the case a
//! duplicate merges into (`duplicate_of`) too. The cases a case names
//! (`possible_duplicates`, `recurs`) are of its own community only, so whoever may see
//! a case may open them.

use super::extract::{check_position, check_text, ApiJson, ApiPath, ApiQuery};
use super::AppState;
use crate::alerts::{ActError, Request};
use crate::auth::access::Caller;
use crate::engine::EngineActError;
use crate::error::{ApiResult, AppError};
use crate::photos;
use crate::store::{Actor, CaseFilter, Change, NewPhoto};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use linli_domain::alerts::AlertOutcome;
use linli_domain::cases::{
    check_parties, Case, CaseCategory, CaseOutcome, CaseSource, CaseStage, CaseStep, CaseSummary,
    NewCase, PhotoKind,
};
use linli_domain::limits::{CASE_TEXT_CHARS, CASE_TITLE_CHARS};
use linli_domain::{CommunityId, ErrorBody};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CasesQuery {
    /// Only cases at this stage: reported, identified, negotiating, joint-handling,
    /// consolidating or closed.
    #[param(value_type = Option<linli_domain::cases::CaseStage>)]
    pub stage: Option<String>,
    /// Only this community's cases.
    #[param(pattern = "^[a-z0-9][a-z0-9-]{0,31}$")]
    pub community: Option<String>,
    /// Only cases of this category: environment, facility-safety, elder-care, dispute,
    /// street-order, infrastructure or other.
    #[param(value_type = Option<linli_domain::cases::CaseCategory>)]
    pub category: Option<String>,
    /// `true`: only cases still open after their due time; `false`: only the others.
    pub overdue: Option<bool>,
}

/// A named value of a query parameter, or `400` listing the known ones.
fn parse_named<T: Copy>(
    what: &str,
    value: Option<String>,
    parse: fn(&str) -> Option<T>,
    all: &[T],
    name: fn(T) -> &'static str,
) -> ApiResult<Option<T>> {
    value
        .map(|v| {
            parse(&v).ok_or_else(|| {
                let known: Vec<&str> = all.iter().map(|k| name(*k)).collect();
                AppError::BadRequest(format!(
                    "unknown {what} `{v}`; use one of {}",
                    known.join(", ")
                ))
            })
        })
        .transpose()
}

/// Cases, newest first.
#[utoipa::path(get, path = "/cases", tag = "cases", params(CasesQuery),
    responses(
        (status = 200, description = "Cases, newest first", body = [CaseSummary]),
        (status = 400, description = "Unknown stage or malformed community", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Another community than the grid worker's", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<CasesQuery>,
) -> ApiResult<Json<Vec<CaseSummary>>> {
    let stage = parse_named(
        "stage",
        query.stage,
        CaseStage::parse,
        CaseStage::ALL,
        CaseStage::as_str,
    )?;
    let category = parse_named(
        "category",
        query.category,
        CaseCategory::parse,
        CaseCategory::ALL,
        CaseCategory::as_str,
    )?;
    let community = query
        .community
        .map(|c| CommunityId::parse(c).map_err(|e| AppError::BadRequest(e.to_string())))
        .transpose()?;
    if let Some(community) = &community {
        caller.check_community(community)?;
    }
    let (communities, party) = caller.case_scope();
    let filter = CaseFilter {
        communities,
        community,
        stage,
        category,
        overdue: query.overdue,
        party,
    };
    Ok(Json(state.store.cases(&filter).await?))
}

/// The caller as the author of a change to a case, when it was done.
fn changer(caller: &Caller) -> ApiResult<Change> {
    Ok(caller.change(caller.author("change cases")?))
}

/// Opens a case at `reported`, with its due time from category and priority.
#[utoipa::path(post, path = "/cases", tag = "cases", request_body = NewCase,
    responses(
        (status = 201, description = "The new case with its timeline", body = Case),
        (status = 403, description = "A viewer, or another community than the grid worker's", body = ErrorBody),
        (status = 422, description = "A missing or bad field, or an unknown community", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewCase>,
) -> ApiResult<(StatusCode, Json<Case>)> {
    let change = changer(&caller)?;
    if caller.user.role == linli_domain::Role::Partner {
        return Err(AppError::Forbidden(
            "partners work on the cases assigned to them; the street office opens cases".into(),
        ));
    }
    caller.check_community(&new.community)?;
    let mut new = new;
    new.title = new.title.trim().to_string();
    if new.title.is_empty() {
        return Err(AppError::Unprocessable("a case needs a title".into()));
    }
    check_text("the title", &new.title, CASE_TITLE_CHARS)?;
    check_text("the description", &new.description, CASE_TEXT_CHARS)?;
    check_position(new.position)?;
    check_parties(new.responsible, &new.cooperating).map_err(AppError::Unprocessable)?;
    if new.patrol_run.is_some() && new.source != CaseSource::Patrol {
        return Err(AppError::Unprocessable(format!(
            "a case found on a patrol run has the source `patrol`, not `{}`",
            new.source.as_str()
        )));
    }
    let scope = caller.community_scope();
    let case = state
        .store
        .create_case(&change, &new, scope.as_deref())
        .await?;
    state.live.wake();
    Ok((StatusCode::CREATED, Json(case)))
}

async fn visible(state: &AppState, caller: &Caller, id: i64) -> ApiResult<Case> {
    let case = state
        .store
        .case(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no case {id}")))?;
    check_case(caller, &case.summary)?;
    Ok(case)
}

/// Refuses with `403` a case the caller may not see: another community's, or for a
/// partner one its organisation does not handle.
pub fn check_case(caller: &Caller, case: &CaseSummary) -> ApiResult<()> {
    caller.check_community(&case.community)?;
    match (caller.user.role, caller.partner_org()) {
        (linli_domain::Role::Partner, Some(org)) if case.handling.handles(org) => Ok(()),
        (linli_domain::Role::Partner, org) => Err(AppError::Forbidden(format!(
            "case {} is not assigned to `{}`",
            case.id,
            org.map_or("your organisation", |o| o.as_str())
        ))),
        _ => Ok(()),
    }
}

/// One case with its timeline and the stages it may move to.
#[utoipa::path(get, path = "/cases/{id}", tag = "cases",
    params(("id" = i64, Path, description = "Case id")),
    responses(
        (status = 200, description = "The case", body = Case),
        (status = 403, description = "Outside the caller's communities", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Case>> {
    Ok(Json(visible(&state, &caller, id).await?))
}

/// A step on a case: `{"action": "advance", "to": "identified"}`, `close` with an
/// `outcome`, `reopen`, `assign` (`responsible`, `cooperating`) or `note`; each may
/// carry a `note`.
#[utoipa::path(post, path = "/cases/{id}/events", tag = "cases",
    params(("id" = i64, Path, description = "Case id")),
    request_body = CaseStep,
    responses(
        (status = 200, description = "The case after the step", body = Case),
        (status = 403, description = "A viewer, or outside the caller's communities", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 409, description = "Not allowed where the case stands; the message says what is", body = ErrorBody),
        (status = 422, description = "A bad step", body = ErrorBody),
    ))]
pub async fn step(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(step): ApiJson<CaseStep>,
) -> ApiResult<Json<Case>> {
    let change = changer(&caller)?;
    let (_, for_party) = caller.case_scope();
    if caller.user.role == linli_domain::Role::Partner {
        match (&step, for_party) {
            (CaseStep::Note { .. }, _) => {}
            (CaseStep::PartDone { party, .. }, Some(org)) if *party == org => {}
            (CaseStep::PartDone { party, .. }, _) => {
                return Err(AppError::Forbidden(format!(
                    "a partner marks only its own organisation's part done, not `{}`'s",
                    party.as_str()
                )))
            }
            _ => {
                return Err(AppError::Forbidden(
                    "a partner adds notes and photos and marks its part done; the street \
                     office moves, assigns and closes cases"
                        .into(),
                ))
            }
        }
    }
    check_text("a note", step.note(), CASE_TEXT_CHARS)?;
    if matches!(&step, CaseStep::Note { note } if note.trim().is_empty()) {
        return Err(AppError::Unprocessable("a note needs some text".into()));
    }
    if let CaseStep::Assign {
        responsible,
        cooperating,
        ..
    } = &step
    {
        check_parties(Some(*responsible), cooperating).map_err(AppError::Unprocessable)?;
    }
    if matches!(
        &step,
        CaseStep::Close {
            outcome: CaseOutcome::DrillEnded,
            ..
        }
    ) {
        return Err(AppError::Unprocessable(
            "only ending its drill closes a case as `drill-ended`: DELETE /api/v1/drills/{id}"
                .into(),
        ));
    }
    if let CaseStep::Close {
        outcome,
        duplicate_of: Some(_),
        ..
    } = &step
    {
        if *outcome != CaseOutcome::Duplicate {
            return Err(AppError::Unprocessable(
                "duplicate_of goes with the outcome `duplicate`".into(),
            ));
        }
    }
    visible(&state, &caller, id).await?;
    if let CaseStep::Close {
        duplicate_of: Some(original),
        ..
    } = &step
    {
        // Merging writes on the original's timeline: the caller must be allowed to see
        // it (an unknown one is the store's `422`). Cases never change community.
        if let Some(original) = state.store.case(*original).await? {
            check_case(&caller, &original.summary)?;
        }
    }
    let case = state.store.step_case(&change, id, &step, for_party).await?;
    state.live.wake();
    if let (CaseStep::Close { outcome, note, .. }, Some(alert)) =
        (&step, case.summary.handling.alert_id)
    {
        resolve_alert(&state, &caller, alert, id, *outcome, note).await;
    }
    Ok(Json(case))
}

/// A case opened from an alert was closed: the alert is resolved with it, unless the
/// case went elsewhere (a duplicate, transferred) or the alert was resolved already.
/// The alert is a second object too: resolved only within the caller's communities.
async fn resolve_alert(
    state: &AppState,
    caller: &Caller,
    alert: i64,
    case: i64,
    outcome: CaseOutcome,
    note: &str,
) {
    if matches!(
        outcome,
        CaseOutcome::Duplicate | CaseOutcome::Transferred | CaseOutcome::DrillEnded
    ) {
        return;
    }
    let request = Request::Resolve {
        outcome: AlertOutcome::Handled,
        note: format!("case {case} closed ({}) {note}", outcome.as_str())
            .trim()
            .to_string(),
    };
    let by = Actor::User(caller.user.username.clone());
    match state
        .engine
        .act(
            alert,
            request,
            by,
            caller.done_at(),
            caller.community_scope(),
        )
        .await
    {
        Ok(_) | Err(EngineActError::Act(ActError::Refused(_))) => {}
        Err(e) => tracing::warn!("case {case} closed, but its alert {alert} was not resolved: {e}"),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PhotoQuery {
    /// before (default), during or after the work.
    #[param(value_type = Option<linli_domain::cases::PhotoKind>)]
    pub kind: Option<String>,
    /// A line about it (up to 200 characters).
    pub note: Option<String>,
}

/// The bytes of an uploaded image.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ImageUpload(#[allow(dead_code)] Vec<u8>);

/// Adds a photo to a case: the body is the image itself (`Content-Type: image/jpeg`,
/// `image/png` or `image/webp`, at most 10 MiB). The server decodes it, turns it
/// upright and keeps only its own re-encoded JPEG (no EXIF, no GPS) and a thumbnail.
/// Staff and the case's partners; not on a closed case.
#[utoipa::path(post, path = "/cases/{id}/photos", tag = "cases",
    params(("id" = i64, Path, description = "Case id"), PhotoQuery),
    request_body(content = ImageUpload, content_type = "image/jpeg"),
    responses(
        (status = 201, description = "The case with its photos", body = Case),
        (status = 403, description = "A viewer, another community's case, or a partner's case of another organisation", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 409, description = "The case is closed", body = ErrorBody),
        (status = 413, description = "Larger than 10 MiB", body = ErrorBody),
        (status = 415, description = "Not declared as a JPEG, PNG or WebP image", body = ErrorBody),
        (status = 422, description = "Not an image that can be read, or too many pixels", body = ErrorBody),
    ))]
pub async fn add_photo(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<PhotoQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> ApiResult<(StatusCode, Json<Case>)> {
    let change = changer(&caller)?;
    let kind = parse_named(
        "kind",
        query.kind,
        PhotoKind::parse,
        PhotoKind::ALL,
        PhotoKind::as_str,
    )?
    .unwrap_or(PhotoKind::Before);
    let note = query.note.unwrap_or_default().trim().to_string();
    if note.chars().count() > CASE_TITLE_CHARS {
        return Err(AppError::BadRequest(format!(
            "a photo's note may be at most {CASE_TITLE_CHARS} characters"
        )));
    }
    let declared = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = declared.split(';').next().unwrap_or_default().trim();
    if !["image/jpeg", "image/png", "image/webp"].contains(&essence.to_ascii_lowercase().as_str()) {
        return Err(AppError::UnsupportedMediaType(format!(
            "send the image itself as image/jpeg, image/png or image/webp, not `{declared}`"
        )));
    }
    // Seen before the upload is read: a case the caller may not touch costs no upload.
    visible(&state, &caller, id).await?;
    let upload = axum::body::to_bytes(body, photos::MAX_UPLOAD_BYTES)
        .await
        .map_err(|_| {
            AppError::PayloadTooLarge(format!(
                "a photo may be at most {} MiB",
                photos::MAX_UPLOAD_BYTES / (1024 * 1024)
            ))
        })?;
    let photo = photos::process(upload.to_vec())
        .await
        .map_err(|e| AppError::Unprocessable(e.to_string()))?;
    let new = NewPhoto {
        kind,
        note,
        width: photo.width,
        height: photo.height,
        image: photo.image,
        thumb: photo.thumb,
    };
    let (_, for_party) = caller.case_scope();
    let case = state
        .store
        .add_case_photo(&change, id, &new, for_party)
        .await?;
    state.live.wake();
    Ok((StatusCode::CREATED, Json(case)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PhotoSize {
    /// `thumb` for the thumbnail (at most 320 pixels a side), `full` (default) for the
    /// photo (at most 2,048).
    #[param(pattern = "^(thumb|full)$")]
    pub size: Option<String>,
}

/// A case's photo, as JPEG. Whoever may see the case.
#[utoipa::path(get, path = "/cases/{id}/photos/{photo}", tag = "cases",
    params(
        ("id" = i64, Path, description = "Case id"),
        ("photo" = i64, Path, description = "Photo id"),
        PhotoSize,
    ),
    responses(
        (status = 200, description = "The photo", content_type = "image/jpeg", body = ImageUpload),
        (status = 403, description = "A case the caller may not see", body = ErrorBody),
        (status = 404, description = "No such case or photo", body = ErrorBody),
    ))]
pub async fn photo(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, photo)): ApiPath<(i64, i64)>,
    ApiQuery(query): ApiQuery<PhotoSize>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let thumb = match query.size.as_deref() {
        None | Some("full") => false,
        Some("thumb") => true,
        Some(other) => {
            return Err(AppError::BadRequest(format!(
                "size is thumb or full, not `{other}`"
            )))
        }
    };
    visible(&state, &caller, id).await?;
    let jpeg = state
        .store
        .case_photo(id, photo, thumb)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("case {id} has no photo {photo}")))?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "image/jpeg"),
            // Photos never change; only this signed-in browser keeps them.
            (
                axum::http::header::CACHE_CONTROL,
                "private, max-age=604800, immutable",
            ),
        ],
        jpeg,
    )
        .into_response())
}
