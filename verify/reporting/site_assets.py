"""The HTML catalogue's stylesheet and scripts (plain CSS and JavaScript, no
network, no framework)."""

CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 72em; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; font-size: 0.9em; }
th { background: #f3f3f3; }
code, pre { font-family: ui-monospace, monospace; font-size: 0.85em; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; }
.holds { color: #1a7f37; font-weight: bold; } .refuted { color: #d62728; font-weight: bold; }
.fails, .error { color: #000; background: #fdd; font-weight: bold; } .skipped { color: #777; }
.filters { display: flex; gap: 0.8em; flex-wrap: wrap; align-items: center; margin: 1em 0; }
.filters label { font-size: 0.9em; }
.formula { margin: 0.6em 0; overflow-x: auto; }
.weights { display: flex; gap: 1.2em; flex-wrap: wrap; }
.weights figure { margin: 0; } .weights img { max-width: 100%; }
.erratum { border-left: 4px solid #d62728; padding-left: 0.8em; }
img.overview { max-width: 100%; }
#count { font-size: 0.9em; color: #555; }
"""

FILTER_JS = """
// Filter the claims table by text, family, paper, evidence and status (no network).
(function () {
  var rows = Array.prototype.slice.call(document.querySelectorAll('#claims tbody tr'));
  var inputs = ['q', 'family', 'paper', 'evidence', 'status'].map(function (id) { return document.getElementById(id); });
  function apply() {
    var q = inputs[0].value.toLowerCase(), shown = 0;
    rows.forEach(function (r) {
      var ok = (!q || r.textContent.toLowerCase().indexOf(q) >= 0) &&
        (!inputs[1].value || r.dataset.family === inputs[1].value) &&
        (!inputs[2].value || r.dataset.paper === inputs[2].value) &&
        (!inputs[3].value || (' ' + r.dataset.evidence + ' ').indexOf(' ' + inputs[3].value + ' ') >= 0) &&
        (!inputs[4].value || r.dataset.status === inputs[4].value);
      r.style.display = ok ? '' : 'none';
      if (ok) { shown += 1; }
    });
    document.getElementById('count').textContent = shown + ' of ' + rows.length + ' claims shown';
  }
  inputs.forEach(function (el) { el.addEventListener('input', apply); el.addEventListener('change', apply); });
  apply();
})();
"""

MATH_JS = """
// Render every .math element with the KaTeX copied into this site; a TeX
// error is thrown (and so reported on the console), never hidden.
(function () {
  if (typeof katex === 'undefined') { return; }
  Array.prototype.forEach.call(document.querySelectorAll('.math'), function (el) {
    katex.render(el.textContent, el, { displayMode: el.classList.contains('display'), throwOnError: true });
  });
})();
"""
