"""Parsers for the official annotation files of UCF-101, HMDB-51, Kinetics and Something-Something v2.

Each parser reads a dataset's own split files from its standard on-disk layout (its docstring)
and returns an :class:`~.records.Annotation`: the videos of one subset as
:class:`~.records.VideoRecord` (path, 0-based label, id, optional start/end seconds), the class
names in label order, and every :class:`~.records.Problem` found on the way (a listed file missing
on disk, an unknown class, a malformed line), each naming a path and a reason. A problem never
stops parsing and its video is left out of ``records``; what to do about problems (log them, or
raise in strict mode) is the dataset's decision (:class:`.dataset.VideoDataset`). A missing
annotation file or root folder is a configuration error and raises ``FileNotFoundError`` saying
which argument to pass. ``fold`` is the official split 1, 2 or 3 (UCF-101, HMDB-51).

Data flow::

    split / csv / json file ─→ lines or rows ─→ (relative path, class name or label) per line
      ─→ class name → 0-based label (unknown → Problem)        ─→ path on disk (missing → Problem)
      ─→ Annotation(records=[VideoRecord(path, label, video_id, start, end)], classes, problems)

Files are looked up by listing each folder once (not one ``stat`` per video). Lines are stripped
(the UCF-101 lists have Windows line ends) and blank lines skipped.

Departures from PySlowFast / MMAction2: both read pre-made "path label" list files (made by
their own conversion scripts) and fail or skip silently on a missing file; we read the
datasets' original annotation files directly, and report every skipped line with a reason.
"""

from __future__ import annotations

import csv as csv_module
import json
import os
from pathlib import Path
from typing import Callable

from ...utils.checks import check_choice, check_int
from .records import (Annotation, Listing, Problem, VideoRecord, check_root, first_file, need_file, subdirs,
                      text_lines)
from .video_io import VIDEO_EXTENSIONS

__all__ = ["ucf101", "hmdb51", "kinetics", "ssv2", "folder", "ANNOTATIONS", "ANNOTATION_KWARGS", "FOLDS",
           "annotate", "folder_subset"]

FOLDS = (1, 2, 3)


def _check_subset(subset, valid: tuple[str, ...], aliases: dict[str, str] | None = None) -> str:
    return check_choice("subset", (aliases or {}).get(subset, subset), valid)


# ------------------------------------------------------------------------------------------------
# UCF-101
# ------------------------------------------------------------------------------------------------


def ucf101(root, *, fold: int = 1, subset: str = "train", annotation_dir=None) -> Annotation:
    """UCF-101 (Soomro et al. 2012): the official three train/test splits. Layout::

        root/<Class>/v_<Class>_gXX_cYY.avi            (a flat root/v_*.avi is accepted too)
        annotation_dir (default root/ucfTrainTestlist):
          classInd.txt           "1 ApplyEyeMakeup"        (1-based index)
          trainlist0{1,2,3}.txt  "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1"
          testlist0{1,2,3}.txt   "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"

    label = classInd index of the folder named in the line, minus 1; a trainlist label that
    disagrees with the folder is a problem.
    """
    root = check_root(root)
    fold = check_int("fold", fold, min_value=min(FOLDS), max_value=max(FOLDS))
    subset = _check_subset(subset, ("train", "test"))
    adir = Path(annotation_dir) if annotation_dir is not None else root / "ucfTrainTestlist"
    class_file = need_file(adir / "classInd.txt", "UCF-101 classInd.txt", "annotation_dir")
    index: dict[int, str] = {}
    for n, line in text_lines(class_file):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise ValueError(f"{class_file} line {n}: expected '<index> <ClassName>', got {line!r}")
        index[int(parts[0])] = parts[1]
    if sorted(index) != list(range(1, len(index) + 1)):
        raise ValueError(f"{class_file}: class indices must be 1..N without gaps; got {sorted(index)[:5]}...")
    classes = [index[i] for i in range(1, len(index) + 1)]
    label_of = {c: i for i, c in enumerate(classes)}
    label_of_lower = {c.lower(): i for i, c in enumerate(classes)}
    list_name = f"{'trainlist' if subset == 'train' else 'testlist'}0{fold}.txt"
    list_file = need_file(adir / list_name, f"UCF-101 {list_name}", "annotation_dir")

    listing = Listing()
    records, problems = [], []
    for n, line in text_lines(list_file):
        parts = line.split()
        rel = parts[0].replace("\\", "/")
        cls, _, fname = rel.rpartition("/")
        path = root / rel
        if not cls:
            problems.append(Problem(str(path), f"no class folder in {list_name} line {n}: {line!r}"))
            continue
        label = label_of.get(cls, label_of_lower.get(cls.lower()))
        if label is None:
            problems.append(Problem(str(path), f"unknown class {cls!r} in {list_name} line {n}"))
            continue
        if len(parts) > 1:
            if not parts[1].lstrip("-").isdigit():
                problems.append(Problem(str(path), f"label {parts[1]!r} is not an int in {list_name} line {n}"))
                continue
            if int(parts[1]) - 1 != label:
                problems.append(Problem(
                    str(path), f"label {parts[1]} in {list_name} line {n} disagrees with class {cls!r} "
                    f"(classInd.txt index {label + 1})"))
                continue
        if not listing.exists(path) and listing.exists(root / fname):
            path = root / fname  # a flat folder of videos
        if not listing.exists(path):
            problems.append(Problem(str(path), f"listed in {list_name} but missing on disk"))
            continue
        records.append(VideoRecord(path=path, label=label, video_id=Path(fname).stem))
    return Annotation(records=records, classes=classes, problems=problems)


# ------------------------------------------------------------------------------------------------
# HMDB-51
# ------------------------------------------------------------------------------------------------


def hmdb51(root, *, fold: int = 1, subset: str = "train", annotation_dir=None) -> Annotation:
    """HMDB-51 (Kuehne et al. 2011): the official 70/30 splits. Layout::

        root/<class>/<video>.avi
        annotation_dir (default root/testTrainMulti_7030_splits):
          <class>_test_split{1,2,3}.txt   "<video>.avi 1"   (1 = train, 2 = test, 0 = unused in this split)

    classes = the 51 class names from the file names, sorted.
    """
    root = check_root(root)
    fold = check_int("fold", fold, min_value=min(FOLDS), max_value=max(FOLDS))
    subset = _check_subset(subset, ("train", "test"))
    adir = Path(annotation_dir) if annotation_dir is not None else root / "testTrainMulti_7030_splits"
    if not adir.is_dir():
        raise FileNotFoundError(
            f"HMDB-51 split folder not found at {str(adir)!r}; pass annotation_dir= (the folder with "
            "<class>_test_split1.txt ...)"
        )
    suffix = f"_test_split{fold}.txt"
    files = sorted(p for p in adir.iterdir() if p.name.endswith(suffix))
    if not files:
        raise FileNotFoundError(f"no *{suffix} files in {str(adir)!r}; pass annotation_dir= with the HMDB-51 splits")
    classes = [p.name[: -len(suffix)] for p in files]
    want = 1 if subset == "train" else 2
    listing = Listing()
    records, problems = [], []
    for label, (cls, split_file) in enumerate(zip(classes, files)):
        for n, line in text_lines(split_file):
            parts = line.split()
            path = root / cls / parts[0]
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                problems.append(Problem(
                    str(path), f"bad line in {split_file.name} line {n}: {line!r} (expected '<video> <0|1|2>')"))
                continue
            if int(parts[1]) != want:
                continue
            if not listing.exists(path):
                problems.append(Problem(str(path), f"listed in {split_file.name} but missing on disk"))
                continue
            records.append(VideoRecord(path=path, label=label, video_id=Path(parts[0]).stem))
    return Annotation(records=records, classes=classes, problems=problems)


# ------------------------------------------------------------------------------------------------
# Kinetics
# ------------------------------------------------------------------------------------------------

_KINETICS_ALIASES = {"val": ("val", "validate", "valid", "validation"), "train": ("train",), "test": ("test",)}


def _read_kinetics_csv(path: Path) -> list[tuple[int, dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv_module.DictReader(f)
        cols = set(reader.fieldnames or ())
        missing = {"youtube_id", "time_start", "time_end"} - cols
        if missing:
            raise ValueError(
                f"{path}: missing column(s) {sorted(missing)}; expected label,youtube_id,time_start,time_end,split")
        return [(n, row) for n, row in enumerate(reader, 2)]  # line 1 is the header


def _kinetics_csv(root: Path, subset: str) -> Path | None:
    names = [f"{a}.csv" for a in _KINETICS_ALIASES[subset]]
    for d in (root, root / "annotations"):
        found = first_file(d / n for n in names)
        if found:
            return found
    for d in (root, root / "annotations"):  # e.g. kinetics400_val.csv, kinetics_700_train.csv
        if d.is_dir():
            for p in sorted(d.glob("*.csv")):
                if any(p.stem.lower().endswith(("_" + a, "-" + a)) for a in _KINETICS_ALIASES[subset]):
                    return p
    return None


def kinetics(root, *, subset: str, csv=None) -> Annotation:
    """Kinetics-400/600/700 (Kay et al. 2017) from its csv files.

    csv columns ``label,youtube_id,time_start,time_end,split`` (default root/<subset>.csv,
    root/annotations/<subset>.csv, *_<subset>.csv; val also as validate.csv); videos
    ``root/<subset>/<label>/<id>_<start:06d>_<end:06d>.mp4`` (the official downloader's names);
    also accepted: label folders with spaces replaced by "_", a flat root/<subset>/, extensions
    .mkv/.webm/..., and an untrimmed root/<subset>[/<label>]/<id>.mp4, read from time_start to
    time_end (``record.start`` / ``record.end``). classes = sorted labels of the train csv next to
    ``csv`` (so train and val agree), else of ``csv`` itself.
    """
    root = check_root(root)
    aliases = {a: k for k, v in _KINETICS_ALIASES.items() for a in v}
    subset = _check_subset(subset, ("train", "val", "test"), aliases)
    if csv is not None:
        csv_path = need_file(Path(csv), "Kinetics csv", "csv")
    else:
        csv_path = _kinetics_csv(root, subset)
        if csv_path is None:
            raise FileNotFoundError(
                f"no Kinetics csv for subset {subset!r} in {str(root)!r} (looked for {subset}.csv, "
                f"annotations/{subset}.csv, *_{subset}.csv); pass csv= with its path"
            )
    rows = _read_kinetics_csv(csv_path)
    # Class list: the train csv's labels, so that train and val datasets number classes alike.
    train_csv = None if subset == "train" else _kinetics_csv(csv_path.parent, "train") or _kinetics_csv(root, "train")
    label_rows = rows if train_csv is None or train_csv == csv_path else _read_kinetics_csv(train_csv)
    classes = sorted({r.get("label", "").strip() for _, r in label_rows} - {""})
    label_of = {c: i for i, c in enumerate(classes)}

    vdir = next((root / a for a in _KINETICS_ALIASES[subset] if (root / a).is_dir()), root)
    listing = Listing()
    records, problems = [], []
    for n, row in rows:
        split = (row.get("split") or "").strip()
        if split and aliases.get(split, split) != subset:
            continue
        yid = (row.get("youtube_id") or "").strip()
        label_name = (row.get("label") or "").strip()
        where = f"{csv_path.name} line {n}"
        try:
            t_start, t_end = float(row["time_start"]), float(row["time_end"])
        except (TypeError, ValueError):
            problems.append(Problem(str(vdir / yid), f"bad time_start/time_end in {where}"))
            continue
        stem = f"{yid}_{int(t_start):06d}_{int(t_end):06d}"
        if not label_name:
            problems.append(Problem(str(vdir / stem), f"no label in {where}"))
            continue
        if label_name not in label_of:
            problems.append(Problem(str(vdir / label_name / stem), f"unknown class {label_name!r} in {where}"))
            continue
        dirs = [vdir / label_name, vdir / label_name.replace(" ", "_"), vdir]
        path, start, end = None, None, None
        for d in dirs:  # trimmed clip first, then the untrimmed video read from time_start to time_end
            name = listing.stems(d).get(stem)
            if name:
                path = d / name
                break
        if path is None:
            for d in dirs:
                name = listing.stems(d).get(yid)
                if name:
                    path, start, end = d / name, t_start, t_end
                    break
        if path is None:
            problems.append(Problem(str(dirs[0] / f"{stem}.mp4"), f"listed in {csv_path.name} but missing on disk"))
            continue
        records.append(VideoRecord(path=path, label=label_of[label_name], video_id=stem, start=start, end=end))
    return Annotation(records=records, classes=classes, problems=problems)


# ------------------------------------------------------------------------------------------------
# Something-Something v2
# ------------------------------------------------------------------------------------------------

_SSV2_SPLIT_NAMES = {"train": ("train",), "val": ("validation", "val")}


def ssv2(root, *, subset: str, labels_json=None, split_json=None) -> Annotation:
    """Something-Something v2 (Goyal et al. 2017) from its json files.

    ``labels_json`` {"Approaching something with your camera": "0", ...}, ``split_json`` [{"id":
    "78687", "template": "Holding [something] ...", ...}] (defaults root/labels/{labels,train,
    validation}.json, or root/something-something-v2-{labels,train,validation}.json); videos
    root/<id>.webm (or under root/20bn-something-something-v2/, root/videos/); label =
    labels[template with "[" "]" removed], as the official code.
    """
    root = check_root(root)
    subset = _check_subset(subset, ("train", "val", "test"), {"validation": "val"})
    if subset == "test":
        raise ValueError("subset='test': the Something-Something v2 test labels are not public; use subset='val'")
    if labels_json is not None:
        labels_path = need_file(Path(labels_json), "SSv2 labels json", "labels_json")
    else:
        labels_path = first_file([root / "labels" / "labels.json", root / "something-something-v2-labels.json",
                                   root / "annotations" / "something-something-v2-labels.json"])
        if labels_path is None:
            raise FileNotFoundError(
                f"no SSv2 labels json in {str(root)!r} (labels/labels.json or something-something-v2-labels.json); "
                "pass labels_json="
            )
    if split_json is not None:
        split_path = need_file(Path(split_json), "SSv2 split json", "split_json")
    else:
        cands = []
        for nm in _SSV2_SPLIT_NAMES[subset]:
            cands += [root / "labels" / f"{nm}.json", root / f"something-something-v2-{nm}.json",
                      root / "annotations" / f"something-something-v2-{nm}.json"]
        split_path = first_file(cands)
        if split_path is None:
            raise FileNotFoundError(
                f"no SSv2 {subset} json in {str(root)!r} (labels/{_SSV2_SPLIT_NAMES[subset][0]}.json or "
                f"something-something-v2-{_SSV2_SPLIT_NAMES[subset][0]}.json); pass split_json="
            )
    with open(labels_path, encoding="utf-8") as f:
        label_map = json.load(f)
    try:
        order = sorted(label_map.items(), key=lambda kv: int(kv[1]))
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"{labels_path}: expected a json object {{class name: \"index\"}}") from None
    classes = [k for k, _ in order]
    if [int(v) for _, v in order] != list(range(len(classes))):
        raise ValueError(f"{labels_path}: class indices must be 0..N-1 without gaps")
    label_of = {c: i for i, c in enumerate(classes)}
    with open(split_path, encoding="utf-8") as f:
        items = json.load(f)
    if not isinstance(items, list):
        raise ValueError(f"{split_path}: expected a json list of {{\"id\", \"template\", ...}} objects")

    vdir = next((d for d in (root / "20bn-something-something-v2", root / "videos") if d.is_dir()), root)
    listing = Listing()
    records, problems = [], []
    for n, item in enumerate(items):
        vid = str(item.get("id", "")) if isinstance(item, dict) else ""
        where = f"{split_path.name} item {n}"
        if not vid:
            problems.append(Problem(str(split_path), f"no id in {where}"))
            continue
        name = listing.stems(vdir).get(vid, f"{vid}.webm")
        path = vdir / name
        template = item.get("template")
        if template is None:
            problems.append(Problem(str(path), f"no template (label) in {where}"))
            continue
        cls = template.replace("[", "").replace("]", "")
        if cls not in label_of:
            problems.append(Problem(str(path), f"unknown class {cls!r} in {where}"))
            continue
        if not listing.exists(path):
            problems.append(Problem(str(path), f"listed in {split_path.name} but missing on disk"))
            continue
        records.append(VideoRecord(path=path, label=label_of[cls], video_id=vid))
    return Annotation(records=records, classes=classes, problems=problems)


# ------------------------------------------------------------------------------------------------
# A plain folder
# ------------------------------------------------------------------------------------------------


def folder(root, *, subset: str | None = None) -> Annotation:
    """``root/<class>/<video>`` (``subset=None``) or ``root/<subset>/<class>/<video>``.

    Classes are the sorted class folder names; with subsets, the union over every subset folder of
    ``root`` (so train and val number classes alike). Files whose extension is not in
    ``VIDEO_EXTENSIONS`` are reported as problems; hidden files are ignored.
    """
    root = check_root(root)
    if subset is None:
        base = root
        classes = subdirs(root)
    else:
        base = root / subset
        if not base.is_dir():
            raise FileNotFoundError(
                f"subset folder {str(base)!r} does not exist; folders in root: {subdirs(root)} "
                "(pass subset=None for a root/<class>/<video> layout)"
            )
        classes = sorted({c for s in subdirs(root) for c in subdirs(root / s)})
    if not classes:
        raise FileNotFoundError(f"no class folders in {str(base)!r}; expected <class>/<video> sub-folders")
    records, problems = [], []
    for label, cls in enumerate(classes):
        d = base / cls
        if not d.is_dir():
            continue  # a class with no folder in this subset
        for name in sorted(os.listdir(d)):
            if name.startswith("."):
                continue
            p = d / name
            if os.path.splitext(name)[1].lower() not in VIDEO_EXTENSIONS:
                problems.append(Problem(str(p), f"skipped: not a video file (extensions {', '.join(VIDEO_EXTENSIONS)})"))
                continue
            # the subset is part of the id: train/run/a and val/run/a are different videos (frame and flow caches key on it)
            vid = f"{cls}/{Path(name).stem}" if subset is None else f"{subset}/{cls}/{Path(name).stem}"
            records.append(VideoRecord(path=p, label=label, video_id=vid))
    return Annotation(records=records, classes=classes, problems=problems)


#: name -> parser; ``actionrec.data.videos.build_video_dataset`` dispatches on it.


#: name -> parser; :func:`annotate` and :func:`.dataset.build_video_dataset` dispatch on it.
ANNOTATIONS: dict[str, Callable[..., Annotation]] = {
    "ucf101": ucf101,
    "hmdb51": hmdb51,
    "kinetics": kinetics,
    "ssv2": ssv2,
    "folder": folder,
}
#: name -> the parser's keyword options (what a dataset's or prepare's kwargs pass on to it).
ANNOTATION_KWARGS: dict[str, tuple[str, ...]] = {
    "ucf101": ("annotation_dir",),
    "hmdb51": ("annotation_dir",),
    "kinetics": ("csv",),
    "ssv2": ("labels_json", "split_json"),
    "folder": (),
}


def annotate(name: str, root, subset: str | None, *, fold: int = 1, **kwargs) -> Annotation:
    """Subset ``subset`` of dataset ``name`` (``fold``: ucf101 and hmdb51 only; ``kwargs`` to the parser)."""
    if name in ("ucf101", "hmdb51"):
        return ANNOTATIONS[name](root, fold=fold, subset=subset, **kwargs)
    if fold != 1:
        raise ValueError(f"fold={fold!r}: {name} has one official split; fold applies to ucf101 and hmdb51")
    return ANNOTATIONS[name](root, subset=subset, **kwargs)


def folder_subset(root: Path, split: str) -> str | None:
    """The subset folder a split of a plain folder dataset reads (None: root holds the classes)."""
    prefs = {"train": ("train",), "val": ("val", "validation", "test"), "test": ("test", "val", "validation")}[split]
    for name in prefs:
        if (root / name).is_dir():
            return name
    if any((root / n).is_dir() for n in ("train", "val", "validation", "test")):
        raise FileNotFoundError(f"{root} has subset folders but none for split {split!r} (looked for {prefs})")
    return None
