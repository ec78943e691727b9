"""CxrNet: the two-input pneumonia classifier, and its image-only and metadata-only ablations.

A compact CNN for a small data set (1,000 training films), every layer one that a tfjs
LayersModel has (training/cxr-pneumonia/export.ts builds the twin and loads these weights):

  image 224x224x1
    stem   Conv2D 3x3 stride 2, 16, "same" (TF padding: one extra row/column at the bottom/right,
           hence the explicit F.pad(0, 1, 0, 1) here) + BatchNorm + ReLU + MaxPool 2  -> 56x56
    b1, b2 Conv2D 3x3 "same" (32, 64) + BatchNorm + ReLU + MaxPool 2               -> 14x14
    b3     Conv2D 3x3 "same" 128 + BatchNorm + ReLU
    b4     Conv2D 3x3 "same" 128 + BatchNorm + ReLU  (the last conv block: Grad-CAM)
    gap    GlobalAveragePooling2D -> 128, Dropout
  features 6 -> Dense 8 + ReLU
  concat [image 128, features 8] -> Dense 32 + ReLU -> Dropout -> Dense 1 + sigmoid
  (training only) seg: Conv2D 1x1 on b4 -> 14x14 logit map of the RSNA opacity boxes, an
  auxiliary loss that tells the small net where pneumonia is; not exported.

About 74 M multiply-adds per film. mode "image" drops the features branch, mode "meta" drops the
image branch (Dense 8 -> 32 -> 1). BatchNorm is folded into the convs at export (dump.py).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CHANNELS = (16, 32, 64, 128, 128)


class ConvBN(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=0 if stride == 2 else 1, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)

    def forward(self, x):
        if self.stride == 2:
            x = F.pad(x, (0, 1, 0, 1))
        return F.relu(self.bn(self.conv(x)))


class CxrNet(nn.Module):
    def __init__(self, mode="both", dropout=0.3):
        super().__init__()
        self.mode = mode
        c = CHANNELS
        if mode != "meta":
            self.stem = ConvBN(1, c[0], stride=2)
            self.b1 = ConvBN(c[0], c[1])
            self.b2 = ConvBN(c[1], c[2])
            self.b3 = ConvBN(c[2], c[3])
            self.b4 = ConvBN(c[3], c[4])
            self.drop_img = nn.Dropout(dropout)
            self.seg = nn.Conv2d(c[4], 1, 1)
        if mode != "image":
            self.feat = nn.Linear(6, 8)
        n = (c[4] if mode != "meta" else 0) + (8 if mode != "image" else 0)
        self.fc = nn.Linear(n, 32)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(32, 1)

    def conv_maps(self, x):
        x = F.max_pool2d(self.stem(x), 2)
        x = F.max_pool2d(self.b1(x), 2)
        x = F.max_pool2d(self.b2(x), 2)
        return self.b4(self.b3(x))

    def trunk(self):
        return [self.stem, self.b1, self.b2, self.b3, self.b4]

    def forward(self, image, features, with_seg=False):
        parts = []
        seg = None
        if self.mode != "meta":
            maps = self.conv_maps(image)
            if with_seg:
                seg = self.seg(maps).squeeze(1)
            parts.append(self.drop_img(maps.mean(dim=(2, 3))))
        if self.mode != "image":
            parts.append(F.relu(self.feat(features)))
        h = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        logit = self.out(self.drop(F.relu(self.fc(h)))).squeeze(1)
        return (logit, seg) if with_seg else logit
