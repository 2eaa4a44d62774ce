/* Tap-area editor of the rich-menu admin: draw rectangles on the menu's image and edit each area's fields.
 *
 * The areas live in the JSON textarea (textarea.richmenu-areas-json), which stays the source of truth: every
 * change made here is written back to it, and editing it by hand redraws the areas. Without this script the
 * textarea alone does the job. No inline code: this file is loaded as a static script (CSP script-src 'self').
 */
(function () {
  "use strict";

  var ACTION_FIELDS = {
    postback: [["data", "Postback data (action=…)"], ["displayText", "Text shown in the chat"]],
    richmenuswitch: [["alias", "Alias to switch to"]],
    message: [["text", "Message text"]],
    uri: [["uri", "Address (https://…)"]]
  };
  var MIN_SIZE = 20;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function Editor(textarea) {
    this.textarea = textarea;
    this.areas = [];
    this.selected = -1;
    this.width = parseInt(textarea.dataset.imageWidth, 10) || 0;
    this.height = parseInt(textarea.dataset.imageHeight, 10) || 0;
    this.build();
    this.readText();
    if (textarea.dataset.imageUrl) this.image.src = textarea.dataset.imageUrl;
  }

  Editor.prototype.build = function () {
    var self = this;
    this.root = element("div", "richmenu-editor");
    this.hint = element("p", "richmenu-hint", "Drag on the image to draw a tap area; click an area to edit it.");
    this.stage = element("div", "richmenu-stage");
    this.image = element("img", "richmenu-image");
    this.image.alt = "Rich menu image";
    this.layer = element("div", "richmenu-layer");
    this.stage.appendChild(this.image);
    this.stage.appendChild(this.layer);
    this.panel = element("div", "richmenu-panel");
    this.status = element("p", "richmenu-status");
    this.root.appendChild(this.hint);
    this.root.appendChild(this.stage);
    this.root.appendChild(this.status);
    this.root.appendChild(this.panel);
    this.textarea.parentNode.insertBefore(this.root, this.textarea);
    this.textarea.parentNode.classList.add("richmenu-field-wrap");

    this.image.addEventListener("load", function () {
      if (self.image.naturalWidth) {
        self.width = self.image.naturalWidth;
        self.height = self.image.naturalHeight;
      }
      self.stage.classList.add("has-image");
      self.render();
    });
    window.addEventListener("resize", function () { self.render(); });
    this.textarea.addEventListener("input", function () { self.readText(); });
    this.layer.addEventListener("pointerdown", function (event) { self.startDrawing(event); });

    var fileInput = this.textarea.form && this.textarea.form.querySelector("input[type=file][name=image]");
    if (fileInput) {
      fileInput.addEventListener("change", function () {
        var file = fileInput.files && fileInput.files[0];
        if (!file) return;
        var reader = new FileReader();
        reader.addEventListener("load", function () { self.image.src = reader.result; });
        reader.readAsDataURL(file);
      });
    }
  };

  Editor.prototype.readText = function () {
    var text = this.textarea.value.trim();
    try {
      var parsed = text ? JSON.parse(text) : [];
      if (!Array.isArray(parsed)) throw new Error("not a list");
      this.areas = parsed;
      this.status.textContent = "";
      this.status.classList.remove("errornote");
    } catch (error) {
      this.status.textContent = "The JSON below is not a list of areas yet; fix it to see the areas.";
      this.status.classList.add("errornote");
      return;
    }
    if (this.selected >= this.areas.length) this.selected = -1;
    this.render();
  };

  Editor.prototype.writeText = function () {
    this.textarea.value = JSON.stringify(this.areas, null, 2);
  };

  Editor.prototype.scale = function () {
    return this.width ? this.layer.clientWidth / this.width : 0;
  };

  Editor.prototype.point = function (event) {
    var box = this.layer.getBoundingClientRect();
    var x = ((event.clientX - box.left) / box.width) * this.width;
    var y = ((event.clientY - box.top) / box.height) * this.height;
    return {
      x: Math.round(Math.min(Math.max(x, 0), this.width)),
      y: Math.round(Math.min(Math.max(y, 0), this.height))
    };
  };

  Editor.prototype.place = function (node, area) {
    var scale = this.scale();
    node.style.left = area.x * scale + "px";
    node.style.top = area.y * scale + "px";
    node.style.width = area.width * scale + "px";
    node.style.height = area.height * scale + "px";
  };

  Editor.prototype.startDrawing = function (event) {
    if (!this.width || event.target !== this.layer || event.button !== 0) return;
    event.preventDefault();
    var self = this;
    var start = this.point(event);
    var draft = element("div", "richmenu-area richmenu-draft");
    this.layer.appendChild(draft);
    this.layer.setPointerCapture(event.pointerId);
    function box(to) {
      return {
        x: Math.min(start.x, to.x),
        y: Math.min(start.y, to.y),
        width: Math.abs(to.x - start.x),
        height: Math.abs(to.y - start.y)
      };
    }
    function move(moveEvent) { self.place(draft, box(self.point(moveEvent))); }
    function up(upEvent) {
      self.layer.removeEventListener("pointermove", move);
      self.layer.removeEventListener("pointerup", up);
      draft.remove();
      var drawn = box(self.point(upEvent));
      if (drawn.width < MIN_SIZE || drawn.height < MIN_SIZE) {
        self.render();
        return;
      }
      self.areas.push({
        name: self.freeName(),
        x: drawn.x,
        y: drawn.y,
        width: drawn.width,
        height: drawn.height,
        action: { type: "postback", data: "action=help" }
      });
      self.selected = self.areas.length - 1;
      self.writeText();
      self.render();
    }
    this.layer.addEventListener("pointermove", move);
    this.layer.addEventListener("pointerup", up);
  };

  Editor.prototype.freeName = function () {
    var taken = {};
    this.areas.forEach(function (area) { taken[area && area.name] = true; });
    for (var number = this.areas.length + 1; ; number++) {
      if (!taken["area-" + number]) return "area-" + number;
    }
  };

  Editor.prototype.render = function () {
    var self = this;
    this.layer.textContent = "";
    this.areas.forEach(function (area, index) {
      if (!area || typeof area !== "object") return;
      var node = element("div", "richmenu-area" + (index === self.selected ? " selected" : ""));
      node.dataset.index = String(index);
      node.appendChild(element("span", "richmenu-area-name", String(area.name || "?")));
      self.place(node, area);
      node.addEventListener("pointerdown", function (event) {
        event.stopPropagation();
        self.selected = index;
        self.render();
      });
      self.layer.appendChild(node);
    });
    this.renderPanel();
  };

  Editor.prototype.field = function (label, value, onChange, type) {
    var row = element("label", "richmenu-field");
    row.appendChild(element("span", "", label));
    var input = element("input");
    input.type = type || "text";
    input.value = value === undefined || value === null ? "" : String(value);
    input.dataset.field = label;
    input.addEventListener("input", function () { onChange(input.value); });
    row.appendChild(input);
    return row;
  };

  Editor.prototype.renderPanel = function () {
    var self = this;
    var area = this.areas[this.selected];
    this.panel.textContent = "";
    if (!area || typeof area !== "object") {
      this.panel.appendChild(element("p", "help", this.areas.length + " tap area(s). Select one to edit it."));
      return;
    }
    function changed() { self.writeText(); self.render(); }
    function number(key) {
      return function (value) {
        var parsed = parseInt(value, 10);
        area[key] = isNaN(parsed) ? value : parsed;
        self.writeText();
        self.place(self.layer.querySelector('[data-index="' + self.selected + '"]'), area);
      };
    }
    this.panel.appendChild(element("h3", "", "Area " + (this.selected + 1)));
    this.panel.appendChild(this.field("name", area.name, function (value) {
      area.name = value;
      self.writeText();
      var tag = self.layer.querySelector('[data-index="' + self.selected + '"] .richmenu-area-name');
      if (tag) tag.textContent = value;
    }));
    ["x", "y", "width", "height"].forEach(function (key) {
      self.panel.appendChild(self.field(key, area[key], number(key), "number"));
    });
    this.panel.appendChild(this.field("label", area.label, function (value) {
      if (value) area.label = value; else delete area.label;
      self.writeText();
    }));
    var action = area.action && typeof area.action === "object" ? area.action : (area.action = { type: "postback" });
    var typeRow = element("label", "richmenu-field");
    typeRow.appendChild(element("span", "", "action"));
    var select = element("select");
    select.dataset.field = "action";
    Object.keys(ACTION_FIELDS).forEach(function (type) {
      var option = element("option", "", type);
      option.value = type;
      option.selected = action.type === type;
      select.appendChild(option);
    });
    select.addEventListener("change", function () {
      area.action = { type: select.value };
      changed();
    });
    typeRow.appendChild(select);
    this.panel.appendChild(typeRow);
    (ACTION_FIELDS[action.type] || []).forEach(function (pair) {
      self.panel.appendChild(self.field(pair[1], action[pair[0]], function (value) {
        if (value) action[pair[0]] = value; else delete action[pair[0]];
        self.writeText();
      }));
    });
    var remove = element("button", "button richmenu-remove", "Delete this area");
    remove.type = "button";
    remove.addEventListener("click", function () {
      self.areas.splice(self.selected, 1);
      self.selected = -1;
      changed();
    });
    this.panel.appendChild(remove);
  };

  function start() {
    var textareas = document.querySelectorAll("textarea.richmenu-areas-json");
    Array.prototype.forEach.call(textareas, function (textarea) { textarea.richmenuEditor = new Editor(textarea); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
