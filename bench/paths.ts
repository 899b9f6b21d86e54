import path from 'node:path';

/* Where things are, from the compiled dist/bench/ (the bench runs from there). */
export const REPO = path.resolve(__dirname, '..', '..');
export const BENCH_DIR = path.join(REPO, 'bench');
export const PROFILES_DIR = path.join(BENCH_DIR, 'profiles');
/** The built server (`npm start`) and CLI (`npm run cli`); bench/tsconfig.json compiles both. */
export const MAIN_JS = path.join(REPO, 'dist', 'src', 'main.js');
export const CLI_JS = path.join(REPO, 'dist', 'src', 'cli', 'index.js');
