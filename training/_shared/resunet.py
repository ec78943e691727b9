"""Seed 001's ResUNet (Keras, channels last) in PyTorch, layer for layer the twin of
training/_shared/resunet.ts, with the same layer names so trained weights load into tfjs by name.

The seed's blocks as it prints them: `bn_act` (BatchNormalization, then ReLU when `act`),
`conv_block` (bn_act, then Conv2D: pre-activation), `stem` (Conv2D, conv_block, plus a 1x1 Conv2D +
BatchNormalization shortcut), `residual_block` (two conv_blocks, the first with the stride, plus a
Conv2D(kernel_size) + BatchNormalization shortcut: the seed passes `kernel_size`, 3, to the
shortcut). The seed does not print `ResUNet()` itself; its layout here is the one of the Kaggle
kernel the seed follows: filters 16-32-64-128-256, encoder stem + 4 residual blocks of stride 2, a
bridge of two conv_blocks, 4 x (UpSampling2D nearest, Concatenate [up, skip], residual_block), a
1x1 sigmoid head.

Keras' details kept so that tfjs computes the same: BatchNormalization epsilon 1e-3; a stride-2
'same' convolution pads 0 before and 1 after (TensorFlow's rule for even sizes), not PyTorch's 1/1.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

FILTERS = (16, 32, 64, 128, 256)
EPS = 1e-3  # Keras BatchNormalization's epsilon


def tfjs_layout(w):
    """A conv kernel [out, in, kh, kw] as tfjs stores it [kh, kw, in, out]."""
    return w.permute(2, 3, 1, 0).contiguous().numpy()


class Conv(nn.Module):
    """Keras Conv2D(filters, k, padding='same', strides=s)."""

    def __init__(self, cin, cout, k, stride=1):
        super().__init__()
        self.stride = stride
        self.k = k
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=0)

    def forward(self, x):
        h, w = x.shape[-2:]
        ph = max((-(-h // self.stride) - 1) * self.stride + self.k - h, 0)
        pw = max((-(-w // self.stride) - 1) * self.stride + self.k - w, 0)
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        return self.conv(x)


def bn(c):
    return nn.BatchNorm2d(c, eps=EPS, momentum=0.01)  # Keras momentum 0.99 = PyTorch 0.01


class ConvBlock(nn.Module):
    """The seed's conv_block: bn_act(x) then Conv2D."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.bn = bn(cin)
        self.conv = Conv(cin, cout, 3, stride)

    def forward(self, x):
        return self.conv(torch.relu(self.bn(x)))


class Stem(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = Conv(cin, cout, 3)
        self.block = ConvBlock(cout, cout)
        self.short = Conv(cin, cout, 1)
        self.short_bn = bn(cout)

    def forward(self, x):
        return self.block(self.conv(x)) + self.short_bn(self.short(x))


class Residual(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.block1 = ConvBlock(cin, cout, stride)
        self.block2 = ConvBlock(cout, cout, 1)
        self.short = Conv(cin, cout, 3, stride)
        self.short_bn = bn(cout)

    def forward(self, x):
        return self.short_bn(self.short(x)) + self.block2(self.block1(x))


class ResUNet(nn.Module):
    def __init__(self, in_ch=1, filters=FILTERS):
        super().__init__()
        f = list(filters)
        self.filters = f
        self.stem = Stem(in_ch, f[0])
        self.enc = nn.ModuleList([Residual(f[i], f[i + 1], 2) for i in range(4)])
        self.bridge = nn.ModuleList([ConvBlock(f[4], f[4]), ConvBlock(f[4], f[4])])
        # decoder k: up(previous) ++ skip e(4-k) -> residual to f[4-k]
        skips = [f[3], f[2], f[1], f[0]]
        cin = f[4]
        self.dec = nn.ModuleList()
        for k in range(4):
            self.dec.append(Residual(cin + skips[k], f[4 - k]))
            cin = f[4 - k]
        self.head = nn.Conv2d(cin, 1, 1)

    def forward(self, x, logits=False):
        e = [self.stem(x)]
        for r in self.enc:
            e.append(r(e[-1]))
        b = self.bridge[1](self.bridge[0](e[4]))
        d = b
        for k, r in enumerate(self.dec):
            u = F.interpolate(d, scale_factor=2, mode="nearest")
            d = r(torch.cat([u, e[3 - k]], 1))
        y = self.head(d)
        return y if logits else torch.sigmoid(y)

    def tfjs_weights(self):
        """{tfjs layer name: [arrays]} as numpy float32: convs [kernel, bias], batch norms
        [gamma, beta, moving_mean, moving_variance] (tfjs-layers' order)."""
        out = {}

        def conv(name, c):
            out[name] = [tfjs_layout(c.weight.detach()), c.bias.detach().numpy()]

        def norm(name, b):
            out[name] = [t.detach().numpy() for t in (b.weight, b.bias, b.running_mean, b.running_var)]

        def block(name, c):
            norm(f"{name}_bn", c.bn)
            conv(f"{name}_conv", c.conv.conv)

        def residual(name, r):
            block(f"{name}_b1", r.block1)
            block(f"{name}_b2", r.block2)
            conv(f"{name}_short", r.short.conv)
            norm(f"{name}_short_bn", r.short_bn)

        conv("stem_conv", self.stem.conv.conv)
        block("stem_b1", self.stem.block)
        conv("stem_short", self.stem.short.conv)
        norm("stem_short_bn", self.stem.short_bn)
        for i, r in enumerate(self.enc, start=1):
            residual(f"enc{i}", r)
        for i, c in enumerate(self.bridge, start=1):
            block(f"bridge{i}", c)
        for k, r in enumerate(self.dec, start=1):
            residual(f"dec{k}", r)
        conv("head", self.head)
        return out
