// Shared by the chat bubble (chat.js) and the agent's assistant (agent_assistant.js): POST with the
// CSRF token, follow an answer's server-sent events into an AnswerView (its sources and its cited
// text), show errors. Every customer or model text goes in with textContent.
(function () {
  "use strict";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // The CSRF token of the form inside `container` ("" when there is none).
  function csrfToken(container) {
    var field = container.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // An error line: shown with `message`, hidden without one.
  function showError(node, message) {
    node.textContent = message || "";
    node.hidden = !message;
  }

  function post(url, body, csrfToken) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken, "Accept": "application/json"},
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return {ok: response.ok, status: response.status, data: data};
      });
    });
  }

  function errorText(data, fallback) {
    if (!data) return fallback;
    if (typeof data.detail === "string") return data.detail;
    for (var key in data) {
      var value = data[key];
      if (Array.isArray(value) && value.length) return String(value[0]);
      if (typeof value === "string") return value;
    }
    return fallback;
  }

  function renderSources(list, sources, idPrefix) {
    list.textContent = "";
    (sources || []).forEach(function (source) {
      var item = el("li", "chat-source");
      item.id = idPrefix + source.n;
      var link = el("a", "chat-source-link", "[" + source.n + "] " + source.title);
      link.href = source.url;
      item.appendChild(link);
      if (source.excerpt) item.appendChild(el("span", "chat-source-excerpt", source.excerpt));
      list.appendChild(item);
    });
  }

  // The answer as text with each [n] that names a source turned into a link to it (checked text only:
  // final answers and "sentence" events; raw tokens of older workers are not checked yet). `quotes`
  // ({n: [quote, ...]}) are the passage words each citation rests on, shown on hover.
  function renderAnswer(node, text, sources, final, quotes) {
    node.textContent = "";
    var byNumber = {};
    (sources || []).forEach(function (source) { byNumber[source.n] = source; });
    (final ? text.split(/(\[\d{1,3}\])/) : [text]).forEach(function (part) {
      var match = /^\[(\d{1,3})\]$/.exec(part);
      if (match && byNumber[match[1]]) {
        var cite = el("a", "chat-cite", part);
        cite.href = byNumber[match[1]].url;
        cite.title = byNumber[match[1]].title +
          (quotes && quotes[match[1]] ? ": \u201c" + quotes[match[1]].join("\u201d \u2026 \u201c") + "\u201d" : "");
        node.appendChild(cite);
      } else {
        node.appendChild(document.createTextNode(part));
      }
    });
  }

  // Follow one answer. handlers: sources(list), instant(event), sentence(text), token(text), ping(status),
  // done(event), failed(message), reconnecting(); instant and sentence are optional. Events are numbered: a replay after a reconnect skips what was already seen.
  // Returns {close}. A deadline turns a silent stream into a failure, so nothing waits forever.
  function listen(eventsUrl, handlers, deadlineMs) {
    var seen = 0;
    var source = new EventSource(eventsUrl);
    var timer = setTimeout(function () { stop(); handlers.failed("The assistant did not answer in time."); }, deadlineMs || 360000);
    function stop() { source.close(); clearTimeout(timer); }
    function accept(event) {
      var data = JSON.parse(event.data);
      if (typeof data.i === "number") {
        if (data.i < seen) return null;
        seen = data.i + 1;
      }
      return data;
    }
    source.addEventListener("sources", function (event) { var d = accept(event); if (d) handlers.sources(d.sources); });
    source.addEventListener("instant", function (event) { var d = accept(event); if (d && handlers.instant) handlers.instant(d); });
    source.addEventListener("sentence", function (event) { var d = accept(event); if (d && handlers.sentence) handlers.sentence(d.text); });
    source.addEventListener("token", function (event) { var d = accept(event); if (d) handlers.token(d.text); });
    source.addEventListener("ping", function (event) { if (handlers.ping) handlers.ping(JSON.parse(event.data).status); });
    source.addEventListener("done", function (event) { var d = accept(event); if (d) { stop(); handlers.done(d); } });
    source.addEventListener("failed", function (event) { var d = accept(event); if (d) { stop(); handlers.failed(d.error); } });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CONNECTING && handlers.reconnecting) handlers.reconnecting();
    });
    return {close: stop};
  }

  // One answer in the page: its numbered sources and its text, built up as the events arrive.
  function AnswerView(sourcesNode, answerNode, sourceIdPrefix) {
    this.sourcesNode = sourcesNode;
    this.answerNode = answerNode;
    this.sourceIdPrefix = sourceIdPrefix;
    this.clear();
  }

  AnswerView.prototype.clear = function () {
    this.sources = [];
    this.text = "";
    this.sourcesNode.textContent = "";
    this.answerNode.textContent = "";
  };

  AnswerView.prototype.showSources = function (sources) {
    this.sources = sources || [];
    renderSources(this.sourcesNode, this.sources, this.sourceIdPrefix);
  };

  // A checked sentence: its citations become links at once.
  AnswerView.prototype.addSentence = function (sentence) {
    this.text += (this.text ? " " : "") + sentence;
    renderAnswer(this.answerNode, this.text, this.sources, true);
  };

  // A raw token (older workers): plain text until the final answer comes.
  AnswerView.prototype.addToken = function (piece) {
    this.text += piece;
    renderAnswer(this.answerNode, this.text, this.sources, false);
  };

  AnswerView.prototype.showFinal = function (answer, quotes) {
    this.text = answer;
    renderAnswer(this.answerNode, answer, this.sources, true, quotes);
  };

  // Follow one answer into `view` (an AnswerView), saying how it goes in statusNode. options:
  // writing (the status once the sources are in), done(data), failed(message), and optionally
  // instant(data), reconnecting(), deadlineMs. done shows the final answer (view.showFinal) itself,
  // since a page also shows answers that are already done. Returns {close}.
  function follow(eventsUrl, view, statusNode, options) {
    return listen(eventsUrl, {
      sources: function (sources) { view.showSources(sources); statusNode.textContent = options.writing; },
      instant: options.instant,
      sentence: function (sentence) { view.addSentence(sentence); },
      token: function (piece) { view.addToken(piece); },
      ping: function (status) { if (status === "pending") statusNode.textContent = "Waiting for the assistant…"; },
      done: options.done,
      failed: options.failed,
      reconnecting: options.reconnecting
    }, options.deadlineMs);
  }

  window.TrailheadAnswers = {el: el, csrfToken: csrfToken, showError: showError, post: post, errorText: errorText,
                             AnswerView: AnswerView, follow: follow};
})();
