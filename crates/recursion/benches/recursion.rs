//! Recursion circuits at the scale of a proof verifier, against Plonky3's own Poseidon2 AIR.
//!
//! - `circuit_perms`: 2^14 Poseidon2 permutations in one chain (see [`perms`] for the mix of
//!   chained and bus-read lanes): `build` (record and compile, keygen included),
//!   `witness` (run) and `prove`, under FRI preset `recursion`.
//! - `circuit_perms_ext`: the same chain plus 2^16 extension-field mul-adds.
//! - `yardstick_p3_poseidon2_air/2^14`: `p3_poseidon2_air::Poseidon2Air` proving 2^14
//!   permutations with `p3_uni_stark::prove`, with the same PCS, FRI parameters and
//!   challenger (`StarkConfig::new(FriPreset::Recursion).to_p3()`).
//!
//! Before criterion runs, the bench prints each circuit's tables (rows, widths, degrees),
//! its proof size, medians of a few in-process runs of each step, the ratio
//! `circuit_perms prove / yardstick prove` (interleaved runs), and whether FRI preset
//! `fast` (constraint degree at most 3) accepts the tables:
//!
//!     CARGO_TARGET_DIR=target-bench cargo bench -p starkscope-recursion --bench recursion
//!
//! (`.cargo/config.toml` builds with `-C target-cpu=native`; without it every timing
//! misleads.)

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{median, ms, timed, yardstick_air, yardstick_prove, YardstickAir};

use criterion::{BatchSize, BenchmarkGroup, Criterion, SamplingMode};
use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};
use starkscope_recursion::{
    Circuit, CircuitBuilder, CompileError, CompiledCircuit, Group, Quad, TableId, Witness,
};
use starkscope_stark_backend::codec::proof_encoded_len;
use starkscope_stark_backend::p3::{BaseAir, RowMajorMatrix};
use starkscope_stark_backend::poseidon2::WIDTH;
use starkscope_stark_backend::{Challenge, FriPreset, Proof, StarkConfig, Val};

const LOG_PERMS: usize = 14;
const PERMS: usize = 1 << LOG_PERMS;
const MUL_ADDS: usize = 1 << 16;
/// One permutation in this many absorbs its rate lanes over the bus; the others chain all
/// sixteen lanes.
const ABSORB_EVERY: usize = 4;
const PRESET: FriPreset = FriPreset::Recursion;
/// In-process runs per step for the printed medians (and the ratio).
const RUNS: usize = 7;

/// Plonky3's own trace generation for 2^14 permutations of fixed-seed random inputs, with
/// room for the low-degree extension (as its examples call it).
fn yardstick_trace(air: &YardstickAir) -> RowMajorMatrix<Val> {
    air.generate_random_trace_rows(PERMS, PRESET.log_blowup())
}

/// A recorded circuit and the values it runs with.
struct Workload {
    name: &'static str,
    circuit: Circuit,
    public: Vec<Val>,
    hints: Vec<Challenge>,
}

/// [`PERMS`] permutations in one chain; returns the last one's output (four cells of four
/// lanes).
///
/// The mix: the first permutation reads its four lane groups over the bus (four hint
/// cells; the circuit has no public input, so no ALU lane packs one). After it,
/// three permutations in four ([`ABSORB_EVERY`]) take all 16 lanes chained from the
/// previous row's output (no bus traffic), and every fourth absorbs like a sponge: its
/// rate (groups 0-1) is read over the bus from the output of the permutation two rows
/// before it, its capacity (groups 2-3) stays chained. So a quarter of the rows receive 2
/// cells and a quarter send 2 cells that are read once; every other output goes out with
/// multiplicity 0.
fn perms(b: &mut CircuitBuilder) -> [Quad; 4] {
    let start: [Quad; 4] = core::array::from_fn(|_| b.hint_quad());
    let (mut before, mut last) = (start, start);
    for i in 0..PERMS {
        let mut groups = last;
        if i % ABSORB_EVERY == ABSORB_EVERY - 1 {
            groups[..2].copy_from_slice(&before[..2]);
        }
        let out = b.poseidon2(groups.map(Group::Cell));
        (before, last) = (last, out);
    }
    last
}

fn seed_public() -> Vec<Val> {
    Vec::new()
}

fn seed_hints() -> Vec<Challenge> {
    (0..WIDTH as u32 / 4)
        .map(|i| Challenge::from_basis_coefficients_fn(|j| Val::from_u32(2000 + 4 * i + j as u32)))
        .collect()
}

/// Circuit A: the permutation chain alone.
fn perms_workload() -> Workload {
    let mut b = CircuitBuilder::new();
    perms(&mut b);
    Workload {
        name: "circuit_perms",
        circuit: b.build(),
        public: seed_public(),
        hints: seed_hints(),
    }
}

/// Circuit B: the chain, then [`MUL_ADDS`] dependent mul-adds in the extension, a Horner
/// evaluation at a hinted `alpha` whose coefficients are the chain's digest (its last
/// output's two rate cells read as extension elements, each read over the bus 2^15
/// times): `acc <- acc * alpha + digest[k % 2]`. Exactly 2^16 ALU lanes, so the ALU table
/// is 2^14 full rows.
fn perms_ext_workload() -> Workload {
    let mut b = CircuitBuilder::new();
    let digest = perms(&mut b);
    let alpha = b.hint_ext();
    let mut acc = digest[0].ext();
    for k in 0..MUL_ADDS {
        acc = b.mul_add(acc, alpha, digest[k % 2].ext());
    }
    let mut hints = seed_hints();
    hints.push(Challenge::from_basis_coefficients_fn(|i| {
        Val::from_u32(3000 + i as u32)
    }));
    Workload {
        name: "circuit_perms_ext",
        circuit: b.build(),
        public: seed_public(),
        hints,
    }
}

fn compile(circuit: Circuit, preset: FriPreset) -> Result<CompiledCircuit, CompileError> {
    CompiledCircuit::new(circuit, StarkConfig::new(preset))
}

/// A workload compiled under [`PRESET`], with one witness to prove.
struct Prepared {
    record: fn() -> Workload,
    workload: Workload,
    compiled: CompiledCircuit,
    witness: Witness,
}

impl Prepared {
    fn new(record: fn() -> Workload) -> Self {
        let workload = record();
        let compiled = compile(workload.circuit.clone(), PRESET)
            .unwrap_or_else(|e| panic!("{}: {e}", workload.name));
        let witness = compiled
            .run(&workload.public, &workload.hints)
            .unwrap_or_else(|e| panic!("{}: {e}", workload.name));
        Self {
            record,
            workload,
            compiled,
            witness,
        }
    }

    /// Records the circuit again and compiles it (keygen included).
    fn build(&self) -> CompiledCircuit {
        compile((self.record)().circuit, PRESET).expect("compiles")
    }

    fn run(&self) -> Witness {
        self.compiled
            .run(&self.workload.public, &self.workload.hints)
            .expect("runs")
    }

    fn prove(&self, witness: Witness) -> Proof {
        self.compiled.prove(witness).expect("proves")
    }
}

/// Medians of the in-process runs, which also size criterion's measurement windows.
struct Medians {
    build: Duration,
    witness: Duration,
    prove: Duration,
}

impl Medians {
    /// Without the report (criterion's test mode, which runs each step once).
    const GUESS: Medians = Medians {
        build: Duration::from_secs(1),
        witness: Duration::from_secs(1),
        prove: Duration::from_secs(1),
    };
}

fn print_tables(p: &Prepared) {
    let c = &p.compiled;
    eprintln!(
        "\n== {} ({} cells, ops {:?}) ==",
        p.workload.name,
        p.workload.circuit.num_cells,
        p.workload.circuit.op_counts()
    );
    eprintln!(
        "| table | rows | main cols | preprocessed cols | LogUp cols (base) | interactions | constraint degree | quotient chunks |"
    );
    eprintln!("|---|---|---|---|---|---|---|---|");
    for t in TableId::ALL {
        let info = c.pk.air_info(t as usize);
        eprintln!(
            "| {t:?} | {} | {} | {} | {} | {} | {} | {} |",
            c.program.heights[t as usize],
            info.main_width,
            info.preprocessed_width(),
            info.permutation_width_base(),
            info.num_interactions,
            info.constraint_degree,
            info.num_quotient_chunks(),
        );
    }
}

/// LogUp columns (in base columns) of each table, in key order.
fn logup_widths(c: &CompiledCircuit) -> Vec<usize> {
    TableId::ALL
        .map(|t| c.pk.air_info(t as usize).permutation_width_base())
        .to_vec()
}

/// Whether keygen under FRI preset `fast` (degree 3) accepts the circuit's tables. The
/// backend packs each table's bus interactions into LogUp columns up to the preset's
/// degree, so under `fast` the tables take more LogUp columns.
fn fast_verdict(p: &Prepared) -> String {
    match compile(p.workload.circuit.clone(), FriPreset::Fast) {
        Ok(c) => {
            let max = (0..c.pk.vk.num_airs())
                .map(|i| c.pk.air_info(i).constraint_degree)
                .max()
                .unwrap_or(0);
            format!(
                "accepted (highest constraint degree {max}; LogUp base columns per table {:?}, under `{PRESET}` {:?})",
                logup_widths(&c),
                logup_widths(&p.compiled)
            )
        }
        Err(e) => format!("refused: {e}"),
    }
}

/// Build and witness medians, one proof (its size, a verification), the fast verdict.
fn report_circuit(p: &Prepared) -> (Duration, Duration) {
    print_tables(p);
    let build = median((0..RUNS).map(|_| timed(|| p.build()).0).collect());
    let witness = median((0..RUNS).map(|_| timed(|| p.run()).0).collect());
    let proof = p.prove(p.witness.clone());
    let (verify, result) = timed(|| p.compiled.verify(&proof, &p.workload.public));
    result.unwrap_or_else(|e| panic!("{}: proof does not verify: {e}", p.workload.name));
    let size = proof_encoded_len(&proof).expect("proof encodes");
    eprintln!(
        "build median {:.1} ms, witness median {:.1} ms; proof {size} bytes ({:.1} KiB), verified in {:.1} ms",
        ms(build),
        ms(witness),
        size as f64 / 1024.0,
        ms(verify)
    );
    eprintln!(
        "preset fast (degree <= {}): {}",
        FriPreset::Fast.max_constraint_degree(),
        fast_verdict(p)
    );
    (build, witness)
}

/// Prints everything the issue asks for from in-process runs, and returns the medians
/// (perms, perms+ext, yardstick prove).
fn report(perms: &Prepared, ext: &Prepared) -> (Medians, Medians, Duration) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!(
        "recursion bench: 2^{LOG_PERMS} Poseidon2 permutations (+ 2^16 extension mul-adds), FRI preset `{PRESET}` (log_blowup {}, {} queries), {threads} threads; medians of {RUNS} runs",
        PRESET.log_blowup(),
        PRESET.num_queries()
    );

    let config = StarkConfig::new(PRESET).to_p3();
    let air = yardstick_air();
    let proof = yardstick_prove(&config, &air, yardstick_trace(&air));
    p3_uni_stark::verify(&config, &air, &proof, &[]).expect("yardstick verifies");
    let yardstick_size = postcard::to_allocvec(&proof).map_or(0, |b| b.len());
    eprintln!(
        "\n== yardstick_p3_poseidon2_air: {PERMS} rows x {} columns, proof {yardstick_size} bytes ({:.1} KiB) ==",
        BaseAir::<Val>::width(&air),
        yardstick_size as f64 / 1024.0
    );

    let (perms_build, perms_witness) = report_circuit(perms);
    let (ext_build, ext_witness) = report_circuit(ext);

    // Interleaved, so that neither prover always runs on a warmer (or quieter) machine.
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..RUNS {
        for turn in 0..2 {
            if (round + turn) % 2 == 0 {
                let w = perms.witness.clone();
                ours.push(timed(|| perms.prove(w)).0);
            } else {
                let trace = yardstick_trace(&air);
                theirs.push(timed(|| yardstick_prove(&config, &air, trace)).0);
            }
        }
    }
    let ext_prove = median(
        (0..RUNS)
            .map(|_| {
                let w = ext.witness.clone();
                timed(|| ext.prove(w)).0
            })
            .collect(),
    );
    let (ours, theirs) = (median(ours), median(theirs));
    eprintln!("\n== prove medians ==");
    eprintln!(
        "yardstick_p3_poseidon2_air/2^{LOG_PERMS}: {:.1} ms",
        ms(theirs)
    );
    eprintln!("circuit_perms/prove/2^{LOG_PERMS}: {:.1} ms", ms(ours));
    eprintln!("circuit_perms_ext/prove: {:.1} ms", ms(ext_prove));
    eprintln!(
        "circuit_perms prove / yardstick prove = {:.3} (target <= 1.3)\n",
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
    (
        Medians {
            build: perms_build,
            witness: perms_witness,
            prove: ours,
        },
        Medians {
            build: ext_build,
            witness: ext_witness,
            prove: ext_prove,
        },
        theirs,
    )
}

/// Ten flat samples of one iteration each (or more for quick steps), in a window sized
/// from the step's median so criterion neither warns nor runs for long.
fn configure(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, median: Duration) {
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time((median * 15).max(Duration::from_secs(2)));
}

fn bench_circuit(c: &mut Criterion, p: &Prepared, m: &Medians, size: &str) {
    let id = |step: &str| {
        if size.is_empty() {
            step.to_string()
        } else {
            format!("{step}/{size}")
        }
    };
    let mut g = c.benchmark_group(p.workload.name);
    configure(&mut g, m.build);
    g.bench_function(id("build"), |b| b.iter(|| black_box(p.build())));
    configure(&mut g, m.witness);
    g.bench_function(id("witness"), |b| b.iter(|| black_box(p.run())));
    configure(&mut g, m.prove);
    g.bench_function(id("prove"), |b| {
        b.iter_batched(
            || p.witness.clone(),
            |w| p.prove(w),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn main() {
    let perms = Prepared::new(perms_workload);
    let ext = Prepared::new(perms_ext_workload);
    // `cargo test --benches` runs this binary without `--bench`, `cargo bench -- --test`
    // with `--test`: criterion then runs each step once, and the report is skipped.
    let args: Vec<String> = std::env::args().collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let benching = flag("--bench") && !flag("--test") && !flag("--list");
    let (pm, em, yardstick) = if benching {
        report(&perms, &ext)
    } else {
        (Medians::GUESS, Medians::GUESS, Duration::from_secs(1))
    };

    let mut c = Criterion::default().configure_from_args();
    let config = StarkConfig::new(PRESET).to_p3();
    let air = yardstick_air();
    let mut g = c.benchmark_group("yardstick_p3_poseidon2_air");
    configure(&mut g, yardstick);
    g.bench_function(format!("2^{LOG_PERMS}"), |b| {
        b.iter_batched(
            || yardstick_trace(&air),
            |trace| yardstick_prove(&config, &air, trace),
            BatchSize::PerIteration,
        )
    });
    g.finish();
    bench_circuit(&mut c, &perms, &pm, &format!("2^{LOG_PERMS}"));
    bench_circuit(&mut c, &ext, &em, "");
    c.final_summary();
}
