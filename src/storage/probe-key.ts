/** The key the readiness probe reads (JsonObjectRepository.ping); nothing writes it, so S3 answers 404 NoSuchKey. */
export const PROBE_KEY = 'health/probe-never-written.json';

/**
 * Where the check that S3 honours conditional writes (ConditionalWritesCheck) creates its object, beside the
 * readiness probe's key so that a policy scoped to key prefixes grants both with `health/`: one fresh key per check
 * (replicas boot at once), deleted when the check ends.
 */
export const CONDITIONAL_CHECK_PREFIX = 'health/conditional-writes/';
