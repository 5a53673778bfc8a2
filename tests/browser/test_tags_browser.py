"""TagLabeler in a real JupyterLab: type a tag with completion, remove a pre-filled tag,
submit with Enter, undo/redo with keys, and check the DataFrame in the kernel.

Fixtures come from ``tests/browser/conftest.py``. Screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

NOTEBOOK = r'''
import pandas as pd
import nblabel
from nblabel.vocab import TagVocabulary

records = [
    {"tag": "computer-vision", "aliases": ["cv", "vision"]},
    {"tag": "object-detection", "aliases": ["detection"], "parents": ["computer-vision"]},
    {"tag": "natural-language-processing", "aliases": ["nlp"]},
    {"tag": "transformers", "parents": ["natural-language-processing"]},
] + [{"tag": f"topic-{i:03d}"} for i in range(400)]
vocab = TagVocabulary(records)
long = " ".join(f"Sentence {i} of a long description that needs a scroll bar." for i in range(80))
df = pd.DataFrame({
    "title": ["<b>not bold</b><img src=x onerror='window.__pwned=1'> Real-time YOLO detector",
              "Fine-tuning BERT for legal text", "A third project"],
    "description": [long, "Short.", "Third."],
    "author": [["computer-vision", "topic-007"], ["nlp"], None],
})
labeler = nblabel.TagLabeler(df, text=["title", "description"], tags=vocab, prefill="author")
labeler
'''


def _cells(page) -> list[str]:
    return page.evaluate("""() => {
        const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
        return Array.from({length: cells.length}, (_, i) => cells.get(i).type); }""")


def test_tag_labeler_in_jupyterlab(
    lab_server, page, notebook_dir, write_notebook, open_lab, kernel_json, screenshot
):
    write_notebook(notebook_dir / "tags.ipynb", [NOTEBOOK])
    open_lab(page, lab_server, "tags.ipynb")
    tagger = page.locator(".nbl-tagger")
    tagger.wait_for()
    text = tagger.locator(".nbl-text")
    # markup in the item is shown as text, never run
    assert "<img src=x onerror=" in text.inner_text()
    assert page.evaluate("() => window.__pwned") is None
    assert tagger.locator(".nbl-text b").count() == 0
    # long text scrolls inside its box
    assert page.evaluate(
        "() => { const t = document.querySelector('.nbl-text');"
        " return t.scrollHeight > t.clientHeight + 50; }"
    )
    prefill = tagger.locator(".nbl-chip-prefill")
    tags = [prefill.nth(i).get_attribute("data-tag") for i in range(prefill.count())]
    assert tags == ["computer-vision", "topic-007"]

    # type-to-filter over 404 tags: "detec" finds object-detection through its alias
    box = tagger.locator(".nbl-input")
    box.click()
    box.press_sequentially("detec", delay=30)
    options = tagger.locator(".nbl-option")
    options.first.wait_for()
    assert options.all_inner_texts()[0] == "object-detection"
    screenshot(page, "tags_completion")
    box.press("Enter")
    tagger.locator(".nbl-chip[data-tag='object-detection']").wait_for()

    # remove a pre-filled tag with its x button
    tagger.locator(".nbl-chip[data-tag='topic-007'] .nbl-chip-x").click()
    tagger.locator(".nbl-chip[data-tag='topic-007']").wait_for(state="detached")
    assert kernel_json(page, "df.at[0, 'tags']") == ["computer-vision", "object-detection"]
    screenshot(page, "tags_edited")

    # Enter on the empty box submits and shows the next item with its pre-filled tag
    cells_before = _cells(page)
    box.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('.nbl-text').textContent.startsWith('Fine-tuning')"
    )
    tagger.locator(".nbl-chip-prefill[data-tag='natural-language-processing']").wait_for()
    # keys are swallowed: "1" in command mode would make the cell a heading
    box.press("1")
    assert _cells(page) == cells_before
    assert kernel_json(page, "df['tags'].tolist()") == [
        ["computer-vision", "object-detection"], None, None,
    ]

    # Ctrl+z undoes the last removal (and goes back to that item), Ctrl+y redoes it
    box.press("Control+z")
    page.wait_for_function(
        "() => document.querySelector('.nbl-text').textContent.startsWith('<b>')"
    )
    assert kernel_json(page, "df.at[0, 'tags']") == [
        "computer-vision", "object-detection", "topic-007",
    ]
    box.press("Control+y")
    tagger.locator(".nbl-chip[data-tag='topic-007']").wait_for(state="detached")
    assert kernel_json(page, "df.at[0, 'tags']") == ["computer-vision", "object-detection"]
    assert _cells(page) == cells_before
    assert not page.page_errors
    screenshot(page, "tags_final")
