/*
 * The live chat of one LINE user in the ops console (conversations/chat_admin.py).
 *
 * The page carries the chat as JSON (#chat-initial, no inline script: the CSP forbids it) and names its
 * socket in data attributes. Every message is {"type": "update", "items": [...], "takeover": {...}}:
 * items are placed by id (a known id is drawn again, e.g. once LINE accepted an operator's message),
 * oldest first, newest at the bottom. On each (re)connect the whole chat is loaded again over HTTP, so
 * nothing said while the socket was down is missing. Close codes 4401, 4403 and 4404 are final.
 */
(function () {
  "use strict";

  var root = document.getElementById("ops-chat");
  if (!root) {
    return;
  }
  var log = document.getElementById("chat-log");
  var stateBar = document.getElementById("chat-state");
  var stateText = document.getElementById("chat-state-text");
  var connection = document.getElementById("chat-connection");
  var shown = {};
  var takeover = { active: false };
  var REFUSED = { 4401: "Signed out: sign in again to watch.", 4403: "You may not take over conversations.", 4404: "No such LINE user." };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function time(value) {
    var date = new Date(value);
    return isNaN(date) ? "" : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function key(item) {
    return [Date.parse(item.at) || 0, item.order || 0];
  }

  function before(a, b) {
    return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  }

  var MEDIA = { sticker: "(sticker)", location: "(location)", video: "(video)", audio: "(voice message)", file: "(file)" };

  function lineMessage(message) {
    if (window.LineRender) {
      return window.LineRender.message(message, function () {});
    }
    return el("div", "bubble text", message.text || message.altText || "[" + message.type + " message]");
  }

  function quickReplies(message) {
    var items = message.quickReply && message.quickReply.items;
    if (!items || !items.length) return null;
    var list = el("div", "chat-quick");
    items.forEach(function (entry) {
      var action = entry.action || {};
      list.appendChild(el("span", null, action.label || action.text || action.type));
    });
    return list;
  }

  function resendForm(item) {
    var token = root.querySelector("[name=csrfmiddlewaretoken]");
    var form = el("form");
    form.method = "post";
    form.action = root.dataset.resendUrl.replace("/messages/0/", "/messages/" + item.id.slice(1) + "/");
    if (token) {
      var hidden = el("input");
      hidden.type = "hidden";
      hidden.name = token.name;
      hidden.value = token.value;
      form.appendChild(hidden);
    }
    var button = el("button", "button", "Send again");
    button.type = "submit";
    form.appendChild(button);
    return form;
  }

  function render(item) {
    var row = el("div", "chat-row " + item.kind);
    row.dataset.id = item.id;
    row.dataset.kind = item.kind;
    if (item.kind === "note") {
      row.appendChild(el("div", "chat-note", item.text + " · " + time(item.at)));
      return row;
    }
    if (item.kind === "bot" && item.messages) {
      item.messages.forEach(function (message) {
        row.appendChild(lineMessage(message));
        var quick = quickReplies(message);
        if (quick) row.appendChild(quick);
      });
    } else if (item.picture_url) {
      var link = el("a");
      link.href = item.picture_url;
      var picture = el("img", "chat-picture");
      picture.src = item.picture_url;
      picture.alt = "Picture the user sent";
      picture.loading = "lazy";
      link.appendChild(picture);
      row.appendChild(link);
    } else {
      row.appendChild(el("div", "bubble text", item.text || MEDIA[item.media] || "(no text)"));
    }
    var meta = el("div", "chat-meta");
    if (item.kind === "operator") {
      meta.appendChild(el("span", "chat-by", (item.label || "operator") + " · " + item.by));
      if (item.delivered === false) {
        meta.appendChild(el("span", "chat-flag", "not confirmed by LINE"));
        meta.appendChild(resendForm(item));
      }
    }
    if (item.not_answered) {
      var flag = el("span", "chat-flag", "not answered: taken over");
      flag.title = item.not_answered;
      meta.appendChild(flag);
    }
    meta.appendChild(el("span", null, time(item.at)));
    row.appendChild(meta);
    return row;
  }

  function place(items) {
    var nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    var added = false;
    (items || []).forEach(function (item) {
      var node = render(item);
      node.sortKey = key(item);
      var old = shown[item.id];
      if (old) {
        log.replaceChild(node, old);
      } else {
        var next = null;
        for (var child = log.lastElementChild; child; child = child.previousElementSibling) {
          if (child.sortKey && before(node.sortKey, child.sortKey)) next = child;
          else break;
        }
        log.insertBefore(node, next);
        added = true;
      }
      shown[item.id] = node;
    });
    var empty = log.querySelector(".ops-chat-empty");
    if (Object.keys(shown).length && empty) empty.remove();
    if (!Object.keys(shown).length && !empty) log.appendChild(el("p", "ops-chat-empty", "Nothing said yet."));
    if (added && (nearBottom || !log.dataset.scrolled)) {
      log.scrollTop = log.scrollHeight;
    }
  }

  log.addEventListener("scroll", function () {
    log.dataset.scrolled = "1";
  });

  function setHidden(id, hidden) {
    var node = document.getElementById(id);
    if (node) node.hidden = hidden;
  }

  function showTakeover(state) {
    if (!state) return;
    takeover = state;
    var active = !!state.active && Date.parse(state.expires_at) > Date.now();
    stateBar.dataset.active = active ? "true" : "false";
    setHidden("take-over-form", active);
    setHidden("hand-back-form", !active);
    setHidden("send-form", !active);
    setHidden("chat-help", active);
    if (active) {
      var left = Math.max(0, Math.round((Date.parse(state.expires_at) - Date.now()) / 60000));
      stateText.textContent = "Paused by " + state.by + " until " + time(state.expires_at) + " (" + left + " min left)";
    } else {
      stateText.textContent = "The bot is answering.";
    }
  }

  // The pause runs out on the server when the bot next answers; the page shows it when it happens.
  window.setInterval(function () {
    if (takeover.active) showTakeover(takeover);
  }, 15000);

  function apply(message) {
    if (!message || message.type !== "update") return;
    place(message.items);
    showTakeover(message.takeover);
  }

  function reload() {
    return fetch(root.dataset.itemsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(apply)
      .catch(function () {});
  }

  var retry = 1000;

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + root.dataset.socketPath);
    socket.onmessage = function (event) {
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (message.type === "ready") {
        retry = 1000;
        root.dataset.connection = "live";
        connection.textContent = "Live";
        reload();
        return;
      }
      apply(message);
    };
    socket.onclose = function (event) {
      if (REFUSED[event.code]) {
        root.dataset.connection = "refused";
        connection.textContent = REFUSED[event.code];
        return;
      }
      root.dataset.connection = "closed";
      connection.textContent = "Reconnecting…";
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  var initial = document.getElementById("chat-initial");
  apply(Object.assign({ type: "update" }, JSON.parse(initial.textContent)));
  log.scrollTop = log.scrollHeight;
  connect();
})();
