"""Regenerates ``neusight_forward_fit.csv``: NeuSight's eager fp32 HuggingFace forward passes on
the GPUs that are fitting data, not held out (A100-PCIE-40GB, V100-PCIE-32GB; issue 17's brief).

Same reader as the held-out forward files (:func:`make_heldout.neusight_forward`), other devices.
Not run at test or run time. Usage: ``python make_forward_fit.py NEUSIGHT_GIT_DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from make_heldout import neusight_forward

FIT_DEVICES = {"NVIDIA A100-PCIE-40GB": ("a100-pcie-40gb", "NVIDIA_A100-PCIE-40GB", "_fit"),
               "Tesla V100-PCIE-32GB": ("v100-pcie-32gb", "Tesla_V100-PCIE-32GB", "_fit")}

if __name__ == "__main__":
    neusight_forward(Path(sys.argv[1]), FIT_DEVICES, filesets=("_fit",))
