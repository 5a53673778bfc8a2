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
