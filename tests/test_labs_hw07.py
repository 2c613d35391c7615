"""hw07 (extractive QA): the quick ladder, the questions built from the poems (every answer a
span of its paragraph), windows and doc stride, the two ways of reading an answer off the scores,
and the course's JSON files through `--data` (result.csv; malformed files exit 4)."""
import json

import numpy as np
from click.testing import CliRunner

from mlseries.cli import main
from mlseries.course.ch12.bert_model import CLS, PAD, SEP, CharVocab
from mlseries.labs.hw07 import qa, questions as Q

from lesson_checks import quick_run_suite

runs, test_quick_run_reaches_its_targets = quick_run_suite(("hw07.qa",))

POEM = {"title": "静夜思", "author": "李白", "text": "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"}


def test_quick_ladder(runs):
    out, _, record, _ = runs("hw07.qa")
    m = record["metrics"]
    assert [r.split(",")[0] for r in (out / "ladder.csv").read_text(encoding="utf-8").splitlines()[1:]] == \
        ["scratch", "pretrain", "doc_stride", "postprocess", "match"]
    assert m["best_score"] > m["score_scratch"] and m["score_postprocess"] >= m["score_doc_stride"]
    assert m["score_match"] > m["score_postprocess"] and m["best_rung"] == "match"
    assert m["mlm_loss_end"] < m["mlm_loss_start"]
    rows = (out / "result.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "ID,Answer" and len(rows) == m["eval_questions"] + 1


def test_poem_questions_are_spans_of_their_paragraph():
    paragraph, spans, verses = Q.poem_paragraph(POEM)
    assert paragraph == "李白《静夜思》：床前明月光，疑是地上霜。举头望明月，低头思故乡。"
    assert [paragraph[a:b + 1] for a, b in verses] == ["床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"]
    paragraphs, questions = Q.poem_questions([POEM] * 30, 4, np.random.default_rng(0))
    assert {q["kind"] for q in questions} == set(Q.KINDS)
    for q in questions:
        p = paragraphs[q["paragraph_id"]]
        assert p[q["answer_start"]:q["answer_end"] + 1] == q["answer_text"]
        if q["kind"] == "next":
            quoted = q["question_text"][1:q["question_text"].index("」")]
            assert p.index(quoted) + len(quoted) + 1 == q["answer_start"]     # the verse right after it


def test_windows_and_doc_stride():
    assert qa.window_starts(10, 40, 16) == [0]
    assert qa.window_starts(100, 40, 40) == [0, 40, 80]           # side by side
    assert qa.window_starts(100, 40, 16) == [0, 16, 32, 48, 64]   # overlapping, the last reaches the end
    vocab = CharVocab(["李白静夜思床前明月光"], 1)
    enc = qa.Encoder(vocab, 16, 8)
    q_ids, p_ids = enc.question("李白"), enc.ids("静夜思床前明月光")
    ids, offset = enc.window(q_ids, p_ids, 3)
    assert ids[0] == CLS and ids[3] == SEP and ids[offset + 3] == vocab.stoi["床"] and ids[offset + 7] == vocab.stoi["光"]
    assert ids[offset + 8] == SEP and ids[-1] == PAD


def test_segment_embeddings_tell_question_from_paragraph():
    ids = np.array([[CLS, 7, 8, SEP, 7, 9, SEP, PAD], [CLS, 7, SEP, 7, 7, SEP, PAD, PAD]])
    assert qa.token_types(ids).tolist() == [[0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1, 1]]
    import mlseries as ms
    from mlseries.course.ch12.bert_model import BertConfig
    model = qa.span_classes(ms)(BertConfig(vocab_size=12, max_len=8, n_layer=1, n_head=2, dim=8, hidden=16))
    with ms.no_grad():
        x = model.bert.tok(ms.tensor(ids[:1])).numpy()
        x_seg = (model.bert.tok(ms.tensor(ids[:1])) + model.segment(ms.tensor(qa.token_types(ids[:1])))).numpy()
    assert np.allclose(x[0, 1], x[0, 4]) and not np.allclose(x_seg[0, 1], x_seg[0, 4])   # the same character 7
    start, end = model(ms.tensor(ids))
    assert tuple(start.shape) == tuple(end.shape) == (2, 8)


def test_exact_match_feature_flags_paragraph_characters_found_in_the_question():
    ids = np.array([[CLS, 7, 8, SEP, 7, 9, 8, SEP, PAD], [CLS, 7, SEP, 9, 7, 7, SEP, PAD, PAD]])
    assert qa.token_types(ids, match=True).tolist() == [[0, 0, 0, 0, 2, 1, 2, 1, 1], [0, 0, 0, 1, 2, 2, 1, 1, 1]]
    assert qa.token_types(ids).tolist() == [[0, 0, 0, 0, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1, 1, 1]]
    import mlseries as ms
    from mlseries.course.ch12.bert_model import BertConfig
    model = qa.span_classes(ms)(BertConfig(vocab_size=12, max_len=9, n_layer=1, n_head=2, dim=8, hidden=16), match=True)
    assert tuple(model.segment.weight.shape) == (3, 8)
    start, _ = model(ms.tensor(ids))
    assert tuple(start.shape) == (2, 9)


def windows_for(scores_s, scores_e, question, paragraph):
    """One window holding the whole paragraph, with the given scores on its positions."""
    vocab = CharVocab([question + paragraph], 1)
    enc = qa.Encoder(vocab, 32, 16)
    ids, offset = enc.window(enc.question(question), enc.ids(paragraph), 0)
    s, e = np.full(32, -9.0), np.full(32, -9.0)
    for k, v in scores_s.items():
        s[k] = v
    for k, v in scores_e.items():
        e[k] = v
    return [(0, offset, ids, s, e)], offset


def test_post_processing_rules():
    question, paragraph = "「床前」的下一句？", "床前明月光地上霜"
    # naive: the best start (in the question) and the best end taken on their own
    offset = 2 + len(question)
    windows, _ = windows_for({1: 5.0, offset + 5: 3.0}, {2: 5.0, offset + 7: 4.0}, question, paragraph)
    assert qa.naive_answer(windows, question, paragraph) == "「床"                  # read off the question
    assert qa.post_processed_answer(windows, question, paragraph, 24) == "地上霜"
    # end before start: naive gives nothing; post-processing takes the best valid pair
    windows, _ = windows_for({offset + 5: 5.0, offset + 2: 2.0}, {offset + 3: 5.0, offset + 7: 1.0},
                             question, paragraph)
    assert qa.naive_answer(windows, question, paragraph) == ""
    assert qa.post_processed_answer(windows, question, paragraph, 24) == "明月"
    # an answer the question already contains is skipped, and so is one too long
    windows, _ = windows_for({offset: 5.0, offset + 2: 2.0}, {offset + 1: 5.0, offset + 7: 1.0}, question, paragraph)
    assert qa.post_processed_answer(windows, question, paragraph, 24) == "床前明月光地上霜"
    assert qa.post_processed_answer(windows, question, paragraph, 3) == "床前明"


# ---------------------------------------------------------------- --data: the course's files

def course_split(n_paragraphs, answers, start_id=0):
    paragraphs, questions = Q.poem_questions([POEM] * n_paragraphs, 2, np.random.default_rng(start_id))
    out = []
    for q in questions:
        item = {k: q[k] for k in ("paragraph_id", "question_text")}
        item["id"] = q["id"] + start_id
        if answers:
            item.update({k: q[k] for k in ("answer_text", "answer_start", "answer_end")})
        else:
            item.update(answer_text=None, answer_start=None, answer_end=None)
        out.append(item)
    return {"questions": out, "paragraphs": paragraphs}


def write_course_files(folder):
    folder.mkdir(exist_ok=True)
    for name, n, answers in (("train", 40, True), ("dev", 5, True), ("test", 6, False)):
        (folder / f"hw7_{name}.json").write_text(json.dumps(course_split(n, answers), ensure_ascii=False),
                                                 encoding="utf-8")
    return folder


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_course_files_give_result_csv(tmp_path):
    folder = write_course_files(tmp_path / "hw07")
    got = Q.read_course_files(folder)
    assert len(got["train"][1]) == 80 and "answer_text" not in got["test"][1][0]
    result = invoke("run", "hw07", "--quick", "--data", folder, "--out", tmp_path / "run")
    assert result.exit_code in (0, 1) and "Traceback" not in result.output, result.output  # 1: a target missed
    rows = (tmp_path / "run" / "hw07.qa" / "result.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "ID,Answer" and len(rows) == 1 + 12
    assert [r.split(",")[0] for r in rows[1:]] == [str(q["id"]) for q in got["test"][1]]


def test_malformed_course_files_exit_4(tmp_path):
    folder = write_course_files(tmp_path / "hw07")
    dev = json.loads((folder / "hw7_dev.json").read_text(encoding="utf-8"))
    dev["questions"][1]["answer_start"] += 1
    (folder / "hw7_dev.json").write_text(json.dumps(dev, ensure_ascii=False), encoding="utf-8")
    result = invoke("run", "hw07", "--quick", "--data", folder, "--out", tmp_path / "run")
    assert result.exit_code == 4, result.output
    assert "hw7_dev.json: questions[1]: paragraphs[0][answer_start:answer_end + 1] is not answer_text" in result.output
    del dev["questions"][1]["answer_start"]
    (folder / "hw7_dev.json").write_text(json.dumps(dev, ensure_ascii=False), encoding="utf-8")
    result = invoke("run", "hw07", "--quick", "--data", folder, "--out", tmp_path / "run2")
    assert result.exit_code == 4 and 'hw7_dev.json: questions[1] has no key "answer_start"' in result.output
    write_course_files(folder)
    (folder / "hw7_test.json").write_text("{not json", encoding="utf-8")
    result = invoke("run", "hw07", "--quick", "--data", folder, "--out", tmp_path / "run3")
    assert result.exit_code == 4 and "hw7_test.json: not valid JSON (line 1, column 2" in result.output
