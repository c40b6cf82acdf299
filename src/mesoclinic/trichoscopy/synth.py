"""Synthetic phototrichogram images with full ground truth per hair.

A scene is built in physical units and drawn at a pixel pitch: follicular units (1-4 hairs
leaving one opening) scattered over the image and a margin around it, so that hairs enter
from beyond the border; each hair a clipped, slightly curved shaft of known width, colour
and exit point. The scene is then rendered with skin tone and texture, follicle openings,
dandruff, vessels, uneven lighting, optical blur, specular glare, sensor noise and JPEG.

Everything is seeded. ``Scene`` holds the truth (what the analysis should find); ``Look``
holds the lighting, optics and noise, so one scene can be re-rendered with a new look for
repeatability. The analysis never reads anything here but the pixels.

The three tiers and their ``HELD_BACK`` variants follow hair-image-analysis.md section 8.
The held-back settings are never used while tuning the analysis; the benchmark reports
them separately so that over-fitting to the tuning settings would show.
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage
from scipy.spatial import cKDTree

from .geometry import densify, visible_length
from .result import UM_PER_CM, width_class

# Skin tones (sRGB, lit), light to dark; hair colours as reflected sRGB and opacity per
# micrometre of shaft crossed: pigment absorbs in dark hair, while unpigmented (grey,
# white) shafts hide the skin by scattering, so they are not much more transparent.
SKIN_TONES = {
    "very light": (236, 204, 186),
    "light": (222, 184, 160),
    "medium": (196, 150, 118),
    "olive": (176, 132, 96),
    "brown": (138, 96, 68),
}
HAIR_COLOURS = {
    "black": ((28, 24, 24), 0.09),
    "dark brown": ((52, 36, 28), 0.07),
    "brown": ((92, 64, 44), 0.05),
    "blond": ((186, 150, 100), 0.05),
    "grey": ((150, 146, 142), 0.06),
    "white": ((238, 236, 230), 0.06),
}
DARK_COLOURS = ("black", "dark brown", "brown")
# Least colour difference between a light hair and the skin, relative to the skin's brightness.
MIN_COLOUR_CONTRAST = 0.18
LIGHT_COLOURS = ("blond", "grey", "white")


@dataclass(frozen=True)
class TierSettings:
    """The knobs of one difficulty tier (ranges are drawn uniformly per image)."""

    name: str
    size_px: tuple[int, int] = (960, 1280)  # height, width
    um_per_px: tuple[float, float] = (3.0, 4.0)
    density_per_cm2: tuple[float, float] = (50.0, 120.0)
    unit_sizes: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)  # mix of 1-4 hairs
    length_um: tuple[float, float] = (400.0, 900.0)
    class_mix: tuple[float, float, float] = (0.1, 0.2, 0.7)  # vellus, intermediate, terminal
    direction_spread_deg: float = 20.0  # around the scalp's hair stream
    curvature_per_mm: tuple[float, float] = (0.0, 0.3)
    touching_pairs: float = 0.0  # share of 2-hair units drawn side by side, touching
    crossings: float = 0.0  # chance that a unit may cross or overlap hairs already placed
    light_hair: float = 0.0  # share of grey, white or blond hairs
    skin_tones: tuple[str, ...] = ("very light", "light", "medium")
    texture: float = 0.03
    empty_openings_per_cm2: tuple[float, float] = (0.0, 20.0)
    dandruff_per_cm2: tuple[float, float] = (0.0, 0.0)
    vessels: tuple[int, int] = (0, 0)
    light_gradient: float = 0.10  # relative fall-off across the field
    vignetting: float = 0.08
    blur_sigma_px: tuple[float, float] = (0.5, 1.0)
    glare_spots: tuple[int, int] = (0, 0)
    specular_stripe: float = 0.0  # strength of the highlight along terminal hairs
    noise: float = 0.01  # Gaussian read noise, fraction of full scale
    shot_noise: float = 0.0005  # Poisson-like noise variance per unit intensity
    jpeg_quality: tuple[int, int] | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


TIERS: dict[str, TierSettings] = {
    "easy": TierSettings(name="easy", density_per_cm2=(80.0, 160.0)),
    "medium": TierSettings(
        name="medium",
        um_per_px=(3.0, 5.0),
        density_per_cm2=(100.0, 220.0),
        unit_sizes=(0.6, 0.3, 0.1, 0.0),
        class_mix=(0.15, 0.25, 0.6),
        direction_spread_deg=40.0,
        curvature_per_mm=(0.0, 0.6),
        touching_pairs=0.1,
        crossings=0.35,
        light_hair=0.1,
        skin_tones=("very light", "light", "medium", "olive"),
        texture=0.05,
        empty_openings_per_cm2=(10.0, 40.0),
        dandruff_per_cm2=(0.0, 40.0),
        vessels=(0, 2),
        light_gradient=0.2,
        vignetting=0.15,
        blur_sigma_px=(0.6, 1.4),
        glare_spots=(0, 3),
        specular_stripe=0.06,
        noise=0.02,
        shot_noise=0.001,
        jpeg_quality=(85, 95),
    ),
    "hard": TierSettings(
        name="hard",
        um_per_px=(3.5, 6.0),
        density_per_cm2=(180.0, 300.0),
        unit_sizes=(0.45, 0.35, 0.15, 0.05),
        class_mix=(0.25, 0.3, 0.45),
        direction_spread_deg=70.0,
        curvature_per_mm=(0.0, 1.0),
        touching_pairs=0.25,
        crossings=1.0,
        light_hair=0.25,
        skin_tones=("very light", "light", "medium", "olive", "brown"),
        texture=0.07,
        empty_openings_per_cm2=(20.0, 60.0),
        dandruff_per_cm2=(20.0, 80.0),
        vessels=(1, 4),
        light_gradient=0.3,
        vignetting=0.25,
        blur_sigma_px=(0.8, 2.0),
        glare_spots=(2, 6),
        specular_stripe=0.12,
        noise=0.03,
        shot_noise=0.002,
        jpeg_quality=(70, 85),
    ),
}

# Settings never tuned on: other pitches, tones, mixes and optics than the tuning tiers.
HELD_BACK: dict[str, TierSettings] = {
    "easy": replace(
        TIERS["easy"],
        um_per_px=(2.5, 3.5),
        density_per_cm2=(60.0, 140.0),
        skin_tones=("light", "medium", "olive"),
        length_um=(300.0, 1100.0),
        blur_sigma_px=(0.4, 1.2),
    ),
    "medium": replace(
        TIERS["medium"],
        um_per_px=(3.5, 5.0),
        density_per_cm2=(120.0, 240.0),
        skin_tones=("very light", "olive", "brown"),
        class_mix=(0.2, 0.3, 0.5),
        light_hair=0.15,
        blur_sigma_px=(0.8, 1.6),
    ),
    "hard": replace(
        TIERS["hard"],
        um_per_px=(4.0, 6.0),
        density_per_cm2=(200.0, 300.0),
        skin_tones=("light", "olive", "brown"),
        class_mix=(0.3, 0.3, 0.4),
        light_hair=0.3,
        curvature_per_mm=(0.2, 1.2),
    ),
}


def tier_settings(tier: str | TierSettings, *, held_back: bool = False) -> TierSettings:
    """The settings of a tier by name (``ValueError`` naming the tiers for an unknown one)."""
    if isinstance(tier, TierSettings):
        return tier
    if tier not in TIERS:
        raise ValueError(f"Unknown tier {tier!r}: choose one of {', '.join(TIERS)}.")
    return HELD_BACK[tier] if held_back else TIERS[tier]


@dataclass(frozen=True)
class TruthHair:
    """One hair as drawn: centreline from its exit point to its clipped tip, in pixels."""

    id: int
    unit: int
    exit_px: tuple[float, float]
    centreline_px: tuple[tuple[float, float], ...]
    width_um: float
    colour: str
    exit_in_image: bool
    visible_length_px: float
    touching: bool = False

    @property
    def hair_class(self) -> str:
        return width_class(self.width_um)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "unit": self.unit,
            "exit_px": list(self.exit_px),
            "centreline_px": [[round(x, 3), round(y, 3)] for x, y in self.centreline_px],
            "width_um": round(self.width_um, 3),
            "class": self.hair_class,
            "colour": self.colour,
            "exit_in_image": self.exit_in_image,
            "visible_length_px": round(self.visible_length_px, 2),
            "touching": self.touching,
        }


@dataclass(frozen=True)
class Scene:
    """The truth of one image: its size, pitch, skin and every hair and distractor."""

    tier: str
    seed: int
    size_px: tuple[int, int]
    um_per_px: float
    skin_tone: str
    hairs: tuple[TruthHair, ...]
    openings: tuple[tuple[float, float, float], ...]  # x, y, radius (px); hairs' and empty
    dandruff: tuple[tuple[float, float, float, float, float], ...]  # x, y, rx, ry, angle
    vessels: tuple[tuple[tuple[float, float], ...], ...]

    @property
    def area_cm2(self) -> float:
        return self.size_px[0] * self.size_px[1] * (self.um_per_px / UM_PER_CM) ** 2

    @property
    def count(self) -> int:
        """Hairs whose exit from the skin lies in the image: what the analysis must count."""
        return sum(1 for hair in self.hairs if hair.exit_in_image)

    def with_hair(self, hair: TruthHair) -> Scene:
        return replace(self, hairs=(*self.hairs, hair))

    def truth_json(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "seed": self.seed,
            "width_px": self.size_px[1],
            "height_px": self.size_px[0],
            "um_per_px": self.um_per_px,
            "skin_tone": self.skin_tone,
            "count": self.count,
            "density_per_cm2": round(self.count / self.area_cm2, 2),
            "hairs": [hair.as_json() for hair in self.hairs],
        }


def truth_from_json(data: dict[str, Any]) -> Scene:
    """A scene's truth read back from ``Scene.truth_json`` (no distractors)."""
    hairs = tuple(
        TruthHair(
            id=int(item["id"]),
            unit=int(item["unit"]),
            exit_px=(float(item["exit_px"][0]), float(item["exit_px"][1])),
            centreline_px=tuple((float(x), float(y)) for x, y in item["centreline_px"]),
            width_um=float(item["width_um"]),
            colour=str(item["colour"]),
            exit_in_image=bool(item["exit_in_image"]),
            visible_length_px=float(item["visible_length_px"]),
            touching=bool(item.get("touching", False)),
        )
        for item in data["hairs"]
    )
    return Scene(
        tier=str(data["tier"]),
        seed=int(data["seed"]),
        size_px=(int(data["height_px"]), int(data["width_px"])),
        um_per_px=float(data["um_per_px"]),
        skin_tone=str(data["skin_tone"]),
        hairs=hairs,
        openings=(),
        dandruff=(),
        vessels=(),
    )


@dataclass(frozen=True)
class Look:
    """How a scene is lit, focused and recorded; drawn afresh for each re-rendering."""

    seed: int
    light_angle: float
    light_gradient: float
    vignetting: float
    blur_sigma_px: float
    glare: tuple[tuple[float, float, float, float], ...]  # x, y, radius, strength
    noise: float
    shot_noise: float
    jpeg_quality: int | None
    texture: float
    specular_stripe: float


# --- building a scene ------------------------------------------------------------------


def _hair_width_um(rng: np.random.Generator, class_mix: tuple[float, float, float]) -> float:
    kind = rng.choice(3, p=np.asarray(class_mix) / sum(class_mix))
    if kind == 0:
        return float(np.clip(rng.normal(20.0, 5.0), 8.0, 29.0))
    if kind == 1:
        return float(rng.uniform(31.0, 54.0))
    return float(np.clip(rng.normal(68.0, 9.0), 55.0, 100.0))


def _curve(
    exit_px: np.ndarray, angle: float, length_px: float, curvature_per_px: float
) -> np.ndarray:
    """Points every half pixel along an arc of constant curvature from ``exit_px``."""
    steps = max(2, math.ceil(length_px / 0.5) + 1)
    s = np.linspace(0.0, length_px, steps)
    theta = angle + curvature_per_px * s
    if abs(curvature_per_px) < 1e-9:
        xs = exit_px[0] + s * math.cos(angle)
        ys = exit_px[1] + s * math.sin(angle)
    else:
        xs = exit_px[0] + (np.sin(theta) - math.sin(angle)) / curvature_per_px
        ys = exit_px[1] - (np.cos(theta) - math.cos(angle)) / curvature_per_px
    return np.stack([xs, ys], axis=1)


# Gap kept between hairs (and their openings) that are not allowed to cross.
CLEARANCE_UM = 25.0


class _Occupancy:
    """Which 4-pixel cells of the scene (image plus margin) hairs already cover."""

    CELL_PX = 4.0

    def __init__(self, width_px: float, height_px: float, margin_px: float) -> None:
        self.margin = margin_px
        self.grid = np.zeros(
            (int(height_px / self.CELL_PX) + 2, int(width_px / self.CELL_PX) + 2), dtype=bool
        )

    def cells(self, points: np.ndarray, radius_px: float) -> np.ndarray:
        reach = math.ceil(radius_px / self.CELL_PX)
        dy, dx = np.mgrid[-reach : reach + 1, -reach : reach + 1]
        disk = np.stack([dy[dy**2 + dx**2 <= reach**2], dx[dy**2 + dx**2 <= reach**2]], axis=1)
        centres = np.stack(
            [
                (points[::2, 1] + self.margin) / self.CELL_PX,
                (points[::2, 0] + self.margin) / self.CELL_PX,
            ],
            axis=1,
        ).astype(int)
        cells = (centres[:, None, :] + disk[None, :, :]).reshape(-1, 2)
        cells[:, 0] = np.clip(cells[:, 0], 0, self.grid.shape[0] - 1)
        cells[:, 1] = np.clip(cells[:, 1], 0, self.grid.shape[1] - 1)
        return cells

    def taken(self, cells: np.ndarray) -> bool:
        return bool(self.grid[cells[:, 0], cells[:, 1]].any())

    def take(self, cells: np.ndarray) -> None:
        self.grid[cells[:, 0], cells[:, 1]] = True


def _draw_unit(
    rng: np.random.Generator,
    settings: TierSettings,
    um_per_px: float,
    margin: float,
    width: int,
    height: int,
    *,
    stream: float,
    light_choices: tuple[str, ...],
) -> tuple[tuple[float, float, float], list[tuple[np.ndarray, float, np.ndarray, str, bool]]]:
    """One follicular unit: its opening and its hairs.

    Each hair comes as (centreline, width in um, exit point, colour, touching).
    """
    mix = np.asarray(settings.unit_sizes) / sum(settings.unit_sizes)
    exit_px = np.array(
        [rng.uniform(-margin, width + margin), rng.uniform(-margin, height + margin)]
    )
    unit_size = int(rng.choice(4, p=mix)) + 1
    unit_angle = stream + math.radians(rng.normal(0.0, settings.direction_spread_deg))
    touching = unit_size == 2 and rng.random() < settings.touching_pairs
    widths = [_hair_width_um(rng, settings.class_mix) for _ in range(unit_size)]
    light = rng.random() < settings.light_hair
    colour = str(rng.choice(light_choices if light else DARK_COLOURS))
    opening_radius = (max(widths) / 2 + rng.uniform(20.0, 45.0)) / um_per_px
    base_length = rng.uniform(*settings.length_um)
    hairs = []
    for index in range(unit_size):
        width_um = widths[index]
        start = exit_px.copy()
        if touching:
            # Two shafts side by side in contact along their length, same direction.
            angle = unit_angle
            normal = np.array([-math.sin(angle), math.cos(angle)])
            offset = (widths[0] + widths[1]) / 4 / um_per_px
            start = exit_px + normal * (offset if index == 0 else -offset)
            length_um = base_length * rng.uniform(0.85, 1.0)
            curvature = 0.0
        else:
            angle = unit_angle + math.radians(rng.uniform(-15.0, 15.0)) * (unit_size > 1)
            length_um = rng.uniform(*settings.length_um)
            curvature = rng.uniform(*settings.curvature_per_mm) * rng.choice([-1.0, 1.0])
            # A shaft leaves the opening a little off its centre.
            start = start + rng.normal(0.0, 0.15 * opening_radius, size=2)
        points = _curve(start, angle, length_um / um_per_px, curvature / 1000.0 * um_per_px)
        hairs.append((points, width_um, start, colour, touching))
    return (float(exit_px[0]), float(exit_px[1]), opening_radius), hairs


def make_scene(
    seed: int, tier: str | TierSettings = "medium", *, size_px: tuple[int, int] | None = None
) -> Scene:
    """A seeded scene of the tier: the same seed and settings always give the same truth."""
    settings = tier_settings(tier)
    rng = np.random.default_rng([seed, 1])
    height, width = size_px or settings.size_px
    um_per_px = float(rng.uniform(*settings.um_per_px))
    density = float(rng.uniform(*settings.density_per_cm2))
    max_length_px = settings.length_um[1] / um_per_px
    margin = max_length_px
    # Hairs are seeded over the image and a margin wide enough for any hair to reach in.
    ext_w, ext_h = width + 2 * margin, height + 2 * margin
    ext_area_cm2 = ext_w * ext_h * (um_per_px / UM_PER_CM) ** 2
    mix = np.asarray(settings.unit_sizes) / sum(settings.unit_sizes)
    mean_unit = float((mix * np.arange(1, 5)).sum())
    n_units = int(rng.poisson(density * ext_area_cm2 / mean_unit))
    stream = rng.uniform(0, 2 * math.pi)
    skin_tone = str(rng.choice(settings.skin_tones))
    skin = np.asarray(SKIN_TONES[skin_tone], dtype=float)
    # A hair the colour of the skin cannot be seen by anyone (which is why phototrichogram
    # protocols dye hair): light colours too close to this skin are not drawn.
    light_choices = (
        tuple(
            name
            for name in LIGHT_COLOURS
            if np.linalg.norm(np.asarray(HAIR_COLOURS[name][0]) - skin) / np.linalg.norm(skin)
            >= MIN_COLOUR_CONTRAST
        )
        or DARK_COLOURS
    )
    hairs: list[TruthHair] = []
    openings: list[tuple[float, float, float]] = []
    hair_id = 0
    occupied = _Occupancy(ext_w, ext_h, margin)
    for unit in range(1, n_units + 1):
        for _attempt in range(30):
            drawn = _draw_unit(
                rng,
                settings,
                um_per_px,
                margin,
                width,
                height,
                stream=stream,
                light_choices=light_choices,
            )
            cells = [
                occupied.cells(points, w / 2 / um_per_px + CLEARANCE_UM / um_per_px)
                for points, w, *_ in drawn[1]
            ]
            # Easy scenes keep hairs apart; harder ones let them cross and overlap.
            if not any(occupied.taken(c) for c in cells) or rng.random() < settings.crossings:
                break
        for c in cells:
            occupied.take(c)
        opening, unit_hairs = drawn
        openings.append(opening)
        for points, width_um, start, colour, touching in unit_hairs:
            visible = visible_length(points, (height, width))
            if visible <= 0:
                continue
            hair_id += 1
            hairs.append(
                TruthHair(
                    id=hair_id,
                    unit=unit,
                    exit_px=(float(start[0]), float(start[1])),
                    centreline_px=(
                        *tuple((float(x), float(y)) for x, y in points[::4]),
                        (float(points[-1, 0]), float(points[-1, 1])),
                    ),
                    width_um=width_um,
                    colour=colour,
                    exit_in_image=bool(
                        -0.5 <= start[0] < width - 0.5 and -0.5 <= start[1] < height - 0.5
                    ),
                    visible_length_px=visible,
                    touching=touching,
                )
            )
    area_cm2 = width * height * (um_per_px / UM_PER_CM) ** 2
    for _ in range(int(rng.poisson(rng.uniform(*settings.empty_openings_per_cm2) * area_cm2))):
        openings.append(
            (rng.uniform(0, width), rng.uniform(0, height), rng.uniform(20.0, 45.0) / um_per_px)
        )
    dandruff = tuple(
        (
            float(rng.uniform(0, width)),
            float(rng.uniform(0, height)),
            float(rng.uniform(30.0, 120.0) / um_per_px),
            float(rng.uniform(20.0, 80.0) / um_per_px),
            float(rng.uniform(0, math.pi)),
        )
        for _ in range(int(rng.poisson(rng.uniform(*settings.dandruff_per_cm2) * area_cm2)))
    )
    vessels = []
    for _ in range(int(rng.integers(settings.vessels[0], settings.vessels[1] + 1))):
        start = np.array([rng.uniform(0, width), rng.uniform(0, height)])
        angle = rng.uniform(0, 2 * math.pi)
        trail = [start]
        for _step in range(int(rng.uniform(30, 80))):
            angle += rng.normal(0.0, 0.35)
            trail.append(trail[-1] + 8.0 * np.array([math.cos(angle), math.sin(angle)]))
        vessels.append(tuple((float(x), float(y)) for x, y in trail))
    return Scene(
        tier=settings.name,
        seed=seed,
        size_px=(height, width),
        um_per_px=um_per_px,
        skin_tone=skin_tone,
        hairs=tuple(hairs),
        openings=tuple(openings),
        dandruff=dandruff,
        vessels=tuple(vessels),
    )


def make_look(
    seed: int, tier: str | TierSettings = "medium", *, scene: Scene | None = None
) -> Look:
    """A seeded look (lighting, optics, noise) for the tier."""
    settings = tier_settings(tier)
    rng = np.random.default_rng([seed, 2])
    height, width = scene.size_px if scene else settings.size_px
    glare = tuple(
        (
            float(rng.uniform(0, width)),
            float(rng.uniform(0, height)),
            float(rng.uniform(4.0, 14.0)),
            float(rng.uniform(0.6, 1.0)),
        )
        for _ in range(int(rng.integers(settings.glare_spots[0], settings.glare_spots[1] + 1)))
    )
    quality = None
    if settings.jpeg_quality:
        quality = int(rng.integers(settings.jpeg_quality[0], settings.jpeg_quality[1] + 1))
    return Look(
        seed=seed,
        light_angle=float(rng.uniform(0, 2 * math.pi)),
        light_gradient=float(rng.uniform(0.3, 1.0) * settings.light_gradient),
        vignetting=float(rng.uniform(0.3, 1.0) * settings.vignetting),
        blur_sigma_px=float(rng.uniform(*settings.blur_sigma_px)),
        glare=glare,
        noise=settings.noise,
        shot_noise=settings.shot_noise,
        jpeg_quality=quality,
        texture=settings.texture,
        specular_stripe=settings.specular_stripe,
    )


# --- rendering -------------------------------------------------------------------------


def _texture(rng: np.random.Generator, shape: tuple[int, int], strength: float) -> np.ndarray:
    """Multiplicative skin texture: noise summed over several scales (a fractal-like field)."""
    field = np.zeros(shape, dtype=np.float32)
    for sigma, weight in ((1.5, 0.35), (5.0, 0.35), (20.0, 0.2), (60.0, 0.1)):
        small = max(1, int(sigma / 2))
        noise = rng.standard_normal((shape[0] // small + 2, shape[1] // small + 2)).astype(
            np.float32
        )
        noise = ndimage.gaussian_filter(noise, sigma / small)
        noise /= noise.std() + 1e-9
        if small > 1:
            noise = ndimage.zoom(noise, small, order=1)
        field += weight * noise[: shape[0], : shape[1]]
    return 1.0 + strength * field


def _distance_field(
    points: np.ndarray, shape: tuple[int, int], reach: float
) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """Distance from each pixel of the polyline's bounding box (grown by ``reach``) to it."""
    x0 = max(0, math.floor(points[:, 0].min() - reach))
    x1 = min(shape[1], math.ceil(points[:, 0].max() + reach) + 1)
    y0 = max(0, math.floor(points[:, 1].min() - reach))
    y1 = min(shape[0], math.ceil(points[:, 1].max() + reach) + 1)
    if x0 >= x1 or y0 >= y1:
        return None
    ys, xs = np.mgrid[y0:y1, x0:x1]
    query = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    distance, _ = cKDTree(points).query(query, distance_upper_bound=reach + 1.0)
    return (slice(y0, y1), slice(x0, x1)), distance.reshape(ys.shape)


def render(scene: Scene, look: Look) -> np.ndarray:
    """The scene drawn with the look: an H x W x 3 uint8 sRGB image."""
    rng = np.random.default_rng([scene.seed, look.seed, 3])
    height, width = scene.size_px
    shape = (height, width)
    skin = np.asarray(SKIN_TONES[scene.skin_tone], dtype=np.float32) / 255.0
    # Work in linear-ish intensity 0..1 per channel.
    image = np.empty((height, width, 3), dtype=np.float32)
    texture = _texture(rng, shape, look.texture)
    # Texture darkens red less than green and blue, as melanin and blood do.
    for channel, weight in enumerate((0.8, 1.0, 1.1)):
        image[..., channel] = skin[channel] * (1.0 + (texture - 1.0) * weight)

    # Follicle openings: soft darker, slightly greyer disks.
    for x, y, radius in scene.openings:
        field = _distance_field(np.array([[x, y]]), shape, radius * 1.6)
        if field is None:
            continue
        window, distance = field
        shade = 0.3 * np.clip(1.5 - distance / radius, 0.0, 1.0)[..., None]
        image[window] *= 1.0 - shade * np.array([0.9, 1.0, 1.0], dtype=np.float32)

    # Vessels: thin red lines under the skin.
    for vessel in scene.vessels:
        points = densify(np.asarray(vessel), 0.35)
        vessel_radius = rng.uniform(1.5, 3.0)
        field = _distance_field(points, shape, vessel_radius * 3)
        if field is None:
            continue
        window, distance = field
        blood = (0.35 * np.exp(-0.5 * (distance / vessel_radius) ** 2))[..., None]
        image[window] = image[window] * (1 - blood) + blood * np.array(
            [0.62, 0.18, 0.2], dtype=np.float32
        )

    # Hairs: Beer-Lambert absorbance along the chord through a round shaft, blended with the
    # hair's own reflected colour.
    for hair in scene.hairs:
        colour_rgb, absorbance_per_um = HAIR_COLOURS[hair.colour]
        colour = np.asarray(colour_rgb, dtype=np.float32) / 255.0
        radius_px = hair.width_um / 2 / scene.um_per_px
        points = densify(np.asarray(hair.centreline_px), 0.35)
        field = _distance_field(points, shape, radius_px + 1.0)
        if field is None:
            continue
        window, distance = field
        chord_um = 2.0 * np.sqrt(np.clip(radius_px**2 - distance**2, 0.0, None)) * scene.um_per_px
        # Thin hairs carry less pigment (vellus hairs are pale), not just less path.
        pigment = absorbance_per_um * min(1.0, 0.55 + hair.width_um / 100.0)
        opacity = (1.0 - np.exp(-pigment * chord_um)).astype(np.float32)[..., None]
        region = image[window]
        region[:] = region * (1.0 - opacity) + colour * opacity
        if look.specular_stripe and hair.width_um >= 40:
            stripe = np.exp(-0.5 * ((distance - 0.3 * radius_px) / (0.08 * radius_px + 0.3)) ** 2)
            region += (look.specular_stripe * stripe * (distance < radius_px)).astype(np.float32)[
                ..., None
            ]

    # Dandruff: pale translucent flakes on top.
    for x, y, rx, ry, angle in scene.dandruff:
        y0, y1 = max(0, int(y - rx - 2)), min(height, int(y + rx + 3))
        x0, x1 = max(0, int(x - rx - 2)), min(width, int(x + rx + 3))
        if y0 >= y1 or x0 >= x1:
            continue
        ys, xs = np.mgrid[y0:y1, x0:x1]
        u = (xs - x) * math.cos(angle) + (ys - y) * math.sin(angle)
        v = -(xs - x) * math.sin(angle) + (ys - y) * math.cos(angle)
        inside = np.clip(1.5 - np.hypot(u / rx, v / ry) * 1.5, 0.0, 1.0) * 0.55
        region = image[y0:y1, x0:x1]
        region[:] = region * (1 - inside[..., None]) + inside[..., None] * np.float32(0.93)

    # Lighting: a gradient across the field and vignetting, then optical blur.
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    u = (
        (xs - width / 2) * math.cos(look.light_angle)
        + (ys - height / 2) * math.sin(look.light_angle)
    ) / max(shape)
    r2 = ((xs - width / 2) ** 2 + (ys - height / 2) ** 2) / ((width / 2) ** 2 + (height / 2) ** 2)
    light = (1.0 - look.light_gradient * (u + 0.5)) * (1.0 - look.vignetting * r2)
    image *= light[..., None] * 1.05
    for x, y, radius, strength in look.glare:
        field = _distance_field(np.array([[x, y]]), shape, radius * 2.5)
        if field is None:
            continue
        window, distance = field
        image[window] += (strength * np.exp(-0.5 * (distance / radius) ** 2)).astype(np.float32)[
            ..., None
        ]
    for channel in range(3):
        image[..., channel] = ndimage.gaussian_filter(image[..., channel], look.blur_sigma_px)

    # Sensor: shot and read noise, then 8-bit quantisation and JPEG.
    variance = look.shot_noise * np.clip(image, 0, None) + look.noise**2
    image += rng.standard_normal(image.shape).astype(np.float32) * np.sqrt(variance)
    pixels = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if look.jpeg_quality:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=look.jpeg_quality)
        pixels = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return pixels


# --- scenes drawn to order ---------------------------------------------------------------


@dataclass(frozen=True)
class Shaft:
    """A hair placed by hand: exit point (px), direction (degrees), length and width (um)."""

    x: float
    y: float
    angle_deg: float
    length_um: float = 700.0
    width_um: float = 65.0
    colour: str = "dark brown"
    curvature_per_mm: float = 0.0


def scene_from_shafts(
    shafts: list[Shaft],
    *,
    size_px: tuple[int, int] = (360, 480),
    um_per_px: float = 4.0,
    skin_tone: str = "light",
    openings: bool = True,
) -> Scene:
    """A scene holding exactly ``shafts`` and nothing else (no flakes, vessels or empty
    openings). Shafts leaving the same point make one follicular unit with one opening,
    as wide as the generator draws it for the unit's widest shaft (``_draw_unit``, at
    the middle of its margin); ``openings=False`` draws none.
    """
    hairs = []
    units: dict[tuple[float, float], int] = {}
    widest: dict[tuple[float, float], float] = {}
    height, width = size_px
    for index, shaft in enumerate(shafts, start=1):
        start = np.array([shaft.x, shaft.y], dtype=float)
        points = _curve(
            start,
            math.radians(shaft.angle_deg),
            shaft.length_um / um_per_px,
            shaft.curvature_per_mm / 1000.0 * um_per_px,
        )
        key = (float(shaft.x), float(shaft.y))
        units.setdefault(key, len(units) + 1)
        widest[key] = max(widest.get(key, 0.0), shaft.width_um)
        hairs.append(
            TruthHair(
                id=index,
                unit=units[key],
                exit_px=key,
                centreline_px=(
                    *((float(x), float(y)) for x, y in points[::4]),
                    (float(points[-1, 0]), float(points[-1, 1])),
                ),
                width_um=shaft.width_um,
                colour=shaft.colour,
                exit_in_image=bool(
                    -0.5 <= shaft.x < width - 0.5 and -0.5 <= shaft.y < height - 0.5
                ),
                visible_length_px=visible_length(points, size_px),
            )
        )
    opening_list = (
        [(x, y, (widest[(x, y)] / 2 + 30.0) / um_per_px) for x, y in units] if openings else []
    )
    return Scene(
        tier="to order",
        seed=0,
        size_px=size_px,
        um_per_px=um_per_px,
        skin_tone=skin_tone,
        hairs=tuple(hairs),
        openings=tuple(opening_list),
        dandruff=(),
        vessels=(),
    )


def clean_look(*, seed: int = 1, glare: tuple[tuple[float, float, float, float], ...] = ()) -> Look:
    """Even light, mild blur and noise, no JPEG and no highlights along shafts: a careful
    close-up, so that what a scene drawn to order tests is its hairs, not its optics."""
    return Look(
        seed=seed,
        light_angle=0.0,
        light_gradient=0.05,
        vignetting=0.05,
        blur_sigma_px=0.8,
        glare=glare,
        noise=0.01,
        shot_noise=0.0005,
        jpeg_quality=None,
        texture=0.03,
        specular_stripe=0.0,
    )


@dataclass(frozen=True)
class Sample:
    """A rendered image with its truth and the look it was rendered with."""

    image: np.ndarray
    scene: Scene
    look: Look
    settings: TierSettings = field(repr=False)


def generate(
    seed: int,
    tier: str = "medium",
    *,
    held_back: bool = False,
    look_seed: int | None = None,
    size_px: tuple[int, int] | None = None,
) -> Sample:
    """One seeded sample of a tier; ``look_seed`` re-renders the same scene differently."""
    settings = tier_settings(tier, held_back=held_back)
    scene = make_scene(seed, settings, size_px=size_px)
    look = make_look(seed if look_seed is None else look_seed, settings, scene=scene)
    return Sample(image=render(scene, look), scene=scene, look=look, settings=settings)
