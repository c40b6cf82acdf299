// Photo comparison: switch a view between side by side and a slider that reveals the
// later photo over the earlier one. Works without a framework; without JavaScript the
// side-by-side view stays.
(function () {
  "use strict";
  function setMode(article, mode) {
    var side = article.querySelector(".side-by-side");
    var slider = article.querySelector(".slider");
    if (!side || !slider) return;
    side.hidden = mode !== "side";
    slider.hidden = mode !== "slider";
    article.querySelectorAll("[data-mode]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.mode === mode));
    });
  }
  document.querySelectorAll("article.compare").forEach(function (article) {
    article.querySelectorAll("[data-mode]").forEach(function (button) {
      button.addEventListener("click", function () { setMode(article, button.dataset.mode); });
    });
    var range = article.querySelector(".slider-range");
    var frame = article.querySelector(".slider-frame");
    if (range && frame) {
      var update = function () { frame.style.setProperty("--split", range.value + "%"); };
      range.addEventListener("input", update);
      update();
    }
  });
})();
