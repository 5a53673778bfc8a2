"""GrabCut refinement: a loose box tightens to the object; an untrusted result is refused."""

from __future__ import annotations

import cv2
import numpy as np

from nblabel.shapes import Box
from nblabel.suggest.grabcut import grabcut_box


def _plate(rng: np.random.Generator) -> np.ndarray:
    im = (rng.normal(200, 12, (240, 320, 3))).clip(0, 255).astype(np.uint8)
    cv2.ellipse(im, (160, 120), (60, 40), 0, 0, 360, (200, 60, 30), -1)  # the object
    return im


def test_a_loose_box_tightens_to_the_object():
    im = _plate(np.random.default_rng(0))
    truth = Box("a", 100, 80, 221, 161)
    loose = Box("a", 88, 70, 236, 178, score=0.7, source="model")
    out = grabcut_box(im, loose)
    assert out.iou(truth) > 0.9 > loose.iou(truth)
    assert out.label == "a" and out.score == 0.7 and out.source == "model"


def test_grey_and_16_bit_images_work():
    im = _plate(np.random.default_rng(1))
    loose = Box("a", 88, 70, 236, 178)
    grey16 = cv2.cvtColor(im, cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257
    assert grabcut_box(grey16, loose).iou(Box("a", 100, 80, 221, 161)) > 0.8


def test_a_flat_image_or_a_box_on_nothing_comes_back_unchanged():
    flat = np.full((100, 100, 3), 128, np.uint8)
    box = Box("a", 20, 20, 60, 60)
    assert grabcut_box(flat, box) == box
    assert grabcut_box(flat, Box("a", 10, 10, 12, 12)) == Box("a", 10, 10, 12, 12)
