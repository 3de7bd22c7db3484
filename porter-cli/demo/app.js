// porter demo site: proves that the script, the stylesheet and the image arrived.
"use strict";

function stylesheetApplied() {
  var marker = getComputedStyle(document.documentElement).getPropertyValue("--porter-css");
  return marker.trim() === "loaded";
}

function logoLoaded() {
  var logo = document.querySelector("header img");
  return Boolean(logo && logo.complete && logo.naturalWidth > 0);
}

function showStatus() {
  var status = document.getElementById("status");
  if (!status) {
    return;
  }
  var css = stylesheetApplied();
  var logo = logoLoaded();
  status.textContent = "JavaScript ran; stylesheet " + (css ? "applied" : "missing") +
    "; logo " + (logo ? "loaded" : "missing") + ".";
  if (css && logo) {
    status.classList.add("ok");
  }
}

// After "load": the stylesheet and the image have arrived (or failed) by then.
if (document.readyState === "complete") {
  showStatus();
} else {
  window.addEventListener("load", showStatus);
}
