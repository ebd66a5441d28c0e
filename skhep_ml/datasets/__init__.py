"""Toy problems with known truth: targets, integrands, objectives, simulators.

Every generator takes ``random_state`` and returns numpy arrays. This package
imports no estimator.
"""

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
from .integrands import (
    BreitWignerRidge,
    Camel,
    CrossingResonances,
    Ring,
    make_integrand,
)
from .regression_targets import (
    amplitude_like,
    heteroscedastic_sigma,
    make_amplitude_like,
    make_heteroscedastic,
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
    "BreitWignerRidge",
    "COSINE_TOY_TARGET",
    "Camel",
    "CrossingResonances",
    "DENSITY_TOYS",
    "MorphingSimulator",
    "OBSERVABLE_MAPS",
    "Ring",
    "SIMULATOR_FAMILY_KINDS",
    "alice_toy_log_ratio",
    "amplitude_like",
    "checkerboard_log_density",
    "cosine_toy",
    "eight_gaussians_log_density",
    "heteroscedastic_sigma",
    "make_alice_toy",
    "make_amplitude_like",
    "make_checkerboard",
    "make_eight_gaussians",
    "make_heteroscedastic",
    "make_integrand",
    "make_physics_events",
    "make_scan_problem",
    "make_simulator_family",
    "make_two_moons",
    "observable_map",
    "physics_events_log_density",
    "sample_alice_toy",
    "scan_cell_coverage",
    "scan_true_cells",
    "two_moons_log_density",
]
