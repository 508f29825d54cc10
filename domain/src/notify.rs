//! Notifications: the channels an alert reaches people by (WeCom, DingTalk and Feishu
//! group robots, a generic JSON webhook, an SMS gateway), the duty roster (值班表) that
//! says who is called at each level of a community's escalation chain, and what was
//! sent. The server decides and sends; these are the API's bodies.

use crate::alerts::Severity;
use crate::{CommunityId, Timestamp};
use serde::{Deserialize, Serialize};

named_enum!(
    /// What a channel speaks.
    ChannelKind {
        /// A WeCom (企业微信) group robot: `msgtype` markdown, `<@userid>` mentions.
        Wecom = "wecom",
        /// A DingTalk (钉钉) group robot: markdown, `at` mobiles or user ids, signed
        /// with HMAC-SHA256 (`timestamp`, `sign`) when it has a secret.
        Dingtalk = "dingtalk",
        /// A Feishu (飞书) group robot: text with `<at>` mentions, signed when it has a
        /// secret.
        Feishu = "feishu",
        /// Any receiver of Linli's own JSON (CONTRACT.md), signed with
        /// `X-Linli-Signature` when it has a secret.
        Webhook = "webhook",
        /// An HTTP SMS gateway: one request per person, to their phone.
        Sms = "sms",
    }
);

/// The level of a digest's messages (one message for many alerts in a storm): apart
/// from the escalation chain's levels.
pub const DIGEST_LEVEL: u32 = 1000;

/// A channel as a commander creates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChannelRequest {
    /// 1 to 60 characters, e.g. `五里庙网格群`.
    pub name: String,
    pub kind: ChannelKind,
    /// The robot's or gateway's address (http or https), e.g.
    /// `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`.
    pub url: String,
    /// The robot's signing secret (DingTalk `SEC…`, Feishu), or the key Linli signs
    /// webhook and SMS requests with. Never shown again.
    #[serde(default)]
    pub secret: Option<String>,
    /// The communities whose alerts it carries; all when empty.
    #[serde(default)]
    pub communities: Vec<CommunityId>,
    /// The least severity it carries.
    pub min_severity: Severity,
}

/// A channel as `GET` shows it: without its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Channel {
    pub id: i64,
    pub name: String,
    pub kind: ChannelKind,
    /// The address's scheme, host and port only (the rest may hold a robot's key).
    pub url: String,
    pub has_secret: bool,
    pub communities: Vec<CommunityId>,
    pub min_severity: Severity,
    pub created_at: Timestamp,
}

/// Somebody the roster calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OnDuty {
    /// 1 to 40 characters, e.g. `王芳`.
    pub name: String,
    /// Mobile number (11 digits), for SMS and DingTalk mentions.
    #[serde(default)]
    pub phone: Option<String>,
    /// WeCom user id, for mentions in WeCom groups.
    #[serde(default)]
    pub wecom: Option<String>,
    /// DingTalk user id.
    #[serde(default)]
    pub dingtalk: Option<String>,
    /// Feishu user id (`ou_…`).
    #[serde(default)]
    pub feishu: Option<String>,
}

/// A shift: the days it starts on, from when to when (China time); a shift whose end
/// is not after its start ends the next day (`20:00`–`08:00`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Shift {
    /// `mon` … `sun`; every day when left out.
    #[serde(default)]
    pub days: Vec<String>,
    /// `HH:MM`.
    pub from: String,
    /// `HH:MM`.
    pub to: String,
    pub person: OnDuty,
}

/// One level of a community's escalation chain: whom it calls (its shifts cover the
/// week exactly once) and how long the called person has to acknowledge before the
/// next level is called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RosterLevel {
    /// e.g. `网格员`, `社区书记`, `街道值班领导`.
    pub title: String,
    /// 1 to 60 minutes.
    pub acknowledge_within_min: u32,
    pub shifts: Vec<Shift>,
}

/// A community's duty roster: the levels of its escalation chain, first called first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Roster {
    /// 1 to 5 levels.
    pub levels: Vec<RosterLevel>,
    /// Warnings follow the chain with timers this many times longer (1 to 10); 0
    /// sends them to the first level only, never further.
    #[serde(default = "default_warning_slowdown")]
    pub warning_slowdown: u32,
    /// How warnings and notices reach people: along the chain (`chain`, the default),
    /// or all together in one morning message at `digest_at` (`digest`).
    #[serde(default)]
    pub warnings: WarningDelivery,
    /// `HH:MM`, China time: when the morning digest goes out (default `08:00`).
    #[serde(default = "default_digest_at")]
    pub digest_at: String,
}

fn default_warning_slowdown() -> u32 {
    3
}

fn default_digest_at() -> String {
    "08:00".into()
}

named_enum!(
    /// How a community's warnings reach people.
    WarningDelivery {
        /// Along the escalation chain, slower than critical alarms.
        Chain = "chain",
        /// In one message each morning.
        Digest = "digest",
    }
);

// By hand: the variants come through `named_enum!`, which derives no `Default`.
#[allow(clippy::derivable_impls)]
impl Default for WarningDelivery {
    fn default() -> Self {
        WarningDelivery::Chain
    }
}

named_enum!(
    /// Where a message stands.
    DeliveryState {
        /// Decided, not yet accepted by the receiver (being tried).
        Pending = "pending",
        Sent = "sent",
        /// Given up after its tries.
        Failed = "failed",
        /// Not sent: the alert was acknowledged or resolved first.
        Cancelled = "cancelled",
    }
);

/// One message decided for an alert, as the alert's page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: i64,
    pub alert_id: i64,
    /// The chain's level (1 is first called); 0 for a channel with nobody on duty.
    pub level: u32,
    /// The level's title, e.g. `网格员`.
    pub title: String,
    /// Whom it called, when the roster named somebody.
    pub person: Option<String>,
    pub channel: String,
    pub kind: ChannelKind,
    pub state: DeliveryState,
    pub attempts: u32,
    /// When it was decided, and when the receiver took it.
    pub decided_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    /// Why the last try failed.
    pub error: Option<String>,
}
