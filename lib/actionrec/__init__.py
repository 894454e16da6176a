"""actionrec: time in video action recognition.

Reference implementations of MTNet (multi-temporal convolutions), SRTG, MSTI,
MixTConv and two-stream multiplier networks, an embedded procedural dataset
(SynthActions), one training loop and complexity counters.

Tensor layout everywhere: ``(B, C, T, H, W)``.
"""

__version__ = "0.1.0"
