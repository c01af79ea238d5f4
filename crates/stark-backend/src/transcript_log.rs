//! A challenger that records the transcript, for differential tests of an in-circuit
//! verifier against the native one.
//!
//! [`RecordingChallenger`] wraps the backend's [`Challenger`] (the duplex sponge), forwards
//! every operation to it and records one [`TranscriptEvent`] per base-field element
//! absorbed or squeezed, in order. Run the native verifier on it with
//! [`crate::verifier::verify_with_challenger`]; the events are then the whole Fiat-Shamir
//! transcript of that verification (steps 1-14 of docs/stark-backend.md).
//!
//! Granularity (always single BabyBear elements):
//! - `observe(v)` / `observe_slice(vs)`: one `Observe` per element;
//! - a commitment (Merkle cap, one root at cap height 0): its 8 digest elements;
//! - an extension element observed or sampled (`observe_algebra_element`,
//!   `sample_algebra_element`): its 4 coordinates in basis order;
//! - `sample_bits(k)`: one `Sample(v)` of the full element `v` the sponge produced; the
//!   returned bits are `v.as_canonical_u64() & (2^k - 1)` (its low `k` bits, plain
//!   masking, as `DuplexChallenger::sample_bits` does);
//! - `check_witness(b, w)` (proof of work) with `b > 0`: `Observe(w)` then `Sample(v)`
//!   (the witness passes iff the low `b` bits of `v` are zero); with `b == 0` nothing
//!   (no sponge operation, as in p3-challenger).
//!
//! Only the primitive operations record (`observe` of one element, `observe_slice`,
//! `observe` of a commitment, `sample` of one element, `sample_bits`, `check_witness`,
//! `grind`); every other trait method is a p3-challenger default built from them, the same
//! defaults `DuplexChallenger` itself uses, so each element is recorded exactly once and the
//! inner challenger sees the same operations as it would on its own.

use p3_challenger::{CanObserve, CanSample, CanSampleBits, FieldChallenger, GrindingChallenger};
use p3_field::PrimeField64;
use p3_symmetric::MerkleCap;

use crate::config::{Challenger, Val};

/// [`crate::config::Commitment`] spelled out (an associated-type alias cannot be used in
/// a trait impl next to `CanObserve<Val>`). A test checks the two are the same type.
pub type CommitmentCap = MerkleCap<Val, [Val; 8]>;

/// One base-field element entering (`Observe`) or leaving (`Sample`) the sponge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TranscriptEvent {
    Observe(Val),
    Sample(Val),
}

impl TranscriptEvent {
    pub fn value(self) -> Val {
        match self {
            TranscriptEvent::Observe(v) | TranscriptEvent::Sample(v) => v,
        }
    }

    pub fn is_sample(self) -> bool {
        matches!(self, TranscriptEvent::Sample(_))
    }
}

/// The backend's challenger, recording every element it absorbs or squeezes.
#[derive(Clone)]
pub struct RecordingChallenger {
    inner: Challenger,
    events: Vec<TranscriptEvent>,
}

impl RecordingChallenger {
    /// Wraps `inner` (normally `config.challenger()`, fresh) with an empty record.
    pub fn new(inner: Challenger) -> Self {
        Self {
            inner,
            events: Vec::new(),
        }
    }

    /// The events so far, in order.
    pub fn events(&self) -> &[TranscriptEvent] {
        &self.events
    }

    /// The wrapped challenger, in the state the recorded operations left it.
    pub fn inner(&self) -> &Challenger {
        &self.inner
    }

    pub fn into_parts(self) -> (Challenger, Vec<TranscriptEvent>) {
        (self.inner, self.events)
    }
}

/// Replays `events` on `ch`: observes each `Observe`, samples one element for each
/// `Sample` and compares. Returns the index of the first sample whose value differs.
pub fn replay<C: FieldChallenger<Val>>(
    ch: &mut C,
    events: &[TranscriptEvent],
) -> Result<(), usize> {
    for (i, e) in events.iter().enumerate() {
        match *e {
            TranscriptEvent::Observe(v) => ch.observe(v),
            TranscriptEvent::Sample(v) => {
                let got: Val = ch.sample();
                if got != v {
                    return Err(i);
                }
            }
        }
    }
    Ok(())
}

impl CanObserve<Val> for RecordingChallenger {
    fn observe(&mut self, value: Val) {
        self.events.push(TranscriptEvent::Observe(value));
        self.inner.observe(value);
    }

    fn observe_slice(&mut self, values: &[Val]) {
        self.events
            .extend(values.iter().map(|&v| TranscriptEvent::Observe(v)));
        self.inner.observe_slice(values);
    }
}

impl CanObserve<CommitmentCap> for RecordingChallenger {
    fn observe(&mut self, value: CommitmentCap) {
        for digest in value.roots() {
            self.events
                .extend(digest.iter().map(|&v| TranscriptEvent::Observe(v)));
        }
        self.inner.observe(value);
    }
}

impl CanSample<Val> for RecordingChallenger {
    fn sample(&mut self) -> Val {
        let v: Val = self.inner.sample();
        self.events.push(TranscriptEvent::Sample(v));
        v
    }
}

impl CanSampleBits<usize> for RecordingChallenger {
    /// `DuplexChallenger::sample_bits`, spelled out so the full element is recorded: one
    /// `sample()`, its canonical value masked to the low `bits` bits.
    fn sample_bits(&mut self, bits: usize) -> usize {
        assert!(bits < (usize::BITS as usize));
        assert!((1 << bits) < Val::ORDER_U64);
        let v: Val = self.sample();
        v.as_canonical_u64() as usize & ((1 << bits) - 1)
    }
}

impl FieldChallenger<Val> for RecordingChallenger {}

impl GrindingChallenger for RecordingChallenger {
    type Witness = Val;

    /// Searches on a copy of the inner challenger, then runs [`Self::check_witness`] on
    /// this one, so the record holds `Observe(witness), Sample(v)` as a verifier sees them.
    fn grind(&mut self, bits: usize) -> Val {
        if bits == 0 {
            return self.inner.grind(0);
        }
        let witness = self.inner.clone().grind(bits);
        assert!(self.check_witness(bits, witness));
        witness
    }

    /// p3-challenger's default (which `DuplexChallenger` uses), written out: nothing at 0
    /// bits, else observe the witness and require `sample_bits(bits) == 0`.
    fn check_witness(&mut self, bits: usize, witness: Val) -> bool {
        if bits == 0 {
            return true;
        }
        self.observe(witness);
        self.sample_bits(bits) == 0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn commitment_cap_is_the_commitment_type() {
        fn same(c: crate::config::Commitment) -> super::CommitmentCap {
            c
        }
        let _ = same;
    }
}
