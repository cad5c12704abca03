import { createHash } from 'node:crypto';

/**
 * How long the consent page must have been in front (visible and focused, without a break) before Allow can be
 * pressed: longer than a double click (at most 500 ms by default on Windows, 900 ms configurable), as Firefox holds
 * its install and permission dialogs for a second (security.dialog_enable_delay).
 */
export const ARM_ALLOW_MS = 1000;

/**
 * The consent page's one script, inline at the end of its body. Buttons with `data-armed-after` (Allow) come
 * disabled and are enabled only once the window has been visible and focused for that many milliseconds in a row;
 * losing focus or visibility disables them again. Against double-click jacking: a page of another site asks for a
 * double click and, on the first press, brings this page to the front (navigating its window here, or closing the
 * popup that covered it), so the second press lands on Allow unseen; no header can see it, as nothing is framed.
 * Inline (allowed by its hash) rather than a file: it comes with the page, so no cached copy of an older file, or an
 * older replica during a rolling deploy, can leave Allow disabled for good.
 */
export const ALLOW_ARMING_SCRIPT = `(function () {
  'use strict';
  var armed = document.querySelectorAll('button[data-armed-after]');
  var timer;
  var enable = function (on) { for (var i = 0; i < armed.length; i++) armed[i].disabled = !on; };
  var arm = function () {
    clearTimeout(timer);
    enable(false);
    if (document.visibilityState !== 'visible' || !document.hasFocus()) return;
    timer = setTimeout(function () { enable(true); }, ${ARM_ALLOW_MS});
  };
  ['focus', 'blur', 'pageshow'].forEach(function (name) { window.addEventListener(name, arm); });
  document.addEventListener('visibilitychange', arm);
  arm();
})();`;

/** The CSP source that allows exactly ALLOW_ARMING_SCRIPT. */
export const ALLOW_ARMING_SCRIPT_SRC = `'sha256-${createHash('sha256').update(ALLOW_ARMING_SCRIPT).digest('base64')}'`;
