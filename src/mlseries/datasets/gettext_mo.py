"""Reading gettext message catalogs (`.mo` files), the translations programs ship.

A `.mo` file is a 28-byte header — magic 0x950412de, revision, the number of strings N, the
offsets of two tables and of a hash table — then two tables of N (length, offset) pairs, one
for the original strings and one for their translations. A string with a context is
"context\\x04msgid"; a plural entry is "singular\\0plural" with the translations "form 0\\0form 1…".
The header entry (empty msgid) names the charset.

Python's `gettext` reads these files too, but answers a damaged one with a bare `struct.error`
or `IndexError`; here every bound is checked and the error names the file.
"""

import struct
from pathlib import Path

from .errors import CorruptFileError, DatasetNotFoundError

MAGIC = 0x950412DE


def parse_mo(raw, name="<bytes>"):
    """Bytes of a `.mo` file -> list of (context or None, msgid, [translations]), in file order;
    msgid is the singular English text, translations the plural forms (one for most strings).
    The header entry is left out."""
    if len(raw) < 28:
        raise CorruptFileError(f"{name}: truncated: {len(raw)} bytes, a .mo header needs 28")
    for order in "<>":
        if struct.unpack(order + "I", raw[:4])[0] == MAGIC:
            break
    else:
        raise CorruptFileError(f"{name}: wrong magic number 0x{raw[:4].hex()}: not a gettext .mo file")
    revision, count, originals, translations = struct.unpack(order + "4I", raw[4:20])
    if revision >> 16 > 1:
        raise CorruptFileError(f"{name}: unknown .mo revision {revision >> 16}")
    for table in (originals, translations):
        if table + 8 * count > len(raw):
            raise CorruptFileError(f"{name}: truncated: the string tables need "
                                   f"{table + 8 * count} bytes, the file has {len(raw)}")

    def string(table, i):
        length, offset = struct.unpack_from(order + "2I", raw, table + 8 * i)
        if offset + length > len(raw):
            raise CorruptFileError(f"{name}: truncated: string {i} ends at byte "
                                   f"{offset + length}, the file has {len(raw)}")
        return raw[offset:offset + length]

    pairs = [(string(originals, i), string(translations, i)) for i in range(count)]
    charset = "utf-8"
    for key, value in pairs:
        if key == b"":
            for line in value.decode("ascii", "replace").splitlines():
                if line.lower().startswith("content-type:") and "charset=" in line:
                    charset = line.split("charset=", 1)[1].strip() or "utf-8"
    entries = []
    for i, (key, value) in enumerate(pairs):
        if key == b"":
            continue
        try:
            key, value = key.decode(charset), value.decode(charset)
        except (UnicodeDecodeError, LookupError) as e:
            raise CorruptFileError(f"{name}: string {i} is not valid {charset} ({e})") from None
        context, _, msgid = key.rpartition("\x04")
        entries.append((context or None, msgid.split("\x00")[0], value.split("\x00")))
    return entries


def read_mo(path):
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such file")
    return parse_mo(path.read_bytes(), name=f"{path.name} [{path}]")


def write_mo(path, messages, charset="UTF-8"):
    """Write {msgid: msgstr} (msgstr may be a list of plural forms, msgid "ctx\\x04id") as a
    `.mo` file: what the tests use to make small catalogs. No hash table (size 0), as
    `msgfmt --no-hash` writes."""
    header = f"Content-Type: text/plain; charset={charset}\n"
    items = sorted([("", header)] + [(k, "\x00".join(v) if isinstance(v, list) else v)
                                     for k, v in messages.items()])
    keys = [k.encode(charset) for k, _ in items]
    values = [v.encode(charset) for _, v in items]
    n = len(items)
    originals, translations = 28, 28 + 8 * n
    offset = 28 + 16 * n
    table_o, table_t, blob = [], [], b""
    for data, table in [(k, table_o) for k in keys] + [(v, table_t) for v in values]:
        table.append((len(data), offset + len(blob)))
        blob += data + b"\x00"
    out = struct.pack("<7I", MAGIC, 0, n, originals, translations, 0, offset)
    out += b"".join(struct.pack("<2I", *e) for e in table_o + table_t) + blob
    Path(path).write_bytes(out)
    return Path(path)
