"""The zone maps in a real browser: toggling by mouse and keyboard, geometry, screenshots.

No server and no database: the include is rendered with ``render_to_string`` and served, with
the real static files, through Playwright's request routing at a made-up origin, so the page
loads ``zone_map.css`` and ``zone_map.js`` exactly as the include asks for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from playwright.sync_api import expect

from mesoclinic.treatments.maps import AREAS, shade, zone_map
from tests.browser.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

ORIGIN = "http://zone-map.test"
STATIC_DIR = Path(settings.STATICFILES_DIRS[0])
TYPES = {".css": "text/css", ".js": "text/javascript"}


def map_html(area: str, volumes: dict[str, str] | None = None, selected: tuple[str, ...] = (),
             readonly: bool = False) -> str:  # fmt: skip
    the_map = zone_map(area)
    shaded = shade(the_map, {k: Decimal(v) for k, v in (volumes or {}).items()}, selected)
    return render_to_string(
        "treatments/_zone_map.html",
        {"map": the_map, "shaded": shaded, "input_name": "zones", "readonly": readonly},
    )


def page_html(body: str, rows: tuple[str, ...] = (), rows_hidden: bool = True) -> str:
    """A form holding ``body`` and one row of inputs per code in ``rows``, as a chart has."""
    hidden = " hidden" if rows_hidden else ""
    row_html = "".join(
        f'<div data-zone-row="{code}"{hidden}><label>Volume for {code} '
        f'<input name="volume_{code}"></label></div>'
        for code in rows
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Zone map</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:16px;color:#1d2733}"
        ".spacer{height:1400px}</style></head><body>"
        f'<form method="post" action="/submit">{body}{row_html}</form>'
        '<div class="spacer"></div></body></html>'
    )


@pytest.fixture
def zpage(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A page whose requests to ORIGIN/static/ get the real static files; see ``load``."""
    context = browser.new_context(
        viewport={"width": 900, "height": 800},
        locale="en-GB",
        device_scale_factor=2,  # crisp screenshots to look at
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def static(route) -> None:  # type: ignore[no-untyped-def]
        name = route.request.url.removeprefix(f"{ORIGIN}{settings.STATIC_URL}")
        file = STATIC_DIR / name
        route.fulfill(status=200, content_type=TYPES[file.suffix], body=file.read_bytes())

    page.route(f"{ORIGIN}{settings.STATIC_URL}**", static)
    yield page
    context.close()
    assert errors == [], errors  # no script errors on any page


def load(page, html: str) -> None:  # type: ignore[no-untyped-def]
    """Open ``html`` at ORIGIN/ and wait for zone_map.js to have run."""
    page.route(f"{ORIGIN}/", lambda route: route.fulfill(content_type="text/html", body=html))
    page.goto(f"{ORIGIN}/")
    page.wait_for_function("window.mesoclinicZoneMap !== undefined")


def zone(page, code: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-zone="{code}"]')


def checkbox(page, code: str):  # type: ignore[no-untyped-def]
    return page.locator(f'input[name="zones"][value="{code}"]')


def test_clicking_a_zone_toggles_its_checkbox_and_row(zpage):
    load(zpage, page_html(map_html("scalp"), rows=("vertex", "occipital")))
    vertex, row = zone(zpage, "vertex"), zpage.locator('[data-zone-row="vertex"]')
    expect(vertex).to_have_attribute("aria-pressed", "false")
    expect(row).to_be_hidden()

    vertex.click()
    expect(checkbox(zpage, "vertex")).to_be_checked()
    expect(vertex).to_have_attribute("aria-pressed", "true")
    expect(vertex).to_have_class("zone zone-level-0 selected")
    expect(zpage.locator('[data-zone-edge="vertex"]')).to_have_class("zone-edge selected")
    expect(row).to_be_visible()
    expect(zpage.locator('[data-zone-row="occipital"]')).to_be_hidden()
    expect(checkbox(zpage, "occipital")).not_to_be_checked()

    vertex.click()
    expect(checkbox(zpage, "vertex")).not_to_be_checked()
    expect(vertex).to_have_attribute("aria-pressed", "false")
    expect(row).to_be_hidden()


def test_the_zone_fires_a_bubbling_change_and_follows_its_checkbox(zpage):
    load(zpage, page_html(map_html("face"), rows=("chin",)))
    zpage.evaluate(
        "window.changes = [];"
        "document.addEventListener('change', e => window.changes.push(e.target.value))"
    )
    zone(zpage, "chin").click()
    assert zpage.evaluate("window.changes") == ["chin"]

    # Ticking the checkbox itself (the no-JavaScript way) updates the drawing and the row.
    zpage.get_by_role("checkbox", name="Neck").check()
    expect(zone(zpage, "neck")).to_have_attribute("aria-pressed", "true")
    zpage.get_by_role("checkbox", name="Chin").uncheck()
    expect(zone(zpage, "chin")).to_have_attribute("aria-pressed", "false")
    expect(zpage.locator('[data-zone-row="chin"]')).to_be_hidden()


def test_keyboard_tab_then_space_or_enter_toggles(zpage):
    load(zpage, page_html(map_html("scalp"), rows=("frontal_hairline", "frontal")))
    zpage.keyboard.press("Tab")
    hairline = zone(zpage, "frontal_hairline")
    expect(hairline).to_be_focused()
    expect(zpage.locator('[data-zone-edge="frontal_hairline"]')).to_have_class("zone-edge focused")
    zpage.keyboard.press("Space")
    expect(checkbox(zpage, "frontal_hairline")).to_be_checked()
    expect(hairline).to_have_attribute("aria-pressed", "true")
    expect(zpage.locator('[data-zone-row="frontal_hairline"]')).to_be_visible()
    assert zpage.evaluate("window.scrollY") == 0  # Space did not scroll the page

    zpage.keyboard.press("Tab")  # the zones' order is the tab order
    expect(zone(zpage, "frontal")).to_be_focused()
    zpage.keyboard.press("Enter")
    expect(checkbox(zpage, "frontal")).to_be_checked()
    zpage.keyboard.press("Enter")
    expect(checkbox(zpage, "frontal")).not_to_be_checked()
    expect(zpage.locator('[data-zone-row="frontal"]')).to_be_hidden()


def test_the_include_twice_on_a_page_still_toggles_once(zpage):
    # Two copies of the script: the second must not bind a second set of listeners.
    load(zpage, page_html(map_html("face") + map_html("face", readonly=True)))
    zone(zpage, "forehead").first.click()
    expect(checkbox(zpage, "forehead")).to_be_checked()


def test_a_readonly_map_has_no_buttons_and_no_checkboxes(zpage):
    load(zpage, page_html(map_html("scalp", {"vertex": "1.5"}, ("vertex",), readonly=True)))
    expect(zpage.get_by_role("button")).to_have_count(0)
    expect(zpage.locator("[tabindex]")).to_have_count(0)
    expect(zpage.locator("[aria-pressed]")).to_have_count(0)
    expect(zpage.locator("input")).to_have_count(0)
    zone(zpage, "vertex").click()  # nothing happens, nothing breaks
    expect(zone(zpage, "vertex")).to_have_class("zone zone-level-4 selected")


def test_selected_zones_render_checked_and_the_volume_is_written(zpage):
    load(
        zpage,
        page_html(map_html("scalp", {"vertex": "2", "frontal": "0.5"}, ("vertex", "frontal"))),
    )
    expect(checkbox(zpage, "vertex")).to_be_checked()
    expect(zpage.get_by_role("button", name="Vertex (crown), 2 mL")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(zpage.get_by_role("button", name="Occipital, no volume")).to_have_attribute(
        "aria-pressed", "false"
    )
    assert zpage.locator(".zone-volume").all_text_contents() == ["0.5", "2"]


# Inside the page: sample the viewBox on a grid offset from round numbers (so no sample falls
# exactly on a shared border) and report what each zone's fill contains.
GEOMETRY_JS = """([step]) => {
  const svg = document.querySelector('.zone-map-svg');
  const [x0, y0, w, h] = svg.getAttribute('viewBox').split(' ').map(Number);
  const shapes = [...svg.querySelectorAll('.zone')]
    .map(g => [g.dataset.zone, g.querySelector('path')]);
  const point = svg.createSVGPoint();
  const inside = (path, x, y) => { point.x = x; point.y = y; return path.isPointInFill(point); };
  const overlaps = [], area = {};
  for (const [code] of shapes) area[code] = 0;
  let firstSubpath = null;
  if (svg.closest('[data-area="scalp"]')) {
    // The scalp outline's first subpath is the head; every point of it must be in one zone.
    firstSubpath = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    const d = svg.querySelector('.zone-map-outline').getAttribute('d');
    firstSubpath.setAttribute('d', d.slice(0, d.indexOf('M', 1)));
    svg.appendChild(firstSubpath);
  }
  const uncovered = [];
  for (let y = y0 + 0.37; y < y0 + h; y += step) {
    for (let x = x0 + 0.61; x < x0 + w; x += step) {
      const hits = shapes.filter(([, p]) => inside(p, x, y)).map(([c]) => c);
      for (const c of hits) area[c] += 1;
      if (hits.length > 1) overlaps.push([x, y, hits]);
      // Rounding the path data to 0.1 unit moves borders by a few hundredths: a point that
      // close to the head's edge is not a gap.
      const deep = firstSubpath && [[-0.5, 0], [0.5, 0], [0, -0.5], [0, 0.5]]
        .every(([dx, dy]) => inside(firstSubpath, x + dx, y + dy));
      if (deep && hits.length === 0) uncovered.push([x, y]);
    }
  }
  if (firstSubpath) firstSubpath.remove();
  return {overlaps: overlaps.slice(0, 5), area, uncovered};
}"""

LABEL_JS = """([code, x, y]) => {
  const svg = document.querySelector('.zone-map-svg');
  const point = svg.createSVGPoint(); point.x = x; point.y = y;
  return [...svg.querySelectorAll('.zone')]
    .filter(g => g.querySelector('path').isPointInFill(point)).map(g => g.dataset.zone);
}"""


@pytest.mark.parametrize("area", AREAS)
def test_zones_do_not_overlap_and_labels_sit_inside(zpage, area):
    load(zpage, page_html(map_html(area)))
    found = zpage.evaluate(GEOMETRY_JS, [1.5])
    assert found["overlaps"] == []
    assert all(count > 20 for count in found["area"].values()), found["area"]
    if area == "scalp":
        assert found["uncovered"] == []  # the scalp zones tile the whole head
    for item in zone_map(area).zones:
        hits = zpage.evaluate(LABEL_JS, [item.code, item.label_x, item.label_y])
        assert hits == [item.code], (item.code, hits)


SHOTS = {
    "scalp": ({"vertex": "2.0", "mid_scalp": "1.2", "frontal_hairline": "0.4"}, ("vertex",)),
    "face": (
        {"forehead": "1", "periorbital_left": "0.3", "cheek_right": "0.6", "chin": "0.8"},
        ("forehead", "cheek_left"),
    ),
    "submental": ({"submental_centre": "1.5", "jowl_left": "0.5"}, ("submental_centre",)),
    "body": ({"abdomen": "4", "thigh_left": "2.5", "buttock_right": "1.2"}, ("abdomen",)),
}


@pytest.mark.parametrize("area", AREAS)
def test_screenshots(zpage, area):
    volumes, selected = SHOTS[area]
    load(zpage, page_html(map_html(area, volumes, selected)))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    zpage.locator("figure").screenshot(path=str(SCREENSHOTS / f"zone-map-{area}.png"))
    # The keyboard focus ring on the first zone (a light one), then on the selected dark one.
    zpage.keyboard.press("Tab")
    zpage.locator("svg").screenshot(path=str(SCREENSHOTS / f"zone-map-{area}-focus.png"))


@pytest.mark.parametrize("area", AREAS)
def test_screenshots_with_every_zone_treated(zpage, area):
    # Every zone treated, at every level, with figures as wide as charted volumes get.
    codes = [item.code for item in zone_map(area).zones]
    volumes = {code: ("0.25", "4.5", "7.25", "10")[i % 4] for i, code in enumerate(codes)}
    load(zpage, page_html(map_html(area, volumes, codes[::3])))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    zpage.locator("svg").screenshot(path=str(SCREENSHOTS / f"zone-map-{area}-all-treated.png"))


def test_rows_follow_the_checkboxes_on_load(zpage):
    # A page may render every row visible (so it works without JavaScript): on load the rows
    # of unticked zones are hidden, and hidden rows of ticked zones shown.
    the_map = map_html("submental", selected=("jowl_left",))
    load(zpage, page_html(the_map, rows=("jowl_left", "jowl_right"), rows_hidden=False))
    expect(zpage.locator('[data-zone-row="jowl_left"]')).to_be_visible()
    expect(zpage.locator('[data-zone-row="jowl_right"]')).to_be_hidden()
    load(zpage, page_html(the_map, rows=("jowl_left", "jowl_right")))
    expect(zpage.locator('[data-zone-row="jowl_left"]')).to_be_visible()


def test_a_map_swapped_in_later_works_after_htmx_load(zpage):
    # The page already has the script (from a read-only map); htmx swaps in an editable map
    # and announces it with htmx:load.
    load(zpage, page_html(map_html("face", readonly=True) + "<div id=slot></div>", rows=("neck",)))
    zpage.evaluate(
        """html => {
          const slot = document.getElementById('slot');
          slot.innerHTML = html;
          slot.dispatchEvent(new CustomEvent('htmx:load', {bubbles: true}));
        }""",
        map_html("face", selected=("neck",)),
    )
    expect(zpage.locator('[data-zone-row="neck"]')).to_be_visible()
    editable = zpage.locator('#slot [data-zone="neck"]')
    editable.click()
    expect(checkbox(zpage, "neck")).not_to_be_checked()
    expect(editable).to_have_attribute("aria-pressed", "false")
    expect(zpage.locator('[data-zone-row="neck"]')).to_be_hidden()
