// sipjs.js is a minimal SIP.js phone for switchboard's browser tests. It
// registers as ?user= at ?domain= over the WebSocket ?ws=, calls or answers,
// plays the far end's audio into an <audio> element and taps it with WebAudio,
// and exposes window.harness for run.mjs. Bundle: npm run build.
import { Inviter, Registerer, RegistererState, SessionState, UserAgent } from "sip.js";

const query = new URLSearchParams(location.search);
const user = query.get("user") || "alice";
const domain = query.get("domain") || "127.0.0.1";
const stateEl = document.getElementById("state");

// Microphone constraints: Chrome's audio processing (noise suppression in
// particular) treats a steady test tone as noise and attenuates it.
const audioConstraints = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };

const ua = new UserAgent({
  uri: UserAgent.makeURI(`sip:${user}@${domain}`),
  transportOptions: { server: query.get("ws") },
  logLevel: "warn",
  sessionDescriptionHandlerFactoryOptions: {
    peerConnectionConfiguration: { iceServers: [], bundlePolicy: "max-bundle" },
    iceGatheringTimeout: 1000,
  },
  delegate: {
    onInvite(invitation) {
      if (session) {
        invitation.reject({ statusCode: 486 });
        return;
      }
      track(invitation);
      setState("ringing");
    },
  },
});
const registerer = new Registerer(ua, { expires: 300 });

let session = null;
let tap = null; // the audio tap of the current call: { ring, pos, sampleRate }
let audioContext = null;

function setState(s) {
  harness.state = s;
  stateEl.textContent = s;
  console.log(`[harness] state ${s}`);
}

// track follows a session's state and attaches its audio once established.
function track(s) {
  session = s;
  s.stateChange.addListener((st) => {
    if (st === SessionState.Established) {
      attachRemoteAudio(s).catch((e) => console.error(`[harness] attach audio: ${e}`));
      setState("established");
    } else if (st === SessionState.Terminated) {
      if (session === s) session = null;
      setState("terminated");
    }
  });
}

// attachRemoteAudio plays the remote track in the <audio> element and feeds
// it to an AnalyserNode followed by a tap that keeps the last second of
// samples for toneScore.
async function attachRemoteAudio(s) {
  const pc = s.sessionDescriptionHandler.peerConnection;
  const stream = new MediaStream();
  for (const r of pc.getReceivers()) if (r.track && r.track.kind === "audio") stream.addTrack(r.track);
  const el = document.getElementById("remote");
  el.srcObject = stream; // Chrome only pulls remote WebRTC audio into WebAudio while an element plays it
  await el.play().catch((e) => console.warn(`[harness] audio.play: ${e}`));

  audioContext ??= new AudioContext();
  await audioContext.resume();
  const source = audioContext.createMediaStreamSource(stream);
  const analyser = audioContext.createAnalyser();
  analyser.fftSize = 2048;
  const code = `registerProcessor("tap", class extends AudioWorkletProcessor {
    process(inputs) { const ch = inputs[0][0]; if (ch) this.port.postMessage(ch.slice()); return true; }
  });`;
  if (!tap) {
    await audioContext.audioWorklet.addModule(URL.createObjectURL(new Blob([code], { type: "text/javascript" })));
  }
  const node = new AudioWorkletNode(audioContext, "tap");
  const t = { ring: new Float32Array(audioContext.sampleRate), pos: 0, filled: 0, sampleRate: audioContext.sampleRate, analyser };
  node.port.onmessage = ({ data }) => {
    for (const x of data) {
      t.ring[t.pos] = x;
      t.pos = (t.pos + 1) % t.ring.length;
    }
    t.filled = Math.min(t.filled + data.length, t.ring.length);
  };
  source.connect(analyser).connect(node);
  tap = t;
}

// goertzel returns the share of samples' power at freqHz: 2·|X(f)|²/(N·Σx²),
// 1 for a pure sine at freqHz (the formula of internal/testkit/rtptest.ToneDetector).
function goertzel(samples, freqHz, sampleRate) {
  const coeff = 2 * Math.cos((2 * Math.PI * freqHz) / sampleRate);
  let s1 = 0, s2 = 0, energy = 0;
  for (const x of samples) {
    const s = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s;
    energy += x * x;
  }
  if (energy === 0) return 0;
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (2 * power) / (samples.length * energy);
}

// lastSecond returns the tap's ring in time order (only what has been filled).
function lastSecond() {
  const { ring, pos, filled } = tap;
  const out = new Float32Array(filled);
  for (let i = 0; i < filled; i++) out[i] = ring[(pos - filled + i + ring.length) % ring.length];
  return out;
}

const mediaOptions = { sessionDescriptionHandlerOptions: { constraints: { audio: audioConstraints, video: false } } };

const harness = {
  state: "idle",
  async register() {
    if (ua.state !== "Started") await ua.start();
    if (registerer.state === RegistererState.Registered) return;
    const done = new Promise((resolve, reject) => {
      const l = (st) => {
        if (st === RegistererState.Registered) resolve();
        if (st === RegistererState.Terminated) reject(new Error("registerer terminated"));
      };
      registerer.stateChange.addListener(l);
    });
    await registerer.register({
      requestDelegate: { onReject: (r) => console.error(`[harness] REGISTER rejected: ${r.message.statusCode}`) },
    });
    await done;
    setState("registered");
  },
  // call dials target (a user name or a SIP URI) and resolves once answered.
  async call(target) {
    const uri = UserAgent.makeURI(target.startsWith("sip:") ? target : `sip:${target}@${domain}`);
    const inviter = new Inviter(ua, uri, mediaOptions);
    track(inviter);
    setState("calling");
    const established = waitState(inviter, SessionState.Established);
    await inviter.invite({
      requestDelegate: { onReject: (r) => console.error(`[harness] INVITE rejected: ${r.message.statusCode}`) },
    });
    await established;
  },
  // answer accepts the ringing call (waiting up to 10 s for one).
  async answer() {
    for (let i = 0; !session && i < 100; i++) await new Promise((r) => setTimeout(r, 100));
    if (!session || !session.accept) throw new Error("no incoming call");
    const established = waitState(session, SessionState.Established);
    await session.accept(mediaOptions);
    await established;
  },
  async hangup() {
    const s = session;
    if (!s) return;
    if (s.state === SessionState.Established) await s.bye();
    else if (s.cancel) await s.cancel();
    else if (s.reject) await s.reject();
  },
  // toneScore is the relative power (0..1) at freqHz in the last second of
  // received audio, as WebAudio delivered it.
  toneScore(freqHz) {
    if (!tap || tap.filled === 0) return 0;
    return goertzel(lastSecond(), freqHz, tap.sampleRate);
  },
  // heard is how many seconds of received audio the last-second window holds.
  heard() {
    return tap ? tap.filled / tap.sampleRate : 0;
  },
  // level is the RMS of the last second of received audio (for diagnostics).
  level() {
    if (!tap || tap.filled === 0) return 0;
    const s = lastSecond();
    return Math.sqrt(s.reduce((a, x) => a + x * x, 0) / s.length);
  },
  // stats sums inbound/outbound RTP counters, to tell "no packets" from "no tone".
  async stats() {
    const pc = session?.sessionDescriptionHandler?.peerConnection;
    if (!pc) return null;
    const out = {};
    (await pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" || r.type === "outbound-rtp") out[r.type] = { packets: r.packetsReceived ?? r.packetsSent, codec: r.codecId };
      if (r.type === "candidate-pair" && r.nominated) out.pair = r.state;
    });
    return out;
  },
};

function waitState(s, want) {
  return new Promise((resolve, reject) => {
    s.stateChange.addListener((st) => {
      if (st === want) resolve();
      if (st === SessionState.Terminated) reject(new Error(`session terminated before ${want}`));
    });
  });
}

window.harness = harness;
