// build.mjs bundles the softphone (src/app.js with JsSIP) into dist/app.js
// and copies the static files next to it. dist/ is embedded in the binary
// by embed.go; only dist/.gitkeep is committed.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

mkdirSync('dist', { recursive: true });
await esbuild.build({
  entryPoints: ['src/app.js'],
  bundle: true,
  format: 'iife',
  minify: true,
  target: ['chrome100', 'firefox100', 'safari15'],
  outfile: 'dist/app.js',
  logLevel: 'info',
});
for (const f of ['index.html', 'style.css']) {
  copyFileSync(`src/${f}`, `dist/${f}`);
}
