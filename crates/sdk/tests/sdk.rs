//! The SDK end to end on small programs: prove, verify, files, bad files, bad proofs.

use std::path::Path;

use starkscope_sdk::files::{
    pk_from_file_bytes, pk_to_bytes, proof_from_file_bytes, proof_to_bytes, read_file,
    segment_proof_bytes, vk_from_file_bytes, vk_to_bytes, write_file,
};
use starkscope_sdk::{
    AppProof, FileError, FileKind, FriPreset, InvalidProof, Progress, Sdk, SdkConfig, SdkError,
};
use starkscope_stark_backend::p3::{PrimeCharacteristicRing, PrimeField32};
use starkscope_stark_backend::Val;
use starkscope_vm::{assemble, Program};

const FIB: &str = include_str!("../../../benchmarks/programs/fibonacci.sasm");

fn fib() -> Program {
    let mut p = assemble(FIB, "fibonacci.sasm").expect("assembles");
    p.name = "fibonacci".into();
    p
}

fn sdk(segment_size: u64, threads: usize) -> Sdk {
    Sdk::new(
        SdkConfig::default()
            .with_segment_size(segment_size)
            .with_threads(threads)
            .with_fri(FriPreset::Testing)
            .with_allow_insecure(true),
    )
    .expect("sdk")
}

fn path(name: &str) -> &Path {
    Path::new(name)
}

#[test]
fn proves_in_parallel_segments_verifies_and_reports() {
    let sdk = sdk(16, 2);
    let pk = sdk.keygen(&fib()).expect("keygen");
    let executed = sdk
        .execute(&pk.program, &[Val::from_u32(20)])
        .expect("runs");
    let events = std::sync::Mutex::new(Vec::new());
    let (proof, report) = sdk
        .prove_with_progress(&pk, &[Val::from_u32(20)], &|e| {
            events.lock().unwrap().push(e)
        })
        .expect("proves");
    assert_eq!(report.cycles, executed.cycles);
    assert_eq!(report.segments.len(), executed.segments.len());
    assert!(report.segments.len() >= 4, "{report:?}");
    for (i, s) in report.segments.iter().enumerate() {
        assert_eq!(s.index, i);
        assert_eq!(s.cycles, executed.segments[i].cycles);
        assert!(s.proof_bytes > 0 && s.main_cells_used > 0);
        // Counted without encoding; must match the encoded segment exactly.
        let encoded = segment_proof_bytes(&proof.segments[i], FriPreset::Testing).unwrap();
        assert_eq!(s.proof_bytes, encoded.len() as u64);
        assert!(s.total_cells_used > s.main_cells_used);
        assert_eq!(s.total(), s.execute + s.trace_gen + s.stark_prove);
    }
    assert_eq!(
        report.proof_bytes,
        report.segments.iter().map(|s| s.proof_bytes).sum::<u64>()
    );
    assert!(report.peak_rss_bytes.unwrap_or(1) > 0);
    assert_eq!(proof.outputs, vec![Val::from_u32(6765)]);
    assert_eq!(proof.exit_code, 0);

    let events = events.into_inner().unwrap();
    let proven = events
        .iter()
        .filter(|e| matches!(e, Progress::Proven { .. }))
        .count();
    assert_eq!(proven, report.segments.len());
    assert!(events
        .iter()
        .any(|e| matches!(e, Progress::Executed { halted: true, .. })));

    let summary = sdk.verify(&pk.verifying_key(), &proof).expect("verifies");
    assert_eq!(summary.segments, report.segments.len());

    // A false claim about the outputs or the exit code is caught.
    let mut lie = proof.clone();
    lie.outputs[0] = Val::from_u32(6766);
    assert!(matches!(
        sdk.verify(&pk.verifying_key(), &lie),
        Err(SdkError::Invalid(InvalidProof::Chain(_)))
    ));
    let mut lie = proof.clone();
    lie.exit_code = 1;
    assert!(matches!(
        sdk.verify(&pk.verifying_key(), &lie),
        Err(SdkError::Invalid(InvalidProof::ExitCode { .. }))
    ));
    let mut lie = proof;
    lie.segments.pop();
    assert!(matches!(
        sdk.verify(&pk.verifying_key(), &lie),
        Err(SdkError::Invalid(InvalidProof::Chain(_)))
    ));
}

#[test]
fn one_thread_and_a_tiny_budget_still_prove_the_same_execution() {
    let tight = Sdk::new(
        SdkConfig::default()
            .with_segment_size(32)
            .with_threads(1)
            .with_memory_budget(1)
            .with_fri(FriPreset::Testing)
            .with_allow_insecure(true),
    )
    .unwrap();
    let plan = tight.parallelism();
    assert_eq!((plan.provers, plan.queue, plan.max_alive), (1, 0, 2));
    let pk = tight.keygen(&fib()).unwrap();
    let (proof, report) = tight.prove(&pk, &[Val::from_u32(30)]).unwrap();
    assert!(report.segments.len() >= 4);
    tight.verify(&pk.verifying_key(), &proof).unwrap();
}

#[test]
fn execution_errors_surface_from_the_producer() {
    let sdk = sdk(16, 2);
    let pk = sdk.keygen(&fib()).unwrap();
    // No input: the first `hint` traps.
    let err = sdk.prove(&pk, &[]).expect_err("traps");
    assert!(matches!(err, SdkError::Exec(_)), "{err}");
    assert!(err.to_string().contains("hint stream exhausted"), "{err}");
    let limited = Sdk::new(
        SdkConfig::default()
            .with_segment_size(16)
            .with_max_cycles(40)
            .with_fri(FriPreset::Testing)
            .with_allow_insecure(true),
    )
    .unwrap();
    let err = limited
        .prove(&pk, &[Val::from_u32(1000)])
        .expect_err("limit");
    assert!(err.to_string().contains("40"), "{err}");
}

#[test]
fn files_round_trip_and_refuse_the_wrong_kind_version_program_or_corruption() {
    let sdk = sdk(16, 2);
    let pk = sdk.keygen(&fib()).unwrap();
    let (proof, _) = sdk.prove(&pk, &[Val::from_u32(12)]).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let proof_bytes = proof_to_bytes(&proof).unwrap();
    let vk_bytes = vk_to_bytes(&pk.verifying_key()).unwrap();
    let pk_bytes = pk_to_bytes(&pk).unwrap();
    for (name, bytes) in [
        ("p.bin", &proof_bytes),
        ("vk.bin", &vk_bytes),
        ("pk.bin", &pk_bytes),
    ] {
        write_file(&dir.path().join(name), bytes).unwrap();
    }
    // Atomic writes leave no temporary files behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);

    let proof2: AppProof = read_file(&dir.path().join("p.bin"), proof_from_file_bytes).unwrap();
    let vk2 = read_file(&dir.path().join("vk.bin"), vk_from_file_bytes).unwrap();
    let pk2 = read_file(&dir.path().join("pk.bin"), pk_from_file_bytes).unwrap();
    assert_eq!(pk2.program.instructions, pk.program.instructions);
    assert_eq!(pk2.program.markers, pk.program.markers);
    assert_eq!(pk2.hash, pk.hash);
    assert_eq!(proof2.outputs, proof.outputs);
    sdk.verify(&vk2, &proof2)
        .expect("read-back proof verifies with read-back vk");
    sdk.verify(&pk2.verifying_key(), &proof2)
        .expect("and with the re-derived pk's vk");
    let (again, _) = sdk
        .prove(&pk2, &[Val::from_u32(12)])
        .expect("a loaded pk proves");
    sdk.verify(&vk2, &again).unwrap();

    // Wrong kind, with the file named.
    let err = proof_from_file_bytes(&vk_bytes, path("vk.bin")).unwrap_err();
    assert!(
        matches!(
            err,
            FileError::WrongKind {
                expected: FileKind::Proof,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("vk.bin") && err.to_string().contains("verifying key"),
        "{err}"
    );
    // Not ours at all.
    let err = vk_from_file_bytes(b"hello world, this is text", path("x.txt")).unwrap_err();
    assert!(matches!(err, FileError::NotStarkscope { .. }), "{err}");
    // Another version.
    let mut v9 = proof_bytes.clone();
    v9[9] = 9;
    let err = proof_from_file_bytes(&v9, path("p.bin")).unwrap_err();
    assert!(matches!(err, FileError::Version { found: 9, .. }), "{err}");
    // Every truncation is an error, never a panic.
    for len in (0..proof_bytes.len())
        .step_by(97)
        .chain([proof_bytes.len() - 1])
    {
        assert!(
            proof_from_file_bytes(&proof_bytes[..len], path("p.bin")).is_err(),
            "{len}"
        );
    }
    for len in (0..vk_bytes.len()).step_by(131) {
        assert!(
            vk_from_file_bytes(&vk_bytes[..len], path("vk.bin")).is_err(),
            "{len}"
        );
    }
    for len in (0..pk_bytes.len()).step_by(53) {
        assert!(
            pk_from_file_bytes(&pk_bytes[..len], path("pk.bin")).is_err(),
            "{len}"
        );
    }
    // Trailing garbage too.
    let mut long = proof_bytes.clone();
    long.push(0);
    assert!(proof_from_file_bytes(&long, path("p.bin"))
        .unwrap_err()
        .is_corrupt());

    // A key for another program refuses the proof by name, before any cryptography.
    let mut other = fib();
    other.name = "other".into();
    other.instructions.swap(1, 2);
    let other_pk = sdk.keygen(&other).unwrap();
    let err = sdk.verify(&other_pk.verifying_key(), &proof2).unwrap_err();
    assert!(
        matches!(err, SdkError::Invalid(InvalidProof::WrongProgram { .. })),
        "{err}"
    );
    assert!(
        err.to_string().contains("`fibonacci`") && err.to_string().contains("`other`"),
        "{err}"
    );
    // ... and a proof whose name and hash were forged to match still fails
    // cryptographically.
    let mut forged = proof2.clone();
    forged.program_hash = other_pk.hash;
    forged.program_name = "other".into();
    let err = sdk.verify(&other_pk.verifying_key(), &forged).unwrap_err();
    assert!(
        matches!(err, SdkError::Invalid(InvalidProof::Chain(_))),
        "{err}"
    );

    // A proving key whose stored vk does not match its program is refused.
    let mut spliced = pk_to_bytes(&other_pk).unwrap();
    let own_vk = vk_bytes_of(&pk);
    let other_vk = vk_bytes_of(&other_pk);
    let at = spliced.len() - other_vk.len();
    assert_eq!(&spliced[at..], &other_vk[..]);
    spliced.truncate(at);
    spliced.extend_from_slice(&own_vk);
    let err = pk_from_file_bytes(&spliced, path("pk.bin")).unwrap_err();
    assert!(matches!(err, FileError::KeyMismatch { .. }), "{err}");
}

fn vk_bytes_of(pk: &starkscope_sdk::AppProvingKey) -> Vec<u8> {
    pk.vm.pk.vk.to_bytes().unwrap()
}

#[test]
fn a_proving_key_for_another_preset_is_refused() {
    let fast = Sdk::new(SdkConfig::default().with_fri(FriPreset::Fast)).unwrap();
    let testing = sdk(16, 1);
    let pk = testing.keygen(&fib()).unwrap();
    let err = fast.prove(&pk, &[Val::ONE]).unwrap_err();
    assert!(err.to_string().contains("testing"), "{err}");
}

#[test]
fn the_verifier_picks_the_security_not_the_proof() {
    let testing = sdk(16, 1);
    let pk = testing.keygen(&fib()).unwrap();
    let (proof, _) = testing.prove(&pk, &[Val::from_u32(30)]).unwrap();
    testing.verify(&pk.verifying_key(), &proof).unwrap();

    // Verifying at `testing` needs the explicit opt-in.
    let strict = Sdk::new(SdkConfig::default().with_fri(FriPreset::Testing)).unwrap();
    let err = strict.verify(&pk.verifying_key(), &proof).unwrap_err();
    assert!(
        matches!(err, SdkError::InsecurePreset { bits, .. } if bits < 100),
        "{err}"
    );

    // A verifier at `fast` refuses the `testing` key, and a `testing` proof under a
    // `fast` key is invalid.
    let fast = Sdk::new(SdkConfig::default()).unwrap();
    let err = fast.verify(&pk.verifying_key(), &proof).unwrap_err();
    assert!(matches!(err, SdkError::KeyPreset { .. }), "{err}");
    let fast_pk = fast.keygen(&fib()).unwrap();
    let err = fast.verify(&fast_pk.verifying_key(), &proof).unwrap_err();
    assert!(
        matches!(err, SdkError::Invalid(InvalidProof::WrongPreset { .. })),
        "{err}"
    );
}

/// Every byte of a key or proof file matters: decoding then re-encoding is
/// byte-identical, a decoded key equals the one derived from its program, and single-bit
/// flips (a sample over the whole of each file, plus every byte of the fields a reader
/// might ignore: names, hashes, heights, roots, presets, exit code, outputs) are refused,
/// either on reading or by the verifier.
#[test]
fn every_byte_of_a_key_or_proof_matters() {
    let sdk = sdk(16, 2);
    let pk = sdk.keygen(&fib()).unwrap();
    let (proof, _) = sdk.prove(&pk, &[Val::from_u32(12)]).unwrap();
    let vk = pk.verifying_key();
    let proof_bytes = proof_to_bytes(&proof).unwrap();
    let vk_bytes = vk_to_bytes(&vk).unwrap();

    // Round trips are byte-identical, and the file's key is the program's key.
    let proof2 = proof_from_file_bytes(&proof_bytes, path("p")).unwrap();
    assert_eq!(proof_to_bytes(&proof2).unwrap(), proof_bytes);
    let vk2 = vk_from_file_bytes(&vk_bytes, path("vk")).unwrap();
    assert_eq!(vk_to_bytes(&vk2).unwrap(), vk_bytes);
    let derived = sdk.keygen(&fib()).unwrap().verifying_key();
    assert_eq!(vk_to_bytes(&derived).unwrap(), vk_bytes);

    // Offsets to flip: a stride over the whole file, and every byte of the small fields
    // (found by their encodings) that a lax reader would ignore.
    let offsets = |bytes: &[u8], needles: &[Vec<u8>], stride: usize| -> Vec<usize> {
        let mut at: Vec<usize> = (11..bytes.len()).step_by(stride).collect();
        for n in needles {
            if let Some(p) = bytes.windows(n.len()).position(|w| w == &n[..]) {
                at.extend(p..p + n.len());
            }
        }
        at.sort_unstable();
        at.dedup();
        at
    };
    let name = b"fibonacci".to_vec();
    let hash: Vec<u8> = pk.hash.0.iter().flat_map(|w| postcard_u32(*w)).collect();
    let root: Vec<u8> = vk
        .vm
        .initial_root
        .iter()
        .flat_map(|v| postcard_u32(v.as_canonical_u32()))
        .collect();

    let mut tried = 0;
    let mut accepted = Vec::new();
    for at in offsets(
        &vk_bytes,
        &[name.clone(), hash.clone(), root],
        vk_bytes.len() / 150 + 1,
    ) {
        let mut bad = vk_bytes.clone();
        bad[at] ^= 1 << (at % 8);
        tried += 1;
        if let Ok(k) = vk_from_file_bytes(&bad, path("vk")) {
            if sdk.verify(&k, &proof).is_ok() {
                accepted.push(format!("vk byte {at}"));
            }
        }
    }
    let outputs: Vec<u8> = proof
        .outputs
        .iter()
        .flat_map(|v| postcard_u32(v.as_canonical_u32()))
        .collect();
    for at in offsets(
        &proof_bytes,
        &[name, hash, outputs],
        proof_bytes.len() / 300 + 1,
    ) {
        let mut bad = proof_bytes.clone();
        bad[at] ^= 1 << (at % 8);
        tried += 1;
        if let Ok(p) = proof_from_file_bytes(&bad, path("p")) {
            if sdk.verify(&vk, &p).is_ok() {
                accepted.push(format!("proof byte {at}"));
            }
        }
    }
    assert!(tried > 400, "{tried} flips");
    assert!(
        accepted.is_empty(),
        "accepted after a bit flip: {accepted:?}"
    );
}

/// postcard's encoding of a u32 (a varint).
fn postcard_u32(v: u32) -> Vec<u8> {
    postcard::to_allocvec(&v).unwrap()
}
