//! Where an alert is, in the words the office uses: community and building names and
//! the home's unit and room. Messages and the cases escalation opens both say it this
//! way. [`PlaceNames`] keeps the names by id, read again when their layers change.

use crate::store::{Store, StoreError};
use linli_domain::alerts::Alert;
use linli_domain::place::LayerName;
use std::collections::HashMap;
use std::sync::Mutex;

/// Where an alert is, for staff: community, building, unit and room.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub community: String,
    pub building: String,
    /// " 2单元301", when the home's unit and room are known.
    pub unit_room: Option<String>,
}

impl Place {
    /// "幸福里 12号楼 2单元301".
    pub fn describe(&self) -> String {
        format!(
            "{} {}{}",
            self.community,
            self.building,
            self.unit_room.as_deref().unwrap_or_default()
        )
    }
}

/// Building and community names by id, and the versions of their layers they are of.
#[derive(Default)]
pub struct PlaceNames {
    names: Mutex<Names>,
}

#[derive(Default)]
struct Names {
    versions: (i64, i64),
    buildings: HashMap<String, String>,
    communities: HashMap<String, String>,
}

impl PlaceNames {
    /// Where `alert` is, by names (ids where a name is missing).
    pub async fn of(&self, store: &dyn Store, alert: &Alert) -> Result<Place, StoreError> {
        let versions = (
            store.layer_version(LayerName::Buildings).await?,
            store.layer_version(LayerName::Communities).await?,
        );
        let stale = self.names.lock().expect("names lock").versions != versions;
        if stale {
            let buildings = store
                .features(LayerName::Buildings)
                .await?
                .into_iter()
                .filter_map(|f| Some((f.id, f.properties.get("name")?.as_str()?.to_string())))
                .collect();
            let communities = crate::store::community_names(store).await?;
            *self.names.lock().expect("names lock") = Names {
                versions,
                buildings,
                communities,
            };
        }
        let (community, building) = {
            let names = self.names.lock().expect("names lock");
            (
                names.communities.get(alert.community.as_str()).cloned(),
                names.buildings.get(&alert.building).cloned(),
            )
        };
        let unit_room = store
            .home_place(&alert.home)
            .await?
            .map(|(unit, room)| format!(" {unit}单元{room}"));
        Ok(Place {
            community: community.unwrap_or_else(|| alert.community.to_string()),
            building: building.unwrap_or_else(|| alert.building.clone()),
            unit_room,
        })
    }
}
