"""The classroom benchmark's summary: per student and overall latencies, readiness,
kernels' memory, fits at once, lost and duplicated labels (see
:mod:`nblabel.bench.classroom`), and its Markdown table."""

from __future__ import annotations

from typing import Any

from nblabel.bench._widget_common import _stats

NON_LEADER_TARGET_MB = 150.0


def _holder_pid(holder: str | None) -> int | None:
    try:
        return int(str(holder).rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def _summarise(students: list[dict[str, Any]], watch: Any, truth: dict[str, Any],
               end: float) -> dict[str, Any]:
    leaders = {_holder_pid(h) for _t, h in watch.holders if h}
    per_student, next_ms, ready, lost, errors = [], [], [], [], []
    confirm_ms, predicted = [], []
    for s in students:
        items = [r for run in s["runs"] for r in run.get("items", [])]
        saved = [k for run in s["runs"] for k in run.get("saved", [])]
        mine_lost = [k for k in saved if truth["owner"].get(k) != s["name"]]
        lost += mine_lost
        nx = [r["next_ms"] for r in items if r.get("next_ms") is not None]
        next_ms += nx
        ready += [bool(r.get("ready")) for r in items]
        confirm_ms += [r["confirm_ms"] for r in items if r.get("confirm_ms") is not None]
        predicted += [bool(r.get("predicted")) for r in items if r.get("next_ms") is not None]
        errors += [f"{s['name']}: {e}" for run in s["runs"] for e in run.get("errors", [])]
        pids = [p for p in s["pids"] if p]
        per_student.append({
            "name": s["name"], "kernels": pids, "restarts": s["restarts"],
            "leader": any(p in leaders for p in pids),
            "rss_mb": [round(watch.rss.get(p, 0.0), 1) for p in pids],
            "torch_loaded": [watch.torch.get(p) for p in pids],
            "photos": len(items), "saved": len(saved), "lost": mine_lost,
            "accepted": sum(r.get("action") == "accept" for r in items),
            "drawn": sum(r.get("action") == "draw" for r in items),
            "next_item_ms": _stats(nx),
            "suggestion_ready_share": round(sum(r.get("ready", False) for r in items)
                                            / len(items), 3) if items else None,
            "ended": [run.get("reason") for run in s["runs"]],
        })
    everything = [r for s in students for run in s["runs"] for r in run.get("items", [])]
    lead_rss = [watch.rss[p] for p in watch.rss if p in leaders]
    other = [p for p in watch.rss if p not in leaders]
    other_rss = [watch.rss[p] for p in other]
    return {
        "task": truth["task"],
        "students": per_student,
        "next_item_ms": _stats(next_ms),
        "next_kernel_confirmed_ms": _stats(confirm_ms),
        "next_painted_before_confirm_share": round(sum(predicted) / len(predicted), 3)
        if predicted else None,
        "suggestion_ready_share": round(sum(ready) / len(ready), 3) if ready else None,
        **_after_first_model(everything, watch),
        "photos_labeled": len(truth["owner"]),
        "labeled_items": sorted(truth["owner"]),
        "leaders": [h for _t, h in watch.holders],
        "leader_rss_mb": [round(x, 1) for x in lead_rss],
        "non_leader_rss_mb": _stats(other_rss),
        "non_leader_rss_ok": bool(other_rss) and max(other_rss) < NON_LEADER_TARGET_MB,
        "torch_in_non_leaders": any(watch.torch.get(p) for p in other),
        "max_fits_at_once": watch.max_fits_at_once(end),
        "fits": len(watch.fits),
        "lost_labels": len(lost), "lost": lost,
        "duplicate_assignments": truth["duplicate_assignments"],
        "items_labeled_by_several": truth["items_labeled_by_several"],
        "student_errors": errors,
    }


def _after_first_model(items: list[dict[str, Any]], watch: Any) -> dict[str, Any]:
    """Readiness of the photos shown once the leader's first model fit had ended (before
    it, only the tracker can suggest; wall-clock times of the board and the browsers)."""
    ends = [e for e in watch.fits.values() if isinstance(e, (int, float))]
    shown = [r for r in items if r.get("shown_at") is not None]
    if not ends or not shown:
        return {"first_model_after_s": None, "photos_after_first_model": 0,
                "suggestion_ready_share_after_first_model": None}
    first = min(ends)
    after = [r for r in shown if r["shown_at"] >= first]
    return {
        "first_model_after_s": round(first - min(r["shown_at"] for r in shown), 1),
        "photos_after_first_model": len(after),
        "suggestion_ready_share_after_first_model":
            round(sum(bool(r.get("ready")) for r in after) / len(after), 3) if after else None,
    }


def _markdown(res: dict[str, Any]) -> str:
    lines = [f"# Classroom benchmark ({res['date']}, commit {str(res['git_commit'])[:8]})", "",
             f"`{res['command']}`", "",
             f"{res['students']} students, {res['actions']} photos each at most, pace "
             f"{res['pace']}; load before the run: {res['load_before']}; "
             f"{res['machine']['cpu_usable']} usable cores.", "",
             "| backend | photos labeled | next p50/p95 ms | suggestion ready | ready once a model "
             "existed (photos) | leader RSS MB | "
             "non-leader RSS MB max | torch in non-leaders | fits at once | lost | duplicates "
             "| leader killed: takeover s |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["results"]:
        if "error" in r:
            lines.append(f"| {r['backend']} | error: {r['error']} |" + " |" * 10)
            continue
        k = r.get("kill_leader") or {}
        nx = r["next_item_ms"]
        lines.append(
            f"| {r['backend']} | {r['photos_labeled']} | {nx.get('p50', '-')} / "
            f"{nx.get('p95', '-')} | {r['suggestion_ready_share']} | "
            f"{r.get('suggestion_ready_share_after_first_model', '-')} "
            f"({r.get('photos_after_first_model', 0)}) | "
            f"{', '.join(map(str, r['leader_rss_mb'])) or '-'} | "
            f"{r['non_leader_rss_mb'].get('max', '-')} | {r['torch_in_non_leaders']} | "
            f"{r['max_fits_at_once']} | {r['lost_labels']} | {r['duplicate_assignments']} | "
            f"{k.get('takeover_s', '-') if k else 'not killed'} |")
    return "\n".join(lines) + "\n"
