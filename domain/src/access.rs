//! Roles of signed-in users and the face of the app each one lands on.

use crate::CommunityId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a signed-in user is allowed to do. Who may call which endpoint is declared by the
/// server per route; this type only names the roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    /// Street office command centre: sees and steers the whole subdistrict.
    Commander,
    /// Grid worker or community committee member, bound to one or more communities.
    GridWorker,
    /// Read-only staff access (supervisors, the district's visitors).
    Viewer,
    /// Someone of a partner organisation (the gas utility, the property company, the
    /// police station…): sees only the cases their organisation handles, adds notes
    /// and photos to them and marks its part done; nothing else.
    Partner,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Commander,
        Role::GridWorker,
        Role::Viewer,
        Role::Partner,
    ];

    /// The name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Commander => "commander",
            Role::GridWorker => "grid-worker",
            Role::Viewer => "viewer",
            Role::Partner => "partner",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == value)
    }

    /// The face a user of this role lands on after signing in.
    pub fn home_face(self) -> Face {
        match self {
            Role::Commander | Role::Viewer => Face::Command,
            Role::GridWorker => Face::Field,
            Role::Partner => Face::Partner,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The faces of the app, each a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// `/command`: the street office's wall screen.
    Command,
    /// `/field`: the grid worker's tablet.
    Field,
    /// `/public`: the public status page, no sign-in.
    Public,
    /// `/partner`: a partner organisation's cases.
    Partner,
}

impl Face {
    pub fn path(self) -> &'static str {
        match self {
            Face::Command => "/command",
            Face::Field => "/field",
            Face::Public => "/public",
            Face::Partner => "/partner",
        }
    }
}

/// Which communities a user may see: all of them, or a list.
pub fn may_see_community(role: Role, own: &[CommunityId], community: &CommunityId) -> bool {
    match role {
        Role::Commander | Role::Viewer => true,
        Role::GridWorker => own.contains(community),
        // A partner sees cases by organisation; a partner bound to communities (a
        // property company) only those communities' cases of it.
        Role::Partner => own.is_empty() || own.contains(community),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        assert_eq!(Role::parse("admin"), None);
    }

    #[test]
    fn grid_workers_see_only_their_communities() {
        let own = [CommunityId::parse("xingfuli").unwrap()];
        let other = CommunityId::parse("weigang").unwrap();
        assert!(may_see_community(Role::GridWorker, &own, &own[0]));
        assert!(!may_see_community(Role::GridWorker, &own, &other));
        assert!(may_see_community(Role::Commander, &[], &other));
    }
}
