// The switchboard softphone: one JsSIP user agent, one call at a time, and
// the media state of that call as the gateway reports it at /calls/{call-id}.
import JsSIP from 'jssip';

const $ = (id) => document.getElementById(id);
const STORE = 'switchboard.softphone';
const DTMF_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

// PC_CONFIG: switchboard is ICE-lite with host candidates, so no STUN; it
// wants rtcp-mux and one bundled transport. When switchboard runs TURN
// (turn.enabled), pcConfig adds the iceServers fetched after registering.
const PC_CONFIG = { iceServers: [], rtcpMuxPolicy: 'require', bundlePolicy: 'max-bundle' };
const TURN_PATH = '/turn/credentials';

// JsSIP sends an offer or answer only once ICE gathering is complete
// (switchboard is ICE-lite and takes no trickled candidates). Behind a
// firewall that silently drops what it does not let out, gathering towards
// the blocked TURN transports takes minutes (TCP's SYN retries), although
// the one that works, TURN over TLS on 443 say, gave its relay candidate at
// once. So the SDP goes ICE_RELAY_GRACE_MS after the first relay candidate,
// or ICE_GATHER_MAX_MS after the first candidate, if gathering is still
// going on by then; on an open network it completes well before either.
const ICE_RELAY_GRACE_MS = 1000;
const ICE_GATHER_MAX_MS = 5000;

const state = {
  ua: null, // the current user agent: started by Register, stopped when it cannot register
  registered: false,
  connected: false,
  everConnected: false, // whether this user agent's WebSocket ever opened
  session: null, // the current RTCSession, if any
  callState: 'idle',
  media: null, // this call's media state from /calls/{call-id}, once it appears
  poll: null,
  iceServers: [], // TURN servers with credentials from TURN_PATH, if switchboard runs TURN
  iceServersUntil: 0, // when those credentials stop getting new allocations (ms)
  turnTimer: null, // fetches fresh credentials before those expire
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
  // Empty means this page's own server: a saved default would pin an old port.
  $('ws-url').value = saved.ws && saved.ws !== defaultWebSocketURL() ? saved.ws : '';
  $('domain').value = saved.domain || '';
  $('domain').placeholder = location.hostname || '127.0.0.1';
}

function saveAccount(acct) {
  localStorage.setItem(STORE, JSON.stringify(acct));
}

// setRegStatus says how registering goes, under the Register button; kind
// is 'ok', 'bad' or '' (in progress).
function setRegStatus(text, kind = '') {
  const el = $('reg-status');
  el.textContent = text;
  el.className = 'status ' + kind;
}

function setRegState(text, on) {
  const el = $('reg-state');
  el.textContent = text;
  el.className = 'pill ' + (on ? 'on' : 'off');
}

// regFailed stops the user agent, so that Register starts afresh with what
// the form says then, shows why, and takes the user to the field to fix.
function regFailed(text, field) {
  stopUA();
  setRegState('not registered', false);
  setRegStatus(text, 'bad');
  if (field === 'ws-url' || field === 'domain') $('connection').open = true;
  if (field) $(field).focus();
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
  $('register').disabled = state.registered;
  $('unregister').disabled = !state.ua;
  $('call').disabled = !state.registered || !!s;
  $('call-need').hidden = state.registered;
  $('call-try').hidden = !state.registered;
  $('hangup').disabled = !s;
  $('hold').disabled = !live;
  $('mute').disabled = !live;
  $('hold').textContent = live && s.isOnHold().local ? 'Resume' : 'Hold';
  $('mute').textContent = live && s.isMuted().audio ? 'Unmute' : 'Mute';
  for (const b of $('keypad').children) b.disabled = !live;
  $('incoming').hidden = !(s && s.direction === 'incoming' && !live && s.isInProgress());
}

// register starts a user agent for acct and registers it. A failed or
// pending attempt is dropped first, so a retry needs no Unregister.
function register(acct) {
  if (state.registered) return;
  stopUA();
  saveAccount(acct);
  const wsURL = acct.ws || defaultWebSocketURL();
  const aor = `sip:${acct.user}@${acct.domain || location.hostname || '127.0.0.1'}`;
  let ua;
  try {
    ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(wsURL)],
      uri: aor,
      authorization_user: acct.user,
      password: acct.password || undefined,
      display_name: acct.display || undefined,
      register: true,
      session_timers: false,
    });
  } catch (e) {
    if (/Invalid argument: /.test(e.message) && e.message.endsWith(wsURL)) {
      regFailed(`The WebSocket URL “${wsURL}” is not valid: it looks like ${defaultWebSocketURL()}.`, 'ws-url');
    } else {
      regFailed(`Cannot start: ${e.message}`, /uri/i.test(e.message) ? 'user' : null);
    }
    return;
  }
  state.ua = ua;
  state.everConnected = false;
  // Events of a user agent that has since been replaced are ignored.
  const on = (name, fn) => ua.on(name, (e) => { if (state.ua === ua) fn(e); });
  on('connecting', () => {
    setRegState('connecting…', false);
    setRegStatus(`Connecting to ${wsURL}…`);
  });
  on('connected', () => {
    state.connected = true;
    state.everConnected = true;
    setRegStatus(`Registering as ${aor}…`);
    render();
  });
  on('disconnected', () => {
    state.connected = false;
    if (!state.everConnected) {
      regFailed(`Cannot connect to the WebSocket ${wsURL}. ${wsAdvice(wsURL)}`, 'ws-url');
      return;
    }
    setRegState('disconnected', false);
    setRegStatus(`Lost the connection to ${wsURL}; reconnecting…`, 'bad');
    render();
  });
  on('registered', () => {
    fetchTURN(acct, ua);
    state.registered = true;
    setRegState(`registered as ${acct.user}`, true);
    setRegStatus(`Registered as ${aor}.`, 'ok');
    render();
  });
  on('unregistered', () => {
    state.registered = false;
    setRegState('unregistered', false);
    render();
  });
  on('registrationFailed', (e) => {
    const r = e.response;
    const why = r ? `${r.status_code} ${r.reason_phrase}` : e.cause;
    if (state.session) { // keep the call; Register tries again
      state.registered = false;
      setRegState('not registered', false);
      setRegStatus(`Registration failed: ${why}`, 'bad');
      render();
      return;
    }
    regFailed(`Registration failed: ${why}`, fieldFor(r));
  });
  on('newRTCSession', (e) => onSession(e.session, e.originator));
  ua.start();
  render();
}

// fetchTURN asks switchboard, once registered, for short-lived TURN
// credentials (docs/turn.md): a POST of the SIP user and password to this
// page's own server. 404 means switchboard runs no TURN server, and calls
// use switchboard's host candidates alone, as before. Fresh credentials
// are fetched when four fifths of their lifetime has passed, as long as
// ua is the registered user agent.
async function fetchTURN(acct, ua) {
  clearTimeout(state.turnTimer);
  try {
    const r = await fetch(TURN_PATH, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: acct.user, password: acct.password || '' }),
      cache: 'no-store',
    });
    if (!r.ok) throw new Error(`${r.status}`);
    const j = await r.json();
    const ttl = Number(j.ttl) || 0;
    state.iceServers = Array.isArray(j.iceServers) ? j.iceServers : [];
    state.iceServersUntil = Date.now() + 1000 * ttl;
    if (ttl > 0) {
      state.turnTimer = setTimeout(() => {
        if (state.ua === ua && state.registered) fetchTURN(acct, ua);
      }, 800 * ttl);
    }
  } catch {
    state.iceServers = [];
    state.iceServersUntil = 0;
  }
}

// pcConfig is PC_CONFIG with the TURN servers, while their credentials
// are valid.
function pcConfig() {
  if (!state.iceServers.length || Date.now() >= state.iceServersUntil) return PC_CONFIG;
  return { ...PC_CONFIG, iceServers: state.iceServers };
}

// wsAdvice says what to check when the WebSocket did not open.
function wsAdvice(wsURL) {
  let host = '';
  try { host = new URL(wsURL).host; } catch { /* JsSIP accepted it */ }
  if (host && host !== location.host) {
    return `This page may only connect to its own server, ${location.host}: leave the WebSocket empty.`;
  }
  return `Check the WebSocket under Connection settings (empty: ${defaultWebSocketURL()}).`;
}

// fieldFor is the form field a rejected REGISTER most likely needs fixed.
function fieldFor(response) {
  if (!response) return null;
  switch (response.status_code) {
    case 401: case 403: case 407: return 'password';
    case 404: return 'domain';
    default: return 'user';
  }
}

// stopUA stops the user agent, ending its call, if there is one.
function stopUA() {
  const ua = state.ua;
  if (!ua) return;
  state.ua = null;
  clearTimeout(state.turnTimer);
  state.iceServers = [];
  state.iceServersUntil = 0;
  if (state.session) state.session.terminate();
  ua.stop();
  state.connected = false;
  state.registered = false;
  render();
}

function unregister() {
  if (!state.ua) return;
  stopUA();
  setRegState('unregistered', false);
  setRegStatus('');
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
  if (!state.registered || state.session) return null;
  return state.ua.call(target, {
    mediaConstraints: audioConstraints(),
    pcConfig: pcConfig(),
    rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
  });
}

function answer() {
  const s = state.session;
  if (!s || s.direction !== 'incoming' || s.isEstablished()) return;
  s.answer({ mediaConstraints: audioConstraints(), pcConfig: pcConfig() });
}

function hangup() {
  if (state.session) state.session.terminate();
}

// gatheringBudget returns a session's icecandidate listener: it has JsSIP
// send the SDP being gathered for (each gathering has its own ready) once
// the budget above is spent.
function gatheringBudget() {
  let ready = null;
  let timer = null;
  let relayed = false;
  return (e) => {
    if (e.ready !== ready) {
      clearTimeout(timer);
      ready = e.ready;
      relayed = false;
      timer = setTimeout(ready, ICE_GATHER_MAX_MS);
    }
    const c = e.candidate;
    if (!relayed && (c.type === 'relay' || / typ relay /.test(c.candidate))) {
      relayed = true;
      clearTimeout(timer);
      timer = setTimeout(ready, ICE_RELAY_GRACE_MS);
    }
  };
}

// onSession adopts a new call, or turns away a second one with 486.
function onSession(session, originator) {
  if (state.session) {
    if (originator === 'remote') session.terminate({ status_code: 486 });
    return;
  }
  state.session = session;
  resetMedia(originator === 'remote' ? 'Incoming call: no media yet.' : 'Calling: no media yet.');
  if (originator === 'remote') {
    const from = session.remote_identity;
    $('incoming-from').textContent = from.display_name || from.uri.user;
    setCallState('incoming');
  } else {
    setCallState('calling');
  }
  if (session.connection) attachRemoteAudio(session.connection);
  session.on('peerconnection', (e) => attachRemoteAudio(e.peerconnection));
  session.on('icecandidate', gatheringBudget());
  session.on('progress', () => { if (originator === 'local') setCallState('ringing'); });
  session.on('accepted', () => setCallState('in call'));
  session.on('confirmed', () => { setCallState('in call'); startPolling(); });
  session.on('hold', () => setCallState('on hold'));
  session.on('unhold', () => setCallState('in call'));
  session.on('muted', render);
  session.on('unmuted', render);
  session.on('ended', (e) => endSession(`ended (${why(e)})`, true));
  session.on('failed', (e) => endSession(`failed (${why(e)})`, false));
}

// why is a call's end as the far side put it (a SIP status) or JsSIP's cause.
function why(e) {
  const m = e.message;
  return m && m.status_code ? `${m.status_code} ${m.reason_phrase}` : e.cause;
}

// endSession forgets the call; the media panel keeps an answered call's
// last state, marked as such.
function endSession(text, answered) {
  state.session = null;
  stopPolling();
  $('remote-audio').srcObject = null;
  if (!answered || !state.media) {
    resetMedia(answered ? 'The call has ended.' : 'No media: the call did not connect.');
  } else {
    $('verdict').textContent = `Last call: ${state.media.verdict}`;
  }
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
    resetMedia(err || 'This call is not anchored by switchboard’s media bridge.');
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

// resetMedia empties the media panel, so that nothing of a previous call
// shows, and says why.
function resetMedia(text) {
  state.media = null;
  $('verdict').textContent = text;
  $('verdict').className = 'verdict';
  for (const id of ['ice', 'dtls', 'pkts-in', 'pkts-out', 'codec']) $(id).textContent = '–';
}

// quickDial calls a built-in service from the hint, or says to register.
function quickDial(target) {
  $('target').value = target;
  if (state.registered) call(target);
  else $('user').focus();
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
      display: $('display').value.trim(), ws: $('ws-url').value.trim(), domain: $('domain').value.trim(),
    });
  });
  $('unregister').addEventListener('click', unregister);
  $('dial-form').addEventListener('submit', (e) => {
    e.preventDefault();
    call($('target').value.trim());
  });
  for (const b of document.querySelectorAll('[data-dial]')) {
    b.addEventListener('click', () => quickDial(b.dataset.dial));
  }
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
  get iceServers() { return pcConfig().iceServers; },
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
