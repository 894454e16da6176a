"""Paper mechanisms, one per file: each opens with the paper, its equations, a data-flow sketch,
shapes and departures. Models (:mod:`actionrec.models`) compose them."""

from .mtconv import MTConv, split_channels, split_groups
from .softpool import SoftPool3d, soft_pool3d
from .squeeze_recursion import SqueezeRecursion
from .cycle_consistency import CycleConsistency, cycle_consistency, nearest_frames, soft_nearest_neighbours
from .srtg import GateRecord, SRTGate
from .temporal_shift import TemporalShift, temporal_shift
from .mixtconv import MixTConv
from .msti import CAWBlock, MSTITube, MultiScaleConv, P3DBBlock, SteppedConv
from .fusion import CrossStreamConnection
from .temporal_filter import TemporalFilter
from .flow_stack import stack_flow
