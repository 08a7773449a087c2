/**
 * Stops esbuild's sync service after each test file. Jest gives every file its own module registry, so each
 * file that bundles (the demo backend, the health agent, the post-deploy Lambda) loads its own esbuild, and
 * its first buildSync starts its own service: a worker thread and an `esbuild` child process, unref'd and
 * kept for the next build. In the CLI that is one service, gone at exit; in a jest worker one was left
 * running per bundling file (8 to 12 per worker in a run of the suite without test/local).
 */
import { stop } from 'esbuild';

afterAll(() => stop());
