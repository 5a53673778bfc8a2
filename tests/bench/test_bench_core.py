import json

from nblabel.cli import main


def test_bench_core_runs_small(tmp_path, capsys):
    out = tmp_path / "core.json"
    assert main(["bench", "core", "--sizes", "100,1000", "--actions", "200",
                 "--resume-events", "2000", "--resume-rows", "500", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert [r["rows"] for r in data["actions"]] == [100, 1000]
    assert data["actions"][0]["actions"] == 100
    assert data["resume"]["labeled_items"] > 0
    assert data["machine"]["cpu_count"] >= 1 and data["date"]
    assert data["label_median_ratio_largest_to_smallest"] > 0


def test_bench_lists_benchmarks(capsys):
    assert main(["bench"]) == 0
    assert "core" in capsys.readouterr().out


def test_bench_options_default_to_the_products_defaults():
    import inspect

    from nblabel.assist import BoxAssistant
    from nblabel.assist.tags import TagAssistant
    from nblabel.bench import boxes, tags

    def default(cls, name):
        return inspect.signature(cls).parameters[name].default

    b = boxes._parser().parse_args(["--images", "i", "--annotations", "a", "--out", "o"])
    for option, param in [("first_train", "first_fit"), ("steps", "fit_steps"),
                          ("retrain_steps", "retrain_steps"), ("retrain_epochs", "retrain_epochs"),
                          ("min_retrain_steps", "min_retrain_steps"), ("explore", "explore"),
                          ("max_train_labels", "max_fit_labels"), ("refine_pull", "refine_pull"),
                          ("group_chunk", "group_chunk"), ("max_side", "work_side"),
                          ("refit_on_misses", "refit_on_misses"), ("tracker", "tracker")]:
        assert getattr(b, option) == default(BoxAssistant, param), option
    t = tags._parser().parse_args([])
    for name in ("exploration", "aggregate", "density", "density_fade"):
        assert getattr(t, name) == default(TagAssistant, name), name
