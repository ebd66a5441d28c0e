"""Toy problems with known truth: targets, integrands, objectives, simulators,
and massless phase space.

Every generator takes ``random_state`` and returns numpy arrays. This package
imports no estimator.
"""

from .amplitudes import (
    AntennaAmplitude,
    EEToQQbarG,
    make_amplitude_family,
)
from .densities import (
    DENSITY_TOYS,
    checkerboard_log_density,
    eight_gaussians_log_density,
    make_checkerboard,
    make_eight_gaussians,
    make_physics_events,
    make_two_moons,
    physics_events_log_density,
    two_moons_log_density,
)
from .density_family import (
    DENSITY_FAMILY_KINDS,
    DefensiveProposal,
    FamilyDensity,
    make_density_family,
    make_weighted,
)
from .integrand_family import (
    INTEGRAND_KINDS,
    FamilyIntegrand,
    make_integrand_family,
)
from .integrands import (
    BreitWignerRidge,
    Camel,
    CrossingResonances,
    Ring,
    make_integrand,
)
from .phase_space import (
    pair_invariants,
    phase_space_points,
    phase_space_volume,
    rambo,
)
from .regression_targets import (
    HeteroscedasticToy,
    amplitude_like,
    heteroscedastic_sigma,
    make_amplitude_like,
    make_heteroscedastic,
    make_heteroscedastic_family,
)
from .scan_coverage import (
    TruthClusters,
    ideal_coverage,
    piece_coverage,
    scan_coverage,
    surrogate_recall_precision,
)
from .scan_family import (
    SCAN_FAMILY_KINDS,
    EllipsoidRegion,
    PeriodicRegion,
    RelicRegion,
    RidgeRegion,
    ScanRegion,
    ShellRegion,
    make_scan_family,
)
from .scan_problems import (
    COSINE_TOY_TARGET,
    cosine_toy,
    make_scan_problem,
    scan_cell_coverage,
    scan_true_cells,
)
from .simulator_family import (
    OBSERVABLE_MAPS,
    SIMULATOR_FAMILY_KINDS,
    MorphingSimulator,
    make_simulator_family,
    observable_map,
)
from .simulators import (
    alice_toy_log_ratio,
    make_alice_toy,
    sample_alice_toy,
)

__all__ = [
    "AntennaAmplitude",
    "BreitWignerRidge",
    "COSINE_TOY_TARGET",
    "Camel",
    "CrossingResonances",
    "DENSITY_FAMILY_KINDS",
    "DENSITY_TOYS",
    "DefensiveProposal",
    "EEToQQbarG",
    "EllipsoidRegion",
    "FamilyDensity",
    "FamilyIntegrand",
    "HeteroscedasticToy",
    "INTEGRAND_KINDS",
    "MorphingSimulator",
    "OBSERVABLE_MAPS",
    "PeriodicRegion",
    "RelicRegion",
    "RidgeRegion",
    "Ring",
    "SCAN_FAMILY_KINDS",
    "SIMULATOR_FAMILY_KINDS",
    "ScanRegion",
    "ShellRegion",
    "TruthClusters",
    "alice_toy_log_ratio",
    "amplitude_like",
    "checkerboard_log_density",
    "cosine_toy",
    "eight_gaussians_log_density",
    "heteroscedastic_sigma",
    "ideal_coverage",
    "make_alice_toy",
    "make_amplitude_family",
    "make_amplitude_like",
    "make_checkerboard",
    "make_density_family",
    "make_eight_gaussians",
    "make_heteroscedastic",
    "make_heteroscedastic_family",
    "make_integrand",
    "make_integrand_family",
    "make_physics_events",
    "make_scan_family",
    "make_scan_problem",
    "make_simulator_family",
    "make_two_moons",
    "make_weighted",
    "observable_map",
    "pair_invariants",
    "phase_space_points",
    "phase_space_volume",
    "physics_events_log_density",
    "piece_coverage",
    "rambo",
    "sample_alice_toy",
    "scan_cell_coverage",
    "scan_coverage",
    "scan_true_cells",
    "surrogate_recall_precision",
    "two_moons_log_density",
]
