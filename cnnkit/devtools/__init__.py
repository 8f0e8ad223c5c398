"""Development tooling, not used by the app: the app served headless for tests and benchmarks, and the
headless Chromium that drives it."""
