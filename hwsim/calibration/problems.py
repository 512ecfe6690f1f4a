"""The registry of GPU fit problems that ``hwsim validate gpu`` refits leave-one-GPU-out.

One line per problem in :data:`PROVIDERS`: ``"module:function"``, the function taking no
arguments and returning a :class:`~hwsim.calibration.fit.FitProblem`. Providers are imported
only when the problems are asked for, so registering one costs nothing at import time.

``hwsim validate gpu`` fits every problem once per GPU plus once on all rows, so a problem should
refit in about a second: few parameters, and a ``predict`` that caches what does not depend on
them (:mod:`hwsim.calibration.forward_problem` simulates one layer per row and memoises).
Rows come from ``*_fit.csv`` files only; a test checks that no held-out row is registered.
"""

from __future__ import annotations

from importlib import import_module

from hwsim.calibration.fit import FitProblem

__all__ = ["GEMM_PROVIDERS", "PROVIDERS", "fit_problems", "load_provider"]

PROVIDERS: tuple[str, ...] = (
    "hwsim.calibration.forward_problem:eager_forward_problem",
    "hwsim.calibration.attention_fit:problem",
    "hwsim.calibration.hbm_stream:problem",
)
# The GEMM problems simulate every row with the full tile search: a refit takes 0.5-3 minutes
# on 2 cores, too slow to run once per GPU on every `hwsim validate gpu`, so they run on request
# (`hwsim validate gpu --gemm-logo`, cached like the other sections). The A100-only tensor
# problem (hwsim.calibration.gpu_gemm.tensor_problem) has one GPU and no leave-one-GPU-out.
GEMM_PROVIDERS: tuple[str, ...] = (
    "hwsim.calibration.gpu_gemm:simt_problem",
    "hwsim.calibration.gpu_gemm:v024_problem",
)


def load_provider(spec: str) -> FitProblem:
    """Import ``module:function`` and call it; ValueError naming the entry if it is malformed or
    does not return a FitProblem."""
    module, sep, name = spec.partition(":")
    if not sep or not module or not name:
        raise ValueError(f"fit problem provider {spec!r}: expected 'module:function'")
    try:
        provider = getattr(import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"fit problem provider {spec!r}: {exc}") from exc
    problem = provider()
    if not isinstance(problem, FitProblem):
        raise ValueError(f"fit problem provider {spec!r} returned {type(problem).__name__}, "
                         "not a FitProblem")
    return problem


def fit_problems(providers: tuple[str, ...] = PROVIDERS) -> tuple[FitProblem, ...]:
    """Every registered problem, in registration order; problem names must be unique."""
    problems = tuple(load_provider(p) for p in providers)
    names = [p.name for p in problems]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"fit problems registered twice: {dupes}")
    return problems
