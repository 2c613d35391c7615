"""HW4's own data with `--data PATH`: the VoxCeleb mel folder, and the file Kaggle takes.

The course's `Dataset/` folder (as its sample code reads it; the format is documented only by
that code, so this is what is assumed):

    mapping.json    {"speaker2id": {"id10001": 0, …}, "id2speaker": {"0": "id10001", …}}
    metadata.json   {"n_mels": 40, "speakers": {"id10001": [{"feature_path": "uttr-….pt",
                                                              "mel_len": 435}, …], …}}
    testdata.json   {"n_mels": 40, "utterances": [{"feature_path": "uttr-….pt", "mel_len": 123}, …]}
    uttr-*.pt       a torch.save'd float tensor (frames, n_mels) of log-mel energies

The `.pt` files are read without PyTorch (torch_files.py). The leaderboard takes `output.csv`:
a header `Id,Category`, then one row per test utterance: its feature_path and the predicted
speaker's name (id2speaker).
"""
import csv
import json

from ..data import LabDataError, data_files
from ..torch_files import read_matrix


def _json(path, keys):
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise LabDataError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(obj, dict):
        raise LabDataError(f"{path}: expected a JSON object with keys {', '.join(keys)}")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise LabDataError(f"{path}: no key {', '.join(repr(k) for k in missing)} "
                           f"(expected keys {', '.join(keys)})")
    return obj


def _utterance(folder, entry, where, n_mels):
    if not isinstance(entry, dict) or "feature_path" not in entry:
        raise LabDataError(f"{where}: expected an object with \"feature_path\", got {str(entry)[:60]}")
    path = folder / entry["feature_path"]
    if not path.is_file():
        raise LabDataError(f"{path}: not found ({where} names it)")
    return read_matrix(path, n_mels, f"a (frames, {n_mels}) float tensor of log-mel energies")


def read_voxceleb(path):
    """{"train": [(mel (T, n_mels), speaker id)], "test": [(feature_path, mel)],
    "id2speaker": {id: name}, "n_mels": int}."""
    files = data_files(path, ["mapping.json", "metadata.json", "testdata.json"])
    mapping = _json(files["mapping.json"], ["speaker2id", "id2speaker"])
    meta = _json(files["metadata.json"], ["n_mels", "speakers"])
    test = _json(files["testdata.json"], ["n_mels", "utterances"])
    n_mels = meta["n_mels"]
    if not isinstance(n_mels, int) or n_mels <= 0:
        raise LabDataError(f"{files['metadata.json']}: \"n_mels\" is {n_mels!r}, expected a positive integer")
    train = []
    for name, entries in meta["speakers"].items():
        if name not in mapping["speaker2id"]:
            raise LabDataError(f"{files['metadata.json']}: speaker {name!r} is not in "
                               f"mapping.json's speaker2id")
        for k, entry in enumerate(entries):
            mel = _utterance(path, entry, f"metadata.json, speaker {name!r}, utterance {k}", n_mels)
            train.append((mel, int(mapping["speaker2id"][name])))
    if not train:
        raise LabDataError(f"{files['metadata.json']}: no utterances under \"speakers\"")
    tests = [(entry.get("feature_path") if isinstance(entry, dict) else None,
              _utterance(path, entry, f"testdata.json, utterance {k}", n_mels))
             for k, entry in enumerate(test["utterances"])]
    id2speaker = {int(k): v for k, v in mapping["id2speaker"].items()}
    return {"train": train, "test": tests, "id2speaker": id2speaker, "n_mels": n_mels}


def write_output(path, feature_paths, predictions, id2speaker):
    """output.csv: Id (the test utterance's feature_path), Category (the speaker's name)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["Id", "Category"])
        for fp, p in zip(feature_paths, predictions):
            writer.writerow([fp, id2speaker[int(p)]])
