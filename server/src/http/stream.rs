//! `GET /api/v1/stream`: the live stream of changes (Server-Sent Events).
//!
//! Each event carries its event-log id. A client that reconnects with `Last-Event-ID`
//! (browsers do it by themselves), or first connects with `?last_event_id=` (the id its
//! snapshot gave), gets exactly the events it missed, then the new ones; when it missed
//! too many, or names an id the log has not reached, one `resync` event tells it to load
//! a fresh snapshot. Each client is fed by its own task through a small queue, so a
//! slow client only delays itself.
//!
//! A stream lasts as long as what let it start: its session is looked at again every
//! [`SESSION_CHECK`], and the stream ends once the session has (signed out, expired, the
//! user disabled) or the user's role or communities changed; it also ends when the
//! server stops.

use super::extract::ApiQuery;
use super::AppState;
use crate::auth::access::Caller;
use crate::error::{ApiResult, AppError};
use crate::live::{CatchUp, Live, LiveEvent};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use linli_domain::ErrorBody;
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

/// Events queued per client before its feeder waits (and, if it waits too long, its
/// broadcast receiver lags and it catches up from the log).
const CLIENT_QUEUE: usize = 256;
/// How often a stream's session is looked at again.
pub const SESSION_CHECK: Duration = Duration::from_secs(2);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Resume after this event id (the `Last-Event-ID` header wins when both are sent).
    pub last_event_id: Option<i64>,
}

fn resume_point(headers: &HeaderMap, query: &StreamQuery) -> ApiResult<Option<i64>> {
    let header = headers
        .get("last-event-id")
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .filter(|id| *id >= 0)
                .ok_or_else(|| {
                    AppError::BadRequest(
                        "Last-Event-ID must be an event id (a whole number ≥ 0)".into(),
                    )
                })
        })
        .transpose()?;
    match header.or(query.last_event_id) {
        Some(id) if id < 0 => Err(AppError::BadRequest(
            "last_event_id must not be negative".into(),
        )),
        other => Ok(other),
    }
}

fn sse(event: &LiveEvent) -> Event {
    Event::default()
        .id(event.id.to_string())
        .event(event.kind.as_str())
        .data(&event.data)
}

fn resync(last_id: i64) -> Event {
    Event::default()
        .id(last_id.to_string())
        .event("resync")
        .data(format!("{{\"last_event_id\":{last_id}}}"))
}

/// Changes as they happen: `alert.raised`, `alert.updated`, `case.created`,
/// `case.updated`, `dispatch.created`, `dispatch.updated`, `sensor.status`,
/// `patrol.position`, `patrol.run`, and `resync`.
#[utoipa::path(get, path = "/stream", tag = "stream", params(StreamQuery),
    responses(
        (status = 200, description = "text/event-stream; each event has `id:`, `event:` and JSON `data:`", content_type = "text/event-stream", body = String),
        (status = 400, description = "Bad Last-Event-ID", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<StreamQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let resume = resume_point(&headers, &query)?;
    let (sender, receiver) = mpsc::channel(CLIENT_QUEUE);
    let (live, shutdown) = (Arc::clone(&state.live), state.shutdown.clone());
    tokio::spawn(async move {
        tokio::select! {
            () = feed(live, resume, caller.community_scope(), sender) => {}
            () = session_ended(&state, &caller) => {}
            () = async move { let mut shutdown = shutdown; shutdown.wait().await } => {}
        }
    });
    let events = futures_util::StreamExt::map(ReceiverStream::new(receiver), Ok);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Completes once the caller's session no longer stands as it did when the stream
/// began (ended, or the user changed); a store that cannot answer ends it too, and the
/// client reconnects.
async fn session_ended(state: &AppState, caller: &Caller) {
    let mut every = tokio::time::interval(SESSION_CHECK);
    every.tick().await;
    let began = Some((caller.user.role, caller.user.communities.clone()));
    loop {
        every.tick().await;
        if state.session_checks.look(state, &caller.token_hash).await != began {
            return;
        }
    }
}

/// What a session allows now, looked up at most once per [`SESSION_CHECK`] whatever the
/// number of streams on it (a command screen's many tabs, a benchmark's thousands):
/// `None` once it has ended or cannot be read.
#[derive(Default)]
pub struct SessionChecks {
    looked: std::sync::Mutex<
        std::collections::HashMap<String, (std::time::Instant, Option<SessionRights>)>,
    >,
}

/// A session's role and communities.
type SessionRights = (linli_domain::Role, Vec<linli_domain::CommunityId>);

impl SessionChecks {
    async fn look(&self, state: &AppState, token_hash: &str) -> Option<SessionRights> {
        let fresh = |at: &std::time::Instant| at.elapsed() < SESSION_CHECK / 2;
        {
            let looked = self.looked.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, rights)) = looked.get(token_hash).filter(|(at, _)| fresh(at)) {
                return rights.clone();
            }
        }
        let rights = match state
            .store
            .session_user(token_hash, crate::clock::now_ms())
            .await
        {
            Ok(Some(user)) => Some((user.role, user.communities)),
            _ => None,
        };
        let mut looked = self.looked.lock().unwrap_or_else(|p| p.into_inner());
        if looked.len() > 1_024 {
            looked.retain(|_, (at, _)| fresh(at));
        }
        looked.insert(
            token_hash.to_string(),
            (std::time::Instant::now(), rights.clone()),
        );
        rights
    }
}

/// Whether a client limited to `scope` may see the event. Runs on district-wide
/// routes (no community) are everyone's, as `GET /patrols/units` shows them; any other
/// event without a community is not for a limited client.
fn visible(event: &LiveEvent, scope: &Option<Vec<linli_domain::CommunityId>>) -> bool {
    match (scope, &event.community) {
        (None, _) => true,
        (Some(communities), Some(c)) => communities.iter().any(|id| id.as_str() == c),
        (Some(_), None) => event.kind.is_patrol(),
    }
}

/// Feeds one client: what it missed, then what happens, until it goes away.
async fn feed(
    live: Arc<Live>,
    resume: Option<i64>,
    scope: Option<Vec<linli_domain::CommunityId>>,
    client: mpsc::Sender<Event>,
) {
    let mut subscription = live.subscribe();
    // The newest event id this client has had (or was told to start after).
    let mut sent = resume.unwrap_or(subscription.last_id);
    if sent > subscription.last_id {
        // An id the log never reached (another server's, or made up): start afresh.
        if client.send(resync(subscription.last_id)).await.is_err() {
            return;
        }
        sent = subscription.last_id;
    }
    loop {
        match live.missed(sent, subscription.last_id).await {
            CatchUp::Events(events) => {
                for event in events.iter().filter(|e| visible(e, &scope)) {
                    if client.send(sse(event)).await.is_err() {
                        return;
                    }
                }
            }
            CatchUp::TooOld => {
                if client.send(resync(subscription.last_id)).await.is_err() {
                    return;
                }
            }
        }
        sent = sent.max(subscription.last_id);
        loop {
            let received = tokio::select! {
                received = subscription.receiver.recv() => received,
                () = client.closed() => return,
            };
            match received {
                Ok(event) => {
                    if event.id <= sent {
                        continue;
                    }
                    sent = event.id;
                    if visible(&event, &scope) && client.send(sse(&event)).await.is_err() {
                        return;
                    }
                }
                // Fell behind: catch up from memory or the log, then go on.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    subscription = live.subscribe();
                    break;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linli_domain::events::EventKind;
    use linli_domain::CommunityId;

    fn event(kind: EventKind, community: Option<&str>) -> LiveEvent {
        LiveEvent {
            id: 1,
            kind,
            community: community.map(str::to_string),
            data: "{}".into(),
        }
    }

    #[test]
    fn a_grid_worker_sees_their_communities_and_the_district_wide_patrols() {
        let mine = Some(vec![CommunityId::parse("xingfuli").unwrap()]);
        assert!(visible(
            &event(EventKind::AlertRaised, Some("xingfuli")),
            &mine
        ));
        assert!(!visible(
            &event(EventKind::AlertRaised, Some("wulimiao")),
            &mine
        ));
        assert!(!visible(
            &event(EventKind::PatrolRun, Some("wulimiao")),
            &mine
        ));
        assert!(visible(&event(EventKind::PatrolRun, None), &mine));
        assert!(visible(&event(EventKind::PatrolPosition, None), &mine));
        assert!(!visible(&event(EventKind::CaseUpdated, None), &mine));
        assert!(visible(
            &event(EventKind::CaseUpdated, Some("wulimiao")),
            &None
        ));
    }
}
