"""Start a network with a statistics branch exactly where the ridge baseline is.

The ridge regression on a photo's simple statistics is a strong baseline with
a few hundred photos (docs/STUDY.md: on the texture rule it beat every CNN
trained from scratch). A network that carries those statistics in a linear
part (``--architecture deep-stats``) gets that part's scaling fitted to the
training photos and its weights set to the ridge solution before training,
while its convolutional part starts at zero: it begins as the ridge model and
training (with early stopping) moves away only as far as that helps.
"""

from __future__ import annotations

import numpy as np

from trainer.networks.model import STATISTICS, STATISTICS_OUT, STATISTICS_SCALED

ALPHAS = np.logspace(-3, 3, 13)


def start_at_ridge(model, x: np.ndarray, y: np.ndarray) -> bool:
    """Fit the statistics' scaling and ridge weights on (x, y); False if there is no branch."""
    import keras
    from sklearn.linear_model import RidgeCV

    names = {layer.name for layer in model.layers}
    if STATISTICS not in names:
        return False
    statistics = keras.Model(model.inputs, model.get_layer(STATISTICS).output)
    values = statistics.predict(x, verbose=0, batch_size=256)
    scaling = model.get_layer(STATISTICS_SCALED)
    scaling.adapt(values)
    scaled = np.asarray(scaling(values))
    ridge = RidgeCV(alphas=ALPHAS).fit(scaled, y)
    model.get_layer(STATISTICS_OUT).set_weights(
        [ridge.coef_.reshape(-1, 1).astype(np.float32), np.array([ridge.intercept_], np.float32)])
    return True
