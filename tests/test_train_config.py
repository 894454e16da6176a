"""actionrec.train.config: validation naming the field, the JSON round trip, fields added later kept out
of config files and run tags while at their default, and which fields change what a run computes."""

from __future__ import annotations

import dataclasses
import json

import pytest
from torch import nn

from actionrec.experiments.grid import config_tag
from actionrec.train import TrainConfig
from actionrec.train.config import LATER_FIELDS, config_diff, json_or_text, load_config_file, text_parser
from train_helpers import tiny_cfg


@pytest.mark.parametrize("field,value", [
    ("model", "resnet9000"), ("dataset", "kinetics9000"), ("epochs", 0), ("batch_size", -1),
    ("optimizer", "adam"), ("scheduler", "linear"), ("lr", 0.0), ("lr", float("nan")),
    ("weight_decay", -0.1), ("warmup_steps", -1), ("amp", "fp16"), ("eval_every", 0),
    ("log_every", 0), ("clip_grad", 0.0), ("max_steps", 0), ("train_samples", 0),
    ("num_workers", -1), ("seed", 1.5), ("epochs", True), ("cache_data", "yes"), ("device", "tpu"),
    ("checkpoint_every", 0),
])
def test_invalid_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        tiny_cfg(**{field: value})


@pytest.mark.parametrize("field,kwargs,match", [
    ("model_kwargs", {"num_classes": 3}, "num_classes"),
    ("dataset_kwargs", {"seed": 3}, "data_seed"),
    ("dataset_kwargs", {"num_samples": 3}, "train_samples"),
    ("model_kwargs", {"act": nn.ReLU}, "model_kwargs"),
])
def test_invalid_kwargs_explain_what_to_do(field, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_cfg(**{field: kwargs})


def test_config_round_trip_and_unknown_field():
    cfg = tiny_cfg(model_kwargs={"width": 0.125, "dropout": 0.1}, clip_grad=1.0)
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig.from_dict({**cfg.to_dict(), "learning_rate": 1.0})


@pytest.mark.parametrize("field,value,match", [
    ("accum_steps", 0, "accum_steps"), ("accum_steps", 3, "divisible by accum_steps=3"),
    ("multigrid", "medium", "multigrid"), ("init_from", "", "init_from"), ("init_from", 3, "init_from"),
    ("channels_last", "yes", "channels_last"), ("tensorboard", 1, "tensorboard"), ("sync_bn", None, "sync_bn"),
])
def test_invalid_scale_fields_name_the_field(field, value, match):
    with pytest.raises(ValueError, match=match):
        tiny_cfg(**{field: value})


def test_new_fields_at_defaults_keep_config_files_and_tags():
    # tags computed before accum_steps & co existed
    assert config_tag(TrainConfig()) == "36dc32ce"
    cfg = TrainConfig(model="mtnet32", model_kwargs={"width": 0.25}, epochs=3, lr=1e-3,
                      dataset_kwargs={"frames": 8, "size": 32})
    assert config_tag(cfg) == "bf08a2fb"
    d = cfg.to_dict()
    assert not set(LATER_FIELDS) & set(d) and "accum_steps" not in json.dumps(d)
    assert d["accum_steps"] == 1 and d["multigrid"] == "none" and d["init_from"] is None  # still readable
    later = dataclasses.replace(cfg, accum_steps=2, tensorboard=True, init_from="runs/x")
    assert later.to_dict()["accum_steps"] == 2 and config_tag(later) != config_tag(cfg)
    assert TrainConfig.from_dict(json.loads(json.dumps(later.to_dict()))) == later
    assert config_diff(cfg.to_dict(), later) == ["accum_steps", "init_from"]  # tensorboard: runtime


def test_data_root_and_runtime_fields_do_not_change_what_a_run_computes():
    """A dataset moved to another folder (data_root) is the same run: resume accepts it and the
    run tag is unchanged; a changed frame count is a different run."""
    a = TrainConfig(dataset="synthactions", dataset_kwargs={"frames": 8, "data_root": "/a"}, num_workers=0)
    b = TrainConfig(dataset="synthactions", dataset_kwargs={"frames": 8, "data_root": "/b"}, num_workers=4,
                    channels_last=True, tensorboard=True)
    c = TrainConfig(dataset="synthactions", dataset_kwargs={"frames": 16, "data_root": "/a"})
    assert config_diff(a.to_dict(), b) == []
    assert config_tag(a) == config_tag(b)
    assert config_diff(a.to_dict(), c) == ["dataset_kwargs"]
    assert config_tag(a) != config_tag(c)


def test_text_parser_follows_the_field_annotation():
    parse, names = text_parser(int | None)
    assert names == ["int", "none"] and parse("3") == 3 and parse("None") is None
    with pytest.raises(ValueError, match="invalid value 'x': expected int or none"):
        parse("x")
    parse, names = text_parser(bool | str)
    assert names == ["bool", "str"] and parse("yes") is True and parse("auto") == "auto"
    parse, _ = text_parser(dict)
    assert parse('{"r": 4}') == {"r": 4}
    with pytest.raises(ValueError, match="expected JSON dict"):
        parse("[1, 2]")
    assert json_or_text("0.5") == 0.5 and json_or_text("gru") == "gru"


def test_load_config_file_names_the_file(tmp_path):
    (tmp_path / "a.toml").write_text('model = "c3d_small"\n[model_kwargs]\nwidth = 0.5\n')
    assert load_config_file(tmp_path / "a.toml") == {"model": "c3d_small", "model_kwargs": {"width": 0.5}}
    with pytest.raises(ValueError, match=r"b\.json: no such file"):
        load_config_file(tmp_path / "b.json")
