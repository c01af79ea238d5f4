//! Compiling a circuit: placing every op in a table row, counting reads, writing the
//! preprocessed traces (the program), and running the backend's keygen on the tables.

use std::sync::Arc;

use starkscope_stark_backend::p3::{PrimeCharacteristicRing, RowMajorMatrix};
use starkscope_stark_backend::{
    keygen, Challenge, KeygenError, ProvingKey, StarkAir, StarkConfig, Val,
};

use crate::ir::{Addr, AluOut, Circuit, Group, HintSource, Op};
use crate::tables::{self, alu, bits, consts, hints, horner, poseidon2, public, signed};

/// The tables, in key order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TableId {
    Const = 0,
    Public = 1,
    Hint = 2,
    Alu = 3,
    Bits = 4,
    Poseidon2 = 5,
    Horner = 6,
}

/// Number of tables.
pub const NUM_TABLES: usize = 7;

impl TableId {
    pub const ALL: [TableId; NUM_TABLES] = [
        TableId::Const,
        TableId::Public,
        TableId::Hint,
        TableId::Alu,
        TableId::Bits,
        TableId::Poseidon2,
        TableId::Horner,
    ];
}

/// Where an op lives: its table, row and lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub table: TableId,
    pub row: usize,
    pub lane: usize,
}

/// Why a circuit does not compile.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("cell {addr} is written twice: by op {first} and by op {second}")]
    WrittenTwice {
        addr: Addr,
        first: usize,
        second: usize,
    },
    #[error("op {op} reads cell {addr}, which no earlier op writes")]
    ReadBeforeWrite { op: usize, addr: Addr },
    #[error("op {op} uses cell {addr}, beyond the circuit's {num_cells} cells")]
    OutOfRange {
        op: usize,
        addr: Addr,
        num_cells: u32,
    },
    #[error("op {op} reads caller hint {index}, but the circuit declares {num_hints} hints")]
    HintIndex {
        op: usize,
        index: usize,
        num_hints: usize,
    },
    #[error("op {op} is public input {index}, expected {expected} (public inputs are numbered in order)")]
    PublicIndex {
        op: usize,
        index: usize,
        expected: usize,
    },
    #[error("the circuit says it has {declared} public inputs, its ops define {found}")]
    PublicCount { declared: usize, found: usize },
    #[error("op {op} takes limb {limb} of an extension cell (limbs are 0..4)")]
    Limb { op: usize, limb: usize },
    #[error(
        "op {op} (alu) uses operand {operand} with a nonzero coefficient but has no such operand"
    )]
    AluOperand { op: usize, operand: char },
    #[error("op {op} (horner): {len} steps over cells {cells:?}; a row takes 1..=8 steps, its first cell always and its second exactly when it takes more than 4")]
    HornerShape {
        op: usize,
        len: u8,
        cells: [Option<Addr>; 2],
    },
    #[error("internal: the program breaks an invariant its tables rely on: {0}")]
    Program(String),
    #[error("keygen: {0}")]
    Keygen(#[from] KeygenError),
}

/// The program: every op's place, each cell's read count, and the preprocessed traces.
#[derive(Clone, Debug)]
pub struct Program {
    pub placements: Vec<Placement>,
    /// Per Poseidon2 op (in order): which operand groups are chained from the previous row.
    pub chained: Vec<[bool; 4]>,
    /// Per Horner op (in order): whether its accumulator is chained from the previous row.
    pub horner_chained: Vec<bool>,
    /// Bus reads of each cell.
    pub reads: Vec<u32>,
    /// Rows of each table.
    pub heights: [usize; NUM_TABLES],
    pub num_public: usize,
    pub preprocessed: [RowMajorMatrix<Val>; NUM_TABLES],
}

impl Program {
    /// Places the ops and writes the preprocessed traces; refuses a circuit that writes a
    /// cell twice or reads a cell before it is written.
    pub fn new(circuit: &Circuit) -> Result<Self, CompileError> {
        Self::with_min_height(circuit, 2)
    }

    /// [`Program::new`] for proving under `preset`: every table at least as tall as the
    /// preset needs (p3-fri refuses a trace not above its final polynomial, so 16 rows
    /// under `aggregation`).
    pub fn for_preset(
        circuit: &Circuit,
        preset: starkscope_stark_backend::FriPreset,
    ) -> Result<Self, CompileError> {
        Self::with_min_height(circuit, 2 << preset.log_final_poly_len())
    }

    /// [`Program::new`] with every table at least `min_height` rows (a power of two).
    pub fn with_min_height(circuit: &Circuit, min_height: usize) -> Result<Self, CompileError> {
        assert!(min_height.is_power_of_two() && min_height >= 2);
        let n = circuit.num_cells as usize;
        let mut writer: Vec<Option<usize>> = vec![None; n];
        let in_range = |op: usize, addr: Addr| {
            if (addr as usize) < n {
                Ok(())
            } else {
                Err(CompileError::OutOfRange {
                    op,
                    addr,
                    num_cells: circuit.num_cells,
                })
            }
        };
        let mut next_public = 0;
        for (i, r) in circuit.ops.iter().enumerate() {
            for a in r.op.inputs() {
                in_range(i, a)?;
                if writer[a as usize].is_none() {
                    return Err(CompileError::ReadBeforeWrite { op: i, addr: a });
                }
            }
            match &r.op {
                Op::Alu(op) => {
                    for ((operand, addr), used) in ['a', 'b', 'c']
                        .into_iter()
                        .zip([op.a, op.b, op.c])
                        .zip(op.reads())
                    {
                        if used && addr.is_none() {
                            return Err(CompileError::AluOperand { op: i, operand });
                        }
                    }
                }
                Op::Horner(h) => {
                    let ok = (1..=horner::STEPS as u8).contains(&h.len)
                        && h.values[0].is_some()
                        && h.values[1].is_some() == (h.len > 4);
                    if !ok {
                        return Err(CompileError::HornerShape {
                            op: i,
                            len: h.len,
                            cells: h.values,
                        });
                    }
                }
                Op::Hint {
                    source: HintSource::Input(index),
                    ..
                } if *index >= circuit.num_hints => {
                    return Err(CompileError::HintIndex {
                        op: i,
                        index: *index,
                        num_hints: circuit.num_hints,
                    })
                }
                Op::Hint {
                    source: HintSource::Limb(_, limb),
                    ..
                } if *limb >= 4 => return Err(CompileError::Limb { op: i, limb: *limb }),
                Op::Public { index, .. } => {
                    if *index != next_public {
                        return Err(CompileError::PublicIndex {
                            op: i,
                            index: *index,
                            expected: next_public,
                        });
                    }
                    next_public += 1;
                }
                _ => {}
            }
            for a in r.op.writes() {
                in_range(i, a)?;
                if let Some(first) = writer[a as usize] {
                    return Err(CompileError::WrittenTwice {
                        addr: a,
                        first,
                        second: i,
                    });
                }
                writer[a as usize] = Some(i);
            }
        }
        let num_public = next_public;
        if num_public != circuit.num_public {
            return Err(CompileError::PublicCount {
                declared: circuit.num_public,
                found: num_public,
            });
        }

        // Places, chaining, read counts.
        let mut counts = [0usize; NUM_TABLES];
        let per_row = |t: TableId| match t {
            TableId::Const => consts::LANES,
            TableId::Public => usize::MAX,
            TableId::Hint => hints::LANES,
            TableId::Alu => alu::LANES,
            TableId::Bits | TableId::Poseidon2 | TableId::Horner => 1,
        };
        let mut placements = Vec::with_capacity(circuit.ops.len());
        let mut chained = Vec::new();
        let mut reads = vec![0u32; n];
        let mut prev_outs: Option<[Addr; 4]> = None;
        let mut horner_chained = Vec::new();
        let mut prev_horner: Option<Addr> = None;
        for r in &circuit.ops {
            let table = match r.op {
                Op::Const { .. } => TableId::Const,
                Op::Public { .. } => TableId::Public,
                Op::Hint { .. } => TableId::Hint,
                Op::Alu(_) => TableId::Alu,
                Op::Bits(_) => TableId::Bits,
                Op::Poseidon2(_) => TableId::Poseidon2,
                Op::Horner(_) => TableId::Horner,
            };
            let k = counts[table as usize];
            counts[table as usize] += 1;
            let (row, lane) = match table {
                TableId::Public => (0, k),
                t => (k / per_row(t), k % per_row(t)),
            };
            placements.push(Placement { table, row, lane });
            match &r.op {
                Op::Poseidon2(p) => {
                    let mut ch = [false; 4];
                    for (g, group) in p.groups.iter().enumerate() {
                        if let Group::Cell(q) = group {
                            if prev_outs.is_some_and(|o| o[g] == q.0) {
                                ch[g] = true;
                            } else {
                                reads[q.0 as usize] += 1;
                            }
                        }
                    }
                    if let Some(d) = p.dir {
                        reads[d.0 as usize] += 1;
                    }
                    chained.push(ch);
                    prev_outs = Some(p.outs);
                }
                Op::Horner(h) => {
                    let ch = h.acc.is_some() && h.acc == prev_horner;
                    if let (Some(a), false) = (h.acc, ch) {
                        reads[a as usize] += 1;
                    }
                    reads[h.alpha as usize] += 1;
                    for q in h.values.iter().flatten() {
                        reads[*q as usize] += 1;
                    }
                    horner_chained.push(ch);
                    prev_horner = Some(h.out);
                }
                op => {
                    for a in op.bus_reads() {
                        reads[a as usize] += 1;
                    }
                }
            }
        }
        let heights = [
            tables::height(counts[0], consts::LANES),
            2,
            tables::height(counts[2], hints::LANES),
            tables::height(counts[3], alu::LANES),
            tables::height(counts[4], 1),
            tables::height(counts[5], 1),
            tables::height(counts[6], 1),
        ]
        .map(|h| h.max(min_height));

        let mut program = Program {
            placements,
            chained,
            horner_chained,
            reads,
            heights,
            num_public,
            preprocessed: [
                tables::zeros(consts::LANES * consts::PREP_PER_LANE, heights[0]),
                tables::zeros(num_public.max(1) * public::PREP_PER_LANE, heights[1]),
                tables::zeros(hints::LANES * hints::PREP_PER_LANE, heights[2]),
                tables::zeros(alu::LANES * alu::PREP_PER_LANE, heights[3]),
                tables::zeros(bits::PREP_WIDTH, heights[4]),
                tables::zeros(poseidon2::PREP_WIDTH, heights[5]),
                tables::zeros(horner::PREP_WIDTH, heights[6]),
            ],
        };
        program.write_preprocessed(circuit);
        Ok(program)
    }

    fn write_preprocessed(&mut self, circuit: &Circuit) {
        let f = |a: Addr| Val::from_u32(a);
        let mut p2_index = 0;
        let mut horner_index = 0;
        for (r, place) in circuit.ops.iter().zip(&self.placements) {
            let t = place.table as usize;
            let m = &mut self.preprocessed[t];
            let w = m.width;
            let row = &mut m.values[place.row * w..(place.row + 1) * w];
            let mult = |a: Addr| Val::from_u32(self.reads[a as usize]);
            match &r.op {
                Op::Const { out, value } => {
                    let lane =
                        &mut row[place.lane * consts::PREP_PER_LANE..][..consts::PREP_PER_LANE];
                    lane[0] = f(*out);
                    lane[1..5].copy_from_slice(limbs(value));
                    lane[5] = mult(*out);
                }
                Op::Public { out, .. } => {
                    let lane =
                        &mut row[place.lane * public::PREP_PER_LANE..][..public::PREP_PER_LANE];
                    lane[0] = f(*out);
                    lane[1] = mult(*out);
                }
                Op::Hint { out, base, .. } => {
                    let lane =
                        &mut row[place.lane * hints::PREP_PER_LANE..][..hints::PREP_PER_LANE];
                    lane[0] = f(*out);
                    lane[1] = mult(*out);
                    lane[2] = Val::from_bool(*base);
                }
                Op::Alu(op) => {
                    use alu::prep::*;
                    let lane = &mut row[place.lane * alu::PREP_PER_LANE..][..alu::PREP_PER_LANE];
                    let reads = op.reads();
                    for (k, (addr, read)) in [op.a, op.b, op.c].into_iter().zip(reads).enumerate() {
                        if let (Some(a), true) = (addr, read) {
                            lane[ADDR_A + k] = f(a);
                            lane[CNT_A + k] = Val::ONE;
                        }
                    }
                    match op.out {
                        AluOut::Write(a) => {
                            lane[ADDR_OUT] = f(a);
                            lane[CNT_OUT] = mult(a);
                        }
                        AluOut::Assert(a) => {
                            lane[ADDR_OUT] = f(a);
                            lane[CNT_OUT] = signed(-1);
                        }
                    }
                    lane[COEFFS..COEFFS + 4].copy_from_slice(&op.coeffs);
                }
                Op::Bits(op) => {
                    use bits::prep::*;
                    row[ADDR_V] = f(op.input);
                    row[READ_V] = Val::ONE;
                    for (i, &b) in op.bits.iter().enumerate() {
                        row[ADDR_BITS + i] = f(b);
                        row[MULT_BITS + i] = mult(b);
                    }
                }
                Op::Poseidon2(op) => {
                    use poseidon2::prep::*;
                    let chained = self.chained[p2_index];
                    p2_index += 1;
                    for (g, group) in op.groups.iter().enumerate() {
                        match group {
                            Group::Cell(_) if chained[g] => row[CHAIN + g] = Val::ONE,
                            Group::Cell(q) => {
                                row[IN_ADDR + g] = f(q.0);
                                row[READ + g] = Val::ONE;
                            }
                            Group::Zero => {}
                        }
                        row[OUT_ADDR + g] = f(op.outs[g]);
                        row[OUT_MULT + g] = mult(op.outs[g]);
                    }
                    if let Some(d) = op.dir {
                        row[DIR_ADDR] = f(d.0);
                        row[DIR_READ] = Val::ONE;
                    }
                    row[TAG] = Val::from_u8(op.tag);
                }
                Op::Horner(op) => {
                    use horner::prep::*;
                    let chained = self.horner_chained[horner_index];
                    horner_index += 1;
                    if chained {
                        row[ACC_CHAIN] = Val::ONE;
                    } else if let Some(a) = op.acc {
                        row[ACC_ADDR] = f(a);
                        row[ACC_READ] = Val::ONE;
                    }
                    row[ALPHA_ADDR] = f(op.alpha);
                    row[ALPHA_READ] = Val::ONE;
                    for (q, v) in op.values.iter().enumerate() {
                        if let Some(v) = v {
                            row[X_ADDR + q] = f(*v);
                            row[X_READ + q] = Val::ONE;
                        }
                    }
                    for k in 0..op.len as usize {
                        row[ACTIVE + k] = Val::ONE;
                    }
                    row[OUT_ADDR] = f(op.out);
                    row[OUT_MULT] = mult(op.out);
                }
            }
        }
    }

    /// Checks what the tables take on trust from the program (its preprocessed columns are
    /// fixed by the key, so no prover can change them, but the AIRs do not re-check them):
    /// every read/chain/active flag is 0 or 1, a permutation lane is never both read and
    /// chained, and nothing is chained into the first row of a table (the chain check is a
    /// transition constraint, so row 0 would be free). [`CompiledCircuit::new`] refuses a
    /// program that breaks one; the compiler never writes one.
    pub fn check(&self) -> Result<(), String> {
        let flag = |v: Val| v == Val::ZERO || v == Val::ONE;
        let rows = |t: TableId| {
            let m = &self.preprocessed[t as usize];
            m.values
                .chunks_exact(m.width)
                .enumerate()
                .collect::<Vec<_>>()
        };
        for (r, row) in rows(TableId::Poseidon2) {
            use poseidon2::prep::*;
            for g in 0..poseidon2::GROUPS {
                let (read, chain) = (row[READ + g], row[CHAIN + g]);
                if !flag(read) || !flag(chain) || (read == Val::ONE && chain == Val::ONE) {
                    return Err(format!(
                        "poseidon2 row {r} group {g}: read {read}, chain {chain}"
                    ));
                }
                if r == 0 && chain == Val::ONE {
                    return Err(format!("poseidon2 row 0 group {g} is chained"));
                }
            }
            if !flag(row[DIR_READ]) {
                return Err(format!(
                    "poseidon2 row {r}: direction read flag {}",
                    row[DIR_READ]
                ));
            }
        }
        for (r, row) in rows(TableId::Horner) {
            use horner::prep::*;
            let (read, chain) = (row[ACC_READ], row[ACC_CHAIN]);
            let flags = [read, chain, row[ALPHA_READ], row[X_READ], row[X_READ + 1]]
                .into_iter()
                .chain((0..horner::STEPS).map(|k| row[ACTIVE + k]));
            if flags.into_iter().any(|v| !flag(v)) || (read == Val::ONE && chain == Val::ONE) {
                return Err(format!(
                    "horner row {r}: a flag is not 0/1, or read and chained"
                ));
            }
            if r == 0 && chain == Val::ONE {
                return Err("horner row 0 is chained".into());
            }
            if (0..horner::STEPS)
                .any(|k| row[ACTIVE + k] == Val::ONE && row[X_READ + k / 4] != Val::ONE)
            {
                return Err(format!(
                    "horner row {r}: a step is active over a value cell it does not read"
                ));
            }
        }
        for (r, row) in rows(TableId::Alu) {
            for lane in row.chunks_exact(alu::PREP_PER_LANE) {
                use alu::prep::*;
                if [CNT_A, CNT_B, CNT_C].iter().any(|&c| !flag(lane[c])) {
                    return Err(format!("alu row {r}: an operand read count is not 0/1"));
                }
                let nz = |k: usize| lane[COEFFS + k] != Val::ZERO;
                let used = [nz(0) || nz(1), nz(0) || nz(2), nz(3)];
                if [CNT_A, CNT_B, CNT_C]
                    .iter()
                    .zip(used)
                    .any(|(&c, u)| u && lane[c] != Val::ONE)
                {
                    return Err(format!(
                        "alu row {r}: an operand with a nonzero coefficient is not read"
                    ));
                }
            }
        }
        for (r, row) in rows(TableId::Bits) {
            if !flag(row[bits::prep::READ_V]) {
                return Err(format!("bits row {r}: input read flag is not 0/1"));
            }
        }
        for (r, row) in rows(TableId::Hint) {
            if row.chunks_exact(hints::PREP_PER_LANE).any(|l| !flag(l[2])) {
                return Err(format!("hint row {r}: a base flag is not 0/1"));
            }
        }
        Ok(())
    }

    /// The tables as AIRs, in key order.
    pub fn airs(&self) -> Vec<Arc<dyn StarkAir>> {
        table_airs(self.preprocessed.clone(), self.num_public)
    }
}

/// The tables as AIRs, in key order, over these preprocessed traces.
pub(crate) fn table_airs(
    preprocessed: [RowMajorMatrix<Val>; NUM_TABLES],
    num_public: usize,
) -> Vec<Arc<dyn StarkAir>> {
    let [c, public, hint, alu, bits, poseidon2, horner] = preprocessed;
    vec![
        Arc::new(tables::consts::ConstTable { program: c }),
        Arc::new(tables::public::PublicTable {
            num_public,
            program: public,
        }),
        Arc::new(tables::hints::HintTable { program: hint }),
        Arc::new(tables::alu::AluTable { program: alu }),
        Arc::new(tables::bits::BitsTable { program: bits }),
        Arc::new(tables::poseidon2::Poseidon2Table { program: poseidon2 }),
        Arc::new(tables::horner::HornerTable { program: horner }),
    ]
}

pub(crate) fn limbs(v: &Challenge) -> &[Val] {
    <Challenge as p3_field::BasedVectorSpace<Val>>::as_basis_coefficients_slice(v)
}

/// A compiled circuit: the program and the backend keys committing to it.
pub struct CompiledCircuit {
    pub circuit: Circuit,
    pub program: Program,
    pub config: StarkConfig,
    pub pk: ProvingKey,
}

impl std::fmt::Debug for CompiledCircuit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledCircuit")
            .field("ops", &self.circuit.ops.len())
            .field("heights", &self.program.heights)
            .field("preset", &self.config.preset())
            .finish_non_exhaustive()
    }
}

impl CompiledCircuit {
    /// Compiles `circuit` under `config` (its FRI preset fixes the key).
    pub fn new(circuit: Circuit, config: StarkConfig) -> Result<Self, CompileError> {
        let _span = tracing::info_span!(starkscope_metrics::spans::CIRCUIT_BUILD).entered();
        let program = Program::for_preset(&circuit, config.preset())?;
        program.check().map_err(CompileError::Program)?;
        let pk = keygen(&config, program.airs())?;
        #[cfg(feature = "bench-metrics")]
        {
            crate::instrument::circuit(&circuit);
            crate::instrument::children(&circuit);
        }
        Ok(Self {
            circuit,
            program,
            config,
            pk,
        })
    }

    /// Compiles a program whose preprocessed traces were changed after placement (for
    /// showing what the bus refuses). The key commits to the changed traces;
    /// [`Program::check`] is not run.
    #[cfg(feature = "forge")]
    pub fn with_tampered_program(
        circuit: Circuit,
        config: StarkConfig,
        tamper: impl FnOnce(&mut Program),
    ) -> Result<Self, CompileError> {
        let mut program = Program::for_preset(&circuit, config.preset())?;
        tamper(&mut program);
        let pk = keygen(&config, program.airs())?;
        Ok(Self {
            circuit,
            program,
            config,
            pk,
        })
    }

    /// The same circuit and keys, proven and verified under another configuration (one
    /// with constraints dropped, for ablation).
    #[cfg(feature = "ablation")]
    pub fn with_config(mut self, config: StarkConfig) -> Self {
        self.config = config;
        self
    }

    pub fn vk(&self) -> &starkscope_stark_backend::VerifyingKey {
        &self.pk.vk
    }
}
