// One call to the voice agent through Pipecat's official client, over WebRTC or a websocket.
//
// Offline-safe: both transports get a WavMediaManager (their default media manager loads a
// bundle from a CDN and never gets past "initializing" without one). WavMediaManager plays
// the websocket's audio at 24 kHz (the server sends 24 kHz) and records at 16 kHz (what
// /ws-client takes); on WebRTC the bot's audio is a track, which this module plays itself.

import { PipecatClient } from "@pipecat-ai/client-js";
import {
  SmallWebRTCTransport,
  WavMediaManager as WebRTCMediaManager,
} from "@pipecat-ai/small-webrtc-transport";
import {
  WebSocketTransport,
  WavMediaManager as WebSocketMediaManager,
} from "@pipecat-ai/websocket-transport";

import { analyserLevel, trackLevel } from "./levels.js";

export const TRANSPORTS = ["webrtc", "websocket"];
// RMS above which a level counts as voice (about -40 dBFS).
const VOICE_LEVEL = 0.01;
const POLL_MS = 20;

/** An error whose message is meant for the visitor. */
export class CallError extends Error {}

export const MESSAGES = {
  unreachable: "The assistant can't be reached right now. Check your connection and try again.",
  busy: "All of the assistant's lines are busy. Please try again in a minute.",
  micDenied:
    "Microphone access was denied. Allow the microphone for this site in your browser's " +
    "settings, then start the call again.",
  noMic: "No microphone was found. Connect one and try again.",
  dropped: "The call was disconnected.",
  failed: "The call could not be connected. Please try again.",
  notAllowed: "This page is not allowed to call the assistant.",
};

/**
 * A call: `start()` connects, `end()` hangs up, `mute(bool)`. It reports through `on`:
 * `state(name)` (connecting, listening, thinking, speaking, ended), `user(text, final)`,
 * `bot({spoken, upcoming, segment})` (RTVI `bot-output`: the words of a segment spoken so far
 * and those about to be), `interrupted()` (the caller started talking: what the bot had not
 * said yet never will be), `level(0..1)`, `firstAudio({afterClickMs, afterSpeechMs})` once
 * per turn, and `error(message)`.
 */
export class VoiceCall {
  constructor({ origin, transport, iceServers = [], startUrl = null, on }) {
    if (!TRANSPORTS.includes(transport)) throw new Error(`unknown transport ${transport}`);
    this.origin = origin;
    this.startUrl = startUrl;
    this.kind = transport;
    this.iceServers = iceServers;
    this.on = on;
    this.state = "idle";
    this.ended = false;
    this.readers = [];
  }

  async start() {
    this.clickedAt = performance.now();
    this._setState("connecting");
    try {
      await this._checkServer();
      await this._checkMicrophone();
      if (this.ended) return;
      this.client = this._client();
      if (this.startUrl) await this._startAndConnect();
      else await this.client.connect(this._connectParams());
      if (this.ended) return;
      this._watchLevels();
    } catch (e) {
      if (!this.ended) this._fail(e instanceof CallError ? e.message : MESSAGES.failed, e);
    }
  }

  async end() {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.poll);
    for (const reader of this.readers) reader.close?.();
    this.readers = [];
    if (this.audio) this.audio.srcObject = null;
    this._setState("ended");
    try {
      await this.client?.disconnect();
    } catch (e) {
      console.warn("voice widget: disconnect", e);
    }
  }

  async mute(muted) {
    this.client?.enableMic(!muted);
  }

  async _checkServer() {
    let response;
    try {
      response = await fetch(`${this.origin}/status`, { cache: "no-store" });
    } catch {
      throw new CallError(MESSAGES.unreachable);
    }
    if (!response.ok) throw new CallError(MESSAGES.unreachable);
    const { sessions, auth } = await response.json();
    if (sessions && sessions.live >= sessions.limit) throw new CallError(MESSAGES.busy);
    if (auth === "token" && !this.startUrl) {
      console.warn("voice widget: the voice agent has auth on; give the script tag data-start");
      throw new CallError(MESSAGES.notAllowed);
    }
  }

  // The official client's start flow: POST {transport} to the portal's backend, which adds
  // who the visitor is and answers with the voice agent's POST /start (a session token and
  // where to connect), then connect with that answer.
  async _startAndConnect() {
    try {
      await this.client.startBotAndConnect({
        endpoint: this.startUrl,
        requestData: { transport: this.kind },
      });
    } catch (e) {
      if (e?.status === 429) throw new CallError(MESSAGES.busy);
      if (e?.status === 401 || e?.status === 403) throw new CallError(MESSAGES.notAllowed);
      throw e;
    }
  }

  async _checkMicrophone() {
    if (!navigator.mediaDevices?.getUserMedia) throw new CallError(MESSAGES.noMic);
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      if (e.name === "NotFoundError") throw new CallError(MESSAGES.noMic);
      throw new CallError(MESSAGES.micDenied);
    }
    for (const track of stream.getTracks()) track.stop();
  }

  _client() {
    if (this.kind === "webrtc") {
      this.media = new WebRTCMediaManager();
      this.transport = new SmallWebRTCTransport({
        mediaManager: this.media,
        iceServers: this.iceServers,
      });
    } else {
      this.media = new WebSocketMediaManager(512, 16000);
      this.transport = new WebSocketTransport({ mediaManager: this.media });
    }
    return new PipecatClient({
      transport: this.transport,
      enableMic: true,
      enableCam: false,
      callbacks: {
        onBotReady: () => this._setState("listening"),
        onUserStartedSpeaking: () => this.on.interrupted(),
        onUserStoppedSpeaking: () => this._setState("thinking"),
        onBotStartedSpeaking: () => this._setState("speaking"),
        onBotStoppedSpeaking: () => this._setState("listening"),
        onUserTranscript: (data) => this.on.user(data.text, data.final),
        onBotOutput: (data) => this._onBotOutput(data),
        onTrackStarted: (track, participant) => this._onTrack(track, participant),
        // While connecting, start() reports failures itself (a /start refusal as its own
        // message); the client also rejects connect() for them.
        onError: (message) => this.state !== "connecting" && this._fail(MESSAGES.failed, message),
        onDisconnected: () => this._onDisconnected(),
      },
    });
  }

  _connectParams() {
    if (this.kind === "webrtc") {
      return { webrtcRequestParams: { endpoint: `${this.origin}/api/offer` } };
    }
    return { wsUrl: `${this.origin.replace(/^http/, "ws")}/ws-client` };
  }

  _onBotOutput(data) {
    if (data.will_be_spoken === false) return; // text for the screen only; a call has none
    const spoken = data.spoken || data.spoken_status === "completed";
    const progress = data.spoken_progress;
    this.on.bot({
      segment: data.segment_id,
      spoken: spoken ? data.text : (progress?.accumulated_text ?? ""),
      upcoming: spoken ? "" : (progress?.remaining_text ?? data.text),
    });
  }

  _onTrack(track, participant) {
    if (participant?.local || track.kind !== "audio") return;
    // SmallWebRTC hands over the bot's track; playing it is the page's job.
    this.audio ??= Object.assign(document.createElement("audio"), { autoplay: true });
    this.audio.srcObject = new MediaStream([track]);
    this.audio.play().catch((e) => console.warn("voice widget: audio play", e));
    this.botLevel = trackLevel(track);
    this.readers.push(this.botLevel);
  }

  _onDisconnected() {
    if (this.ended) return;
    const message = this.state === "connecting" ? MESSAGES.busy : MESSAGES.dropped;
    this._fail(message);
  }

  _watchLevels() {
    const mic = this.client.tracks().local.audio;
    if (mic) {
      this.micLevel = trackLevel(mic);
      this.readers.push(this.micLevel);
    }
    if (this.kind === "websocket") {
      // The websocket's audio plays inside the media manager's player, which taps an
      // analyser (a private field of the pinned version).
      const analyser = this.media._wavStreamPlayer?.analyser;
      if (analyser) this.botLevel = analyserLevel(analyser);
    }
    let heard = true; // this turn's first bot audio already reported
    let lastVoiceAt = null;
    this.poll = setInterval(() => {
      const now = performance.now();
      const mic = this.micLevel && this.micLevel();
      const bot = this.botLevel && this.botLevel();
      if (mic > VOICE_LEVEL) {
        lastVoiceAt = now;
        heard = false;
      }
      if (!heard && bot > VOICE_LEVEL && lastVoiceAt !== null) {
        heard = true;
        this.on.firstAudio({
          afterClickMs: Math.round(now - this.clickedAt),
          afterSpeechMs: Math.round(now - lastVoiceAt),
        });
      }
      this.on.level(Math.max(mic || 0, bot || 0));
    }, POLL_MS);
  }

  _setState(state) {
    if (this.ended && state !== "ended") return;
    this.state = state;
    this.on.state(state);
  }

  _fail(message, detail) {
    if (this.ended) return;
    if (detail) console.warn("voice widget:", detail);
    this.on.error(message);
    this.end();
  }
}
