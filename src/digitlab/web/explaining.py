"""Explanations for the page: digitlab.explain's maps, feature maps and neighbours as the API's JSON.

The library (digitlab.explain) computes in float tensors; the page draws 0..255 images. Here each
model kind gets one function ``(image (H, W) uint8, target class) -> Explanation``, made once when
the model is loaded, and the arrays are scaled to uint8 and cut to what a page can show: an
attribution map, the most active channels of each convolutional block, and the k-NN's neighbours.
Only fast methods run here (saliency, Grad-CAM: one backward pass each), so an explained drawing
stays interactive (benchmarks/web_explain.py).
"""

from __future__ import annotations

import numpy as np

from digitlab.pixels import from_unit
from digitlab.web.answers import Explainer, Explanation, FeatureMapLayer, Neighbour

MAX_CHANNELS_SHOWN = 16  # feature maps per block sent to the page: the most active ones, a 4x4 grid


def to_pixels(values: np.ndarray) -> list:
    """Maps (..., h, w) of non-negative evidence -> 0..255 rows, each map scaled by its own maximum (zero stays zero)."""
    values = np.clip(np.asarray(values, dtype=np.float32), 0.0, None)  # negative evidence is not shown; NaN -> 0 below
    peaks = values.max(axis=(-2, -1), keepdims=True)  # (..., 1, 1)
    unit = np.divide(values, peaks, out=np.zeros_like(values), where=peaks > 0)  # (..., h, w) in [0, 1]
    return from_unit(np.nan_to_num(unit)).tolist()


def network_method(model: object) -> str:
    """Grad-CAM for networks with convolutions (where it is the more readable map), else saliency."""
    from torch import nn

    return "grad_cam" if any(isinstance(m, nn.Conv2d) for m in model.modules()) else "saliency"  # type: ignore[attr-defined]


def network_explainer(model: object) -> Explainer:
    """Attribution (and for a CNN, feature maps) of a torch network for one prepared drawing."""
    method = network_method(model)
    is_cnn = method == "grad_cam"

    def explain(image: np.ndarray, target: int) -> Explanation:
        import torch  # imported on the first explained drawing: captum costs a second at start-up otherwise

        from digitlab.explain import attribute, feature_maps

        pixels = torch.from_numpy(np.ascontiguousarray(image))  # (H, W) uint8
        attribution = attribute(model, pixels[None], method, targets=target)[0].numpy()  # (H, W)
        layers = [feature_layer(found.name, found.maps.numpy()) for found in feature_maps(model, pixels)] if is_cnn else []
        return Explanation.model_construct(method=method, target_index=target, attribution=to_pixels(attribution),
                                           feature_maps=layers, neighbours=[])

    return explain


def feature_layer(name: str, maps: np.ndarray) -> FeatureMapLayer:
    """One block's (channels, h, w) output -> its ``MAX_CHANNELS_SHOWN`` most active channels as images."""
    strongest = np.argsort(-maps.reshape(len(maps), -1).mean(axis=1), kind="stable")[:MAX_CHANNELS_SHOWN]
    return FeatureMapLayer.model_construct(layer=name, shape=list(maps.shape), maps=to_pixels(maps[strongest]))


def knn_explainer(knn: object) -> Explainer:
    """The k nearest training images of a drawing (``knn``: a digitlab.explain.FittedKNN)."""
    def explain(image: np.ndarray, target: int) -> Explanation:
        from digitlab.explain import explain_knn

        found = explain_knn(knn, image)  # type: ignore[arg-type]
        neighbours = [
            Neighbour.model_construct(index=int(index), label=int(label), class_name=found.classes[int(label)],
                                      distance=float(distance), weight=float(weight), pixels=pixels.tolist())
            for index, label, distance, weight, pixels in zip(found.indices, found.labels, found.distances, found.weights,
                                                              found.images, strict=True)
        ]
        return Explanation.model_construct(method=None, target_index=target, attribution=None, feature_maps=[],
                                           neighbours=neighbours)

    return explain
