//! The one configuration starkscope proves with: BabyBear, its degree-4 binomial
//! extension, Poseidon2-16 Merkle commitments, a duplex challenger, and FRI parameters
//! chosen by preset name.

use core::fmt;
use core::str::FromStr;

use p3_baby_bear::{default_babybear_poseidon2_16, BabyBear, Poseidon2BabyBear};
use p3_challenger::DuplexChallenger;
use p3_commit::ExtensionMmcs;
use p3_dft::Radix2DitParallel;
use p3_field::extension::BinomialExtensionField;
use p3_field::Field;
use p3_fri::{FriParameters, TwoAdicFriPcs};
use p3_merkle_tree::MerkleTreeMmcs;
use p3_symmetric::{PaddingFreeSponge, TruncatedPermutation};
use serde::{Deserialize, Serialize};

/// The base field.
pub type Val = BabyBear;
/// The challenge field: degree-4 binomial extension of BabyBear (~124 bits).
pub type Challenge = BinomialExtensionField<Val, 4>;
/// Packed base-field elements (AVX2/AVX-512 lanes when the target CPU has them).
pub type PackedVal = <Val as Field>::Packing;
/// Packed challenge-field elements.
pub type PackedChallenge = <Challenge as p3_field::ExtensionField<Val>>::ExtensionPacking;

/// Poseidon2 over 16 BabyBear elements, with Plonky3's default round constants.
pub type Perm = Poseidon2BabyBear<16>;
/// Leaf hash: sponge absorbing 8 elements per permutation, 8-element digest.
pub type LeafHash = PaddingFreeSponge<Perm, 16, 8, 8>;
/// Node compression: two 8-element digests into one.
pub type NodeCompress = TruncatedPermutation<Perm, 2, 8, 16>;
/// Binary Merkle tree over packed BabyBear rows with 8-element digests.
pub type ValMmcs = MerkleTreeMmcs<PackedVal, PackedVal, LeafHash, NodeCompress, 2, 8>;
/// The same tree, committing extension-field rows (FRI's folded codewords).
pub type ChallengeMmcs = ExtensionMmcs<Val, Challenge, ValMmcs>;
/// Fiat-Shamir: duplex sponge over the same Poseidon2, rate 8.
pub type Challenger = DuplexChallenger<Val, Perm, 16, 8>;
/// DFT used for low-degree extensions.
pub type Dft = Radix2DitParallel<Val>;
/// The polynomial commitment scheme: FRI over two-adic cosets.
pub type Pcs = TwoAdicFriPcs<Val, Dft, ValMmcs, ChallengeMmcs>;
/// A commitment (Merkle root) of this PCS.
pub type Commitment = <Pcs as p3_commit::Pcs<Challenge, Challenger>>::Commitment;
/// A PCS opening proof (FRI proof plus input openings).
pub type PcsProof = <Pcs as p3_commit::Pcs<Challenge, Challenger>>::Proof;
/// The PCS's evaluation domain.
pub type Domain = <Pcs as p3_commit::Pcs<Challenge, Challenger>>::Domain;
/// A PCS verification failure.
pub type PcsError = <Pcs as p3_commit::Pcs<Challenge, Challenger>>::Error;
/// The Plonky3 config type with our choices plugged in (what p3-batch-stark takes too).
pub type P3Config = p3_uni_stark::StarkConfig<Pcs, Challenge, Challenger>;

/// Bits of collision resistance of the Merkle commitments: an 8-element BabyBear digest
/// is ~248 bits, so birthday collisions cost ~124 bits.
pub const MERKLE_COLLISION_BITS: usize = 124;
/// log2 of the challenge field's size (4 x 31 bits, rounded down).
pub const CHALLENGE_FIELD_BITS: usize = 123;

/// FRI parameters by name. Both prover and verifier must use the same preset; the
/// preset's id is bound into the transcript and written into every proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FriPreset {
    /// log_blowup 1, 100 queries, 16 bits of query grinding. Fastest prover;
    /// constraints up to degree 3.
    Fast,
    /// log_blowup 2, 50 queries, 16 bits of query grinding. Shorter proofs with fewer
    /// queries, which is what an in-circuit verifier pays for; constraints up to degree 5.
    Recursion,
    /// log_blowup 1, 4 queries, 1 bit of grinding. For tests only: NOT secure.
    Testing,
    /// For the proofs of aggregation layers, whose shapes are fixed and whose cost is an
    /// in-circuit verifier's: log_blowup 2, 50 queries, 16 bits of query grinding (as
    /// `recursion`), folding arity 8, a final polynomial of length 8 and Merkle cap
    /// height 4 (commitments are caps of 16 roots); constraints up to degree 5.
    Aggregation,
}

impl FriPreset {
    pub const ALL: [FriPreset; 4] = [
        FriPreset::Fast,
        FriPreset::Recursion,
        FriPreset::Testing,
        FriPreset::Aggregation,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            FriPreset::Fast => "fast",
            FriPreset::Recursion => "recursion",
            FriPreset::Testing => "testing",
            FriPreset::Aggregation => "aggregation",
        }
    }

    /// A stable number for the transcript and the proof header.
    pub const fn id(self) -> u8 {
        match self {
            FriPreset::Fast => 1,
            FriPreset::Recursion => 2,
            FriPreset::Testing => 3,
            FriPreset::Aggregation => 4,
        }
    }

    pub fn from_id(id: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.id() == id)
    }

    pub const fn log_blowup(self) -> usize {
        match self {
            FriPreset::Fast | FriPreset::Testing => 1,
            FriPreset::Recursion | FriPreset::Aggregation => 2,
        }
    }

    pub const fn num_queries(self) -> usize {
        match self {
            FriPreset::Fast => 100,
            FriPreset::Recursion | FriPreset::Aggregation => 50,
            FriPreset::Testing => 4,
        }
    }

    pub const fn query_pow_bits(self) -> usize {
        match self {
            FriPreset::Fast | FriPreset::Recursion | FriPreset::Aggregation => 16,
            FriPreset::Testing => 1,
        }
    }

    /// log2 of the FRI folding arity (the largest; a round may fold less to land on the
    /// next input height or the final height, see p3-fri's `fold_schedule`).
    pub const fn max_log_arity(self) -> usize {
        match self {
            FriPreset::Aggregation => 3,
            _ => 1,
        }
    }

    /// log2 of the FRI final polynomial's length.
    pub const fn log_final_poly_len(self) -> usize {
        match self {
            FriPreset::Aggregation => 3,
            _ => 0,
        }
    }

    /// The Merkle cap height of every commitment (input and FRI trees): a commitment is
    /// `2^min(cap_height, log2(tree height))` roots.
    pub const fn cap_height(self) -> usize {
        match self {
            FriPreset::Aggregation => 4,
            _ => 0,
        }
    }

    /// Highest constraint degree the preset can prove: the quotient domain must fit in
    /// the committed low-degree extension, so `degree - 1 <= 2^log_blowup`.
    pub const fn max_constraint_degree(self) -> usize {
        (1 << self.log_blowup()) + 1
    }

    /// Conjectured security in bits under the ethSTARK toy-problem conjecture:
    /// `num_queries * log_blowup + query_pow_bits`, capped by the challenge field size
    /// and by Merkle collision resistance.
    pub const fn conjectured_security_bits(self) -> usize {
        let fri = self.num_queries() * self.log_blowup() + self.query_pow_bits();
        let cap = if CHALLENGE_FIELD_BITS < MERKLE_COLLISION_BITS {
            CHALLENGE_FIELD_BITS
        } else {
            MERKLE_COLLISION_BITS
        };
        if fri < cap {
            fri
        } else {
            cap
        }
    }

    /// Whether the preset reaches [`MIN_SECURE_BITS`] conjectured bits. Verifiers refuse
    /// proofs under a preset that does not, unless told to accept insecure proofs.
    pub const fn is_secure(self) -> bool {
        self.conjectured_security_bits() >= MIN_SECURE_BITS
    }

    /// Conjectured security per Plonky3's random-words model (FRI terms only, no AIR),
    /// an upper bound for any instance proven with this preset.
    pub fn p3_conjectured_ldt_bits(self) -> usize {
        p3_uni_stark::ConjecturedSecurity::compute_ldt_only(
            self.log_blowup(),
            self.num_queries(),
            self.query_pow_bits(),
            MERKLE_COLLISION_BITS,
            CHALLENGE_FIELD_BITS,
        )
        .security_bits
    }

    fn fri_parameters(self, mmcs: ChallengeMmcs) -> FriParameters<ChallengeMmcs> {
        FriParameters {
            log_blowup: self.log_blowup(),
            log_final_poly_len: self.log_final_poly_len(),
            max_log_arity: self.max_log_arity(),
            num_queries: self.num_queries(),
            batch_proof_of_work_bits: 0,
            commit_proof_of_work_bits: 0,
            query_proof_of_work_bits: self.query_pow_bits(),
            mmcs,
        }
    }
}

impl fmt::Display for FriPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown preset name.
#[derive(Debug, thiserror::Error)]
#[error("unknown FRI preset {0:?} (expected one of: fast, recursion, testing, aggregation)")]
pub struct UnknownPreset(pub String);

impl FromStr for FriPreset {
    type Err = UnknownPreset;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownPreset(s.to_string()))
    }
}

/// Conjectured bits (ethSTARK, [`FriPreset::conjectured_security_bits`]) under which a
/// preset is insecure.
pub const MIN_SECURE_BITS: usize = 100;

/// Everything the prover and verifier share: the PCS and a fresh challenger.
#[derive(Clone)]
pub struct StarkConfig {
    preset: FriPreset,
    perm: Perm,
    pcs: Pcs,
    /// `(air_id, constraint)` pairs that prover and verifier both skip (ablation).
    #[cfg(feature = "ablation")]
    ablation: Vec<(usize, usize)>,
}

impl StarkConfig {
    pub fn new(preset: FriPreset) -> Self {
        let perm = default_babybear_poseidon2_16();
        let val_mmcs = ValMmcs::new(
            LeafHash::new(perm.clone()),
            NodeCompress::new(perm.clone()),
            preset.cap_height(),
        );
        let challenge_mmcs = ChallengeMmcs::new(val_mmcs.clone());
        let pcs = Pcs::new(
            Dft::default(),
            val_mmcs,
            preset.fri_parameters(challenge_mmcs),
        );
        Self {
            preset,
            perm,
            pcs,
            #[cfg(feature = "ablation")]
            ablation: Vec::new(),
        }
    }

    /// The same configuration with constraints removed, in prover and verifier alike:
    /// each `(air_id, constraint)` (an index in the AIR's own `eval` order) is replaced by
    /// zero, so indices and folding powers stay aligned. For measuring which soundness
    /// tests depend on which constraints; only in builds with the non-default `ablation`
    /// feature, which no shipped binary enables.
    #[cfg(feature = "ablation")]
    pub fn without_constraints(
        mut self,
        dropped: impl IntoIterator<Item = (usize, usize)>,
    ) -> Self {
        self.ablation.extend(dropped);
        self
    }

    /// The constraints of `air_id` this configuration skips.
    #[cfg(feature = "ablation")]
    pub(crate) fn dropped_constraints(&self, air_id: usize) -> Vec<usize> {
        self.ablation
            .iter()
            .filter(|(air, _)| *air == air_id)
            .map(|&(_, k)| k)
            .collect()
    }

    pub fn preset(&self) -> FriPreset {
        self.preset
    }

    pub fn pcs(&self) -> &Pcs {
        &self.pcs
    }

    /// The trace domain (two-adic subgroup) of a given height.
    pub fn domain(&self, height: usize) -> Domain {
        <Pcs as p3_commit::Pcs<Challenge, Challenger>>::natural_domain_for_degree(&self.pcs, height)
    }

    /// A challenger in its initial state.
    pub fn challenger(&self) -> Challenger {
        Challenger::new(self.perm.clone())
    }

    /// The same parameters as a Plonky3 `StarkConfig` (for the p3-batch-stark yardstick).
    pub fn to_p3(&self) -> P3Config {
        P3Config::new(self.pcs.clone(), self.challenger())
    }
}

impl fmt::Debug for StarkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StarkConfig")
            .field("preset", &self.preset)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_round_trip_by_name_and_id() {
        for p in FriPreset::ALL {
            assert_eq!(p.name().parse::<FriPreset>().unwrap(), p);
            assert_eq!(FriPreset::from_id(p.id()), Some(p));
        }
        assert!("nope".parse::<FriPreset>().is_err());
    }

    #[test]
    fn stated_security_bits() {
        assert_eq!(FriPreset::Fast.conjectured_security_bits(), 116);
        assert_eq!(FriPreset::Recursion.conjectured_security_bits(), 116);
        assert!(FriPreset::Testing.conjectured_security_bits() < 10);
        assert_eq!(FriPreset::Fast.max_constraint_degree(), 3);
        assert_eq!(FriPreset::Recursion.max_constraint_degree(), 5);
        assert_eq!(FriPreset::Aggregation.conjectured_security_bits(), 116);
        assert_eq!(FriPreset::Aggregation.max_constraint_degree(), 5);
        assert!(FriPreset::Aggregation.is_secure());
    }
}

#[cfg(test)]
mod print_security {
    #[test]
    fn print_p3_ldt_bits() {
        for p in super::FriPreset::ALL {
            eprintln!(
                "{p}: ethSTARK {} p3-ldt {}",
                p.conjectured_security_bits(),
                p.p3_conjectured_ldt_bits()
            );
        }
    }
}
