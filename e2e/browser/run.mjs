// run.mjs drives one Chromium page for e2e/chromium_test.go.
//
//   node run.mjs --url URL --wav FILE.wav [--chromium /usr/bin/chromium]
//                [--ready harness] [--bypass-csp]
//
// It launches Chromium through playwright-core (never a downloaded browser)
// with fake media that plays FILE.wav as the microphone, opens URL, and then
// reads one JSON request per line on stdin, {"id":1,"expr":"harness.call('echo')"},
// evaluating expr in the page (awaiting a promise) and answering one JSON line
// on stdout, {"id":1,"value":...} or {"id":1,"error":"..."}; a request
// {"id":2,"screenshot":"/tmp/page.png"} saves a PNG of the page instead, and
// {"id":3,"viewport":{"width":390,"height":844}} resizes the page.
// --ready names the global the page defines once it can be driven (harness
// on the SIP.js page, softphone on the gateway's own page); --bypass-csp
// lets the evaluated expressions run under a page's Content-Security-Policy
// (the softphone's forbids eval). Console output
// of the page goes to stderr, prefixed "console:". It exits when stdin closes.
// The flags, and why each is there, are listed in docs/testing.md.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values: opts } = parseArgs({
  options: {
    url: { type: "string" },
    wav: { type: "string" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
    ready: { type: "string", default: "harness" },
    "bypass-csp": { type: "boolean", default: false },
  },
});
if (!opts.url || !opts.wav) {
  console.error("usage: node run.mjs --url URL --wav FILE.wav [--chromium PATH]");
  process.exit(2);
}

const flags = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  `--use-file-for-fake-audio-capture=${opts.wav}`,
  "--allow-loopback-in-peer-connection",
  "--disable-features=WebRtcHideLocalIpsWithMdns",
  "--autoplay-policy=no-user-gesture-required",
];

const userDataDir = mkdtempSync(join(tmpdir(), "switchboard-chromium-"));
const started = Date.now();
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: opts.chromium,
  headless: true,
  args: flags,
  ignoreDefaultArgs: ["--mute-audio"],
  bypassCSP: opts["bypass-csp"],
  viewport: { width: 900, height: 900 },
});
const page = context.pages()[0] ?? (await context.newPage());
page.on("console", (m) => console.error(`console: ${m.type()}: ${m.text()}`));
page.on("pageerror", (e) => console.error(`console: pageerror: ${e.message}`));
await page.goto(opts.url);
await page.waitForFunction((name) => window[name] !== undefined, opts.ready);
console.error(`run.mjs: page ready in ${Date.now() - started} ms`);
process.stdout.write(JSON.stringify({ id: 0, value: "ready" }) + "\n");

let closing = false;
async function close() {
  if (closing) return;
  closing = true;
  await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
  process.exit(0);
}
process.on("SIGTERM", close);

const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    console.error(`run.mjs: bad request ${line}: ${e}`);
    return;
  }
  let reply;
  try {
    if (req.viewport) {
      await page.setViewportSize(req.viewport);
      process.stdout.write(JSON.stringify({ id: req.id, value: req.viewport }) + "\n");
      return;
    }
    if (req.screenshot) {
      await page.screenshot({ path: req.screenshot, fullPage: true });
      process.stdout.write(JSON.stringify({ id: req.id, value: req.screenshot }) + "\n");
      return;
    }
    const value = await page.evaluate((expr) => Promise.resolve((0, eval)(expr)), req.expr);
    reply = { id: req.id, value: value ?? null };
  } catch (e) {
    reply = { id: req.id, error: String(e.message ?? e) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
});
lines.on("close", close);
