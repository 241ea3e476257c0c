/*
 * kpid dashboard, the drill-down: from a figure to the documents behind it
 * (docs/dashboard.md, "Drill-down"). Each tile and table that has a
 * worklist (docs/worklists.md) carries a real link, "Overdue invoices",
 * "Unapplied payments", "Breaches", "Not right first time"; following it
 * opens a panel under the key figures with the worklist of the same
 * parameters as the figure (unit, currency, as-of day, and for SLA and FTQ
 * the tile's period), its totals, the first page of rows and the API's CSV.
 *
 * The panel is in the URL (`drill=overdue`, `unapplied`, `sla:NAME`,
 * `quality:invoice`, `quality:bill`; `drill_unit=` for a unit's row of the
 * aging table), so a copied link opens it, Back closes it, and a link works
 * with the keyboard and in a new tab. Every number is the worklist
 * endpoint's, grouped for reading as the rest of the page (app.js helpers);
 * the page sums nothing: a list's total is the API's `total`, which the
 * API tests against the KPI it explains.
 *
 * app.js calls kpidDrill.init(helpers) once, kpidDrill.link(spec) for each
 * figure, and kpidDrill.show(state, ctx) at the end of each render.
 */
"use strict";

window.kpidDrill = (function () {
  const $ = (id) => document.getElementById(id);
  const PAGE = 100; // rows shown; the CSV link asks for up to 10,000
  let h = null; // app.js helpers: api, el, table, fmtMoney, fmtInt, apiCsvLink, AuthError, open

  // "overdue", "unapplied", "sla:NAME", "quality:invoice" -> {list, arg}.
  function parse(drill) {
    const i = drill.indexOf(":");
    const list = i < 0 ? drill : drill.slice(0, i);
    const arg = i < 0 ? "" : drill.slice(i + 1);
    const ok = (list === "overdue" || list === "unapplied") && !arg ||
      list === "sla" && arg || list === "quality" && (arg === "invoice" || arg === "bill");
    return ok ? { list, arg } : null;
  }

  const TEXT = {
    overdue: "Overdue invoices",
    unapplied: "Unapplied payments",
    sla: "Breaches",
    quality: "Not right first time",
  };

  // The URL of the page with this drill-down open.
  function href(drill, unit) {
    const q = new URLSearchParams(location.search);
    q.set("drill", drill);
    if (unit) q.set("drill_unit", unit);
    else q.delete("drill_unit");
    return location.pathname + "?" + q.toString();
  }

  // A link that opens the drill-down (a plain link without the script's
  // click: it loads the same view). text: the link's words.
  function link(drill, unit, text) {
    const p = parse(drill);
    return h.el("a", {
      class: "drill-link", href: href(drill, unit), "data-drill": drill, "data-drill-unit": unit || null,
      text: text || TEXT[p.list] + " \u2192",
      onclick: (e) => {
        if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return; // a new tab
        e.preventDefault();
        h.open(drill, unit || "");
      },
    });
  }

  // The request of a drill-down: endpoint and parameters, from the figure's.
  function request(p, st, ctx) {
    const unit = st.drill_unit || ctx.business_unit;
    if (p.list === "overdue" || p.list === "unapplied")
      return { path: "/v1/worklists/" + p.list, unit,
        params: { as_of: ctx.as_of, business_unit: unit, currency: ctx.currency, sort: "-days" } };
    if (p.list === "sla")
      return { path: "/v1/worklists/sla", unit,
        params: { sla: p.arg, from: ctx.from, to: ctx.as_of, business_unit: unit, sort: "-days" } };
    return { path: "/v1/worklists/quality", unit,
      params: { kind: p.arg, from: ctx.from, to: ctx.as_of, business_unit: unit, sort: "-days" } };
  }

  const money = (v) => h.fmtMoney(v);
  const bool = (v) => (v === null || v === undefined ? "n/a" : v ? "yes" : "no");

  // Columns, and the sentence of totals, of each list (w: the answer).
  function layout(p, w, cur) {
    const { fmtInt } = h;
    // Every book converted (w.books): each row in its own currency, and its
    // amount in the view's (docs/worklists.md, "Every book at once").
    const fx = !!w.books;
    const conv = fx ? ", every invoice converted at its book's rate of " + w.as_of : "";
    if (p.list === "overdue")
      return {
        what: fmtInt(w.total.count) + " overdue invoices, " + money(w.total.amount) + " " + cur +
          (fx ? " in total as of " + w.as_of + conv : " in total: the aging's buckets past due as of " + w.as_of) + ".",
        cols: [
          { key: "invoice", label: "Invoice" }, { key: "customer", label: "Customer" },
          { key: "customer_name", label: "Name", cell: (r) => r.customer_name || "" },
          { key: "business_unit", label: "Business unit" }, { key: "due_date", label: "Due" },
          { key: "days_past_due", label: "Days past due", num: true, fmt: "int" },
          { key: "bucket", label: "Bucket" },
        ].concat(fx ? [
          { key: "currency", label: "Currency" },
          { key: "open", label: "Open", num: true, fmt: "money" },
          { key: "open_reporting", label: "Open (" + cur + ")", num: true, fmt: "money" },
        ] : [{ key: "open", label: "Open (" + cur + ")", num: true, fmt: "money" }], [
          { key: "disputed", label: "Disputed", cell: (r) => bool(r.disputed) },
        ]),
      };
    if (p.list === "unapplied")
      return {
        what: fmtInt(w.total.count) + " payments with cash unapplied, " + money(w.total.amount) + " " + cur +
          (fx ? " in total as of " + w.as_of + conv.replace("invoice", "payment") : " in total: the unapplied cash as of " + w.as_of) + ".",
        cols: [
          { key: "payment", label: "Payment" }, { key: "customer", label: "Customer" },
          { key: "customer_name", label: "Name", cell: (r) => r.customer_name || "" },
          { key: "business_unit", label: "Business unit" }, { key: "received_date", label: "Received" },
          { key: "age_days", label: "Age (days)", num: true, fmt: "int" },
        ].concat(fx ? [
          { key: "currency", label: "Currency" },
          { key: "amount", label: "Received", num: true, fmt: "money" },
          { key: "unapplied", label: "Unapplied", num: true, fmt: "money" },
          { key: "unapplied_reporting", label: "Unapplied (" + cur + ")", num: true, fmt: "money" },
        ] : [
          { key: "amount", label: "Received (" + cur + ")", num: true, fmt: "money" },
          { key: "unapplied", label: "Unapplied (" + cur + ")", num: true, fmt: "money" },
        ]),
      };
    if (p.list === "sla")
      return {
        what: fmtInt(w.total.count) + " items missed SLA " + w.sla + " from " + w.from + " to " + w.to + ": " +
          fmtInt(w.breached_open) + " breached and still open at the end, " + fmtInt(w.completed_late) +
          " completed late.",
        cols: [
          { key: "document", label: "Document" }, { key: "party", label: "Customer / vendor" },
          { key: "party_name", label: "Name", cell: (r) => r.party_name || "" },
          { key: "business_unit", label: "Business unit" },
          { key: "status", label: "Status", cell: (r) => (r.status === "breached_open" ? "open, past target" : "completed late") },
          { key: "start_date", label: "Started" }, { key: "target_date", label: "Target" },
          { key: "stop_date", label: "Stopped" },
          { key: "business_days_late", label: "Business days late", num: true, fmt: "int" },
        ],
      };
    return {
      what: fmtInt(w.total.count) + " of " + fmtInt(w.reviewed) + " " + (w.kind === "bill" ? "bills processed" : "invoices first reviewed") +
        " from " + w.from + " to " + w.to + " were not right first time.",
      cols: [
        { key: "document", label: w.kind === "bill" ? "Bill" : "Invoice" }, { key: "party", label: w.kind === "bill" ? "Vendor" : "Customer" },
        { key: "party_name", label: "Name", cell: (r) => r.party_name || "" },
        { key: "business_unit", label: "Business unit" }, { key: "date", label: w.kind === "bill" ? "Processed" : "First review" },
        { key: "amount", label: "Amount", num: true, fmt: "money" }, { key: "currency", label: "Currency" },
        { key: "reasons", label: "Reasons", cell: (r) => r.reasons.join(", ").replace(/_/g, " ") },
      ],
    };
  }

  // Show the drill-down of st (st.drill, st.drill_unit) for the figures of
  // ctx {as_of, from, business_unit, currency, cur}, or hide the panel.
  async function show(st, ctx, current) {
    const box = $("drill");
    const p = st.drill ? parse(st.drill) : null;
    // The figure whose list is open is marked (and says so to a screen reader).
    for (const a of document.querySelectorAll("a.drill-link")) {
      const on = !!p && a.dataset.drill === st.drill && (a.dataset.drillUnit || "") === (st.drill_unit || "");
      if (on) a.setAttribute("aria-current", "true");
      else a.removeAttribute("aria-current");
      const t = a.closest(".tile");
      if (t) t.classList.toggle("drilled", on);
    }
    if (!p) {
      box.hidden = true;
      return;
    }
    const rq = request(p, st, ctx);
    const title = TEXT[p.list] + (p.list === "sla" ? ": " + p.arg : p.list === "quality" ? ": " + p.arg + "s" : "") +
      " \u00b7 " + (rq.unit || "all business units");
    $("h-drill").textContent = title;
    let w;
    try {
      w = await h.api(rq.path, Object.assign({ limit: PAGE }, rq.params));
    } catch (e) {
      if (e instanceof h.AuthError) throw e;
      if (!current()) return;
      $("drill-body").replaceChildren(h.el("p", { class: "error", role: "alert", text: "Could not load the list: " + e.message }));
      box.hidden = false;
      return;
    }
    if (!current()) return;
    const l = layout(p, w, ctx.cur);
    const csv = h.el("a", { class: "csv", id: "drill-csv", download: p.list + "-" + ctx.as_of + ".csv", text: "API CSV (up to 10,000 rows)" });
    h.apiCsvLink(csv, rq.path, Object.assign({ limit: 10000 }, rq.params));
    const items = w.items || [];
    const more = w.total.count > items.length
      ? "The first " + h.fmtInt(items.length) + " rows, most days first; the CSV has the rest (up to 10,000)." : "";
    const tbox = h.el("div");
    $("drill-body").replaceChildren(...[
      h.el("p", { class: "drill-total", id: "drill-total", "data-count": String(w.total.count),
        "data-amount": w.total.amount === undefined ? null : w.total.amount, text: l.what }),
      more ? h.el("p", { class: "hint", text: more }) : null, tbox].filter((n) => n !== null));
    h.table(tbox, "drill", l.cols, items, p.list + "-" + ctx.as_of + ".csv");
    tbox.querySelector(".table-tools").prepend(csv); // beside the page's own CSV button
    const wrap = tbox.querySelector(".table-wrap");
    wrap.setAttribute("tabindex", "0"); // it scrolls: the keyboard must reach it
    wrap.setAttribute("aria-label", title);
    box.hidden = false;
  }

  return {
    init: (helpers) => { h = helpers; },
    parse, link, show, href,
  };
})();
