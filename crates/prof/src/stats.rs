//! avg / sum / max / min over a set of values.

/// Summary statistics of a non-empty set of values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub count: usize,
    pub sum: f64,
    pub max: f64,
    pub min: f64,
}

/// Which statistic a table cell shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    Avg,
    Sum,
    Max,
    Min,
}

impl Stat {
    pub const ALL: [Stat; 4] = [Stat::Avg, Stat::Sum, Stat::Max, Stat::Min];

    pub fn as_str(self) -> &'static str {
        match self {
            Stat::Avg => "avg",
            Stat::Sum => "sum",
            Stat::Max => "max",
            Stat::Min => "min",
        }
    }
}

impl Stats {
    /// `None` for no values, so that an average never divides by zero.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Self> {
        let mut it = values.into_iter();
        let first = it.next()?;
        let mut s = Stats {
            count: 1,
            sum: first,
            max: first,
            min: first,
        };
        for v in it {
            s.count += 1;
            s.sum += v;
            s.max = s.max.max(v);
            s.min = s.min.min(v);
        }
        Some(s)
    }

    pub fn avg(&self) -> f64 {
        self.sum / self.count as f64
    }

    pub fn get(&self, stat: Stat) -> f64 {
        match stat {
            Stat::Avg => self.avg(),
            Stat::Sum => self.sum,
            Stat::Max => self.max,
            Stat::Min => self.min,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_values() {
        let s = Stats::of([3.0, 1.0, 2.0]).unwrap();
        assert_eq!(
            (s.count, s.sum, s.max, s.min, s.avg()),
            (3, 6.0, 3.0, 1.0, 2.0)
        );
        assert!(Stats::of(std::iter::empty()).is_none());
    }
}
