//! Numbers and changes as text.

use crate::diff::{Delta, Verdict};

/// A value for a table: integers with thousands separators, fractions with a precision
/// that keeps sub-millisecond timings visible.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return group_thousands(&format!("{}", v as i64));
    }
    let a = v.abs();
    let s = if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    match s.split_once('.') {
        Some((int, frac)) => format!("{}.{frac}", group_thousands(int)),
        None => group_thousands(&s),
    }
}

fn group_thousands(int: &str) -> String {
    let (sign, digits) = match int.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", int),
    };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// `+1.20 [+10.8%]`, or `+5 [from 0]` when the baseline was zero.
pub fn change(d: &Delta) -> String {
    let sign = if d.abs > 0.0 { "+" } else { "" };
    let rel = match d.rel_pct {
        Some(r) => format!("{}{:.1}%", if r > 0.0 { "+" } else { "" }, r),
        None => "from 0".to_string(),
    };
    format!("{sign}{} [{rel}]", number(d.abs))
}

/// The colour a verdict is shown in.
pub fn colour(v: Verdict) -> Option<&'static str> {
    match v {
        Verdict::Better => Some("green"),
        Verdict::Worse => Some("red"),
        Verdict::Changed => Some("gray"),
        Verdict::Noise => None,
    }
}

/// A change as inline markdown/HTML: coloured by verdict, empty when within the noise.
pub fn change_html(d: &Delta) -> String {
    match colour(d.verdict) {
        Some(c) => format!(" <span style=\"color: {c}\">({})</span>", change(d)),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::delta;
    use crate::metric_info::Better;

    #[test]
    fn numbers() {
        assert_eq!(number(1234567.0), "1,234,567");
        assert_eq!(number(-1234.0), "-1,234");
        assert_eq!(number(12.3456), "12.35");
        assert_eq!(number(0.3124), "0.312");
        assert_eq!(number(1234.56), "1,234.6");
        assert_eq!(number(0.0), "0");
    }

    #[test]
    fn changes() {
        let d = delta(Better::Lower, 100.0, 110.0, 2.0);
        assert_eq!(change(&d), "+10 [+10.0%]");
        assert_eq!(
            change_html(&d),
            " <span style=\"color: red\">(+10 [+10.0%])</span>"
        );
        let d = delta(Better::Lower, 0.0, 3.5, 2.0);
        assert_eq!(change(&d), "+3.50 [from 0]");
        assert_eq!(change_html(&delta(Better::Lower, 100.0, 101.0, 2.0)), "");
        assert!(change_html(&delta(Better::Lower, 100.0, 90.0, 2.0)).contains("green"));
    }
}
