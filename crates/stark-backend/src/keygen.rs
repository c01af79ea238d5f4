//! Keygen: evaluates every AIR symbolically once (constraints, degrees, interactions),
//! lays out the LogUp buses, and commits the preprocessed traces.

use std::sync::Arc;

use p3_air::symbolic::{AirLayout, ConstraintLayout, SymbolicExpression, SymbolicExpressionExt};
use p3_air::BaseAir;

use p3_lookup::{check_bus_widths, Kind, LogUpGadget, LookupProtocol, Lookups};
use p3_matrix::dense::RowMajorMatrix;
use p3_matrix::Matrix;
use p3_util::log2_ceil_usize;
use serde::{Deserialize, Serialize};
use tracing::debug_span;

use crate::air::{AirRef, StarkAir, SymbolicBuilder};
use crate::config::{Challenge, Challenger, Commitment, FriPreset, Pcs, StarkConfig, Val};
use crate::constraint_system::encode_constraints;
use p3_lookup::InteractionBuilder as _;

/// The PCS's data for a committed batch of matrices (LDEs and Merkle trees).
pub type PcsProverData = <Pcs as p3_commit::Pcs<Challenge, crate::config::Challenger>>::ProverData;

/// Where an AIR's preprocessed trace lives in the preprocessed commitment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreprocessedInfo {
    pub width: usize,
    pub log_height: usize,
    /// Index of the matrix inside the one preprocessed commitment.
    pub matrix_index: usize,
}

/// Everything the verifier knows about one AIR, derived at keygen.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AirInfo {
    pub name: String,
    pub main_width: usize,
    pub preprocessed: Option<PreprocessedInfo>,
    pub num_public_values: usize,
    /// Whether the main trace is opened at the next row too.
    pub opens_main_next: bool,
    /// Whether the preprocessed trace is opened at the next row too.
    pub opens_preprocessed_next: bool,
    /// Interactions (sends + receives) the AIR declares.
    pub num_interactions: usize,
    /// LogUp columns (after packing same-bus interactions), in permutation-column order.
    /// Not stored in a key's bytes: re-derived from the AIRs (the digest covers them).
    #[serde(skip)]
    pub lookups: Lookups<Val>,
    /// Global bus number of each lookup (shared by name across AIRs; locals get their own).
    pub lookup_bus_ids: Vec<usize>,
    /// Maximum constraint degree, LogUp constraints included.
    pub constraint_degree: usize,
    /// Number of constraints, LogUp constraints included.
    pub num_constraints: usize,
    /// log2 of the number of quotient chunks.
    pub log_quotient_chunks: usize,
}

impl AirInfo {
    pub fn preprocessed_width(&self) -> usize {
        self.preprocessed.as_ref().map_or(0, |p| p.width)
    }

    /// Permutation columns in extension-field elements (accumulator + one per lookup).
    pub fn permutation_width_ext(&self) -> usize {
        if self.lookups.is_empty() {
            0
        } else {
            self.lookups.len() + 1
        }
    }

    /// Permutation columns counted in base-field columns, as committed.
    pub fn permutation_width_base(&self) -> usize {
        self.permutation_width_ext() * 4
    }

    pub fn num_quotient_chunks(&self) -> usize {
        1 << self.log_quotient_chunks
    }

    pub(crate) fn layout(&self) -> AirLayout {
        let perm = self.permutation_width_ext();
        AirLayout {
            preprocessed_width: self.preprocessed_width(),
            main_width: self.main_width,
            num_public_values: self.num_public_values,
            permutation_width: perm,
            num_permutation_challenges: 2 * self.lookups.len(),
            num_permutation_values: usize::from(perm > 0),
            num_periodic_columns: 0,
        }
    }
}

/// Elements of the key digest.
pub const KEY_DIGEST_LEN: usize = 8;

/// The serializable part of a verifying key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VerifyingKeyData {
    pub preset: FriPreset,
    /// Poseidon2 hash of everything in the key but the preprocessed commitment: the
    /// preset, every AIR's shape, its constraints (its own and LogUp's, as an expression
    /// DAG), its lookups' buses and weights, the bus layout. The transcript absorbs it, so
    /// a proof is bound to the exact constraint system it was made for.
    pub digest: [Val; KEY_DIGEST_LEN],
    pub airs: Vec<AirInfo>,
    /// One commitment to every AIR's preprocessed trace (if any AIR has one).
    pub preprocessed_commitment: Option<Commitment>,
    /// Number of distinct buses (named buses plus one per local lookup).
    pub num_buses: usize,
    /// Widest tuple on any bus (fixes where bus offsets sit in the LogUp combiner).
    pub max_tuple_width: usize,
}

/// What the verifier needs: the key data plus the AIRs to evaluate constraints with.
#[derive(Clone)]
pub struct VerifyingKey {
    pub data: VerifyingKeyData,
    pub(crate) airs: Vec<Arc<dyn StarkAir>>,
}

impl VerifyingKey {
    pub fn airs(&self) -> &[Arc<dyn StarkAir>] {
        &self.airs
    }
    pub fn num_airs(&self) -> usize {
        self.data.airs.len()
    }
    pub fn air_info(&self, i: usize) -> &AirInfo {
        &self.data.airs[i]
    }
}

/// What the prover needs on top of the verifying key.
pub struct ProvingKey {
    pub vk: VerifyingKey,
    pub(crate) constraint_layouts: Vec<ConstraintLayout>,
    pub(crate) preprocessed_traces: Vec<Option<RowMajorMatrix<Val>>>,
    pub(crate) preprocessed_data: Option<PcsProverData>,
}

impl ProvingKey {
    pub fn air_info(&self, i: usize) -> &AirInfo {
        &self.vk.data.airs[i]
    }
}

/// Why keygen refused an AIR set.
#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    #[error("no AIRs given")]
    NoAirs,
    #[error("AIR {air_id} ({name}): {what}")]
    Unsupported {
        air_id: usize,
        name: String,
        what: String,
    },
    #[error("AIR {air_id} ({name}): constraint degree {degree} exceeds {max}, the most FRI preset `{preset}` can prove")]
    DegreeTooHigh {
        air_id: usize,
        name: String,
        degree: usize,
        max: usize,
        preset: FriPreset,
    },
    #[error("AIR {air_id} ({name}): preprocessed trace is {got_width} wide and {height} high; declared width {width}, height must be a power of two")]
    BadPreprocessed {
        air_id: usize,
        name: String,
        got_width: usize,
        width: usize,
        height: usize,
    },
    #[error("bus widths disagree: {0}")]
    Bus(#[from] p3_lookup::LookupError),
    #[error("committing preprocessed traces: {0}")]
    Pcs(String),
}

/// Symbolic facts about one AIR, without committing anything.
pub(crate) struct AirAnalysis {
    pub info: AirInfo,
    pub layout: ConstraintLayout,
    /// The constraint system as field elements (see [`crate::constraint_system`]).
    pub encoding: Vec<Val>,
}

/// Runs the symbolic analysis of one AIR (everything but bus numbering and the
/// preprocessed commitment).
pub(crate) fn analyse_air(
    air_id: usize,
    air: &dyn StarkAir,
    preset: FriPreset,
) -> Result<(AirAnalysis, Option<RowMajorMatrix<Val>>), KeygenError> {
    let name = air.name();
    let air_ref = AirRef(air);
    let air = &air_ref;
    let unsupported = |what: &str| KeygenError::Unsupported {
        air_id,
        name: name.clone(),
        what: what.to_string(),
    };
    if air.num_periodic_columns() > 0 {
        return Err(unsupported("periodic columns are not supported"));
    }
    if !air.public_boundary_io().is_empty() {
        return Err(unsupported(
            "boundary public values are not supported; bind public values with constraints",
        ));
    }

    // Interactions exactly as declared.
    let mut declared = SymbolicBuilder::new(AirLayout::from_air(&air_ref));
    p3_air::Air::eval(&air_ref, &mut declared);
    let num_interactions = declared.num_global_interactions()
        + declared.num_local_interactions()
        + declared.num_exclusive_interactions();

    // The AIR's own degree (its constraints, without LogUp's).
    let own_degree = declared
        .base_constraints()
        .iter()
        .map(|c| c.degree_multiple())
        .chain(
            declared
                .extension_constraints()
                .iter()
                .map(|c| c.degree_multiple()),
        )
        .max()
        .unwrap_or(0)
        .max(air.max_constraint_degree().unwrap_or(0));

    let gadget = LogUpGadget::new();
    let raw = Lookups::<Val>::from_air::<Challenge, _>(&air_ref);
    check_bus_widths(std::slice::from_ref(&raw))?;
    // Fold same-bus interactions into shared columns up to the AIR's own degree (at least
    // 3), never above what the preset proves: packing beyond the AIR's degree would save
    // permutation columns but double the quotient domain, which costs more.
    let pack_degree = own_degree.max(3).min(preset.max_constraint_degree());
    let lookups = raw.pack_same_bus(&gadget, pack_degree);

    let prep_width = air.preprocessed_width();
    // A shape-only AIR states its height; any other builds its trace (for keygen to
    // commit).
    let (preprocessed, shape) = match air_ref.0.preprocessed_height() {
        Some(height) => (None, Some((prep_width, height))),
        None => {
            let m = air.preprocessed_trace();
            let shape = m.as_ref().map(|m| (m.width(), m.height()));
            (m, shape)
        }
    };
    let prep_info = match shape {
        Some((got_width, height)) => {
            if got_width != prep_width || prep_width == 0 || !height.is_power_of_two() {
                return Err(KeygenError::BadPreprocessed {
                    air_id,
                    name,
                    got_width,
                    width: prep_width,
                    height,
                });
            }
            Some(PreprocessedInfo {
                width: prep_width,
                log_height: height.trailing_zeros() as usize,
                matrix_index: 0,
            })
        }
        None if prep_width > 0 => {
            return Err(KeygenError::BadPreprocessed {
                air_id,
                name,
                got_width: 0,
                width: prep_width,
                height: 0,
            })
        }
        None => None,
    };

    let mut info = AirInfo {
        name: name.clone(),
        main_width: air.width(),
        preprocessed: prep_info,
        num_public_values: air.num_public_values(),
        // Set from the constraints below.
        opens_main_next: false,
        opens_preprocessed_next: false,
        num_interactions,
        lookups,
        lookup_bus_ids: Vec::new(),
        constraint_degree: 0,
        num_constraints: 0,
        log_quotient_chunks: 0,
    };

    // Every constraint the prover folds: the AIR's own, then LogUp's.
    let SymbolicConstraints { base, ext, layout } = eval_symbolic(air_ref, &info);
    let degree = base
        .iter()
        .map(|c| c.degree_multiple())
        .chain(ext.iter().map(|c| c.degree_multiple()))
        .max()
        .unwrap_or(0)
        .max(air.max_constraint_degree().unwrap_or(0));
    if degree > preset.max_constraint_degree() {
        return Err(KeygenError::DegreeTooHigh {
            air_id,
            name,
            degree,
            max: preset.max_constraint_degree(),
            preset,
        });
    }
    let (encoding, next_row) = encode_constraints(&base, &ext, &layout);
    // Open the next row exactly when the constraints read it; a chip's declaration must
    // cover what it reads (the verifier would otherwise evaluate it at zero).
    for (declared, used, what) in [
        (air.main_next_row_columns(), &next_row.main, "main"),
        (
            air.preprocessed_next_row_columns(),
            &next_row.preprocessed,
            "preprocessed",
        ),
    ] {
        if let Some(c) = used.iter().find(|c| !declared.contains(c)) {
            return Err(unsupported(&format!(
                "its constraints read the next row of {what} column {c}, which \
                 {what}_next_row_columns() does not declare"
            )));
        }
    }
    info.opens_main_next = !next_row.main.is_empty();
    info.opens_preprocessed_next = !next_row.preprocessed.is_empty();
    info.constraint_degree = degree;
    info.num_constraints = layout.total_constraints();
    info.log_quotient_chunks = log2_ceil_usize(degree.max(2) - 1);
    Ok((
        AirAnalysis {
            info,
            layout,
            encoding,
        },
        preprocessed,
    ))
}

/// One AIR's constraints as the verifier folds them: its own `eval`'s, then LogUp's, as
/// symbolic expression DAGs (shared subexpressions are shared `Arc`s).
#[derive(Debug)]
pub struct SymbolicConstraints {
    /// Base-field constraints, in emission order.
    pub base: Vec<SymbolicExpression<Val>>,
    /// Extension-field constraints, in emission order.
    pub ext: Vec<SymbolicExpressionExt<Val, Challenge>>,
    /// Where each base / extension constraint sits in the global (folding) order.
    pub layout: ConstraintLayout,
}

/// A constraint in folding order: a base or an extension expression.
#[derive(Clone, Copy, Debug)]
pub enum ConstraintRef<'a> {
    Base(&'a SymbolicExpression<Val>),
    Ext(&'a SymbolicExpressionExt<Val, Challenge>),
}

impl SymbolicConstraints {
    /// Every constraint in the global order the verifier folds them
    /// (`acc = acc * alpha + c_k`).
    pub fn in_folding_order(&self) -> Vec<ConstraintRef<'_>> {
        let mut out: Vec<Option<ConstraintRef<'_>>> = vec![None; self.layout.total_constraints()];
        for (e, &k) in self.base.iter().zip(&self.layout.base_indices) {
            out[k] = Some(ConstraintRef::Base(e));
        }
        for (e, &k) in self.ext.iter().zip(&self.layout.ext_indices) {
            out[k] = Some(ConstraintRef::Ext(e));
        }
        out.into_iter()
            .map(|c| c.expect("the constraint layout covers every index"))
            .collect()
    }
}

/// Evaluates an AIR's constraints followed by LogUp's symbolically, as keygen does (and
/// as the prover and verifier fold them).
pub(crate) fn eval_symbolic(air: AirRef<'_>, info: &AirInfo) -> SymbolicConstraints {
    let mut builder = SymbolicBuilder::new(info.layout());
    LogUpGadget::new().eval_air_and_lookups(&air, &mut builder, &info.lookups);
    SymbolicConstraints {
        base: builder.base_constraints(),
        ext: builder.extension_constraints(),
        layout: builder.constraint_layout(),
    }
}

/// AIR `air_id`'s symbolic constraints exactly as the verifier evaluates them at the
/// out-of-domain point (own + LogUp, with the folding layout), from the same derivation
/// keygen runs. Ignores the `ablation` feature: this is the unablated system.
pub fn symbolic_constraints(vk: &VerifyingKey, air_id: usize) -> SymbolicConstraints {
    eval_symbolic(AirRef(vk.airs[air_id].as_ref()), &vk.data.airs[air_id])
}

/// Numbers the buses: a named bus gets one number shared by every AIR using it, a local
/// lookup its own. Returns (number of buses, widest tuple).
fn number_buses(infos: &mut [AirInfo]) -> Result<(usize, usize), KeygenError> {
    let all: Vec<Lookups<Val>> = infos.iter().map(|i| i.lookups.clone()).collect();
    let widest = check_bus_widths(&all)?;
    let mut names: Vec<String> = Vec::new();
    let mut next = 0usize;
    let mut max_width = widest.max(1);
    for info in infos.iter_mut() {
        info.lookup_bus_ids = info
            .lookups
            .iter()
            .map(|l| {
                for t in &l.elements {
                    max_width = max_width.max(t.len());
                }
                match &l.kind {
                    Kind::Global(name) => match names.iter().position(|n| n == name) {
                        Some(p) => p,
                        None => {
                            names.push(name.clone());
                            next += 1;
                            next - 1
                        }
                    },
                    Kind::Local => {
                        // Locals are numbered after every named bus below.
                        usize::MAX
                    }
                }
            })
            .collect();
    }
    // Locals take numbers after the named buses so adding a local never renumbers a bus.
    for info in infos.iter_mut() {
        for id in info.lookup_bus_ids.iter_mut() {
            if *id == usize::MAX {
                *id = next;
                next += 1;
            }
        }
    }
    Ok((next, max_width))
}

/// Derives the verifying-key data of an AIR set without committing anything but the
/// preprocessed traces.
pub fn keygen(
    config: &StarkConfig,
    airs: Vec<Arc<dyn StarkAir>>,
) -> Result<ProvingKey, KeygenError> {
    // DEBUG, not INFO: only catalogued spans become timing gauges.
    let _span = debug_span!("keygen_airs", num_airs = airs.len()).entered();
    if airs.is_empty() {
        return Err(KeygenError::NoAirs);
    }
    let mut infos = Vec::with_capacity(airs.len());
    let mut layouts = Vec::with_capacity(airs.len());
    let mut prep_traces = Vec::with_capacity(airs.len());
    let mut encodings = Vec::with_capacity(airs.len());
    for (i, air) in airs.iter().enumerate() {
        let (analysis, prep) = analyse_air(i, air.as_ref(), config.preset())?;
        if analysis.info.preprocessed.is_some() && prep.is_none() {
            return Err(KeygenError::BadPreprocessed {
                air_id: i,
                name: air.name(),
                got_width: 0,
                width: analysis.info.preprocessed_width(),
                height: 0,
            });
        }
        infos.push(analysis.info);
        layouts.push(analysis.layout);
        encodings.push(analysis.encoding);
        prep_traces.push(prep);
    }
    let (num_buses, max_tuple_width) = number_buses(&mut infos)?;
    let digest = key_digest(
        config.preset(),
        &infos,
        &encodings,
        num_buses,
        max_tuple_width,
    );

    // One commitment over every preprocessed trace, in AIR order.
    let mut prep_inputs = Vec::new();
    for (info, trace) in infos.iter_mut().zip(&prep_traces) {
        if let (Some(p), Some(m)) = (info.preprocessed.as_mut(), trace) {
            p.matrix_index = prep_inputs.len();
            let domain = config.domain(m.height());
            prep_inputs.push((domain, m.clone()));
        }
    }
    let (preprocessed_commitment, preprocessed_data) = if prep_inputs.is_empty() {
        (None, None)
    } else {
        let (c, d) =
            <Pcs as p3_commit::Pcs<Challenge, Challenger>>::commit(config.pcs(), prep_inputs)
                .map_err(|e| KeygenError::Pcs(format!("{e:?}")))?;
        (Some(c), Some(d))
    };

    #[cfg(feature = "bench-metrics")]
    for (i, info) in infos.iter().enumerate() {
        crate::instrument::keygen_air(i, info);
    }

    let data = VerifyingKeyData {
        preset: config.preset(),
        digest,
        airs: infos,
        preprocessed_commitment,
        num_buses,
        max_tuple_width,
    };
    Ok(ProvingKey {
        vk: VerifyingKey { data, airs },
        constraint_layouts: layouts,
        preprocessed_traces: prep_traces,
        preprocessed_data,
    })
}

/// Domain separator of the key digest: "SKEY", version 1.
const KEY_DIGEST_TAG: [u32; 2] = [0x534b_4559, 1];

/// The key digest (see [`VerifyingKeyData::digest`]): a length-prefixed Poseidon2 sponge
/// over the preset, the bus layout and, per AIR, its name, shape, lookups and constraint
/// encoding. Every variable-length part is length-prefixed, so the input is injective.
pub(crate) fn key_digest(
    preset: FriPreset,
    infos: &[AirInfo],
    encodings: &[Vec<Val>],
    num_buses: usize,
    max_tuple_width: usize,
) -> [Val; KEY_DIGEST_LEN] {
    use p3_field::PrimeCharacteristicRing;
    use p3_symmetric::CryptographicHasher;
    let u = Val::from_usize;
    let mut input: Vec<Val> = KEY_DIGEST_TAG.iter().map(|&t| Val::from_u32(t)).collect();
    input.extend([
        Val::from_u8(preset.id()),
        u(num_buses),
        u(max_tuple_width),
        u(infos.len()),
    ]);
    for (info, encoding) in infos.iter().zip(encodings) {
        input.push(u(info.name.len()));
        input.extend(info.name.bytes().map(Val::from_u8));
        let prep = info.preprocessed.as_ref();
        input.extend([
            u(info.main_width),
            u(info.preprocessed_width()),
            u(prep.map_or(0, |p| p.log_height)),
            u(info.num_public_values),
            Val::from_bool(info.opens_main_next),
            Val::from_bool(info.opens_preprocessed_next),
            u(info.num_interactions),
            u(info.constraint_degree),
            u(info.num_constraints),
            u(info.log_quotient_chunks),
            u(info.lookups.len()),
        ]);
        for (lookup, &bus) in info.lookups.iter().zip(&info.lookup_bus_ids) {
            input.extend([
                u(bus),
                Val::from_u32(lookup.count_weight),
                Val::from_bool(matches!(lookup.kind, Kind::Local)),
                u(lookup.column),
                u(lookup.elements.len()),
                Val::from_bool(lookup.flags.is_some()),
            ]);
        }
        input.push(u(encoding.len()));
        input.extend_from_slice(encoding);
    }
    let mut prefixed = Vec::with_capacity(input.len() + 1);
    prefixed.push(u(input.len()));
    prefixed.extend(input);
    let hasher = crate::config::LeafHash::new(p3_baby_bear::default_babybear_poseidon2_16());
    hasher.hash_iter(prefixed)
}

/// Checks that deserialized key data describes these AIRs (everything derivable from the
/// AIRs themselves must match; the preprocessed commitment is taken from the key).
pub(crate) fn check_vk_matches_airs(
    data: &VerifyingKeyData,
    airs: &[Arc<dyn StarkAir>],
) -> Result<Vec<AirInfo>, String> {
    if data.airs.len() != airs.len() {
        return Err(format!(
            "key describes {} AIRs, {} given",
            data.airs.len(),
            airs.len()
        ));
    }
    let mut fresh = Vec::with_capacity(airs.len());
    let mut encodings = Vec::with_capacity(airs.len());
    for (i, air) in airs.iter().enumerate() {
        let (a, _) = analyse_air(i, air.as_ref(), data.preset).map_err(|e| e.to_string())?;
        fresh.push(a.info);
        encodings.push(a.encoding);
    }
    let (num_buses, max_width) = number_buses(&mut fresh).map_err(|e| e.to_string())?;
    if num_buses != data.num_buses || max_width != data.max_tuple_width {
        return Err("bus layout differs from the AIRs'".into());
    }
    for (i, (stored, fresh)) in data.airs.iter().zip(&fresh).enumerate() {
        let same = stored.name == fresh.name
            && stored.main_width == fresh.main_width
            && stored.preprocessed_width() == fresh.preprocessed_width()
            && stored.preprocessed.as_ref().map(|p| p.log_height)
                == fresh.preprocessed.as_ref().map(|p| p.log_height)
            && stored.num_public_values == fresh.num_public_values
            && stored.opens_main_next == fresh.opens_main_next
            && stored.opens_preprocessed_next == fresh.opens_preprocessed_next
            && stored.num_interactions == fresh.num_interactions
            && stored.lookup_bus_ids == fresh.lookup_bus_ids
            && stored.constraint_degree == fresh.constraint_degree
            && stored.num_constraints == fresh.num_constraints
            && stored.log_quotient_chunks == fresh.log_quotient_chunks;
        if !same {
            return Err(format!(
                "AIR {i} ({}) does not match the key's description of it",
                fresh.name
            ));
        }
    }
    // Preprocessed matrix indices are assigned in AIR order.
    let mut next = 0;
    for a in &data.airs {
        if let Some(p) = &a.preprocessed {
            if p.matrix_index != next {
                return Err(format!(
                    "AIR {}: preprocessed matrix index {} out of order",
                    a.name, p.matrix_index
                ));
            }
            next += 1;
        }
    }
    if (next > 0) != data.preprocessed_commitment.is_some() {
        return Err("preprocessed commitment present/absent inconsistently with the AIRs".into());
    }
    for (f, s) in fresh.iter_mut().zip(&data.airs) {
        f.preprocessed = s.preprocessed.clone();
    }
    let digest = key_digest(data.preset, &fresh, &encodings, num_buses, max_width);
    if digest != data.digest {
        return Err("the key digest differs from the AIRs' constraint system".into());
    }
    Ok(fresh)
}
