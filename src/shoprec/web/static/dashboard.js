// The operator dashboard: polls GET /v1/admin/stats every second and redraws;
// GET /v1/admin/exposure every 10 s; the coupons and campaigns every 5 s.
"use strict";

const $ = (id) => document.getElementById(id);
const fmt = (v, digits = 1) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
const clock = (t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false });

function table(node, header, rows) {
  node.replaceChildren(
    el("tr", {}, ...header.map((h) => el("th", { text: h }))),
    ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", { text: String(c) })))));
}

function draw(stats) {
  const t = stats.traffic;
  $("kpi-rps").textContent = fmt(t.requests.per_s);
  $("kpi-p50").textContent = fmt(t.requests.p50_ms);
  $("kpi-p99").textContent = fmt(t.requests.p99_ms);
  $("kpi-eps").textContent = fmt(t.events.per_s);
  $("kpi-requests").textContent = t.requests.total.toLocaleString();
  $("kpi-events").textContent = t.events.total.toLocaleString();
  $("kpi-users").textContent = stats.live_users.toLocaleString();
  $("kpi-coverage").textContent = (100 * t.served.coverage).toFixed(1) + "%";
  $("kpi-coverage").title = `${t.served.distinct_items} of ${t.served.catalog_items} items served`;
  $("kpi-diversity").textContent = fmt(t.served.category_diversity, 2);
  document.body.dataset.requestRate = String(t.requests.per_s);
  document.body.dataset.requests = String(t.requests.total);

  const labels = t.series.t.map((s, i) => (i % 10 === 0 ? clock(s) : ""));
  Charts.line($("chart-rps"), {
    labels, unit: "req/s",
    series: [{ name: "requests/s", values: t.series.requests_per_s }],
  });
  Charts.line($("chart-latency"), {
    labels: t.series.latency_t.map((s, i) => (i % 2 === 0 ? clock(s) : "")), unit: "ms",
    series: [
      { name: "p50", values: t.series.p50_ms, color: "#2563eb" },
      { name: "p99", values: t.series.p99_ms, color: "#dc2626" },
    ],
  });
  Charts.line($("chart-eps"), {
    labels, unit: "events/s",
    series: [{ name: "events/s", values: t.series.events_per_s, color: "#16a34a" }],
  });

  const model = stats.model;
  $("model-version").textContent = model.version || "no model loaded";
  const rec = model.record || {};
  const sizes = [rec.model && `model ${rec.model}`,
    rec.epochs && `${rec.epochs} epochs`,
    rec.train_seconds && `trained in ${fmt(rec.train_seconds)} s`,
    rec.n_events && `on ${rec.n_events.toLocaleString()} events`,
    rec.n_items && `${rec.n_items.toLocaleString()} items`,
    // A private (DP-SGD) version: the epsilon its accountant reports, at its delta.
    rec.privacy && `differentially private: ε ${rec.privacy.epsilon.toFixed(2)}`
      + ` (δ ${rec.privacy.delta.toPrecision(2)})`].filter(Boolean);
  // The test figures: each shopper's held-out last event, never used to choose epochs.
  const test = rec.test || {};
  const names = Object.keys(test).filter((k) => /^(HR|NDCG|MRR)@/.test(k));
  if (test["coverage@10"] !== undefined) {
    sizes.push(`coverage@10 ${(100 * test["coverage@10"]).toFixed(1)}%`);
  }
  $("model-meta").textContent = sizes.join(" · ") + (names.length
    ? " — accuracy on each shopper's held-out last event (test):"
    : " — no test metrics recorded with this version");
  Charts.bars($("chart-model"), {
    labels: names, max: Math.max(0.05, ...names.map((k) => test[k])),
    series: [{ name: "test", values: names.map((k) => test[k]) }],
  });

  const variants = stats.variants;
  Charts.bars($("chart-ab"), {
    labels: variants.map((v) => `${v.name} (${v.impressions} shown)`), unit: "CTR %",
    max: Math.max(1, ...variants.map((v) => 100 * v.ctr)),
    series: [{ name: "click-through rate", values: variants.map((v) => 100 * v.ctr) }],
  });
  table($("ab-table"), ["variant", "weight", "impressions", "clicks", "CTR", "conversions"],
    variants.map((v) => [v.name, v.weight, v.impressions, v.clicks,
      (100 * v.ctr).toFixed(2) + "%", v.conversions]));

  const top = t.served.top_items;
  Charts.bars($("chart-top"), {
    labels: top.map((i) => i.item_id), unit: "times served",
    series: [{ name: "served", values: top.map((i) => i.count), color: "#7c3aed" }],
  });

  table($("events"), ["time", "shopper", "event", "item", "title"],
    t.events.recent.map((e) => [clock(e.timestamp), e.user_id, e.event_type, e.item_id, e.title || ""]));
  $("updated").textContent = `updated ${clock(stats.traffic.time)} · up ${fmt(t.uptime_s / 60)} min`;
  document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
}

async function poll() {
  try {
    draw(await api("GET", "/v1/admin/stats"));
  } catch (err) {
    $("updated").textContent = String(err.message || err);
  }
  setTimeout(poll, 1000);
}

// Fair exposure and the demand outlook (GET /v1/admin/exposure, #21): every 10 s.
function drawExposure(x) {
  const tail = x.long_tail_share === null ? "–" : `${fmt(100 * x.long_tail_share)} %`;
  $("exposure-kpis").textContent =
    `Gini over items ${fmt(x.gini, 3)} · long-tail share ${tail} · ` +
    `brand gap ${fmt(x.exposure_gap_brand, 3)} · ${x.impressions} impressions`;
  table($("exposure-brands"), ["brand", "exposure %", "interactions %"],
    x.brands.map((b) => [b.name, fmt(100 * b.exposure_share), fmt(100 * b.interaction_share)]));
  table($("rising"), ["rising item", "today", "forecast"],
    x.rising.map((r) => [r.title || r.item_id, fmt(r.today), fmt(r.forecast)]));
  table($("at-risk"), ["at risk", "stock", "forecast"],
    x.at_risk.map((r) => [r.title || r.item_id, fmt(r.stock, 0), fmt(r.forecast)]));
  if (!x.forecast_ready) $("rising").replaceChildren(el("tr", {}, el("td", { text: "forecast not ready" })));
}

async function pollExposure() {
  try {
    drawExposure(await api("GET", "/v1/admin/exposure"));
  } catch (err) {
    $("exposure-kpis").textContent = String(err.message || err);
  }
  setTimeout(pollExposure, 10000);
}

poll();
pollExposure();

// Promotions (GET /v1/coupons, GET /v1/campaigns, #21): every 5 s.
function drawPromotions(coupons, campaigns) {
  table($("coupons"), ["coupon", "offered", "redeemed", "rate %", "all-time", "budget left"],
    coupons.coupons.map((c) => [c.title || c.coupon_id, c.impressions, c.redemptions,
      c.impressions ? fmt(100 * c.redemptions / c.impressions) : "–", c.redeemed,
      c.budget_left === null ? "∞" : c.budget_left]));
  table($("campaigns"), ["campaign", "item", "impressions", "CTR %", "spent today", "paced cap"],
    campaigns.campaigns.map((c) => [c.title || c.campaign_id, c.item_id, c.impressions,
      fmt(100 * c.ctr), fmt(c.spent_today, 2), fmt(c.paced_budget_now, 2)]));
}

async function pollPromotions() {
  try {
    const [coupons, campaigns] = await Promise.all(
      [api("GET", "/v1/coupons"), api("GET", "/v1/campaigns")]);
    drawPromotions(coupons, campaigns);
  } catch (err) {
    $("coupons").replaceChildren(el("tr", {}, el("td", { text: String(err.message || err) })));
  }
  setTimeout(pollPromotions, 5000);
}

pollPromotions();
