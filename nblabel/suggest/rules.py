"""Rules: plain Python callables that filter or fix an item's candidate boxes.

A rule takes the candidate boxes of one item and an :class:`ItemInfo` (image size, key,
expected classes) and returns the boxes to keep, possibly changed. Rules run in order with
:func:`apply_rules`; a rule that changes a box should mark it ``source="rule"``.

Example of a user rule, "the food is the largest object"::

    def largest_only(boxes, item):
        return sorted(boxes, key=lambda b: b.area)[-1:]
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

from nblabel.errors import InputError, InvalidBoxError
from nblabel.shapes import Box

__all__ = [
    "DEFAULT_RULES",
    "ItemInfo",
    "Rule",
    "apply_rules",
    "inside_image",
    "min_size",
    "one_per_class",
    "only_classes",
]


@dataclass(frozen=True)
class ItemInfo:
    """What a rule may know about the item: its key, image size and expected classes."""

    key: Hashable = None
    width: float | None = None
    height: float | None = None
    classes: tuple[str, ...] | None = None


Rule = Callable[[tuple[Box, ...], ItemInfo], Iterable[Box]]


def _score(b: Box) -> float:
    return -1.0 if b.score is None else float(b.score)


def one_per_class(boxes: tuple[Box, ...], item: ItemInfo) -> list[Box]:
    """Keep one box per class: the highest score (a human box, score ``None``, wins)."""
    best: dict[str, Box] = {}
    for b in boxes:
        cur = best.get(b.label)
        if cur is None or (b.score is None and cur.score is not None) or (
            cur.score is not None and b.score is not None and b.score > cur.score
        ):
            best[b.label] = b
    return [b for b in boxes if best.get(b.label) is b]


def inside_image(boxes: tuple[Box, ...], item: ItemInfo) -> list[Box]:
    """Clip boxes to the image; drop boxes entirely outside it (needs the image size)."""
    if item.width is None or item.height is None:
        return list(boxes)
    out = []
    for b in boxes:
        try:
            c = b.clip(item.width, item.height)
        except InvalidBoxError:
            continue
        out.append(c if c is b else c.replace(source="rule"))
    return out


def min_size(min_side: float = 4.0, *, min_area_fraction: float = 0.0) -> Rule:
    """A rule dropping boxes with a side below ``min_side`` pixels or covering less than
    ``min_area_fraction`` of the image (the fraction needs the image size)."""
    if min_side < 0 or not 0 <= min_area_fraction < 1:
        raise InputError("min_size needs min_side >= 0 and 0 <= min_area_fraction < 1")

    def rule(boxes: tuple[Box, ...], item: ItemInfo) -> list[Box]:
        area = (item.width or 0) * (item.height or 0)
        return [b for b in boxes if min(b.width, b.height) >= min_side
                and (not area or b.area >= min_area_fraction * area)]

    rule.__name__ = f"min_size({min_side}, min_area_fraction={min_area_fraction})"
    return rule


def only_classes(boxes: tuple[Box, ...], item: ItemInfo) -> list[Box]:
    """Drop boxes whose class is not among the item's expected classes (when known)."""
    if item.classes is None:
        return list(boxes)
    return [b for b in boxes if b.label in item.classes]


#: Rules applied by default: inside the image, at least 4 px, one box per class.
DEFAULT_RULES: tuple[Rule, ...] = (inside_image, min_size(4.0), one_per_class)


def apply_rules(
    boxes: Iterable[Box], rules: Sequence[Rule] = DEFAULT_RULES, item: ItemInfo | None = None
) -> tuple[Box, ...]:
    """Run ``rules`` in order over an item's candidate boxes.

    Raises
    ------
    InputError
        If a rule returns something that is not a box, naming the rule.
    """
    info = item or ItemInfo()
    cur = tuple(boxes)
    for rule in rules:
        out = rule(cur, info)
        if out is None:
            raise InputError(
                f"rule {getattr(rule, '__name__', rule)!r} returned None; "
                "a rule must return the boxes to keep (an empty list to keep none)"
            )
        cur = tuple(out)
        bad = [b for b in cur if not isinstance(b, Box)]
        if bad:
            raise InputError(
                f"rule {getattr(rule, '__name__', rule)!r} returned {type(bad[0]).__name__}, "
                "not Box objects"
            )
    return cur
