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
  // The theme's own labels that its zh_CN catalogue leaves in English (tooltips, ARIA names) or
  // words in Taiwan usage: relabelled on Chinese pages (without JavaScript they stay as they are).
  var ZH_THEME = {
    "Toggle primary sidebar": "显示或隐藏左侧目录", "Toggle secondary sidebar": "显示或隐藏本页目录",
    "Color mode": "颜色模式", "System Settings": "跟随系统设置", "Main": "主导航", "Page": "本页",
    "Link to this heading": "链接到此标题", "Link to this term": "链接到此术语",
    "Link to this definition": "链接到此定义", "列印成 PDF": "打印为 PDF"
  };
  function localise() {
    if (!/^zh/i.test(document.documentElement.lang || "")) return;
    var attrs = ["title", "aria-label", "data-bs-title", "data-bs-original-title"];
    var els = document.querySelectorAll("[title], [aria-label], [data-bs-title]");
    for (var i = 0; i < els.length; i++) {
      for (var k = 0; k < attrs.length; k++) {
        var v = els[i].getAttribute(attrs[k]);
        if (v && Object.prototype.hasOwnProperty.call(ZH_THEME, v)) {
          els[i].setAttribute(attrs[k], ZH_THEME[v]);
        }
      }
    }
  }
  function ready() { add(); localise(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
