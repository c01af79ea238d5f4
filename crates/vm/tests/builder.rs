//! The Rust builder emits the same programs as the assembler.

mod common;

use common::*;
use starkscope_vm::{ExecConfig, ProgramBuilder};

#[test]
fn fibonacci_built_in_rust_equals_the_assembled_file() {
    let (n, a, b_, t) = (0, 1, 2, 3);
    let mut b = ProgramBuilder::new("fibonacci");
    let done = b.label();
    b.hint(n).li(a, 0).li(b_, 1);
    b.ct_start("fib");
    b.beqi(n, 0, done);
    let top = b.here();
    b.add(t, a, b_)
        .mov(a, b_)
        .mov(b_, t)
        .addi(n, n, -1)
        .bnei(n, 0, top);
    b.bind(done);
    b.ct_end();
    b.out(a).halt(0);
    let built = b.build().unwrap();

    let assembled = bench_program("fibonacci.sasm");
    assert_eq!(built.instructions, assembled.instructions);
    assert_eq!(built.markers, assembled.markers);
    assert_eq!(built.data, assembled.data);
    assert_eq!(built.name, assembled.name);

    let cfg = ExecConfig::default().with_segment_size(8);
    let x = run_both(&built, &[f(30)], &cfg);
    let y = run_both(&assembled, &[f(30)], &cfg);
    assert_eq!(x.report, y.report);
}

#[test]
fn data_and_nested_markers_match() {
    const STATE: u32 = 0x100;
    let mut b = ProgramBuilder::new("poseidon2_chain");
    b.data(STATE + 8, &[f(1)]);
    let squeeze = b.label();
    b.hint(0);
    b.ct_start("absorb");
    b.beqi(0, 0, squeeze);
    let next = b.here();
    b.hint(1).add(STATE, STATE, 1);
    b.ct_start("permute").poseidon2(STATE, STATE).ct_end();
    b.addi(0, 0, -1).bnei(0, 0, next);
    b.bind(squeeze);
    b.ct_end().ct_start("squeeze");
    for i in 0..8 {
        b.out(STATE + i);
    }
    b.ct_end().halt(0);
    let built = b.build().unwrap();
    let assembled = bench_program("poseidon2_chain.sasm");
    assert_eq!(built.instructions, assembled.instructions);
    assert_eq!(built.markers, assembled.markers);
    assert_eq!(built.data, assembled.data);
}
