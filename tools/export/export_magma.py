#!/usr/bin/env python3
"""Export a Hugging Face Magma checkpoint folder to the ONNX package of docs/package-format.md.

    python tools/export/export_magma.py --checkpoint /models/Magma-8B --out /models/magma-onnx-fp16 --dtype float16

The safetensors are read directly (no `from_pretrained`), so ConvNeXt layer-scale keys named `gamma` are never
renamed (spec 1.5). The three graphs are written node by node with `onnx.helper`:

* vision.onnx  - ConvNeXt stem + stages (shapes inferred from the tensors) + mlp2x_gelu projector, channels-last;
                 the learned row separator is a second, constant output.
* embed.onnx   - Gather over the token-embedding table.
* decoder.onnx - LLaMA decoder on inputs_embeds with an explicit KV cache (ORT GenAI builder tensor names).
                 --attention gqa (default): the builder's layout - attention_mask reformatted into seqlens_k /
                 total_sequence_length, one packed QKV MatMul, com.microsoft.GroupQueryAttention with fused rotary
                 (cos/sin caches), no position_ids; past and present may be one shared [B,KV,capacity,D] buffer.
                 --attention plain: standard ops only, position_ids input, present = concat(past, new).

The embedding table lives once in text.data; embed.onnx and (when the LM head is tied) decoder.onnx both point
at it. At the end every graph is run in onnxruntime (CPU) against PyTorch modules built from the same checkpoint
(timm ConvNeXt + torch projector, transformers LlamaForCausalLM) and the max abs/rel errors are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import math
import os
import re
import shutil
import sys
import time

import numpy as np
from onnx import TensorProto

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoint_keys  # noqa: E402
from onnx_graph import ExternalStore, Graph  # noqa: E402
import quantize_package  # noqa: E402  (--dtype int4)

FORMAT_VERSION = 1
COPIED_FILES = ["config.json", "preprocessor_config.json", "generation_config.json", "tokenizer.json",
                "tokenizer_config.json", "special_tokens_map.json", "dataset_statistics.json"]
MASK_NEG = -1.0e9  # finite, so fully padded rows give a uniform softmax instead of NaN


def log(msg: str) -> None:
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Checkpoint access
# ---------------------------------------------------------------------------------------------------------------

class Checkpoint:
    """Lazy reader over all *.safetensors shards of a folder."""

    def __init__(self, folder: str):
        from safetensors import safe_open

        files = sorted(glob.glob(os.path.join(folder, "*.safetensors")))
        if not files:
            raise SystemExit(f"no *.safetensors in {folder}")
        self._stack = contextlib.ExitStack()
        self._handles = {}
        self.index: dict[str, str] = {}
        for path in files:
            handle = self._stack.enter_context(safe_open(path, framework="pt"))
            self._handles[path] = handle
            for key in handle.keys():
                self.index[key] = path

    def keys(self):
        return self.index.keys()

    def has(self, key: str) -> bool:
        return key in self.index

    def shape(self, key: str) -> list[int]:
        return list(self._handles[self.index[key]].get_slice(key).get_shape())

    def torch(self, key: str):
        return self._handles[self.index[key]].get_tensor(key)

    def get(self, key: str, dtype=np.float32) -> np.ndarray:
        """The tensor as numpy (bf16/fp16/fp32 checkpoints are converted through fp32)."""
        return self.torch(key).float().numpy().astype(dtype, copy=False)

    def find_suffix(self, suffix: str, must_contain: str = "") -> str:
        hits = [k for k in self.index if k.endswith(suffix) and must_contain in k]
        if not hits:
            raise SystemExit(f"checkpoint has no tensor ending in '{suffix}'" +
                             (f" containing '{must_contain}'" if must_contain else ""))
        return sorted(hits, key=len)[0]

    def close(self) -> None:
        self._stack.close()


def read_json(path: str, default=None):
    if not os.path.exists(path):
        if default is not None:
            return default
        raise SystemExit(f"missing {path}")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class Arch:
    """Everything the graphs need, inferred from config files and tensor shapes."""

    def __init__(self, ckpt: Checkpoint, folder: str, vision_norm_eps: float):
        self.config = read_json(os.path.join(folder, "config.json"))
        self.pre = read_json(os.path.join(folder, "preprocessor_config.json"), {})
        self.gen = read_json(os.path.join(folder, "generation_config.json"), {})
        text = dict(self.config)
        text.update(self.config.get("text_config") or {})
        self.text_config = text
        self.vision_config = self.config.get("vision_config") or {}

        # vision trunk: prefix of ...stem.0.weight, stages and blocks counted from the keys
        stem_key = ckpt.find_suffix("stem.0.weight", "trunk")
        self.trunk = stem_key[: -len("stem.0.weight")]
        self.patch = ckpt.shape(stem_key)[2]
        self.depths, self.dims = [], []
        s = 0
        while ckpt.has(f"{self.trunk}stages.{s}.blocks.0.conv_dw.weight"):
            b = 0
            while ckpt.has(f"{self.trunk}stages.{s}.blocks.{b}.conv_dw.weight"):
                b += 1
            self.depths.append(b)
            self.dims.append(ckpt.shape(f"{self.trunk}stages.{s}.blocks.0.conv_dw.weight")[0])
            s += 1
        # every trunk tensor the graph reads, by name; a missing or unread one fails here (checkpoint_keys.py)
        self.vision_keys = checkpoint_keys.vision_keys(ckpt.keys(), self.trunk, self.depths, self.vision_config)
        self.vision_eps = vision_norm_eps
        self.stride = self.patch * 2 ** (len(self.dims) - 1)

        proj0 = ckpt.find_suffix("proj.0.weight", "projector")
        self.proj = proj0[: -len("0.weight")]
        seps = [k for k in ckpt.keys() if k.endswith("row_seperator") or k.endswith("row_separator")]
        if not seps:
            raise SystemExit("checkpoint has no multi_modal_projector.row_seperator")
        self.row_sep = seps[0]
        self.mm_hidden = ckpt.shape(proj0)[1]
        self.vision_hidden = ckpt.shape(self.proj + "2.weight")[0]
        if self.mm_hidden != self.dims[-1]:
            raise SystemExit(f"projector input {self.mm_hidden} != last ConvNeXt width {self.dims[-1]}")

        # text decoder
        embed_key = ckpt.find_suffix("embed_tokens.weight")
        self.lm = embed_key[: -len("embed_tokens.weight")]
        self.embed_key = embed_key
        self.vocab, self.hidden = ckpt.shape(embed_key)
        heads = [k for k in ckpt.keys() if k.startswith(self.lm) and re.search(r"layers\.\d+\.self_attn\.q_proj\.weight$", k)]
        self.layers = len(heads)
        self.heads = int(text["num_attention_heads"])
        self.kv_heads = int(text.get("num_key_value_heads") or self.heads)
        self.head_dim = int(text.get("head_dim") or self.hidden // self.heads)
        q_rows = ckpt.shape(f"{self.lm}layers.0.self_attn.q_proj.weight")[0]
        k_rows = ckpt.shape(f"{self.lm}layers.0.self_attn.k_proj.weight")[0]
        if q_rows != self.heads * self.head_dim or k_rows != self.kv_heads * self.head_dim:
            raise SystemExit(f"q/k_proj rows {q_rows}/{k_rows} do not match heads {self.heads}/{self.kv_heads} x {self.head_dim}")
        if text.get("attention_bias") or text.get("mlp_bias"):
            raise SystemExit("attention_bias / mlp_bias models are not supported by this exporter")
        self.eps = float(text.get("rms_norm_eps", 1e-5))
        self.max_pos = int(text.get("max_position_embeddings", 8192))
        # a tied head reads the embedding table (one copy in text.data shared by embed.onnx and decoder.onnx); only
        # tie_word_embeddings makes a missing lm_head.weight acceptable
        self.lm_head, self.tied = checkpoint_keys.lm_head_key(ckpt.keys(), text)
        self.inv_freq, self.rope_scale = rope_parameters(text, self.head_dim)

        self.crop = int(self.pre.get("base_img_size") or self.vision_config.get("img_size") or 512)
        self.strategy = self.vision_config.get("img_anyres_strategy", "crop")

    def describe(self) -> str:
        return (f"vision: ConvNeXt patch {self.patch} depths {self.depths} dims {self.dims} eps {self.vision_eps} "
                f"-> projector {self.mm_hidden}->{self.vision_hidden}->{self.vision_hidden}; crop {self.crop}, grid "
                f"{self.crop // self.stride}\n"
                f"text: {self.layers} layers, hidden {self.hidden}, heads {self.heads}/{self.kv_heads} x {self.head_dim}, "
                f"vocab {self.vocab}, eps {self.eps}, tied head {self.tied}, rope_theta {self.text_config.get('rope_theta')}, "
                f"rope_scaling {self.text_config.get('rope_scaling')}, attention scaling {self.rope_scale}")


def rope_parameters(text: dict, head_dim: int):
    """inv_freq and attention scaling exactly as transformers computes them for this config."""
    try:
        import torch
        from transformers import LlamaConfig
        from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

        cfg = LlamaConfig(**llama_config_dict(text))
        rot = LlamaRotaryEmbedding(cfg, device=torch.device("cpu"))
        inv_freq = rot.inv_freq.float().numpy().astype(np.float32)
        scale = float(getattr(rot, "attention_scaling", 1.0))
    except Exception as exc:  # fallback keeps the exporter usable without transformers
        if text.get("rope_scaling"):
            raise SystemExit(f"rope_scaling {text['rope_scaling']} needs transformers to compute: {exc}")
        log(f"rotary tables computed without transformers ({exc})")
        return default_inv_freq(text, head_dim), 1.0
    if not text.get("rope_scaling"):
        # guard against a transformers version that silently ignores rope_theta (the goldens would share the bug)
        manual = default_inv_freq(text, head_dim)
        if inv_freq.shape != manual.shape or not np.allclose(inv_freq, manual, rtol=1e-6, atol=0):
            raise SystemExit(f"transformers' rotary inv_freq disagrees with rope_theta {text.get('rope_theta')}")
    return inv_freq, scale


def default_inv_freq(text: dict, head_dim: int) -> np.ndarray:
    theta = float(text.get("rope_theta", 500000.0))
    exponent = np.arange(0, head_dim, 2, dtype=np.int64).astype(np.float32) / head_dim
    return (1.0 / (theta ** exponent)).astype(np.float32)


def llama_config_dict(text: dict) -> dict:
    keep = ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "head_dim", "hidden_act", "max_position_embeddings", "rms_norm_eps",
            "rope_theta", "rope_scaling", "rope_parameters", "attention_bias", "mlp_bias", "tie_word_embeddings",
            "bos_token_id", "eos_token_id", "pad_token_id", "initializer_range", "attention_dropout", "pretraining_tp"]
    out = {k: text[k] for k in keep if k in text and text[k] is not None}
    if "rope_parameters" not in out and not text.get("rope_scaling"):
        # transformers 5 reads rope_parameters; 4.x keeps it as a plain attribute and reads rope_theta
        out["rope_parameters"] = {"rope_type": "default", "rope_theta": float(text.get("rope_theta", 500000.0))}
    return out


# ---------------------------------------------------------------------------------------------------------------
# Graphs
# ---------------------------------------------------------------------------------------------------------------

def gelu(g: Graph, x: str, dt) -> str:
    # exact (erf) GELU written in the pattern ORT fuses into its Gelu kernel
    d = g.op("Div", [x, g.const(math.sqrt(2.0), dt)])
    e = g.op("Erf", [d])
    a = g.op("Add", [e, g.const(1.0, dt)])
    m = g.op("Mul", [x, a])
    return g.op("Mul", [m, g.const(0.5, dt)])


def linear(g: Graph, ckpt: Checkpoint, x: str, prefix: str, dt, bias: bool = True) -> str:
    w = g.weight(prefix + "weight_T", ckpt.get(prefix + "weight").T.astype(dt))
    y = g.op("MatMul", [x, w])
    if bias:
        y = g.op("Add", [y, g.weight(prefix + "bias", ckpt.get(prefix + "bias", dt))])
    return y


def build_vision(out_dir: str, ckpt: Checkpoint, arch: Arch, dt, elem: int) -> None:
    store = ExternalStore(out_dir, "vision.data")
    g = Graph("magma_vision", store)
    t = arch.trunk
    x = g.input("pixel_values", elem, ["num_crops", 3, "height", "width"])

    def layer_norm_last(v: str, prefix: str) -> str:
        return g.op("LayerNormalization", [v, g.weight(prefix + "weight", ckpt.get(prefix + "weight", dt)),
                                           g.weight(prefix + "bias", ckpt.get(prefix + "bias", dt))],
                    axis=-1, epsilon=arch.vision_eps)

    def layer_norm_2d(v: str, prefix: str) -> str:
        v = g.op("Transpose", [v], perm=[0, 2, 3, 1])
        v = layer_norm_last(v, prefix)
        return g.op("Transpose", [v], perm=[0, 3, 1, 2])

    def conv(v: str, prefix: str, stride: int, groups: int = 1) -> str:
        w = ckpt.get(prefix + "weight", dt)
        k = w.shape[2]
        pad = k // 2 if stride == 1 else 0
        return g.op("Conv", [v, g.weight(prefix + "weight", w), g.weight(prefix + "bias", ckpt.get(prefix + "bias", dt))],
                    kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4, group=groups)

    x = conv(x, t + "stem.0.", arch.patch)
    x = layer_norm_2d(x, t + "stem.1.")
    for s, (depth, dim) in enumerate(zip(arch.depths, arch.dims)):
        ds = f"{t}stages.{s}.downsample."
        if arch.vision_keys.downsample[s]:
            x = layer_norm_2d(x, ds + "0.")
            x = conv(x, ds + "1.", ckpt.shape(ds + "1.weight")[2])
        for b in range(depth):
            p = f"{t}stages.{s}.blocks.{b}."
            shortcut = x
            y = conv(x, p + "conv_dw.", 1, groups=dim)
            y = g.op("Transpose", [y], perm=[0, 2, 3, 1])
            y = layer_norm_last(y, p + "norm.")
            y = linear(g, ckpt, y, p + "mlp.fc1.", dt)
            y = gelu(g, y, dt)
            y = linear(g, ckpt, y, p + "mlp.fc2.", dt)
            scale = arch.vision_keys.layer_scale[s][b]
            if scale is not None:
                y = g.op("Mul", [y, g.weight(scale, ckpt.get(scale, dt))])
            y = g.op("Transpose", [y], perm=[0, 3, 1, 2])
            x = g.op("Add", [y, shortcut])
    x = g.op("Transpose", [x], perm=[0, 2, 3, 1])
    x = linear(g, ckpt, x, arch.proj + "0.", dt)
    x = gelu(g, x, dt)
    g.op("Add", [g.op("MatMul", [x, g.weight(arch.proj + "2.weight_T", ckpt.get(arch.proj + "2.weight").T.astype(dt))]),
                 g.weight(arch.proj + "2.bias", ckpt.get(arch.proj + "2.bias", dt))], outputs=["image_features"])
    g.output("image_features", elem, ["num_crops", "grid_height", "grid_width", arch.vision_hidden])
    sep = g.weight(arch.row_sep, ckpt.get(arch.row_sep, dt).reshape(-1))
    g.op("Identity", [sep], outputs=["row_separator"])
    g.output("row_separator", elem, [arch.vision_hidden])
    store.close()
    if store.offset == 0:  # tiny models keep every vision weight inline
        os.remove(store.path)
    g.save(os.path.join(out_dir, "vision.onnx"), "Magma vision tower: ConvNeXt stem+stages, mlp2x_gelu projector")


def rotary_caches(arch: Arch, dt) -> tuple[np.ndarray, np.ndarray]:
    """cos/sin caches [max_position_embeddings, D/2] for GroupQueryAttention's fused rotary (rotate_half layout).

    Computed as transformers does at run time: positions and inv_freq in float32, their products in float32, then
    cos/sin (times the rope attention scaling) in float32, and only then cast to the graph dtype.
    """
    half = arch.head_dim // 2
    try:
        import torch

        t = torch.arange(arch.max_pos, dtype=torch.int64).float()
        freqs = torch.outer(t, torch.from_numpy(arch.inv_freq))
        cos = (freqs.cos() * arch.rope_scale).numpy()
        sin = (freqs.sin() * arch.rope_scale).numpy()
    except ImportError:
        freqs = np.outer(np.arange(arch.max_pos, dtype=np.float32), arch.inv_freq).astype(np.float32)
        cos = (np.cos(freqs.astype(np.float64)).astype(np.float32) * np.float32(arch.rope_scale))
        sin = (np.sin(freqs.astype(np.float64)).astype(np.float32) * np.float32(arch.rope_scale))
    if cos.shape != (arch.max_pos, half):
        raise SystemExit(f"rotary cache shape {cos.shape} != ({arch.max_pos}, {half})")
    return cos.astype(dt), sin.astype(dt)


def gqa_fused_rotary_ok(head_dim: int) -> bool:
    """ORT's GroupQueryAttention rejects cos/sin caches unless head_size % 16 == 0 (CPU and CUDA CheckInputs)."""
    return head_dim % 16 == 0


def build_text(out_dir: str, ckpt: Checkpoint, arch: Arch, dt, elem: int, logits_last_only: bool,
               attention: str = "gqa", packed_qkv: bool = True, fused_norm: bool = True) -> dict:
    """Writes embed.onnx and decoder.onnx (+ text.data); returns the decoder facts the manifest records.

    fused_norm (gqa only): every RMSNorm after the first is com.microsoft.SkipSimplifiedLayerNormalization (the residual
    add folded in, fp32 statistics), as the GenAI builder emits: one kernel per norm instead of ten, which is most of a
    decode step's kernel launches. Off: the same maths from standard ops.
    """
    store = ExternalStore(out_dir, "text.data")
    table = store.add("embed_tokens.weight", ckpt.get(arch.embed_key, dt))

    # embed.onnx
    e = Graph("magma_embed", store)
    ids = e.input("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"])
    e.op("Gather", [e.shared(table), ids], outputs=["inputs_embeds"], axis=0)
    e.output("inputs_embeds", elem, ["batch_size", "sequence_length", arch.hidden])

    # decoder.onnx
    g = Graph("magma_decoder", store)
    H, nh, nkv, D = arch.hidden, arch.heads, arch.kv_heads, arch.head_dim
    rep = nh // nkv
    f32 = np.float32
    fp16 = np.dtype(dt) == np.float16
    gqa = attention == "gqa"
    fused_norm = fused_norm and gqa
    fused_rotary = gqa and gqa_fused_rotary_ok(D)
    x = g.input("inputs_embeds", elem, ["batch_size", "sequence_length", H])
    mask = g.input("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"])
    pos = None if gqa else g.input("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"])
    for i in range(arch.layers):
        g.input(f"past_key_values.{i}.key", elem, ["batch_size", nkv, "past_sequence_length", D])
        g.input(f"past_key_values.{i}.value", elem, ["batch_size", nkv, "past_sequence_length", D])

    if gqa:
        # the builder's mask reformatting: seqlens_k = sum(mask) - 1 (int32 [B]), total = mask width (int32 scalar)
        valid = g.op("ReduceSum", [mask, g.const([1], np.int64)], keepdims=0)
        seqlens_k = g.op("Cast", [g.op("Sub", [valid, g.const(1, np.int64)])], to=TensorProto.INT32)
        total_len = g.op("Cast", [g.op("Gather", [g.op("Shape", [mask]), g.const(1, np.int64)], axis=0)],
                         to=TensorProto.INT32)
        if not fused_rotary:
            # GQA's own positions: the new tokens sit at sum(mask) - T + t (what its fused rotary would use)
            seq = g.op("Shape", [x], start=1, end=2)
            first = g.op("Sub", [g.op("ReduceSum", [mask, g.const([1], np.int64)], keepdims=1), seq])  # [B,1]
            steps = g.op("Range", [g.const(0, np.int64), g.op("Squeeze", [seq]), g.const(1, np.int64)])
            pos = g.op("Add", [first, g.op("Unsqueeze", [steps, g.const([0], np.int64)])])  # [B,T]

    half = D // 2
    if not fused_rotary:
        # rotary tables for the given positions, in fp32 as transformers computes them
        posf = g.op("Unsqueeze", [g.op("Cast", [pos], to=TensorProto.FLOAT), g.const([2], np.int64)])
        freqs = g.op("Mul", [posf, g.const(arch.inv_freq.reshape(1, 1, -1), f32)])
        emb = g.op("Concat", [freqs, freqs], axis=-1)
        cos, sin = g.op("Cos", [emb]), g.op("Sin", [emb])
        if arch.rope_scale != 1.0:
            cos = g.op("Mul", [cos, g.const(arch.rope_scale, f32)])
            sin = g.op("Mul", [sin, g.const(arch.rope_scale, f32)])
        if fp16:
            cos, sin = g.op("Cast", [cos], to=TensorProto.FLOAT16), g.op("Cast", [sin], to=TensorProto.FLOAT16)
        # [B,1,T,D] for the plain graph's [B,n,T,D] heads, [B,T,1,D] for GQA's [B,T,n,D] inputs
        axis = 2 if gqa else 1
        cos = g.op("Unsqueeze", [cos, g.const([axis], np.int64)])
        sin = g.op("Unsqueeze", [sin, g.const([axis], np.int64)])
    else:
        cos_cache, sin_cache = rotary_caches(arch, dt)
        cos_name = g.weight("cos_cache", cos_cache)
        sin_name = g.weight("sin_cache", sin_cache)

    if not gqa:
        # additive mask [B,1,1,T,S]: key k visible to query t when k <= past + t and attention_mask[b,k] == 1
        seq = g.op("Shape", [x], start=1, end=2)
        total = g.op("Shape", [mask], start=1, end=2)
        past = g.op("Sub", [total, seq])
        k_idx = g.op("Range", [g.const(0, np.int64), g.op("Squeeze", [total]), g.const(1, np.int64)])
        q_idx = g.op("Range", [g.op("Squeeze", [past]), g.op("Squeeze", [total]), g.const(1, np.int64)])
        causal = g.op("LessOrEqual", [g.op("Unsqueeze", [k_idx, g.const([0], np.int64)]),
                                      g.op("Unsqueeze", [q_idx, g.const([1], np.int64)])])  # [T,S]
        keep = g.op("Unsqueeze", [g.op("Cast", [mask], to=TensorProto.BOOL), g.const([1], np.int64)])  # [B,1,S]
        allowed = g.op("And", [causal, keep])  # [B,T,S]
        bias = g.op("Where", [allowed, g.const(0.0, f32), g.const(MASK_NEG, f32)])
        bias = g.op("Unsqueeze", [bias, g.const([1, 2], np.int64)])  # [B,1,1,T,S]

    def rms(v: str, key: str) -> str:
        vf = g.op("Cast", [v], to=TensorProto.FLOAT) if fp16 else v
        var = g.op("ReduceMean", [g.op("Mul", [vf, vf])], axes=[-1], keepdims=1)
        inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [var, g.const(arch.eps, f32)])])])
        y = g.op("Mul", [vf, inv])
        if fp16:
            y = g.op("Cast", [y], to=TensorProto.FLOAT16)
        return g.op("Mul", [y, g.weight(key, ckpt.get(key, dt))])

    def rotate(v: str, last_axis: int = 3) -> str:
        first = g.op("Slice", [v, g.const([0], np.int64), g.const([half], np.int64), g.const([last_axis], np.int64)])
        second = g.op("Slice", [v, g.const([half], np.int64), g.const([D], np.int64), g.const([last_axis], np.int64)])
        rotated = g.op("Concat", [g.op("Neg", [second]), first], axis=last_axis)
        return g.op("Add", [g.op("Mul", [v, cos]), g.op("Mul", [rotated, sin])])

    def heads(v: str, n: int) -> str:  # [B,T,n*D] -> [B,n,T,D]
        v = g.op("Reshape", [v, g.const([0, 0, n, D], np.int64)])
        return g.op("Transpose", [v], perm=[0, 2, 1, 3])

    def rotate_bsnh(v: str, n: int) -> str:  # [B,T,n*D] rotated per head, same layout
        v = rotate(g.op("Reshape", [v, g.const([0, 0, n, D], np.int64)]))
        return g.op("Reshape", [v, g.const([0, 0, n * D], np.int64)])

    def norm_weight(key: str) -> str:
        return g.weight(key, ckpt.get(key, dt))

    def add_norm(delta: str, residual: str, key: str) -> tuple[str, str]:
        """(norm(residual + delta), residual + delta): one SkipSimplifiedLayerNormalization when fused."""
        if not fused_norm:
            s = g.op("Add", [residual, delta])
            return rms(s, key), s
        normed, _, _, s = g.op("SkipSimplifiedLayerNormalization", [delta, residual, norm_weight(key)], n=4,
                               domain="com.microsoft", epsilon=arch.eps)
        return normed, s

    scale = 1.0 / math.sqrt(D)
    pending = None  # the MLP output of the previous layer, not yet added to x (fused norms add it in the next norm)
    for i in range(arch.layers):
        p = f"{arch.lm}layers.{i}."
        if pending is not None:
            h, x = add_norm(pending, x, p + "input_layernorm.weight")
        else:  # the first norm has no residual to fold in; standard ops keep onnx.checker happy (once per call)
            h = rms(x, p + "input_layernorm.weight")
        g.output(f"present.{i}.key", elem, ["batch_size", nkv, "present_sequence_length" if gqa else "total_sequence_length", D])
        g.output(f"present.{i}.value", elem, ["batch_size", nkv, "present_sequence_length" if gqa else "total_sequence_length", D])
        if gqa:
            a = p + "self_attn."
            if packed_qkv:
                w = np.concatenate([ckpt.get(a + "q_proj.weight"), ckpt.get(a + "k_proj.weight"),
                                    ckpt.get(a + "v_proj.weight")], axis=0).T.astype(dt)
                qkv = g.op("MatMul", [h, g.weight(a + "qkv_proj.weight_T", w)])  # [B,T,(nh+2kv)*D]
                if fused_rotary:
                    q, k, v = qkv, "", ""
                else:
                    q, k, v = g.op("Split", [qkv, g.const([nh * D, nkv * D, nkv * D], np.int64)], n=3, axis=2)
            else:
                q = linear(g, ckpt, h, a + "q_proj.", dt, bias=False)
                k = linear(g, ckpt, h, a + "k_proj.", dt, bias=False)
                v = linear(g, ckpt, h, a + "v_proj.", dt, bias=False)
            if not fused_rotary:
                q, k = rotate_bsnh(q, nh), rotate_bsnh(k, nkv)
            inputs = [q, k, v, f"past_key_values.{i}.key", f"past_key_values.{i}.value", seqlens_k, total_len]
            if fused_rotary:
                inputs += [cos_name, sin_name]
            o = g.op("GroupQueryAttention", inputs,
                     outputs=[g.uid("gqa_out"), f"present.{i}.key", f"present.{i}.value"], domain="com.microsoft",
                     num_heads=nh, kv_num_heads=nkv, scale=scale, do_rotary=1 if fused_rotary else 0,
                     rotary_interleaved=0)[0]
        else:
            q = rotate(heads(linear(g, ckpt, h, p + "self_attn.q_proj.", dt, bias=False), nh))
            k = rotate(heads(linear(g, ckpt, h, p + "self_attn.k_proj.", dt, bias=False), nkv))
            v = heads(linear(g, ckpt, h, p + "self_attn.v_proj.", dt, bias=False), nkv)
            pk = g.op("Concat", [f"past_key_values.{i}.key", k], outputs=[f"present.{i}.key"], axis=2)
            pv = g.op("Concat", [f"past_key_values.{i}.value", v], outputs=[f"present.{i}.value"], axis=2)
            # grouped-query attention without copying K/V: query head j*rep+r reads KV head j
            q5 = g.op("Reshape", [q, g.const([0, nkv, rep, -1, D], np.int64)])  # [B,KV,rep,T,D]
            k5 = g.op("Transpose", [g.op("Unsqueeze", [pk, g.const([2], np.int64)])], perm=[0, 1, 2, 4, 3])
            v5 = g.op("Unsqueeze", [pv, g.const([2], np.int64)])  # [B,KV,1,S,D]
            scores = g.op("MatMul", [q5, k5])
            if fp16:
                scores = g.op("Cast", [scores], to=TensorProto.FLOAT)
            scores = g.op("Add", [g.op("Mul", [scores, g.const(scale, f32)]), bias])
            probs = g.op("Softmax", [scores], axis=-1)
            if fp16:
                probs = g.op("Cast", [probs], to=TensorProto.FLOAT16)
            o = g.op("MatMul", [probs, v5])  # [B,KV,rep,T,D]
            o = g.op("Reshape", [o, g.const([0, nh, -1, D], np.int64)])
            o = g.op("Reshape", [g.op("Transpose", [o], perm=[0, 2, 1, 3]), g.const([0, 0, nh * D], np.int64)])
        h, x = add_norm(linear(g, ckpt, o, p + "self_attn.o_proj.", dt, bias=False), x, p + "post_attention_layernorm.weight")
        gate = linear(g, ckpt, h, p + "mlp.gate_proj.", dt, bias=False)
        up = linear(g, ckpt, h, p + "mlp.up_proj.", dt, bias=False)
        act = g.op("Mul", [gate, g.op("Sigmoid", [gate])])
        pending = linear(g, ckpt, g.op("Mul", [act, up]), p + "mlp.down_proj.", dt, bias=False)
    h, x = add_norm(pending, x, arch.lm + "norm.weight")
    if logits_last_only:
        h = g.op("Slice", [h, g.const([-1], np.int64), g.const([2 ** 62], np.int64), g.const([1], np.int64)])
    if arch.tied:
        head = g.op("Transpose", [g.shared(table)], perm=[1, 0])
    else:
        head = g.weight("lm_head.weight_T", ckpt.get(arch.lm_head).T.astype(dt))
    g.op("MatMul", [h, head], outputs=["logits"])
    g.output("logits", elem, ["batch_size", 1 if logits_last_only else "sequence_length", arch.vocab])
    if logits_last_only:
        # Greedy selection where the logits are: next_token = argmax(logits + token_bias) over the vocabulary (first
        # maximum, as torch.argmax), so a decode step returns 8 bytes instead of a vocabulary row. token_bias is an
        # optional input (its initializer, a scalar 0, is the default); binding a [V] row of 0 / -inf restricts the
        # choice to a token set on the device (the robot-action constraint).
        bias = g.input("token_bias", elem, ["token_bias_length"])
        g.weight("token_bias", np.zeros([1], dt))
        g.op("ArgMax", [g.op("Add", ["logits", bias])], outputs=["next_token"], axis=-1, keepdims=0,
             select_last_index=0)
        g.output("next_token", TensorProto.INT64, ["batch_size", 1])
    store.close()
    e.save(os.path.join(out_dir, "embed.onnx"), "Magma token embedding (Gather over the LLaMA table)")
    if gqa:
        doc = ("Magma LLaMA-3 decoder on inputs_embeds, com.microsoft.GroupQueryAttention "
               f"({'fused rotary from cos/sin caches' if fused_rotary else 'rotary in the graph, positions from attention_mask'}); "
               "past/present may share one [B,KV,capacity,D] buffer")
    else:
        doc = "Magma LLaMA-3 decoder on inputs_embeds with KV cache (plain ops, concatenated KV)"
    g.save(os.path.join(out_dir, "decoder.onnx"), doc)
    return {"attention": attention, "has_position_ids": not gqa, "kv_cache_sharing": gqa,
            "rotary": "fused" if fused_rotary else "graph", "norm": "fused" if fused_norm else "graph",
            "next_token": logits_last_only}


# ---------------------------------------------------------------------------------------------------------------
# Manifest
# ---------------------------------------------------------------------------------------------------------------

def added_token_ids(folder: str) -> dict[str, int]:
    path = os.path.join(folder, "tokenizer.json")
    if not os.path.exists(path):
        return {}
    tok = read_json(path)
    return {t["content"]: int(t["id"]) for t in tok.get("added_tokens", [])}


def write_manifest(out_dir: str, folder: str, arch: Arch, dtype: str, logits_last_only: bool, model_id: str,
                   decoder_facts: dict | None = None, description: str | None = None) -> dict:
    facts = decoder_facts or {"attention": "plain", "has_position_ids": True, "kv_cache_sharing": False}
    added = added_token_ids(folder)
    text = arch.text_config
    eos = arch.gen.get("eos_token_id", text.get("eos_token_id", 128009))
    eos = eos if isinstance(eos, list) else [eos]
    tokens = {
        "bos": int(arch.gen.get("bos_token_id", text.get("bos_token_id", 128000))),
        "eos": [int(t) for t in eos],
        "pad": int(arch.gen.get("pad_token_id", text.get("pad_token_id", added.get("<pad>", 128256)))),
        "image": int(arch.config.get("image_token_index", text.get("image_token_index", added.get("<image>", 128257)))),
        "base_vocab_size": int(arch.config.get("tokenizer_vocab_size", 128000)),
    }
    for name, key in (("<image_start>", "image_start"), ("<image_end>", "image_end")):
        if name in added:
            tokens[key] = added[name]
    manifest = {
        "format_version": FORMAT_VERSION,
        "model_id": model_id,
        **({"description": description} if description else {}),
        "dtype": dtype,
        "vision": {"file": "vision.onnx", "input": "pixel_values", "features_output": "image_features",
                   "row_separator_output": "row_separator", "crop_size": arch.crop,
                   "feature_grid": arch.crop // arch.stride, "hidden_size": arch.vision_hidden,
                   "strategy": arch.strategy},
        "embed": {"file": "embed.onnx", "input": "input_ids", "output": "inputs_embeds", "hidden_size": arch.hidden},
        "decoder": {"file": "decoder.onnx", "num_layers": arch.layers, "num_attention_heads": arch.heads,
                    "num_key_value_heads": arch.kv_heads, "head_dim": arch.head_dim, "hidden_size": arch.hidden,
                    "vocab_size": arch.vocab, "max_position_embeddings": arch.max_pos,
                    "attention": facts["attention"], "has_position_ids": facts["has_position_ids"],
                    "kv_cache_sharing": facts["kv_cache_sharing"], "logits_last_only": logits_last_only,
                    "inputs_embeds": "inputs_embeds", "attention_mask": "attention_mask",
                    "position_ids": "position_ids", "logits": "logits",
                    "past_key": "past_key_values.{0}.key", "past_value": "past_key_values.{0}.value",
                    "present_key": "present.{0}.key", "present_value": "present.{0}.value",
                    **({"next_token": "next_token", "token_bias": "token_bias"} if facts.get("next_token") else {})},
        "tokens": tokens,
        "mm_use_image_start_end": bool(arch.config.get("mm_use_image_start_end", text.get("mm_use_image_start_end", True))),
        "weights_files": [f for f in ("vision.data", "text.data") if os.path.exists(os.path.join(out_dir, f))],
    }
    with open(os.path.join(out_dir, "magma.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest


# ---------------------------------------------------------------------------------------------------------------
# PyTorch reference modules (also used by make_tiny_model.py)
# ---------------------------------------------------------------------------------------------------------------

def torch_vision(ckpt: Checkpoint, arch: Arch):
    """timm ConvNeXt (stem + stages) and the mlp2x_gelu projector, loaded from the checkpoint."""
    import timm.models.convnext as tc
    import torch

    scaled = any(key is not None for stage in arch.vision_keys.layer_scale for key in stage)
    trunk = tc.ConvNeXt(in_chans=3, num_classes=0, global_pool="", depths=arch.depths, dims=arch.dims,
                        patch_size=arch.patch, ls_init_value=1e-6 if scaled else None, norm_eps=arch.vision_eps,
                        drop_path_rate=0.0)
    renames = arch.vision_keys.timm_names(arch.trunk)  # a layer scale saved as "weight" is timm's "gamma"
    wanted = {renames.get(k, k[len(arch.trunk):]): ckpt.torch(k).float() for k in ckpt.keys()
              if k.startswith(arch.trunk) and (k[len(arch.trunk):].startswith("stem.") or k[len(arch.trunk):].startswith("stages."))}
    missing, _ = trunk.load_state_dict(wanted, strict=False)
    missing = [m for m in missing if m.startswith("stem.") or m.startswith("stages.")]
    if missing:
        raise SystemExit(f"timm ConvNeXt is missing checkpoint tensors: {missing[:5]}")
    proj = torch.nn.Sequential(torch.nn.Linear(arch.mm_hidden, arch.vision_hidden), torch.nn.GELU(),
                               torch.nn.Linear(arch.vision_hidden, arch.vision_hidden))
    proj.load_state_dict({k[len(arch.proj):]: ckpt.torch(k).float() for k in ckpt.keys() if k.startswith(arch.proj)})
    sep = ckpt.torch(arch.row_sep).float().reshape(-1)

    class Vision(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk, self.proj = trunk, proj

        def forward(self, pixels):
            feats = self.trunk.stages(self.trunk.stem(pixels))
            return self.proj(feats.permute(0, 2, 3, 1))

    return Vision().eval(), sep


def torch_llama(ckpt: Checkpoint, arch: Arch):
    """transformers LlamaForCausalLM (eager attention, fp32) loaded from the checkpoint."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(**llama_config_dict(arch.text_config))
    cfg._attn_implementation = "eager"
    model = LlamaForCausalLM(cfg)
    state = {}
    for k in ckpt.keys():
        if k.startswith(arch.lm):
            state["model." + k[len(arch.lm):]] = ckpt.torch(k).float()
    if not arch.tied:
        state["lm_head.weight"] = ckpt.torch(arch.lm_head).float()
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("inv_freq") and not (arch.tied and m == "lm_head.weight")]
    if missing or unexpected:
        raise SystemExit(f"LlamaForCausalLM load: missing {missing[:5]} unexpected {unexpected[:5]}")
    if arch.tied:
        model.lm_head.weight = model.model.embed_tokens.weight
    return model.eval()


# ---------------------------------------------------------------------------------------------------------------
# Self-check
# ---------------------------------------------------------------------------------------------------------------

def errors(got: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape:
        raise AssertionError(f"shape {got.shape} != reference {ref.shape}")
    diff = float(np.max(np.abs(got - ref))) if got.size else 0.0
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    return diff, diff / scale if scale > 0 else diff


def report(results: dict, graph: str, what: str, got, ref) -> None:
    a, r = errors(got, ref)
    results[f"{graph}:{what}"] = {"max_abs": a, "max_rel": r}
    log(f"[check] {graph:<13} {what:<30} max_abs={a:.3e} max_rel={r:.3e}")


NORMAL_STEPS = [7, 1, 3]  # prefill, one decode step, a 3-token chunk
SHARED_STEPS = [7, 1, 1, 1, 3, 1]  # prefill, decode steps, a chunk, one more step, all in one buffer
SHARED_SLACK = 5  # capacity beyond the last position; must stay untouched


def reference_cache(cache, layer: int):
    if hasattr(cache, "layers"):
        return cache.layers[layer].keys, cache.layers[layer].values
    return cache.key_cache[layer], cache.value_cache[layer]


def check_decoder(s, shared: bool, llama, arch: Arch, np_dt, logits_last_only: bool, rng, results: dict) -> None:
    """One sequence fed in steps, against one full transformers pass over all positions.

    normal mode: past [1,KV,P,D] -> present [1,KV,P+T,D], present fed back as the next past (both graphs);
    shared mode (GroupQueryAttention graphs): each layer's past and present are bound through IOBinding to the SAME
    preallocated [1,KV,capacity,D] buffer, the mask is [1,P+T] of ones, and GQA writes the T new positions at P.
    """
    import onnxruntime as ort
    import torch

    feeds = {i.name for i in s.get_inputs()}
    has_pos = "position_ids" in feeds
    total = max(sum(NORMAL_STEPS), sum(SHARED_STEPS) if shared else 0)
    embeds = (rng.standard_normal((1, total, arch.hidden)) * 0.5).astype(np.float32)
    ref = llama(inputs_embeds=torch.from_numpy(embeds), position_ids=torch.arange(total)[None],
                attention_mask=torch.ones(1, total, dtype=torch.long), use_cache=True)
    ref_logits = ref.logits.float().numpy()
    try:
        ref_kv = [tuple(t.numpy() for t in reference_cache(ref.past_key_values, i)) for i in range(arch.layers)]
    except Exception as exc:
        log(f"[check] decoder.onnx present.*: could not read the transformers cache ({exc}); skipped")
        ref_kv = None

    def want(start, n):
        return ref_logits[:, start + n - 1] if logits_last_only else ref_logits[:, start:start + n]

    def got(logits):
        return logits[:, -1] if logits_last_only else logits

    # normal mode
    shape = (1, arch.kv_heads, 0, arch.head_dim)
    past = {}
    for i in range(arch.layers):
        past[f"past_key_values.{i}.key"] = np.zeros(shape, np_dt)
        past[f"past_key_values.{i}.value"] = np.zeros(shape, np_dt)
    names = [o.name for o in s.get_outputs()]
    start = 0
    normal_logits = []
    for n in NORMAL_STEPS:
        feed = {"inputs_embeds": embeds[:, start:start + n].astype(np_dt),
                "attention_mask": np.ones((1, start + n), np.int64)}
        if has_pos:
            feed["position_ids"] = np.arange(start, start + n, dtype=np.int64)[None]
        feed.update(past)
        outs = dict(zip(names, s.run(None, feed)))
        for i in range(arch.layers):
            if outs[f"present.{i}.key"].shape != (1, arch.kv_heads, start + n, arch.head_dim):
                raise AssertionError(f"present.{i}.key shape {outs[f'present.{i}.key'].shape}, expected past+new = {start + n}")
        normal_logits.append(outs["logits"])
        report(results, "decoder.onnx", f"logits (past {start}, new {n})", got(outs["logits"]), want(start, n))
        if "next_token" in outs:
            # on the graph's own logits: argmax over fp16 rows must not depend on the reference's rounding
            same = np.array_equal(outs["next_token"], np.argmax(outs["logits"][:, -1:], axis=-1))
            results[f"decoder.onnx:next_token == argmax(logits) (past {start})"] = {"max_abs": 0.0 if same else 1.0,
                                                                                    "max_rel": 0.0 if same else 1.0}
            if not same:
                log(f"[check] WARNING next_token {outs['next_token'].ravel()} is not the argmax of the logits")
        past = {k.replace("present.", "past_key_values."): v for k, v in outs.items() if k.startswith("present.")}
        start += n
    if "token_bias" in feeds:
        # a token set on the device: only the 8 lowest-scoring ids of the last row are allowed
        last = normal_logits[-1][0, -1].astype(np.float32)
        allowed = np.argsort(last)[:8]
        bias = np.full(arch.vocab, -np.inf, np_dt)
        bias[allowed] = 0
        # the last call's inputs again (feed still holds them): same logits, restricted choice
        chosen = int(s.run(["next_token"], dict(feed, token_bias=bias))[0].ravel()[0])
        ok = chosen == int(allowed[np.argmax(last[allowed])])
        results["decoder.onnx:next_token with token_bias"] = {"max_abs": 0.0 if ok else 1.0, "max_rel": 0.0 if ok else 1.0}
        log(f"[check] decoder.onnx  next_token with token_bias: {'ok' if ok else 'WRONG'} ({chosen})")
    if ref_kv is not None:
        for i in range(arch.layers):
            report(results, "decoder.onnx", f"present.{i}.key", past[f"past_key_values.{i}.key"], ref_kv[i][0][:, :, :start])
            report(results, "decoder.onnx", f"present.{i}.value", past[f"past_key_values.{i}.value"], ref_kv[i][1][:, :, :start])
    if not shared:
        return

    # shared-buffer mode: the protocol the C# engine follows for GroupQueryAttention graphs
    capacity = sum(SHARED_STEPS) + SHARED_SLACK
    io = s.io_binding()
    buffers, keep, bound = {}, [], []  # bound: output names in binding order (the order of io.get_outputs())
    for i in range(arch.layers):
        for kind in ("key", "value"):
            arr = np.zeros((1, arch.kv_heads, capacity, arch.head_dim), np_dt)
            ov = ort.OrtValue.ortvalue_from_numpy(arr)
            if ov.data_ptr() != arr.ctypes.data:
                raise AssertionError("OrtValue.ortvalue_from_numpy copied the KV buffer")
            io.bind_ortvalue_input(f"past_key_values.{i}.{kind}", ov)
            io.bind_ortvalue_output(f"present.{i}.{kind}", ov)
            bound.append(f"present.{i}.{kind}")
            buffers[(i, kind)] = (arr, ov)
    start = 0
    for step, n in enumerate(SHARED_STEPS):
        x = np.ascontiguousarray(embeds[:, start:start + n].astype(np_dt))
        m = np.ones((1, start + n), np.int64)
        rows = 1 if logits_last_only else n
        logits = np.zeros((1, rows, arch.vocab), np_dt)
        lv = ort.OrtValue.ortvalue_from_numpy(logits)
        keep += [x, m, logits, lv]
        io.bind_cpu_input("inputs_embeds", x)
        io.bind_cpu_input("attention_mask", m)
        io.bind_ortvalue_output("logits", lv)  # rebinding a name keeps its slot
        if "logits" not in bound:
            bound.append("logits")
        s.run_with_iobinding(io)
        outs = dict(zip(bound, io.get_outputs()))
        for i in range(arch.layers):
            for kind in ("key", "value"):
                o = outs[f"present.{i}.{kind}"]
                if o.data_ptr() != buffers[(i, kind)][0].ctypes.data or o.shape() != [1, arch.kv_heads, capacity, arch.head_dim]:
                    log(f"[check] WARNING present.{i}.{kind} is not the bound buffer after step {step}: shape {o.shape()}")
                    results[f"decoder.onnx:shared present.{i}.{kind} identity (step {step})"] = {"max_abs": 1.0, "max_rel": 1.0}
        report(results, "decoder.onnx", f"shared logits (past {start}, new {n})", got(logits), want(start, n))
        if step < len(NORMAL_STEPS) and NORMAL_STEPS[:step + 1] == SHARED_STEPS[:step + 1]:
            report(results, "decoder.onnx", f"shared vs normal logits (step {step})", logits, normal_logits[step])
        start += n
    for i in range(arch.layers):
        for j, kind in enumerate(("key", "value")):
            arr = buffers[(i, kind)][0]
            if ref_kv is not None:
                report(results, "decoder.onnx", f"shared present.{i}.{kind}", arr[:, :, :start], ref_kv[i][j][:, :, :start])
            tail = float(np.max(np.abs(arr[:, :, start:].astype(np.float64)))) if capacity > start else 0.0
            if tail != 0.0:
                log(f"[check] WARNING present.{i}.{kind}: positions past {start} were written ({tail})")
                results[f"decoder.onnx:shared present.{i}.{kind} tail"] = {"max_abs": tail, "max_rel": tail}
    log(f"[check] decoder.onnx  shared buffer: capacity {capacity}, {start} positions written in place")


def graph_uses_gqa(path: str) -> bool:
    """Whether the graph holds GroupQueryAttention (the switch to shared-buffer mode the C# engine uses too)."""
    import onnx

    model = onnx.load(path, load_external_data=False)
    return any(n.op_type == "GroupQueryAttention" for n in model.graph.node)


def self_check(out_dir: str, ckpt: Checkpoint, arch: Arch, dtype: str, logits_last_only: bool, seed: int = 0,
               vision_crops: int = 2) -> dict:
    """Runs every graph in onnxruntime (CPU) against the PyTorch modules; returns {name: errors}.

    vision_crops random crops of the configured crop size go through vision.onnx (fewer saves time at real widths).
    """
    import onnxruntime as ort
    import torch

    np_dt = np.float16 if dtype == "float16" else np.float32
    results: dict = {}
    rng = np.random.default_rng(seed)
    so = ort.SessionOptions()
    so.log_severity_level = 3

    def session(name):
        try:
            return ort.InferenceSession(os.path.join(out_dir, name), so, providers=["CPUExecutionProvider"])
        except Exception as exc:
            log(f"[check] {name}: cannot run on the CPU EP ({type(exc).__name__}: {str(exc)[:200]}); skipped")
            return None

    t0 = time.time()
    with torch.no_grad():
        vision, sep = torch_vision(ckpt, arch)
        s = session("vision.onnx")
        if s is not None:
            px = rng.standard_normal((vision_crops, 3, arch.crop, arch.crop)).astype(np.float32)
            feats, row = s.run(None, {"pixel_values": px.astype(np_dt)})
            report(results, "vision.onnx", "image_features", feats, vision(torch.from_numpy(px)).numpy())
            report(results, "vision.onnx", "row_separator", row, sep.numpy())
        del vision
        log(f"[check] vision checked ({time.time() - t0:.1f}s)")

        llama = torch_llama(ckpt, arch)
        log(f"[check] transformers reference built ({time.time() - t0:.1f}s)")
        s = session("embed.onnx")
        table = llama.model.embed_tokens.weight
        ids = rng.integers(0, arch.vocab, size=(2, 9)).astype(np.int64)
        if s is not None:
            (emb,) = s.run(None, {"input_ids": ids})
            report(results, "embed.onnx", "inputs_embeds", emb, table[torch.from_numpy(ids)].numpy())

        s = session("decoder.onnx")
        if s is not None:
            check_decoder(s, graph_uses_gqa(os.path.join(out_dir, "decoder.onnx")), llama, arch, np_dt,
                          logits_last_only, rng, results)
    worst = max((v["max_rel"] for v in results.values()), default=float("nan"))
    log(f"[check] worst max_rel over all outputs: {worst:.3e}")
    return results


# ---------------------------------------------------------------------------------------------------------------

def export(checkpoint: str, out_dir: str, dtype: str = "float32", logits_last_only: bool = True,
           check: bool = True, model_id: str | None = None, vision_norm_eps: float = 1e-5,
           attention: str = "gqa", packed_qkv: bool = True, check_vision_crops: int = 2, fused_norm: bool = True,
           description: str | None = None) -> dict:
    t0 = time.time()
    os.makedirs(out_dir, exist_ok=True)
    np_dt = np.float16 if dtype == "float16" else np.float32
    elem = TensorProto.FLOAT16 if dtype == "float16" else TensorProto.FLOAT
    ckpt = Checkpoint(checkpoint)
    try:
        arch = Arch(ckpt, checkpoint, vision_norm_eps)
        log(arch.describe())
        build_vision(out_dir, ckpt, arch, np_dt, elem)
        log(f"vision.onnx written ({time.time() - t0:.1f}s)")
        facts = build_text(out_dir, ckpt, arch, np_dt, elem, logits_last_only, attention, packed_qkv, fused_norm)
        log(f"embed.onnx, decoder.onnx written ({time.time() - t0:.1f}s): attention {attention}, rotary "
            f"{facts['rotary']}, norm {facts['norm']}, packed qkv {packed_qkv and attention == 'gqa'}, "
            f"next_token output {facts['next_token']}")
        for name in COPIED_FILES:
            src = os.path.join(checkpoint, name)
            if os.path.exists(src):
                shutil.copyfile(src, os.path.join(out_dir, name))
        manifest = write_manifest(out_dir, checkpoint, arch, dtype, logits_last_only,
                                  model_id or arch.config.get("_name_or_path") or os.path.basename(os.path.normpath(checkpoint)),
                                  facts, description)
        t_written = time.time() - t0
        log(f"package written in {t_written:.1f}s")
        results = self_check(out_dir, ckpt, arch, dtype, logits_last_only, vision_crops=check_vision_crops) if check else {}
        log(f"export done in {time.time() - t0:.1f}s -> {out_dir}")
        return {"manifest": manifest, "check": results,
                "seconds": {"written": t_written, "total": time.time() - t0}}
    finally:
        ckpt.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="Hugging Face Magma folder (safetensors + json + tokenizer)")
    ap.add_argument("--out", required=True, help="output package folder")
    ap.add_argument("--dtype", choices=["float32", "float16", "int4"], default="float32",
                    help="int4: a float export (float16 for --target cuda, float32 for cpu) quantized by quantize_package.py")
    ap.add_argument("--all-logits", action="store_true",
                    help="logits for every position (default: last position only, [B,1,V])")
    ap.add_argument("--skip-check", action="store_true", help="do not compare the graphs against PyTorch")
    ap.add_argument("--model-id", default=None)
    ap.add_argument("--description", default=None,
                    help="what the model is, in a sentence, for people and apps that load it (manifest field description)")
    ap.add_argument("--vision-norm-eps", type=float, default=1e-5, help="ConvNeXt LayerNorm eps (1e-5 for Magma-8B)")
    ap.add_argument("--attention", choices=["gqa", "plain"], default="gqa",
                    help="gqa: com.microsoft.GroupQueryAttention, no position_ids, past/present may share one buffer "
                         "(default); plain: standard ops, position_ids input, present = concat(past, new)")
    ap.add_argument("--separate-qkv", action="store_true",
                    help="gqa only: three Q/K/V MatMuls instead of one packed QKV MatMul")
    ap.add_argument("--graph-norm", action="store_true",
                    help="gqa only: RMSNorm from standard ops instead of SkipSimplifiedLayerNormalization")
    quantize_package.add_int4_arguments(ap)
    args = ap.parse_args(argv)
    if args.dtype == "int4":
        quantize_package.export_int4(export, args)
        return 0
    export(args.checkpoint, args.out, args.dtype, not args.all_logits, not args.skip_check, args.model_id,
           args.vision_norm_eps, args.attention, not args.separate_qkv, fused_norm=not args.graph_norm,
           description=args.description)
    return 0


if __name__ == "__main__":
    sys.exit(main())
