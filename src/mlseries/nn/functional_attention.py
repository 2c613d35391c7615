"""Normalisation and attention as functions (re-exported by `nn.functional`): layer_norm,
rms_norm, scaled_dot_product_attention and multi_head_attention_forward, with PyTorch's
signatures and mask conventions.

The calculus lives in `_ops_norm.py` and `_ops_attention.py` (one fused node each); here
arguments are normalised and checked, with errors in the caller's terms.

Two mask conventions meet here, both PyTorch's:
- scaled_dot_product_attention: a bool mask says which scores *take part* (True = attend);
- multi_head_attention_forward / nn.MultiheadAttention: a bool mask says which are *masked
  out* (True = ignore), for attn_mask and key_padding_mask alike.
Float masks are added to the scores in both (−inf removes a score).
"""
import functools
import math

import numpy as np

from .. import _functions as _fn
from .. import _ops
from .._ops_attention import ScaledDotProductAttention
from .._ops_norm import LayerNorm, RMSNorm
from .._tensor import ShapeError, Tensor
from ..random import _gen

__all__ = ["layer_norm", "rms_norm", "scaled_dot_product_attention", "multi_head_attention_forward"]


def _const(array):
    return Tensor._make(array)


def _normalized_shape(normalized_shape):
    if isinstance(normalized_shape, (int, np.integer)):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


def _check_norm_args(name, input, shape, params):
    n = len(shape)
    if n == 0 or input.ndim < n or tuple(input.shape[input.ndim - n:]) != shape:
        raise ValueError(f"{name}: normalized_shape={list(shape)} expects an input of shape (*, "
                         f"{', '.join(map(str, shape))}), but the input has shape {tuple(input.shape)}")
    for pname, p in params:
        if p is None:
            continue
        if tuple(p.shape) != shape:
            raise ValueError(f"{name}: {pname} has shape {tuple(p.shape)} but normalized_shape is {shape}")
        if p._data.dtype != input._data.dtype:
            raise TypeError(f"{name}: the input is {input.dtype} but the {pname} is {p.dtype}; "
                            f"convert one of them (x.to({p.dtype}) or module.to({input.dtype}))")


# ---- normalisation ------------------------------------------------------------------------------
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing `normalized_shape` dimensions to mean 0 and variance 1
    (biased), then scale by `weight` and shift by `bias`; one fused node."""
    shape = _normalized_shape(normalized_shape)
    _check_norm_args("layer_norm", input, shape, [("weight", weight), ("bias", bias)])
    affine = [p for p in (weight, bias) if p is not None]
    return LayerNorm.apply(input, *affine, n_dims=len(shape), eps=float(eps),
                           has_weight=weight is not None, has_bias=bias is not None)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / √(mean(x²) + eps) · weight over the trailing `normalized_shape` dimensions; eps=None
    means the machine epsilon of the input's dtype, as in PyTorch."""
    shape = _normalized_shape(normalized_shape)
    _check_norm_args("rms_norm", input, shape, [("weight", weight)])
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    affine = [weight] if weight is not None else []
    return RMSNorm.apply(input, *affine, n_dims=len(shape), eps=float(eps), has_weight=weight is not None)


# ---- scaled dot-product attention ---------------------------------------------------------------
@functools.lru_cache(maxsize=32)
def _causal_masked_out(L, S):
    """True above the diagonal of an (L, S) grid: the keys a query may not see. Aligned to the
    upper left (query i sees keys 0..i) when L ≠ S, as PyTorch's tril."""
    m = np.triu(np.ones((L, S), dtype=bool), 1)
    m.flags.writeable = False
    return m


def _mask_array(mask):
    return mask._data if isinstance(mask, Tensor) else np.asarray(mask)


def _dropout_keep(shape, p, dtype):
    """0 or 1/(1−p) per attention weight, drawn from the default generator."""
    if p >= 1.0:
        return np.zeros(shape, dtype)
    keep = (_gen(None).random(shape, dtype=dtype) >= p).astype(dtype)
    keep *= 1.0 / (1.0 - p)
    return keep


def _attend(q, k, v, float_mask, masked_out, dropout_p, scale):
    """The fused node, with a float mask Tensor (or None) and a boolean masked-out array (or None)."""
    keep = None
    if dropout_p > 0.0:
        shape = np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (q.shape[-2], k.shape[-2])
        keep = _dropout_keep(shape, dropout_p, q._data.dtype)
    inputs = (q, k, v) if float_mask is None else (q, k, v, float_mask)
    return ScaledDotProductAttention.apply(*inputs, scale=scale, masked_out=masked_out, keep=keep)


def _repeat_heads(x, groups):
    """(…, Hkv, S, E) -> (…, Hkv·groups, S, E), each head repeated `groups` times in a row."""
    idx = np.repeat(np.arange(x.shape[-3]), groups)
    return _ops.GetItem.apply(x, index=(Ellipsis, idx, slice(None), slice(None)))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(Q·Kᵀ·scale + mask)·V for query (…, L, E), key (…, S, E), value (…, S, Ev).

    attn_mask: bool (True = take part) or float (added to the scores), broadcastable to
    (…, L, S). is_causal: query i attends to keys 0..i (not with attn_mask). scale defaults to
    1/√E. A query whose every key is masked gets zeros, as in PyTorch.
    """
    q, k, v = query, key, value
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(f"scaled_dot_product_attention: query, key and value need at least 2 dimensions "
                         f"(…, L, E); got shapes {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"scaled_dot_product_attention: query {tuple(q.shape)} and key {tuple(k.shape)} must "
                         f"have the same embedding size (last dimension: {q.shape[-1]} ≠ {k.shape[-1]})")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: key {tuple(k.shape)} and value {tuple(v.shape)} must "
                         f"have the same sequence length S (dimension -2: {k.shape[-2]} ≠ {v.shape[-2]})")
    if not (q._data.dtype == k._data.dtype == v._data.dtype) or q._data.dtype.kind != "f":
        raise TypeError(f"scaled_dot_product_attention: query, key and value must share one floating dtype, "
                        f"got {q.dtype}, {k.dtype} and {v.dtype}")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    if enable_gqa and q.ndim >= 3 and q.shape[-3] != k.shape[-3]:
        hq, hk, hv = q.shape[-3], k.shape[-3], v.shape[-3]
        if hk != hv or hq % hk:
            raise ValueError(f"scaled_dot_product_attention: with enable_gqa the query's {hq} heads must be a "
                             f"multiple of the key's and value's (got {hk} and {hv})")
        k, v = _repeat_heads(k, hq // hk), _repeat_heads(v, hq // hk)
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"scaled_dot_product_attention: the batch dimensions of query {tuple(q.shape)}, key "
                         f"{tuple(k.shape)} and value {tuple(v.shape)} cannot be broadcast together") from None
    L, S = q.shape[-2], k.shape[-2]
    weights_shape = batch + (L, S)
    float_mask = masked_out = None
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: pass either attn_mask or is_causal=True, not both")
        masked_out = _causal_masked_out(L, S)
    elif attn_mask is not None:
        m = _mask_array(attn_mask)
        try:
            ok = np.broadcast_shapes(m.shape, weights_shape) == weights_shape
        except ValueError:
            ok = False
        if not ok:
            raise ShapeError(f"scaled_dot_product_attention: attn_mask of shape {tuple(m.shape)} cannot be broadcast "
                             f"to the attention weights' shape {weights_shape} (batch…, L, S)")
        if m.dtype == np.bool_:
            masked_out = ~m
        elif m.dtype.kind == "f":
            float_mask = attn_mask if isinstance(attn_mask, Tensor) else _const(m)
            if float_mask._data.dtype != q._data.dtype:
                float_mask = float_mask.type(q._data.dtype)
        else:
            raise TypeError(f"scaled_dot_product_attention: attn_mask must be bool (True = take part) or float "
                            f"(added to the scores), got {m.dtype}")
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return _attend(q, k, v, float_mask, masked_out, dropout_p, scale)


# ---- multi-head attention -----------------------------------------------------------------------
def _canonical_mask(mask, name, dtype):
    """A MultiheadAttention mask as (bool array: True = masked out) or (float Tensor), or None."""
    if mask is None:
        return None
    m = _mask_array(mask)
    if m.dtype == np.bool_:
        return m
    if m.dtype.kind == "f":
        t = mask if isinstance(mask, Tensor) else _const(m)
        return t if t._data.dtype == dtype else t.type(dtype)
    raise TypeError(f"only bool and floating types of {name} are supported, got {m.dtype}")


def _pad_mask(mask):
    """Append one column that masks nothing (for bias_k/bias_v and add_zero_attn)."""
    if mask is None:
        return None
    if isinstance(mask, np.ndarray):
        return np.pad(mask, [(0, 0)] * (mask.ndim - 1) + [(0, 1)])
    return _fn.pad(mask, (0, 1))


def _combine_masks(a, b, dtype):
    """One mask from two: a boolean union if both are boolean, otherwise the float sum."""
    if a is None or b is None:
        return a if b is None else b
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a | b
    as_float = [_const(np.where(m, -np.inf, 0.0).astype(dtype)) if isinstance(m, np.ndarray) else m for m in (a, b)]
    return as_float[0] + as_float[1]


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """Multi-head attention on sequence-first inputs (L, N, E) or unbatched (L, E); returns
    (output, weights or None). Masks follow nn.MultiheadAttention (bool True = masked out)."""
    return _multi_head_attention(
        query, key, value, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p,
        out_proj_weight, out_proj_bias, training=training, key_padding_mask=key_padding_mask,
        need_weights=need_weights, attn_mask=attn_mask, use_separate_proj_weight=use_separate_proj_weight,
        q_proj_weight=q_proj_weight, k_proj_weight=k_proj_weight, v_proj_weight=v_proj_weight,
        static_k=static_k, static_v=static_v, average_attn_weights=average_attn_weights, is_causal=is_causal,
        batch_first=False, embed_dim_to_check=embed_dim_to_check)


def _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads):
    """Whether the call is batched, with PyTorch's rules for which dimensions each argument has."""
    kpm = None if key_padding_mask is None else _mask_array(key_padding_mask)
    am = None if attn_mask is None else _mask_array(attn_mask)
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise ValueError(f"MultiheadAttention: for a batched (3-D) query, key and value must be 3-D too, "
                             f"got {key.ndim}-D and {value.ndim}-D")
        if kpm is not None and kpm.ndim != 2:
            raise ValueError(f"MultiheadAttention: for a batched (3-D) query, key_padding_mask must be 2-D (N, S), "
                             f"got shape {tuple(kpm.shape)}")
        if am is not None and am.ndim not in (2, 3):
            raise ValueError(f"MultiheadAttention: attn_mask must be 2-D (L, S) or 3-D (N·num_heads, L, S), "
                             f"got shape {tuple(am.shape)}")
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise ValueError(f"MultiheadAttention: for an unbatched (2-D) query, key and value must be 2-D too, "
                             f"got {key.ndim}-D and {value.ndim}-D")
        if kpm is not None and kpm.ndim != 1:
            raise ValueError(f"MultiheadAttention: for an unbatched (2-D) query, key_padding_mask must be 1-D (S,), "
                             f"got shape {tuple(kpm.shape)}")
        if am is not None and am.ndim not in (2, 3):
            raise ValueError(f"MultiheadAttention: attn_mask must be 2-D (L, S) or 3-D (num_heads, L, S), "
                             f"got shape {tuple(am.shape)}")
        if am is not None and am.ndim == 3 and am.shape[0] != num_heads:
            raise ValueError(f"MultiheadAttention: a 3-D attn_mask for an unbatched query must be (num_heads, L, S) "
                             f"with num_heads={num_heads}, got shape {tuple(am.shape)}")
        return False
    raise ValueError(f"MultiheadAttention: query must be an unbatched 2-D (L, E) or a batched 3-D tensor, "
                     f"got a {query.ndim}-D tensor of shape {tuple(query.shape)}")


def _multi_head_attention(query, key, value, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                          dropout_p, out_proj_weight, out_proj_bias, training=True, key_padding_mask=None,
                          need_weights=True, attn_mask=None, use_separate_proj_weight=False, q_proj_weight=None,
                          k_proj_weight=None, v_proj_weight=None, static_k=None, static_v=None,
                          average_attn_weights=True, is_causal=False, batch_first=False, embed_dim_to_check=None):
    """multi_head_attention_forward in either layout. Batch-first (N, L, E) inputs are used as
    they are (no transposed copies): heads are split by views, and the projections run on
    whatever layout arrived."""
    from .functional import dropout, linear

    batched = _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:  # one sequence: a batch of one, batch-first
        # Unsqueeze each distinct tensor once, so self-attention stays recognisable (query is key).
        same_qk, same_kv = key is query, value is key
        query = _fn.unsqueeze(query, 0)
        key = query if same_qk else _fn.unsqueeze(key, 0)
        value = key if same_kv else _fn.unsqueeze(value, 0)
        if key_padding_mask is not None:
            key_padding_mask = _fn.unsqueeze(key_padding_mask, 0) if isinstance(key_padding_mask, Tensor) \
                else np.asarray(key_padding_mask)[None]
        batch_first = True
    bf = batch_first
    if bf:
        N, L, E = query.shape
        S = key.shape[1]
    else:
        L, N, E = query.shape
        S = key.shape[0]
    key_batch = key.shape[0] if bf else key.shape[1]
    H = num_heads
    dtype = query._data.dtype
    if embed_dim_to_check is not None and E != embed_dim_to_check:
        raise ValueError(f"MultiheadAttention: expected the query's embedding dimension to be {embed_dim_to_check}, "
                         f"got {E} (query shape {tuple(query.shape)})")
    if E % H:
        raise ValueError(f"MultiheadAttention: embed_dim {E} is not divisible by num_heads {H}")
    hd = E // H
    if key_batch != N:
        raise ValueError(f"MultiheadAttention: query has batch size {N} but key has {key_batch} "
                         f"(shapes {tuple(query.shape)} and {tuple(key.shape)}; batch_first={batch_first})")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise ValueError(f"MultiheadAttention: key's sequence and batch dimensions {tuple(key.shape[:2])} do not "
                             f"match value's {tuple(value.shape[:2])}")
    elif tuple(key.shape) != tuple(value.shape):
        raise ValueError(f"MultiheadAttention: key shape {tuple(key.shape)} does not match value shape "
                         f"{tuple(value.shape)}")

    # masks
    if is_causal and attn_mask is None:
        raise ValueError("MultiheadAttention: is_causal=True is only a hint that attn_mask is causal; "
                         "pass the causal attn_mask too (e.g. nn.Transformer.generate_square_subsequent_mask(L))")
    kpm = _canonical_mask(key_padding_mask, "key_padding_mask", dtype)
    if is_causal and kpm is None and not need_weights:
        attn_mask = None  # the fused kernel builds the causal mask itself
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", dtype)
        if kpm is not None:
            is_causal = False
    if attn_mask is not None:
        if attn_mask.ndim == 2 and tuple(attn_mask.shape) != (L, S):
            raise ValueError(f"MultiheadAttention: the 2-D attn_mask has shape {tuple(attn_mask.shape)} but should be "
                             f"(L, S) = {(L, S)} (query length L, key length S)")
        if attn_mask.ndim == 3 and tuple(attn_mask.shape) != (N * H, L, S):
            raise ValueError(f"MultiheadAttention: the 3-D attn_mask has shape {tuple(attn_mask.shape)} but should be "
                             f"(N·num_heads, L, S) = {(N * H, L, S)}")
    if kpm is not None and tuple(kpm.shape) != (N, S):
        raise ValueError(f"MultiheadAttention: key_padding_mask has shape {tuple(kpm.shape)} but should be "
                         f"(N, S) = {(N, S)} (batch size N, key length S)")

    # input projections
    if not use_separate_proj_weight:
        w, b = in_proj_weight, in_proj_bias
        if query is key and key is value:
            qkv = linear(query, w, b)  # (…, 3E)
            q, k, v = qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
        elif key is value:
            q = linear(query, w[:E], None if b is None else b[:E])
            kv = linear(key, w[E:], None if b is None else b[E:])  # (…, 2E)
            k, v = kv[..., :E], kv[..., E:]
        else:
            bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
            q, k, v = linear(query, w[:E], bq), linear(key, w[E:2 * E], bk), linear(value, w[2 * E:], bv)
    else:
        b = in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        q, k, v = linear(query, q_proj_weight, bq), linear(key, k_proj_weight, bk), linear(value, v_proj_weight, bv)
    seq_dim = 1 if bf else 0

    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise ValueError("MultiheadAttention: bias_k/bias_v cannot be combined with static_k/static_v")
        tail = (N, 1, E) if bf else (1, N, E)
        k = _fn.cat([k, _fn.expand(_fn.reshape(bias_k, 1, 1, E), tail)], seq_dim)
        v = _fn.cat([v, _fn.expand(_fn.reshape(bias_v, 1, 1, E), tail)], seq_dim)
        attn_mask, kpm = _pad_mask(attn_mask), _pad_mask(kpm)
    elif (bias_k is None) != (bias_v is None):
        raise ValueError("MultiheadAttention: bias_k and bias_v must be given together")

    def heads(x):  # (N, T, E) or (T, N, E) -> (N, H, T, hd), a view
        if bf:
            return _fn.permute(_fn.reshape(x, x.shape[0], x.shape[1], H, hd), 0, 2, 1, 3)
        return _fn.permute(_fn.reshape(x, x.shape[0], x.shape[1], H, hd), 1, 2, 0, 3)

    def static(x, name):
        if tuple(x.shape[::2]) != (N * H, hd):
            raise ValueError(f"MultiheadAttention: {name} should have shape (N·num_heads, S, head_dim) = "
                             f"({N * H}, S, {hd}), got {tuple(x.shape)}")
        return _fn.reshape(x, N, H, x.shape[1], hd)

    q = heads(q)  # (N, H, L, hd)
    k = heads(k) if static_k is None else static(static_k, "static_k")  # (N, H, S, hd)
    v = heads(v) if static_v is None else static(static_v, "static_v")  # (N, H, S, hd)
    if add_zero_attn:
        k = _fn.cat([k, _const(np.zeros((N, H, 1, hd), dtype))], 2)
        v = _fn.cat([v, _const(np.zeros((N, H, 1, v.shape[-1]), dtype))], 2)
        attn_mask, kpm = _pad_mask(attn_mask), _pad_mask(kpm)
    S = k.shape[2]

    # every mask as something that broadcasts against the weights (N, H, L, S)
    if attn_mask is not None and attn_mask.ndim == 3:
        attn_mask = attn_mask.reshape(N, H, L, S) if isinstance(attn_mask, np.ndarray) \
            else _fn.reshape(attn_mask, N, H, L, S)
    if kpm is not None:
        kpm = kpm.reshape(N, 1, 1, S) if isinstance(kpm, np.ndarray) else _fn.reshape(kpm, N, 1, 1, S)
    mask = _combine_masks(attn_mask, kpm, dtype)
    if not training:
        dropout_p = 0.0

    if need_weights:
        # The explicit path: the weights are an output, so they are kept as a graph tensor.
        scores = _fn.matmul(q * (1.0 / math.sqrt(hd)), k.mT)  # (N, H, L, S)
        if isinstance(mask, np.ndarray):
            scores = _ops.Where.apply(_const(np.array(-np.inf, dtype)), scores,
                                      cond=np.broadcast_to(mask, scores.shape))
        elif mask is not None:
            scores = scores + mask
        with np.errstate(invalid="ignore"):  # a fully masked row is NaN here, silently, as in PyTorch
            weights = _fn.softmax(scores, -1)
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        out = _fn.matmul(weights, v)  # (N, H, L, hd)
        if average_attn_weights:
            weights = _fn.mean(weights, 1)  # (N, L, S)
    else:
        masked_out = mask if isinstance(mask, np.ndarray) else None
        float_mask = mask if isinstance(mask, Tensor) else None
        if is_causal and mask is None:
            masked_out = _causal_masked_out(L, S)
        out = _attend(q, k, v, float_mask, masked_out, dropout_p, 1.0 / math.sqrt(hd))  # (N, H, L, hd)
        weights = None

    out = _fn.permute(out, 0, 2, 1, 3) if bf else _fn.permute(out, 2, 0, 1, 3)  # (N, L, H, hd) or (L, N, H, hd)
    out = _fn.reshape(out, out.shape[0], out.shape[1], E)
    out = linear(out, out_proj_weight, out_proj_bias)  # (N, L, E) or (L, N, E)
    if not batched:
        out = _fn.squeeze(out, 0)
        if weights is not None:
            weights = _fn.squeeze(weights, 0)
    return out, weights
