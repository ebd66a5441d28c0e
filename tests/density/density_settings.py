"""Settings and helpers shared by the FlowDensity tests (imported by name: pytest
puts this folder on ``sys.path``)."""

from sklearn.utils import check_random_state

from skhep_ml.base import derive_seed

#: a small flow that still learns the toys in a second or two
FAST = dict(
    n_transforms=3,
    bins=8,
    hidden_layer_sizes=(32, 32),
    max_epochs=30,
    batch_size=256,
    lr=5e-3,
    # the tests below check training itself (early stopping has its own)
    early_stopping=False,
    random_state=0,
)


def fit_seed(random_state):
    """The seed a fit draws first from ``random_state`` (its net's and mixtures')."""
    return derive_seed(check_random_state(random_state))
