// devbox mail: the caught-mail web UI. Plain DOM, no framework; every
// string from a message goes in through textContent, never as HTML. The
// HTML part is shown only in a sandboxed iframe (no scripts, no same
// origin) that the server also serves with a CSP sandbox.
"use strict";
(function () {
  const PAGE = 50;
  const $ = (id) => document.getElementById(id);
  const state = { seq: 0, start: 0, query: "", msgs: [], sel: -1, open: null, tab: "html", total: 0, matched: 0 };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function addr(a) { return a ? (a.Name ? a.Name + " <" + a.Address + ">" : a.Address) : ""; }
  function addrs(l) { return (l || []).map(addr).join(", "); }
  function size(n) { return n < 1024 ? n + " B" : n < 1048576 ? (n / 1024).toFixed(1) + " kB" : (n / 1048576).toFixed(1) + " MB"; }
  function ago(t) {
    const s = (Date.now() - new Date(t).getTime()) / 1000;
    if (s < 60) return "just now";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return new Date(t).toLocaleDateString();
  }
  async function api(method, path, body) {
    const opt = { method, headers: {} };
    if (body !== undefined) { opt.body = JSON.stringify(body); opt.headers["Content-Type"] = "application/json"; }
    const r = await fetch(path, opt);
    if (!r.ok) throw new Error(method + " " + path + ": " + r.status + " " + (await r.text()));
    const ct = r.headers.get("Content-Type") || "";
    return ct.startsWith("application/json") ? r.json() : r.text();
  }

  async function load() {
    const q = state.query.trim();
    const path = q ? "/api/v1/search?query=" + encodeURIComponent(q) + "&start=" + state.start + "&limit=" + PAGE
      : "/api/v1/messages?start=" + state.start + "&limit=" + PAGE;
    // A slower, older answer must not overwrite a newer one.
    const seq = ++state.seq;
    let res;
    try { res = await api("GET", path); } catch (e) { $("status").textContent = e.message; return; }
    if (seq !== state.seq) return;
    const selID = state.msgs[state.sel] ? state.msgs[state.sel].ID : null;
    state.msgs = res.messages; state.total = res.total; state.matched = res.messages_count;
    state.sel = Math.max(0, state.msgs.findIndex((m) => m.ID === selID));
    if (!state.msgs.length) state.sel = -1;
    document.title = (res.unread ? "(" + res.unread + ") " : "") + "devbox mail";
    $("status").textContent = q ? res.messages_count + " of " + res.total + " messages match" : res.total + " messages, " + res.unread + " unread";
    $("range").textContent = state.msgs.length ? (state.start + 1) + "–" + (state.start + state.msgs.length) + " of " + res.messages_count : "";
    $("prev").disabled = state.start === 0;
    $("next").disabled = state.start + state.msgs.length >= res.messages_count;
    renderTags(res.tags);
    renderList();
  }

  function renderTags(tags) {
    const box = $("tags");
    box.replaceChildren();
    for (const t of tags || []) {
      const b = el("button", "tag", t);
      b.type = "button";
      b.title = "show tag:" + t + " only";
      b.onclick = () => search("tag:" + (t.includes(" ") ? '"' + t + '"' : t));
      box.append(b);
    }
  }

  function renderList() {
    const list = $("list");
    list.replaceChildren();
    if (!state.msgs.length) { list.append(el("li", "empty", state.query ? "Nothing matches." : "No mail caught yet.")); return; }
    state.msgs.forEach((m, i) => {
      const li = el("li", "row" + (m.Read ? "" : " unread") + (i === state.sel ? " sel" : ""));
      li.dataset.id = m.ID;
      li.append(el("span", "from", addr(m.From) || "(no sender)"), el("span", "time", ago(m.Created)));
      const subj = el("span", "subject", m.Subject || "(no subject)");
      if (m.Attachments) subj.prepend(el("span", "att", m.Attachments === 1 ? "1 attachment" : m.Attachments + " attachments"));
      li.append(subj, el("span", "size", size(m.Size)));
      li.append(el("span", "to", "To: " + addrs((m.To || []).concat(m.Cc || []))));
      li.append(el("span", "snippet", m.Snippet));
      li.title = new Date(m.Created).toString();
      li.onclick = () => { state.sel = i; openMessage(m.ID); };
      list.append(li);
    });
  }

  function select(i) {
    if (!state.msgs.length) return;
    state.sel = Math.min(Math.max(i, 0), state.msgs.length - 1);
    renderList();
    const row = $("list").children[state.sel];
    if (row) row.scrollIntoView({ block: "nearest" });
  }

  async function openMessage(id) {
    let m;
    try { m = await api("GET", "/api/v1/message/" + encodeURIComponent(id)); } catch (e) { $("status").textContent = e.message; return; }
    state.open = m;
    $("view").hidden = false;
    $("subject").textContent = m.Subject || "(no subject)";
    const meta = $("meta");
    meta.replaceChildren();
    const rows = [["From", addr(m.From)], ["To", addrs(m.To)], ["Cc", addrs(m.Cc)], ["Bcc", addrs(m.Bcc)], ["Reply-To", addrs(m.ReplyTo)],
      ["Date", new Date(m.Date).toString()], ["Tags", (m.Tags || []).join(", ")], ["Size", size(m.Size)]];
    for (const [k, v] of rows) if (v) meta.append(el("dt", "", k), el("dd", "", v));
    const att = $("attachments");
    att.replaceChildren();
    for (const a of (m.Attachments || []).concat(m.Inline || [])) {
      const li = el("li");
      const href = "/api/v1/message/" + m.ID + "/part/" + a.PartID;
      if (a.ContentType.startsWith("image/") && a.ContentType !== "image/svg+xml") {
        const img = el("img"); img.src = href + "/thumb"; img.alt = a.FileName; li.append(img);
      }
      const link = el("a", "", (a.FileName || a.PartID) + " (" + size(a.Size) + ")");
      link.href = href; link.download = a.FileName || "part-" + a.PartID; link.rel = "noopener";
      li.append(link);
      att.append(li);
    }
    $("download").href = "/api/v1/message/" + m.ID + "/raw?dl";
    $("toggleread").textContent = "Mark unread";
    showTab(m.HTML ? "html" : "text");
    load();
  }

  async function showTab(tab) {
    const m = state.open;
    if (!m) return;
    state.tab = tab;
    for (const b of $("tabs").children) b.classList.toggle("on", b.dataset.tab === tab);
    $("html").hidden = tab !== "html"; $("text").hidden = tab !== "text";
    $("headers").hidden = tab !== "headers"; $("raw").hidden = tab !== "raw";
    $("remote").hidden = tab !== "html" || !m.HTML || !/<img[^>]+src=["']?https?:/i.test(m.HTML);
    if (tab === "html") {
      $("html").dataset.loaded = "";
      $("html").src = m.HTML ? "/view/" + m.ID + ".html" : "about:blank";
    } else if (tab === "text") {
      $("text").textContent = m.Text;
    } else if (tab === "headers") {
      const h = await api("GET", "/api/v1/message/" + m.ID + "/headers");
      const t = $("headers");
      t.replaceChildren();
      for (const k of Object.keys(h).sort()) for (const v of h[k]) {
        const tr = el("tr"); tr.append(el("td", "", k), el("td", "", v)); t.append(tr);
      }
    } else if (tab === "raw") {
      $("raw").textContent = await api("GET", "/api/v1/message/" + m.ID + "/raw");
    }
  }

  // del deletes the open message (button) or the selected row (Delete key).
  async function del(fromKey) {
    const m = fromKey ? state.msgs[state.sel] : state.open;
    if (!m) return;
    if (!confirm("Delete \"" + (m.Subject || "(no subject)") + "\"?")) return;
    await api("DELETE", "/api/v1/messages", { IDs: [m.ID] });
    if (state.open && state.open.ID === m.ID) { state.open = null; $("view").hidden = true; }
    load();
  }

  async function release() {
    const m = state.open;
    if (!m) return;
    const to = (m.To || []).concat(m.Cc || [], m.Bcc || []).map((a) => a.Address).join(", ");
    const answer = prompt("Release this message to the configured upstream, to these recipients:", to);
    if (answer === null) return;
    const list = answer.split(",").map((s) => s.trim()).filter(Boolean);
    if (!list.length || !confirm("Send \"" + m.Subject + "\" to " + list.join(", ") + "?")) return;
    try { await api("POST", "/api/v1/message/" + m.ID + "/release", { To: list }); $("status").textContent = "Released to " + list.join(", "); }
    catch (e) { alert(e.message); }
  }

  function search(q) { $("search").value = q; state.query = q; state.start = 0; load(); }

  $("searchform").onsubmit = (e) => { e.preventDefault(); search($("search").value); };
  $("prev").onclick = () => { state.start = Math.max(0, state.start - PAGE); load(); };
  $("next").onclick = () => { state.start += PAGE; load(); };
  $("delete").onclick = () => del(false);
  $("release").onclick = release;
  $("toggleread").onclick = async () => {
    const m = state.open; if (!m) return;
    const read = $("toggleread").textContent !== "Mark unread";
    await api("PUT", "/api/v1/messages", { IDs: [m.ID], Read: read });
    $("toggleread").textContent = read ? "Mark unread" : "Mark read";
    load();
  };
  $("readall").onclick = async () => { if (confirm("Mark every message read?")) { await api("PUT", "/api/v1/messages", { Read: true }); load(); } };
  $("deleteall").onclick = async () => {
    if (!confirm("Delete all " + state.total + " messages?")) return;
    await api("DELETE", "/api/v1/messages", {}); state.open = null; $("view").hidden = true; load();
  };
  $("loadremote").onclick = () => { if (state.open) { $("html").src = "/view/" + state.open.ID + ".html?remote"; $("remote").hidden = true; } };
  $("html").onload = () => { $("html").dataset.loaded = "1"; };
  for (const b of $("tabs").children) b.onclick = () => showTab(b.dataset.tab);

  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT" || e.metaKey || e.ctrlKey || e.altKey) {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    if (e.key === "j") select(state.sel + 1);
    else if (e.key === "k") select(state.sel - 1);
    else if (e.key === "Enter" && state.msgs[state.sel]) openMessage(state.msgs[state.sel].ID);
    else if (e.key === "Delete") del(true);
    else if (e.key === "/") { e.preventDefault(); $("search").focus(); }
    else return;
    e.preventDefault();
  });

  // Live updates: the server says when the store changed; the page
  // reloads the list it shows (at most a few times a second).
  let pending = false;
  const events = new EventSource("/api/events");
  events.onmessage = () => {
    if (pending) return;
    pending = true;
    setTimeout(() => { pending = false; load(); }, 150);
  };
  load();
})();
