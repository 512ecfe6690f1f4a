"""Real activation masks from a real model: run an ONNX model on the user's inputs with ONNX
Runtime and record, for every matmul and float conv op hwsim's ONNX importer maps, which
elements of the op's activation operand are active, in hwsim's trace format
(:mod:`hwsim.sparsity.traces`). A conv's rows are its im2col windows
(:mod:`hwsim.capture_conv`).

Op names are the importer's (:func:`hwsim.workload.importers.onnx.read_onnx`), so a trace
captured from ``model.onnx`` drives ``hwsim simulate --model model.onnx --sparsity
'<op>:trace:path=trace.npz'`` as it is. A mask row is one token (a row of the op's A operand);
the rows of every input are stacked in input order. Rules: ``zero`` (active = nonzero, e.g.
ReLU outputs), ``threshold:T`` (active = |x| > T, e.g. TEAL/CATS-style magnitude sparsity),
``topk:K`` (the K largest |x| of each token).

ONNX Runtime is an optional extra (``pip install 'hwsim[capture]'``); it is imported only here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hwsim.capture_conv import ConvWindows, conv_windows
from hwsim.errors import input_error

EXTRA_HINT = "install the capture extra: pip install 'hwsim[capture]' (ONNX Runtime >= 1.17)"
# ONNX node types whose hwsim op reads an activation A: matmuls (rows = tokens, K = A's last
# dim) and float convolutions (rows = output pixels per group, K = the filter window).
CAPTURED_NODES = ("MatMul", "Gemm", "Conv")
MAX_INPUTS = 100_000


@dataclass(frozen=True)
class MaskRule:
    """Which elements count as active: nonzero, above a magnitude, or the top-k per token."""

    mode: str = "zero"  # "zero" | "threshold" | "topk"
    threshold: float = 0.0
    k: int = 0

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Boolean mask of a (tokens, K) activation."""
        if self.mode == "topk":
            if self.k >= x.shape[1]:
                return np.ones(x.shape, dtype=bool)
            idx = np.argpartition(-np.abs(x), self.k - 1, axis=1)[:, :self.k]
            mask = np.zeros(x.shape, dtype=bool)
            np.put_along_axis(mask, idx, True, axis=1)
            return mask
        return np.abs(x) > self.threshold

    @property
    def text(self) -> str:
        return {"zero": "zero", "threshold": f"threshold:{self.threshold:g}",
                "topk": f"topk:{self.k}"}[self.mode]


def parse_rule(text: str) -> MaskRule:
    """``zero`` | ``threshold:T`` (T >= 0) | ``topk:K`` (K >= 1)."""
    mode, _, arg = text.strip().partition(":")
    try:
        if mode == "zero" and not arg:
            return MaskRule()
        if mode == "threshold" and float(arg) >= 0.0:
            return MaskRule("threshold", threshold=float(arg))
        if mode == "topk" and int(arg) >= 1:
            return MaskRule("topk", k=int(arg))
    except ValueError:
        pass
    raise input_error("--mask", "unknown mask rule", given=text,
                      hint="zero, threshold:T (|x| > T is active, T >= 0) or topk:K (K >= 1)")


@dataclass
class OpCapture:
    """One op's capture: its ONNX node and tensor, K, tokens per input, density per input."""

    op: str
    node: str
    tensor: str
    k: int
    tokens_per_input: int
    transpose: bool = False  # Gemm transA: A is stored (K, tokens)
    conv: ConvWindows | None = None  # a Conv: rows are its im2col windows
    densities: list[float] = field(default_factory=list)

    def stats(self) -> dict[str, float | int | str]:
        d = np.asarray(self.densities, dtype=np.float64)
        return {"node": self.node, "tensor": self.tensor, "k": self.k,
                "tokens_per_input": self.tokens_per_input, "inputs": int(d.size),
                "density_mean": float(d.mean()), "density_std": float(d.std()),
                "density_min": float(d.min()), "density_max": float(d.max())}


@dataclass
class Capture:
    masks: dict[str, np.ndarray]  # op -> bool (inputs * tokens_per_input, K)
    ops: list[OpCapture]
    skipped: dict[str, str]  # op -> why it has no mask
    n_inputs: int
    meta: dict[str, str]


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise input_error("hwsim capture", "ONNX Runtime (onnxruntime) is not installed",
                          hint=EXTRA_HINT) from None
    return onnxruntime


def capture(model_path: str | Path, inputs_path: str | Path, rule: MaskRule = MaskRule(), *,
            max_inputs: int | None = None) -> Capture:
    """Run the model on every input of ``inputs_path`` and record each op's activation mask.

    ``inputs_path`` is an ``.npz`` with one array per graph input (by the input's name), each
    stacking N inputs on a new leading axis: shape (N, *input shape); one array of exactly the
    input's shape is a single input. Every problem is an :class:`HwsimError` naming the file.
    """
    ort = _ort()
    import onnx
    from onnx import shape_inference

    from hwsim.workload.importers.onnx import read_onnx
    from hwsim.workload.importers.onnx_graph import OnnxGraph

    model_path = Path(model_path)
    source = str(model_path)
    if not model_path.is_file():
        raise input_error(source, "ONNX model not found", hint="check the path")
    data = model_path.read_bytes()
    imported = read_onnx(data, source)  # the op names simulate will see; clean errors
    proto = shape_inference.infer_shapes(onnx.load_model_from_string(data), strict_mode=False,
                                         data_prop=True)
    g = OnnxGraph(proto)
    targets, skipped = _targets(imported, g)
    if not targets:
        raise input_error(source, "no op of this model has an activation hwsim can capture",
                          hint="capture records MatMul/Gemm/Conv inputs; not captured: "
                          + "; ".join(f"{k}: {v}" for k, v in list(skipped.items())[:5]))
    session = _session(ort, proto, g, [c.tensor for c in targets.values()], source)
    feeds = _feeds(session, Path(inputs_path), max_inputs)
    n = len(next(iter(feeds.values())))
    rows: dict[str, list[np.ndarray]] = {op: [] for op in targets}
    graph_inputs = {i.name for i in session.get_inputs()}
    fetch = sorted({c.tensor for c in targets.values()} - graph_inputs)
    for i in range(n):
        feed = {name: arr[i] for name, arr in feeds.items()}
        try:
            values = dict(zip(fetch, session.run(fetch, feed), strict=True))
        except Exception as exc:  # ORT raises its own exception types per failure
            raise input_error(str(inputs_path), f"ONNX Runtime failed on input {i}: {exc}",
                              hint="check the inputs' shapes and dtypes against the model's "
                              "inputs") from None
        values |= {k: v for k, v in feed.items() if k in graph_inputs}
        for op, c in targets.items():
            x = np.asarray(values[c.tensor])
            if c.conv is not None:
                x = c.conv.rows(x)
            elif c.transpose:
                x = np.swapaxes(x, -1, -2)
            if x.shape[-1] != c.k:
                raise input_error(source, f"op '{op}': activation {c.tensor!r} has K="
                                  f"{x.shape[-1]} at run time, the imported op has K={c.k}",
                                  hint="export the model with static shapes")
            mask = rule.apply(x.reshape(-1, c.k).astype(np.float64))
            rows[op].append(mask)
            c.densities.append(float(mask.mean()))
            c.tokens_per_input = mask.shape[0]
    masks = {op: np.concatenate(r, axis=0) for op, r in rows.items()}
    meta = {"model": f"{model_path.name} sha256 {hashlib.sha256(data).hexdigest()[:16]}",
            "inputs": f"{Path(inputs_path).name} sha256 {_sha(Path(inputs_path))[:16]}, "
                      f"{n} inputs",
            "rule": rule.text, "tool": f"hwsim capture (onnxruntime {ort.__version__})",
            "density_stats": json.dumps({op: c.stats() for op, c in targets.items()}),
            "not_captured": json.dumps(skipped)}
    return Capture(masks, list(targets.values()), skipped, n, meta)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _targets(imported: Any, g: Any) -> tuple[dict[str, OpCapture], dict[str, str]]:
    """The activation tensor of every captured op, and why the other costed ops are not."""
    targets: dict[str, OpCapture] = {}
    skipped: dict[str, str] = {}
    for op in imported.ops:
        idx = imported.origins.get(op.name)
        node = g.nodes[idx] if idx is not None else None
        if op.kind not in ("matmul", "conv2d") or node is None or (
                node.op_type not in CAPTURED_NODES):
            if op.kind in ("matmul", "conv2d", "recurrent"):
                what = node.op_type if node is not None else "a fused attention"
                skipped[op.name] = (f"{what}: capture records MatMul, Gemm and float Conv "
                                    "activations only")
            continue
        if node.op_type == "Conv":
            x, w, y = node.input[0], node.input[1], node.output[0]
            xs, ws_, ys = g.shape(x), g.shape(w), g.shape(y)
            win = conv_windows(g.attrs(node), tuple(xs[2:]), tuple(ws_[2:]), tuple(ys[2:]))
            targets[op.name] = OpCapture(op.name, node.name, x, win.k(int(xs[1])), 0,
                                         conv=win)
            continue
        a, b = node.input[0], node.input[1]
        if g.is_static(a) and not g.is_static(b):
            skipped[op.name] = "weight on the left (W @ X): its activation is B, not A"
            continue
        trans = node.op_type == "Gemm" and any(at.name == "transA" and at.i
                                               for at in node.attribute)
        targets[op.name] = OpCapture(op.name, node.name, a, int(op.k), 0, trans)
    return targets, skipped


def _session(ort: Any, proto: Any, g: Any, tensors: list[str], source: str) -> Any:
    """An ORT session whose outputs include every tensor to capture (one thread, CPU)."""
    import onnx

    have = {o.name for o in proto.graph.output} | {i.name for i in proto.graph.input}
    for name in dict.fromkeys(tensors):
        if name not in have:
            proto.graph.output.append(onnx.helper.make_tensor_value_info(
                name, g.types.get(name, onnx.TensorProto.FLOAT), None))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    # Graph optimisations could fuse away the tensors being captured.
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        return ort.InferenceSession(proto.SerializeToString(), opts,
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT's Fail / InvalidGraph / NotImplemented
        raise input_error(source, f"ONNX Runtime cannot run this model: {exc}",
                          hint="check it runs with onnxruntime.InferenceSession; re-export with "
                          "a supported opset") from None


def _feeds(session: Any, path: Path, max_inputs: int | None) -> dict[str, np.ndarray]:
    """Model input name -> (N, *shape) array, checked against the session's inputs."""
    import zipfile

    source = str(path)
    if not path.is_file():
        raise input_error(source, "inputs file not found", hint="an .npz with one array per "
                          "model input, named as the input")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise input_error(source, f"unreadable inputs .npz: {exc}",
                          hint="numpy.savez(path, **{input_name: array})") from None
    types = {"tensor(float)": np.float32, "tensor(double)": np.float64,
             "tensor(float16)": np.float16, "tensor(int64)": np.int64,
             "tensor(int32)": np.int32, "tensor(int8)": np.int8, "tensor(uint8)": np.uint8,
             "tensor(bool)": np.bool_}
    feeds: dict[str, np.ndarray] = {}
    for inp in session.get_inputs():
        if inp.name not in arrays:
            raise input_error(source, f"no array for model input '{inp.name}'",
                              field=inp.name, hint="arrays in the file: "
                              + (", ".join(sorted(arrays)) or "none"))
        arr, want = arrays[inp.name], list(inp.shape)
        if _fits(arr.shape, want):
            arr = arr[None]
        elif not _fits(arr.shape[1:], want):
            raise input_error(source, f"input '{inp.name}' has shape {arr.shape}; the model "
                              f"takes {_shape_text(want)}", field=inp.name,
                              hint=f"stack N inputs as (N, {_shape_text(want)[1:-1]})")
        dtype = types.get(inp.type)
        if dtype is None:
            raise input_error(source, f"input '{inp.name}' has type {inp.type}, which capture "
                              "does not feed", field=inp.name)
        feeds[inp.name] = arr[:max_inputs].astype(dtype, copy=False)
    counts = {len(a) for a in feeds.values()}
    if len(counts) != 1 or not 1 <= counts.pop() <= MAX_INPUTS:
        raise input_error(source, "every model input needs the same number of inputs N, "
                          f"1 <= N <= {MAX_INPUTS}",
                          given={k: len(v) for k, v in feeds.items()})
    return feeds


def _fits(shape: tuple[int, ...], want: list[Any]) -> bool:
    return len(shape) == len(want) and all(not isinstance(w, int) or w == s
                                           for s, w in zip(shape, want, strict=True))


def _shape_text(want: list[Any]) -> str:
    return "(" + ", ".join(str(w) if isinstance(w, int) else "?" for w in want) + ")"


def write(cap: Capture, out: str | Path) -> Path:
    """Save the masks and the capture's metadata as an hwsim trace."""
    from hwsim.sparsity.traces import save_trace

    try:
        return save_trace(out, cap.masks, cap.meta)
    except OSError as exc:
        raise input_error(str(out), f"cannot write the trace: {exc}") from None


__all__ = ["EXTRA_HINT", "Capture", "MaskRule", "OpCapture", "capture",
           "parse_rule", "write"]
