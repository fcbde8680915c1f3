"""Stand-ins for --local-fallback: let test_train_web.py run train_web.py's data, batching, loss, resume, greedy and
report code on a machine without timm or transformers (this development machine has torch 1.13 CPU only). The
tokenizer needs no stand-in: without the tokenizers package, --local-fallback reads the real tokenizer.json through
pybpe.PyBPE.

NOT the modules that get trained or exported: train_web.py refuses to train without the real packages unless
--local-fallback is given, and its report names the stand-ins when they were used. The module names and parameter
names follow timm's ConvNeXt and transformers' LlamaForCausalLM so that the state dict has the same keys.
"""
from __future__ import annotations

import types

import torch
import torch.nn.functional as F
from torch import nn


class LayerNorm2d(nn.LayerNorm):
    def forward(self, x):
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps).permute(0, 3, 1, 2)


class Mlp(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-5)
        self.mlp = Mlp(dim)
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))

    def forward(self, x):
        y = self.mlp(self.norm(self.conv_dw(x).permute(0, 2, 3, 1)))
        return x + (y * self.gamma).permute(0, 3, 1, 2)


class Stage(nn.Module):
    def __init__(self, c_in: int, c_out: int, depth: int, first: bool):
        super().__init__()
        self.downsample = nn.Identity() if first else nn.Sequential(LayerNorm2d(c_in, eps=1e-5), nn.Conv2d(c_in, c_out, 2, 2))
        self.blocks = nn.Sequential(*[Block(c_out) for _ in range(depth)])

    def forward(self, x):
        return self.blocks(self.downsample(x))


def convnext(depths, dims):
    m = nn.Module()
    m.stem = nn.Sequential(nn.Conv2d(3, dims[0], 4, 4), LayerNorm2d(dims[0], eps=1e-5))
    m.stages = nn.Sequential(*[Stage(dims[max(i - 1, 0)], dims[i], depths[i], i == 0) for i in range(len(dims))])
    return m


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(dim)), eps

    def forward(self, x):
        return self.weight * (x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)


def rotate_half(x):
    a, b = x.chunk(2, -1)
    return torch.cat((-b, a), -1)


class Attention(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        h, self.n, self.kv, self.d = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        self.q_proj = nn.Linear(h, self.n * self.d, bias=False)
        self.k_proj = nn.Linear(h, self.kv * self.d, bias=False)
        self.v_proj = nn.Linear(h, self.kv * self.d, bias=False)
        self.o_proj = nn.Linear(self.n * self.d, h, bias=False)
        self.theta = c["rope_theta"]

    def forward(self, x, mask, pos):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.n, self.d).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv, self.d).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv, self.d).transpose(1, 2)
        inv = 1.0 / (self.theta ** (torch.arange(0, self.d, 2, device=x.device).float() / self.d))
        ang = pos[:, None, :, None].float() * inv
        cos, sin = torch.cat((ang, ang), -1).cos().to(q.dtype), torch.cat((ang, ang), -1).sin().to(q.dtype)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(self.n // self.kv, 1)
        v = v.repeat_interleave(self.n // self.kv, 1)
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        allowed = causal[None, None] & mask[:, None, None, :].bool()
        w = (q @ k.transpose(-1, -2)) / self.d ** 0.5  # torch 1.13 has no scaled_dot_product_attention
        y = w.masked_fill(~allowed, float("-inf")).softmax(-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(b, t, -1))


class Layer(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        h = c["hidden_size"]
        self.self_attn = Attention(c)
        self.mlp = nn.Module()
        self.mlp.gate_proj = nn.Linear(h, c["intermediate_size"], bias=False)
        self.mlp.up_proj = nn.Linear(h, c["intermediate_size"], bias=False)
        self.mlp.down_proj = nn.Linear(c["intermediate_size"], h, bias=False)
        self.input_layernorm = RMSNorm(h, c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(h, c["rms_norm_eps"])

    def forward(self, x, mask, pos):
        x = x + self.self_attn(self.input_layernorm(x), mask, pos)
        y = self.post_attention_layernorm(x)
        return x + self.mlp.down_proj(F.silu(self.mlp.gate_proj(y)) * self.mlp.up_proj(y))


class Decoder(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        nn.init.normal_(self.embed_tokens.weight, std=0.02)
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, inputs_embeds, attention_mask, position_ids, use_cache=False):
        x = inputs_embeds
        for layer in self.layers:
            x = layer(x, attention_mask, position_ids)
        return types.SimpleNamespace(last_hidden_state=self.norm(x))


def llama(c: dict):
    m = nn.Module()
    m.model = Decoder(c)
    m.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
    return m
