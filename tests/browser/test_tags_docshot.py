"""Screenshot for the docs (opt-in: ``NBLABEL_DOCSHOTS=1``, ~40 s): the TagLabeler on the
bundled Made With ML sample with the default text model trained on 58 labels, pre-filled
author tags, numbered model suggestions and the completion list open. Writes
``tests/artifacts/tags_doc.png`` (copied by hand to ``docs/img/tags.png``)."""

from __future__ import annotations

import os

import pytest

pytestmark = [
    pytest.mark.allow_skip,
    pytest.mark.skipif(
        os.environ.get("NBLABEL_DOCSHOTS") != "1", reason="docs screenshot: set NBLABEL_DOCSHOTS=1"
    ),
]

NOTEBOOK = r'''
import nblabel
from nblabel.data.datasets import projects_sample
from nblabel.vocab import TagVocabulary

df, records = projects_sample()
df = df.rename(columns={"tags": "author_tags"})
labeler = nblabel.TagLabeler(df, text=["title", "description"], tags=TagVocabulary(records),
                             prefill="author_tags", model="default", order="margin",
                             retrain_every=25)
s = labeler.session
for key in s.items.keys[:60]:
    s.set_tags(s.prefilled(key), key)
s.goto(next(k for k in s.items.keys[60:] if len(s.prefilled(k)) >= 3))
labeler.trainer.start()
labeler.trainer.learner.wait(60)
labeler
'''


def test_tags_docs_screenshot(lab_server, page, notebook_dir, write_notebook, open_lab,
                              kernel_print):
    write_notebook(notebook_dir / "tags_doc.ipynb", [NOTEBOOK])
    open_lab(page, lab_server, "tags_doc.ipynb")
    tagger = page.locator(".nbl-tagger")
    tagger.wait_for(timeout=120_000)
    page.locator(".nbl-sugg .nbl-p").first.wait_for()
    assert tagger.locator(".nbl-chip-prefill").count() >= 3
    box = tagger.locator(".nbl-input")
    box.click()
    box.press_sequentially("attent", delay=30)
    tagger.locator(".nbl-option").first.wait_for()
    assert tagger.locator(".nbl-option").first.inner_text() == "attention"
    page.wait_for_timeout(300)
    os.makedirs("tests/artifacts", exist_ok=True)
    page.locator(".nbl-labeler").screenshot(path="tests/artifacts/tags_doc.png")

    # a fit finishing in the worker thread updates the page: 25 more labels start one
    box.press("Escape")
    kernel_print(page, "for k in s.items.keys[100:125]: s.set_tags(['computer-vision'], k)")
    page.locator(".nblabel-messages", has_text="retrained on 83 labels").wait_for(timeout=60_000)
