//! `/api/v1/notify/…`: the channels alerts reach people by and each community's duty
//! roster (commanders set them up), and `/api/v1/alerts/{id}/deliveries`: what was
//! sent for an alert, to whom, when (see `crate::notify`).

use super::extract::{ApiJson, ApiPath};
use super::AppState;
use crate::auth::access::Caller;
use crate::clock::now_ms;
use crate::error::{ApiResult, AppError};
use crate::store::{Change, StoredChannel};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use linli_domain::notify::{Channel, ChannelRequest, Delivery, Roster};
use linli_domain::Timestamp;
use linli_domain::{CommunityId, ErrorBody};

const MAX_NAME_CHARS: usize = 60;
const MAX_URL_CHARS: usize = 1_000;
const MAX_SECRET_CHARS: usize = 200;

/// A channel as `GET` shows it: no secret, and of its URL only the scheme, host and
/// port (robots keep their key in the query, Feishu in the path, some in the user).
fn shown(channel: StoredChannel) -> Channel {
    let url = reqwest::Url::parse(&channel.url)
        .map(|url| {
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{}{port}/…",
                url.scheme(),
                url.host_str().unwrap_or_default()
            )
        })
        .unwrap_or_default();
    Channel {
        id: channel.id,
        name: channel.name,
        kind: channel.kind,
        url,
        has_secret: channel.secret.is_some(),
        communities: channel.communities,
        min_severity: channel.min_severity,
        created_at: Timestamp::from_millis(channel.created_ms),
    }
}

/// Why the server must not send to `url`'s host, when it is written as an address
/// no robot or gateway has: link-local (169.254.x.x, fe80::, where cloud machines
/// answer with their credentials), unspecified, multicast or broadcast. Loopback and
/// private addresses stay allowed: an office's SMS gateway is often on its own network.
/// (Names are not resolved here; the sender follows no redirect.)
fn unreachable_host(url: &reqwest::Url) -> Option<&'static str> {
    use std::net::IpAddr;
    // The URL parser wrote an address in its one form ("2852039166" as
    // "169.254.169.254", IPv6 in brackets); a name does not parse.
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let ip = match host.parse().ok()? {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) if v4.is_link_local() => Some("a link-local address"),
        IpAddr::V6(v6) if v6.is_unicast_link_local() => Some("a link-local address"),
        IpAddr::V4(v4) if v4.is_broadcast() => Some("a broadcast address"),
        ip if ip.is_unspecified() => Some("an unspecified address"),
        ip if ip.is_multicast() => Some("a multicast address"),
        _ => None,
    }
}

/// Checks a channel as a commander wrote it.
async fn checked(state: &AppState, mut request: ChannelRequest) -> ApiResult<ChannelRequest> {
    request.name = request.name.trim().to_string();
    let name_chars = request.name.chars().count();
    if name_chars == 0 || name_chars > MAX_NAME_CHARS {
        return Err(AppError::Unprocessable(format!(
            "a channel needs a name of 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    let url = reqwest::Url::parse(request.url.trim())
        .map_err(|_| AppError::Unprocessable(format!("`{}` is not a URL", request.url.trim())))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(AppError::Unprocessable(
            "a channel's URL is http:// or https:// with a host".into(),
        ));
    }
    if let Some(why) = unreachable_host(&url) {
        return Err(AppError::Unprocessable(format!(
            "a channel's URL may not point at {why}"
        )));
    }
    if request.url.len() > MAX_URL_CHARS {
        return Err(AppError::Unprocessable(format!(
            "a channel's URL is at most {MAX_URL_CHARS} characters"
        )));
    }
    request.url = url.to_string();
    if let Some(secret) = &request.secret {
        if secret.is_empty() || secret.chars().count() > MAX_SECRET_CHARS {
            return Err(AppError::Unprocessable(format!(
                "a secret is 1 to {MAX_SECRET_CHARS} characters (leave it out for none)"
            )));
        }
    }
    let known = state.store.communities().await?;
    for community in &request.communities {
        if !known.iter().any(|c| &c.id == community) {
            return Err(AppError::Unprocessable(format!(
                "there is no community `{community}`"
            )));
        }
    }
    request.communities.sort();
    request.communities.dedup();
    Ok(request)
}

/// The notification channels, without their secrets. Commanders only.
#[utoipa::path(get, path = "/notify/channels", tag = "notify",
    responses(
        (status = 200, description = "Channels", body = Vec<Channel>),
        (status = 403, description = "Not a commander", body = ErrorBody),
    ))]
pub async fn channels(State(state): State<AppState>) -> ApiResult<Json<Vec<Channel>>> {
    let channels = state.store.channels().await?;
    Ok(Json(channels.into_iter().map(shown).collect()))
}

/// Adds a channel, e.g. `{"name": "五里庙网格群", "kind": "wecom", "url":
/// "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…", "communities":
/// ["wulimiao"], "min_severity": "warning"}`. Commanders only.
#[utoipa::path(post, path = "/notify/channels", tag = "notify",
    request_body = ChannelRequest,
    responses(
        (status = 201, description = "Added (its secret not shown)", body = Channel),
        (status = 403, description = "Not a commander", body = ErrorBody),
        (status = 422, description = "No name, not an http(s) URL, an unknown kind, severity or community", body = ErrorBody),
    ))]
pub async fn add_channel(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<ChannelRequest>,
) -> ApiResult<(StatusCode, Json<Channel>)> {
    let actor = caller.commander("set up notification channels")?;
    let request = checked(&state, request).await?;
    let channel = state
        .store
        .add_channel(&Change::new(actor, now_ms()), &request)
        .await?;
    Ok((StatusCode::CREATED, Json(shown(channel))))
}

/// Deletes a channel; its messages not yet sent fail. Commanders only.
#[utoipa::path(delete, path = "/notify/channels/{id}", tag = "notify",
    params(("id" = i64, Path, description = "Channel id")),
    responses(
        (status = 200, description = "Deleted", body = Channel),
        (status = 403, description = "Not a commander", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
    ))]
pub async fn delete_channel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Channel>> {
    let actor = caller.commander("set up notification channels")?;
    let channel = state
        .store
        .delete_channel(&Change::new(actor, now_ms()), id)
        .await?;
    Ok(Json(shown(channel)))
}

/// A community's duty roster (staff of that community).
#[utoipa::path(get, path = "/notify/rosters/{community}", tag = "notify",
    params(("community" = String, Path, description = "Community id")),
    responses(
        (status = 200, description = "The roster", body = Roster),
        (status = 403, description = "Outside the caller's communities", body = ErrorBody),
        (status = 404, description = "The community has no roster", body = ErrorBody),
    ))]
pub async fn roster(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(community): ApiPath<CommunityId>,
) -> ApiResult<Json<Roster>> {
    caller.check_community(&community)?;
    let roster = state.store.roster(&community).await?;
    roster
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("`{community}` has no duty roster")))
}

/// Sets a community's duty roster: the levels of its escalation chain (e.g. 网格员 →
/// 社区书记 → 街道值班领导), each with the time it has to acknowledge and the weekly
/// shifts that say who is on duty (China time; together they cover the week exactly
/// once). Commanders only.
#[utoipa::path(put, path = "/notify/rosters/{community}", tag = "notify",
    params(("community" = String, Path, description = "Community id")),
    request_body = Roster,
    responses(
        (status = 200, description = "Set", body = Roster),
        (status = 403, description = "Not a commander", body = ErrorBody),
        (status = 404, description = "No such community", body = ErrorBody),
        (status = 422, description = "Gaps or overlaps in a level's week, a bad time, day, phone or timer", body = ErrorBody),
    ))]
pub async fn set_roster(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(community): ApiPath<CommunityId>,
    ApiJson(roster): ApiJson<Roster>,
) -> ApiResult<Json<Roster>> {
    let actor = caller.commander("set duty rosters")?;
    crate::notify::roster::check(&roster).map_err(AppError::Unprocessable)?;
    state
        .store
        .set_roster(&Change::new(actor, now_ms()), &community, &roster)
        .await?;
    Ok(Json(roster))
}

/// The messages decided for an alert: level, whom, by which channel, and whether the
/// receiver took them.
#[utoipa::path(get, path = "/alerts/{id}/deliveries", tag = "alerts",
    params(("id" = i64, Path, description = "Alert id")),
    responses(
        (status = 200, description = "Messages, in the order decided", body = Vec<Delivery>),
        (status = 403, description = "Outside the caller's communities", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
    ))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<Delivery>>> {
    let alert = super::alerts::visible(&state, &caller, id).await?;
    Ok(Json(state.store.deliveries(alert.id).await?))
}
