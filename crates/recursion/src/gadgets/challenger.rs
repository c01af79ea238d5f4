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
//!
//! Values are tracked as where they live (a base cell, or a value inside a four-value
//! cell), so that whole cells are absorbed as one bus read and a cell is unpacked only
//! when a single value of it is needed.

use std::collections::HashMap;

use crate::builder::{CircuitBuilder, FELT_BITS};
use crate::ir::{Ext, Felt, Group, Quad};
use p3_field::BasedVectorSpace;
use starkscope_stark_backend::config::Challenger;
use starkscope_stark_backend::poseidon2::RATE;
use starkscope_stark_backend::{Challenge, Val};

/// Where one value of the transcript lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    Felt(Felt),
    /// Value `j` of a four-value cell.
    In(Quad, usize),
}

/// The challenger's state, known to the builder as cells.
#[derive(Clone, Debug)]
pub struct ChallengerVar {
    state: [Group; 4],
    input: Vec<Lane>,
    output: Vec<Lane>,
    unpacked: HashMap<Quad, [Felt; 4]>,
    /// Every observe and sample, one base value each, in order (build-time only).
    events: Vec<TranscriptCell>,
}

/// One transcript event, as the cell lane that holds its value: what the backend's
/// `RecordingChallenger` records natively, for differential tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TranscriptCell {
    Observe(Lane),
    Sample(Lane),
}

impl Lane {
    /// This lane's value in a run's cell values (`Witness::values`).
    pub fn value(self, cells: &[Challenge]) -> Val {
        let (addr, j) = match self {
            Lane::Felt(f) => (f.addr(), 0),
            Lane::In(q, j) => (q.addr(), j),
        };
        cells[addr as usize].as_basis_coefficients_slice()[j]
    }
}

impl TranscriptCell {
    /// The native event this cell records, with its value from a run.
    pub fn event(
        self,
        cells: &[Challenge],
    ) -> starkscope_stark_backend::transcript_log::TranscriptEvent {
        use starkscope_stark_backend::transcript_log::TranscriptEvent;
        match self {
            TranscriptCell::Observe(l) => TranscriptEvent::Observe(l.value(cells)),
            TranscriptCell::Sample(l) => TranscriptEvent::Sample(l.value(cells)),
        }
    }
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
            state: [Group::Zero; 4],
            input: Vec::new(),
            output: Vec::new(),
            unpacked: HashMap::new(),
            events: Vec::new(),
        }
    }

    fn felt(&mut self, b: &mut CircuitBuilder, s: Lane) -> Felt {
        match s {
            Lane::Felt(f) => f,
            Lane::In(q, j) => self.unpacked.entry(q).or_insert_with(|| b.unpack(q))[j],
        }
    }

    fn duplexing(&mut self, b: &mut CircuitBuilder) {
        let input = std::mem::take(&mut self.input);
        let n = input.len();
        assert!(n <= RATE);
        let mut groups = self.state;
        if n > 0 {
            for (g, group) in groups.iter_mut().enumerate().take(2) {
                let items = &input[(4 * g).min(n)..(4 * g + 4).min(n)];
                *group = if items.is_empty() {
                    Group::Zero
                } else if let Some(q) = whole_cell(items) {
                    Group::Cell(q)
                } else {
                    let zero = b.zero();
                    let vals: Vec<Felt> = items.iter().map(|&s| self.felt(b, s)).collect();
                    let cell = core::array::from_fn(|j| vals.get(j).copied().unwrap_or(zero));
                    Group::Cell(b.pack(cell))
                };
            }
        }
        let out = b.poseidon2_op(groups, None, n as u8);
        self.state = out.map(Group::Cell);
        self.output = (0..RATE).map(|i| Lane::In(out[i / 4], i % 4)).collect();
    }

    pub fn observe(&mut self, b: &mut CircuitBuilder, v: Felt) {
        self.push(b, Lane::Felt(v));
    }

    fn push(&mut self, b: &mut CircuitBuilder, s: Lane) {
        self.output.clear();
        self.events.push(TranscriptCell::Observe(s));
        self.input.push(s);
        if self.input.len() == RATE {
            self.duplexing(b);
        }
    }

    pub fn observe_slice(&mut self, b: &mut CircuitBuilder, values: &[Felt]) {
        for &v in values {
            self.observe(b, v);
        }
    }

    /// Observes four base values held in one cell, in order (a digest half, a commitment).
    pub fn observe_quad(&mut self, b: &mut CircuitBuilder, q: Quad) {
        for j in 0..4 {
            self.push(b, Lane::In(q, j));
        }
    }

    /// Observes an extension element as its four coordinates (Plonky3's
    /// `observe_algebra_element`).
    pub fn observe_ext(&mut self, b: &mut CircuitBuilder, e: Ext) {
        self.observe_quad(b, e.quad());
    }

    pub fn sample(&mut self, b: &mut CircuitBuilder) -> Felt {
        if !self.input.is_empty() || self.output.is_empty() {
            self.duplexing(b);
        }
        let s = self
            .output
            .pop()
            .expect("a duplexing fills the output buffer");
        self.events.push(TranscriptCell::Sample(s));
        self.felt(b, s)
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

impl ChallengerVar {
    /// A challenger that continues exactly as `native` does: its sponge state, input
    /// buffer and output buffer as constant cells (the state four lanes to a cell, the
    /// buffered values one constant each).
    pub fn from_native(b: &mut CircuitBuilder, native: &Challenger) -> Self {
        let state = core::array::from_fn(|g| {
            let lanes = &native.sponge_state[4 * g..4 * g + 4];
            let v = <Challenge as BasedVectorSpace<Val>>::from_basis_coefficients_slice(lanes)
                .expect("four lanes");
            Group::Cell(b.constant_ext(v).quad())
        });
        let input = native
            .input_buffer
            .iter()
            .map(|&v| Lane::Felt(b.constant(v)))
            .collect();
        let output = native
            .output_buffer
            .iter()
            .map(|&v| Lane::Felt(b.constant(v)))
            .collect();
        Self {
            state,
            input,
            output,
            unpacked: HashMap::new(),
            events: Vec::new(),
        }
    }

    /// Observes constants (a transcript seed): four at a time as one constant cell where
    /// they fill one of the input buffer's two groups, else one constant each.
    pub fn observe_constants(&mut self, b: &mut CircuitBuilder, values: &[Val]) {
        let mut rest = values;
        while !rest.is_empty() {
            if self.input.len().is_multiple_of(4) && rest.len() >= 4 {
                let v =
                    <Challenge as BasedVectorSpace<Val>>::from_basis_coefficients_slice(&rest[..4])
                        .expect("four values");
                let q = b.constant_ext(v).quad();
                self.observe_quad(b, q);
                rest = &rest[4..];
            } else {
                let c = b.constant(rest[0]);
                self.observe(b, c);
                rest = &rest[1..];
            }
        }
    }

    /// Every observe and sample so far, one base value each, in order.
    pub fn events(&self) -> &[TranscriptCell] {
        &self.events
    }

    /// The sponge state's four cells (lanes `4g..4g+4` in group `g`).
    pub fn state(&self) -> [Group; 4] {
        self.state
    }

    /// The input and output buffers as base cells (unpacking cells where needed), in
    /// buffer order; for comparing with a native challenger.
    pub fn buffers(&mut self, b: &mut CircuitBuilder) -> (Vec<Felt>, Vec<Felt>) {
        let input = self.input.clone();
        let output = self.output.clone();
        let i = input.into_iter().map(|s| self.felt(b, s)).collect();
        let o = output.into_iter().map(|s| self.felt(b, s)).collect();
        (i, o)
    }
}

/// The cell whose four values these are, in order, if they are one whole cell.
fn whole_cell(items: &[Lane]) -> Option<Quad> {
    match items {
        [Lane::In(q, 0), Lane::In(q1, 1), Lane::In(q2, 2), Lane::In(q3, 3)]
            if q == q1 && q == q2 && q == q3 =>
        {
            Some(*q)
        }
        _ => None,
    }
}
