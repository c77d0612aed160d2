"""The TensorFlow side of the benchmark, run in its own processes.

tflite-runtime cannot share a process with TensorFlow, so everything that
imports TensorFlow happens here:

    python -m bench.tf_worker prepare WORK N EPOCHS   train, save .keras, export 3 ways
    python -m bench.tf_worker lite MODEL PHOTO CSV    cold start via tf.lite.Interpreter
    python -m bench.tf_worker keras MODEL PHOTO CSV   cold start the notebook's way
"""

from __future__ import annotations

import csv
import sys
from datetime import datetime, timezone


def write_row(path: str, photo: str, likes: float) -> None:
    with open(path, "w", newline="") as handle:
        now = datetime.now(timezone.utc).isoformat()
        csv.writer(handle).writerows([["scored_at", "path", "predicted_likes"],
                                      [now, photo, f"{likes:.1f}"]])


def lite(model: str, photo: str, out: str) -> None:
    import numpy as np
    import tensorflow as tf

    from scorer.photos.decode import load_photo

    interpreter = tf.lite.Interpreter(model_path=model)
    interpreter.allocate_tensors()
    inp, outp = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    pixels = load_photo(photo, int(inp["shape"][1]))[1][None].astype(np.float32) / 255.0
    scale, zero = inp["quantization"]
    interpreter.set_tensor(inp["index"], np.round(pixels / scale + zero).astype(inp["dtype"]))
    interpreter.invoke()
    o_scale, o_zero = outp["quantization"]
    raw = (float(interpreter.get_tensor(outp["index"]).ravel()[0]) - o_zero) * o_scale
    write_row(out, photo, raw)


def keras_predict(model: str, photo: str, out: str) -> None:
    import keras
    import numpy as np

    import trainer.networks.layers  # noqa: F401  (registers the custom layers for loading)
    from scorer.photos.decode import load_photo

    network = keras.models.load_model(model)
    size = int(network.input_shape[1])
    pixels = load_photo(photo, size)[1][None].astype(np.float32) / 255.0
    write_row(out, photo, float(network.predict(pixels, verbose=0).ravel()[0]))


def prepare(work: str, n: int, epochs: int, members: int = 3) -> None:
    """Train the default recipe on synthetic photos; save it and its three exports.

    As `spe-train fit` exports it (its members averaged in one graph), but with a
    fixed number of epochs instead of the cross-validation that fixes them.
    """
    import json
    from pathlib import Path

    import numpy as np
    import tensorflow as tf

    from scorer.model.card import Target, write_card
    from trainer.core.recipe import PIXEL_SCALE, FitOptions
    from trainer.data.layouts import load_dataset, load_pixels
    from trainer.data.synth import make_synthetic
    from trainer.export.card import build_card
    from trainer.export.int8 import export_int8, representative_set
    from trainer.fitting.train import split_indices, train
    from trainer.networks.ensemble import average

    root = Path(work)
    data = root / "synth"
    if not (data / "y_likes_data.txt").exists():
        make_synthetic(data, n=n, seed=31)
    options = FitOptions(backbone="none", epochs=epochs, members=members)
    dataset = load_dataset(data)
    pixels = load_pixels(dataset, options.img_size)
    likes = dataset.likes
    train_idx, val_idx = split_indices(len(likes), 0.2, 0)
    target = Target.fit(options.target, likes[train_idx])
    members = [train(pixels[train_idx], target.forward(likes[train_idx]), options, epochs=epochs,
                     seed=options.seed + 1000 * m)[0] for m in range(options.members)]
    model = average(members, options.img_size, options.tta) if len(members) > 1 else members[0]
    model.save(root / "model.keras")
    val = pixels[val_idx]
    np.save(root / "val_pixels.npy", val)
    np.save(root / "val_likes.npy", likes[val_idx])
    np.save(root / "keras_likes.npy",
            target.inverse(model.predict(val.astype(np.float32) * PIXEL_SCALE, verbose=0).ravel()))
    int8 = export_int8(model, representative_set(model, pixels[train_idx], 0),
                       PIXEL_SCALE)
    (root / "int8.tflite").write_bytes(int8)
    write_card(root / "int8.tflite", build_card(root / "int8.tflite", int8, target,
                                                likes[train_idx], options, dataset, epochs))
    for name, optimize in (("float32", False), ("dynamic", True)):
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if optimize:  # the converter's default quantization: dynamic range
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        (root / f"{name}.tflite").write_bytes(converter.convert())
    (root / "target.json").write_text(json.dumps(target.to_json()))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "prepare":
        prepare(args[0], int(args[1]), int(args[2]), *(int(a) for a in args[3:4]))
    elif command == "lite":
        lite(*args)
    elif command == "keras":
        keras_predict(*args)
    else:
        sys.exit(f"unknown command {command}")
