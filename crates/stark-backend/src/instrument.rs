//! Metric emission (only with `bench-metrics`): once per AIR or per proof, never in a
//! loop over rows. Scope labels (`group`, `segment`, `idx`) come from the caller's spans.

use starkscope_metrics::metrics::counter;
use starkscope_metrics::{labels, names};

use crate::keygen::{AirInfo, ProvingKey};
use crate::proof::Proof;

pub(crate) fn keygen_air(air_id: usize, info: &AirInfo) {
    let l = [
        (labels::AIR_NAME, info.name.clone()),
        (labels::AIR_ID, air_id.to_string()),
    ];
    counter!(names::CONSTRAINT_DEG, &l).absolute(info.constraint_degree as u64);
    counter!(names::CONSTRAINTS, &l).absolute(info.num_constraints as u64);
    counter!(names::INTERACTIONS, &l).absolute(info.num_interactions as u64);
}

pub(crate) fn prover_airs(pk: &ProvingKey, log_heights: &[u8]) {
    let mut total = 0u64;
    for (air_id, (info, &lh)) in pk.vk.data.airs.iter().zip(log_heights).enumerate() {
        let rows = 1u64 << lh;
        let prep = info.preprocessed_width() as u64;
        let main = info.main_width as u64;
        let perm = info.permutation_width_base() as u64;
        let cells = rows * (prep + main + perm);
        total += cells;
        let l = [
            (labels::AIR_NAME, info.name.clone()),
            (labels::AIR_ID, air_id.to_string()),
        ];
        counter!(names::ROWS, &l).absolute(rows);
        counter!(names::CELLS, &l).absolute(cells);
        counter!(names::PREP_COLS, &l).absolute(prep);
        counter!(names::MAIN_COLS, &l).absolute(main);
        counter!(names::PERM_COLS, &l).absolute(perm);
    }
    counter!(names::TOTAL_CELLS).absolute(total);
}

pub(crate) fn proof(proof: &Proof) {
    // Counted, not encoded; after the timed span closed.
    let size = crate::codec::proof_encoded_len(proof).map_or(0, |n| n as u64);
    counter!(names::PROOF_SIZE_BYTES).absolute(size);
}
