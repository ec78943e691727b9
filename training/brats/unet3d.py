"""The demo 3D U-Net in PyTorch, layer for layer the twin of lib/models/unet.ts with dims 3 (tfjs).

Channels-first here (PyTorch), channels-last in tfjs; spatial order (z, y, x) on both sides. Per
level two 3x3x3 convs (+ BatchNorm while training) + ReLU, then 2x2x2 max-pool; a bottom pair at
filters * 2**levels; per level up a linear 2x2x2 stride-2 transposed conv to the skip's filter
count, concatenated [up, skip], two 3x3x3 convs + ReLU; a 1x1x1 head with 3 sigmoid outputs (BraTS
labels 1, 2, 4). `folded()` returns inference weights, BatchNorm folded in, in tfjs layout and named
as the tfjs layers are (enc{l}_conv{i}, bottom_conv{i}, up{l}_tconv, dec{l}_conv{i}, head).
"""
import torch
import torch.nn as nn


class ConvBNReLU(nn.Module):
    def __init__(self, cin, cout, bn=True):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, 3, padding=1, bias=not bn)
        self.bn = nn.BatchNorm3d(cout) if bn else None

    def forward(self, x):
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return torch.relu(x)

    def folded(self):
        """(kernel [out,in,kd,kh,kw], bias [out]) with BatchNorm (eval statistics) folded in."""
        w = self.conv.weight.detach()
        if self.bn is None:
            return w.clone(), self.conv.bias.detach().clone()
        bn = self.bn
        scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
        bias = bn.bias.detach() - bn.running_mean * scale
        return w * scale[:, None, None, None, None], bias


class UNet3D(nn.Module):
    def __init__(self, in_ch=4, levels=2, filters=8, out_ch=3, bn=True):
        super().__init__()
        self.levels = levels
        f = [filters * 2**i for i in range(levels + 1)]
        self.enc = nn.ModuleList()
        c = in_ch
        for l in range(levels):
            self.enc.append(nn.ModuleList([ConvBNReLU(c, f[l], bn), ConvBNReLU(f[l], f[l], bn)]))
            c = f[l]
        self.bottom = nn.ModuleList([ConvBNReLU(c, f[levels], bn),
                                     ConvBNReLU(f[levels], f[levels], bn)])
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for l in reversed(range(levels)):
            self.up.append(nn.ConvTranspose3d(f[l + 1], f[l], 2, stride=2))
            self.dec.append(nn.ModuleList([ConvBNReLU(2 * f[l], f[l], bn),
                                           ConvBNReLU(f[l], f[l], bn)]))
        self.head = nn.Conv3d(f[0], out_ch, 1)

    def forward(self, x, logits=False):
        skips = []
        for a, b in self.enc:
            x = b(a(x))
            skips.append(x)
            x = torch.max_pool3d(x, 2)
        x = self.bottom[1](self.bottom[0](x))
        for up, (a, b), skip in zip(self.up, self.dec, reversed(skips)):
            x = torch.cat([up(x), skip], 1)
            x = b(a(x))
        x = self.head(x)
        return x if logits else torch.sigmoid(x)

    def folded(self):
        """Inference weights in tfjs order and layout: {layer name: [kernel, bias]} float32 numpy.

        Conv3d kernels [out,in,kd,kh,kw] become [kd,kh,kw,in,out]; ConvTranspose3d kernels
        [in,out,kd,kh,kw] become [kd,kh,kw,out,in] (the same permute), as tfjs stores them.
        """
        out = {}
        tf_layout = lambda w: w.permute(2, 3, 4, 1, 0).contiguous().numpy()
        L = self.levels
        for l, (a, b) in enumerate(self.enc):
            for i, c in enumerate((a, b), start=1):
                w, bias = c.folded()
                out[f"enc{l}_conv{i}"] = [tf_layout(w), bias.numpy()]
        for i, c in enumerate(self.bottom, start=1):
            w, bias = c.folded()
            out[f"bottom_conv{i}"] = [tf_layout(w), bias.numpy()]
        for k, (up, (a, b)) in enumerate(zip(self.up, self.dec)):
            l = L - 1 - k
            out[f"up{l}_tconv"] = [tf_layout(up.weight.detach()), up.bias.detach().numpy()]
            for i, c in enumerate((a, b), start=1):
                w, bias = c.folded()
                out[f"dec{l}_conv{i}"] = [tf_layout(w), bias.numpy()]
        out["head"] = [tf_layout(self.head.weight.detach()), self.head.bias.detach().numpy()]
        return out
