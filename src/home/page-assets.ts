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
