//! One module per subcommand.

pub mod prof;
pub mod run;
