"""hw07's questions: built from the Tang poems (the substitute), or read from the course's JSON
files (`--data`), in one shape: paragraphs (strings) and questions (dicts with id,
paragraph_id, question_text, answer_text, answer_start, answer_end — the course's keys; answer_end
is the index of the answer's last character, so paragraph[answer_start:answer_end + 1] is the
answer).

A poem becomes the paragraph "作者《题目》：诗句…" (its verses on one line), and up to four kinds
of question are asked about it, each answered by a span of that paragraph:

    这首诗的作者是谁？            → the author
    这首诗的题目是什么？          → the title
    「某句」的下一句是什么？       → the verse after the quoted one
    「某句」的上一句是什么？       → the verse before it

The last two need the model to find the quoted verse in the paragraph and read beside it — the
matching a reading-comprehension model does — and the quoted verse itself is a span of the
paragraph the model must *not* answer with.
"""
import json
import re

import numpy as np

from ..data import LabDataError, data_files

KINDS = ("author", "title", "next", "previous")
MAX_TITLE = 20            # longer titles are not asked about (the answer-length limit is 24)
MAX_PARAGRAPH = 160       # the few long ballads (长恨歌 …) are left out: most of their windows hold no answer
_VERSE = re.compile(r"[^，。？！；、：\n]+")


def poem_paragraph(poem):
    """(paragraph, {kind: (start, end)} spans of the author and title, [(start, end)] verses)."""
    head = f"{poem['author']}《{poem['title']}》："
    body = poem["text"].replace("\n", "")
    paragraph = head + body
    spans = {"author": (0, len(poem["author"]) - 1),
             "title": (len(poem["author"]) + 1, len(poem["author"]) + len(poem["title"]))}
    verses = [(len(head) + m.start(), len(head) + m.end() - 1) for m in _VERSE.finditer(body)]
    return paragraph, spans, verses


def poem_questions(poems, per_poem, rng, start_id=0):
    """Paragraphs and `per_poem` questions of different kinds for each poem (fewer when a kind
    does not apply: a long title, a verse that appears twice)."""
    paragraphs, questions = [], []
    for poem in poems:
        paragraph, spans, verses = poem_paragraph(poem)
        if len(paragraph) > MAX_PARAGRAPH or len(verses) < 2:
            continue
        pid = len(paragraphs)
        paragraphs.append(paragraph)
        texts = [paragraph[a:b + 1] for a, b in verses]
        asked = []
        for kind in rng.permutation(KINDS):
            if len(asked) == per_poem:
                break
            if kind == "author":
                q, (a, b) = "这首诗的作者是谁？", spans["author"]
            elif kind == "title":
                if len(poem["title"]) > MAX_TITLE:
                    continue
                q, (a, b) = "这首诗的题目是什么？", spans["title"]
            else:
                i = int(rng.integers(0, len(verses) - 1)) + (kind == "previous")
                j = i + 1 if kind == "next" else i - 1
                if texts.count(texts[i]) > 1 or texts.count(texts[j]) > 1:
                    continue
                q = f"「{texts[i]}」的{'下' if kind == 'next' else '上'}一句是什么？"
                a, b = verses[j]
            asked.append(dict(id=start_id + len(questions) + len(asked), paragraph_id=pid, question_text=q,
                              answer_text=paragraph[a:b + 1], answer_start=a, answer_end=b, kind=str(kind)))
        questions += asked
    return paragraphs, questions


# ---------------------------------------------------------------- the course's files

NAMES = ["hw7_train.json", "hw7_dev.json", "hw7_test.json"]
KEYS = ("id", "paragraph_id", "question_text")
ANSWER_KEYS = ("answer_text", "answer_start", "answer_end")


def read_split(path, answers):
    """(paragraphs, questions) from one of the course's JSON files, every way it can be wrong a
    LabDataError naming the file, the question and the key."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise LabDataError(f"{path.name}: not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise LabDataError(f"{path.name}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list) \
            or not isinstance(data.get("paragraphs"), list):
        raise LabDataError(f"{path.name}: expected an object with the keys \"questions\" (a list) and "
                           f"\"paragraphs\" (a list of strings)")
    paragraphs = data["paragraphs"]
    for i, p in enumerate(paragraphs):
        if not isinstance(p, str):
            raise LabDataError(f"{path.name}: paragraphs[{i}] is not a string")
    questions = []
    for n, q in enumerate(data["questions"]):
        where = f"{path.name}: questions[{n}]"
        if not isinstance(q, dict):
            raise LabDataError(f"{where} is not an object")
        for key in KEYS + (ANSWER_KEYS if answers else ()):
            if key not in q:
                raise LabDataError(f"{where} has no key \"{key}\"")
        pid = q["paragraph_id"]
        if not isinstance(pid, int) or not 0 <= pid < len(paragraphs):
            raise LabDataError(f"{where}: paragraph_id {pid!r} is not an index of the {len(paragraphs)} paragraphs")
        if not isinstance(q["question_text"], str) or not q["question_text"]:
            raise LabDataError(f"{where}: question_text is not a non-empty string")
        item = {k: q[k] for k in KEYS}
        if answers:
            a, b, text = q["answer_start"], q["answer_end"], q["answer_text"]
            if not (isinstance(a, int) and isinstance(b, int) and isinstance(text, str)) \
                    or paragraphs[pid][a:b + 1] != text:
                raise LabDataError(f"{where}: paragraphs[{pid}][answer_start:answer_end + 1] is not answer_text "
                                   f"({a!r}, {b!r}, {text!r})")
            item.update(answer_text=text, answer_start=a, answer_end=b)
        questions.append(item)
    return paragraphs, questions


def read_course_files(path):
    """{"train": (paragraphs, questions), "dev": ..., "test": ...} from the course's folder."""
    files = data_files(path, NAMES)
    return {name: read_split(files[f"hw7_{name}.json"], answers=name != "test") for name in ("train", "dev", "test")}


def write_result(path, questions, answers):
    """result.csv as the leaderboard takes it: ID,Answer — one row per test question, in order,
    commas removed from the answers (as the course's sample code writes it)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("ID,Answer\n")
        for q, a in zip(questions, answers):
            f.write(f"{q['id']},{a.replace(',', '').replace(chr(10), ' ')}\n")


def kinds_of(questions):
    return np.array([q.get("kind", "question") for q in questions])
