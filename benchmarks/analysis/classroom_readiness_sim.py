"""Where a class's suggestion readiness goes: students as plain processes, no browsers.

``nblabel bench classroom`` runs headless Chromium students, so on this 2-core machine the
leader's model fit competes with ten browsers. This study drops the browsers to see what
readiness is made of: each student is a process with a team-mode ``BoxSession`` and a
``SharedAssistant`` (the first one leads), labeling a folder of photos (one subfolder per
group, ``nblabel.image_folder``) at the classroom benchmark's pace: it looks 1.7 s, accepts
the first suggestion if there is one, else spends the rest of 7 s drawing a box at a fixed
place, then asks for the next photo. A photo is *ready* when it had a suggestion as it was
served.

Usage, from the repository root::

    python benchmarks/analysis/classroom_readiness_sim.py FOLDER OUTDIR \\
        [--students 5] [--actions 40] [--fit-steps N]

``--fit-steps`` sets the leader's first (and later) fit length; a short fit stands in for a
machine that trains faster (it changes when the first model's suggestions arrive, not what
the study counts). Prints readiness overall, by the photo's place in the student's run of a
group, and after the first model suggestion reached the student; writes OUTDIR/summary.json.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

NAMES = ["ana", "ben", "chloe", "dev", "emma", "farid", "gus", "hana", "ivan", "jo"]


def student(args: argparse.Namespace) -> None:
    from PIL import Image

    from nblabel.assign import Assignment
    from nblabel.assist.team import SharedAssistant
    from nblabel.data.folder import image_folder
    from nblabel.session import BoxSession
    from nblabel.shapes import Box

    def factory():
        from nblabel.assist.boxes import BoxAssistant

        return BoxAssistant(**({"fit_steps": args.fit_steps, "retrain_steps": args.fit_steps}
                               if args.fit_steps else {}))

    images = image_folder(args.folder)
    s = BoxSession(images, image="path", classes=["food", "coin"], group="group",
                   store=str(Path(args.out) / "class.sqlite"), annotator=args.student,
                   assignment=Assignment(lease_seconds=1800))
    shared = SharedAssistant(factory).attach(s)
    recs, t0 = [], time.time()
    for _ in range(args.actions):
        item = s.current
        if item is None:
            break
        key = item.key
        shown = s.suggestions(key)
        rec = {"group": images.at[key, "group"], "ready": bool(shown), "t": time.time() - t0,
               "source": shown[0].source if shown else None}
        time.sleep(1.7)
        if s.suggestions(key):
            s.accept(0, key=key)
            rec["action"] = "accept"
        else:
            time.sleep(7 - 1.7)
            w, h = Image.open(images.at[key, "path"]).size
            s.set_boxes([Box("food", 0.3 * w, 0.3 * h, 0.6 * w, 0.65 * h)])
            rec["action"] = "draw"
        recs.append(rec)
        s.next()
    out = {"name": args.student, "leader_at_end": shared.is_leader, "records": recs}
    (Path(args.out) / f"{args.student}.json").write_text(json.dumps(out))
    shared.close()
    s.close()


def summarise(outdir: Path, names: list[str]) -> dict:
    runs = [json.loads((outdir / f"{n}.json").read_text()) for n in names]
    place_n, place_ready = Counter(), Counter()
    after_n = after_ready = 0
    for run in runs:
        prev, place = None, 0
        for r in run["records"]:
            place = place + 1 if r["group"] == prev else 0
            prev = r["group"]
            place_n[min(place, 4)] += 1
            place_ready[min(place, 4)] += r["ready"]
        model_t = [r["t"] for r in run["records"] if r["source"] == "model"]
        if model_t:
            after = [r for r in run["records"] if r["t"] >= model_t[0]]
            after_n += len(after)
            after_ready += sum(r["ready"] for r in after)
    recs = [r for run in runs for r in run["records"]]
    return {
        "photos": len(recs),
        "ready_share": round(sum(r["ready"] for r in recs) / max(1, len(recs)), 3),
        "accepted_share": round(sum(r["action"] == "accept" for r in recs) / max(1, len(recs)),
                                3),
        "ready_by_place_in_group_run": {("4+" if k == 4 else str(k)):
                                        f"{place_ready[k]}/{place_n[k]}" for k in sorted(place_n)},
        "ready_after_first_model_suggestion": f"{after_ready}/{after_n}",
        "sources_shown": dict(Counter(str(r["source"]) for r in recs)),
        "first_model_suggestion_s": sorted(
            round(min(r["t"] for r in run["records"] if r["source"] == "model"), 1)
            for run in runs if any(r["source"] == "model" for r in run["records"])),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("folder")
    p.add_argument("out")
    p.add_argument("--students", type=int, default=5)
    p.add_argument("--actions", type=int, default=40)
    p.add_argument("--fit-steps", type=int, default=0)
    p.add_argument("--student", default="")
    args = p.parse_args()
    if args.student:
        return student(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=False)
    names = NAMES[:args.students]
    procs = []
    for i, name in enumerate(names):
        cmd = [sys.executable, __file__, args.folder, str(out), "--actions", str(args.actions),
               "--fit-steps", str(args.fit_steps), "--student", name]
        with open(out / f"{name}.log", "w") as log:
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))
        time.sleep(8 if i == 0 else 1)  # the first student opens the store and leads
    for pr in procs:
        pr.wait()
    summary = {"command": " ".join(sys.argv), "students": args.students,
               "actions": args.actions, "fit_steps": args.fit_steps or "default",
               **summarise(out, names)}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
