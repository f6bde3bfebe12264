// tonetap.js is evaluated in the gateway's softphone page by
// e2e/softphone_test.go (the page itself has no test code). It defines
// window.toneTap: start(pc) feeds the peer connection's received audio
// through a WebAudio AnalyserNode into an AudioWorklet tap that keeps the
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
  window.toneTap = {
    async start(pc) {
      const tracks = pc.getReceivers().map((r) => r.track).filter((t) => t && t.kind === "audio");
      if (!tracks.length) throw new Error("no remote audio track");
      const stream = new MediaStream(tracks);
      ctx ??= new AudioContext();
      await ctx.resume();
      const code = `registerProcessor("tonetap", class extends AudioWorkletProcessor {
        process(inputs) { const ch = inputs[0][0]; if (ch) this.port.postMessage(ch.slice()); return true; }
      });`;
      if (!tap) await ctx.audioWorklet.addModule(URL.createObjectURL(new Blob([code], { type: "text/javascript" })));
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 2048;
      const node = new AudioWorkletNode(ctx, "tonetap");
      const t = { ring: new Float32Array(ctx.sampleRate), pos: 0, filled: 0, rate: ctx.sampleRate };
      node.port.onmessage = ({ data }) => {
        for (const x of data) {
          t.ring[t.pos] = x;
          t.pos = (t.pos + 1) % t.ring.length;
        }
        t.filled = Math.min(t.filled + data.length, t.ring.length);
      };
      ctx.createMediaStreamSource(stream).connect(analyser).connect(node);
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
