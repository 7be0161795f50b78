// The segment builder (admin): shows each row's operators and value box for its field, adds rows
// without a round trip, and asks the server for the count and first members as the rules change.
// The form works without this file (Add row / Update count redraw it on the server).
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  ready(function () {
    var builder = document.getElementById("segment-builder");
    if (!builder) return;
    var form = builder.closest("form");
    var kinds = JSON.parse(document.getElementById("segment-field-kinds").textContent);
    var kindOps = JSON.parse(document.getElementById("segment-kind-ops").textContent);
    var rowsTable = document.getElementById("segment-rows");
    var total = form.querySelector("input[name='row-TOTAL_FORMS']");
    var timer = null;
    var sent = 0;

    function kindOf(field) {
      if (!field) return "";
      if (kinds[field]) return kinds[field];
      var prefix = field.split(":")[0];
      return prefix === "purpose" || prefix === "list" ? prefix : "";
    }

    function shape(row) {
      var field = row.querySelector(".segment-field");
      var op = row.querySelector(".segment-op");
      var value = row.querySelector(".segment-value");
      var level = row.querySelector(".segment-level");
      if (!field || !op) return;
      var kind = kindOf(field.value);
      var allowed = kind ? kindOps[kind] : null;
      Array.prototype.forEach.call(op.options, function (option) {
        var hide = option.value !== "" && allowed !== null && allowed.indexOf(option.value) === -1;
        option.hidden = hide;
        option.disabled = hide;
      });
      if (allowed && op.value && allowed.indexOf(op.value) === -1) op.value = "";
      if (allowed && !op.value) op.value = allowed[0];
      var needsValue = kind === "text" || kind === "country" || kind === "date" || kind === "";
      value.hidden = !needsValue;
      value.placeholder = kind === "date" ? "YYYY-MM-DD" : kind === "country" ? "DE or Germany" : "";
      level.hidden = kind !== "level";
    }

    function shapeAll() {
      rowsTable.querySelectorAll(".segment-row").forEach(shape);
    }

    function showErrors(rowErrors, general) {
      rowsTable.querySelectorAll(".segment-row").forEach(function (row) {
        var number = row.getAttribute("data-row");
        var cell = row.querySelector(".segment-row-errors td:last-child");
        cell.textContent = "";
        var messages = rowErrors[number] || [];
        if (messages.length) {
          var list = document.createElement("ul");
          list.className = "errorlist";
          messages.forEach(function (message) {
            var item = document.createElement("li");
            item.textContent = "Row " + number + ": " + message;
            list.appendChild(item);
          });
          cell.appendChild(list);
        }
      });
      var generalList = document.getElementById("segment-general-errors");
      generalList.textContent = "";
      (general || []).forEach(function (message) {
        var item = document.createElement("li");
        item.textContent = message;
        generalList.appendChild(item);
      });
      generalList.hidden = !(general && general.length);
    }

    function showPlaceholder(text) {
      var body = document.querySelector("#segment-preview tbody");
      body.textContent = "";
      var row = document.createElement("tr");
      var cell = document.createElement("td");
      cell.colSpan = 4;
      cell.textContent = text;
      row.appendChild(cell);
      body.appendChild(row);
    }

    function showMembers(data) {
      document.getElementById("segment-count").textContent = data.count_text;
      var body = document.querySelector("#segment-preview tbody");
      body.textContent = "";
      if (!data.members.length) showPlaceholder("Nobody yet.");
      data.members.forEach(function (member) {
        var tr = document.createElement("tr");
        var nameCell = document.createElement("td");
        var link = document.createElement("a");
        link.href = member.url;
        link.textContent = member.name;
        nameCell.appendChild(link);
        tr.appendChild(nameCell);
        [member.email, member.country, member.level].forEach(function (text) {
          var td = document.createElement("td");
          td.textContent = text;
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
    }

    function refresh() {
      var number = ++sent;
      builder.setAttribute("aria-busy", "true");
      fetch(builder.getAttribute("data-preview-url"), {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "X-CSRFToken": form.querySelector("input[name='csrfmiddlewaretoken']").value },
      })
        .then(function (response) {
          return response.json();
        })
        .then(function (data) {
          if (number !== sent) return; // an answer to older rows
          builder.removeAttribute("aria-busy");
          if (data.ok) {
            showErrors({}, []);
            showMembers(data);
          } else {
            showErrors(data.row_errors || {}, data.errors || []);
            document.getElementById("segment-count").textContent = "—";
            showPlaceholder("Correct the rows marked in red to see who they select.");
          }
          builder.setAttribute("data-updated", String(number));
        })
        .catch(function () {
          builder.removeAttribute("aria-busy");
        });
    }

    function soon() {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 300);
    }

    function addRow(event) {
      event.preventDefault();
      var index = parseInt(total.value, 10);
      var html = document.getElementById("segment-row-template").innerHTML
        .replace(/__prefix__/g, String(index))
        .replace(/__number__/g, String(index + 1));
      rowsTable.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var added = rowsTable.querySelectorAll(".segment-row");
      var row = added[added.length - 1];
      row.querySelector(".segment-group").value = String(index + 1);
      shape(row);
      row.querySelector(".segment-field").focus();
    }

    builder.addEventListener("change", function (event) {
      var row = event.target.closest(".segment-row");
      if (row && event.target.classList.contains("segment-field")) shape(row);
      soon();
    });
    builder.addEventListener("input", function (event) {
      if (event.target.matches("input")) soon();
    });
    document.getElementById("segment-add-row").addEventListener("click", addRow);
    document.getElementById("segment-refresh").addEventListener("click", function (event) {
      event.preventDefault();
      refresh();
    });
    shapeAll();
  });
})();
