//! The benchmark programs, checked against Rust computations of the same thing, in both
//! executors and with small segments (so that every program crosses segment boundaries).

mod common;

use common::*;
use p3_baby_bear::default_babybear_poseidon2_16;
use p3_field::{Field, PrimeCharacteristicRing};
use p3_symmetric::Permutation;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use starkscope_vm::field::{ext_from_cells, ext_to_cells};
use starkscope_vm::{ExecConfig, RegionCycles, EF, F};

fn cfg(segment: u64) -> ExecConfig {
    ExecConfig::default().with_segment_size(segment)
}

fn region(regions: &[RegionCycles], path: &str) -> u64 {
    regions
        .iter()
        .find(|r| r.path == path)
        .map(|r| r.cycles)
        .unwrap_or_else(|| panic!("no region {path}: {regions:?}"))
}

fn rand_f(rng: &mut StdRng) -> F {
    F::from_u32(rng.random_range(0..F::ORDER_U32))
}

use p3_field::PrimeField32;

#[test]
fn fibonacci() {
    let p = bench_program("fibonacci.sasm");
    for n in [0u32, 1, 2, 10, 100, 1000] {
        let (mut a, mut b) = (F::ZERO, F::ONE);
        for _ in 0..n {
            (a, b) = (b, a + b);
        }
        let run = run_both(&p, &[f(n)], &cfg(64));
        assert_eq!(run.report.outputs, vec![a], "fib({n})");
        assert_eq!(run.report.exit_code, 0);
        // 3 setup + beqi + 5 per iteration + out + halt; the region spans beqi and the loop.
        assert_eq!(run.report.cycles, 6 + 5 * n as u64, "cycles of fib({n})");
        assert_eq!(
            run.report.regions,
            vec![RegionCycles {
                path: "fib".into(),
                cycles: 1 + 5 * n as u64
            }]
        );
    }
}

#[test]
fn poseidon2_chain() {
    let p = bench_program("poseidon2_chain.sasm");
    let perm = default_babybear_poseidon2_16();
    let mut rng = StdRng::seed_from_u64(1);
    for n in [0usize, 1, 5, 40] {
        let values: Vec<F> = (0..n).map(|_| rand_f(&mut rng)).collect();
        let mut state = [F::ZERO; 16];
        state[8] = F::ONE;
        for &v in &values {
            state[0] += v;
            perm.permute_mut(&mut state);
        }
        let mut inputs = vec![F::from_usize(n)];
        inputs.extend(&values);
        let run = run_both(&p, &inputs, &cfg(32));
        assert_eq!(run.report.outputs, state[..8].to_vec(), "chain of {n}");
        if n > 0 {
            assert_eq!(region(&run.report.regions, "absorb;permute"), n as u64);
        }
        assert_eq!(region(&run.report.regions, "squeeze"), 8);
    }
}

fn compress(l: &[F], r: &[F]) -> Vec<F> {
    let mut s = [F::ZERO; 16];
    s[..8].copy_from_slice(l);
    s[8..].copy_from_slice(r);
    default_babybear_poseidon2_16().permute_mut(&mut s);
    s[..8].to_vec()
}

#[test]
fn merkle_path() {
    let p = bench_program("merkle_path.sasm");
    let mut rng = StdRng::seed_from_u64(2);
    for depth in [0usize, 1, 6] {
        let leaf: Vec<F> = (0..8).map(|_| rand_f(&mut rng)).collect();
        let mut node = leaf.clone();
        let mut path = Vec::new();
        for _ in 0..depth {
            let bit = rng.random_range(0..2u32);
            let sibling: Vec<F> = (0..8).map(|_| rand_f(&mut rng)).collect();
            node = if bit == 0 {
                compress(&node, &sibling)
            } else {
                compress(&sibling, &node)
            };
            path.push((bit, sibling));
        }
        let root = node;
        let inputs = |expected: &[F]| {
            let mut v = vec![F::from_usize(depth)];
            v.extend(&leaf);
            for (bit, sib) in &path {
                v.push(F::from_u32(*bit));
                v.extend(sib);
            }
            v.extend(expected);
            v
        };
        let run = run_both(&p, &inputs(&root), &cfg(16));
        assert_eq!(run.report.outputs, root, "depth {depth}");
        assert_eq!(
            run.report.exit_code, 0,
            "a valid path of depth {depth} must verify"
        );
        if depth > 0 {
            assert_eq!(region(&run.report.regions, "path;compress"), depth as u64);
        }
        let mut wrong = root.clone();
        wrong[7] += F::ONE;
        let run = run_both(&p, &inputs(&wrong), &cfg(16));
        assert_eq!(run.report.exit_code, 1, "a wrong root must be rejected");
    }
}

#[test]
fn matmul() {
    let p = bench_program("matmul.sasm");
    let mut rng = StdRng::seed_from_u64(3);
    for n in [1usize, 2, 5] {
        let a: Vec<F> = (0..n * n).map(|_| rand_f(&mut rng)).collect();
        let b: Vec<F> = (0..n * n).map(|_| rand_f(&mut rng)).collect();
        let mut c = vec![F::ZERO; n * n];
        for i in 0..n {
            for j in 0..n {
                c[i * n + j] = (0..n).map(|k| a[i * n + k] * b[k * n + j]).sum();
            }
        }
        let mut inputs = vec![F::from_usize(n)];
        inputs.extend(&a);
        inputs.extend(&b);
        let run = run_both(&p, &inputs, &cfg(64));
        assert_eq!(run.report.outputs, c, "{n}x{n}");
        // The dot loop runs n^3 times, 8 instructions each, nested in `multiply`.
        assert_eq!(
            region(&run.report.regions, "multiply;dot"),
            8 * (n * n * n) as u64
        );
        assert!(
            region(&run.report.regions, "multiply") > region(&run.report.regions, "multiply;dot")
        );
    }
}

#[test]
fn ext_poly() {
    let p = bench_program("ext_poly.sasm");
    let mut rng = StdRng::seed_from_u64(4);
    for m in [1usize, 3, 16] {
        let cells = |rng: &mut StdRng| [rand_f(rng), rand_f(rng), rand_f(rng), rand_f(rng)];
        let x = cells(&mut rng);
        let coeffs: Vec<[F; 4]> = (0..m).map(|_| cells(&mut rng)).collect();
        let ex = ext_from_cells(x);
        let value = coeffs
            .iter()
            .fold(EF::ZERO, |acc, c| acc * ex + ext_from_cells(*c));
        let mut inputs = vec![F::from_usize(m)];
        inputs.extend(x);
        for c in &coeffs {
            inputs.extend(c);
        }
        let run = run_both(&p, &inputs, &cfg(16));
        assert_eq!(run.report.exit_code, 0);
        let mut expected = ext_to_cells(value).to_vec();
        expected.extend(ext_to_cells(value.inverse()));
        assert_eq!(run.report.outputs, expected, "{m} coefficients");
        assert_eq!(region(&run.report.regions, "invert"), 1);
    }
}

#[test]
fn bubble_sort() {
    let p = bench_program("bubble_sort.sasm");
    let mut rng = StdRng::seed_from_u64(5);
    for n in [0usize, 1, 2, 30] {
        let values: Vec<u32> = (0..n).map(|_| rng.random_range(0..1u32 << 24)).collect();
        let mut sorted = values.clone();
        sorted.sort();
        let mut inputs = vec![F::from_usize(n)];
        inputs.extend(values.iter().map(|&v| F::from_u32(v)));
        let run = run_both(&p, &inputs, &cfg(128));
        assert_eq!(run.report.outputs, fs(&sorted), "{n} values");
    }
}

#[test]
fn field_loop() {
    let p = bench_program("field_loop.sasm");
    let n = 50u32;
    let (mut acc, mut x, mut y) = (F::ONE, F::from_u32(3), F::from_u32(0x12345));
    for _ in 0..n {
        acc = acc * x + y;
        y -= x;
        x *= F::from_u32(5);
    }
    let run = run_both(&p, &[f(n)], &cfg(7));
    assert_eq!(run.report.outputs, vec![acc]);
    assert_eq!(region(&run.report.regions, "field_loop"), 6 * n as u64);
    assert_eq!(run.report.cycles, 4 + 6 * n as u64 + 2);
}
