// The demo shop: browse the catalogue, act as a shopper, watch the recommendation rails react.
// Every action is a real event POSTed to /v1/events; the rails are then fetched again and the
// page shows how many milliseconds the whole round trip (event stored + rails) took.
"use strict";

const shop = {
  user: null,         // the shopper acting now (user id; anonymous sessions get a fresh one)
  session: null,      // session id of an anonymous session
  current: null,      // the item on screen
  recId: null,        // recommendation id of the response the item on screen came from
  cart: [],
  category: null,
  actions: 0,         // completed actions (tests wait on data-actions)
};

const N_RAIL = 8;
const $ = (id) => document.getElementById(id);

function newSessionId() {
  return "anon-" + Math.random().toString(36).slice(2, 8);
}

function price(value) {
  return value === null || value === undefined ? "" : "$" + Number(value).toFixed(2);
}

// -- catalogue ----------------------------------------------------------------------------
async function loadCategories() {
  const body = await api("GET", "/v1/categories");
  const chips = $("categories");
  chips.replaceChildren();
  const chip = (name, label) => el("button", {
    type: "button",
    class: "chip" + (shop.category === name ? " on" : ""),
    "data-category": name === null ? "" : name,
    text: label,
    onclick: () => { shop.category = name; loadCategories(); loadGrid(); },
  });
  chips.append(chip(null, "All"));
  for (const c of body.categories.slice(0, 30)) chips.append(chip(c.name, `${c.name} (${c.items})`));
}

async function loadGrid() {
  const params = new URLSearchParams({ limit: "60" });
  const q = $("search").value.trim();
  if (q) params.set("q", q);
  if (shop.category) params.set("category", shop.category);
  const body = await api("GET", "/v1/items?" + params);
  $("grid-info").textContent = `${body.total.toLocaleString()} products` +
    (body.total > body.items.length ? `, showing ${body.items.length}` : "");
  $("grid").replaceChildren(...body.items.map((item) => el("button", {
    type: "button",
    class: "card" + (item.in_stock ? "" : " out"),
    "data-item": item.item_id,
    onclick: () => act("view", item.item_id, null),
  },
  el("span", { class: "cat", text: item.category || "" }),
  el("span", { class: "title", text: item.title || item.item_id }),
  el("span", { class: "price", text: item.in_stock ? price(item.price) : "out of stock" }))));
}

// -- rails --------------------------------------------------------------------------------
function renderRail(id, body, title) {
  const rail = $(id);
  if (title) rail.querySelector(".rail-title").textContent = title;
  const list = rail.querySelector(".rail-items");
  if (!body) {
    list.replaceChildren(el("li", { class: "muted", text: "View a product to fill this rail." }));
    rail.dataset.items = "";
    return;
  }
  list.replaceChildren(...body.items.map((r) => el("li", {
    class: "rec",
    "data-item": r.item_id,
    "data-source": r.source,
    title: `score ${r.score.toFixed(3)} from ${r.source}`,
    onclick: () => act("click", r.item_id, body.recommendation_id),
  },
  el("span", { class: "title", text: r.title || r.item_id }),
  el("span", { class: "reason", text: r.reason }))));
  rail.dataset.items = body.items.map((r) => r.item_id).join(",");
  rail.dataset.variant = body.variant;
}

async function refreshRails() {
  const user = encodeURIComponent(shop.user);
  const item = shop.current && encodeURIComponent(shop.current);
  // With a cart: what goes with the cart's items (the cart alone is the context).
  const together = shop.cart.length
    ? api("POST", "/v1/cart/recommendations", { cart: shop.cart, session_id: shop.user, n: N_RAIL })
    : item ? api("GET", `/v1/items/${item}/bought-together?n=${N_RAIL}`) : null;
  const [recommended, similar, bought] = await Promise.all([
    api("GET", `/v1/users/${user}/recommendations?n=${N_RAIL}`),
    item ? api("GET", `/v1/items/${item}/similar?n=${N_RAIL}`) : null,
    together,
  ]);
  renderRail("rail-recommended", recommended);
  renderRail("rail-similar", similar);
  renderRail("rail-together", bought, shop.cart.length
    ? `Frequently bought together with your cart (${shop.cart.length})`
    : "Frequently bought together");
}

// -- actions ------------------------------------------------------------------------------
const VERBS = { view: "viewed", click: "clicked", addtocart: "added to cart", purchase: "bought" };

async function act(eventType, itemId, recId) {
  const start = performance.now();
  const events = [];
  const base = { user_id: shop.user, item_id: itemId, event_type: eventType };
  if (shop.session) base.session_id = shop.session;
  if (recId) base.context = { recommendation_id: recId };
  events.push(base);
  if (eventType === "view" || eventType === "click") {
    shop.current = itemId;
    shop.recId = recId;
  } else if (eventType === "addtocart") {
    if (!shop.cart.includes(itemId)) shop.cart.push(itemId);
  } else if (eventType === "purchase") {
    shop.cart = shop.cart.filter((i) => i !== itemId);
  }
  try {
    await api("POST", "/v1/events", events.length === 1 ? events[0] : { events });
    const stored = performance.now();
    await Promise.all([refreshRails(), eventType === "view" || eventType === "click"
      ? showProduct(itemId) : null]);
    const ms = performance.now() - start;
    const item = await itemTitle(itemId);
    setStatus(`You ${VERBS[eventType] || eventType} “${item}”: event stored in ` +
      `${(stored - start).toFixed(0)} ms, rails updated ${ms.toFixed(0)} ms after the action.`);
    for (const rail of document.querySelectorAll(".rail .ms")) rail.textContent = `${ms.toFixed(0)} ms`;
    document.body.dataset.lastMs = ms.toFixed(1);
    $("actions").prepend(el("li", { text: `${VERBS[eventType] || eventType} ${item}` }));
  } catch (err) {
    setStatus(String(err.message || err), true);
  }
  updateCart();
  shop.actions += 1;
  document.body.dataset.actions = String(shop.actions);
}

const titles = new Map();
async function itemTitle(itemId) {
  if (!titles.has(itemId)) {
    try { titles.set(itemId, (await api("GET", `/v1/items/${encodeURIComponent(itemId)}`)).title || itemId); }
    catch (e) { titles.set(itemId, itemId); }
  }
  return titles.get(itemId);
}

async function showProduct(itemId) {
  const item = await api("GET", `/v1/items/${encodeURIComponent(itemId)}`).catch(() => ({ item_id: itemId }));
  titles.set(itemId, item.title || itemId);
  $("product").hidden = false;
  $("product").dataset.item = itemId;
  $("product-title").textContent = item.title || itemId;
  $("product-category").textContent = item.category || "";
  $("product-meta").textContent = [item.brand, item.item_id].filter(Boolean).join(" · ");
  $("product-price").textContent = price(item.price);
}

function updateCart() {
  $("cart-count").textContent = String(shop.cart.length);
  $("buy-cart").disabled = shop.cart.length === 0;
}

function setStatus(text, error) {
  $("status").textContent = text;
  $("status").classList.toggle("error", Boolean(error));
}

// -- shoppers -----------------------------------------------------------------------------
async function switchShopper(userId, anonymous) {
  shop.user = userId;
  shop.session = anonymous ? userId : null;
  shop.current = null;
  shop.recId = null;
  shop.cart = [];
  $("product").hidden = true;
  $("actions").replaceChildren();
  updateCart();
  const start = performance.now();
  await refreshRails();
  const who = anonymous ? "a new anonymous shopper (cold start: trending items)" : `shopper ${userId}`;
  setStatus(`Now acting as ${who}; rails loaded in ${(performance.now() - start).toFixed(0)} ms.`);
  document.body.dataset.user = userId;
}

async function loadShoppers() {
  const select = $("shopper");
  const anon = shop.user && shop.user.startsWith("anon-") ? shop.user : newSessionId();
  const known = (await api("GET", "/v1/users?limit=25")).users.filter((u) => !u.startsWith("anon-"));
  select.replaceChildren(
    el("option", { value: anon, text: `anonymous session ${anon}` }),
    ...known.map((u) => el("option", { value: u, text: u })));
  select.value = anon;
  return anon;
}

async function main() {
  $("shopper").addEventListener("change", (e) => {
    const value = e.target.value;
    switchShopper(value, value.startsWith("anon-"));
  });
  $("new-session").addEventListener("click", async () => {
    shop.user = null;
    await switchShopper(await loadShoppers(), true);
  });
  let timer = null;
  $("search").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(loadGrid, 150);
  });
  $("add-to-cart").addEventListener("click", () => act("addtocart", shop.current, shop.recId));
  $("buy").addEventListener("click", () => act("purchase", shop.current, shop.recId));
  $("buy-cart").addEventListener("click", async () => {
    for (const item of [...shop.cart]) await act("purchase", item, null);
  });
  try {
    await Promise.all([loadCategories(), loadGrid()]);
    await switchShopper(await loadShoppers(), true);
    document.body.dataset.ready = "1";
  } catch (err) {
    setStatus(String(err.message || err), true);
  }
}

main();
