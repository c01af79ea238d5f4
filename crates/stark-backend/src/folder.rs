//! The builders an AIR is evaluated with: packed on the quotient domain (prover), at the
//! out-of-domain point (verifier), and row by row on the trace (debug checker).
//!
//! Prover and verifier wrap Plonky3's uni-stark folders (which fold constraints with
//! powers of alpha in the same order) and add the permutation (LogUp) columns, their
//! challenges and the AIR's cumulative sum. Interactions pushed during `eval` are
//! ignored here: their LogUp constraints come from the lookups extracted at keygen.

use p3_air::{AirBuilder, ExtensionBuilder, PermutationAirBuilder, RowWindow};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrixView;
use p3_matrix::stack::ViewPair;
use p3_uni_stark::{ProverConstraintFolder, VerifierConstraintFolder};

use crate::config::{Challenge, P3Config, PackedChallenge, PackedVal, Val};

/// Packed constraint evaluation on the quotient domain.
pub struct ProverFolder<'a> {
    pub(crate) inner: ProverConstraintFolder<'a, P3Config>,
    pub(crate) permutation: RowMajorMatrixView<'a, PackedChallenge>,
    pub(crate) permutation_challenges: &'a [PackedChallenge],
    pub(crate) cumulative_sum: &'a [PackedChallenge],
    #[cfg(feature = "ablation")]
    pub(crate) ablation: Ablation,
}

/// Constraint evaluation at the out-of-domain point.
pub struct VerifierFolder<'a> {
    pub(crate) inner: VerifierConstraintFolder<'a, P3Config>,
    pub(crate) permutation: ViewPair<'a, Challenge>,
    pub(crate) permutation_challenges: &'a [Challenge],
    pub(crate) cumulative_sum: &'a [Challenge],
    #[cfg(feature = "ablation")]
    pub(crate) ablation: Ablation,
}

/// Which base constraints (in `eval` order) to replace by zero, and the running index.
#[cfg(feature = "ablation")]
#[derive(Clone, Debug, Default)]
pub(crate) struct Ablation {
    drop: Vec<usize>,
    next: usize,
}

#[cfg(feature = "ablation")]
impl Ablation {
    pub(crate) fn new(drop: Vec<usize>) -> Self {
        Self { drop, next: 0 }
    }

    /// Advances past one constraint; true if it is a dropped one.
    #[inline]
    fn skip(&mut self) -> bool {
        self.next += 1;
        self.drop.contains(&(self.next - 1))
    }
}

macro_rules! delegate_air_builder {
    ($folder:ident, $expr:ty, $window:ty) => {
        impl<'a> AirBuilder for $folder<'a> {
            type F = Val;
            type Expr = $expr;
            type Var = $expr;
            type PreprocessedWindow = RowWindow<'a, $expr>;
            type MainWindow = RowWindow<'a, $expr>;
            type PublicVar = Val;
            type PeriodicVar = $expr;

            #[inline]
            fn main(&self) -> Self::MainWindow {
                self.inner.main()
            }
            #[inline]
            fn preprocessed(&self) -> &Self::PreprocessedWindow {
                self.inner.preprocessed()
            }
            #[inline]
            fn is_first_row(&self) -> Self::Expr {
                self.inner.is_first_row
            }
            #[inline]
            fn is_last_row(&self) -> Self::Expr {
                self.inner.is_last_row
            }
            #[inline]
            fn is_transition(&self) -> Self::Expr {
                self.inner.is_transition
            }
            #[inline]
            fn assert_zero<I: Into<Self::Expr>>(&mut self, x: I) {
                #[cfg(feature = "ablation")]
                if self.ablation.skip() {
                    self.inner
                        .assert_zero(<$expr as PrimeCharacteristicRing>::ZERO);
                    return;
                }
                self.inner.assert_zero(x);
            }
            #[inline]
            fn assert_zeros<const N: usize, I: Into<Self::Expr>>(&mut self, array: [I; N]) {
                #[cfg(feature = "ablation")]
                for x in array {
                    self.assert_zero(x);
                }
                #[cfg(not(feature = "ablation"))]
                self.inner.assert_zeros(array);
            }
            #[inline]
            fn public_values(&self) -> &[Self::PublicVar] {
                self.inner.public_values
            }
            #[inline]
            fn periodic_values(&self) -> &[Self::PeriodicVar] {
                self.inner.periodic_values
            }
        }

        impl ExtensionBuilder for $folder<'_> {
            type EF = Challenge;
            type ExprEF = $window;
            type VarEF = $window;

            #[inline]
            fn assert_zero_ext<I: Into<Self::ExprEF>>(&mut self, x: I) {
                self.inner.assert_zero_ext(x);
            }
        }

        impl InteractionBuilder for $folder<'_> {
            #[inline]
            fn push_interaction<E: Into<Self::Expr>>(
                &mut self,
                _bus_name: &str,
                fields: impl IntoIterator<Item = E>,
                _count: impl Into<Count<Self::Expr>>,
            ) {
                fields.into_iter().for_each(drop);
            }

            #[inline]
            fn push_local_interaction(
                &mut self,
                tuples: impl IntoIterator<Item = (Vec<Self::Expr>, Count<Self::Expr>)>,
            ) {
                tuples.into_iter().for_each(drop);
            }
        }
    };
}

delegate_air_builder!(ProverFolder, PackedVal, PackedChallenge);
delegate_air_builder!(VerifierFolder, Challenge, Challenge);

impl<'a> PermutationAirBuilder for ProverFolder<'a> {
    type MP = RowWindow<'a, PackedChallenge>;
    type RandomVar = PackedChallenge;
    type PermutationVar = PackedChallenge;

    #[inline]
    fn permutation(&self) -> Self::MP {
        RowWindow::from_view(&self.permutation)
    }
    #[inline]
    fn permutation_randomness(&self) -> &[PackedChallenge] {
        self.permutation_challenges
    }
    #[inline]
    fn permutation_values(&self) -> &[PackedChallenge] {
        self.cumulative_sum
    }
}

impl<'a> PermutationAirBuilder for VerifierFolder<'a> {
    type MP = RowWindow<'a, Challenge>;
    type RandomVar = Challenge;
    type PermutationVar = Challenge;

    fn permutation(&self) -> Self::MP {
        RowWindow::from_two_rows(self.permutation.top.values, self.permutation.bottom.values)
    }
    fn permutation_randomness(&self) -> &[Challenge] {
        self.permutation_challenges
    }
    fn permutation_values(&self) -> &[Challenge] {
        self.cumulative_sum
    }
}

/// One concrete interaction seen on one row by the debug checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowInteraction {
    pub bus: String,
    pub fields: Vec<Val>,
    pub count: Val,
}

/// Row-by-row evaluation on the trace itself: records which constraints fail and the
/// concrete interactions each row sends or receives. Used by [`crate::debug`].
pub struct DebugFolder<'a> {
    pub(crate) main: RowWindow<'a, Val>,
    pub(crate) preprocessed: RowWindow<'a, Val>,
    pub(crate) public_values: &'a [Val],
    pub(crate) selectors: crate::debug::RowSelectors,
    pub(crate) constraint_index: usize,
    pub(crate) failed: Vec<usize>,
    pub(crate) interactions: Vec<RowInteraction>,
}

impl<'a> AirBuilder for DebugFolder<'a> {
    type F = Val;
    type Expr = Val;
    type Var = Val;
    type PreprocessedWindow = RowWindow<'a, Val>;
    type MainWindow = RowWindow<'a, Val>;
    type PublicVar = Val;
    type PeriodicVar = Val;

    fn main(&self) -> Self::MainWindow {
        self.main
    }
    fn preprocessed(&self) -> &Self::PreprocessedWindow {
        &self.preprocessed
    }
    fn is_first_row(&self) -> Val {
        self.selectors.is_first_row
    }
    fn is_last_row(&self) -> Val {
        self.selectors.is_last_row
    }
    fn is_transition(&self) -> Val {
        self.selectors.is_transition
    }
    fn assert_zero<I: Into<Val>>(&mut self, x: I) {
        if x.into() != Val::ZERO {
            self.failed.push(self.constraint_index);
        }
        self.constraint_index += 1;
    }
    fn public_values(&self) -> &[Val] {
        self.public_values
    }
}

impl ExtensionBuilder for DebugFolder<'_> {
    type EF = Challenge;
    type ExprEF = Challenge;
    type VarEF = Challenge;

    fn assert_zero_ext<I: Into<Challenge>>(&mut self, x: I) {
        if x.into() != Challenge::ZERO {
            self.failed.push(self.constraint_index);
        }
        self.constraint_index += 1;
    }
}

impl InteractionBuilder for DebugFolder<'_> {
    fn push_interaction<E: Into<Val>>(
        &mut self,
        bus_name: &str,
        fields: impl IntoIterator<Item = E>,
        count: impl Into<Count<Val>>,
    ) {
        let (count, _) = count.into().into_parts();
        self.interactions.push(RowInteraction {
            bus: bus_name.to_string(),
            fields: fields.into_iter().map(Into::into).collect(),
            count,
        });
    }

    fn push_local_interaction(&mut self, tuples: impl IntoIterator<Item = (Vec<Val>, Count<Val>)>) {
        // A local lookup balances on its own: record it on a bus no other AIR can name.
        for (fields, count) in tuples {
            let (count, _) = count.into_parts();
            self.interactions.push(RowInteraction {
                bus: "<local>".to_string(),
                fields,
                count,
            });
        }
    }
}
