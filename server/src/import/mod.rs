//! `linli import`: base-map layers from GeoJSON files and elder homes from CSV files,
//! all or nothing.
//!
//! [`geojson::parse`] reads and checks a whole file without touching the store; only a
//! file without a single problem becomes an [`Import`], which [`save`] writes in one
//! transaction. Features are added to their layer, replacing stored ones with the same
//! id, or, with `replace`, replace the whole layer. Problems name the feature by its
//! index in the file and its id, e.g. `feature 12 (id "way/99"): ring 0 is not closed`.
//!
//! Homes go the same way: [`homes::parse`] reads a CSV file (through the small RFC 4180
//! reader of [`csv`]) and checks every row against the stored buildings, communities and
//! sensors, and [`homes::save`] stores the homes in one transaction. Their problems name
//! the row as a spreadsheet numbers it (the header is row 1) and the home's id, e.g.
//! `row 7 (id "h0042"): care_level `high` is not independent, attention or intensive`.

pub mod csv;
pub mod geojson;
pub mod homes;

use crate::clock::Millis;
use crate::store::{Actor, Change, Community, Store, StoreResult};
use linli_domain::place::{Feature, LayerName, Properties};
use std::fmt;

/// How many problems are listed; the rest are only counted.
pub const MAX_LISTED: usize = 20;

/// The actor of every change an import makes.
pub const ACTOR: Actor = Actor::System("import");

/// The layers `linli import` takes, as named on the command line.
pub const LAYERS: [LayerName; 4] = [
    LayerName::Buildings,
    LayerName::Roads,
    LayerName::Grids,
    LayerName::Communities,
];

/// A checked file, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub enum Import {
    /// Grids, buildings or roads.
    Features(Vec<Feature<Properties>>),
    Communities(Vec<Community>),
}

impl Import {
    /// The number of features.
    pub fn len(&self) -> usize {
        match self {
            Import::Features(features) => features.len(),
            Import::Communities(communities) => communities.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where in a file a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A GeoJSON feature by its index in the file (0-based; told counting from 1, as
    /// people count, like a CSV's rows).
    Feature(usize),
    /// A CSV row as a spreadsheet numbers it: the header is row 1.
    Row(usize),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Feature(index) => write!(f, "feature {}", index + 1),
            Place::Row(row) => write!(f, "row {row}"),
        }
    }
}

/// One thing wrong with a file: about the file as a whole, or about one feature or row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The feature or row, if the problem is about one.
    pub at: Option<Place>,
    /// The feature's or home's id, when it could be read.
    pub id: Option<String>,
    pub message: String,
}

impl Problem {
    /// A problem of the whole file.
    pub fn file(message: impl Into<String>) -> Self {
        Self {
            at: None,
            id: None,
            message: message.into(),
        }
    }

    /// A problem of one feature or row, with its id when it could be read.
    pub fn at(place: Place, id: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            at: Some(place),
            id: id.map(str::to_string),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.at, &self.id) {
            (Some(place), Some(id)) => write!(f, "{place} (id {id:?}): {}", self.message),
            (Some(place), None) => write!(f, "{place}: {}", self.message),
            (None, _) => f.write_str(&self.message),
        }
    }
}

/// Everything wrong with a file: the first [`MAX_LISTED`] problems and how many more.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    pub listed: Vec<Problem>,
    pub unlisted: usize,
}

impl Problems {
    pub fn one(problem: Problem) -> Self {
        Self {
            listed: vec![problem],
            unlisted: 0,
        }
    }

    pub fn push(&mut self, problem: Problem) {
        if self.listed.len() < MAX_LISTED {
            self.listed.push(problem);
        } else {
            self.unlisted += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    /// All problems, listed or not.
    pub fn total(&self) -> usize {
        self.listed.len() + self.unlisted
    }

    /// One line per listed problem, then `and N more problems` if some are not listed.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.listed.iter().map(Problem::to_string).collect();
        if self.unlisted > 0 {
            lines.push(format!(
                "and {} more problem{}",
                self.unlisted,
                if self.unlisted == 1 { "" } else { "s" }
            ));
        }
        lines
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines().join("\n"))
    }
}

impl std::error::Error for Problems {}

/// Stores a checked file in its layer in one transaction, as [`ACTOR`] at `at`, and
/// returns the layer's new version. With `replace`, the layer holds exactly the file's
/// features afterwards; for communities the store refuses (changing nothing) when that
/// would drop a community users are bound to. `progress` is called with the number of
/// features written so far (only for grids, buildings and roads: communities are few).
pub async fn save(
    store: &dyn Store,
    layer: LayerName,
    import: &Import,
    replace: bool,
    at: Millis,
    progress: &(dyn Fn(usize) + Sync),
) -> StoreResult<i64> {
    let change = Change::new(ACTOR, at);
    match import {
        Import::Features(features) => {
            store
                .save_features_reporting(&change, layer, features, replace, progress)
                .await
        }
        Import::Communities(communities) => {
            if replace {
                store.replace_communities(&change, communities).await?;
            } else {
                store.save_communities(&change, communities).await?;
            }
            store.layer_version(LayerName::Communities).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_the_feature_or_row_and_the_id() {
        let with_id = Problem::at(Place::Feature(12), Some("way/99"), "ring 0 is not closed");
        assert_eq!(
            with_id.to_string(),
            r#"feature 13 (id "way/99"): ring 0 is not closed"#
        );
        let without = Problem::at(Place::Feature(3), None, "has no geometry");
        assert_eq!(without.to_string(), "feature 4: has no geometry");
        assert_eq!(Problem::file("empty").to_string(), "empty");
        let row = Problem::at(Place::Row(7), Some("h0042"), "unit is empty");
        assert_eq!(row.to_string(), r#"row 7 (id "h0042"): unit is empty"#);
        assert_eq!(
            Problem::at(Place::Row(1), None, "unknown column `x`").to_string(),
            "row 1: unknown column `x`"
        );
    }

    #[test]
    fn problems_beyond_the_limit_are_counted() {
        let mut problems = Problems::default();
        for i in 0..MAX_LISTED + 1 {
            problems.push(Problem::at(Place::Feature(i), None, "x"));
        }
        assert_eq!(problems.total(), MAX_LISTED + 1);
        assert_eq!(problems.lines().last().unwrap(), "and 1 more problem");
    }
}
