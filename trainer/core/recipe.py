"""The training recipe: every default of `spe-train fit` and `spe-train cv`, defined once.

The defaults follow issue 11's real-photo check (about 2,000 real photos with
human ratings, kept outside the project) and the synthetic family of
docs/STUDY.md, never one planted rule alone:

- the "deep" network (four blocks of two batch-normalised 3x3 convolutions,
  global average pooling), which on real photos beat the notebook's network and
  the mirror branch (0.62 single, 0.64 averaged, against 0.52-0.55);
- standardised log1p(likes) as the target;
- flips, shifts of 6%, zooms of 10%, brightness and contrast of 10%;
- the learning rate halved when the training loss stalls;
- k-fold cross-validation to measure the recipe and to fix the number of
  epochs (the median of the folds' early-stopping points), then members
  trained on every photo for that many epochs and averaged in one graph.
"""

from __future__ import annotations

from dataclasses import dataclass

# The default stands on an ImageNet-trained backbone (docs/STUDY.md, round 5): its pooled
# activations at these layers, a ridge head, the target chosen by cross-validation.
BACKBONE = "mobilenet_v2"
# Per backbone, the layers whose pooled activations the head reads (CLIVE, 160 px: 0.725
# cross-validated for MobileNetV2's, 0.712 for EfficientNet-Lite0's; docs/STUDY.md).
LAYERS_BY_BACKBONE: dict[str, tuple[str, ...]] = {
    "mobilenet_v2": ("block_13_expand_relu", "block_14_expand_relu"),
    "efficientnet_lite0": ("block_11_expand_relu", "block_12_expand_relu"),
}
LAYERS = LAYERS_BY_BACKBONE[BACKBONE]
IMG_SIZE = 160  # with a backbone
# How the backbone's activations are pooled into the head's features: "average" over the
# whole photo (the default: best on CLIVE), or "grid", which adds a coarse grid of cell
# averages so the head sees where things stand (the rank page's crop suggestions then
# follow placement; docs/STUDY.md round 6).
POOLINGS = ("average", "grid")
POOLING = "average"
GRID_CELLS = 3  # cells per side of the grid pooling
TARGET_CANDIDATES = ("log1p-std", "standardize")  # with a backbone, unless --target is given

# From-scratch networks (--backbone none):
IMG_SIZE_SCRATCH = 64
EPOCHS = 60  # an upper bound: early stopping in the folds decides
BATCH_SIZE = 32
VAL_SPLIT = 0.2  # only with --folds 0 (a single hold-out split, as the notebook did)
SEED = 0
ARCHITECTURE = "deep"
TARGET = "log1p-std"  # of the from-scratch networks
AUGMENT: tuple[str, ...] = ("flip", "shift", "zoom", "color")
EARLY_STOPPING = True
EARLY_STOPPING_SPLIT = 0.15  # of the training photos of a fold
EARLY_STOPPING_PATIENCE = 8
# The stopping split is small and its loss jumps about in the first epochs;
# never stop, nor pick weights, before this.
EARLY_STOPPING_START = 10
LR_PLATEAU = True
LR_PLATEAU_PATIENCE = 4  # epochs without a better training loss before halving
LEARNING_RATE = 1e-3  # Adam's default, as the notebook used
WEIGHT_DECAY = 0.0
FOLDS = 3
MEMBERS = 3
TTA = False
PIXEL_SCALE = 1.0 / 255.0
MIN_PHOTOS = 10


@dataclass(frozen=True)
class FitOptions:
    """Every setting of a fit. ``img_size`` and ``target`` left as None take the
    backbone's defaults, or the from-scratch networks' with ``backbone="none"``."""

    backbone: str = BACKBONE
    layers: tuple[str, ...] = ()  # () takes the backbone's (LAYERS_BY_BACKBONE)
    given_weights: str | None = None  # a weights file a person brought (--backbone-weights)
    pooling: str = POOLING
    epochs: int = EPOCHS
    batch_size: int = BATCH_SIZE
    val_split: float = VAL_SPLIT
    seed: int = SEED
    img_size: int | None = None
    architecture: str = ARCHITECTURE
    target: str | None = None
    augment: tuple[str, ...] = AUGMENT
    early_stopping: bool = EARLY_STOPPING
    lr_plateau: bool = LR_PLATEAU
    weight_decay: float = WEIGHT_DECAY
    folds: int = FOLDS
    members: int = MEMBERS
    tta: bool = TTA
    detrend: bool = False
    # When the model ranks no better than the ridge baseline: "none" keeps it (and says
    # so), "ridge" exports the baseline itself instead (--fallback).
    fallback: str = "none"

    def __post_init__(self) -> None:
        scratch = self.backbone == "none"
        if self.img_size is None:
            object.__setattr__(self, "img_size", IMG_SIZE_SCRATCH if scratch else IMG_SIZE)
        if self.target is None and scratch:
            object.__setattr__(self, "target", TARGET)
        if not self.layers and not scratch:
            object.__setattr__(self, "layers", LAYERS_BY_BACKBONE.get(self.backbone, ()))


# Recipes as data: a name and what it changes from the defaults.
RECIPES: dict[str, dict] = {
    "default": {},
    # The default before the backbone: three deep networks trained from nothing, averaged.
    "scratch": dict(backbone="none"),
    # The original notebook's recipe, kept by name for comparison.
    "notebook": dict(backbone="none", architecture="notebook", target="raw", augment=(),
                     early_stopping=False, lr_plateau=False, img_size=64, epochs=30,
                     batch_size=32, folds=0, members=1),
    # The defaults before issue 11 (chosen on the classic synthetic rule alone).
    "mirror": dict(backbone="none", architecture="mirror", augment=("flip",), early_stopping=True,
                   lr_plateau=False, folds=0, members=1),
}
NOTEBOOK_RECIPE = RECIPES["notebook"]


# What a backbone fit needs at its peak, measured with /usr/bin/time on synthetic photos at
# 160 px (1.65 GB for 60 photos, 1.79 GB for 1,500; bench's training section checks it):
# TensorFlow and the backbone's graphs take most of it whatever the photos; each photo
# adds its pixels, its features and its share of the folds' and the export's work. A
# little above both measurements, so that what is said is not less than what is taken.
MEMORY_BASE_BYTES = 1.7e9
MEMORY_PER_PHOTO_BYTES = 1.0e5  # at 160 px; with the square of the side elsewhere


def memory_needed(photos: int, options: FitOptions) -> float:
    """Bytes a backbone fit of ``photos`` photos is expected to need at its peak."""
    side = (options.img_size or IMG_SIZE) / IMG_SIZE
    return MEMORY_BASE_BYTES + photos * MEMORY_PER_PHOTO_BYTES * side * side
