"""The demo 3D U-Net: training/_shared/unet.py's UNet with dims=3, the twin of lib/models/unet.ts with dims 3
(tfjs). Channels-first here (PyTorch), channels-last in tfjs; spatial order (z, y, x) on both sides;
a 1x1x1 head with 3 sigmoid outputs (BraTS labels 1, 2, 4).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../_shared"))
from unet import UNet  # noqa: E402


def UNet3D(in_ch=4, levels=2, filters=8, out_ch=3, bn=True):
    return UNet(in_ch, levels, filters, out_ch, bn, dims=3)
