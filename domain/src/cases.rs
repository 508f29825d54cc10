//! Cases: the problems residents have, followed from report to consolidation, in the
//! source article's loop: proactive visit → identification → negotiation → joint
//! handling → long-term consolidation (主动走访-精准识别-柔性协商-联动处置-长效巩固).

use crate::place::Position;
use crate::{CommunityId, Timestamp};
use serde::{Deserialize, Serialize};

named_enum!(
    /// What kind of problem a case is.
    CaseCategory {
        /// Environment and sanitation: neglected spots, green space turned into plots.
        Environment = "environment",
        /// Facility safety: gas, fire, lifts.
        FacilitySafety = "facility-safety",
        ElderCare = "elder-care",
        /// Dispute mediation: rents, neighbours, shops.
        Dispute = "dispute",
        /// Street and commercial order: parking, stalls, delivery riders.
        StreetOrder = "street-order",
        /// Infrastructure: water mains, sewers, roads.
        Infrastructure = "infrastructure",
        Other = "other",
    }
);

named_enum!(
    /// Where a case stands in the article's loop.
    CaseStage {
        Reported = "reported",
        Identified = "identified",
        Negotiating = "negotiating",
        JointHandling = "joint-handling",
        Consolidating = "consolidating",
        Closed = "closed",
    }
);

named_enum!(
    CasePriority {
        Low = "low",
        Normal = "normal",
        High = "high",
        Urgent = "urgent",
    }
);

named_enum!(
    /// Where a case came from.
    CaseSource {
        GridVisit = "grid-visit",
        ResidentReport = "resident-report",
        Hotline = "hotline",
        SensorAlert = "sensor-alert",
        Patrol = "patrol",
    }
);

named_enum!(
    /// How a closed case ended: honest outcomes, not just "closed".
    CaseOutcome {
        Solved = "solved",
        SolvedWithFollowUp = "solved-with-follow-up",
        NotSolvable = "not-solvable",
        Duplicate = "duplicate",
        Transferred = "transferred",
        /// A drill's case, closed when its drill ended (set by ending the drill).
        DrillEnded = "drill-ended",
    }
);

named_enum!(
    /// Who handles a case, or helps: the parties the article's joint handling brings
    /// together.
    Party {
        CommunityCommittee = "community-committee",
        PropertyManagement = "property-management",
        CityManagement = "city-management",
        MarketRegulation = "market-regulation",
        Utilities = "utilities",
        Police = "police",
        MediationGroup = "mediation-group",
    }
);

/// Checks the parties handling a case: each cooperating party named once, and not
/// the responsible one again.
pub fn check_parties(responsible: Option<Party>, cooperating: &[Party]) -> Result<(), String> {
    for (i, party) in cooperating.iter().enumerate() {
        if cooperating[..i].contains(party) {
            return Err(format!(
                "`{}` is named twice among the cooperating parties",
                party.as_str()
            ));
        }
        if Some(*party) == responsible {
            return Err(format!(
                "`{}` is responsible already; it is not also a cooperating party",
                party.as_str()
            ));
        }
    }
    Ok(())
}

/// What someone does to a case (`POST /api/v1/cases/{id}/events`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CaseStep {
    /// Move to another open stage.
    Advance {
        to: CaseStage,
        #[serde(default)]
        note: String,
    },
    /// Close with what came of it; a duplicate names the case it repeats.
    Close {
        outcome: CaseOutcome,
        #[serde(default)]
        note: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duplicate_of: Option<i64>,
    },
    /// The problem is back: a closed case opens again at `identified`.
    Reopen {
        #[serde(default)]
        note: String,
    },
    /// Who handles it, and who helps.
    Assign {
        responsible: Party,
        #[serde(default)]
        cooperating: Vec<Party>,
        #[serde(default)]
        note: String,
    },
    /// A note on the timeline; the stage stays.
    Note { note: String },
    /// A party handling the case says its part is done (the gas utility shut the
    /// valve); the stage stays. Partners mark their own organisation's part.
    PartDone {
        party: Party,
        #[serde(default)]
        note: String,
    },
    /// The report that opened the case: the first entry of every timeline, made by
    /// creating the case (`POST /api/v1/cases`, an escalation, an import), never sent
    /// as a step (refused with 422).
    Report {
        #[serde(default)]
        note: String,
    },
}

/// Why a step is not allowed where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepRefusal {
    /// That stage does not follow from this one.
    NotNext {
        from: CaseStage,
        to: CaseStage,
    },
    /// `closed` is reached with `close`, which says how it ended.
    CloseWithOutcome,
    /// Solved only once it was handled: from joint handling or consolidation.
    NotHandledYet(CaseStage),
    AlreadyClosed,
    NotClosed,
    /// A report is made by creating a case, not by a step.
    ReportIsACase,
}

/// What kind of refusal a [`StepRefusal`] is, for its status and code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// Not allowed where the case stands (and nobody changed it): `409 not_allowed`,
    /// with the stages it may move to.
    NotAllowed,
    /// The case changed since the caller saw it (closed or reopened meanwhile):
    /// `409 conflict`.
    Changed,
    /// Not a step at all: `422`.
    Invalid,
}

impl StepRefusal {
    pub fn kind(self) -> RefusalKind {
        match self {
            StepRefusal::NotNext { .. }
            | StepRefusal::CloseWithOutcome
            | StepRefusal::NotHandledYet(_) => RefusalKind::NotAllowed,
            StepRefusal::AlreadyClosed | StepRefusal::NotClosed => RefusalKind::Changed,
            StepRefusal::ReportIsACase => RefusalKind::Invalid,
        }
    }
}

impl std::fmt::Display for StepRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepRefusal::NotNext { from, to } => {
                let next: Vec<&str> = from.next_stages().iter().map(|s| s.as_str()).collect();
                write!(
                    f,
                    "a case at `{}` cannot move to `{}`; it can move to: {}",
                    from.as_str(),
                    to.as_str(),
                    next.join(", ")
                )
            }
            StepRefusal::CloseWithOutcome => {
                write!(f, "close a case with `close` and its outcome")
            }
            StepRefusal::NotHandledYet(stage) => write!(
                f,
                "a case at `{}` was not handled yet: it can close only as not-solvable, duplicate or transferred",
                stage.as_str()
            ),
            StepRefusal::AlreadyClosed => write!(f, "the case is closed; reopen it first"),
            StepRefusal::NotClosed => write!(f, "only a closed case can be reopened"),
            StepRefusal::ReportIsACase => write!(
                f,
                "a report opens a case (`POST /api/v1/cases`); it is not a step of one"
            ),
        }
    }
}

impl CaseStage {
    /// The open stages a case at this stage may move to: on along the loop, straight to
    /// joint handling when there is nothing to negotiate (a broken main), and back one
    /// step when handling stalls or the problem returns during consolidation.
    pub fn next_stages(self) -> &'static [CaseStage] {
        use CaseStage::*;
        match self {
            Reported => &[Identified],
            Identified => &[Negotiating, JointHandling],
            Negotiating => &[JointHandling, Identified],
            JointHandling => &[Consolidating, Negotiating],
            Consolidating => &[JointHandling],
            Closed => &[],
        }
    }

    /// Where a case at this stage stands after `step`, or why it cannot be taken.
    pub fn after(self, step: &CaseStep) -> Result<CaseStage, StepRefusal> {
        use CaseStage::*;
        match step {
            CaseStep::Report { .. } => Err(StepRefusal::ReportIsACase),
            CaseStep::Reopen { .. } if self == Closed => Ok(Identified),
            CaseStep::Reopen { .. } => Err(StepRefusal::NotClosed),
            _ if self == Closed => Err(StepRefusal::AlreadyClosed),
            CaseStep::Advance { to: Closed, .. } => Err(StepRefusal::CloseWithOutcome),
            CaseStep::Advance { to, .. } if self.next_stages().contains(to) => Ok(*to),
            CaseStep::Advance { to, .. } => Err(StepRefusal::NotNext {
                from: self,
                to: *to,
            }),
            CaseStep::Close { outcome, .. } => match outcome {
                CaseOutcome::Solved | CaseOutcome::SolvedWithFollowUp
                    if !matches!(self, JointHandling | Consolidating) =>
                {
                    Err(StepRefusal::NotHandledYet(self))
                }
                _ => Ok(Closed),
            },
            CaseStep::Assign { .. } | CaseStep::Note { .. } | CaseStep::PartDone { .. } => Ok(self),
        }
    }
}

impl CaseStep {
    pub fn note(&self) -> &str {
        match self {
            CaseStep::Advance { note, .. }
            | CaseStep::Close { note, .. }
            | CaseStep::Reopen { note }
            | CaseStep::Assign { note, .. }
            | CaseStep::PartDone { note, .. }
            | CaseStep::Report { note }
            | CaseStep::Note { note } => note,
        }
    }
}

/// How long a case may take from its report, in hours: by priority (urgent 4 h, high a
/// day, normal three days, low a week), longer where the work is slow by nature
/// (mediation and infrastructure take twice as long), shorter where people are at risk
/// (facility safety and elder care, half).
pub fn due_hours(category: CaseCategory, priority: CasePriority) -> i64 {
    let base = match priority {
        CasePriority::Urgent => 4,
        CasePriority::High => 24,
        CasePriority::Normal => 72,
        CasePriority::Low => 168,
    };
    match category {
        CaseCategory::Dispute | CaseCategory::Infrastructure => base * 2,
        CaseCategory::FacilitySafety | CaseCategory::ElderCare => (base / 2).max(2),
        CaseCategory::Environment | CaseCategory::StreetOrder | CaseCategory::Other => base,
    }
}

/// Whether a case is overdue at `now_ms`: still open after its due time.
pub fn is_overdue(stage: CaseStage, due_ms: i64, now_ms: i64) -> bool {
    stage != CaseStage::Closed && now_ms > due_ms
}

/// A case as lists and the map show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseSummary {
    pub id: i64,
    pub title: String,
    pub category: CaseCategory,
    pub stage: CaseStage,
    pub priority: CasePriority,
    pub source: CaseSource,
    pub community: CommunityId,
    pub grid: Option<String>,
    /// `[lon, lat]` of the spot.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<f64>, min_items = 2, max_items = 2))]
    pub position: Position,
    /// The building concerned, if any.
    pub building: Option<String>,
    pub opened_at: Timestamp,
    pub updated_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub outcome: Option<CaseOutcome>,
    #[serde(flatten)]
    pub handling: CaseHandling,
}

/// Who handles a case and by when.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseHandling {
    /// When it should be closed, from its category and priority ([`due_hours`]);
    /// the server always says; none in a new case (the store works it out) and in
    /// records written before due times existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<Timestamp>,
    /// Still open after its due time (as of when this was read).
    #[serde(default)]
    pub overdue: bool,
    #[serde(default)]
    pub responsible: Option<Party>,
    #[serde(default)]
    pub cooperating: Vec<Party>,
    /// The alert the case was escalated from.
    #[serde(default)]
    pub alert_id: Option<i64>,
    /// The patrol run it was found on.
    #[serde(default)]
    pub patrol_run: Option<i64>,
    /// Opened from a drill's alert: counted in no figure, never public, closed when
    /// the drill ends.
    #[serde(default)]
    pub drill: bool,
    /// How often it was closed and came back.
    #[serde(default)]
    pub reopened: u32,
    /// A case solved at the same spot before: the problem came back.
    #[serde(default)]
    pub recurs: Option<i64>,
    /// The parties (responsible or cooperating) that marked their part done.
    #[serde(default)]
    pub parties_done: Vec<Party>,
}

impl CaseHandling {
    /// Whether `party` handles the case, responsible or cooperating.
    pub fn handles(&self, party: Party) -> bool {
        self.responsible == Some(party) || self.cooperating.contains(&party)
    }
}

/// One step on a case's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseEvent {
    pub at: Timestamp,
    /// `user:<name>` or `system:<part>`.
    pub by: String,
    pub step: CaseStep,
    /// The stage after the step.
    pub stage: CaseStage,
}

named_enum!(
    /// When a photo on a case was taken: before the work, during it, or after.
    PhotoKind {
        Before = "before",
        During = "during",
        After = "after",
    }
);

/// A photo on a case (`POST /api/v1/cases/{id}/photos`), as re-encoded by the server
/// (no EXIF, no GPS). Its image is `GET /api/v1/cases/{case}/photos/{id}`, its
/// thumbnail the same with `?size=thumb`. Staff and the case's partners only: never on
/// a public surface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CasePhoto {
    pub id: i64,
    pub at: Timestamp,
    /// `user:<name>`.
    pub by: String,
    pub kind: PhotoKind,
    #[serde(default)]
    pub note: String,
    pub width: u32,
    pub height: u32,
}

/// A case with its description and its whole timeline (`GET /api/v1/cases/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Case {
    #[serde(flatten)]
    pub summary: CaseSummary,
    pub description: String,
    /// Oldest first; the report itself is the first entry.
    pub timeline: Vec<CaseEvent>,
    /// The steps allowed now, for the panel's buttons.
    pub next_stages: Vec<CaseStage>,
    /// Open cases of the same kind at the same spot, reported shortly before: offered
    /// for merging (close this one as a `duplicate` of one of them). Only while the
    /// case is at `reported`.
    pub possible_duplicates: Vec<i64>,
    /// Photos, oldest first.
    #[serde(default)]
    pub photos: Vec<CasePhoto>,
}

/// Reports this close together, of the same category, are about the same spot.
pub const SAME_SPOT_METRES: f64 = 100.0;
/// An open case reported this many days before a new report may be the same problem.
pub const DUPLICATE_WINDOW_DAYS: i64 = 30;
/// A case solved this many days before a new report at its spot: the problem came back.
pub const RECURRENCE_WINDOW_DAYS: i64 = 365;

/// What an earlier case at the spot is to a new report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Related {
    /// Still open: perhaps the same problem, reported again.
    PossibleDuplicate,
    /// Solved: the problem came back.
    Recurs,
}

/// What `earlier` is to a report of `category` titled `title` at `position` at
/// `now_ms` (`earlier_opened_ms` and `earlier_closed_ms` are the earlier case's
/// times): only about the same problem ([`same_problem`]) of the same kind at the
/// same spot.
pub fn related(
    category: CaseCategory,
    title: &str,
    position: Position,
    now_ms: i64,
    earlier: &CaseSummary,
    earlier_opened_ms: i64,
    earlier_closed_ms: Option<i64>,
) -> Option<Related> {
    const DAY_MS: i64 = 86_400_000;
    if earlier.category != category
        || crate::geometry::metres_between(earlier.position, position) > SAME_SPOT_METRES
        || !same_problem(title, &earlier.title)
    {
        return None;
    }
    match (earlier.stage, earlier.outcome, earlier_closed_ms) {
        (
            CaseStage::Closed,
            Some(CaseOutcome::Solved | CaseOutcome::SolvedWithFollowUp),
            Some(closed),
        ) if now_ms - closed <= RECURRENCE_WINDOW_DAYS * DAY_MS => Some(Related::Recurs),
        (CaseStage::Closed, _, _) => None,
        _ if now_ms - earlier_opened_ms <= DUPLICATE_WINDOW_DAYS * DAY_MS => {
            Some(Related::PossibleDuplicate)
        }
        _ => None,
    }
}

/// The words of a title, for comparing: pairs of neighbouring Chinese characters
/// ("楼道堆物" → 楼道, 道堆, 堆物; a lone character stands for itself) and other
/// words in lower case.
fn title_words(title: &str) -> std::collections::HashSet<String> {
    let mut words = std::collections::HashSet::new();
    let mut run: Vec<char> = Vec::new();
    let mut word = String::new();
    let flush_run = |run: &mut Vec<char>, words: &mut std::collections::HashSet<String>| {
        match run.len() {
            0 => {}
            1 => {
                words.insert(run[0].to_string());
            }
            _ => words.extend(run.windows(2).map(|pair| pair.iter().collect::<String>())),
        }
        run.clear();
    };
    for c in title.chars() {
        if ('\u{4e00}'..='\u{9fff}').contains(&c) {
            if !word.is_empty() {
                words.insert(std::mem::take(&mut word));
            }
            run.push(c);
        } else {
            flush_run(&mut run, &mut words);
            if c.is_alphanumeric() {
                word.extend(c.to_lowercase());
            } else if !word.is_empty() {
                words.insert(std::mem::take(&mut word));
            }
        }
    }
    flush_run(&mut run, &mut words);
    if !word.is_empty() {
        words.insert(word);
    }
    words
}

/// Whether two titles name the same problem: at least a third of the shorter one's
/// words (see [`title_words`]) are in the other. "楼道堆物" and "楼道堆放杂物" are;
/// "垃圾堆放" and "小区绿地被围成菜地", of the same category at the same spot, are not.
pub fn same_problem(a: &str, b: &str) -> bool {
    let (a, b) = (title_words(a), title_words(b));
    let shorter = a.len().min(b.len());
    shorter > 0 && 3 * a.intersection(&b).count() >= shorter
}

/// A new case (`POST /api/v1/cases`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub category: CaseCategory,
    #[serde(default = "normal_priority")]
    pub priority: CasePriority,
    pub source: CaseSource,
    pub community: CommunityId,
    #[serde(default)]
    pub grid: Option<String>,
    /// `[lon, lat]` of the spot.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<f64>, min_items = 2, max_items = 2))]
    pub position: Position,
    #[serde(default)]
    pub building: Option<String>,
    #[serde(default)]
    pub responsible: Option<Party>,
    #[serde(default)]
    pub cooperating: Vec<Party>,
    /// The patrol run the problem was found on (source `patrol`).
    #[serde(default)]
    pub patrol_run: Option<i64>,
}

fn normal_priority() -> CasePriority {
    CasePriority::Normal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in CaseCategory::ALL {
            assert_eq!(CaseCategory::parse(c.as_str()), Some(*c));
            assert_eq!(
                serde_json::to_string(c).unwrap(),
                format!("\"{}\"", c.as_str())
            );
        }
        assert_eq!(
            CaseStage::parse("joint-handling"),
            Some(CaseStage::JointHandling)
        );
        assert_eq!(CaseStage::parse("done"), None);
    }

    fn advance(to: CaseStage) -> CaseStep {
        CaseStep::Advance {
            to,
            note: String::new(),
        }
    }

    fn close(outcome: CaseOutcome) -> CaseStep {
        CaseStep::Close {
            outcome,
            note: String::new(),
            duplicate_of: None,
        }
    }

    #[test]
    fn every_stage_change_is_allowed_or_refused_as_the_loop_says() {
        use CaseStage::*;
        let allowed = [
            (Reported, Identified),
            (Identified, Negotiating),
            (Identified, JointHandling),
            (Negotiating, JointHandling),
            (Negotiating, Identified),
            (JointHandling, Consolidating),
            (JointHandling, Negotiating),
            (Consolidating, JointHandling),
        ];
        for from in CaseStage::ALL {
            for to in CaseStage::ALL {
                let result = from.after(&advance(*to));
                if allowed.contains(&(*from, *to)) {
                    assert_eq!(result, Ok(*to), "{from:?} → {to:?}");
                } else {
                    assert!(result.is_err(), "{from:?} → {to:?} must be refused");
                }
            }
        }
        assert_eq!(
            Reported.after(&advance(Closed)),
            Err(StepRefusal::CloseWithOutcome)
        );
        assert_eq!(
            Closed.after(&advance(Identified)),
            Err(StepRefusal::AlreadyClosed)
        );
        let refusal = Reported.after(&advance(Consolidating)).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "a case at `reported` cannot move to `consolidating`; it can move to: identified"
        );
    }

    #[test]
    fn a_case_is_solved_only_once_handled_but_may_end_otherwise_at_any_open_stage() {
        use CaseStage::*;
        for from in CaseStage::ALL {
            for outcome in CaseOutcome::ALL {
                let result = from.after(&close(*outcome));
                let handled = matches!(from, JointHandling | Consolidating);
                let solved = matches!(
                    outcome,
                    CaseOutcome::Solved | CaseOutcome::SolvedWithFollowUp
                );
                let expected = if *from == Closed {
                    Err(StepRefusal::AlreadyClosed)
                } else if solved && !handled {
                    Err(StepRefusal::NotHandledYet(*from))
                } else {
                    Ok(Closed)
                };
                assert_eq!(result, expected, "{from:?} closed as {outcome:?}");
            }
        }
    }

    #[test]
    fn only_a_closed_case_reopens_and_notes_keep_the_stage() {
        let reopen = CaseStep::Reopen {
            note: "the rubbish is back".into(),
        };
        for from in CaseStage::ALL {
            let expected = if *from == CaseStage::Closed {
                Ok(CaseStage::Identified)
            } else {
                Err(StepRefusal::NotClosed)
            };
            assert_eq!(from.after(&reopen), expected);
            let note = CaseStep::Note {
                note: "called".into(),
            };
            let assign = CaseStep::Assign {
                responsible: Party::PropertyManagement,
                cooperating: vec![Party::CityManagement],
                note: String::new(),
            };
            for step in [note, assign] {
                let expected = if *from == CaseStage::Closed {
                    Err(StepRefusal::AlreadyClosed)
                } else {
                    Ok(*from)
                };
                assert_eq!(from.after(&step), expected, "{step:?} at {from:?}");
            }
        }
    }

    #[test]
    fn steps_read_from_json_and_refuse_what_they_do_not_know() {
        let step: CaseStep = serde_json::from_str(
            r#"{"action": "advance", "to": "joint-handling", "note": "物业、城管到场"}"#,
        )
        .unwrap();
        assert_eq!(step.note(), "物业、城管到场");
        let close: CaseStep =
            serde_json::from_str(r#"{"action": "close", "outcome": "solved-with-follow-up"}"#)
                .unwrap();
        assert_eq!(close, super::tests::close(CaseOutcome::SolvedWithFollowUp));
        for bad in [
            r#"{"action": "advance"}"#,
            r#"{"action": "close", "outcome": "done"}"#,
            r#"{"action": "teleport"}"#,
            r#"{"action": "note", "note": "x", "extra": 1}"#,
            r#"{"to": "identified"}"#,
        ] {
            assert!(serde_json::from_str::<CaseStep>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn due_times_follow_priority_and_category_and_open_cases_go_overdue() {
        assert_eq!(
            due_hours(CaseCategory::Environment, CasePriority::Normal),
            72
        );
        assert_eq!(due_hours(CaseCategory::Dispute, CasePriority::Normal), 144);
        assert_eq!(due_hours(CaseCategory::ElderCare, CasePriority::Urgent), 2);
        assert_eq!(
            due_hours(CaseCategory::FacilitySafety, CasePriority::High),
            12
        );
        assert_eq!(
            due_hours(CaseCategory::Infrastructure, CasePriority::Low),
            336
        );
        for category in CaseCategory::ALL {
            let mut last = 0;
            for priority in [
                CasePriority::Urgent,
                CasePriority::High,
                CasePriority::Normal,
                CasePriority::Low,
            ] {
                let hours = due_hours(*category, priority);
                assert!(hours > last, "{category:?}: lower priority, later due");
                last = hours;
            }
        }
        let due = 1_000;
        assert!(!is_overdue(CaseStage::JointHandling, due, 1_000));
        assert!(is_overdue(CaseStage::JointHandling, due, 1_001));
        assert!(!is_overdue(CaseStage::Closed, due, 5_000));
    }

    #[test]
    fn an_earlier_case_at_the_spot_is_a_possible_duplicate_or_a_recurrence() {
        const DAY: i64 = 86_400_000;
        let now = 400 * DAY;
        let spot = [117.305, 31.845];
        // About 55 m east, and about 220 m north.
        let (near, far) = ([117.305_58, 31.845], [117.305, 31.847]);
        let earlier = |stage, outcome, position| CaseSummary {
            id: 1,
            title: "垃圾堆放".into(),
            category: CaseCategory::Environment,
            stage,
            priority: CasePriority::Normal,
            source: CaseSource::Patrol,
            community: crate::CommunityId::parse("xingfuli").unwrap(),
            grid: None,
            position,
            building: None,
            opened_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
            closed_at: None,
            outcome,
            handling: CaseHandling::default(),
        };
        let env = CaseCategory::Environment;
        let open = earlier(CaseStage::Identified, None, near);
        assert_eq!(
            related(env, "楼道垃圾堆放", spot, now, &open, now - 10 * DAY, None),
            Some(Related::PossibleDuplicate)
        );
        assert_eq!(
            related(env, "楼道垃圾堆放", spot, now, &open, now - 40 * DAY, None),
            None,
            "too long ago"
        );
        assert_eq!(
            related(
                CaseCategory::Dispute,
                "楼道垃圾堆放",
                spot,
                now,
                &open,
                now - DAY,
                None
            ),
            None,
            "another kind of problem"
        );
        let away = earlier(CaseStage::Identified, None, far);
        assert_eq!(
            related(env, "楼道垃圾堆放", spot, now, &away, now - DAY, None),
            None,
            "another spot"
        );
        let solved = earlier(CaseStage::Closed, Some(CaseOutcome::Solved), near);
        assert_eq!(
            related(
                env,
                "楼道垃圾堆放",
                spot,
                now,
                &solved,
                now - 100 * DAY,
                Some(now - 90 * DAY)
            ),
            Some(Related::Recurs)
        );
        assert_eq!(
            related(
                env,
                "楼道垃圾堆放",
                spot,
                now,
                &solved,
                0,
                Some(now - 366 * DAY)
            ),
            None,
            "solved more than a year ago"
        );
        let transferred = earlier(CaseStage::Closed, Some(CaseOutcome::Transferred), near);
        assert_eq!(
            related(
                env,
                "楼道垃圾堆放",
                spot,
                now,
                &transferred,
                now - DAY,
                Some(now)
            ),
            None
        );
        // Same kind, same spot, another problem: not offered.
        assert_eq!(
            related(env, "小区绿地被围成菜地", spot, now, &open, now - DAY, None),
            None,
            "a vegetable plot is not a garbage heap"
        );
    }

    #[test]
    fn titles_name_the_same_problem_by_their_words() {
        for (a, b) in [
            ("楼道堆物", "楼道堆放杂物"),
            ("路灯不亮", "3号楼旁路灯损坏"),
            ("绿地种菜", "小区绿地被围成菜地"),
            ("噪音扰民", "邻里噪音纠纷"),
            ("Broken street light", "street light out"),
        ] {
            assert!(same_problem(a, b), "{a} / {b}");
            assert!(same_problem(b, a), "{b} / {a}");
        }
        for (a, b) in [
            ("垃圾堆放", "小区绿地被围成菜地"),
            ("垃圾分类点满溢", "路灯不亮"),
            ("", "楼道堆物"),
            ("！！", "楼道堆物"),
        ] {
            assert!(!same_problem(a, b), "{a} / {b}");
        }
    }
}
