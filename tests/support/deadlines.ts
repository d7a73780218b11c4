/**
 * How long a test waits for something that takes milliseconds on an idle machine (a broadcast
 * reaching another node, a log line, a cache expiring): long enough for a 2-core machine that
 * other test runs keep busy, while a real failure still ends well inside the test's timeout.
 */
export const CONDITION_TIMEOUT_MS = 20_000;

/** How long a freshly spawned Signalink process may take to become ready on a loaded machine. */
export const PROCESS_READY_TIMEOUT_MS = 60_000;
