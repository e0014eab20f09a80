// The storefront chat bubble: ask, show the sources, stream the answer (server-sent events),
// cite, rate, retry, hand off to a human. Every customer or model text goes in with textContent.
(function () {
  "use strict";
  var root = document.getElementById("chat");
  if (!root) return;
  var panel = document.getElementById("chat-panel");
  var toggle = document.getElementById("chat-toggle");
  var log = document.getElementById("chat-log");
  var statusLine = document.getElementById("chat-status");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-input");
  var errorLine = document.getElementById("chat-error");
  var ZERO = "00000000-0000-0000-0000-000000000000";
  var TURN_DEADLINE_MS = 6 * 60 * 1000; // the server fails a dead worker's turn long before this
  var conversation = root.dataset.conversation || "";

  var A = window.TrailheadAnswers;
  var el = A.el;
  var errorText = A.errorText;

  function post(url, body) {
    return A.post(url, body, A.csrfToken(form));
  }

  function showError(message) {
    A.showError(errorLine, message);
  }

  function open(focus) {
    panel.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    sessionStorage.setItem("chat-open", "1");
    if (focus) input.focus();
  }

  function close() {
    panel.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    sessionStorage.removeItem("chat-open");
    toggle.focus();
  }

  // --- one turn ---------------------------------------------------------------------------------

  function Turn(data) {
    this.id = data.id;
    this.eventsUrl = data.events_url;
    this.node = el("li", "chat-turn");
    this.node.dataset.turn = data.id;
    this.node.appendChild(el("p", "chat-question", data.question));
    this.sourcesNode = el("ol", "chat-sources");
    this.sourcesNode.setAttribute("aria-label", "Sources");
    this.instantNode = el("blockquote", "chat-instant");
    this.instantNode.hidden = true;
    this.answerNode = el("p", "chat-answer");
    this.actionsNode = el("div", "chat-actions");
    this.node.appendChild(this.sourcesNode);
    this.node.appendChild(this.instantNode);
    this.node.appendChild(this.answerNode);
    this.node.appendChild(this.actionsNode);
    this.view = new A.AnswerView(this.sourcesNode, this.answerNode, "chat-source-" + data.id + "-");
    log.appendChild(this.node);
  }

  // The instant answer: the best-matching line of the best source, as a quote from it, at once.
  Turn.prototype.showInstant = function (data) {
    this.instantNode.textContent = "";
    var label = el("a", "chat-instant-label", data.label + ":");
    label.href = data.url;
    this.instantNode.appendChild(label);
    this.instantNode.appendChild(el("span", "chat-instant-quote", " \u201c" + data.quote + "\u201d"));
    this.instantNode.hidden = false;
  };

  Turn.prototype.listen = function () {
    var turn = this;
    if (this.stream) this.stream.close();
    this.node.classList.add("chat-turn-streaming");
    statusLine.textContent = "Looking it up…";
    this.stream = A.follow(this.eventsUrl, this.view, statusLine, {
      writing: "Writing the answer…",
      deadlineMs: TURN_DEADLINE_MS,
      instant: function (data) { turn.showInstant(data); },
      done: function (data) { turn.finish(data); },
      failed: function (message) { turn.fail(message); },
      reconnecting: function () { statusLine.textContent = "Reconnecting…"; }
    });
  };

  Turn.prototype.stop = function () {
    if (this.stream) this.stream.close();
    this.stream = null;
    this.node.classList.remove("chat-turn-streaming");
    statusLine.textContent = "";
  };

  Turn.prototype.finish = function (data) {
    this.stop();
    this.view.showFinal(data.answer, data.quotes);
    this.actionsNode.textContent = "";
    if (data.sign_in) {
      var signIn = el("a", "button button-small", "Sign in to see your orders");
      signIn.href = root.dataset.loginUrl;
      this.actionsNode.appendChild(signIn);
      return;
    }
    this.addFeedback();
    if (data.offer_human || data.abstained) offerHuman(this);
  };

  Turn.prototype.addFeedback = function () {
    var turn = this;
    var group = el("span", "chat-feedback");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Was this helpful?");
    [[1, "👍", "Helpful"], [-1, "👎", "Not helpful"]].forEach(function (choice) {
      var button = el("button", "chat-rate", choice[1]);
      button.type = "button";
      button.setAttribute("aria-label", choice[2]);
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", function () {
        post(root.dataset.feedbackUrl.replace("/0/", "/" + turn.id + "/"), {rating: choice[0]}).then(function (result) {
          if (!result.ok) { showError(errorText(result.data, "Your rating could not be saved.")); return; }
          group.querySelectorAll("button").forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
          statusLine.textContent = "Thanks for the feedback.";
          if (choice[0] === -1) offerHuman(turn);
        });
      });
      group.appendChild(button);
    });
    this.actionsNode.appendChild(group);
  };

  Turn.prototype.fail = function (message) {
    var turn = this;
    this.stop();
    this.node.classList.add("chat-turn-failed");
    this.actionsNode.textContent = "";
    this.actionsNode.appendChild(el("span", "chat-failed", message || "The answer failed."));
    var retry = el("button", "button button-small chat-retry", "Try again");
    retry.type = "button";
    retry.addEventListener("click", function () {
      retry.disabled = true;
      post(root.dataset.retryUrl.replace("/0/", "/" + turn.id + "/")).then(function (result) {
        if (!result.ok) { retry.disabled = false; showError(errorText(result.data, "Could not retry.")); return; }
        turn.node.classList.remove("chat-turn-failed");
        turn.actionsNode.textContent = "";
        turn.view.clear();
        turn.instantNode.textContent = "";
        turn.instantNode.hidden = true;
        turn.listen();
      });
    });
    this.actionsNode.appendChild(retry);
    offerHuman(this);
  };

  function offerHuman(turn) {
    if (turn.actionsNode.querySelector(".chat-offer-human")) return;
    var offer = el("button", "link-button chat-offer-human", "Talk to a human instead");
    offer.type = "button";
    offer.addEventListener("click", handOff);
    turn.actionsNode.appendChild(offer);
  }

  // --- conversation -----------------------------------------------------------------------------

  function ask(question) {
    showError("");
    var body = {question: question};
    if (root.dataset.product) body.product = Number(root.dataset.product);
    if (conversation) body.conversation = conversation;
    form.querySelector("button[type=submit]").disabled = true;
    return post(root.dataset.askUrl, body).then(function (result) {
      form.querySelector("button[type=submit]").disabled = false;
      if (!result.ok) {
        showError(errorText(result.data, "Your question could not be sent. Please try again."));
        return;
      }
      conversation = result.data.conversation;
      input.value = "";
      new Turn(result.data).listen();
      log.scrollTop = log.scrollHeight;
    }, function () {
      form.querySelector("button[type=submit]").disabled = false;
      showError("The shop could not be reached. Check your connection and try again.");
    });
  }

  function handOff() {
    showError("");
    if (!root.dataset.signedIn) {
      var note = el("li", "chat-system");
      note.appendChild(document.createTextNode("To talk to a human, please "));
      var link = el("a", "", "sign in");
      link.href = root.dataset.loginUrl;
      note.appendChild(link);
      note.appendChild(document.createTextNode(" first, so our team can answer you."));
      log.appendChild(note);
      return;
    }
    // A hand-off needs something to hand off: the conversation so far, or the question typed now.
    var typed = input.value.trim();
    var start = conversation && !typed ? Promise.resolve() : (typed ? ask(typed) : Promise.resolve());
    start.then(function () {
      if (!conversation) { showError("Type what you need help with, then choose Talk to a human."); return; }
      return post(root.dataset.handoffUrl.replace(ZERO, conversation)).then(function (result) {
        if (!result.ok) { showError(errorText(result.data, "We could not create your request. Please try again.")); return; }
        var note = el("li", "chat-system chat-handoff");
        note.appendChild(document.createTextNode("A person from our team will answer you. Your request number is #" + result.data.ticket_number + ". "));
        var url = result.data.ticket_url || root.dataset.requestsUrl;
        if (url) {
          var link = el("a", "", "Follow it under My support requests");
          link.href = url;
          note.appendChild(link);
        }
        log.appendChild(note);
      });
    });
  }

  function restore() {
    if (!conversation || log.childElementCount) return;
    fetch(root.dataset.conversationUrl.replace(ZERO, conversation), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { conversation = ""; return; }
        data.turns.forEach(function (item) {
          var turn = new Turn(item);
          turn.view.showSources(item.sources);
          if (item.status === "done") turn.finish({answer: item.answer, abstained: item.abstained, offer_human: item.abstained});
          else if (item.status === "failed") turn.fail("The answer failed.");
          else turn.listen();
        });
        if (data.ticket_number) {
          log.appendChild(el("li", "chat-system", "This chat was handed to our team as request #" + data.ticket_number + "."));
        }
      });
  }

  toggle.addEventListener("click", function () {
    if (panel.hidden) { open(true); restore(); } else { close(); }
  });
  document.getElementById("chat-close").addEventListener("click", close);
  document.getElementById("chat-human").addEventListener("click", handOff);
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") close(); });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question) { showError("Please type a question."); return; }
    if (question.length > 10000) { showError("Your question is too long (at most 10,000 characters)."); return; }
    ask(question);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  if (sessionStorage.getItem("chat-open")) { open(false); restore(); }
})();
