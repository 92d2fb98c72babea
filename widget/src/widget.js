// The portal assistant widget. A portal adds it with one tag:
//   <script src="https://HOST/widget.js" data-transport="webrtc|websocket" async></script>
// It talks to the voice agent at HOST (the script's own origin). Optional attributes:
// data-server (the voice agent's origin, when the script is hosted elsewhere),
// data-ice-servers (comma-separated STUN/TURN URLs for WebRTC), data-open (start open) and
// data-start (when the voice agent has auth on: the portal backend's URL that calls the
// agent's POST /start with the operator key and answers with what it returned).
//
// The <voice-assistant> element it adds dispatches, bubbling out of its shadow root:
// voice-assistant:state {state}, voice-assistant:transcript {who, text, final} (the bot's
// once spoken),
// voice-assistant:first-audio {afterClickMs, afterSpeechMs}, voice-assistant:error {message}.

import { TRANSPORTS, VoiceCall } from "./call.js";
import { Panel } from "./panel.js";

const script = document.currentScript;
const config = {
  origin: new URL(script?.dataset.server || script?.src || location.href, location.href).origin,
  transport: script?.dataset.transport || "webrtc",
  iceServers: (script?.dataset.iceServers || "")
    .split(",")
    .map((url) => url.trim())
    .filter(Boolean)
    .map((urls) => ({ urls })),
  open: script?.hasAttribute("data-open") ?? false,
  startUrl: script?.dataset.start ? new URL(script.dataset.start, location.href).href : null,
};

class VoiceAssistant extends HTMLElement {
  connectedCallback() {
    if (this.panel) return;
    this.panel = new Panel(this.attachShadow({ mode: "open" }), {
      start: () => this.start(),
      end: () => this.call?.end(),
      mute: (muted) => this.call?.mute(muted),
    });
    if (!TRANSPORTS.includes(config.transport)) {
      this.panel.showError(`data-transport must be one of ${TRANSPORTS.join(", ")}`);
      this.panel.callButton.disabled = true;
    }
    if (config.open) this.panel.toggle(true);
  }

  start() {
    const panel = this.panel;
    panel.clearTranscript();
    panel.showError(null);
    panel.setLive(true);
    const call = new VoiceCall({
      origin: config.origin,
      transport: config.transport,
      iceServers: config.iceServers,
      startUrl: config.startUrl,
      on: {
        state: (state) => {
          panel.setState(state);
          if (state === "ended") panel.setLive(false);
          this._emit("state", { state });
        },
        user: (text, final) => {
          panel.user(text, final);
          this._emit("transcript", { who: "user", text, final });
        },
        bot: (output) => {
          panel.bot(output);
          if (output.spoken) this._emit("transcript", { who: "bot", text: output.spoken, final: true });
        },
        interrupted: () => panel.interrupted(),
        level: (level) => panel.setLevel(level),
        firstAudio: (timing) => this._emit("first-audio", timing),
        error: (message) => {
          panel.showError(message);
          this._emit("error", { message });
        },
      },
    });
    this.call = call;
    call.start(); // reports its own failures through on.error
  }

  _emit(name, detail) {
    this.dispatchEvent(
      new CustomEvent(`voice-assistant:${name}`, { detail, bubbles: true, composed: true }),
    );
  }
}

if (!customElements.get("voice-assistant")) {
  customElements.define("voice-assistant", VoiceAssistant);
  const mount = () => document.body.append(document.createElement("voice-assistant"));
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
}
