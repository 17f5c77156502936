/*
 * SEND Local Offer chat: the parents' chat page (in the widget's iframe at /widget/frame, or the
 * full page at /chat). Plain JavaScript, no libraries. Everything from the server or the parent is
 * put on the page as text (textContent), never as HTML.
 *
 * Stable hooks (for browser tests):
 *   #chat                      the chat; data-helpline has the helpline's words
 *   #chat-privacy              privacy notice shown before the first message; #chat-privacy-start its Start button
 *   #chat-main                 the conversation (hidden until Start)
 *   #chat-log                  the transcript (role="log", aria-live="polite")
 *   .chat-message--user        a parent's message; .chat-message--bot an assistant's message
 *   .chat-message__text        the words of a message
 *   button.chat-quick-reply    a quick reply (data-payload has what it sends)
 *   .chat-card[data-service-id]  a service card; .chat-card__name, .chat-card__sample ("Sample data"), .chat-card__why
 *   .chat-signpost[data-signpost-id]  a signpost card (other help)
 *   .chat-feedback-yes / .chat-feedback-no   "Was this helpful?" on a card; .chat-feedback__thanks the reply
 *   .chat-report-problem       opens the card's report form: textarea.chat-report__comment,
 *                              button.chat-report__send, button.chat-report__cancel, .chat-report__error
 *   #chat-input, #chat-send    the message box and Send button
 *   #chat-status               "Sending…" while waiting; #chat-error an error in words
 *   #chat-restart, #chat-print, #chat-save   Start again, Print, Save as a page
 *   #chat-delete               "Delete this conversation"; #chat-delete-confirm its question with
 *                              #chat-delete-yes and #chat-delete-no; #chat-deleted the confirmation in words
 * Storage: sessionStorage "lo-chat" = {id, started, messages, feedback} (this tab only).
 */
(function () {
  "use strict";

  var STORAGE_KEY = "lo-chat";
  var root = document.getElementById("chat");
  if (!root) {
    return;
  }
  var tokenMeta = document.querySelector('meta[name="widget-token"]');
  var token = tokenMeta ? tokenMeta.getAttribute("content") : "";
  var helpline = root.getAttribute("data-helpline") || "the SEND helpline";
  var maxLength = parseInt(root.getAttribute("data-max-length"), 10) || 1000;
  var inFrame = window.parent !== window;
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  var privacy = document.getElementById("chat-privacy");
  var startButton = document.getElementById("chat-privacy-start");
  var main = document.getElementById("chat-main");
  var log = document.getElementById("chat-log");
  var statusLine = document.getElementById("chat-status");
  var errorLine = document.getElementById("chat-error");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-input");

  var OFFLINE =
    "Sorry, your message could not be sent. Check your internet connection and try again, or call " +
    helpline +
    ". If a child is in danger, call 999.";

  var sending = false;
  var waiting = []; // messages typed while an answer was on its way, sent in order after it
  var typingTimer = null;
  var state = load();

  // --- State, kept for this tab only -----------------------------------------------------------

  function newId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  function fresh(started) {
    return { id: newId(), started: !!started, messages: [], feedback: {} };
  }

  function load() {
    try {
      var saved = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || "null");
      if (saved && typeof saved.id === "string" && /^[0-9a-f]{32}$/.test(saved.id) && Array.isArray(saved.messages)) {
        saved.feedback = saved.feedback && typeof saved.feedback === "object" ? saved.feedback : {};
        return saved;
      }
    } catch (e) {
      // storage unavailable or damaged: start afresh
    }
    return fresh(false);
  }

  function save() {
    try {
      window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(state));
    } catch (e) {
      // storage full or turned off: the chat still works, it just won't survive a reload
    }
  }

  // --- Building the page from text ---------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function hidden(text) {
    return el("span", "govuk-visually-hidden", text);
  }

  var URL_PATTERN = /(https?:\/\/[^\s<>"]+[^\s<>".,;:!?)])/g;

  function safeUrl(text) {
    try {
      var url = new URL(text);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function appendLinked(parent, text) {
    var last = 0;
    text.replace(URL_PATTERN, function (match, _group, offset) {
      var href = safeUrl(match);
      if (!href) {
        return match;
      }
      parent.appendChild(document.createTextNode(text.slice(last, offset)));
      var link = el("a", "govuk-link chat-link", match);
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.appendChild(hidden(" (opens in a new tab)"));
      parent.appendChild(link);
      last = offset + match.length;
      return match;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  /** Text with **bold** parts as <strong> nodes and web addresses as links; nothing else is read as markup. */
  function appendFormatted(parent, text) {
    var parts = String(text).split("**");
    parts.forEach(function (part, index) {
      var bold = index % 2 === 1 && index < parts.length - 1;
      if (bold) {
        var strong = el("strong", "chat-strong");
        appendLinked(strong, part);
        parent.appendChild(strong);
      } else {
        appendLinked(parent, index % 2 === 1 ? "**" + part : part);
      }
    });
  }

  function plain(text) {
    return String(text || "").replace(/\*\*/g, "");
  }

  function detail(list, term, value) {
    if (value === undefined || value === null || String(value).trim() === "") {
      return;
    }
    list.appendChild(el("dt", "chat-card__term", term));
    var dd = el("dd", "chat-card__value");
    appendLinked(dd, String(value));
    list.appendChild(dd);
  }

  function telLink(phone) {
    var link = el("a", "govuk-link chat-link", phone);
    link.href = "tel:" + String(phone).replace(/[^0-9+]/g, "");
    return link;
  }

  function serviceCard(card) {
    var article = el("article", "chat-card");
    article.setAttribute("data-service-id", String(card.id || ""));
    var heading = el("h3", "chat-card__name", plain(card.name));
    article.appendChild(heading);
    if (card.is_sample) {
      article.appendChild(el("strong", "chat-tag chat-card__sample", "Sample data"));
    }
    if (card.organisation) {
      article.appendChild(el("p", "chat-card__organisation", "From " + card.organisation));
    }
    var list = el("dl", "chat-card__details");
    detail(list, "Who it's for", card.who_for);
    detail(list, "How to get it", card.how_to_access);
    detail(list, "What to expect", card.what_to_expect);
    detail(list, "Cost", card.cost);
    detail(list, "Contact", card.contact);
    article.appendChild(list);
    if (card.reviewed_text) {
      article.appendChild(el("p", "chat-card__reviewed", card.reviewed_text));
    }
    if (Array.isArray(card.why) && card.why.length) {
      var why = el("div", "chat-card__why");
      why.appendChild(el("p", "chat-card__why-heading", "Why it's on your list:"));
      var reasons = el("ul", "chat-card__reasons");
      card.why.forEach(function (reason) {
        reasons.appendChild(el("li", "", reason));
      });
      why.appendChild(reasons);
      article.appendChild(why);
    }
    if (card.id) {
      article.appendChild(feedbackBlock(card));
    }
    return article;
  }

  function signpostCard(signpost) {
    var article = el("article", "chat-card chat-signpost");
    article.setAttribute("data-signpost-id", String(signpost.id || ""));
    article.appendChild(el("h3", "chat-card__name", plain(signpost.name)));
    if (signpost.is_sample) {
      article.appendChild(el("strong", "chat-tag chat-card__sample", "Sample data"));
    }
    if (signpost.description) {
      var description = el("p", "chat-card__description");
      appendLinked(description, signpost.description);
      article.appendChild(description);
    }
    var list = el("dl", "chat-card__details");
    detail(list, "How to get help", signpost.how_to_access);
    if (signpost.phone) {
      list.appendChild(el("dt", "chat-card__term", "Phone"));
      var dd = el("dd", "chat-card__value");
      dd.appendChild(telLink(signpost.phone));
      list.appendChild(dd);
    }
    detail(list, "Email", signpost.email);
    detail(list, "Website", signpost.website);
    detail(list, "Open", signpost.opening_hours);
    article.appendChild(list);
    if (signpost.why) {
      article.appendChild(el("p", "chat-card__why", signpost.why));
    }
    return article;
  }

  // --- Feedback on a service card ----------------------------------------------------------------

  function thanksLine(block, text) {
    var thanks = el("p", "chat-feedback__thanks", text);
    thanks.tabIndex = -1;
    block.appendChild(thanks);
    return thanks;
  }

  function postJson(path, body) {
    return window
      .fetch(path, {
        method: "POST",
        credentials: "omit",
        headers: { "Content-Type": "application/json", "X-Widget-Token": token },
        body: JSON.stringify(body),
      })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            return { status: response.status, data: data || {} };
          });
      });
  }

  function feedbackBlock(card) {
    var id = String(card.id);
    var name = plain(card.name);
    var block = el("div", "chat-feedback");
    var given = state.feedback[id] || {};
    var helpfulArea = el("div", "chat-feedback__helpful");
    block.appendChild(helpfulArea);
    if (given.helpful) {
      thanksLine(helpfulArea, given.helpful);
    } else {
      var question = el("p", "chat-feedback__question", "Was this helpful?");
      helpfulArea.appendChild(question);
      var buttons = el("div", "chat-feedback__buttons");
      [
        ["Yes", true, "chat-feedback-yes"],
        ["No", false, "chat-feedback-no"],
      ].forEach(function (choice) {
        var button = el("button", "chat-small-button " + choice[2], choice[0]);
        button.type = "button";
        button.appendChild(hidden(", " + name + " was " + (choice[1] ? "" : "not ") + "helpful"));
        button.addEventListener("click", function () {
          sendHelpful(card, choice[1], helpfulArea, buttons);
        });
        buttons.appendChild(button);
      });
      helpfulArea.appendChild(buttons);
    }
    var problemArea = el("div", "chat-feedback__problem");
    block.appendChild(problemArea);
    if (given.problem) {
      thanksLine(problemArea, given.problem);
    } else {
      var open = el("button", "chat-small-button chat-link-button chat-report-problem", "Report a problem with this service");
      open.type = "button";
      open.appendChild(hidden(": " + name));
      problemArea.appendChild(open);
      var report = reportForm(card, problemArea, open);
      problemArea.appendChild(report);
      open.addEventListener("click", function () {
        report.hidden = false;
        open.hidden = true;
        report.querySelector("textarea").focus();
      });
    }
    return block;
  }

  function sendHelpful(card, helpful, area, buttons) {
    var id = String(card.id);
    var error = area.querySelector(".chat-feedback__error");
    postJson("/api/feedback", { kind: "helpful", helpful: helpful, service_id: id, comment: "" })
      .then(function (result) {
        if (result.status === 201) {
          state.feedback[id] = Object.assign({}, state.feedback[id], { helpful: result.data.message });
          save();
          area.textContent = "";
          thanksLine(area, result.data.message).focus();
        } else {
          throw new Error(result.data.error || "Sorry, your answer could not be sent. Please try again.");
        }
      })
      .catch(function (problem) {
        if (!error) {
          error = el("p", "chat-error chat-feedback__error");
          error.setAttribute("role", "alert");
          area.insertBefore(error, buttons.nextSibling);
        }
        error.textContent = problem instanceof TypeError ? OFFLINE : problem.message;
      });
  }

  var reportCount = 0;

  function reportForm(card, area, opener) {
    var id = String(card.id);
    reportCount += 1;
    var fieldId = "chat-report-" + reportCount;
    var report = el("form", "chat-report");
    report.hidden = true;
    report.noValidate = true;
    var label = el("label", "chat-report__label", "What is wrong with the details of " + plain(card.name) + "?");
    label.htmlFor = fieldId;
    var hint = el("p", "chat-report__hint", "For example, a phone number that does not work. Please do not include names or personal details.");
    hint.id = fieldId + "-hint";
    var comment = el("textarea", "govuk-textarea chat-report__comment");
    comment.id = fieldId;
    comment.rows = 3;
    comment.maxLength = 2000;
    comment.setAttribute("aria-describedby", hint.id);
    var error = el("p", "chat-error chat-report__error");
    error.setAttribute("role", "alert");
    error.hidden = true;
    var actions = el("div", "chat-report__actions");
    var sendButton = el("button", "chat-small-button chat-report__send", "Send report");
    sendButton.type = "submit";
    var cancel = el("button", "chat-small-button chat-link-button chat-report__cancel", "Cancel");
    cancel.type = "button";
    actions.appendChild(sendButton);
    actions.appendChild(cancel);
    [label, hint, error, comment, actions].forEach(function (node) {
      report.appendChild(node);
    });

    function showError(text) {
      error.textContent = text;
      error.hidden = false;
      comment.setAttribute("aria-invalid", "true");
      comment.focus();
    }

    function close() {
      report.hidden = true;
      opener.hidden = false;
      opener.focus();
    }

    cancel.addEventListener("click", close);
    report.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        close();
      }
    });
    var busy = false;
    report.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) {
        return;
      }
      var text = comment.value.trim();
      if (!text) {
        showError("Tell us what is wrong with this service's details.");
        return;
      }
      busy = true;
      postJson("/api/feedback", { kind: "problem", service_id: id, comment: text })
        .then(function (result) {
          if (result.status !== 201) {
            showError(result.data.error || "Sorry, your report could not be sent. Please try again.");
            return;
          }
          state.feedback[id] = Object.assign({}, state.feedback[id], { problem: result.data.message });
          save();
          area.textContent = "";
          thanksLine(area, result.data.message).focus();
        })
        .catch(function () {
          showError(OFFLINE);
        })
        .then(function () {
          busy = false;
        });
    });
    return report;
  }

  // --- The transcript ------------------------------------------------------------------------------

  function hasResults(message) {
    var custom = message.custom;
    return !!(custom && (custom.type === "service_cards" || custom.type === "signposts"));
  }

  function renderMessage(message) {
    var isUser = message.role === "user";
    var item = el("div", "chat-message " + (isUser ? "chat-message--user" : "chat-message--bot"));
    if (hasResults(message)) {
      item.classList.add("chat-message--results");
    }
    var custom = message.custom;
    var services = custom && custom.type === "service_cards" && Array.isArray(custom.cards);
    var text = null;
    if (message.text) {
      text = el("p", "chat-message__text");
      text.appendChild(hidden(isUser ? "You said: " : "Assistant: "));
      if (isUser) {
        text.appendChild(document.createTextNode(message.text));
      } else {
        appendFormatted(text, message.text);
      }
    }
    if (services) {
      // A page of services: the cards, then what the assistant says about them ("That's 3 of 13...").
      item.classList.add("chat-message--services");
      var cards = el("div", "chat-cards");
      custom.cards.forEach(function (card) {
        if (card && typeof card === "object") {
          cards.appendChild(serviceCard(card));
        }
      });
      item.appendChild(cards);
      if (text) {
        text.classList.add("chat-message__text--after-cards");
        item.appendChild(text);
      }
    } else {
      if (text) {
        item.appendChild(text);
      }
      if (custom && custom.type === "signposts" && Array.isArray(custom.signposts)) {
        var signposts = el("div", "chat-cards chat-signposts");
        custom.signposts.forEach(function (signpost) {
          if (signpost && typeof signpost === "object") {
            signposts.appendChild(signpostCard(signpost));
          }
        });
        item.appendChild(signposts);
      }
    }
    if (!isUser && Array.isArray(message.buttons) && message.buttons.length) {
      var replies = el("div", "chat-quick-replies");
      message.buttons.forEach(function (choice) {
        var button = el("button", "chat-small-button chat-quick-reply", choice.title);
        button.type = "button";
        button.setAttribute("data-payload", choice.payload);
        button.addEventListener("click", function () {
          quickReply(choice);
        });
        replies.appendChild(button);
      });
      item.appendChild(replies);
    }
    if (!item.childNodes.length) {
      return null;
    }
    log.appendChild(item);
    return item;
  }

  function renderAll() {
    // A restored conversation is not read out again: the live region is quiet while it is rebuilt.
    log.setAttribute("aria-live", "off");
    log.textContent = "";
    state.messages.forEach(renderMessage);
    window.setTimeout(function () {
      log.setAttribute("aria-live", "polite");
    }, 100);
    scrollToEnd();
  }

  function addMessage(message) {
    state.messages.push(message);
    save();
    return renderMessage(message);
  }

  function dropQuickReplies() {
    state.messages.forEach(function (message) {
      delete message.buttons;
    });
    Array.prototype.forEach.call(log.querySelectorAll(".chat-quick-replies"), function (node) {
      node.parentNode.removeChild(node);
    });
  }

  function scrollTo(node) {
    if (!node) {
      return;
    }
    var behavior = reduceMotion ? "auto" : "smooth";
    if (inFrame) {
      log.scrollTo({ top: node.offsetTop - 8, behavior: behavior });
    } else {
      node.scrollIntoView({ block: "nearest", behavior: behavior });
    }
  }

  function scrollToEnd() {
    if (inFrame) {
      log.scrollTop = log.scrollHeight;
    }
  }

  // --- Sending --------------------------------------------------------------------------------------

  function setStatus(text) {
    statusLine.textContent = text;
  }

  function showError(text) {
    errorLine.textContent = text;
    errorLine.hidden = !text;
  }

  function send(text, shown) {
    if (sending) {
      if (shown) {
        scrollTo(addMessage({ role: "user", text: shown }));
      }
      waiting.push(text);
      return true;
    }
    showError("");
    dropQuickReplies();
    if (shown) {
      scrollTo(addMessage({ role: "user", text: shown }));
    }
    sending = true;
    setStatus("Sending your message…");
    typingTimer = window.setTimeout(function () {
      setStatus("The assistant is typing…");
    }, 600);
    var conversation = state.id;
    postJson("/api/chat", { conversation_id: conversation, message: text })
      .then(function (result) {
        if (conversation !== state.id) {
          return; // the parent started again while this was on its way
        }
        if (result.status !== 200 || !Array.isArray(result.data.messages)) {
          showError(result.data.error || OFFLINE);
          return;
        }
        var first = null;
        result.data.messages.forEach(function (message) {
          var node = addMessage({
            role: "bot",
            text: typeof message.text === "string" ? message.text : "",
            buttons: Array.isArray(message.buttons) ? message.buttons : undefined,
            custom: message.custom && typeof message.custom === "object" ? message.custom : undefined,
          });
          first = first || node;
        });
        scrollTo(first);
      })
      .catch(function () {
        showError(OFFLINE);
        if (shown && shown === text && !input.value) {
          input.value = text; // give the parent their words back to try again
        }
      })
      .then(function () {
        window.clearTimeout(typingTimer);
        sending = false;
        setStatus("");
        if (waiting.length && conversation === state.id) {
          send(waiting.shift(), null);
        }
      });
    return true;
  }

  function quickReply(choice) {
    if (choice.payload === "/start_again") {
      restart();
      return;
    }
    send(choice.payload, choice.title);
    input.focus();
  }

  function restart() {
    if (sending) {
      window.clearTimeout(typingTimer);
      sending = false;
    }
    waiting = [];
    state = fresh(true);
    save();
    log.textContent = "";
    showError("");
    document.getElementById("chat-deleted").hidden = true;
    input.value = "";
    input.focus();
    send("/start_again", null);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) {
      showError("Type a message before sending it.");
      input.focus();
      return;
    }
    if (text.length > maxLength) {
      showError("Please keep your message to " + maxLength + " characters or fewer.");
      input.focus();
      return;
    }
    if (send(text, text)) {
      input.value = "";
    }
    input.focus();
  });

  function begin() {
    state.started = true;
    save();
    privacy.hidden = true;
    main.hidden = false;
    input.focus();
    send("/greet", null);
  }

  startButton.addEventListener("click", begin);

  // --- Print and save ---------------------------------------------------------------------------------

  function resultMessages() {
    return state.messages.filter(hasResults);
  }

  document.getElementById("chat-print").addEventListener("click", function () {
    document.body.classList.toggle("chat-printing-results", resultMessages().length > 0);
    window.print();
  });

  window.addEventListener("afterprint", function () {
    document.body.classList.remove("chat-printing-results");
  });

  var SAVED_STYLE =
    "body{font-family:arial,sans-serif;line-height:1.4;color:#0b0c0c;max-width:40em;margin:1em auto;padding:0 1em}" +
    "article{border-top:2px solid #0b0c0c;padding:.5em 0 1em}dt{font-weight:bold;margin-top:.5em}dd{margin:0}" +
    ".sample{display:inline-block;border:2px solid #0b0c0c;padding:0 .3em;font-weight:bold}";

  function savedPage() {
    var doc = document.implementation.createHTMLDocument("Your SEND support results");
    doc.documentElement.setAttribute("lang", "en-GB");
    var charset = doc.createElement("meta");
    charset.setAttribute("charset", "utf-8");
    doc.head.insertBefore(charset, doc.head.firstChild);
    var policy = doc.createElement("meta");
    policy.setAttribute("http-equiv", "Content-Security-Policy");
    policy.setAttribute("content", "default-src 'none'; style-src 'unsafe-inline'");
    doc.head.appendChild(policy);

    function add(parent, tag, text, className) {
      var node = doc.createElement(tag);
      if (text !== undefined && text !== null) {
        node.textContent = String(text);
      }
      if (className) {
        node.className = className;
      }
      parent.appendChild(node);
      return node;
    }

    function term(list, name, value) {
      if (value !== undefined && value !== null && String(value).trim() !== "") {
        add(list, "dt", name);
        add(list, "dd", value);
      }
    }

    var body = doc.body;
    add(body, "h1", "Your SEND support results");
    add(body, "p", "Saved from the SEND Local Offer assistant on " + new Date().toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric" }) + ". Please check the details with each service before you go.");
    var results = resultMessages();
    if (!results.length) {
      add(body, "p", "There were no results in this conversation yet.");
    }
    results.forEach(function (message) {
      var custom = message.custom;
      if (message.text && custom.type === "signposts") {
        add(body, "h2", plain(message.text));
      }
      (custom.cards || []).forEach(function (card) {
        var article = add(body, "article");
        add(article, "h2", plain(card.name));
        if (card.is_sample) {
          add(article, "p", "Sample data", "sample");
        }
        if (card.organisation) {
          add(article, "p", "From " + card.organisation);
        }
        var list = add(article, "dl");
        term(list, "Who it's for", card.who_for);
        term(list, "How to get it", card.how_to_access);
        term(list, "What to expect", card.what_to_expect);
        term(list, "Cost", card.cost);
        term(list, "Contact", card.contact);
        if (Array.isArray(card.why) && card.why.length) {
          term(list, "Why it's on your list", card.why.join("; "));
        }
        add(article, "p", card.reviewed_text);
      });
      (custom.signposts || []).forEach(function (signpost) {
        var article = add(body, "article");
        add(article, "h2", plain(signpost.name));
        if (signpost.is_sample) {
          add(article, "p", "Sample data", "sample");
        }
        add(article, "p", signpost.description);
        var list = add(article, "dl");
        term(list, "How to get help", signpost.how_to_access);
        term(list, "Phone", signpost.phone);
        term(list, "Email", signpost.email);
        term(list, "Website", signpost.website);
        term(list, "Open", signpost.opening_hours);
      });
    });
    add(body, "p", "For help, call " + helpline + ". If a child is in danger, call 999.");
    // The style sheet is a constant of this file (never page data), added as text so this page's own CSP is not asked to apply it.
    return "<!DOCTYPE html>\n" + doc.documentElement.outerHTML.replace("</head>", "<style>" + SAVED_STYLE + "</style></head>");
  }

  document.getElementById("chat-save").addEventListener("click", function () {
    var blob = new Blob([savedPage()], { type: "text/html;charset=utf-8" });
    var url = URL.createObjectURL(blob);
    var link = el("a", "govuk-visually-hidden");
    link.href = url;
    link.download = "send-support-results.html";
    document.body.appendChild(link);
    link.click();
    document.body.removeChild(link);
    window.setTimeout(function () {
      URL.revokeObjectURL(url);
    }, 10000);
    setStatus(resultMessages().length ? "Your results have been saved as a page." : "Saved. There are no results in this conversation yet.");
  });

  document.getElementById("chat-restart").addEventListener("click", restart);

  // --- Delete this conversation: asked to confirm, deleted on the server at once, then a fresh one ------

  var deleteButton = document.getElementById("chat-delete");
  var deleteConfirm = document.getElementById("chat-delete-confirm");
  var deleteYes = document.getElementById("chat-delete-yes");
  var deletedNotice = document.getElementById("chat-deleted");
  var NOT_DELETED =
    "Sorry, the conversation could not be deleted just now. Please try again in a minute, or call " + helpline + ".";

  function showDeleted(text) {
    deletedNotice.textContent = text;
    deletedNotice.hidden = !text;
  }

  deleteButton.addEventListener("click", function () {
    showDeleted("");
    deleteConfirm.hidden = false;
    deleteButton.setAttribute("aria-expanded", "true");
    deleteYes.focus();
  });

  document.getElementById("chat-delete-no").addEventListener("click", function () {
    deleteConfirm.hidden = true;
    deleteButton.setAttribute("aria-expanded", "false");
    deleteButton.focus();
  });

  deleteYes.addEventListener("click", function () {
    if (sending) {
      showError("Please wait for the answer to your last message, then delete the conversation.");
      return;
    }
    deleteYes.disabled = true;
    postJson("/api/conversation/delete", { conversation_id: state.id })
      .then(function (result) {
        if (result.status !== 200 || !result.data.ok) {
          showError(result.data.error || NOT_DELETED);
          return;
        }
        deleteConfirm.hidden = true;
        deleteButton.setAttribute("aria-expanded", "false");
        waiting = [];
        state = fresh(true);
        save();
        log.textContent = "";
        showError("");
        showDeleted(result.data.message);
        input.value = "";
        input.focus();
        send("/greet", null);
      })
      .catch(function () {
        showError(NOT_DELETED);
      })
      .then(function () {
        deleteYes.disabled = false;
      });
  });

  // --- Inside the widget's iframe: Escape closes it, and the loader can hand focus over -------------

  if (inFrame) {
    document.documentElement.classList.add("chat-in-frame");
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !event.defaultPrevented) {
        window.parent.postMessage({ type: "lo-widget:close" }, "*");
      }
    });
    window.addEventListener("message", function (event) {
      if (event.source !== window.parent || !event.data || event.data.type !== "lo-widget:focus") {
        return;
      }
      (privacy.hidden ? input : startButton).focus();
    });
  }

  // --- Start: the privacy notice first, or the conversation this tab already had ----------------

  if (state.started) {
    main.hidden = false;
    renderAll();
  } else {
    privacy.hidden = false;
  }
})();
