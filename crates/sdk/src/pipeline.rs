//! Proving an execution's segments in parallel with a bounded number alive at once.
//!
//! A producer thread runs the recording executor and the (sequential, cheap) continuation
//! step, and hands each prepared segment over a `sync_channel(queue)`. The calling thread
//! takes a token (one per concurrent prover) before it receives a segment and spawns its
//! proof on the rayon pool; the proof gives the token back when it ends, even by panic. So
//! at most `provers + queue + 1` segments hold records and traces at any time, whatever
//! rayon's work stealing does inside the proofs (a worker blocked in a nested join may run
//! other pool jobs, which is why the bound is not left to the pool size). Nothing here
//! blocks on a pool thread: the receiving loop runs on the caller's thread
//! (`in_place_scope`), so the pool cannot deadlock waiting for the producer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Mutex;
use std::time::Instant;

use rayon::ThreadPool;
use starkscope_metrics::{Group, Scope};
use starkscope_stark_backend::{Proof, Val};
use starkscope_vm::prove::{Continuation, PreparedSegment, SegmentProveError};
use starkscope_vm::{ExecConfig, RecordingExecutor};
use tracing::{info_span, Span};

use crate::config::Parallelism;
use crate::error::SdkError;
use crate::files::segment_proof_len;
use crate::keys::AppProvingKey;
use crate::proof::AppProof;
use crate::report::{peak_rss_bytes, ProveReport, SegmentReport};

/// What the prover reports while it runs (from the producer and the pool's threads).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Segment `index` was executed (`halted`: it is the last one).
    Executed {
        index: usize,
        cycles: u64,
        halted: bool,
    },
    /// Segment `index` was proven.
    Proven { index: usize },
}

struct Item {
    prepared: PreparedSegment,
    cycles: u64,
}

struct Produced {
    segments: usize,
    cycles: u64,
    exit_code: Option<u32>,
    outputs: Vec<Val>,
}

struct Outcome {
    report: SegmentReport,
    proof: Proof,
}

/// Returns a prover slot when a proof ends, however it ends.
struct Token(SyncSender<()>);

impl Drop for Token {
    fn drop(&mut self) {
        // The receiver lives until every proof has ended; a send cannot block (the
        // channel holds as many tokens as exist).
        let _ = self.0.try_send(());
    }
}

pub(crate) fn prove_app(
    pool: &ThreadPool,
    plan: Parallelism,
    pk: &AppProvingKey,
    inputs: &[Val],
    exec: ExecConfig,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(AppProof, ProveReport), SdkError> {
    let started = Instant::now();
    let program = &pk.program;
    let group = Group::app(program.name.clone());
    let app_span = info_span!("app_proof", group = %group);
    // Carries a thread-local harness (tests) into the producer and the pool.
    let scope = Scope::capture();
    let stop = AtomicBool::new(false);
    let outcomes: Mutex<Vec<Result<Outcome, SdkError>>> = Mutex::new(Vec::new());

    let (item_tx, item_rx) = sync_channel::<Item>(plan.queue);
    let (token_tx, token_rx) = sync_channel::<()>(plan.provers);
    for _ in 0..plan.provers {
        let _ = token_tx.try_send(());
    }

    let produced = std::thread::scope(|threads| {
        let producer = threads.spawn(|| {
            scope.in_scope(|| {
                let _app = app_span.enter();
                produce(program, inputs, exec, item_tx, &stop, progress)
            })
        });
        pool.in_place_scope(|proofs| {
            let item_rx = item_rx;
            // A token first, then a segment: a received segment is always being proven.
            while token_rx.recv().is_ok() && !stop.load(Ordering::Relaxed) {
                let Ok(item) = item_rx.recv() else { break };
                let token = Token(token_tx.clone());
                let (scope, app_span, stop, outcomes) = (&scope, &app_span, &stop, &outcomes);
                proofs.spawn(move |_| {
                    let _token = token;
                    let index = item.prepared.index();
                    let outcome = scope.in_scope(|| prove_prepared(pk, app_span, item));
                    if outcome.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    } else {
                        progress(Progress::Proven { index });
                    }
                    lock(outcomes).push(outcome);
                });
            }
            // Dropping the receiver here unblocks a producer waiting to send.
        });
        producer.join()
    });
    drop(app_span);

    let produced = match produced {
        Ok(p) => p?,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    let mut outcomes = outcomes.into_inner().unwrap_or_else(|e| e.into_inner());
    // The first failure in segment order is the one to report.
    let mut ok = Vec::with_capacity(outcomes.len());
    outcomes.sort_by_key(|o| match o {
        Ok(o) => (o.report.index, 1),
        Err(SdkError::Prove(
            SegmentProveError::Prove { index, .. }
            | SegmentProveError::TooManyAccesses { index, .. },
        )) => (*index, 0),
        Err(_) => (0, 0),
    });
    for o in outcomes {
        ok.push(o?);
    }
    if ok.len() != produced.segments {
        return Err(SdkError::Pool(format!(
            "{} segments executed but {} proven",
            produced.segments,
            ok.len()
        )));
    }
    let exit_code = produced.exit_code.ok_or_else(|| {
        SdkError::Pool("the executor stopped before the program halted".to_string())
    })?;
    let (reports, proofs): (Vec<_>, Vec<_>) = ok.into_iter().map(|o| (o.report, o.proof)).unzip();
    let report = ProveReport {
        program: group.to_string(),
        cycles: produced.cycles,
        exit_code,
        proof_bytes: reports.iter().map(|r| r.proof_bytes).sum(),
        segments: reports,
        wall: started.elapsed(),
        peak_rss_bytes: peak_rss_bytes(),
        parallelism: plan,
    };
    let proof = AppProof {
        program_name: program.name.clone(),
        program_hash: pk.hash,
        preset: pk.preset(),
        exit_code,
        outputs: produced.outputs,
        segments: proofs,
    };
    Ok((proof, report))
}

/// Executes segment by segment, timing each (`execute`), and sends them prepared.
fn produce(
    program: &starkscope_vm::Program,
    inputs: &[Val],
    exec: ExecConfig,
    tx: SyncSender<Item>,
    stop: &AtomicBool,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Produced, SdkError> {
    let mut executor = RecordingExecutor::new(program, inputs, &exec)?;
    let mut continuation = Continuation::start(program);
    let mut segments = 0;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let Some(next) = executor.next() else { break };
        let execute = started.elapsed();
        let segment = next.inspect_err(|_| stop.store(true, Ordering::Relaxed))?;
        let cycles = segment.end.cycle - segment.start.cycle;
        progress(Progress::Executed {
            index: segment.index,
            cycles,
            halted: segment.exit_code.is_some(),
        });
        // The continuation builds the Merkle rows: trace generation of this segment.
        let index = segment.index;
        let prepared = info_span!("segment", segment = index)
            .in_scope(|| continuation.advance(segment, execute));
        segments += 1;
        if tx.send(Item { prepared, cycles }).is_err() {
            break; // the receiving side stopped after a failure
        }
    }
    Ok(Produced {
        segments,
        cycles: executor.cycles(),
        exit_code: executor.exit_code(),
        outputs: executor.outputs().to_vec(),
    })
}

/// Proves one segment in its own `segment` span under the app span (entered here, on the
/// pool thread, so that every metric below carries `group` and `segment`).
fn prove_prepared(pk: &AppProvingKey, app_span: &Span, item: Item) -> Result<Outcome, SdkError> {
    let index = item.prepared.index();
    let span = info_span!(parent: app_span, "segment", segment = index);
    let _entered = span.enter();
    let proof = item.prepared.prove(&pk.vm)?;
    let proof_bytes = segment_proof_len(&proof.proof)? as u64;
    Ok(Outcome {
        report: SegmentReport {
            index,
            cycles: item.cycles,
            execute: proof.execute,
            trace_gen: proof.trace_gen,
            stark_prove: proof.stark_prove,
            main_cells_used: proof.main_cells_used,
            total_cells_used: proof.total_cells_used,
            proof_bytes,
        },
        proof: proof.proof,
    })
}

/// One segment of a run, proven on its own (a unit of work).
pub(crate) struct OneSegment {
    pub proof: Proof,
    pub report: SegmentReport,
    /// The run's exit code when this segment is the last (it halted).
    pub exit_code: Option<u32>,
    /// Re-executing the segments before it (and carrying the continuation through them).
    pub replay: std::time::Duration,
}

/// Proves segment `index` of the run alone. The run is re-executed with the recording
/// executor up to it: segment boundaries follow that executor's trace-height budget, which
/// the fast executor does not model, and the continuation (memory tree, output digest) is
/// carried through the earlier segments. That replay runs silenced (no spans, no metrics):
/// the earlier segments' numbers belong to the units that prove them. Segment `index` is
/// executed and proven as `prove_app` proves each segment, in `app_proof{group}` /
/// `segment{segment}` spans.
pub(crate) fn prove_one(
    pool: &ThreadPool,
    pk: &AppProvingKey,
    inputs: &[Val],
    exec: ExecConfig,
    index: usize,
) -> Result<OneSegment, SdkError> {
    let program = &pk.program;
    let mut executor = RecordingExecutor::new(program, inputs, &exec)?;
    let mut continuation = Continuation::start(program);
    let missing = |n: usize| {
        SdkError::Config(format!(
            "segment {index} does not exist: the run has {n} segment{} at segment size {}",
            if n == 1 { "" } else { "s" },
            exec.segment_size
        ))
    };
    let replay_started = Instant::now();
    silently(|| -> Result<(), SdkError> {
        for i in 0..index {
            let segment = executor.next().ok_or_else(|| missing(i))??;
            drop(continuation.advance(segment, std::time::Duration::ZERO));
        }
        Ok(())
    })?;
    let replay = replay_started.elapsed();
    let group = Group::app(program.name.clone());
    let app_span = info_span!("app_proof", group = %group);
    let scope = Scope::capture();
    let item = app_span.in_scope(|| -> Result<Item, SdkError> {
        let started = Instant::now();
        let segment = executor.next().ok_or_else(|| missing(index))??;
        let execute = started.elapsed();
        let cycles = segment.end.cycle - segment.start.cycle;
        let prepared = info_span!("segment", segment = index)
            .in_scope(|| continuation.advance(segment, execute));
        Ok(Item { prepared, cycles })
    })?;
    let exit_code = item.prepared.segment().exit_code;
    let outcome = pool.install(|| scope.in_scope(|| prove_prepared(pk, &app_span, item)))?;
    Ok(OneSegment {
        proof: outcome.proof,
        report: outcome.report,
        exit_code,
        replay,
    })
}

/// The run as the prover cuts it: each segment's cycles (the recording executor's cut,
/// as [`prove_one`] replays it) and the exit code of its `halt`. Executes only, silenced.
pub(crate) fn segment_cycles(
    program: &starkscope_vm::Program,
    inputs: &[Val],
    exec: ExecConfig,
) -> Result<(Vec<u64>, u32), SdkError> {
    silently(|| {
        let mut cycles = Vec::new();
        for segment in RecordingExecutor::new(program, inputs, &exec)? {
            let segment = segment?;
            cycles.push(segment.end.cycle - segment.start.cycle);
            if let Some(code) = segment.exit_code {
                return Ok((cycles, code));
            }
        }
        Err(SdkError::Config(
            "the run's last segment did not halt (the executor stopped early)".into(),
        ))
    })
}

/// Runs `f` with no tracing subscriber and (with `bench-metrics`) no metrics recorder.
pub(crate) fn silently<R>(f: impl FnOnce() -> R) -> R {
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
        #[cfg(feature = "bench-metrics")]
        {
            starkscope_metrics::metrics::with_local_recorder(
                &starkscope_metrics::metrics::NoopRecorder,
                f,
            )
        }
        #[cfg(not(feature = "bench-metrics"))]
        {
            f()
        }
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
