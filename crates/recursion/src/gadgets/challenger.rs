//! `DuplexChallenger<BabyBear, Poseidon2BabyBear<16>, 16, 8>` as circuit ops, exactly as
//! p3-challenger 0.8 behaves:
//! - `observe` appends to the input buffer and clears the output buffer; a full buffer
//!   (8) duplexes at once;
//! - duplexing overwrites lanes `0..n` with the `n` absorbed values; when `n > 0` it also
//!   zero-fills lanes `n..8` and adds `n` to lane 8; then permutes, and the output
//!   buffer becomes lanes `0..8`;
//! - `sample` duplexes if the input buffer is non-empty or the output buffer empty, then
//!   pops the *last* element of the output buffer; an extension sample is 4 such
//!   samples, coefficient 0 first.

use crate::builder::{CircuitBuilder, FELT_BITS};
use crate::ir::{Ext, Felt, Lane};
use starkscope_stark_backend::poseidon2::{RATE, WIDTH};

/// The challenger's state, known to the builder as cells.
#[derive(Clone, Debug)]
pub struct ChallengerVar {
    state: [Lane; WIDTH],
    input: Vec<Felt>,
    output: Vec<Felt>,
}

impl Default for ChallengerVar {
    fn default() -> Self {
        Self::new()
    }
}

impl ChallengerVar {
    /// A challenger in its initial (all-zero) state.
    pub fn new() -> Self {
        Self {
            state: [Lane::Zero; WIDTH],
            input: Vec::new(),
            output: Vec::new(),
        }
    }

    fn duplexing(&mut self, b: &mut CircuitBuilder) {
        let n = self.input.len();
        assert!(n <= RATE);
        let mut lanes = self.state;
        for (lane, v) in lanes.iter_mut().zip(self.input.drain(..)) {
            *lane = Lane::Val(v);
        }
        if n > 0 {
            lanes[n..RATE].fill(Lane::Zero);
        }
        let out = b.poseidon2_op(lanes, None, n as u8);
        self.state = out.map(Lane::Val);
        self.output = out[..RATE].to_vec();
    }

    pub fn observe(&mut self, b: &mut CircuitBuilder, v: Felt) {
        self.output.clear();
        self.input.push(v);
        if self.input.len() == RATE {
            self.duplexing(b);
        }
    }

    pub fn observe_slice(&mut self, b: &mut CircuitBuilder, values: &[Felt]) {
        for &v in values {
            self.observe(b, v);
        }
    }

    /// Observes an extension element as its four coordinates.
    pub fn observe_ext(&mut self, b: &mut CircuitBuilder, e: Ext) {
        let limbs = b.ext_to_limbs(e);
        self.observe_slice(b, &limbs);
    }

    pub fn sample(&mut self, b: &mut CircuitBuilder) -> Felt {
        if !self.input.is_empty() || self.output.is_empty() {
            self.duplexing(b);
        }
        self.output
            .pop()
            .expect("a duplexing fills the output buffer")
    }

    pub fn sample_ext(&mut self, b: &mut CircuitBuilder) -> Ext {
        let limbs: [Felt; 4] = core::array::from_fn(|_| self.sample(b));
        b.ext_from_limbs(limbs)
    }

    /// `sample_bits(bits)`: a sample's low `bits` bits (least significant first), from
    /// its canonical decomposition.
    pub fn sample_bits(&mut self, b: &mut CircuitBuilder, bits: usize) -> Vec<Felt> {
        assert!(bits < FELT_BITS);
        let v = self.sample(b);
        b.bits(v)[..bits].to_vec()
    }

    /// `check_witness(bits, witness)`: with `bits > 0`, observes the witness and requires
    /// the low `bits` bits of the next sample to be zero. With 0 bits, nothing, as
    /// `GrindingChallenger` does; note that p3-fri's verifier additionally requires a
    /// zero-bit site's witness to be 0 (canonical proofs), which a FRI verifier built on
    /// this must assert itself.
    pub fn check_witness(&mut self, b: &mut CircuitBuilder, bits: usize, witness: Felt) {
        if bits == 0 {
            return;
        }
        self.observe(b, witness);
        for bit in self.sample_bits(b, bits) {
            b.assert_zero(bit);
        }
    }
}
