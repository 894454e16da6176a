"""Tests of the command line (actionrec.cli: ``python -m actionrec.train`` and ``python -m
actionrec.evaluate``): flags generated from every TrainConfig field, --config JSON/TOML with flag
overrides, exit codes and one-line errors naming the flag, an in-process end-to-end run on tiny
SynthActions (c3d_small width 0.125, 8 frames of 16x16: each fit < 1 s), --resume (finished: no
retraining; interrupted: continues to the same weights), evaluate_main's numbers equal fit's test
numbers for one view, and the ``python -m`` entry points (--help lists the model and dataset names)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
import typing

import pytest
import torch
from torch.utils.data import Dataset

from actionrec.cli import (build_train_parser, evaluate_main, field_flags, parse_kv, resolve_train_config,
                           train_main)
from actionrec.data import DATASETS, build_dataset
from actionrec.models import MODELS
from actionrec.train import TrainConfig, fit
from actionrec.train.config import load_config_file
from actionrec.train.evaluate import eval_file_name

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = ["--model", "c3d_small", "--model-kw", "width=0.125", "--data-kw", "frames=8", "--data-kw", "size=16",
        "--data-kw", "difficulty=easy", "--train-samples", "64", "--val-samples", "32", "--test-samples", "32",
        "--batch-size", "16", "--log-every", "2", "--warmup-steps", "2", "--device", "cpu", "--no-progress"]


def resolve(argv: list[str]) -> TrainConfig:
    cfg, _ = resolve_train_config(build_train_parser().parse_args(argv))
    return cfg


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def as_argv(name: str, value) -> list[str]:
    """Command-line form of one field value (the inverse of the generated parser)."""
    if isinstance(value, bool) and typing.get_type_hints(TrainConfig)[name] is bool:
        return [flag(name) if value else "--no-" + name.replace("_", "-")]
    if value is None:
        return [flag(name), "none"]
    if isinstance(value, (dict, list)):
        return [flag(name), json.dumps(value)]
    return [flag(name), str(value).lower() if isinstance(value, bool) else str(value)]


# ------------------------------------------------------------------------------------ flags


def test_every_field_has_a_flag_that_round_trips():
    """Every TrainConfig field (whatever fields train/config.py has now) gets a flag, and feeding each
    field's default back through its flag reproduces the default config."""
    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    options = {s for a in build_train_parser()._actions for s in a.option_strings}
    assert {ff.name for ff in field_flags()} == set(fields)
    for f in fields:
        assert flag(f) in options, f
    for name, tp in typing.get_type_hints(TrainConfig).items():
        if tp is bool:
            assert "--no-" + name.replace("_", "-") in options
    assert {"--model-kw", "--data-kw"} <= options
    default = json.loads(json.dumps(dataclasses.asdict(TrainConfig())))  # every field (to_dict may omit some)
    argv = [s for name, value in default.items() for s in as_argv(name, value)]
    assert dataclasses.asdict(resolve(argv)) == dataclasses.asdict(TrainConfig())


def test_flags_set_fields_and_dict_items():
    cfg = resolve(["--model", "mtnet32", "--model-kwargs", '{"width": 0.25, "r": 2}', "--model-kw", "r=4",
                   "--model-kw", "recurrent=gru", "--data-kw", "size=32", "--data-kw", "difficulty=hard",
                   "--clip-grad", "1.5", "--max-steps", "none", "--amp", "false", "--no-cache-data",
                   "--lr", "1e-3", "--epochs", "7", "--data-root", "/data/ucf", "--split", "2"])
    assert cfg.model == "mtnet32"
    assert cfg.model_kwargs == {"width": 0.25, "r": 4, "recurrent": "gru"}  # KEY=VALUE on top of the JSON dict
    assert cfg.dataset_kwargs == {"size": 32, "difficulty": "hard", "data_root": "/data/ucf", "fold": 2}
    assert (cfg.clip_grad, cfg.max_steps, cfg.amp, cfg.cache_data, cfg.lr, cfg.epochs) == (1.5, None, False, False, 1e-3, 7)
    assert resolve(["--amp", "auto"]).amp == "auto" and resolve(["--amp", "true"]).amp is True


def test_parse_kv_values_are_json_when_they_parse():
    assert parse_kv("r=4") == ("r", 4)
    assert parse_kv("w=0.5") == ("w", 0.5)
    assert parse_kv("recurrent=gru") == ("recurrent", "gru")
    assert parse_kv("recurrent=null") == ("recurrent", None)
    assert parse_kv("k=[3, 3, 3]") == ("k", [3, 3, 3])
    assert parse_kv("flag=true") == ("flag", True)
    assert parse_kv("path=a=b") == ("path", "a=b")


def test_init_from_flag_sets_the_field(tmp_path):
    """--init-from is the generated flag of TrainConfig.init_from (a checkpoint or run dir of another run)."""
    ckpt = tmp_path / "other_run"
    ckpt.mkdir()
    assert resolve(["--init-from", str(ckpt)]).init_from == str(ckpt)
    assert resolve([]).init_from is None


# ------------------------------------------------------------------------------------ config files


def test_config_json_and_toml_with_flag_override(tmp_path, capsys):
    base = {"model": "c3d_small", "model_kwargs": {"width": 0.5}, "dataset_kwargs": {"frames": 8, "size": 16},
            "epochs": 3, "lr": 0.01, "clip_grad": 2.0}
    (tmp_path / "a.json").write_text(json.dumps(base))
    (tmp_path / "a.toml").write_text('model = "c3d_small"\nepochs = 3\nlr = 0.01\nclip_grad = 2.0\n'
                                     '[model_kwargs]\nwidth = 0.5\n[dataset_kwargs]\nframes = 8\nsize = 16\n')
    assert load_config_file(tmp_path / "a.json") == load_config_file(tmp_path / "a.toml") == base
    for name in ("a.json", "a.toml"):
        assert train_main(["--config", str(tmp_path / name), "--epochs", "5", "--model-kw", "dropout=0.2",
                           "--data-kw", "size=24", "--print-config"]) == 0
        out = json.loads(capsys.readouterr().out)
        want = TrainConfig(model="c3d_small", model_kwargs={"width": 0.5, "dropout": 0.2},
                           dataset_kwargs={"frames": 8, "size": 24}, epochs=5, lr=0.01, clip_grad=2.0)
        assert out == dataclasses.asdict(want)  # every field, so the printout is a complete --config file
        (tmp_path / "printed.json").write_text(json.dumps(out))
        assert resolve(["--config", str(tmp_path / "printed.json")]) == want


# ------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("argv,names", [
    (["--epochs", "zero"], "--epochs"),
    (["--lr", "fast"], "--lr"),
    (["--split", "4"], "--split"),
    (["--model-kw", "width"], "--model-kw"),
    (["--model-kwargs", "[1, 2]"], "--model-kwargs"),
    (["--no-such-flag"], "--no-such-flag"),
    (["--epochs", "3"], "--run-dir"),  # no run dir
])
def test_bad_command_line_exits_2(argv, names, capsys):
    with pytest.raises(SystemExit) as e:
        train_main(argv)
    assert e.value.code == 2
    assert names in capsys.readouterr().err


@pytest.mark.parametrize("argv,names", [
    (["--epochs", "0"], "--epochs"),
    (["--model", "resnet9000"], "--model"),
    (["--optimizer", "adam"], "--optimizer"),
    (["--amp", "fp16"], "--amp"),
    (["--dataset-kwargs", '{"seed": 3}'], "--dataset-kwargs"),
    (["--model-kw", "num_classes=5"], "--model-kw"),
    (["--config", "missing.json"], "--config"),
    (["--resume", "not_a_run"], "--resume"),
])
def test_rejected_value_exits_1_with_one_line_naming_the_flag(argv, names, capsys, tmp_path):
    assert train_main(argv + ["--run-dir", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and names in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_bad_config_files(tmp_path, capsys):
    cases = {"u.json": (json.dumps({"epochs": 2, "epochz": 3}), "epochz"), "b.json": ("{nope", "not valid JSON"),
             "b.toml": ("epochs = = 2", "not valid TOML"), "l.json": ("[1, 2]", "expected a table"),
             "c.yaml": ("epochs: 2", "use a .json or .toml")}
    for name, (text, says) in cases.items():
        (tmp_path / name).write_text(text)
        assert train_main(["--config", str(tmp_path / name), "--print-config"]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: --config {tmp_path / name}: ") and says in err, err
        assert len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------ end to end


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A tiny finished run trained through train_main in-process (1 epoch)."""
    run_dir = tmp_path_factory.mktemp("cli") / "run"
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert train_main(TINY + ["--epochs", "1", "--run-dir", str(run_dir)]) == 0
    finally:
        torch.set_num_threads(n)
    return run_dir


def test_train_main_writes_a_finished_run(finished_run, capsys):
    final = json.loads((finished_run / "final.json").read_text())
    assert final["finished"] and final["epochs"] == 1
    assert final["config"]["model_kwargs"] == {"width": 0.125}
    assert final["config"]["dataset_kwargs"] == {"frames": 8, "size": 16, "difficulty": "easy"}
    assert json.loads((finished_run / "config.json").read_text()) == final["config"]


def test_train_main_prints_where_results_went(tmp_path, capsys):
    run_dir = tmp_path / "r"
    assert train_main(TINY + ["--epochs", "1", "--max-steps", "1", "--run-dir", str(run_dir)]) == 0
    out = capsys.readouterr().out
    for name in ("metrics.jsonl", "final.json", "checkpoint.pt"):
        assert str(run_dir / name) in out
    assert "python -m actionrec.evaluate --run-dir" in out


def test_resume_finished_run_does_not_retrain(finished_run, capsys):
    ckpt, metrics = finished_run / "checkpoint.pt", finished_run / "metrics.jsonl"
    before = (ckpt.stat().st_mtime_ns, metrics.read_bytes(), (finished_run / "final.json").read_bytes())
    assert train_main(["--resume", str(finished_run), "--device", "cpu", "--num-workers", "0", "--no-progress"]) == 0
    assert "not training again" in capsys.readouterr().out
    assert (ckpt.stat().st_mtime_ns, metrics.read_bytes(), (finished_run / "final.json").read_bytes()) == before
    # anything but a runtime field is refused, naming the field and both values
    assert train_main(["--resume", str(finished_run), "--epochs", "2", "--data-kw", "size=32"]) == 1
    err = capsys.readouterr().err
    assert "epochs" in err and "dataset_kwargs" in err and "saved 1, given 2" in err
    assert train_main(["--resume", str(finished_run), "--config", "x.json"]) == 1
    assert "--config" in capsys.readouterr().err
    assert ckpt.stat().st_mtime_ns == before[0]


def test_resume_interrupted_run_continues_to_the_same_weights(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert train_main(TINY + ["--epochs", "2", "--run-dir", str(straight)]) == 0
    cfg = resolve(TINY + ["--epochs", "2"])
    assert not fit(cfg, split, progress=False, stop_after_epoch=1)["finished"]  # "interrupted" after epoch 1
    assert train_main(["--resume", str(split), "--no-progress"]) == 0
    a = torch.load(straight / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(split / "checkpoint.pt", weights_only=True)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    fa, fb = (json.loads((d / "final.json").read_text()) for d in (straight, split))
    assert (fa["top1"], fa["test"]["loss"]) == (fb["top1"], fb["test"]["loss"])


def test_init_from_fine_tunes_from_a_finished_run(finished_run, tmp_path, capsys):
    """--init-from RUN_DIR starts from that run's weights (loading is train's; the CLI reports it)."""
    run_dir = tmp_path / "ft"
    assert train_main(TINY + ["--epochs", "1", "--max-steps", "1", "--lr", "1e-9", "--init-from", str(finished_run),
                              "--run-dir", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert f"init from:  {finished_run / 'checkpoint.pt'}: loaded" in out
    src = torch.load(finished_run / "checkpoint.pt", weights_only=True)["model"]
    new = torch.load(run_dir / "checkpoint.pt", weights_only=True)["model"]
    first = next(k for k in src if k.endswith("weight"))
    assert torch.allclose(src[first], new[first], atol=1e-6)  # one step at lr 1e-9: still the source weights
    assert train_main(TINY + ["--init-from", str(tmp_path / "nowhere"), "--run-dir", str(tmp_path / "ft2")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --init-from: ") and "nowhere" in err


def test_evaluate_main_one_view_equals_fit_test(finished_run, capsys):
    assert evaluate_main(["--run-dir", str(finished_run), "--device", "cpu"]) == 0
    assert str(finished_run / "eval_1x1.json") in capsys.readouterr().out
    ev = json.loads((finished_run / eval_file_name(1, 1)).read_text())
    test = json.loads((finished_run / "final.json").read_text())["test"]
    assert (ev["top1"], ev["top5"], ev["confusion"], ev["per_class"]) == (test["top1"], test["top5"],
                                                                           test["confusion"], test["per_class"])
    assert ev["videos"] == ev["views"] == test["n"] == 32 and ev["views_per_video"] == 1
    assert ev["view_top1"] == test["top1"]
    assert math.isclose(ev["loss"], test["loss"], rel_tol=1e-5)
    supported = [a for a in test["per_class"] if a is not None]
    assert math.isclose(ev["mean_class_acc"], sum(supported) / len(supported))
    # one-view dataset: asking for several views is an error naming the flag
    assert evaluate_main(["--run-dir", str(finished_run), "--clips", "10"]) == 1
    assert "--clips" in capsys.readouterr().err


def test_evaluate_main_rejects_unfinished_or_missing_runs(tmp_path, capsys):
    assert evaluate_main(["--run-dir", str(tmp_path)]) == 1
    assert "not a run directory" in capsys.readouterr().err
    cfg = resolve(TINY + ["--epochs", "2", "--max-steps", "1"])
    (tmp_path / "config.json").write_text(json.dumps(cfg.to_dict()))
    assert evaluate_main(["--run-dir", str(tmp_path)]) == 1
    assert "not finished" in capsys.readouterr().err


class ViewsOfSynth(Dataset):
    """A stand-in video dataset: test split = ``clips * crops`` identical views of each SynthActions
    clip, with ``video_index`` / ``views_per_video`` like VideoDataset in test mode."""

    def __init__(self, split, *, clips=1, crops=1, **kwargs):
        self.base = build_dataset("synthactions", split, **kwargs)
        self.views_per_video = clips * crops if split == "test" else 1
        self.num_classes, self.classes = self.base.num_classes, self.base.classes

    def __len__(self):
        return len(self.base) * self.views_per_video

    def video_index(self, i):
        return i // self.views_per_video

    def __getitem__(self, i):
        return self.base[self.video_index(i)]


def test_evaluate_main_multi_view_dataset(tmp_path, monkeypatch, capsys):
    """A dataset taking clips/crops gets them; eval_<clips>x<crops>.json; identical views average
    to the one-view result."""
    monkeypatch.setitem(DATASETS, "synthviews", ViewsOfSynth)
    run_dir = tmp_path / "r"
    argv = TINY + ["--dataset", "synthviews", "--epochs", "1", "--run-dir", str(run_dir)]
    assert train_main(argv) == 0
    assert evaluate_main(["--run-dir", str(run_dir), "--clips", "2", "--crops", "3", "--batch-size", "7"]) == 0
    ev = json.loads((run_dir / "eval_2x3.json").read_text())
    test = json.loads((run_dir / "final.json").read_text())["test"]
    assert (ev["clips"], ev["crops"], ev["views_per_video"], ev["videos"], ev["views"]) == (2, 3, 6, 32, 192)
    assert (ev["top1"], ev["top5"], ev["confusion"]) == (test["top1"], test["top5"], test["confusion"])
    capsys.readouterr()


# ------------------------------------------------------------------------------------ python -m


@pytest.mark.parametrize("module", ["actionrec.train", "actionrec.evaluate"])
def test_python_m_help(module):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", module, "--help"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "--run-dir" in r.stdout and r.stderr == ""


def test_help_lists_the_model_and_dataset_names(capsys):
    with pytest.raises(SystemExit) as e:
        train_main(["--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert all(name in out for name in MODELS) and all(name in out for name in DATASETS)
    assert "a name in actionrec.models.MODELS: " + ", ".join(sorted(MODELS)) in out
