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
 *   .chat-group__heading       a group of results: the child's need(s), or "General help and advice"
 *   .chat-card[data-service-id]  a service card; .chat-card__name, .chat-card__sample ("Sample data"),
 *                              .chat-card__plan ("Needs an EHC plan"), .chat-card__why (why it fits),
 *                              .chat-card__when, .chat-card__where, a[href^="tel:"], a[href^="mailto:"],
 *                              details.chat-card__more ("More details": who for, what to expect, cost, contact)
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
  var callbackDays = parseInt(root.getAttribute("data-callback-days"), 10) || 30;
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

  /** UK phone numbers in a reply ("0800 1111", "116 123", "01632 960903", "call 999", "NHS 111"): tap to call. */
  var PHONE_PATTERN = /(\b0\d{2,4}(?: \d{3,6}){1,2}\b|\b0\d{9,10}\b|\b116 ?123\b|(?<=\b(?:call|Call|NHS|dial|ring|on) )(?:999|111)\b)/g;

  function appendPhones(parent, text) {
    var last = 0;
    text.replace(PHONE_PATTERN, function (match, _group, offset) {
      parent.appendChild(document.createTextNode(text.slice(last, offset)));
      parent.appendChild(telLink(match));
      last = offset + match.length;
      return match;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  /** Text with web addresses as links (opening in a new tab) and phone numbers as tel: links. */
  function appendLinked(parent, text) {
    var last = 0;
    text.replace(URL_PATTERN, function (match, _group, offset) {
      var href = safeUrl(match);
      if (!href) {
        return match;
      }
      appendPhones(parent, text.slice(last, offset));
      var link = el("a", "govuk-link chat-link", match);
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.appendChild(hidden(" (opens in a new tab)"));
      parent.appendChild(link);
      last = offset + match.length;
      return match;
    });
    appendPhones(parent, text.slice(last));
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

  function mailLink(email) {
    var link = el("a", "govuk-link chat-link", email);
    link.href = "mailto:" + String(email).replace(/[\s<>"]/g, "");
    return link;
  }

  function lines(value) {
    return (Array.isArray(value) ? value : [value]).filter(function (line) {
      return line !== undefined && line !== null && String(line).trim() !== "";
    });
  }

  /** A row of the short card: a term and one or more lines (when, where). */
  function factRow(list, term, value, className) {
    var values = lines(value);
    if (!values.length) {
      return;
    }
    list.appendChild(el("dt", "chat-card__term", term));
    var dd = el("dd", "chat-card__value" + (className ? " " + className : ""));
    values.forEach(function (line, index) {
      if (index) {
        dd.appendChild(el("br"));
      }
      appendLinked(dd, String(line));
    });
    list.appendChild(dd);
  }

  /** A service: the short card (why it fits, how, when, where, phone and e-mail), then "More details". */
  function serviceCard(card) {
    var article = el("article", "chat-card");
    article.setAttribute("data-service-id", String(card.id || ""));
    article.appendChild(el("h4", "chat-card__name", plain(card.name)));
    if (card.needs_ehc_plan) {
      article.appendChild(el("strong", "chat-tag chat-card__plan", "Needs an EHC plan"));
    }
    if (card.why_line) {
      article.appendChild(el("p", "chat-card__why", card.why_line));
    }
    var facts = el("dl", "chat-card__facts");
    factRow(facts, "How", card.how || card.how_to_access);
    factRow(facts, "When", card.when, "chat-card__when");
    factRow(facts, "Where", card.where, "chat-card__where");
    if (facts.childNodes.length) {
      article.appendChild(facts);
    }
    if (card.phone || card.email) {
      var reach = el("p", "chat-card__reach");
      if (card.phone) {
        var call = telLink(card.phone);
        call.insertBefore(document.createTextNode("Call "), call.firstChild);
        reach.appendChild(call);
      }
      if (card.email) {
        var mail = mailLink(card.email);
        mail.textContent = "Email";
        mail.appendChild(hidden(" " + card.email));
        reach.appendChild(mail);
      }
      article.appendChild(reach);
    }
    var more = el("details", "chat-card__more");
    var summary = el("summary", "chat-card__more-summary", "More details");
    summary.appendChild(hidden(" about " + plain(card.name)));
    more.appendChild(summary);
    if (card.organisation) {
      more.appendChild(el("p", "chat-card__organisation", "From " + card.organisation));
    }
    var list = el("dl", "chat-card__details");
    detail(list, "Who it's for", card.who_for);
    detail(list, "How to get it", card.how_to_access);
    detail(list, "What to expect", card.what_to_expect);
    detail(list, "Cost", card.cost);
    detail(list, "Contact", card.contact);
    more.appendChild(list);
    if (card.id) {
      more.appendChild(helpfulBlock(card));
      more.appendChild(problemBlock(card));
    }
    article.appendChild(more);
    var footer = el("p", "chat-card__reviewed");
    if (card.is_sample) {
      footer.appendChild(el("strong", "chat-tag chat-card__sample", "Sample data"));
      footer.appendChild(document.createTextNode(" "));
    }
    footer.appendChild(document.createTextNode(card.reviewed_text || ""));
    article.appendChild(footer);
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

  /** "Was this helpful? Yes / No" under a card (one row). */
  function helpfulBlock(card) {
    var id = String(card.id);
    var name = plain(card.name);
    var given = state.feedback[id] || {};
    var helpfulArea = el("div", "chat-feedback chat-feedback__helpful");
    if (given.helpful) {
      thanksLine(helpfulArea, given.helpful);
      return helpfulArea;
    }
    var buttons = el("div", "chat-feedback__buttons");
    buttons.appendChild(el("p", "chat-feedback__question", "Was this helpful?"));
    [
      ["Yes", true, "chat-feedback-yes"],
      ["No", false, "chat-feedback-no"],
    ].forEach(function (choice) {
      var button = el("button", "chat-small-button " + choice[2], choice[0]);
      button.type = "button";
      button.appendChild(hidden(", " + name + " was " + (choice[1] ? "" : "not ") + "helpful"));
      button.addEventListener("click", function () {
        if (choice[1]) {
          sendHelpful(card, true, helpfulArea, buttons);
        } else {
          askWhatWasWrong(card, helpfulArea, buttons); // see "What was wrong?" below
        }
      });
      buttons.appendChild(button);
    });
    helpfulArea.appendChild(buttons);
    return helpfulArea;
  }

  /** "Report a problem with this service" and its form (inside "More details"). */
  function problemBlock(card) {
    var id = String(card.id);
    var name = plain(card.name);
    var given = state.feedback[id] || {};
    var problemArea = el("div", "chat-feedback__problem");
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
    return problemArea;
  }

  function sendHelpful(card, helpful, area, buttons, comment) {
    var id = String(card.id);
    var error = area.querySelector(".chat-feedback__error");
    var body = { kind: "helpful", helpful: helpful, service_id: id, comment: comment || "", conversation_id: state.id };
    postJson("/api/feedback", body)
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

  // --- "What was wrong?": after "No", an optional short comment, sent with the answer ------------

  function askWhatWasWrong(card, area, buttons) {
    if (area.querySelector(".chat-wrong")) {
      area.querySelector(".chat-wrong textarea").focus();
      return;
    }
    reportCount += 1;
    var fieldId = "chat-wrong-" + reportCount;
    var form = el("form", "chat-wrong");
    form.noValidate = true;
    var label = el("label", "chat-report__label", "What was wrong? (optional)");
    label.htmlFor = fieldId;
    var hint = el("p", "chat-form__hint", "A few words help us improve. Please do not include names.");
    hint.id = fieldId + "-hint";
    var comment = el("textarea", "govuk-textarea chat-report__comment chat-wrong__comment");
    comment.id = fieldId;
    comment.rows = 2;
    comment.maxLength = 500;
    comment.setAttribute("aria-describedby", hint.id);
    var send = el("button", "chat-small-button chat-wrong__send", "Send");
    send.type = "submit";
    [label, hint, comment, send].forEach(function (node) {
      form.appendChild(node);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      sendHelpful(card, false, area, buttons, comment.value.trim());
    });
    area.appendChild(form);
    comment.focus();
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
    if (message.role === "staff" || message.role === "notice") {
      return renderHandoffMessage(message); // see "Talking to a person" below
    }
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
          if (card.group_heading) {
            cards.appendChild(el("h3", "chat-group__heading", plain(card.group_heading)));
          }
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
    if (message.custom && message.custom.type === "handoff_offer") {
      handoffOffered(); // see "Talking to a person" below
    }
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
    handoffStop(true); // see "Talking to a person" below
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
    Array.prototype.forEach.call(log.querySelectorAll("details.chat-card__more"), function (more) {
      more.open = true; // print every card's details
    });
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
        if (card.group_heading) {
          add(body, "h2", plain(card.group_heading));
        }
        var article = add(body, "article");
        add(article, "h2", plain(card.name));
        if (card.is_sample) {
          add(article, "p", "Sample data", "sample");
        }
        if (card.organisation) {
          add(article, "p", "From " + card.organisation);
        }
        if (card.needs_ehc_plan) {
          add(article, "p", "Needs an EHC plan", "sample");
        }
        var list = add(article, "dl");
        term(list, "Why it fits", card.why_line);
        term(list, "When", lines(card.when).join("; "));
        term(list, "Where", lines(card.where).join("; "));
        term(list, "Who it's for", card.who_for);
        term(list, "How to get it", card.how_to_access);
        term(list, "What to expect", card.what_to_expect);
        term(list, "Cost", card.cost);
        term(list, "Contact", card.contact);
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

  // --- Talking to a person: live hand-off to helpline staff, or a call-back request ----------------
  //
  // When the assistant's reply carries {"type": "handoff_offer"} (the parent asked for a person),
  // the chat asks the app for a person: in opening hours the parent joins the queue and sees their
  // place; staff messages arrive by polling /api/handoff/poll every second. While a person is in
  // the chat the app keeps the parent's messages for them (the assistant is paused). Outside
  // opening hours, or if nobody is free in time, the parent is offered a call-back form.
  // Hooks: #chat-handoff (the panel), #chat-handoff-status, #chat-handoff-cancel,
  // form#chat-callback (#chat-callback-phone, -email, -best-time, -consent, -send, -error),
  // .chat-message--staff (a staff message), .chat-message--notice ("Sam has joined").
  // Storage: state.handoff = {active, after} in the same sessionStorage entry.

  var HANDOFF_POLL_MS = 1000; // the widget asks for staff messages once a second while waiting or chatting
  var handoffTimer = null;
  var handoffPanel = null;

  function renderHandoffMessage(message) {
    var isStaff = message.role === "staff";
    var item = el("div", "chat-message chat-message--bot " + (isStaff ? "chat-message--staff" : "chat-message--notice"));
    var text = el("p", "chat-message__text");
    if (isStaff) {
      text.appendChild(el("span", "chat-message__who", (message.name || "Helpline") + " (helpline): "));
    }
    text.appendChild(document.createTextNode(message.text || ""));
    item.appendChild(text);
    log.appendChild(item);
    return item;
  }

  function handoffState() {
    state.handoff = state.handoff && typeof state.handoff === "object" ? state.handoff : { active: false, after: 0 };
    return state.handoff;
  }

  function handoffShowPanel() {
    if (!handoffPanel) {
      handoffPanel = el("section", "chat-handoff");
      handoffPanel.id = "chat-handoff";
      handoffPanel.setAttribute("aria-label", "Talking to a person");
      main.insertBefore(handoffPanel, statusLine);
    }
    handoffPanel.textContent = "";
    handoffPanel.hidden = false;
    return handoffPanel;
  }

  function handoffHidePanel() {
    if (handoffPanel) {
      handoffPanel.textContent = "";
      handoffPanel.hidden = true;
    }
  }

  function handoffWaiting(result) {
    var panel = handoffShowPanel();
    var status = el("p", "chat-handoff__status");
    status.id = "chat-handoff-status";
    status.setAttribute("role", "status");
    var words = result.words || "";
    if (result.state === "waiting" && result.position) {
      words += " You are number " + result.position + " in the queue.";
    }
    status.textContent = words;
    panel.appendChild(status);
    if (result.state === "waiting") {
      var cancel = el("button", "chat-small-button", "Stop waiting");
      cancel.type = "button";
      cancel.id = "chat-handoff-cancel";
      cancel.addEventListener("click", function () {
        postJson("/api/handoff/cancel", { conversation_id: state.id }).then(handoffApply, function () {});
      });
      panel.appendChild(cancel);
    }
  }

  function handoffApply(result) {
    var data = result.data || {};
    if (result.status !== 200) {
      if (result.status !== 429) {
        showError(data.error || OFFLINE);
      }
      return;
    }
    var handoff = handoffState();
    (data.messages || []).forEach(function (message) {
      addMessage({ role: message.author === "staff" ? "staff" : "notice", name: message.name, text: message.text });
    });
    if (typeof data.after === "number") {
      handoff.after = Math.max(handoff.after || 0, data.after);
    }
    if (data.state === "waiting" || data.state === "live") {
      handoff.active = true;
      handoffWaiting(data);
      handoffSchedule();
    } else if (data.state === "after_hours" || data.state === "timed_out") {
      handoff.active = false;
      handoffCallbackForm(data.words, data.hours);
    } else {
      handoff.active = false;
      handoffHidePanel();
      if (data.state === "cancelled" || data.state === "returned") {
        setStatus(data.words || "");
      }
    }
    save();
  }

  function handoffSchedule() {
    window.clearTimeout(handoffTimer);
    handoffTimer = window.setTimeout(handoffPoll, HANDOFF_POLL_MS);
  }

  function handoffPoll() {
    var conversation = state.id;
    postJson("/api/handoff/poll", { conversation_id: conversation, after: handoffState().after || 0 })
      .then(function (result) {
        if (conversation === state.id) {
          handoffApply(result);
        }
      })
      .catch(function () {
        handoffSchedule(); // offline for a moment: try again
      });
  }

  function handoffOffered() {
    var conversation = state.id;
    postJson("/api/handoff/request", { conversation_id: conversation })
      .then(function (result) {
        if (conversation === state.id) {
          handoffApply(result);
        }
      })
      .catch(function () {
        showError(OFFLINE);
      });
  }

  function handoffStop(cancel) {
    window.clearTimeout(handoffTimer);
    if (cancel && handoffState().active) {
      postJson("/api/handoff/cancel", { conversation_id: state.id, leave: true }).catch(function () {});
    }
    handoffState().active = false;
    handoffHidePanel();
  }

  function handoffField(form, id, labelText, type, autocomplete, hint) {
    var group = el("div", "chat-callback__field");
    var label = el("label", "govuk-label chat-callback__label", labelText);
    label.htmlFor = id;
    group.appendChild(label);
    var input = el("input", "govuk-input chat-callback__input");
    input.id = id;
    input.type = type;
    input.autocomplete = autocomplete;
    if (hint) {
      var hintNode = el("p", "chat-form__hint", hint);
      hintNode.id = id + "-hint";
      input.setAttribute("aria-describedby", hintNode.id);
      group.appendChild(hintNode);
    }
    group.appendChild(input);
    form.appendChild(group);
    return input;
  }

  function handoffCallbackForm(words, hours) {
    var panel = handoffShowPanel();
    var form = el("form", "chat-callback");
    form.id = "chat-callback";
    form.noValidate = true;
    form.setAttribute("aria-labelledby", "chat-callback-heading");
    var heading = el("h2", "govuk-heading-s chat-callback__heading", "Ask for a call-back");
    heading.id = "chat-callback-heading";
    form.appendChild(heading);
    form.appendChild(el("p", "chat-callback__intro", (words || "") + (hours ? " Opening hours: " + hours + "." : "")));
    form.appendChild(
      el(
        "p",
        "chat-callback__privacy",
        "If you would like the helpline to contact you, leave a phone number or an email address, or both. " +
          "Only the council's SEND helpline staff will see them, and only to get back to you about this chat. " +
          "We delete them as soon as we have been in touch, and in any case after " +
          callbackDays +
          " days. Nothing else is needed."
      )
    );
    var phone = handoffField(form, "chat-callback-phone", "Phone number (optional)", "tel", "tel");
    var email = handoffField(form, "chat-callback-email", "Email address (optional)", "email", "email");
    var best = handoffField(form, "chat-callback-best-time", "Best time to contact you (optional)", "text", "off", "For example: weekday mornings");
    var consentGroup = el("div", "chat-callback__consent");
    var consent = el("input", "chat-callback__checkbox");
    consent.type = "checkbox";
    consent.id = "chat-callback-consent";
    var consentLabel = el("label", "chat-callback__consent-label", "I agree that the helpline may use these details to contact me");
    consentLabel.htmlFor = consent.id;
    consentGroup.appendChild(consent);
    consentGroup.appendChild(consentLabel);
    form.appendChild(consentGroup);
    var error = el("p", "chat-error chat-callback__error");
    error.id = "chat-callback-error";
    error.setAttribute("role", "alert");
    error.hidden = true;
    form.appendChild(error);
    var actions = el("div", "chat-report__actions");
    var sendButton = el("button", "govuk-button chat-button", "Send my details");
    sendButton.type = "submit";
    sendButton.id = "chat-callback-send";
    var noThanks = el("button", "chat-small-button", "No thanks");
    noThanks.type = "button";
    noThanks.addEventListener("click", function () {
      handoffHidePanel();
      input.focus();
    });
    actions.appendChild(sendButton);
    actions.appendChild(noThanks);
    form.appendChild(actions);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      error.hidden = true;
      if (!consent.checked) {
        error.textContent = "Tick the box to say we may use these details to get back to you.";
        error.hidden = false;
        consent.focus();
        return;
      }
      postJson("/api/handoff/callback", {
        conversation_id: state.id,
        phone: phone.value,
        email: email.value,
        best_time: best.value,
        consent: true,
      })
        .then(function (result) {
          if (result.status !== 201) {
            error.textContent = result.data.error || OFFLINE;
            error.hidden = false;
            var field = { phone: phone, email: email, best_time: best }[result.data.field];
            (field || sendButton).focus();
            return;
          }
          handoffHidePanel();
          addMessage({ role: "notice", text: result.data.message });
          input.focus();
        })
        .catch(function () {
          error.textContent = OFFLINE;
          error.hidden = false;
        });
    });
    panel.appendChild(form);
    phone.focus();
  }

  function handoffResume() {
    if (state.started && handoffState().active) {
      handoffPoll();
    }
  }

  // --- Start: the privacy notice first, or the conversation this tab already had ----------------

  if (state.started) {
    main.hidden = false;
    renderAll();
    handoffResume();
  } else {
    privacy.hidden = false;
  }
})();
