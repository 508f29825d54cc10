//! Colours of the map per face: dark for the command wall screen, light for tablets and
//! phones in daylight.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    Dark,
    Light,
}

/// The colours a theme uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    pub background: &'static str,
    /// Community fills, cycled; translucent so what lies below still shows.
    pub community_fills: [&'static str; 7],
    pub community_border: &'static str,
    pub label: &'static str,
    pub label_halo: &'static str,
}

impl Theme {
    pub fn palette(self) -> Palette {
        match self {
            Theme::Dark => Palette {
                background: "#0e1621",
                community_fills: [
                    "rgba(79,140,255,0.22)",
                    "rgba(64,196,160,0.22)",
                    "rgba(245,180,70,0.22)",
                    "rgba(220,110,160,0.22)",
                    "rgba(140,120,240,0.22)",
                    "rgba(90,200,230,0.22)",
                    "rgba(200,210,90,0.22)",
                ],
                community_border: "#8fb3ff",
                label: "#e8eef8",
                label_halo: "#0e1621",
            },
            Theme::Light => Palette {
                background: "#f2f0eb",
                community_fills: [
                    "rgba(52,110,220,0.14)",
                    "rgba(30,150,120,0.14)",
                    "rgba(220,140,30,0.14)",
                    "rgba(200,70,130,0.14)",
                    "rgba(110,90,210,0.14)",
                    "rgba(40,160,200,0.14)",
                    "rgba(150,160,40,0.14)",
                ],
                community_border: "#3d5a99",
                label: "#1d2733",
                label_halo: "#ffffff",
            },
        }
    }
}
