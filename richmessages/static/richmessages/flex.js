// Renders LINE message objects (text, image, sticker, location, template, Flex) as DOM, close to LINE's look.
// window.LineRender.message(message, onAction) returns an element; onAction(action) is called on taps.
// Styled by flex.css. The ops console's rich-message preview serves a copy of both (richmessages/static/richmessages/),
// kept identical by tests/richmessages/test_flex_renderer_copy.py: change them here, then copy them there.
"use strict";
(function () {
  const SPACING = { none: "0px", xs: "2px", sm: "4px", md: "8px", lg: "12px", xl: "16px", xxl: "20px" };
  const TEXT_SIZE = {
    xxs: "11px", xs: "13px", sm: "14px", md: "16px", lg: "19px", xl: "22px", xxl: "29px",
    "3xl": "35px", "4xl": "48px", "5xl": "74px",
  };
  const IMAGE_SIZE = {
    xxs: "40px", xs: "60px", sm: "80px", md: "100px", lg: "120px", xl: "140px", xxl: "160px",
    "3xl": "180px", "4xl": "200px", "5xl": "220px", full: "100%",
  };
  const BUBBLE_WIDTH = { nano: "120px", micro: "160px", deca: "220px", hecto: "241px", kilo: "260px", mega: "300px", giga: "386px" };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function px(value, table) {
    if (value === undefined || value === null) return null;
    if (table && table[value]) return table[value];
    return /^\d+$/.test(String(value)) ? value + "px" : String(value);
  }

  function clickable(node, action, onAction) {
    if (!action) return node;
    node.classList.add("tappable");
    node.tabIndex = 0;
    node.title = action.label || action.type;
    node.addEventListener("click", (event) => { event.stopPropagation(); onAction(action); });
    return node;
  }

  function applyBoxModel(node, component) {
    const style = node.style;
    const pad = (key, prop) => { const v = px(component[key], SPACING); if (v) style[prop] = v; };
    pad("paddingAll", "padding");
    pad("paddingTop", "paddingTop");
    pad("paddingBottom", "paddingBottom");
    pad("paddingStart", "paddingLeft");
    pad("paddingEnd", "paddingRight");
    if (component.backgroundColor) style.backgroundColor = component.backgroundColor;
    if (component.cornerRadius) style.borderRadius = px(component.cornerRadius, SPACING);
    if (component.borderWidth) {
      style.borderStyle = "solid";
      style.borderWidth = px(component.borderWidth, { none: "0", light: "0.5px", normal: "1px", medium: "2px", "semi-bold": "3px", bold: "4px" });
      style.borderColor = component.borderColor || "#000";
    }
    if (component.width) style.width = component.width;
    if (component.height) style.height = component.height;
    if (component.offsetTop) style.marginTop = component.offsetTop;
    if (component.position === "absolute") style.position = "absolute";
  }

  function flexChild(node, component, parentLayout, index, parentSpacing) {
    const style = node.style;
    const defaultFlex = parentLayout === "vertical" ? 0 : 1;
    const flex = component.flex !== undefined ? component.flex : defaultFlex;
    style.flex = flex === 0 ? "0 0 auto" : `${flex} ${flex} 0`;
    const margin = component.margin !== undefined ? px(component.margin, SPACING) : index > 0 ? parentSpacing : null;
    if (margin) style[parentLayout === "vertical" ? "marginTop" : "marginLeft"] = margin;
    if (component.gravity) style.alignSelf = { top: "flex-start", center: "center", bottom: "flex-end" }[component.gravity];
    if (component.align && component.type !== "text") {
      style.alignSelf = { start: "flex-start", center: "center", end: "flex-end" }[component.align] || style.alignSelf;
    }
  }

  function box(component, onAction) {
    const node = el("div", "flex-box " + (component.layout || "vertical"));
    applyBoxModel(node, component);
    if (component.justifyContent) node.style.justifyContent = component.justifyContent;
    if (component.alignItems) node.style.alignItems = component.alignItems;
    const spacing = px(component.spacing, SPACING);
    (component.contents || []).forEach((child, index) => {
      const rendered = flexComponent(child, onAction);
      if (!rendered) return;
      flexChild(rendered, child, component.layout || "vertical", index, spacing);
      node.appendChild(rendered);
    });
    return clickable(node, component.action, onAction);
  }

  function text(component, onAction) {
    const node = el("div", "flex-text");
    const style = node.style;
    if (component.contents && component.contents.length) {
      component.contents.forEach((span) => {
        const s = el("span", null, span.text);
        if (span.color) s.style.color = span.color;
        if (span.weight === "bold") s.style.fontWeight = "bold";
        if (span.size) s.style.fontSize = px(span.size, TEXT_SIZE);
        if (span.style === "italic") s.style.fontStyle = "italic";
        if (span.decoration) s.style.textDecoration = span.decoration;
        node.appendChild(s);
      });
    } else {
      node.textContent = component.text || "";
    }
    style.fontSize = px(component.size || "md", TEXT_SIZE);
    if (component.weight === "bold") style.fontWeight = "bold";
    if (component.color) style.color = component.color;
    if (component.style === "italic") style.fontStyle = "italic";
    if (component.decoration) style.textDecoration = component.decoration;
    if (component.align) style.textAlign = component.align;
    if (component.wrap) {
      node.classList.add("wrap");
      if (component.maxLines) { style.webkitLineClamp = String(component.maxLines); node.classList.add("clamp"); }
    } else {
      node.classList.add("nowrap");
    }
    if (component.lineSpacing) style.lineHeight = `calc(1.4em + ${component.lineSpacing})`;
    return clickable(node, component.action, onAction);
  }

  function image(component, onAction) {
    const wrap = el("div", "flex-image");
    const img = el("img");
    img.src = component.url;
    img.alt = "";
    img.loading = "lazy";
    const size = px(component.size || "md", IMAGE_SIZE);
    wrap.style.width = size;
    wrap.style.maxWidth = "100%";
    if (component.aspectRatio) {
      const [w, h] = component.aspectRatio.split(":");
      img.style.aspectRatio = `${w} / ${h}`;
    } else {
      img.style.aspectRatio = "1 / 1";
    }
    img.style.objectFit = component.aspectMode === "cover" ? "cover" : "contain";
    if (component.backgroundColor) img.style.backgroundColor = component.backgroundColor;
    wrap.appendChild(img);
    const align = { start: "flex-start", center: "center", end: "flex-end" }[component.align || "center"];
    wrap.style.alignSelf = align;
    return clickable(wrap, component.action, onAction);
  }

  function button(component, onAction) {
    const styleName = component.style || "link";
    const node = el("button", `flex-button ${styleName} ${component.height === "sm" ? "small" : ""}`);
    node.type = "button";
    node.textContent = (component.action && component.action.label) || "";
    if (component.color) {
      if (styleName === "link") node.style.color = component.color;
      else node.style.backgroundColor = component.color;
    }
    if (component.action) node.addEventListener("click", () => onAction(component.action));
    return node;
  }

  function separator(component) {
    const node = el("div", "flex-separator");
    if (component.color) node.style.borderColor = component.color;
    return node;
  }

  function icon(component) {
    const img = el("img", "flex-icon");
    img.src = component.url;
    img.alt = "";
    img.style.height = px(component.size || "md", TEXT_SIZE);
    return img;
  }

  function flexComponent(component, onAction) {
    switch (component && component.type) {
      case "box": return box(component, onAction);
      case "text": return text(component, onAction);
      case "image": return image(component, onAction);
      case "button": return button(component, onAction);
      case "separator": return separator(component);
      case "filler": return el("div", "flex-filler");
      case "icon": return icon(component);
      case "spacer": return el("div", "flex-filler");
      case "video": return image({ ...component, url: component.previewUrl }, onAction);
      default: return null;
    }
  }

  function bubble(container, onAction) {
    const node = el("div", "flex-bubble");
    node.style.width = BUBBLE_WIDTH[container.size || "mega"] || BUBBLE_WIDTH.mega;
    const styles = container.styles || {};
    ["header", "hero", "body", "footer"].forEach((part) => {
      const content = container[part];
      if (!content) return;
      const section = el("div", `flex-section ${part}`);
      const blockStyle = styles[part] || {};
      if (blockStyle.backgroundColor) section.style.backgroundColor = blockStyle.backgroundColor;
      if (blockStyle.separator) section.classList.add("separated");
      const rendered = flexComponent(content, onAction);
      if (rendered) section.appendChild(rendered);
      node.appendChild(section);
    });
    return clickable(node, container.action, onAction);
  }

  function flexContainer(container, onAction) {
    if (container.type === "carousel") {
      const node = el("div", "flex-carousel");
      (container.contents || []).forEach((b) => node.appendChild(bubble(b, onAction)));
      return node;
    }
    return bubble(container, onAction);
  }

  function actionsList(actions, onAction) {
    const list = el("div", "template-actions");
    (actions || []).forEach((action) => {
      const b = el("button", "template-action", action.label || action.type);
      b.type = "button";
      b.addEventListener("click", () => onAction(action));
      list.appendChild(b);
    });
    return list;
  }

  function templateCard(column, onAction) {
    const card = el("div", "template-card");
    const imageUrl = column.thumbnailImageUrl || column.imageUrl;
    if (imageUrl) {
      const img = el("img", "template-image");
      img.src = imageUrl;
      img.alt = "";
      card.appendChild(img);
    }
    if (column.title) card.appendChild(el("div", "template-title", column.title));
    if (column.text) card.appendChild(el("div", "template-text", column.text));
    card.appendChild(actionsList(column.actions || (column.action ? [column.action] : []), onAction));
    return card;
  }

  function template(message, onAction) {
    const t = message.template || {};
    if (t.type === "carousel" || t.type === "image_carousel") {
      const node = el("div", "flex-carousel");
      (t.columns || []).forEach((column) => node.appendChild(templateCard(column, onAction)));
      return node;
    }
    if (t.type === "confirm") {
      const card = el("div", "template-card confirm");
      card.appendChild(el("div", "template-text", t.text));
      const actions = actionsList(t.actions, onAction);
      actions.classList.add("side-by-side");
      card.appendChild(actions);
      return card;
    }
    return templateCard(t, onAction);
  }

  function message(msg, onAction) {
    switch (msg.type) {
      case "text":
      case "textV2": return el("div", "bubble text", msg.text);
      case "image": {
        const img = el("img", "bubble image");
        img.src = msg.previewImageUrl || msg.originalContentUrl;
        img.alt = "image";
        return img;
      }
      case "sticker": return el("div", "bubble sticker", `[sticker ${msg.packageId}/${msg.stickerId}]`);
      case "location": {
        const node = el("div", "bubble text location");
        node.appendChild(el("strong", null, msg.title || "Location"));
        node.appendChild(el("div", null, msg.address || `${msg.latitude}, ${msg.longitude}`));
        return node;
      }
      case "flex": return flexContainer(msg.contents || {}, onAction);
      case "template": return template(msg, onAction);
      case "imagemap": {
        const img = el("img", "bubble image");
        img.src = msg.baseUrl + "/700";
        img.alt = msg.altText || "imagemap";
        return img;
      }
      case "video":
      case "audio": return el("div", "bubble text", `[${msg.type}] ${msg.originalContentUrl}`);
      default: return el("div", "bubble text", msg.altText || `[${msg.type} message]`);
    }
  }

  window.LineRender = { message, el };
})();
