"""Distil an exported model (fit's average of networks) into one network.

Why: the default model averages three networks, so every photo costs three
networks' work on the Pi. A single "student" network trained to reproduce the
average's answers (not the likes) on many augmented copies of the photos keeps
most of what averaging gained at a third of the cost (measured in
docs/STUDY.md, round 4).

The teacher is the exported int8 model itself, run by the scorer's runtime: the
student learns exactly what the Pi would answer, and any model `spe-train fit`
wrote can be distilled later without its Keras weights. A tenth of the photos
is kept out of the student's training, so how closely it follows the teacher
is measured on photos it never saw.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from scorer.model.card import read_card
from trainer.core.errors import TrainerError
from trainer.core.metrics import spearman
from trainer.core.recipe import FitOptions
from trainer.data.layouts import load_dataset, load_pixels
from trainer.export.plots import plot_loss, plot_predicted_vs_actual
from trainer.export.publish import Graph, Measured, publish
from trainer.fitting.train import split_indices, train
from trainer.networks.predict import predict_raw

COPIES = 8  # augmented views of each photo that the teacher labels
EPOCHS = 10  # passes over all the copies
CHECK_SPLIT = 0.1  # photos kept out of the student's training, to measure agreement on
AUGMENT = ("flip", "shift", "zoom", "color")


def augmented_copies(pixels: np.ndarray, copies: int, seed: int) -> np.ndarray:
    """The photos themselves, then ``copies - 1`` randomly augmented views of each (uint8)."""
    import tensorflow as tf

    from trainer.data.augment import augmenter

    views = [pixels]
    for k in range(1, copies):
        apply = augmenter(AUGMENT, pixels.shape[1], seed + k)
        data = tf.data.Dataset.from_tensor_slices(
            (pixels.astype(np.float32) / 255.0, np.zeros(len(pixels), np.float32)))
        batches = data.map(apply).batch(256)
        images = np.concatenate([x.numpy() for x, _ in batches])
        views.append(np.clip(np.round(images * 255.0), 0, 255).astype(np.uint8))
    return np.concatenate(views)


def _shrink(images: np.ndarray, size: int) -> np.ndarray:
    import cv2

    return np.stack([cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
                     for image in images])


def _teachers_card(card, teacher, teacher_file: str, agreement: dict) -> None:
    """The student's card keeps the teacher's measured quality, said to be the teacher's."""
    card.training.update(distilled_from=agreement)
    card.metrics = {"validation": teacher.metrics.get("validation", {}),
                    "teacher": {"model": teacher.model_id, "metrics": teacher.metrics},
                    "distillation": agreement}
    if teacher.expected_quality:
        card.expected_quality = {
            **teacher.expected_quality,
            "verdict": (f"Distilled from {teacher_file} (whose cross-validated quality is "
                        "given here); it follows that model with Spearman "
                        f"{agreement['spearman_with_teacher']:.3f} on "
                        f"{agreement['check_photos']} photos it did not train on. "
                        + teacher.expected_quality.get("verdict", ""))}
    card.note = teacher.note


def _student_path(teacher_path: Path, out: Path) -> Path:
    if out.suffix != ".tflite":
        raise TrainerError(f"{out}: the model file must end in .tflite")
    if out.resolve() == teacher_path.resolve():
        raise TrainerError(f"{out}: write the student beside the teacher, not over it")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def distil(teacher_path: str | os.PathLike[str], data_dir: str | os.PathLike[str],
           out: str | os.PathLike[str], architecture: str = "deep", copies: int = COPIES,
           epochs: int = EPOCHS, seed: int = 0, echo: Callable[[str], None] = print,
           img_size: int | None = None):
    """Train one ``architecture`` network on the teacher's answers; export and verify it.
    ``img_size``: the student's input side (default the teacher's); the teacher labels
    its views at its own size, the student learns them shrunk to its own."""
    from trainer.export.int8 import run_exported

    teacher_path, out = Path(teacher_path), _student_path(Path(teacher_path), Path(out))
    teacher = read_card(teacher_path)
    dataset = load_dataset(data_dir)
    pixels = load_pixels(dataset, teacher.height)
    likes = dataset.likes
    learn_idx, check_idx = split_indices(len(likes), CHECK_SPLIT, seed)
    views = augmented_copies(pixels[learn_idx], copies, seed)
    echo(f"the teacher {teacher_path.name} labels {len(views)} views ({copies} of each of "
         f"{len(learn_idx)} photos; {len(check_idx)} photos kept out to measure agreement on)")
    answers = next(iter(run_exported(teacher_path, views, first_only=True).values()))
    teacher_check = next(iter(run_exported(teacher_path, pixels[check_idx],
                                           first_only=True).values()))
    size = img_size or teacher.height
    options = replace(FitOptions(backbone="none"), architecture=architecture, img_size=size,
                      augment=(), early_stopping=False, folds=0, members=1, seed=seed)
    if size != teacher.height:
        views, pixels = _shrink(views, size), load_pixels(dataset, size)
    echo(f"student: one {architecture} network at {size} px, {epochs} passes over the "
         f"{len(views)} views")
    student, history, _ = train(views, answers, options, epochs=epochs, seed=seed, echo=echo)
    student_check = predict_raw(student, pixels[check_idx])
    agreement = {
        "teacher": teacher.model_id, "teacher_file": teacher_path.name, "copies": copies,
        "epochs": epochs, "check_photos": int(len(check_idx)),
        "spearman_with_teacher": spearman(teacher_check, student_check),
        "teacher_spearman_with_likes": spearman(likes[check_idx], teacher_check),
        "student_spearman_with_likes": spearman(likes[check_idx], student_check),
    }
    echo(f"on {len(check_idx)} photos the student never saw: Spearman with the teacher "
         f"{agreement['spearman_with_teacher']:.3f}; with the likes "
         f"{agreement['student_spearman_with_likes']:.3f} (teacher "
         f"{agreement['teacher_spearman_with_likes']:.3f})")
    graph = Graph(student, pixels, likes, teacher.target, options, dataset, epochs)
    table = (f"distilled from {teacher_path.name}: Spearman with the teacher "
             f"{agreement['spearman_with_teacher']:.3f} on {len(check_idx)} unseen photos")

    def measure(card, _agreement) -> Measured:
        _teachers_card(card, teacher, teacher_path.name, agreement)
        return Measured(table, plots={
            "loss": lambda path: plot_loss([history], path),
            "predicted": lambda path: plot_predicted_vs_actual(
                likes[check_idx], teacher.target.inverse(student_check), path,
                f"{len(check_idx)} photos kept out of distillation, Keras")})

    return publish(graph, out, measure, echo), history
