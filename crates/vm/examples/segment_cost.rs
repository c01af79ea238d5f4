//! Proving time per segment of a bundled program, medians of `reps` runs (one segment at a
//! time): `cargo run --release -p starkscope-vm --example segment_cost -- fibonacci 16 30000 3`
//! (program, log2 segment size, inputs separated by commas, repetitions, then `compact` or
//! `fixed` for the height layout; `fixed` unless told).

use std::time::Duration;

use starkscope_stark_backend::p3::PrimeCharacteristicRing;
use starkscope_stark_backend::FriPreset;
use starkscope_vm::exec::ExecConfig;
use starkscope_vm::prove::{vm_keygen, Continuation, HeightLayout};
use starkscope_vm::F;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().map_or("fibonacci", String::as_str);
    let log_size: u32 = args.get(1).map_or(16, |s| s.parse().expect("log size"));
    let inputs: Vec<F> = args
        .get(2)
        .map_or("30000", String::as_str)
        .split(',')
        .map(|x| F::from_u32(x.parse().expect("input")))
        .collect();
    let reps: usize = args.get(3).map_or(3, |s| s.parse().expect("reps"));
    let layout = match args.get(4).map_or("fixed", String::as_str) {
        "fixed" => HeightLayout::FixedTallest,
        "compact" => HeightLayout::Compact,
        other => panic!("layout `{other}`: expected `fixed` or `compact`"),
    };
    let path = format!(
        "{}/../../benchmarks/programs/{name}.sasm",
        env!("CARGO_MANIFEST_DIR")
    );
    let src = std::fs::read_to_string(&path).expect("program");
    let program = starkscope_vm::assemble(&src, name).expect("assembles");
    let config = ExecConfig::default().with_segment_size(1 << log_size);
    let pk = vm_keygen(&program, FriPreset::Fast)
        .expect("keygen")
        .with_layout(layout);
    let widths: Vec<usize> = (0..pk.pk.vk.data.airs.len())
        .map(|i| pk.pk.air_info(i).main_width)
        .collect();
    println!("main widths {widths:?}");
    let mut times: Vec<Vec<Duration>> = Vec::new();
    let mut shapes: Vec<(usize, Vec<usize>)> = Vec::new();
    for _ in 0..reps {
        let segments = starkscope_vm::exec::record(&program, &inputs, &config).expect("runs");
        let mut cont = Continuation::start(&program);
        for (i, seg) in segments.into_iter().enumerate() {
            let cycles = seg.instructions.len();
            let proof = cont
                .advance(seg, Duration::ZERO)
                .prove(&pk)
                .expect("proves");
            if times.len() <= i {
                times.push(Vec::new());
                let heights = proof.proof.heights();
                shapes.push((cycles, heights));
            }
            times[i].push(proof.stark_prove);
        }
    }
    for (i, (t, (cycles, heights))) in times.iter_mut().zip(&shapes).enumerate() {
        t.sort();
        let median = t[t.len() / 2];
        println!(
            "segment {i}: {cycles} cycles, heights {heights:?}, stark_prove median {:.1} ms ({} runs)",
            median.as_secs_f64() * 1e3,
            t.len()
        );
    }
}
