from pathlib import Path

from nblabel.data.datasets import food_sample, projects_sample


def test_food_sample():
    images, truth = food_sample()
    assert 50 <= len(images) <= 80 and images.index.is_unique
    assert set(images["food"]) == {"apple", "banana", "egg"}
    assert all(Path(p).is_file() for p in images["path"])
    assert images["group"].nunique() >= 6
    assert set(truth["id"]) == set(images.index)
    assert set(truth["label"]) == {"apple", "banana", "egg", "coin"}
    merged = truth.join(images, on="id")
    assert ((merged.x1 <= merged.width + 1) & (merged.y1 <= merged.height + 1)).all()
    assert images[["width", "height"]].max().max() <= 640


def test_projects_sample():
    projects, vocabulary = projects_sample()
    assert len(projects) == 200 and projects["created_on"].is_monotonic_increasing
    assert {"tag", "aliases", "parents"} <= set(vocabulary[0])
    assert projects["tags"].map(len).mean() > 3
