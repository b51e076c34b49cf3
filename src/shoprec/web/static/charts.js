// A tiny canvas chart library shipped with shoprec (no internet at run time): line charts
// with gaps for missing values, and grouped bar charts. Both scale for high-DPI screens.
"use strict";

const Charts = (() => {
  const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2"];
  const PAD = { left: 46, right: 10, top: 22, bottom: 24 };

  function setup(canvas) {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 320;
    const height = canvas.clientHeight || 170;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = "11px system-ui, sans-serif";
    return { ctx, width, height };
  }

  // A "nice" upper bound and tick step for values up to max.
  function niceScale(max, ticks = 4) {
    if (!(max > 0)) return { top: 1, step: 0.25 };
    const raw = max / ticks;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    return { top: step * Math.ceil(max / step), step };
  }

  function fmt(value) {
    if (value === 0) return "0";
    if (Math.abs(value) >= 1000) return (value / 1000).toFixed(1) + "k";
    if (Math.abs(value) >= 10) return value.toFixed(0);
    if (Math.abs(value) >= 1) return value.toFixed(1);
    return value.toFixed(3);
  }

  function axes(ctx, width, height, scale, unit) {
    const h = height - PAD.top - PAD.bottom;
    ctx.strokeStyle = "#e3e6eb";
    ctx.fillStyle = "#6b7280";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let v = 0; v <= scale.top + 1e-9; v += scale.step) {
      const y = PAD.top + h - (v / scale.top) * h;
      ctx.beginPath(); ctx.moveTo(PAD.left, y); ctx.lineTo(width - PAD.right, y); ctx.stroke();
      ctx.fillText(fmt(v), PAD.left - 4, y);
    }
    if (unit) { ctx.textAlign = "left"; ctx.fillText(unit, 2, 8); }
  }

  function legend(ctx, width, series) {
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    let x = width - PAD.right;
    for (let i = series.length - 1; i >= 0; i--) {
      const s = series[i];
      ctx.fillStyle = "#1d2330";
      ctx.fillText(s.name, x, 9);
      x -= ctx.measureText(s.name).width + 4;
      ctx.fillStyle = s.color || PALETTE[i % PALETTE.length];
      ctx.fillRect(x - 10, 5, 10, 8);
      x -= 20;
    }
  }

  // series: [{name, values: [number|null], color}], labels: x tick labels (same length).
  function line(canvas, { series, labels = [], unit = "" }) {
    const { ctx, width, height } = setup(canvas);
    const all = series.flatMap((s) => s.values).filter((v) => v !== null && isFinite(v));
    const scale = niceScale(Math.max(0, ...all));
    axes(ctx, width, height, scale, unit);
    const n = Math.max(1, ...series.map((s) => s.values.length));
    const w = width - PAD.left - PAD.right;
    const h = height - PAD.top - PAD.bottom;
    const xAt = (i) => PAD.left + (n === 1 ? w / 2 : (i / (n - 1)) * w);
    const yAt = (v) => PAD.top + h - (v / scale.top) * h;
    series.forEach((s, k) => {
      ctx.strokeStyle = s.color || PALETTE[k % PALETTE.length];
      ctx.lineWidth = 2;
      ctx.beginPath();
      let drawing = false;
      s.values.forEach((v, i) => {
        if (v === null || !isFinite(v)) { drawing = false; return; }
        if (drawing) ctx.lineTo(xAt(i), yAt(v)); else ctx.moveTo(xAt(i), yAt(v));
        drawing = true;
      });
      ctx.stroke();
      ctx.lineWidth = 1;
      // A point with no neighbour draws no line: show it as a dot.
      ctx.fillStyle = ctx.strokeStyle;
      s.values.forEach((v, i) => {
        const alone = (j) => j < 0 || j >= s.values.length || s.values[j] === null;
        if (v !== null && isFinite(v) && alone(i - 1) && alone(i + 1)) {
          ctx.beginPath(); ctx.arc(xAt(i), yAt(v), 3, 0, 2 * Math.PI); ctx.fill();
        }
      });
    });
    ctx.fillStyle = "#6b7280";
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const every = Math.max(1, Math.ceil(labels.filter(Boolean).length / 6));
    let shown = 0;
    labels.forEach((label, i) => {
      if (label && shown++ % every === 0) ctx.fillText(label, xAt(i), height - PAD.bottom + 6);
    });
    legend(ctx, width, series);
  }

  // labels: one per group; series: [{name, values: [number], color}] (one bar per series).
  function bars(canvas, { labels, series, unit = "", max = null }) {
    const { ctx, width, height } = setup(canvas);
    const all = series.flatMap((s) => s.values).filter((v) => isFinite(v));
    const scale = niceScale(max !== null ? max : Math.max(0, ...all));
    axes(ctx, width, height, scale, unit);
    const w = width - PAD.left - PAD.right;
    const h = height - PAD.top - PAD.bottom;
    const group = w / Math.max(1, labels.length);
    const bar = (group * 0.75) / Math.max(1, series.length);
    labels.forEach((label, i) => {
      series.forEach((s, k) => {
        const v = s.values[i];
        if (!isFinite(v)) return;
        const x = PAD.left + i * group + group * 0.125 + k * bar;
        const top = PAD.top + h - (Math.min(v, scale.top) / scale.top) * h;
        ctx.fillStyle = s.color || PALETTE[k % PALETTE.length];
        ctx.fillRect(x, top, Math.max(1, bar - 2), PAD.top + h - top);
      });
      ctx.fillStyle = "#1d2330";
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      // Shorten a label until it fits its group, so neighbours never overlap.
      let text = label;
      while (text.length > 1 && ctx.measureText(text).width > group - 4) text = text.slice(0, -2) + "…";
      ctx.fillText(text, PAD.left + i * group + group / 2, height - PAD.bottom + 6);
    });
    legend(ctx, width, series);
  }

  return { line, bars, niceScale, PALETTE };
})();
