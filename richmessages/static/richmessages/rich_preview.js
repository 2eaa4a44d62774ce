/* Rich-message previews in the ops console, drawn with the LINE simulator's Flex renderer (flex.js).
 *
 * - On a template version's page (#rich-preview with data-preview-url): the message the version would build, with
 *   sample copy, composed by the server from the form as it is now and drawn again whenever a field changes.
 * - On a rich message's page (#rich-preview with data-flex-source): the stored Flex message exactly as sent.
 *
 * No inline code: a static file (CSP script-src 'self'). Taps on buttons only say what the button would send.
 */
(function () {
  "use strict";

  var LANGUAGES = [["th", "Thai"], ["ja", "Japanese"], ["en", "English"], ["zh", "Chinese"]];
  var DELAY_MS = 400;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function Preview(root) {
    this.root = root;
    this.heading = element("h2", null, "Preview");
    this.tools = element("div", "rich-preview-tools");
    this.status = element("span", "rich-preview-status");
    this.stage = element("div", "rich-preview-stage");
    this.tap = element("p", "rich-preview-tap");
    this.errors = element("ul", "rich-preview-errors");
    root.appendChild(this.heading);
    root.appendChild(this.tools);
    root.appendChild(this.stage);
    root.appendChild(this.tap);
    root.appendChild(this.errors);
  }

  Preview.prototype.show = function (message) {
    var self = this;
    this.errors.replaceChildren();
    this.stage.replaceChildren(window.LineRender.message(message, function (action) { self.explain(action); }));
  };

  Preview.prototype.explain = function (action) {
    var what = action.type === "postback" ? "postback data " + action.data : action.type + " action";
    this.tap.textContent = "“" + (action.label || action.type) + "” sends " + what + ".";
  };

  Preview.prototype.problems = function (errors) {
    var list = this.errors;
    list.replaceChildren();
    Object.keys(errors).forEach(function (field) {
      [].concat(errors[field]).forEach(function (message) {
        list.appendChild(element("li", null, field + ": " + message));
      });
    });
  };

  function stored(root) {
    var source = document.getElementById(root.dataset.flexSource);
    if (!source) return;
    var preview = new Preview(root);
    preview.heading.textContent = "Preview (the Flex message as LINE gets it)";
    preview.show(JSON.parse(source.textContent));
  }

  function live(root) {
    var form = root.closest("form");
    var token = form ? form.querySelector("input[name=csrfmiddlewaretoken]") : null;
    if (!form || !token) return;
    var preview = new Preview(root);
    preview.heading.textContent = "Preview with sample copy";
    var label = element("label", null, "Copy in ");
    var language = element("select", "rich-preview-language");
    LANGUAGES.forEach(function (pair) {
      var option = element("option", null, pair[1]);
      option.value = pair[0];
      language.appendChild(option);
    });
    label.appendChild(language);
    preview.tools.appendChild(label);
    preview.tools.appendChild(preview.status);

    var timer = null;
    var asked = 0;

    function refresh() {
      var data = new FormData(form);
      data.delete("image");
      data.delete("csrfmiddlewaretoken");
      data.set("preview_language", language.value);
      var number = ++asked;
      preview.status.className = "rich-preview-status";
      preview.status.textContent = "Composing…";
      fetch(root.dataset.previewUrl, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-CSRFToken": token.value, Accept: "application/json" },
      })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (result) {
          if (number !== asked) return; // an older answer arriving late
          if (!result.ok) {
            preview.status.className = "rich-preview-status problem";
            preview.status.textContent = "Cannot compose this version as it is:";
            preview.problems(result.body.errors || { request: [result.body.message || "error"] });
            return;
          }
          var body = result.body;
          preview.show(body.flex);
          preview.status.textContent =
            "Sample copy: " + body.copy_source_label + " · " + body.json_bytes.toLocaleString() + " of " +
            body.max_bytes.toLocaleString() + " bytes" + (body.truncated ? " · a text was cut to fit its area" : "");
          root.dataset.state = "ready";
        })
        .catch(function (error) {
          preview.status.className = "rich-preview-status problem";
          preview.status.textContent = "The preview failed: " + error.message;
        });
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(refresh, DELAY_MS);
    }

    form.addEventListener("input", function (event) { if (!root.contains(event.target)) later(); });
    form.addEventListener("change", function (event) { if (!root.contains(event.target)) later(); });
    language.addEventListener("change", refresh);
    refresh();
  }

  function start() {
    var root = document.getElementById("rich-preview");
    if (!root || !window.LineRender) return;
    if (root.dataset.flexSource) stored(root);
    else if (root.dataset.previewUrl) live(root);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
