//! The one error type of `sonority-similarity`.

/// Everything that can go wrong while building an index or ranking against it.
///
/// Variants are chosen by what the caller does next: reject bad numbers (`NonFinite`), fix the
/// call (`DimensionMismatch`, `LengthMismatch`, `InvalidConfig`, `InvalidLayout`, `EmptyQuery`,
/// `UnknownGroup`, `IndexMismatch`), or fix the data (`DuplicateId`, `UnknownId`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // === Bad numbers ===
    /// A vector holds NaN or an infinity.
    #[error("{what}: non-finite value {value} at row {row}, column {col}")]
    NonFinite {
        /// Which input (`"index row"`, `"anchor"`, `"explain query"`, ...).
        what: &'static str,
        /// The row (or anchor number) holding the value.
        row: usize,
        /// The column of the value.
        col: usize,
        /// The offending value.
        value: f32,
    },

    // === Shape errors ===
    /// A vector's length is not the index's dimension.
    #[error("{what}: expected dimension {expected}, got {actual}")]
    DimensionMismatch {
        /// Which input.
        what: &'static str,
        /// The dimension expected.
        expected: usize,
        /// The dimension given.
        actual: usize,
    },
    /// Two parallel inputs have different lengths (ids against rows, labels against rows).
    #[error("{what}: expected length {expected}, got {actual}")]
    LengthMismatch {
        /// Which input.
        what: &'static str,
        /// The length expected.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// A configuration value is out of its range.
    #[error("invalid {field}: {reason}")]
    InvalidConfig {
        /// The field.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// An explanation layout has a block outside the vector or overlapping another.
    #[error("invalid layout block {block:?}: {reason}")]
    InvalidLayout {
        /// The block's name.
        block: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A query has no anchor.
    #[error("query has no anchor")]
    EmptyQuery,
    /// Rank options name a group column the index does not have.
    #[error("unknown group column {name:?}")]
    UnknownGroup {
        /// The column's name.
        name: String,
    },
    /// A hubness model was fitted on an index of another size.
    #[error("hubness model fitted on {expected} rows, index has {actual}")]
    IndexMismatch {
        /// Rows the model was fitted on.
        expected: usize,
        /// Rows the index has.
        actual: usize,
    },

    // === Data errors ===
    /// Two rows share one id.
    #[error("duplicate id at row {row} (first seen at row {first_row})")]
    DuplicateId {
        /// The row where the id first appears.
        first_row: usize,
        /// The row repeating it.
        row: usize,
    },
    /// An id asked for is not in the index.
    #[error("id number {position} of the request is not in the index")]
    UnknownId {
        /// Its position in the list of ids asked for.
        position: usize,
    },
}

/// The result type of `sonority-similarity`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
