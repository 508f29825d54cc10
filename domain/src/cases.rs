//! Cases: the problems residents have, followed from report to consolidation, in the
//! source article's loop: proactive visit → identification → negotiation → joint
//! handling → long-term consolidation (主动走访-精准识别-柔性协商-联动处置-长效巩固).

use crate::place::Position;
use crate::CommunityId;
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
    }
);

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
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<f64>))]
    pub position: Position,
    /// The building concerned, if any.
    pub building: Option<String>,
    /// RFC 3339.
    pub opened_at: String,
    pub updated_at: String,
    pub closed_at: Option<String>,
    pub outcome: Option<CaseOutcome>,
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
}
