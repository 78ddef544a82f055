//! [`MemoryStore`]: an in-memory [`VectorStore`], for tests and small throw-away indexes.

use std::collections::{BTreeMap, HashMap};

use crate::error::{Error, Result};
use crate::types::{TrackId, check_finite};
use crate::vector::VectorStore;

/// `MemoryStore` keeps vectors in a map per model; nothing is persisted.
///
/// It applies the same checks as [`SqliteStore`](crate::SqliteStore), so it serves as a
/// test double for code written against [`VectorStore`].
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    models: HashMap<String, Model>,
}

#[derive(Debug, Clone)]
struct Model {
    dim: usize,
    rows: BTreeMap<TrackId, Vec<f32>>,
}

impl MemoryStore {
    /// Creates an empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

/// Checks a vector against a model's dimension (if known) and for finiteness.
pub(crate) fn check_vector(model: &str, expected: Option<usize>, v: &[f32]) -> Result<()> {
    if v.is_empty() {
        return Err(Error::EmptyVector {
            model: model.to_owned(),
        });
    }
    if let Some(expected) = expected
        && expected != v.len()
    {
        return Err(Error::DimensionMismatch {
            model: model.to_owned(),
            expected,
            actual: v.len(),
        });
    }
    check_finite(|| format!("model {model:?} vector"), v)
}

impl VectorStore for MemoryStore {
    type Error = Error;

    fn put(&mut self, model: &str, id: TrackId, vector: &[f32]) -> Result<()> {
        check_vector(model, self.models.get(model).map(|m| m.dim), vector)?;
        self.models
            .entry(model.to_owned())
            .or_insert_with(|| Model {
                dim: vector.len(),
                rows: BTreeMap::new(),
            })
            .rows
            .insert(id, vector.to_vec());
        Ok(())
    }

    fn get(&self, model: &str, id: TrackId) -> Result<Option<Vec<f32>>> {
        Ok(self
            .models
            .get(model)
            .and_then(|m| m.rows.get(&id))
            .cloned())
    }

    fn delete(&mut self, model: &str, id: TrackId) -> Result<bool> {
        Ok(self
            .models
            .get_mut(model)
            .is_some_and(|m| m.rows.remove(&id).is_some()))
    }

    fn count(&self, model: &str) -> Result<usize> {
        Ok(self.models.get(model).map_or(0, |m| m.rows.len()))
    }

    fn dim(&self, model: &str) -> Result<Option<usize>> {
        Ok(self.models.get(model).map(|m| m.dim))
    }

    fn for_each(&self, model: &str, f: &mut dyn FnMut(TrackId, &[f32]) -> bool) -> Result<()> {
        if let Some(m) = self.models.get(model) {
            for (id, v) in &m.rows {
                if !f(*id, v) {
                    break;
                }
            }
        }
        Ok(())
    }
}
