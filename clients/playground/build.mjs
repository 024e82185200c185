// Bundles the playground's pages into dist/ (one ES module per page, with its source map,
// next to the HTML and CSS), and the pure modules the unit tests import into build/.
//
// The SDK is bundled from its TypeScript source (an esbuild alias of @tickwire/client to
// ../typescript/src/index.ts), not from its built dist/: the pages then need no SDK build
// step, and this package's lock file does not depend on the SDK's. The SDK's own
// dependencies resolve from ../typescript/node_modules, so `npm ci` there comes first.
//
// `--unit` builds only the modules the unit tests import, which need no SDK.

import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const sdk = resolve(here, "../typescript/src/index.ts");
const dist = join(here, "dist");
const build = join(here, "build");

// The unit tests run under Node: the pure modules, each bundled on its own.
rmSync(build, { recursive: true, force: true });
await esbuild.build({
  entryPoints: ["metrics", "figures", "controls", "view", "scene", "games"].map((m) => join(here, "src/common", `${m}.ts`)),
  outdir: build,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  format: "esm",
  platform: "node",
  logLevel: "warning",
});

if (process.argv.includes("--unit")) process.exit(0);

try {
  statSync(sdk);
} catch {
  console.error(`build: the SDK source is missing: ${sdk}`);
  process.exit(1);
}
try {
  statSync(resolve(here, "../typescript/node_modules"));
} catch {
  console.error("build: run `npm ci` in clients/typescript first (the SDK's dependencies are bundled from there)");
  process.exit(1);
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

const pages = readdirSync(join(here, "src/pages")).filter((f) => f.endsWith(".ts"));
const result = await esbuild.build({
  entryPoints: pages.map((f) => join(here, "src/pages", f)),
  outdir: dist,
  bundle: true,
  format: "esm",
  // Browsers of the last few years (ES2022: top-level await, which the README's minimal
  // client uses); nothing here needs a polyfill.
  target: "es2022",
  minify: true,
  sourcemap: true,
  alias: { "@tickwire/client": sdk },
  metafile: true,
  logLevel: "warning",
});

for (const f of readdirSync(join(here, "html"))) copyFileSync(join(here, "html", f), join(dist, f));

for (const out of Object.keys(result.metafile.outputs).filter((o) => o.endsWith(".js")).sort()) {
  const bytes = readFileSync(resolve(out));
  const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
  console.log(`${out.replace(/^.*dist\//, "dist/").padEnd(20)} ${kb(bytes.length).padStart(9)}  (${kb(gzipSync(bytes).length)} gzip)`);
}
