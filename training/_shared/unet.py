"""The project's U-Net (lib/models/unet.ts, card format in models/README.md) in PyTorch, layer for layer the twin of lib/models/unet.ts.

Per level two 3x3 convs (+ BatchNorm while training) + ReLU, then 2x2 max-pool; a bottom pair at
filters * 2**levels; per level up a linear 2x2 stride-2 transposed conv to the skip's filter count,
concatenated [up, skip], two 3x3 convs + ReLU; a 1x1 head with sigmoid. `folded()` returns the
inference weights with BatchNorm folded into the convs, named as the tfjs layers of
lib/models/unet.ts are (level 0 = full resolution). `dims=3` builds the same net in 3D (3x3x3 convs,
2x2x2 pooling and up-convolutions): the brats-demo model, as lib/models/unet.ts does with dims 3.
"""
import torch
import torch.nn as nn


CONV = {2: nn.Conv2d, 3: nn.Conv3d}
BATCHNORM = {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}
UPCONV = {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
MAXPOOL = {2: torch.max_pool2d, 3: torch.max_pool3d}


def tfjs_layout(w):
    """A conv kernel [out,in,*k] as tfjs stores it [*k,in,out]; a transposed-conv kernel
    [in,out,*k] becomes [*k,out,in], as tfjs conv{2,3}dTranspose stores it (the same permute)."""
    return w.permute(*range(2, w.dim()), 1, 0).contiguous().numpy()


class ConvBNReLU(nn.Module):
    def __init__(self, cin, cout, bn=True, dims=2):
        super().__init__()
        self.conv = CONV[dims](cin, cout, 3, padding=1, bias=not bn)
        self.bn = BATCHNORM[dims](cout) if bn else None

    def forward(self, x):
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return torch.relu(x)

    def folded(self):
        """(kernel [out,in,*k], bias [out]) with BatchNorm (eval statistics) folded in."""
        w = self.conv.weight.detach()
        if self.bn is None:
            return w.clone(), self.conv.bias.detach().clone()
        bn = self.bn
        scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
        bias = bn.bias.detach() - bn.running_mean * scale
        return w * scale.view(-1, *[1] * (w.dim() - 1)), bias


class UNet(nn.Module):
    def __init__(self, in_ch=1, levels=3, filters=16, out_ch=1, bn=True, dims=2):
        super().__init__()
        self.shape = dict(in_ch=in_ch, levels=levels, filters=filters, out_ch=out_ch, dims=dims)
        self.levels = levels
        self.dims = dims
        f = [filters * 2**i for i in range(levels + 1)]
        block = lambda cin, cout: ConvBNReLU(cin, cout, bn, dims)
        self.enc = nn.ModuleList()
        c = in_ch
        for l in range(levels):
            self.enc.append(nn.ModuleList([block(c, f[l]), block(f[l], f[l])]))
            c = f[l]
        self.bottom = nn.ModuleList([block(c, f[levels]), block(f[levels], f[levels])])
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for l in reversed(range(levels)):
            self.up.append(UPCONV[dims](f[l + 1], f[l], 2, stride=2))
            self.dec.append(nn.ModuleList([block(2 * f[l], f[l]), block(f[l], f[l])]))
        self.head = CONV[dims](f[0], out_ch, 1)

    def forward(self, x, logits=False):
        skips = []
        for a, b in self.enc:
            x = b(a(x))
            skips.append(x)
            x = MAXPOOL[self.dims](x, 2)
        x = self.bottom[1](self.bottom[0](x))
        for up, (a, b), skip in zip(self.up, self.dec, reversed(skips)):
            x = torch.cat([up(x), skip], 1)
            x = b(a(x))
        x = self.head(x)
        return x if logits else torch.sigmoid(x)

    def folded(self):
        """Inference weights in tfjs order and layout (see tfjs_layout): {layer name: [kernel, bias]}
        as numpy float32."""
        out = {}
        L = self.levels
        for l, (a, b) in enumerate(self.enc):
            for i, c in enumerate((a, b), start=1):
                w, bias = c.folded()
                out[f"enc{l}_conv{i}"] = [tfjs_layout(w), bias.numpy()]
        for i, c in enumerate(self.bottom, start=1):
            w, bias = c.folded()
            out[f"bottom_conv{i}"] = [tfjs_layout(w), bias.numpy()]
        for k, (up, (a, b)) in enumerate(zip(self.up, self.dec)):
            l = L - 1 - k
            out[f"up{l}_tconv"] = [tfjs_layout(up.weight.detach()), up.bias.detach().numpy()]
            for i, c in enumerate((a, b), start=1):
                w, bias = c.folded()
                out[f"dec{l}_conv{i}"] = [tfjs_layout(w), bias.numpy()]
        out["head"] = [tfjs_layout(self.head.weight.detach()), self.head.bias.detach().numpy()]
        return out

    def folded_twin(self, rnd=lambda t: t):
        """A BatchNorm-free UNet of the same shape holding this one's folded weights, each passed
        through `rnd` (e.g. rounding to float16)."""
        m = UNet(**self.shape, bn=False).eval()
        convs = lambda n: [c for a, b in n.enc for c in (a, b)] + list(n.bottom) + \
            [c for a, b in n.dec for c in (a, b)]
        with torch.no_grad():
            for s, d in zip(convs(self), convs(m)):
                w, bias = s.folded()
                d.conv.weight.copy_(rnd(w))
                d.conv.bias.copy_(rnd(bias))
            for s, d in zip(self.up, m.up):
                d.weight.copy_(rnd(s.weight))
                d.bias.copy_(rnd(s.bias))
            m.head.weight.copy_(rnd(self.head.weight))
            m.head.bias.copy_(rnd(self.head.bias))
        return m
