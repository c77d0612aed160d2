"""Fitting: the pipelines, folds, cross-validation, baselines, distillation, evaluation."""
