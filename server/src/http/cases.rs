//! `/api/v1/cases`: residents' problems and where they stand, through the article's
//! loop. Staff only; a grid worker sees and changes only their own communities' cases,
//! a viewer only reads. Which steps are allowed is `linli_domain::cases`'s to say.
//!
//! Every case a request touches is checked, not only the one in the path: the case a
//! duplicate merges into (`duplicate_of`) too. The cases a case names
//! (`possible_duplicates`, `recurs`) are of its own community only, so whoever may see
//! a case may open them.

use super::extract::{check_position, ApiJson, ApiPath, ApiQuery};
use super::AppState;
use crate::alerts::{ActError, Request};
use crate::auth::access::Caller;
use crate::clock::now_ms;
use crate::engine::EngineActError;
use crate::error::{ApiResult, AppError};
use crate::store::{Actor, CaseFilter, Change};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use linli_domain::alerts::AlertOutcome;
use linli_domain::cases::{
    Case, CaseCategory, CaseOutcome, CaseStage, CaseStep, CaseSummary, NewCase,
};
use linli_domain::{CommunityId, ErrorBody};
use serde::Deserialize;

const MAX_TITLE_CHARS: usize = 200;
const MAX_TEXT_CHARS: usize = 4_000;

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
    let filter = CaseFilter {
        communities: caller.community_scope(),
        community,
        stage,
        category,
        overdue: query.overdue,
    };
    Ok(Json(state.store.cases(&filter).await?))
}

/// The caller as the author of a change to a case, now.
fn changer(caller: &Caller) -> ApiResult<Change> {
    Ok(Change::new(caller.author("change cases")?, now_ms()))
}

fn check_text(what: &str, text: &str, max: usize) -> ApiResult<()> {
    if text.chars().count() > max {
        return Err(AppError::Unprocessable(format!(
            "{what} may be at most {max} characters"
        )));
    }
    Ok(())
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
    caller.check_community(&new.community)?;
    let mut new = new;
    new.title = new.title.trim().to_string();
    if new.title.is_empty() {
        return Err(AppError::Unprocessable("a case needs a title".into()));
    }
    check_text("the title", &new.title, MAX_TITLE_CHARS)?;
    check_text("the description", &new.description, MAX_TEXT_CHARS)?;
    check_position(new.position)?;
    let case = state.store.create_case(&change, &new).await?;
    state.live.wake();
    Ok((StatusCode::CREATED, Json(case)))
}

async fn visible(state: &AppState, caller: &Caller, id: i64) -> ApiResult<Case> {
    let case = state
        .store
        .case(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no case {id}")))?;
    caller.check_community(&case.summary.community)?;
    Ok(case)
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
    check_text("a note", step.note(), MAX_TEXT_CHARS)?;
    if matches!(&step, CaseStep::Note { note } if note.trim().is_empty()) {
        return Err(AppError::Unprocessable("a note needs some text".into()));
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
            caller.check_community(&original.summary.community)?;
        }
    }
    let case = state.store.step_case(&change, id, &step).await?;
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
    if matches!(outcome, CaseOutcome::Duplicate | CaseOutcome::Transferred) {
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
        .act(alert, request, by, caller.community_scope())
        .await
    {
        Ok(_) | Err(EngineActError::Act(ActError::Refused(_))) => {}
        Err(e) => tracing::warn!("case {case} closed, but its alert {alert} was not resolved: {e}"),
    }
}
