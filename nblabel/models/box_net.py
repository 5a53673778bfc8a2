"""The box model's network and where it runs (``resolve_device``). Torch is imported only
when a function here is called."""

from __future__ import annotations

import os
from typing import Any

from nblabel.errors import InputError

__all__ = ["build_net", "resolve_device", "torch_module"]


def torch_module() -> Any:
    # Idle OpenMP threads sleep instead of spinning: on a busy machine (or a notebook
    # kernel sharing its cores with the browser) spinning threads made training 10-20x
    # slower here. Only effective when torch is first imported here.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "nblabel.models.BoxModel needs torch: pip install 'nblabel[torch]'"
        ) from e
    return torch


def resolve_device(device: Any = "auto") -> Any:
    """The :class:`torch.device` for ``device``: ``"auto"`` picks CUDA when available, then
    Apple MPS, else the CPU; ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` or a
    ``torch.device`` are checked and returned."""
    torch = torch_module()
    if isinstance(device, str) and device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise InputError(f"unknown device {device!r}: use 'auto', 'cpu', 'cuda' or 'mps'"
                         ) from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r} asked but torch sees no CUDA GPU here "
                         f"(torch {torch.__version__}); use device='auto' or 'cpu'")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"device {device!r} asked but Apple MPS is not available here; "
                         "use device='auto' or 'cpu'")
    return dev


def build_net(n_classes: int, width: int) -> Any:
    torch = torch_module()
    nn = torch.nn
    w = width

    def cbr(i: int, o: int, s: int = 1, d: int = 1) -> Any:
        return nn.Sequential(
            nn.Conv2d(i, o, 3, s, padding=d, dilation=d, bias=False),
            nn.BatchNorm2d(o), nn.ReLU(inplace=True),
        )

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.e1 = nn.Sequential(cbr(3, w, 2), cbr(w, w))                    # /2
            self.e2 = nn.Sequential(cbr(w, 2 * w, 2), cbr(2 * w, 2 * w))        # /4
            self.e3 = nn.Sequential(cbr(2 * w, 4 * w, 2), cbr(4 * w, 4 * w))    # /8
            self.e4 = nn.Sequential(cbr(4 * w, 6 * w, 2), cbr(6 * w, 6 * w, d=2),
                                    cbr(6 * w, 6 * w, d=4))                      # /16
            self.d3 = cbr(10 * w, 4 * w)
            self.d2 = cbr(6 * w, 2 * w)
            self.head = nn.Conv2d(2 * w, 1 + n_classes, 1)

        def forward(self, x: Any) -> Any:
            f = torch.nn.functional
            x2 = self.e2(self.e1(x))
            x3 = self.e3(x2)
            x4 = self.e4(x3)
            y = self.d3(torch.cat([f.interpolate(x4, scale_factor=2.0), x3], 1))
            y = self.d2(torch.cat([f.interpolate(y, scale_factor=2.0), x2], 1))
            return self.head(y)

    return Net()
