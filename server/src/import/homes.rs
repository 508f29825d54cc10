//! The CSV reader of `linli import homes`: a file of monitored elder homes in, every
//! home with its sensors out, or the list of everything wrong with it.
//!
//! [`parse`] is pure: it checks the whole file against a [`Context`] (the stored
//! buildings, communities and sensors, loaded before by [`Context::load`]) and returns
//! either every home, ready to store, or problems that each name the row as a
//! spreadsheet numbers it (the header is row 1), the home's id and what is wrong.
//! [`save`] then stores the homes in one transaction.
//!
//! The format. UTF-8 (a byte-order mark is skipped), comma separated, RFC 4180 quoting
//! (see [`super::csv`]). The first row names the columns, in any order; names are
//! matched ignoring case and surrounding spaces; an unknown or repeated column is
//! refused, and so is a missing one other than `grid`, `phone`, `contact`, `lon` and
//! `lat`. Blank rows are skipped (and still counted). Values are trimmed, and words
//! (`yes`, `attention`, `water`, …) are matched ignoring case.
//!
//! ```text
//! id,building,community,grid,unit,floor,room,resident,age_band,living_alone,care_level,phone,contact,lon,lat,sensors
//! h0001,way/101,xingfuli,xingfuli-1,2,3,302,王秀英,80-89,yes,attention,13812345678,"女儿 王敏, 13987654321",117.3003,31.8463,water:wm-000001;gas:gs-000001
//! ```
//!
//! - `id`: 1 to 64 ASCII letters, digits, `-` or `_`; once in the file. A stored home
//!   with the same id is replaced, sensors and all.
//! - `building`: the id of a stored building (`linli import buildings` first).
//! - `community`: the id of a stored community (`linli import communities` first).
//! - `grid`: the grid (网格) id, or empty.
//! - `unit`: a whole number from 1 to 999. `floor`: 1 to 199, or -1 to -9 below ground.
//! - `room`, `resident`: not empty.
//! - `age_band`: `60-64`, `65-69`, `70-79`, `80-89` or `90+`.
//! - `living_alone`: `yes`/`no`, `true`/`false`, `1`/`0` or `是`/`否`.
//! - `care_level`: `independent`, `attention` or `intensive`.
//! - `phone`: digits, with `+`, `-` or spaces; or empty. `contact`: free text, or empty.
//! - `lon`, `lat`: WGS84 degrees inside the building's footprint; both empty (or both
//!   columns left out) places the home at the building's centre: the area centre of its
//!   outer ring (of its largest polygon, for a MultiPolygon), rounded to 1e-7°. For an
//!   L-shaped building or one around a courtyard that point can fall outside the walls;
//!   give `lon` and `lat` for those.
//! - `sensors`: at least one `kind:device-id`, separated by `;` (for example
//!   `water:wm-000123;gas:gs-000123;smoke:sm-000123`); kinds `water`, `gas`, `smoke`;
//!   device ids of 1 to 64 ASCII letters, digits, `-` or `_`, each once in the file and
//!   not a sensor of a stored home the file does not replace. New sensors start with
//!   health `ok`, no battery reading, never seen.

use super::csv::{self, Record};
use super::{Place, Problem, Problems, ACTOR};
use crate::clock::Millis;
use crate::store::{Change, HomesImported, Store, StoreResult};
use linli_domain::care::{CareLevel, Health, Home, Sensor, SensorKind};
use linli_domain::geometry::{interior_point, point_in_polygon, ring_area};
use linli_domain::place::{Geometry, LayerName, Position, Ring};
use linli_domain::CommunityId;
use std::collections::{HashMap, HashSet};

/// The columns of a homes file, in the order the README lists them.
pub const COLUMNS: [&str; 16] = [
    "id",
    "building",
    "community",
    "grid",
    "unit",
    "floor",
    "room",
    "resident",
    "age_band",
    "living_alone",
    "care_level",
    "phone",
    "contact",
    "lon",
    "lat",
    "sensors",
];

/// The columns a file may leave out (their values are then empty).
pub const OPTIONAL_COLUMNS: [&str; 5] = ["grid", "phone", "contact", "lon", "lat"];

/// The age bands a home may have (the demo uses all but the first).
pub const AGE_BANDS: [&str; 5] = ["60-64", "65-69", "70-79", "80-89", "90+"];

/// What rows are checked against: the store as it is before the import.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The stored buildings' footprints by id.
    pub buildings: HashMap<String, Geometry>,
    pub communities: HashSet<CommunityId>,
    /// Stored sensors by device id, with the id of the home each belongs to. Empty when
    /// the import replaces every home.
    pub sensors: HashMap<String, String>,
}

impl Context {
    /// Loads the context from the store; with `replace_all` the stored sensors do not
    /// matter, as they all go.
    pub async fn load(store: &dyn Store, replace_all: bool) -> StoreResult<Self> {
        let buildings = store
            .features(LayerName::Buildings)
            .await?
            .into_iter()
            .map(|f| (f.id, f.geometry))
            .collect();
        let communities = store
            .communities()
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect();
        let mut sensors = HashMap::new();
        if !replace_all {
            for home in store.homes(None).await? {
                for sensor in home.sensors {
                    sensors.insert(sensor.id, home.id.clone());
                }
            }
        }
        Ok(Self {
            buildings,
            communities,
            sensors,
        })
    }
}

/// Stores checked homes in one transaction as [`ACTOR`] at `at`: see
/// [`Store::import_homes`]. `progress` is called with the number of homes written.
pub async fn save(
    store: &dyn Store,
    homes: &[Home],
    replace_all: bool,
    at: Millis,
    progress: &(dyn Fn(usize) + Sync),
) -> StoreResult<HomesImported> {
    store
        .import_homes(&Change::new(ACTOR, at), homes, replace_all, progress)
        .await
}

/// Reads a homes file's bytes and checks every row against `context`. `progress` is
/// called after each row with the number of rows checked so far and the number of rows.
pub fn parse(
    bytes: &[u8],
    context: &Context,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Home>, Problems> {
    let records = csv::read(bytes).map_err(|e| {
        Problems::one(Problem {
            at: e.row.map(Place::Row),
            id: None,
            message: e.message,
        })
    })?;
    let mut records = records.into_iter();
    let Some(header) = records.next() else {
        return Err(Problems::one(Problem::file(format!(
            "the file is empty: its first row must name the columns ({})",
            COLUMNS.join(", ")
        ))));
    };
    let columns = Columns::read(&header)?;
    let rows: Vec<Record> = records.filter(|r| !r.is_blank()).collect();
    if rows.is_empty() {
        return Err(Problems::one(Problem::file(
            "the file has a header but no homes: nothing to import",
        )));
    }

    // Every id first: a sensor of a stored home is free when the file replaces that home,
    // even in a later row.
    let in_file: HashSet<&str> = rows
        .iter()
        .filter_map(|r| columns.value(r, "id"))
        .filter(|id| !id.is_empty())
        .collect();
    let mut check = Check {
        context,
        in_file,
        first_row_of_id: HashMap::with_capacity(rows.len()),
        first_row_of_sensor: HashMap::with_capacity(rows.len() * 3),
    };
    let mut problems = Problems::default();
    let mut homes = Vec::with_capacity(rows.len());
    let total = rows.len();
    for (index, record) in rows.iter().enumerate() {
        let id = columns
            .value(record, "id")
            .filter(|id| !id.is_empty())
            .map(str::to_string);
        match check.row(&columns, record) {
            Ok(home) => homes.push(home),
            Err(messages) => {
                for message in messages {
                    problems.push(Problem::at(Place::Row(record.row), id.as_deref(), message));
                }
            }
        }
        progress(index + 1, total);
    }
    if problems.is_empty() {
        Ok(homes)
    } else {
        Err(problems)
    }
}

/// The header: which field of a row holds which column.
struct Columns {
    index: HashMap<&'static str, usize>,
    count: usize,
}

impl Columns {
    /// Reads the header row, or lists everything wrong with it.
    fn read(header: &Record) -> Result<Self, Problems> {
        let mut problems = Problems::default();
        let mut problem =
            |message: String| problems.push(Problem::at(Place::Row(1), None, message));
        if header.is_blank() {
            problem(format!(
                "the first row is empty: it must name the columns ({})",
                COLUMNS.join(", ")
            ));
            return Err(problems);
        }
        let mut index = HashMap::new();
        for (i, name) in header.fields.iter().enumerate() {
            let wanted = name.trim().to_lowercase();
            let number = i + 1;
            match COLUMNS.iter().find(|c| **c == wanted) {
                Some(column) => {
                    if let Some(first) = index.insert(*column, i) {
                        problem(format!(
                            "column `{column}` is there twice (columns {} and {number})",
                            first + 1
                        ));
                    }
                }
                None if wanted.is_empty() => problem(format!("column {number} has no name")),
                None => {
                    let hint = if name.contains([';', '\t']) {
                        " (separate the columns with commas, not semicolons or tabs)"
                    } else {
                        ""
                    };
                    problem(format!(
                        "unknown column `{}` (column {number}){hint}; the columns are {}",
                        name.trim(),
                        COLUMNS.join(", ")
                    ));
                }
            }
        }
        for column in COLUMNS {
            if !index.contains_key(column) && !OPTIONAL_COLUMNS.contains(&column) {
                problem(format!("the required column `{column}` is missing"));
            }
        }
        match (index.contains_key("lon"), index.contains_key("lat")) {
            (true, false) => problem("there is a column `lon` but no column `lat`".into()),
            (false, true) => problem("there is a column `lat` but no column `lon`".into()),
            _ => {}
        }
        if problems.is_empty() {
            Ok(Self {
                index,
                count: header.fields.len(),
            })
        } else {
            Err(problems)
        }
    }

    /// A column's value in a row, trimmed: empty for a column the file leaves out,
    /// `None` only when the row is too short to have it.
    fn value<'a>(&self, record: &'a Record, column: &str) -> Option<&'a str> {
        match self.index.get(column) {
            Some(&i) => record.fields.get(i).map(|v| v.trim()),
            None => Some(""),
        }
    }
}

/// The checks of the rows, with what earlier rows used.
struct Check<'a> {
    context: &'a Context,
    /// The ids of every home in the file.
    in_file: HashSet<&'a str>,
    /// The row each home id is first in.
    first_row_of_id: HashMap<String, usize>,
    /// The row and home id each device id is first in.
    first_row_of_sensor: HashMap<String, (usize, String)>,
}

impl Check<'_> {
    /// One data row as a home, or everything wrong with it.
    fn row(&mut self, columns: &Columns, record: &Record) -> Result<Home, Vec<String>> {
        if record.fields.len() != columns.count {
            return Err(vec![format!(
                "has {} field{}, but the header names {} columns",
                record.fields.len(),
                if record.fields.len() == 1 { "" } else { "s" },
                columns.count
            )]);
        }
        let value = |column: &str| columns.value(record, column).unwrap_or_default();
        let mut problems = Vec::new();

        let id = value("id");
        match home_id(id) {
            Err(message) => problems.push(message),
            Ok(()) => match self.first_row_of_id.get(id) {
                Some(first) => problems.push(format!("the same id as row {first}")),
                None => {
                    self.first_row_of_id.insert(id.to_string(), record.row);
                }
            },
        }
        let building_id = value("building");
        let building = if building_id.is_empty() {
            problems.push("building is empty: give the id of a stored building".into());
            None
        } else {
            match self.context.buildings.get(building_id) {
                Some(geometry) => Some(geometry),
                None => {
                    problems.push(format!(
                        "building `{building_id}` is not in the stored buildings layer \
                         (import it first with `linli import buildings`)"
                    ));
                    None
                }
            }
        };
        let community = match CommunityId::parse(value("community")) {
            Ok(c) if self.context.communities.contains(&c) => Some(c),
            Ok(c) => {
                problems.push(format!(
                    "community `{c}` is not stored (import it first with `linli import communities`)"
                ));
                None
            }
            Err(e) => {
                problems.push(format!("community: {e}"));
                None
            }
        };
        let unit = whole_number(
            value("unit"),
            "unit",
            1,
            999,
            "from 1 to 999",
            &mut problems,
        );
        let floor = whole_number(
            value("floor"),
            "floor",
            -9,
            199,
            "from 1 to 199, or -1 to -9 below ground",
            &mut problems,
        );
        if floor == Some(0) {
            problems.push("floor is 0: floors count from 1, and from -1 below ground".into());
        }
        let room = text(value("room"), "room", 32, &mut problems);
        let resident = text(value("resident"), "resident", 64, &mut problems);
        let age_band = value("age_band");
        if !AGE_BANDS.contains(&age_band) {
            problems.push(format!(
                "age_band `{age_band}` is not one of {}",
                AGE_BANDS.join(", ")
            ));
        }
        let living_alone = yes_or_no(value("living_alone"));
        if living_alone.is_none() {
            problems.push(format!(
                "living_alone `{}` is not yes or no (yes/no, true/false, 1/0, 是/否)",
                value("living_alone")
            ));
        }
        let care_level = care_level(value("care_level"));
        if care_level.is_none() {
            problems.push(format!(
                "care_level `{}` is not independent, attention or intensive",
                value("care_level")
            ));
        }
        let phone = value("phone");
        if !phone.is_empty() && !is_phone(phone) {
            problems.push(format!(
                "phone `{phone}` is not a phone number: use digits, with + - or spaces"
            ));
        }
        let contact = value("contact");
        if contact.chars().count() > 200 {
            problems.push("contact is longer than 200 characters".into());
        }
        let position = position(value("lon"), value("lat"), &mut problems);
        let position = match (position, building) {
            (Some(Some(p)), Some(geometry)) => {
                if !inside(p, geometry) {
                    problems.push(format!(
                        "lon/lat {}, {} is outside building `{building_id}`",
                        p[0], p[1]
                    ));
                }
                Some(p)
            }
            (Some(None), Some(geometry)) => {
                let centre = centre(geometry);
                if centre.is_none() {
                    problems.push(format!(
                        "building `{building_id}` has no area to place the home at: give lon and lat"
                    ));
                }
                centre
            }
            _ => None,
        };
        let sensors = self.sensors(id, value("sensors"), record.row, &mut problems);

        match (
            community,
            unit,
            floor,
            room,
            resident,
            living_alone,
            care_level,
            position,
        ) {
            (
                Some(community),
                Some(unit),
                Some(floor),
                Some(room),
                Some(resident),
                Some(living_alone),
                Some(care_level),
                Some(position),
            ) if problems.is_empty() => Ok(Home {
                id: id.to_string(),
                building: building_id.to_string(),
                community,
                grid: optional(value("grid")),
                unit: unit as u16,
                floor: floor as i16,
                room,
                resident,
                age_band: age_band.to_string(),
                living_alone,
                care_level,
                phone: optional(phone),
                contact: optional(contact),
                position,
                sensors,
            }),
            _ => Err(problems),
        }
    }

    /// The `sensors` column: `kind:device-id` pairs separated by `;`.
    fn sensors(
        &mut self,
        home: &str,
        list: &str,
        row: usize,
        problems: &mut Vec<String>,
    ) -> Vec<Sensor> {
        let mut sensors: Vec<Sensor> = Vec::new();
        for item in list.split(';').map(str::trim).filter(|i| !i.is_empty()) {
            let Some((kind, device)) = item.split_once(':') else {
                problems.push(format!(
                    "sensor `{item}` is not kind:device-id, such as water:wm-000123"
                ));
                continue;
            };
            let (kind, device) = (kind.trim(), device.trim());
            let Some(kind) = SensorKind::parse(&kind.to_lowercase()) else {
                problems.push(format!(
                    "sensor `{item}`: kind `{kind}` is not water, gas or smoke"
                ));
                continue;
            };
            if let Err(message) = device_id(device) {
                problems.push(format!("sensor `{item}`: {message}"));
                continue;
            }
            if sensors.iter().any(|s| s.id == device) {
                problems.push(format!("sensor `{device}` is listed twice"));
                continue;
            }
            match self.first_row_of_sensor.get(device) {
                Some((first, other)) => {
                    problems.push(format!(
                        "sensor `{device}` is also in row {first} (id {other:?})"
                    ));
                    continue;
                }
                None => {
                    self.first_row_of_sensor
                        .insert(device.to_string(), (row, home.to_string()));
                }
            }
            if let Some(owner) = self.context.sensors.get(device) {
                if owner != home && !self.in_file.contains(owner.as_str()) {
                    problems.push(format!(
                        "sensor `{device}` belongs to stored home `{owner}`, which this file \
                         does not replace"
                    ));
                    continue;
                }
            }
            sensors.push(Sensor {
                id: device.to_string(),
                kind,
                health: Health::Ok,
                battery_pct: None,
                last_seen: None,
            });
        }
        if sensors.is_empty() && list.split(';').all(|i| i.trim().is_empty()) {
            problems.push(
                "sensors is empty: a home needs at least one, such as water:wm-000123".into(),
            );
        }
        sensors
    }
}

/// Whether `value` is 1 to 64 ASCII letters, digits, `-` or `_`.
fn is_plain_id(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn home_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        Err("id is empty".into())
    } else if !is_plain_id(id) {
        Err(format!(
            "id `{id}` is not valid: use 1 to 64 ASCII letters, digits, '-' or '_'"
        ))
    } else {
        Ok(())
    }
}

fn device_id(device: &str) -> Result<(), String> {
    if device.is_empty() {
        Err("the device id is empty".into())
    } else if !is_plain_id(device) {
        Err(format!(
            "device id `{device}` is not valid: use 1 to 64 ASCII letters, digits, '-' or '_'"
        ))
    } else {
        Ok(())
    }
}

/// A whole number in `min..=max`, or a problem naming the column and the range.
fn whole_number(
    value: &str,
    column: &str,
    min: i64,
    max: i64,
    range: &str,
    problems: &mut Vec<String>,
) -> Option<i64> {
    match value.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ if value.is_empty() => {
            problems.push(format!("{column} is empty: give a whole number {range}"));
            None
        }
        _ => {
            problems.push(format!("{column} `{value}` is not a whole number {range}"));
            None
        }
    }
}

/// Text that must be there, of at most `max` characters.
fn text(value: &str, column: &str, max: usize, problems: &mut Vec<String>) -> Option<String> {
    if value.is_empty() {
        problems.push(format!("{column} is empty"));
        None
    } else if value.chars().count() > max {
        problems.push(format!("{column} is longer than {max} characters"));
        None
    } else {
        Some(value.to_string())
    }
}

fn optional(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_string())
}

fn yes_or_no(value: &str) -> Option<bool> {
    match value.to_lowercase().as_str() {
        "yes" | "true" | "1" | "是" => Some(true),
        "no" | "false" | "0" | "否" => Some(false),
        _ => None,
    }
}

fn care_level(value: &str) -> Option<CareLevel> {
    match value.to_lowercase().as_str() {
        "independent" => Some(CareLevel::Independent),
        "attention" => Some(CareLevel::Attention),
        "intensive" => Some(CareLevel::Intensive),
        _ => None,
    }
}

/// 3 to 20 characters of digits, `+`, `-` and spaces, with at least 3 digits.
fn is_phone(value: &str) -> bool {
    (3..=20).contains(&value.chars().count())
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
        && value.chars().filter(char::is_ascii_digit).count() >= 3
}

/// `lon` and `lat`: `Some(Some(p))` for a valid position, `Some(None)` when both are
/// empty (the home goes to the building's centre), `None` after a problem.
fn position(lon: &str, lat: &str, problems: &mut Vec<String>) -> Option<Option<Position>> {
    match (lon.is_empty(), lat.is_empty()) {
        (true, true) => return Some(None),
        (false, true) => {
            problems.push(
                "lon is given but lat is empty: give both, or neither to place the home at \
                 the building's centre"
                    .into(),
            );
            return None;
        }
        (true, false) => {
            problems.push(
                "lat is given but lon is empty: give both, or neither to place the home at \
                 the building's centre"
                    .into(),
            );
            return None;
        }
        (false, false) => {}
    }
    let number = |value: &str, column: &str, problems: &mut Vec<String>| match value.parse::<f64>()
    {
        Ok(v) if v.is_finite() => Some(v),
        _ => {
            problems.push(format!("{column} `{value}` is not a number of degrees"));
            None
        }
    };
    let (lon, lat) = (number(lon, "lon", problems)?, number(lat, "lat", problems)?);
    let before = problems.len();
    if !(-180.0..=180.0).contains(&lon) {
        problems.push(format!("lon {lon} is outside [-180, 180]"));
    }
    if !(-90.0..=90.0).contains(&lat) {
        let swapped = if (-90.0..=90.0).contains(&lon) {
            " (lon and lat swapped?)"
        } else {
            ""
        };
        problems.push(format!("lat {lat} is outside [-90, 90]{swapped}"));
    }
    (problems.len() == before).then_some(Some([lon, lat]))
}

/// The polygons of a footprint (outer ring first, then holes).
fn polygons(geometry: &Geometry) -> &[Vec<Ring>] {
    match geometry {
        Geometry::Polygon(rings) => std::slice::from_ref(rings),
        Geometry::MultiPolygon(polygons) => polygons,
        _ => &[],
    }
}

/// Whether `p` lies inside the footprint (and in none of its holes).
fn inside(p: Position, geometry: &Geometry) -> bool {
    polygons(geometry)
        .iter()
        .any(|rings| point_in_polygon(p, rings))
}

/// A point inside the footprint's largest polygon, near its middle (inside an L-shaped
/// building or one around a courtyard too, where the area centre is not), rounded to
/// 1e-7° (about a centimetre); `None` when the footprint has no area.
fn centre(geometry: &Geometry) -> Option<Position> {
    let largest = polygons(geometry)
        .iter()
        .filter(|rings| !rings.is_empty())
        .max_by(|a, b| ring_area(&a[0]).abs().total_cmp(&ring_area(&b[0]).abs()))?;
    let [lon, lat] = interior_point(largest)?;
    Some([(lon * 1e7).round() / 1e7, (lat * 1e7).round() / 1e7])
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "id,building,community,grid,unit,floor,room,resident,age_band,living_alone,care_level,phone,contact,lon,lat,sensors";

    fn square(x: f64, y: f64, size: f64) -> Ring {
        vec![
            [x, y],
            [x + size, y],
            [x + size, y + size],
            [x, y + size],
            [x, y],
        ]
    }

    /// Two buildings (a plain one and one around a courtyard), two communities, and a
    /// stored home `h9000` with the sensor `wm-stored`.
    fn context() -> Context {
        let mut outer = square(117.3015, 31.8461, 0.001);
        outer.reverse();
        Context {
            buildings: HashMap::from([
                (
                    "way/101".to_string(),
                    Geometry::Polygon(vec![square(117.3001, 31.8461, 0.0004)]),
                ),
                (
                    "court".to_string(),
                    Geometry::MultiPolygon(vec![
                        vec![square(117.3030, 31.8461, 0.0001)],
                        vec![outer, square(117.3018, 31.8464, 0.0004)],
                    ]),
                ),
                (
                    "flat".to_string(),
                    Geometry::Polygon(vec![vec![
                        [117.31, 31.84],
                        [117.32, 31.84],
                        [117.31, 31.84],
                        [117.31, 31.84],
                    ]]),
                ),
            ]),
            communities: ["xingfuli", "zhugang"]
                .into_iter()
                .map(|c| CommunityId::parse(c).unwrap())
                .collect(),
            sensors: HashMap::from([("wm-stored".to_string(), "h9000".to_string())]),
        }
    }

    /// A good row of the standard header, with `changes` as `(column, value)` applied.
    fn row(id: &str, changes: &[(&str, &str)]) -> String {
        let mut values: Vec<String> = [
            id,
            "way/101",
            "xingfuli",
            "xingfuli-1",
            "2",
            "3",
            "302",
            "王秀英",
            "80-89",
            "yes",
            "attention",
            "13812345678",
            "\"女儿 王敏, 13987654321\"",
            "117.3003",
            "31.8463",
            "",
        ]
        .map(String::from)
        .to_vec();
        values[15] = format!("water:wm-{id};gas:gs-{id}");
        for (column, value) in changes {
            let i = COLUMNS.iter().position(|c| c == column).unwrap();
            values[i] = value.to_string();
        }
        values.join(",")
    }

    fn file(rows: &[String]) -> Vec<u8> {
        let mut text = format!("{HEADER}\n");
        for r in rows {
            text.push_str(r);
            text.push('\n');
        }
        text.into_bytes()
    }

    fn homes(bytes: &[u8]) -> Vec<Home> {
        match parse(bytes, &context(), &mut |_, _| {}) {
            Ok(homes) => homes,
            Err(problems) => panic!("refused:\n{problems}"),
        }
    }

    fn problems(bytes: &[u8]) -> Vec<String> {
        match parse(bytes, &context(), &mut |_, _| {}) {
            Ok(homes) => panic!("accepted: {homes:#?}"),
            Err(problems) => problems.lines(),
        }
    }

    /// The problems of a file of one good row `h1` and one row `h2` with `changes`.
    fn second_row(changes: &[(&str, &str)]) -> Vec<String> {
        problems(&file(&[row("h1", &[]), row("h2", changes)]))
    }

    #[track_caller]
    fn refused_with(changes: &[(&str, &str)], expected: &str) {
        let lines = second_row(changes);
        assert_eq!(lines, vec![format!("row 3 (id \"h2\"): {expected}")]);
    }

    #[test]
    fn a_good_row_becomes_a_home_with_new_sensors() {
        let got = homes(&file(&[row("h0001", &[])]));
        assert_eq!(
            got,
            vec![Home {
                id: "h0001".into(),
                building: "way/101".into(),
                community: CommunityId::parse("xingfuli").unwrap(),
                grid: Some("xingfuli-1".into()),
                unit: 2,
                floor: 3,
                room: "302".into(),
                resident: "王秀英".into(),
                age_band: "80-89".into(),
                living_alone: true,
                care_level: CareLevel::Attention,
                phone: Some("13812345678".into()),
                contact: Some("女儿 王敏, 13987654321".into()),
                position: [117.3003, 31.8463],
                sensors: vec![
                    Sensor {
                        id: "wm-h0001".into(),
                        kind: SensorKind::Water,
                        health: Health::Ok,
                        battery_pct: None,
                        last_seen: None,
                    },
                    Sensor {
                        id: "gs-h0001".into(),
                        kind: SensorKind::Gas,
                        health: Health::Ok,
                        battery_pct: None,
                        last_seen: None,
                    },
                ],
            }]
        );
    }

    #[test]
    fn columns_in_any_order_optional_ones_left_out_crlf_a_bom_and_spaces() {
        let text = "\u{feff}Sensors , ID,building,community,unit,floor,room,resident,age_band,living_alone,care_level\r\n\
                    \" smoke:sm-1 ; water:wm-1; \", h1 ,way/101,zhugang,1,-1,B01,\"李 \"\"老李\"\" 建国\",90+,否,INTENSIVE\r\n";
        let got = homes(text.as_bytes());
        assert_eq!(got.len(), 1);
        let home = &got[0];
        assert_eq!(home.id, "h1");
        assert_eq!(home.community.as_str(), "zhugang");
        assert_eq!((home.unit, home.floor), (1, -1));
        assert_eq!(home.resident, "李 \"老李\" 建国");
        assert_eq!(home.age_band, "90+");
        assert!(!home.living_alone);
        assert_eq!(home.care_level, CareLevel::Intensive);
        assert_eq!((home.grid.as_deref(), home.phone.as_deref()), (None, None));
        assert_eq!(home.contact, None);
        let sensors: Vec<(&str, SensorKind)> = home
            .sensors
            .iter()
            .map(|s| (s.id.as_str(), s.kind))
            .collect();
        assert_eq!(
            sensors,
            [("sm-1", SensorKind::Smoke), ("wm-1", SensorKind::Water)]
        );
        // Without lon and lat, the home is at the building's centre.
        assert_eq!(home.position, [117.3003, 31.8463]);
    }

    #[test]
    fn every_way_of_saying_yes_or_no_and_every_care_level_and_age_band() {
        for (value, alone) in [
            ("yes", true),
            ("YES", true),
            ("true", true),
            ("1", true),
            ("是", true),
            ("no", false),
            ("False", false),
            ("0", false),
            ("否", false),
        ] {
            let got = homes(&file(&[row("h1", &[("living_alone", value)])]));
            assert_eq!(got[0].living_alone, alone, "{value}");
        }
        for (value, level) in [
            ("independent", CareLevel::Independent),
            ("attention", CareLevel::Attention),
            ("intensive", CareLevel::Intensive),
        ] {
            let got = homes(&file(&[row("h1", &[("care_level", value)])]));
            assert_eq!(got[0].care_level, level);
        }
        for band in AGE_BANDS {
            let got = homes(&file(&[row("h1", &[("age_band", band)])]));
            assert_eq!(got[0].age_band, band);
        }
    }

    #[test]
    fn empty_lon_and_lat_place_the_home_inside_the_largest_polygon() {
        let got = homes(&file(&[
            row("h1", &[("lon", ""), ("lat", "")]),
            row("h2", &[("building", "court"), ("lon", ""), ("lat", "")]),
        ]));
        assert_eq!(got[0].position, [117.3003, 31.8463]);
        // The courtyard building's larger polygon, whatever its ring's direction: inside
        // its walls, not in the courtyard where its area centre lies.
        let court = &context().buildings["court"];
        let Geometry::MultiPolygon(polygons) = court else {
            unreachable!()
        };
        let courtyard = &polygons[1][1];
        assert!(inside(got[1].position, court), "{:?}", got[1].position);
        assert!(
            !point_in_polygon(got[1].position, std::slice::from_ref(courtyard)),
            "{:?} is in the courtyard",
            got[1].position
        );
        assert!(point_in_polygon(got[1].position, &polygons[1]));
        refused_with(
            &[("building", "flat"), ("lon", ""), ("lat", "")],
            "building `flat` has no area to place the home at: give lon and lat",
        );
    }

    #[test]
    fn a_home_of_the_file_may_take_over_a_sensor_of_a_stored_home_it_replaces() {
        let got = homes(&file(&[
            row("h1", &[("sensors", "water:wm-stored")]),
            row("h9000", &[("sensors", "water:wm-new")]),
        ]));
        assert_eq!(got[0].sensors[0].id, "wm-stored");
        // The stored home itself may keep it.
        let got = homes(&file(&[row("h9000", &[("sensors", "water:wm-stored")])]));
        assert_eq!(got[0].sensors[0].id, "wm-stored");
    }

    #[test]
    fn a_sensor_of_a_stored_home_the_file_does_not_replace_is_refused() {
        refused_with(
            &[("sensors", "water:wm-stored")],
            "sensor `wm-stored` belongs to stored home `h9000`, which this file does not replace",
        );
        // With --replace every stored sensor goes: the context has none.
        let free = Context {
            sensors: HashMap::new(),
            ..context()
        };
        let bytes = file(&[row("h1", &[("sensors", "water:wm-stored")])]);
        assert!(parse(&bytes, &free, &mut |_, _| {}).is_ok());
    }

    #[test]
    fn duplicate_home_ids_and_sensors_are_refused_naming_both_rows() {
        let lines = problems(&file(&[
            row("h1", &[]),
            row("h2", &[]),
            row("h1", &[("sensors", "smoke:sm-1;water:wm-h2")]),
        ]));
        assert_eq!(
            lines,
            vec![
                r#"row 4 (id "h1"): the same id as row 2"#,
                r#"row 4 (id "h1"): sensor `wm-h2` is also in row 3 (id "h2")"#,
            ]
        );
        refused_with(
            &[("sensors", "water:wm-9;gas:wm-9")],
            "sensor `wm-9` is listed twice",
        );
    }

    #[test]
    fn bad_values_are_refused_naming_row_id_and_column() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("building", "way/999")],
                "building `way/999` is not in the stored buildings layer (import it first with `linli import buildings`)",
            ),
            (&[("building", "")], "building is empty: give the id of a stored building"),
            (
                &[("community", "weigang")],
                "community `weigang` is not stored (import it first with `linli import communities`)",
            ),
            (&[("unit", "0")], "unit `0` is not a whole number from 1 to 999"),
            (&[("unit", "2.5")], "unit `2.5` is not a whole number from 1 to 999"),
            (&[("unit", "")], "unit is empty: give a whole number from 1 to 999"),
            (&[("floor", "0")], "floor is 0: floors count from 1, and from -1 below ground"),
            (
                &[("floor", "three")],
                "floor `three` is not a whole number from 1 to 199, or -1 to -9 below ground",
            ),
            (&[("room", " ")], "room is empty"),
            (&[("resident", "")], "resident is empty"),
            (
                &[("age_band", "85")],
                "age_band `85` is not one of 60-64, 65-69, 70-79, 80-89, 90+",
            ),
            (
                &[("living_alone", "maybe")],
                "living_alone `maybe` is not yes or no (yes/no, true/false, 1/0, 是/否)",
            ),
            (
                &[("care_level", "high")],
                "care_level `high` is not independent, attention or intensive",
            ),
            (
                &[("phone", "call me")],
                "phone `call me` is not a phone number: use digits, with + - or spaces",
            ),
            (&[("lon", "east")], "lon `east` is not a number of degrees"),
            (&[("lat", "NaN")], "lat `NaN` is not a number of degrees"),
            (&[("lon", "181")], "lon 181 is outside [-180, 180]"),
            (
                &[("lon", "31.8463"), ("lat", "117.3003")],
                "lat 117.3003 is outside [-90, 90] (lon and lat swapped?)",
            ),
            (
                &[("lat", "")],
                "lon is given but lat is empty: give both, or neither to place the home at the building's centre",
            ),
            (
                &[("lon", "117.3006")],
                "lon/lat 117.3006, 31.8463 is outside building `way/101`",
            ),
            (
                &[("building", "court"), ("lon", "117.302"), ("lat", "31.8466")],
                "lon/lat 117.302, 31.8466 is outside building `court`",
            ),
            (
                &[("sensors", "")],
                "sensors is empty: a home needs at least one, such as water:wm-000123",
            ),
            (
                &[("sensors", "wm-1")],
                "sensor `wm-1` is not kind:device-id, such as water:wm-000123",
            ),
            (
                &[("sensors", "heat:ht-1")],
                "sensor `heat:ht-1`: kind `heat` is not water, gas or smoke",
            ),
            (
                &[("sensors", "water:wm 1")],
                "sensor `water:wm 1`: device id `wm 1` is not valid: use 1 to 64 ASCII letters, digits, '-' or '_'",
            ),
            (&[("sensors", "water:")], "sensor `water:`: the device id is empty"),
        ];
        for (changes, expected) in cases {
            refused_with(changes, expected);
        }
        let long = "x".repeat(65);
        refused_with(
            &[("sensors", &format!("gas:{long}"))],
            &format!(
                "sensor `gas:{long}`: device id `{long}` is not valid: use 1 to 64 ASCII letters, digits, '-' or '_'"
            ),
        );
        // The community id must be well formed too.
        let lines = second_row(&[("community", "Xing Fu")]);
        assert!(
            lines[0]
                .starts_with(r#"row 3 (id "h2"): community: community id `Xing Fu` is not valid"#),
            "{lines:?}"
        );
    }

    #[test]
    fn bad_ids_are_refused_and_named_as_written() {
        let lines = problems(&file(&[
            row("", &[]),
            row("h/2", &[("sensors", "water:wm-2")]),
        ]));
        assert_eq!(
            lines,
            vec![
                "row 2: id is empty",
                r#"row 3 (id "h/2"): id `h/2` is not valid: use 1 to 64 ASCII letters, digits, '-' or '_'"#,
            ]
        );
    }

    #[test]
    fn every_problem_of_a_row_is_listed() {
        let lines = second_row(&[("unit", "x"), ("care_level", ""), ("sensors", "")]);
        assert_eq!(lines.len(), 3, "{lines:#?}");
    }

    #[test]
    fn rows_count_blank_lines_and_line_breaks_in_quotes_as_a_spreadsheet_does() {
        let mut text = String::from_utf8(file(&[row("h1", &[])])).unwrap();
        text.push_str("\n,,,,,,,,,,,,,,,\n");
        text.push_str(&row("h2", &[("contact", "\"邻居\n张三\"")]));
        text.push('\n');
        text.push_str(&row("h3", &[("age_band", "100+")]));
        let lines = problems(text.as_bytes());
        assert_eq!(
            lines,
            vec![
                r#"row 6 (id "h3"): age_band `100+` is not one of 60-64, 65-69, 70-79, 80-89, 90+"#
            ]
        );
    }

    #[test]
    fn a_row_with_too_few_or_too_many_fields_is_refused() {
        let lines = problems(&file(&[
            row("h1", &[]),
            "h2,way/101,xingfuli".into(),
            format!("{},extra", row("h3", &[])),
        ]));
        assert_eq!(
            lines,
            vec![
                r#"row 3 (id "h2"): has 3 fields, but the header names 16 columns"#,
                r#"row 4 (id "h3"): has 17 fields, but the header names 16 columns"#,
            ]
        );
    }

    #[test]
    fn a_bad_header_is_refused_naming_the_columns() {
        let bad = "id,building,community,unit,floor,room,resident,age,living_alone,care_level,Unit,,lon\n";
        assert_eq!(
            problems(bad.as_bytes()),
            vec![
                format!(
                    "row 1: unknown column `age` (column 8); the columns are {}",
                    COLUMNS.join(", ")
                ),
                "row 1: column `unit` is there twice (columns 4 and 11)".into(),
                "row 1: column 12 has no name".into(),
                "row 1: the required column `age_band` is missing".into(),
                "row 1: the required column `sensors` is missing".into(),
                "row 1: there is a column `lon` but no column `lat`".into(),
            ]
        );
        let semicolons = HEADER.replace(',', ";");
        let lines = problems(semicolons.as_bytes());
        assert!(
            lines[0].contains("(separate the columns with commas, not semicolons or tabs)"),
            "{lines:?}"
        );
        assert_eq!(
            problems(format!("\n{HEADER}\n").as_bytes())[0],
            format!(
                "row 1: the first row is empty: it must name the columns ({})",
                COLUMNS.join(", ")
            )
        );
    }

    #[test]
    fn an_empty_file_or_one_without_homes_is_refused() {
        assert!(problems(b"")[0].starts_with("the file is empty: its first row must name"));
        assert!(problems(b"\xEF\xBB\xBF")[0].starts_with("the file is empty"));
        assert_eq!(
            problems(format!("{HEADER}\r\n\r\n").as_bytes()),
            vec!["the file has a header but no homes: nothing to import"]
        );
    }

    #[test]
    fn broken_quoting_and_other_encodings_are_refused() {
        let mut text = String::from_utf8(file(&[row("h1", &[])])).unwrap();
        text.push_str("h2,\"way/101,xingfuli\n");
        assert_eq!(
            problems(text.as_bytes()),
            vec!["row 3: field 2 opens a quote on line 3 that is never closed"]
        );
        let mut gbk = file(&[]);
        gbk.extend_from_slice(b"h1,\xD0\xD2\n");
        assert!(problems(&gbk)[0].starts_with("the file is not UTF-8 text: line 2"));
    }

    #[test]
    fn progress_counts_the_rows_checked() {
        let mut seen = Vec::new();
        let bytes = file(&[row("h1", &[]), row("h2", &[("unit", "x")])]);
        let _ = parse(&bytes, &context(), &mut |done, total| {
            seen.push((done, total))
        });
        assert_eq!(seen, [(1, 2), (2, 2)]);
    }

    #[test]
    fn at_most_twenty_problems_are_listed_and_the_rest_counted() {
        let rows: Vec<String> = (0..25)
            .map(|i| row(&format!("h{i}"), &[("care_level", "?")]))
            .collect();
        let Err(problems) = parse(&file(&rows), &context(), &mut |_, _| {}) else {
            panic!("accepted")
        };
        assert_eq!(problems.total(), 25);
        assert_eq!(problems.lines()[20], "and 5 more problems");
    }
}
