// The dev server's outbox as a list: recipient, subject, time, and the mail's text with its
// one link made clickable. Built with DOM nodes only (no innerHTML): a mail's text is data.
const list = document.getElementById("messages");

function linkify(text) {
  const out = document.createDocumentFragment();
  for (const part of text.split(/(https?:\/\/\S+)/)) {
    if (/^https?:\/\//.test(part)) {
      const a = document.createElement("a");
      a.href = part;
      a.textContent = part;
      out.append(a);
    } else {
      out.append(part);
    }
  }
  return out;
}

async function load() {
  const resp = await fetch("/_dev/mail", { cache: "no-store" });
  const { messages } = await resp.json();
  list.replaceChildren();
  for (const m of messages) {
    const item = document.createElement("li");
    item.className = "mail";
    const head = document.createElement("p");
    const when = new Date(m.sent_at * 1000).toLocaleTimeString();
    head.textContent = `${when} to ${m.to}: ${m.subject}`;
    const body = document.createElement("pre");
    body.append(linkify(m.text));
    item.append(head, body);
    list.append(item);
  }
  if (!messages.length) {
    const none = document.createElement("li");
    none.textContent = "No mail yet.";
    list.append(none);
  }
}

document.getElementById("reload").addEventListener("click", load);
load();
