// The LINE simulator page: chats with the bot as one or several LINE users, through the double's control API.
// It polls /_control/timeline for what the bot sent and for each webhook's status and latency.
"use strict";
(function () {
  const { el } = window.LineRender;
  const POLL_MS = 600;
  const STICKERS = [
    { packageId: "446", stickerId: "1988", label: "OK!" },
    { packageId: "446", stickerId: "1989", label: "Haha" },
    { packageId: "446", stickerId: "1990", label: "Sad" },
    { packageId: "789", stickerId: "10855", label: "Thanks" },
  ];

  const state = { users: {}, chats: {}, current: null, seq: 0, deliveries: {} };
  const $ = (id) => document.getElementById(id);

  async function api(method, path, body) {
    const response = await fetch("/_control/" + path, {
      method,
      headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.message || `HTTP ${response.status}`);
    return data;
  }

  // -- chats --------------------------------------------------------------------------------------------------------
  function chatFor(key) {
    if (!state.chats[key]) {
      const [kind, id] = key.split(":");
      state.chats[key] = {
        key, kind, id, members: [], entries: [], quickReply: null, loadingUntil: 0, following: true,
        title: kind === "user" ? (state.users[id] || {}).displayName || id : kind === "group" ? "Group" : "Room",
      };
    }
    return state.chats[key];
  }

  function addUser(user) {
    state.users[user.userId] = user;
    const chat = chatFor("user:" + user.userId);
    chat.title = user.displayName;
    chat.members = [user.userId];
  }

  function addGroup(group) {
    const key = group.groupId ? "group:" + group.groupId : "room:" + group.roomId;
    const chat = chatFor(key);
    chat.title = group.groupName || (group.roomId ? "Room" : "Group");
    chat.members = group.members || [];
    return chat;
  }

  function displayName(userId) {
    return (state.users[userId] || {}).displayName || (userId ? userId.slice(-4) : "");
  }

  // -- timeline -----------------------------------------------------------------------------------------------------
  function ingest(entry) {
    if (entry.kind === "webhook") {
      (entry.delivery.webhookEventIds || []).forEach((id) => { state.deliveries[id] = entry.delivery; });
      return;
    }
    const chat = chatFor(entry.chat);
    if (entry.kind === "loading") {
      chat.loadingUntil = Date.now() + entry.seconds * 1000;
      return;
    }
    if (entry.kind === "bot_message") {
      chat.loadingUntil = 0;
      chat.quickReply = entry.message.quickReply || null;
    } else if (entry.kind.startsWith("user_")) {
      chat.quickReply = null;
      if (entry.userId && !state.users[entry.userId]) addUser({ userId: entry.userId, displayName: entry.displayName });
      if (entry.userId && !chat.members.includes(entry.userId)) chat.members.push(entry.userId);
      if (entry.kind === "user_event" && chat.kind === "user") {
        if (entry.eventType === "follow") chat.following = true;
        if (entry.eventType === "unfollow") chat.following = false;
      }
    }
    chat.entries.push(entry);
  }

  let inFlight = null;
  function refresh() {
    // One timeline request at a time, so no entry is taken in twice.
    if (inFlight) return inFlight;
    inFlight = api("GET", "timeline?since=" + state.seq)
      .then((data) => {
        if (data.seq < state.seq) {
          // The double was restarted or reset: start over from its new state.
          window.location.reload();
          return;
        }
        const fresh = data.entries.filter((entry) => entry.seq > state.seq);
        fresh.forEach(ingest);
        state.seq = Math.max(state.seq, data.seq);
        if (fresh.length) render();
        else renderLoading();
      })
      .finally(() => { inFlight = null; });
    return inFlight;
  }

  async function poll() {
    try {
      await refresh();
    } catch (error) {
      $("webhook-info").textContent = "The LINE double is not answering: " + error.message;
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  // -- sending ------------------------------------------------------------------------------------------------------
  function speaker() {
    const chat = state.chats[state.current];
    if (!chat) return null;
    return chat.kind === "user" ? chat.id : $("speaker").value || chat.members[0];
  }

  async function sendEvent(event) {
    const chat = state.chats[state.current];
    if (!chat) return;
    const payload = { ...event, userId: event.userId || speaker() };
    if (chat.kind === "group") payload.groupId = chat.id;
    if (chat.kind === "room") payload.roomId = chat.id;
    try {
      await api("POST", "webhook/send", payload);
    } catch (error) {
      showNotice(error.message);
    }
    refresh().catch(() => {});
  }

  function onAction(action) {
    switch (action.type) {
      case "postback": {
        const shown = action.displayText || action.text;
        return sendEvent({ type: "postback", data: action.data, displayText: shown });
      }
      case "message": return sendEvent({ type: "text", text: action.text });
      case "uri": return window.open(action.uri, "_blank", "noopener");
      case "datetimepicker": {
        const now = new Date().toISOString();
        const value = { date: now.slice(0, 10), time: now.slice(11, 16), datetime: now.slice(0, 16) }[action.mode];
        return sendEvent({ type: "postback", data: action.data, params: { [action.mode]: action.initial || value } });
      }
      default: return showNotice(`The simulator does not perform "${action.type}" actions.`);
    }
  }

  function readFile(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).split(",")[1] || "");
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
  }

  async function sendUpload(input, type) {
    const file = input.files[0];
    if (!file) return;
    const content = await readFile(file);
    input.value = "";
    await sendEvent({ type, contentBase64: content, contentType: file.type || "application/octet-stream", fileName: file.name });
  }

  // -- rendering ----------------------------------------------------------------------------------------------------
  function showNotice(text) {
    const notice = el("div", "notice", text);
    $("messages").appendChild(notice);
    notice.scrollIntoView({ block: "end" });
  }

  function statusLine(entry) {
    const delivery = state.deliveries[entry.webhookEventId];
    if (!delivery) return el("div", "status pending", "sending…");
    const ok = delivery.status >= 200 && delivery.status < 300;
    const text = delivery.status
      ? `${ok ? "✓" : "✗"} webhook ${delivery.status} · ${delivery.latencyMs} ms`
      : `✗ webhook not delivered: ${delivery.error || "no answer"}`;
    return el("div", "status " + (ok ? "ok" : "failed"), text);
  }

  function userContent(entry) {
    if (entry.kind === "user_postback") {
      return el("div", "bubble text", entry.displayText || `[postback] ${entry.postback.data}`);
    }
    if (entry.kind === "user_event") return null;
    const message = entry.message;
    switch (message.type) {
      case "text": return el("div", "bubble text", message.text);
      case "image": {
        const img = el("img", "bubble image");
        img.src = "/_control/contents/" + message.id;
        img.alt = "image";
        return img;
      }
      case "file": return el("div", "bubble text", `File: ${message.fileName} (${message.fileSize} bytes)`);
      case "sticker": {
        const known = STICKERS.find((s) => s.stickerId === message.stickerId);
        return el("div", "bubble sticker", known ? known.label : `[sticker ${message.stickerId}]`);
      }
      case "location": return el("div", "bubble text", `Location: ${message.title}`);
      default: return el("div", "bubble text", `[${message.type}]`);
    }
  }

  const EVENT_WORDS = {
    follow: "added the bot as a friend", unfollow: "blocked the bot", join: "The bot joined", leave: "The bot was removed",
    memberJoined: "joined", memberLeft: "left", unsend: "unsent a message",
  };

  function renderEntry(chat, entry) {
    if (entry.kind === "user_event") {
      const row = el("div", "event-row");
      const who = ["join", "leave"].includes(entry.eventType) ? "" : displayName(entry.userId) + " ";
      row.appendChild(el("div", "event", who + (EVENT_WORDS[entry.eventType] || entry.eventType)));
      row.appendChild(statusLine(entry));
      return row;
    }
    if (entry.kind === "bot_left") return el("div", "event-row event", "The bot left this chat");
    const mine = entry.kind !== "bot_message";
    const row = el("div", "msg " + (mine ? "user" : "bot"));
    if (mine && chat.kind !== "user") row.appendChild(el("div", "sender", displayName(entry.userId)));
    const content = mine ? userContent(entry) : window.LineRender.message(entry.message, onAction);
    if (content) row.appendChild(content);
    if (mine) row.appendChild(statusLine(entry));
    else row.appendChild(el("div", "via", entry.via === "replyMessage" ? "reply" : entry.via));
    return row;
  }

  function renderChatList() {
    const nav = $("chats");
    nav.replaceChildren();
    Object.values(state.chats).forEach((chat) => {
      const item = el("button", "chat-item" + (chat.key === state.current ? " active" : ""), chat.title);
      item.type = "button";
      item.dataset.chat = chat.key;
      const last = chat.entries[chat.entries.length - 1];
      if (last && last.kind === "bot_message") item.appendChild(el("span", "dot"));
      item.addEventListener("click", () => { state.current = chat.key; render(); });
      nav.appendChild(item);
    });
  }

  function renderHeader(chat) {
    $("chat-title").textContent = chat ? chat.title : "Add a user to start chatting";
    $("chat-subtitle").textContent = chat ? chat.id : "";
    const group = chat && chat.kind !== "user";
    $("speaker-label").classList.toggle("hidden", !group);
    $("add-member").classList.toggle("hidden", !group);
    $("leave-group").classList.toggle("hidden", !group);
    $("follow").classList.toggle("hidden", !chat || group);
    $("new-group").disabled = !chat || group;
    ["composer-text", "send", "sticker-toggle", "image-input", "file-input"].forEach((id) => { $(id).disabled = !chat; });
    if (!chat) return;
    if (!group) $("follow").textContent = chat.following ? "Block (unfollow)" : "Add friend (follow)";
    if (group) {
      const speakerSelect = $("speaker");
      const previous = speakerSelect.value;
      speakerSelect.replaceChildren(...chat.members.map((id) => { const o = el("option", null, displayName(id)); o.value = id; return o; }));
      if (chat.members.includes(previous)) speakerSelect.value = previous;
      const outsiders = Object.keys(state.users).filter((id) => !chat.members.includes(id));
      const addSelect = $("add-member");
      const placeholder = el("option", null, "Add a member…");
      placeholder.value = "";
      addSelect.replaceChildren(placeholder, ...outsiders.map((id) => { const o = el("option", null, displayName(id)); o.value = id; return o; }));
    }
  }

  function renderLoading() {
    const chat = state.chats[state.current];
    const existing = document.querySelector("#messages .loading");
    const loading = chat && chat.loadingUntil > Date.now();
    if (loading && !existing) {
      const row = el("div", "msg bot loading");
      const dots = el("div", "bubble dots");
      for (let i = 0; i < 3; i += 1) dots.appendChild(el("span"));
      row.appendChild(dots);
      $("messages").appendChild(row);
      row.scrollIntoView({ block: "end" });
    } else if (!loading && existing) {
      existing.remove();
    }
  }

  function renderQuickReplies(chat) {
    const bar = $("quick-replies");
    const items = (chat && chat.quickReply && chat.quickReply.items) || [];
    bar.classList.toggle("hidden", items.length === 0);
    bar.replaceChildren(...items.map((item) => {
      const chip = el("button", "chip", item.action.label || item.action.text || item.action.type);
      chip.type = "button";
      chip.addEventListener("click", () => { chat.quickReply = null; renderQuickReplies(chat); onAction(item.action); });
      return chip;
    }));
  }

  function render() {
    renderChatList();
    const chat = state.chats[state.current];
    renderHeader(chat);
    const box = $("messages");
    box.replaceChildren(...(chat ? chat.entries.map((entry) => renderEntry(chat, entry)) : []));
    renderLoading();
    renderQuickReplies(chat);
    box.scrollTop = box.scrollHeight;
  }

  // -- wiring -------------------------------------------------------------------------------------------------------
  function wire() {
    $("new-user-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = $("new-user-name").value.trim() || "LINE user " + (Object.keys(state.users).length + 1);
      const user = await api("POST", "users", { displayName: name });
      addUser(user);
      state.current = "user:" + user.userId;
      $("new-user-name").value = "";
      render();
      await sendEvent({ type: "follow", userId: user.userId });
    });
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("composer-text").value;
      if (!text.trim()) return;
      $("composer-text").value = "";
      sendEvent({ type: "text", text });
    });
    $("image-input").addEventListener("change", (event) => sendUpload(event.target, "image"));
    $("file-input").addEventListener("change", (event) => sendUpload(event.target, "file"));
    $("sticker-toggle").addEventListener("click", () => $("stickers").classList.toggle("hidden"));
    $("stickers").replaceChildren(...STICKERS.map((sticker) => {
      const b = el("button", "sticker-choice", sticker.label);
      b.type = "button";
      b.addEventListener("click", () => {
        $("stickers").classList.add("hidden");
        sendEvent({ type: "sticker", packageId: sticker.packageId, stickerId: sticker.stickerId });
      });
      return b;
    }));
    $("follow").addEventListener("click", () => {
      const chat = state.chats[state.current];
      sendEvent({ type: chat.following ? "unfollow" : "follow" });
    });
    $("new-group").addEventListener("click", async () => {
      const chat = state.chats[state.current];
      const number = Object.values(state.chats).filter((c) => c.kind === "group").length + 1;
      const group = await api("POST", "groups", { groupName: "Group " + number, members: [chat.id] });
      const groupChat = addGroup(group);
      state.current = groupChat.key;
      render();
      await sendEvent({ type: "join", userId: chat.id });
    });
    $("add-member").addEventListener("change", (event) => {
      const userId = event.target.value;
      if (userId) sendEvent({ type: "memberJoined", userId, members: [userId] });
    });
    $("leave-group").addEventListener("click", () => sendEvent({ type: "leave" }));
  }

  async function start() {
    wire();
    const [users, groups, config] = await Promise.all([api("GET", "users"), api("GET", "groups"), api("GET", "config")]);
    users.users.forEach(addUser);
    groups.groups.forEach(addGroup);
    $("webhook-info").textContent = "Webhook → " + (config.webhookUrl || "not set");
    state.current = Object.keys(state.chats)[0] || null;
    render();
    poll();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
