//! `/api/v1/snapshot`: everything a face needs at load, for the caller's role, with
//! the id of the last event it includes (the live stream resumes after it).

use super::AppState;
use crate::auth::access::Caller;
use crate::error::ApiResult;
use crate::store::{AlertFilter, CaseFilter};
use axum::extract::State;
use axum::Json;
use linli_domain::alerts::{Alert, AlertState};
use linli_domain::api::Snapshot;
use linli_domain::ErrorBody;

/// Homes, active alerts, cases, patrol routes and units the caller may see.
#[utoipa::path(get, path = "/snapshot", tag = "snapshot",
    responses(
        (status = 200, description = "The caller's view of the district", body = Snapshot),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn snapshot(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Snapshot>> {
    // The event id first: everything read after it is at least that new, so resuming
    // the stream from it can repeat a change but never miss one.
    let last_event_id = state.store.last_event_id().await?;
    let scope = caller.community_scope();
    Ok(Json(Snapshot {
        last_event_id,
        homes: state.store.homes(scope.as_deref()).await?,
        alerts: active_alerts(&state, scope.clone()).await?,
        cases: state
            .store
            .cases(&CaseFilter {
                communities: scope,
                ..Default::default()
            })
            .await?,
        routes: super::patrols::visible_routes(&state, &caller).await?,
        units: super::patrols::visible_units(&state, &caller).await?,
        dispatches: state
            .store
            .dispatches(&crate::store::DispatchFilter {
                communities: caller.community_scope(),
                open_only: true,
                limit: 500,
            })
            .await?,
    }))
}

/// Open and acknowledged alerts, newest first.
async fn active_alerts(
    state: &AppState,
    communities: Option<Vec<linli_domain::CommunityId>>,
) -> ApiResult<Vec<Alert>> {
    let mut alerts = Vec::new();
    for alert_state in [AlertState::Open, AlertState::Acknowledged] {
        let filter = AlertFilter {
            state: Some(alert_state),
            communities: communities.clone(),
            limit: 10_000,
            ..Default::default()
        };
        alerts.extend(state.store.alerts(&filter).await?);
    }
    alerts.sort_by_key(|a| std::cmp::Reverse(a.id));
    Ok(alerts)
}
