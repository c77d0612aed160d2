"""spe-train: fit the like-predicting CNN on a person's photos and export it for the scorer."""

import os

# TensorFlow's C++ start-up chatter (CUDA probes, CPU flags) buries the progress
# a person wants to read; a caller who wants it can still set the variable.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
