"""Hair paths from a one-pixel skeleton: branches, junctions, crossings and shared stems.

The skeleton of a hair mask is a graph: branches (simple pixel runs) meet at junctions.
A hair is a chain of branches that continues straight through each junction: at a crossing
the two straightest pairings are two hairs; where two or three hairs leave one follicle
opening they share a stem, which belongs to each of them. ``hair_paths`` enumerates the
candidate chains and keeps the straightest set that explains every branch.

Pure numpy and scipy: no image reading, no knowledge of what drew the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from skimage.morphology import skeletonize

from .geometry import arc_lengths, polyline_length, union_root

EIGHT = np.ones((3, 3), dtype=bool)
# Two forks joined by a branch up to this many shaft widths long are one crossing: the stub
# of two shafts crossing at angle a is about a width / sin(a) long, so this joins crossings
# steeper than about 40 degrees; shallower ones are chained through both forks.
STUB_WIDTHS = 1.5
# Chains explored from one start, and in all, before giving up on a tangle: keeps the
# search bounded on dense clumps and pathological skeletons.
MAX_CHAINS_PER_START = 400
MAX_CHAINS = 20_000
# Ending a chain at a junction it could continue through weighs like a turn of this much.
STOP_TURN_DEG = 20.0
# A spur from the axis to the corner of a square-cut end is about 1.4 half widths long.
SPUR_REACH = 1.6


@dataclass
class Branch:
    index: int
    points: np.ndarray  # (n, 2) float x, y, in order
    ends: tuple[int | None, int | None]  # junction node at the start and at the end, or None
    removed: bool = False

    @property
    def length(self) -> float:
        return polyline_length(self.points)

    def end_point(self, side: int) -> np.ndarray:
        return self.points[0] if side == 0 else self.points[-1]

    def direction_from(self, side: int, skip_px: float, span_px: float) -> np.ndarray:
        """Unit vector pointing from the ``side`` end into the branch, away from that end.

        The first ``skip_px`` of the branch are skipped: the skeleton bends towards a
        junction's centre there, so they would misstate the branch's direction.
        """
        points = self.points if side == 0 else self.points[::-1]
        steps = arc_lengths(points)
        total = steps[-1]
        if total <= 0:
            return np.array([1.0, 0.0])
        skip = min(skip_px, total / 3)
        end = min(skip + span_px, total)
        a = np.array([np.interp(skip, steps, points[:, 0]), np.interp(skip, steps, points[:, 1])])
        b = np.array([np.interp(end, steps, points[:, 0]), np.interp(end, steps, points[:, 1])])
        vector = b - a
        norm = float(np.hypot(*vector))
        if norm < 1e-9:
            vector = points[-1] - points[0]
            norm = float(np.hypot(*vector)) or 1.0
        return vector / norm


@dataclass
class Graph:
    branches: list[Branch]
    nodes: dict[int, np.ndarray]  # junction node id -> centre (x, y)
    incident: dict[int, list[tuple[int, int]]] = field(
        default_factory=dict
    )  # node -> (branch, side)

    def rebuild_incidence(self) -> None:
        self.incident = {node: [] for node in self.nodes}
        for branch in self.branches:
            if branch.removed:
                continue
            for side, node in enumerate(branch.ends):
                if node is not None:
                    self.incident[node].append((branch.index, side))


def _neighbour_count(skeleton: np.ndarray) -> np.ndarray:
    """How many of its eight neighbours each skeleton pixel has (0 off the skeleton)."""
    # Nine shifted views of the padded image summed: the 3 x 3 convolution's counts without
    # its per-pixel loop over the footprint.
    padded = np.pad(skeleton, 1).astype(np.uint8)
    height, width = skeleton.shape
    counts = np.zeros((height, width), dtype=np.uint8)
    for dr in range(3):
        for dc in range(3):
            counts += padded[dr : dr + height, dc : dc + width]
    return np.where(skeleton, counts - 1, 0)


# A branch pixel's eight neighbours in the order the walk prefers them: the four sharing a
# side first (they are the nearer, and the walk then skips no pixel), then the diagonals.
_WALK_OFFSETS = ((-1, 0), (0, -1), (0, 1), (1, 0), (-1, -1), (-1, 1), (1, -1), (1, 1))


def _order(pixels: np.ndarray) -> np.ndarray:
    """The pixels of one branch (row, col) walked end to end, as (x, y) points.

    The walk starts at the pixel with the fewest neighbours (the first such, in the order
    given) and steps each time to the first unvisited neighbour in ``_WALK_OFFSETS``' order.
    """
    if len(pixels) == 1:
        return pixels[:, ::-1].astype(float)
    # Each pixel's neighbours found by array operations, one column per offset (-1: not in
    # the branch): every pixel has a key, row times a stride wider than the branch plus
    # column, and a neighbour's key is looked up among the sorted keys. Memory and time
    # grow with the branch's length, not with its bounding box (a long diagonal hair's box
    # is millions of pixels).
    rows = (pixels[:, 0] - pixels[:, 0].min() + 1).astype(np.int64)
    cols = (pixels[:, 1] - pixels[:, 1].min() + 1).astype(np.int64)
    stride = int(cols.max()) + 2
    keys = rows * stride + cols
    by_key = np.argsort(keys)
    sorted_keys = keys[by_key]
    columns = []
    for dr, dc in _WALK_OFFSETS:
        wanted = keys + (dr * stride + dc)
        at = np.minimum(np.searchsorted(sorted_keys, wanted), len(keys) - 1)
        columns.append(np.where(sorted_keys[at] == wanted, by_key[at], -1))
    table = np.stack(columns, axis=1)
    start = int(np.argmin((table >= 0).sum(axis=1)))
    neighbours = table.tolist()
    seen = bytearray(len(pixels))
    seen[start] = 1
    order = [start]
    current = start
    while True:
        for candidate in neighbours[current]:
            if candidate >= 0 and not seen[candidate]:
                break
        else:
            break
        seen[candidate] = 1
        order.append(candidate)
        current = candidate
    return pixels[order][:, ::-1].astype(float)


def build_graph(skeleton: np.ndarray) -> Graph:
    """The branches and junctions of a one-pixel-wide skeleton."""
    counts = _neighbour_count(skeleton)
    junction_pixels = skeleton & (counts >= 3)
    junction_labels, n_junctions = ndimage.label(junction_pixels, structure=EIGHT)
    nodes: dict[int, np.ndarray] = {}
    if n_junctions:
        # Each junction's centre of mass, by counting (ndimage.center_of_mass gives the same
        # sums far more slowly for many labels).
        rows, cols = np.nonzero(junction_pixels)
        labels = junction_labels[rows, cols]
        size = np.bincount(labels, minlength=n_junctions + 1)
        row_sum = np.bincount(labels, weights=rows, minlength=n_junctions + 1)
        col_sum = np.bincount(labels, weights=cols, minlength=n_junctions + 1)
        nodes = {
            label: np.array([col_sum[label] / size[label], row_sum[label] / size[label]])
            for label in range(1, n_junctions + 1)
        }
    runs = skeleton & ~junction_pixels
    run_labels, _n_runs = ndimage.label(runs, structure=EIGHT)
    # Junction labels grown by one pixel tell which junction each branch end touches.
    grown = ndimage.grey_dilation(junction_labels, footprint=EIGHT)
    branches: list[Branch] = []
    slices = ndimage.find_objects(run_labels)
    for label, window in enumerate(slices, start=1):
        if window is None:
            continue
        local = run_labels[window] == label
        rows, cols = np.nonzero(local)
        pixels = np.stack([rows + window[0].start, cols + window[1].start], axis=1)
        points = _order(pixels)
        ends: list[int | None] = []
        for point in (points[0], points[-1]):
            node = int(grown[int(point[1]), int(point[0])])
            ends.append(node if node else None)
        if len(points) == 1 and ends[0] is not None:
            # A one-pixel run touching two junctions: find the second one.
            r, c = int(points[0][1]), int(points[0][0])
            around = junction_labels[max(0, r - 1) : r + 2, max(0, c - 1) : c + 2]
            labels = sorted({int(v) for v in around.ravel() if v})
            ends = [labels[0], labels[-1]] if labels else [None, None]
        # Join the run to its junctions' centres so that chains through them are continuous.
        if ends[0] is not None:
            points = np.vstack([nodes[ends[0]], points])
        if ends[1] is not None:
            points = np.vstack([points, nodes[ends[1]]])
        branches.append(Branch(index=len(branches), points=points, ends=(ends[0], ends[1])))
    # Junctions that touch each other only through junction pixels would be lost; none are,
    # because clusters of touching junction pixels are labelled as one node above.
    graph = Graph(branches=branches, nodes=nodes)
    graph.rebuild_incidence()
    return graph


def prune_spurs(skeleton: np.ndarray, half_width: np.ndarray, rounds: int = 2) -> np.ndarray:
    """The skeleton without the spurs that only reach from the medial axis to the outline.

    A branch with a free end and a junction end is a spur when it is hardly longer than the
    shape's half width at the junction (``half_width``, the distance transform): such a
    branch runs from the axis out to a bump or a square-cut corner of the outline. A real
    hair leaving a junction runs on well beyond that. A shape that pruning would leave with
    next to nothing keeps its longest spur.
    """
    skeleton = skeleton.copy()
    for _ in range(rounds):
        graph = build_graph(skeleton)
        before = skeleton.copy()
        pruned: list[tuple[Branch, np.ndarray]] = []  # each spur removed, with its free tip
        changed = False
        for branch in graph.branches:
            free = [side for side, node in enumerate(branch.ends) if node is None]
            if len(free) != 1:
                continue
            joint = branch.end_point(1 - free[0])
            radius = float(half_width[round(joint[1]), round(joint[0])])
            if branch.length < SPUR_REACH * radius + 2.0:
                inner = branch.points[1:] if branch.ends[0] is not None else branch.points[:-1]
                for x, y in inner:
                    skeleton[round(y), round(x)] = False
                changed = True
                pruned.append((branch, branch.end_point(free[0])))
        if not changed:
            break
        # A shape whose every branch is short (a stub of hair cut by the image edge, inside
        # its opening's dark disc) keeps its longest one: whether it is a hair is judged
        # later, from its length, width and colour, rather than lost here unseen.
        components, count = ndimage.label(before, structure=EIGHT)
        longest: dict[int, tuple[float, Branch]] = {}
        for branch, tip in pruned:
            label = int(components[round(tip[1]), round(tip[0])])
            if label and (label not in longest or branch.length > longest[label][0]):
                longest[label] = (branch.length, branch)
        remaining = np.bincount(components[skeleton], minlength=count + 1)
        for label, (length, branch) in longest.items():
            # What is left of it is at most the junction it hung from.
            if remaining[label] < max(4.0, 0.25 * length):
                for x, y in branch.points:
                    skeleton[round(y), round(x)] = before[round(y), round(x)]
        # Removing a spur can leave a junction pixel with a stub; thin again.
        skeleton = skeletonize(skeleton)
    return skeleton


@dataclass(frozen=True)
class Path:
    """A chain of branches taken as one hair, with its points from one end to the other."""

    branches: tuple[tuple[int, int], ...]  # (branch index, direction 0 forward / 1 reversed)
    points: np.ndarray
    bend_deg: float  # the largest turn taken at a junction
    start_node: int | None
    end_node: int | None
    shared: np.ndarray  # per point: on a branch another kept chain uses too (stem, crossing)


def _turn(incoming: np.ndarray, outgoing: np.ndarray) -> float:
    """Signed degrees turned when arriving along ``incoming`` (pointing into the junction)
    and leaving along ``outgoing``: positive one way round, negative the other."""
    cross = float(incoming[0] * outgoing[1] - incoming[1] * outgoing[0])
    return math.degrees(math.atan2(cross, float(np.dot(incoming, outgoing))))


def hair_paths(
    graph: Graph,
    *,
    width_px: float,
    max_bend_deg: float = 35.0,
    min_branch_px: float = 3.0,
) -> list[Path]:
    """The straightest set of branch chains that covers every branch of the graph.

    Two junctions joined by a branch shorter than ``STUB_WIDTHS`` shaft widths are one crossing
    (a thick X skeletonises into two forks joined by a stub) and are taken as one junction.
    At each junction a chain may continue into any branch that turns less than
    ``max_bend_deg``. Candidate chains run from a free end (or a junction where nothing
    continues straight) to another; they are taken in order of their net turn through the
    junctions (so at a crossing the straight-through pairings come before the swapped ones,
    whose turns add up instead of cancelling), then of their sharpest turn, then longest
    first; one is kept only if it covers a branch no kept chain covers yet. Shared stems are
    thus counted once per hair that uses them. A chain may also stop at a junction where
    every branch it could turn into pairs more straightly with another one there (a T: a
    hair ending on another's side); stopping weighs like a turn of ``STOP_TURN_DEG``. The
    search is bounded: at most ``MAX_CHAINS_PER_START`` chains from one start and
    ``MAX_CHAINS`` in all.
    """
    skip = 0.7 * width_px
    span = max(6.0, 2.5 * width_px)
    # Junctions joined by a stub are one junction.
    parent = {node: node for node in graph.nodes}

    def root(node: int | None) -> int | None:
        return None if node is None else union_root(parent, node)

    stubs = set()
    for branch in graph.branches:
        a, b = branch.ends
        if branch.removed or a is None or b is None or a == b:
            continue
        if branch.length <= STUB_WIDTHS * width_px:
            parent[union_root(parent, a)] = union_root(parent, b)
            stubs.add(branch.index)
    live = [b for b in graph.branches if not b.removed and b.index not in stubs]
    by_index = {b.index: b for b in live}
    ends_of = {b.index: (root(b.ends[0]), root(b.ends[1])) for b in live}
    length_of = {b.index: b.length for b in live}
    incident: dict[int, list[tuple[int, int]]] = {}
    for branch in live:
        for side, node in enumerate(ends_of[branch.index]):
            if node is not None:
                incident.setdefault(node, []).append((branch.index, side))
    # Direction of each branch end leaving its junction.
    leaving = {
        (branch.index, side): branch.direction_from(side, skip, span)
        for branch in live
        for side in (0, 1)
    }
    # For each branch end at a junction: which other branch ends continue it, and the turn.
    continues: dict[tuple[int, int], list[tuple[float, int, int]]] = {}
    for ends in incident.values():
        for b1, s1 in ends:
            arriving = -leaving[(b1, s1)]
            options = []
            for b2, s2 in ends:
                if (b2, s2) == (b1, s1):
                    continue
                turn = _turn(arriving, leaving[(b2, s2)])
                if abs(turn) <= max_bend_deg:
                    options.append((turn, b2, s2))
            continues[(b1, s1)] = sorted(options, key=lambda option: abs(option[0]))
    # Where a chain may stop although it could go on: every branch it could turn into goes
    # on more straightly into another branch there, so that pair is a hair of its own.
    may_stop = {
        end
        for end, options in continues.items()
        if options
        and all(
            any(
                other[1] != end[0] and abs(other[0]) + 5.0 < abs(turn)
                for other in continues.get((b2, s2), [])
            )
            for turn, b2, s2 in options
        )
    }

    # chain, net turn, sharpest turn, and whether it stops at a junction it could go through
    Candidate = tuple[tuple[tuple[int, int], ...], float, float, bool]
    candidates: list[Candidate] = []

    def walk_from(start: tuple[int, int]) -> None:
        """Every maximal chain from ``start``, depth first with an explicit stack, and at
        each T it could go through (``may_stop``), the chain that stops there."""
        found = 0
        stack: list[tuple[tuple[tuple[int, int], ...], float, float]] = [((start,), 0.0, 0.0)]
        while stack and found < MAX_CHAINS_PER_START and len(candidates) < MAX_CHAINS:
            chain, net, sharpest = stack.pop()
            index, direction = chain[-1]
            exit_side = 1 - direction  # the end the chain leaves the branch by
            visited = {i for i, _ in chain}
            options = []
            if ends_of[index][exit_side] is not None:
                options = [o for o in continues.get((index, exit_side), []) if o[1] not in visited]
            if not options:
                candidates.append((chain, net, sharpest, False))
                found += 1
                continue
            # A hair may end on another one (its tip lying on it, or leaving from under it):
            # stopping is weighed like a turn of STOP_TURN_DEG, so a hair is not carried
            # round a corner onto its neighbour, but one bending gently through stays whole.
            # Not counted against the search's bound on chains from one start.
            if (index, exit_side) in may_stop:
                candidates.append((chain, net, sharpest, True))
            for turn, next_index, next_side in reversed(options):
                stack.append(
                    ((*chain, (next_index, next_side)), net + turn, max(sharpest, abs(turn)))
                )

    for branch in live:
        for side in (0, 1):
            # A chain starts at a free end, or at a junction end nothing continues straight.
            if ends_of[branch.index][side] is None or not continues.get((branch.index, side)):
                walk_from((branch.index, side))
    # Loops of branches with no free end (a ring of hairs) are picked up from any branch.
    covered_any = {i for chain, *_ in candidates for i, _ in chain}
    for branch in live:
        if branch.index not in covered_any:
            before = len(candidates)
            walk_from((branch.index, 0))
            covered_any |= {i for chain, *_ in candidates[before:] for i, _ in chain}

    def weight(item: Candidate) -> tuple[float, float, float]:
        chain, net, sharpest, stops = item
        if stops:
            net, sharpest = abs(net) + STOP_TURN_DEG, max(sharpest, STOP_TURN_DEG)
        return (round(abs(net) / 5.0), round(sharpest / 5.0), -sum(length_of[i] for i, _ in chain))

    kept: list[tuple[tuple[tuple[int, int], ...], float]] = []
    covered: set[int] = set()
    seen_keys: set[tuple[tuple[int, int], ...]] = set()
    for chain, _net, sharpest, _stops in sorted(candidates, key=weight):
        reverse = tuple((i, 1 - d) for i, d in reversed(chain))
        if chain in seen_keys or reverse in seen_keys:
            continue
        seen_keys.add(chain)
        if not any(i not in covered and length_of[i] >= min_branch_px for i, _ in chain):
            continue
        covered.update(i for i, _ in chain)
        kept.append((chain, sharpest))
    uses: dict[int, int] = {}
    for chain, _ in kept:
        for i, _ in chain:
            uses[i] = uses.get(i, 0) + 1
    paths: list[Path] = []
    for chain, sharpest in kept:
        pieces: list[np.ndarray] = []
        shared: list[np.ndarray] = []
        for i, direction in chain:
            points = by_index[i].points if direction == 0 else by_index[i].points[::-1]
            points = points if not pieces else points[1:]
            pieces.append(points)
            shared.append(np.full(len(points), uses[i] > 1))
        first_index, first_direction = chain[0]
        last_index, last_direction = chain[-1]
        paths.append(
            Path(
                branches=chain,
                points=np.vstack(pieces),
                bend_deg=sharpest,
                start_node=ends_of[first_index][first_direction],
                end_node=ends_of[last_index][1 - last_direction],
                shared=np.concatenate(shared),
            )
        )
    return paths
