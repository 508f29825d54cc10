//! The base map's layers (communities, roads, grids, buildings) fetched from the server,
//! decoded and projected (a large layer in the layer worker: [`crate::layer_worker`]),
//! for both pages that show a map: the staff faces' (`faces::map_view`) and the public
//! page (`crate::public`).

use crate::api::{self, ApiError};
use crate::map::index::Indexed;
use crate::map::layers::{self, Area, MapData};
use crate::map::packed::{self, Packed, UnpackError};
use linli_domain::place::LayerName;

/// Every base layer, asked for at once; the small communities layer first, since it
/// fits the view.
pub const ALL: [LayerName; 4] = [
    LayerName::Communities,
    LayerName::Roads,
    LayerName::Grids,
    LayerName::Buildings,
];

/// Features projected in one task: a layer of 100,000 buildings is projected in
/// slices, the browser let in between, so that input never waits for all of it
/// (`make bench`, LINLI_BENCH=frames, names the load's long tasks).
const PROJECT_PER_TASK: usize = 10_000;

async fn project_in_slices(layer: api::RawLayer) -> Vec<Area> {
    let mut features = layer.features.into_iter();
    let mut areas = Vec::with_capacity(features.len());
    loop {
        crate::timing::measured("linli: layer projected", || {
            areas.extend(
                features
                    .by_ref()
                    .take(PROJECT_PER_TASK)
                    .filter_map(layers::project_area),
            );
        });
        if features.as_slice().is_empty() {
            return areas;
        }
        crate::timing::yield_to_browser().await;
    }
}

/// One layer, ready to be put into the map's data.
pub struct Loaded {
    layer: LayerName,
    areas: Vec<Area>,
    roads: Option<Indexed<layers::Line>>,
}

impl Loaded {
    fn areas(layer: LayerName, areas: Vec<Area>) -> Loaded {
        Loaded {
            layer,
            areas,
            roads: None,
        }
    }

    fn roads(layer: LayerName, lines: Vec<layers::Line>) -> Loaded {
        Loaded {
            layer,
            areas: Vec::new(),
            roads: Some(Indexed::new(lines)),
        }
    }

    /// Puts the layer into `data`, replacing what it held of that layer.
    pub fn put(self, data: &mut MapData) {
        match (self.layer, self.roads) {
            (_, Some(roads)) => data.roads = roads,
            (LayerName::Communities, None) => data.communities = self.areas,
            (LayerName::Grids, None) => data.grids = self.areas,
            (_, None) => {
                data.buildings =
                    crate::timing::measured("linli: layer indexed", || Indexed::new(self.areas))
            }
        }
    }
}

/// Layers of at least this many bytes (compact) are decoded and projected in the layer
/// worker ([`crate::layer_worker`]); smaller ones here, where starting the worker would
/// cost them more than it saves. The demo district's buildings are 469 KB (2,700
/// buildings with many properties).
const OFF_THE_PAGE_FROM: u32 = 1024 * 1024;

/// Features unpacked from the worker's answer in one task.
const UNPACK_PER_TASK: usize = 10_000;

/// Fetches `layer`, decodes and projects it (a large layer in the layer worker, else
/// here, in slices). `None` when `gone` says, between slices, that the map that asked
/// is gone (the user moved on): nothing is left to show.
pub async fn load(layer: LayerName, gone: impl Fn() -> bool) -> Result<Option<Loaded>, ApiError> {
    let bytes = api::layer_bytes(layer).await?;
    if gone() {
        return Ok(None);
    }
    if bytes.byte_length() >= OFF_THE_PAGE_FROM {
        // Whatever goes wrong there (no worker, or an answer that does not unpack, as
        // from a worker of an older build still cached), the page decodes instead.
        let from_worker = match crate::layer_worker::project(layer, &bytes).await {
            Ok(packed) => unpack_in_slices(layer, &packed, &gone)
                .await
                .map_err(|e| e.to_string()),
            Err(why) => Err(why),
        };
        match from_worker {
            Ok(loaded) => return Ok(loaded),
            Err(why) => leptos::logging::warn!("{} decoded on the page: {why}", layer.as_str()),
        }
    }
    let features = api::decode_layer(&js_sys::Uint8Array::new(&bytes).to_vec()).await?;
    crate::timing::yield_to_browser().await;
    if gone() {
        return Ok(None);
    }
    let loaded = if layer == LayerName::Roads {
        Loaded::roads(layer, layers::project_lines(features))
    } else {
        Loaded::areas(layer, project_in_slices(features).await)
    };
    Ok((!gone()).then_some(loaded))
}

/// The worker's answer copied out into features, a slice per task.
async fn unpack_in_slices(
    layer: LayerName,
    bytes: &[u8],
    gone: impl Fn() -> bool,
) -> Result<Option<Loaded>, UnpackError> {
    async fn unpack<T: Packed>(
        bytes: &[u8],
        gone: impl Fn() -> bool,
    ) -> Result<Option<Vec<T>>, UnpackError> {
        let mut unpacking = packed::Unpacking::start(bytes)?;
        loop {
            // Before each slice: the map may have gone while the worker worked, or
            // between slices (nothing else runs during one).
            if gone() {
                return Ok(None);
            }
            if crate::timing::measured("linli: layer unpacked", || unpacking.next(UNPACK_PER_TASK))?
            {
                return unpacking.finish().map(Some);
            }
            crate::timing::yield_to_browser().await;
        }
    }
    Ok(if layer == LayerName::Roads {
        unpack(bytes, gone)
            .await?
            .map(|lines| Loaded::roads(layer, lines))
    } else {
        unpack(bytes, gone)
            .await?
            .map(|areas| Loaded::areas(layer, areas))
    })
}
