"""spe: score photos with a like-predicting TFLite model, without TensorFlow."""

from scorer.core.errors import ModelError, OutputError, PhotoError, SpeError, UsageError

__version__ = "0.1.0"
__all__ = ["ModelError", "OutputError", "PhotoError", "SpeError", "UsageError", "__version__"]
