// The grade descriptions follow the chosen side effect: CTCAE describes each grade per
// term ("grade 2 itching" is not "grade 2 swelling"). Without this script the generic
// CTCAE descriptions stay, which are still correct.
(function () {
  "use strict";
  var data = document.getElementById("grade-texts");
  var term = document.getElementById("id_term");
  if (!data || !term) { return; }
  var texts = JSON.parse(data.textContent);
  var otherText = document.getElementById("term-text-field");
  function update() {
    var byGrade = texts[term.value];
    document.querySelectorAll("[data-grade-text]").forEach(function (el) {
      var grade = el.getAttribute("data-grade-text");
      if (byGrade && byGrade[grade]) { el.textContent = byGrade[grade]; }
    });
    if (otherText) {
      var input = otherText.querySelector("input");
      if (input) { input.required = term.value === "other"; }
    }
  }
  term.addEventListener("change", update);
  update();
})();
