"""Device selection and the autocast dtype: CUDA when present (bf16 autocast there), CPU otherwise.

:func:`get_device` turns a config's ``device`` ("auto", "cpu", "cuda", "cuda:1", ... or a
``torch.device``) into a ``torch.device``, "auto" meaning CUDA when available; asking for CUDA on a
machine without it is a ``ValueError`` naming the setting, not a crash later. :func:`amp_dtype` is
the dtype ``torch.autocast`` should use for a config's ``amp`` on that device: None (plain fp32) on
CPU or when ``amp`` is False; on CUDA the ``torch.dtype`` given, else bf16 (fp16 on GPUs without
bf16, which the training loop pairs with a ``GradScaler``).
"""

from __future__ import annotations

import torch


def get_device(device: str | torch.device = "auto") -> torch.device:
    """Resolve ``"auto"`` to CUDA when available, else CPU; pass others through.

    Raises ``ValueError`` naming the parameter when CUDA is asked for but absent.
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but torch.cuda.is_available() is False on this machine; "
            "use device='auto' or 'cpu'."
        )
    try:
        return torch.device(device)
    except RuntimeError as e:
        raise ValueError(f"device={device!r} is not a valid torch device ('auto', 'cpu', 'cuda', 'cuda:1', ...)") from e


def amp_dtype(amp: bool | str | torch.dtype, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``amp`` on ``device``: None (fp32) on CPU or when ``amp`` is False; on CUDA
    the given ``torch.dtype``, else bf16 (fp16 where bf16 is unsupported)."""
    if device.type != "cuda" or amp is False:
        return None
    if isinstance(amp, torch.dtype):
        return amp
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
