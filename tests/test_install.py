"""The two install routes (pip + requirements.txt, conda + environment.yml) must not drift."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip().lstrip("- ").strip()
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.+\-]+)", line)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_requirements_match_environment_yml():
    req = _pins((ROOT / "requirements.txt").read_text().splitlines())
    env = _pins((ROOT / "environment.yml").read_text().splitlines())
    assert req, "no pinned requirements found in requirements.txt"
    assert req == env, (
        "requirements.txt and environment.yml list different packages/versions: "
        f"only in requirements.txt: {sorted(set(req.items()) - set(env.items()))}; "
        f"only in environment.yml: {sorted(set(env.items()) - set(req.items()))}"
    )


def test_every_requirement_is_pinned():
    lines = [l.split("#", 1)[0].strip() for l in (ROOT / "requirements.txt").read_text().splitlines()]
    unpinned = [l for l in lines if l and "==" not in l]
    assert not unpinned, f"unpinned requirements in requirements.txt: {unpinned}"


def test_torch_pinned_beside_captum():
    req = _pins((ROOT / "requirements.txt").read_text().splitlines())
    assert req.get("torch") == "2.13.0" and "captum" in req
