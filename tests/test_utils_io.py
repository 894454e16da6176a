"""actionrec.utils.io: atomic writes, strict JSON, JSON Lines, CSV; actionrec.utils.seeding."""

import json
import random

import numpy as np
import pytest
import torch

from actionrec.utils.io import atomic_save, atomic_write, jsonable, read_json, read_jsonl, write_csv, write_json
from actionrec.utils.seeding import mix_seeds, rng_state, seed_everything, set_rng_state


def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"old")

    def boom(f):
        f.write(b"partial")
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        atomic_write(p, boom)
    assert p.read_bytes() == b"old"
    assert [q.name for q in tmp_path.iterdir()] == ["f.bin"], "no temp file left behind"


def test_json_is_strict_and_round_trips(tmp_path):
    obj = {"a": float("nan"), "b": [1.5, float("inf")], "c": (1, 2)}
    assert jsonable(obj) == {"a": None, "b": [1.5, None], "c": [1, 2]}
    write_json(tmp_path / "x.json", obj)
    assert read_json(tmp_path / "x.json") == {"a": None, "b": [1.5, None], "c": [1, 2]}
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        read_json(tmp_path / "bad.json")


def test_read_jsonl_skips_a_torn_last_line(tmp_path):
    p = tmp_path / "m.jsonl"
    p.write_text('{"step": 1}\n{"step": 2}\n{"st')
    assert read_jsonl(p) == [{"step": 1}, {"step": 2}]
    with pytest.raises(json.JSONDecodeError):
        read_jsonl(p, skip_bad=False)


def test_write_csv_union_header_json_cells_and_empty_none(tmp_path):
    p = tmp_path / "r.csv"
    write_csv(p, [{"name": "a", "v": 1.5}, {"name": "b", "per_seed": [1, 2], "v": None}])
    assert p.read_text().splitlines() == ["name,v,per_seed", "a,1.5,", 'b,,"[1, 2]"']


def test_atomic_save_round_trips(tmp_path):
    atomic_save({"w": torch.arange(3)}, tmp_path / "c.pt")
    assert torch.equal(torch.load(tmp_path / "c.pt")["w"], torch.arange(3))


def test_mix_seeds_is_a_pure_63_bit_function():
    assert mix_seeds(1, 2) == mix_seeds(1, 2) != mix_seeds(2, 1)
    assert 0 <= mix_seeds(-1, 2**70) < 2**63


def test_rng_state_round_trip_restores_every_generator():
    seed_everything(3)
    s = rng_state()
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(s)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a


def test_non_durable_atomic_write_still_replaces_whole_files(tmp_path):
    p = tmp_path / "cache.bin"
    atomic_write(p, lambda f: f.write(b"one"), durable=False)
    atomic_write(p, lambda f: f.write(b"two"), durable=False)
    assert p.read_bytes() == b"two" and [q.name for q in tmp_path.iterdir()] == ["cache.bin"]
