// Slack's mrkdwn as DOM nodes. Text only ever reaches the page through textContent: the bot's
// text is escaped (&amp; &lt; &gt;), and a raw "<" always starts Slack markup (<@U…>, <url|text>),
// so nothing it sends can become HTML.

const EMOJI = {
  warning: "⚠️", lock: "🔒", unlock: "🔓", key: "🔑", crown: "👑", rotating_light: "🚨",
  bust_in_silhouette: "👤", busts_in_silhouette: "👥", information_source: "ℹ️",
  white_check_mark: "✅", heavy_check_mark: "✔️", x: "❌", no_entry: "⛔", no_entry_sign: "🚫",
  hourglass: "⌛", hourglass_flowing_sand: "⏳", stopwatch: "⏱️", clock1: "🕐", bell: "🔔",
  mag: "🔍", eyes: "👀", shield: "🛡️", iphone: "📱", email: "📧", memo: "📝", pencil: "✏️",
  wave: "👋", tada: "🎉", thumbsup: "👍", "+1": "👍", thumbsdown: "👎", "-1": "👎",
  red_circle: "🔴", large_green_circle: "🟢", large_yellow_circle: "🟡", white_circle: "⚪",
  arrows_counterclockwise: "🔄", repeat: "🔁", zap: "⚡", fire: "🔥", globe_with_meridians: "🌐",
  ticket: "🎫", gear: "⚙️", question: "❓", exclamation: "❗", heavy_plus_sign: "➕",
  heavy_minus_sign: "➖", door: "🚪", pause_button: "⏸️", arrow_forward: "▶️", robot_face: "🤖",
};

// Inline formatting, first match wins at each position. Bold, italic and strike need a word
// boundary outside and no space inside, as in Slack: snake_case and 2*3*4 stay as they are.
const INLINE = new RegExp(
  [
    "(`[^`\\n]+`)",
    "(<[^<>\\n]+>)",
    "((?<![\\p{L}\\p{N}*])\\*(?!\\s)[^*\\n]+?(?<!\\s)\\*(?![\\p{L}\\p{N}*]))",
    "((?<![\\p{L}\\p{N}_])_(?!\\s)[^_\\n]+?(?<!\\s)_(?![\\p{L}\\p{N}_]))",
    "((?<![\\p{L}\\p{N}~])~(?!\\s)[^~\\n]+?(?<!\\s)~(?![\\p{L}\\p{N}~]))",
    "(:[a-z0-9_+\\-]+:)",
  ].join("|"),
  "gu",
);
const SAFE_LINK = /^(https?:|mailto:)/i;

// Only these schemes become links: a javascript: URL from a message must never run.
export function isSafeUrl(url) {
  return SAFE_LINK.test(url);
}

export function unescapeEntities(text) {
  // &amp; last, so that a typed "&lt;" (sent as "&amp;lt;") stays "&lt;"
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

export function emojify(text) {
  return text.replace(/:([a-z0-9_+\-]+):/g, (whole, name) => EMOJI[name] ?? whole);
}

// A text object ({type: "mrkdwn"|"plain_text", text}) as a node; `names` resolves mentions.
export function renderText(obj, names) {
  if (!obj) return document.createTextNode("");
  if (obj.type === "plain_text") {
    return document.createTextNode(obj.emoji === false ? obj.text : emojify(obj.text));
  }
  return renderMrkdwn(obj.text ?? "", names);
}

// names: {user(id) -> display name or undefined, channel(id) -> name or undefined}
export function renderMrkdwn(text, names) {
  const root = document.createDocumentFragment();
  const parts = text.split(/```/);
  parts.forEach((part, i) => {
    if (i % 2 === 1 && i < parts.length - 1) {
      const pre = document.createElement("pre");
      pre.textContent = unescapeEntities(part.replace(/^\n/, ""));
      root.append(pre);
    } else {
      root.append(renderLines(i % 2 === 1 ? "```" + part : part, names));
    }
  });
  return root;
}

function renderLines(text, names) {
  const out = document.createDocumentFragment();
  let quote = null; // the blockquote that consecutive "> " lines go into
  let afterLine = false;
  for (const line of text.split("\n")) {
    const quoted = /^(&gt;|>) ?/.exec(line);
    if (quoted) {
      if (quote) quote.append(document.createElement("br"));
      else out.append((quote = document.createElement("blockquote")));
      quote.append(renderInline(line.slice(quoted[0].length), names));
      afterLine = false;
    } else {
      if (afterLine) out.append(document.createElement("br"));
      out.append(renderInline(line, names));
      quote = null;
      afterLine = true;
    }
  }
  return out;
}

function renderInline(text, names) {
  const out = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    out.append(document.createTextNode(unescapeEntities(text.slice(last, match.index))));
    out.append(renderToken(match[0], names));
    last = match.index + match[0].length;
  }
  out.append(document.createTextNode(unescapeEntities(text.slice(last))));
  return out;
}

function renderToken(token, names) {
  const inner = token.slice(1, -1);
  switch (token[0]) {
    case "`": {
      const code = document.createElement("code");
      code.textContent = unescapeEntities(inner);
      return code;
    }
    case "<":
      return renderMarkup(inner, names);
    case "*":
      return wrap("strong", renderInline(inner, names));
    case "_":
      return wrap("em", renderInline(inner, names));
    case "~":
      return wrap("del", renderInline(inner, names));
    default:
      return document.createTextNode(emojify(token));
  }
}

function wrap(tag, content) {
  const el = document.createElement(tag);
  el.append(content);
  return el;
}

// <@U…>, <#C…|name>, <!here>, <!subteam^S…|@handle>, <!date^…|fallback>, <url|label>
function renderMarkup(inner, names) {
  const [target, label] = splitOnce(inner, "|");
  const span = document.createElement("span");
  if (target.startsWith("@")) {
    span.className = "mention";
    span.textContent = "@" + (names.user(target.slice(1)) ?? label ?? target.slice(1));
  } else if (target.startsWith("#")) {
    span.className = "mention";
    span.textContent = "#" + (names.channel(target.slice(1)) ?? label ?? target.slice(1));
  } else if (target.startsWith("!")) {
    const special = target.slice(1);
    span.className = special.startsWith("date") ? "" : "mention";
    span.textContent = label !== undefined ? unescapeEntities(label) : "@" + special;
  } else {
    const href = unescapeEntities(target);
    if (!isSafeUrl(href)) {
      span.textContent = unescapeEntities(label ?? target);
      return span;
    }
    const a = document.createElement("a");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.textContent = unescapeEntities(label ?? target);
    return a;
  }
  return span;
}

function splitOnce(text, sep) {
  const at = text.indexOf(sep);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}
