#!/usr/bin/python3
"""By-hand parity check of loadOnnx on full-size torchvision models (not run in CI: the files are
~50 MB and the run takes a while). Exports resnet18 and mobilenet_v2 (torchvision's own builders,
random weights with random BatchNorm statistics, eval mode, 224x224, opset 13) to a scratch
folder with PyTorch's output for a fixed input (--all: also resnet50, resnext50_32x4d,
mobilenet_v3_large/small, efficientnet_b0, densenet121, shufflenet_v2_x1_0, squeezenet1_1,
googlenet), then runs scripts/onnx-parity-full.mjs, which
loads each file with simdcnn (the built dist/: npm run build:ts first) and prints the max
difference against the bound the tests use (1e-4 + 1e-3 * max|y|).

  /usr/bin/python3 scripts/onnx-parity-full.py [--out DIR] [--all | MODEL...]
"""
import argparse
import json
import os
import subprocess
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
make_fixtures = __import__('make-onnx-fixtures')

# The default run (and bench:models' torchvision-onnx rows): resnet18 and mobilenet_v2. The others
# by name, or all of them with --all.
DEFAULT = ['resnet18', 'mobilenet_v2']
MODELS = {
    'resnet18': lambda: torchvision.models.resnet18(weights=None),
    'mobilenet_v2': lambda: torchvision.models.mobilenet_v2(weights=None),
    'resnet50': lambda: torchvision.models.resnet50(weights=None),
    'resnext50_32x4d': lambda: torchvision.models.resnext50_32x4d(weights=None),
    'mobilenet_v3_large': lambda: torchvision.models.mobilenet_v3_large(weights=None),
    'mobilenet_v3_small': lambda: torchvision.models.mobilenet_v3_small(weights=None),
    'efficientnet_b0': lambda: torchvision.models.efficientnet_b0(weights=None),
    'densenet121': lambda: torchvision.models.densenet121(weights=None),
    'shufflenet_v2_x1_0': lambda: torchvision.models.shufflenet_v2_x1_0(weights=None),
    'squeezenet1_1': lambda: torchvision.models.squeezenet1_1(weights=None),
    'googlenet': lambda: torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True),
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', default='/tmp/simdcnn-onnx-parity')
    p.add_argument('--all', action='store_true', help='every model in MODELS')
    p.add_argument('models', nargs='*', choices=[[]] + list(MODELS), default=[])
    a = p.parse_args()
    a.models = list(MODELS) if a.all else (a.models or DEFAULT)
    os.makedirs(a.out, exist_ok=True)
    for name in a.models:
        torch.manual_seed(0)
        model = MODELS[name]()
        gen = torch.Generator().manual_seed(1)
        make_fixtures.randomize(model, gen)
        model.eval()
        x = torch.randn([2, 3, 224, 224], generator=gen)
        with torch.no_grad():
            y = model(x)
        path = os.path.join(a.out, name + '.onnx')
        torch.onnx.export(model, x, path, opset_version=13, input_names=['input'], output_names=['output'],
                          dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}})
        x.numpy().astype('<f4').tofile(os.path.join(a.out, name + '.in.bin'))
        y.numpy().astype('<f4').tofile(os.path.join(a.out, name + '.out.bin'))
        with open(os.path.join(a.out, name + '.json'), 'w') as f:
            json.dump({'input': {'name': 'input', 'shape': list(x.shape)}, 'output': {'name': 'output', 'shape': list(y.shape)}}, f)
        print(f'{name}: exported to {path}')
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'onnx-parity-full.mjs')
    sys.exit(subprocess.call(['node', script, a.out, *a.models]))


if __name__ == '__main__':
    main()
