//! The event log's kinds, and the payloads of the live stream that are not a domain
//! object themselves.
//!
//! Every change the server makes appends one event (`GET /api/v1/events`, the audit
//! trail); the kinds marked streamed also go to the maps over `GET /api/v1/stream`
//! (CONTRACT.md), where the event's `data` is the changed object: an [`Alert`] for
//! `alert.*`, a [`Case`] for `case.*`, a [`Dispatch`], a [`PatrolRun`] or
//! [`PatrolPosition`], and a [`SensorStatus`].
//!
//! [`Alert`]: crate::alerts::Alert
//! [`Case`]: crate::cases::Case
//! [`Dispatch`]: crate::dispatch::Dispatch
//! [`PatrolRun`]: crate::patrol::PatrolRun
//! [`PatrolPosition`]: crate::patrol::PatrolPosition

use crate::care::Health;
use crate::{CommunityId, Timestamp};
use serde::{Deserialize, Serialize};

named_enum! {
    /// What happened, as the event log records it.
    EventKind {
        AlertRaised = "alert.raised",
        AlertUpdated = "alert.updated",
        /// A message about an alert was delivered (notification chain).
        AlertNotified = "alert.notified",
        AlertNotifyFailed = "alert.notify_failed",
        CaseCreated = "case.created",
        CaseUpdated = "case.updated",
        CasePhoto = "case.photo",
        DispatchCreated = "dispatch.created",
        DispatchUpdated = "dispatch.updated",
        SensorStatus = "sensor.status",
        PatrolPosition = "patrol.position",
        PatrolRun = "patrol.run",
        RoutesSaved = "routes.saved",
        HomeCheckIn = "home.check_in",
        HomesSaved = "homes.saved",
        HomesImported = "homes.imported",
        LayerSaved = "layer.saved",
        CommunitySaved = "community.saved",
        CommunityDeleted = "community.deleted",
        DeviceAdded = "device.added",
        DeviceRevoked = "device.revoked",
        GatewayAdded = "gateway.added",
        GatewayRevoked = "gateway.revoked",
        ThresholdsChanged = "thresholds.changed",
        NoticePublished = "notice.published",
        NoticeWithdrawn = "notice.withdrawn",
        NotifyChannelAdded = "notify.channel_added",
        NotifyChannelDeleted = "notify.channel_deleted",
        NotifyRosterSet = "notify.roster_set",
        UserCreated = "user.created",
        UserDisabled = "user.disabled",
        UserEnabled = "user.enabled",
        UserPasswordChanged = "user.password_changed",
        SessionOpened = "session.opened",
        SessionClosed = "session.closed",
    }
}

impl EventKind {
    /// The kinds the live stream carries, in CONTRACT.md's order.
    pub const STREAMED: [EventKind; 9] = [
        EventKind::AlertRaised,
        EventKind::AlertUpdated,
        EventKind::CaseCreated,
        EventKind::CaseUpdated,
        EventKind::DispatchCreated,
        EventKind::DispatchUpdated,
        EventKind::SensorStatus,
        EventKind::PatrolPosition,
        EventKind::PatrolRun,
    ];

    /// Whether the live stream carries this kind to the maps.
    pub fn is_streamed(self) -> bool {
        Self::STREAMED.contains(&self)
    }

    /// An alert raised or changed: its data is the alert.
    pub fn is_alert(self) -> bool {
        matches!(self, EventKind::AlertRaised | EventKind::AlertUpdated)
    }

    /// A patrol unit moved or its run started or ended: every community's map shows it.
    pub fn is_patrol(self) -> bool {
        matches!(self, EventKind::PatrolPosition | EventKind::PatrolRun)
    }
}

/// The stream's own signal (not in the log): the client missed too much and should
/// load the snapshot again.
pub const RESYNC: &str = "resync";

/// `sensor.status`: a sensor's health, battery or last contact changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorStatus {
    pub device: String,
    pub home: String,
    pub community: CommunityId,
    pub health: Health,
    #[serde(default)]
    pub battery_pct: Option<u8>,
    /// Last heard from.
    #[serde(default)]
    pub last_seen: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name_and_only_stream_kinds_are_streamed() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(*kind));
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(EventKind::parse("alert.exploded"), None);
        let streamed: Vec<_> = EventKind::ALL.iter().filter(|k| k.is_streamed()).collect();
        assert_eq!(streamed.len(), EventKind::STREAMED.len());
        assert!(!EventKind::UserCreated.is_streamed());
        assert!(EventKind::PatrolRun.is_patrol() && !EventKind::CaseCreated.is_patrol());
    }
}
