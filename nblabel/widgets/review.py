"""A minimal review widget: walk a :class:`~nblabel.review.Review` queue and approve, fix
or send back each item.

::

    from nblabel.quality.review import Review
    from nblabel.widgets.review import ReviewWidget
    ReviewWidget(Review(session, where="model", model=model, reviewer="ana"))

Shows the item (its text, or its image with the labeled boxes drawn), why it is in the
queue, its label and the model's suggestion. "Fix" sets the value typed or chosen in the
editor (a class menu, comma-separated tags), or takes the suggestion for boxes. All logic
is in :class:`~nblabel.review.Review`; errors appear in the message area.
"""

from __future__ import annotations

import html
import io
import logging
from typing import Any

import ipywidgets as w

__all__ = ["ReviewWidget"]

log = logging.getLogger("nblabel")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (set, frozenset, list, tuple)):
        items = [v.label if hasattr(v, "label") else v for v in value]
        return ", ".join(sorted(map(str, items))) or "(none)"
    return str(value)


class ReviewWidget(w.VBox):
    """Buttons and a view over a review queue (see the module docstring)."""

    def __init__(self, review: Any, *, note: bool = True) -> None:
        self.review = review
        self.session = review.session
        self.header = w.HTML()
        self.body = w.HTML()
        self.picture = w.Image(format="png", layout=w.Layout(max_width="480px"))
        self.picture.layout.display = "none"
        kind = getattr(self.session, "kind", "label")
        if kind == "label":
            self.editor: w.Widget = w.Dropdown(options=list(self.session.classes),
                                               description="Fix to")
        elif kind == "tags":
            self.editor = w.Text(description="Fix to", placeholder="tag, tag, ...")
        else:
            self.editor = w.HTML("<i>Fix takes the model's boxes</i>")
        self.note = w.Text(description="Note", placeholder="optional")
        self.note.layout.display = None if note else "none"
        self.buttons = {
            "approve": w.Button(description="Approve", button_style="success"),
            "fix": w.Button(description="Fix", button_style="warning"),
            "send_back": w.Button(description="Send back", button_style="danger"),
            "next": w.Button(description="Skip ▶"),
        }
        for name, b in self.buttons.items():
            b.on_click(lambda _b, n=name: self.press(n))
        self.messages = w.HTML()
        super().__init__([self.header, self.body, self.picture, self.editor, self.note,
                          w.HBox(list(self.buttons.values())), self.messages])
        self.refresh()

    # ------------------------------------------------------------------ actions
    def press(self, name: str) -> None:
        """Run a button's action; errors go to the message area and the log."""
        try:
            note = self.note.value or None
            if name == "approve":
                self.review.approve(note=note)
            elif name == "send_back":
                self.review.send_back(note=note)
            elif name == "fix":
                self.review.fix(self._fixed_value(), note=note)
            else:
                self.review.next()
            self.note.value = ""
            self.messages.value = ""
        except Exception as e:
            log.exception("review action %s failed", name)
            self.messages.value = (f"<span style='color:#b00'>{html.escape(type(e).__name__)}"
                                   f": {html.escape(str(e))}</span>")
        self.refresh()

    def _fixed_value(self) -> Any:
        kind = getattr(self.session, "kind", "label")
        if kind == "label":
            return self.editor.value
        if kind == "tags":
            return [t.strip() for t in self.editor.value.split(",") if t.strip()]
        row = self._row()
        if row is None or row["suggestion"] is None:
            raise ValueError("no model boxes to fix with: build the Review with predictions=")
        return row["suggestion"]

    # ------------------------------------------------------------------ view
    def _row(self) -> Any:
        key = self.review.current
        if key is None:
            return None
        t = self.review.table
        return t.loc[t["item"] == key].iloc[0]

    def refresh(self) -> None:
        """Show the current item of the queue."""
        key = self.review.current
        t = self.review.table
        done = int((t["status"] != "pending").sum()) if len(t) else 0
        self.header.value = (f"<b>Review</b> ({', '.join(self.review.where)}) "
                             f"&middot; {done}/{len(t)} decided &middot; "
                             f"reviewer <code>{html.escape(self.review.reviewer)}</code>")
        off = key is None
        for b in self.buttons.values():
            b.disabled = off
        if off:
            self.body.value = "<i>Queue done.</i>"
            self.picture.layout.display = "none"
            return
        row = self._row()
        item = self.session.items.item(key)
        text = item.text or ""
        self.body.value = (
            f"<div><b>item</b> <code>{html.escape(key)}</code> &middot; "
            f"<b>why</b> {html.escape(row['reason'])} (score {row['score']:.2f})</div>"
            f"<div><b>label</b> {html.escape(_fmt(row['value']))} &middot; "
            f"<b>suggestion</b> {html.escape(_fmt(row['suggestion']))}</div>"
            + (f"<blockquote>{html.escape(text[:600])}</blockquote>" if text else ""))
        self._show_picture(item, row)

    def _show_picture(self, item: Any, row: Any) -> None:
        if getattr(self.session, "kind", "") != "boxes":
            return
        try:
            import cv2

            img = item.image(max_side=480)
            pix = img.pixels.copy()
            for b, color in ((row["value"], (255, 0, 0)), (row["suggestion"], (0, 160, 0))):
                for box in b or ():
                    x0, y0 = int(box.x0 * img.scale), int(box.y0 * img.scale)
                    x1, y1 = int(box.x1 * img.scale), int(box.y1 * img.scale)
                    cv2.rectangle(pix, (x0, y0), (x1, y1), color, 2)
            ok, buf = cv2.imencode(".png", cv2.cvtColor(pix, cv2.COLOR_RGB2BGR))
            if ok:
                self.picture.value = io.BytesIO(buf.tobytes()).getvalue()
                self.picture.layout.display = None
        except Exception as e:  # a broken image must not break the review
            self.messages.value = f"<span style='color:#b00'>{html.escape(str(e))}</span>"
