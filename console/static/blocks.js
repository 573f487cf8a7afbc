// Block Kit as DOM: the blocks and elements the bot sends, in messages, modals and the App Home.
//
// ctx = {
//   names,                        // resolves mentions (see mrkdwn.js)
//   act(element, block, value),   // the person clicked or picked: send block_actions
//   ask(confirm) -> Promise<bool>,// show a confirm dialog; act only when it resolves true
//   errors: {block_id: message},  // a modal's response_action=errors
//   values: {block_id: {action_id: value}}, // what the person had typed, kept across re-renders
// }

import { emojify, isSafeUrl, renderText } from "./mrkdwn.js";

export function renderBlocks(blocks, ctx) {
  const root = el("div", "blocks");
  for (const block of blocks ?? []) root.append(renderBlock(block, ctx));
  return root;
}

function renderBlock(block, ctx) {
  switch (block.type) {
    case "section":
      return section(block, ctx);
    case "header":
      return el("h3", "header-block", plain(block.text));
    case "divider":
      return el("hr", "divider");
    case "context":
      return context(block, ctx);
    case "image":
      return image(block, "image-block", true);
    case "actions": {
      const row = el("div", "actions");
      for (const element of block.elements ?? []) row.append(interactive(element, block, ctx));
      return row;
    }
    case "input":
      return input(block, ctx);
    default:
      return el("div", "unsupported", `[${block.type} block]`);
  }
}

function section(block, ctx) {
  const box = el("div", "section");
  const body = el("div", "section-body");
  if (block.text) body.append(el("div", "section-text", renderText(block.text, ctx.names)));
  if (block.fields?.length) {
    const fields = el("div", "fields");
    for (const field of block.fields) fields.append(el("div", "field", renderText(field, ctx.names)));
    body.append(fields);
  }
  box.append(body);
  if (block.accessory) box.append(el("div", "accessory", interactive(block.accessory, block, ctx)));
  return box;
}

function context(block, ctx) {
  const row = el("div", "context");
  for (const item of block.elements ?? []) {
    row.append(item.type === "image" ? image(item, "context-image", false) : el("span", "", renderText(item, ctx.names)));
  }
  return row;
}

function image(item, className, withTitle) {
  const figure = el("figure", className);
  if (withTitle && item.title) figure.append(el("figcaption", "", plain(item.title)));
  const img = document.createElement("img");
  img.src = item.image_url ?? "";
  img.alt = item.alt_text ?? "";
  img.title = item.alt_text ?? "";
  figure.append(img);
  return figure;
}

// An element of an actions block or a section's accessory.
function interactive(element, block, ctx) {
  switch (element.type) {
    case "button":
      return button(element, block, ctx);
    case "overflow":
      return overflow(element, block, ctx);
    case "static_select":
      return select(element, block, ctx, true);
    case "image":
      return image(element, "accessory-image", false);
    default:
      return el("span", "unsupported", `[${element.type}]`);
  }
}

async function confirmed(element, ctx) {
  return !element.confirm || (await ctx.ask(element.confirm));
}

function button(element, block, ctx) {
  const b = el("button", `btn ${element.style ?? ""}`.trim(), plain(element.text));
  b.type = "button";
  b.dataset.actionId = element.action_id ?? "";
  b.addEventListener("click", async () => {
    if (element.url && isSafeUrl(element.url)) window.open(element.url, "_blank", "noopener");
    if (await confirmed(element, ctx)) ctx.act(element, block, element.value ?? null);
  });
  return b;
}

function overflow(element, block, ctx) {
  const box = el("div", "overflow");
  const toggle = el("button", "btn overflow-toggle", "⋯");
  toggle.type = "button";
  toggle.title = "More actions";
  toggle.dataset.actionId = element.action_id ?? "";
  const menu = el("ul", "menu");
  menu.hidden = true;
  for (const option of element.options ?? []) {
    const pick = el("button", "menu-item", plain(option.text));
    pick.type = "button";
    pick.addEventListener("click", async () => {
      menu.hidden = true;
      if (await confirmed(element, ctx)) ctx.act(element, block, option.value);
    });
    menu.append(el("li", "", pick));
  }
  toggle.addEventListener("click", () => (menu.hidden = !menu.hidden));
  box.append(toggle, menu);
  return box;
}

// A static_select: in an actions block or accessory it acts when picked; in an input block it is
// a form field read on submit.
function select(element, block, ctx, acts) {
  const s = document.createElement("select");
  s.className = "select";
  s.dataset.actionId = element.action_id ?? "";
  const placeholder = new Option(element.placeholder ? plain(element.placeholder) : "Select an item", "");
  placeholder.disabled = true;
  s.append(placeholder);
  const addOptions = (parent, options) => {
    for (const option of options ?? []) parent.append(new Option(plain(option.text), option.value));
  };
  addOptions(s, element.options);
  for (const group of element.option_groups ?? []) {
    const optgroup = document.createElement("optgroup");
    optgroup.label = plain(group.label);
    addOptions(optgroup, group.options);
    s.append(optgroup);
  }
  s.value = ctx.values?.[block.block_id]?.[element.action_id] ?? element.initial_option?.value ?? "";
  if (acts) {
    let shown = s.value;
    s.addEventListener("change", async () => {
      if (await confirmed(element, ctx)) {
        shown = s.value;
        ctx.act(element, block, s.value);
      } else {
        s.value = shown;
      }
    });
  }
  return s;
}

function input(block, ctx) {
  const box = el("div", "input-block");
  box.dataset.blockId = block.block_id;
  box.dataset.optional = block.optional ? "true" : "false";
  const label = el("label", "input-label", plain(block.label));
  if (block.optional) label.append(el("span", "optional", " (optional)"));
  box.append(label);
  const element = block.element ?? {};
  if (element.type === "plain_text_input") box.append(textInput(element, block, ctx));
  else if (element.type === "static_select") box.append(select(element, block, ctx, false));
  else box.append(el("div", "unsupported", `[${element.type} input]`));
  if (block.hint) box.append(el("div", "hint", plain(block.hint)));
  const error = ctx.errors?.[block.block_id];
  if (error) box.append(el("div", "input-error", error));
  return box;
}

function textInput(element, block, ctx) {
  const field = document.createElement(element.multiline ? "textarea" : "input");
  field.className = "text-input";
  field.dataset.actionId = element.action_id ?? "";
  if (element.placeholder) field.placeholder = plain(element.placeholder);
  if (element.max_length) field.maxLength = element.max_length;
  field.value = ctx.values?.[block.block_id]?.[element.action_id] ?? element.initial_value ?? "";
  return field;
}

// What the person entered in a rendered modal: {values, missing: [block_id of empty required inputs]}.
export function collectInputs(root) {
  const values = {};
  const missing = [];
  for (const box of root.querySelectorAll(".input-block")) {
    const field = box.querySelector("[data-action-id]");
    const value = field?.value ?? "";
    if (value) values[box.dataset.blockId] = { [field.dataset.actionId]: value };
    else if (box.dataset.optional !== "true") missing.push(box.dataset.blockId);
  }
  return { values, missing };
}

// Legacy attachments: a colour bar beside pretext, title, text, fields, blocks and footer.
export function renderAttachments(attachments, ctx) {
  const root = el("div", "attachments");
  for (const a of attachments ?? []) {
    const box = el("div", "attachment");
    if (a.color) box.style.borderLeftColor = /^[0-9a-f]{6}$/i.test(a.color) ? `#${a.color}` : a.color;
    const text = (value) => renderText({ type: "mrkdwn", text: value }, ctx.names);
    if (a.pretext) box.append(el("div", "pretext", text(a.pretext)));
    if (a.title) box.append(el("div", "attachment-title", text(a.title)));
    if (a.text) box.append(el("div", "", text(a.text)));
    if (a.fields?.length) {
      const fields = el("div", "fields");
      for (const f of a.fields) fields.append(el("div", "field", el("strong", "", f.title ?? ""), el("div", "", text(f.value ?? ""))));
      box.append(fields);
    }
    if (a.blocks?.length) box.append(renderBlocks(a.blocks, ctx));
    if (a.footer) box.append(el("div", "attachment-footer", text(a.footer)));
    root.append(box);
  }
  return root;
}

// The text of a plain_text object (button labels, titles, options), emoji shortcodes shown.
export function plain(obj) {
  if (!obj) return "";
  return obj.type === "plain_text" && obj.emoji !== false ? emojify(obj.text ?? "") : obj.text ?? "";
}

// A new element: strings become text nodes, never markup.
export function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.append(...children.filter((c) => c !== undefined && c !== null));
  return node;
}
