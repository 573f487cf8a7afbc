// The console page: pick who you are, read the channels you are in, type /okta commands, click
// what the bot posts. The server turns each action into the signed request Slack would send; the
// page re-reads the state whenever the update stream says something changed.

import { collectInputs, el, plain, renderAttachments, renderBlocks } from "./blocks.js";
import { renderMrkdwn, renderText } from "./mrkdwn.js";

const $ = (id) => document.getElementById(id);
const app = {
  me: null, // the person acting
  channelId: null, // the conversation on screen
  tab: "messages", // in the app's DM: "home" or "messages"
  snap: null, // the last state read
  stream: null,
  seen: {}, // channel id -> how many messages the person has seen there (unread badges)
};

async function call(path, body) {
  const url = new URL(`console/api/${path}`, document.baseURI);
  const init = body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
  let data;
  try {
    const res = await fetch(url, init);
    data = await res.json().catch(() => ({ ok: false, error: `HTTP ${res.status}` }));
    if (!res.ok) data.ok = false;
  } catch (err) {
    data = { ok: false, error: `the console is unreachable (${err.message})` };
  }
  if (data.ok === false) {
    toast(data.error ?? "failed");
    return null;
  }
  return data;
}

// Something the person did: tell the server, then show the outcome without waiting for the stream.
async function act(path, body) {
  const done = await call(path, { user: app.me, ...body });
  refresh();
  return done;
}

function toast(message) {
  const note = el("div", "toast", message);
  $("toasts").append(note);
  setTimeout(() => note.remove(), 8000);
}

// ---- state and the update stream

let loading = null;
let again = false;

function refresh() {
  if (loading) {
    again = true;
    return loading;
  }
  loading = (async () => {
    do {
      again = false;
      const snap = await call(`state?user=${encodeURIComponent(app.me)}`);
      if (snap && snap.user === app.me) render(snap);
    } while (again);
  })().finally(() => (loading = null));
  return loading;
}

function connect() {
  app.stream?.close();
  app.stream = new EventSource(new URL(`console/api/stream?user=${encodeURIComponent(app.me)}`, document.baseURI));
  app.stream.onopen = refresh; // a stream ends now and then; what happened meanwhile is in the state
  app.stream.onmessage = refresh;
}

// ---- rendering

function render(snap) {
  app.snap = snap;
  const people = new Map(snap.people.map((p) => [p.id, p]));
  const names = {
    user: (id) => people.get(id)?.real_name,
    channel: (id) => snap.channels.find((c) => c.id === id)?.name,
  };
  if (!snap.channels.some((c) => c.id === app.channelId)) {
    app.channelId = (snap.channels.find((c) => c.name === "helpdesk") ?? snap.channels[0]).id;
  }
  for (const c of snap.channels) app.seen[c.id] ??= c.messages.length; // unread: what arrived since you came
  const channel = snap.channels.find((c) => c.id === app.channelId);
  app.seen[channel.id] = channel.messages.length;
  renderPersona(people.get(snap.user));
  renderSidebar(snap.channels);
  renderConversation(channel, snap, people, names);
  renderModal(snap.modals.at(-1), snap.modals.length, names);
}

function renderPersona(person) {
  const chips = person.roles.map((role) => el("span", "chip", role));
  if (person.title) chips.unshift(el("span", "title", person.title));
  if (person.okta) chips.push(el("span", `chip okta ${person.okta.status ?? "none"}`, `Okta: ${person.okta.status ?? "no account"}`));
  $("persona-info").replaceChildren(...chips);
}

function renderSidebar(channels) {
  const item = (c) => {
    const unread = c.messages.length - (app.seen[c.id] ?? 0);
    const b = el("button", c.id === app.channelId ? "active" : "", c.is_dm ? c.name : `# ${c.name}`);
    b.type = "button";
    b.dataset.channel = c.is_dm ? "dm" : c.name;
    if (unread > 0 && c.id !== app.channelId) b.append(el("span", "badge", String(unread)));
    b.addEventListener("click", () => openChannel(c.id, c.is_dm ? "home" : "messages"));
    return el("li", "", b);
  };
  $("channels").replaceChildren(...channels.filter((c) => !c.is_dm).map(item));
  $("apps").replaceChildren(...channels.filter((c) => c.is_dm).map(item));
}

function openChannel(channelId, tab) {
  app.channelId = channelId;
  app.tab = tab;
  if (tab === "home") act("home", {}); // Slack sends app_home_opened each time the tab is opened
  else refresh();
}

function renderConversation(channel, snap, people, names) {
  $("conversation-title").textContent = channel.is_dm ? channel.name : `# ${channel.name}`;
  $("conversation-purpose").textContent = channel.purpose ?? "";
  $("tabs").hidden = !channel.is_dm;
  const home = channel.is_dm && app.tab === "home";
  for (const b of $("tabs").querySelectorAll("button")) b.classList.toggle("active", b.dataset.tab === (home ? "home" : "messages"));
  $("home").hidden = !home;
  $("messages").hidden = home;
  $("composer").hidden = home;
  if (home) renderHome(snap.home, names);
  else renderMessages(channel, people, names);
}

function renderMessages(channel, people, names) {
  const box = $("messages");
  if (box.dataset.channel !== channel.id) {
    box.replaceChildren();
    box.dataset.channel = channel.id;
  }
  const keyOf = (m) => `${m.ts}|${m.edited_ts ?? ""}|${m.ephemeral}`;
  const keys = channel.messages.map(keyOf);
  if (keys.join() === [...box.children].map((n) => n.dataset.key).join()) return;
  // unchanged messages keep their nodes: an open menu or a half-made choice survives an update
  const existing = new Map([...box.children].map((n) => [n.dataset.key, n]));
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  box.replaceChildren(...channel.messages.map((m, i) => existing.get(keys[i]) ?? renderMessage(m, keys[i], people, names)));
  if (atBottom || existing.size === 0) box.scrollTop = box.scrollHeight;
}

function renderMessage(m, key, people, names) {
  const author = people.get(m.user);
  const node = el("article", m.ephemeral ? "message ephemeral" : "message");
  node.dataset.key = key;
  node.dataset.ts = m.ts;
  const initials = (author?.real_name ?? "?").split(" ").map((w) => w[0]).join("").slice(0, 2);
  const meta = el("div", "meta", el("strong", "", author?.real_name ?? m.user));
  if (author?.is_bot) meta.append(el("span", "app-tag", "APP"));
  meta.append(el("time", "", new Date(Number(m.ts.split(".")[0]) * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })));
  if (m.edited_ts) meta.append(el("span", "edited", "(edited)"));
  const main = el("div", "message-main", meta);
  if (m.ephemeral) main.append(el("div", "ephemeral-note", "👁 Only visible to you"));
  if (m.thread_ts && m.thread_ts !== m.ts) main.append(el("div", "thread-note", "↳ reply in thread"));
  const ctx = {
    names,
    ask,
    act: (element, block, value) =>
      act("action", { action_id: element.action_id, block_id: block.block_id, value, channel: m.channel, ts: m.ts, ephemeral: m.ephemeral }),
  };
  main.append(m.blocks.length ? renderBlocks(m.blocks, ctx) : el("div", "text", renderMrkdwn(m.text, names)));
  if (m.attachments.length) main.append(renderAttachments(m.attachments, ctx));
  node.append(el("div", author?.is_bot ? "avatar bot" : "avatar", initials), main);
  return node;
}

function renderHome(home, names) {
  const box = $("home");
  const key = home ? `${home.id}|${home.view.hash}` : "";
  if (box.dataset.key === key && box.childElementCount) return;
  box.dataset.key = key;
  if (!home) {
    box.replaceChildren(el("p", "hint", "Opening Home… (the app has not published a Home tab for you yet)"));
    return;
  }
  const ctx = { names, ask, act: (element, block, value) => act("action", { action_id: element.action_id, block_id: block.block_id, value, view_id: home.id }) };
  box.replaceChildren(renderBlocks(home.view.blocks, ctx));
}

// The top of the person's modal stack; re-rendered when its content or errors change, keeping
// what they typed.
function renderModal(modal, depth, names, localErrors = null) {
  const holder = $("modals");
  if (!modal) {
    holder.replaceChildren();
    delete holder.dataset.key;
    return;
  }
  const errors = localErrors ?? modal.errors;
  const key = `${modal.id}|${modal.view.hash}|${JSON.stringify(errors)}`;
  if (holder.dataset.key === key) return;
  const old = holder.querySelector(".modal");
  const values = old?.dataset.viewId === modal.id ? collectInputs(old).values : {};
  holder.dataset.key = key;
  const view = modal.view;
  const ctx = {
    names,
    ask,
    errors,
    values,
    act: (element, block, value) => act("action", { action_id: element.action_id, block_id: block.block_id, value, view_id: modal.id }),
  };
  const dialog = el("div", "modal");
  dialog.dataset.viewId = modal.id;
  dialog.setAttribute("role", "dialog");
  dialog.setAttribute("aria-label", plain(view.title));
  const close = el("button", "icon", "✕");
  close.type = "button";
  close.title = "Close";
  close.addEventListener("click", () => act("view/close", { view_id: modal.id }));
  const header = el("header", "", el("h2", "", plain(view.title)), depth > 1 ? el("span", "depth", `${depth} open`) : null, close);
  const footer = el("footer", "");
  const cancel = el("button", "btn", view.close ? plain(view.close) : "Cancel");
  cancel.type = "button";
  cancel.addEventListener("click", () => act("view/close", { view_id: modal.id }));
  footer.append(cancel);
  if (view.submit) {
    const submit = el("button", "btn primary", plain(view.submit));
    submit.type = "button";
    submit.addEventListener("click", async () => {
      const { values: entered, missing } = collectInputs(dialog);
      if (missing.length) {
        // Slack's client refuses to submit with a required field empty; the app never hears of it
        const required = Object.fromEntries(missing.map((id) => [id, "Please complete this required field."]));
        renderModal(modal, depth, names, required);
        return;
      }
      submit.disabled = true;
      await act("view/submit", { view_id: modal.id, values: entered });
      submit.disabled = false;
    });
    footer.append(submit);
  }
  dialog.append(header, el("div", "modal-body", renderBlocks(view.blocks, ctx)), footer);
  holder.replaceChildren(el("div", "overlay", dialog));
}

// A confirm dialog (a button's or menu's `confirm`): resolves true only when confirmed.
function ask(confirm) {
  const box = $("confirm");
  return new Promise((resolve) => {
    const answer = (yes) => {
      box.hidden = true;
      box.replaceChildren();
      resolve(yes);
    };
    const deny = el("button", "btn", confirm.deny ? plain(confirm.deny) : "Cancel");
    deny.type = "button";
    deny.addEventListener("click", () => answer(false));
    const yes = el("button", `btn ${confirm.style ?? "primary"}`, confirm.confirm ? plain(confirm.confirm) : "Yes");
    yes.type = "button";
    yes.addEventListener("click", () => answer(true));
    const dialog = el("div", "modal confirm-dialog", el("header", "", el("h2", "", plain(confirm.title) || "Are you sure?")));
    dialog.setAttribute("role", "alertdialog");
    dialog.append(el("div", "modal-body", renderText(confirm.text, { user: () => undefined, channel: () => undefined })), el("footer", "", deny, yes));
    box.replaceChildren(dialog);
    box.hidden = false;
    yes.focus();
  });
}

// ---- the persona picker, the composer and the simulate panel

function choose(userId) {
  app.me = userId;
  $("persona").value = userId;
  localStorage.setItem("console.as", userId);
  history.replaceState(null, "", `#as=${userId}`);
  app.seen = {};
  $("messages").replaceChildren();
  delete $("messages").dataset.channel;
  const person = app.people.get(userId);
  for (const form of ["sim-lockout", "sim-push", "sim-suspicious"]) $(form).elements.login.value = person.okta?.login ?? person.email ?? "";
  connect();
}

async function send(event) {
  event.preventDefault();
  const input = $("command");
  const text = input.value.trim();
  if (!text) return;
  if (await act("command", { channel: app.channelId, text })) input.value = "";
}

async function simulate(event) {
  event.preventDefault();
  const form = event.target;
  const body = Object.fromEntries(new FormData(form, event.submitter));
  for (const field of ["failures", "count"]) if (field in body) body[field] = Number(body[field]);
  const output = form.querySelector("output");
  output.textContent = "…";
  const done = await call(`simulate/${form.id.replace("sim-", "")}`, body);
  output.textContent = done ? describe(done) : "refused";
  refresh();
}

function describe(done) {
  if (done.kind) return `${done.kind.replaceAll("_", " ")} on ${done.login} (${done.events} System Log events): see their DM`;
  if (done.status) return `${done.login} is ${done.status} (${done.events} System Log events)`;
  if (done.result) return `${done.login}: push ${done.result === "SUCCESS" ? "approved" : done.result.toLowerCase()} (${done.answered === "waiting" ? "the waiting push" : "their next push"})`;
  return `${done.events} failed sign-ins for ${done.login}`;
}

async function boot() {
  const directory = await call("people");
  if (!directory) return;
  $("team-name").textContent = directory.team.name;
  app.people = new Map(directory.people.map((p) => [p.id, p]));
  const personas = directory.people.filter((p) => !p.is_bot && !p.deleted);
  $("persona").replaceChildren(...personas.map((p) => new Option(`${p.real_name} — ${p.roles.join(", ")}`, p.id)));
  $("okta-logins").replaceChildren(...directory.people.filter((p) => p.okta?.login).map((p) => new Option(p.real_name, p.okta.login)));
  $("persona").addEventListener("change", (e) => choose(e.target.value));
  $("composer").addEventListener("submit", send);
  for (const b of $("tabs").querySelectorAll("button")) b.addEventListener("click", () => openChannel(app.channelId, b.dataset.tab));
  for (const form of document.querySelectorAll(".sim-form")) form.addEventListener("submit", simulate);
  document.addEventListener("click", (event) => {
    // a click anywhere else closes an open overflow menu, as in Slack
    for (const menu of document.querySelectorAll(".menu:not([hidden])")) {
      if (!menu.parentElement.contains(event.target)) menu.hidden = true;
    }
  });
  const wanted = new URLSearchParams(location.hash.slice(1)).get("as") ?? localStorage.getItem("console.as");
  choose(personas.some((p) => p.id === wanted) ? wanted : personas[0].id);
}

boot();
