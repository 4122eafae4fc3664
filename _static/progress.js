/* Inside Neural Networks: the reader's progress, kept in this browser only.
 *
 * What it adds (nothing of it is in the HTML: with JavaScript off the pages read as before):
 *   - at the end of every page a "Mark as read" button, the page's Check-yourself answers opened,
 *     an exercise sheet's questions that passed their public tests in Jupyter, and the
 *     Export / Import / Reset buttons;
 *   - a tick after every page marked read in the sidebar, "passed/total" after an exercise sheet,
 *     and under every sidebar caption (a part of the book) a bar of the pages read in it;
 *   - on the cover page "Continue where you left off" and the same buttons.
 *
 * Storage: localStorage (no cookie, no server). Key "inside-neural-networks.progress" holds the
 * progress; "inside-neural-networks.pages" is a cache (page address -> page key) used to put the
 * ticks on the sidebar's links. The progress is keyed by page KEYS, not addresses, so that renamed
 * pages and another language edition (e.g. /zh/) keep it. A page's key (pageKey below) is
 *   1. for an exercise sheet, "sheet:" + the sheet name of its `checker("01_neuron")` cell;
 *   2. else the first MyST label written before the page title, e.g. (sec-neuron)= -> "sec-neuron"
 *      (Sphinx renders it as <span id="sec-neuron"></span> just before the <h1>);
 *   3. else the id of the page's first section (the title's slug).
 *
 * Schema, version 1 (also written by nngrade's check(), see nngrade/student.py):
 *   {"schema": "inside-neural-networks/progress", "version": 1,
 *    "pages":     {pageKey: {"read": isoTime}},
 *    "answered":  {pageKey: {"1": isoTime, "3": isoTime}}   // n-th Check-yourself dropdown
 *    "exercises": {sheet: {"questions": ["q1", ...],
 *                          "results": {"q1": {"passed": true, "at": isoTime}}}},
 *    "last":      {"key": pageKey, "path": "chapters/02_neuron.html", "title": "...", "at": isoTime}}
 * Import merges (the later time wins for each entry); Reset forgets everything.
 *
 * A progress file comes from outside (anyone can hand a reader a file to import), so normalise()
 * keeps only what fits the schema and drops the rest, saying what it dropped: page keys, sheet
 * names, question ids and answer numbers must match the patterns below (and never "__proto__",
 * "constructor", "prototype"); times are ISO 8601 UTC between 2000 and tomorrow; counts and
 * lengths are bounded (LIMITS); last.path is a relative address of a page of this site
 * ("chapters/02_neuron.html": letters, digits, _ . / - only, ending in .html, no "..") and is
 * checked again before it becomes the cover's link. A file larger than MAX_FILE_BYTES is not
 * read at all. The maps are made with Object.create(null), looked up by own keys only, and
 * nothing imported is ever parsed as HTML (textContent and setAttribute with checked values).
 *
 * The sidebar needs the keys of the pages it links: a page learns its own key when it is opened,
 * and, when the progress holds keys the sidebar cannot place (after an Import, or from another
 * edition), the script reads the top of the other pages once (fetch, stopped after the title)
 * and caches their keys. Over http (a local server, the published site) that works; a page
 * opened from the disk (file://) cannot read other files: Chromium still keeps the progress (all
 * file:// pages share one local storage), but the sidebar ticks only pages opened in this
 * browser. Other browsers may give each file its own storage: serve the site (make serve).
 */
(function () {
  "use strict";

  var STORE = "inside-neural-networks.progress";
  var MAP = "inside-neural-networks.pages";
  var SCHEMA = "inside-neural-networks/progress";
  var VERSION = 1;
  var FETCH_LIMIT = 600000;  // bytes of another page read to find its key (the title is near the top)
  var MAX_FILE_BYTES = 1048576;  // an Import larger than 1 MiB is refused unread (a real one is a few kB)
  var LIMITS = {pages: 2000, answersPerPage: 200, sheets: 200, questions: 200, title: 200, dropped: 5};
  // What a key may look like (see the comment at the top).
  var LABEL = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;          // a MyST label or section id; a sheet name
  var PAGE_KEY = /^(sheet:)?[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;
  var QUESTION = /^[A-Za-z0-9_]{1,40}$/;                      // "q1": as in check("q1")
  var ANSWER = /^[1-9][0-9]{0,3}$/;                           // the n-th Check-yourself answer, from 1
  var PAGE_PATH = /^[A-Za-z0-9_-][A-Za-z0-9_.\/-]{0,199}\.html$/;
  var ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
  // (a list: in an object literal "__proto__" would set the prototype, not make a key)
  var RESERVED = ["__proto__", "constructor", "prototype"];


  // ------------------------------------------------------------------ words (English, Chinese)
  // The page's <html lang> chooses; a Chinese edition (lang="zh...") gets the zh texts.
  var TEXT = {
    en: {
      title: "Your progress",
      mark: "Mark as read",
      readState: "\u2713 Read",
      marked: "Marked as read.",
      unmarked: "No longer marked as read.",
      tickTitle: "marked as read",
      tickSr: " (read)",
      sheetTitle: "questions that pass their public tests in Jupyter",
      sheetSr: function (p, t) { return " (" + p + " of " + t + " questions pass their public tests)"; },
      partLabel: function (name, r, t) { return name + ": " + r + " of " + t + " pages read"; },
      checkYourself: function (n, t) { return "Check yourself: " + n + " of " + t + " answers opened."; },
      exercises: function (p, t) {
        return "Exercises: " + p + " of " + t + " questions pass their public tests " +
               "(recorded by check() in Jupyter, then imported here).";
      },
      noExercises: "Exercises: none recorded yet. In Jupyter, check() records the questions that " +
                   "pass their public tests in ~/.inside-neural-networks/progress.json: import that " +
                   "file here to see them.",
      questionPassed: function (q, day) { return "\u2713 " + q + " passed its public tests in Jupyter (" + day + ")."; },
      questionFailed: function (q, day) { return q + " did not pass its public tests yet in Jupyter (" + day + ")."; },
      cont: "Continue where you left off: ",
      nothingYet: "Your progress appears here once you have opened a chapter.",
      exportB: "Export", importB: "Import", resetB: "Reset",
      fileLabel: "Progress file to import",
      exported: function (n) { return "Exported " + n + " page(s) read to inside-neural-networks-progress.json."; },
      notImported: function (name, why) { return "Not imported: " + name + ": " + why + "."; },
      unreadable: function (name) { return "Not imported: " + name + " could not be read."; },
      tooLarge: function (name, size) {
        return "Not imported: " + name + " is " + size + " bytes; a progress file is at most " +
               MAX_FILE_BYTES + " bytes (1 MiB): expected an export of this site or the progress.json " +
               "written by check().";
      },
      imported: function (name, n, q) {
        return "Imported " + name + ": " + n + " page(s) read, " + q + " exercise question(s) passed.";
      },
      dropped: function (n, examples) {
        return " Left out " + n + " entr" + (n === 1 ? "y" : "ies") + " that do not fit the progress " +
               "format: " + examples.join("; ") + (n > examples.length ? "; \u2026" : "") + ".";
      },
      why: {
        key: "not a page key (letters, digits, _ . - up to 100 characters)",
        sheet: "not a sheet name", question: "not a question id like q1",
        answer: "not an answer number (1, 2, ...)", time: "not an ISO 8601 UTC time between 2000 and now",
        entry: "not an object of the expected shape", path: "not a page of this site (e.g. chapters/02_neuron.html)",
        many: "too many entries", reserved: "a reserved name"
      },
      confirmReset: "Forget every page marked read, every answer opened and every exercise result " +
                    "in this browser?",
      wasReset: "Progress reset: nothing is marked in this browser now.",
      note: "Kept in this browser only (its local storage: no account, no cookie, nothing sent). " +
            "Export saves it to a file; Import adds a file exported here or written by check() in Jupyter.",
      noStorage: "This browser does not let the page keep data, so progress cannot be saved here.",
      notSaved: "Could not save: this browser does not let the page keep data.",
      sections: function (t) { return "Sections of " + t; }
    },
    zh: {
      title: "学习进度",
      mark: "标记为已读",
      readState: "\u2713 已读",
      marked: "已标记为已读。",
      unmarked: "已取消“已读”标记。",
      tickTitle: "已读",
      tickSr: "（已读）",
      sheetTitle: "在 Jupyter 中通过公开测试的题目",
      sheetSr: function (p, t) { return "（" + t + " 道题中 " + p + " 道通过公开测试）"; },
      partLabel: function (name, r, t) { return name + "：" + t + " 页中已读 " + r + " 页"; },
      checkYourself: function (n, t) { return "自测：" + t + " 个答案中已打开 " + n + " 个。"; },
      exercises: function (p, t) {
        return "练习：" + t + " 道题中 " + p + " 道通过公开测试（由 Jupyter 中的 check() 记录，再导入本站）。";
      },
      noExercises: "练习：尚无记录。在 Jupyter 中，check() 会把通过公开测试的题目记录在 " +
                   "~/.inside-neural-networks/progress.json；在这里导入该文件即可看到。",
      questionPassed: function (q, day) { return "\u2713 " + q + " 已在 Jupyter 中通过公开测试（" + day + "）。"; },
      questionFailed: function (q, day) { return q + " 在 Jupyter 中尚未通过公开测试（" + day + "）。"; },
      cont: "从上次离开的地方继续：",
      nothingYet: "打开任意一章后，这里会显示你的学习进度。",
      exportB: "导出", importB: "导入", resetB: "重置",
      fileLabel: "要导入的进度文件",
      exported: function (n) { return "已导出 " + n + " 个已读页面到 inside-neural-networks-progress.json。"; },
      notImported: function (name, why) { return "未导入 " + name + "：" + why + "。"; },
      unreadable: function (name) { return "未导入：无法读取 " + name + "。"; },
      tooLarge: function (name, size) {
        return "未导入：" + name + " 有 " + size + " 字节；进度文件最多 " + MAX_FILE_BYTES +
               " 字节（1 MiB）：应为本站导出的文件或 check() 写入的 progress.json。";
      },
      imported: function (name, n, q) {
        return "已导入 " + name + "：" + n + " 个已读页面，" + q + " 道练习题已通过。";
      },
      dropped: function (n, examples) {
        return "有 " + n + " 项不符合进度文件格式，未导入：" + examples.join("；") +
               (n > examples.length ? "；\u2026" : "") + "。";
      },
      why: {
        key: "不是页面键（字母、数字、_ . -，最多 100 个字符）",
        sheet: "不是练习名", question: "不是题号（如 q1）",
        answer: "不是答案序号（1、2……）", time: "不是 2000 年至今的 ISO 8601 UTC 时间",
        entry: "不是预期结构的对象", path: "不是本站的页面（如 chapters/02_neuron.html）",
        many: "条目过多", reserved: "保留名称"
      },
      confirmReset: "确定要清除本浏览器中所有已读标记、已打开的答案和练习结果吗？",
      wasReset: "进度已重置：本浏览器中不再有任何标记。",
      note: "进度只保存在本浏览器中（本地存储：无需账号，不用 Cookie，不发送任何数据）。" +
            "“导出”将其保存为文件；“导入”可加入在此导出的文件或 Jupyter 中 check() 写入的文件。",
      noStorage: "此浏览器不允许网页保存数据，因此无法在这里保存进度。",
      notSaved: "无法保存：此浏览器不允许网页保存数据。",
      sections: function (t) { return t + " 的各节"; }
    }
  };
  var T = /^zh/i.test(document.documentElement.lang || "") ? TEXT.zh : TEXT.en;

  // ------------------------------------------------------------------ storage
  function storage() {
    try {
      var s = window.localStorage;
      s.setItem(STORE + ".test", "1");
      s.removeItem(STORE + ".test");
      return s;
    } catch (e) {
      return null;  // storage disabled (private mode, a browser setting): the buttons explain it
    }
  }

  function nowIso() { return new Date().toISOString().replace(/\.\d{3}Z$/, "Z"); }

  function dict() { return Object.create(null); }  // a map without a prototype to pollute

  function empty() {
    return {schema: SCHEMA, version: VERSION, pages: dict(), answered: dict(), exercises: dict(), last: null};
  }

  function isObject(x) { return x !== null && typeof x === "object" && !Array.isArray(x); }
  function own(o, k) { return Object.prototype.hasOwnProperty.call(o, k); }
  function get(o, k) { return own(o, k) ? o[k] : undefined; }
  // An ISO 8601 UTC time ("2026-11-30T11:50:00Z", as nowIso() and check() write) from 2000 to
  // tomorrow: a time in the future would win every later merge.
  function isTime(x) {
    if (typeof x !== "string" || !ISO_UTC.test(x)) { return false; }
    var t = Date.parse(x);
    return !isNaN(t) && t >= Date.UTC(2000, 0, 1) && t <= Date.now() + 86400000;
  }
  function reserved(k) { return RESERVED.indexOf(k) >= 0; }
  function isKey(k, pattern) { return typeof k === "string" && pattern.test(k) && !reserved(k); }
  function later(a, b) { return Date.parse(a) >= Date.parse(b) ? a : b; }

  // A relative address of a page of this site ("chapters/02_neuron.html"), or null. Checked when
  // read and again before it becomes a link: no scheme (javascript:, https:), no leading "/", no
  // "//", no "..", and it must resolve inside the site's root.
  function pagePath(p) {
    if (typeof p !== "string" || !PAGE_PATH.test(p) || /(^|\/)\.\.?(\/|$)|\/\//.test(p)) { return null; }
    var url = new URL(p, siteRoot());
    return relPath(url) === p ? url : null;
  }

  // A clean copy of `data` with the entries this version understands; throws an Error that says
  // what was wrong and what was expected. Entries that do not fit are left out and, when
  // `dropped` (an array) is given, described there ("where: why").
  function normalise(data, dropped) {
    if (!isObject(data)) {
      throw new Error("the file does not hold a JSON object (expected an export of this site " +
                      "or the progress.json written by check())");
    }
    if (get(data, "schema") !== SCHEMA) {
      throw new Error("\"schema\" is " + String(JSON.stringify(get(data, "schema"))).slice(0, 80) +
                      ", expected \"" + SCHEMA + "\"");
    }
    var version = get(data, "version");
    if (typeof version !== "number" || version < 1 || version > VERSION || Math.floor(version) !== version) {
      throw new Error("progress version " + String(JSON.stringify(version)).slice(0, 40) +
                      " is not one this site reads (1 to " + VERSION + ")");
    }
    var drops = [];
    function drop(where, why) { drops.push(where + ": " + T.why[why]); }
    function name(k) { return JSON.stringify(String(k).slice(0, 40)); }
    function why(k, pattern) { return reserved(k) ? "reserved" : (pattern.test(k) ? "many" : keyWhy(pattern)); }
    function keyWhy(pattern) {
      return pattern === QUESTION ? "question" : pattern === ANSWER ? "answer" : pattern === LABEL ? "sheet" : "key";
    }
    // the own entries of `obj` (if an object) whose keys fit `pattern`, at most `limit` of them
    function entries(obj, where, pattern, limit) {
      if (obj === undefined) { return []; }
      if (!isObject(obj)) { drop(where, "entry"); return []; }
      var keep = [];
      Object.keys(obj).forEach(function (k) {
        if (isKey(k, pattern) && keep.length < limit) { keep.push(k); } else { drop(where + "[" + name(k) + "]", why(k, pattern)); }
      });
      return keep;
    }
    var out = empty();
    var pages = get(data, "pages");
    entries(pages, "pages", PAGE_KEY, LIMITS.pages).forEach(function (k) {
      var p = pages[k];
      if (isObject(p) && isTime(get(p, "read"))) { out.pages[k] = {read: p.read}; }
      else { drop("pages[" + name(k) + "]", isObject(p) ? "time" : "entry"); }
    });
    var answered = get(data, "answered");
    entries(answered, "answered", PAGE_KEY, LIMITS.pages).forEach(function (k) {
      var where = "answered[" + name(k) + "]";
      entries(answered[k], where, ANSWER, LIMITS.answersPerPage).forEach(function (n) {
        if (!isTime(answered[k][n])) { drop(where + "[" + name(n) + "]", "time"); return; }
        if (!own(out.answered, k)) { out.answered[k] = dict(); }
        out.answered[k][n] = answered[k][n];
      });
    });
    var exercises = get(data, "exercises");
    entries(exercises, "exercises", LABEL, LIMITS.sheets).forEach(function (sheet) {
      var e = exercises[sheet];
      var where = "exercises[" + name(sheet) + "]";
      if (!isObject(e)) { drop(where, "entry"); return; }
      var clean = {questions: [], results: dict()};
      var questions = get(e, "questions");
      if (Array.isArray(questions)) {
        questions.forEach(function (q) {
          if (!isKey(q, QUESTION)) { drop(where + ".questions[" + name(q) + "]", "question"); }
          else if (clean.questions.indexOf(q) >= 0) { return; }  // a repeated id: once is enough
          else if (clean.questions.length >= LIMITS.questions) { drop(where + ".questions[" + name(q) + "]", "many"); }
          else { clean.questions.push(q); }
        });
      } else if (questions !== undefined) {
        drop(where + ".questions", "entry");
      }
      var results = get(e, "results");
      entries(results, where + ".results", QUESTION, LIMITS.questions).forEach(function (q) {
        var r = results[q];
        if (isObject(r) && typeof get(r, "passed") === "boolean" && isTime(get(r, "at"))) {
          clean.results[q] = {passed: r.passed, at: r.at};
        } else {
          drop(where + ".results[" + name(q) + "]", isObject(r) && typeof get(r, "passed") === "boolean" ? "time" : "entry");
        }
      });
      out.exercises[sheet] = clean;
    });
    var last = get(data, "last");
    if (isObject(last)) {
      var title = get(last, "title");
      if (!isKey(get(last, "key"), PAGE_KEY)) { drop("last.key", "key"); }
      else if (!pagePath(get(last, "path"))) { drop("last.path", "path"); }
      else if (!isTime(get(last, "at"))) { drop("last.at", "time"); }
      else {
        title = typeof title === "string" ? title.replace(/[\u0000-\u001f\u007f]+/g, " ").trim() : "";
        out.last = {key: last.key, path: last.path, title: title.slice(0, LIMITS.title) || last.key, at: last.at};
      }
    } else if (last !== undefined && last !== null) {
      drop("last", "entry");
    }
    if (dropped) { drops.forEach(function (d) { dropped.push(d); }); }
    return out;
  }

  // `b` merged into `a` (both normalised): every entry keeps its later time.
  function merge(a, b) {
    var out = normalise(JSON.parse(JSON.stringify(a)));
    Object.keys(b.pages).forEach(function (k) {
      out.pages[k] = own(out.pages, k) ? {read: later(out.pages[k].read, b.pages[k].read)} : b.pages[k];
    });
    Object.keys(b.answered).forEach(function (k) {
      if (!own(out.answered, k)) { out.answered[k] = dict(); }
      Object.keys(b.answered[k]).forEach(function (n) {
        var t = b.answered[k][n];
        out.answered[k][n] = own(out.answered[k], n) ? later(out.answered[k][n], t) : t;
      });
    });
    Object.keys(b.exercises).forEach(function (sheet) {
      var mine = own(out.exercises, sheet) ? out.exercises[sheet] : {questions: [], results: dict()};
      var theirs = b.exercises[sheet];
      if (theirs.questions.length) { mine.questions = theirs.questions.slice(); }
      Object.keys(theirs.results).forEach(function (q) {
        var r = theirs.results[q];
        if (!own(mine.results, q) || Date.parse(r.at) >= Date.parse(mine.results[q].at)) { mine.results[q] = r; }
      });
      out.exercises[sheet] = mine;
    });
    if (b.last && (!out.last || Date.parse(b.last.at) > Date.parse(out.last.at))) { out.last = b.last; }
    // the merge of two bounded records may exceed a bound: normalise once more
    return normalise(JSON.parse(JSON.stringify(out)));
  }

  var store = storage();

  function load() {
    if (!store) { return empty(); }
    var raw = store.getItem(STORE);
    if (!raw) { return empty(); }
    try {
      return normalise(JSON.parse(raw));
    } catch (e) {
      // keep what could not be read (a newer version's data, say) instead of overwriting it
      store.setItem(STORE + ".unreadable", raw);
      store.removeItem(STORE);
      return empty();
    }
  }

  function save(progress) {
    if (!store) { return false; }
    try {
      store.setItem(STORE, JSON.stringify(progress));
      return true;
    } catch (e) {
      return false;
    }
  }

  // The cache of page keys: only relative page addresses -> page keys that fit (it is read from
  // storage, which another script of the same origin could have written).
  function loadMap() {
    var clean = dict();
    try {
      var m = store ? JSON.parse(store.getItem(MAP) || "{}") : {};
      if (isObject(m)) {
        Object.keys(m).forEach(function (p) {
          if (pagePath(p) && isKey(m[p], PAGE_KEY)) { clean[p] = m[p]; }
        });
      }
    } catch (e) { /* a cache only */ }
    return clean;
  }

  function saveMap(map) {
    try { if (store) { store.setItem(MAP, JSON.stringify(map)); } } catch (e) { /* a cache only */ }
  }

  // ------------------------------------------------------------------ pages and keys
  function pageKey(doc) {
    var article = doc.querySelector("article.bd-article");
    if (!article) { return null; }
    var codes = article.querySelectorAll(".cell_input pre");
    for (var i = 0; i < codes.length; i++) {
      var m = /\bchecker\(\s*["']([A-Za-z0-9_.-]+)["']\s*[,)]/.exec(codes[i].textContent);
      if (m) { return "sheet:" + m[1]; }
    }
    var section = article.querySelector("section");
    if (!section) { return null; }
    for (var c = section.firstElementChild; c && !/^H[1-6]$/.test(c.tagName); c = c.nextElementSibling) {
      // skip id1, id2...: docutils' id for a non-ASCII title (Chinese pages), not a label
      if (c.tagName === "SPAN" && c.id && !/^id\d+$/.test(c.id)) { return c.id; }
    }
    return section.id || null;
  }

  function siteRoot() {
    return new URL(document.documentElement.getAttribute("data-content_root") || "./", location.href);
  }

  // The address of `url` relative to the site's root, e.g. "chapters/02_neuron.html".
  function relPath(url) {
    var u = new URL(url, location.href);
    var root = siteRoot();
    var path = decodeURIComponent(u.pathname);
    var base = decodeURIComponent(root.pathname);
    if (u.origin !== root.origin || path.indexOf(base) !== 0) { return null; }
    var rel = path.slice(base.length);
    return rel === "" || /\/$/.test(rel) ? rel + "index.html" : rel;
  }

  function linkText(a) {
    return a.textContent.replace(/\s+/g, " ").trim();
  }

  // The sidebar's parts: [{name, caption element, links: [{a, path}]}].
  function sidebarParts() {
    var nav = document.querySelector("nav.bd-docs-nav");
    if (!nav) { return []; }
    var parts = [];
    nav.querySelectorAll("p.caption").forEach(function (caption) {
      var list = caption.nextElementSibling;
      while (list && list.tagName !== "UL") { list = list.nextElementSibling; }
      if (!list) { return; }
      var links = [];
      list.querySelectorAll("a.reference.internal").forEach(function (a) {
        var href = a.getAttribute("href");
        var path = href === "#" || href === "" ? currentPath : relPath(a.href);
        if (path) { links.push({a: a, path: path.replace(/#.*$/, "")}); }
      });
      parts.push({name: caption.textContent.trim(), caption: caption, links: links});
    });
    return parts;
  }

  // Find the keys of sidebar pages the cache does not know, by reading the top of each page
  // (same origin only: over file:// the browser refuses, and only visited pages get ticks).
  function learnKeys(paths, map, done) {
    if (!paths.length || !window.fetch || !window.ReadableStream || location.protocol === "file:") {
      done(false);
      return;
    }
    var root = siteRoot();
    var pending = paths.length;
    var changed = false;
    function finish() { if (--pending === 0) { done(changed); } }
    paths.forEach(function (path) {
      fetch(new URL(path, root).href, {credentials: "same-origin"}).then(function (resp) {
        if (!resp.ok || !resp.body) { throw new Error("HTTP " + resp.status); }
        var reader = resp.body.getReader();
        var decoder = new TextDecoder();
        var text = "";
        function pump() {
          return reader.read().then(function (chunk) {
            if (!chunk.done) { text += decoder.decode(chunk.value, {stream: true}); }
            var enough = /<h1[\s>]/.test(text) && /class="cell_output|<\/article>/.test(text);
            if (chunk.done || enough || text.length > FETCH_LIMIT) {
              if (!chunk.done) { reader.cancel().catch(function () {}); }
              return text;
            }
            return pump();
          });
        }
        return pump();
      }).then(function (text) {
        var key = pageKey(new DOMParser().parseFromString(text, "text/html"));
        if (key && map[path] !== key) { map[path] = key; changed = true; }
      }).catch(function () { /* unknown page: no tick */ }).then(finish);
    });
  }

  // ------------------------------------------------------------------ Check yourself
  function checkYourselfDropdowns() {
    var found = [];
    document.querySelectorAll("article.bd-article section").forEach(function (sec) {
      var heading = sec.querySelector(":scope > h2, :scope > h3");
      var labelled = Array.prototype.some.call(sec.querySelectorAll(":scope > span[id]"), function (s) {
        return /check-yourself|-check$/.test(s.id);
      });
      var titled = heading && /check yourself|自测/i.test(heading.textContent);
      if (/^check-yourself/.test(sec.id) || labelled || titled) {
        sec.querySelectorAll("details.sd-dropdown").forEach(function (d) {
          if (found.indexOf(d) < 0 && d.closest("section") === sec) { found.push(d); }
        });
      }
    });
    return found;
  }

  // ------------------------------------------------------------------ rendering
  var currentPath = relPath(location.href);
  var progress = load();
  var map = loadMap();
  var key = null;  // this page's key: found once the page is parsed (start)

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function say(message) {
    document.querySelectorAll(".inn-status").forEach(function (s) { s.textContent = message; });
  }

  function sheetCounts(sheet) {
    var e = get(progress.exercises, sheet);
    if (!e) { return null; }
    var passed = Object.keys(e.results).filter(function (q) { return e.results[q].passed; }).length;
    var total = Math.max(e.questions.length, Object.keys(e.results).length);
    return {passed: passed, total: total};
  }

  function renderSidebar() {
    sidebarParts().forEach(function (part) {
      var read = 0;
      part.links.forEach(function (link) {
        var k = get(map, link.path);
        var old = link.a.querySelectorAll(".inn-tick, .inn-sheet");
        old.forEach(function (o) { o.remove(); });
        var li = link.a.parentElement;
        var isRead = !!(k && own(progress.pages, k));
        li.classList.toggle("inn-read", isRead);
        if (isRead) {
          read++;
          var tick = el("span", {"class": "inn-tick", title: T.tickTitle});
          tick.appendChild(el("span", {"aria-hidden": "true"}, "\u2713"));
          tick.appendChild(el("span", {"class": "inn-sr"}, T.tickSr));
          link.a.appendChild(tick);
        }
        var counts = k && k.indexOf("sheet:") === 0 ? sheetCounts(k.slice(6)) : null;
        if (counts) {
          var badge = el("span", {"class": "inn-sheet", title: T.sheetTitle});
          badge.appendChild(el("span", {"aria-hidden": "true"}, counts.passed + "/" + counts.total));
          badge.appendChild(el("span", {"class": "inn-sr"}, T.sheetSr(counts.passed, counts.total)));
          link.a.appendChild(badge);
        }
      });
      var bar = part.caption.nextElementSibling;
      if (!bar || !bar.classList.contains("inn-part")) {
        bar = el("div", {"class": "inn-part"});
        bar.appendChild(el("progress", {max: "1", value: "0"}));
        bar.appendChild(el("span", {"class": "inn-part-count"}));
        part.caption.parentNode.insertBefore(bar, part.caption.nextSibling);
      }
      var total = part.links.length;
      var meter = bar.querySelector("progress");
      meter.setAttribute("max", String(Math.max(total, 1)));
      meter.setAttribute("value", String(read));
      meter.setAttribute("aria-label", T.partLabel(part.name, read, total));
      bar.setAttribute("data-part", part.name);
      bar.setAttribute("data-read", String(read));
      bar.setAttribute("data-total", String(total));
      bar.querySelector(".inn-part-count").textContent = read + "/" + total;
    });
  }

  function renderPage() {
    var button = document.querySelector(".inn-mark");
    if (button) {
      // a toggle button: its name stays "Mark as read", aria-pressed says whether it is; the
      // tick beside it shows the same to the eye (hidden from screen readers, which hear "pressed")
      var isRead = !!(key && own(progress.pages, key));
      button.setAttribute("aria-pressed", isRead ? "true" : "false");
      var state = document.querySelector(".inn-mark-state");
      if (state) { state.textContent = isRead ? T.readState : ""; }
    }
    var answers = checkYourselfDropdowns();
    var done = (key && get(progress.answered, key)) || dict();
    answers.forEach(function (d, i) { d.classList.toggle("inn-answered", !!done[String(i + 1)]); });
    var cy = document.querySelector(".inn-check-yourself");
    if (cy) {
      var n = answers.filter(function (d, i) { return done[String(i + 1)]; }).length;
      cy.textContent = T.checkYourself(n, answers.length);
    }
    var ex = document.querySelector(".inn-exercises");
    if (ex && key && key.indexOf("sheet:") === 0) {
      var sheet = key.slice(6);
      var counts = sheetCounts(sheet);
      ex.textContent = counts ? T.exercises(counts.passed, counts.total) : T.noExercises;
      document.querySelectorAll(".inn-question").forEach(function (q) { q.remove(); });
      var results = counts ? progress.exercises[sheet].results : dict();
      document.querySelectorAll("article.bd-article .cell_input pre").forEach(function (pre) {
        var m = /^\s*check\(\s*["']([A-Za-z0-9_]+)["']\s*\)\s*$/.exec(pre.textContent);
        if (!m || !own(results, m[1])) { return; }
        var r = results[m[1]];
        var cell = pre.closest(".cell");
        var note = el("p", {"class": "inn-question " + (r.passed ? "inn-passed" : "inn-failed")},
                      (r.passed ? T.questionPassed : T.questionFailed)(m[1], r.at.slice(0, 10)));
        cell.parentNode.insertBefore(note, cell.nextSibling);
      });
    }
    var cont = document.querySelector(".inn-continue");
    if (cont) {
      cont.textContent = "";
      var last = progress.last;
      // the address is checked again here: only a page of this site becomes the link
      var target = last && (pagePath(Object.keys(map).filter(function (p) { return map[p] === last.key; })[0]) ||
                            pagePath(last.path));
      if (target) {
        cont.appendChild(document.createTextNode(T.cont));
        cont.appendChild(el("a", {href: target.href, "class": "inn-continue-link"}, last.title));
      } else {
        cont.textContent = T.nothingYet;
      }
    }
  }

  function render() {
    renderSidebar();
    renderPage();
  }

  // ------------------------------------------------------------------ actions
  function update(fn) {
    progress = load();  // another tab may have changed it
    fn(progress);
    if (!save(progress)) { say(T.notSaved); }
    render();
  }

  function exportProgress() {
    var data = load();
    data.exported = nowIso();
    var blob = new Blob([JSON.stringify(data, null, 1) + "\n"], {type: "application/json"});
    var a = el("a", {href: URL.createObjectURL(blob), download: "inside-neural-networks-progress.json"});
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    say(T.exported(Object.keys(data.pages).length));
  }

  function importFile(file) {
    if (file.size > MAX_FILE_BYTES) {
      say(T.tooLarge(file.name, file.size));
      return;
    }
    var reader = new FileReader();
    reader.onload = function () {
      var incoming;
      var dropped = [];
      try {
        incoming = normalise(JSON.parse(reader.result), dropped);
      } catch (e) {
        say(T.notImported(file.name, e.message));
        return;
      }
      update(function (p) { progress = merge(p, incoming); });
      save(progress);
      render();
      var passed = 0;
      Object.keys(incoming.exercises).forEach(function (s) {
        Object.keys(incoming.exercises[s].results).forEach(function (q) {
          if (incoming.exercises[s].results[q].passed) { passed++; }
        });
      });
      say(T.imported(file.name, Object.keys(incoming.pages).length, passed) +
          (dropped.length ? T.dropped(dropped.length, dropped.slice(0, LIMITS.dropped)) : ""));
      refreshMap();
    };
    reader.onerror = function () { say(T.unreadable(file.name)); };
    reader.readAsText(file);
  }

  function tools() {
    var box = el("div", {"class": "inn-tools"});
    var exp = el("button", {type: "button", "class": "inn-export"}, T.exportB);
    var imp = el("button", {type: "button", "class": "inn-import"}, T.importB);
    var reset = el("button", {type: "button", "class": "inn-reset"}, T.resetB);
    var file = el("input", {type: "file", accept: ".json,application/json", "class": "inn-import-file",
                            hidden: "", "aria-label": T.fileLabel});
    exp.addEventListener("click", exportProgress);
    imp.addEventListener("click", function () { file.click(); });
    file.addEventListener("change", function () {
      if (file.files && file.files[0]) { importFile(file.files[0]); }
      file.value = "";
    });
    reset.addEventListener("click", function () {
      if (!window.confirm(T.confirmReset)) { return; }
      if (store) { store.removeItem(STORE); }
      progress = empty();
      render();
      say(T.wasReset);
    });
    [exp, imp, reset, file].forEach(function (b) { box.appendChild(b); });
    return box;
  }

  function block(isCover) {
    var box = el("div", {"class": "inn-progress", role: "region", "aria-label": T.title});
    box.appendChild(el("p", {"class": "inn-title"}, T.title));
    if (isCover) {
      box.appendChild(el("p", {"class": "inn-continue"}));
    } else {
      var mark = el("button", {type: "button", "class": "inn-mark", "aria-pressed": "false"}, T.mark);
      mark.addEventListener("click", function () {
        update(function (p) {
          if (own(p.pages, key)) { delete p.pages[key]; } else { p.pages[key] = {read: nowIso()}; }
        });
        say(own(progress.pages, key) ? T.marked : T.unmarked);
      });
      box.appendChild(mark);
      box.appendChild(el("span", {"class": "inn-mark-state", "aria-hidden": "true"}));
      if (checkYourselfDropdowns().length) { box.appendChild(el("p", {"class": "inn-check-yourself"})); }
      if (key.indexOf("sheet:") === 0) { box.appendChild(el("p", {"class": "inn-exercises"})); }
    }
    box.appendChild(tools());
    box.appendChild(el("p", {"class": "inn-note"}, T.note));
    box.appendChild(el("p", {"class": "inn-status", role: "status", "aria-live": "polite"}));
    return box;
  }

  function refreshMap() {
    var parts = sidebarParts();
    var unknown = [];
    parts.forEach(function (part) {
      part.links.forEach(function (l) { if (!own(map, l.path) && unknown.indexOf(l.path) < 0) { unknown.push(l.path); } });
    });
    var known = dict();
    Object.keys(map).forEach(function (p) { known[map[p]] = true; });
    var stored = [].concat(Object.keys(progress.pages), Object.keys(progress.answered),
                           Object.keys(progress.exercises).map(function (s) { return "sheet:" + s; }));
    var needed = stored.some(function (k) { return !known[k]; });
    if (unknown.length && needed) {
      learnKeys(unknown, map, function (changed) { if (changed) { saveMap(map); render(); } });
    }
  }

  // ------------------------------------------------------------------ accessibility of the theme
  // pydata-sphinx-theme's search buttons are named "Search" but show "Search Ctrl+K", and its
  // colour-mode button is named "Color mode" while its icons carry the titles "Light", "Dark",
  // "System Settings" (axe: label-content-name-mismatch); its sidebar's expand/collapse <summary>
  // has no name (axe: summary-name). Fixed here, where the names are known: the search button is
  // named by its visible text, the mode icons are decoration of the named button, each summary
  // is named after its page. Font Awesome turns the icons into SVGs whenever it runs, hence the
  // observer.
  function quietIcons(button) {
    button.querySelectorAll("svg, i").forEach(function (icon) {
      icon.setAttribute("aria-hidden", "true");
      icon.removeAttribute("role");
      icon.removeAttribute("aria-labelledby");
      icon.removeAttribute("title");
      icon.querySelectorAll("title").forEach(function (t) { t.remove(); });
    });
  }

  function fixTheme() {
    document.querySelectorAll(".search-button-field[aria-label]").forEach(function (b) {
      b.removeAttribute("aria-label");  // the visible text "Search Ctrl+K" becomes the name
    });
    document.querySelectorAll(".theme-switch-button").forEach(function (button) {
      quietIcons(button);
      if (window.MutationObserver) {
        new MutationObserver(function () { quietIcons(button); })
          .observe(button, {childList: true, subtree: true, attributes: true, attributeFilter: ["role", "title"]});
      }
    });
    // myst-nb's folded cells (tags hide-input/hide-output) name their <summary> "Toggle hidden
    // content" while it shows "Show code cell output" (axe: label-content-name-mismatch): the
    // visible text, which changes with the state, becomes the name.
    document.querySelectorAll("details.hide > summary[aria-label='Toggle hidden content']").forEach(function (s) {
      if (s.textContent.trim()) { s.removeAttribute("aria-label"); }
    });
    document.querySelectorAll("nav.bd-docs-nav li.has-children > details > summary").forEach(function (s) {
      var a = s.parentElement.parentElement.querySelector(":scope > a");
      if (!s.getAttribute("aria-label")) {
        s.setAttribute("aria-label", T.sections(a ? linkText(a) : document.title));
      }
    });
  }

  // ------------------------------------------------------------------ start
  function start() {
    key = pageKey(document);
    fixTheme();
    var article = document.querySelector("article.bd-article");
    var inBook = !!document.querySelector("nav.bd-docs-nav a.current, nav.bd-docs-nav .bd-sidenav__home-link a");
    if (!article || !key || !inBook) { return; }
    var isCover = currentPath === "index.html" && siteRoot().href === new URL("./", location.href).href;
    var tracked = !!document.querySelector("nav.bd-docs-nav ul.bd-sidenav:not(.bd-sidenav__home-link) a.current");
    if (currentPath && tracked) {
      if (get(map, currentPath) !== key) {
        Object.keys(map).forEach(function (p) { if (map[p] === key) { delete map[p]; } });
        map[currentPath] = key;
        saveMap(map);
      }
      var title = document.querySelector("article.bd-article h1");
      var text = title ? title.textContent.replace(/#$/, "").replace(/\s+/g, " ").trim() : document.title;
      progress = load();
      progress.last = {key: key, path: currentPath, title: text, at: nowIso()};
      save(progress);
    }
    if (isCover) {
      // a placeholder of the cover (index.md) if there is one; else, for a returning reader,
      // right under the title, and for a new one at the end of the cover
      var first = article.querySelector("section > p");
      var home = document.querySelector("#inn-home, .inn-home");
      var box = block(true);
      if (home) { home.appendChild(box); }
      else if (first && progress.last) { first.parentNode.insertBefore(box, first); }
      else { article.appendChild(box); }
    } else if (tracked) {
      article.appendChild(block(false));
    }
    checkYourselfDropdowns().forEach(function (d, i) {
      d.addEventListener("toggle", function () {
        if (!d.open || own(get(progress.answered, key) || dict(), String(i + 1))) { return; }
        update(function (p) {
          if (!own(p.answered, key)) { p.answered[key] = dict(); }
          p.answered[key][String(i + 1)] = nowIso();
        });
      });
    });
    if (!store) { say(T.noStorage); }
    render();
    refreshMap();
    window.addEventListener("storage", function (e) {
      if (e.key === STORE || e.key === MAP) { progress = load(); map = loadMap(); render(); }
    });
  }

  // for the browser tests and the curious: window.innProgress.key, .load(), .schema
  window.innProgress = {key: function () { return key; }, load: load, schema: SCHEMA, version: VERSION,
                        normalise: normalise, pageKey: pageKey};

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
