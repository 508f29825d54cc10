//! [`Live`]: the staff faces' view of the district as it changes: the snapshot loaded at
//! start, kept current by the server's event stream (`/api/v1/stream`).
//!
//! The stream starts after the snapshot's last event. When the network drops, the
//! browser reconnects by itself and sends the last event id it had, so the server
//! replays exactly what was missed; when the server says `resync`, the snapshot is
//! loaded again. [`apply`] (pure, tested natively) turns one event into a change of
//! the snapshot; events are applied in batches of up to [`BATCH_EVERY`], so that a
//! burst of alerts redraws lists and map once.

use crate::api;
use leptos::prelude::*;
use leptos::task::spawn_local;
use linli_domain::alerts::{Alert, AlertState, Severity};
use linli_domain::api::Snapshot;
use linli_domain::cases::CaseSummary;
use linli_domain::events::{self, EventKind};
use linli_domain::patrol::{PatrolRun, SILENT_AFTER_MS};
use linli_domain::place::Position;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast as _;

/// The stream's state, for the indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Live,
    Reconnecting,
}

/// What an event did to the snapshot.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    Changed,
    /// A critical alert was raised: the command screen sounds and flies to it.
    NewCritical(Alert),
    /// The client missed too much: load a fresh snapshot.
    Resync,
    Ignored,
}

/// One message of the stream: an event of the log, or the server's `resync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Message {
    Event(EventKind),
    Resync,
}

/// Applies one stream event to the snapshot.
pub fn apply(snapshot: &mut Snapshot, kind: EventKind, data: &str) -> Applied {
    match kind {
        EventKind::AlertRaised | EventKind::AlertUpdated => {
            let Ok(alert) = serde_json::from_str::<Alert>(data) else {
                return Applied::Ignored;
            };
            snapshot.alerts.retain(|a| a.id != alert.id);
            let critical = kind == EventKind::AlertRaised && alert.severity == Severity::Critical;
            if alert.state != AlertState::Resolved {
                snapshot.alerts.insert(0, alert.clone());
            }
            if critical {
                Applied::NewCritical(alert)
            } else {
                Applied::Changed
            }
        }
        EventKind::SensorStatus => {
            let Ok(status) = serde_json::from_str::<events::SensorStatus>(data) else {
                return Applied::Ignored;
            };
            let sensor = snapshot
                .homes
                .iter_mut()
                .filter(|h| h.id == status.home)
                .flat_map(|h| h.sensors.iter_mut())
                .find(|s| s.id == status.device);
            match sensor {
                Some(sensor) => {
                    sensor.health = status.health;
                    sensor.battery_pct = status.battery_pct.or(sensor.battery_pct);
                    sensor.last_seen = status.last_seen.or(sensor.last_seen.take());
                    Applied::Changed
                }
                None => Applied::Ignored,
            }
        }
        EventKind::DispatchCreated | EventKind::DispatchUpdated => {
            let Ok(task) = serde_json::from_str::<linli_domain::dispatch::Dispatch>(data) else {
                return Applied::Ignored;
            };
            snapshot.dispatches.retain(|d| d.id != task.id);
            if task.state.is_open() {
                snapshot.dispatches.insert(0, task);
            }
            Applied::Changed
        }
        EventKind::CaseCreated | EventKind::CaseUpdated => {
            let Ok(case) = serde_json::from_str::<CaseSummary>(data) else {
                return Applied::Ignored;
            };
            snapshot.cases.retain(|c| c.id != case.id);
            snapshot.cases.insert(0, case);
            Applied::Changed
        }
        EventKind::PatrolPosition | EventKind::PatrolRun => {
            let Ok(run) = serde_json::from_str::<PatrolRun>(data) else {
                return Applied::Ignored;
            };
            // Positions can arrive after the next run started: never go back to an older run.
            if snapshot
                .units
                .iter()
                .any(|u| u.unit == run.unit && u.id > run.id)
            {
                return Applied::Ignored;
            }
            snapshot.units.retain(|u| u.unit != run.unit);
            snapshot.units.push(run);
            Applied::Changed
        }
        _ => Applied::Ignored,
    }
}

/// Flags the units out on a run that were last heard of more than
/// [`SILENT_AFTER_MS`] before `now_ms` (the server flags them only when asked, and a
/// silent unit sends nothing). Whether any changed.
pub fn mark_silent(units: &mut [PatrolRun], now_ms: f64) -> bool {
    let mut changed = false;
    for run in units
        .iter_mut()
        .filter(|r| r.ended_at.is_none() && !r.silent)
    {
        let heard = run.last_seen.unwrap_or(run.started_at).millis() as f64;
        if now_ms - heard > SILENT_AFTER_MS as f64 {
            run.silent = true;
            changed = true;
        }
    }
    changed
}

/// How often the face looks for units gone silent.
const SILENCE_CHECK: std::time::Duration = std::time::Duration::from_secs(20);
/// Stream events arriving within this time are applied together.
const BATCH_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// A community's id with its names.
#[derive(Debug, Clone, PartialEq)]
pub struct CommunityName {
    pub id: String,
    pub zh: String,
    pub en: String,
}

impl CommunityName {
    pub fn shown(&self, lang: crate::i18n::Lang) -> String {
        match lang {
            crate::i18n::Lang::Zh => self.zh.clone(),
            crate::i18n::Lang::En => self.en.clone(),
        }
    }
}

/// The communities' names from the communities layer (the map has them drawn, lists
/// and charts need them as text).
fn load_community_names(into: RwSignal<Vec<CommunityName>>) {
    spawn_local(async move {
        match api::layer(linli_domain::place::LayerName::Communities).await {
            Ok(layer) => into.set(
                layer
                    .features
                    .into_iter()
                    .map(|f| {
                        let p: serde_json::Value =
                            serde_json::from_str(f.properties.get()).unwrap_or_default();
                        let text = |key: &str| p[key].as_str().unwrap_or(&f.id).to_string();
                        CommunityName {
                            zh: text("name"),
                            en: text("name_en"),
                            id: f.id.clone(),
                        }
                    })
                    .collect(),
            ),
            Err(e) => leptos::logging::warn!("cannot load the community names: {e:?}"),
        }
    });
}

/// Shared by a staff face and everything in it.
#[derive(Debug, Clone, Copy)]
pub struct Live {
    pub snapshot: RwSignal<Option<Snapshot>>,
    pub failed: RwSignal<bool>,
    pub connection: RwSignal<Connection>,
    /// The newest critical alert raised while the page was open.
    pub new_critical: RwSignal<Option<Alert>>,
    /// Where the map should go (a list row clicked, a critical alert raised).
    pub focus: RwSignal<Option<Position>>,
    /// The case whose details the map should open (a list row, a case just created).
    pub open_case: RwSignal<Option<i64>>,
    /// A case the map should start reporting (a patrol's "report a problem here").
    pub report_at: RwSignal<Option<ReportAt>>,
    /// What the map shows (the command screen's KPI tiles choose).
    pub map_focus: RwSignal<crate::map::markers::MapFocus>,
    /// The communities' names, once loaded.
    pub communities: RwSignal<Vec<CommunityName>>,
}

impl Live {
    /// A community's name in `lang` (its id until the names are loaded); reactive.
    pub fn community_name(self, id: &str, lang: crate::i18n::Lang) -> String {
        self.communities.with(|list| {
            list.iter()
                .find(|c| c.id == id)
                .map_or_else(|| id.to_string(), |c| c.shown(lang))
        })
    }

    /// Shows the result of the user's own change at once, as if the stream had sent
    /// it (the stream's copy, when it comes, changes nothing more).
    pub fn show_change(self, kind: EventKind, item: &impl serde::Serialize) {
        self.show_json(kind, &serde_json::to_string(item).unwrap_or_default());
    }

    /// [`Live::show_change`] for an item as the server's JSON text.
    pub fn show_json(self, kind: EventKind, data: &str) {
        self.snapshot.update(|s| {
            if let Some(s) = s {
                apply(s, kind, data);
            }
        });
    }
}

/// Where a face asks the map to report a case: a point, found on a patrol run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportAt {
    pub position: Position,
    pub patrol_run: Option<i64>,
}

/// Loads the snapshot, follows the stream, and shares both with the face's children.
pub fn provide_live() -> Live {
    let live = Live {
        snapshot: RwSignal::new(None),
        failed: RwSignal::new(false),
        connection: RwSignal::new(Connection::Connecting),
        new_critical: RwSignal::new(None),
        focus: RwSignal::new(None),
        open_case: RwSignal::new(None),
        report_at: RwSignal::new(None),
        map_focus: RwSignal::new(Default::default()),
        communities: RwSignal::new(Vec::new()),
    };
    let source = StoredValue::new_local(None::<web_sys::EventSource>);
    on_cleanup(move || {
        if let Some(es) = source.get_value() {
            es.close();
        }
    });
    load(live, source);
    load_community_names(live.communities);
    provide_context(live);
    if let Ok(timer) = set_interval_with_handle(
        move || {
            let now = js_sys::Date::now();
            live.snapshot
                .maybe_update(|s| s.as_mut().is_some_and(|s| mark_silent(&mut s.units, now)));
        },
        SILENCE_CHECK,
    ) {
        on_cleanup(move || timer.clear());
    }
    live
}

pub fn use_live() -> Option<Live> {
    use_context::<Live>()
}

/// The newest critical alert of `now` that `before` did not have: raised while the
/// stream was away, it still rings. Nothing on a first load (no `before`).
fn critical_raised_meanwhile(before: Option<&Snapshot>, now: &Snapshot) -> Option<Alert> {
    let before = before?;
    now.alerts
        .iter()
        .filter(|a| a.severity == Severity::Critical && a.state == AlertState::Open)
        .filter(|a| !before.alerts.iter().any(|b| b.id == a.id))
        .max_by_key(|a| a.id)
        .cloned()
}

/// Loads the snapshot, then (re)opens the stream after its last event. A task of the
/// face's (`spawn_local`) rather than a resource: the snapshot is moved into
/// [`Live::snapshot`], not copied out of a resource on every read. When the answer
/// comes after the face is gone (signed out, another face chosen), it is dropped.
fn load(live: Live, source: StoredValue<Option<web_sys::EventSource>, LocalStorage>) {
    spawn_local(async move {
        let answer = api::snapshot().await;
        let Some(meanwhile) = live.snapshot.try_with_untracked(|before| {
            answer
                .as_ref()
                .ok()
                .and_then(|now| critical_raised_meanwhile(before.as_ref(), now))
        }) else {
            return;
        };
        match answer {
            Ok(snapshot) => {
                let after = snapshot.last_event_id;
                live.snapshot.set(Some(snapshot));
                if let Some(alert) = meanwhile {
                    live.focus.set(Some(alert.position));
                    live.new_critical.set(Some(alert));
                }
                live.failed.set(false);
                open(live, source, after);
            }
            Err(e) => {
                leptos::logging::warn!("cannot load the snapshot: {e:?}");
                live.failed.set(true);
            }
        }
    });
}

fn open(live: Live, source: StoredValue<Option<web_sys::EventSource>, LocalStorage>, after: i64) {
    let Some(old) = source.try_get_value() else {
        return;
    };
    if let Some(old) = old {
        old.close();
    }
    let Ok(es) = web_sys::EventSource::new(&format!("/api/v1/stream?last_event_id={after}")) else {
        return;
    };
    let on_open = Closure::<dyn Fn()>::new(move || live.connection.set(Connection::Live));
    es.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    on_open.forget();
    let on_error = Closure::<dyn Fn(web_sys::Event)>::new(move |_| {
        live.connection.set(Connection::Reconnecting);
        // The browser retries by itself unless the server refused outright (a session
        // that ended, a server that went away): then start again from the snapshot.
        let closed = source
            .try_get_value()
            .flatten()
            .is_some_and(|es| es.ready_state() == web_sys::EventSource::CLOSED);
        if closed {
            set_timeout(
                move || load(live, source),
                std::time::Duration::from_secs(3),
            );
        }
    });
    es.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    // Events are applied in batches, at most every BATCH_EVERY: a burst of alerts
    // recomputes the lists and the map once, not once per event.
    let batch: Rc<RefCell<Vec<(Message, String)>>> = Rc::default();
    let apply_batch = {
        let batch = Rc::clone(&batch);
        move || {
            let events = std::mem::take(&mut *batch.borrow_mut());
            let mut outcomes = Vec::with_capacity(events.len());
            crate::timing::measured("linli: stream batch applied", || {
                live.snapshot.update(|s| {
                    if let Some(s) = s {
                        outcomes.extend(events.iter().map(|(message, data)| match message {
                            Message::Event(kind) => apply(s, *kind, data),
                            Message::Resync => Applied::Resync,
                        }));
                    }
                })
            });
            // Every critical alert of the batch rings, even when the batch also asks
            // for a resync (the reload would see it as known already).
            let mut resync = false;
            for outcome in outcomes {
                match outcome {
                    Applied::NewCritical(alert) => {
                        live.focus.set(Some(alert.position));
                        live.new_critical.set(Some(alert));
                    }
                    Applied::Resync => resync = true,
                    Applied::Changed | Applied::Ignored => {}
                }
            }
            if resync {
                load(live, source);
            }
        }
    };
    let messages = EventKind::STREAMED
        .into_iter()
        .map(|kind| (kind.as_str(), Message::Event(kind)))
        .chain([(events::RESYNC, Message::Resync)]);
    for (name, message) in messages {
        let (batch, apply_batch) = (Rc::clone(&batch), apply_batch.clone());
        let on_event =
            Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                live.connection.set(Connection::Live);
                let data = ev.data().as_string().unwrap_or_default();
                let first = {
                    let mut waiting = batch.borrow_mut();
                    waiting.push((message, data));
                    waiting.len() == 1
                };
                if first {
                    set_timeout(apply_batch.clone(), BATCH_EVERY);
                }
            });
        let _ = es.add_event_listener_with_callback(name, on_event.as_ref().unchecked_ref());
        on_event.forget();
    }
    source.set_value(Some(es));
}

#[cfg(test)]
mod tests {
    use super::*;
    use linli_domain::care::{CareLevel, Health, Home, Sensor, SensorKind};
    use linli_domain::place::FeatureCollection;
    use linli_domain::CommunityId;
    use linli_domain::Timestamp;
    use serde_json::json;

    fn snapshot() -> Snapshot {
        Snapshot {
            last_event_id: 10,
            homes: vec![Home {
                id: "h1".into(),
                building: "b1".into(),
                community: CommunityId::parse("xingfuli").unwrap(),
                grid: None,
                unit: 1,
                floor: 2,
                room: "201".into(),
                resident: "王秀英".into(),
                age_band: "80-89".into(),
                living_alone: true,
                care_level: CareLevel::Attention,
                phone: None,
                contact: None,
                position: [117.3, 31.8],
                sensors: vec![Sensor {
                    id: "gd-1".into(),
                    kind: SensorKind::Gas,
                    health: Health::Ok,
                    battery_pct: Some(80),
                    last_seen: None,
                }],
            }],
            alerts: vec![],
            cases: vec![],
            routes: FeatureCollection { features: vec![] },
            units: vec![],
            dispatches: vec![],
        }
    }

    #[test]
    fn a_critical_alert_raised_while_the_stream_was_away_still_rings() {
        let before = snapshot();
        let mut now = snapshot();
        let critical: Alert = serde_json::from_str(&alert("open", "critical")).unwrap();
        let warning = Alert {
            id: 6,
            severity: Severity::Warning,
            ..critical.clone()
        };
        now.alerts = vec![warning, critical.clone()];
        assert_eq!(
            critical_raised_meanwhile(Some(&before), &now),
            Some(critical.clone())
        );
        assert_eq!(
            critical_raised_meanwhile(None, &now),
            None,
            "not on a first load"
        );
        assert_eq!(
            critical_raised_meanwhile(Some(&now), &now),
            None,
            "known already"
        );
    }

    fn alert(state: &str, severity: &str) -> String {
        json!({"id": 5, "home": "h1", "community": "xingfuli", "building": "b1",
               "position": [117.3, 31.8], "kind": "gas", "severity": severity, "state": state,
               "device": "gd-1", "detail": "gas", "value": 45.0, "occurrences": 1,
               "cleared": false, "raised_at": "2026-11-27T02:13:00.000Z",
               "updated_at": "2026-11-27T02:13:00.000Z", "acknowledged": null,
               "escalated": null, "resolved": null, "case_id": null})
        .to_string()
    }

    #[test]
    fn alerts_arrive_change_and_leave_when_resolved() {
        let mut s = snapshot();
        let raised = apply(&mut s, EventKind::AlertRaised, &alert("open", "critical"));
        assert!(matches!(raised, Applied::NewCritical(a) if a.id == 5));
        assert_eq!(
            apply(
                &mut s,
                EventKind::AlertUpdated,
                &alert("acknowledged", "critical")
            ),
            Applied::Changed
        );
        assert_eq!(s.alerts.len(), 1);
        assert_eq!(s.alerts[0].state, AlertState::Acknowledged);
        apply(
            &mut s,
            EventKind::AlertUpdated,
            &alert("resolved", "critical"),
        );
        assert!(s.alerts.is_empty());
        assert_eq!(
            apply(&mut s, EventKind::AlertRaised, &alert("open", "warning")),
            Applied::Changed
        );
    }

    #[test]
    fn sensor_status_recolours_the_home_and_bad_events_are_ignored() {
        let mut s = snapshot();
        let status = json!({"device": "gd-1", "home": "h1", "community": "xingfuli",
                            "health": "alarm", "battery_pct": null, "last_seen": null});
        assert_eq!(
            apply(&mut s, EventKind::SensorStatus, &status.to_string()),
            Applied::Changed
        );
        assert_eq!(s.homes[0].health(), Health::Alarm);
        assert_eq!(s.homes[0].sensors[0].battery_pct, Some(80));
        assert_eq!(
            apply(&mut s, EventKind::SensorStatus, "{not json"),
            Applied::Ignored
        );
        assert_eq!(
            apply(&mut s, EventKind::PatrolPosition, "{}"),
            Applied::Ignored
        );
    }

    fn run(id: i64, covered: usize, ended: bool) -> String {
        let covered: Vec<_> = (0..covered)
            .map(|i| json!({"checkpoint": format!("cp-{i}"), "at": "2026-11-27T11:00:00.000Z"}))
            .collect();
        json!({"id": id, "unit": "team-1", "route": "r1", "community": "xingfuli",
               "started_at": "2026-11-27T11:00:00.000Z",
               "ended_at": ended.then_some("2026-11-27T12:00:00.000Z"),
               "covered": covered, "checkpoints": 3, "positions": covered.len(),
               "off_route_positions": 0, "position": [117.3, 31.8],
               "last_seen": "2026-11-27T11:10:00.000Z", "off_route": false, "silent": false})
        .to_string()
    }

    #[test]
    fn units_unheard_of_for_five_minutes_are_flagged_silent() {
        let mut s = snapshot();
        apply(&mut s, EventKind::PatrolPosition, &run(1, 1, false));
        // `last_seen` is 11:10 (the run started at 11:00).
        let at_11_10 = Timestamp::parse("2026-11-27T11:10:00.000Z")
            .unwrap()
            .millis() as f64;
        assert!(!mark_silent(&mut s.units, at_11_10 + 299_000.0));
        assert!(!s.units[0].silent);
        assert!(mark_silent(&mut s.units, at_11_10 + 301_000.0));
        assert!(s.units[0].silent);
        assert!(!mark_silent(&mut s.units, at_11_10 + 400_000.0), "once");
        apply(&mut s, EventKind::PatrolRun, &run(1, 1, true));
        assert!(
            !mark_silent(&mut s.units, 9e12),
            "a run that ended is not silent"
        );
    }

    #[test]
    fn patrol_units_follow_their_latest_run() {
        let mut s = snapshot();
        assert_eq!(
            apply(&mut s, EventKind::PatrolRun, &run(1, 0, false)),
            Applied::Changed
        );
        assert_eq!(
            apply(&mut s, EventKind::PatrolPosition, &run(1, 2, false)),
            Applied::Changed
        );
        assert_eq!(s.units.len(), 1);
        assert_eq!(s.units[0].covered.len(), 2);
        assert_eq!(
            apply(&mut s, EventKind::PatrolRun, &run(2, 0, false)),
            Applied::Changed
        );
        assert_eq!(
            apply(&mut s, EventKind::PatrolPosition, &run(1, 3, true)),
            Applied::Ignored,
            "a late position of the earlier run"
        );
        assert_eq!(s.units.len(), 1);
        assert_eq!((s.units[0].id, s.units[0].covered.len()), (2, 0));
        assert_eq!(
            apply(&mut s, EventKind::PatrolRun, "{\"id\": 3}"),
            Applied::Ignored
        );
    }
}
