/*
 * Live dashboard of the ops console (monitoring/dashboards).
 *
 * The page names its socket in data attributes (no inline script: the CSP forbids it). The
 * server sends {"type": "snapshot" | "update", "seq": n, "ts": t, "data": {...}}: a snapshot on
 * connect, then one update per second carrying only the keys that changed (null: the key is gone).
 * An update whose seq is not the next one means something was missed: the page asks for a
 * snapshot and ignores updates until it comes. A dropped socket reconnects and gets a snapshot.
 * Every number is also written as text into [data-metric="<key>"] (data-value holds the raw number).
 */
(function () {
  "use strict";

  // --- the state machine (pure, also used by the browser tests) ---------------------------------
  function initialState() {
    return { seq: null, data: {}, resyncing: false };
  }

  // Returns {state, action}: action is "render", "ignore" or "resync" (ask for a snapshot).
  function apply(state, message) {
    if (!message || typeof message.seq !== "number") {
      return { state: state, action: "ignore" };
    }
    if (message.type === "snapshot") {
      return { state: { seq: message.seq, data: Object.assign({}, message.data || {}), resyncing: false }, action: "render" };
    }
    if (message.type !== "update" || state.seq === null) {
      return { state: state, action: "ignore" };
    }
    if (message.seq <= state.seq) {
      return { state: state, action: "ignore" };
    }
    if (message.seq !== state.seq + 1 || state.resyncing) {
      return { state: Object.assign({}, state, { resyncing: true }), action: "resync" };
    }
    var data = Object.assign({}, state.data);
    Object.keys(message.data || {}).forEach(function (key) {
      if (message.data[key] === null && !(key in FIELD_UNITS)) {
        delete data[key];
      } else {
        data[key] = message.data[key];
      }
    });
    return { state: { seq: message.seq, data: data, resyncing: false }, action: "render" };
  }

  // --- formatting -------------------------------------------------------------------------------
  var FIELD_UNITS = {};
  var integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  var decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

  function format(value, unit) {
    if (value === null || value === undefined) {
      return "–";
    }
    switch (unit) {
      case "rate":
        return decimal.format(value) + " /s";
      case "ms":
        return value >= 1000 ? decimal.format(value / 1000) + " s" : decimal.format(value) + " ms";
      case "usd":
        return "$" + value.toFixed(2);
      case "percent":
        return decimal.format(value) + " %";
      default:
        return Number.isInteger(value) ? integer.format(value) : decimal.format(value);
    }
  }

  // --- the page ---------------------------------------------------------------------------------
  var CHART_POINTS = 300;
  var STALE_AFTER_MS = 5000;

  function Dashboard(root) {
    this.root = root;
    this.path = root.getAttribute("data-socket");
    this.state = initialState();
    this.status = root.querySelector("[data-status]");
    this.metrics = {};
    this.charts = {};
    this.retry = 1000;
    this.lastMessage = 0;
    var self = this;
    root.querySelectorAll("[data-metric]").forEach(function (el) {
      var key = el.getAttribute("data-metric");
      (self.metrics[key] = self.metrics[key] || []).push(el);
      FIELD_UNITS[key] = el.getAttribute("data-unit") || "count";
    });
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      self.charts[el.getAttribute("data-chart")] = { el: el, times: [], values: [], plot: null };
    });
    this.rows = Array.prototype.slice.call(root.querySelectorAll("[data-rows]"));
    setInterval(function () {
      if (self.socket && self.lastMessage && Date.now() - self.lastMessage > STALE_AFTER_MS) {
        self.setStatus("stale", "No update for " + Math.round((Date.now() - self.lastMessage) / 1000) + " s");
      }
    }, 1000);
  }

  Dashboard.prototype.setStatus = function (kind, text) {
    this.root.setAttribute("data-connection", kind);
    if (this.status) {
      this.status.textContent = text;
    }
  };

  Dashboard.prototype.connect = function () {
    var self = this;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + this.path);
    this.socket = socket;
    socket.onopen = function () {
      self.retry = 1000;
      self.setStatus("connecting", "Connected, waiting for data…");
    };
    socket.onmessage = function (event) {
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      self.lastMessage = Date.now();
      var result = apply(self.state, message);
      self.state = result.state;
      if (result.action === "resync") {
        socket.send(JSON.stringify({ type: "snapshot_request" }));
      } else if (result.action === "render") {
        self.render(message);
      }
    };
    socket.onclose = function (event) {
      self.socket = null;
      if (event.code === 4401) {
        self.setStatus("ended", "Your session ended. Sign in again to keep watching.");
        return;
      }
      if (event.code === 4403 || event.code === 4404) {
        self.setStatus("ended", "You may not view this dashboard.");
        return;
      }
      self.setStatus("reconnecting", "Connection lost, reconnecting…");
      self.state = initialState();
      setTimeout(function () { self.connect(); }, self.retry);
      self.retry = Math.min(self.retry * 2, 30000);
    };
  };

  Dashboard.prototype.render = function (message) {
    var data = this.state.data;
    var self = this;
    Object.keys(this.metrics).forEach(function (key) {
      var value = key in data ? data[key] : null;
      self.metrics[key].forEach(function (el) {
        el.textContent = format(value, FIELD_UNITS[key]);
        el.setAttribute("data-value", value === null ? "" : String(value));
      });
    });
    this.rows.forEach(function (table) { self.renderRows(table, data); });
    var at = typeof message.ts === "number" ? message.ts : Date.now() / 1000;
    Object.keys(this.charts).forEach(function (key) {
      self.plot(self.charts[key], at, key in data ? data[key] : null);
    });
    var when = new Date(at * 1000);
    this.setStatus("live", "Live · updated " + when.toLocaleTimeString("en-GB") + " · #" + this.state.seq);
  };

  Dashboard.prototype.renderRows = function (table, data) {
    var prefix = table.getAttribute("data-rows");
    var body = table.tBodies[0];
    var keys = Object.keys(data).filter(function (k) { return k.indexOf(prefix) === 0; }).sort();
    while (body.firstChild) {
      body.removeChild(body.firstChild);
    }
    keys.forEach(function (key) {
      var row = body.insertRow();
      row.insertCell().textContent = key.slice(prefix.length).replace(/_/g, " ");
      var cell = row.insertCell();
      var span = document.createElement("span");
      span.setAttribute("data-metric", key);
      span.setAttribute("data-value", String(data[key]));
      span.textContent = format(data[key], "count");
      cell.appendChild(span);
    });
    table.hidden = keys.length === 0;
  };

  Dashboard.prototype.plot = function (chart, at, value) {
    if (typeof window.uPlot !== "function") {
      return;
    }
    chart.times.push(at);
    chart.values.push(value);
    if (chart.times.length > CHART_POINTS) {
      chart.times.shift();
      chart.values.shift();
    }
    if (!chart.plot) {
      chart.plot = new window.uPlot(
        {
          width: chart.el.clientWidth || 360,
          height: 110,
          legend: { show: false },
          cursor: { show: false },
          scales: { y: { range: function (u, min, max) { return [0, Math.max(1, max * 1.2)]; } } },
          axes: [{ size: 28 }, { size: 48 }],
          series: [{}, { stroke: "#417690", width: 2, fill: "rgba(65, 118, 144, 0.12)", spanGaps: true }],
        },
        [chart.times, chart.values],
        chart.el
      );
    } else {
      chart.plot.setData([chart.times, chart.values]);
    }
  };

  window.LinebotDashboard = { apply: apply, initialState: initialState, format: format };

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("ops-dashboard");
    if (root && root.getAttribute("data-socket")) {
      new Dashboard(root).connect();
    }
  });
})();
