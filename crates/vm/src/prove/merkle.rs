//! Memory as a Poseidon2 Merkle tree, natively and in the Merkle chip.
//!
//! The tree has one leaf per cell (depth [`MEMORY_BITS`]); a leaf's digest is
//! `[value, 0, 0, 0, 0, 0, 0, 0]` and a node's is `compress(left || right)`. A segment's
//! Merkle chip has one row per inner node on the paths of the cells it touched, holding
//! the node's children before and after the segment. A touched child comes over the Merkle
//! bus (from the boundary chip for leaves, from a lower row otherwise); an untouched child
//! is a sibling witness that must be the same before and after, so cells the segment did
//! not touch cannot change. The first row is the root, whose digests are the public roots,
//! and no other row is: so every real row hangs off that one root and every node, leaves
//! included, has at most one row (the argument is in docs/vm-proving.md).

use std::collections::{BTreeSet, HashMap};

use starkscope_stark_backend::p3::{
    Air, AirBuilder, BaseAir, PrimeCharacteristicRing, RowMajorMatrix, WindowAccess,
};
use starkscope_stark_backend::{Count, InteractionBuilder, StarkAir, Val};

use super::buses;
use super::cols::ColAlloc;
use super::poseidon2_chip::{compress, Poseidon2Requests, DIGEST};
use crate::exec::Segment;
use crate::isa::MEMORY_BITS;

/// A digest.
pub type Digest = [Val; DIGEST];

/// Public values of the Merkle chip: the root before, then after, the segment.
pub mod pv {
    pub const ROOT_BEFORE: usize = 0;
    pub const ROOT_AFTER: usize = super::DIGEST;
    pub const COUNT: usize = 2 * super::DIGEST;
}

pub(crate) fn leaf(value: Val) -> Digest {
    let mut d = [Val::ZERO; DIGEST];
    d[0] = value;
    d
}

pub(crate) fn join(left: &Digest, right: &Digest) -> [Val; 16] {
    let mut input = [Val::ZERO; 16];
    input[..DIGEST].copy_from_slice(left);
    input[DIGEST..].copy_from_slice(right);
    input
}

/// The whole memory as a sparse Merkle tree: nodes equal to an all-zero subtree are not
/// stored.
#[derive(Clone, Debug)]
pub struct MemoryTree {
    /// `levels[l]`: stored nodes at height `l` (0 = leaves), by index.
    levels: Vec<HashMap<u32, Digest>>,
    /// Digest of an all-zero subtree of each height.
    zeros: Vec<Digest>,
}

impl MemoryTree {
    /// The tree of a memory whose cells are zero except `cells`.
    pub fn new(cells: impl IntoIterator<Item = (u32, Val)>) -> Self {
        let depth = MEMORY_BITS as usize;
        let mut zeros = vec![leaf(Val::ZERO)];
        for l in 0..depth {
            let z = zeros[l];
            zeros.push(compress(join(&z, &z)));
        }
        let mut tree = MemoryTree {
            levels: vec![HashMap::new(); depth + 1],
            zeros,
        };
        let updates: Vec<(u32, Val)> = cells.into_iter().collect();
        tree.update(&updates);
        tree
    }

    /// The digest of node `index` at height `level`.
    pub fn node(&self, level: usize, index: u32) -> Digest {
        self.levels[level]
            .get(&index)
            .copied()
            .unwrap_or(self.zeros[level])
    }

    pub fn root(&self) -> Digest {
        self.node(MEMORY_BITS as usize, 0)
    }

    /// Sets cells and rehashes their paths.
    pub fn update(&mut self, cells: &[(u32, Val)]) {
        let mut dirty: BTreeSet<u32> = BTreeSet::new();
        for &(addr, v) in cells {
            self.levels[0].insert(addr, leaf(v));
            dirty.insert(addr);
        }
        for level in 1..=MEMORY_BITS as usize {
            let parents: BTreeSet<u32> = dirty.iter().map(|i| i / 2).collect();
            for &p in &parents {
                let d = compress(join(
                    &self.node(level - 1, 2 * p),
                    &self.node(level - 1, 2 * p + 1),
                ));
                self.levels[level].insert(p, d);
            }
            dirty = parents;
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Layout {
    pub(crate) is_real: usize,
    pub(crate) is_root: usize,
    pub(crate) level: usize,
    pub(crate) index: usize,
    pub(crate) left_touched: usize,
    pub(crate) right_touched: usize,
    pub(crate) left_before: [usize; DIGEST],
    pub(crate) right_before: [usize; DIGEST],
    pub(crate) left_after: [usize; DIGEST],
    pub(crate) right_after: [usize; DIGEST],
    pub(crate) out_before: [usize; DIGEST],
    pub(crate) out_after: [usize; DIGEST],
    /// Committed width (zero columns after the `used` ones).
    pub(crate) width: usize,
    /// Columns the chip reads.
    pub(crate) used: usize,
}

impl Layout {
    fn new() -> Self {
        let mut a = ColAlloc::new();
        let mut l = Layout {
            is_real: a.one(),
            is_root: a.one(),
            level: a.one(),
            index: a.one(),
            left_touched: a.one(),
            right_touched: a.one(),
            left_before: a.array(),
            right_before: a.array(),
            left_after: a.array(),
            right_after: a.array(),
            out_before: a.array(),
            out_after: a.array(),
            width: 0,
            used: 0,
        };
        l.width = a.padded_width();
        l.used = a.used();
        l
    }
}

/// The Merkle chip.
#[derive(Clone, Debug)]
pub struct MerkleChip {
    layout: Layout,
}

impl Default for MerkleChip {
    fn default() -> Self {
        Self {
            layout: Layout::new(),
        }
    }
}

impl MerkleChip {
    /// Column indices (for building lying witnesses in soundness tests).
    #[cfg(feature = "forge")]
    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }
}

impl MerkleChip {
    /// Columns the chip reads (the committed width less its zero columns).
    pub(crate) fn used_width(&self) -> usize {
        self.layout.used
    }
}

impl BaseAir<Val> for MerkleChip {
    fn width(&self) -> usize {
        self.layout.width
    }
    fn num_public_values(&self) -> usize {
        pv::COUNT
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        vec![self.layout.is_root]
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for MerkleChip {
    fn eval(&self, b: &mut AB) {
        let l = &self.layout;
        let main = b.main();
        let row: Vec<AB::Var> = main.current_slice().to_vec();
        let next_is_root: AB::Expr = main.next_slice()[l.is_root].into();
        let pvs: Vec<AB::Expr> = b.public_values().iter().map(|&v| v.into()).collect();
        let e = |i: usize| -> AB::Expr { row[i].into() };
        let digest =
            |cols: &[usize; DIGEST]| -> Vec<AB::Expr> { cols.iter().map(|&i| e(i)).collect() };
        let one = AB::Expr::ONE;

        let (is_real, is_root) = (e(l.is_real), e(l.is_root));
        let (lt, rt) = (e(l.left_touched), e(l.right_touched));
        b.assert_bool(is_real.clone());
        // No flag is set on a padding row. (is_root needs no booleanity check: the two
        // constraints below fix it to 1 on row 0 and 0 everywhere else.)
        for flag in [&is_root, &lt, &rt] {
            b.assert_zero(flag.clone() * (one.clone() - is_real.clone()));
        }
        b.assert_bool(lt.clone());
        b.assert_bool(rt.clone());
        // Exactly one root, on row 0: a second root row would anchor a second copy of a
        // path, and with it a second history for a cell (see docs/vm-proving.md).
        // (Plonky3's first-row selector is not 0/1, so `is_root == is_first_row` would not
        // do: these two constraints only use it as a filter.)
        b.when_first_row().assert_one(is_root.clone());
        b.when_transition().assert_zero(next_is_root);
        b.assert_zero(is_root.clone() * (e(l.level) - AB::Expr::from_u32(MEMORY_BITS)));
        b.assert_zero(is_root.clone() * e(l.index));

        for i in 0..DIGEST {
            b.assert_zero((one.clone() - lt.clone()) * (e(l.left_before[i]) - e(l.left_after[i])));
            b.assert_zero(
                (one.clone() - rt.clone()) * (e(l.right_before[i]) - e(l.right_after[i])),
            );
            b.assert_zero(
                is_root.clone() * (e(l.out_before[i]) - pvs[pv::ROOT_BEFORE + i].clone()),
            );
            b.assert_zero(is_root.clone() * (e(l.out_after[i]) - pvs[pv::ROOT_AFTER + i].clone()));
        }

        let child_level = e(l.level) - one.clone();
        let left_index = e(l.index) * AB::Expr::TWO;
        let node = |level: AB::Expr,
                    index: AB::Expr,
                    before: &[usize; DIGEST],
                    after: &[usize; DIGEST]| {
            let mut t = vec![level, index];
            t.extend(digest(before));
            t.extend(digest(after));
            t
        };
        b.push_interaction(
            buses::MERKLE,
            node(
                child_level.clone(),
                left_index.clone(),
                &l.left_before,
                &l.left_after,
            ),
            -Count::bounded(lt, 1),
        );
        b.push_interaction(
            buses::MERKLE,
            node(
                child_level,
                left_index + one.clone(),
                &l.right_before,
                &l.right_after,
            ),
            -Count::bounded(rt, 1),
        );
        b.push_interaction(
            buses::MERKLE,
            node(e(l.level), e(l.index), &l.out_before, &l.out_after),
            Count::bounded(is_real.clone() - is_root, 1),
        );
        for (left, right, out) in [
            (&l.left_before, &l.right_before, &l.out_before),
            (&l.left_after, &l.right_after, &l.out_after),
        ] {
            let mut t = digest(left);
            t.extend(digest(right));
            t.extend(digest(out));
            b.push_interaction(buses::COMPRESS, t, Count::bounded(is_real.clone(), 1));
        }
    }
}

impl StarkAir for MerkleChip {
    fn name(&self) -> String {
        "merkle".into()
    }
}

impl MerkleChip {
    /// The rows for `segment`, updating `tree` from the state before the segment to the
    /// state after. Returns the trace, its public values and the used rows.
    pub(crate) fn generate(
        &self,
        segment: &Segment,
        tree: &mut MemoryTree,
        requests: &mut Poseidon2Requests,
    ) -> (RowMajorMatrix<Val>, Vec<Val>, usize) {
        let l = &self.layout;
        let depth = MEMORY_BITS as usize;
        // Nodes on the touched paths, per level, root first.
        let mut sets: Vec<BTreeSet<u32>> = vec![segment.touched.iter().map(|c| c.addr).collect()];
        for level in 1..=depth {
            let parents = sets[level - 1].iter().map(|i| i / 2).collect();
            sets.push(parents);
        }
        // The root row is there even when nothing was touched: it proves the root unchanged.
        sets[depth].insert(0);
        let node_before = |tree: &MemoryTree| -> HashMap<(usize, u32), Digest> {
            let mut m = HashMap::new();
            for (level, set) in sets.iter().enumerate().skip(1) {
                for &i in set {
                    for (lv, idx) in [(level, i), (level - 1, 2 * i), (level - 1, 2 * i + 1)] {
                        m.entry((lv, idx)).or_insert_with(|| tree.node(lv, idx));
                    }
                }
            }
            m
        };
        let before = node_before(tree);
        let root_before = tree.root();
        let updates: Vec<(u32, Val)> = segment.touched.iter().map(|c| (c.addr, c.last)).collect();
        tree.update(&updates);
        let after = node_before(tree);
        let root_after = tree.root();

        let used: usize = sets[1..].iter().map(BTreeSet::len).sum();
        let height = used.next_power_of_two().max(2);
        let mut values = Val::zero_vec(l.width * height);
        let mut rows = values.chunks_exact_mut(l.width);
        let mut emit = |level: usize, i: u32, lt: bool, rt: bool| {
            let row = rows.next().expect("height covers every node");
            row[l.is_real] = Val::ONE;
            row[l.is_root] = Val::from_bool(level == depth);
            row[l.level] = Val::from_usize(level);
            row[l.index] = Val::from_u32(i);
            row[l.left_touched] = Val::from_bool(lt);
            row[l.right_touched] = Val::from_bool(rt);
            let get = |m: &HashMap<(usize, u32), Digest>, k| m[&k];
            let (lb, rb) = (
                get(&before, (level - 1, 2 * i)),
                get(&before, (level - 1, 2 * i + 1)),
            );
            let (la, ra) = (
                get(&after, (level - 1, 2 * i)),
                get(&after, (level - 1, 2 * i + 1)),
            );
            let (ob, oa) = (get(&before, (level, i)), get(&after, (level, i)));
            for k in 0..DIGEST {
                row[l.left_before[k]] = lb[k];
                row[l.right_before[k]] = rb[k];
                row[l.left_after[k]] = la[k];
                row[l.right_after[k]] = ra[k];
                row[l.out_before[k]] = ob[k];
                row[l.out_after[k]] = oa[k];
            }
            requests.compress(join(&lb, &rb));
            requests.compress(join(&la, &ra));
        };
        for level in (1..=depth).rev() {
            for &i in &sets[level] {
                let lt = sets[level - 1].contains(&(2 * i));
                let rt = sets[level - 1].contains(&(2 * i + 1));
                emit(level, i, lt, rt);
            }
        }

        let mut public_values = Val::zero_vec(pv::COUNT);
        public_values[pv::ROOT_BEFORE..pv::ROOT_BEFORE + DIGEST].copy_from_slice(&root_before);
        public_values[pv::ROOT_AFTER..pv::ROOT_AFTER + DIGEST].copy_from_slice(&root_after);
        (RowMajorMatrix::new(values, l.width), public_values, used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_tree_matches_a_dense_rehash() {
        let mut t = MemoryTree::new([(5, Val::from_u32(7)), (1 << 19, Val::from_u32(9))]);
        let root1 = t.root();
        t.update(&[(5, Val::ZERO), (1 << 19, Val::ZERO)]);
        assert_eq!(
            t.root(),
            MemoryTree::new([]).root(),
            "zeroing every cell gives the empty tree"
        );
        t.update(&[(5, Val::from_u32(7)), (1 << 19, Val::from_u32(9))]);
        assert_eq!(t.root(), root1);
        assert_ne!(root1, MemoryTree::new([(5, Val::from_u32(8))]).root());
    }
}
