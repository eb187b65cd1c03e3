"""PyTorch runner for bench/models.mjs: the native anchor the wasm libraries are measured against.

Driven over pipes, one JSON object per line: {"id", "fn", "args"} on stdin, {"id", "result"} or
{"id", "error"} on stdout (everything else PyTorch prints goes to stderr). The first line out is
{"ready": true, ...} or, when torch cannot be imported, {"ready": false, "error": ...} and exit.

Models: torchvision's mobilenet_v2 (width 1.0 at 224², width 0.35 at 96² with 10 classes) and
resnet50 (torchvision's is v1.5: the stride on the 3×3 convolution, not on the first 1×1 as in
Keras' v1; a few % more FLOPs, which each row counts from its own model), random weights; and
ResNet-20 for CIFAR built here as bench/models/keras-models.mjs builds it for tfjs. Weights and
padding conventions differ from the Keras files, so predictions are not compared, only speed.
"""
import json
import sys
import time
import traceback

PROTOCOL = sys.stdout
sys.stdout = sys.stderr

try:
    import torch
    from torch import nn
except Exception as e:  # noqa: BLE001 - any import failure means "not installed" to the caller
    PROTOCOL.write(json.dumps({"ready": False, "error": f"{type(e).__name__}: {e}"}) + "\n")
    PROTOCOL.flush()
    sys.exit(0)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1))

    def forward(self, x):
        t = torch.relu(self.bn1(self.conv1(x)))
        t = self.bn2(self.conv2(t))
        return torch.relu(t + (x if self.shortcut is None else self.shortcut(x)))


class ResNet20(nn.Module):
    """He et al. 2016 §4.2: 16/32/64 filters, 3 basic blocks per stage, 1×1 projection at the strided blocks."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        blocks, cin = [], 16
        for stage, cout in enumerate((16, 32, 64)):
            for b in range(3):
                blocks.append(BasicBlock(cin, cout, 2 if stage > 0 and b == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.blocks(torch.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def build(key):
    import torchvision

    if key == "mobilenetv2":
        return torchvision.models.mobilenet_v2(weights=None), 224
    if key == "mobilenetv2-035":
        return torchvision.models.mobilenet_v2(weights=None, width_mult=0.35, num_classes=10), 96
    if key == "resnet50":
        return torchvision.models.resnet50(weights=None), 224
    if key == "resnet20":
        return ResNet20(10), 32
    raise ValueError(f"pytorch runner: unknown model '{key}', expected mobilenetv2, mobilenetv2-035, resnet50 or resnet20")


models = {}


def forward_flops(model, size):
    """2 × multiply-adds of the convolution and linear layers for one image (the figure bench/models.mjs uses)."""
    macs = [0]

    def conv_hook(m, inp, out):
        macs[0] += out.numel() // out.shape[0] * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, inp, out):
        macs[0] += m.in_features * m.out_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return 2 * macs[0]


def get(key):
    if key not in models:
        raise ValueError(f"pytorch runner: model '{key}' was not loaded")
    return models[key]


def setup(threads, **_):
    torch.set_num_threads(threads)
    backend = [l.split(":", 1)[1].strip() for l in torch.__config__.parallel_info().splitlines() if "parallel backend" in l]
    # Which BLAS the build links decides its dense/1×1-convolution speed (Debian's: the generic reference BLAS).
    blas = [f.split("=", 1)[1] for f in torch.__config__.show().replace(",", " ").split() if f.startswith("BLAS_INFO=")]
    return {"library": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(),
            "parallelBackend": backend[0] if backend else "unknown", "mkldnn": torch.backends.mkldnn.is_available(),
            "blas": blas[0] if blas else "unknown"}


def load(key, train=False, **_):
    torch.manual_seed(1)
    model, size = build(key)
    flops = forward_flops(model, size)
    models[key] = {"model": model, "size": size}
    if train:
        t, _ = build(key)
        models[key]["train"] = t
        models[key]["opt"] = torch.optim.Adam(t.parameters(), lr=1e-3)
    return {"params": sum(p.numel() for p in model.parameters()), "flops": flops}


def timed(fn, iterations, time_ms, warmup):
    for _ in range(warmup):
        fn()
    samples, start = [], time.perf_counter()
    while len(samples) < max(1, iterations) or (time.perf_counter() - start) * 1000 < time_ms:
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def infer(key, batch, iterations=3, warmup=0, **opts):
    """opts["time"]: keep timing for at least this many ms (other arguments the JS side sends are ignored)."""
    m = get(key)
    model = m["model"].eval()
    x = torch.rand(batch, 3, m["size"], m["size"]) * 2 - 1

    def step():
        with torch.no_grad():
            model(x)

    return timed(step, iterations, opts.get("time") or 0, warmup)


def train(key, batch, steps, iterations=1, warmup=0, **_):
    m = get(key)
    if "train" not in m:
        raise ValueError(f"pytorch runner: model '{key}' was loaded without a training copy (load with train: true)")
    model, opt = m["train"].train(), m["opt"]
    xs = torch.rand(steps, batch, 3, m["size"], m["size"]) * 2 - 1
    classes = model.fc.out_features if hasattr(model, "fc") else model.classifier[-1].out_features
    ys = torch.arange(steps * batch).reshape(steps, batch) * 7 % classes
    loss_fn = nn.CrossEntropyLoss()

    def epoch():
        for i in range(steps):
            opt.zero_grad(set_to_none=True)
            loss_fn(model(xs[i]), ys[i]).backward()
            opt.step()

    return timed(epoch, iterations, 0, warmup)


FNS = {"setup": setup, "load": load, "infer": infer, "train": train, "close": lambda: None}


def main():
    PROTOCOL.write(json.dumps({"ready": True, "version": torch.__version__}) + "\n")
    PROTOCOL.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        try:
            fn = FNS.get(msg["fn"])
            if fn is None:
                raise ValueError(f"pytorch runner has no '{msg['fn']}', expected one of {', '.join(FNS)}")
            reply = {"id": msg["id"], "result": fn(**(msg.get("args") or {}))}
        except Exception as e:  # noqa: BLE001 - reported to the caller, which names the runner
            traceback.print_exc(file=sys.stderr)
            reply = {"id": msg["id"], "error": f"{type(e).__name__}: {e}"}
        PROTOCOL.write(json.dumps(reply) + "\n")
        PROTOCOL.flush()
        if msg["fn"] == "close":
            break


main()
