//! The machine word: a BabyBear element, and the degree-4 extension the `e*` opcodes use.

use p3_field::extension::BinomialExtensionField;
use p3_field::{BasedVectorSpace, PrimeCharacteristicRing, PrimeField32};

/// A machine word.
pub type F = p3_baby_bear::BabyBear;

/// The degree-4 binomial extension `F[X] / (X^4 - 11)`, as the backend's challenge field.
pub type EF = BinomialExtensionField<F, 4>;

/// The BabyBear modulus, `2^31 - 2^27 + 1`.
pub const MODULUS: u32 = F::ORDER_U32;

/// Degree of the extension field: an extension operand spans this many cells.
pub const EXT_DEGREE: usize = 4;

/// The field element with canonical value `v`, or `None` when `v >= MODULUS`.
pub fn from_canonical(v: u64) -> Option<F> {
    (v < MODULUS as u64).then(|| F::from_u32(v as u32))
}

/// A signed integer in `(-MODULUS, MODULUS)` as a field element (negatives wrap), else `None`.
pub fn from_signed(v: i128) -> Option<F> {
    let p = MODULUS as i128;
    if v <= -p || v >= p {
        return None;
    }
    Some(F::from_u32(v.rem_euclid(p) as u32))
}

/// The canonical value of a word.
#[inline(always)]
pub fn canonical(x: F) -> u32 {
    x.as_canonical_u32()
}

/// Reads an extension element from 4 coefficient cells (coefficient of `X^i` at index `i`).
#[inline(always)]
pub fn ext_from_cells(cells: [F; EXT_DEGREE]) -> EF {
    EF::new(cells)
}

/// The 4 coefficient cells of an extension element.
#[inline(always)]
pub fn ext_to_cells(x: EF) -> [F; EXT_DEGREE] {
    let c = x.as_basis_coefficients_slice();
    [c[0], c[1], c[2], c[3]]
}

/// Parses a numeric literal as the assembler and the CLI accept it: decimal, `0x` hex or
/// `0b` binary, `_` separators allowed, an optional leading `-` (wraps modulo p).
pub fn parse_field_literal(text: &str) -> Result<F, String> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let magnitude = parse_u64_literal(body).ok_or_else(|| format!("`{text}` is not a number"))?;
    let signed = if neg {
        -(magnitude as i128)
    } else {
        magnitude as i128
    };
    from_signed(signed).ok_or_else(|| {
        format!("`{text}` is outside the field: values must lie in (-{MODULUS}, {MODULUS})")
    })
}

/// Parses a list of literals (command-line inputs, say); an error names the 0-based index
/// of the first bad one.
pub fn parse_field_literals<S: AsRef<str>>(items: &[S]) -> Result<Vec<F>, (usize, String)> {
    items
        .iter()
        .enumerate()
        .map(|(i, s)| parse_field_literal(s.as_ref()).map_err(|e| (i, e)))
        .collect()
}

/// Parses a hint-input text: literals separated by whitespace or commas, `#` or `;` starting
/// a comment to the end of the line. An error names the 1-based line.
pub fn parse_hint_text(text: &str) -> Result<Vec<F>, (usize, String)> {
    let mut values = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let data = line.split(['#', ';']).next().unwrap_or("");
        for word in data
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
        {
            values.push(parse_field_literal(word).map_err(|e| (i + 1, e))?);
        }
    }
    Ok(values)
}

/// Parses an unsigned literal: decimal, `0x` hex or `0b` binary, with `_` separators.
pub(crate) fn parse_u64_literal(text: &str) -> Option<u64> {
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    let (radix, digits) = if let Some(h) = cleaned
        .strip_prefix("0x")
        .or_else(|| cleaned.strip_prefix("0X"))
    {
        (16, h)
    } else if let Some(b) = cleaned
        .strip_prefix("0b")
        .or_else(|| cleaned.strip_prefix("0B"))
    {
        (2, b)
    } else {
        (10, cleaned.as_str())
    };
    if digits.is_empty() || text.starts_with('_') {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(parse_field_literal("10").unwrap(), F::from_u32(10));
        assert_eq!(parse_field_literal("0x10").unwrap(), F::from_u32(16));
        assert_eq!(parse_field_literal("0b101").unwrap(), F::from_u32(5));
        assert_eq!(parse_field_literal("1_000").unwrap(), F::from_u32(1000));
        assert_eq!(parse_field_literal("-1").unwrap(), F::from_u32(MODULUS - 1));
        assert!(parse_field_literal(&MODULUS.to_string()).is_err());
        assert!(parse_field_literal("x").is_err());
        assert!(parse_field_literal("").is_err());
        assert!(parse_field_literal("0x").is_err());
    }

    #[test]
    fn extension_cells_round_trip() {
        let cells = [1u32, 2, 3, 4].map(F::from_u32);
        assert_eq!(ext_to_cells(ext_from_cells(cells)), cells);
    }
}
