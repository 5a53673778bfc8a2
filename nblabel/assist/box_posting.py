"""The posting half of :class:`~nblabel.assist.boxes.BoxAssistant`: what is known of an
image (tracker and model boxes) fused into one suggestion, checked for signs of a miss,
refined, scored and posted to the session -- and what the labeler says about it."""

from __future__ import annotations

import time
from typing import Any

from nblabel.assist.box_tracking import scaled
from nblabel.shapes import Box
from nblabel.suggest.doubt import PENALTY, suspect
from nblabel.suggest.fusion import fuse_boxes
from nblabel.suggest.rules import ItemInfo, apply_rules

__all__ = ["PostingMixin"]


class PostingMixin:
    """Posting of :class:`~nblabel.assist.boxes.BoxAssistant` (its state: ``session``,
    ``trust``, ``calibrator``, ``rules``, ``refine``, ``refine_band``, ``refine_pull``,
    ``check_misses``, ``fits``, ``model_version``, ``refine_ms``, ``_tracked``,
    ``_tracked_refined``, ``_predicted``,
    ``_second_look_boxes``, ``_size_stats``, ``_doubts``, ``_posted``, ``_scores``,
    ``_shown``, ``_labeled``, ``_classes_of``, ``_closed``, ``_lock``)."""

    def _post(self, pos: int) -> None:
        """Fuse what is known of one image into its suggestion and post it if it changed."""
        s = self.session
        key = str(s.items.keys[pos])
        if pos in self._labeled or self._closed:
            return
        with self._lock:
            tracked, predicted = self._tracked.get(pos, ()), self._predicted.get(pos, ())
            refined = self._tracked_refined.get(pos)
        if refined is not None and refined[0] == tracked:
            tracked = refined[1]  # through the model's crop pass
        if self._classes_of is not None:
            c = self._classes_of[pos]
            tracked = tuple(b.replace(label=c) for b in tracked)
            predicted = tuple(b.replace(label=c) for b in predicted)
            allowed: tuple[str, ...] = (c,)
        else:
            allowed = tuple(s.classes)
        fused = fuse_boxes(tracked, predicted, p_model=self.trust.p_model,
                           w_model=self.trust.w_model)
        fused = tuple(b for b in fused if b.label in allowed)
        w, h = s.items.size(pos)
        fused = apply_rules(fused, self.rules, ItemInfo(key=key, width=w, height=h,
                                                        classes=allowed))
        if not fused:
            return
        fused = self._doubted(pos, fused, tracked, (w, h))
        if self.refine:
            fused = self._refined(pos, fused)
        with self._lock:
            if self._posted.get(pos) == fused:
                return
            self._posted[pos] = fused
            self._scores[pos] = float(fused[0].score or 0.0)
        scores = [b.score for b in fused if b.score is not None]
        source = fused[0].source if fused[0].source in ("tracker", "model") else (
            "tracker" if tracked and not predicted else "model")
        raw = min(scores) if scores else 0.0
        shown = self.calibrator.calibrated(source, raw)
        with self._lock:
            self._shown[pos] = (source, raw)
        s.suggest(key, fused, source=source, score=raw if shown is None else shown,
                  replace="all", note=self.note(key))  # the note reaches a whole team

    def _refined(self, pos: int, boxes: tuple[Box, ...]) -> tuple[Box, ...]:
        """Each box's edges moved toward the nearest strong boundary (work-size image;
        ``refine_pull`` of the way)."""
        from nblabel.suggest.snap import pulled, snap_box

        t0 = time.perf_counter()
        try:
            im = self._image(pos)
        except Exception:  # no image, no refinement: the box is shown as it is
            return boxes
        work = scaled(boxes, im.scale)
        snapped = [pulled(b, snap_box(im.pixels, b, band=self.refine_band), self.refine_pull)
                   for b in work]
        out = scaled(snapped, 1.0 / im.scale)
        self.refine_ms.append((time.perf_counter() - t0) * 1000)
        del self.refine_ms[:-100_000]
        return tuple(out)

    def _doubted(self, pos: int, boxes: tuple[Box, ...], tracked: tuple[Box, ...],
                 size: tuple[int, int]) -> tuple[Box, ...]:
        """The boxes with the score of each suspected miss cut (see ``check_misses``)."""
        if not self.check_misses:
            return boxes
        with self._lock:
            second = self._second_look_boxes.get(pos)
            sizes = self._size_stats
        out, reasons = [], []
        for b in boxes:
            why = suspect(b, second_look=second, tracked=tracked, sizes=sizes,
                          image_size=size)
            if why and b.score is not None:
                b = b.replace(score=b.score * PENALTY ** len(why))
            reasons.extend(r for r in why if r not in reasons)
            out.append(b)
        with self._lock:
            self._doubts[pos] = tuple(reasons)
        return tuple(sorted(out, key=lambda b: -(b.score or 0.0)))

    def suspected(self, key: Any) -> tuple[str, ...]:
        """Why the item's pending suggestion may be on the wrong object (empty: no sign of
        it); see ``check_misses``."""
        pos = int(self.session.items.position_of(key))
        with self._lock:
            return self._doubts.get(pos, ()) if pos in self._shown else ()

    def note(self, key: Any) -> str:
        """What the annotator should know about an item's suggestion beyond its score:
        the model's version and how many labels it learned from, and whether the score is
        calibrated yet (e.g. ``"model v1, 13 labels, score not calibrated yet"``)."""
        pos = int(self.session.items.position_of(key))
        with self._lock:
            raw = self._shown.get(pos)
        if raw is None:
            return ""
        parts = []
        doubts = self.suspected(key)
        if doubts:
            parts.append("suspected miss: " + "; ".join(doubts))
        if raw[0] == "model" and self.fits:
            parts.append(f"model v{len(self.fits)}, {self.model_version} labels")
        if self.calibrator.decisions(raw[0]) < self.calibrator.min_decisions:
            parts.append("score not calibrated yet")
        return ", ".join(parts)
