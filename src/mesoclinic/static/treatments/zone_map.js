/* Treatment-area zone maps (templates/treatments/_zone_map.html). Plain JavaScript, no libraries.

   The checkboxes are the source of truth. A zone (<g data-zone role="button">) toggles its
   checkbox on click, Enter or Space, then fires a bubbling "change" on it; the map (aria-pressed,
   the "selected" class) and the rows [data-zone-row="CODE"] of the same form follow the
   checkboxes, whoever changes them: a row is shown (no "hidden" attribute) while its zone is
   ticked and hidden otherwise, from the first sync on, so a page may render every row visible
   for browsers without JavaScript. Events are delegated from the document, so maps swapped in
   later by htmx work too; maps are synced on DOMContentLoaded and on htmx:load. Read-only maps
   (data-readonly) are pictures: they are never synced nor toggled. */
(function () {
  "use strict";
  // The include may appear several times on a page; bind the listeners once only, or a click
  // would toggle a checkbox twice.
  if (window.mesoclinicZoneMap) { return; }

  var MAP = "[data-zone-map]:not([data-readonly])";

  function cssString(value) {
    return '"' + String(value).replace(/["\\]/g, "\\$&") + '"';
  }

  function scopeOf(figure) {
    return figure.closest("form") || document;
  }

  function inputName(figure) {
    return figure.getAttribute("data-input-name") || "zones";
  }

  /** The checkbox for a zone: in the map itself first, else in its form, else the document. */
  function checkboxFor(figure, code) {
    var selector = 'input[type="checkbox"][name=' + cssString(inputName(figure)) +
      "][value=" + cssString(code) + "]";
    return figure.querySelector(selector) || scopeOf(figure).querySelector(selector);
  }

  /** Make the drawing and the zone rows match the checkboxes. */
  function sync(figure) {
    var scope = scopeOf(figure);
    figure.querySelectorAll("[data-zone]").forEach(function (zone) {
      var code = zone.getAttribute("data-zone");
      var box = checkboxFor(figure, code);
      if (!box) { return; }
      var on = box.checked;
      zone.classList.toggle("selected", on);
      if (zone.hasAttribute("aria-pressed")) { zone.setAttribute("aria-pressed", on ? "true" : "false"); }
      var edge = figure.querySelector("[data-zone-edge=" + cssString(code) + "]");
      if (edge) { edge.classList.toggle("selected", on); }
      scope.querySelectorAll("[data-zone-row=" + cssString(code) + "]").forEach(function (row) {
        row.hidden = !on;
      });
    });
  }

  function zoneOf(target) {
    if (!target || !target.closest) { return null; }
    var zone = target.closest('[data-zone][role="button"]');
    return zone && zone.closest(MAP) ? zone : null;
  }

  function toggle(zone) {
    var figure = zone.closest(MAP);
    var box = checkboxFor(figure, zone.getAttribute("data-zone"));
    if (!box || box.disabled) { return; }
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function init(root) {
    if (!root || !root.querySelectorAll) { return; }
    if (root.matches && root.matches(MAP)) { sync(root); }
    root.querySelectorAll(MAP).forEach(sync);
  }

  document.addEventListener("click", function (event) {
    var zone = zoneOf(event.target);
    if (!zone) { return; }
    event.preventDefault();
    toggle(zone);
  });

  document.addEventListener("keydown", function (event) {
    var zone = zoneOf(event.target);
    if (!zone || (event.key !== "Enter" && event.key !== " " && event.key !== "Spacebar")) { return; }
    event.preventDefault(); // Space would scroll the page
    if (!event.repeat) { toggle(zone); }
  });

  // Any change of a map's checkbox (a click on the zone, on the checkbox or its label, or a
  // script) redraws the maps that use that name.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box || box.type !== "checkbox") { return; }
    document.querySelectorAll(MAP).forEach(function (figure) {
      if (inputName(figure) === box.name) { sync(figure); }
    });
  });

  // The overlay draws the focus ring above the neighbouring zones (keyboard focus only).
  function focusRing(event, on) {
    var zone = zoneOf(event.target);
    if (!zone) { return; }
    var visible = true;
    try { visible = zone.matches(":focus-visible"); } catch (error) { /* older browsers */ }
    var edge = zone.closest(MAP).querySelector(
      "[data-zone-edge=" + cssString(zone.getAttribute("data-zone")) + "]");
    if (edge) { edge.classList.toggle("focused", on && visible); }
  }
  document.addEventListener("focusin", function (event) { focusRing(event, true); });
  document.addEventListener("focusout", function (event) { focusRing(event, false); });

  document.addEventListener("htmx:load", function (event) { init(event.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }

  window.mesoclinicZoneMap = { sync: sync, init: init };
})();
