//! Colours of the map per face: dark for the command wall screen, light for tablets and
//! phones in daylight.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    Dark,
    Light,
}

/// The colours a theme uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Palette {
    pub background: &'static str,
    /// Community fills, cycled; translucent so what lies below still shows.
    pub community_fills: [&'static str; 7],
    pub community_border: &'static str,
    pub grid_border: &'static str,
    pub primary_road: &'static str,
    pub secondary_road: &'static str,
    pub building_fill: &'static str,
    pub commercial_fill: &'static str,
    pub building_border: &'static str,
    pub label: &'static str,
    pub label_halo: &'static str,
}

impl Theme {
    pub fn palette(self) -> Palette {
        match self {
            Theme::Dark => Palette {
                background: "#0e1621",
                community_fills: [
                    "rgba(79,140,255,0.16)",
                    "rgba(64,196,160,0.16)",
                    "rgba(245,180,70,0.16)",
                    "rgba(220,110,160,0.16)",
                    "rgba(140,120,240,0.16)",
                    "rgba(90,200,230,0.16)",
                    "rgba(200,210,90,0.16)",
                ],
                community_border: "#8fb3ff",
                grid_border: "rgba(143,179,255,0.35)",
                primary_road: "#3a4a60",
                secondary_road: "#2a3646",
                building_fill: "#55657c",
                commercial_fill: "#7a6a9c",
                building_border: "#8393a8",
                label: "#e8eef8",
                label_halo: "#0e1621",
            },
            Theme::Light => Palette {
                background: "#f2f0eb",
                community_fills: [
                    "rgba(52,110,220,0.10)",
                    "rgba(30,150,120,0.10)",
                    "rgba(220,140,30,0.10)",
                    "rgba(200,70,130,0.10)",
                    "rgba(110,90,210,0.10)",
                    "rgba(40,160,200,0.10)",
                    "rgba(150,160,40,0.10)",
                ],
                community_border: "#3d5a99",
                grid_border: "rgba(61,90,153,0.35)",
                primary_road: "#ffffff",
                secondary_road: "#fbfaf7",
                building_fill: "#d9d2c5",
                commercial_fill: "#cdbfe0",
                building_border: "#b5aa96",
                label: "#1d2733",
                label_halo: "#ffffff",
            },
        }
    }
}
