"""YAML in, validated immutable objects out — with errors a user can act on.

``yaml.safe_load`` only. Pydantic errors are rewritten into :class:`~hwsim.errors.Problem` rows
naming the field path, the value given, what was expected and, for misspelt keys, the closest
valid key.
"""

from __future__ import annotations

import difflib
import functools
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from hwsim.errors import HwsimError, Problem, input_error, short_repr

T = TypeVar("T")

MAX_CONFIG_BYTES = 2 * 1024 * 1024  # configs are small; a bigger file is a mistake, not a config


def read_yaml_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping from ``path`` with ``yaml.safe_load``; clean errors for every failure."""
    return parse_yaml_text(read_config_text(path), str(path))


def read_config_text(path: str | Path) -> str:
    """A config file's text, size-limited to ``MAX_CONFIG_BYTES``; clean errors naming the file."""
    return read_small_text(path, max_bytes=MAX_CONFIG_BYTES, limited="configs",
                           not_found_hint="check the path, or use a preset name "
                           "(hwsim list chips|models|tech)")


def read_small_text(path: str | Path, *, max_bytes: int, limited: str,
                    not_found: str = "file not found", not_found_hint: str | None = None,
                    hint: str | None = None) -> str:
    """A user-supplied text file (config, curve, ...), size-limited, as UTF-8 text: a clean
    error naming the file for every way that fails. ``limited`` names what the limit is for
    ("configs"); ``hint`` goes with the size and encoding errors."""
    p = Path(path)
    src = str(path)
    if not p.exists():
        raise input_error(src, not_found, hint=not_found_hint)
    if not p.is_file():
        raise input_error(src, "not a regular file")
    size = p.stat().st_size
    if size > max_bytes:
        raise input_error(src, f"file is {size} bytes; {limited} are limited to {max_bytes}",
                          hint=hint)
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise input_error(src, f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                          hint=hint) from None
    except OSError as exc:
        raise input_error(src, f"cannot read file: {exc.strerror}") from None


def safe_load(text: str) -> Any:
    """``yaml.safe_load``, through libyaml's build of the same safe loader when it is installed
    (plain data only, the same Python constructor: ~10x faster on a tech table, which is most of
    a single ``hwsim simulate``). Text libyaml rejects is parsed again by ``yaml.safe_load``, so
    a broken file gets the pure-Python error message and position."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return yaml.load(text, Loader=fast)
        except Exception:  # any failure: the reference loader decides
            pass
    return yaml.safe_load(text)


def parse_yaml_text(text: str, source: str) -> dict[str, Any]:
    """Parse YAML text that must hold one mapping."""
    try:
        doc = safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise input_error(source, f"not valid YAML{where}: {problem}") from None
    except (ValueError, TypeError, RecursionError) as exc:  # e.g. absurd timestamps, deep nesting
        raise input_error(source, f"not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        kind = "empty" if doc is None else type(doc).__name__
        raise input_error(source, f"expected a YAML mapping of fields at the top, got {kind}",
                          hint="a config file starts with 'schema_version: 1' and "
                          "'key: value' lines")
    return doc


@functools.lru_cache(maxsize=64)
def _adapter(schema: Any) -> TypeAdapter[Any]:
    return TypeAdapter(schema)


def validate(doc: Mapping[str, Any], schema: Any, source: str) -> Any:
    """Validate ``doc`` against ``schema`` (a model class or an annotated union type)."""
    try:
        return _adapter(schema).validate_python(dict(doc))
    except ValidationError as exc:
        raise HwsimError(source, problems_from(exc, schema), summary="invalid config") from None
    except (ValueError, TypeError, AssertionError) as exc:  # validators raising outside pydantic
        raise input_error(source, f"invalid config: {exc}") from None


def problems_from(exc: ValidationError, schema: Any) -> list[Problem]:
    """Pydantic errors -> Problems with user paths (union tags dropped) and hints."""
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for err in exc.errors(include_url=False):
        raw_loc = tuple(err.get("loc", ()))
        etype = err.get("type", "")
        loc, parent = _walk(schema, raw_loc)
        path = _dotted(loc)
        hint: str | None = None
        given: str | None = None
        if etype == "extra_forbidden":
            key = str(loc[-1]) if loc else ""
            allowed = sorted(parent.model_fields) if parent is not None else []
            close = difflib.get_close_matches(key, allowed, n=3, cutoff=0.6)
            msg = "unknown field"
            if close:
                hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
            elif allowed:
                hint = "valid fields here: " + ", ".join(allowed)
        else:
            msg = err.get("msg", "invalid value")
            if "input" in err and etype != "missing" and not isinstance(err["input"], dict):
                given = short_repr(err["input"])
            if etype == "union_tag_invalid":
                ctx = err.get("ctx") or {}
                tag = str(ctx.get("tag", ""))
                options = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
                close = difflib.get_close_matches(tag, options, n=2, cutoff=0.5)
                if close:
                    hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
            if etype == "missing":
                hint = "add this field"
        keyed = (path, msg)
        if keyed in seen:
            continue
        seen.add(keyed)
        problems.append(Problem(path, msg, given, hint))
    return problems


def _dotted(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _unwrap(tp: Any) -> list[Any]:
    """Candidate types behind Optional/Annotated/Union/list wrappers."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(tp):
            out.extend(_unwrap(arg))
        return out
    return [tp]


def _walk(schema: Any, loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], type[BaseModel] | None]:
    """Follow a pydantic error location down the schema.

    Returns the location without union tags (what a user wrote in the file) and the model class
    holding the last element (for "did you mean" on unknown keys)."""
    current: list[Any] = _unwrap(schema)
    clean: list[Any] = []
    holder: type[BaseModel] | None = None
    for item in loc:
        models = [t for t in current if isinstance(t, type) and issubclass(t, BaseModel)]
        tagged = [t for t in models if item not in t.model_fields and _tag_of(t) == item]
        if isinstance(item, str) and tagged:  # a discriminator tag, not a key of the document
            current = tagged
            continue
        clean.append(item)
        holder = models[0] if len(models) == 1 else holder
        nxt: list[Any] = []
        for tp in current:
            origin = typing.get_origin(tp)
            if isinstance(item, int) and origin in (list, tuple):
                nxt.extend(_unwrap(typing.get_args(tp)[0]))
            elif isinstance(item, str) and origin is dict:
                nxt.extend(_unwrap(typing.get_args(tp)[1]))
            elif isinstance(tp, type) and issubclass(tp, BaseModel) and item in tp.model_fields:
                nxt.extend(_unwrap(tp.model_fields[item].annotation))
        current = nxt
    return tuple(clean), holder


def _tag_of(model: type[BaseModel]) -> str | None:
    kind = model.model_fields.get("kind")
    if kind is None:
        return None
    args = typing.get_args(kind.annotation)
    return str(args[0]) if args else None


def set_dotted(doc: dict[str, Any], path: str, value: Any, source: str) -> None:
    """Set ``doc[a][b][c] = value`` for ``path='a.b.c'``, creating mappings on the way."""
    if not path or any(not part for part in path.split(".")):
        raise input_error(source, "override path must be dotted field names like array.rows",
                          given=path)
    parts = path.split(".")
    node: Any = doc
    for i, part in enumerate(parts[:-1]):
        child = node.get(part) if isinstance(node, dict) else None
        if child is None:
            child = {}
            node[part] = child
        if not isinstance(child, dict):
            raise input_error(source, f"'{'.'.join(parts[: i + 1])}' is a value, not a group of "
                              "fields", field=path)
        node = child
    node[parts[-1]] = value


def parse_override_value(text: str) -> Any:
    """Values from ``--set path=value`` are read as YAML scalars: 32, 1.5e9, true, ws."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return text if value is None and text.strip() not in ("null", "~", "") else value


def apply_overrides(doc: dict[str, Any], overrides: Mapping[str, Any] | None,
                    source: str) -> dict[str, Any]:
    """Return a deep copy of ``doc`` with dotted-path overrides applied (validated later)."""
    import copy

    out = copy.deepcopy(doc)
    for path, value in (overrides or {}).items():
        set_dotted(out, path, value, source)
    return out
