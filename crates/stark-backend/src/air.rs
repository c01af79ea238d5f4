//! The seam between chips and the backend: what an AIR must provide.
//!
//! A chip is a Plonky3 AIR (`BaseAir` + `Air<AB>` for any builder it supports) plus a
//! name. Interactions are declared once, inside `eval`, through p3-lookup's
//! [`InteractionBuilder`]: `builder.push_interaction("memory", [addr, value], count)`
//! sends (positive count) or receives (negative count) a tuple of column expressions on
//! a named bus. Keygen evaluates `eval` symbolically to extract them; the prover and the
//! verifier add their LogUp constraints; the debug checker evaluates them row by row.
//!
//! The usual way to write a chip is generic over the builder:
//!
//! ```ignore
//! impl<AB: InteractionBuilder> Air<AB> for MyChip { fn eval(&self, b: &mut AB) { ... } }
//! impl StarkAir for MyChip { fn name(&self) -> String { "my_chip".into() } }
//! ```

use p3_air::{Air, AirBuilder, BaseAir};
use p3_lookup::InteractionSymbolicBuilder;
use p3_matrix::dense::RowMajorMatrix;

pub use p3_lookup::{Count, InteractionBuilder};

use crate::config::{Challenge, Val};
use crate::folder::{DebugFolder, ProverFolder, VerifierFolder};

/// The symbolic builder keygen runs every AIR through.
pub type SymbolicBuilder = InteractionSymbolicBuilder<Val, Challenge>;

/// An AIR the backend can prove: evaluable by every builder the backend uses.
///
/// Object safe, so a machine can hand over `Vec<Arc<dyn StarkAir>>` of different chips.
pub trait StarkAir:
    BaseAir<Val>
    + Air<SymbolicBuilder>
    + for<'a> Air<ProverFolder<'a>>
    + for<'a> Air<VerifierFolder<'a>>
    + for<'a> Air<DebugFolder<'a>>
    + Send
    + Sync
{
    /// A short stable name, used in metrics (`air_name`), errors and keys.
    fn name(&self) -> String;

    /// The preprocessed trace's height when the AIR stands for one without holding it
    /// ([`ShapeOnly`]): reading a verifying key needs the shape, the key commits the
    /// values. `None` (every real chip): the height is that of `preprocessed_trace()`.
    fn preprocessed_height(&self) -> Option<usize> {
        None
    }
}

/// An AIR with its preprocessed trace replaced by its height: the same constraints,
/// widths and buses, nothing allocated for the values. For reading a verifying key of AIRs
/// whose preprocessed traces a verifier does not have ([`crate::VerifyingKey::from_bytes`]
/// takes the commitment from the key); keygen refuses it (there is nothing to commit).
pub struct ShapeOnly {
    inner: std::sync::Arc<dyn StarkAir>,
    preprocessed_height: usize,
}

impl ShapeOnly {
    /// `inner` (whose own preprocessed trace, if it builds one, is never asked for) with a
    /// preprocessed trace of `preprocessed_height` rows.
    pub fn new(inner: std::sync::Arc<dyn StarkAir>, preprocessed_height: usize) -> Self {
        Self {
            inner,
            preprocessed_height,
        }
    }
}

impl BaseAir<Val> for ShapeOnly {
    fn width(&self) -> usize {
        BaseAir::<Val>::width(self.inner.as_ref())
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        None
    }
    fn preprocessed_width(&self) -> usize {
        BaseAir::<Val>::preprocessed_width(self.inner.as_ref())
    }
    fn num_periodic_columns(&self) -> usize {
        BaseAir::<Val>::num_periodic_columns(self.inner.as_ref())
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        BaseAir::<Val>::main_next_row_columns(self.inner.as_ref())
    }
    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        BaseAir::<Val>::preprocessed_next_row_columns(self.inner.as_ref())
    }
    fn max_constraint_degree(&self) -> Option<usize> {
        BaseAir::<Val>::max_constraint_degree(self.inner.as_ref())
    }
    fn num_public_values(&self) -> usize {
        BaseAir::<Val>::num_public_values(self.inner.as_ref())
    }
    fn public_boundary_io(&self) -> &[p3_air::BoundaryPublic] {
        BaseAir::<Val>::public_boundary_io(self.inner.as_ref())
    }
}

impl<AB> Air<AB> for ShapeOnly
where
    AB: AirBuilder<F = Val>,
    dyn StarkAir: Air<AB>,
{
    fn eval(&self, builder: &mut AB) {
        self.inner.eval(builder)
    }
}

impl StarkAir for ShapeOnly {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn preprocessed_height(&self) -> Option<usize> {
        Some(self.preprocessed_height)
    }
}

/// A sized handle on a `dyn StarkAir`, so Plonky3's generic helpers (which take
/// `A: Air<AB>`) can work with trait objects.
#[derive(Clone, Copy)]
pub(crate) struct AirRef<'a>(pub &'a dyn StarkAir);

impl BaseAir<Val> for AirRef<'_> {
    fn width(&self) -> usize {
        BaseAir::<Val>::width(self.0)
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        BaseAir::<Val>::preprocessed_trace(self.0)
    }
    fn preprocessed_width(&self) -> usize {
        BaseAir::<Val>::preprocessed_width(self.0)
    }
    fn num_periodic_columns(&self) -> usize {
        BaseAir::<Val>::num_periodic_columns(self.0)
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        BaseAir::<Val>::main_next_row_columns(self.0)
    }
    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        BaseAir::<Val>::preprocessed_next_row_columns(self.0)
    }
    fn max_constraint_degree(&self) -> Option<usize> {
        BaseAir::<Val>::max_constraint_degree(self.0)
    }
    fn num_public_values(&self) -> usize {
        BaseAir::<Val>::num_public_values(self.0)
    }
    fn public_boundary_io(&self) -> &[p3_air::BoundaryPublic] {
        BaseAir::<Val>::public_boundary_io(self.0)
    }
}

impl<'a, AB> Air<AB> for AirRef<'a>
where
    AB: AirBuilder<F = Val>,
    dyn StarkAir + 'a: Air<AB>,
{
    fn eval(&self, builder: &mut AB) {
        self.0.eval(builder)
    }
}
