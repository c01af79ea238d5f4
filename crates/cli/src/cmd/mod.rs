//! One module per subcommand.

pub mod aggregate;
pub mod keygen;
pub mod measured;
pub mod paths;
pub mod plan;
pub mod prof;
pub mod prove;
pub mod prove_segment;
pub mod run;
pub mod verify;
