"""Annotation parsers (actionrec.data.videos.annotations) on small trees shaped like the real datasets.

Parsers only look at names on disk, so the "videos" here are placeholder files (the decoding side
is tests/test_data_videos.py).
"""

import json

import pytest

from actionrec.data.videos.annotations import ANNOTATIONS, folder, hmdb51, kinetics, ssv2, ucf101
from actionrec.data.videos.records import Annotation, Problem, VideoRecord


def touch(p, data=b"x"):
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def reasons(ann: Annotation) -> dict[str, str]:
    return {p.path: p.reason for p in ann.problems}


# ------------------------------------------------------------------------------------------------
# UCF-101
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ucf(tmp_path_factory):
    root = tmp_path_factory.mktemp("UCF-101")
    classes = ["ApplyEyeMakeup", "Archery", "HandstandPushups"]
    for c in classes:
        for g in (1, 2):
            touch(root / c / f"v_{c}_g0{g}_c01.avi")
    # the official quirk: folder HandstandPushups, files v_HandStandPushups_*
    touch(root / "HandstandPushups" / "v_HandStandPushups_g03_c01.avi")
    ann = root / "ucfTrainTestlist"
    ann.mkdir()
    # the official files have Windows line ends
    (ann / "classInd.txt").write_bytes(b"".join(f"{i} {c}\r\n".encode() for i, c in enumerate(classes, 1)))
    (ann / "trainlist01.txt").write_bytes(
        b"ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi 1\r\n"
        b"Archery/v_Archery_g02_c01.avi 2\r\n"
        b"HandstandPushups/v_HandStandPushups_g03_c01.avi 3\r\n"
        b"Archery/v_Archery_g09_c01.avi 2\r\n"  # listed, not on disk
        b"Bowling/v_Bowling_g01_c01.avi 4\r\n"  # unknown class
        b"Archery/v_Archery_g01_c01.avi 3\r\n"  # label disagrees with the folder
        b"\r\n"
    )
    (ann / "testlist01.txt").write_bytes(
        b"ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\r\nArchery/v_Archery_g01_c01.avi\r\n"
        b"HandstandPushups/v_HandstandPushups_g01_c01.avi\r\nFoo/v_Foo_g01_c01.avi\r\n"
    )
    (ann / "trainlist02.txt").write_text("Archery/v_Archery_g01_c01.avi 2\n")
    return root


def test_ucf101_train_records_labels_and_problems(ucf):
    a = ucf101(ucf, fold=1, subset="train")
    assert a.classes == ["ApplyEyeMakeup", "Archery", "HandstandPushups"]
    assert [(r.path.relative_to(ucf).as_posix(), r.label, r.video_id) for r in a.records] == [
        ("ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi", 0, "v_ApplyEyeMakeup_g02_c01"),
        ("Archery/v_Archery_g02_c01.avi", 1, "v_Archery_g02_c01"),
        ("HandstandPushups/v_HandStandPushups_g03_c01.avi", 2, "v_HandStandPushups_g03_c01"),
    ]
    r = reasons(a)
    assert r[str(ucf / "Archery/v_Archery_g09_c01.avi")] == "listed in trainlist01.txt but missing on disk"
    assert r[str(ucf / "Bowling/v_Bowling_g01_c01.avi")] == "unknown class 'Bowling' in trainlist01.txt line 5"
    assert "disagrees with class 'Archery'" in r[str(ucf / "Archery/v_Archery_g01_c01.avi")]
    assert len(a.problems) == 3


def test_ucf101_test_list_and_folds(ucf):
    a = ucf101(ucf, fold=1, subset="test")
    assert [r.label for r in a.records] == [0, 1, 2]
    assert reasons(a) == {str(ucf / "Foo/v_Foo_g01_c01.avi"): "unknown class 'Foo' in testlist01.txt line 4"}
    b = ucf101(ucf, fold=2, subset="train")
    assert [(r.video_id, r.label) for r in b.records] == [("v_Archery_g01_c01", 1)]
    with pytest.raises(FileNotFoundError, match="annotation_dir"):
        ucf101(ucf, fold=3, subset="train")
    with pytest.raises(ValueError, match="fold=4"):
        ucf101(ucf, fold=4)
    with pytest.raises(ValueError, match="subset='val'"):
        ucf101(ucf, subset="val")
    with pytest.raises(FileNotFoundError, match="root="):
        ucf101(ucf / "nope")


def test_ucf101_annotation_dir_elsewhere(ucf, tmp_path):
    (tmp_path / "classInd.txt").write_text("1 Archery\n")
    (tmp_path / "testlist01.txt").write_text("Archery/v_Archery_g02_c01.avi\n")
    a = ucf101(ucf, subset="test", annotation_dir=tmp_path)
    assert a.classes == ["Archery"] and [r.video_id for r in a.records] == ["v_Archery_g02_c01"]


# ------------------------------------------------------------------------------------------------
# HMDB-51
# ------------------------------------------------------------------------------------------------


def test_hmdb51_markers_classes_problems(tmp_path):
    root = tmp_path / "hmdb51"
    splits = root / "testTrainMulti_7030_splits"
    splits.mkdir(parents=True)
    for c in ("brush_hair", "cartwheel"):
        for v in ("a", "b", "c"):
            touch(root / c / f"{c}_{v}.avi")
    (splits / "cartwheel_test_split1.txt").write_text("cartwheel_a.avi 1 \ncartwheel_b.avi 2 \ncartwheel_c.avi 0 \n")
    (splits / "brush_hair_test_split1.txt").write_text(
        "brush_hair_a.avi 2 \nbrush_hair_b.avi 1 \nbrush_hair_c.avi 1 \nbrush_hair_zz.avi 1 \nbrush_hair_q.avi 7 \n"
    )
    (splits / "brush_hair_test_split2.txt").write_text("brush_hair_a.avi 1 \n")
    (splits / "cartwheel_test_split2.txt").write_text("cartwheel_a.avi 2 \n")
    tr = hmdb51(root, fold=1, subset="train")
    assert tr.classes == ["brush_hair", "cartwheel"]  # sorted, underscores kept
    assert [(r.video_id, r.label) for r in tr.records] == [("brush_hair_b", 0), ("brush_hair_c", 0), ("cartwheel_a", 1)]
    r = reasons(tr)
    assert r[str(root / "brush_hair" / "brush_hair_zz.avi")] == "listed in brush_hair_test_split1.txt but missing on disk"
    assert "brush_hair_test_split1.txt line 5" in r[str(root / "brush_hair" / "brush_hair_q.avi")]
    te = hmdb51(root, fold=1, subset="test")
    assert [(r.video_id, r.label) for r in te.records] == [("brush_hair_a", 0), ("cartwheel_b", 1)]
    f2 = hmdb51(root, fold=2, subset="test")
    assert [r.video_id for r in f2.records] == ["cartwheel_a"]
    with pytest.raises(FileNotFoundError, match="_test_split3.txt"):
        hmdb51(root, fold=3, subset="train")
    with pytest.raises(FileNotFoundError, match="annotation_dir"):
        hmdb51(root, annotation_dir=tmp_path / "none")


# ------------------------------------------------------------------------------------------------
# Kinetics
# ------------------------------------------------------------------------------------------------


def test_kinetics_csv_layouts_window_and_problems(tmp_path):
    root = tmp_path / "k400"
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "train.csv").write_text(
        "label,youtube_id,time_start,time_end,split\n"
        "abseiling,aaa,10,20,train\n"
        "air drumming,bbb,0,10,train\n"
        "air drumming,ccc,5,15,train\n"  # untrimmed file ccc.mp4: read 5..15 s
        "abseiling,ddd,1,11,train\n"  # missing
    )
    (root / "annotations" / "validate.csv").write_text(
        "label,youtube_id,time_start,time_end,split\n"
        "air drumming,eee,30,40,val\n"
        "zumba,fff,0,10,val\n"  # not a train class
        ",ggg,0,10,val\n"  # no label
    )
    touch(root / "train" / "abseiling" / "aaa_000010_000020.mp4")
    touch(root / "train" / "air_drumming" / "bbb_000000_000010.mkv")  # spaces -> "_" folder, other extension
    touch(root / "train" / "air drumming" / "ccc.mp4")
    touch(root / "val" / "eee_000030_000040.mp4")  # flat
    tr = kinetics(root, subset="train")
    assert tr.classes == ["abseiling", "air drumming"]
    got = [(r.path.relative_to(root).as_posix(), r.label, r.video_id, r.start, r.end) for r in tr.records]
    assert got == [
        ("train/abseiling/aaa_000010_000020.mp4", 0, "aaa_000010_000020", None, None),
        ("train/air_drumming/bbb_000000_000010.mkv", 1, "bbb_000000_000010", None, None),
        ("train/air drumming/ccc.mp4", 1, "ccc_000005_000015", 5.0, 15.0),
    ]
    assert list(reasons(tr).values()) == ["listed in train.csv but missing on disk"]
    assert "ddd_000001_000011" in tr.problems[0].path
    va = kinetics(root, subset="val")
    assert va.classes == tr.classes  # numbered by the train csv
    assert [(r.video_id, r.label) for r in va.records] == [("eee_000030_000040", 1)]
    assert sorted(reasons(va).values()) == ["no label in validate.csv line 4", "unknown class 'zumba' in validate.csv line 3"]
    with pytest.raises(FileNotFoundError, match="csv="):
        kinetics(root, subset="test")


# ------------------------------------------------------------------------------------------------
# Something-Something v2
# ------------------------------------------------------------------------------------------------


def test_ssv2_json_labels_templates(tmp_path):
    root = tmp_path / "ssv2"
    (root / "labels").mkdir(parents=True)
    (root / "labels" / "labels.json").write_text(json.dumps(
        {"Holding something next to something": "1", "Approaching something with your camera": "0"}))
    (root / "labels" / "train.json").write_text(json.dumps([
        {"id": "11", "label": "holding a cup next to a pen", "template": "Holding [something] next to [something]",
         "placeholders": ["a cup", "a pen"]},
        {"id": "12", "template": "Approaching [something] with your camera"},
        {"id": "13", "template": "Dancing with [something]"},  # unknown
        {"id": "14", "template": "Approaching [something] with your camera"},  # missing
    ]))
    val = [{"id": 12, "template": "Approaching [something] with your camera"}]
    (root / "labels" / "validation.json").write_text(json.dumps(val))
    for i in (11, 12, 13):
        touch(root / "20bn-something-something-v2" / f"{i}.webm")
    tr = ssv2(root, subset="train")
    assert tr.classes == ["Approaching something with your camera", "Holding something next to something"]
    assert [(r.video_id, r.label, r.path.name) for r in tr.records] == [("11", 1, "11.webm"), ("12", 0, "12.webm")]
    r = reasons(tr)
    vdir = root / "20bn-something-something-v2"
    assert r[str(vdir / "13.webm")] == "unknown class 'Dancing with something' in train.json item 2"
    assert r[str(vdir / "14.webm")] == "listed in train.json but missing on disk"
    va = ssv2(root, subset="validation")
    assert [(r.video_id, r.label) for r in va.records] == [("12", 0)]
    with pytest.raises(ValueError, match="not public"):
        ssv2(root, subset="test")


# ------------------------------------------------------------------------------------------------
# Plain folder
# ------------------------------------------------------------------------------------------------


def test_folder_flat_and_subsets(tmp_path):
    flat = tmp_path / "flat"
    touch(flat / "run" / "a.mp4")
    touch(flat / "run" / "b.WEBM")
    touch(flat / "jump" / "c.avi")
    touch(flat / "jump" / "notes.txt")
    touch(flat / "jump" / ".hidden.mp4")
    a = folder(flat)
    assert a.classes == ["jump", "run"]
    assert [(r.video_id, r.label) for r in a.records] == [("jump/c", 0), ("run/a", 1), ("run/b", 1)]
    assert [p.path for p in a.problems] == [str(flat / "jump" / "notes.txt")]
    assert a.problems[0].reason.startswith("skipped: not a video file")

    sub = tmp_path / "sub"
    touch(sub / "train" / "run" / "a.mp4")
    touch(sub / "train" / "jump" / "b.mp4")
    touch(sub / "val" / "sit" / "c.mp4")
    tr, va = folder(sub, subset="train"), folder(sub, subset="val")
    assert tr.classes == va.classes == ["jump", "run", "sit"]
    assert [r.label for r in va.records] == [2]
    assert [r.video_id for r in tr.records] == ["train/jump/b", "train/run/a"] and va.records[0].video_id == "val/sit/c"
    with pytest.raises(FileNotFoundError, match="subset folder"):
        folder(sub, subset="test")


def test_registry_and_dataclasses():
    assert set(ANNOTATIONS) == {"ucf101", "hmdb51", "kinetics", "ssv2", "folder"}
    p = Problem("x/y.avi", "missing")
    assert str(p) == "x/y.avi: missing"
    r = VideoRecord(path="a", label=1, video_id="a")
    assert r.start is None and r.end is None
    with pytest.raises(Exception):
        r.label = 2  # frozen
