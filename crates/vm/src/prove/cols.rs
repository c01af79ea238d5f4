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

    /// Number of columns allocated so far: the chip's width when done.
    pub(crate) fn width(&self) -> usize {
        self.0
    }
}
