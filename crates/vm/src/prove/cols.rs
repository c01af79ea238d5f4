//! Column layouts by index: each chip allocates its columns once, in order, and reads rows
//! through the indices. Keeps a chip's layout in one struct without unsafe transmutes.

/// Hands out consecutive column indices.
#[derive(Debug, Default)]
pub(crate) struct ColAlloc(usize);

impl ColAlloc {
    pub(crate) fn new() -> Self {
        Self(0)
    }

    pub(crate) fn one(&mut self) -> usize {
        self.0 += 1;
        self.0 - 1
    }

    pub(crate) fn array<const N: usize>(&mut self) -> [usize; N] {
        std::array::from_fn(|_| self.one())
    }

    /// Number of columns allocated so far: the columns the chip reads.
    pub(crate) fn used(&self) -> usize {
        self.0
    }

    /// The chip's committed width: the columns allocated so far, padded by [`padded`].
    pub(crate) fn padded_width(&self) -> usize {
        padded(self.0)
    }
}

/// A chip's committed main width for `used` columns: a multiple of 8 (4 for a chip of at
/// most 4 columns). The verifier circuit hashes a Merkle leaf of several matrices in a
/// sponge of rate 8, and a matrix that can share a height with a variable-height matrix
/// must be a multiple of 4 wide; multiples of 8 keep the sponge's phase a constant
/// (docs/vm-proving.md, "Heights and widths"). The extra columns are zero in honest
/// traces and free: no constraint and no bus reads them, so no value in them changes what
/// a proof proves; they are committed and opened like any other column.
pub(crate) const fn padded(used: usize) -> usize {
    if used <= 4 {
        4
    } else {
        used.next_multiple_of(8)
    }
}
