//! `starkscope prove --aggregate` and `starkscope verify` of a root proof file, through the
//! shipped binary: three programs aggregated, the root's exit code and outputs those of
//! `starkscope run`; another program, another node preset and changed bytes refused.
//! Release only (proves trees): scripts/test.sh runs it with `--release`.

mod common;

use common::{programs, s, starkscope, text};

const TESTING: [&str; 5] = [
    "--fri",
    "testing",
    "--node-fri",
    "testing",
    "--allow-insecure",
];

/// `starkscope prove PROGRAM --aggregate` at the testing presets, with `extra` options.
fn prove_root(
    program: &str,
    inputs: &[&str],
    segment_size: &str,
    out: &std::path::Path,
    extra: &[&str],
) -> serde_json::Value {
    let path = programs().join(program);
    let mut args = vec!["prove", s(&path)];
    for i in inputs {
        args.extend(["-i", i]);
    }
    args.extend([
        "--segment-size",
        segment_size,
        "--fri",
        "testing",
        "--aggregate",
        "--node-fri",
        "testing",
        "--out",
        s(out),
        "--json",
        "-q",
    ]);
    args.extend(extra);
    let o = starkscope(&args);
    assert!(o.status.success(), "{program}: {}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("prove --json")
}

fn verify_root(root: &std::path::Path, program: &str, extra: &[&str]) -> std::process::Output {
    let path = programs().join(program);
    let mut args = vec!["verify", s(root), "--program", s(&path), "--json"];
    args.extend(extra);
    starkscope(&args)
}

fn run_json(program: &str, inputs: &[&str], segment_size: &str) -> serde_json::Value {
    let path = programs().join(program);
    let mut args = vec!["run", s(&path), "--json", "--segment-size", segment_size];
    for i in inputs {
        args.extend(["-i", i]);
    }
    let o = starkscope(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("run --json")
}

#[cfg_attr(debug_assertions, ignore = "proves trees: run with --release")]
#[test]
fn three_programs_aggregate_into_roots_that_state_their_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str], &str, &[&str]); 3] = [
        // 356 cycles in 64-cycle segments: 3 leaves, internal.0 and internal.1.
        (
            "fibonacci.sasm",
            &["70"],
            "64",
            &["leaf", "internal.0", "internal.1", "root"],
        ),
        (
            "matmul.sasm",
            &["2", "1", "2", "3", "4", "5", "6", "7", "8"],
            "64",
            &[],
        ),
        ("field_loop.sasm", &["40"], "128", &[]),
    ];
    for (program, inputs, size, layers) in cases {
        let root = dir.path().join(format!("{program}.root"));
        let proven = prove_root(program, inputs, size, &root, &[]);
        let agg = &proven["aggregation"];
        let groups: Vec<&str> = agg["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["group"].as_str().unwrap())
            .collect();
        if !layers.is_empty() {
            assert_eq!(groups, layers, "{program}");
        }
        assert_eq!(groups.last(), Some(&"root"), "{program}");

        let o = verify_root(&root, program, &TESTING);
        assert!(o.status.success(), "{program}: {}", text(&o.stdout));
        let verdict: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let ran = run_json(program, inputs, size);
        assert_eq!(verdict["valid"], true);
        assert_eq!(verdict["aggregated"], true);
        assert_eq!(verdict["exit_code"], ran["exit_code"], "{program}");
        assert_eq!(verdict["outputs"], ran["outputs"], "{program}");
        assert_eq!(verdict["segments"], ran["segments"], "{program}");
    }
}

#[cfg_attr(debug_assertions, ignore = "proves a tree: run with --release")]
#[test]
fn a_root_of_another_program_preset_or_with_changed_bytes_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("fib.root");
    prove_root("fibonacci.sasm", &["40"], "64", &root, &[]);
    assert!(verify_root(&root, "fibonacci.sasm", &TESTING)
        .status
        .success());

    let o = verify_root(&root, "matmul.sasm", &TESTING);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    // The verifier, not the file, picks the nodes' preset.
    let o = verify_root(
        &root,
        "fibonacci.sasm",
        &["--fri", "testing", "--allow-insecure"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    // A root file needs the program or the tree's key file, which must exist.
    let o = starkscope(&["verify", s(&root), "--vk", "none.vk"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("none.vk"), "{}", text(&o.stderr));

    let bytes = std::fs::read(&root).unwrap();
    let changed = dir.path().join("changed.root");
    for at in [
        12,
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() - 40,
        bytes.len() - 1,
    ] {
        let mut b = bytes.clone();
        b[at] ^= 0x10;
        std::fs::write(&changed, &b).unwrap();
        let o = verify_root(&changed, "fibonacci.sasm", &TESTING);
        assert_eq!(o.status.code(), Some(1), "byte {at}: {}", text(&o.stdout));
    }
    std::fs::write(&changed, &bytes[..bytes.len() / 2]).unwrap();
    let o = verify_root(&changed, "fibonacci.sasm", &TESTING);
    assert_eq!(o.status.code(), Some(1), "truncated: {}", text(&o.stdout));
}

/// Every node is a unit of work: the tree rebuilt node by node with `starkscope aggregate`
/// from the files `prove --nodes-dir` writes gives the same leaf bytes and a root that
/// verifies; children that do not form one run make no node and no file.
#[cfg_attr(debug_assertions, ignore = "proves a tree: run with --release")]
#[test]
fn the_tree_rebuilt_node_by_node_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = dir.path().join("tree");
    let fib = programs().join("fibonacci.sasm");
    let root = dir.path().join("root.bin");
    prove_root(
        "fibonacci.sasm",
        &["70"],
        "64",
        &root,
        &["--nodes-dir", s(&nodes)],
    );
    // `starkscope plan` lays out exactly the units this tree was proven in: every file
    // `--nodes-dir` wrote is a planned unit's, and each planned node's children are the
    // ones it was proven over (checked below by rebuilding it from them).
    let o = starkscope(&[
        "plan",
        s(&fib),
        "-i",
        "70",
        "--segment-size",
        "64",
        "--json",
    ]);
    assert!(o.status.success(), "plan: {}", text(&o.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).expect("plan --json");
    let mut planned: Vec<String> = plan["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap().to_string())
        .collect();
    for layer in plan["layers"].as_array().unwrap() {
        for node in layer["nodes"].as_array().unwrap() {
            planned.push(node["file"].as_str().unwrap().to_string());
        }
    }
    let mut written: Vec<String> = std::fs::read_dir(&nodes)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    planned.sort();
    written.sort();
    assert_eq!(planned, written, "plan vs prove --nodes-dir");
    let groups: Vec<&str> = plan["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["group"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["leaf", "internal.0", "internal.1"]);
    assert_eq!(plan["cycles"], 356);
    assert_eq!(
        plan["layers"][1]["nodes"][1]["children"],
        serde_json::json!([2]),
        "internal.0's second node verifies the third leaf alone"
    );
    assert_eq!(plan["layers"][1]["nodes"][1]["idx"], 1);
    assert_eq!(plan["layers"][2]["nodes"][0]["idx"], 2);

    let f = |name: &str| nodes.join(name);
    let out = |name: &str| dir.path().join(name);
    let unit = |children: &[std::path::PathBuf], to: &std::path::Path, extra: &[&str]| {
        let mut args = vec![
            "aggregate",
            "--program",
            s(&fib),
            "--node-fri",
            "testing",
            "--out",
            s(to),
            "--children",
        ];
        args.extend(children.iter().map(|c| s(c)));
        args.extend(extra);
        starkscope(&args)
    };
    for (i, pair) in [[0, 1], [2, 3], [4, 5]].iter().enumerate() {
        let children: Vec<_> = pair
            .iter()
            .map(|j| f(&format!("segment-{j}.bin")))
            .collect();
        let to = out(&format!("leaf-{i}.bin"));
        let o = unit(&children, &to, &["--idx", &i.to_string()]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert_eq!(
            std::fs::read(&to).unwrap(),
            std::fs::read(f(&format!("leaf-{i}.bin"))).unwrap(),
            "the unit's leaf {i} is the in-process one"
        );
    }
    assert!(
        unit(&[out("leaf-0.bin"), out("leaf-1.bin")], &out("i0.bin"), &[])
            .status
            .success()
    );
    assert!(unit(&[out("leaf-2.bin")], &out("i1.bin"), &["--idx", "1"])
        .status
        .success());
    assert!(unit(
        &[out("i0.bin"), out("i1.bin")],
        &out("i2.bin"),
        &["--idx", "2"]
    )
    .status
    .success());
    let o = unit(&[out("i2.bin")], &out("root.bin"), &["--root", "-i", "70"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = verify_root(&out("root.bin"), "fibonacci.sasm", &TESTING);
    assert!(o.status.success(), "{}", text(&o.stdout));

    // A dropped, repeated or swapped segment, or a root claiming other inputs: refused as
    // bad input, nothing written.
    let bad = out("bad.bin");
    for pair in [[0, 2], [1, 1], [1, 0]] {
        let children: Vec<_> = pair
            .iter()
            .map(|j| f(&format!("segment-{j}.bin")))
            .collect();
        let o = unit(&children, &bad, &[]);
        assert_eq!(o.status.code(), Some(3), "{pair:?}: {}", text(&o.stderr));
        assert!(!bad.exists(), "{pair:?}");
    }
    let o = unit(&[out("i2.bin")], &bad, &["--root", "-i", "71"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(!bad.exists());
}

/// The tree's key file from `starkscope keygen --tree-vk` checks a root without the
/// program: valid for the run it was made for, refused for another program's root, a
/// segment count it has no root key for, a program's app key, and a changed key file.
#[cfg_attr(debug_assertions, ignore = "proves a tree: run with --release")]
#[test]
fn a_tree_key_file_checks_roots_without_the_program() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("fib.root");
    prove_root("fibonacci.sasm", &["40"], "64", &root, &[]);
    let ran = run_json("fibonacci.sasm", &["40"], "64");
    let segments = ran["segments"].as_u64().unwrap();
    let fib = programs().join("fibonacci.sasm");
    let keygen = |out: &std::path::Path, extra: &[&str]| {
        let mut args = vec![
            "keygen",
            s(&fib),
            "--segment-size",
            "64",
            "--fri",
            "testing",
            "--node-fri",
            "testing",
        ];
        args.extend(extra);
        args.extend(["--tree-vk", s(out)]);
        starkscope(&args)
    };
    let verify_with = |root: &std::path::Path, key: &std::path::Path| {
        let mut args = vec!["verify", s(root), "--vk", s(key), "--json"];
        args.extend(TESTING);
        starkscope(&args)
    };

    let key = dir.path().join("fib.tree.vk");
    let range = format!("{}..={}", segments - 1, segments);
    let o = keygen(&key, &["--segments", &range]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = verify_with(&root, &key);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    let verdict: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(verdict["exit_code"], ran["exit_code"]);
    assert_eq!(verdict["outputs"], ran["outputs"]);
    assert_eq!(verdict["segments"], ran["segments"]);

    // Another program's root: invalid.
    let matmul_root = dir.path().join("matmul.root");
    prove_root(
        "matmul.sasm",
        &["2", "1", "2", "3", "4", "5", "6", "7", "8"],
        "64",
        &matmul_root,
        &[],
    );
    let o = verify_with(&matmul_root, &key);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));

    // A key without a root key for this run's segment count: the check cannot be made,
    // and the message says how to make a key that can.
    let other = dir.path().join("other.tree.vk");
    let o = keygen(&other, &["--segments", &(segments + 1).to_string()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = verify_with(&root, &other);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains(&format!("--segments {segments}")),
        "{}",
        text(&o.stdout)
    );

    // A program's app verifying key is not the tree's.
    let app_vk = dir.path().join("fib.vk");
    let o = starkscope(&["keygen", s(&fib), "--fri", "testing", "--vk", s(&app_vk)]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = verify_with(&root, &app_vk);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("--tree-vk"), "{}", text(&o.stdout));

    // Changed bytes of the key file: never a valid verdict.
    let bytes = std::fs::read(&key).unwrap();
    let changed = dir.path().join("changed.tree.vk");
    for at in [9, 20, bytes.len() / 4, bytes.len() / 2, bytes.len() - 5] {
        let mut b = bytes.clone();
        b[at] ^= 0x04;
        std::fs::write(&changed, &b).unwrap();
        let o = verify_with(&root, &changed);
        assert_ne!(o.status.code(), Some(0), "byte {at}: {}", text(&o.stdout));
    }
    std::fs::write(&changed, &bytes[..bytes.len() - 3]).unwrap();
    let o = verify_with(&root, &changed);
    assert_eq!(o.status.code(), Some(3), "truncated: {}", text(&o.stdout));
}

/// Every segment is a unit of work: `starkscope prove-segment` proves segment i of a run
/// alone, byte for byte the segment proof `prove --aggregate` made; the last one says it
/// halted; a segment past the run's last is refused, nothing written; units make a leaf.
#[cfg_attr(debug_assertions, ignore = "proves segments: run with --release")]
#[test]
fn segments_proven_one_by_one_are_the_runs() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = dir.path().join("tree");
    let fib = programs().join("fibonacci.sasm");
    let root = dir.path().join("root.bin");
    prove_root(
        "fibonacci.sasm",
        &["40"],
        "64",
        &root,
        &["--nodes-dir", s(&nodes)],
    );
    let segments = run_json("fibonacci.sasm", &["40"], "64")["segments"]
        .as_u64()
        .unwrap() as usize;
    let unit = |i: usize, out: &std::path::Path| {
        starkscope(&[
            "prove-segment",
            s(&fib),
            "-i",
            "40",
            "--segment",
            &i.to_string(),
            "--segment-size",
            "64",
            "--fri",
            "testing",
            "--out",
            s(out),
            "--json",
        ])
    };
    for i in 0..segments {
        let out = dir.path().join(format!("seg-{i}.bin"));
        let o = unit(i, &out);
        assert!(o.status.success(), "segment {i}: {}", text(&o.stderr));
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(json["segment"], i);
        assert_eq!(json["halted"], i + 1 == segments, "segment {i}");
        assert_eq!(
            std::fs::read(&out).unwrap(),
            std::fs::read(nodes.join(format!("segment-{i}.bin"))).unwrap(),
            "segment {i} alone is the run's segment {i}"
        );
    }
    let past = dir.path().join("past.bin");
    let o = unit(segments, &past);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains(&format!("has {segments} segments")),
        "{}",
        text(&o.stderr)
    );
    assert!(!past.exists());
    let o = starkscope(&[
        "aggregate",
        "--program",
        s(&fib),
        "--node-fri",
        "testing",
        "--out",
        s(&dir.path().join("leaf.bin")),
        "--children",
        s(&dir.path().join("seg-0.bin")),
        s(&dir.path().join("seg-1.bin")),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}
