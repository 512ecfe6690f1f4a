"""Regenerate the MLPerf Tiny presets (models/mlperf-tiny-*.yaml) from the .tflite files here.

    python models/tflite/make_presets.py          # rewrite the four presets
    python models/tflite/make_presets.py --check  # exit 1 if a preset differs from a fresh import

Each preset is hwsim's TFLite import of an MLCommons Tiny reference model (SOURCES.csv names
the repository, commit, path and hashes of each copied file); the op list is never hand-edited.
"""

from __future__ import annotations

import csv
import dataclasses
import sys
from pathlib import Path

from hwsim.workload.importers import import_model, model_to_yaml

HERE = Path(__file__).resolve().parent
MODELS = HERE.parent

# preset name -> (file in this folder, what the network is; MACs and weights are appended)
PRESETS: dict[str, tuple[str, str]] = {
    "mlperf-tiny-kws": ("mlperftiny_kws_dscnn_int8.tflite",
                        "MLPerf Tiny keyword spotting: DS-CNN on 49x10 MFCC features, 12 classes"),
    "mlperf-tiny-ic": ("mlperftiny_ic_resnet8_int8.tflite",
                       "MLPerf Tiny image classification: ResNet-8 on 32x32x3 CIFAR-10 images, "
                       "10 classes"),
    "mlperf-tiny-vww": ("mlperftiny_vww_mobilenetv1_int8.tflite",
                        "MLPerf Tiny visual wake words: MobileNetV1 (width 0.25) on 96x96x3 "
                        "images, person / no person"),
    "mlperf-tiny-ad": ("mlperftiny_ad_fcautoencoder_int8.tflite",
                       "MLPerf Tiny anomaly detection: fully connected autoencoder on 640 "
                       "log-mel features (5 frames x 128 bins)"),
}


def sources() -> dict[str, dict[str, str]]:
    with (HERE / "SOURCES.csv").open(newline="", encoding="utf-8") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


def render(preset: str) -> str:
    """The YAML text of one preset, from a fresh import of its .tflite file."""
    file, what = PRESETS[preset]
    row = sources()[file]
    model = import_model(HERE / file, name=preset)
    zero = model.weight_zero_fraction or 0.0
    description = (f"{what}; int8, {model.macs / 1e6:.2f} M MACs, {model.weight_bytes:,} weight "
                   f"bytes ({100 * zero:.1f} % zero), imported from the reference .tflite")
    source = (f"MLCommons Tiny reference model: github.com/{row['github_repo']} at commit "
              f"{row['commit']}, {row['path']} (git blob sha1 {row['git_blob_sha1']}, md5 "
              f"{row['md5']}, {row['bytes']} bytes, sha256 {model.file_sha256}); copied to "
              f"models/tflite/{file} and imported by models/tflite/make_presets.py")
    model = dataclasses.replace(model, description=description, source=source,
                                origin=f"models/tflite/{file}")
    return model_to_yaml(model, header=f"Generated from models/tflite/{file} by "
                         "models/tflite/make_presets.py: rerun it rather than editing")


def main(argv: list[str]) -> int:
    stale = []
    for preset in PRESETS:
        path = MODELS / f"{preset}.yaml"
        text = render(preset)
        if "--check" in argv:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(MODELS.parent)}")
    if stale:
        print("out of date: " + ", ".join(stale) + " (run models/tflite/make_presets.py)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
