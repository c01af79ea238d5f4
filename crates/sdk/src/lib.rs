//! starkscope-sdk: prove a program end to end.
//!
//! ```no_run
//! use starkscope_sdk::{Sdk, SdkConfig};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let program = starkscope_vm::assemble_file("benchmarks/programs/fibonacci.sasm")?;
//! let sdk = Sdk::new(SdkConfig::default().with_segment_size(1 << 14))?;
//! let pk = sdk.keygen(&program)?;
//! let inputs = [starkscope_vm::F::new(100_000)];
//! let (proof, report) = sdk.prove(&pk, &inputs)?;
//! sdk.verify(&pk.verifying_key(), &proof)?;
//! println!("{} cycles in {} segments, {} proof bytes", report.cycles, report.segments.len(), report.proof_bytes);
//! # Ok(()) }
//! ```
//!
//! - [`Sdk`]: execute (fast, no proof), keygen, prove (segments in parallel on a rayon
//!   pool, a bounded number alive at once: [`Parallelism`]), verify.
//! - Labels: the app proof runs in `info_span!("app_proof", group = <program name>)` and
//!   every segment's execution and proof in `segment = i` under it, so the metrics below
//!   (with `bench-metrics`) are scoped without passing labels by hand.
//! - [`ProveReport`]: cycles, per-segment execute / trace_gen / stark_prove times, cells,
//!   proof sizes, peak RSS.
//! - [`files`]: proof, proving-key and verifying-key files with a version header.

pub mod aggregate;
pub mod config;
pub mod error;
pub mod exit;
pub mod files;
pub mod keys;
mod pipeline;
pub mod proof;
pub mod report;
pub mod tree;

pub use aggregate::{
    Aggregated, AggregationReport, LayerReport, NodeFile, NodeReport, RootProof, SegmentFile,
    TreeChild, TreeConfig,
};
pub use config::{
    check_segment_size, max_threads, segment_bytes_estimate, Parallelism, SdkConfig,
    DEFAULT_MEMORY_BUDGET, MIN_SEGMENT_SIZE, THREADS_PER_CORE,
};
pub use error::{error_chain, FileError, InvalidProof, SdkError};
pub use exit::Exit;
pub use files::FileKind;
pub use keys::{AppProvingKey, AppVerifyingKey, ProgramHash, TreeVerifyingKey};
pub use pipeline::Progress;
pub use proof::AppProof;
pub use report::{ProveReport, SegmentReport};
pub use starkscope_stark_backend::{FriPreset, MIN_SECURE_BITS};
pub use starkscope_vm::prove::ChainSummary;

use starkscope_metrics::{Group, Scope};
use starkscope_stark_backend::Val;
use starkscope_vm::prove::{verify_chain, vm_keygen};
use starkscope_vm::{ExecutionReport, Program};
use tracing::info_span;

/// One segment proven alone ([`Sdk::prove_segment`]).
pub struct SegmentUnit {
    pub file: SegmentFile,
    pub report: SegmentReport,
    /// The run's exit code when the segment is its last (it halted).
    pub exit_code: Option<u32>,
    /// Re-executing the run up to the segment (not part of the segment's report).
    pub replay: std::time::Duration,
}

/// Proves programs with one configuration and one thread pool.
pub struct Sdk {
    config: SdkConfig,
    plan: Parallelism,
    pool: rayon::ThreadPool,
}

impl Sdk {
    pub fn new(config: SdkConfig) -> Result<Self, SdkError> {
        config.validate()?;
        let plan = Parallelism::plan(&config);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(plan.pool_threads)
            .thread_name(|i| format!("starkscope-prove-{i}"))
            .build()
            .map_err(|e| SdkError::Pool(e.to_string()))?;
        Ok(Sdk { config, plan, pool })
    }

    pub fn config(&self) -> &SdkConfig {
        &self.config
    }

    /// How segments are spread over threads and memory.
    pub fn parallelism(&self) -> Parallelism {
        self.plan
    }

    /// Runs the program with the fast interpreter (no records, no proof): cycles,
    /// segments, outputs, opcode counts, regions. Scoped as the app's `group`.
    pub fn execute(&self, program: &Program, inputs: &[Val]) -> Result<ExecutionReport, SdkError> {
        let group = Group::app(program.name.clone());
        let _span = info_span!("app_execute", group = %group).entered();
        Ok(starkscope_vm::execute(
            program,
            inputs,
            &self.config.exec(),
        )?)
    }

    /// [`Sdk::execute`] without spans or metrics: for a unit of work that needs a run's
    /// outputs (the root claims them) while the run's execution is measured elsewhere (its
    /// segments' units), so that its numbers are not counted twice under its own labels.
    pub fn execute_silently(
        &self,
        program: &Program,
        inputs: &[Val],
    ) -> Result<ExecutionReport, SdkError> {
        pipeline::silently(|| {
            Ok(starkscope_vm::execute(
                program,
                inputs,
                &self.config.exec(),
            )?)
        })
    }

    /// The run of `program` on `inputs` as the prover cuts it into segments: each
    /// segment's cycles and the run's exit code. The recording executor's trace-height
    /// budget can end a segment before the segment size, so this, not [`Sdk::execute`], is
    /// what a scheduler lays a run's units of work out by (`starkscope plan`). Executes
    /// only; no span, no metric.
    pub fn segment_cycles(
        &self,
        program: &Program,
        inputs: &[Val],
    ) -> Result<(Vec<u64>, u32), SdkError> {
        pipeline::segment_cycles(program, inputs, self.config.exec())
    }

    /// Generates the program's proving key (group `keygen`).
    pub fn keygen(&self, program: &Program) -> Result<AppProvingKey, SdkError> {
        program
            .validate()
            .map_err(|e| SdkError::Exec(starkscope_vm::ExecError::from(e)))?;
        let span = info_span!("keygen", group = %Group::Keygen);
        let vm = self.on_pool(|| span.in_scope(|| vm_keygen(program, self.config.fri)))?;
        Ok(AppProvingKey {
            hash: ProgramHash::of(program),
            program: program.clone(),
            vm,
        })
    }

    /// [`Sdk::keygen`] for runs to be aggregated: the same key, proving segments with
    /// `HeightLayout::FixedTallest` (the tallest trace a constant of the segment size, as
    /// the leaf circuit needs; a run shorter than one segment pays for a whole one).
    pub fn keygen_for_aggregation(&self, program: &Program) -> Result<AppProvingKey, SdkError> {
        let mut pk = self.keygen(program)?;
        pk.vm = pk
            .vm
            .with_layout(starkscope_vm::prove::HeightLayout::FixedTallest);
        Ok(pk)
    }

    /// Executes and proves every segment; the proof is not verified here.
    pub fn prove(
        &self,
        pk: &AppProvingKey,
        inputs: &[Val],
    ) -> Result<(AppProof, ProveReport), SdkError> {
        self.prove_with_progress(pk, inputs, &|_| {})
    }

    /// [`Sdk::prove`], calling `progress` as segments are executed and proven (from other
    /// threads; keep it cheap).
    pub fn prove_with_progress(
        &self,
        pk: &AppProvingKey,
        inputs: &[Val],
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<(AppProof, ProveReport), SdkError> {
        if pk.preset() != self.config.fri {
            return Err(SdkError::Config(format!(
                "the proving key is for FRI preset `{}`, this SDK proves with `{}`",
                pk.preset().name(),
                self.config.fri.name()
            )));
        }
        pipeline::prove_app(
            &self.pool,
            self.plan,
            pk,
            inputs,
            self.config.exec(),
            progress,
        )
    }

    /// Proves segment `index` of the run of `pk`'s program on `inputs` alone, as a unit of
    /// work (`starkscope prove-segment`): re-executes the run up to it (silently: the
    /// earlier segments' metrics belong to the units that prove them), then executes and
    /// proves it in `app_proof{group}` / `segment{segment = index}` spans as [`Sdk::prove`]
    /// does. With a key from [`Sdk::keygen_for_aggregation`] the file is a leaf's child.
    /// A segment past the run's last is a [`SdkError::Config`] naming how many there are.
    pub fn prove_segment(
        &self,
        pk: &AppProvingKey,
        inputs: &[Val],
        index: usize,
    ) -> Result<SegmentUnit, SdkError> {
        if pk.preset() != self.config.fri {
            return Err(SdkError::Config(format!(
                "the proving key is for FRI preset `{}`, this SDK proves with `{}`",
                pk.preset().name(),
                self.config.fri.name()
            )));
        }
        let one = pipeline::prove_one(&self.pool, pk, inputs, self.config.exec(), index)?;
        let file = SegmentFile {
            program_name: pk.program.name.clone(),
            program_hash: pk.hash,
            preset: pk.preset(),
            segment_size: self.config.segment_size,
            proof: one.proof,
        };
        Ok(SegmentUnit {
            file,
            report: one.report,
            exit_code: one.exit_code,
            replay: one.replay,
        })
    }

    /// Runs `f` on the pool (so that the backend's inner parallelism uses it) in the
    /// caller's reporting context: its dispatcher and recorder, and inside the caller's
    /// current span, so that spans `f` opens on a pool thread (the prover's phases) and
    /// metrics it records carry the caller's labels (a node's `group` and `idx`).
    fn on_pool<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        let scope = Scope::capture();
        let span = tracing::Span::current();
        self.pool.install(|| scope.in_scope(|| span.in_scope(f)))
    }

    /// Checks that the proof is a complete execution of the key's program from its initial
    /// memory to `halt`, with the claimed outputs and exit code.
    ///
    /// The verifier, not the proof, picks the security: proofs are checked at this SDK's
    /// FRI preset ([`SdkConfig::fri`]), a proof made under another is invalid, a key for
    /// another is refused, and a preset under [`starkscope_stark_backend::MIN_SECURE_BITS`]
    /// conjectured bits is refused unless [`SdkConfig::allow_insecure`].
    pub fn verify(&self, vk: &AppVerifyingKey, proof: &AppProof) -> Result<ChainSummary, SdkError> {
        let preset = self.config.fri;
        if !preset.is_secure() && !self.config.allow_insecure {
            return Err(SdkError::InsecurePreset {
                preset: preset.name().to_string(),
                bits: preset.conjectured_security_bits(),
                min: starkscope_stark_backend::MIN_SECURE_BITS,
            });
        }
        if vk.preset() != preset {
            return Err(SdkError::KeyPreset {
                key: vk.preset().name().to_string(),
                verifier: preset.name().to_string(),
            });
        }
        if proof.preset != preset {
            return Err(InvalidProof::WrongPreset {
                proof: proof.preset.name().to_string(),
                required: preset.name().to_string(),
            }
            .into());
        }
        InvalidProof::same_program(
            (&proof.program_name, proof.program_hash),
            (&vk.program_name, vk.hash),
        )?;
        let span = info_span!("verify", group = %Group::app(proof.program_name.clone()));
        let summary = self.on_pool(|| {
            span.in_scope(|| verify_chain(&vk.vm, &proof.segments, Some(&proof.outputs)))
        });
        let summary = summary.map_err(InvalidProof::from)?;
        if summary.exit_code != proof.exit_code {
            return Err(InvalidProof::ExitCode {
                claimed: proof.exit_code,
                proven: summary.exit_code,
            }
            .into());
        }
        Ok(summary)
    }
}
