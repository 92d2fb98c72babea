// The widget's look: a launcher button and a panel, inside a shadow root so the host page's
// styles and ours never meet.

const STATE_LABELS = {
  idle: "Ready",
  connecting: "Connecting…",
  listening: "Listening",
  thinking: "Thinking…",
  speaking: "Speaking",
  ended: "Call ended",
};

const STYLE = `
:host { all: initial; position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
  font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1d21; }
button { font: inherit; cursor: pointer; border-radius: 10px; border: 1px solid #c7ccd6;
  background: #fff; color: inherit; padding: 8px 14px; }
button:focus-visible { outline: 3px solid #2f6fed; outline-offset: 2px; }
button:disabled { opacity: .5; cursor: default; }
.launcher { width: 56px; height: 56px; border-radius: 50%; border: none; background: #2f6fed;
  color: #fff; box-shadow: 0 4px 14px rgba(0,0,0,.25); display: grid; place-items: center; padding: 0; }
.launcher svg { width: 26px; height: 26px; fill: currentColor; }
.panel { position: absolute; right: 0; bottom: 68px; width: 340px; max-height: min(520px, 80vh);
  display: flex; flex-direction: column; background: #fff; border-radius: 14px;
  box-shadow: 0 10px 30px rgba(0,0,0,.25); overflow: hidden; }
.panel[hidden] { display: none; }
header { display: flex; align-items: center; gap: 8px; padding: 12px 14px; background: #2f6fed; color: #fff; }
header h2 { font-size: 16px; margin: 0; flex: 1; }
.state { font-size: 13px; padding: 2px 8px; border-radius: 10px; background: rgba(255,255,255,.2); }
.close { background: transparent; border: none; color: #fff; font-size: 20px; padding: 0 6px; }
.transcript { list-style: none; margin: 0; padding: 12px 14px; overflow-y: auto; flex: 1;
  min-height: 120px; display: flex; flex-direction: column; gap: 8px; }
.transcript li { max-width: 85%; padding: 7px 11px; border-radius: 12px; white-space: pre-wrap; }
.transcript .user { align-self: flex-end; background: #2f6fed; color: #fff; }
.transcript .user.interim { opacity: .7; }
.transcript .bot { align-self: flex-start; background: #eef1f6; }
.transcript .bot:not(:has(span span)) { display: none; }
.transcript .upcoming { color: #8a909c; }
.transcript .hint { align-self: center; color: #5f6673; font-size: 13px; background: none; }
.error { margin: 0 14px 8px; padding: 8px 10px; border-radius: 8px; background: #fdecec;
  color: #8a1c1c; font-size: 14px; }
.error[hidden] { display: none; }
footer { display: flex; align-items: center; gap: 8px; padding: 10px 14px; border-top: 1px solid #e3e6ec; }
.meter { flex: 1; height: 8px; border-radius: 4px; background: #e3e6ec; overflow: hidden; }
.meter div { height: 100%; width: 0%; background: #2fbf71; transition: width 60ms linear; }
.call { background: #2f6fed; color: #fff; border-color: #2f6fed; }
.call.live { background: #d93838; border-color: #d93838; }
.mute[aria-pressed="true"] { background: #ffe9b3; }
@media (max-width: 480px) {
  :host { right: 12px; bottom: 12px; }
  .panel { position: fixed; left: 8px; right: 8px; bottom: 80px; width: auto; max-height: 75vh; }
}
`;

const MIC_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11h-2z"/></svg>';

const TEMPLATE = `
<style>${STYLE}</style>
<section class="panel" role="dialog" aria-label="Voice assistant" hidden>
  <header>
    <h2>Assistant</h2>
    <span class="state" role="status" aria-live="polite">Ready</span>
    <button class="close" type="button" aria-label="Close the assistant">×</button>
  </header>
  <ol class="transcript" aria-label="Transcript" aria-live="polite">
    <li class="hint">Press “Start call” and ask your question out loud.</li>
  </ol>
  <p class="error" role="alert" hidden></p>
  <footer>
    <div class="meter" role="meter" aria-label="Audio level" aria-valuemin="0"
      aria-valuemax="100" aria-valuenow="0"><div></div></div>
    <button class="mute" type="button" aria-label="Mute microphone" aria-pressed="false" disabled>Mute</button>
    <button class="call" type="button" aria-label="Start call">Start call</button>
  </footer>
</section>
<button class="launcher" type="button" aria-label="Open the voice assistant" aria-expanded="false">${MIC_ICON}</button>
`;

/** The widget's DOM inside `root` (a shadow root); `actions` are `{start, end, mute}`. */
export class Panel {
  constructor(root, actions) {
    root.innerHTML = TEMPLATE;
    const $ = (selector) => root.querySelector(selector);
    this.root = root;
    this.panel = $(".panel");
    this.launcher = $(".launcher");
    this.stateLabel = $(".state");
    this.transcript = $(".transcript");
    this.error = $(".error");
    this.meter = $(".meter");
    this.callButton = $(".call");
    this.muteButton = $(".mute");
    this.live = false;
    this.launcher.addEventListener("click", () => this.toggle());
    $(".close").addEventListener("click", () => this.toggle(false));
    this.panel.addEventListener("keydown", (e) => e.key === "Escape" && this.toggle(false));
    this.callButton.addEventListener("click", () => (this.live ? actions.end() : actions.start()));
    this.muteButton.addEventListener("click", () => {
      const muted = this.muteButton.getAttribute("aria-pressed") !== "true";
      this.muteButton.setAttribute("aria-pressed", String(muted));
      this.muteButton.setAttribute("aria-label", muted ? "Unmute microphone" : "Mute microphone");
      this.muteButton.textContent = muted ? "Unmute" : "Mute";
      actions.mute(muted);
    });
  }

  toggle(open = this.panel.hidden) {
    this.panel.hidden = !open;
    this.launcher.setAttribute("aria-expanded", String(open));
    this.launcher.setAttribute("aria-label", open ? "Close the voice assistant" : "Open the voice assistant");
    (open ? this.callButton : this.launcher).focus();
  }

  /** A call started (`live`) or ended: the call button and the mute toggle follow. */
  setLive(live) {
    this.live = live;
    this.callButton.textContent = live ? "End call" : "Start call";
    this.callButton.setAttribute("aria-label", live ? "End call" : "Start call");
    this.callButton.classList.toggle("live", live);
    this.muteButton.disabled = !live;
    if (!live) {
      this.muteButton.setAttribute("aria-pressed", "false");
      this.muteButton.setAttribute("aria-label", "Mute microphone");
      this.muteButton.textContent = "Mute";
      this.setLevel(0);
    }
  }

  setState(state) {
    this.stateLabel.textContent = STATE_LABELS[state] ?? state;
    this.stateLabel.dataset.state = state;
  }

  showError(message) {
    this.error.textContent = message ?? "";
    this.error.hidden = !message;
  }

  clearTranscript() {
    this.transcript.replaceChildren();
    this.current = null;
  }

  /** The caller's words: interim text replaces itself until the final one lands. */
  user(text, final) {
    if (this.current?.who !== "user") this.current = this._line("user");
    const line = this.current;
    if (final) {
      line.finals = [line.finals, text.trim()].filter(Boolean).join(" ");
      line.el.textContent = line.finals;
    } else {
      line.el.textContent = [line.finals, text.trim()].filter(Boolean).join(" ");
    }
    line.el.classList.toggle("interim", !final);
    this._scroll();
  }

  /** The bot's words: each segment (a sentence) shown dimmed while it is still to be
   * spoken, then solid once it has been; a segment's text replaces itself. */
  bot({ segment, spoken, upcoming }) {
    if (this.current?.who !== "bot") this.current = this._line("bot");
    const line = this.current.el;
    let part = segment === undefined ? null : line.querySelector(`[data-segment="${segment}"]`);
    if (!part) {
      part = document.createElement("span");
      if (segment !== undefined) part.dataset.segment = String(segment);
      line.append(part);
    }
    part.replaceChildren();
    if (spoken) part.append(Object.assign(document.createElement("span"), { className: "spoken", textContent: `${spoken.trim()} ` }));
    if (upcoming) part.append(Object.assign(document.createElement("span"), { className: "upcoming", textContent: `${upcoming.trim()} ` }));
    this._scroll();
  }

  /** The caller spoke over the bot: what it had not said yet goes. */
  interrupted() {
    if (this.current?.who !== "bot") return;
    for (const upcoming of this.current.el.querySelectorAll(".upcoming")) upcoming.remove();
  }

  setLevel(level) {
    const percent = Math.min(100, Math.round(Math.sqrt(level) * 250));
    this.meter.firstElementChild.style.width = `${percent}%`;
    this.meter.setAttribute("aria-valuenow", String(percent));
  }

  _scroll() {
    this.transcript.scrollTop = this.transcript.scrollHeight;
  }

  _line(who) {
    const el = document.createElement("li");
    el.className = who;
    el.dataset.who = who;
    this.transcript.append(el);
    return { who, el, finals: "" };
  }
}
