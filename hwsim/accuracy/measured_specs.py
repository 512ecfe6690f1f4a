"""Read a Model's sparsity specs into the exact setting a measured network is evaluated under.

Each measured family's preset names its ops after the network's layers; this module checks the
shapes are that network's (so an accuracy is never attributed to a different model) and turns
every op's spec into a setting, refusing specs that have no meaning for the trained network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hwsim.accuracy.nets import attn, liquid, moe, predictor
from hwsim.config.sparsity import (
    AttentionGateSpec,
    DenseSpec,
    MoeSpec,
    NmSpec,
    ReluSpec,
    TopKSpec,
)
from hwsim.errors import input_error
from hwsim.workload.model import Model
from hwsim.workload.ops import OpBase

MOE_GROUP_TOKENS = 64  # test images routed together: expert capacity is per group of this size


@dataclass(frozen=True)
class MlpSetup:
    """Per site (0 pixels, 1 hidden-1, 2 hidden-2): kept fraction, selection block, predictor
    rank (0: oracle), natural (ReLU) only; and N:M weight pruning per layer (None: none)."""

    density: tuple[float, float, float] = (1.0, 1.0, 1.0)
    block: tuple[int, int, int] = (1, 1, 1)
    rank: tuple[int, int, int] = (0, 0, 0)
    relu: tuple[bool, bool, bool] = (False, False, False)
    nm_weights: tuple[tuple[int, int] | None, ...] = (None, None, None)
    nm_acts: tuple[tuple[int, int] | None, ...] = (None, None, None)


@dataclass(frozen=True)
class MoeSetup:
    top_k: int = moe.TRAIN_TOP_K
    capacity_factor: float | None = None
    routing_law: str = ""  # the spec's assumed law (the learned router decides; noted only)


@dataclass(frozen=True)
class AttnSetup:
    keep: tuple[float, ...] = (1.0,) * attn.LAYERS
    key_density: tuple[float, ...] = (1.0,) * attn.LAYERS


@dataclass(frozen=True)
class LiquidSetup:
    density: float = 1.0  # fraction of hidden neurons kept per step


Setup = MlpSetup | MoeSetup | AttnSetup | LiquidSetup


def _fail(model: Model, op: OpBase | None, message: str, hint: str | None = None) -> Exception:
    where = f"{model.name}" + (f" op '{op.name}'" if op is not None else "")
    return input_error(f"measured accuracy of {where}", message, hint=hint,
                       given=None if op is None else _spec_text(op))


def _spec_text(op: OpBase) -> str:
    return ", ".join(f"{k}={v}" for k, v in op.sparsity.model_dump().items())


def _ops(model: Model, family: str, shapes: dict[str, dict[str, Any]]) -> dict[str, OpBase]:
    """The named ops, checked against the trained network's shapes."""
    by_name = {op.name: op for op in model.ops}
    for name, want in shapes.items():
        op = by_name.get(name)
        got = None if op is None else {k: getattr(op, k, None) for k in want}
        if got != want:
            raise input_error(f"measured accuracy of {model.name}", f"the measured family "
                              f"'{family}' needs op '{name}' with {want}", given=got,
                              hint=f"start from the preset: hwsim show model {family}")
    return by_name


def _only_dense(model: Model, allowed: set[str], family: str) -> None:
    for op in model.ops:
        if op.name not in allowed and not isinstance(op.sparsity, DenseSpec):
            raise _fail(model, op, f"{family} measures sparsity only on "
                        f"{', '.join(sorted(allowed))}", hint="set this op dense, e.g. "
                        f"--sparsity '{op.name}:dense'")


def mlp_setup(model: Model) -> MlpSetup:
    ops = _ops(model, "digits-mlp", {"fc1": {"kind": "matmul", "k": 64, "n": 256},
                                     "fc2": {"kind": "matmul", "k": 256, "n": 256},
                                     "fc3": {"kind": "matmul", "k": 256, "n": 10}})
    _only_dense(model, {"fc1", "fc2", "fc3"}, "digits-mlp")
    density, block, rank = [1.0] * 3, [1] * 3, [0] * 3
    relu, nm_w, nm_a = [False] * 3, [None] * 3, [None] * 3
    for layer in (1, 2, 3):
        op = ops[f"fc{layer}"]
        spec = op.sparsity
        site = layer - 1 if getattr(op, "sparse_dim", "k") == "k" else layer
        if isinstance(spec, DenseSpec):
            continue
        if site == 3:
            raise _fail(model, op, "fc3's outputs are the 10 class scores; they are not sparse",
                        hint="use sparse_dim k on fc3 (its input, hidden layer 2)")
        if isinstance(spec, TopKSpec):
            if spec.granularity == "block" and 256 % spec.block if site else 64 % spec.block:
                raise _fail(model, op, "the selection block must divide the layer width")
            if spec.density < density[site]:
                density[site] = spec.density
                block[site] = spec.block if spec.granularity == "block" else 1
            if spec.predictor_rank or op.sparse_dim == "n":
                rank[site] = spec.predictor_rank or _predictor_rank(model, site, op)
        elif isinstance(spec, ReluSpec):
            if site == 0:
                raise _fail(model, op, "the input pixels are not ReLU outputs")
            relu[site] = True
        elif isinstance(spec, NmSpec):
            if spec.n > spec.m or (64 if site == 0 else 256) % spec.m:
                raise _fail(model, op, "N:M needs n <= m and m dividing the width")
            (nm_w if spec.operand == "weights" else nm_a)[
                layer - 1 if spec.operand == "weights" else site] = (spec.n, spec.m)
        else:
            raise _fail(model, op, f"spec kind '{spec.kind}' does not apply to digits-mlp",
                        hint="use topk, relu, nm or dense")
    for site in (1, 2):
        if not rank[site] and f"pred{site}_down" in ops:
            rank[site] = _predictor_rank(model, site, None)
    if rank[0]:
        raise _fail(model, ops["fc1"], "no predictor selects input pixels (only hidden layers "
                    "1 and 2 have one)")
    for site in (1, 2):
        if rank[site] and rank[site] not in predictor.RANKS:
            raise _fail(model, None, f"no predictor of rank {rank[site]} was trained",
                        hint=f"trained ranks: {', '.join(map(str, predictor.RANKS))}")
    return MlpSetup(tuple(density), tuple(block), tuple(rank), tuple(relu), tuple(nm_w),
                    tuple(nm_a))  # type: ignore[arg-type]


def _predictor_rank(model: Model, site: int, op: OpBase | None) -> int:
    down = next((o for o in model.ops if o.name == f"pred{site}_down"), None)
    if down is None or down.role != "predictor":
        raise _fail(model, op, f"hidden layer {site} is chosen by a predictor (sparse outputs "
                    f"or predictor_rank) but the model has no predictor op 'pred{site}_down'",
                    hint="set predictor_rank in the topk spec or add the predictor ops")
    return int(down.n)  # type: ignore[attr-defined]


def moe_setup(model: Model) -> MoeSetup:
    ops = _ops(model, "digits-moe", {
        "fc_in": {"kind": "matmul", "k": 64, "n": moe.D_MODEL},
        "router": {"kind": "router", "d_model": moe.D_MODEL, "experts": moe.EXPERTS},
        "experts": {"kind": "moe", "d_model": moe.D_MODEL, "d_ff": moe.D_FF,
                    "experts": moe.EXPERTS},
        "classifier": {"kind": "matmul", "k": moe.D_MODEL, "n": 10}})
    _only_dense(model, {"experts"}, "digits-moe")
    op = ops["experts"]
    spec = op.sparsity
    if isinstance(spec, MoeSpec):
        return MoeSetup(op.top_k, spec.capacity_factor, spec.routing)  # type: ignore[attr-defined]
    if isinstance(spec, DenseSpec):
        return MoeSetup(op.top_k, None)  # type: ignore[attr-defined]
    raise _fail(model, op, f"spec kind '{spec.kind}' does not apply to the experts",
                hint="use moe (capacity_factor) or dense (no capacity limit)")


def attn_setup(model: Model) -> AttnSetup:
    shapes: dict[str, dict[str, Any]] = {"embed": {"kind": "matmul", "k": attn.FEATURES,
                                                   "n": attn.D},
                                         "classifier": {"kind": "matmul", "k": attn.D, "n": 10}}
    for i in range(attn.LAYERS):
        shapes[f"layer{i}.attn"] = {"kind": "attention", "heads": attn.HEADS,
                                    "seq_q": attn.TOKENS, "seq_kv": attn.TOKENS,
                                    "head_dim": attn.HEAD_DIM, "layer": i}
    ops = _ops(model, "digits-attn", shapes)
    names = {f"layer{i}.attn" for i in range(attn.LAYERS)}
    _only_dense(model, names, "digits-attn")
    keep, keys = [1.0] * attn.LAYERS, [1.0] * attn.LAYERS
    for i in range(attn.LAYERS):
        op = ops[f"layer{i}.attn"]
        spec = op.sparsity
        if isinstance(spec, AttentionGateSpec):
            if spec.granularity == "token" or (spec.granularity == "block"
                                               and spec.block < attn.TOKENS):
                raise _fail(model, op, "the trained gate decides per head (one head's whole "
                            f"{attn.TOKENS}x{attn.TOKENS} attention map), not per token",
                            hint="use granularity head (or block with block >= 8)")
            keep[i] = spec.keep_ratio * (1.0 - spec.depth_decay) ** op.layer  # type: ignore
        elif isinstance(spec, TopKSpec):
            if spec.granularity != "element" or spec.predictor_rank:
                raise _fail(model, op, "top-k keys per query is measured per key (element), "
                            "by the exact scores")
            keys[i] = spec.density
        elif not isinstance(spec, DenseSpec):
            raise _fail(model, op, f"spec kind '{spec.kind}' does not apply to digits-attn's "
                        "attention", hint="use attention_gate, topk (keys) or dense")
    return AttnSetup(tuple(keep), tuple(keys))


def liquid_setup(model: Model) -> LiquidSetup:
    ops = _ops(model, "digits-liquid", {
        "cell": {"kind": "recurrent", "cell": "cfc", "steps": liquid.STEPS,
                 "inputs": liquid.INPUTS, "hidden": liquid.HIDDEN},
        "readout": {"kind": "matmul", "k": liquid.HIDDEN, "n": 10}})
    # The readout reads the mean state over the steps (the union of every step's active set),
    # so only the cell's per-step state carries a measured sparsity.
    _only_dense(model, {"cell"}, "digits-liquid")
    op = ops["cell"]
    spec = op.sparsity
    if isinstance(spec, DenseSpec):
        return LiquidSetup(1.0)
    if isinstance(spec, TopKSpec) and spec.granularity == "element" and not spec.predictor_rank:
        return LiquidSetup(spec.density)
    raise _fail(model, op, "digits-liquid measures element top-k of the hidden state (by "
                "magnitude, no predictor) or dense",
                hint="e.g. --sparsity 'cell:topk:density=0.02'")


SETUPS = {"digits-mlp": mlp_setup, "digits-moe": moe_setup, "digits-attn": attn_setup,
          "digits-liquid": liquid_setup}
