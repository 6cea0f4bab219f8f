#!/usr/bin/env python3
"""PyTorch reference for `lia bench train --vs-torch`: the stage-1 GAN training step of this project
(src/train/stage1.ts, DecoderTrainer.trainStep), re-implemented layer for layer so that its
throughput can be compared with the TypeScript/tfjs one on the same machine.

Same architecture as src/models (parameter counts match exactly), NCHW instead of NHWC:
  G: z -> y = Phi^-1(z) (NICE additive/affine coupling, src/models/invertible.ts) or the MLP mapping
     (pixel norm + N equalised dense layers, src/models/mapping.ts) -> synthesis (learned 4x4 constant;
     per resolution: upsampling styled conv, styled conv, toRGB with nearest x2 upsampled skips).
     Modulated convs are the non-fused form of src/nn/modulated-conv.ts: x*s, one shared conv,
     output * demodulation coefficients.
  D: 1x1 fromRGB, residual blocks conv3 -> avgpool -> conv3 (+ avgpool -> 1x1 skip) / sqrt2,
     minibatch std, 3x3 conv, dense, dense (src/models/discriminator.ts).
  Equalised learning rate everywhere: weights ~ N(0, 1/lrMul^2), scaled at run time by lrMul/sqrt(fanIn).
Step order (stage1.ts): D step (fakes generated without gradient, logistic loss on reals vs fakes);
every r1Interval steps (step % I == 0, from step 0) lazy R1 (gamma/2 * I * E|grad_x D(x)|^2, second
order via autograd.grad(create_graph=True)); G step (non-saturating loss with style mixing, D's
parameters frozen); running mean of y; EMA of G (half-life ramp-up as in stage1.ts).
Adam beta=(0, 0.99), eps 1e-8 for G; lr*c and beta2 = 0.99**c with c = I/(I+1) for D.

Real images are uniform random tensors in [-1, 1]: this measures throughput, nothing else.

Input (stdin, one JSON object), e.g.
  {"resolution":32,"channels":1,"batch":32,"latentSize":128,"widthBase":512,"widthMax":128,
   "mapping":"invertible","phiBlocks":4,"mlpLayers":8,"r1Interval":16,"mixingProb":0.9,
   "steps":20,"warmup":2,"threads":2,"device":"cpu"}
Optional keys (stage-1 defaults of src/train/decoder-config.ts): coupling ("additive"), mappingLrMul
(0.01), lr (0.0025), r1Gamma (10), emaKimg (10), yAvgBeta (0.995), mbstdGroup (4), seed (0); tf32
("on"/"off" on CUDA: TF32 in cuDNN convolutions and cuBLAS matrix products; null: PyTorch's defaults);
phases (true: synchronise after each phase to time it; false: no synchronisation inside a step, the
phase times are null).
Output (stdout, one JSON line): img_per_sec, ms_per_step (mean over the timed steps, R1 amortised),
ms_d, ms_g (medians of the per-phase wall times), ms_r1 (median over the timed R1 steps, null when
none of the timed steps was an R1 step), r1_steps, steps, g_params, d_params, torch_version, device,
threads, peak_rss_mb.
Run it with a python3 that has torch (Debian: /usr/bin/python3 with python3-torch); it does not use
__file__, so it also runs as `python3 -c "$(cat scripts/bench_train_torch.py)"`.
"""
import copy
import json
import math
import random
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SQRT2 = math.sqrt(2.0)
EMA_RAMPUP = 0.05  # stage1.ts: the EMA half-life never exceeds 5 % of the images seen so far


# ---------------------------------------------------------------------------------------------
# Building blocks (src/nn)
# ---------------------------------------------------------------------------------------------

def activate(x, act):
    """StyleGAN's fused leaky ReLU: slope 0.2, then x sqrt2 (src/nn/ops.ts)."""
    return F.leaky_relu(x, 0.2) * SQRT2 if act == "lrelu" else x


def upsample2x(x):
    """Nearest-neighbour x2 (the tfjs gradient is 4*avgPool = a 2x2 sum pool, the same as torch's)."""
    return F.interpolate(x, scale_factor=2, mode="nearest")


def downsample2x(x):
    return F.avg_pool2d(x, 2, 2)


def pixel_norm(x):
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + 1e-8)


class EqualDense(nn.Module):
    """src/nn/dense.ts. Weight stored [out, in] (tfjs: [in, out]); same values, same count."""

    def __init__(self, fin, fout, bias=True, bias_init=0.0, lr_mul=1.0, act="linear"):
        super().__init__()
        self.lr_mul = lr_mul
        self.act = act
        self.w_scale = lr_mul / math.sqrt(fin)
        self.weight = nn.Parameter(torch.randn(fout, fin) / lr_mul)
        self.bias = nn.Parameter(torch.full((fout,), bias_init / lr_mul)) if bias else None

    def forward(self, x):
        y = x.matmul((self.weight * self.w_scale).t())
        if self.bias is not None:
            y = y + self.bias * self.lr_mul
        return activate(y, self.act)


class EqualConv2d(nn.Module):
    """src/nn/conv.ts: stride 1, 'same' padding. Weight [out, in, k, k] (tfjs: [k, k, in, out])."""

    def __init__(self, cin, cout, k, bias=True, act="linear"):
        super().__init__()
        self.act = act
        self.pad = k // 2
        self.w_scale = 1.0 / math.sqrt(cin * k * k)
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None

    def forward(self, x):
        y = F.conv2d(x, self.weight * self.w_scale, padding=self.pad)
        if self.bias is not None:
            y = y + self.bias.view(1, -1, 1, 1)
        return activate(y, self.act)


class ModulatedConv2d(nn.Module):
    """Non-fused modulated conv (src/nn/modulated-conv.ts): y = conv(up?(x*s), W*c) * d."""

    def __init__(self, cin, cout, k, latent, demodulate=True, upsample=False):
        super().__init__()
        self.cin, self.cout = cin, cout
        self.pad = k // 2
        self.demodulate = demodulate
        self.upsample = upsample
        self.affine = EqualDense(latent, cin, bias_init=1.0)  # styles start at 1
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.w_scale = 1.0 / math.sqrt(cin * k * k)

    def forward(self, x, y):
        s = self.affine(y)  # [N, in]
        h = x * s.view(-1, self.cin, 1, 1)
        if self.upsample:
            h = upsample2x(h)
        w = self.weight * self.w_scale
        out = F.conv2d(h, w, padding=self.pad)
        if self.demodulate:
            wsq = w.square().sum(dim=(2, 3))  # [out, in]
            d = torch.rsqrt(s.square().matmul(wsq.t()) + 1e-8)  # [N, out]
            out = out * d.view(-1, self.cout, 1, 1)
        return out


class NoiseInjection(nn.Module):
    """Per-pixel noise with a learned scalar strength (initially 0); 'random' mode, as in training."""

    def __init__(self, res):
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(()))
        self.register_buffer("fixed", torch.randn(1, 1, res, res))

    def forward(self, x):
        n, _, h, w = x.shape
        noise = torch.randn(n, 1, h, w, device=x.device, dtype=x.dtype)
        return x + noise * self.strength


class StyledConv(nn.Module):
    """Modulated conv -> noise -> bias -> lrelu*sqrt2."""

    def __init__(self, cin, cout, latent, res, upsample=False):
        super().__init__()
        self.conv = ModulatedConv2d(cin, cout, 3, latent, upsample=upsample)
        self.noise = NoiseInjection(res)
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, x, y):
        h = self.noise(self.conv(x, y))
        return activate(h + self.bias.view(1, -1, 1, 1), "lrelu")


class ToRGB(nn.Module):
    """1x1 modulated conv without demodulation, plus bias."""

    def __init__(self, cin, channels, latent):
        super().__init__()
        self.conv = ModulatedConv2d(cin, channels, 1, latent, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x, y):
        return self.conv(x, y) + self.bias.view(1, -1, 1, 1)


def minibatch_std(x, group=4):
    """src/nn/minibatch-std.ts in NCHW: [N, C, H, W] -> [N, C+1, H, W]; sample k gets group k mod N/g."""
    n, c, h, w = x.shape
    g = min(group, n)
    if n % g:
        raise ValueError(f"minibatch_std: batch {n} is not divisible by the group size {g}")
    grouped = x.reshape(g, n // g, c, h, w)
    centred = grouped - grouped.mean(dim=0, keepdim=True)
    std = torch.sqrt(centred.square().mean(dim=0) + 1e-8)  # [n/g, c, h, w]
    s = std.mean(dim=(1, 2, 3))  # [n/g]
    fmap = s.view(n // g, 1, 1, 1).repeat(g, 1, h, w)
    return torch.cat([x, fmap], dim=1)


# ---------------------------------------------------------------------------------------------
# Models (src/models)
# ---------------------------------------------------------------------------------------------

def channel_width(r, base, wmax):
    return max(1, min(wmax, base // r))


def levels(resolution):
    if resolution < 8 or resolution & (resolution - 1):
        raise ValueError(f"resolution must be a power of two >= 8, got {resolution}")
    out, r = [], 4
    while r <= resolution:
        out.append(r)
        r *= 2
    return out


class CouplingNet(nn.Module):
    def __init__(self, half, width, out, lr_mul):
        super().__init__()
        self.fc1 = EqualDense(half, width, lr_mul=lr_mul, act="lrelu")
        self.fc2 = EqualDense(width, out, lr_mul=lr_mul, act="lrelu")

    def forward(self, x):
        return self.fc2(self.fc1(x))


class CouplingBlock(nn.Module):
    def __init__(self, latent, coupling, lr_mul):
        super().__init__()
        self.half = latent // 2
        self.t = CouplingNet(self.half, latent, self.half, lr_mul)
        self.s = CouplingNet(self.half, latent, self.half, lr_mul) if coupling == "affine" else None

    def forward(self, v):  # z-side (encoder): not used by stage 1, kept for completeness
        v1, v2 = v[:, : self.half], v[:, self.half:]
        t = self.t(v1)
        u2 = v2 * torch.exp(torch.tanh(self.s(v1))) + t if self.s is not None else v2 + t
        return torch.flip(torch.cat([v1, u2], dim=1), dims=[1])

    def inverse(self, u):
        u = torch.flip(u, dims=[1])
        u1, u2 = u[:, : self.half], u[:, self.half:]
        v2 = u2 - self.t(u1)
        if self.s is not None:
            v2 = v2 * torch.exp(-torch.tanh(self.s(u1)))
        return torch.cat([u1, v2], dim=1)


class InvertibleNetwork(nn.Module):
    def __init__(self, latent, blocks, coupling, lr_mul):
        super().__init__()
        if latent % 2:
            raise ValueError(f"Phi needs an even latent size, got {latent}")
        self.blocks = nn.ModuleList([CouplingBlock(latent, coupling, lr_mul) for _ in range(blocks)])

    def to_y(self, z):  # y = Phi^-1(z)
        h = z
        for b in reversed(self.blocks):
            h = b.inverse(h)
        return h


class MlpMapping(nn.Module):
    def __init__(self, latent, layers, lr_mul):
        super().__init__()
        self.layers = nn.ModuleList([EqualDense(latent, latent, lr_mul=lr_mul, act="lrelu") for _ in range(layers)])

    def to_y(self, z):
        h = pixel_norm(z)
        for l in self.layers:
            h = l(h)
        return h


class Synthesis(nn.Module):
    def __init__(self, resolution, channels, latent, base, wmax):
        super().__init__()
        res = levels(resolution)
        w = lambda r: channel_width(r, base, wmax)
        self.const = nn.Parameter(torch.randn(1, w(4), 4, 4))
        self.ups = nn.ModuleList()
        self.convs = nn.ModuleList()
        self.torgbs = nn.ModuleList()
        for r in res:
            c = w(r)
            prev = w(r // 2) if r > 4 else c
            self.ups.append(StyledConv(prev, c, latent, r, upsample=True) if r > 4 else nn.Identity())
            self.convs.append(StyledConv(c, c, latent, r))
            self.torgbs.append(ToRGB(c, channels, latent))
        self.num_ws = 2 * len(res)

    def forward(self, ws):
        """ws [N, numWs, d] or y [N, d] broadcast to every layer; ws index per layer as in synthesis.ts."""
        n = ws.shape[0]
        wsel = (lambda i: ws) if ws.dim() == 2 else (lambda i: ws[:, i])
        x = self.const.repeat(n, 1, 1, 1)
        rgb = None
        k = 0
        for i, (up, conv, torgb) in enumerate(zip(self.ups, self.convs, self.torgbs)):
            has_up = i > 0
            if has_up:
                x = up(x, wsel(k))
            x = conv(x, wsel(k + (1 if has_up else 0)))
            k += 1 if has_up else 0
            y = torgb(x, wsel(k + 1))
            rgb = upsample2x(rgb) + y if rgb is not None else y
            k += 1
        return rgb


class Generator(nn.Module):
    def __init__(self, cfg, channels):
        super().__init__()
        latent = cfg["latentSize"]
        if cfg["mapping"] == "invertible":
            self.mapping = InvertibleNetwork(latent, cfg["phiBlocks"], cfg["coupling"], cfg["mappingLrMul"])
        elif cfg["mapping"] == "mlp":
            self.mapping = MlpMapping(latent, cfg["mlpLayers"], cfg["mappingLrMul"])
        else:
            raise ValueError(f"mapping must be 'invertible' or 'mlp', got {cfg['mapping']!r}")
        self.synthesis = Synthesis(cfg["resolution"], channels, latent, cfg["widthBase"], cfg["widthMax"])
        self.register_buffer("y_avg", torch.zeros(latent))

    @property
    def num_ws(self):
        return self.synthesis.num_ws

    def to_y(self, z):
        return self.mapping.to_y(z)

    def mix_ws(self, y1, y2, crossover):
        n = self.num_ws
        k = max(0, min(n, crossover))
        parts = []
        if k > 0:
            parts.append(y1.unsqueeze(1).expand(-1, k, -1))
        if k < n:
            parts.append(y2.unsqueeze(1).expand(-1, n - k, -1))
        return torch.cat(parts, dim=1)

    def forward(self, z, mix=None):
        y = self.to_y(z)
        if mix is None:
            return self.synthesis(y)
        z2, crossover = mix
        return self.synthesis(self.mix_ws(y, self.to_y(z2), crossover))


class ResBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = EqualConv2d(cin, cin, 3, act="lrelu")
        self.conv2 = EqualConv2d(cin, cout, 3, act="lrelu")
        self.skip = EqualConv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        main = self.conv2(downsample2x(self.conv1(x)))
        skip = self.skip(downsample2x(x))
        return (main + skip) * math.sqrt(0.5)


class Discriminator(nn.Module):
    def __init__(self, cfg, channels):
        super().__init__()
        res = list(reversed(levels(cfg["resolution"])))  # R, R/2, ..., 4
        w = lambda r: channel_width(r, cfg["widthBase"], cfg["widthMax"])
        self.mbstd_group = cfg["mbstdGroup"]
        self.fromrgb = EqualConv2d(channels, w(cfg["resolution"]), 1, act="lrelu")
        self.blocks = nn.ModuleList([ResBlock(w(r), w(r // 2)) for r in res[:-1]])
        c4 = w(4)
        self.final_conv = EqualConv2d(c4 + 1, c4, 3, act="lrelu")
        self.fc = EqualDense(16 * c4, c4, act="lrelu")
        self.out = EqualDense(c4, 1)

    def forward(self, x):
        h = self.fromrgb(x)
        for b in self.blocks:
            h = b(h)
        h = self.final_conv(minibatch_std(h, self.mbstd_group))
        # NCHW flattening orders fc's inputs (c, h, w) instead of tfjs's (h, w, c): a fixed permutation
        # of fc's input rows, i.e. the same layer.
        return self.out(self.fc(h.flatten(1)))


def num_params(m):
    return sum(p.numel() for p in m.parameters())


# ---------------------------------------------------------------------------------------------
# Training step (src/train/stage1.ts)
# ---------------------------------------------------------------------------------------------

DEFAULTS = {
    "resolution": 32, "channels": 1, "batch": 32, "latentSize": 128, "widthBase": 1024, "widthMax": 128,
    "mapping": "invertible", "phiBlocks": 4, "coupling": "additive", "mlpLayers": 8, "mappingLrMul": 0.01,
    "lr": 0.0025, "r1Gamma": 10.0, "r1Interval": 16, "mixingProb": 0.9, "emaKimg": 10.0, "yAvgBeta": 0.995,
    "mbstdGroup": 4, "seed": 0, "steps": 10, "warmup": 2, "threads": 1, "device": "cpu", "tf32": None, "phases": True,
}


class Trainer:
    def __init__(self, cfg, device):
        self.cfg = cfg
        self.dev = device
        ch = cfg["channels"]
        torch.manual_seed(cfg["seed"])
        self.G = Generator(cfg, ch).to(device)
        self.Gema = copy.deepcopy(self.G).requires_grad_(False)
        torch.manual_seed(cfg["seed"] + 1)
        self.D = Discriminator(cfg, ch).to(device)
        self.g_opt = torch.optim.Adam(self.G.parameters(), lr=cfg["lr"], betas=(0.0, 0.99), eps=1e-8)
        c = cfg["r1Interval"] / (cfg["r1Interval"] + 1)  # lazy regularisation (StyleGAN2)
        self.d_opt = torch.optim.Adam(self.D.parameters(), lr=cfg["lr"] * c, betas=(0.0, 0.99 ** c), eps=1e-8)
        self.rng = random.Random(cfg["seed"] + 2)
        self.step = 0
        self.images_seen = 0
        self.g_params = list(self.G.parameters())
        self.ema_pairs = list(zip(self.Gema.parameters(), self.G.parameters()))
        self.buf_pairs = list(zip(self.Gema.buffers(), self.G.buffers()))
        self.sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        # Without phase timing nothing waits for the GPU inside a step (as in a training run).
        self.phase_sync = self.sync if cfg["phases"] else (lambda: None)

    def sample_latents(self):
        b, d = self.cfg["batch"], self.cfg["latentSize"]
        z = torch.randn(b, d, device=self.dev)
        mix = None
        if self.rng.random() < self.cfg["mixingProb"]:
            mix = (torch.randn(b, d, device=self.dev), 1 + self.rng.randrange(self.G.num_ws - 1))
        return z, mix

    def train_step(self):
        """One iteration; returns the wall times (s) of the D, R1 (or None) and G phases."""
        cfg = self.cfg
        n, ch, r = cfg["batch"], cfg["channels"], cfg["resolution"]
        real = torch.rand(n, ch, r, r, device=self.dev) * 2 - 1
        self.phase_sync()

        # 1. D step; the fakes carry no gradient to G.
        t0 = time.perf_counter()
        self.D.requires_grad_(True)
        z, mix = self.sample_latents()
        with torch.no_grad():
            fake = self.G(z, mix)
        real_logits = self.D(real)
        fake_logits = self.D(fake)
        loss_d = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
        self.d_opt.zero_grad(set_to_none=True)
        loss_d.backward()
        self.d_opt.step()
        self.phase_sync()
        t1 = time.perf_counter()

        # 2. Lazy R1 on the same reals.
        t_r1 = None
        if cfg["r1Gamma"] > 0 and self.step % cfg["r1Interval"] == 0:
            weight = cfg["r1Gamma"] / 2 * cfg["r1Interval"]
            x = real.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.D(x).sum(), x, create_graph=True)
            penalty = g.square().sum(dim=(1, 2, 3)).mean()
            self.d_opt.zero_grad(set_to_none=True)
            (penalty * weight).backward()
            self.d_opt.step()
            self.phase_sync()
            t_r1 = time.perf_counter() - t1

        # 3. G step; D's parameters get no gradient (tf.variableGrads over G's variables only).
        t2 = time.perf_counter()
        self.D.requires_grad_(False)
        z, mix = self.sample_latents()
        loss_g = F.softplus(-self.D(self.G(z, mix))).mean()
        self.g_opt.zero_grad(set_to_none=True)
        loss_g.backward()
        self.g_opt.step()

        # 4. Running mean of y, then the EMA generator.
        with torch.no_grad():
            y_mean = self.G.to_y(z).mean(dim=0)
            self.G.y_avg.copy_(y_mean + (self.G.y_avg - y_mean) * cfg["yAvgBeta"])
            self.images_seen += n
            self.step += 1
            half_life = min(cfg["emaKimg"] * 1000, self.images_seen * EMA_RAMPUP)
            beta = 0.5 ** (n / half_life) if half_life > 0 else 0.0
            for e, p in self.ema_pairs:  # ema <- p + beta (ema - p)
                e.lerp_(p, 1.0 - beta)
            for e, p in self.buf_pairs:
                e.copy_(p)
        self.phase_sync()
        t3 = time.perf_counter()
        return t1 - t0, t_r1, t3 - t2


def main():
    raw = sys.stdin.read()
    user = json.loads(raw) if raw.strip() else {}
    unknown = sorted(set(user) - set(DEFAULTS))
    if unknown:
        print(f"bench_train_torch: ignoring unknown keys {unknown}", file=sys.stderr)
    cfg = {**DEFAULTS, **{k: v for k, v in user.items() if v is not None}}
    if cfg["coupling"] not in ("additive", "affine"):
        raise ValueError(f"coupling must be 'additive' or 'affine', got {cfg['coupling']!r}")

    threads = max(1, int(cfg["threads"]))
    torch.set_num_threads(threads)
    want = cfg["device"]
    if want == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but torch.cuda.is_available() is false")
    if want not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {want!r}")
    device = torch.device(want)
    # TF32 on CUDA: "on" in cuDNN convolutions and cuBLAS matrix products, "off" in neither, unset:
    # PyTorch's defaults (convolutions on, matrix products off).
    if cfg["tf32"] not in (None, "on", "off"):
        raise ValueError(f"tf32 must be 'on', 'off' or null, got {cfg['tf32']!r}")
    if cfg["tf32"] is not None:
        torch.backends.cudnn.allow_tf32 = cfg["tf32"] == "on"
        torch.backends.cuda.matmul.allow_tf32 = cfg["tf32"] == "on"

    tr = Trainer(cfg, device)
    for _ in range(int(cfg["warmup"])):
        tr.train_step()

    steps = int(cfg["steps"])
    d_times, g_times, r1_times = [], [], []
    tr.sync()
    start = time.perf_counter()
    for _ in range(steps):
        td, tr1, tg = tr.train_step()
        if cfg["phases"]:
            d_times.append(td)
            g_times.append(tg)
            if tr1 is not None:
                r1_times.append(tr1)
    tr.sync()
    total = time.perf_counter() - start

    ms = lambda xs: round(statistics.median(xs) * 1000, 3) if xs else None
    if device.type == "cuda":
        dev_name = (f"cuda ({torch.cuda.get_device_name(device)}), TF32 convs {'on' if torch.backends.cudnn.allow_tf32 else 'off'}"
                    f" / matmuls {'on' if torch.backends.cuda.matmul.allow_tf32 else 'off'}")
    else:
        dev_name = "cpu"
    out = {
        "img_per_sec": round(cfg["batch"] * steps / total, 3) if steps else None,
        "ms_per_step": round(total / steps * 1000, 3) if steps else None,
        "ms_g": ms(g_times),
        "ms_d": ms(d_times),
        "ms_r1": ms(r1_times),
        "r1_steps": len(r1_times),
        "steps": steps,
        "g_params": num_params(tr.G),
        "d_params": num_params(tr.D),
        "torch_version": torch.__version__,
        "device": dev_name,
        "threads": torch.get_num_threads(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
