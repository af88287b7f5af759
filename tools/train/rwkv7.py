"""RWKV-7 ("Goose") language model written from the published formulas, with the official BlinkDL
state-dict key names and shapes, so `model.state_dict()` is a loadable BlinkDL `.pth`.

Two ways to run it:
- `model(tokens)` — training: [B, T] tokens from a zero state, the WKV recurrence in the C++ kernel.
- `model(tokens, state)` — inference: continues from `state` (see `zero_state`) with the PyTorch
  reference recurrence and returns (logits, new_state); T = 1 is the one-token-at-a-time mode.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from wkv7 import wkv7, wkv7_reference

HEAD_SIZE = 64


@dataclass
class Config:
    n_layer: int = 4
    n_embd: int = 256
    vocab: int = 256
    ffn: int = 0      # 0 = 4 * n_embd
    d_w: int = 0      # LoRA ranks; 0 = the default for n_embd (see lora_dims)
    d_a: int = 0
    d_v: int = 0
    d_g: int = 0

    def lora_dims(self):
        # The published RWKV-7 training code scales the ranks with sqrt(C); rounded to 32 (min 32).
        def r(f, p):
            return max(32, int(round(f * (self.n_embd ** p) / 32)) * 32)
        return (self.d_w or r(1.8, 0.5), self.d_a or r(1.8, 0.5), self.d_v or r(1.3, 0.5),
                self.d_g or r(0.6, 0.8))

    @property
    def ffn_dim(self):
        return self.ffn or 4 * self.n_embd


def _p(*shape):
    return nn.Parameter(torch.zeros(*shape))


class TimeMix(nn.Module):
    def __init__(self, cfg: Config, layer: int):
        super().__init__()
        C, H = cfg.n_embd, cfg.n_embd // HEAD_SIZE
        Dw, Da, Dv, Dg = cfg.lora_dims()
        self.layer, self.n_head = layer, H
        for name in ("x_r", "x_w", "x_k", "x_v", "x_a", "x_g"):
            setattr(self, name, _p(1, 1, C))
        self.w0, self.w1, self.w2 = _p(1, 1, C), _p(C, Dw), _p(Dw, C)
        self.a0, self.a1, self.a2 = _p(1, 1, C), _p(C, Da), _p(Da, C)
        if layer > 0:
            self.v0, self.v1, self.v2 = _p(1, 1, C), _p(C, Dv), _p(Dv, C)
        self.g1, self.g2 = _p(C, Dg), _p(Dg, C)
        self.k_k, self.k_a, self.r_k = _p(1, 1, C), _p(1, 1, C), _p(H, HEAD_SIZE)
        self.receptance = nn.Linear(C, C, bias=False)
        self.key = nn.Linear(C, C, bias=False)
        self.value = nn.Linear(C, C, bias=False)
        self.output = nn.Linear(C, C, bias=False)
        self.ln_x = nn.GroupNorm(H, C, eps=64e-5)

    def forward(self, xx, prev, v_first, wkv_state):
        """xx: [B,T,C] (already ln1-normalised); prev: [B,C] the previous token's xx.
        Returns (out, v_first, last xx, new wkv_state or None)."""
        B, T, C = xx.shape
        H, N = self.n_head, HEAD_SIZE
        shifted = torch.cat([prev.unsqueeze(1), xx[:, :-1]], dim=1)
        d = shifted - xx
        xr, xw, xk = xx + d * self.x_r, xx + d * self.x_w, xx + d * self.x_k
        xv, xa, xg = xx + d * self.x_v, xx + d * self.x_a, xx + d * self.x_g

        r = self.receptance(xr)
        w = -F.softplus(-(self.w0 + torch.tanh(xw @ self.w1) @ self.w2)) - 0.5
        k = self.key(xk)
        v = self.value(xv)
        if self.layer == 0:
            v_first = v
        else:
            v = v + (v_first - v) * torch.sigmoid(self.v0 + (xv @ self.v1) @ self.v2)
        a = torch.sigmoid(self.a0 + (xa @ self.a1) @ self.a2)
        g = torch.sigmoid(xg @ self.g1) @ self.g2
        kk = F.normalize((k * self.k_k).view(B, T, H, N), dim=-1, p=2.0, eps=1e-12).view(B, T, C)
        k = k * (1 + (a - 1) * self.k_a)
        decay = torch.exp(-torch.exp(w.float()))

        args = [t.float().view(B, T, H, N) for t in (r, decay, k, v, -kk, kk * a)]
        if wkv_state is None:
            y, new_state = wkv7(*args), None
        else:
            y, new_state = wkv7_reference(*args, state=wkv_state)
        y = self.ln_x(y.reshape(B * T, C)).view(B, T, C)
        rkv = ((r.float() * k.float()).view(B, T, H, N) * self.r_k).sum(-1, keepdim=True) \
            * v.float().view(B, T, H, N)
        y = y + rkv.view(B, T, C)
        return self.output(y.to(g.dtype) * g), v_first, xx[:, -1], new_state


class ChannelMix(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        C = cfg.n_embd
        self.x_k = _p(1, 1, C)
        self.key = nn.Linear(C, cfg.ffn_dim, bias=False)
        self.value = nn.Linear(cfg.ffn_dim, C, bias=False)

    def forward(self, xx, prev):
        shifted = torch.cat([prev.unsqueeze(1), xx[:, :-1]], dim=1)
        kx = xx + (shifted - xx) * self.x_k
        return self.value(torch.relu(self.key(kx)) ** 2), xx[:, -1]


class Block(nn.Module):
    def __init__(self, cfg: Config, layer: int):
        super().__init__()
        C = cfg.n_embd
        if layer == 0:
            self.ln0 = nn.LayerNorm(C, eps=1e-5)
        self.ln1 = nn.LayerNorm(C, eps=1e-5)
        self.ln2 = nn.LayerNorm(C, eps=1e-5)
        self.att = TimeMix(cfg, layer)
        self.ffn = ChannelMix(cfg)


class RWKV7(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.emb = nn.Embedding(cfg.vocab, cfg.n_embd)
        self.blocks = nn.ModuleList([Block(cfg, i) for i in range(cfg.n_layer)])
        self.ln_out = nn.LayerNorm(cfg.n_embd, eps=1e-5)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab, bias=False)

    def zero_state(self, batch=1):
        """Per layer: [att_x_prev [B,C], wkv [B,H,N,N] (value, key), ffn_x_prev [B,C]]."""
        C, H = self.cfg.n_embd, self.cfg.n_embd // HEAD_SIZE
        return [[torch.zeros(batch, C), torch.zeros(batch, H, HEAD_SIZE, HEAD_SIZE),
                 torch.zeros(batch, C)] for _ in range(self.cfg.n_layer)]

    def forward(self, idx, state=None):
        B, T = idx.shape
        C = self.cfg.n_embd
        x = self.emb(idx)
        zeros = x.new_zeros(B, C)
        new_state = [] if state is not None else None
        v_first = None
        for i, blk in enumerate(self.blocks):
            if i == 0:
                x = blk.ln0(x)
            att_prev, wkv_s, ffn_prev = state[i] if state is not None else (zeros, None, zeros)
            out, v_first, att_last, wkv_s = blk.att(blk.ln1(x), att_prev.to(x.dtype), v_first, wkv_s)
            x = x + out
            out, ffn_last = blk.ffn(blk.ln2(x), ffn_prev.to(x.dtype))
            x = x + out
            if state is not None:
                new_state.append([att_last, wkv_s, ffn_last])
        logits = self.head(self.ln_out(x))
        return logits if state is None else (logits, new_state)

    @staticmethod
    def config_from_state_dict(sd):
        """Reads n_layer, n_embd, vocab, ffn and LoRA ranks from official key shapes."""
        n_layer = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))
        vocab, C = sd["emb.weight"].shape
        att = "blocks.1.att." if n_layer > 1 else "blocks.0.att."
        d_v = sd[att + "v1"].shape[1] if att + "v1" in sd else 32
        return Config(n_layer=n_layer, n_embd=C, vocab=vocab, ffn=sd["blocks.0.ffn.key.weight"].shape[0],
                      d_w=sd[att + "w1"].shape[1], d_a=sd[att + "a1"].shape[1], d_v=d_v,
                      d_g=sd[att + "g1"].shape[1])

    @classmethod
    def from_state_dict(cls, sd):
        model = cls(cls.config_from_state_dict(sd))
        # Some official files carry blocks.0.att.v0/v1/v2, which layer 0 never uses.
        unused = {"blocks.0.att.v0", "blocks.0.att.v1", "blocks.0.att.v2"}
        model.load_state_dict({k: v.float() for k, v in sd.items() if k not in unused}, strict=True)
        return model

    # ---- initialisation -------------------------------------------------------------------
    @torch.no_grad()
    def init_weights(self, seed=0):
        """RWKV-7 style initialisation, following the ideas of the published training code:
        token-shift mixes and decays spread across channels and depth, small random LoRA inputs with
        zero outputs, zero output projections, tiny embeddings."""
        g = torch.Generator().manual_seed(seed)
        cfg = self.cfg
        C, L, H = cfg.n_embd, cfg.n_layer, cfg.n_embd // HEAD_SIZE

        def ortho(shape, gain):
            t = torch.empty(*shape)
            nn.init.orthogonal_(t, gain=gain, generator=g) if 'generator' in nn.init.orthogonal_.__code__.co_varnames \
                else nn.init.orthogonal_(t, gain=gain)
            return t

        def uniform(shape, bound):
            return (torch.rand(*shape, generator=g) * 2 - 1) * bound

        self.emb.weight.copy_(uniform((cfg.vocab, C), 1e-4))
        self.head.weight.copy_(ortho((cfg.vocab, C), 0.5 * math.sqrt(cfg.vocab / C)))
        for mod in self.modules():
            if isinstance(mod, nn.LayerNorm) or isinstance(mod, nn.GroupNorm):
                mod.weight.fill_(1.0)
                mod.bias.zero_()
        for i, blk in enumerate(self.blocks):
            att, ffn = blk.att, blk.ffn
            r01 = i / max(L - 1, 1)          # 0 at the first layer, 1 at the last
            r1a0 = 1.0 - i / L               # 1 at the first layer, towards 0 at the last
            ddd = torch.arange(C, dtype=torch.float32).view(1, 1, C) / C
            att.x_r.copy_(1.0 - ddd ** (0.2 * r1a0))
            att.x_w.copy_(1.0 - ddd ** (0.9 * r1a0))
            att.x_k.copy_(1.0 - ddd ** (0.7 * r1a0))
            att.x_v.copy_(1.0 - ddd ** (0.7 * r1a0))
            att.x_a.copy_(1.0 - ddd ** (0.9 * r1a0))
            att.x_g.copy_(1.0 - ddd ** (0.2 * r1a0))
            # decay: w_log from about -7 (slow, long memory) to -0.5 (fast) across channels
            n = torch.arange(C, dtype=torch.float32)
            decay_speed = -7 + 5 * (n / (C - 1)) ** (0.85 + 1.0 * r01 ** 0.5)
            att.w0.copy_((decay_speed + 0.5).view(1, 1, C))
            att.w1.zero_()
            att.w2.copy_(ortho((att.w2.shape[0], C), 0.1))
            att.a0.zero_()
            att.a1.zero_()
            att.a2.copy_(ortho((att.a2.shape[0], C), 0.1))
            if i > 0:
                att.v0.fill_(1.0)
                att.v1.zero_()
                att.v2.copy_(ortho((att.v2.shape[0], C), 0.1))
            att.g1.zero_()
            att.g2.copy_(ortho((att.g2.shape[0], C), 0.1))
            att.k_k.fill_(0.85)
            att.k_a.fill_(1.0)
            att.r_k.fill_(-0.04)
            bound = 0.5 / math.sqrt(C)
            att.receptance.weight.copy_(uniform((C, C), bound))
            att.key.weight.copy_(uniform((C, C), 0.05 * bound))
            att.value.weight.copy_(uniform((C, C), bound))
            att.output.weight.zero_()
            att.ln_x.weight.copy_(torch.full((C,), ((1 + i) / L) ** 0.7))
            ffn.x_k.copy_(1.0 - ddd ** (r1a0 ** 4))
            ffn.key.weight.copy_(ortho((cfg.ffn_dim, C), 1.0))
            ffn.value.weight.zero_()

    def param_groups(self, weight_decay):
        """AdamW groups: weight decay on the big matrices only."""
        decay, no_decay = [], []
        for name, p in self.named_parameters():
            big = p.dim() == 2 and (name.endswith(".weight") and "ln" not in name) and "emb" not in name
            (decay if big else no_decay).append(p)
        return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
