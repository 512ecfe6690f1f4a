"""The sidebar: chips side by side with their key parameters, the model (preset or upload),
sparsity, batch and fidelity -> a :class:`~hwsim.app.design.Design`.

Widgets keep their values in ``st.session_state`` under fixed keys (the tests set them by key);
defaults are written into the state before a widget is created, never passed as ``value=``, so
the Sweep page can load a design into the same keys.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from hwsim.app import compute
from hwsim.app.design import (
    AS_DEFINED,
    DEFAULT_CHIPS,
    DEFAULT_MODEL,
    DENSITY_STEPS,
    KEY_PARAMS,
    MAX_CHIPS,
    SPARSITY_KINDS,
    ChipChoice,
    Design,
    ParamSpec,
    base_spec,
    default_globs,
    default_kind,
    get_path,
    sparsity_strings,
)
from hwsim.errors import HwsimError

SPARSITY_KEYS = ("sparsity_kind", "sparsity_glob", "density", "density_std", "keep_ratio",
                 "depth_decay", "nm_n", "nm_m", "moe_routing", "moe_zipf_s")
KIND_LABELS = {AS_DEFINED: "as defined in the model", "dense": "dense (no sparsity)",
               "topk": "top-k activations", "relu": "ReLU (natural)",
               "attention_gate": "gated attention", "nm": "N:M structured",
               "moe": "MoE routing"}
LOAD_KEY = "_load_design"  # a design the Sweep page asks the sidebar to show on the next run


def param_key(preset: str, path: str) -> str:
    return f"p:{preset}:{path}"


def render() -> Design | None:
    """Draw the sidebar; the Design it describes, or None when the model cannot be loaded."""
    ss = st.session_state
    _first_run_defaults()
    _apply_loaded_design()
    with st.sidebar:
        st.header("Design under review")
        model, model_label = _model_widgets()
        chips = _chip_widgets()
        if model is None:
            return None
        sparsity = _sparsity_widgets(model)
        st.subheader("Run")
        st.number_input("batch (inputs per inference)", min_value=1, max_value=4096, step=1,
                        key="batch")
        st.radio("fidelity", ("analytic", "cycle"), key="fidelity", horizontal=True,
                 help="analytic: closed-form expected values; cycle: realised masks and a "
                 "tile-level event simulation")
    if sparsity is None:
        return None
    return Design(model=model, model_label=model_label, chips=chips, sparsity=sparsity,
                  batch=int(ss["batch"]), fidelity=str(ss["fidelity"]))


def _first_run_defaults() -> None:
    """Defaults, once per session; ``?chips=a,b&model=m`` in the URL picks the comparison."""
    ss = st.session_state
    if "chips" in ss:
        return
    chip_names = {name for name, _, _ in compute.presets("chips")}
    model_names = {name for name, _, _ in compute.presets("models")}
    asked = [c for c in str(st.query_params.get("chips", "")).split(",") if c in chip_names]
    ss["chips"] = asked[:MAX_CHIPS] or [c for c in DEFAULT_CHIPS if c in chip_names]
    model = str(st.query_params.get("model", ""))
    ss["model"] = model if model in model_names else DEFAULT_MODEL
    ss["model_source"] = "preset"
    ss["batch"] = 1
    ss["fidelity"] = "analytic"


def _model_widgets() -> tuple[str | None, str]:
    ss = st.session_state
    st.subheader("Model")
    st.radio("model from", ("preset", "upload"), key="model_source", horizontal=True)
    if ss["model_source"] == "preset":
        names = [name for name, _, _ in compute.presets("models")]
        descriptions = {name: desc for name, _, desc in compute.presets("models")}
        st.selectbox("model preset", names, key="model",
                     help=descriptions.get(ss.get("model", ""), ""))
        ref, label = str(ss["model"]), str(ss["model"])
    else:
        up = st.file_uploader("model file (.yaml, .onnx, .tflite; at most "
                              f"{compute.MAX_UPLOAD_BYTES // 2**20} MB)",
                              type=["yaml", "yml", "onnx", "tflite"], key="upload")
        if up is None:
            st.info("upload a model file, or choose a preset")
            return None, ""
        try:
            ref = compute.save_upload(up.name, up.getvalue())
            compute.sparse_ops(ref)  # parse it now: errors belong next to the upload
        except HwsimError as exc:
            st.error(str(exc))
            return None, ""
        label = up.name
    if ss.get("_model_seen") != ref:
        # a new model brings its own sparsity: forget the previous model's settings
        for key in SPARSITY_KEYS:
            ss.pop(key, None)
        ss["_model_seen"] = ref
    return ref, label


def _chip_widgets() -> tuple[ChipChoice, ...]:
    ss = st.session_state
    st.subheader("Chips")
    rows = compute.presets("chips")
    names = [name for name, _, _ in rows]
    groups = {name: group for name, group, _ in rows}
    st.multiselect(f"chips to compare (up to {MAX_CHIPS})", names, key="chips",
                   max_selections=MAX_CHIPS,
                   format_func=lambda n: f"{n}  ·  {groups.get(n, '')}")
    out = []
    for preset in ss["chips"]:
        doc = compute.chip_document(preset)
        with st.expander(f"{preset} parameters"):
            overrides = _param_widgets(preset, doc)
        out.append(ChipChoice(preset, tuple(sorted(overrides.items()))))
    if not out:
        st.warning("choose at least one chip")
    return tuple(out)


def _param_widgets(preset: str, doc: dict[str, Any]) -> dict[str, Any]:
    ss = st.session_state
    overrides: dict[str, Any] = {}
    for spec in KEY_PARAMS.get(str(doc.get("kind")), ()):
        preset_value = get_path(doc, spec.path)
        if preset_value is None:
            continue
        key = param_key(preset, spec.path)
        shown_default = spec.to_display(preset_value)
        ss.setdefault(key, shown_default)
        _param_widget(spec, key)
        if ss[key] != shown_default:
            overrides[spec.path] = spec.to_si(ss[key])
    if overrides:
        st.caption("edited: " + ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                          for k, v in overrides.items()))
    return overrides


def _param_widget(spec: ParamSpec, key: str) -> None:
    if spec.boolean:
        st.checkbox(spec.label, key=key)
    elif spec.choices is not None:
        options = list(spec.choices)
        if st.session_state[key] not in options:
            options.append(st.session_state[key])
        st.selectbox(spec.label, options, key=key)
    elif spec.integer:
        st.number_input(spec.label, min_value=0, step=1, key=key)
    else:
        st.number_input(spec.label, min_value=1e-3, format="%g", key=key)


def _sparsity_widgets(model: str) -> tuple[str, ...] | None:
    ss = st.session_state
    st.subheader("Sparsity")
    try:
        ops = compute.sparse_ops(model)
    except HwsimError as exc:
        st.error(str(exc))
        return None
    ss.setdefault("sparsity_kind", default_kind(ops))
    kind = st.selectbox("sparsity kind", SPARSITY_KINDS, key="sparsity_kind",
                        format_func=lambda k: KIND_LABELS.get(k, k))
    if kind == AS_DEFINED:
        st.caption("the model's own sparsity" if ops else "this model is dense as defined")
        return ()
    ss.setdefault("sparsity_glob", default_globs(ops, kind))
    st.text_input("apply to ops matching (globs, comma-separated)", key="sparsity_glob")
    fields = base_spec(ops, kind)
    if kind in ("topk", "relu"):
        fields["density"] = _fraction_slider("density", "activation density (fraction active)",
                                             fields.get("density", 0.1))
        std = (fields.get("variability") or {}).get("std", 0.0)
        ss.setdefault("density_std", float(std))
        st.slider("density spread across inputs (std)", 0.0, 0.1, step=0.005,
                  key="density_std", help="per-input variation: the cycle fidelity's "
                  "Distribution page draws each input's density from it")
        fields["variability"] = {"std": float(ss["density_std"])}
    elif kind == "attention_gate":
        fields["keep_ratio"] = _fraction_slider("keep_ratio", "attention keep ratio (layer 0)",
                                                fields.get("keep_ratio", 0.5))
        ss.setdefault("depth_decay", float(fields.get("depth_decay", 0.0)))
        st.slider("keep ratio decay per layer", 0.0, 0.5, step=0.01, key="depth_decay")
        fields["depth_decay"] = float(ss["depth_decay"])
    elif kind == "nm":
        ss.setdefault("nm_n", int(fields.get("n", 2)))
        ss.setdefault("nm_m", int(fields.get("m", 4)))
        st.number_input("N (nonzeros)", min_value=1, max_value=64, step=1, key="nm_n")
        st.number_input("M (group size)", min_value=1, max_value=64, step=1, key="nm_m")
        fields.update(n=int(ss["nm_n"]), m=int(ss["nm_m"]))
    elif kind == "moe":
        ss.setdefault("moe_routing", str(fields.get("routing", "uniform")))
        ss.setdefault("moe_zipf_s", float(fields.get("zipf_s", 1.0)))
        st.selectbox("routing", ("uniform", "zipf", "balanced"), key="moe_routing")
        st.slider("zipf exponent", 0.0, 3.0, step=0.1, key="moe_zipf_s")
        fields.update(routing=ss["moe_routing"], zipf_s=float(ss["moe_zipf_s"]))
    strings = sparsity_strings(str(ss["sparsity_glob"]), kind, fields)
    # Plain monospace text, not st.code: a code block on every page makes the browser fetch and
    # parse Streamlit's 1.5 MB syntax highlighter before the first page settles (interleaved
    # A/B in chromium: first page 3.40 -> 2.83 s median of five; README, "Measured figures").
    # The Export page keeps its copyable st.code command.
    st.text("\n".join(f"--sparsity '{s}'" for s in strings))
    return strings


def _fraction_slider(key: str, label: str, model_value: float) -> float:
    ss = st.session_state
    steps = sorted(set(DENSITY_STEPS) | {float(model_value)})
    ss.setdefault(key, float(model_value))
    if ss[key] not in steps:
        steps = sorted({*steps, float(ss[key])})
    st.select_slider(label, options=steps, key=key, format_func=lambda v: f"{v:g}")
    return float(ss[key])


def _apply_loaded_design() -> None:
    """Show a design picked on the Sweep page: its chip first, its parameters in the widgets."""
    ss = st.session_state
    loaded = ss.pop(LOAD_KEY, None)
    if not loaded:
        return
    preset = loaded["preset"]
    chips = [preset, *[c for c in ss.get("chips", []) if c != preset]][:MAX_CHIPS]
    ss["chips"] = chips
    doc = compute.chip_document(preset)
    for spec in KEY_PARAMS.get(str(doc.get("kind")), ()):
        if spec.path in loaded["params"]:
            ss[param_key(preset, spec.path)] = spec.to_display(loaded["params"][spec.path])
    for key, value in loaded.get("sparsity", {}).items():
        ss[key] = value
