//! The alert list the staff faces put beside the map, and what goes with it: the live
//! connection's indicator and, on the command screen and the tablet, the critical-alert
//! banner with its sound (a mute switch, remembered in `localStorage`) and a system
//! notification when the browser allows it.
//!
//! The list shows the face's active alerts, worst first, then (on the tablet) nearest
//! first, then newest, filtered by severity and by "unacknowledged only". A row flies the map to the home; its buttons
//! acknowledge, resolve (with an outcome and a note) or escalate into a case, and show
//! who was notified of it, by what and when. Viewers read only.

use super::navigation::{DistanceFromHere, NavigateButton};
use crate::here::{use_here, Here};
use crate::i18n::{china_clock, names, use_language, Msg};
use crate::live::{use_live, Connection, Live};
use crate::outbox::{last_delivery, sending_action, use_outbox, DeliveryNote, Pending, Sending};
use crate::session::use_session;
use leptos::prelude::*;
use leptos::task::spawn_local;
use linli_domain::alerts::ResolveAlert;
use linli_domain::alerts::{Alert, AlertOutcome, AlertState, Severity};
use linli_domain::events::EventKind;
use linli_domain::geometry::metres_between;
use linli_domain::limits::NOTE_CHARS;
use linli_domain::Role;
use linli_domain::Timestamp;
use serde_json::json;

const MUTE_KEY: &str = "linli.mute";

/// New alert rows made in one task under a storm of alerts (see [`crate::paced`]).
const ROWS_PER_TASK: usize = 2;

/// A row is made again when its alert changes.
fn row_key(alert: &Alert) -> (i64, Timestamp, AlertState) {
    (alert.id, alert.updated_at, alert.state)
}

/// What a person can choose when resolving (`cleared` is the system's own).
const OUTCOMES: [AlertOutcome; 6] = [
    AlertOutcome::Safe,
    AlertOutcome::SafeAway,
    AlertOutcome::Handled,
    AlertOutcome::Hospital,
    AlertOutcome::DeviceFault,
    AlertOutcome::FalseAlarm,
];

/// Sends an action on alert `id` through the row's `send` (kept while offline); the
/// row shows its result at once (the stream confirms it to everyone).
pub(super) fn act(
    send: Sending,
    id: i64,
    action: &'static str,
    label: String,
    body: &impl serde::Serialize,
) {
    send.dispatch(Pending::new(
        format!("{label} #{id}"),
        format!("/api/v1/alerts/{id}/{action}"),
        body,
        Some(EventKind::AlertUpdated),
    ));
}

/// Worst first; among alerts as bad, the nearest to `here` when the device knows where
/// it is; then the newest.
pub fn most_urgent_first(alerts: &mut [Alert], here: Option<[f64; 2]>) {
    let metres = |a: &Alert| here.map_or(0.0, |h| metres_between(h, a.position));
    alerts.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| metres(a).total_cmp(&metres(b)))
            .then(b.id.cmp(&a.id))
    });
}

/// "王秀英 · 302" for an alert's home, when the snapshot has it.
fn who(live: Live, alert: &Alert) -> String {
    live.snapshot.with_untracked(|s| {
        s.as_ref()
            .and_then(|s| s.homes.iter().find(|h| h.id == alert.home))
            .map(|h| format!("{} · {}", h.resident, h.room))
            .unwrap_or_else(|| alert.home.clone())
    })
}

/// The numbers to call about an alert's home, when the snapshot has them: the
/// resident's own (`Msg::CallResident`) and the family's or neighbour's
/// (`Msg::CallContact`).
fn numbers(live: Live, alert: &Alert) -> Vec<(Msg, String)> {
    use super::map_panels::phone_number;
    live.snapshot.with_untracked(|s| {
        s.as_ref()
            .and_then(|s| s.homes.iter().find(|h| h.id == alert.home))
            .map(|h| {
                [
                    (Msg::CallResident, h.phone.as_deref()),
                    (Msg::CallContact, h.contact.as_deref()),
                ]
                .into_iter()
                .filter_map(|(what, text)| Some((what, phone_number(text?)?)))
                .collect()
            })
            .unwrap_or_default()
    })
}

#[component]
fn AlertRow(alert: Alert, live: Live, can_act: bool) -> impl IntoView {
    let lang = use_language();
    let commander = use_session().is_commander();
    let resolving = RwSignal::new(false);
    let outcome = RwSignal::new(AlertOutcome::Safe);
    let note = RwSignal::new(String::new());
    let outbox = use_outbox();
    let send = sending_action(outbox, Some(live));
    let id = alert.id;
    let open = alert.state == AlertState::Open;
    let escalating = RwSignal::new(false);
    let escalated = alert.escalated.clone();
    let position = alert.position;
    let kind = alert.kind;
    let severity = alert.severity;
    let state = alert.state;
    let home = who(live, &alert);
    let calls = numbers(live, &alert);
    let destination = home.clone();
    let time = china_clock(alert.raised_at);
    let (detail, value) = (alert.detail.clone(), alert.value);
    let acknowledged = alert
        .acknowledged
        .as_ref()
        .map(|s| s.by.trim_start_matches("user:").to_string());
    let case = alert.case_id;
    let drill = alert.drill;
    // What of this alert waits in the outbox (`ack`, `resolve`, `escalate`): the row
    // shows it as done but not yet sent, without the button that did it.
    let actions = format!("/api/v1/alerts/{id}/");
    let waiting = Memo::new(move |_| {
        outbox.and_then(|o| {
            o.pending.with(|queue| {
                queue
                    .iter()
                    .rev()
                    .find_map(|p| p.url.strip_prefix(&actions).map(str::to_string))
            })
        })
    });
    let waits_for = move |action: &str| waiting.with(|w| w.as_deref() == Some(action));
    // The alert a notification's link opened: marked, and the map flown to it once.
    let linked = crate::route::use_location().linked_alert() == Some(id);
    if linked {
        Effect::new(move |done: Option<()>| {
            if done.is_none() {
                live.focus.set(Some(position));
            }
        });
    }
    view! {
        <li class=format!("alert-row severity-{} state-{}", severity.as_str(), state.as_str())
            class:linked=linked data-linked=linked.to_string()
            data-test="alert-row" data-alert-id=id.to_string() data-kind=kind.as_str() data-state=state.as_str()
            data-waiting=move || waiting.get() data-drill=drill.to_string()>
            <button class="alert-summary" on:click=move |_| live.focus.set(Some(position))>
                {drill.then(|| view! { <super::drills::DrillBadge/> })}
                <span class="severity">{move || names::severity(lang.0.get(), severity)}</span>
                <strong>{move || names::alert_kind(lang.0.get(), kind)}</strong>
                <span class="when">{time}</span>
                <span class="who">{home}</span>
                <span class="detail">{move || names::alert_detail(lang.0.get(), kind, value, &detail)}</span>
                <DistanceFromHere position=position/>
                <span class="state">
                    {move || match waiting.get().as_deref() {
                        Some("ack") => lang.t(Msg::AcknowledgedWaiting).to_string(),
                        Some("resolve") => lang.t(Msg::ResolvedWaiting).to_string(),
                        _ => names::alert_state(lang.0.get(), state).to_string(),
                    }}
                    {acknowledged.clone().map(|by| format!(" · {by}"))}
                    {escalated.map(|e| view! {
                        " · "
                        <span data-test="escalated-to">{move || match e.responsible {
                            Some(p) => format!("{} {}", lang.t(Msg::EscalatedTo),
                                super::parties::describe(lang.0.get(), Some(p), &e.cooperating)),
                            // The rules' own escalation: nobody acknowledged in time.
                            None if e.by.starts_with("system:") => lang.t(Msg::EscalatedToCommand).to_string(),
                            None => format!("{} {}", lang.t(Msg::EscalatedBy), e.by.trim_start_matches("user:")),
                        }}</span>
                    })}
                    {case.map(|c| format!(" · #{c}"))}
                    " " <super::dispatch::TasksFor alert=id/>
                </span>
            </button>
            <NavigateButton position=position label=destination/>
            // One tap to call the resident or the family, on the row itself.
            {calls.into_iter().map(|(what, number)| view! {
                <a class="call" href=format!("tel:{number}") data-test="call-home">
                    {move || lang.t(what)}
                </a>
            }).collect_view()}
            {can_act.then(|| view! {
                <div class="alert-actions">
                    {move || (open && waiting.get().is_none()).then(|| view! {
                        <button data-test="ack" on:click=move |_| act(send, id, "ack", lang.t(Msg::Acknowledge).into(), &json!({}))>
                            {lang.text(Msg::Acknowledge)}
                        </button>
                    })}
                    {move || (!waits_for("resolve")).then(|| view! {
                        <button data-test="resolve" on:click=move |_| resolving.update(|r| *r = !*r)>
                            {lang.text(Msg::Resolve)}
                        </button>
                    })}
                    {case.is_none().then(|| view! {
                        <button data-test="escalate" on:click=move |_| escalating.update(|e| *e = !*e)>
                            {lang.text(Msg::Escalate)}
                        </button>
                    })}
                    {commander.then(|| view! { <super::dispatch::SendForm alert=id/> })}
                    {drill.then(|| view! { <super::drills::EndDrillButton alert=id/> })}
                </div>
            })}
            {move || resolving.get().then(|| view! {
                <div class="resolve-form">
                    <label>{lang.text(Msg::Outcome)}
                        <select data-test="outcome" on:change=move |ev| {
                            if let Some(o) = AlertOutcome::parse(&event_target_value(&ev)) { outcome.set(o) }
                        }>
                            {OUTCOMES.iter().map(|o| view! {
                                <option value=o.as_str()>{move || names::outcome(lang.0.get(), *o)}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>{lang.text(Msg::Note)}
                        <textarea data-test="note" maxlength=NOTE_CHARS rows="2"
                            on:input=move |ev| note.set(event_target_value(&ev))></textarea>
                    </label>
                    <button data-test="confirm-resolve" on:click=move |_| {
                        let body = ResolveAlert { outcome: outcome.get_untracked(), note: note.get_untracked() };
                        act(send, id, "resolve", lang.t(Msg::Resolve).into(), &body);
                        resolving.set(false);
                    }>{lang.text(Msg::Resolve)}</button>
                    <button class="link" on:click=move |_| resolving.set(false)>{lang.text(Msg::Cancel)}</button>
                </div>
            })}
            {move || escalating.get().then(|| view! {
                <super::escalate::EscalateForm alert=id send=send open=escalating/>
            })}
            <Notified alert=id/>
            {move || last_delivery(send, lang).map(|d| view! { <DeliveryNote delivery=d/> })}
        </li>
    }
}

/// Who was notified of an alert, by what and when (asked for on a click: "网格员 王芳 ·
/// 企业微信 · 02:13 已送达").
#[component]
fn Notified(alert: i64) -> impl IntoView {
    let lang = use_language();
    let shown = RwSignal::new(None::<Result<Vec<linli_domain::notify::Delivery>, ()>>);
    // Asked again on every opening; nothing until the answer is in.
    let toggle = move |_| {
        if shown.get_untracked().is_some() {
            shown.set(None);
            return;
        }
        spawn_local(async move {
            shown.set(Some(crate::api::deliveries(alert).await.map_err(|_| ())));
        });
    };
    view! {
        <button class="link notified-toggle" data-test="notified" on:click=toggle>
            {lang.text(Msg::Notified)}
        </button>
        {move || shown.get().map(|deliveries| match deliveries {
            Err(()) => view! { <p class="notified">{lang.text(Msg::NetworkError)}</p> }.into_any(),
            Ok(list) if list.is_empty() => view! {
                <p class="notified" data-test="notified-list">{lang.text(Msg::NobodyNotified)}</p>
            }.into_any(),
            Ok(list) => view! {
                <ul class="notified" data-test="notified-list">
                    {list.into_iter().map(|d| {
                        let state = d.state;
                        let when = china_clock(d.sent_at.unwrap_or(d.decided_at));
                        let who = match &d.person {
                            Some(person) => format!("{} {person}", d.title),
                            None => d.title.clone(),
                        };
                        view! {
                            <li data-state=state.as_str()>
                                {who} " · " {d.channel.clone()} " · " {when} " · "
                                {move || names::delivery_state(lang.0.get(), state)}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any(),
        })}
    }
}

/// The face's active alerts with filters and actions.
#[component]
pub fn AlertPanel() -> impl IntoView {
    let lang = use_language();
    let session = use_session();
    let Some(live) = use_live() else {
        return ().into_any();
    };
    let severity_filter = RwSignal::new(None::<Severity>);
    let open_only = RwSignal::new(false);
    let can_act = move || session.user().is_some_and(|u| u.role != Role::Viewer);
    let here = use_here();
    let alerts = Memo::new(move |_| {
        let mut list: Vec<Alert> = live
            .snapshot
            .with(|s| s.as_ref().map(|s| s.alerts.clone()).unwrap_or_default());
        list.retain(|a| severity_filter.get().is_none_or(|f| a.severity == f));
        if open_only.get() {
            list.retain(|a| a.state == AlertState::Open);
        }
        most_urgent_first(&mut list, here.and_then(Here::position));
        list
    });
    let rows = crate::paced::paced(alerts, row_key, |a| a.id, ROWS_PER_TASK);
    let filter_button = move |value: Option<Severity>| {
        view! {
            <button class:chosen=move || severity_filter.get() == value
                data-test=format!("filter-{}", value.map_or("all", |s| s.as_str()))
                on:click=move |_| severity_filter.set(value)>
                {move || value.map_or(lang.t(Msg::AllAlerts), |s| names::severity(lang.0.get(), s))}
            </button>
        }
    };
    view! {
        <section class="list-panel alert-panel" data-test="alert-panel">
            <header>
                <h2>{lang.text(Msg::Alerts)} " " <span data-test="alert-count">{move || alerts.with(Vec::len)}</span></h2>
                <ConnectionBadge live=live/>
            </header>
            <div class="filters">
                {filter_button(None)}
                {filter_button(Some(Severity::Critical))}
                {filter_button(Some(Severity::Warning))}
                {filter_button(Some(Severity::Info))}
                <label class="toggle">
                    <input type="checkbox" on:change=move |ev| open_only.set(event_target_checked(&ev))/>
                    {lang.text(Msg::OpenOnly)}
                </label>
            </div>
            <ul class="alert-list">
                <For each=move || rows.get() key=row_key let:alert>
                    <AlertRow alert=alert live=live can_act=can_act()/>
                </For>
            </ul>
            {move || alerts.with(Vec::is_empty).then(|| view! { <p class="empty">{lang.text(Msg::NoAlerts)}</p> })}
        </section>
    }
    .into_any()
}

#[component]
fn ConnectionBadge(live: Live) -> impl IntoView {
    let lang = use_language();
    view! {
        <span class=move || format!("live-badge {}", if live.connection.get() == Connection::Live { "live" } else { "down" })
            data-test="live-badge">
            {move || match live.connection.get() {
                Connection::Live => lang.t(Msg::LiveConnected),
                Connection::Connecting | Connection::Reconnecting => lang.t(Msg::LiveReconnecting),
            }}
        </span>
    }
}

/// "【演练】" before what is said of a drill's alert; nothing for a real one.
pub fn drill_mark(lang: crate::i18n::Lang, alert: &Alert) -> &'static str {
    if alert.drill {
        crate::i18n::tr(lang, Msg::DrillMark)
    } else {
        ""
    }
}

/// A storm of critical alerts sounds at most this often: one alarm, not a din (the
/// banner and the list still show every alert).
const ALARM_GAP_MS: f64 = 2_000.0;

thread_local! {
    /// The page's one audio context (each new one starts an audio thread of its own),
    /// and when the alarm last sounded (`Date.now()`).
    static ALARM: std::cell::RefCell<(Option<web_sys::AudioContext>, f64)> =
        const { std::cell::RefCell::new((None, f64::NEG_INFINITY)) };
}

/// Two short tones, loud enough for a duty room; nothing when it sounded less than
/// [`ALARM_GAP_MS`] ago.
fn sound_alarm() {
    let now_ms = js_sys::Date::now();
    let context = ALARM.with_borrow_mut(|(context, last)| {
        if now_ms - *last < ALARM_GAP_MS {
            return None;
        }
        *last = now_ms;
        if context.is_none() {
            *context = web_sys::AudioContext::new().ok();
        }
        context.clone()
    });
    let Some(context) = context else {
        return;
    };
    // A context made before the user touched the page starts suspended.
    let _ = context.resume();
    let (Ok(tone), Ok(gain)) = (context.create_oscillator(), context.create_gain()) else {
        return;
    };
    tone.set_type(web_sys::OscillatorType::Square);
    tone.frequency().set_value(880.0);
    gain.gain().set_value(0.15);
    let now = context.current_time();
    let _ = gain.gain().set_value_at_time(0.0, now + 0.3);
    let _ = gain.gain().set_value_at_time(0.15, now + 0.45);
    let _ = tone.connect_with_audio_node(&gain);
    let _ = gain.connect_with_audio_node(&context.destination());
    let _ = tone.start();
    let _ = tone.stop_with_when(now + 0.8);
}

/// Whether the browser may show notifications; `None` where it has none (or the page
/// is not a secure context).
fn notification_permission() -> Option<web_sys::NotificationPermission> {
    let supported = js_sys::Reflect::has(&window(), &"Notification".into()).unwrap_or(false);
    supported.then(web_sys::Notification::permission)
}

/// A notification outside the page (the tablet asleep in a pocket, another tab).
fn notify_system(title: &str, body: &str) {
    let options = web_sys::NotificationOptions::new();
    options.set_body(body);
    options.set_require_interaction(true);
    let _ = web_sys::Notification::new_with_options(title, &options);
}

/// The banner for a new critical alert (command screen and tablet), with its sound, a
/// mute, and a notification outside the page when the browser allows it.
#[component]
pub fn CriticalBanner() -> impl IntoView {
    let lang = use_language();
    let Some(live) = use_live() else {
        return ().into_any();
    };
    let storage = window().local_storage().ok().flatten();
    let saved = storage
        .as_ref()
        .and_then(|s| s.get_item(MUTE_KEY).ok().flatten());
    let muted = RwSignal::new(saved.as_deref() == Some("1"));
    let shown = RwSignal::new(None::<Alert>);
    let permission = RwSignal::new(notification_permission());
    Effect::new(move |_| {
        if let Some(alert) = live.new_critical.get() {
            if !muted.get_untracked() {
                sound_alarm();
            }
            if permission.get_untracked() == Some(web_sys::NotificationPermission::Granted) {
                let lang = lang.0.get_untracked();
                let body = format!(
                    "{}{} · {}",
                    drill_mark(lang, &alert),
                    names::alert_kind(lang, alert.kind),
                    who(live, &alert)
                );
                notify_system(crate::i18n::tr(lang, Msg::NewCritical), &body);
            }
            shown.set(Some(alert));
        }
    });
    // The permission is read again once the browser has the user's answer.
    let ask_permission = move |_| {
        if let Ok(promise) = web_sys::Notification::request_permission() {
            spawn_local(async move {
                let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
                permission.set(notification_permission());
            });
        }
    };
    let still_active = move |id: i64| {
        live.snapshot.with(|s| {
            s.as_ref()
                .is_some_and(|s| s.alerts.iter().any(|a| a.id == id))
        })
    };
    let toggle_mute = move |_| {
        let next = !muted.get_untracked();
        muted.set(next);
        if let Some(s) = window().local_storage().ok().flatten() {
            let _ = s.set_item(MUTE_KEY, if next { "1" } else { "0" });
        }
    };
    view! {
        <button class="mute link" data-test="mute" on:click=toggle_mute
            data-last-critical=move || live.new_critical.get().map(|a| a.id.to_string()).unwrap_or_default()>
            {move || if muted.get() { lang.t(Msg::Unmute) } else { lang.t(Msg::Mute) }}
        </button>
        {move || (permission.get() == Some(web_sys::NotificationPermission::Default)).then(|| view! {
            <button class="notify-permission link" data-test="allow-notifications" on:click=ask_permission>
                {lang.text(Msg::AllowNotifications)}
            </button>
        })}
        // Up until clicked away, or until its alert is resolved (then nobody needs it).
        {move || shown.get().filter(|alert| still_active(alert.id)).map(|alert| {
            let kind = alert.kind;
            let home = who(live, &alert);
            let drill = alert.drill;
            view! {
                <div class="critical-banner" class:drill=drill data-test="critical-banner" role="alert"
                    data-drill=drill.to_string() on:click=move |_| shown.set(None)>
                    <strong>{move || drill_mark(lang.0.get(), &alert)}{lang.text(Msg::NewCritical)}</strong>
                    " · " {move || names::alert_kind(lang.0.get(), kind)} " · " {home}
                </div>
            }
        })}
    }
    .into_any()
}
