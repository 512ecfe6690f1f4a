"""hwsim: cycle-approximate simulation and design-space exploration of sparse-activation
neural networks on accelerators, GPUs and microcontrollers.

Public API (the CLI and the app are thin layers over it)::

    chip = hwsim.load_chip("systolic-32x32", overrides={"array.rows": 64})
    model = hwsim.load_model("gpt2-small", seq=256)
    result = hwsim.simulate(model, chip, batch=1)
    result.to_dict(); result.to_dataframe(); result.total.energy_j
    hwsim.sensitivity("h100-sxm", "llama2-7b", phase="decode").rows  # elasticities
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Attributes are imported on first use, so `import hwsim` (and the CLI's start) stays fast.
_EXPORTS = {
    "simulate": "hwsim.engine.simulate",
    "HwsimError": "hwsim.errors",
    "load_chip": "hwsim.hardware.chips",
    "load_tech": "hwsim.hardware.tech",
    "load_model": "hwsim.workload.load",
    "gemm": "hwsim.workload.load",
    "conv2d": "hwsim.workload.load",
    "sensitivity": "hwsim.elasticity",
}

__all__ = ["HwsimError", "__version__", "conv2d", "gemm", "load_chip", "load_model", "load_tech",
           "sensitivity", "simulate"]

if TYPE_CHECKING:
    from hwsim.elasticity import sensitivity
    from hwsim.engine.simulate import simulate
    from hwsim.errors import HwsimError
    from hwsim.hardware.chips import load_chip
    from hwsim.hardware.tech import load_tech
    from hwsim.workload.load import conv2d, gemm, load_model


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'hwsim' has no attribute {name!r}")
