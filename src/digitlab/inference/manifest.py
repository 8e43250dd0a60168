"""The schema of ``checkpoint.json``, checked before anything is built from it.

A checkpoint may come from someone else (a classmate's folder, a download): every field is checked
for its type (strictly: ``"5"`` is no number, ``5`` no class name), and the sizes that decide memory
are bounded before a byte of weights is read. Unknown extra fields are kept (a newer digitlab may
write more); missing optional ones get their defaults.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator

FORMAT = "digitlab-checkpoint"
FORMAT_VERSION = 1
MAX_ERRORS_SHOWN = 3  # the first few schema errors say enough
TENSOR_FILE_NAME = r"^[A-Za-z0-9._-]+\.safetensors$"  # a bare name: a manifest cannot point outside its folder


class TensorFile(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    name: StrictStr = Field(pattern=TENSOR_FILE_NAME)
    sha256: StrictStr = Field(pattern=r"^[0-9a-f]{64}$")


class Files(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")

    weights: TensorFile
    training_state: TensorFile | None = None


class Manifest(BaseModel):
    """What ``save_checkpoint`` writes (digitlab.training.checkpoint) and ``load_network`` reads: the one description."""

    model_config = ConfigDict(strict=True, extra="allow")

    format: Literal["digitlab-checkpoint"]
    format_version: Literal[1]
    # The run the network belongs to, as RunSpec.to_dict() writes it (digitlab.experiments.spec reads it back typed): its
    # model and model_config rebuild the network, its dataset names the images and classes it answers for.
    spec: dict[str, Any]
    classes: list[StrictStr] = []
    image_shape: list[StrictInt] | None = None  # (height, width) of the images it was trained on
    num_parameters: StrictInt | None = None
    metrics: dict[str, Any] = {}
    history: list[dict[str, Any]] = []
    files: Files
    training_state: Any = None
    created: StrictStr = ""
    versions: dict[str, StrictStr] = {}

    @field_validator("spec")
    @classmethod
    def spec_describes_a_network(cls, spec: dict[str, Any]) -> dict[str, Any]:
        for key, kind in (("dataset", str), ("model", str), ("model_config", dict)):
            if not isinstance(spec.get(key), kind) or not spec[key]:
                raise ValueError(f"spec.{key} must be a non-empty {kind.__name__}, got {spec.get(key)!r}")
        return spec

    @field_validator("metrics")
    @classmethod
    def accuracies_are_fractions(cls, metrics: dict[str, Any]) -> dict[str, Any]:
        for key, value in metrics.items():
            if key.endswith("accuracy") and value is not None:
                if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and 0 <= value <= 1):
                    raise ValueError(f"{key} must be a number in 0..1 or null, got {value!r}")
        return metrics


def parse_manifest(data: Any) -> Manifest:
    """``data`` (parsed JSON) as a Manifest; ValueError naming the first offending fields otherwise."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"not a digitlab checkpoint (format {found!r})")
    if data.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"checkpoint format {data.get('format_version')!r}; this digitlab reads format {FORMAT_VERSION}")
    try:
        return Manifest.model_validate(data)
    except ValidationError as error:
        problems = [f"{'.'.join(map(str, e['loc'])) or 'manifest'}: {e['msg']}" for e in error.errors()[:MAX_ERRORS_SHOWN]]
        more = error.error_count() - MAX_ERRORS_SHOWN
        raise ValueError("; ".join(problems) + (f" (and {more} more)" if more > 0 else "")) from None
