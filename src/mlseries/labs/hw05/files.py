"""hw05's `--data PATH`: the course's parallel text files, and the prediction file it takes.

The course ships TED2020 subtitles as line-parallel raw text: `train_dev.raw.en` and
`train_dev.raw.zh` (line i of one is the translation of line i of the other), `test.raw.en`
(the sentences to translate), and optionally monolingual Chinese for back-translation
(`ted_zh_corpus.deduped`, one sentence a line). The leaderboard takes `prediction.txt`: one
Chinese line per line of `test.raw.en`, in order.

What was assumed (the course's files are not in ../shared/seeds/): UTF-8 text, one sentence a
line, no header; the English is tokenised here into lower-cased words (as the substitute's), the
Chinese into characters with the spaces removed (the course's preprocessing also splits Chinese
into sub-word pieces with sentencepiece; characters need no trained tokenizer).
"""
from .. import data as lab_data
from ..data import LabDataError

NAMES = ["train_dev.raw.en", "train_dev.raw.zh", "test.raw.en"]
MONO = "ted_zh_corpus.deduped"


def read_lines(path, allow_empty=False):
    """The file's lines, stripped; an empty line (a sentence with no words) is a LabDataError."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise LabDataError(f"{path.name}: not UTF-8 text (byte {e.start}); the course's files are UTF-8") from None
    lines = [line.strip() for line in lines]
    if not allow_empty:
        for number, line in enumerate(lines, 1):
            if not line:
                raise LabDataError(f"{path.name}, line {number}: empty; expected one sentence a line")
    if not lines:
        raise LabDataError(f"{path.name}: no lines; expected one sentence a line")
    return lines


def read_course_files(path):
    """{"pairs": [(en, zh)], "test": [en], "mono": [zh] or None} from the course's folder."""
    files = lab_data.data_files(path, NAMES)
    english, chinese = read_lines(files[NAMES[0]]), read_lines(files[NAMES[1]])
    if len(english) != len(chinese):
        raise LabDataError(f"{NAMES[0]} has {len(english)} lines but {NAMES[1]} has {len(chinese)}: "
                           f"the two files must be line-parallel (line i of one translates line i of the other)")
    pairs = [(en, "".join(zh.split())) for en, zh in zip(english, chinese)]
    mono_path = files[NAMES[0]].parent / MONO
    mono = ["".join(z.split()) for z in read_lines(mono_path, allow_empty=True) if z] if mono_path.is_file() else None
    return {"pairs": pairs, "test": read_lines(files[NAMES[2]]), "mono": mono}


def write_prediction(path, lines):
    """prediction.txt: one translation a line, in the order of test.raw.en (newlines removed)."""
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(" ".join(line.split()) + "\n")
