// tonetap.js is evaluated in the gateway's softphone page by
// e2e/softphone_test.go (the page itself has no test code). It defines
// window.toneTap: start(pc) feeds the peer connection's received audio
// through a WebAudio AnalyserNode into a tap (an AudioWorklet, or a
// ScriptProcessorNode where the page's CSP refuses one) that keeps the
// last second of samples; score(hz) runs a Goertzel filter over that second
// and returns the share of its power at hz, 2·|X(f)|²/(N·Σx²) (the formula
// of the SIP.js page's harness.toneScore and of internal/testkit/rtptest).
(() => {
  let ctx = null;
  let tap = null;
  const goertzel = (samples, hz, rate) => {
    const coeff = 2 * Math.cos((2 * Math.PI * hz) / rate);
    let s1 = 0, s2 = 0, energy = 0;
    for (const x of samples) {
      const s = x + coeff * s1 - s2;
      s2 = s1;
      s1 = s;
      energy += x * x;
    }
    if (energy === 0) return 0;
    return (2 * (s1 * s1 + s2 * s2 - coeff * s1 * s2)) / (samples.length * energy);
  };
  const lastSecond = () => {
    const { ring, pos, filled } = tap;
    const out = new Float32Array(filled);
    for (let i = 0; i < filled; i++) out[i] = ring[(pos - filled + i + ring.length) % ring.length];
    return out;
  };
  // tapNode returns a node that passes each block of samples it receives to
  // push: an AudioWorklet, or where the page's CSP refuses its blob: module
  // (script-src 'self'; Chromium's run.mjs bypasses the CSP, Firefox's
  // WebDriver BiDi cannot) a ScriptProcessorNode, which needs no script
  // and runs while connected to the destination through a muted gain.
  let worklet = null; // whether the tonetap module loaded: null untried
  const tapNode = async (push) => {
    if (worklet === null) {
      const code = `registerProcessor("tonetap", class extends AudioWorkletProcessor {
        process(inputs) { const ch = inputs[0][0]; if (ch) this.port.postMessage(ch.slice()); return true; }
      });`;
      const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
      worklet = await ctx.audioWorklet.addModule(url).then(() => true, () => false);
    }
    if (worklet) {
      const node = new AudioWorkletNode(ctx, "tonetap");
      node.port.onmessage = ({ data }) => push(data);
      return node;
    }
    const node = ctx.createScriptProcessor(2048, 1, 1);
    node.onaudioprocess = (e) => push(e.inputBuffer.getChannelData(0));
    const mute = ctx.createGain();
    mute.gain.value = 0;
    node.connect(mute).connect(ctx.destination);
    return node;
  };
  window.toneTap = {
    async start(pc) {
      const tracks = pc.getReceivers().map((r) => r.track).filter((t) => t && t.kind === "audio");
      if (!tracks.length) throw new Error("no remote audio track");
      const stream = new MediaStream(tracks);
      ctx ??= new AudioContext();
      await ctx.resume();
      const t = { ring: new Float32Array(ctx.sampleRate), pos: 0, filled: 0, rate: ctx.sampleRate };
      const push = (data) => {
        for (const x of data) {
          t.ring[t.pos] = x;
          t.pos = (t.pos + 1) % t.ring.length;
        }
        t.filled = Math.min(t.filled + data.length, t.ring.length);
      };
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 2048;
      ctx.createMediaStreamSource(stream).connect(analyser).connect(await tapNode(push));
      tap = t;
      return tracks.length;
    },
    score(hz) {
      return tap && tap.filled ? goertzel(lastSecond(), hz, tap.rate) : 0;
    },
    heard() {
      return tap ? tap.filled / tap.rate : 0;
    },
    level() {
      if (!tap || !tap.filled) return 0;
      const s = lastSecond();
      return Math.sqrt(s.reduce((a, x) => a + x * x, 0) / s.length);
    },
  };
})();
