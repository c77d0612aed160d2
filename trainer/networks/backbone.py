"""ImageNet-trained backbones, written in Keras and given ported PyTorch weights.

MobileNetV2 (Sandler et al. 2018) as torchvision builds it: a table of inverted
residual blocks (expansion t, channels c, repeats n, first stride s). Layers
carry the names keras.applications gives them (``block_13_expand_relu``), so a
cut is named as people name it. Three details make the port exact:

- PyTorch pads a 3x3 convolution by one pixel on every side, also at stride 2,
  where Keras's "same" pads only right and bottom: stride-2 convolutions get an
  explicit symmetric ZeroPadding2D and "valid";
- BatchNorm's epsilon is PyTorch's 1e-5;
- kernels go from OIHW to HWIO (depthwise C1HW to HWC1), and the input is
  normalised with ImageNet's mean and std on RGB in [0, 1] inside the graph, so
  the scorer's uint8 input and pixel scaling stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainer.networks.weights import EFFICIENTNET_LITE0, MOBILENET_V2, WeightsSource

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BN_EPSILON = 1e-5

# (expansion, channels, repeats, first stride): torchvision's inverted_residual_setting.
MOBILENET_V2_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


class _Builder:
    """Adds layers to a Keras graph and gives each its ported weights as it is made."""

    def __init__(self, weights: dict[str, np.ndarray], epsilon: float = BN_EPSILON):
        import keras

        self.keras, self.weights, self.epsilon = keras, weights, epsilon

    def conv(self, x, torch_name: str, name: str, stride: int = 1):
        kernel = self.weights[f"{torch_name}.weight"]  # OIHW
        if kernel.shape[2] > 1 and stride > 1:
            x = self.keras.layers.ZeroPadding2D(kernel.shape[2] // 2, name=f"{name}_pad")(x)
        layer = self.keras.layers.Conv2D(
            kernel.shape[0], kernel.shape[2:], strides=stride, use_bias=False, name=name,
            padding="valid" if stride > 1 else "same")
        x = layer(x)
        layer.set_weights([kernel.transpose(2, 3, 1, 0)])
        return x

    def depthwise(self, x, torch_name: str, name: str, stride: int):
        kernel = self.weights[f"{torch_name}.weight"]  # C1HW
        if stride > 1:
            x = self.keras.layers.ZeroPadding2D(kernel.shape[2] // 2, name=f"{name}_pad")(x)
        layer = self.keras.layers.DepthwiseConv2D(
            kernel.shape[2:], strides=stride, use_bias=False, name=name,
            padding="valid" if stride > 1 else "same")
        x = layer(x)
        layer.set_weights([kernel.transpose(2, 3, 0, 1)])
        return x

    def batch_norm(self, x, torch_name: str, name: str):
        w = self.weights
        layer = self.keras.layers.BatchNormalization(epsilon=self.epsilon, name=name)
        x = layer(x)
        layer.set_weights([w[f"{torch_name}.{part}"] for part in
                           ("weight", "bias", "running_mean", "running_var")])
        return x

    def relu6(self, x, name: str):
        return self.keras.layers.ReLU(6.0, name=name)(x)


def _inverted_residual(b: _Builder, x, index: int, expansion: int, channels: int, stride: int,
                       name: str, wanted: set[str], found: dict[str, Any]):
    """One block; stops early (returns None) once every wanted layer has been made."""
    def keep(layer_name: str, value):
        if layer_name in wanted:
            found[layer_name] = value
        return len(found) == len(wanted)

    inputs, torch = x, f"features.{index}.conv"
    part = 0
    if expansion != 1:
        x = b.conv(x, f"{torch}.0.0", f"{name}_expand")
        x = b.batch_norm(x, f"{torch}.0.1", f"{name}_expand_BN")
        x = b.relu6(x, f"{name}_expand_relu")
        if keep(f"{name}_expand_relu", x):
            return None
        part = 1
    x = b.depthwise(x, f"{torch}.{part}.0", f"{name}_depthwise", stride)
    x = b.batch_norm(x, f"{torch}.{part}.1", f"{name}_depthwise_BN")
    x = b.relu6(x, f"{name}_depthwise_relu")
    if keep(f"{name}_depthwise_relu", x):
        return None
    x = b.conv(x, f"{torch}.{part + 1}", f"{name}_project")
    x = b.batch_norm(x, f"{torch}.{part + 2}", f"{name}_project_BN")
    if stride == 1 and inputs.shape[-1] == channels:
        x = b.keras.layers.Add(name=f"{name}_add")([inputs, x])
    return None if keep(f"{name}_out", x) else x


def mobilenet_v2(size: int, weights: dict[str, np.ndarray], outputs: Sequence[str],
                 classifier: bool = False) -> Any:
    """A Keras model from pixels in [0, 1] (RGB) to the named layers' activations
    (``block_N_expand_relu``, ``block_N_depthwise_relu``, ``block_N_out``, ``out_relu``),
    or, with ``classifier``, to ImageNet's 1,000 logits. Layers past the deepest
    wanted one are not built."""
    import keras

    b = _Builder(weights)
    wanted = set(outputs) if not classifier else {"out_relu"}
    found: dict[str, Any] = {}
    inputs = keras.Input((size, size, 3), name="pixels")
    x = normalise(inputs)
    x = b.conv(x, "features.0.0", "Conv1", stride=2)
    x = b.relu6(b.batch_norm(x, "features.0.1", "bn_Conv1"), "Conv1_relu")
    index = 1
    for expansion, channels, repeats, first_stride in MOBILENET_V2_BLOCKS:
        for r in range(repeats):
            name = "expanded_conv" if index == 1 else f"block_{index - 1}"
            x = _inverted_residual(b, x, index, expansion, channels, first_stride if r == 0 else 1,
                                   name, wanted, found)
            if x is None:
                return keras.Model(inputs, [found[n] for n in outputs], name="mobilenet_v2_cut")
            index += 1
    x = b.conv(x, "features.18.0", "Conv_1")
    x = b.relu6(b.batch_norm(x, "features.18.1", "Conv_1_bn"), "out_relu")
    found["out_relu"] = x
    if classifier:
        pooled = keras.layers.GlobalAveragePooling2D()(x)
        dense = keras.layers.Dense(1000, name="predictions")
        logits = dense(pooled)
        dense.set_weights([weights["classifier.1.weight"].T, weights["classifier.1.bias"]])
        return keras.Model(inputs, logits, name="mobilenet_v2")
    missing = [n for n in outputs if n not in found]
    if missing:
        raise ValueError(f"mobilenet_v2 has no layer {missing[0]!r}")
    return keras.Model(inputs, [found[n] for n in outputs], name="mobilenet_v2_cut")


def normalise(x, mean_std: tuple[tuple[float, ...], tuple[float, ...]] | None = None):
    """ImageNet's mean and std (or the given ones), per RGB channel, on pixels in [0, 1]."""
    import keras

    mean = np.asarray(mean_std[0] if mean_std else IMAGENET_MEAN, np.float32)
    std = np.asarray(mean_std[1] if mean_std else IMAGENET_STD, np.float32)
    return keras.layers.Normalization(mean=mean, variance=std**2, name="imagenet_normalise")(x)


# EfficientNet-Lite0 (Tan and Le 2019; the Lite variants for int8 on phones: ReLU6, no
# squeeze-and-excitation, fixed stem and head), as RangiLyu's PyTorch port builds it:
# symmetric padding (k - 1) / 2, BatchNorm epsilon 1e-3, pixels scaled to about [-1, 1].
# Each block's kernel and width come from its weights; the strides from this table
# (the first block of stages 2, 3, 4 and 6).
LITE0_STRIDE_2 = {1, 3, 5, 11}
LITE0_BLOCKS = 16
LITE0_NORMALISE = ((0.498, 0.498, 0.498), (0.502, 0.502, 0.502))


def _mbconv(b: _Builder, x, index: int, name: str, stride: int, wanted: set[str],
            found: dict[str, Any]):
    """One EfficientNet-Lite block; None once every wanted layer has been made."""
    def keep(layer_name: str, value):
        if layer_name in wanted:
            found[layer_name] = value
        return len(found) == len(wanted)

    inputs, torch = x, f"_blocks.{index}"
    if f"{torch}._expand_conv.weight" in b.weights:
        x = b.conv(x, f"{torch}._expand_conv", f"{name}_expand")
        x = b.relu6(b.batch_norm(x, f"{torch}._bn0", f"{name}_expand_BN"), f"{name}_expand_relu")
        if keep(f"{name}_expand_relu", x):
            return None
    x = b.depthwise(x, f"{torch}._depthwise_conv", f"{name}_depthwise", stride)
    x = b.relu6(b.batch_norm(x, f"{torch}._bn1", f"{name}_depthwise_BN"),
                f"{name}_depthwise_relu")
    if keep(f"{name}_depthwise_relu", x):
        return None
    x = b.conv(x, f"{torch}._project_conv", f"{name}_project")
    x = b.batch_norm(x, f"{torch}._bn2", f"{name}_project_BN")
    if stride == 1 and inputs.shape[-1] == x.shape[-1]:
        x = b.keras.layers.Add(name=f"{name}_add")([inputs, x])
    return None if keep(f"{name}_out", x) else x


def efficientnet_lite0(size: int, weights: dict[str, np.ndarray], outputs: Sequence[str],
                       classifier: bool = False) -> Any:
    """As ``mobilenet_v2``, for EfficientNet-Lite0: layers ``block_N_expand_relu``,
    ``block_N_depthwise_relu``, ``block_N_out`` (N from 0 to 15) and ``out_relu``."""
    import keras

    b = _Builder(weights, epsilon=1e-3)
    wanted = set(outputs) if not classifier else {"out_relu"}
    found: dict[str, Any] = {}
    inputs = keras.Input((size, size, 3), name="pixels")
    x = normalise(inputs, LITE0_NORMALISE)
    x = b.conv(x, "_conv_stem", "stem", stride=2)
    x = b.relu6(b.batch_norm(x, "_bn0", "stem_BN"), "stem_relu")
    for index in range(LITE0_BLOCKS):
        x = _mbconv(b, x, index, f"block_{index}", 2 if index in LITE0_STRIDE_2 else 1,
                    wanted, found)
        if x is None:
            return keras.Model(inputs, [found[n] for n in outputs], name="efficientnet_cut")
    x = b.conv(x, "_conv_head", "head")
    found["out_relu"] = x = b.relu6(b.batch_norm(x, "_bn1", "head_BN"), "out_relu")
    if classifier:
        dense = keras.layers.Dense(1000, name="predictions")
        logits = dense(keras.layers.GlobalAveragePooling2D()(x))
        dense.set_weights([weights["_fc.weight"].T, weights["_fc.bias"]])
        return keras.Model(inputs, logits, name="efficientnet_lite0")
    missing = [n for n in outputs if n not in found]
    if missing:
        raise ValueError(f"efficientnet_lite0 has no layer {missing[0]!r}")
    return keras.Model(inputs, [found[n] for n in outputs], name="efficientnet_cut")


@dataclass(frozen=True)
class Backbone:
    """A pretrained network the trainer can stand on."""

    description: str
    weights: WeightsSource
    build: Callable[..., Any]  # (size, weights, outputs, classifier=False) -> keras.Model


# One table: adding a backbone is adding an entry (and its weights' source).
BACKBONES: dict[str, Backbone] = {
    "mobilenet_v2": Backbone("MobileNetV2, ImageNet-trained (torchvision's weights)",
                             MOBILENET_V2, mobilenet_v2),
    "efficientnet_lite0": Backbone("EfficientNet-Lite0, ImageNet-trained (int8-friendly)",
                                   EFFICIENTNET_LITE0, efficientnet_lite0),
}
