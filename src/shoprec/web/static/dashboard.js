// The operator dashboard: polls GET /v1/admin/stats every second and redraws.
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
    rec.n_items && `${rec.n_items.toLocaleString()} items`].filter(Boolean);
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

poll();
