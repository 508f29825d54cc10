//! `/api/v1/notices`: what the street office tells residents on the public page (a
//! water cut, a clinic day, a change of office hours). Staff read them; commanders
//! publish and withdraw them. The public page gets those in force with its figures
//! (`GET /api/v1/public/status`), at once: publishing forgets the cached figures.

use super::extract::{ApiJson, ApiPath};
use super::AppState;
use crate::auth::access::Caller;
use crate::clock::{now_ms, Millis};
use crate::error::{ApiResult, AppError};
use crate::store::{Change, NewNotice};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use linli_domain::api::{Notice, NoticeRequest};
use linli_domain::limits::{NOTICE_BODY_CHARS, NOTICE_TITLE_CHARS};
use linli_domain::ErrorBody;

/// The longest a notice may be set to stay up.
const MAX_DAYS_SHOWN: i64 = 366;

/// Checks a notice as a commander wrote it: trimmed text of sensible length, an end in
/// the coming year.
fn checked(request: NoticeRequest, now: Millis) -> ApiResult<NewNotice> {
    let title = request.title.trim().to_string();
    let body = request.body.trim().to_string();
    if title.is_empty() || title.chars().count() > NOTICE_TITLE_CHARS {
        return Err(AppError::Unprocessable(format!(
            "a notice needs a title of 1 to {NOTICE_TITLE_CHARS} characters"
        )));
    }
    if body.chars().count() > NOTICE_BODY_CHARS {
        return Err(AppError::Unprocessable(format!(
            "a notice's text may be at most {NOTICE_BODY_CHARS} characters"
        )));
    }
    let until = request
        .until
        .map(|until| {
            let until = until.millis();
            if until <= now {
                return Err(AppError::Unprocessable("`until` has already passed".into()));
            }
            if until > now + MAX_DAYS_SHOWN * crate::rules::DAY_MS {
                return Err(AppError::Unprocessable(format!(
                    "`until` lies more than {MAX_DAYS_SHOWN} days ahead"
                )));
            }
            Ok(until)
        })
        .transpose()?;
    Ok(NewNotice { title, body, until })
}

/// The notices in force, newest first.
#[utoipa::path(get, path = "/notices", tag = "public",
    responses(
        (status = 200, description = "Notices in force", body = Vec<Notice>),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<Notice>>> {
    Ok(Json(state.store.notices(now_ms()).await?))
}

/// Publishes a notice on the public page, e.g. `{"title": "停水通知", "body": "…",
/// "until": "2026-12-03T10:00:00Z"}`. Commanders only.
#[utoipa::path(post, path = "/notices", tag = "public",
    request_body = NoticeRequest,
    responses(
        (status = 201, description = "Published", body = Notice),
        (status = 403, description = "Not a commander", body = ErrorBody),
        (status = 422, description = "No title, text too long, or a bad end time", body = ErrorBody),
    ))]
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NoticeRequest>,
) -> ApiResult<(StatusCode, Json<Notice>)> {
    let actor = caller.commander("publish notices")?;
    let now = now_ms();
    let new = checked(request, now)?;
    let notice = state
        .store
        .publish_notice(&Change::new(actor, now), &new)
        .await?;
    state.public.forget().await;
    Ok((StatusCode::CREATED, Json(notice)))
}

/// Takes a notice off the public page. Commanders only.
#[utoipa::path(delete, path = "/notices/{id}", tag = "public",
    params(("id" = i64, Path, description = "Notice id")),
    responses(
        (status = 200, description = "Withdrawn", body = Notice),
        (status = 403, description = "Not a commander", body = ErrorBody),
        (status = 404, description = "No such notice in force", body = ErrorBody),
    ))]
pub async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Notice>> {
    let actor = caller.commander("withdraw notices")?;
    let notice = state
        .store
        .withdraw_notice(&Change::new(actor, now_ms()), id)
        .await?;
    state.public.forget().await;
    Ok(Json(notice))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(title: &str, body: &str, until: Option<&str>) -> NoticeRequest {
        NoticeRequest {
            title: title.into(),
            body: body.into(),
            until: until.map(|text| linli_domain::Timestamp::parse(text).unwrap()),
        }
    }

    #[test]
    fn notices_need_a_title_sensible_text_and_an_end_in_the_coming_year() {
        // 2026-11-27T00:00:00Z.
        let now = 1_795_737_600_000;
        let ok = checked(
            request("  停水通知 ", " 明日停水 ", Some("2026-12-01T00:00:00Z")),
            now,
        )
        .unwrap();
        assert_eq!(
            (ok.title.as_str(), ok.body.as_str()),
            ("停水通知", "明日停水")
        );
        assert_eq!(ok.until, Some(now + 4 * crate::rules::DAY_MS));
        assert!(checked(request("通知", "", None), now)
            .unwrap()
            .until
            .is_none());
        for (bad, why) in [
            (request("   ", "", None), "a title"),
            (request(&"长".repeat(101), "", None), "1 to 100"),
            (request("通知", &"字".repeat(2_001), None), "at most 2000"),
            (
                request("通知", "", Some("2026-11-26T00:00:00Z")),
                "already passed",
            ),
            (
                request("通知", "", Some("2028-01-01T00:00:00Z")),
                "366 days",
            ),
        ] {
            let Err(AppError::Unprocessable(message)) = checked(bad, now) else {
                panic!("{why}: accepted");
            };
            assert!(message.contains(why), "{message}");
        }
    }
}
