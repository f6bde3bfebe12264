// run.mjs drives one browser page for the e2e tests (e2e/browser_test.go).
//
//   node run.mjs --url URL --browser chromium|firefox --wav FILE.wav --tone HZ
//                [--executable PATH] [--ready harness] [--bypass-csp]
//                [--stock-ice] [--insecure] [--trust CERT.pem]
//
// It launches the stock browser (never a downloaded one) headless with fake
// media: Chromium through playwright-core, playing FILE.wav as the
// microphone; Firefox through puppeteer-core over WebDriver BiDi, whose fake
// microphone is a sine at HZ (Firefox cannot play a file). It opens URL and
// then reads one JSON request per line on stdin, {"id":1,"expr":"harness.call('echo')"},
// evaluating expr in the page (awaiting a promise) and answering one JSON line
// on stdout, {"id":1,"value":...} or {"id":1,"error":"..."}; a request
// {"id":2,"screenshot":"/tmp/page.png"} saves a PNG of the page instead, and
// {"id":3,"viewport":{"width":390,"height":844}} resizes the page.
// --ready names the global the page defines once it can be driven (harness
// on the SIP.js page, softphone on the gateway's own page); --bypass-csp
// lets the evaluated expressions run under a page's Content-Security-Policy
// (the softphone's forbids eval; Firefox's BiDi script.evaluate is not
// subject to it). --stock-ice leaves the browser's ICE as a user has it:
// no loopback candidates (Chromium without --allow-loopback-in-peer-connection,
// Firefox without media.peerconnection.ice.loopback). --insecure accepts
// any certificate, for pages, WebSockets and TURN over TLS served with the
// test's self-signed one (Chromium: --ignore-certificate-errors; Firefox:
// WebDriver's acceptInsecureCerts). Firefox's TURN over TLS ignores
// acceptInsecureCerts: --trust adds CERT.pem (the test's self-signed
// certificate) to a fresh profile's certificate database as a trusted peer,
// with NSS's certutil (Debian's libnss3-tools). Console output of the
// page goes to stderr, prefixed "console:". It exits when stdin closes.
// The flags and prefs, and why each is there, are listed in docs/testing.md.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

const { values: opts } = parseArgs({
  options: {
    url: { type: "string" },
    browser: { type: "string", default: "chromium" },
    wav: { type: "string" },
    tone: { type: "string", default: "1000" },
    executable: { type: "string" },
    ready: { type: "string", default: "harness" },
    "bypass-csp": { type: "boolean", default: false },
    "stock-ice": { type: "boolean", default: false },
    insecure: { type: "boolean", default: false },
    trust: { type: "string" },
  },
});
const launchers = { chromium: launchChromium, firefox: launchFirefox };
if (!opts.url || !opts.wav || !launchers[opts.browser]) {
  console.error("usage: node run.mjs --url URL --browser chromium|firefox --wav FILE.wav --tone HZ [--executable PATH]");
  process.exit(2);
}

// A driven page: what the request loop needs of either browser.
//   evaluate(expr) → value, screenshot(path), viewport({width, height}), close()

async function launchChromium() {
  const { chromium } = await import("playwright-core");
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
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
  ];
  if (!opts["stock-ice"]) flags.push("--allow-loopback-in-peer-connection");
  if (opts.insecure) flags.push("--ignore-certificate-errors");
  const userDataDir = mkdtempSync(join(tmpdir(), "switchboard-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: opts.executable ?? "/usr/bin/chromium",
    headless: true,
    args: flags,
    ignoreDefaultArgs: ["--mute-audio"],
    bypassCSP: opts["bypass-csp"],
    ignoreHTTPSErrors: opts.insecure,
    viewport: { width: 900, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (m) => console.error(`console: ${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => console.error(`console: pageerror: ${e.message}`));
  await page.goto(opts.url);
  await page.waitForFunction((name) => window[name] !== undefined, opts.ready);
  return {
    evaluate: (expr) => page.evaluate((expr) => Promise.resolve((0, eval)(expr)), expr),
    screenshot: (path) => page.screenshot({ path, fullPage: true }),
    viewport: (size) => page.setViewportSize(size),
    async close() {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

async function launchFirefox() {
  const { default: puppeteer } = await import("puppeteer-core");
  const prefs = {
    // A fake microphone (a sine at --tone Hz) that is granted without a
    // prompt; without permissions.default.microphone Firefox treats the
    // fake stream as not granted and gathers only one host candidate.
    "media.navigator.streams.fake": true,
    "media.navigator.permission.disabled": true,
    "permissions.default.microphone": 1,
    "media.navigator.audio.fake_frequency": Number(opts.tone),
    "media.autoplay.default": 0,
    // CI machines have no sound card (nor PulseAudio): with the real audio
    // backend an AudioContext never leaves "suspended", so the tone tap
    // hears nothing. Firefox's mock backend runs the audio graph on a
    // clock of its own.
    "media.cubeb.force_mock_context": true,
  };
  if (!opts["stock-ice"]) {
    // The gateway of the loopback tests offers only 127.0.0.1, which
    // Firefox pairs only when loopback candidates are on.
    prefs["media.peerconnection.ice.loopback"] = true;
    prefs["media.peerconnection.ice.obfuscate_host_addresses"] = false;
  }
  let userDataDir;
  if (opts.trust) {
    userDataDir = mkdtempSync(join(tmpdir(), "switchboard-firefox-"));
    execFileSync("certutil", ["-N", "-d", `sql:${userDataDir}`, "--empty-password"]);
    execFileSync("certutil", ["-A", "-d", `sql:${userDataDir}`, "-n", "switchboard-test", "-t", "P,,", "-i", opts.trust]);
  }
  const browser = await puppeteer.launch({
    browser: "firefox",
    userDataDir,
    protocol: "webDriverBiDi",
    executablePath: opts.executable ?? "/usr/bin/firefox-esr",
    headless: true,
    extraPrefsFirefox: prefs,
    acceptInsecureCerts: opts.insecure,
    defaultViewport: { width: 900, height: 900 },
  });
  const page = (await browser.pages())[0] ?? (await browser.newPage());
  await page.setViewport({ width: 900, height: 900 }); // defaultViewport spares the first tab
  page.on("console", (m) => console.error(`console: ${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => console.error(`console: pageerror: ${e.message}`));
  await page.goto(opts.url);
  await page.waitForFunction(`window[${JSON.stringify(opts.ready)}] !== undefined`);
  return {
    // A string is evaluated by BiDi's script.evaluate, which awaits a
    // promise and is not subject to the page's CSP.
    evaluate: (expr) => page.evaluate(expr),
    screenshot: (path) => page.screenshot({ path, fullPage: true }),
    viewport: (size) => page.setViewport(size),
    async close() {
      await browser.close().catch(() => {});
      if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

const started = Date.now();
const page = await launchers[opts.browser]();
console.error(`run.mjs: ${opts.browser} page ready in ${Date.now() - started} ms`);
process.stdout.write(JSON.stringify({ id: 0, value: "ready" }) + "\n");

let closing = false;
async function close() {
  if (closing) return;
  closing = true;
  await page.close();
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
      await page.viewport(req.viewport);
      reply = { id: req.id, value: req.viewport };
    } else if (req.screenshot) {
      await page.screenshot(req.screenshot);
      reply = { id: req.id, value: req.screenshot };
    } else {
      reply = { id: req.id, value: (await page.evaluate(req.expr)) ?? null };
    }
  } catch (e) {
    reply = { id: req.id, error: String(e.message ?? e) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
});
lines.on("close", close);
