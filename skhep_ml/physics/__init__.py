"""Physics processes with known answers: e+e- → μ+μ-(γ) and the 2HDM scan.

Numpy only (torch for the integrator's channel mappings); every formula names
its source.
"""

from .born import (
    HELICITIES,
    born_afb,
    born_cross_section,
    born_dsigma_dcos,
    contact_coefficients,
    helicity_amplitudes,
)
from .contact_fit import ContactFit
from .electroweak import GEV2_TO_PB, PDG_2024, ElectroweakInputs
from .isr import (
    electron_structure_function,
    isr_beta,
    isr_cross_section,
    isr_dsigma_dcos,
    isr_dsigma_dmass,
    isr_flux,
)
from .radiative_return import RadiativeReturn
from .thdm import (
    THDM_BOUNDS,
    THDM_PARAMETERS,
    make_thdm_scan_problem,
    thdm_allowed,
    thdm_bounded_below,
    thdm_margin,
    thdm_perturbative,
    thdm_spectrum,
    thdm_unitarity_eigenvalues,
)

__all__ = [
    "GEV2_TO_PB",
    "HELICITIES",
    "PDG_2024",
    "THDM_BOUNDS",
    "THDM_PARAMETERS",
    "ContactFit",
    "ElectroweakInputs",
    "RadiativeReturn",
    "born_afb",
    "born_cross_section",
    "born_dsigma_dcos",
    "contact_coefficients",
    "electron_structure_function",
    "helicity_amplitudes",
    "isr_beta",
    "isr_cross_section",
    "isr_dsigma_dcos",
    "isr_dsigma_dmass",
    "isr_flux",
    "make_thdm_scan_problem",
    "thdm_allowed",
    "thdm_bounded_below",
    "thdm_margin",
    "thdm_perturbative",
    "thdm_spectrum",
    "thdm_unitarity_eigenvalues",
]
