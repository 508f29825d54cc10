//! Dispatch (派单): the street office sends a person or a patrol unit to an alert or a
//! case, and follows the task as it is accepted, reached and done (or declined).
//!
//! [`DispatchAction::apply`] is the one place that says which step follows which; the
//! server enforces it and the tablet shows only the buttons that work.

use crate::place::Position;
use crate::{CommunityId, Role, Timestamp};
use serde::{Deserialize, Serialize};

/// The prefix of a patrol unit's assignee (`unit:team-9`); any other assignee is a
/// user's name.
pub const UNIT_PREFIX: &str = "unit:";

named_enum!(
    /// Where a task stands.
    DispatchState {
        /// Sent; nobody has taken it yet.
        Sent = "sent",
        Accepted = "accepted",
        /// On the spot.
        Arrived = "arrived",
        Done = "done",
        Declined = "declined",
    }
);

named_enum!(
    /// What the one sent does (`POST /api/v1/dispatches/{id}/events`).
    DispatchAction {
        Accept = "accept",
        Arrive = "arrive",
        Done = "done",
        Decline = "decline",
    }
);

impl DispatchState {
    /// Whether the task still needs its assignee.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            DispatchState::Sent | DispatchState::Accepted | DispatchState::Arrived
        )
    }
}

impl DispatchAction {
    /// The state after this action, or why it does not follow. Arriving without
    /// accepting first accepts too (a worker on the way forgets the button); a task is
    /// declined only before anybody is there.
    pub fn apply(self, state: DispatchState) -> Result<DispatchState, String> {
        self.next(state).ok_or_else(|| {
            let allowed: Vec<&str> = DispatchAction::ALL
                .iter()
                .filter(|a| a.next(state).is_some())
                .map(|a| a.as_str())
                .collect();
            format!(
                "a task that is `{}` cannot take `{}`; it can take: {}",
                state.as_str(),
                self.as_str(),
                if allowed.is_empty() {
                    "nothing, it is over".to_string()
                } else {
                    allowed.join(", ")
                }
            )
        })
    }

    fn next(self, state: DispatchState) -> Option<DispatchState> {
        use DispatchState::*;
        match (self, state) {
            (DispatchAction::Accept, Sent) => Some(Accepted),
            (DispatchAction::Arrive, Sent | Accepted) => Some(Arrived),
            (DispatchAction::Done, Accepted | Arrived) => Some(Done),
            (DispatchAction::Decline, Sent | Accepted) => Some(Declined),
            _ => None,
        }
    }
}

/// `POST /api/v1/dispatches`: send `assignee` (a user's name, or `unit:<id>` for a
/// patrol unit) to an alert or a case (exactly one of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewDispatch {
    pub assignee: String,
    #[serde(default)]
    pub alert_id: Option<i64>,
    #[serde(default)]
    pub case_id: Option<i64>,
    /// What to do there (up to 2,000 characters).
    #[serde(default)]
    pub note: String,
}

/// `POST /api/v1/dispatches/{id}/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DispatchStep {
    pub action: DispatchAction,
    #[serde(default)]
    pub note: String,
}

/// One step of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DispatchEvent {
    pub at: Timestamp,
    /// `user:<name>`.
    pub by: String,
    pub action: DispatchAction,
    #[serde(default)]
    pub note: String,
}

/// A task: who was sent where, for what, and how far it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dispatch {
    pub id: i64,
    pub assignee: String,
    pub alert_id: Option<i64>,
    pub case_id: Option<i64>,
    pub community: CommunityId,
    /// What it is about: the case's title, or the alert's kind and place.
    pub title: String,
    /// `[lon, lat]` of the place to go to.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<f64>, min_items = 2, max_items = 2))]
    pub position: Position,
    pub note: String,
    pub state: DispatchState,
    /// `user:<name>` of whoever sent it.
    pub sent_by: String,
    pub sent_at: Timestamp,
    pub updated_at: Timestamp,
    /// Oldest first.
    pub events: Vec<DispatchEvent>,
}

impl Dispatch {
    /// Whether a user (`role`, `username`, `communities`) may act on this task: the one
    /// sent, for a patrol unit its community's grid workers, and commanders.
    pub fn may_act(&self, role: Role, username: &str, communities: &[CommunityId]) -> bool {
        match role {
            Role::Commander => true,
            Role::GridWorker => match self.assignee.strip_prefix(UNIT_PREFIX) {
                Some(_) => communities.contains(&self.community),
                None => self.assignee == username,
            },
            Role::Viewer | Role::Partner => false,
        }
    }
}

/// Someone the office could send (`GET /api/v1/dispatches/candidates`): free patrol
/// units out on a run, nearest first, then the community's grid workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Candidate {
    /// What to put in `assignee`.
    pub assignee: String,
    /// Metres from the place, for a unit whose position is known.
    pub distance_m: Option<f64>,
    /// Already on an open task.
    pub busy: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_goes_from_sent_to_done_and_nowhere_backwards() {
        use DispatchAction as A;
        use DispatchState as S;
        assert_eq!(A::Accept.apply(S::Sent), Ok(S::Accepted));
        assert_eq!(A::Arrive.apply(S::Accepted), Ok(S::Arrived));
        assert_eq!(
            A::Arrive.apply(S::Sent),
            Ok(S::Arrived),
            "arriving accepts too"
        );
        assert_eq!(A::Done.apply(S::Arrived), Ok(S::Done));
        assert_eq!(A::Decline.apply(S::Accepted), Ok(S::Declined));
        let refused = A::Decline.apply(S::Arrived).unwrap_err();
        assert!(refused.contains("it can take: done"), "{refused}");
        for state in [S::Done, S::Declined] {
            for action in DispatchAction::ALL {
                assert!(action.apply(state).is_err(), "{action:?} after {state:?}");
            }
            assert!(!state.is_open());
        }
        assert!(
            A::Done.apply(S::Sent).is_err(),
            "done without anybody there"
        );
    }
}
