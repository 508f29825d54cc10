//! `/api/v1/cases`: residents' problems and where they stand. Staff only; a grid
//! worker sees only their own communities' cases.

use super::extract::ApiQuery;
use super::AppState;
use crate::auth::access::Caller;
use crate::error::{ApiResult, AppError};
use crate::store::CaseFilter;
use axum::extract::State;
use axum::Json;
use linli_domain::cases::{CaseStage, CaseSummary};
use linli_domain::{CommunityId, ErrorBody};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CasesQuery {
    /// Only cases at this stage: reported, identified, negotiating, joint-handling,
    /// consolidating or closed.
    pub stage: Option<String>,
    /// Only this community's cases.
    pub community: Option<String>,
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
    let stage = query
        .stage
        .map(|s| {
            CaseStage::parse(&s).ok_or_else(|| {
                let known: Vec<&str> = CaseStage::ALL.iter().map(|s| s.as_str()).collect();
                AppError::BadRequest(format!(
                    "unknown stage `{s}`; use one of {}",
                    known.join(", ")
                ))
            })
        })
        .transpose()?;
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
    };
    Ok(Json(state.store.cases(&filter).await?))
}
