// porter demo site: proves that the script was served and ran.
"use strict";

function showStatus() {
  var status = document.getElementById("status");
  if (!status) {
    return;
  }
  status.textContent = "JavaScript ran";
  status.classList.add("ok");
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", showStatus);
} else {
  showStatus();
}
