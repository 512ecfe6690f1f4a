"""Base class for every config schema: strict, immutable, self-describing.

Every field of a schema carries its unit in its name (``clock_hz``, ``size_bytes``) and a
``description`` (gem5 ``Param`` style), so JSON Schema, ``hwsim schema`` and the app can show them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = 1


class StrictModel(BaseModel):
    """Frozen pydantic model that rejects unknown keys.

    Frozen instances are the immutable domain objects: loading validates a YAML document into
    them once, and nothing downstream mutates them (overrides build a new, re-validated object).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, defer_build=True)
