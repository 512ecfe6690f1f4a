"""Which serving mode ``hwsim serve`` runs: token-level for decoder models, request-level
otherwise or when a request-level flag (``--batching``, ``--seq``, ``--phase``, ``--slo-ms``)
asks for it. Mixing the two modes' flags is an input error naming both."""

from __future__ import annotations

from hwsim.errors import input_error
from hwsim.serving.tokens import is_decoder
from hwsim.workload.load import load_model


def token_level(model: str, *, batching: str, seq: int | None, phase: str | None,
                slo_ms: float | None, token_flags: list[str]) -> bool:
    """True when ``hwsim serve`` should serve ``model`` token by token; ``token_flags``: the
    token-level flags the user gave."""
    request_flags = [name for name, given in (("--batching", batching != "none"),
                                              ("--seq", seq is not None),
                                              ("--phase", phase is not None),
                                              ("--slo-ms", slo_ms is not None)) if given]
    if request_flags and token_flags:
        raise input_error(token_flags[0], f"token-level flags cannot be combined with "
                          f"request-level {', '.join(request_flags)}",
                          hint="drop one set: token-level serving schedules iterations itself")
    if request_flags:
        return False
    decoder = is_decoder(load_model(model))
    if token_flags and not decoder:
        raise input_error(token_flags[0], f"{model} is not a decoder model (attention and an "
                          f"lm_head): {token_flags[0]} applies to token-level serving only",
                          hint="use --batching for request-level serving")
    return decoder
