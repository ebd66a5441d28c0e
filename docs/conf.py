"""Sphinx configuration of the skhep_ml documentation."""

import os

import skhep_ml

project = "skhep_ml"
author = "skhep_ml developers"
release = skhep_ml.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# the metadata-routing setters and sklearn's inherited helpers document sklearn,
# not skhep_ml, and their docstrings point into sklearn's own docs
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    "exclude-members": ",".join(
        [
            "get_metadata_routing",
            "get_params",
            "set_params",
            "set_output",
            "fit_transform",
        ]
        + [
            f"set_{method}_request"
            for method in (
                "fit",
                "score",
                "predict",
                "transform",
                "inverse_transform",
                "partial_fit",
                "score_samples",
                "predict_proba",
            )
        ]
    ),
}
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
html_theme = "pydata_sphinx_theme"
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "sklearn": ("https://scikit-learn.org/stable/", None),
    "torch": ("https://pytorch.org/docs/stable/", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable/", None),
}
# no network where the docs are built: do not fetch inventories there
if os.environ.get("SKHEP_ML_DOCS_OFFLINE", "1") == "1":
    intersphinx_mapping = {}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "doc_module": "skhep_ml",
    "filename_pattern": r"plot_",
    "ignore_pattern": r"(__init__|quickstart)\.py",
    "download_all_examples": False,
    "plot_gallery": "True",
}
