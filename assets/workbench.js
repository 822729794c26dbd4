// The workbench's one script: the rich-text editor, cleaning what is
// pasted from Word and WPS, uploads with progress, and keeping unsaved
// text in this browser until the server has it. Pages work without it
// (the body is then a plain HTML text box); the server's sanitizer has
// the last word on everything this script produces.
(function () {
  "use strict";

  // ---- Cleaning pasted HTML -------------------------------------------
  // Kept: structure (paragraphs, headings, lists, tables), bold and
  // italics, links and pictures. Dropped: Word's styles, fonts, classes,
  // comments, <o:p>, conditional comments and every mso- property.
  var KEEP = {
    P: 1, H1: 1, H2: 1, H3: 1, H4: 1, H5: 1, H6: 1, UL: 1, OL: 1, LI: 1, TABLE: 1, THEAD: 1, TBODY: 1, TFOOT: 1,
    TR: 1, TD: 1, TH: 1, CAPTION: 1, STRONG: 1, B: 1, EM: 1, I: 1, U: 1, A: 1, IMG: 1, BR: 1, BLOCKQUOTE: 1, SUB: 1, SUP: 1
  };
  var DROP = { STYLE: 1, SCRIPT: 1, META: 1, LINK: 1, TITLE: 1, XML: 1, HEAD: 1, OBJECT: 1, IFRAME: 1 };
  var ATTRS = { A: ["href"], IMG: ["src", "alt"], TD: ["colspan", "rowspan"], TH: ["colspan", "rowspan"] };

  function isBold(el) {
    var s = (el.getAttribute && el.getAttribute("style")) || "";
    return /font-weight\s*:\s*(bold|[6-9]00)/i.test(s);
  }

  function cleanNode(node, out, report) {
    for (var child = node.firstChild; child; child = child.nextSibling) {
      if (child.nodeType === 3) { out.appendChild(document.createTextNode(child.nodeValue)); continue; }
      if (child.nodeType !== 1) continue; // comments, processing instructions
      var tag = child.tagName.toUpperCase();
      if (DROP[tag] || tag.indexOf(":") >= 0) continue; // o:p, v:shape, w:…
      // Word's comments: the anchors in the text and the list at the end.
      var cls = child.getAttribute("class") || "", sty = child.getAttribute("style") || "";
      if (/msocom|MsoComment/i.test(cls) || /mso-element\s*:\s*comment/i.test(sty)) continue;
      if (tag === "A" && !child.getAttribute("href")) { cleanNode(child, out, report); continue; }
      if (tag === "DIV" || tag === "SECTION" || tag === "ARTICLE") { tag = "P"; }
      if (!KEEP[tag]) {
        // A bold <span style="font-weight:bold"> becomes <strong>; other
        // wrappers (span, font) give way to their content.
        if (isBold(child)) { var strong = document.createElement("strong"); cleanNode(child, strong, report); out.appendChild(strong); }
        else cleanNode(child, out, report);
        continue;
      }
      if (tag === "IMG") {
        var src = child.getAttribute("src") || "";
        if (!/^(https?:|\/)/i.test(src)) { report.images++; continue; } // file:///C:/… from Word
      }
      var el = document.createElement(tag === "B" ? "strong" : tag === "I" ? "em" : tag);
      (ATTRS[tag] || []).forEach(function (a) {
        var v = child.getAttribute(a);
        if (v !== null && !(a === "href" && /^\s*javascript:/i.test(v))) el.setAttribute(a, v);
      });
      if (isBold(child) && tag !== "STRONG" && tag !== "B") { var s2 = document.createElement("strong"); cleanNode(child, s2, report); el.appendChild(s2); }
      else cleanNode(child, el, report);
      // Word's empty paragraphs (<p>&nbsp;</p>) are spacing, not content.
      if (tag === "P" && !el.textContent.replace(/[\s\u00a0]/g, "") && !el.querySelector("img")) continue;
      out.appendChild(el);
    }
  }

  function cleanHtml(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var out = document.createElement("div");
    var report = { images: 0 };
    cleanNode(doc.body, out, report);
    return { html: out.innerHTML, report: report };
  }
  window.zhanqunCleanPaste = cleanHtml; // for the browser tests

  // ---- Keeping unsaved text ------------------------------------------
  function formState(form) {
    var state = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "_csrf" || el.name === "version" || el.name === "action") return;
      state[el.name] = el.type === "checkbox" ? (el.checked ? "on" : "") : el.value;
    });
    return state;
  }

  function setFormState(form, state, editor) {
    Object.keys(state).forEach(function (name) {
      var el = form.elements[name];
      if (!el || !el.type) return;
      if (el.type === "checkbox") el.checked = state[name] === "on"; else el.value = state[name];
    });
    if (editor) editor.innerHTML = form.elements.body_html.value;
  }

  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

  // ---- Uploads -------------------------------------------------------
  function upload(form, file, done) {
    var max = parseInt(form.dataset.maxUpload, 10);
    var status = document.getElementById("upload-progress");
    var row = document.createElement("div");
    status.appendChild(row);
    if (file.size > max) {
      row.className = "error";
      row.textContent = "“" + file.name + "”超过 " + Math.floor(max / 1048576) + " MB 的上限，未上传。";
      return;
    }
    var label = document.createElement("span");
    label.textContent = file.name + " ";
    var bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    bar.setAttribute("aria-label", "上传进度：" + file.name);
    row.appendChild(label); row.appendChild(bar);
    var body = new FormData();
    body.append("document_id", form.dataset.doc);
    body.append("file", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.upload);
    xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) bar.value = Math.round(e.loaded * 100 / e.total); };
    xhr.onload = function () {
      var answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 201 && answer) {
        bar.value = 100;
        label.textContent = file.name + " 已上传 ";
        done(answer);
      } else if (xhr.status === 401) {
        row.className = "error";
        row.textContent = "登录已超时，“" + file.name + "”未上传。正文已保存在本浏览器中，请重新登录后再上传。";
      } else {
        row.className = "error";
        row.textContent = "“" + file.name + "”未上传：" + ((answer && answer.error && answer.error.message) || xhr.responseText || xhr.status);
      }
    };
    xhr.onerror = function () { row.className = "error"; row.textContent = "“" + file.name + "”未上传：网络中断，请重试。"; };
    xhr.send(body);
  }

  function addToList(a) {
    var list = document.getElementById("attachment-list");
    var li = document.createElement("li");
    var link = document.createElement("a");
    link.href = a.admin_url; link.textContent = a.file_name;
    li.appendChild(link);
    list.appendChild(li);
  }

  // ---- The editor ----------------------------------------------------
  function initEditor(form) {
    var area = form.elements.body_html;
    var editor = document.getElementById("body-editor");
    var toolbar = form.querySelector(".toolbar");
    var key = form.dataset.draftKey;
    editor.innerHTML = area.value;
    area.hidden = true; editor.hidden = false; toolbar.hidden = false;
    var sync = function () { area.value = editor.innerHTML; };
    var keep = function () {
      sync();
      try { localStorage.setItem(key, JSON.stringify({ at: Date.now(), state: formState(form) })); } catch (e) { /* storage full or off */ }
    };
    editor.addEventListener("input", keep);
    form.addEventListener("input", keep);
    form.addEventListener("change", keep);
    form.addEventListener("submit", keep);

    var saved = null;
    var mark = function () { var s = window.getSelection(); if (s.rangeCount && editor.contains(s.anchorNode)) saved = s.getRangeAt(0); };
    editor.addEventListener("keyup", mark); editor.addEventListener("mouseup", mark); editor.addEventListener("blur", mark);
    var restoreSelection = function () {
      editor.focus();
      if (saved) { var s = window.getSelection(); s.removeAllRanges(); s.addRange(saved); }
    };
    var insert = function (html) { restoreSelection(); document.execCommand("insertHTML", false, html); keep(); };

    editor.addEventListener("paste", function (e) {
      var html = e.clipboardData && e.clipboardData.getData("text/html");
      if (!html) return; // plain text pastes as itself
      e.preventDefault();
      var cleaned = cleanHtml(html);
      document.execCommand("insertHTML", false, cleaned.html);
      keep();
      if (cleaned.report.images) {
        var status = document.getElementById("upload-progress");
        var note = document.createElement("div");
        note.className = "notice";
        note.textContent = "粘贴的内容里有 " + cleaned.report.images + " 张图片无法直接带过来，请用“图片”按钮上传。";
        status.appendChild(note);
      }
    });

    toolbar.addEventListener("click", function (e) {
      var b = e.target.closest("button");
      if (!b) return;
      if (b.dataset.cmd) { restoreSelection(); document.execCommand(b.dataset.cmd, false, b.dataset.arg ? "<" + b.dataset.arg + ">" : null); keep(); }
      else if (b.hasAttribute("data-table")) insert("<table><tbody><tr><th>&nbsp;</th><th>&nbsp;</th><th>&nbsp;</th></tr><tr><td>&nbsp;</td><td>&nbsp;</td><td>&nbsp;</td></tr><tr><td>&nbsp;</td><td>&nbsp;</td><td>&nbsp;</td></tr></tbody></table><p><br></p>");
      else if (b.hasAttribute("data-link")) {
        var url = window.prompt("链接地址（以 http:// 、https:// 或 / 开头）", "https://");
        if (url && /^(https?:\/\/|\/)/.test(url)) { restoreSelection(); document.execCommand("createLink", false, url); keep(); }
      }
    });

    document.getElementById("image-input").addEventListener("change", function (e) {
      Array.prototype.forEach.call(e.target.files, function (f) {
        upload(form, f, function (a) {
          var img = document.createElement("img");
          img.src = a.admin_url; img.alt = a.file_name.replace(/\.[^.]+$/, "");
          insert(img.outerHTML);
        });
      });
      e.target.value = "";
    });
    var files = document.getElementById("file-input");
    files.addEventListener("change", function () { Array.prototype.forEach.call(files.files, function (f) { upload(form, f, addToList); }); files.value = ""; });
    var zone = document.getElementById("drop-zone");
    zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (e) {
      e.preventDefault(); zone.classList.remove("over");
      Array.prototype.forEach.call(e.dataTransfer.files, function (f) { upload(form, f, addToList); });
    });

    // What this browser kept: gone once the server has it; otherwise,
    // when it differs from what the server has, offered back.
    var kept = null;
    try { kept = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { kept = null; }
    if (form.dataset.saved) { localStorage.removeItem(key); return; }
    if (kept && kept.state && !same(kept.state, formState(form))) {
      var offer = document.getElementById("restore-offer");
      offer.querySelector("[data-when]").textContent = new Date(kept.at).toLocaleString("zh-CN");
      offer.hidden = false;
      offer.querySelector("[data-restore]").addEventListener("click", function () { setFormState(form, kept.state, editor); offer.hidden = true; keep(); });
      offer.querySelector("[data-discard]").addEventListener("click", function () { localStorage.removeItem(key); offer.hidden = true; });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("editor-form");
    if (form) initEditor(form);
  });
})();
