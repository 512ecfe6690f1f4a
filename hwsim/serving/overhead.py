"""The host overhead of a serving engine: seconds between GPU iterations.

A serving engine spends host time every iteration on scheduling, preparing inputs, sampling and
detokenising; with CUDA graphs the GPU waits for it. The law (Vidur's CPU-overhead model, Agrawal
et al., MLSys 2024, linear in the batch): ``per_step_s + per_seq_s x sequences`` scheduled in the
iteration. Given as seconds per iteration (``per_seq_s`` 0), a pair, or the name of an engine
fitted in ``configs/calibration/serving.yaml`` (``vllm``: fitted on ML.ENERGY vLLM 0.11.1 runs,
its ``fitted_on`` names the rows; ``hwsim validate serving`` shows held-out rows first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from hwsim.errors import input_error
from hwsim.presets import calibration_path


@dataclass(frozen=True)
class HostOverhead:
    """Host seconds per iteration: ``per_step_s + per_seq_s x scheduled sequences``."""

    per_step_s: float = 0.0
    per_seq_s: float = 0.0

    def seconds(self, seqs: int) -> float:
        return self.per_step_s + self.per_seq_s * seqs

    def to_dict(self) -> dict[str, float]:
        return {"per_step_s": self.per_step_s, "per_seq_s": self.per_seq_s}


@lru_cache(maxsize=1)
def _calibration() -> dict[str, Any]:
    return yaml.safe_load(calibration_path("serving").read_text())


def fitted_overheads() -> dict[str, HostOverhead]:
    """Engine name -> fitted host overhead, from the shipped calibration."""
    return {name: HostOverhead(float(e["per_step_s"]["value"]), float(e["per_seq_s"]["value"]))
            for name, e in _calibration()["host_overhead"].items()}


def fitted_prompt_tokens() -> int:
    """The mean prompt (tokens) of ML.ENERGY's lm-arena-chat task as ``hwsim validate
    serving`` runs it (the leaderboard publishes output lengths only)."""
    return int(_calibration()["lm_arena_chat_prompt_tokens"]["value"])


def host_overhead(value: HostOverhead | float | str | tuple[float, float],
                  flag: str = "step_overhead_s") -> HostOverhead:
    """A :class:`HostOverhead` from seconds per iteration, a (per-step, per-sequence) pair of
    seconds or a fitted engine's name."""
    if isinstance(value, HostOverhead):
        value = (value.per_step_s, value.per_seq_s)
    if isinstance(value, str):
        table = fitted_overheads()
        if value in table:
            return table[value]
        try:
            value = float(value)
        except ValueError:
            raise input_error(flag, f"expected seconds >= 0 or one of {sorted(table)}",
                              given=value) from None
    pair = value if isinstance(value, tuple) else (value, 0.0)
    if len(pair) != 2 or not all(
            not isinstance(x, bool) and isinstance(x, int | float) and math.isfinite(x)
            and x >= 0.0 for x in pair):
        raise input_error(flag, "expected seconds >= 0, a (per-step, per-sequence) pair of "
                          "them, or a fitted engine's name", given=value)
    return HostOverhead(float(pair[0]), float(pair[1]))
