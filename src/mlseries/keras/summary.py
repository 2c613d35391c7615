"""`model.summary()`: the layer table Keras prints.

    Model: "sequential"
    _________________________________________________________________
    Layer (type)                 Output Shape              Param #
    =================================================================
    flatten (Flatten)            (None, 784)               0
    _________________________________________________________________
    dense (Dense)                (None, 64)                50,240
    ...
    =================================================================
    Total params: 50,890 (198.79 KB)
    Trainable params: 50,890 (198.79 KB)
    Non-trainable params: 0 (0.00 B)
    _________________________________________________________________

A layer's parameters: a Dense layer with n inputs and u units has n·u weights and u biases.
Sizes count 4 bytes per float32 parameter. Columns widen to fit long names and shapes.
"""
WIDTHS = (29, 26, 10)  # Keras's default 65-character line: 45 %, 40 %, 15 %
HEADERS = ("Layer (type)", "Output Shape", "Param #")


def readable_size(n_bytes):
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024


def _shape_text(shape):
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _rows(model):
    rows = []
    for layer in model.layers:
        title = f"{layer.name} ({type(layer).__name__})"
        if layer.built:
            rows.append((title, _shape_text(layer.output_shape), f"{layer.count_params():,}"))
        else:
            rows.append((title, "?", "0 (unbuilt)"))
    return rows


def _line(cells, widths):
    return "".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()


def format_summary(model, line_length=None):
    """The summary as one string (what `summary()` prints)."""
    rows = _rows(model)
    widths = [max([w] + [len(r[i]) + 2 for r in rows + [HEADERS]]) for i, w in enumerate(WIDTHS)]
    if line_length is not None and line_length > sum(widths):
        widths[-1] += line_length - sum(widths)
    total_width = sum(widths)
    lines = [f'Model: "{model.name}"', "_" * total_width, _line(HEADERS, widths), "=" * total_width]
    for i, row in enumerate(rows):
        lines.append(_line(row, widths))
        lines.append("=" * total_width if i == len(rows) - 1 else "_" * total_width)
    if not rows:
        lines.append("=" * total_width)
    if model.built:
        trainable = sum(p.numel() for p in model.trainable_weights)
        frozen = sum(p.numel() for p in model.non_trainable_weights)
        for label, count in (("Total", trainable + frozen), ("Trainable", trainable), ("Non-trainable", frozen)):
            lines.append(f"{label} params: {count:,} ({readable_size(4 * count)})")
    else:
        lines.append("Total params: 0 (unbuilt: give the model an Input(shape=...) or fit it on data)")
    lines.append("_" * total_width)
    return "\n".join(lines)
