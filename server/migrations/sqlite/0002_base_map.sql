-- The base map beside communities: grids (网格), buildings and roads, one row per
-- feature keyed by layer and the feature's own id, so an import replaces by id.
CREATE TABLE features (
    layer      TEXT NOT NULL CHECK (layer IN ('grids', 'buildings', 'roads')),
    id         TEXT NOT NULL,
    community  TEXT,                      -- properties.community, when given
    properties TEXT NOT NULL,             -- JSON object, kept as it came
    geometry   TEXT NOT NULL,             -- GeoJSON geometry (WGS84 lon/lat)
    PRIMARY KEY (layer, id)
) WITHOUT ROWID;

-- The version of each layer: the id of the event that last changed it. It is what the
-- layers API puts in its ETag, so browsers revalidate instead of downloading again.
CREATE TABLE layer_versions (
    layer   TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
