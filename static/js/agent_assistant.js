// The agent's assistant on a ticket page: ask the knowledge base about the ticket, show the cited
// answer as it streams, and for "draft a reply" put a reply with its sources into #reply-body.
(function () {
  "use strict";
  var root = document.getElementById("assistant");
  if (!root) return;
  var A = window.TrailheadAnswers;
  var statusLine = root.querySelector(".assistant-status");
  var sourcesNode = root.querySelector(".assistant-sources");
  var answerNode = root.querySelector(".assistant-answer");
  var draftNode = root.querySelector(".assistant-draft");
  var errorNode = root.querySelector(".assistant-error");
  var useButton = root.querySelector(".assistant-use");
  var buttons = root.querySelectorAll("[data-action]");
  var view = new A.AnswerView(sourcesNode, answerNode, "assistant-source-");
  var stream = null;

  function busy(on) {
    buttons.forEach(function (button) { button.disabled = on; });
  }

  function draftText(answer, sources) {
    var cited = sources.filter(function (s) { return answer.indexOf("[" + s.n + "]") !== -1; });
    var lines = ["Hi" + (root.dataset.customerName ? " " + root.dataset.customerName : "") + ",", "", answer, ""];
    if (cited.length) {
      lines.push("Sources:");
      cited.forEach(function (s) { lines.push("[" + s.n + "] " + s.title + ": " + window.location.origin + s.url); });
      lines.push("");
    }
    lines.push("Best regards,");
    lines.push((root.dataset.agentName ? root.dataset.agentName + ", " : "") + root.dataset.siteName);
    return lines.join("\n");
  }

  function run(action) {
    if (stream) stream.close();
    A.showError(errorNode, "");
    useButton.hidden = true;
    draftNode.hidden = true;
    view.clear();
    statusLine.textContent = "Looking it up…";
    busy(true);
    A.post(root.dataset.askUrl, {action: action}, A.csrfToken(root)).then(function (result) {
      if (!result.ok) {
        busy(false);
        statusLine.textContent = "";
        A.showError(errorNode, A.errorText(result.data, "The assistant could not be asked."));
        return;
      }
      stream = A.follow(result.data.events_url, view, statusLine, {
        writing: "Writing…",
        done: function (data) {
          busy(false);
          statusLine.textContent = data.abstained ? "The knowledge base does not answer this." : "";
          view.showFinal(data.answer, data.quotes);
          if (action === "draft" && !data.abstained) {
            draftNode.textContent = draftText(data.answer, view.sources);
            draftNode.hidden = false;
            useButton.hidden = false;
          }
        },
        failed: function (message) {
          busy(false);
          statusLine.textContent = "";
          A.showError(errorNode, message + " Try again.");
        }
      });
    }, function () {
      busy(false);
      A.showError(errorNode, "The shop could not be reached.");
    });
  }

  buttons.forEach(function (button) {
    button.addEventListener("click", function () { run(button.dataset.action); });
  });
  useButton.addEventListener("click", function () {
    var reply = document.getElementById("reply-body");
    if (!reply) return;
    reply.value = draftNode.textContent;
    reply.dispatchEvent(new Event("input", {bubbles: true}));
    reply.focus();
  });
})();
