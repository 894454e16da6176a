"""Small, dependency-free helpers every other package may import: validators (:mod:`.checks`),
atomic file IO and JSON (:mod:`.io`), seeding (:mod:`.seeding`), device selection (:mod:`.device`)
and working-directory-independent paths (:mod:`.paths`)."""

from .device import amp_dtype, get_device
from .seeding import mix_seeds, seed_everything

__all__ = ["amp_dtype", "get_device", "mix_seeds", "seed_everything"]
