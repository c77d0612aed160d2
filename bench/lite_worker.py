"""Time one .tflite file under one runtime, without TensorFlow in the process.

    python -m bench.lite_worker MODEL RUNTIME KERNELS PIXELS.npy OUT.npy REPEATS

KERNELS is "default" (the runtime's own choice: ai-edge-litert applies its
XNNPACK delegate) or "builtin" (the built-in kernels only, as spe runs them).

Prints a JSON line: ms per photo at batch 1 and 32 (median of REPEATS), or the
reason the runtime cannot load the model. Writes the raw outputs to OUT.npy.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import numpy as np


def main(model: str, runtime: str, kernels: str, pixels_path: str, out: str, repeats: int) -> dict:
    if runtime == "tflite-runtime":
        from tflite_runtime import interpreter as module
    else:
        from ai_edge_litert import interpreter as module
    try:
        builtin = module.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        options = {} if kernels == "default" else {"experimental_op_resolver_type": builtin}
        interpreter = module.Interpreter(model_path=model, num_threads=1, **options)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        return {"error": str(exc).splitlines()[0][:160]}
    inp, outp = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    pixels = np.load(pixels_path).astype(np.float32) / 255.0
    scale, zero = inp["quantization"]
    data = (np.clip(np.round(pixels / scale + zero), -128, 127).astype(inp["dtype"])
            if scale else pixels.astype(inp["dtype"]))

    def run(batch: np.ndarray) -> np.ndarray:
        if interpreter.get_input_details()[0]["shape"][0] != len(batch):
            interpreter.resize_tensor_input(inp["index"], [len(batch), *batch.shape[1:]])
            interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], batch)
        interpreter.invoke()
        raw = interpreter.get_tensor(outp["index"]).ravel().astype(np.float64)
        o_scale, o_zero = outp["quantization"]
        return (raw - o_zero) * o_scale if o_scale else raw

    outputs = np.concatenate([run(data[i : i + 32]) for i in range(0, len(data), 32)])
    np.save(out, outputs)
    result = {}
    for batch in (1, 32):
        chunk = data[:batch]
        run(chunk)  # warm-up, and the resize
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            run(chunk)
            times.append((time.perf_counter() - started) * 1000 / batch)
        result[f"ms_per_photo_batch{batch}"] = statistics.median(times)
    return result


if __name__ == "__main__":
    model, runtime, kernels, pixels_path, out, repeats = sys.argv[1:]
    print(json.dumps(main(model, runtime, kernels, pixels_path, out, int(repeats))))
