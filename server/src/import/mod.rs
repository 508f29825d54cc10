//! `linli import`: base-map layers from GeoJSON files, all or nothing.
//!
//! [`geojson::parse`] reads and checks a whole file without touching the store; only a
//! file without a single problem becomes an [`Import`], which [`save`] writes in one
//! transaction. Features are added to their layer, replacing stored ones with the same
//! id, or, with `replace`, replace the whole layer. Problems name the feature by its
//! index in the file and its id, e.g. `feature 12 (id "way/99"): ring 0 is not closed`.

pub mod geojson;

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

/// One thing wrong with a file: about the file as a whole, or about one feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The feature's index in the file (0-based), if the problem is about a feature.
    pub feature: Option<usize>,
    /// The feature's id, when it could be read.
    pub id: Option<String>,
    pub message: String,
}

impl Problem {
    /// A problem of the whole file.
    pub fn file(message: impl Into<String>) -> Self {
        Self {
            feature: None,
            id: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.feature, &self.id) {
            (Some(index), Some(id)) => write!(f, "feature {index} (id {id:?}): {}", self.message),
            (Some(index), None) => write!(f, "feature {index}: {}", self.message),
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
    fn problems_name_the_feature_by_index_and_id() {
        let with_id = Problem {
            feature: Some(12),
            id: Some("way/99".into()),
            message: "ring 0 is not closed".into(),
        };
        assert_eq!(
            with_id.to_string(),
            r#"feature 12 (id "way/99"): ring 0 is not closed"#
        );
        let without = Problem {
            feature: Some(3),
            id: None,
            message: "has no geometry".into(),
        };
        assert_eq!(without.to_string(), "feature 3: has no geometry");
        assert_eq!(Problem::file("empty").to_string(), "empty");
    }

    #[test]
    fn problems_beyond_the_limit_are_counted() {
        let mut problems = Problems::default();
        for i in 0..MAX_LISTED + 1 {
            problems.push(Problem {
                feature: Some(i),
                id: None,
                message: "x".into(),
            });
        }
        assert_eq!(problems.total(), MAX_LISTED + 1);
        assert_eq!(problems.lines().last().unwrap(), "and 1 more problem");
    }
}
