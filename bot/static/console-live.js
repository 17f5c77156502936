// Staff console, live chat: new messages appear without reloading (polling every 2 seconds), and
// replies are sent without leaving the page. Without this script the page still works: the reply
// form posts and the page reloads.
const live = document.getElementById("live");
if (live) {
  const list = document.getElementById("live-messages");
  const stateLine = document.getElementById("live-state");
  let after = Number(live.dataset.after || 0);
  let busy = false;

  const add = (message) => {
    if (list.querySelector(`[data-message-id="${message.id}"]`)) return;
    document.getElementById("live-empty")?.remove();
    const item = document.createElement("li");
    item.className = `app-live-message app-live-message--${message.author}`;
    item.dataset.messageId = String(message.id);
    const head = document.createElement("p");
    head.className = "govuk-body-s govuk-!-margin-bottom-0";
    const who = document.createElement("strong");
    who.textContent = message.who;
    const when = document.createElement("span");
    when.className = "app-transcript__time";
    when.textContent = ` ${message.at}`;
    head.append(who, when);
    const text = document.createElement("p");
    text.className = "govuk-body govuk-!-margin-bottom-0 app-live-message__text";
    text.textContent = message.text;
    item.append(head, text);
    list.append(item);
  };

  const ended = (words) => {
    if (stateLine) stateLine.textContent = words;
    window.clearInterval(timer);
    document.getElementById("live-reply-form")?.setAttribute("hidden", "");
  };

  const poll = async () => {
    if (busy) return;
    busy = true;
    try {
      const response = await fetch(`${live.dataset.messagesUrl}?after=${after}`, { headers: { Accept: "application/json" } });
      if (response.status === 404) {
        ended("This chat has ended: the parent deleted the conversation.");
      } else if (response.ok) {
        const data = await response.json();
        for (const message of data.messages) {
          add(message);
          after = Math.max(after, message.id);
        }
        if (stateLine && stateLine.dataset.state !== data.state && data.state !== "live") {
          stateLine.dataset.state = data.state;
          if (data.state === "waiting") stateLine.textContent = "Waiting for a member of staff.";
          else ended(data.state === "left" ? "This chat has ended: the parent left." : "This chat has ended.");
        }
      }
    } catch {
      // the next poll tries again
    } finally {
      busy = false;
    }
  };
  const timer = window.setInterval(poll, 2000);

  const form = document.getElementById("live-reply-form");
  if (form) {
    const box = document.getElementById("live-reply");
    const error = document.getElementById("live-reply-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = box.value.trim();
      error.hidden = true;
      if (!text) {
        error.textContent = "Type a message before sending it";
        error.hidden = false;
        box.focus();
        return;
      }
      const body = new URLSearchParams({ text });
      try {
        const response = await fetch(form.action, {
          method: "POST",
          headers: { Accept: "application/json", "X-CSRF-Token": form.elements.csrf_token.value },
          body,
        });
        const data = await response.json().catch(() => ({}));
        if (!response.ok) throw new Error(data.error || "The message could not be sent. Try again.");
        box.value = "";
        await poll();
      } catch (problem) {
        error.textContent = problem.message;
        error.hidden = false;
      }
      box.focus();
    });
  }
}
