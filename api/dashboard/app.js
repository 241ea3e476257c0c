/*
 * kpid dashboard: reads the filters from the URL, asks kpid's JSON API for
 * the figures and shows them. Every number on the page is the API's value,
 * never recomputed: money with the currency's decimals as served, ratios
 * with the two decimals the API rounds to, both with the digits grouped
 * for the reader's locale (Intl.NumberFormat; the browser's language, or
 * `locale=` in the URL). Money is grouped from the API's decimal string as
 * a BigInt, so no amount passes through a binary float. CSV downloads keep
 * the API's plain values. A value the API leaves undefined (null) is shown
 * as "n/a" with its reason. Changes of percentages are in percentage
 * points (pp).
 *
 * Sign-in: when the server has API keys (GET /v1/session answers 401), the
 * page shows a form, sends the key once to POST /v1/session and forgets
 * it; the browser then sends the session cookie (HttpOnly: this script
 * never sees it). Any 401 later (expired, signed out) shows the form again.
 *
 * Periods: by default the page shows the last COMPLETE period (month,
 * quarter or week), so a month that started yesterday is never compared
 * with a whole month. The period still running is shown only on request
 * (the "to date" box, `partial=1`, or an as-of day inside a period) and is
 * then marked: "month to date" on the tiles, a hollow last point and a
 * dashed last segment in the trends.
 *
 * No other host is ever contacted: the page, Chart.js and the data all come
 * from the kpid that served it.
 *
 * For the browser test: <body data-state> is "loading", "ready", "error" or
 * "signin" (the form is shown), and data-render counts completed renders.
 */
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const BUCKET_COLOURS = ["#3d8b4f", "#d9a404", "#e0782a", "#c4412b", "#8f1d21", "#4f0d12", "#2e070a"];
  const LINE_COLOURS = ["#0b63b6", "#c75000", "#1b7f5c", "#8a3ffc", "#b5177a", "#5b6770"];

  let meta = null; // GET /v1/meta for the chosen currency
  let who = null; // GET /v1/session: the signed-in key, or null
  const metaByCurrency = {};
  let renderToken = 0;
  const charts = {};
  const csvTables = {}; // name -> {columns, rows, filename}

  // ---- small helpers ---------------------------------------------------

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
  }

  // ---- numbers for people ------------------------------------------------

  // The locale: `locale=` in the URL when the browser knows it, else the
  // browser's own language.
  function pickLocale(asked) {
    if (asked) {
      try {
        if (Intl.NumberFormat.supportedLocalesOf([asked]).length) return asked;
      } catch (e) {
        // not a language tag: fall back to the browser's
      }
    }
    return navigator.language || "en-US";
  }
  let LOCALE = "en-US";
  let NF_INT, NF_2, NF_2_SIGNED, DECIMAL;
  function setLocale(asked) {
    LOCALE = pickLocale(asked);
    NF_INT = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });
    NF_2 = new Intl.NumberFormat(LOCALE, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    NF_2_SIGNED = new Intl.NumberFormat(LOCALE, { minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: "exceptZero" });
    DECIMAL = new Intl.NumberFormat(LOCALE).formatToParts(1.5).find((p) => p.type === "decimal").value;
  }
  setLocale("");

  // An API decimal string ("-2333448.32", "1200") grouped, with exactly its
  // decimals; with signed, "+" before a positive change.
  function fmtMoney(s, signed) {
    if (s === null || s === undefined || s === "") return "";
    const neg = s.startsWith("-");
    const [i, f] = (neg ? s.slice(1) : s).split(".");
    const sign = neg ? "-" : signed && /[1-9]/.test(s) ? "+" : "";
    return sign + NF_INT.format(BigInt(i)) + (f !== undefined ? DECIMAL + f : "");
  }
  // A two-decimal number (days, percent) grouped.
  const fmt2 = (x) => NF_2.format(x);
  const fmtInt = (x) => NF_INT.format(x);
  // For table cells: numeric text formatted, anything else ("n/a (no sales)") as is.
  const FORMATS = {
    money: (v) => (/^-?\d+(\.\d+)?$/.test(String(v)) ? fmtMoney(String(v)) : v),
    num2: (v) => (v !== "" && v !== null && !isNaN(Number(v)) ? fmt2(Number(v)) : v),
    int: (v) => (typeof v === "number" ? fmtInt(v) : v),
  };

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
    return q.toString();
  }

  // Like Promise.all, but when several calls fail the error shown is the
  // first in the list, not whichever answer arrived first: the same page
  // says the same thing however the server's answers were timed.
  async function allInOrder(calls) {
    const done = await Promise.allSettled(calls);
    const bad = done.find((d) => d.status === "rejected");
    if (bad) throw bad.reason;
    return done.map((d) => d.value);
  }

  // A 401: no key, or the session ended. The page shows the sign-in form.
  class AuthError extends Error {}

  async function api(path, params) {
    const url = path + (params ? "?" + query(params) : "");
    const r = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    let body = null;
    try {
      body = await r.json();
    } catch (e) {
      throw new Error(url + ": HTTP " + r.status + ", not JSON");
    }
    if (!r.ok) {
      const m = body && body.error ? body.error.message : "HTTP " + r.status;
      if (r.status === 401) throw new AuthError(m);
      throw new Error(m + " (" + path + ")");
    }
    return body;
  }

  // Dates: "YYYY-MM-DD" <-> UTC Date; all arithmetic in UTC days.
  function parseDay(s) {
    const [y, m, d] = s.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, d));
  }
  function fmtDay(d) {
    return d.toISOString().slice(0, 10);
  }
  function addDays(d, n) {
    return new Date(d.getTime() + n * 86400000);
  }
  // First day of the interval unit containing d, moved back `back` units.
  function unitStart(d, iv, back) {
    const y = d.getUTCFullYear(), m = d.getUTCMonth();
    if (iv === "month") return new Date(Date.UTC(y, m - back, 1));
    if (iv === "quarter") return new Date(Date.UTC(y, m - (m % 3) - 3 * back, 1));
    const dow = (d.getUTCDay() + 6) % 7; // ISO week: Monday = 0
    return addDays(d, -dow - 7 * back);
  }
  // Last day of the interval unit containing d.
  function unitEnd(d, iv) {
    return addDays(unitStart(d, iv, -1), -1);
  }
  const TO_DATE = { month: "month to date", quarter: "quarter to date", week: "week to date" };
  const UNIT_WORD = { month: "month", quarter: "quarter", week: "week" };
  function isoWeek(d) {
    const t = addDays(d, 3 - ((d.getUTCDay() + 6) % 7)); // Thursday of the week
    const jan4 = new Date(Date.UTC(t.getUTCFullYear(), 0, 4));
    const w = 1 + Math.round((t - jan4) / 86400000 / 7 - 0.5 + ((jan4.getUTCDay() + 6) % 7) / 7);
    return [t.getUTCFullYear(), w];
  }
  function periodLabel(start, iv) {
    const d = parseDay(start);
    if (iv === "month") return MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear();
    if (iv === "quarter") return "Q" + (Math.floor(d.getUTCMonth() / 3) + 1) + " " + d.getUTCFullYear();
    const [y, w] = isoWeek(d);
    return "W" + String(w).padStart(2, "0") + " " + y;
  }

  // Exact money arithmetic on the API's decimal strings (BigInt minor units).
  function money(s) {
    const neg = s.startsWith("-");
    const t = neg ? s.slice(1) : s;
    const [i, f = ""] = t.split(".");
    const v = BigInt(i + f);
    return { v: neg ? -v : v, digits: f.length };
  }
  function moneyStr(v, digits) {
    const neg = v < 0n;
    let t = (neg ? -v : v).toString().padStart(digits + 1, "0");
    if (digits > 0) t = t.slice(0, t.length - digits) + "." + t.slice(t.length - digits);
    return (neg ? "-" : "") + t;
  }
  // Two-decimal numbers (days, percent) as exact hundredths.
  const hundredths = (x) => Math.round(x * 100);
  const fixed2 = (x) => x.toFixed(2); // the API's plain form, for CSV

  // ---- state <-> URL -----------------------------------------------------

  function readState() {
    const q = new URLSearchParams(location.search);
    const iv = q.get("interval");
    const periods = Number(q.get("periods"));
    // Goal lines: the URL's, else the server's (meta.goals, config dashboard_goals).
    const goal = (name) => {
      const v = Number(q.get(name));
      return q.get(name) !== null && q.get(name) !== "" && v > 0 && v <= 100 ? v : null;
    };
    return {
      business_unit: q.get("business_unit") || "",
      // "*": every book, converted into the base currency (docs/kpi.md).
      currency: /^([A-Z]{3}|\*)$/.test(q.get("currency") || "") ? q.get("currency") : "",
      interval: ["month", "quarter", "week"].includes(iv) ? iv : "month",
      periods: [6, 12, 24].includes(periods) ? periods : 12,
      as_of: /^\d{4}-\d{2}-\d{2}$/.test(q.get("as_of") || "") ? q.get("as_of") : "",
      partial: q.get("partial") === "1",
      customer: q.get("customer") || "",
      drill: q.get("drill") || "", // the drill-down panel (drill.js)
      drill_unit: q.get("drill_unit") || "",
      sla_goal: goal("sla_goal"),
      ftq_goal: goal("ftq_goal"),
      locale: q.get("locale") || "",
    };
  }

  function writeState(st, push) {
    const q = query({
      business_unit: st.business_unit,
      currency: st.currency,
      interval: st.interval === "month" ? "" : st.interval,
      periods: st.periods === 12 ? "" : st.periods,
      as_of: st.as_of,
      partial: st.partial && !st.as_of ? "1" : "",
      customer: st.customer,
      drill: st.drill,
      drill_unit: st.drill ? st.drill_unit : "",
      sla_goal: st.sla_goal,
      ftq_goal: st.ftq_goal,
      locale: st.locale,
    });
    const url = location.pathname + (q ? "?" + q : "");
    if (push) history.pushState(null, "", url);
    else history.replaceState(null, "", url);
  }

  // ---- tables and CSV ---------------------------------------------------

  // As the server's CSV (api/api_csv.c): a text cell that a spreadsheet
  // would run as a formula gets a leading apostrophe; numeric columns
  // (num) are written as they are, so negative amounts stay numbers.
  function csvField(v, num) {
    let s = v === null || v === undefined ? "" : String(v);
    const formula = !num && /^[=+\-@\t\r]/.test(s);
    if (formula) s = "'" + s;
    return formula || /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function downloadCsv(name) {
    const t = csvTables[name];
    if (!t) return;
    const lines = [t.columns.map((c) => csvField(c.label)).join(",")];
    for (const r of t.rows) lines.push(t.columns.map((c) => csvField(r[c.key], c.num)).join(","));
    // The BOM: Excel then reads the file as UTF-8 ("Müller") on a double-click.
    const blob = new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv" });
    const a = el("a", { href: URL.createObjectURL(blob), download: t.filename });
    document.body.append(a);
    a.click();
    setTimeout(() => {
      URL.revokeObjectURL(a.href);
      a.remove();
    }, 0);
  }

  // A table of rows (objects) with a CSV button building the same data.
  // columns: [{key, label, num (right-aligned), cell(row) -> Node|string}]
  function table(container, name, columns, rows, filename, caption) {
    csvTables[name] = { columns, rows, filename };
    const thead = el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", { scope: "col", class: c.num ? "num" : null, text: c.label }))));
    const tbody = el("tbody");
    for (const r of rows) {
      tbody.append(el("tr", {}, ...columns.map((c) => {
        const v = c.cell ? c.cell(r) : c.fmt ? FORMATS[c.fmt](r[c.key]) : r[c.key];
        return el("td", { class: c.num ? "num" : null }, v === null || v === undefined ? "" : v);
      })));
    }
    if (rows.length === 0) tbody.append(el("tr", {}, el("td", { colspan: columns.length, class: "empty", text: "Nothing to show." })));
    const t = el("table", { "data-table": name }, caption ? el("caption", { text: caption }) : null, thead, tbody);
    container.replaceChildren(
      el("div", { class: "table-tools" }, el("button", { type: "button", class: "csv", "data-csv": name, text: "Download CSV" })),
      el("div", { class: "table-wrap" }, t));
  }

  function apiCsvLink(a, path, params) {
    a.href = path + "?" + query(Object.assign({}, params, { format: "csv", bom: "true" }));
  }

  // ---- KPI tiles ----------------------------------------------------------

  // kind: "money" (API string) or "ratio" (2-decimal number or null).
  // better: "lower", "higher" or "neutral" (no colour).
  function tile(def) {
    const { id, label, unit, kind, better, cur, prev, curReason, prevReason, note, prevLabel, partial, drill } = def;
    const num = el("span", { class: "num" });
    const valueBox = el("div", { class: "tile-value" }, num);
    let reason = null;
    if (cur === null || cur === undefined) {
      num.textContent = "n/a";
      reason = el("div", { class: "reason", text: curReason || "not defined" });
    } else {
      num.textContent = kind === "money" ? fmtMoney(cur) : fmt2(cur);
      valueBox.append(el("span", { class: "unit", text: unit }));
    }
    let change;
    if (cur === null || cur === undefined || prev === null || prev === undefined) {
      const prevText = prev === null || prev === undefined ? "n/a" + (prevReason ? " (" + prevReason + ")" : "") : kind === "money" ? fmtMoney(prev) : fmt2(prev);
      change = el("div", { class: "change none" }, el("span", { class: "prev", text: "vs " + prevLabel + ": " + prevText }));
    } else {
      let d, dText, prevText;
      if (kind === "money") {
        const a = money(cur), b = money(prev);
        const diff = a.v - b.v;
        d = diff > 0n ? 1 : diff < 0n ? -1 : 0;
        dText = fmtMoney(moneyStr(diff, a.digits), true);
        prevText = fmtMoney(prev);
      } else {
        const diff = hundredths(cur) - hundredths(prev);
        d = Math.sign(diff);
        dText = NF_2_SIGNED.format(diff / 100);
        prevText = fmt2(prev);
      }
      // A change of a percentage is in percentage points, not percent.
      const dUnit = unit === "%" ? "pp" : unit;
      let verdict = "neutral";
      if (d !== 0 && better !== "neutral") verdict = (d < 0) === (better === "lower") ? "better" : "worse";
      const arrow = d > 0 ? "▲" : d < 0 ? "▼" : "■";
      const words = (d > 0 ? "up " : d < 0 ? "down " : "unchanged ") + (verdict === "neutral" ? "" : "(" + verdict + ")");
      change = el("div", { class: "change " + verdict, "data-change": String(d) },
        el("span", { class: "arrow", "aria-label": words, title: words, text: arrow }),
        el("span", { class: "delta", title: dUnit === "pp" ? "percentage points" : null, text: " " + dText + " " + dUnit }),
        el("span", { class: "prev", text: "vs " + prevLabel + ": " + prevText }));
    }
    // The documents behind the figure (drill.js): a link, and a click anywhere on the tile.
    const more = drill ? kpidDrill.link(drill.list, "", drill.text) : null;
    const onclick = more ? (e) => { if (!e.target.closest("a")) more.click(); } : null;
    return el("div", { class: "tile" + (partial ? " partial" : "") + (more ? " drillable" : ""), "data-kpi": id, "data-partial": partial ? "1" : null,
      "data-value": cur === null || cur === undefined ? "" : String(cur), onclick },
      el("div", { class: "tile-label" }, label, partial ? el("span", { class: "tile-partial", text: partial }) : null), valueBox, reason, change,
      note ? el("div", { class: "tile-note", text: note }) : null, more);
  }

  const last = (pts) => pts[pts.length - 1];
  const before = (pts) => (pts.length > 1 ? pts[pts.length - 2] : null);

  function targetText(t) {
    const unit = t.unit === "business_days" ? "business day" : t.unit === "days" ? "day" : "hour";
    return t.amount + " " + unit + (t.amount === 1 ? "" : "s");
  }

  // ---- charts --------------------------------------------------------------

  function chart(id, config) {
    if (charts[id]) charts[id].destroy();
    config.options = Object.assign({
      locale: LOCALE, // axis numbers grouped as on the rest of the page
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { position: "bottom", labels: { boxWidth: 14, color: "#1f2933" } } },
    }, config.options || {});
    charts[id] = new Chart($(id), config);
  }

  // partial: the last point is a period still running: drawn hollow, and
  // the segment leading to it dashed, so it does not read as a real drop.
  function lineChart(id, labels, series, unit, goal, partial) {
    const n = labels.length;
    const pct = unit.startsWith("%");
    const isLast = (i) => partial && i === n - 1;
    const datasets = series.map((s, i) => {
      const colour = LINE_COLOURS[i % LINE_COLOURS.length];
      return {
        label: s.label,
        data: s.data,
        borderColor: colour,
        backgroundColor: colour,
        pointBackgroundColor: (c) => (isLast(c.dataIndex) ? "#ffffff" : colour),
        pointBorderWidth: (c) => (isLast(c.dataIndex) ? 2 : 1),
        pointRadius: (c) => (isLast(c.dataIndex) ? 4.5 : 3),
        segment: { borderDash: (c) => (isLast(c.p1DataIndex) ? [5, 4] : undefined) },
        borderWidth: 2,
        spanGaps: false,
      };
    });
    if (goal !== undefined) {
      datasets.push({ label: "Goal " + new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 2 }).format(goal) + " %", data: labels.map(() => goal), borderColor: "#3e4c59",
        borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, backgroundColor: "#3e4c59" });
    }
    chart(id, {
      type: "line",
      data: { labels, datasets },
      options: {
        scales: {
          // Percentages from 0 (to 100, or above when a value is): a scale
          // cut at 66 would make every move look dramatic. Days from 0 too.
          y: Object.assign(pct ? { min: 0, suggestedMax: 100 } : { beginAtZero: true },
            { title: { display: true, text: unit }, ticks: { color: "#3e4c59" }, grid: { color: "#e4e7eb" } }),
          x: { ticks: { color: "#3e4c59", maxRotation: 0, autoSkip: true }, grid: { display: false } },
        },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 14, color: "#1f2933" } },
          // The exact value, as the API serves it (two decimals).
          tooltip: { callbacks: { label: (c) => c.dataset.label + ": " + (c.raw === null ? "n/a" : fmt2(c.raw) + (pct ? " %" : " days")) } },
        },
      },
    });
  }

  function agingChart(groups, currency) {
    const labels = groups.map((g) => g.key);
    const nb = groups.length ? groups[0].buckets.length : 0;
    const datasets = [];
    for (let b = 0; b < nb; b++) {
      datasets.push({
        label: groups[0].buckets[b].label === "current" ? "current" : groups[0].buckets[b].label + " days",
        data: groups.map((g) => Number(g.buckets[b].amount)),
        exact: groups.map((g) => g.buckets[b].amount),
        backgroundColor: BUCKET_COLOURS[Math.min(b, BUCKET_COLOURS.length - 1)],
        borderWidth: 0,
      });
    }
    const canvasBox = $("chart-aging").parentElement;
    canvasBox.style.height = Math.max(220, 60 + 34 * labels.length) + "px";
    chart("chart-aging", {
      type: "bar",
      data: { labels, datasets },
      options: {
        indexAxis: "y",
        scales: {
          x: { stacked: true, title: { display: true, text: "open amount (" + currency + ")" }, ticks: { color: "#3e4c59" }, grid: { color: "#e4e7eb" } },
          y: { stacked: true, ticks: { color: "#1f2933" }, grid: { display: false } },
        },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 14, color: "#1f2933" } },
          tooltip: { callbacks: { label: (c) => c.dataset.label + ": " + fmtMoney(c.dataset.exact[c.dataIndex]) + " " + currency } },
        },
      },
    });
  }

  // ---- customer profile -------------------------------------------------------

  async function showProfile(st, token) {
    const box = $("profile");
    if (!st.customer) {
      box.hidden = true;
      return;
    }
    let p;
    try {
      // A customer's profile is one book: the base currency's when every book is shown.
      p = await api("/v1/customers/" + encodeURIComponent(st.customer), { as_of: st.as_of, currency: st.currency === "*" ? undefined : st.currency || undefined });
    } catch (e) {
      if (e instanceof AuthError) throw e;
      // A bad customer in a link spoils only the profile, not the page.
      if (token !== renderToken) return;
      $("h-profile").textContent = "Customer " + st.customer;
      $("profile-body").replaceChildren(el("p", { class: "error", role: "alert", text: "Could not load the customer: " + e.message }));
      box.hidden = false;
      return;
    }
    if (token !== renderToken) return;
    const cur = p.currency;
    // The name from its customer.updated, the id beside it.
    $("h-profile").textContent = "Customer " + (p.name ? p.name + " (" + p.customer + ")" : p.customer);
    const overdue = p.aging.buckets.filter((b) => b.label !== "current").reduce((s, b) => s + money(b.amount).v, 0n);
    const digits = money(p.aging.total.amount).digits;
    const fact = (k, v, cls) => el("div", { class: "fact " + (cls || "") }, el("dt", { text: k }), el("dd", { text: v }));
    const habits = p.payment_habits;
    const credit = p.credit;
    const facts = el("dl", { class: "facts", "data-profile": p.customer },
      ...(p.profile && p.profile.segment ? [fact("Segment", p.profile.segment)] : []),
      ...(p.profile && p.profile.country ? [fact("Country", p.profile.country)] : []),
      ...(p.profile && p.profile.email ? [fact("E-mail", p.profile.email)] : []),
      fact("Open amount", fmtMoney(p.aging.total.amount) + " " + cur),
      fact("Open invoices", fmtInt(p.aging.total.count)),
      fact("Overdue", fmtMoney(moneyStr(overdue, digits)) + " " + cur),
      fact("Unapplied cash", fmtMoney(p.unapplied_cash) + " " + cur),
      fact("Credit limit", credit.limit === null ? "none" : fmtMoney(credit.limit) + " " + credit.currency),
      fact("Credit used", fmtMoney(credit.used) + " " + credit.currency),
      fact("Credit available", credit.available === null ? "n/a (no limit)" : fmtMoney(credit.available) + " " + credit.currency),
      fact("Credit hold", credit.on_hold ? "ON HOLD since " + credit.hold_since + ": " + credit.hold_reason : "no", credit.on_hold ? "alert" : ""),
      fact("Days to pay", habits.days_to_pay === null ? "n/a (" + (habits.reason || "no payments") + ")" : fmt2(habits.days_to_pay) + " days"),
      fact("Days beyond terms", habits.days_beyond_terms === null ? "n/a (" + (habits.reason || "no payments") + ")" : fmt2(habits.days_beyond_terms) + " days"));
    const agingBox = el("div"), itemsBox = el("div"), dispBox = el("div");
    const csvLink = el("a", { class: "csv", download: "open-items-" + p.customer + ".csv", text: "API CSV (open items)" });
    apiCsvLink(csvLink, "/v1/customers/" + encodeURIComponent(p.customer), { as_of: st.as_of, currency: st.currency === "*" ? undefined : st.currency || undefined });
    $("profile-body").replaceChildren(
      el("p", { class: "hint", text: "As of " + p.as_of + ", amounts in " + cur + "." }), facts,
      el("h3", { text: "Aging" }), agingBox,
      el("div", { class: "card-head" }, el("h3", { text: "Open items" }), csvLink), itemsBox,
      el("h3", { text: "Disputes" }), dispBox);
    table(agingBox, "profile-aging", [
      { key: "label", label: "Days past due" },
      { key: "amount", label: "Amount (" + cur + ")", num: true, fmt: "money" },
      { key: "count", label: "Invoices", num: true, fmt: "int" },
    ], p.aging.buckets.concat([{ label: "total", amount: p.aging.total.amount, count: p.aging.total.count }]), "customer-aging-" + p.customer + ".csv");
    const items = p.open_items.slice().sort((a, b) => b.days_past_due - a.days_past_due);
    table(itemsBox, "profile-items", [
      { key: "invoice", label: "Invoice" },
      { key: "business_unit", label: "Business unit" },
      { key: "issue_date", label: "Issued" },
      { key: "due_date", label: "Due" },
      { key: "amount", label: "Amount", num: true, fmt: "money" },
      { key: "open", label: "Open", num: true, fmt: "money" },
      { key: "currency", label: "Currency" },
      { key: "days_past_due", label: "Days past due", num: true, fmt: "int" },
    ], items, "open-items-" + p.customer + ".csv");
    table(dispBox, "profile-disputes", [
      { key: "dispute", label: "Dispute" },
      { key: "invoice", label: "Invoice" },
      { key: "status", label: "Status" },
      { key: "opened", label: "Opened" },
      { key: "resolved", label: "Resolved" },
      { key: "amount", label: "Amount", num: true, fmt: "money" },
    ], p.disputes, "disputes-" + p.customer + ".csv");
    box.hidden = false;
  }

  // ---- the page -------------------------------------------------------------

  // The day the figures are taken at ({day, partial}). An as-of day in the
  // URL is taken as given; its period is partial unless the day is the
  // period's last. Without one: the end of the last complete period. A
  // period is complete when the latest day with events is its last day, or
  // when the calendar is past it (meta.today is later: a quiet last day does
  // not hold a month open). With partial=1: the latest day with events.
  let shown = { as_of: "", partial: false }; // what the filters show, to see what the user changed
  function effectiveDay(st) {
    const iv = st.interval;
    if (st.as_of) {
      const d = parseDay(st.as_of);
      return { day: d, partial: fmtDay(unitEnd(d, iv)) !== st.as_of };
    }
    const latest = parseDay(meta.latest_event_day || meta.today);
    const end = unitEnd(latest, iv);
    if (st.partial) return { day: latest, partial: latest < end };
    if (latest >= end || parseDay(meta.today) > end) return { day: end, partial: false };
    return { day: addDays(unitStart(latest, iv, 0), -1), partial: false };
  }

  function fillFilters(st, eff) {
    const sel = $("f-bu");
    const scoped = keyUnits();
    const units = scoped.length ? scoped.slice() : meta.business_units.slice();
    if (st.business_unit && !units.includes(st.business_unit)) units.push(st.business_unit);
    // A key limited to units sees only those: no "all" to choose.
    sel.replaceChildren(...(scoped.length ? [] : [el("option", { value: "", text: "All business units" })]),
      ...units.map((u) => el("option", { value: u, text: u })));
    sel.value = st.business_unit;
    const cs = $("f-currency");
    const curs = meta.currency === "*" || meta.currencies.includes(meta.currency) ? meta.currencies : meta.currencies.concat([meta.currency]);
    // With exchange rates, every book converted into the base currency is one more choice.
    const all = (meta.rates || []).length ? [el("option", { value: "*", text: "All books, in " + meta.base_currency })] : [];
    cs.replaceChildren(...all, ...curs.map((c) => el("option", { value: c, text: c + (c === meta.base_currency ? " (base)" : "") })));
    cs.value = meta.currency;
    $("f-interval").value = st.interval;
    $("f-periods").value = String(st.periods);
    $("f-asof").value = fmtDay(eff.day);
    $("f-partial").checked = eff.partial;
    $("f-partial-text").textContent = TO_DATE[st.interval].replace(/^./, (c) => c.toUpperCase());
    shown = { as_of: fmtDay(eff.day), partial: eff.partial };
  }

  async function render() {
    const token = ++renderToken;
    document.body.dataset.state = "loading";
    $("error").hidden = true;
    try {
      const st = readState();
      setLocale(st.locale);
      // A key limited to units names one of them (a key with several may
      // not ask for all; with one, the unit is said rather than implied).
      if (keyUnits().length && !st.business_unit) st.business_unit = keyUnits()[0];
      // With exchange rates the page opens on every book, converted into
      // the base currency, unless the URL names a book; without, on the
      // base book, saying which books it leaves out (docs/dashboard.md).
      if (!metaByCurrency[""]) metaByCurrency[""] = await api("/v1/meta", {});
      // A default view is not pinned in the URL: "" there is the default
      // book (every book with rates), a code or "*" a choice.
      const rates = hasRates();
      const byDefault = !st.currency;
      const view = byDefault && rates ? "*" : st.currency;
      if (!metaByCurrency[view]) metaByCurrency[view] = await api("/v1/meta", { currency: view || undefined });
      meta = metaByCurrency[view];
      if (st.currency === (rates ? "*" : meta.base_currency)) st.currency = "";
      const left = byDefault && !rates ? meta.currencies.filter((c) => c !== meta.base_currency) : [];
      $("books-note").hidden = left.length === 0;
      $("books-note").textContent = left.length ? "Not included: " + left.join(", ") + " \u2014 no exchange rates; choose a currency to see each book." : "";
      const eff = effectiveDay(st);
      writeState(st, false);
      st.currency = view === meta.base_currency ? "" : view; // what the figures below ask for
      fillFilters(st, eff);

      const asOf = eff.day;
      const asOfStr = fmtDay(asOf);
      const partial = eff.partial ? TO_DATE[st.interval] : "";
      const from = fmtDay(unitStart(asOf, st.interval, st.periods - 1));
      const curStart = unitStart(asOf, st.interval, 0);
      const prevEnd = fmtDay(addDays(curStart, -1));
      const bu = st.business_unit || undefined;
      const currency = st.currency || undefined;
      const series = { from, to: asOfStr, interval: st.interval, business_unit: bu, currency };
      // SLA and FTQ count the documents of every currency: no currency= (docs/kpi.md).
      const counts = { from, to: asOfStr, interval: st.interval, business_unit: bu };
      const cur = meta.currency === "*" ? meta.base_currency : meta.currency;

      const [aging, agingPrev, agingCust, dso, add, cei, ftqInv, ftqBill, ...slas] = await allInOrder([
        api("/v1/aging", { as_of: asOfStr, group_by: "business_unit", business_unit: bu, currency }),
        api("/v1/aging", { as_of: prevEnd, business_unit: bu, currency }),
        // The top ten, sorted by the server: not the whole book.
        api("/v1/aging", { as_of: asOfStr, group_by: "customer", sort: "-overdue", limit: 10, business_unit: bu, currency }),
        api("/v1/dso", Object.assign({ method: "standard" }, series)),
        api("/v1/dso", Object.assign({ method: "add" }, series)),
        api("/v1/cei", series),
        api("/v1/ftq", Object.assign({ kind: "invoice" }, counts)),
        api("/v1/ftq", Object.assign({ kind: "bill" }, counts)),
        ...meta.slas.map((s) => api("/v1/sla", Object.assign({ sla: s.name }, counts))),
      ]);
      if (token !== renderToken) return;

      const lastPt = last(dso.points), prevPt = before(dso.points);
      const prevLabel = prevPt ? periodLabel(prevPt.start, st.interval) : "previous period";
      const word = UNIT_WORD[st.interval];
      const dataNote = !st.as_of && !eff.partial && meta.latest_event_day && meta.latest_event_day > asOfStr
        ? " (end of the last complete " + word + "; events up to " + meta.latest_event_day + ")" : "";
      $("context").textContent = "As of " + asOfStr + dataNote + " · " + (st.business_unit || "all business units") + " · amounts in " + cur + " · time zone " + meta.time_zone;
      $("period-note").textContent = "Period figures: " + periodLabel(lastPt.start, st.interval) + (partial ? ", " + partial : "") +
        " (" + lastPt.start + " to " + lastPt.end + ") compared with " + (partial ? "the whole of " : "") + prevLabel + (prevPt ? " (" + prevPt.start + " to " + prevPt.end + ")" : "") +
        ". Balances: as of " + asOfStr + " compared with " + prevEnd + "." +
        (partial ? " The " + word + " is not over: its figures are partial." : "");

      const ratioTile = (id, label, unit, better, s, note, drill) => {
        const a = last(s.points), b = before(s.points);
        return tile({ id, label, unit, kind: "ratio", better, cur: a.value, curReason: a.reason,
          prev: b ? b.value : null, prevReason: b ? b.reason : "no earlier period", prevLabel, note, partial, drill });
      };
      // Every figure with a worklist links to it; in the converted view the
      // overdue and unapplied lists are every book's, converted too.
      const tiles = [
        tile({ id: "ar", label: "Accounts receivable", unit: cur, kind: "money", better: "neutral", cur: aging.total.amount,
          prev: agingPrev.total.amount, prevLabel: prevEnd, note: fmtInt(aging.total.count) + " open invoices",
          drill: { list: "overdue" } }),
        ratioTile("dso", "DSO (standard)", "days", "lower", dso, "days sales outstanding"),
        ratioTile("add", "ADD", "days", "lower", add, "average days delinquent"),
        ratioTile("cei", "CEI", "%", "higher", cei, "collection effectiveness index"),
        ratioTile("ftq-invoice", "FTQ invoices", "%", "higher", ftqInv, "right first time", { list: "quality:invoice" }),
        ratioTile("ftq-bill", "FTQ bills", "%", "higher", ftqBill, "processed clean", { list: "quality:bill" }),
        tile({ id: "unapplied", label: "Unapplied cash", unit: cur, kind: "money", better: "lower", cur: aging.unapplied_cash,
          prev: agingPrev.unapplied_cash, prevLabel: prevEnd, note: "received, not yet applied",
          drill: { list: "unapplied" } }),
      ];
      $("tiles").replaceChildren(...tiles);
      $("sla-tiles").replaceChildren(...meta.slas.map((s, i) =>
        ratioTile("sla-" + s.name, "SLA " + s.name, "%", "higher", slas[i], "within " + targetText(s.target), { list: "sla:" + s.name })));
      fitTiles();

      // The KPI table behind the tiles, for CSV.
      const kpiRows = [];
      const addRow = (kpi, unit, a, b, aReason, bReason, curP, prevP, status) => kpiRows.push({ kpi, unit, current: a, reason: aReason || "", period: curP, period_status: status || "", previous: b, previous_reason: bReason || "", previous_period: prevP });
      addRow("accounts_receivable", cur, aging.total.amount, agingPrev.total.amount, "", "", asOfStr, prevEnd);
      const sr = (name, unit, s) => {
        const a = last(s.points), b = before(s.points);
        addRow(name, unit, a.value === null ? "" : fixed2(a.value), b && b.value !== null ? fixed2(b.value) : "", a.reason, b ? b.reason : "no earlier period",
          a.start + ".." + a.end, b ? b.start + ".." + b.end : "", partial || "complete");
      };
      sr("dso_standard", "days", dso);
      sr("add", "days", add);
      sr("cei", "%", cei);
      sr("ftq_invoice", "%", ftqInv);
      sr("ftq_bill", "%", ftqBill);
      meta.slas.forEach((s, i) => sr("sla_" + s.name, "%", slas[i]));
      addRow("unapplied_cash", cur, aging.unapplied_cash, agingPrev.unapplied_cash, "", "", asOfStr, prevEnd);
      csvTables.kpis = { filename: "kpis-" + asOfStr + ".csv", rows: kpiRows, columns: [
        { key: "kpi", label: "kpi" }, { key: "unit", label: "unit" }, { key: "period", label: "period" },
        { key: "current", label: "value" }, { key: "reason", label: "reason" }, { key: "period_status", label: "period_status" },
        { key: "previous_period", label: "previous_period" },
        { key: "previous", label: "previous_value" }, { key: "previous_reason", label: "previous_reason" }] };

      // Aging by business unit.
      const groups = aging.groups || [];
      agingChart(groups, cur);
      apiCsvLink($("csv-aging"), "/v1/aging", { as_of: asOfStr, group_by: "business_unit", business_unit: bu, currency });
      const bucketCols = (aging.buckets || []).map((b, i) => ({ key: "b" + i, label: b.label, num: true, fmt: "money" }));
      const unitCell = (r) => kpidDrill.link("overdue", r.key, r.key);
      table($("table-aging"), "aging", [{ key: "key", label: "Business unit", cell: unitCell }].concat(bucketCols, [{ key: "total", label: "Total (" + cur + ")", num: true, fmt: "money" }, { key: "count", label: "Invoices", num: true, fmt: "int" }]),
        groups.map((g) => Object.assign({ key: g.key, total: g.total.amount, count: g.total.count }, ...g.buckets.map((b, i) => ({ ["b" + i]: b.amount })))),
        "aging-by-business-unit-" + asOfStr + ".csv");

      // Trends.
      const labels = dso.points.map((p, i) => periodLabel(p.start, st.interval) + (partial && i === dso.points.length - 1 ? " (to date)" : ""));
      const vals = (s) => s.points.map((p) => p.value);
      const trendRows = (s) => s.points.map((p, i) => ({ period: labels[i], start: p.start, end: p.end }));
      lineChart("chart-dso", labels, [{ label: "DSO (standard)", data: vals(dso) }, { label: "ADD", data: vals(add) }], "days", undefined, eff.partial);
      apiCsvLink($("csv-dso"), "/v1/dso", Object.assign({ method: "standard" }, series));
      const show = (v, r) => (v === null ? "n/a (" + r + ")" : fixed2(v));
      table($("table-dso"), "dso", [{ key: "period", label: "Period" }, { key: "start", label: "From" }, { key: "end", label: "To" },
        { key: "dso", label: "DSO (days)", num: true, fmt: "num2" }, { key: "add", label: "ADD (days)", num: true, fmt: "num2" },
        { key: "ar", label: "AR", num: true, fmt: "money" }, { key: "sales", label: "Sales", num: true, fmt: "money" }],
        trendRows(dso).map((r, i) => Object.assign(r, { dso: show(dso.points[i].value, dso.points[i].reason), add: show(add.points[i].value, add.points[i].reason), ar: dso.points[i].ar, sales: dso.points[i].sales })),
        "dso-" + asOfStr + ".csv");

      lineChart("chart-cei", labels, [{ label: "CEI", data: vals(cei) }], "%", undefined, eff.partial);
      apiCsvLink($("csv-cei"), "/v1/cei", series);
      table($("table-cei"), "cei", [{ key: "period", label: "Period" }, { key: "start", label: "From" }, { key: "end", label: "To" }, { key: "cei", label: "CEI (%)", num: true, fmt: "num2" }],
        trendRows(cei).map((r, i) => Object.assign(r, { cei: show(cei.points[i].value, cei.points[i].reason) })), "cei-" + asOfStr + ".csv");

      lineChart("chart-sla", labels, meta.slas.map((s, i) => ({ label: s.name + " (" + targetText(s.target) + ")", data: vals(slas[i]) })), "% within target", st.sla_goal ?? meta.goals.sla, eff.partial);
      $("csv-sla").replaceChildren(...meta.slas.map((s) => {
        const a = el("a", { class: "csv", download: "sla-" + s.name + ".csv", text: s.name });
        apiCsvLink(a, "/v1/sla", Object.assign({ sla: s.name }, counts));
        return a;
      }));
      table($("table-sla"), "sla", [{ key: "period", label: "Period" }].concat(meta.slas.map((s, i) => ({ key: "s" + i, label: s.name + " (%)", num: true, fmt: "num2" }))),
        trendRows(dso).map((r, k) => Object.assign({ period: r.period }, ...meta.slas.map((s, i) => ({ ["s" + i]: show(slas[i].points[k].value, slas[i].points[k].reason) })))),
        "sla-" + asOfStr + ".csv");

      lineChart("chart-ftq", labels, [{ label: "Invoices", data: vals(ftqInv) }, { label: "Bills", data: vals(ftqBill) }], "% right first time", st.ftq_goal ?? meta.goals.ftq, eff.partial);
      $("csv-ftq").replaceChildren(...["invoice", "bill"].map((k) => {
        const a = el("a", { class: "csv", download: "ftq-" + k + ".csv", text: k + "s" });
        apiCsvLink(a, "/v1/ftq", Object.assign({ kind: k }, counts));
        return a;
      }));
      table($("table-ftq"), "ftq", [{ key: "period", label: "Period" }, { key: "inv", label: "Invoices (%)", num: true, fmt: "num2" }, { key: "bill", label: "Bills (%)", num: true, fmt: "num2" }],
        trendRows(dso).map((r, k) => ({ period: r.period, inv: show(ftqInv.points[k].value, ftqInv.points[k].reason), bill: show(ftqBill.points[k].value, ftqBill.points[k].reason) })),
        "ftq-" + asOfStr + ".csv");

      // Top overdue customers: overdue = total - current, exact.
      const cust = (agingCust.groups || []).map((g) => {
        const d = money(g.total.amount).digits;
        const curB = g.buckets.find((b) => b.label === "current");
        const od = money(g.total.amount).v - (curB ? money(curB.amount).v : 0n);
        const n = g.buckets.length;
        return { customer: g.key, name: g.name || g.key, overdue_v: od, overdue: moneyStr(od, d), open: g.total.amount, invoices: g.total.count,
          oldest: g.buckets[n - 1].amount, oldest_label: g.buckets[n - 1].label };
      }).filter((r) => r.overdue_v > 0n);
      const oldestLabel = cust.length ? cust[0].oldest_label : "oldest";
      table($("table-overdue"), "overdue", [
        { key: "name", label: "Customer", cell: (r) => el("button", { type: "button", class: "link", "data-customer": r.customer, text: r.name,
          onclick: () => openProfile(r.customer) }) },
        { key: "customer", label: "Id" },
        { key: "overdue", label: "Overdue (" + cur + ")", num: true, fmt: "money" },
        { key: "oldest", label: oldestLabel + " days (" + cur + ")", num: true, fmt: "money" },
        { key: "open", label: "Open (" + cur + ")", num: true, fmt: "money" },
        { key: "invoices", label: "Open invoices", num: true, fmt: "int" },
      ], cust, "top-overdue-" + asOfStr + ".csv");
      apiCsvLink($("csv-customers"), "/v1/aging", { as_of: asOfStr, group_by: "customer", business_unit: bu, currency });
      $("drill-overdue").replaceChildren(kpidDrill.link("overdue", "", "Every overdue invoice \u2192"));

      drillCtx = { as_of: asOfStr, from: lastPt.start, business_unit: bu, currency, cur };
      await kpidDrill.show(st, drillCtx, () => token === renderToken);
      if (token !== renderToken) return;

      await renderPayables(asOfStr, bu, currency, cur, token);
      if (token !== renderToken) return;
      await showProfile(Object.assign({}, st, { as_of: asOfStr }), token);
      if (token !== renderToken) return;
      document.body.dataset.state = "ready";
      document.body.dataset.render = String(Number(document.body.dataset.render) + 1);
    } catch (e) {
      if (token !== renderToken) return;
      if (e instanceof AuthError) {
        showSignIn(e.message);
        return;
      }
      $("error").textContent = "Could not load the figures: " + e.message;
      $("error").hidden = false;
      document.body.dataset.state = "error";
      document.body.dataset.render = String(Number(document.body.dataset.render) + 1);
    }
  }

  // Payables: what we owe by business unit and the bills due in the next
  // weeks (docs/kpi.md, "Payables"), from the same day and filters. The API
  // answers one book at a time, so "All books" shows a note instead.
  const AP_WEEKS = 8;
  async function renderPayables(asOfStr, bu, currency, cur, token) {
    if (meta.currency === "*") {
      $("payables-note").textContent = "Payables are shown one book at a time: choose a currency.";
      $("table-ap-aging").replaceChildren();
      $("table-ap-due").replaceChildren();
      return;
    }
    const [ap, due] = await allInOrder([
      api("/v1/payables/aging", { as_of: asOfStr, group_by: "business_unit", business_unit: bu, currency }),
      api("/v1/payables/cash-requirements", { as_of: asOfStr, weeks: AP_WEEKS, business_unit: bu, currency }),
    ]);
    if (token !== renderToken) return;
    $("payables-note").textContent = "Open bills as of " + asOfStr + ": " + fmtMoney(ap.total.amount) + " " + cur +
      " in " + fmtInt(ap.total.count) + " bills; " + fmtMoney(due.overdue.amount) + " " + cur + " already past due.";
    const bucketCols = ap.buckets.map((b, i) => ({ key: "b" + i, label: b.label, num: true, fmt: "money" }));
    table($("table-ap-aging"), "ap-aging", [{ key: "key", label: "Business unit" }].concat(bucketCols,
      [{ key: "total", label: "Total (" + cur + ")", num: true, fmt: "money" }, { key: "count", label: "Bills", num: true, fmt: "int" }]),
      (ap.groups || []).map((g) => Object.assign({ key: g.key, total: g.total.amount, count: g.total.count }, ...g.buckets.map((b, i) => ({ ["b" + i]: b.amount })))),
      "payables-aging-" + asOfStr + ".csv");
    apiCsvLink($("csv-ap-aging"), "/v1/payables/aging", { as_of: asOfStr, group_by: "business_unit", business_unit: bu, currency });
    const line = (what, l) => ({ what, from: l.from || "", to: l.to || "", amount: l.amount, count: l.count });
    const rows = [line("Overdue", due.overdue)].concat(due.due.map((w, i) => line("Week " + (i + 1), w)), [line("Later", due.later), line("Total", Object.assign({ from: "", to: "" }, due.total))]);
    table($("table-ap-due"), "ap-due", [{ key: "what", label: "Due" }, { key: "from", label: "From" }, { key: "to", label: "To" },
      { key: "amount", label: "Amount (" + cur + ")", num: true, fmt: "money" }, { key: "count", label: "Bills", num: true, fmt: "int" }],
      rows, "cash-requirements-" + asOfStr + ".csv");
    apiCsvLink($("csv-ap-due"), "/v1/payables/cash-requirements", { as_of: asOfStr, weeks: AP_WEEKS, business_unit: bu, currency });
  }

  // A worklist alone (drill.js): only the list is fetched, the rest stays.
  let drillCtx = null; // the parameters of the figures shown
  async function openDrill(drill, unit) {
    const st = readState();
    st.drill = drill;
    st.drill_unit = unit;
    writeState(st, true);
    if (!drillCtx) return render();
    const token = ++renderToken;
    document.body.dataset.state = "loading";
    try {
      await kpidDrill.show(st, drillCtx, () => token === renderToken);
    } catch (e) {
      if (!(e instanceof AuthError)) throw e;
      showSignIn(e.message);
      return;
    } finally {
      if (token === renderToken) {
        finish("ready");
        $("drill").scrollIntoView({ block: "start" });
        $("h-drill").focus();
      }
    }
  }

  // The drill-down alone: only the profile is fetched, the rest stays.
  async function openProfile(customer) {
    const st = readState();
    st.customer = customer;
    writeState(st, true);
    const token = ++renderToken;
    document.body.dataset.state = "loading";
    st.as_of = fmtDay(effectiveDay(st).day);
    try {
      await showProfile(st, token);
    } catch (e) {
      if (!(e instanceof AuthError)) throw e;
      showSignIn(e.message);
      return;
    } finally {
      if (token === renderToken) {
        document.body.dataset.state = "ready";
        document.body.dataset.render = String(Number(document.body.dataset.render) + 1);
        $("profile").scrollIntoView({ block: "start" });
      }
    }
  }

  // ---- signing in ------------------------------------------------------------

  // The business units of the signed-in key; [] for every unit (or no keys).
  function keyUnits() {
    return who && who.key ? who.key.business_units : [];
  }

  function finish(state) {
    document.body.dataset.state = state;
    document.body.dataset.render = String(Number(document.body.dataset.render) + 1);
  }

  // Who is signed in, and what the key may see: "emea-read: emea only".
  function showWho() {
    const box = $("who");
    if (!who || !who.keys_required || !who.key) {
      box.hidden = true;
      return;
    }
    const units = who.key.business_units;
    const scope = units.length ? units.join(", ") + " only" : "all business units";
    const until = who.expires ? " · until " + new Intl.DateTimeFormat(LOCALE, { hour: "2-digit", minute: "2-digit" }).format(new Date(who.expires)) : "";
    $("who-text").replaceChildren("Signed in as ", el("strong", { text: who.key.name }), ": " + scope + until);
    $("signout").hidden = who.via !== "session";
    box.hidden = false;
  }

  // The form instead of the figures. `why`: the API's 401 message.
  function showSignIn(why) {
    ++renderToken; // answers still on their way are not shown
    who = null;
    meta = null;
    for (const k of Object.keys(metaByCurrency)) delete metaByCurrency[k];
    for (const id of Object.keys(charts)) {
      charts[id].destroy();
      delete charts[id];
    }
    $("tiles").replaceChildren();
    $("sla-tiles").replaceChildren();
    showWho();
    $("error").hidden = true;
    document.querySelector("main").hidden = true;
    $("filters").hidden = true;
    $("context").textContent = "Sign in to see the figures.";
    const ended = why !== "signed out" && /expired|signed out|no longer valid/.test(why || "");
    $("signin-error").textContent = why === "signed out" ? "Signed out." : ended ? "Your session has ended: sign in again." : "";
    $("signin").hidden = false;
    $("signin-key").focus();
    finish("signin");
  }

  async function signIn(e) {
    e.preventDefault();
    const input = $("signin-key");
    const key = input.value.trim();
    if (!key) return;
    document.body.dataset.state = "loading";
    let r, body = null;
    try {
      r = await fetch("/v1/session", { method: "POST", headers: { Authorization: "Bearer " + key, Accept: "application/json" }, credentials: "same-origin" });
      body = await r.json();
    } catch (err) {
      body = null;
    }
    if (!r || r.status !== 201 || !body) {
      const m = body && body.error ? body.error.message : r ? "HTTP " + r.status : "no answer";
      $("signin-error").textContent = "Sign-in refused: " + m;
      finish("signin");
      return;
    }
    input.value = ""; // the key is not kept: the session cookie stands for it
    who = body;
    $("signin").hidden = true;
    document.querySelector("main").hidden = false;
    $("filters").hidden = false;
    showWho();
    render();
  }

  async function signOut() {
    // A unit the scope chose is not the next user's choice.
    if (keyUnits().length) {
      const st = readState();
      st.business_unit = "";
      st.customer = "";
      writeState(st, false);
    }
    try {
      await fetch("/v1/session", { method: "DELETE", credentials: "same-origin" });
    } finally {
      showSignIn("signed out");
    }
  }

  // Ask who we are first: with keys and no session, the form.
  async function start() {
    try {
      who = await api("/v1/session");
    } catch (e) {
      if (e instanceof AuthError) {
        showSignIn(e.message);
        return;
      }
      who = null; // a server without sessions: the page works as before
    }
    showWho();
    render();
  }

  // A tile's figure stays on one line: a long amount in a narrow tile is
  // drawn smaller rather than broken ("2,403,937.80 / USD").
  function fitTiles() {
    for (const box of document.querySelectorAll(".tile-value")) {
      const num = box.querySelector(".num");
      num.style.fontSize = "";
      let rem = 1.35;
      while (box.scrollWidth > box.clientWidth + 1 && rem > 0.8) {
        rem -= 0.05;
        num.style.fontSize = rem.toFixed(2) + "rem";
      }
    }
  }

  // Has the store exchange rates (GET /v1/meta's rates)? Then the default
  // view is every book converted, and the base book is named in the URL.
  function hasRates() {
    const m = metaByCurrency[""];
    return !!m && (m.rates || []).length > 0;
  }

  function onFilter() {
    const st = readState();
    const cur = $("f-currency").value;
    if (cur && meta && cur !== (st.currency || (hasRates() ? "*" : meta.base_currency))) {
      st.currency = cur === (hasRates() ? "*" : meta.base_currency) ? "" : cur;
      // Units and customers differ by currency: start again from all units.
      st.business_unit = "";
      st.customer = "";
    } else {
      st.business_unit = $("f-bu").value;
    }
    st.interval = $("f-interval").value;
    st.periods = Number($("f-periods").value);
    // Only what the user changed: a default day stays a default (so a new
    // interval gets its own last complete period).
    const day = $("f-asof").value;
    if (day && day !== shown.as_of) {
      st.as_of = day;
      st.partial = false;
    } else if ($("f-partial").checked !== shown.partial) {
      st.partial = $("f-partial").checked;
      st.as_of = "";
    }
    writeState(st, true);
    render();
  }

  document.addEventListener("DOMContentLoaded", () => {
    kpidDrill.init({ api, el, table, fmtMoney, fmtInt, apiCsvLink, AuthError, open: openDrill });
    $("drill-close").addEventListener("click", () => {
      const st = readState();
      st.drill = "";
      writeState(st, true);
      $("drill").hidden = true;
    });
    $("filters").addEventListener("change", onFilter);
    $("filters").addEventListener("submit", (e) => e.preventDefault());
    // Back to the default view: the last complete period.
    $("f-latest").addEventListener("click", () => {
      const st = readState();
      st.as_of = "";
      st.partial = false;
      writeState(st, true);
      render();
    });
    $("profile-close").addEventListener("click", () => {
      const st = readState();
      st.customer = "";
      writeState(st, true);
      $("profile").hidden = true;
    });
    document.addEventListener("click", (e) => {
      const b = e.target.closest("button[data-csv]");
      if (b) downloadCsv(b.dataset.csv);
    });
    window.addEventListener("popstate", render);
    window.addEventListener("resize", fitTiles);
    $("signin-form").addEventListener("submit", signIn);
    $("signout").addEventListener("click", signOut);
    start();
  });
})();
