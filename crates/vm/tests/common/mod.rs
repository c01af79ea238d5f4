//! Helpers shared by the integration tests: running both executors and checking every
//! invariant trace generation relies on.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use p3_field::PrimeCharacteristicRing;
use starkscope_vm::{
    execute, AccessKind, ExecConfig, ExecutionReport, Opcode, Program, RecordingExecutor, Segment,
    F, MEMORY_SIZE,
};

pub fn f(x: u32) -> F {
    F::from_u32(x)
}

pub fn fs(xs: &[u32]) -> Vec<F> {
    xs.iter().map(|&x| F::from_u32(x)).collect()
}

pub fn bench_program(name: &str) -> Program {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../benchmarks/programs")
        .join(name);
    starkscope_vm::assemble_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

pub fn asm(src: &str) -> Program {
    starkscope_vm::assemble(src, "test.sasm").unwrap_or_else(|e| panic!("{e}\n{}", e.snippet()))
}

/// What both executors produced.
pub struct Run {
    pub report: ExecutionReport,
    pub segments: Vec<Segment>,
    pub memory: Vec<F>,
}

/// Runs fast and recording execution, checks they agree and that the segments satisfy
/// every invariant; returns both.
pub fn run_both(program: &Program, inputs: &[F], config: &ExecConfig) -> Run {
    let report = execute(program, inputs, config).unwrap_or_else(|e| panic!("fast: {e}"));
    let mut exec =
        RecordingExecutor::new(program, inputs, config).unwrap_or_else(|e| panic!("{e}"));
    let mut segments = Vec::new();
    for s in exec.by_ref() {
        segments.push(s.unwrap_or_else(|e| panic!("record: {e}")));
    }
    let memory = exec.memory().to_vec();
    check_segments(program, inputs, config, &report, &segments, &memory);
    Run {
        report,
        segments,
        memory,
    }
}

/// Every invariant of the records; panics with a message naming the broken one.
pub fn check_segments(
    program: &Program,
    inputs: &[F],
    config: &ExecConfig,
    report: &ExecutionReport,
    segments: &[Segment],
    final_memory: &[F],
) {
    assert!(!segments.is_empty());
    assert_eq!(
        segments.len(),
        report.segments.len(),
        "fast and recording cut different segments"
    );
    let mut shadow = vec![F::ZERO; MEMORY_SIZE];
    for (&a, &v) in &program.data {
        shadow[a as usize] = v;
    }
    let mut outputs = Vec::new();
    let mut hints = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        assert_eq!(seg.index, i);
        assert_eq!(
            seg.stats, report.segments[i],
            "segment {i}: fast and recording counted differently"
        );
        if i == 0 {
            assert_eq!(
                (
                    seg.start.pc,
                    seg.start.cycle,
                    seg.start.hint_cursor,
                    seg.start.outputs
                ),
                (0, 0, 0, 0)
            );
        } else {
            assert_eq!(
                seg.start,
                segments[i - 1].end,
                "segment {i} does not start where {} ended",
                i - 1
            );
        }
        let cycles = seg.end.cycle - seg.start.cycle;
        assert_eq!(cycles, seg.instructions.len() as u64);
        assert_eq!(cycles, seg.stats.cycles);
        assert!(cycles <= config.segment_size && cycles > 0);
        if i + 1 < segments.len() {
            assert_eq!(
                cycles, config.segment_size,
                "only the last segment may be short"
            );
            assert_eq!(seg.exit_code, None);
        } else {
            assert_eq!(seg.exit_code, Some(report.exit_code));
        }
        assert_eq!(
            seg.hints,
            inputs[seg.start.hint_cursor..seg.end.hint_cursor].to_vec()
        );
        hints.extend_from_slice(&seg.hints);
        outputs.extend_from_slice(&seg.outputs);

        // Instruction records: pcs chain, the instruction is the program's, accesses are
        // the opcode's count and consecutive.
        let mut next_access = 0usize;
        let mut counts = starkscope_vm::OpcodeCounts::default();
        for (k, rec) in seg.instructions.iter().enumerate() {
            assert_eq!(rec.instruction, program.instructions[rec.pc as usize]);
            counts[rec.instruction.opcode] += 1;
            if k == 0 {
                assert_eq!(rec.pc, seg.start.pc);
            } else {
                assert_eq!(
                    rec.pc,
                    seg.instructions[k - 1].next_pc,
                    "pc chain broken at record {k}"
                );
            }
            assert_eq!(rec.first_access as usize, next_access);
            let acc = seg.accesses_of(rec);
            assert_eq!(
                acc.len(),
                rec.instruction.opcode.accesses(),
                "{} made the wrong number of accesses",
                rec.instruction.opcode
            );
            for (j, a) in acc.iter().enumerate() {
                assert_eq!(a.timestamp, rec.timestamp + j as u32);
            }
            next_access += acc.len();
        }
        assert_eq!(next_access, seg.accesses.len());
        assert_eq!(counts, seg.stats.opcode_counts);
        let last = seg.instructions.last().unwrap();
        if seg.exit_code.is_some() {
            assert_eq!(last.instruction.opcode, Opcode::Halt);
            assert_eq!((last.next_pc, seg.end.pc), (last.pc, last.pc));
        } else {
            assert_eq!(last.next_pc, seg.end.pc);
        }

        // Memory accesses chain per address from the segment's initial state.
        let initial: HashMap<u32, F> = seg.touched.iter().map(|c| (c.addr, c.initial)).collect();
        let mut state: HashMap<u32, (F, u32)> = HashMap::new();
        for (k, a) in seg.accesses.iter().enumerate() {
            assert_eq!(
                a.timestamp,
                k as u32 + 1,
                "timestamps must count accesses from 1"
            );
            let (prev_v, prev_t) = state.get(&a.addr).copied().unwrap_or((initial[&a.addr], 0));
            assert_eq!(
                (a.prev_value, a.prev_timestamp),
                (prev_v, prev_t),
                "access {k} to {} does not chain",
                a.addr
            );
            if a.kind == AccessKind::Read {
                assert_eq!(a.value, a.prev_value);
            }
            state.insert(a.addr, (a.value, a.timestamp));
        }
        assert_eq!(seg.end_timestamp(), seg.accesses.len() as u32 + 1);
        // Touched cells: sorted, exactly the accessed ones, initial values from the
        // previous segment's final memory, last values and timestamps from the accesses.
        assert!(seg.touched.windows(2).all(|w| w[0].addr < w[1].addr));
        assert_eq!(seg.touched.len(), state.len());
        for c in &seg.touched {
            assert_eq!(
                c.initial, shadow[c.addr as usize],
                "segment {i}: initial value of {} is stale",
                c.addr
            );
            assert_eq!((c.last, c.last_timestamp), state[&c.addr]);
        }
        for c in &seg.touched {
            shadow[c.addr as usize] = c.last;
        }
    }
    assert_eq!(
        shadow, final_memory,
        "replaying touched cells does not give the final memory"
    );
    assert_eq!(outputs, report.outputs);
    assert_eq!(hints, inputs[..hints.len()].to_vec());
    assert_eq!(segments.last().unwrap().end.cycle, report.cycles);
    assert_eq!(report.opcode_counts.total(), report.cycles);
}
