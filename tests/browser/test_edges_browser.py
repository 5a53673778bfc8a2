"""Tight boxes by hand in a real browser (JupyterLab): select one edge (a click on it, or
`e`), snap it to the object's boundary with `b`; draw a box by four extreme clicks (`c`).
Checked on the kernel's DataFrame."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_boxes_browser import to_page, wait_for

OBJECT = (60, 40, 160, 120)  # the dark rectangle of the synthetic image (240 x 200)
SIZE = (240, 200)

CELL = (
    "import numpy as np, pandas as pd, nblabel\n"
    "from PIL import Image\n"
    "img = np.full((200, 240, 3), 220, np.uint8); img[40:120, 60:160] = 40\n"
    "Image.fromarray(img).save('edges.png')\n"
    "df = pd.DataFrame({{'path': ['edges.png']}}, index=['obj'])\n"
    "app = nblabel.BoxLabeler(df, image='path', classes=['obj'], store={store!r},\n"
    "                         assist=False)\n"
    "app"
)


def click_at(page, canvas, x, y):
    box = canvas.bounding_box()
    px, py = to_page(canvas, x, y, SIZE)
    canvas.click(position={"x": px - box["x"], "y": py - box["y"]})


def boxes(kernel_json, page, n):
    return wait_for(lambda: (lambda v: v if v and len(v) == n else None)(
        kernel_json(page, "df.loc['obj', 'boxes']")))


def test_snap_an_edge_and_draw_by_extreme_clicks(lab_server, page, notebook_dir, tmp_path,
                                                  write_notebook, open_lab, kernel_json,
                                                  screenshot):
    store = str(tmp_path / "e.sqlite")
    write_notebook(notebook_dir / "edges.ipynb", [CELL.format(store=store)])
    open_lab(page, lab_server, "edges.ipynb")
    canvas = page.locator(".nbl-canvas")
    canvas.wait_for()
    status = page.locator(".nbl-status")

    def drag_img(a, b):
        # to_page() assumes a 640x480 image; give it this image's size
        box = canvas.bounding_box()
        x0, y0 = to_page(canvas, *a, SIZE)
        canvas.hover(position={"x": x0 - box["x"], "y": y0 - box["y"]})
        page.mouse.down()
        page.mouse.move(*to_page(canvas, *b, SIZE), steps=6)
        page.mouse.up()

    drag_img((50, 30), (172, 130))  # a loose box around the object
    (b,) = boxes(kernel_json, page, 1)
    # mouse: a click on the right edge selects that edge; b snaps it
    click_at(page, canvas, b["x1"], (b["y0"] + b["y1"]) / 2)
    expect(status).to_contain_text("edge: right")
    page.keyboard.press("b")
    got = wait_for(lambda: (lambda v: v if v and abs(v[0]["x1"] - 160) <= 2 else None)(
        kernel_json(page, "df.loc['obj', 'boxes']")))
    assert got, kernel_json(page, "df.loc['obj', 'boxes']")
    assert abs(got[0]["x0"] - b["x0"]) < 0.01  # the other edges did not move
    screenshot(page.locator(".nblabel-app"), "edges-snapped-right")
    # keys only: e cycles to the next edge (bottom), arrows move only it, b snaps it
    page.keyboard.press("e")
    expect(status).to_contain_text("edge: bottom")
    page.keyboard.press("ArrowLeft")  # across the edge's axis: nothing moves
    page.keyboard.press("Shift+ArrowUp")  # the bottom edge up by 10 px
    moved = wait_for(lambda: (lambda v: v if v and abs(v[0]["y1"] - (b["y1"] - 10)) < 0.6
                              else None)(kernel_json(page, "df.loc['obj', 'boxes']")))
    assert moved and abs(moved[0]["x1"] - got[0]["x1"]) < 0.01, moved
    page.keyboard.press("b")
    snapped = wait_for(lambda: (lambda v: v if v and abs(v[0]["y1"] - 120) <= 2 else None)(
        kernel_json(page, "df.loc['obj', 'boxes']")))
    assert snapped, kernel_json(page, "df.loc['obj', 'boxes']")
    # extreme clicks: c, then the left-, top-, right- and bottom-most points of the object
    page.keyboard.press("Escape")
    page.keyboard.press("c")
    expect(status).to_contain_text("extreme clicks 0/4")
    for x, y in ((60, 80), (110, 40), (160, 70), (100, 120)):
        click_at(page, canvas, x, y)
    two = boxes(kernel_json, page, 2)
    assert two, kernel_json(page, "df.loc['obj', 'boxes']")
    ext = two[1]
    assert all(abs(v - w) <= 1.5 for v, w in zip(
        (ext["x0"], ext["y0"], ext["x1"], ext["y1"]), OBJECT)), ext
    expect(status).not_to_contain_text("extreme clicks")
    page.keyboard.press("?")
    expect(page.locator(".nbl-help")).to_contain_text("extreme clicks")
    expect(page.locator(".nbl-help")).to_contain_text("snap the selected edge")
    screenshot(page.locator(".nblabel-app"), "edges-help")
    assert not page.page_errors, page.page_errors
