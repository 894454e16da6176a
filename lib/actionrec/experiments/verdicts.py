"""A paper's claims decided from summary entries: holds / clearly / contradicted, with a sentence.

A claim is an ordering the paper reports ("a beats b", "c is best", "d has the lowest error").
On our summaries (:func:`~actionrec.experiments.summary.summarize`, one entry per variant) a claim

* **holds** when the means are ordered as the paper says,
* holds **clearly** when that ordering is beyond the 95% CIs (``method``, see
  :func:`~actionrec.experiments.summary.compare`),
* is **contradicted** when the reverse ordering is beyond the CIs,

and is "not tested" (:func:`untested`) when an entry it needs was not run. Each claim is a dict
``{"tested", "holds", "clear", "contradicted", "sentence", ...}``; :func:`claims_result` reads a set
of them as one verdict ("hold clearly" / "hold nominally" / "do not hold" / "are not supported").
Papers that report error rather than accuracy use the ``*_error_claim`` forms: error = 1 − accuracy
(the same CIs, the order reversed), written in percent.

The papers' own claims, with their published numbers, are in :mod:`actionrec.papers`.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .summary import best, compare, is_accuracy, pct

__all__ = ["entries_by", "check_accuracy_metric", "order_claim", "lower_error_claim", "best_claim",
           "lowest_error_claim", "all_claim", "untested", "claims_verdict", "claims_result"]


def entries_by(summary: Sequence[Mapping[str, Any]], key: str, valid: Sequence[str], fn: str) -> dict[str, Mapping[str, Any]]:
    """Summary entries with a result, keyed by ``str(entry[key]).lower()``; unknown or repeated keys
    raise a ValueError that names ``fn``."""
    entries = [e for e in summary if e.get("mean") is not None and e.get("mean") == e.get("mean")]
    missing_key = [e.get("label") for e in entries if key not in e]
    if missing_key:
        raise ValueError(f"{fn}: summary entries {missing_key[:5]} have no {key!r} field; summarize with by=({key!r},)")
    keys = [str(e[key]).lower() for e in entries]
    unknown = sorted(set(keys) - set(valid))
    if unknown:
        raise ValueError(f"{fn}: unknown {key} values {unknown}; valid: {list(valid)}")
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ValueError(f"{fn}: several summary entries for {key} {dup}; pass one entry per {key} "
                         "(e.g. filter the summary to one backbone first)")
    return dict(zip(keys, entries))


def check_accuracy_metric(entries: Sequence[Mapping[str, Any]], fn: str) -> str:
    """The one metric of ``entries``, which must be an accuracy (a paper's errors are 1 − accuracy)."""
    metrics = sorted({str(e.get("metric", "top1")) for e in entries})
    if len(metrics) != 1:
        raise ValueError(f"{fn}: the summary mixes metrics {metrics}; pass one metric's summary")
    if not is_accuracy(metrics[0]):
        raise ValueError(f"{fn}: metric {metrics[0]!r} is not an accuracy; the paper's errors are 1 - accuracy, "
                         "so summarize an accuracy (e.g. metric='top1' or 'val_auc')")
    return metrics[0]


def order_claim(entries: Sequence[Mapping[str, Any]], a: Mapping[str, Any], b: Mapping[str, Any], *, name_a: str,
                name_b: str, method: str, paper: str, strict: bool = True) -> dict[str, Any]:
    """Claim "a beats b" (``strict``) or "a >= b": holds on the means, clear beyond the CIs, contradicted
    when b is higher beyond the CIs. ``paper`` is quoted in the sentence."""
    c = compare(entries, a["label"], b["label"], method=method)
    holds = c["diff"] > 0 if strict else c["diff"] >= 0
    clear, contradicted = c["verdict"] == "higher", c["verdict"] == "lower"
    how = ("higher beyond the 95% CIs" if clear else "lower beyond the 95% CIs" if contradicted
           else "within the 95% CIs")
    sentence = (f"{name_a} ({pct(a, unit='%')}) vs {name_b} ({pct(b, unit='%')}): {100 * c['diff']:+.1f} points, {how} "
                f"(paper: {paper}).")
    return {"tested": True, "holds": holds, "clear": clear, "contradicted": contradicted, "compare": c,
            "sentence": sentence}


def lower_error_claim(entries: Sequence[Mapping[str, Any]], a: Mapping[str, Any], b: Mapping[str, Any], *,
                      name_a: str, name_b: str, method: str, paper: str) -> dict[str, Any]:
    """Claim "a has a lower error than b" (= a higher accuracy): holds on the means, clear beyond the
    CIs, contradicted when a's error is higher beyond the CIs."""
    c = compare(entries, a["label"], b["label"], method=method)
    clear, contradicted = c["verdict"] == "higher", c["verdict"] == "lower"
    how = "lower beyond the 95% CIs" if clear else "higher beyond the 95% CIs" if contradicted else "within the 95% CIs"
    sentence = (f"{name_a} ({pct(a, True, unit='%')}) vs {name_b} ({pct(b, True, unit='%')}): "
                f"{0.0 - 100 * c['diff']:+.1f} points of error, {how} (paper: {paper}).")
    return {"tested": True, "holds": c["diff"] > 0, "clear": clear, "contradicted": contradicted, "compare": c,
            "sentence": sentence}


def best_claim(entries: Sequence[Mapping[str, Any]], by_key: Mapping[str, Mapping[str, Any]], claimed: str, *,
               names: Mapping[str, str], among: str, method: str, paper: str) -> dict[str, Any]:
    """Claim "``claimed`` has the best mean among ``by_key``": clear when no other entry is within its
    CIs, contradicted when some entry is higher than it beyond the CIs."""
    top = best(entries, method=method)
    best_key = next(k for k, e in by_key.items() if e["label"] == top["best"])
    holds = best_key == claimed
    above = [k for k in by_key if k != claimed
             and compare(entries, by_key[k]["label"], by_key[claimed]["label"], method=method)["verdict"] == "higher"]
    tied = [k for k, e in by_key.items() if e["label"] in top["tied"]]
    if holds:
        how = (f"clearly ahead of every other {among}" if top["clear"] else
               "but within the 95% CIs of " + ", ".join(names[k] for k in tied))
        sentence = f"Best {among}: {names[claimed]} ({pct(by_key[claimed], unit='%')}), {how} (paper: {paper})."
    else:
        sentence = (f"Best {among}: {names[best_key]} ({pct(top['entry'], unit='%')}), not {names[claimed]} "
                    f"({pct(by_key[claimed], unit='%')}); " + (
                        f"{', '.join(names[k] for k in above)} beat{'s' if len(above) == 1 else ''} "
                        f"{names[claimed]} beyond the 95% CIs" if above else "within the 95% CIs of each other")
                    + f" (paper: {paper}).")
    return {"tested": True, "holds": holds, "clear": holds and top["clear"], "contradicted": bool(above),
            "best": best_key, "above": above, "tied": tied, "sentence": sentence}


def lowest_error_claim(entries: Sequence[Mapping[str, Any]], by_key: Mapping[str, Mapping[str, Any]],
                       claimed: Sequence[str], *, names: Mapping[str, str], among: str, method: str,
                       paper: str, highest: bool = False) -> dict[str, Any]:
    """Claim "the lowest error among ``by_key`` is one of ``claimed``" (``highest``: the highest
    error). Clear when every entry outside ``claimed`` is beyond the CIs of the one with the best
    mean; contradicted when an entry outside ``claimed`` beats every claimed one beyond the CIs."""
    sub = list(by_key.values())
    top = best(sub, method=method, higher_is_better=not highest)  # accuracy: lowest error = highest accuracy
    top_key = next(k for k, e in by_key.items() if e["label"] == top["best"])
    holds = top_key in claimed
    better = "lower" if highest else "higher"  # accuracy verdict of the winner over a rival
    others = [k for k in by_key if k not in claimed]
    clear = holds and all(compare(sub, by_key[top_key]["label"], by_key[k]["label"], method=method)["verdict"] == better
                          for k in others)
    contradicted = not holds and all(
        compare(sub, by_key[top_key]["label"], by_key[k]["label"], method=method)["verdict"] == better
        for k in claimed if k in by_key)
    word = "Highest" if highest else "Lowest"
    tied = [names[k] for k, e in by_key.items() if e["label"] in top["tied"]]
    exp = " / ".join(names[k] for k in claimed)
    err = pct(top["entry"], True, unit="%")
    if holds:
        rivals = "all the others" if len(claimed) == 1 else f"all but {exp}"
        how = (f"beyond the 95% CIs of {rivals}" if clear else
               "but within the 95% CIs of " + ", ".join(tied) if tied else "but not beyond every CI")
        sentence = f"{word} error among the {among}: {names[top_key]} ({err}), {how} (paper: {paper})."
    else:
        sentence = (f"{word} error among the {among}: {names[top_key]} ({err}), not {exp}"
                    + (", beyond the 95% CIs" if contradicted else ", within the 95% CIs") + f" (paper: {paper}).")
    return {"tested": True, "holds": holds, "clear": clear, "contradicted": contradicted, "best": top_key,
            "tied": [k for k, e in by_key.items() if e["label"] in top["tied"]], "sentence": sentence}


def all_claim(parts: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Several pairwise claims read as one: holds / clear when all do, contradicted when any is."""
    return {"tested": True, "holds": all(p["holds"] for p in parts.values()),
            "clear": all(p["clear"] for p in parts.values()),
            "contradicted": any(p["contradicted"] for p in parts.values()),
            "parts": {k: p["compare"] for k, p in parts.items()},
            "sentence": " ".join(p["sentence"] for p in parts.values())}


def untested(why: str) -> dict[str, Any]:
    """A claim that could not be tested (an entry it needs was not run); ``why`` is its sentence."""
    return {"tested": False, "holds": None, "clear": None, "contradicted": None, "sentence": why}


def claims_verdict(claims: Mapping[str, Mapping[str, Any]], what: str) -> tuple[bool, bool, bool, str]:
    """``(holds, clear, contradicted, sentence)`` over the tested claims; ``what`` names the table
    ("The paper's <what> claims hold clearly on this data. ...")."""
    tested = [c for c in claims.values() if c["tested"]]
    holds = all(c["holds"] for c in tested)
    clear = holds and all(c["clear"] for c in tested)
    contradicted = any(c["contradicted"] for c in tested)
    if holds:
        verdict = "hold clearly" if clear else "hold nominally (the ordering matches, but within seed noise)"
    elif contradicted:
        verdict = "do not hold"
    else:
        verdict = "are not supported (the ordering differs from the paper's, within seed noise)"
    sentence = f"The paper's {what} claims {verdict} on this data. " + " ".join(c["sentence"] for c in claims.values())
    return holds, clear, contradicted, sentence


def claims_result(head: Mapping[str, Any], claims: Mapping[str, Mapping[str, Any]], what: str, *,
                  note: str | None = None) -> dict[str, Any]:
    """A claim function's return value: ``head`` (e.g. ``{"best": ...}``), the flat booleans
    ``<claim>`` / ``<claim>_clear`` (None when not tested), then ``claims``, ``holds``, ``clear``,
    ``contradicted`` and ``sentence`` (:func:`claims_verdict`, followed by ``note`` if given)."""
    holds, clear, contradicted, sentence = claims_verdict(claims, what)
    out = dict(head)
    for k, c in claims.items():
        out[k], out[f"{k}_clear"] = c["holds"], c["clear"]
    out.update(claims=claims, holds=holds, clear=clear, contradicted=contradicted,
               sentence=sentence if note is None else sentence + " " + note)
    return out
