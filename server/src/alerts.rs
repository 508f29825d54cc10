//! [`AlertBook`]: the alerts that still need somebody, held by the rules engine, and the
//! one place where signals and people's actions become alert changes.
//!
//! - A signal that a condition holds raises an alert, or, when the home already has an
//!   active alert of that kind, counts as one more occurrence of it: at most one active
//!   alert per (home, kind). A condition that returns soon after its alert cleared
//!   reopens that alert rather than raising a new one, so flapping does not spam.
//! - A signal that a condition cleared resolves a non-critical alert by itself (outcome
//!   `cleared`); a critical one is only marked cleared and waits for a person.
//! - Acknowledge, resolve and escalate follow `AlertAction::apply`; escalating by a
//!   person opens a linked case from an [`EscalationDraft`] the person may have edited.
//!   A critical alert nobody acknowledged in time is escalated by the clock to the
//!   command (a stamp, no case): a person still escalates it into its case afterwards.
//!
//! Every change comes out as an [`EngineWrite`] for the store, with its event, and the
//! book is only changed here. Ids are assigned here too (the engine is the only writer
//! of alerts), so a raise and later updates in the same group commit agree on the id.

use crate::clock::Millis;
use crate::rules::{Signal, Thresholds};
use crate::store::{Actor, EngineWrite, OpenCase, StoredAlert};
use linli_domain::alerts::{
    Alert, AlertAction, AlertKind, AlertOutcome, AlertState, Escalation, EscalationDraft, Refusal,
    Resolution, Severity, Stamp,
};
use linli_domain::cases::{CaseHandling, CaseSource, CaseStage, CaseSummary};
use linli_domain::events::EventKind;
use linli_domain::place::Position;
use linli_domain::CommunityId;
use linli_domain::Timestamp;
use std::collections::HashMap;

/// Who the rules act as in the event log.
pub const RULES: Actor = Actor::System("rules");

/// What an alert needs to know about its home.
#[derive(Debug, Clone, PartialEq)]
pub struct HomePlace {
    pub id: String,
    pub community: CommunityId,
    pub building: String,
    pub grid: Option<String>,
    pub position: Position,
}

/// A person's action on an alert, as the API receives it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Request {
    Acknowledge,
    Resolve {
        outcome: AlertOutcome,
        note: String,
    },
    /// Into a case made from `case` (the alert's draft, as the person left it).
    Escalate {
        note: String,
        case: EscalationDraft,
    },
}

/// Why a person's action was not applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum ActError {
    #[error("there is no alert {0}")]
    NotFound(i64),
    #[error("{0}")]
    Refused(#[from] Refusal),
}

/// Home, kind, and whether a drill raised it: a drill's alert stands beside the
/// home's real one of the same kind, never in its place.
type Key = (String, AlertKind, bool);

#[derive(Debug, Default)]
pub struct AlertBook {
    /// Alerts not resolved, by home and kind.
    active: HashMap<Key, StoredAlert>,
    /// Alerts that cleared by themselves recently, which a returning condition reopens.
    cleared: HashMap<Key, StoredAlert>,
    /// Active alert ids → key.
    ids: HashMap<i64, Key>,
    next_id: i64,
}

fn key_of(alert: &Alert) -> Key {
    (alert.home.clone(), alert.kind, alert.drill)
}

impl AlertBook {
    /// A book holding the stored alerts: the active ones, and those that cleared by
    /// themselves (which may reopen). `max_id` is the highest alert id ever stored.
    pub fn new(stored: Vec<StoredAlert>, max_id: i64) -> Self {
        let mut book = AlertBook {
            next_id: max_id + 1,
            ..AlertBook::default()
        };
        for a in stored {
            let key = key_of(&a.alert);
            if a.alert.is_active() {
                book.ids.insert(a.alert.id, key.clone());
                book.active.insert(key, a);
            } else if a
                .alert
                .resolved
                .as_ref()
                .is_some_and(|r| r.outcome == AlertOutcome::Cleared)
            {
                book.cleared.insert(key, a);
            }
        }
        book
    }

    pub fn active(&self) -> impl Iterator<Item = &Alert> {
        self.active.values().map(|a| &a.alert)
    }

    pub fn get(&self, id: i64) -> Option<&Alert> {
        self.ids
            .get(&id)
            .and_then(|k| self.active.get(k))
            .map(|a| &a.alert)
    }

    /// The home's active alert of this kind, if any.
    pub fn active_of(&self, home: &str, kind: AlertKind) -> Option<&Alert> {
        self.active
            .get(&(home.to_string(), kind, false))
            .map(|a| &a.alert)
    }

    fn write(alert: &StoredAlert, event: Option<EventKind>, actor: Actor) -> EngineWrite {
        EngineWrite::Alert {
            alert: alert.clone(),
            event,
            actor,
            open_case: None,
        }
    }

    /// Applies what a rule saw at `now` to the home's alerts.
    pub fn on_signal(
        &mut self,
        home: &HomePlace,
        signal: Signal,
        now: Millis,
        t: &Thresholds,
        out: &mut Vec<EngineWrite>,
    ) {
        let key = (home.id.clone(), signal.kind, false);
        if !signal.present {
            self.condition_cleared(key, now, out);
            return;
        }
        if let Some(a) = self.active.get_mut(&key) {
            let was_cleared = a.alert.cleared;
            a.alert.occurrences = a.alert.occurrences.saturating_add(1);
            a.alert.cleared = false;
            a.alert.value = signal.value.or(a.alert.value);
            a.alert.detail = signal.detail;
            a.alert.updated_at = Timestamp::from_millis(now);
            a.updated_ms = now;
            // A repeat is stored quietly; a condition back after clearing is news.
            let event = was_cleared.then_some(EventKind::AlertUpdated);
            out.push(Self::write(a, event, RULES));
            return;
        }
        let reopen = self
            .cleared
            .remove(&key)
            .filter(|a| a.resolved_ms.is_some_and(|r| now - r < t.reopen_within_ms));
        let (alert, event) = match reopen {
            Some(mut a) => {
                a.alert.state = AlertState::Open;
                a.alert.resolved = None;
                a.alert.acknowledged = None;
                a.alert.cleared = false;
                a.alert.occurrences = a.alert.occurrences.saturating_add(1);
                a.alert.value = signal.value.or(a.alert.value);
                a.alert.detail = signal.detail;
                a.alert.updated_at = Timestamp::from_millis(now);
                a.updated_ms = now;
                a.resolved_ms = None;
                (a, EventKind::AlertUpdated)
            }
            None => (
                self.new_alert(home, signal, false, now),
                EventKind::AlertRaised,
            ),
        };
        out.push(Self::write(&alert, Some(event), RULES));
        self.ids.insert(alert.alert.id, key.clone());
        self.active.insert(key, alert);
    }

    /// A new open alert at `home` for what `signal` saw, with the next id.
    fn new_alert(
        &mut self,
        home: &HomePlace,
        signal: Signal,
        drill: bool,
        now: Millis,
    ) -> StoredAlert {
        let id = self.next_id;
        self.next_id += 1;
        let alert = Alert {
            id,
            home: home.id.clone(),
            community: home.community.clone(),
            building: home.building.clone(),
            position: home.position,
            kind: signal.kind,
            severity: signal.kind.severity(),
            state: AlertState::Open,
            device: signal.device,
            detail: signal.detail,
            value: signal.value,
            occurrences: 1,
            cleared: false,
            raised_at: Timestamp::from_millis(now),
            updated_at: Timestamp::from_millis(now),
            acknowledged: None,
            escalated: None,
            resolved: None,
            case_id: None,
            drill,
        };
        StoredAlert {
            alert,
            raised_ms: now,
            updated_ms: now,
            resolved_ms: None,
        }
    }

    /// A drill raises at `home` the alert of `kind` the rule would raise, marked as a
    /// drill; `None` when the home has a drill of that kind on already.
    pub fn start_drill(
        &mut self,
        home: &HomePlace,
        kind: AlertKind,
        by: Actor,
        now: Millis,
        out: &mut Vec<EngineWrite>,
    ) -> Option<Alert> {
        let key = (home.id.clone(), kind, true);
        if self.active.contains_key(&key) {
            return None;
        }
        let signal = Signal {
            kind,
            present: true,
            device: None,
            value: None,
            detail: format!("Drill started by {}", by.label()),
        };
        let alert = self.new_alert(home, signal, true, now);
        out.push(Self::write(&alert, Some(EventKind::AlertRaised), by));
        let raised = alert.alert.clone();
        self.ids.insert(raised.id, key.clone());
        self.active.insert(key, alert);
        Some(raised)
    }

    /// Ending drill `id` resolves its alert as `drill-ended`, whatever its severity;
    /// `None` when the alert is resolved already (the drill was answered to the end).
    pub fn end_drill(
        &mut self,
        id: i64,
        by: Actor,
        now: Millis,
        out: &mut Vec<EngineWrite>,
    ) -> Option<Alert> {
        let key = self.ids.get(&id).filter(|k| k.2).cloned()?;
        let mut a = self.active.remove(&key)?;
        self.ids.remove(&id);
        let now = now.max(a.updated_ms);
        a.alert.state = AlertState::Resolved;
        a.alert.resolved = Some(Resolution {
            by: by.label(),
            at: Timestamp::from_millis(now),
            outcome: AlertOutcome::DrillEnded,
            note: String::new(),
        });
        a.alert.updated_at = Timestamp::from_millis(now);
        a.updated_ms = now;
        a.resolved_ms = Some(now);
        out.push(Self::write(&a, Some(EventKind::AlertUpdated), by));
        Some(a.alert)
    }

    fn condition_cleared(&mut self, key: Key, now: Millis, out: &mut Vec<EngineWrite>) {
        let Some(a) = self.active.get_mut(&key) else {
            return;
        };
        if a.alert.cleared {
            return;
        }
        let by_system = AlertAction::Resolve {
            outcome: AlertOutcome::Cleared,
            by_system: true,
        };
        let (state, severity, has_case) =
            (a.alert.state, a.alert.severity, a.alert.case_id.is_some());
        a.alert.cleared = true;
        a.alert.updated_at = Timestamp::from_millis(now);
        a.updated_ms = now;
        match by_system.apply(state, severity, has_case) {
            Ok(resolved) => {
                a.alert.state = resolved;
                a.alert.resolved = Some(Resolution {
                    by: RULES.label(),
                    at: Timestamp::from_millis(now),
                    outcome: AlertOutcome::Cleared,
                    note: String::new(),
                });
                a.resolved_ms = Some(now);
                out.push(Self::write(a, Some(EventKind::AlertUpdated), RULES));
                if let Some(a) = self.active.remove(&key) {
                    self.ids.remove(&a.alert.id);
                    self.cleared.insert(key, a);
                }
            }
            // Critical: only marked cleared; a person resolves it.
            Err(_) => out.push(Self::write(a, Some(EventKind::AlertUpdated), RULES)),
        }
    }

    /// A person acts on an alert.
    pub fn act(
        &mut self,
        id: i64,
        request: Request,
        by: Actor,
        now: Millis,
        home: Option<&HomePlace>,
        out: &mut Vec<EngineWrite>,
    ) -> Result<Alert, ActError> {
        let key = self.ids.get(&id).cloned().ok_or(ActError::NotFound(id))?;
        let a = self.active.get_mut(&key).ok_or(ActError::NotFound(id))?;
        // Done offline before the alert last changed: after that change, so that its
        // history keeps its order.
        let now = now.max(a.updated_ms);
        let action = match &request {
            Request::Acknowledge => AlertAction::Acknowledge,
            Request::Escalate { .. } => AlertAction::Escalate,
            Request::Resolve { outcome, .. } => AlertAction::Resolve {
                outcome: *outcome,
                by_system: false,
            },
        };
        let next = action.apply(a.alert.state, a.alert.severity, a.alert.case_id.is_some())?;
        let stamp = Stamp {
            by: by.label(),
            at: Timestamp::from_millis(now),
        };
        let mut open_case = None;
        match request {
            Request::Acknowledge => a.alert.acknowledged = Some(stamp),
            Request::Resolve { outcome, note } => {
                a.alert.resolved = Some(Resolution {
                    by: stamp.by,
                    at: stamp.at,
                    outcome,
                    note,
                });
                a.resolved_ms = Some(now);
            }
            Request::Escalate { note, case } => {
                a.alert.escalated = Some(Escalation {
                    by: stamp.by,
                    at: stamp.at,
                    responsible: case.responsible,
                    cooperating: case.cooperating.clone(),
                });
                open_case = Some(OpenCase {
                    summary: case_for(&a.alert, home, &case, now),
                    description: case.description,
                    note,
                });
            }
        }
        a.alert.state = next;
        a.alert.updated_at = Timestamp::from_millis(now);
        a.updated_ms = now;
        let alert = a.alert.clone();
        out.push(EngineWrite::Alert {
            alert: a.clone(),
            event: Some(EventKind::AlertUpdated),
            actor: by,
            open_case,
        });
        if next == AlertState::Resolved {
            self.active.remove(&key);
            self.ids.remove(&id);
        }
        Ok(alert)
    }

    /// Records the case an escalation opened (known once committed).
    pub fn link_case(&mut self, alert_id: i64, case_id: i64) {
        if let Some(a) = self.ids.get(&alert_id).and_then(|k| self.active.get_mut(k)) {
            a.alert.case_id = Some(case_id);
        }
    }

    /// Escalates critical alerts nobody acknowledged in time, and forgets cleared
    /// alerts too old to reopen.
    pub fn on_tick(
        &mut self,
        now: Millis,
        thresholds: impl Fn(&str) -> Thresholds,
        out: &mut Vec<EngineWrite>,
    ) {
        for a in self.active.values_mut() {
            let t = thresholds(&a.alert.home);
            let overdue = a.alert.severity == Severity::Critical
                && a.alert.state == AlertState::Open
                && a.alert.escalated.is_none()
                && now - a.raised_ms >= t.escalate_unacknowledged_ms;
            if overdue {
                a.alert.escalated = Some(Escalation {
                    by: RULES.label(),
                    at: Timestamp::from_millis(now),
                    responsible: None,
                    cooperating: Vec::new(),
                });
                a.alert.updated_at = Timestamp::from_millis(now);
                a.updated_ms = now;
                out.push(Self::write(a, Some(EventKind::AlertUpdated), RULES));
            }
        }
        self.cleared.retain(|key, a| {
            let window = thresholds(&key.0).reopen_within_ms;
            a.resolved_ms.is_some_and(|r| now - r < window)
        });
    }
}

/// The case an escalated alert opens, from its draft: at the home's building, from a
/// sensor alert.
fn case_for(
    alert: &Alert,
    home: Option<&HomePlace>,
    draft: &EscalationDraft,
    now: Millis,
) -> CaseSummary {
    CaseSummary {
        id: 0,
        title: draft.title.clone(),
        category: draft.category,
        stage: CaseStage::Reported,
        priority: draft.priority,
        source: CaseSource::SensorAlert,
        community: alert.community.clone(),
        grid: home.and_then(|h| h.grid.clone()),
        position: alert.position,
        building: Some(alert.building.clone()),
        opened_at: Timestamp::from_millis(now),
        updated_at: Timestamp::from_millis(now),
        handling: CaseHandling {
            alert_id: Some(alert.id),
            drill: alert.drill,
            responsible: draft.responsible,
            cooperating: draft.cooperating.clone(),
            ..CaseHandling::default()
        },
        closed_at: None,
        outcome: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::MINUTE_MS;
    use linli_domain::cases::{CaseCategory, Party};
    use linli_domain::Username;

    fn home() -> HomePlace {
        HomePlace {
            id: "h1".into(),
            community: CommunityId::parse("xingfuli").unwrap(),
            building: "b12".into(),
            grid: None,
            position: [117.3, 31.8],
        }
    }

    fn signal(kind: AlertKind, present: bool) -> Signal {
        Signal {
            kind,
            present,
            device: Some("gd-1".into()),
            value: Some(45.0),
            detail: "seen".into(),
        }
    }

    fn events(out: &[EngineWrite]) -> Vec<(i64, EventKind)> {
        out.iter()
            .filter_map(|w| match w {
                EngineWrite::Alert {
                    alert,
                    event: Some(e),
                    ..
                } => Some((alert.alert.id, *e)),
                _ => None,
            })
            .collect()
    }

    fn person() -> Actor {
        Actor::User(Username::parse("wang").unwrap())
    }

    #[test]
    fn repeats_count_on_one_alert_and_a_critical_one_waits_for_a_person() {
        let (t, mut book, mut out) = (Thresholds::default(), AlertBook::new(vec![], 41), vec![]);
        for _ in 0..3 {
            book.on_signal(&home(), signal(AlertKind::Gas, true), 1_000, &t, &mut out);
        }
        assert_eq!(events(&out), vec![(42, EventKind::AlertRaised)]);
        assert_eq!(book.get(42).unwrap().occurrences, 3);
        assert_eq!(out.len(), 3, "repeats are stored quietly");
        book.on_signal(&home(), signal(AlertKind::Gas, false), 2_000, &t, &mut out);
        let gas = book.get(42).unwrap();
        assert!(gas.cleared && gas.state == AlertState::Open);
        let resolved = book
            .act(
                42,
                Request::Resolve {
                    outcome: AlertOutcome::Handled,
                    note: "valve closed".into(),
                },
                person(),
                3_000,
                None,
                &mut out,
            )
            .unwrap();
        assert_eq!(resolved.state, AlertState::Resolved);
        assert_eq!(resolved.resolved.unwrap().by, "user:wang");
        assert!(book.get(42).is_none());
        // The next leak is a new alert.
        book.on_signal(&home(), signal(AlertKind::Gas, true), 4_000, &t, &mut out);
        assert_eq!(events(&out).last(), Some(&(43, EventKind::AlertRaised)));
    }

    #[test]
    fn a_warning_clears_by_itself_and_reopens_when_it_flaps() {
        let (t, mut book, mut out) = (Thresholds::default(), AlertBook::new(vec![], 0), vec![]);
        book.on_signal(&home(), signal(AlertKind::Offline, true), 0, &t, &mut out);
        book.on_signal(
            &home(),
            signal(AlertKind::Offline, false),
            MINUTE_MS,
            &t,
            &mut out,
        );
        assert!(book.get(1).is_none(), "resolved as cleared");
        book.on_signal(
            &home(),
            signal(AlertKind::Offline, true),
            10 * MINUTE_MS,
            &t,
            &mut out,
        );
        assert_eq!(
            events(&out),
            vec![
                (1, EventKind::AlertRaised),
                (1, EventKind::AlertUpdated),
                (1, EventKind::AlertUpdated)
            ]
        );
        assert_eq!(book.get(1).unwrap().occurrences, 2);
        // Long after clearing, a return is a new alert.
        book.on_signal(
            &home(),
            signal(AlertKind::Offline, false),
            11 * MINUTE_MS,
            &t,
            &mut out,
        );
        book.on_tick(200 * MINUTE_MS, |_| t.clone(), &mut out);
        book.on_signal(
            &home(),
            signal(AlertKind::Offline, true),
            200 * MINUTE_MS,
            &t,
            &mut out,
        );
        assert_eq!(events(&out).last(), Some(&(2, EventKind::AlertRaised)));
    }

    #[test]
    fn people_acknowledge_escalate_and_resolve_in_order() {
        let (t, mut book, mut out) = (Thresholds::default(), AlertBook::new(vec![], 0), vec![]);
        book.on_signal(
            &home(),
            signal(AlertKind::NoWaterUse, true),
            0,
            &t,
            &mut out,
        );
        let ack = book
            .act(1, Request::Acknowledge, person(), 5, None, &mut out)
            .unwrap();
        assert_eq!(ack.acknowledged.unwrap().by, "user:wang");
        assert_eq!(
            book.act(1, Request::Acknowledge, person(), 6, None, &mut out),
            Err(ActError::Refused(Refusal::AlreadyAcknowledged))
        );
        let escalated = book
            .act(
                1,
                escalate(&book, 1, "no answer"),
                person(),
                7,
                Some(&home()),
                &mut out,
            )
            .unwrap()
            .escalated
            .unwrap();
        assert_eq!(escalated.responsible, Some(Party::CommunityCommittee));
        let case = out.iter().find_map(|w| match w {
            EngineWrite::Alert {
                open_case: Some(c), ..
            } => Some(c.clone()),
            _ => None,
        });
        let case = case.expect("escalating opens a case");
        assert_eq!(case.summary.category, CaseCategory::ElderCare);
        assert_eq!(case.summary.source, CaseSource::SensorAlert);
        assert_eq!(case.summary.title, "用水异常：长时间未用水 · 幸福里 12号楼");
        assert_eq!(case.summary.handling.alert_id, Some(1));
        assert_eq!(case.note, "no answer");
        book.link_case(1, 40);
        assert_eq!(
            book.act(1, escalate(&book, 1, ""), person(), 8, None, &mut out),
            Err(ActError::Refused(Refusal::AlreadyEscalated)),
            "one case per alert"
        );
        let person_cleared = Request::Resolve {
            outcome: AlertOutcome::Cleared,
            note: String::new(),
        };
        assert_eq!(
            book.act(1, person_cleared, person(), 8, None, &mut out),
            Err(ActError::Refused(Refusal::ClearedIsForTheSystem))
        );
        assert_eq!(
            book.act(99, Request::Acknowledge, person(), 8, None, &mut out),
            Err(ActError::NotFound(99))
        );
    }

    #[test]
    fn an_unacknowledged_critical_alert_escalates_once_after_the_set_minutes() {
        let (t, mut book, mut out) = (Thresholds::default(), AlertBook::new(vec![], 0), vec![]);
        book.on_signal(&home(), signal(AlertKind::Smoke, true), 0, &t, &mut out);
        book.on_signal(
            &HomePlace {
                id: "h2".into(),
                ..home()
            },
            signal(AlertKind::Smoke, true),
            0,
            &t,
            &mut out,
        );
        book.act(2, Request::Acknowledge, person(), MINUTE_MS, None, &mut out)
            .unwrap();
        out.clear();
        book.on_tick(4 * MINUTE_MS, |_| t.clone(), &mut out);
        assert!(out.is_empty());
        book.on_tick(5 * MINUTE_MS, |_| t.clone(), &mut out);
        book.on_tick(6 * MINUTE_MS, |_| t.clone(), &mut out);
        assert_eq!(events(&out), vec![(1, EventKind::AlertUpdated)]);
        let escalated = book.get(1).unwrap().escalated.clone().unwrap();
        assert_eq!(escalated.by, "system:rules");
        assert_eq!(escalated.responsible, None, "to the command, no case yet");
        assert!(
            book.get(2).unwrap().escalated.is_none(),
            "acknowledged in time"
        );
        // The unanswered alarm still gets its case, from a person.
        let by_person = book
            .act(
                1,
                escalate(&book, 1, ""),
                person(),
                7 * MINUTE_MS,
                Some(&home()),
                &mut out,
            )
            .unwrap()
            .escalated
            .unwrap();
        assert_eq!(by_person.by, "user:wang");
        assert_eq!(by_person.responsible, Some(Party::PropertyManagement));
    }

    /// Escalating with the alert's own draft, as a person who changes nothing does.
    fn escalate(book: &AlertBook, id: i64, note: &str) -> Request {
        let alert = book.get(id).expect("an active alert");
        Request::Escalate {
            note: note.into(),
            case: EscalationDraft::new(alert, "幸福里 12号楼", "02:13"),
        }
    }
}
