//! The `group` label: which kind of proof a metric belongs to.

use std::fmt;
use std::str::FromStr;

/// The proof a scoped metric belongs to, as written in the `group` label.
///
/// `Display` and `FromStr` round-trip: `internal.2` <-> `Internal(2)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// An application proof; the program's name, or `app_proof` when it has none.
    App(String),
    /// A leaf aggregation node.
    Leaf,
    /// An internal aggregation layer; height 0 is farthest from the root.
    Internal(u32),
    /// The root of the aggregation tree.
    Root,
    /// Key generation.
    Keygen,
}

impl Group {
    /// The group name of an application proof for a program without a name.
    pub const DEFAULT_APP: &'static str = "app_proof";

    /// An application group, `app_proof` when `name` is empty. A program whose name is a
    /// reserved group (`leaf`, `root`, `keygen`, `internal`, `internal.N`) is renamed
    /// `app.<name>`, so that its segments are never mistaken for a layer of the tree.
    pub fn app(name: impl Into<String>) -> Self {
        let name = name.into();
        if name.is_empty() {
            Group::App(Self::DEFAULT_APP.to_string())
        } else if matches!(name.parse::<Group>(), Ok(Group::App(_))) {
            Group::App(name)
        } else {
            Group::App(format!("app.{name}"))
        }
    }

    /// True for application (segment) proofs, false for aggregation layers and keygen.
    pub fn is_app(&self) -> bool {
        matches!(self, Group::App(_))
    }

    /// True for leaf, internal and root layers.
    pub fn is_aggregation(&self) -> bool {
        matches!(self, Group::Leaf | Group::Internal(_) | Group::Root)
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Group::App(name) => f.write_str(name),
            Group::Leaf => f.write_str("leaf"),
            Group::Internal(hgt) => write!(f, "internal.{hgt}"),
            Group::Root => f.write_str("root"),
            Group::Keygen => f.write_str("keygen"),
        }
    }
}

/// A `group` label that cannot name a group.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupParseError {
    #[error("empty group name")]
    Empty,
    #[error("bad internal layer height in group `{0}`: expected `internal.<height>`")]
    BadHeight(String),
}

impl FromStr for Group {
    type Err = GroupParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" => Err(GroupParseError::Empty),
            "leaf" => Ok(Group::Leaf),
            "root" => Ok(Group::Root),
            "keygen" => Ok(Group::Keygen),
            _ => match s.strip_prefix("internal.") {
                Some(hgt) => hgt
                    .parse()
                    .map(Group::Internal)
                    .map_err(|_| GroupParseError::BadHeight(s.to_string())),
                None if s == "internal" => Err(GroupParseError::BadHeight(s.to_string())),
                None => Ok(Group::App(s.to_string())),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        for g in [
            Group::app("fibonacci"),
            Group::app(""),
            Group::Leaf,
            Group::Internal(0),
            Group::Internal(2),
            Group::Root,
            Group::Keygen,
        ] {
            let s = g.to_string();
            assert_eq!(s.parse::<Group>().unwrap(), g, "{s}");
        }
        assert_eq!("internal.2".parse::<Group>().unwrap(), Group::Internal(2));
        assert_eq!(Group::Internal(2).to_string(), "internal.2");
        assert_eq!(Group::app("").to_string(), "app_proof");
    }

    #[test]
    fn programs_named_like_a_layer_are_renamed() {
        for name in [
            "leaf",
            "root",
            "keygen",
            "internal",
            "internal.0",
            "internal.x",
        ] {
            let g = Group::app(name);
            assert_eq!(g.to_string(), format!("app.{name}"));
            assert_eq!(g.to_string().parse::<Group>().unwrap(), g, "{name}");
            assert!(g.is_app());
        }
        assert_eq!(Group::app("leafy").to_string(), "leafy");
    }

    #[test]
    fn malformed_groups_are_errors() {
        assert_eq!("".parse::<Group>(), Err(GroupParseError::Empty));
        assert!(matches!(
            "internal.x".parse::<Group>(),
            Err(GroupParseError::BadHeight(_))
        ));
        assert!(matches!(
            "internal.".parse::<Group>(),
            Err(GroupParseError::BadHeight(_))
        ));
        assert!(matches!(
            "internal".parse::<Group>(),
            Err(GroupParseError::BadHeight(_))
        ));
    }
}
