//! Building programs from Rust: the same programs the assembler makes, for generated
//! programs and tests.
//!
//! ```
//! use starkscope_vm::ProgramBuilder;
//! let mut b = ProgramBuilder::new("count");
//! b.li(0, 10);
//! let top = b.here();
//! b.addi(0, 0, -1);
//! b.bnei(0, 0, top);
//! b.out(0);
//! b.halt(0);
//! let program = b.build().unwrap();
//! assert_eq!(program.instructions.len(), 5);
//! ```

use std::collections::BTreeMap;

use p3_field::PrimeCharacteristicRing;

use crate::field::{from_signed, F};
use crate::isa::{Instruction, Opcode};
use crate::program::{place_markers, Marker, MarkerAt, Program, ProgramError, ProgramErrorKind};

/// A jump target, bound to a pc with [`ProgramBuilder::bind`] before or after its uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Label(usize);

/// Something usable as a field immediate.
pub trait IntoImm {
    fn into_imm(self) -> F;
}

impl IntoImm for F {
    fn into_imm(self) -> F {
        self
    }
}

impl IntoImm for u32 {
    /// Reduced modulo p.
    fn into_imm(self) -> F {
        F::from_u32(self)
    }
}

impl IntoImm for i32 {
    /// Negative values wrap: `-1` is `p - 1`.
    fn into_imm(self) -> F {
        from_signed(self as i128).unwrap_or(F::ZERO)
    }
}

#[derive(Clone, Copy, Debug)]
enum Slot {
    Value(F),
    Label(Label),
}

/// Why [`ProgramBuilder::build`] failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("label #{label} is used by the instruction at pc {used_at} but never bound")]
    UnboundLabel { label: usize, used_at: u32 },
    #[error("label #{label} is bound twice (at pc {first} and at pc {second})")]
    LabelBoundTwice {
        label: usize,
        first: u32,
        second: u32,
    },
    #[error(transparent)]
    Invalid(#[from] ProgramError),
}

/// Emits instructions, labels, markers and initial data; [`build`](Self::build) resolves
/// the labels and validates the result.
#[derive(Clone, Debug)]
pub struct ProgramBuilder {
    name: String,
    code: Vec<(Opcode, [Slot; 3])>,
    labels: Vec<Option<u32>>,
    /// Per bound label: its pc and how many markers of that pc were emitted before it.
    label_places: Vec<(u32, usize)>,
    rebound: Option<BuildError>,
    data: BTreeMap<u32, F>,
    markers: Vec<MarkerAt>,
}

impl ProgramBuilder {
    pub fn new(name: impl Into<String>) -> Self {
        ProgramBuilder {
            name: name.into(),
            code: Vec::new(),
            labels: Vec::new(),
            label_places: Vec::new(),
            rebound: None,
            data: BTreeMap::new(),
            markers: Vec::new(),
        }
    }

    /// The pc the next instruction will get.
    pub fn pc(&self) -> u32 {
        self.code.len() as u32
    }

    /// A new, unbound label.
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Binds `label` to the next instruction's pc.
    pub fn bind(&mut self, label: Label) {
        let pc = self.pc();
        match self.labels[label.0] {
            Some(first) if self.rebound.is_none() => {
                self.rebound = Some(BuildError::LabelBoundTwice {
                    label: label.0,
                    first,
                    second: pc,
                });
            }
            Some(_) => {}
            None => {
                self.labels[label.0] = Some(pc);
                let before = self.markers.iter().rev().take_while(|m| m.pc == pc).count();
                self.label_places.push((pc, before));
            }
        }
    }

    /// A new label bound to the next instruction's pc.
    pub fn here(&mut self) -> Label {
        let l = self.label();
        self.bind(l);
        l
    }

    /// Sets initial memory from `addr` on.
    pub fn data(&mut self, addr: u32, values: &[F]) -> &mut Self {
        for (i, &v) in values.iter().enumerate() {
            self.data.insert(addr.wrapping_add(i as u32), v);
        }
        self
    }

    /// `ct_start "name"` before the next instruction.
    pub fn ct_start(&mut self, name: impl Into<String>) -> &mut Self {
        let pc = self.pc();
        self.markers
            .push(MarkerAt::new(pc, Marker::Start(name.into())));
        self
    }

    /// `ct_end` before the next instruction.
    pub fn ct_end(&mut self) -> &mut Self {
        let pc = self.pc();
        self.markers.push(MarkerAt::new(pc, Marker::End));
        self
    }

    /// Appends an already-encoded instruction.
    pub fn push(&mut self, ins: Instruction) -> &mut Self {
        self.code.push((
            ins.opcode,
            [Slot::Value(ins.a), Slot::Value(ins.b), Slot::Value(ins.c)],
        ));
        self
    }

    fn emit(&mut self, op: Opcode, slots: [Slot; 3]) -> &mut Self {
        self.code.push((op, slots));
        self
    }

    /// Resolves labels and validates the program.
    pub fn build(&self) -> Result<Program, BuildError> {
        if let Some(e) = &self.rebound {
            return Err(e.clone());
        }
        let mut instructions = Vec::with_capacity(self.code.len());
        for (pc, (opcode, slots)) in self.code.iter().enumerate() {
            let mut v = [F::ZERO; 3];
            for (i, slot) in slots.iter().enumerate() {
                v[i] = match *slot {
                    Slot::Value(x) => x,
                    Slot::Label(l) => match self.labels[l.0] {
                        Some(target) => F::from_u32(target),
                        None => {
                            return Err(BuildError::UnboundLabel {
                                label: l.0,
                                used_at: pc as u32,
                            })
                        }
                    },
                };
            }
            instructions.push(Instruction::new(*opcode, v[0], v[1], v[2]));
        }
        let mut markers = self.markers.clone();
        if let Err(j) = place_markers(&mut markers, &self.label_places) {
            let pc = markers[j].pc;
            return Err(BuildError::Invalid(ProgramError {
                pc: Some(pc),
                location: None,
                kind: ProgramErrorKind::AmbiguousMarker { pc },
            }));
        }
        let program = Program {
            name: self.name.clone(),
            instructions,
            data: self.data.clone(),
            markers,
            source: None,
        };
        program.validate()?;
        Ok(program)
    }
}

fn a(x: u32) -> Slot {
    Slot::Value(F::from_u32(x))
}

fn imm(x: impl IntoImm) -> Slot {
    Slot::Value(x.into_imm())
}

const Z: Slot = Slot::Value(F::ZERO);

/// One method per opcode; addresses are `u32`, immediates anything [`IntoImm`].
impl ProgramBuilder {
    pub fn add(&mut self, dst: u32, x: u32, y: u32) -> &mut Self {
        self.emit(Opcode::Add, [a(dst), a(x), a(y)])
    }
    pub fn sub(&mut self, dst: u32, x: u32, y: u32) -> &mut Self {
        self.emit(Opcode::Sub, [a(dst), a(x), a(y)])
    }
    pub fn mul(&mut self, dst: u32, x: u32, y: u32) -> &mut Self {
        self.emit(Opcode::Mul, [a(dst), a(x), a(y)])
    }
    pub fn inv(&mut self, dst: u32, x: u32) -> &mut Self {
        self.emit(Opcode::Inv, [a(dst), a(x), Z])
    }
    pub fn addi(&mut self, dst: u32, x: u32, k: impl IntoImm) -> &mut Self {
        self.emit(Opcode::AddI, [a(dst), a(x), imm(k)])
    }
    pub fn muli(&mut self, dst: u32, x: u32, k: impl IntoImm) -> &mut Self {
        self.emit(Opcode::MulI, [a(dst), a(x), imm(k)])
    }
    pub fn eadd(&mut self, dst: u32, x: u32, y: u32) -> &mut Self {
        self.emit(Opcode::EAdd, [a(dst), a(x), a(y)])
    }
    pub fn esub(&mut self, dst: u32, x: u32, y: u32) -> &mut Self {
        self.emit(Opcode::ESub, [a(dst), a(x), a(y)])
    }
    pub fn emul(&mut self, dst: u32, x: u32, y: u32) -> &mut Self {
        self.emit(Opcode::EMul, [a(dst), a(x), a(y)])
    }
    pub fn einv(&mut self, dst: u32, x: u32) -> &mut Self {
        self.emit(Opcode::EInv, [a(dst), a(x), Z])
    }
    pub fn li(&mut self, dst: u32, k: impl IntoImm) -> &mut Self {
        self.emit(Opcode::Li, [a(dst), imm(k), Z])
    }
    pub fn mov(&mut self, dst: u32, src: u32) -> &mut Self {
        self.emit(Opcode::Mov, [a(dst), a(src), Z])
    }
    /// `m[dst] = m[m[base] + offset]`.
    pub fn load(&mut self, dst: u32, base: u32, offset: impl IntoImm) -> &mut Self {
        self.emit(Opcode::Load, [a(dst), a(base), imm(offset)])
    }
    /// `m[m[base] + offset] = m[src]`.
    pub fn store(&mut self, src: u32, base: u32, offset: impl IntoImm) -> &mut Self {
        self.emit(Opcode::Store, [a(src), a(base), imm(offset)])
    }
    pub fn beq(&mut self, x: u32, y: u32, target: Label) -> &mut Self {
        self.emit(Opcode::Beq, [a(x), a(y), Slot::Label(target)])
    }
    pub fn bne(&mut self, x: u32, y: u32, target: Label) -> &mut Self {
        self.emit(Opcode::Bne, [a(x), a(y), Slot::Label(target)])
    }
    pub fn beqi(&mut self, x: u32, k: impl IntoImm, target: Label) -> &mut Self {
        self.emit(Opcode::BeqI, [a(x), imm(k), Slot::Label(target)])
    }
    pub fn bnei(&mut self, x: u32, k: impl IntoImm, target: Label) -> &mut Self {
        self.emit(Opcode::BneI, [a(x), imm(k), Slot::Label(target)])
    }
    /// `m[link] = pc + 1; pc = target`.
    pub fn jal(&mut self, link: u32, target: Label) -> &mut Self {
        self.emit(Opcode::Jal, [a(link), Slot::Label(target), Z])
    }
    /// `m[link] = pc + 1; pc = m[dest]`.
    pub fn jalr(&mut self, link: u32, dest: u32) -> &mut Self {
        self.emit(Opcode::Jalr, [a(link), a(dest), Z])
    }
    pub fn jmp(&mut self, target: Label) -> &mut Self {
        self.emit(Opcode::Jmp, [Slot::Label(target), Z, Z])
    }
    pub fn lt(&mut self, dst: u32, x: u32, y: u32) -> &mut Self {
        self.emit(Opcode::Lt, [a(dst), a(x), a(y)])
    }
    pub fn poseidon2(&mut self, dst: u32, src: u32) -> &mut Self {
        self.emit(Opcode::Poseidon2, [a(dst), a(src), Z])
    }
    pub fn hint(&mut self, dst: u32) -> &mut Self {
        self.emit(Opcode::Hint, [a(dst), Z, Z])
    }
    pub fn out(&mut self, src: u32) -> &mut Self {
        self.emit(Opcode::Out, [a(src), Z, Z])
    }
    pub fn halt(&mut self, code: u32) -> &mut Self {
        self.emit(Opcode::Halt, [a(code), Z, Z])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_and_backward_labels_resolve() {
        let mut b = ProgramBuilder::new("t");
        let end = b.label();
        let top = b.here();
        b.jmp(end);
        b.jmp(top);
        b.bind(end);
        b.halt(0);
        let p = b.build().unwrap();
        assert_eq!(p.instructions[0].a, F::from_u32(2));
        assert_eq!(p.instructions[1].a, F::from_u32(0));
    }

    #[test]
    fn unbound_and_rebound_labels_are_errors() {
        let mut b = ProgramBuilder::new("t");
        let l = b.label();
        b.jmp(l);
        assert_eq!(
            b.build(),
            Err(BuildError::UnboundLabel {
                label: 0,
                used_at: 0
            })
        );
        b.bind(l);
        b.halt(0);
        b.bind(l);
        assert!(matches!(
            b.build(),
            Err(BuildError::LabelBoundTwice {
                label: 0,
                first: 1,
                second: 2
            })
        ));
    }

    #[test]
    fn markers_know_which_side_of_the_labels_they_are() {
        let mut b = ProgramBuilder::new("t");
        b.ct_start("outer");
        let top = b.here();
        b.ct_start("inner");
        b.jmp(top);
        b.ct_end().ct_end().halt(0);
        let p = b.build().unwrap();
        let skipped: Vec<bool> = p.markers.iter().map(|m| m.skipped_by_jumps).collect();
        assert_eq!(skipped, vec![true, false, false, false]);

        let mut b = ProgramBuilder::new("t");
        let first = b.here();
        b.ct_start("x");
        let second = b.here();
        b.jmp(first).jmp(second).ct_end().halt(0);
        match b.build() {
            Err(BuildError::Invalid(e)) => {
                assert_eq!(e.kind, ProgramErrorKind::AmbiguousMarker { pc: 0 })
            }
            other => panic!("expected an ambiguity error, got {other:?}"),
        }
    }

    #[test]
    fn out_of_range_addresses_are_rejected() {
        let mut b = ProgramBuilder::new("t");
        b.eadd(crate::isa::MEMORY_SIZE as u32 - 2, 0, 0).halt(0);
        match b.build() {
            Err(BuildError::Invalid(e)) => {
                assert_eq!(e.pc, Some(0));
                assert!(matches!(
                    e.kind,
                    ProgramErrorKind::OperandOutOfRange { slot: 0, .. }
                ));
            }
            other => panic!("expected an operand error, got {other:?}"),
        }
    }
}
