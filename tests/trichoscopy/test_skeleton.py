"""The skeleton graph: branches, junctions, spurs and chains, on hand-drawn pixel skeletons;
the fast branch walk and neighbour count against their plain definitions."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage
from skimage.morphology import skeletonize

from mesoclinic.trichoscopy.skeleton import (
    _neighbour_count,
    _order,
    build_graph,
    hair_paths,
    prune_spurs,
)


def _canvas(height: int = 80, width: int = 120) -> np.ndarray:
    return np.zeros((height, width), dtype=bool)


def test_a_single_pixel_is_one_branch_with_free_ends():
    skeleton = _canvas()
    skeleton[40, 60] = True
    graph = build_graph(skeleton)
    assert len(graph.branches) == 1
    assert graph.branches[0].ends == (None, None)
    assert graph.nodes == {}


def test_a_straight_line_is_one_branch_walked_end_to_end():
    skeleton = _canvas()
    skeleton[40, 10:110] = True
    (branch,) = build_graph(skeleton).branches
    xs = branch.points[:, 0]
    assert sorted([xs[0], xs[-1]]) == [10, 109]
    assert branch.length == 99


def test_a_closed_ring_is_walked_without_looping_forever():
    mask = _canvas()
    ys, xs = np.mgrid[0:80, 0:120]
    radius = np.hypot(xs - 60, ys - 40)
    mask[(radius > 18) & (radius < 22)] = True
    graph = build_graph(skeletonize(mask))
    assert graph.branches
    assert sum(b.length for b in graph.branches) > 100  # about 2 pi 20


def test_a_cross_has_one_junction_and_four_arms_and_makes_two_chains():
    skeleton = _canvas()
    skeleton[40, 10:110] = True
    skeleton[5:75, 60] = True
    graph = build_graph(skeleton)
    assert len(graph.nodes) == 1
    assert len(graph.branches) == 4
    paths = hair_paths(graph, width_px=3.0)
    assert len(paths) == 2
    for path in paths:
        direction = path.points[-1] - path.points[0]
        # Each chain goes straight through: horizontal or vertical, not round the corner.
        assert min(abs(direction[0]), abs(direction[1])) < 3


def test_a_fork_shares_its_stem_between_two_chains():
    skeleton = _canvas(100, 160)
    skeleton[50, 10:80] = True  # the stem
    for step in range(60):  # two arms leaving at about +-14 degrees
        skeleton[50 - step // 4, 80 + step] = True
        skeleton[50 + step // 4, 80 + step] = True
    paths = hair_paths(build_graph(skeleton), width_px=3.0)
    assert len(paths) == 2
    assert all(path.shared.any() for path in paths)


def test_short_spurs_are_pruned_and_long_branches_kept():
    mask = _canvas()
    mask[35:46, 10:110] = True  # a shaft 11 px wide
    mask[30:35, 50:53] = True  # a bump on its outline
    half_width = np.asarray(__import__("scipy").ndimage.distance_transform_edt(mask))
    pruned = prune_spurs(skeletonize(mask), half_width)
    graph = build_graph(pruned)
    assert len(graph.nodes) == 0
    assert len(graph.branches) == 1


def test_a_shape_whose_every_branch_is_short_keeps_its_longest_one():
    # A shaft's stub inside its opening's wide dark disc: every branch is shorter than the
    # disc's half width, yet the shape must not vanish before it is judged.
    skeleton = _canvas()
    skeleton[40, 40:61] = True  # 20 px towards the edge: the stub
    skeleton[31:40, 40] = True  # two short arms from the junction at (40, 40)
    skeleton[41:48, 40] = True
    half_width = np.full(skeleton.shape, 25.0)
    graph = build_graph(prune_spurs(skeleton, half_width))
    assert len(graph.branches) == 1
    assert graph.branches[0].length >= 19


def test_a_chain_may_stop_where_a_branch_meets_another_hair_at_a_slant():
    skeleton = _canvas(100, 200)
    skeleton[70, 10:190] = True  # one hair, straight through
    for step in range(50):  # another ending on its side at about 30 degrees
        skeleton[70 - step // 2, 100 - step] = True
    paths = hair_paths(build_graph(skeleton), width_px=3.0)
    assert len(paths) == 2
    slanted = [path for path in paths if path.points[:, 1].min() < 60]
    (path,) = slanted
    # It ends at the junction instead of turning onto the straight hair's arm.
    assert path.points[:, 0].max() <= 101


def test_arms_leaving_a_stem_at_28_degrees_still_share_it():
    skeleton = _canvas(100, 160)
    skeleton[50, 10:80] = True  # the stem
    for step in range(60):  # two arms at about +-28 degrees
        skeleton[50 - round(step * 0.53), 80 + step] = True
        skeleton[50 + round(step * 0.53), 80 + step] = True
    paths = hair_paths(build_graph(skeleton), width_px=3.0)
    assert len(paths) == 2
    assert all(path.shared.any() for path in paths)


def test_a_curved_hair_crossed_by_a_straight_one_stays_whole():
    # A shaft 8 px wide curling on a 60 px radius turns more at the crossing than a
    # chain's stop weighs; stopping there would count it twice.
    skeleton = _canvas(160, 200)
    skeleton[5:155, 100] = True  # straight, vertical
    for x in range(45, 156):  # an arc of radius 60 px crossing it
        y = 130 - math.sqrt(max(0.0, 60.0**2 - (x - 100) ** 2))
        skeleton[round(y), x] = True
    skeleton = skeletonize(skeleton)
    paths = hair_paths(build_graph(skeleton), width_px=8.0)
    assert len(paths) == 2


def _walk_as_specified(pixels: np.ndarray) -> np.ndarray:
    """The branch walk's rule written out plainly: start at the first pixel with the fewest
    neighbours, then step to an unvisited neighbour, one sharing a side before a diagonal
    one, each kind in reading order."""
    members = {(int(r), int(c)): i for i, (r, c) in enumerate(pixels)}
    reading = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc]
    preferred = sorted(reading, key=lambda d: abs(d[0]) + abs(d[1]))  # stable: reading order

    def neighbours(i: int) -> list[int]:
        r, c = pixels[i]
        found = (members.get((int(r) + dr, int(c) + dc)) for dr, dc in preferred)
        return [j for j in found if j is not None]

    current = min(range(len(pixels)), key=lambda i: (len(neighbours(i)), i))
    order, seen = [current], {current}
    while True:
        step = next((j for j in neighbours(current) if j not in seen), None)
        if step is None:
            break
        order.append(step)
        seen.add(step)
        current = step
    return pixels[order][:, ::-1].astype(float)


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=1, max_value=60))
def test_a_branch_is_walked_as_the_rule_says(seed, steps):
    # Random eight-connected runs that may double back next to themselves, and scattered
    # pixels: whatever the shape, the fast walk is the specified one.
    rng = np.random.default_rng(seed)
    position = np.array([30, 30])
    pixels = [tuple(position)]
    for _ in range(steps):
        position = np.clip(position + rng.integers(-1, 2, size=2), 0, 60)
        if tuple(position) not in pixels:
            pixels.append(tuple(position))
    if rng.random() < 0.3:
        pixels += [tuple(p) for p in rng.integers(0, 61, size=(3, 2)) if tuple(p) not in pixels]
    branch = np.asarray(pixels)
    assert np.array_equal(_order(branch), _walk_as_specified(branch))


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1), st.sampled_from([0.05, 0.3, 0.7]))
def test_neighbours_are_counted_as_the_three_by_three_sum(seed, share):
    skeleton = np.random.default_rng(seed).random((23, 31)) < share
    kernel = np.ones((3, 3), dtype=np.uint8)
    expected = ndimage.convolve(skeleton.astype(np.uint8), kernel, mode="constant")
    assert np.array_equal(_neighbour_count(skeleton), np.where(skeleton, expected - 1, 0))


def test_junctions_sit_at_the_centre_of_their_pixels():
    # A plus sign and an X drawn two pixels thick at their crossings: each junction is the
    # centre of mass of its cluster of junction pixels.
    skeleton = _canvas()
    skeleton[20, 5:36] = True
    skeleton[5:36, 20] = True
    for t in range(-15, 16):
        skeleton[55 + t, 80 + t] = True
        skeleton[55 + t, 80 - t] = True
    graph = build_graph(skeleton)
    counts = _neighbour_count(skeleton)
    junctions = skeleton & (counts >= 3)
    labels, count = ndimage.label(junctions, structure=np.ones((3, 3), dtype=bool))
    expected = ndimage.center_of_mass(junctions, labels, range(1, count + 1))
    assert count == len(graph.nodes) == 2
    for label, (row, col) in enumerate(expected, start=1):
        assert np.array_equal(graph.nodes[label], np.array([col, row]))


def test_a_long_diagonal_branch_is_walked_as_the_rule_says():
    # Thousands of pixels across a box of millions: the walk's table grows with the branch.
    steps = np.arange(2500)
    pixels = np.stack([steps + (steps // 7), steps], axis=1)
    assert np.array_equal(_order(pixels), _walk_as_specified(pixels))
