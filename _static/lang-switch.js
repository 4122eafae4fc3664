// The language switch in each page's header: opens the same page in the other edition (the English
// one at the site root, the Chinese one under zh/), keeping the anchor. Both editions share this
// file; which one a page belongs to comes from <html lang> (Sphinx's `language`). No network.
(function () {
  "use strict";
  function target() {
    var html = document.documentElement;
    var root = new URL(html.dataset.content_root || "./", document.baseURI);
    var here = window.location.href;
    var zh = /^zh/i.test(html.lang || "");
    var other = zh ? new URL("../", root) : new URL("zh/", root);
    var rel = here.indexOf(root.href) === 0 ? here.slice(root.href.length) : "";
    return {href: new URL(rel, other).href, label: zh ? "English" : "中文",
            lang: zh ? "en" : "zh-CN", title: zh ? "Read this page in English" : "阅读本页的中文版"};
  }
  function add() {
    var bar = document.querySelector(".article-header-buttons") ||
              document.querySelector(".bd-header-article") || document.body;
    if (document.querySelector("a.inn-lang-switch")) return;
    var t = target();
    var a = document.createElement("a");
    a.className = "btn btn-sm inn-lang-switch";
    a.href = t.href;
    a.hreflang = t.lang;
    a.lang = t.lang;
    a.title = t.title;
    a.textContent = t.label;
    // keep the anchor the reader scrolled to (the section labels are the same in both editions)
    a.addEventListener("click", function () { a.href = target().href; });
    bar.insertBefore(a, bar.firstChild);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", add);
  else add();
})();
