// Calls to the shoprec /v1 API shared by the shop page and the dashboard.
// An API key (when the service requires one) is asked for once and kept in localStorage.
"use strict";

const KEY_STORAGE = "shoprec-api-key";

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  const key = localStorage.getItem(KEY_STORAGE);
  if (key) headers["X-API-Key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if ((response.status === 401 || response.status === 403) && !api.asked) {
    api.asked = true;
    const given = window.prompt("This shoprec service needs an API key (X-API-Key):");
    if (given) {
      localStorage.setItem(KEY_STORAGE, given);
      return api(method, path, body);
    }
  }
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
    throw new Error(`${method} ${path}: ${response.status} ${detail}`);
  }
  return response.status === 204 ? null : response.json();
}

// Build an element: el("div", {class: "x", text: "hi"}, child, ...).
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}
