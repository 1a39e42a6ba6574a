// hoso-signer on this computer: find it, pair with it once, and let it sign with the USB token.
// The PIN is typed in hoso-signer's own window (another origin): this page never sees it. Without the agent the
// two-step files below still work; this file only adds to pages that already work without it.
"use strict";
(function () {
  var TOKEN_KEY = "hoso-signer-token";

  function $(id) { return document.getElementById(id); }
  function show(el, on) { if (el) { el.hidden = !on; } }
  function say(el, text) { if (el) { el.textContent = text; el.hidden = !text; } }

  function agentFetch(base, path, options) {
    options = options || {};
    var headers = options.headers || {};
    var token = window.localStorage.getItem(TOKEN_KEY);
    if (token) { headers.Authorization = "Bearer " + token; }
    if (options.body) { headers["Content-Type"] = "application/json"; }
    var controller = new AbortController();
    var timer = window.setTimeout(function () { controller.abort(); }, options.timeout || 4000);
    return fetch(base + path, {
      method: options.method || "GET", headers: headers, body: options.body, signal: controller.signal,
      mode: "cors", credentials: "omit", cache: "no-store"
    }).then(function (r) {
      window.clearTimeout(timer);
      return r.json().catch(function () { return {}; }).then(function (body) { return { status: r.status, body: body }; });
    });
  }

  function findAgent(base) {
    return agentFetch(base, "/status", { timeout: 2500 }).then(function (r) {
      if (r.status !== 200 || r.body.app !== "hoso-signer") { throw new Error("not the agent"); }
      return r.body;
    });
  }

  // --- pairing: the code appears on hoso-signer's own window; the person types it here ----------------------
  function setUpPairing(panel, base, onPaired) {
    var start = $("agent-bat-dau-ghep"), confirm = $("agent-xac-nhan"), code = $("agent-ma"), error = $("agent-loi");
    var pairing = null;
    start.addEventListener("click", function () {
      say(error, "");
      agentFetch(base, "/pair", { method: "POST", body: "{}" }).then(function (r) {
        if (r.status !== 201) { say(error, r.body.message || "Không ghép nối được."); return; }
        pairing = r.body.pairing;
        show($("agent-nhap-ma"), true);
        code.focus();
      });
    });
    confirm.addEventListener("click", function () {
      say(error, "");
      if (!pairing) { say(error, "Hãy bấm “Ghép nối” trước."); return; }
      agentFetch(base, "/pair/confirm", { method: "POST", body: JSON.stringify({ pairing: pairing, code: code.value }) })
        .then(function (r) {
          if (r.status !== 201) { say(error, r.body.message || "Mã ghép nối không đúng."); return; }
          window.localStorage.setItem(TOKEN_KEY, r.body.token);
          show($("agent-ghep-noi"), false);
          onPaired();
        });
    });
  }

  // --- certificates on the token, next to the ones registered to my account -------------------------------
  function markCertificates(base) {
    var choices = document.querySelectorAll("[data-sha256]");
    var list = $("agent-chua-dang-ky");
    return agentFetch(base, "/certificates").then(function (r) {
      if (r.status !== 200) { return; }
      var onToken = {};
      r.body.certificates.forEach(function (c) { onToken[c.sha256] = c; });
      var first = null;
      choices.forEach(function (input) {
        var sha = input.getAttribute("data-sha256");
        if (onToken[sha]) {
          if (input.tagName === "OPTION") {
            input.textContent += " · có trên USB token";
          } else {
            var mark = document.createElement("strong");
            mark.className = "on-token";
            mark.textContent = " · có trên USB token";
            input.closest("label").appendChild(mark);
          }
          if (!first) { first = input; }
          delete onToken[sha];
        }
      });
      if (first && first.type === "radio") { first.checked = true; }
      if (first && first.tagName === "OPTION") { first.selected = true; }
      var rest = Object.keys(onToken);
      if (list && rest.length) {
        var ul = list.querySelector("ul");
        rest.forEach(function (sha) {
          var c = onToken[sha];
          var li = document.createElement("li");
          li.textContent = c.subject + " · số sê-ri " + c.serial + " ";
          var register = document.createElement("button");
          register.type = "button";
          register.className = "small";
          register.textContent = "Đăng ký chứng thư này";
          register.addEventListener("click", function () {
            var bytes = Uint8Array.from(window.atob(c.certificate), function (ch) { return ch.charCodeAt(0); });
            var form = $("agent-dang-ky");
            var transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "chung-thu-" + c.serial + ".cer", { type: "application/pkix-cert" }));
            form.querySelector("input[type=file]").files = transfer.files;
            form.submit();
          });
          li.appendChild(register);
          ul.appendChild(li);
        });
        show(list, true);
      }
    });
  }

  // --- signing: the request from hoso, the PIN in the agent's window, the signatures back to hoso -----------
  function setUpSigning(panel, base) {
    var button = $("agent-ky"), error = $("agent-loi"), status = $("agent-trang-thai");
    button.addEventListener("click", function () {
      say(error, "");
      // opened now, inside the click, so no popup blocker stops it; it is pointed at the agent's page below
      var popup = window.open("", "hoso-signer", "popup,width=560,height=720");
      button.disabled = true;
      function fail(message) {
        if (popup && !popup.closed) { popup.close(); }
        button.disabled = false;
        say(status, "");
        say(error, message);
      }
      fetch(panel.getAttribute("data-request"), { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { if (!r.ok) { throw new Error("request"); } return r.json(); })
        .then(function (request) {
          return agentFetch(base, "/sign", { method: "POST", body: JSON.stringify({ request: request }), timeout: 20000 });
        })
        .then(function (r) {
          if (r.status === 401) { window.localStorage.removeItem(TOKEN_KEY); }
          if (r.status !== 201) { fail(r.body.message || "Phần mềm ký từ chối yêu cầu."); return; }
          popup.location.href = r.body.prompt;
          say(status, "Hãy xem danh sách hồ sơ và nhập mã PIN trong cửa sổ hoso-signer.");
          poll(r.body.job);
        })
        .catch(function () { fail("Không kết nối được phần mềm ký hoso-signer. Hãy dùng cách ký bằng tệp bên dưới."); });

      function poll(job) {
        window.setTimeout(function () {
          agentFetch(base, "/sign/" + job, { timeout: 10000 }).then(function (r) {
            var s = r.body.status;
            if (s === "done") { finish(r.body.response); return; }
            if (s === "failed" || s === "refused" || r.status !== 200) {
              fail((r.body.message || "Không ký được.") + " Hồ sơ không thay đổi.");
              return;
            }
            if (popup.closed) { fail("Cửa sổ ký đã đóng trước khi ký xong; hồ sơ không thay đổi."); return; }
            poll(job);
          }).catch(function () { fail("Mất kết nối với phần mềm ký hoso-signer."); });
        }, 600);
      }

      function finish(response) {
        if (popup && !popup.closed) { popup.close(); }
        var single = panel.getAttribute("data-kind") === "single";
        var body = single ? response.signatures[0] : response;
        var file = new File([JSON.stringify(body)], panel.getAttribute("data-file"), { type: "application/json" });
        var form = $(panel.getAttribute("data-form"));
        var input = form.querySelector("input[type=file]");
        var transfer = new DataTransfer();
        transfer.items.add(file);
        input.files = transfer.files;
        say(status, "Đã ký trên token; đang gửi chữ ký về hoso…");
        form.requestSubmit();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var panel = $("ky-bang-agent");
    if (!panel) { return; }
    var base = panel.getAttribute("data-agent");
    var status = $("agent-trang-thai");
    findAgent(base).then(function (info) {
      var tokens = info.tokens.map(function (t) { return t.label; }).join(", ");
      say(status, "Đã tìm thấy hoso-signer " + info.version + (tokens ? " · USB token: " + tokens : " · chưa thấy USB token nào"));
      panel.classList.add("agent-found");
      var ready = function () {
        show($("agent-san-sang"), true);
        // only where a certificate is chosen (step 1, the inbox); the signing step already has its certificate
        if (!panel.getAttribute("data-kind")) { markCertificates(base); }
      };
      if (info.paired) { ready(); } else { show($("agent-ghep-noi"), true); setUpPairing(panel, base, ready); }
      if ($("agent-ky")) { setUpSigning(panel, base); }
    }).catch(function () {
      say(status, "");
      show($("agent-khong-co"), true);
    });
  });
})();
