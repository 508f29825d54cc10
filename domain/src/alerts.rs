//! Alerts: what the sensor rules raise for an elder home, and the lifecycle a person
//! takes each one through: raised (open) → acknowledged (by whom, when) → resolved (with
//! an outcome), or escalated: by the clock to the street office's command when a critical
//! alert waits too long for anybody to acknowledge it, and by a person into a case with
//! the parties who handle it (also after the clock's escalation: an unanswered alarm
//! still gets its case).
//!
//! [`AlertAction::apply`] is the one place that says which step is allowed from where;
//! the server enforces it and the app uses it to show only the buttons that work.

use crate::cases::{CaseCategory, CasePriority, Party};
use crate::place::Position;
use crate::{CommunityId, Timestamp};
use serde::{Deserialize, Serialize};

named_enum!(
    /// How urgent an alert is. Ordered: the worst of several is their maximum.
    Severity {
        Info = "info",
        Warning = "warning",
        /// Gas, smoke: somebody must go now, and only a person may close it.
        Critical = "critical",
    }
);

impl Severity {
    pub fn name_zh(self) -> &'static str {
        match self {
            Severity::Info => "提示",
            Severity::Warning => "警告",
            Severity::Critical => "紧急",
        }
    }
}

named_enum!(
    /// What a rule noticed.
    AlertKind {
        /// The water meter shows no use while the home is normally active.
        NoWaterUse = "no-water-use",
        /// Water has flowed without a break for too long (a tap left open, a fall).
        ContinuousFlow = "continuous-flow",
        /// A day's use far above the home's own pattern.
        UnusualWaterUse = "unusual-water-use",
        Gas = "gas",
        Smoke = "smoke",
        /// No heartbeat or reading within the device's interval.
        Offline = "offline",
        LowBattery = "low-battery",
        Tamper = "tamper",
        /// Nobody recorded the morning check-in (晨安) by the set time.
        MissedCheckIn = "missed-check-in",
    }
);

impl AlertKind {
    /// What the office calls it (the app and the notifications use these words).
    pub fn name_zh(self) -> &'static str {
        match self {
            AlertKind::NoWaterUse => "用水异常：长时间未用水",
            AlertKind::ContinuousFlow => "持续流水",
            AlertKind::UnusualWaterUse => "用水量异常偏高",
            AlertKind::Gas => "燃气泄漏",
            AlertKind::Smoke => "烟雾报警",
            AlertKind::Offline => "设备离线",
            AlertKind::LowBattery => "电量低",
            AlertKind::Tamper => "设备被拆动",
            AlertKind::MissedCheckIn => "未晨安打卡",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            AlertKind::NoWaterUse => "No water use",
            AlertKind::ContinuousFlow => "Water running",
            AlertKind::UnusualWaterUse => "Unusual water use",
            AlertKind::Gas => "Gas leak",
            AlertKind::Smoke => "Smoke",
            AlertKind::Offline => "Device offline",
            AlertKind::LowBattery => "Low battery",
            AlertKind::Tamper => "Tampering",
            AlertKind::MissedCheckIn => "Missed check-in",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            AlertKind::Gas | AlertKind::Smoke => Severity::Critical,
            AlertKind::NoWaterUse
            | AlertKind::ContinuousFlow
            | AlertKind::MissedCheckIn
            | AlertKind::Tamper
            | AlertKind::Offline => Severity::Warning,
            AlertKind::UnusualWaterUse | AlertKind::LowBattery => Severity::Info,
        }
    }
}

named_enum!(
    /// Where an alert stands.
    AlertState {
        Open = "open",
        Acknowledged = "acknowledged",
        Resolved = "resolved",
    }
);

named_enum!(
    /// How an alert ended.
    AlertOutcome {
        /// The resident is well (at home).
        Safe = "safe",
        /// The resident is well and was away (the quiet meter had a reason).
        SafeAway = "safe-away",
        /// Somebody helped: a fall, a leak shut off, a fire put out.
        Handled = "handled",
        /// Taken to hospital.
        Hospital = "hospital",
        /// The device was wrong: a fault, a test, a flat battery.
        DeviceFault = "device-fault",
        FalseAlarm = "false-alarm",
        /// The condition cleared by itself (non-critical alerts only; set by the system).
        Cleared = "cleared",
        /// A drill's alert, closed when its drill ended (set by ending the drill).
        DrillEnded = "drill-ended",
    }
);

/// Who did something to an alert, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stamp {
    /// `user:<name>` or `system:<part>`, as the event log records it.
    pub by: String,
    pub at: Timestamp,
}

/// Who escalated an alert, when, and to whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Escalation {
    /// `user:<name>`, or `system:rules` when nobody acknowledged a critical alert in time.
    pub by: String,
    pub at: Timestamp,
    /// The party responsible for the case it opened; none when the rules escalated it to
    /// the street office's command (no case yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsible: Option<Party>,
    /// The parties cooperating on that case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cooperating: Vec<Party>,
}

/// How and by whom an alert was resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Resolution {
    pub by: String,
    pub at: Timestamp,
    pub outcome: AlertOutcome,
    pub note: String,
}

/// An alert, as lists, the map and the stream show it (staff only: it points at a home).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    pub id: i64,
    pub home: String,
    pub community: CommunityId,
    pub building: String,
    /// `[lon, lat]` of the home.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<f64>, min_items = 2, max_items = 2))]
    pub position: Position,
    pub kind: AlertKind,
    pub severity: Severity,
    pub state: AlertState,
    /// The device whose readings raised it, if one did.
    pub device: Option<String>,
    /// What the rule saw, in a sentence for staff (English; the app translates kinds).
    pub detail: String,
    /// The last value that fed the rule (a gas level, a battery percentage), if any.
    pub value: Option<f64>,
    /// How many times the condition was seen while this alert was open.
    pub occurrences: u32,
    /// Whether the condition has gone away (a critical alert still waits for a person).
    pub cleared: bool,
    pub raised_at: Timestamp,
    pub updated_at: Timestamp,
    pub acknowledged: Option<Stamp>,
    pub escalated: Option<Escalation>,
    pub resolved: Option<Resolution>,
    /// The case it was escalated into.
    pub case_id: Option<i64>,
    /// Raised by a drill (应急演练), not by a sensor: shown as a drill everywhere, counted
    /// in no figure and never on the public page; the drill's id is the alert's.
    #[serde(default)]
    pub drill: bool,
}

impl Alert {
    /// Whether a person still has to act on it.
    pub fn is_active(&self) -> bool {
        self.state != AlertState::Resolved
    }
}

/// Something done to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertAction {
    Acknowledge,
    /// Escalate into a case (a person; the clock's escalation only stamps the alert).
    Escalate,
    /// Resolve with an outcome; `by_system` when a rule saw the condition clear.
    Resolve {
        outcome: AlertOutcome,
        by_system: bool,
    },
}

/// Why an action is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum Refusal {
    #[error("the alert is already resolved")]
    AlreadyResolved,
    #[error("the alert is already acknowledged")]
    AlreadyAcknowledged,
    #[error("the alert already has its case")]
    AlreadyEscalated,
    #[error("a critical alert is resolved by a person, not by the system")]
    CriticalNeedsPerson,
    #[error("only the system resolves an alert as `cleared`; choose what was found")]
    ClearedIsForTheSystem,
    #[error(
        "only ending its drill resolves an alert as `drill-ended`: DELETE /api/v1/drills/{{id}}"
    )]
    DrillEndedIsForTheDrill,
}

impl AlertAction {
    /// The state after this action, or why it is not allowed. Escalation keeps the state
    /// (an escalated alert is still open or acknowledged, and still needs resolving).
    pub fn apply(
        self,
        state: AlertState,
        severity: Severity,
        has_case: bool,
    ) -> Result<AlertState, Refusal> {
        if state == AlertState::Resolved {
            return Err(Refusal::AlreadyResolved);
        }
        match self {
            AlertAction::Acknowledge if state == AlertState::Acknowledged => {
                Err(Refusal::AlreadyAcknowledged)
            }
            AlertAction::Acknowledge => Ok(AlertState::Acknowledged),
            AlertAction::Escalate if has_case => Err(Refusal::AlreadyEscalated),
            AlertAction::Escalate => Ok(state),
            AlertAction::Resolve {
                by_system: true, ..
            } if severity == Severity::Critical => Err(Refusal::CriticalNeedsPerson),
            AlertAction::Resolve {
                outcome: AlertOutcome::Cleared,
                by_system: false,
            } => Err(Refusal::ClearedIsForTheSystem),
            AlertAction::Resolve {
                outcome: AlertOutcome::DrillEnded,
                ..
            } => Err(Refusal::DrillEndedIsForTheDrill),
            AlertAction::Resolve { .. } => Ok(AlertState::Resolved),
        }
    }
}

/// `POST /api/v1/alerts/{id}/resolve`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResolveAlert {
    pub outcome: AlertOutcome,
    /// What was found and done (up to 2,000 characters).
    #[serde(default)]
    pub note: String,
}

/// `POST /api/v1/alerts/{id}/escalate`: opens a linked case. Every field is optional:
/// what is left out comes from the alert's [`EscalationDraft`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EscalateAlert {
    /// Why, for the case's first entry (up to 2,000 characters).
    #[serde(default)]
    pub note: String,
    /// The case's title (up to 200 characters).
    #[serde(default)]
    pub title: Option<String>,
    /// The case's description (up to 4,000 characters).
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub responsible: Option<Party>,
    #[serde(default)]
    pub cooperating: Option<Vec<Party>>,
    /// Send someone to the new case at once (commanders): a grid worker's name or
    /// `unit:<id>`.
    #[serde(default)]
    pub dispatch: Option<String>,
}

/// `GET /api/v1/alerts/{id}/escalation`: the case escalating would open, in Chinese,
/// for the form that lets a person change it first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EscalationDraft {
    /// What and where: "燃气泄漏 · 幸福里 12号楼 2单元301".
    pub title: String,
    /// When, how bad, the reading, and the alert it came from.
    pub description: String,
    pub category: CaseCategory,
    pub priority: CasePriority,
    /// Who usually handles this kind: the gas utility for gas, the community committee
    /// for an elder's welfare.
    pub responsible: Option<Party>,
    pub cooperating: Vec<Party>,
}

impl EscalationDraft {
    /// The case for `alert` at `place` (community, building, unit and room, in words),
    /// raised at `raised_local` (the office's local time, in words).
    pub fn new(alert: &Alert, place: &str, raised_local: &str) -> EscalationDraft {
        let (category, responsible, cooperating) = match alert.kind {
            AlertKind::Gas => (
                CaseCategory::FacilitySafety,
                Party::Utilities,
                vec![Party::PropertyManagement, Party::CommunityCommittee],
            ),
            AlertKind::Smoke => (
                CaseCategory::FacilitySafety,
                Party::PropertyManagement,
                vec![Party::CommunityCommittee],
            ),
            // Nobody watches the home while its device is away: a visit, and the
            // device seen to.
            AlertKind::Offline | AlertKind::LowBattery | AlertKind::Tamper => (
                CaseCategory::ElderCare,
                Party::CommunityCommittee,
                vec![Party::PropertyManagement],
            ),
            AlertKind::NoWaterUse
            | AlertKind::ContinuousFlow
            | AlertKind::UnusualWaterUse
            | AlertKind::MissedCheckIn => {
                (CaseCategory::ElderCare, Party::CommunityCommittee, vec![])
            }
        };
        let mut description = format!(
            "{raised_local} {}（{}）",
            alert.kind.name_zh(),
            alert.severity.name_zh()
        );
        if let (AlertKind::Gas, Some(value)) = (alert.kind, alert.value) {
            description.push_str(&format!("，燃气浓度 {value:.0}% LEL"));
        }
        if alert.occurrences > 1 {
            description.push_str(&format!("，共 {} 次", alert.occurrences));
        }
        description.push_str(&format!("。地点：{place}。由告警 #{} 升级。", alert.id));
        EscalationDraft {
            title: format!("{} · {place}", alert.kind.name_zh()),
            description,
            category,
            priority: if alert.severity == Severity::Critical {
                CasePriority::Urgent
            } else {
                CasePriority::High
            },
            responsible: Some(responsible),
            cooperating,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESOLVE_SAFE: AlertAction = AlertAction::Resolve {
        outcome: AlertOutcome::Safe,
        by_system: false,
    };
    const SELF_CLEARED: AlertAction = AlertAction::Resolve {
        outcome: AlertOutcome::Cleared,
        by_system: true,
    };

    #[test]
    fn every_action_from_every_state() {
        use AlertState::*;
        let w = Severity::Warning;
        assert_eq!(
            AlertAction::Acknowledge.apply(Open, w, false),
            Ok(Acknowledged)
        );
        assert_eq!(
            AlertAction::Acknowledge.apply(Acknowledged, w, false),
            Err(Refusal::AlreadyAcknowledged)
        );
        assert_eq!(AlertAction::Escalate.apply(Open, w, false), Ok(Open));
        assert_eq!(
            AlertAction::Escalate.apply(Acknowledged, w, false),
            Ok(Acknowledged)
        );
        assert_eq!(
            AlertAction::Escalate.apply(Open, w, true),
            Err(Refusal::AlreadyEscalated)
        );
        assert_eq!(RESOLVE_SAFE.apply(Open, w, false), Ok(Resolved));
        assert_eq!(RESOLVE_SAFE.apply(Acknowledged, w, true), Ok(Resolved));
        assert_eq!(SELF_CLEARED.apply(Open, w, false), Ok(Resolved));
        for action in [
            AlertAction::Acknowledge,
            AlertAction::Escalate,
            RESOLVE_SAFE,
        ] {
            assert_eq!(
                action.apply(Resolved, w, false),
                Err(Refusal::AlreadyResolved)
            );
        }
    }

    #[test]
    fn critical_alerts_need_a_person_and_people_say_what_they_found() {
        assert_eq!(
            SELF_CLEARED.apply(AlertState::Open, Severity::Critical, false),
            Err(Refusal::CriticalNeedsPerson)
        );
        assert_eq!(
            RESOLVE_SAFE.apply(AlertState::Acknowledged, Severity::Critical, false),
            Ok(AlertState::Resolved)
        );
        let person_says_cleared = AlertAction::Resolve {
            outcome: AlertOutcome::Cleared,
            by_system: false,
        };
        assert_eq!(
            person_says_cleared.apply(AlertState::Open, Severity::Info, false),
            Err(Refusal::ClearedIsForTheSystem)
        );
    }

    #[test]
    fn gas_and_smoke_are_critical() {
        for kind in AlertKind::ALL {
            let critical = matches!(kind, AlertKind::Gas | AlertKind::Smoke);
            assert_eq!(kind.severity() == Severity::Critical, critical, "{kind:?}");
        }
        assert!(Severity::Critical > Severity::Warning && Severity::Warning > Severity::Info);
    }
}
