// dashboard_driver.mjs — drives kpid's dashboard in headless Chromium
// (Debian's /usr/bin/chromium through playwright-core) and reports what a
// person would see, as one JSON object on stdout. It decides nothing:
// test_dashboard.py compares the report with the JSON API.
//
//   node dashboard_driver.mjs --url http://127.0.0.1:PORT/?as_of=... \
//        --node-modules DIR --bu UNIT [--screenshots DIR] [--chromium PATH]
//   node dashboard_driver.mjs --mode partial --url http://127.0.0.1:PORT/ \
//        --node-modules DIR [--screenshots DIR]
//
// --mode partial: open the default view (the last complete period), then
// tick the "to date" box for the period still running; report both.
//
// --mode view: open the page and report what it shows, nothing more (with
// --shot-as, a screenshot of the top of the page under that name).
//
// --mode signin --keys '{"bad":K,"scoped":K,"all":K}' --idle-s N: a server
// with API keys. The sign-in form; a wrong key; the scoped key (its view,
// the cookie); sign out; the unscoped key; the same view with locale=de-DE;
// the tiles at seven widths from 1024 to 1920 px (screenshots at 1280
// and 1920);
// then N + 1.5 s without a request, so the session's idle bound passes, and
// a filter change: the form again.
//
// Steps: open the page and wait for it to be ready; read every tile and
// count the painted pixels of every chart; download the KPI CSV; drill
// down from the unapplied-cash tile (a click), an SLA tile (its link, by
// the keyboard) and --bu's row of the aging table, reopen that list's URL
// and close it; choose the business unit --bu in the filter and read the
// tiles again; open the first top-overdue customer's profile. Every request to a host other than
// the page's own is blocked and reported, as is every console error.
import { createRequire } from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

function arg(name, def) {
  const i = process.argv.indexOf("--" + name);
  return i > 0 ? process.argv[i + 1] : def;
}
const url = arg("url");
const nodeModules = arg("node-modules");
const bu = arg("bu");
const mode = arg("mode", "full");
const currency = arg("currency", "");
// --shot-as NAME: of the full run, only the first view's screenshot, as NAME.
const shotAs = arg("shot-as", "");
let shots = arg("screenshots", "");
const chromium = arg("chromium", "/usr/bin/chromium");
const keys = JSON.parse(arg("keys", "{}"));
const idleS = Number(arg("idle-s", "0"));
if (!url || !nodeModules || (!bu && mode === "full")) {
  console.error("usage: dashboard_driver.mjs --url URL --node-modules DIR --bu UNIT [--screenshots DIR]");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(nodeModules), "noop.js"));
const { chromium: pw } = require("playwright-core");

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kpid-chromium-"));
const origin = new URL(url).origin;
const report = { external_requests: [], console_errors: [], page_errors: [] };

const context = await pw.launchPersistentContext(userDataDir, {
  executablePath: chromium,
  headless: true,
  viewport: { width: 1280, height: 800 },
  // The page groups digits for the browser's language: pinned here
  // (locale= in the URL overrides it).
  locale: "en-US",
  // Far from UTC: the page's date arithmetic must not use the browser's zone.
  timezoneId: "Pacific/Kiritimati",
  acceptDownloads: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = context.pages()[0] || (await context.newPage());
  await page.route("**/*", (route) => {
    const u = route.request().url();
    if (u.startsWith(origin + "/") || u.startsWith("blob:") || u.startsWith("data:")) return route.continue();
    report.external_requests.push(u);
    return route.abort();
  });
  // Errors are expected only in the last step (a unit that does not exist).
  let phase = "main";
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    // Signing in: refused keys and ended sessions are 401/403 answers, which
    // Chromium logs as failed resources; anything else is an error.
    if (phase === "auth" && /status of 40[13]/.test(m.text())) return;
    if (phase === "main" || phase === "auth") report.console_errors.push(m.text());
  });
  page.on("pageerror", (e) => report.page_errors.push(String(e)));

  // Waits for the render after `count` renders to have finished.
  const waitRender = async (count) => {
    await page.waitForFunction((n) => Number(document.body.dataset.render) > n &&
      document.body.dataset.state !== "loading", count, { timeout: 60000 });
    return page.evaluate(() => Number(document.body.dataset.render));
  };
  const snapshot = () => page.evaluate(() => {
    const tiles = {};
    for (const t of document.querySelectorAll(".tile[data-kpi]")) {
      const q = (s) => (t.querySelector(s) ? t.querySelector(s).textContent.trim() : null);
      const lab = t.querySelector(".tile-label");
      tiles[t.dataset.kpi] = { num: q(".num"), unit: q(".unit"), reason: q(".reason"),
        label: lab ? lab.firstChild.textContent : null, badge: q(".tile-partial"), partial: t.dataset.partial === "1",
        change: q(".change"), verdict: (t.querySelector(".change") || { className: "" }).className.replace("change", "").trim(),
        arrow: q(".arrow"), drill: t.querySelector("a.drill-link") ? t.querySelector("a.drill-link").dataset.drill : null };
    }
    // A chart rendered when its canvas has pixels painted (not transparent).
    const canvases = {};
    for (const c of document.querySelectorAll("canvas")) {
      const ctx = c.getContext("2d");
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      let painted = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) painted++;
      canvases[c.id] = { painted, width: c.width, height: c.height };
    }
    // The goal lines: the last data set of the SLA and FTQ charts.
    const goal = (id) => {
      const ch = window.Chart && window.Chart.getChart(document.getElementById(id));
      const ds = ch ? ch.data.datasets[ch.data.datasets.length - 1] : null;
      return ds ? { label: ds.label, value: ds.data[0] } : null;
    };
    const goals = { sla: goal("chart-sla"), ftq: goal("chart-ftq") };
    // Each trend's labels and how its last point is drawn (resolved options).
    const trends = {};
    for (const id of ["chart-dso", "chart-cei", "chart-sla", "chart-ftq"]) {
      const ch = window.Chart && window.Chart.getChart(document.getElementById(id));
      if (!ch) continue;
      const pts = ch.getDatasetMeta(0).data;
      const lastPt = pts[pts.length - 1];
      trends[id] = { labels: ch.data.labels, last_fill: lastPt ? lastPt.options.backgroundColor : null,
        first_fill: pts[0] ? pts[0].options.backgroundColor : null };
    }
    const bus = [...document.querySelectorAll("#f-bu option")].map((o) => o.value);
    const overdue = [...document.querySelectorAll("[data-table=overdue] tbody tr")].map((r) =>
      [...r.querySelectorAll("td")].map((td) => td.textContent.trim()));
    const rowsOf = (name) => [...document.querySelectorAll("[data-table=" + name + "] tbody tr")].map((r) =>
      [...r.querySelectorAll("td")].map((td) => td.textContent.trim()));
    const payables = { note: document.getElementById("payables-note").textContent,
      aging: rowsOf("ap-aging"), due: rowsOf("ap-due") };
    const externalRefs = [...document.querySelectorAll("[src],[href]")].map((e) => e.getAttribute("src") || e.getAttribute("href"))
      .filter((h) => /^[a-z]+:\/\//i.test(h) || h.startsWith("//"));
    const whoBox = document.getElementById("who");
    return { state: document.body.dataset.state, error: document.getElementById("error").textContent,
      who: whoBox.hidden ? null : document.getElementById("who-text").textContent,
      context: document.getElementById("context").textContent, tiles, canvases, goals, trends, business_units: bus, overdue, payables,
      period_note: document.getElementById("period-note").textContent,
      partial_box: { checked: document.getElementById("f-partial").checked, text: document.getElementById("f-partial-text").textContent },
      external_refs: externalRefs, url: location.pathname + location.search,
      currency: document.getElementById("f-currency").value,
      currencies: [...document.querySelectorAll("#f-currency option")].map((o) => o.value),
      books_note: document.getElementById("books-note").hidden ? null : document.getElementById("books-note").textContent,
      doc_width: document.documentElement.scrollWidth };
  });

  // Tiles at the current width: every text run on one line, the figure not
  // clipped, the change on the arrow's line.
  const wrapCheck = () => page.evaluate(() => {
    const problems = [];
    for (const t of document.querySelectorAll(".tile[data-kpi]")) {
      const walker = document.createTreeWalker(t, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (!n.textContent.trim()) continue;
        const r = document.createRange();
        r.selectNodeContents(n);
        const tops = new Set([...r.getClientRects()].filter((x) => x.width > 0).map((x) => Math.round(x.top)));
        if (tops.size > 1) problems.push(t.dataset.kpi + ": '" + n.textContent.trim() + "' on " + tops.size + " lines");
      }
      const v = t.querySelector(".tile-value");
      if (v.scrollWidth > v.clientWidth + 1) problems.push(t.dataset.kpi + ": figure clipped (" + v.scrollWidth + " > " + v.clientWidth + ")");
      const a = t.querySelector(".arrow"), d = t.querySelector(".delta");
      if (a && d && Math.abs(a.getBoundingClientRect().bottom - d.getBoundingClientRect().bottom) > 4) problems.push(t.dataset.kpi + ": change below its arrow");
    }
    return { problems, doc_width: document.documentElement.scrollWidth,
      num_font: [...document.querySelectorAll(".tile .num")].map((e) => getComputedStyle(e).fontSize) };
  });
  const frames = () => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(r)))));
  const formState = () => page.evaluate(() => ({ state: document.body.dataset.state,
    form_hidden: document.getElementById("signin").hidden, main_hidden: document.querySelector("main").hidden,
    message: document.getElementById("signin-error").textContent, who_hidden: document.getElementById("who").hidden,
    tiles: document.querySelectorAll(".tile").length }));
  const submitKey = async (k, n) => {
    await page.fill("#signin-key", k);
    await page.click("#signin-form button[type=submit]");
    return waitRender(n);
  };

  if (mode === "signin") {
    phase = "auth";
    const u = new URL(url);
    await page.goto(url);
    let n = await waitRender(0);
    report.form = await formState();
    if (shots) await page.screenshot({ path: path.join(shots, "dashboard-signin.png"), clip: { x: 0, y: 0, width: 1280, height: 360 } });
    n = await submitKey(keys.bad, n);
    report.bad = await formState();
    report.bad_key_kept = await page.inputValue("#signin-key");
    n = await submitKey(keys.scoped, n);
    report.scoped = await snapshot();
    report.key_field = await page.inputValue("#signin-key");
    report.cookies = (await context.cookies()).map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite }));
    report.script_cookie = await page.evaluate(() => document.cookie);
    await page.click("#signout");
    n = await waitRender(n);
    report.signed_out = await formState();
    report.signed_out_url = await page.evaluate(() => location.pathname + location.search);
    report.signed_out_meta = await page.evaluate(() => fetch("/v1/meta").then((r) => r.status));
    report.signed_out_cookies = (await context.cookies()).length;
    n = await submitKey(keys.all, n);
    report.all = await snapshot();
    await page.goto(u.origin + u.pathname + u.search + (u.search ? "&" : "?") + "locale=de-DE");
    n = await waitRender(0);
    report.german = await snapshot();
    await page.goto(url);
    n = await waitRender(0);
    report.widths = [];
    for (const w of [1024, 1280, 1366, 1400, 1440, 1600, 1920]) {
      await page.setViewportSize({ width: w, height: 1000 });
      await frames();
      report.widths.push(Object.assign({ width: w }, await wrapCheck()));
      if (shots && (w === 1280 || w === 1920)) {
        await page.evaluate(() => window.scrollTo(0, 0));
        await page.screenshot({ path: path.join(shots, "dashboard-" + w + ".png"), fullPage: true, clip: { x: 0, y: 0, width: w, height: w === 1280 ? 1320 : 1060 } });
      }
    }
    // Idle past the session's bound, then change a filter.
    await page.waitForTimeout((idleS + 1.5) * 1000);
    await page.selectOption("#f-interval", "quarter");
    n = await waitRender(n);
    report.expired = await formState();
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
    process.stdout.write(JSON.stringify(report) + "\n");
    process.exit(0);
  }

  if (mode === "view") {
    await page.goto(url);
    await waitRender(0);
    report.initial = await snapshot();
    if (shots && shotAs) await page.screenshot({ path: path.join(shots, shotAs), clip: { x: 0, y: 0, width: 1280, height: 420 } });
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
    process.stdout.write(JSON.stringify(report) + "\n");
    process.exit(0);
  }

  if (mode === "partial") {
    await page.goto(url);
    let n = await waitRender(0);
    report.complete = await snapshot();
    // The tiles and the first trends: where a one-day period would show.
    const top = { x: 0, y: 0, width: 1280, height: 1320 };
    if (shots) await page.screenshot({ path: path.join(shots, "dashboard-first-of-month.png"), fullPage: true, clip: top });
    await page.check("#f-partial");
    n = await waitRender(n);
    report.to_date = await snapshot();
    if (shots) await page.screenshot({ path: path.join(shots, "dashboard-month-to-date.png"), fullPage: true, clip: top });
    // And back: "Latest complete" returns to the default view.
    await page.click("#f-latest");
    n = await waitRender(n);
    report.back = await snapshot();
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
    process.stdout.write(JSON.stringify(report) + "\n");
    process.exit(0);
  }

  await page.goto(url);
  let renders = await waitRender(0);
  report.initial = await snapshot();
  // (--shot-as: the top of the page, the tiles and the first charts.)
  if (shots) await page.screenshot({ path: path.join(shots, shotAs || "dashboard.png"), fullPage: true,
    clip: shotAs ? { x: 0, y: 0, width: 1280, height: 1500 } : undefined });
  if (shotAs) shots = "";

  // The KPI table behind the tiles, as the CSV button downloads it.
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click("button[data-csv=kpis]")]);
  report.kpi_csv = fs.readFileSync(await dl.path(), "utf8");
  report.kpi_csv_name = dl.suggestedFilename();

  // Drill-down (drill.js): a click on the unapplied-cash tile, the SLA
  // tile's link by the keyboard, a unit of the aging table; then Close.
  const drillSnap = () => page.evaluate(() => {
    const box = document.getElementById("drill"), t = document.getElementById("drill-total");
    const csv = document.getElementById("drill-csv");
    const cells = (sel) => [...box.querySelectorAll(sel)].map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent.trim()));
    return { hidden: box.hidden, title: document.getElementById("h-drill").textContent, total: t ? t.textContent : null,
      count: t ? Number(t.dataset.count) : null, amount: t ? t.dataset.amount || null : null,
      heads: [...box.querySelectorAll("[data-table=drill] thead th")].map((th) => th.textContent.trim()),
      rows: cells("[data-table=drill] tbody tr"), csv: csv ? csv.getAttribute("href") : null,
      url: location.pathname + location.search, focused: document.activeElement ? document.activeElement.id : null };
  });
  const drillShot = async (name) => {
    if (!shots) return;
    // The tiles and the list they opened, as a person sees them together.
    const [top, bottom] = await page.evaluate(() => {
      const y = (id, end) => { const r = document.getElementById(id).getBoundingClientRect(); return (end ? r.bottom : r.top) + window.scrollY; };
      return [Math.max(0, y("h-kpis") - 12), y("drill", true) + 12];
    });
    await page.screenshot({ path: path.join(shots, name), fullPage: true,
      clip: { x: 0, y: top, width: 1280, height: Math.min(bottom - top, 1600) } });
  };
  // (In the converted view money has no worklist: no link to follow.)
  const drillable = (await page.$(".tile[data-kpi=unapplied] a.drill-link")) !== null;
  if (drillable) {
  await page.click(".tile[data-kpi=unapplied] .tile-value");
  renders = await waitRender(renders);
  report.drill_unapplied = await drillSnap();
  await drillShot("dashboard-drill-unapplied.png");
  const slaLink = page.locator(".tile[data-kpi^=sla-] a.drill-link").first();
  report.drill_sla_tile = await slaLink.evaluate((a) => a.closest(".tile").dataset.kpi);
  await slaLink.focus();
  await page.keyboard.press("Enter");
  renders = await waitRender(renders);
  report.drill_sla = await drillSnap();
  await drillShot("dashboard-drill-sla.png");
  await page.click(".tile[data-kpi=ftq-invoice] a.drill-link");
  renders = await waitRender(renders);
  report.drill_ftq = await drillSnap();
  await page.click("#card-aging details summary");
  await page.click("#table-aging a.drill-link[data-drill-unit='" + bu + "']");
  renders = await waitRender(renders);
  report.drill_unit = await drillSnap();
  // The drill-down's URL, opened afresh, shows the same list.
  await page.goto(origin + report.drill_unit.url);
  renders = await waitRender(0);
  report.drill_reloaded = await drillSnap();
  await page.click("#drill-close");
  report.drill_closed = await page.evaluate(() => ({ hidden: document.getElementById("drill").hidden,
    url: location.pathname + location.search }));
  }

  // A filter: one business unit.
  await page.selectOption("#f-bu", bu);
  renders = await waitRender(renders);
  report.filtered = await snapshot();

  // The filtered view's URL, opened afresh, shows the same view.
  await page.goto(origin + report.filtered.url);
  renders = await waitRender(0);
  report.reloaded = await snapshot();

  // The other period lengths, on the same unit.
  for (const iv of ["quarter", "week"]) {
    await page.selectOption("#f-interval", iv);
    renders = await waitRender(renders);
    report[iv] = await snapshot();
  }
  await page.selectOption("#f-interval", "month");
  renders = await waitRender(renders);

  // Drill-down: the first top-overdue customer's profile.
  const first = await page.$("[data-table=overdue] button[data-customer]");
  if (first) {
    report.profile_customer = await first.getAttribute("data-customer");
    await first.click();
    renders = await waitRender(renders);
    report.profile = await page.evaluate(() => {
      const box = document.getElementById("profile");
      const facts = {};
      for (const f of box.querySelectorAll(".fact")) facts[f.querySelector("dt").textContent] = f.querySelector("dd").textContent;
      const items = [...box.querySelectorAll("[data-table=profile-items] tbody tr")].map((r) =>
        [...r.querySelectorAll("td")].map((td) => td.textContent.trim()));
      return { hidden: box.hidden, title: document.getElementById("h-profile").textContent, facts, items,
        url: location.pathname + location.search };
    });
    if (shots) {
      await page.locator("#profile").scrollIntoViewIfNeeded();
      await page.locator("#profile").screenshot({ path: path.join(shots, "dashboard-customer.png") });
    }
  }

  // A narrow screen: nothing may be wider than the viewport.
  await page.setViewportSize({ width: 400, height: 800 });
  // Chart.js follows a resize on the next animation frames.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(r)))));
  report.narrow = await page.evaluate(() => ({ doc_width: document.documentElement.scrollWidth, viewport: window.innerWidth }));
  if (shots) {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(shots, "dashboard-narrow.png"), fullPage: false });
  }

  // Another currency: the tiles become that currency's book.
  if (currency) {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(url);
    renders = await waitRender(0);
    await page.selectOption("#f-currency", currency);
    renders = await waitRender(renders);
    report.currency_view = await snapshot();
  }

  // A link naming a business unit that does not exist: the API's message.
  phase = "bad";
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(origin + "/?business_unit=no-such-unit");
  await waitRender(0);
  report.bad_unit = await snapshot();
  await page.goto(origin + "/?customer=NOBODY");
  await waitRender(0);
  report.bad_customer = await page.evaluate(() => ({ state: document.body.dataset.state,
    hidden: document.getElementById("profile").hidden,
    text: document.getElementById("profile-body").textContent,
    tiles: document.querySelectorAll(".tile").length }));
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(report) + "\n");
