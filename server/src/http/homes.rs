//! `/api/v1/homes`: monitored elder homes with their sensors' health. Staff only, and
//! a grid worker sees only their own communities' homes.

use super::AppState;
use crate::auth::access::Caller;
use crate::error::ApiResult;
use axum::extract::State;
use axum::Json;
use linli_domain::care::Home;
use linli_domain::ErrorBody;

/// The homes the caller may see, with their sensors.
#[utoipa::path(get, path = "/homes", tag = "homes",
    responses(
        (status = 200, description = "Homes with sensors; personal data, never public", body = [Home]),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Home>>> {
    Ok(Json(
        state
            .store
            .homes(caller.community_scope().as_deref())
            .await?,
    ))
}
