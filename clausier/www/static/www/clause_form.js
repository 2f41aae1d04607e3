/* Clause form: with htmx, a change of sizing mode swaps in that mode's fields by itself (hx-post on the
 * mode's radios), so the "Afficher les champs de ce mode" button is only for pages without JavaScript.
 * Removed rather than hidden: a hidden submit button would still catch the Enter key before « Enregistrer ». */
(function () {
  "use strict";
  if (!window.htmx) {
    return;
  }
  document.querySelectorAll("#clause-form [data-cl-nojs]").forEach(function (element) {
    element.remove();
  });
})();
