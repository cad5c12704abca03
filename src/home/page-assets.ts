/**
 * The one script and one stylesheet of the service's pages, served as files from this origin so the pages' CSP can
 * refuse inline script and style. Plain browser JavaScript: the pages need a copy button, not a framework.
 */
export const PAGE_SCRIPT_SOURCE = `'use strict';
// Copy buttons: <button data-copy="ID"> copies the text of the element #ID and says so in #copy-status.
document.addEventListener('click', function (event) {
  var button = event.target.closest && event.target.closest('button[data-copy]');
  if (!button) return;
  var source = document.getElementById(button.getAttribute('data-copy'));
  var status = document.getElementById('copy-status');
  var text = source ? source.textContent : '';
  var say = function (message) { if (status) status.textContent = message; };
  var selectIt = function () {
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(
      function () { say('Copied ' + (button.getAttribute('data-what') || 'text') + ' to the clipboard.'); },
      function () { selectIt(); say('Selected: press Ctrl-C (Cmd-C) to copy.'); }
    );
  } else {
    selectIt();
    say('Selected: press Ctrl-C (Cmd-C) to copy.');
  }
});
// Buttons with data-armed-after="MS" (the consent page's Allow) come disabled, and are enabled only once this window
// has been visible and focused for MS milliseconds in a row; losing focus or visibility disables them again. Against
// double-click jacking: a page of another site asks for a double click, and on the first press brings this page to
// the front (navigating to it, or closing the popup that covered it), so the second press lands on Allow unseen.
(function () {
  var armed = document.querySelectorAll('button[data-armed-after]');
  if (!armed.length) return;
  var timer;
  var enable = function (on) { for (var i = 0; i < armed.length; i++) armed[i].disabled = !on; };
  var arm = function () {
    clearTimeout(timer);
    enable(false);
    if (document.visibilityState !== 'visible' || !document.hasFocus()) return;
    timer = setTimeout(function () { enable(true); }, Number(armed[0].getAttribute('data-armed-after')) || 1000);
  };
  ['focus', 'blur', 'pageshow'].forEach(function (name) { window.addEventListener(name, arm); });
  document.addEventListener('visibilitychange', arm);
  arm();
})();
`;

export const PAGE_STYLE_SOURCE = `body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:46rem;margin:2.5rem auto;padding:0 1rem;line-height:1.5;color:#1f2328}
h1{font-size:1.6rem;margin-bottom:.25rem}
.lead{color:#57606a;margin-top:0}
a.button,button{display:inline-block;background:#1a73e8;color:#fff;border:0;border-radius:4px;padding:.55rem 1.1rem;font-size:1rem;text-decoration:none;cursor:pointer}
button.secondary{background:#eaeef2;color:#1f2328;font-size:.9rem;padding:.35rem .8rem}
pre,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:4px;padding:.75rem;white-space:pre-wrap;word-break:break-all}
ul.links li{margin:.2rem 0}
.note{color:#57606a;font-size:.9rem}
#copy-status{color:#1a7f37;min-height:1.5em}
`;
