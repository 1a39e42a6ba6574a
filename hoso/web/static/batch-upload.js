// hoso — batch upload: read type and class from the names, let the person confirm, then store file by file with a
// progress bar. Without this file the page is a plain multi-file form (hoso/web/pages_batch.py).
"use strict";
(function () {
  var form = document.getElementById("form-nhieu-tep");
  var section = document.getElementById("xac-nhan");
  if (!form || !section || !window.fetch) { return; }
  var input = document.getElementById("files");
  var zone = document.getElementById("vung-tha");
  var tbody = section.querySelector("#bang-tep tbody");
  var progress = document.getElementById("tien-do");
  var counter = document.getElementById("dem-tien-do");
  var summary = document.getElementById("tom-tat");
  var storeButton = document.getElementById("luu-tat-ca");
  var csrf = section.getAttribute("data-csrf");
  var typeOptions = document.getElementById("mau-loai");
  var rows = [];  // {file, zip, entry, row, type, klass, result}
  var done = 0;
  var counts = { stored: 0, duplicate: 0, refused: 0 };

  // with this script the per-file table replaces the "for every file" fields and the plain submit button
  form.querySelectorAll("[data-nojs-only]").forEach(function (el) { el.hidden = true; });
  form.querySelectorAll("[data-js-only]").forEach(function (el) { el.hidden = false; });
  input.required = false;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) { e.textContent = text; }
    return e;
  }

  function isZip(file) { return /\.zip$/i.test(file.name); }

  function apiError(response, body) {
    if (body && body.message_vi) { return body; }
    return { error: "http_" + response.status, message_vi: "Máy chủ trả lời lỗi " + response.status + ". Hãy thử lại." };
  }

  function post(url, data, json) {
    var headers = { "X-CSRF-Token": csrf, "Accept": "application/json" };
    if (json) { headers["Content-Type"] = "application/json"; }
    return fetch(url, { method: "POST", body: json ? JSON.stringify(data) : data, headers: headers, credentials: "same-origin" });
  }

  function readJson(response) {
    return response.json().catch(function () { return null; }).then(function (body) {
      if (!response.ok) { throw apiError(response, body); }
      return body;
    });
  }

  function addRow(reading, file, zip) {
    var tr = el("tr", { "class": "tep" });
    tr.setAttribute("data-name", reading.name);
    var name = el("td", { "class": "file-name", "data-label": "Tệp" }, zip ? reading.name.split("/").pop() : reading.name);
    if (zip) { name.appendChild(el("br")); name.appendChild(el("span", { "class": "small" }, zip.name)); }
    var type = el("select", { "aria-label": "Loại hồ sơ của " + reading.name, "class": "loai" });
    type.appendChild(typeOptions.content.cloneNode(true));
    if (reading.type && !type.querySelector("option[value='" + reading.type + "']")) {
      // read from the name but not a type this person may upload: kept visible, the server will say why it refuses
      type.appendChild(el("option", { value: reading.type }, (reading.type_name_vi || reading.type) + " (ngoài quyền của bạn)"));
    }
    type.value = reading.type || "";
    type.addEventListener("change", function () {
      if (!result.querySelector(".tag")) { result.textContent = type.value ? "Chờ lưu" : "Chưa rõ loại hồ sơ"; }
    });
    var klass = el("input", { "aria-label": "Lớp của " + reading.name, "class": "lop", maxlength: "50" });
    klass.value = reading.class_name || "";
    var typeCell = el("td", { "data-label": "Loại" });
    typeCell.appendChild(type);
    var classCell = el("td", { "data-label": "Lớp" });
    classCell.appendChild(klass);
    var result = el("td", { "data-label": "Kết quả", "class": "ket-qua-tep" }, reading.type ? "Chờ lưu" : "Chưa rõ loại hồ sơ");
    [name, typeCell, classCell, result].forEach(function (td) { tr.appendChild(td); });
    tbody.appendChild(tr);
    rows.push({ file: file, zip: zip, entry: reading.name, row: tr, type: type, klass: klass, result: result });
  }

  function show(entry, outcome) {
    var cell = entry.result;
    cell.textContent = "";
    entry.row.className = "tep " + outcome.result;
    if (outcome.result === "refused") {
      cell.appendChild(el("span", { "class": "tag bad" }, "Bị từ chối"));
      cell.appendChild(document.createTextNode(" " + (outcome.message_vi || "")));
    } else {
      cell.appendChild(el("span", { "class": outcome.result === "stored" ? "tag ok" : "tag" },
        outcome.result === "stored" ? "Đã lưu" : "Đã có sẵn"));
      cell.appendChild(document.createTextNode(" "));
      cell.appendChild(el("a", { href: "/ho-so/" + outcome.document_id }, "Xem hồ sơ"));
    }
    counts[outcome.result] += 1;
    done += 1;
    progress.value = done;
    counter.textContent = done + "/" + rows.length;
    entry.type.disabled = true;
    entry.klass.disabled = true;
  }

  function preview(files) {
    rows = [];
    tbody.textContent = "";
    summary.textContent = "Đang đọc tên tệp…";
    section.hidden = false;
    storeButton.disabled = true;
    var loose = files.filter(function (f) { return !isZip(f); });
    var zips = files.filter(isZip);
    var steps = [];
    if (loose.length) {
      steps.push(function () {
        return post("/api/v1/batch/names", { names: loose.map(function (f) { return f.name; }) }, true)
          .then(readJson).then(function (body) {
            body.files.forEach(function (reading, i) { addRow(reading, loose[i], null); });
          });
      });
    }
    zips.forEach(function (zip) {
      steps.push(function () {
        var data = new FormData();
        data.append("file", zip);
        return post("/api/v1/batch/zip/preview", data, false).then(readJson).then(function (body) {
          body.files.forEach(function (reading) { addRow(reading, null, zip); });
        });
      });
    });
    return steps.reduce(function (p, step) { return p.then(step); }, Promise.resolve()).then(function () {
      progress.max = Math.max(rows.length, 1);
      progress.value = 0;
      counter.textContent = "0/" + rows.length;
      summary.textContent = rows.length + " tệp. Kiểm tra loại hồ sơ và lớp rồi bấm “Xác nhận và lưu”.";
      storeButton.disabled = rows.length === 0;
    }, function (err) {
      summary.textContent = "Không đọc được các tệp đã chọn: " + (err.message_vi || err);
    });
  }

  function fields() {
    var teacher = form.querySelector("#teacher");  // a teacher's own records: filled from the account
    return { school: form.querySelector("#school").value, year: form.querySelector("#year").value.trim(),
             teacher: teacher ? teacher.value.trim() : "" };
  }

  function storeLoose(entry) {
    if (!entry.type.value) {
      show(entry, { result: "refused", message_vi: "Chưa chọn loại hồ sơ — tệp không được lưu." });
      return Promise.resolve();
    }
    var f = fields();
    var data = new FormData();
    data.append("file", entry.file, entry.file.name);
    data.append("school", f.school);
    data.append("year", f.year);
    data.append("type", entry.type.value);
    data.append("class_name", entry.klass.value.trim());
    if (f.teacher) { data.append("teacher", f.teacher); }
    entry.result.textContent = "Đang lưu…";
    return post("/api/v1/documents", data, false).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (response.ok) {
          show(entry, { result: response.status === 201 ? "stored" : "duplicate", document_id: body.id });
        } else {
          show(entry, { result: "refused", message_vi: apiError(response, body).message_vi });
        }
      });
    }, function () {
      show(entry, { result: "refused", message_vi: "Mất kết nối với máy chủ; tệp chưa được lưu." });
    });
  }

  function storeZip(zip, entries) {
    var plan = {};
    entries.forEach(function (e) { plan[e.entry] = { type: e.type.value, class_name: e.klass.value.trim() }; e.result.textContent = "Đang lưu…"; });
    var byEntry = {};
    entries.forEach(function (e) { byEntry[e.entry] = e; });
    var f = fields();
    var data = new FormData();
    data.append("file", zip, zip.name);
    data.append("school", f.school);
    data.append("year", f.year);
    data.append("plan", JSON.stringify(plan));
    if (f.teacher) { data.append("teacher", f.teacher); }
    function fail(message) {
      entries.forEach(function (e) { if (!e.type.disabled) { show(e, { result: "refused", message_vi: message }); } });
    }
    return post("/api/v1/batch/zip", data, false).then(function (response) {
      if (!response.ok) {
        return readJson(response).catch(function (err) { fail(err.message_vi); });
      }
      // one JSON line per entry as the server finishes it: the bar moves while the ZIP is being stored
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var pending = "";
      function pump() {
        return reader.read().then(function (chunk) {
          pending += decoder.decode(chunk.value || new Uint8Array(), { stream: !chunk.done });
          var lines = pending.split("\n");
          pending = lines.pop();
          lines.filter(Boolean).forEach(function (line) {
            var outcome = JSON.parse(line);
            var entry = byEntry[outcome.source.split(":").slice(1).join(":")];
            if (entry) { show(entry, outcome); }
          });
          if (!chunk.done) { return pump(); }
          fail("Máy chủ không trả lời cho tệp này; hãy thử lại.");
        });
      }
      return pump();
    }, function () { fail("Mất kết nối với máy chủ; tệp chưa được lưu."); });
  }

  function storeAll() {
    storeButton.disabled = true;
    input.disabled = true;
    done = 0;
    counts = { stored: 0, duplicate: 0, refused: 0 };
    summary.textContent = "Đang lưu…";
    var chain = Promise.resolve();
    rows.filter(function (e) { return !e.zip; }).forEach(function (e) {
      chain = chain.then(function () { return storeLoose(e); });
    });
    var zips = [];
    rows.forEach(function (e) { if (e.zip && zips.indexOf(e.zip) < 0) { zips.push(e.zip); } });
    zips.forEach(function (zip) {
      chain = chain.then(function () { return storeZip(zip, rows.filter(function (e) { return e.zip === zip; })); });
    });
    chain.then(function () {
      summary.textContent = "Xong: đã lưu mới " + counts.stored + " tệp · đã có sẵn " + counts.duplicate +
        " · bị từ chối " + counts.refused + ".";
      summary.className = counts.refused ? "notice warn" : "notice ok";
      var refused = rows.filter(function (e) { return e.row.classList.contains("refused"); });
      if (refused.length) {
        summary.appendChild(el("br"));
        summary.appendChild(document.createTextNode("Tệp bị từ chối (lý do ở bảng dưới): " +
          refused.map(function (e) { return e.entry.split("/").pop(); }).join(", ")));
      }
      storeButton.hidden = true;  // stored: what is left is to look at the results or start over
      var heading = document.getElementById("tieu-de-xac-nhan");
      heading.firstChild.textContent = "Kết quả tải lên ";
      heading.querySelector(".en").textContent = "Results";
      document.getElementById("huong-dan-xac-nhan").hidden = true;
      summary.scrollIntoView({ block: "center" });
    });
  }

  input.addEventListener("change", function () { preview(Array.prototype.slice.call(input.files)); });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  storeButton.addEventListener("click", storeAll);
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    preview(Array.prototype.slice.call(event.dataTransfer.files));
  });
})();
