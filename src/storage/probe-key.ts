/** The key the readiness probe reads (JsonObjectRepository.ping); nothing writes it, so S3 answers 404 NoSuchKey. */
export const PROBE_KEY = 'health/probe-never-written.json';
