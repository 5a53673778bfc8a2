"""The labeling assistant in a real browser, as a new user meets it: open a BoxLabeler with a
group column, draw the boxes of the first photo with the mouse, press ``n`` -- the tracker's
suggestion is drawn on the next photo without running any other cell; ``Enter`` accepts it
and the kernel's DataFrame has it with source ``tracker``. After the model's first fit, an
untouched group starts with a model suggestion. Checked in the kernel (JupyterLab) and in
the store (Voila)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_boxes_browser import drag, wait_for

CLASSES = ["apple", "banana", "egg", "coin"]
# the true boxes of apple002S_1 (image pixels), drawn by hand below
FOOD = (119.2, 97.3, 396.9, 357.6)
COIN = (529.4, 283.9, 618.8, 372.5)


def cells(store: str, assist: str) -> list[str]:
    return [
        "import nblabel\n"
        "from nblabel.assist import BoxAssistant\n"
        "images, truth = nblabel.datasets.food_sample()\n"
        "df = images[images['group'].isin(['apple002S', 'banana008S'])].copy()\n"
        "df = df.groupby('group', sort=False).head(3)\n"
        f"app = nblabel.BoxLabeler(df, image='path', classes={CLASSES!r}, group='group',\n"
        f"                         store={store!r}{assist})\n"
        "app",
    ]


def label_first_photo(page) -> None:
    """Mouse and keys only: class 1, drag around the food; class 4, drag around the coin."""
    canvas = page.locator(".nbl-canvas")
    canvas.wait_for()
    expect(page.locator(".nblabel-item-id")).to_have_text("apple002S_1")
    page.locator(".nbl-legend-item").filter(has_text="apple").click()
    drag(page, canvas, FOOD[:2], FOOD[2:])
    page.keyboard.press("4")
    drag(page, canvas, COIN[:2], COIN[2:])
    expect(page.locator(".nbl-status")).to_contain_text("2 boxes")
    page.keyboard.press("n")
    expect(page.locator(".nblabel-item-id")).to_have_text("apple002S_2")
    # drawn by the assistant in the background: no cell was run
    expect(page.locator(".nbl-status")).to_contain_text("1 suggestion", timeout=90_000)


def test_jupyterlab_tracker_then_model_suggestions(lab_server, page, notebook_dir, tmp_path,
                                                    write_notebook, open_lab, kernel_json,
                                                    screenshot):
    store = str(tmp_path / "assist.sqlite")
    # a quick model (2 labels, 30 steps) so its first fit happens within the test
    write_notebook(notebook_dir / "assist.ipynb", cells(
        store, ", assist=BoxAssistant(first_fit=2, fit_steps=30, processes=1)"))
    open_lab(page, lab_server, "assist.ipynb")
    label_first_photo(page)
    screenshot(page.locator(".nblabel-app"), "assist-jupyterlab-tracker")
    sugg = kernel_json(page, "[(s.source, [b.label for b in s.value]) "
                             "for s in app.session.suggestions()]")
    assert sugg and sugg[0][0] == "tracker" and sorted(sugg[0][1]) == ["apple", "coin"]
    page.keyboard.press("Enter")  # accept the tracker's boxes
    cell = wait_for(lambda: kernel_json(page, "df.loc['apple002S_2', 'boxes']"))
    assert cell and {b["source"] for b in cell} == {"tracker"}, cell
    assert sorted(b["label"] for b in cell) == ["apple", "coin"]
    # the model's first fit (2 labels) runs in the background; then an untouched group
    expect(page.locator(".nblabel-assist-status")).to_contain_text(
        "model v1 on 2 labels", timeout=120_000)
    untouched = kernel_json(page, "[k for k in df.index if k.startswith('banana')]")
    got = wait_for(lambda: kernel_json(
        page, f"[s.source for s in app.session.suggestions({untouched[0]!r})]"), timeout=60)
    assert got == ["model"], got
    page.keyboard.press("n")
    page.keyboard.press("n")  # past the last apple photo, into the banana group
    expect(page.locator(".nblabel-item-id")).to_contain_text("banana")
    expect(page.locator(".nbl-status")).to_contain_text("1 suggestion")
    screenshot(page.locator(".nblabel-app"), "assist-jupyterlab-model")
    msg = kernel_json(page, "app.controls.messages.value")
    assert "error" not in msg, msg
    # closing the labeler stops the assistant: no thread, no worker process left
    left = kernel_json(page, "app.close() or ([t.name for t in __import__('threading')"
                             ".enumerate() if t.name.startswith('nblabel-') and t.is_alive()],"
                             " [p.pid for p in __import__('multiprocessing').active_children()])")
    assert left == [[], []], left
    assert not page.page_errors, page.page_errors


def test_voila_tracker_suggestion_by_default(voila, page, notebook_dir, tmp_path,
                                             write_notebook, screenshot):
    from nblabel.store import Store

    store = str(tmp_path / "assist-voila.sqlite")
    write_notebook(notebook_dir / "assist_voila.ipynb", cells(store, ""))  # the defaults
    page.goto(voila("assist_voila.ipynb"))
    label_first_photo(page)
    expect(page.locator(".nblabel-assist-status")).to_contain_text("model after 20 labels")
    page.keyboard.press("Enter")
    screenshot(page, "assist-voila-tracker")

    def accepted():
        with Store(store, read_only=True) as st:
            ev = [e for e in st.events("boxes") if e.action == "label"
                  and e.item == "apple002S_2"]
            return ev[-1] if ev else None

    ev = wait_for(accepted)
    assert ev is not None and ev.source == "tracker"
    assert {b["source"] for b in ev.payload} == {"tracker"}
    assert not page.page_errors, page.page_errors
