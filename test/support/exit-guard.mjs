// A jest reporter. forceExit is off: the run ends by itself when every suite closed what it opened. Should a leak
// slip in anyway (a socket, a timer), CI must still finish: after a grace period this names what is open and exits
// with the run's own result (a leak is reported, not turned into a failure). The timer is unref'd, so it never keeps
// a clean run alive.
const GRACE_MS = 15_000;

export default class ExitGuard {
  onRunComplete(_contexts, results) {
    setTimeout(() => {
      const handles = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
      console.error(`Open handles kept jest alive ${GRACE_MS / 1000} s after the run (${handles.join(', ') || 'unknown'}); exiting. Find them with: npx jest --detectOpenHandles <suite>`);
      process.exit(results.success ? 0 : 1);
    }, GRACE_MS).unref();
  }
}
