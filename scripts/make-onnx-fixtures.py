#!/usr/bin/python3
"""Builds the ONNX import fixtures in test/fixtures/onnx/ (test/import.onnx.test.ts reads them).

Each fixture is a torchvision architecture (or a small module exercising operators the zoo does
not), shrunk in width and depth so the whole set stays a few MB, with random weights (a fixed
seed), in eval mode, exported by torch.onnx.export at a small input size, plus PyTorch's own
output for a fixed random input:

  NAME.onnx           the model
  NAME.in.bin         the input, raw little-endian float32 (NCHW, batch 2)
  NAME.out.bin        PyTorch's output, raw float32
  NAME.json           {input: {name, shape}, output: {name, shape}, opset, torch}

BatchNormalization after a convolution is folded into it by the exporter in eval mode; the
fixtures marked `preserve_bn` export with training=TrainingMode.PRESERVE so their BN nodes stay
and are mapped to our batchNormalization layer instead.

Run with Debian's interpreter (python3-torch, python3-torchvision, python3-onnx):
  /usr/bin/python3 scripts/make-onnx-fixtures.py [NAME...]
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models import mobilenetv3, efficientnet, squeezenet, resnet

# torchvision.models.googlenet is the builder function, which shadows its module.
googlenet = sys.modules['torchvision.models.googlenet']

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'onnx')


class SmallResNet(nn.Module):
    """torchvision's ResNet layout (7x7/2 stem, max pool, four stages, average pool, fc) with
    torchvision's own BasicBlock/Bottleneck at a fraction of the width."""

    def __init__(self, block, layers, widths, num_classes=10, groups=1, base_width=64):
        super().__init__()
        self.inplanes = widths[0]
        self.dilation = 1
        # ResNeXt: the Bottleneck's 3x3 convolution has `groups` groups of base_width/64·planes channels.
        self.groups = groups
        self.base_width = base_width
        self._norm_layer = nn.BatchNorm2d
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        make = resnet.ResNet._make_layer
        self.layer1 = make(self, block, widths[0], layers[0])
        self.layer2 = make(self, block, widths[1], layers[1], stride=2)
        self.layer3 = make(self, block, widths[2], layers[2], stride=2)
        self.layer4 = make(self, block, widths[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3] * block.expansion, num_classes)

    forward = resnet.ResNet._forward_impl


class SmallSqueezeNet(nn.Module):
    """squeezenet1_1's layout (ceil-mode max pools, Fire modules, a 1x1 conv classifier) from
    torchvision's Fire at a quarter of the width."""

    def __init__(self, num_classes=10):
        super().__init__()
        Fire = squeezenet.Fire
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, kernel_size=3, stride=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(16, 4, 16, 16), Fire(32, 4, 16, 16),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(32, 8, 32, 32), Fire(64, 8, 32, 32),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(64, 12, 48, 48), Fire(96, 12, 48, 48), Fire(96, 16, 64, 64),
        )
        self.classifier = nn.Sequential(nn.Dropout(p=0.5), nn.Conv2d(128, num_classes, kernel_size=1),
                                        nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1)))

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


class SmallGoogLeNet(nn.Module):
    """GoogLeNet's layout (transform_input's per-channel affine on sliced channels, BasicConv2d,
    ceil-mode pools, Inception modules with their stride-1 ceil-mode pool branch) from
    torchvision's Inception and BasicConv2d at small width."""

    def __init__(self, num_classes=10):
        super().__init__()
        C, I = googlenet.BasicConv2d, googlenet.Inception
        self.transform_input = True
        self.conv1 = C(3, 16, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = C(16, 16, kernel_size=1)
        self.conv3 = C(16, 24, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = I(24, 8, 8, 16, 4, 8, 8)
        self.inception3b = I(40, 16, 8, 16, 4, 8, 8)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = I(48, 16, 8, 16, 4, 8, 8)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(48, num_classes)

    _transform_input = googlenet.GoogLeNet._transform_input

    def forward(self, x):
        x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


class Activations(nn.Module):
    """Activation operators the architectures above do not emit."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.prelu = nn.PReLU(8, init=0.1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        x = self.conv(x)
        a = F.leaky_relu(x, 0.1)
        b = self.prelu(x)
        c = F.elu(x, alpha=0.7)
        d = torch.selu(x)
        e = F.softplus(x)
        f = torch.tanh(x)
        g = F.gelu(x)
        h = F.hardsigmoid(x)
        i = F.hardswish(x)
        j = torch.clamp(x, 0.0, 2.5)
        k = torch.sigmoid(x)
        y = a + b - c * d + e * f + g - h + i * j + k
        y = self.conv2(y) / 3.0 - 0.25
        return torch.softmax(y, dim=1)  # over the channels: a 4-D output, back in NCHW


class Shapes(nn.Module):
    """Pooling, padding and resizing variants: explicit and asymmetric pads, ceil mode, average
    pooling with and without the padding counted, nearest upsampling, channel slicing."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.conv_dil = nn.Conv2d(8, 8, 3, padding=2, dilation=2)
        self.conv_s2 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.conv_even = nn.Conv2d(8, 8, 4)
        self.dw = nn.Conv2d(8, 16, 3, padding=1, groups=8)
        self.head = nn.Linear(16 * 4 * 4 + 8, 10)

    def forward(self, x):
        x = torch.relu(self.conv(x))                                   # 30x30
        x = self.conv_dil(x)
        x = F.pad(x, (1, 2, 0, 1))                                     # 31x33
        x = torch.relu(self.conv_s2(x))                                # 16x17
        x = self.conv_even(F.pad(x, (1, 2, 1, 2)))                     # Conv pads [1, 1, 2, 2] once folded
        a = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=True)   # 8x9
        # Padding left out of the count: TensorFlow's 'same' (stride 1 here); ceil mode on signed data.
        b = F.max_pool2d(F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False), 2, stride=2, ceil_mode=True)
        x = a - b + F.max_pool2d(torch.relu(x), 3, stride=2, padding=1)
        x = F.interpolate(x, scale_factor=2, mode='nearest')           # 16x18
        x = F.max_pool2d(x, 2, stride=2, ceil_mode=True)                # 8x9
        x = F.relu6(self.dw(x))
        x = F.avg_pool2d(x[:, :, :, :8], 2)                            # 4x4 (width sliced)
        lo, hi = x[:, :8], x[:, 8:]
        g = torch.mean(lo, dim=(2, 3))
        x = torch.cat([hi * 2.0, lo], dim=1)
        return self.head(torch.cat([x.flatten(1), g], dim=1))


class SmallUNet(nn.Module):
    """A small U-Net: a three-level encoder, and a decoder whose transposed convolutions upsample
    (kernel 2 stride 2; DCGAN's kernel 4 stride 2 padding 1, without bias; kernel 3 stride 2
    padding 1 output_padding 1, then a ReLU) before each stage concatenates the encoder's skip of
    the same size; a 1x1 convolution to 2 channels at full resolution, plus a coarse side output
    (1x1 convolution of the bottleneck) upsampled x4 by PyTorch's bilinear interpolation
    (align_corners=False: ONNX Resize 'half_pixel'), as segmentation heads do."""

    def __init__(self):
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
        self.enc2 = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True))
        self.enc3 = nn.Conv2d(16, 16, 3, padding=1)
        self.up1 = nn.ConvTranspose2d(16, 16, kernel_size=2, stride=2)
        self.up1_dcgan = nn.ConvTranspose2d(16, 16, kernel_size=4, stride=2, padding=1, bias=False)
        self.dec1 = nn.Sequential(nn.Conv2d(32, 16, 3, padding=1), nn.ReLU(inplace=True))
        self.up2 = nn.ConvTranspose2d(16, 8, kernel_size=3, stride=2, padding=1, output_padding=1)
        self.dec2 = nn.Sequential(nn.Conv2d(16, 8, 3, padding=1), nn.ReLU(inplace=True))
        self.head = nn.Conv2d(8, 2, 1)
        self.side = nn.Conv2d(16, 2, 1)

    def forward(self, x):
        e1 = self.enc1(x)                                              # 8x32x32
        e2 = self.enc2(F.max_pool2d(e1, 2))                            # 16x16x16
        e3 = self.enc3(F.max_pool2d(e2, 2))                            # 16x8x8
        d1 = self.dec1(torch.cat([self.up1(e3) + self.up1_dcgan(e3), e2], dim=1))   # 16x16x16
        d2 = self.dec2(torch.cat([torch.relu(self.up2(d1)), e1], dim=1))           # 8x32x32
        side = F.interpolate(self.side(e3), scale_factor=4, mode='bilinear', align_corners=False)
        return self.head(d2) + side


def fold_pads_into_convs(path):
    """Rewrites the exported file the way other exporters (tf2onnx, onnx-simplifier) write the
    same computation: a zero Pad of the spatial axes before a Conv becomes the Conv's (here
    asymmetric) pads, and a stride-1 Conv padded symmetrically by exactly (k-1)/2·dilation gets
    auto_pad SAME_UPPER instead of pads. PyTorch's output stays the reference."""
    m = onnx.load(path)
    g = m.graph
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    # F.pad exports its pads as a chain of shape arithmetic on constants: evaluate it.
    for n in g.node:
        ins = [consts.get(i) for i in n.input if i]
        at = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == 'Constant':
            v = numpy_helper.to_array(at['value'])
        elif any(i is None for i in ins):
            continue
        elif n.op_type == 'ConstantOfShape':
            v = np.zeros(ins[0], dtype=np.int64) + (numpy_helper.to_array(at['value'])[0] if 'value' in at else 0)
        elif n.op_type == 'Concat':
            v = np.concatenate(ins, axis=at['axis'])
        elif n.op_type == 'Reshape':
            v = ins[0].reshape(ins[1])
        elif n.op_type == 'Transpose':
            v = ins[0].transpose(at['perm'])
        elif n.op_type == 'Cast':
            v = ins[0].astype(np.int64)
        elif n.op_type == 'Slice':
            data, starts, ends, axes, steps = ins
            sl = [slice(None)] * data.ndim
            for a, b, e, st in zip(axes, starts, ends, steps):
                sl[a] = slice(int(b), int(max(min(e, 2**62), -2**62)), int(st))
            v = data[tuple(sl)]
        else:
            continue
        consts[n.output[0]] = v
    readers = {}
    for n in g.node:
        for i in n.input:
            readers.setdefault(i, []).append(n)
    drop = []
    for n in g.node:
        if n.op_type != 'Pad' or len(readers.get(n.output[0], [])) != 1:
            continue
        conv = readers[n.output[0]][0]
        mode = [a.s for a in n.attribute if a.name == 'mode']
        pads = consts.get(n.input[1])
        if conv.op_type != 'Conv' or (mode and mode[0] != b'constant') or pads is None or any(pads[[0, 1, 4, 5]]):
            continue
        if len(n.input) > 2 and n.input[2]:
            value = consts.get(n.input[2])
            if value is None or value.any():
                continue
        t, l, b, r = int(pads[2]), int(pads[3]), int(pads[6]), int(pads[7])
        old = [a for a in conv.attribute if a.name == 'pads']
        base = list(old[0].ints) if old else [0, 0, 0, 0]
        for a in old:
            conv.attribute.remove(a)
        conv.attribute.append(onnx.helper.make_attribute('pads', [base[0] + t, base[1] + l, base[2] + b, base[3] + r]))
        conv.input[0] = n.input[0]
        drop.append(n)
    for n in drop:
        g.node.remove(n)
    for conv in g.node:
        if conv.op_type != 'Conv':
            continue
        at = {a.name: a for a in conv.attribute}
        k = list(at['kernel_shape'].ints)
        d = list(at['dilations'].ints) if 'dilations' in at else [1, 1]
        s = list(at['strides'].ints) if 'strides' in at else [1, 1]
        p = list(at['pads'].ints) if 'pads' in at else [0, 0, 0, 0]
        if s == [1, 1] and d != [1, 1] and p == [(k[0] - 1) * d[0] // 2, (k[1] - 1) * d[1] // 2] * 2:
            conv.attribute.remove(at['pads'])
            conv.attribute.append(onnx.helper.make_attribute('auto_pad', 'SAME_UPPER'))
    onnx.checker.check_model(m)
    onnx.save(m, path)


def shufflenet():
    return torchvision.models.ShuffleNetV2([2, 2, 2], [8, 16, 32, 64, 128], num_classes=10)


def mobilenet_v3_small():
    setting, last = mobilenetv3._mobilenet_v3_conf('mobilenet_v3_small', width_mult=0.25)
    return mobilenetv3.MobileNetV3(setting, last, num_classes=10)


def efficientnet_b0():
    setting, last = efficientnet._efficientnet_conf('efficientnet_b0', width_mult=0.25, depth_mult=0.34)
    return efficientnet.EfficientNet(setting, 0.2, last_channel=last, num_classes=10)


# name: (constructor, input size [C, H, W], opset, keep BatchNormalization nodes)
FIXTURES = {
    'resnet_basic': (lambda: SmallResNet(resnet.BasicBlock, [2, 1, 1, 1], [8, 16, 24, 32]), [3, 64, 64], 13, True),
    'resnet_bottleneck': (lambda: SmallResNet(resnet.Bottleneck, [1, 1, 1, 1], [4, 8, 12, 16]), [3, 64, 64], 13, False),
    'mobilenet_v2': (lambda: torchvision.models.mobilenet_v2(width_mult=0.25, num_classes=10), [3, 64, 64], 13, False),
    'mobilenet_v3_small': (mobilenet_v3_small, [3, 64, 64], 17, False),
    'shufflenet_v2': (shufflenet, [3, 64, 64], 13, False),
    'squeezenet': (SmallSqueezeNet, [3, 64, 64], 13, False),
    'densenet': (lambda: torchvision.models.DenseNet(growth_rate=8, block_config=(2, 2, 2, 2), num_init_features=16, bn_size=2, num_classes=10), [3, 64, 64], 13, False),
    'efficientnet_b0': (efficientnet_b0, [3, 64, 64], 13, False),
    'googlenet': (SmallGoogLeNet, [3, 64, 64], 13, False),
    'activations': (Activations, [3, 16, 16], 13, False),
    'shapes': (Shapes, [3, 32, 32], 13, False),
    'resnext': (lambda: SmallResNet(resnet.Bottleneck, [1, 1, 1, 1], [8, 16, 24, 32], groups=4, base_width=16), [3, 64, 64], 13, False),
    'unet': (SmallUNet, [3, 32, 32], 13, False),
}
# Fixtures rewritten after export (see fold_pads_into_convs).
POSTPROCESS = {
    'shapes': fold_pads_into_convs,
}


def randomize(model, gen):
    # Fresh BatchNorm statistics are mean 0, variance 1, weight 1, bias 0: the identity, which
    # would hide a wrong mapping. Random ones make every BN visible in the output.
    # Classifier heads initialized with std 0.01 (MobileNet, EfficientNet) give outputs so small
    # that any tolerance passes them: PyTorch's default Linear init instead.
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.Linear.reset_parameters(m)
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def make(name):
    ctor, shape, opset, preserve_bn = FIXTURES[name]
    torch.manual_seed(0)
    model = ctor()
    gen = torch.Generator().manual_seed(1)
    randomize(model, gen)
    model.eval()
    x = torch.randn([2] + shape, generator=gen)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(OUT, name + '.onnx')
    torch.onnx.export(
        model, x, path, opset_version=opset, input_names=['input'], output_names=['output'],
        dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}},
        training=torch.onnx.TrainingMode.PRESERVE if preserve_bn else torch.onnx.TrainingMode.EVAL,
        do_constant_folding=True,
    )
    if name in POSTPROCESS:
        POSTPROCESS[name](path)
    x.numpy().astype('<f4').tofile(os.path.join(OUT, name + '.in.bin'))
    y.numpy().astype('<f4').tofile(os.path.join(OUT, name + '.out.bin'))
    meta = {
        'input': {'name': 'input', 'shape': list(x.shape)},
        'output': {'name': 'output', 'shape': list(y.shape)},
        'opset': opset, 'batchNormNodes': preserve_bn,
        'torch': torch.__version__, 'torchvision': torchvision.__version__,
    }
    with open(os.path.join(OUT, name + '.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    size = os.path.getsize(path)
    print(f'{name}: {size / 1024:.0f} KiB, output {list(y.shape)}, max |y| {y.abs().max().item():.3g}')


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    for n in sys.argv[1:] or FIXTURES:
        make(n)
