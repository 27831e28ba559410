/* The server's first picture of a page (#first-paint, see essen_dash/first_paint.py) stands in for the app
   until the app has drawn the same map; then it goes, and the app's page (hidden meanwhile by style.css) shows. */
(function () {
  var snapshot = document.getElementById("first-paint");
  if (!snapshot) { return; }
  var app = document.getElementById("react-entry-point");
  var observer = new MutationObserver(function () {
    if (app.querySelector(".js-plotly-plot .choroplethlocation")) { done(); }
  });
  function done() {
    observer.disconnect();
    snapshot.remove();
  }
  observer.observe(app, { childList: true, subtree: true });
  setTimeout(done, 20000);  // never keep a stale picture: the app's page shows even if no map is drawn
})();
