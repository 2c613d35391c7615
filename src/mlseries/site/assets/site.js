// The site's only script: a figure opens large over the page, and the contents fold on phones.
// Everything works without it (a figure's link opens the image file itself).
(function () {
  "use strict";
  var toc = document.querySelector(".sidebar details");
  if (toc && window.matchMedia("(max-width: 800px)").matches) {
    toc.open = false;
  }
  if (typeof HTMLDialogElement !== "function") {
    return;
  }
  var dialog = null, big = null, caption = null;
  function open() {   // built on the first click: until then the page has no image without a source
    if (dialog === null) {
      dialog = document.createElement("dialog");
      dialog.className = "zoom";
      big = document.createElement("img");
      caption = document.createElement("p");
      dialog.appendChild(big);
      dialog.appendChild(caption);
      document.body.appendChild(dialog);
      dialog.addEventListener("click", function () { dialog.close(); });
    }
    return dialog;
  }
  document.querySelectorAll("a.zoom").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var img = link.querySelector("img");
      open();
      big.src = link.getAttribute("href");
      big.alt = img ? img.alt : "";
      caption.textContent = img ? img.alt : "";
      dialog.showModal();
    });
  });
}());
