"""Helpers of ``nblabel bench widget`` (the browser run itself is a benchmark, not a test)."""

from __future__ import annotations

from nblabel.bench import widget as wb


def test_stats_percentiles():
    s = wb._stats(list(range(1, 101)))
    assert s["n"] == 100 and s["p50"] == 50.5 and 95 <= s["p95"] <= 96 and s["max"] == 100
    assert wb._stats([]) == {"n": 0}
    assert wb._stats([None, 3.0])["n"] == 1


def test_images_fall_back_to_the_bundled_sample(tmp_path):
    paths, source = wb._images(str(tmp_path), 5)  # an empty directory
    assert len(paths) == 5 and "bundled" in source


def test_markdown_lists_results_and_errors():
    res = {"date": "2026-01-01T00:00:00Z", "commit": "abc", "machine": {"cpu_usable": 2},
           "images": "x", "n_images": 3, "server": "0.5", "command": "nblabel bench widget",
           "notes": ["a note"],
           "results": {"nblabel_idle": {"next_item_ms": {"n": 2, "p50": 1, "p95": 2},
                                        "next_item_kernel_confirmed_ms": {"p50": 3, "p95": 4},
                                        "bytes_ratio_vs_encoded": 1.05},
                       "other_busy": {"error": "did not render"}}}
    md = wb._markdown(res)
    assert "| nblabel | idle | 1 / 2 |" in md and "did not render" in md and "a note" in md
    assert "nblabel_idle: 3 / 4" in md


def test_probes_install_script_is_a_function():
    assert wb.PROBES_JS.lstrip().startswith("() => {")
    assert "__bench_hook" in wb.PROBES_JS and "__bench_ext" in wb.PROBES_JS


def test_assist_cell_keeps_the_real_assistant_busy(tmp_path):
    """The 'assist' case's cell, run here without a browser: the labeler's BoxAssistant is
    training and tracking while the benchmark would page through the first images."""
    import time

    from nblabel.data.datasets import food_sample

    images, _ = food_sample()
    paths = list(images["path"])[:20]
    ns: dict = {}
    code = wb.ASSIST_CELL.format(paths=__import__("json").dumps(paths),
                                 store=str(tmp_path / "a.sqlite"))
    exec(compile(code.rsplit("\napp", 1)[0], "assist_cell", "exec"), ns)
    app = ns["app"]
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not app.assistant._model_lane.running_label:
            time.sleep(0.2)
        assert "training" in app.assistant.status
        assert app.session.current.key == "apple002S_1.jpg"  # paging starts at the first image
    finally:
        ns["_stop"].set()
        app.close()
