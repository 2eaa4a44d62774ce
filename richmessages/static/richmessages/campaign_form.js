// The campaign form shows only the fieldset of the chosen audience (segment, list, LINE narrowcast). Without
// this script every one stays visible and the server ignores those the audience does not use.
(function () {
  "use strict";

  function sync(select) {
    document.querySelectorAll("fieldset.campaign-audience").forEach(function (fieldset) {
      fieldset.hidden = !fieldset.classList.contains("audience-" + select.value);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var select = document.getElementById("id_audience_type");
    if (!select) {
      return;
    }
    sync(select);
    select.addEventListener("change", function () {
      sync(select);
    });
  });
})();
