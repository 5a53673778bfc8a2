"""Issue 15 as a user meets it in JupyterLab: keys-only class picking (pick, then draw) and
re-running the labeler cell after labeling (the store resumes; nothing is deleted).
Checked on the kernel's DataFrame and store."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_boxes_browser import drag, wait_for

CLASSES = ["apple", "banana", "egg", "coin"]
FOOD = (119.2, 97.3, 396.9, 357.6)
COIN = (529.4, 283.9, 618.8, 372.5)


def labeler_cell(store: str) -> str:
    # what notebook 01 asks the reader to run (a subset of its photos, for speed)
    return ("import nblabel\n"
            "images, truth = nblabel.datasets.food_sample()\n"
            "images = images.head(4).copy()\n"
            f"labeler = nblabel.BoxLabeler(images, image='path', classes={CLASSES!r},\n"
            f"                             group='group', store={store!r})\n"
            "labeler")


def test_keys_only_class_picking_then_rerunning_the_labeler_cell(
        lab_server, page, notebook_dir, tmp_path, write_notebook, open_lab, kernel_json,
        kernel_print, screenshot):
    store = str(tmp_path / "first-hour.sqlite")
    write_notebook(notebook_dir / "first_hour.ipynb", [labeler_cell(store)])
    open_lab(page, lab_server, "first_hour.ipynb")
    canvas = page.locator(".nbl-canvas")
    canvas.wait_for()
    expect(page.locator(".nblabel-item-id")).to_have_text("apple002S_1")
    # the notebook's own words, keys only for the classes: 1, drag; 4, drag
    canvas.click(position={"x": 5, "y": 5})  # focus: the keys go to the widget
    page.keyboard.press("Escape")
    page.keyboard.press("1")
    drag(page, canvas, FOOD[:2], FOOD[2:])
    page.keyboard.press("4")  # the class of the NEXT box: the food box stays an apple
    drag(page, canvas, COIN[:2], COIN[2:])
    expect(page.locator(".nbl-status")).to_contain_text("2 boxes")
    got = wait_for(lambda: (lambda v: v if v and len(v) == 2 else None)(kernel_json(
        page, "[b['label'] for b in images.loc['apple002S_1', 'boxes'] or []]")))
    assert got == ["apple", "coin"], got
    expect(page.locator(".nbl-flash")).to_be_hidden()  # no existing box was relabeled
    # re-run the labeler cell, as a user does after a restart or by habit: nothing is lost
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    expect(page.locator(".nbl-canvas")).to_have_count(1)
    again = wait_for(lambda: (lambda v: v if v and len(v) == 2 else None)(kernel_json(
        page, "[b['label'] for b in images.loc['apple002S_1', 'boxes'] or []]")))
    assert again == ["apple", "coin"], again
    n_labels = kernel_json(page, "len(labeler.session.labels)")
    assert n_labels == 2
    screenshot(page.locator(".nblabel-app"), "first-hour-rerun")
    kernel_print(page, "labeler.close()")
    assert not page.page_errors, page.page_errors
