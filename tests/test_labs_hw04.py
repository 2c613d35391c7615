"""HW4 speaker identification: the hand-written parts (attention pooling, the Conformer block,
AM-softmax), the .pt reader and writer, the VoxCeleb mel folder reader on generated files
(output.csv, and malformed files exit 4), and the quick ladder."""
import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

import mlseries as ms
import mlseries.nn.functional as F
from mlseries.cli import main
from mlseries.labs.data import LabDataError
from mlseries.labs.hw04 import models, speakers, voxceleb
from mlseries.labs.torch_files import read_matrix, write_torch_tensor

from lesson_checks import quick_run_suite

runs, test_quick_run_reaches_its_targets = quick_run_suite(("hw04.speakers",))


def test_quick_ladder_reaches_the_gain(runs):
    _, _, record, _ = runs("hw04.speakers")
    m = record["metrics"]
    assert m["best_score"] >= m["score_sample"] + speakers.TARGET_GAIN
    assert m["best_rung"] != "sample" and m["score_sample"] < 0.9        # room above the sample
    assert m["score_sample"] > 3 / m["speakers"]                           # far above chance


# ---------------------------------------------------------------- the models

def test_attention_pooling_is_a_weighted_mean():
    ms.manual_seed(0)
    pool = models.SelfAttentionPooling(4)
    h = ms.randn(2, 5, 4)
    pooled, alpha = pool(h, return_weights=True)
    assert np.allclose(alpha.numpy().sum(1), 1.0, atol=1e-6)
    expected = np.einsum("bt,btd->bd", alpha.numpy(), h.numpy())
    assert np.allclose(pooled.numpy(), expected, atol=1e-5)
    # equal frames: any weights give that frame back
    same = ms.tensor(np.repeat(np.arange(4, dtype=np.float32)[None, None], 5, axis=1))
    assert np.allclose(pool(same).numpy(), np.arange(4), atol=1e-5)


def test_conformer_block_keeps_the_shape_and_learns():
    ms.manual_seed(0)
    block = models.ConformerBlock(8, 2, 16, kernel_size=5, dropout=0.0)
    x = ms.randn(3, 11, 8)
    assert block(x).shape == (3, 11, 8)
    # the convolution is local: a change at the last frame reaches only a few frames back
    # through the conv module (kernel 5), everywhere only through attention
    conv = models.ConvolutionModule(8, 5, 0.0).eval()
    a = np.random.default_rng(0).normal(size=(1, 11, 8)).astype(np.float32)
    b = a.copy()
    b[0, -1] += 1.0
    diff = np.abs(conv(ms.tensor(b)).detach().numpy() - conv(ms.tensor(a)).detach().numpy()).sum(-1)[0]
    assert np.all(diff[:-3] < 1e-6) and diff[-1] > 0


def test_am_softmax_loss_by_hand():
    logits = ms.tensor([[6.0, 3.0, -1.5], [0.0, 1.5, 4.5]])      # already s·cos, s = 15
    target = ms.tensor([0, 1])
    s, m = 15.0, 0.2
    z = logits.numpy().copy()
    z[[0, 1], [0, 1]] -= s * m
    expected = np.mean([np.log(np.exp(row).sum()) - row[t] for row, t in zip(z, [0, 1])])
    assert models.am_softmax_loss(logits, target, s, m).item() == pytest.approx(expected, rel=1e-5)
    # no margin: plain cross-entropy
    assert models.am_softmax_loss(logits, target, s, 0.0).item() == pytest.approx(
        F.cross_entropy(logits, target).item(), rel=1e-6)


def test_am_head_gives_scaled_cosines():
    ms.manual_seed(0)
    head = models.AMSoftmaxHead(4, 3, scale=15.0)
    out = head(ms.randn(5, 4) * 7).detach().numpy()
    assert np.all(np.abs(out) <= 15.0 + 1e-4)


# ---------------------------------------------------------------- .pt files and --data

def test_torch_file_round_trip_and_garbage(tmp_path):
    a = np.random.default_rng(0).normal(size=(7, 40)).astype(np.float32)
    write_torch_tensor(tmp_path / "a.pt", a)
    assert np.array_equal(read_matrix(tmp_path / "a.pt", 40), a)
    (tmp_path / "b.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(LabDataError, match="b.pt: not a readable torch.save file"):
        read_matrix(tmp_path / "b.pt")


def make_voxceleb(root, n_speakers=4, per_speaker=5, n_test=6, seed=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    names = [f"id1{i:04d}" for i in range(n_speakers)]
    meta = {"n_mels": 40, "speakers": {}}
    k = 0
    for s, name in enumerate(names):
        meta["speakers"][name] = []
        for _ in range(per_speaker):
            t = int(rng.integers(90, 160))                     # some shorter, some longer than 128
            write_torch_tensor(root / f"uttr-{k:05d}.pt", rng.normal(size=(t, 40)) + s)
            meta["speakers"][name].append({"feature_path": f"uttr-{k:05d}.pt", "mel_len": t})
            k += 1
    test = {"n_mels": 40, "utterances": []}
    for _ in range(n_test):
        t = int(rng.integers(90, 160))
        write_torch_tensor(root / f"uttr-{k:05d}.pt", rng.normal(size=(t, 40)))
        test["utterances"].append({"feature_path": f"uttr-{k:05d}.pt", "mel_len": t})
        k += 1
    (root / "metadata.json").write_text(json.dumps(meta))
    (root / "testdata.json").write_text(json.dumps(test))
    (root / "mapping.json").write_text(json.dumps({"speaker2id": {n: i for i, n in enumerate(names)},
                                                   "id2speaker": {str(i): n for i, n in enumerate(names)}}))
    return names, test


def run_lab(*args):
    return CliRunner().invoke(main, ["run", "hw04", "--quick", *[str(a) for a in args]])


def test_data_folder_trains_and_writes_output_csv(tmp_path):
    names, test = make_voxceleb(tmp_path / "Dataset")
    result = run_lab("--data", tmp_path / "Dataset", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(open(tmp_path / "run" / "hw04.speakers" / "output.csv", encoding="utf-8")))
    assert rows[0] == ["Id", "Category"] and len(rows) == len(test["utterances"]) + 1
    assert [r[0] for r in rows[1:]] == [u["feature_path"] for u in test["utterances"]]
    assert all(r[1] in names for r in rows[1:])


def test_a_speaker_missing_from_the_mapping_exits_4(tmp_path):
    make_voxceleb(tmp_path)
    mapping = json.loads((tmp_path / "mapping.json").read_text())
    del mapping["speaker2id"]["id10001"]
    (tmp_path / "mapping.json").write_text(json.dumps(mapping))
    result = run_lab("--data", tmp_path, "--out", tmp_path / "run")
    assert result.exit_code == 4, result.output
    assert "metadata.json: speaker 'id10001' is not in mapping.json's speaker2id" in result.output


def test_broken_json_and_wrong_mels_are_named(tmp_path):
    make_voxceleb(tmp_path)
    (tmp_path / "testdata.json").write_text('{"n_mels": 40, "utterances": [')
    with pytest.raises(LabDataError, match="testdata.json: not valid JSON"):
        voxceleb.read_voxceleb(tmp_path)
    make_voxceleb(tmp_path / "b")
    write_torch_tensor(tmp_path / "b" / "uttr-00000.pt", np.zeros((50, 80)))
    with pytest.raises(LabDataError, match=r"uttr-00000.pt: holds a tensor of shape \(50, 80\)"):
        voxceleb.read_voxceleb(tmp_path / "b")


def test_segments_crop_long_and_pad_short():
    rng = np.random.default_rng(0)
    mels = [np.ones((200, 3)), np.ones((50, 3))]
    out = speakers.segments(mels, rng, 128, np.zeros(3), np.ones(3))
    assert out.shape == (2, 128, 3)
    assert np.all(out[0] == 1) and np.all(out[1, :50] == 1) and np.all(out[1, 50:] == speakers.PAD)
