// The switchboard softphone: one JsSIP user agent, one call at a time, and
// the media state of that call as the gateway reports it at /calls/{call-id}.
import JsSIP from 'jssip';

const $ = (id) => document.getElementById(id);
const STORE = 'switchboard.softphone';
const DTMF_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

// pcConfig: switchboard is ICE-lite with host candidates, so no STUN/TURN;
// it wants rtcp-mux and one bundled transport.
const PC_CONFIG = { iceServers: [], rtcpMuxPolicy: 'require', bundlePolicy: 'max-bundle' };

const state = {
  ua: null,
  registered: false,
  connected: false,
  session: null, // the current RTCSession, if any
  callState: 'idle',
  media: null, // this call's media state from /calls/{call-id}, once it appears
  poll: null,
};

// defaultWebSocketURL is the page's own origin with ws: or wss: and /ws.
function defaultWebSocketURL() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

function loadAccount() {
  let saved = {};
  try {
    saved = JSON.parse(localStorage.getItem(STORE) || '{}');
  } catch { /* ignore a corrupt entry */ }
  $('user').value = saved.user || '';
  $('password').value = saved.password || '';
  $('display').value = saved.display || '';
  $('ws-url').value = saved.ws || defaultWebSocketURL();
}

function saveAccount(acct) {
  localStorage.setItem(STORE, JSON.stringify(acct));
}

function showError(msg) {
  const el = $('error');
  el.textContent = msg || '';
  el.hidden = !msg;
}

function setRegState(text, on) {
  const el = $('reg-state');
  el.textContent = text;
  el.className = 'pill ' + (on ? 'on' : 'off');
}

function setCallState(text) {
  state.callState = text;
  $('call-state').textContent = text;
  render();
}

// render enables each control for the state we are in.
function render() {
  const s = state.session;
  const live = !!s && s.isEstablished();
  $('register').disabled = !!state.ua;
  $('unregister').disabled = !state.ua;
  $('call').disabled = !state.connected || !!s;
  $('hangup').disabled = !s;
  $('hold').disabled = !live;
  $('mute').disabled = !live;
  $('hold').textContent = live && s.isOnHold().local ? 'Resume' : 'Hold';
  $('mute').textContent = live && s.isMuted().audio ? 'Unmute' : 'Mute';
  for (const b of $('keypad').children) b.disabled = !live;
  $('incoming').hidden = !(s && s.direction === 'incoming' && !live && s.isInProgress());
}

function register(acct) {
  if (state.ua) return;
  showError('');
  saveAccount(acct);
  const domain = location.hostname || '127.0.0.1';
  let ua;
  try {
    ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(acct.ws)],
      uri: `sip:${acct.user}@${domain}`,
      authorization_user: acct.user,
      password: acct.password || undefined,
      display_name: acct.display || undefined,
      register: true,
      session_timers: false,
    });
  } catch (e) {
    showError(`Cannot start: ${e.message}`);
    return;
  }
  state.ua = ua;
  ua.on('connecting', () => setRegState('connecting…', false));
  ua.on('connected', () => { state.connected = true; render(); });
  ua.on('disconnected', () => { state.connected = false; setRegState('disconnected', false); render(); });
  ua.on('registered', () => { state.registered = true; setRegState(`registered as ${acct.user}`, true); });
  ua.on('unregistered', () => { state.registered = false; setRegState('unregistered', false); });
  ua.on('registrationFailed', (e) => {
    state.registered = false;
    setRegState('registration failed', false);
    showError(`Registration failed: ${e.cause}`);
  });
  ua.on('newRTCSession', (e) => onSession(e.session, e.originator));
  ua.start();
  render();
}

function unregister() {
  if (!state.ua) return;
  if (state.session) state.session.terminate();
  state.ua.stop();
  state.ua = null;
  state.connected = false;
  state.registered = false;
  setRegState('unregistered', false);
  render();
}

// audioConstraints follows the "voice processing" box: on, the browser's
// echo cancellation, noise suppression and gain control; off, the
// microphone as it is (music, test tones, and echo calls, where the
// canceller would otherwise remove the echo you dialled to hear).
function audioConstraints() {
  if ($('voice-processing').checked) return { audio: true, video: false };
  return { audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false }, video: false };
}

function call(target) {
  if (!state.ua || state.session) return null;
  showError('');
  return state.ua.call(target, {
    mediaConstraints: audioConstraints(),
    pcConfig: PC_CONFIG,
    rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
  });
}

function answer() {
  const s = state.session;
  if (!s || s.direction !== 'incoming' || s.isEstablished()) return;
  s.answer({ mediaConstraints: audioConstraints(), pcConfig: PC_CONFIG });
}

function hangup() {
  if (state.session) state.session.terminate();
}

// onSession adopts a new call, or turns away a second one with 486.
function onSession(session, originator) {
  if (state.session) {
    if (originator === 'remote') session.terminate({ status_code: 486 });
    return;
  }
  state.session = session;
  state.media = null;
  if (originator === 'remote') {
    const from = session.remote_identity;
    $('incoming-from').textContent = from.display_name || from.uri.user;
    setCallState('incoming');
  } else {
    setCallState('calling');
  }
  if (session.connection) attachRemoteAudio(session.connection);
  session.on('peerconnection', (e) => attachRemoteAudio(e.peerconnection));
  session.on('progress', () => { if (originator === 'local') setCallState('ringing'); });
  session.on('accepted', () => setCallState('in call'));
  session.on('confirmed', () => { setCallState('in call'); startPolling(); });
  session.on('hold', () => setCallState('on hold'));
  session.on('unhold', () => setCallState('in call'));
  session.on('muted', render);
  session.on('unmuted', render);
  session.on('ended', (e) => endSession(`ended (${e.cause})`));
  session.on('failed', (e) => endSession(`failed (${e.cause})`));
}

function endSession(text) {
  state.session = null;
  stopPolling();
  $('remote-audio').srcObject = null;
  setCallState(text);
}

// attachRemoteAudio plays whatever the peer connection receives.
function attachRemoteAudio(pc) {
  const play = (stream) => {
    const audio = $('remote-audio');
    if (audio.srcObject !== stream) audio.srcObject = stream;
  };
  pc.addEventListener('track', (e) => play(e.streams[0] || new MediaStream([e.track])));
  const tracks = pc.getReceivers().map((r) => r.track).filter((t) => t && t.kind === 'audio');
  if (tracks.length) play(new MediaStream(tracks));
}

function toggleHold() {
  const s = state.session;
  if (!s || !s.isEstablished()) return;
  if (s.isOnHold().local) s.unhold(); else s.hold();
  render();
}

function toggleMute() {
  const s = state.session;
  if (!s || !s.isEstablished()) return;
  if (s.isMuted().audio) s.unmute({ audio: true }); else s.mute({ audio: true });
  render();
}

function sendDTMF(tone) {
  const s = state.session;
  if (!s || !s.isEstablished()) return;
  // RFC 4733 events in the RTP stream, through RTCDTMFSender.
  s.sendDTMF(tone, { transportType: 'RFC2833' });
}

// callID is the SIP Call-ID of the current call: random, generated by
// JsSIP (or by the caller), and the key to its media state.
function callID(s) {
  return s && s._request ? s._request.call_id : null;
}

function startPolling() {
  stopPolling();
  pollCalls();
  state.poll = setInterval(pollCalls, 1000);
}

function stopPolling() {
  if (state.poll) clearInterval(state.poll);
  state.poll = null;
}

async function pollCalls() {
  const s = state.session;
  const id = callID(s);
  if (!id) return;
  try {
    // 404: not (or no longer) anchored by the media bridge.
    const res = await fetch(`/calls/${encodeURIComponent(id)}`, { cache: 'no-store' });
    if (res.status !== 200 && res.status !== 404) throw new Error(`HTTP ${res.status}`);
    const entry = res.status === 200 ? await res.json() : null;
    if (state.session !== s) return;
    state.media = entry;
    renderMedia(entry, s.direction);
  } catch (e) {
    if (state.session !== s) return;
    renderMedia(null, null, `cannot read the call's media state: ${e.message}`);
  }
}

// renderMedia shows our leg: the caller's bridge comes first, so on an
// incoming call ours is the last.
function renderMedia(entry, direction, err) {
  const v = $('verdict');
  const set = (id, text) => { $(id).textContent = text; };
  if (!entry) {
    v.textContent = err || 'This call is not anchored by switchboard’s media bridge.';
    v.className = 'verdict';
    for (const id of ['ice', 'dtls', 'pkts-in', 'pkts-out', 'codec']) set(id, '–');
    return;
  }
  v.textContent = entry.verdict;
  v.className = 'verdict ' + (/^(no audio|one-way)/.test(entry.verdict) ? 'bad' : 'good');
  const legs = entry.media || [];
  const m = direction === 'incoming' ? legs[legs.length - 1] : legs[0];
  set('codec', entry.codec || '–');
  if (!m) return;
  set('ice', m.ice.state);
  set('dtls', m.dtls.state + (m.dtls.srtp_profile ? ` (${m.dtls.srtp_profile})` : ''));
  set('pkts-in', String(m.browser.rtp_in.packets));
  set('pkts-out', String(m.browser.rtp_out.packets));
}

function buildKeypad() {
  for (const k of DTMF_KEYS) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = k;
    b.disabled = true;
    b.addEventListener('click', () => sendDTMF(k));
    $('keypad').appendChild(b);
  }
}

function init() {
  buildKeypad();
  loadAccount();
  $('account-form').addEventListener('submit', (e) => {
    e.preventDefault();
    register({
      user: $('user').value.trim(), password: $('password').value,
      display: $('display').value.trim(), ws: $('ws-url').value.trim() || defaultWebSocketURL(),
    });
  });
  $('unregister').addEventListener('click', unregister);
  $('dial-form').addEventListener('submit', (e) => {
    e.preventDefault();
    call($('target').value.trim());
  });
  $('answer').addEventListener('click', answer);
  $('reject').addEventListener('click', () => state.session && state.session.terminate({ status_code: 486 }));
  $('hangup').addEventListener('click', hangup);
  $('hold').addEventListener('click', toggleHold);
  $('mute').addEventListener('click', toggleMute);
  render();
}

// window.softphone is a small hook for browser tests: read the state, reach
// the peer connection, and drive a call without clicking.
window.softphone = {
  get registered() { return state.registered; },
  get connected() { return state.connected; },
  get callState() { return state.callState; },
  get session() { return state.session; },
  get pc() { return state.session ? state.session.connection : null; },
  get callID() { return callID(state.session); },
  get media() { return state.media; },
  register,
  unregister,
  call: (target) => { call(target); },
  answer,
  hangup,
  hold: toggleHold,
  mute: toggleMute,
  sendDTMF,
  JsSIP,
};

init();
