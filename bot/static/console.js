// Staff console: "Copy to clipboard" for the triage summary. The page works without it
// (the summary is in a read-only text box); the button only appears when this script runs.
for (const button of document.querySelectorAll("[data-copy-target]")) {
  const field = document.getElementById(button.dataset.copyTarget);
  const status = document.getElementById(`${button.dataset.copyTarget}-status`);
  if (!field) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    let copied = false;
    try {
      await navigator.clipboard.writeText(field.value);
      copied = true;
    } catch {
      field.select();
      copied = document.execCommand && document.execCommand("copy");
    }
    if (status) status.textContent = copied ? "Copied. You can paste it into the case notes." : "Select the text and copy it.";
  });
}
