//! The outbox: changes made on a tablet that lost its network are kept (in
//! `localStorage`, so a reload keeps them too) and sent, in order, when the network
//! comes back. What the server then refuses (an alert somebody else resolved in the
//! meantime) is kept as a conflict for the user to read, not dropped.
//!
//! [`send`] is how the staff faces change things: it sends at once when it can, and
//! queues the change when the network is down. A control sends through an [`Action`]
//! ([`sending_action`]): Leptos tracks it while it goes, and what it
//! brings back is read by the control's own effects and views, which go with the
//! control, so an answer that comes after the user moved on touches nothing of it.
//! [`Outbox::flush`] runs when the browser says it is online again, and every few
//! seconds while something waits; it is the app's, not a control's, so it is a task of
//! its own (`spawn_local`).

use crate::api::{self, Answer, ApiError};
use crate::i18n::{names, tr, use_language, Lang, Language, Msg};
use crate::live::Live;
use leptos::prelude::*;
use leptos::task::spawn_local;
use linli_domain::cases::CaseStage;
use linli_domain::events::EventKind;
use linli_domain::Timestamp;
use serde::{Deserialize, Serialize};

const PENDING_KEY: &str = "linli.outbox";
const CONFLICTS_KEY: &str = "linli.conflicts";
/// How often a non-empty outbox tries again, besides the browser's `online` event.
const RETRY_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// One change waiting to be sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// What it is, for people: "确认告警 #12".
    pub label: String,
    pub url: String,
    pub body: serde_json::Value,
    /// The stream event the server's answer amounts to (`alert.updated`, …), shown at
    /// once when it arrives.
    pub event: Option<EventKind>,
    /// A photo sent as the raw body instead of `body`: a `data:` URL of the JPEG the
    /// app made small enough to keep (see `faces::photos`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
    /// When it was done (this device's clock): the server stamps the change with it,
    /// not with the time the network came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pressed_at: Option<Timestamp>,
}

/// Now, on this device's clock; none outside a browser (unit tests).
fn device_now() -> Option<Timestamp> {
    #[cfg(target_arch = "wasm32")]
    return Some(Timestamp::from_millis(js_sys::Date::now() as i64));
    #[cfg(not(target_arch = "wasm32"))]
    None
}

impl Pending {
    /// A JSON change: `body` (a request type of `linli_domain`) posted to `url`.
    pub fn new(
        label: impl Into<String>,
        url: impl Into<String>,
        body: &impl Serialize,
        event: Option<EventKind>,
    ) -> Pending {
        Pending {
            label: label.into(),
            url: url.into(),
            body: serde_json::to_value(body).unwrap_or_default(),
            event,
            photo: None,
            pressed_at: device_now(),
        }
    }

    /// A photo (a `data:` URL) posted to `url` as it is.
    pub fn photo(label: impl Into<String>, url: impl Into<String>, data_url: String) -> Pending {
        Pending {
            photo: Some(data_url),
            ..Pending::new(label, url, &(), Some(EventKind::CaseUpdated))
        }
    }

    async fn post(&self) -> Result<Answer, ApiError> {
        let pressed_at = self.pressed_at;
        match &self.photo {
            Some(data_url) => api::post_data_url(&self.url, data_url, pressed_at).await,
            None => api::post_json(&self.url, &self.body, pressed_at).await,
        }
    }
}

/// A queued change the server refused once it could be sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    pub label: String,
    pub message: String,
}

/// What [`send`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// The server took it; its answer.
    Done(Answer),
    /// No network (or others waiting before it): kept, to be sent later.
    Queued(Pending),
}

/// The queue and the conflicts, shared by a face.
#[derive(Debug, Clone, Copy)]
pub struct Outbox {
    pub pending: RwSignal<Vec<Pending>>,
    pub conflicts: RwSignal<Vec<Conflict>>,
    flushing: StoredValue<bool>,
    /// The face's language, for the reasons of refusals.
    lang: Language,
}

fn stored<T: serde::de::DeserializeOwned>(key: &str) -> Vec<T> {
    window()
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item(key).ok().flatten())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Saves `items` under `key`; false when the browser would not (storage full).
fn store<T: Serialize>(key: &str, items: &[T]) -> bool {
    match (
        window().local_storage().ok().flatten(),
        serde_json::to_string(items),
    ) {
        (Some(storage), Ok(text)) => storage.set_item(key, &text).is_ok(),
        _ => false,
    }
}

/// Why a change did not go through, for people, in `lang`: what kind of refusal it
/// was (a step not allowed where the thing stands says what is), then the server's own
/// words as the detail (in English).
pub fn refusal_message(lang: Lang, e: &ApiError) -> String {
    match e {
        ApiError::Refused { status, body } => {
            let not_allowed = body.as_ref().is_some_and(|b| b.error.code == "not_allowed");
            let mut reason = tr(
                lang,
                match status {
                    _ if not_allowed => Msg::RefusedNotAllowed,
                    401 => Msg::RefusedSignIn,
                    403 => Msg::RefusedForbidden,
                    404 => Msg::RefusedNotFound,
                    409 => Msg::RefusedConflict,
                    400 | 413 | 415 | 422 => Msg::RefusedInvalid,
                    429 => Msg::TooManyAttempts,
                    _ => Msg::RefusedServer,
                },
            )
            .to_string();
            let allowed: Vec<&str> = body
                .iter()
                .flat_map(|b| &b.error.allowed)
                .map(|a| CaseStage::parse(a).map_or(a.as_str(), |s| names::stage(lang, s)))
                .collect();
            if !allowed.is_empty() {
                reason = format!(
                    "{reason}{}{}",
                    tr(lang, Msg::AllowedHere),
                    allowed.join("、")
                );
            }
            match body {
                // The server's words name fields and values in backquotes.
                Some(body) => format!("{reason} ({})", body.error.message.replace('`', "")),
                None => format!("{reason} (HTTP {status})"),
            }
        }
        ApiError::Network(text) => format!("{} ({text})", tr(lang, Msg::NetworkError)),
        ApiError::StorageFull => tr(lang, Msg::StorageFull).to_string(),
    }
}

impl Outbox {
    /// Loads what an earlier page left, keeps it saved, and sends it when it can.
    pub fn provide(live: Live) -> Outbox {
        let outbox = Outbox {
            pending: RwSignal::new(stored(PENDING_KEY)),
            conflicts: RwSignal::new(stored(CONFLICTS_KEY)),
            flushing: StoredValue::new(false),
            lang: use_language(),
        };
        Effect::new(move |_| outbox.pending.with(|p| store(PENDING_KEY, p)));
        Effect::new(move |_| outbox.conflicts.with(|c| store(CONFLICTS_KEY, c)));
        let online = window_event_listener(leptos::ev::online, move |_| outbox.flush(live));
        on_cleanup(move || online.remove());
        if let Ok(timer) = set_interval_with_handle(
            move || {
                if !outbox.pending.with_untracked(Vec::is_empty) {
                    outbox.flush(live);
                }
            },
            RETRY_EVERY,
        ) {
            on_cleanup(move || timer.clear());
        }
        outbox.flush(live);
        provide_context(outbox);
        outbox
    }

    /// Sends the queue in order until it is empty or the network fails again. It stops
    /// when the face that holds this outbox is gone (what is left waits in
    /// `localStorage` for the next face's outbox).
    pub fn flush(self, live: Live) {
        if self.flushing.get_value() || self.pending.with_untracked(Vec::is_empty) {
            return;
        }
        self.flushing.set_value(true);
        spawn_local(async move {
            let next = move || self.pending.try_with_untracked(|p| p.first().cloned());
            while let Some(first) = next().flatten() {
                match first.post().await {
                    Err(ApiError::Network(_)) => break,
                    result => {
                        let refused = result.as_ref().err().map(|e| Conflict {
                            label: first.label.clone(),
                            message: refusal_message(self.lang.0.get_untracked(), e),
                        });
                        let taken = self.pending.try_update(|p| {
                            p.remove(0);
                        });
                        // The face went away while it was sent: it must not be sent
                        // again by the next one, and a refusal is kept for it to show.
                        if taken.is_none() {
                            let mut kept: Vec<Pending> = stored(PENDING_KEY);
                            if kept.first() == Some(&first) {
                                kept.remove(0);
                                store(PENDING_KEY, &kept);
                            }
                            if let Some(refused) = refused {
                                let mut conflicts: Vec<Conflict> = stored(CONFLICTS_KEY);
                                conflicts.push(refused);
                                store(CONFLICTS_KEY, &conflicts);
                            }
                            return;
                        }
                        match result {
                            Ok(answer) => show(live, first.event, &answer),
                            Err(_) => self.conflicts.update(|c| c.extend(refused)),
                        }
                    }
                }
            }
            self.flushing.set_value(false);
        });
    }

    pub fn dismiss_conflicts(self) {
        self.conflicts.set(Vec::new());
    }

    /// Queues `pending`, saved before this returns: false (and nothing queued) when
    /// the browser's storage cannot hold it, so that nobody is told a change is kept
    /// when a reload would lose it.
    fn keep(self, pending: &Pending) -> bool {
        let mut queue = self.pending.get_untracked();
        queue.push(pending.clone());
        if !store(PENDING_KEY, &queue) {
            return false;
        }
        self.pending.set(queue);
        true
    }
}

fn show(live: Live, event: Option<EventKind>, answer: &Answer) {
    if let Some(kind) = event {
        live.show_json(kind, &answer.0);
    }
}

pub fn use_outbox() -> Option<Outbox> {
    use_context::<Outbox>()
}

/// Sends a change now, or queues it in `outbox` when the network is down (or other
/// changes are already waiting, so that they keep their order). A refusal is returned
/// as is. (`outbox` is taken from the face's context before the task starts.)
pub async fn send(outbox: Option<Outbox>, live: Live, pending: Pending) -> Result<Sent, ApiError> {
    send_from(outbox, Some(live), pending).await
}

/// [`send`] from a face with or without the live stream (a partner's has none: the
/// answer is the only news of the change there).
pub async fn send_from(
    outbox: Option<Outbox>,
    live: Option<Live>,
    pending: Pending,
) -> Result<Sent, ApiError> {
    let waiting = outbox.is_some_and(|o| !o.pending.with_untracked(Vec::is_empty));
    if !waiting {
        match pending.post().await {
            Ok(answer) => {
                if let Some(live) = live {
                    show(live, pending.event, &answer);
                }
                return Ok(Sent::Done(answer));
            }
            Err(ApiError::Network(e)) if outbox.is_none() => return Err(ApiError::Network(e)),
            Err(ApiError::Network(_)) => {}
            Err(refused) => return Err(refused),
        }
    }
    match (outbox, live) {
        (Some(outbox), Some(live)) => {
            if !outbox.keep(&pending) {
                return Err(ApiError::StorageFull);
            }
            // Behind others that waited: the network may be back, so try now.
            if waiting {
                outbox.flush(live);
            }
            Ok(Sent::Queued(pending))
        }
        _ => Err(ApiError::Network("no outbox".into())),
    }
}

/// What became of a change, as the control that made it shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Done,
    /// Kept in the outbox until it can be sent.
    Queued(Pending),
    /// Refused, with the server's reason.
    Refused(String),
}

impl Delivery {
    /// What [`send`] returned, told in `lang`.
    pub fn of(answer: Result<Sent, ApiError>, lang: Lang) -> Delivery {
        match answer {
            Ok(Sent::Done(_)) => Delivery::Done,
            Ok(Sent::Queued(pending)) => Delivery::Queued(pending),
            Err(e) => Delivery::Refused(refusal_message(lang, &e)),
        }
    }
}

/// How a control sends its changes: each dispatched one goes through [`send_from`];
/// the action's value is what the last returned, `pending()` is true while one goes.
/// (One type for every control: each type of action is compiled once more into the
/// app, about 2 KB of its download.)
pub type Sending = Action<Pending, Result<Sent, ApiError>>;

/// A control's [`Sending`].
pub fn sending_action(outbox: Option<Outbox>, live: Option<Live>) -> Sending {
    Action::new_unsync(move |pending: &Pending| send_from(outbox, live, pending.clone()))
}

/// What became of the last change `sending` sent, told the way a button shows it.
pub fn last_delivery(sending: Sending, lang: Language) -> Option<Delivery> {
    sending
        .value()
        .get()
        .map(|answer| Delivery::of(answer, lang.0.get()))
}

/// What a control says after its change: nothing once done, "kept" while the change
/// waits in the outbox (it goes once it is sent; a refusal then is listed with the
/// outbox's conflicts), the reason when refused at once.
#[component]
pub fn DeliveryNote(delivery: Delivery) -> impl IntoView {
    let lang = crate::i18n::use_language();
    let outbox = use_outbox();
    match delivery {
        Delivery::Done => ().into_any(),
        Delivery::Queued(pending) => {
            let waiting =
                move || outbox.is_some_and(|o| o.pending.with(|list| list.contains(&pending)));
            view! {
                {move || waiting().then(|| view! {
                    <p class="queued" data-test="queued">{lang.text(Msg::QueuedOffline)}</p>
                })}
            }
            .into_any()
        }
        Delivery::Refused(why) => view! {
            <p class="error" role="alert">{lang.text(Msg::ActionFailed)}" "{why}</p>
        }
        .into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linli_domain::{ErrorBody, ErrorDetail};

    fn refused(status: u16, message: &str) -> ApiError {
        ApiError::Refused {
            status,
            body: Some(ErrorBody {
                error: ErrorDetail {
                    allowed: Vec::new(),
                    code: "conflict".into(),
                    message: message.into(),
                },
            }),
        }
    }

    #[test]
    fn a_queue_kept_by_an_earlier_version_still_loads_and_photos_round_trip() {
        // What a tablet stored before photos could wait in the outbox.
        let earlier = r#"[{"label":"确认告警 #12","url":"/api/v1/alerts/12/ack","body":{},"event":"alert.updated"}]"#;
        let queue: Vec<Pending> = serde_json::from_str(earlier).unwrap();
        assert_eq!(
            queue,
            [Pending::new(
                "确认告警 #12",
                "/api/v1/alerts/12/ack",
                &serde_json::json!({}),
                Some(EventKind::AlertUpdated)
            )]
        );
        assert!(!serde_json::to_string(&queue).unwrap().contains("photo"));
        let photo = Pending::photo(
            "施工中 #3",
            "/api/v1/cases/3/photos?kind=during",
            "data:image/jpeg;base64,/9j/4AAQ".into(),
        );
        let text = serde_json::to_string(&photo).unwrap();
        assert_eq!(serde_json::from_str::<Pending>(&text).unwrap(), photo);
        assert_eq!(photo.event, Some(EventKind::CaseUpdated));
    }

    #[test]
    fn refusals_say_what_kind_they_are_in_the_users_language() {
        let conflict = refused(409, "alert 12 is resolved already");
        assert_eq!(
            refusal_message(Lang::Zh, &conflict),
            "已被他人处理或状态已变化 (alert 12 is resolved already)"
        );
        assert_eq!(
            refusal_message(Lang::En, &conflict),
            "Someone else changed it meanwhile (alert 12 is resolved already)"
        );
        let bare = ApiError::Refused {
            status: 503,
            body: None,
        };
        assert_eq!(
            refusal_message(Lang::Zh, &bare),
            "服务器暂时出错，请稍后再试 (HTTP 503)"
        );
        assert_eq!(
            refusal_message(Lang::En, &ApiError::StorageFull),
            "Offline, and this device's storage is full: not kept, try again once online"
        );
        let mut not_allowed = refused(
            409,
            "a case at `negotiating` cannot move to `consolidating`; it can move to: joint-handling, identified",
        );
        if let ApiError::Refused {
            body: Some(body), ..
        } = &mut not_allowed
        {
            body.error.code = "not_allowed".into();
            body.error.allowed = vec!["joint-handling".into(), "identified".into()];
        }
        assert_eq!(
            refusal_message(Lang::Zh, &not_allowed),
            "当前阶段不能这样推进，可以：联动处置、精准识别 (a case at negotiating cannot move to consolidating; \
             it can move to: joint-handling, identified)"
        );
        assert!(
            refusal_message(Lang::En, &refused(422, "a title is needed"))
                .starts_with("Something entered is not valid")
        );
    }
}
