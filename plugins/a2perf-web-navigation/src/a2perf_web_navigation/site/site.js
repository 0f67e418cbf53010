/* Web navigation page logic: rebuilds the site in place and acts, one call per reset or step. */
"use strict";
window.__wn = (function () {
  const S = {
    root: null, pages: [], page: 0, profile: {}, fields: [], done: false, raw: 0,
    elements: [], seen: new WeakSet(), tampered: new WeakSet(), touched: new Set(),
    focused: null, signature: "", sites: {},
  };
  const TYPEABLE = { type: 1, select: 1, check: 1, radio: 1 };

  function ownText(el) {
    return el.childElementCount === 0 ? el.textContent.trim() : "";
  }

  function tagOf(el) {
    const tag = el.tagName.toLowerCase();
    return tag === "input" ? "input_" + (el.type || "text") : tag;
  }

  function valueOf(el) {
    if (el.tagName === "INPUT" && (el.type === "checkbox" || el.type === "radio")) return el.checked ? "True" : "False";
    if (el.tagName === "INPUT" || el.tagName === "SELECT" || el.tagName === "TEXTAREA") return el.value;
    return "";
  }

  function fieldCorrect(key, requireTouched) {
    if (requireTouched && !S.touched.has(key)) return false;
    const want = S.profile[key];
    const el = S.root.querySelector('[data-f="' + key + '"]');
    if (!el) return false;
    if (el.type === "checkbox") return el.checked === want;
    if (el.type === "radio") {
      const group = S.root.querySelectorAll('input[name="' + el.name + '"]');
      for (const r of group) if (r.checked) return r.value === want;
      return false;
    }
    return el.value === want;
  }

  function countCorrect(requireTouched) {
    let n = 0;
    for (const key of S.fields) if (fieldCorrect(key, requireTouched)) n += 1;
    return n;
  }

  function observe() {
    const page = S.pages[S.page];
    const base = S.root.getBoundingClientRect();
    const W = Math.max(base.width, 1), H = Math.max(base.height, 1);
    const candidates = [S.root, page, ...page.querySelectorAll("*")];
    const elements = [], text = [], features = [], typeable = [], sig = [];
    const seen = new WeakSet();
    for (const el of candidates) {
      const r = el.getBoundingClientRect();
      if (r.width <= 0 || r.height <= 0) continue;
      const tag = tagOf(el), value = valueOf(el), own = ownText(el);
      const tampered = S.tampered.has(el) ? 1 : 0;
      const left = (r.left - base.left) / W, top = (r.top - base.top) / H;
      text.push(tag, value, own, el.getAttribute("placeholder") || "", el.getAttribute("class") || "");
      features.push(el === S.focused ? 1 : 0, tampered, S.seen.has(el) ? 0 : 1, el.tagName === "DIV" ? 1 : 0,
        left, top, r.width / W, r.height / H);
      typeable.push(TYPEABLE[el.dataset.a] ? 1 : 0);
      sig.push(tag, value, own, tampered, left, top, r.width, r.height);
      elements.push(el);
      seen.add(el);
    }
    S.elements = elements;
    S.seen = seen;
    return { text: text, features: features, typeable: typeable, signature: sig.join("\u0001") };
  }

  function result(changed) {
    const obs = observe();
    const isChanged = changed || obs.signature !== S.signature;
    S.signature = obs.signature;
    const nf = S.fields.length;
    return {
      text: obs.text, features: obs.features, typeable: obs.typeable, changed: isChanged, done: S.done, raw: S.raw,
      phi: nf ? countCorrect(true) / nf : 0, page: S.page,
    };
  }

  function showPage(i) {
    S.pages[S.page].style.display = "none";
    S.page = i;
    S.pages[i].style.display = "";
  }

  // a click on anything that is not a form control: next page, submit, distractor, menu toggler
  function press(kind, el) {
    if (kind === "next") {
      showPage(S.page + 1);
    } else if (kind === "submit") {
      S.done = true;
      S.raw = countCorrect(false) === S.fields.length ? 1 : -1;
    } else if (kind === "exit") {
      S.done = true;
      S.raw = -1;
    } else if (kind === "toggle") {
      const menu = el.parentElement.querySelector(".navbar-nav");
      menu.style.display = menu.style.display === "none" ? "" : "none";
    }
  }

  function build(key, html, profile) {
    if (!S.root) S.root = document.getElementById("site");
    if (html !== null) S.sites[key] = html;
    S.root.innerHTML = S.sites[key];
    S.pages = Array.from(S.root.querySelectorAll(".wn-page"));
    S.page = 0;
    S.profile = profile;
    S.fields = Object.keys(profile).filter(function (k) { return k !== "_dummy"; });
    S.done = false; S.raw = 0;
    S.seen = new WeakSet(); S.tampered = new WeakSet(); S.touched = new Set(); S.focused = null;
    S.signature = "";
    return result(true);
  }

  function act(index, value, typing) {
    const el = S.elements[index];
    if (!el || S.done) return result(false);
    const kind = el.dataset.a || "";
    const key = el.dataset.f;
    if (kind === "type" || kind === "select") {
      if (typing) el.value = value === null ? "" : String(value);
      S.focused = el;
    } else if (kind === "check") {
      el.checked = typing ? value === true : !el.checked;
      S.focused = el;
    } else if (kind === "radio") {
      let target = el;
      if (typing) {
        target = null;
        for (const r of S.root.querySelectorAll('input[name="' + el.name + '"]')) if (r.value === value) target = r;
      }
      if (target) target.checked = true;
      S.focused = el;
    } else {
      press(kind, el);
      S.focused = null;
    }
    if (TYPEABLE[kind]) {
      S.tampered.add(el);
      if (key) S.touched.add(key);
    }
    return result(S.done);
  }

  // A2Perf's visitGroup(id, value): fields get the value (null clears them), a radio group picks the
  // radio whose value equals it, a checkbox is clicked (toggled) only when the value == true, anything
  // else is clicked whatever the value; every visit marks a field element as visited.
  function visit(index, value) {
    const el = S.elements[index];
    if (!el || S.done) return result(false);
    const kind = el.dataset.a || "";
    const key = el.dataset.f;
    if (kind === "type" || kind === "select") {
      el.value = value === null ? "" : String(value);
      S.focused = el;
    } else if (kind === "radio") {
      for (const r of S.root.querySelectorAll('input[name="' + el.name + '"]')) if (r.value == value) r.checked = true;
      S.focused = el;
    } else if (kind === "check") {
      if (value == true) el.checked = !el.checked;
      S.focused = el;
    } else {
      press(kind, el);
      S.focused = null;
    }
    if (TYPEABLE[kind]) {
      S.tampered.add(el);
      if (key) S.touched.add(key);
    }
    return result(S.done);
  }

  function describe() {
    return S.elements.map(function (el) {
      return [el.dataset.a || "", el.dataset.f || "", S.tampered.has(el) ? 1 : 0];
    });
  }

  return { build: build, act: act, visit: visit, describe: describe };
})();
