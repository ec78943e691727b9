"""The project's U-Net (lib/models/unet.ts) in PyTorch, same layer names, and its CPU timing.

Usage:
  unet_torch.py bench --levels 4 --filters 32 --size 512 [--threads 1] [--repeats 5]
      prints one JSON line: ms per image (median), GFLOP/s, threads, torch version
  unet_torch.py reference --levels 2 --filters 4 --size 16 --channels 1 --out FILE.json.gz
      writes seeded random weights (named as in buildUnet, already in tfjs layouts), an input and
      the PyTorch output, for tests/models/unet_test.ts to check the weight mapping.
"""
import argparse
import base64
import gzip
import json
import statistics
import time

import torch
from torch import nn


class Unet(nn.Module):
    """Same graph as buildUnet: 3x3 conv+ReLU x2 per level, maxpool 2, transposed conv 2/2 (linear),
    cat([up, skip]), 1x1 sigmoid head."""

    def __init__(self, in_ch, levels, filters, out_ch=1):
        super().__init__()
        self.levels = levels
        self.c = nn.ModuleDict()
        cin = in_ch
        for l in range(levels):
            f = filters * 2**l
            self.c[f"enc{l}_conv1"] = nn.Conv2d(cin, f, 3, padding=1)
            self.c[f"enc{l}_conv2"] = nn.Conv2d(f, f, 3, padding=1)
            cin = f
        fb = filters * 2**levels
        self.c["bottom_conv1"] = nn.Conv2d(cin, fb, 3, padding=1)
        self.c["bottom_conv2"] = nn.Conv2d(fb, fb, 3, padding=1)
        cin = fb
        for l in reversed(range(levels)):
            f = filters * 2**l
            self.c[f"up{l}_tconv"] = nn.ConvTranspose2d(cin, f, 2, stride=2)
            self.c[f"dec{l}_conv1"] = nn.Conv2d(2 * f, f, 3, padding=1)
            self.c[f"dec{l}_conv2"] = nn.Conv2d(f, f, 3, padding=1)
            cin = f
        self.c["head"] = nn.Conv2d(cin, out_ch, 1)

    def forward(self, x):
        c, relu = self.c, torch.relu
        skips = []
        for l in range(self.levels):
            x = relu(c[f"enc{l}_conv2"](relu(c[f"enc{l}_conv1"](x))))
            skips.append(x)
            x = torch.max_pool2d(x, 2)
        x = relu(c["bottom_conv2"](relu(c["bottom_conv1"](x))))
        for l in reversed(range(self.levels)):
            x = torch.cat([c[f"up{l}_tconv"](x), skips[l]], 1)
            x = relu(c[f"dec{l}_conv2"](relu(c[f"dec{l}_conv1"](x))))
        return torch.sigmoid(c["head"](x))


def flops(in_ch, levels, filters, h, w, out_ch=1):
    """Same count as unetFlops in lib/models/unet.ts."""
    total, cin = 0, in_ch
    conv3 = lambda px, i, o: 2 * px * 9 * i * o
    for l in range(levels):
        px, f = h * w / 4**l, filters * 2**l
        total += conv3(px, cin, f) + conv3(px, f, f)
        cin = f
    fb, px = filters * 2**levels, h * w / 4**levels
    total += conv3(px, cin, fb) + conv3(px, fb, fb)
    cin = fb
    for l in reversed(range(levels)):
        px, f = h * w / 4**l, filters * 2**l
        total += 2 * px * cin * f + conv3(px, 2 * f, f) + conv3(px, f, f)
        cin = f
    return total + 2 * h * w * cin * out_ch


def b64(t):
    return base64.b64encode(t.detach().contiguous().numpy().astype("<f4").tobytes()).decode()


def tfjs_weights(model):
    """Named weights in tfjs layouts: conv [kh,kw,in,out], transposed conv [kh,kw,out,in]."""
    out = {}
    for name, m in model.c.items():
        # Conv2d [out,in,kh,kw] and ConvTranspose2d [in,out,kh,kw] both permute (2,3,1,0).
        k = m.weight.permute(2, 3, 1, 0)
        out[name] = {"kernel": {"shape": list(k.shape), "data": b64(k)},
                     "bias": {"shape": list(m.bias.shape), "data": b64(m.bias)}}
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["bench", "reference"])
    p.add_argument("--levels", type=int, default=4)
    p.add_argument("--filters", type=int, default=32)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--out")
    a = p.parse_args()
    torch.manual_seed(3)
    torch.set_num_threads(a.threads)
    model = Unet(a.channels, a.levels, a.filters).eval()
    if a.mode == "reference":
        with torch.no_grad():
            for m in model.c.values():  # biases away from 0 so a wrong bias mapping shows
                m.bias.uniform_(-0.1, 0.1)
            x = torch.rand(1, a.channels, a.size, a.size)
            y = model(x)
        doc = {"levels": a.levels, "filters": a.filters, "channels": a.channels,
               "torch": torch.__version__, "weights": tfjs_weights(model),
               "input": {"shape": [1, a.size, a.size, a.channels], "data": b64(x.permute(0, 2, 3, 1))},
               "output": {"shape": [1, a.size, a.size, 1], "data": b64(y.permute(0, 2, 3, 1))}}
        with gzip.open(a.out, "wt") as f:
            json.dump(doc, f)
        return
    x = torch.rand(1, a.channels, a.size, a.size)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    times, cpu = [], []
    with torch.inference_mode():
        model(x)  # warm-up: oneDNN picks its kernels on the first call
        for _ in range(a.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            model(x)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    ms = statistics.median(times)
    gf = flops(a.channels, a.levels, a.filters, a.size, a.size) / 1e9
    # CPU ms (all threads of the process) stay meaningful on a loaded machine, wall ms do not.
    print(json.dumps({"ms": ms, "min_ms": min(times), "cpu_ms": statistics.median(cpu),
                      "gflop": gf, "gflops": gf / (ms / 1000),
                      "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "mkldnn": torch.backends.mkldnn.is_available()}))


if __name__ == "__main__":
    main()
