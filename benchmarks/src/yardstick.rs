//! The yardstick: a fixed proof made by Plonky3 alone, timed next to every benchmark sample.
//!
//! A benchmark's time divided by the yardstick's, measured side by side in the same job,
//! cancels what the machine does to both: a slower runner, a busy neighbour, a throttled
//! CPU. For that the yardstick must do the same kind of work as our prover (BabyBear DFTs,
//! Poseidon2 Merkle commitments, quotient evaluation, FRI) and must not change when
//! starkscope's code does: it proves its own AIR with `p3-uni-stark` (pinned, see
//! Cargo.toml) under its own fixed FRI parameters, and takes nothing from our prover but
//! the type names of the field, hash and PCS. Bumping Plonky3 or the toolchain changes it;
//! its [`id`](Yardstick::id) then names another version and the gate stops comparing times
//! normalised by it (see docs/prof.md).

use std::time::Instant;

use anyhow::Context;
use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_baby_bear::default_babybear_poseidon2_16;
use p3_field::PrimeCharacteristicRing;
use p3_fri::FriParameters;
use p3_matrix::dense::RowMajorMatrix;
use starkscope_stark_backend::config::{
    ChallengeMmcs, Challenger, Dft, LeafHash, NodeCompress, P3Config, Pcs, ValMmcs,
};
use starkscope_stark_backend::Val;

/// Trace height (log2) and width: 6.3M cells, under a second on two cores. Half the height
/// was noisier on a loaded 2-core machine (spread 2-15% against 2-9% in three rounds of 7):
/// a burst of a neighbour's work is a larger share of a shorter proof.
const LOG_HEIGHT: usize = 17;
const WIDTH: usize = 48;
/// FRI as the `fast` preset does it, minus proof-of-work grinding, whose time is random.
const LOG_BLOWUP: usize = 1;
const NUM_QUERIES: usize = 100;

/// Each column is a cubic recurrence mixed with its neighbour: degree-3 constraints, like
/// the VM's chips, and values that never settle into zeros.
#[derive(Clone, Copy, Debug)]
struct CubicMixAir;

impl BaseAir<Val> for CubicMixAir {
    fn width(&self) -> usize {
        WIDTH
    }
}

impl<AB: AirBuilder<F = Val>> Air<AB> for CubicMixAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let (local, next) = (main.current_slice(), main.next_slice());
        let mut when = builder.when_transition();
        for i in 0..WIDTH {
            let x: AB::Expr = local[i].into();
            let neighbour: AB::Expr = local[(i + 1) % WIDTH].into();
            when.assert_eq(next[i], x.clone() * x.clone() * x + neighbour);
        }
    }
}

fn trace() -> RowMajorMatrix<Val> {
    let height = 1 << LOG_HEIGHT;
    let mut values = Vec::with_capacity(height * WIDTH);
    let mut row: Vec<Val> = (0..WIDTH as u32).map(|i| Val::from_u32(i + 1)).collect();
    for _ in 0..height {
        values.extend_from_slice(&row);
        row = (0..WIDTH)
            .map(|i| row[i].cube() + row[(i + 1) % WIDTH])
            .collect();
    }
    RowMajorMatrix::new(values, WIDTH)
}

fn config() -> P3Config {
    let perm = default_babybear_poseidon2_16();
    let val_mmcs = ValMmcs::new(
        LeafHash::new(perm.clone()),
        NodeCompress::new(perm.clone()),
        0,
    );
    let fri = FriParameters {
        log_blowup: LOG_BLOWUP,
        log_final_poly_len: 0,
        max_log_arity: 1,
        num_queries: NUM_QUERIES,
        batch_proof_of_work_bits: 0,
        commit_proof_of_work_bits: 0,
        query_proof_of_work_bits: 0,
        mmcs: ChallengeMmcs::new(val_mmcs.clone()),
    };
    P3Config::new(
        Pcs::new(Dft::default(), val_mmcs, fri),
        Challenger::new(perm),
    )
}

/// The yardstick, ready to be timed: its trace is built once, untimed.
pub struct Yardstick {
    config: P3Config,
    trace: RowMajorMatrix<Val>,
    /// The benchmark's thread count, when capped (`--threads N`); else the global pool.
    pool: Option<rayon::ThreadPool>,
}

impl Yardstick {
    /// What is measured, for [`starkscope_snapshot::repeats::Yardstick::id`]: two runs
    /// compare normalised times only when their ids are equal.
    pub fn id() -> String {
        format!(
            "p3-uni-stark {}: cubic-mix AIR 2^{LOG_HEIGHT} x {WIDTH}, blowup 2^{LOG_BLOWUP}, {NUM_QUERIES} queries, no grinding",
            P3_VERSION
        )
    }

    /// Builds the trace and proves it once untimed (a proof that does not verify would make
    /// every time it gives meaningless), on `threads` threads (0: one per core), as the
    /// benchmark proves.
    pub fn new(threads: usize) -> anyhow::Result<Self> {
        let pool = match threads {
            0 => None,
            n => Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .context("cannot start the yardstick's threads")?,
            ),
        };
        let yardstick = Yardstick {
            config: config(),
            trace: trace(),
            pool,
        };
        let proof = yardstick.in_pool(|| {
            p3_uni_stark::prove(
                &yardstick.config,
                &CubicMixAir,
                yardstick.trace.clone(),
                &[],
            )
        });
        let proof = proof.map_err(|e| anyhow::anyhow!("the yardstick proof failed: {e:?}"))?;
        p3_uni_stark::verify(&yardstick.config, &CubicMixAir, &proof, &[])
            .map_err(|e| anyhow::anyhow!("{e:?}"))
            .context("the yardstick proof does not verify")?;
        Ok(yardstick)
    }

    /// One timed proof, in milliseconds (the trace copy is made before the clock starts).
    pub fn measure_ms(&self) -> anyhow::Result<f64> {
        let trace = self.trace.clone();
        let (proof, ms) = self.in_pool(|| {
            let started = Instant::now();
            let proof = p3_uni_stark::prove(&self.config, &CubicMixAir, trace, &[]);
            (proof, started.elapsed().as_secs_f64() * 1e3)
        });
        proof.map_err(|e| anyhow::anyhow!("the yardstick proof failed: {e:?}"))?;
        Ok(ms)
    }

    fn in_pool<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(work),
            None => work(),
        }
    }
}

/// The Plonky3 version the workspace pins (every p3 crate at one version; a test checks
/// this against Cargo.toml).
const P3_VERSION: &str = "0.8.0";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_names_the_pinned_plonky3() {
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
        let text = std::fs::read_to_string(manifest).unwrap();
        let pinned = format!("p3-uni-stark = \"={P3_VERSION}\"");
        assert!(
            text.lines().any(|l| l.trim() == pinned),
            "Cargo.toml no longer pins `{pinned}`: update P3_VERSION"
        );
        assert!(Yardstick::id().starts_with(&format!("p3-uni-stark {P3_VERSION}:")));
    }
}
