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
  var stream = null;

  function csrfToken() {
    return root.querySelector("input[name=csrfmiddlewaretoken]").value;
  }

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
    errorNode.hidden = true;
    useButton.hidden = true;
    draftNode.hidden = true;
    sourcesNode.textContent = "";
    answerNode.textContent = "";
    statusLine.textContent = "Looking it up…";
    busy(true);
    var sources = [];
    var text = "";
    A.post(root.dataset.askUrl, {action: action}, csrfToken()).then(function (result) {
      if (!result.ok) {
        busy(false);
        statusLine.textContent = "";
        errorNode.textContent = A.errorText(result.data, "The assistant could not be asked.");
        errorNode.hidden = false;
        return;
      }
      stream = A.listen(result.data.events_url, {
        sources: function (list) { sources = list || []; A.renderSources(sourcesNode, sources, "assistant-source-"); statusLine.textContent = "Writing…"; },
        sentence: function (sentence) { text += (text ? " " : "") + sentence; A.renderAnswer(answerNode, text, sources, true); },
        token: function (piece) { text += piece; A.renderAnswer(answerNode, text, sources, false); },
        ping: function (status) { if (status === "pending") statusLine.textContent = "Waiting for the assistant…"; },
        done: function (data) {
          busy(false);
          statusLine.textContent = data.abstained ? "The knowledge base does not answer this." : "";
          A.renderAnswer(answerNode, data.answer, sources, true, data.quotes);
          if (action === "draft" && !data.abstained) {
            draftNode.textContent = draftText(data.answer, sources);
            draftNode.hidden = false;
            useButton.hidden = false;
          }
        },
        failed: function (message) {
          busy(false);
          statusLine.textContent = "";
          errorNode.textContent = message + " Try again.";
          errorNode.hidden = false;
        }
      });
    }, function () {
      busy(false);
      errorNode.textContent = "The shop could not be reached.";
      errorNode.hidden = false;
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
