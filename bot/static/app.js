// GOV.UK Frontend's components (served from the app, no CDN). Loaded as a module, so only
// browsers that support modules get the enhanced components, as GOV.UK Frontend expects.
import { initAll } from "/static/govuk/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();
