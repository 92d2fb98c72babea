"""The voice app's settings: built once from flags, then environment variables, then defaults."""

from __future__ import annotations

import argparse
import importlib.util
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from server.flags import (
    add_env_options,
    argv_from_env,
    between,
    non_negative_float,
    positive_float,
    positive_int,
)
from server.flags import env_var as flags_env_var
from server.settings import is_loopback
from voice import tracing

ENV_PREFIX = "VOICE_"

STT_CHOICES = ("whisper", "deepgram")
TTS_CHOICES = ("piper", "cartesia")
TURN_STOP_CHOICES = ("speech-timeout", "smart-turn")
TELEPHONY_CHOICES = ("twilio", "telnyx", "plivo")

# Hosted services read their keys from the variables Pipecat's own examples use.
_KEY_VARIABLES = {"deepgram": "DEEPGRAM_API_KEY", "cartesia": "CARTESIA_API_KEY"}
# The package each hosted service's Pipecat module imports (its pipecat-ai extra).
_EXTRA_MODULES = {"deepgram": ("deepgram", "pipecat-ai[deepgram]")}


@dataclass(frozen=True)
class Settings:
    """Everything the voice app needs; nothing below `__main__` reads the environment."""

    host: str = "127.0.0.1"
    port: int = 7860
    allow_unauthenticated: bool = False
    api_key: str | None = field(default=None, repr=False)
    start_rate_limit: int = 60
    max_session_seconds: float = 3600.0
    drain_timeout: float = 30.0
    db: str = "voice-calls.db"
    record: bool = True
    keep_calls_days: float = 30.0
    admin_token: str | None = field(default=None, repr=False)
    tracing: bool = False
    allowed_origins: tuple[str, ...] = ()
    max_sessions: int = 8
    llm_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str = "local"
    llm_cli: str = "local"
    llm_reasoning_effort: str = "none"
    stt: str = "whisper"
    stt_window: float = 8.0
    stt_beam: int = 1
    tts: str = "piper"
    first_clause: bool = False
    cartesia_voice: str = "71a7ad14-091c-4e8e-a314-022ece01c121"
    turn_stop: str = "speech-timeout"
    speech_timeout: float = 0.3
    vad_start: float = 0.064
    early_answer: bool = True
    speak_ahead: bool = True
    hear_at_pause: bool = True
    log_level: str = "info"
    deepgram_api_key: str | None = None
    cartesia_api_key: str | None = None
    public_url: str | None = None
    telephony: str = "twilio"
    session_secret: str | None = field(default=None, repr=False)
    session_ttl: float = 300.0
    ice_servers: tuple[dict[str, str], ...] = field(default=(), repr=False)
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = field(default=None, repr=False)
    twilio_api_base_url: str | None = None
    telnyx_api_key: str | None = field(default=None, repr=False)
    plivo_auth_id: str | None = None
    plivo_auth_token: str | None = field(default=None, repr=False)


def _origin_list(text: str) -> tuple[str, ...]:
    return tuple(o.strip() for o in text.split(",") if o.strip())


def ice_server_list(text: str) -> tuple[dict[str, str], ...]:
    """`--ice-servers`: comma-separated STUN/TURN URLs, or a JSON list of
    `{"urls", "username", "credential"}` objects (TURN needs the credentials)."""
    text = text.strip()
    if not text.startswith("["):
        servers: list = [{"urls": u.strip()} for u in text.split(",") if u.strip()]
    else:
        try:
            servers = json.loads(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"not a JSON list: {e}") from e
    for server in servers:
        urls = server.get("urls") if isinstance(server, dict) else None
        if not isinstance(urls, str) or not urls.startswith(("stun:", "stuns:", "turn:", "turns:")):
            raise argparse.ArgumentTypeError(
                f"{server!r}: each ICE server needs 'urls', a stun: or turn: URL"
            )
        extra = set(server) - {"urls", "username", "credential"}
        if extra or not all(isinstance(v, str) for v in server.values()):
            raise argparse.ArgumentTypeError(
                f"{server!r}: only string 'urls', 'username' and 'credential' are taken"
            )
    return tuple(servers)


# (flag, type or choices, help); the environment variable is VOICE_ + the flag in upper snake case.
_OPTIONS: list[tuple[str, object, str]] = [
    ("--host", str, "interface to bind (default %(default)s)"),
    ("--port", int, "port to listen on; 0 picks a free one (default %(default)s)"),
    (
        "--allowed-origins",
        _origin_list,
        "comma-separated web origins (portals embedding the widget, e.g. "
        "https://portal.example) that may connect: others get 403 on /api/offer and "
        "/ws-client, and no CORS headers; the app's own pages always may; empty allows any",
    ),
    (
        "--api-key",
        str,
        "operator key: turns auth on. POST /start then needs it (Authorization: Bearer), and "
        "every channel opens only with a session token /start minted; set it by the variable "
        "(a flag shows in ps); default none: no auth, loopback hosts only",
    ),
    (
        "--start-rate-limit",
        positive_int,
        "POST /start requests a minute from one client address, in bursts of as many; more "
        "get 429 with Retry-After (default %(default)s)",
    ),
    (
        "--max-session-seconds",
        non_negative_float,
        "longest a session may last: then the bot says goodbye and ends it; 0 for no limit "
        "(default %(default)s)",
    ),
    (
        "--drain-timeout",
        non_negative_float,
        "on SIGTERM, seconds live sessions get to finish their current exchange (each then "
        "ends with a short goodbye) while new ones are refused and /ready says 503; the rest "
        "are then ended; a second SIGTERM ends them at once (default %(default)s)",
    ),
    (
        "--db",
        str,
        "where call records go: an SQLite file (created if missing) or a postgresql:// URL "
        "for several instances sharing one store (default %(default)s)",
    ),
    (
        "--keep-calls-days",
        positive_float,
        "call records older than this many days are deleted (default %(default)s)",
    ),
    (
        "--admin-token",
        str,
        "bearer token for the call records (/api/calls, /calls); set it by the variable (a "
        "flag shows in ps); needed to serve a non-loopback host unless --no-record",
    ),
    (
        "--max-sessions",
        positive_int,
        "voice sessions served at once; more are refused with close code 1013 "
        "(default %(default)s)",
    ),
    (
        "--llm-url",
        str,
        "OpenAI-compatible base URL to answer with (e.g. http://127.0.0.1:8000/v1); "
        "without it the bundled completions server is started as a child process",
    ),
    ("--llm-api-key", str, "API key for --llm-url (the bundled server gets a random one)"),
    (
        "--llm-model",
        str,
        "model name sent with every completion request (default local for the bundled server "
        "on the local CLI, else sonnet)",
    ),
    (
        "--llm-cli",
        str,
        "the bundled server's --cli: the CLI that answers each request (default %(default)s)",
    ),
    (
        "--llm-reasoning-effort",
        ("none", "minimal", "low", "medium", "high", "default"),
        "reasoning_effort sent with every completion request: none, so the caller hears the "
        "first words without waiting for the model to think; default sends none at all, for "
        "an --llm-url whose models refuse the field (default %(default)s)",
    ),
    ("--stt", STT_CHOICES, "speech to text, local or hosted (default %(default)s)"),
    (
        "--stt-window",
        between(2, 30),
        "seconds of Whisper's window each speech segment is heard in (longer when the speech "
        "needs it): 30 is Whisper's own; 8 hears a question in under half the time on 2 "
        "cores, with as few word errors (python -m bench.stt_window) (default %(default)s)",
    ),
    (
        "--stt-beam",
        between(1, 10, int),
        "Whisper's beam width: 1 is greedy, the fastest; 3 in a 15 s window made as many "
        "word errors, slower (default %(default)s)",
    ),
    ("--tts", TTS_CHOICES, "text to speech, local or hosted (default %(default)s)"),
    ("--cartesia-voice", str, "Cartesia voice id, with --tts=cartesia (default %(default)s)"),
    (
        "--turn-stop",
        TURN_STOP_CHOICES,
        "how the end of a user turn is decided: silence for --speech-timeout seconds, "
        "or the Smart Turn v3 model (default %(default)s)",
    ),
    (
        "--speech-timeout",
        non_negative_float,
        "seconds of silence, after the VAD's own 0.2 s, that end a user turn (default %(default)s)",
    ),
    (
        "--vad-start",
        between(0.03, 1),
        "seconds of speech the VAD must hear before the caller's turn starts, and the bot, "
        "if speaking, is interrupted, in Silero's 32 ms windows: 0.064 (two) stops it four "
        "windows sooner than Pipecat's 0.2 (default %(default)s)",
    ),
    ("--log-level", str, "trace, debug, info, warning or error (default %(default)s)"),
    (
        "--public-url",
        str,
        "the host (or URL) phone providers reach this app at, for the stream URL that POST / "
        "answers a call with; without it the request's X-Forwarded-Host or Host is used",
    ),
    (
        "--telephony",
        TELEPHONY_CHOICES,
        "the provider POST / answers when its form does not say (TwiML, TeXML or Plivo XML; "
        "default %(default)s); /ws takes all three",
    ),
    (
        "--session-secret",
        str,
        "HMAC secret that signs session tokens (from POST /start, and a phone stream's "
        "/ws/<token>); share it across instances behind one load balancer, or a token one "
        "mints fails on the others (set it by the variable: a flag shows in ps); default: "
        "random per process",
    ),
    (
        "--ice-servers",
        ice_server_list,
        "STUN/TURN servers for WebRTC peers: comma-separated URLs, or a JSON list of "
        '{"urls", "username", "credential"} (set TURN credentials by the variable: a flag '
        "shows in ps); default none: host candidates only",
    ),
    (
        "--session-ttl",
        positive_float,
        "seconds a session token stays valid (default %(default)s)",
    ),
]


def _default_model(llm_url: str | None, llm_cli: str) -> str:
    """`local` for the bundled server on the local CLI; `sonnet` otherwise (which the local CLI
    also answers to)."""
    return "local" if not llm_url and llm_cli == "local" else "sonnet"


def env_var(flag: str) -> str:
    """The environment variable that stands in for `flag`."""
    return flags_env_var(ENV_PREFIX, flag)


def build_parser() -> argparse.ArgumentParser:
    """The `python -m voice` argument parser, every flag with its environment variable."""
    defaults = replace(Settings(), llm_model=None)  # resolved from --llm-url and --llm-cli
    parser = argparse.ArgumentParser(
        prog="python -m voice",
        description="A realtime voice agent: Pipecat voice sessions over a websocket at "
        "/ws-client (Pipecat's protobuf frames, 16 kHz mono 16-bit PCM in, 24 kHz out), "
        "WebRTC at /api/offer (Pipecat's SmallWebRTC), the portal widget at /widget.js "
        "(its demo page at /), "
        "and Twilio, Telnyx and Plivo phone calls at POST / and /ws, answered by the bundled "
        "completions server unless --llm-url is given. Every flag can also be set by the "
        "environment variable shown in brackets.",
        epilog="Hosted services read their keys from DEEPGRAM_API_KEY and CARTESIA_API_KEY; "
        "they are used only when selected with --stt/--tts, and then the key is required. "
        "Phone calls (POST / and /ws) hang up through the provider's REST API when its "
        "credentials are set: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (TWILIO_API_BASE_URL "
        "for a Twilio-compatible API), TELNYX_API_KEY, or PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN. "
        "With TWILIO_AUTH_TOKEN set, POST / answers only requests with a valid "
        "X-Twilio-Signature, and /ws opens only with the one-time token POST / put in its URL. "
        "With OTEL_EXPORTER_OTLP_ENDPOINT set, every turn is traced to that OTLP/HTTP "
        "collector (a turn span with the STT, LLM and TTS spans in it).",
    )
    add_env_options(parser, _OPTIONS, defaults, ENV_PREFIX)
    parser.add_argument(
        "--no-record",
        dest="record",
        action="store_false",
        default=True,
        help="keep no call records (no transcripts, no per-turn latency stored) [VOICE_NO_RECORD]",
    )
    parser.add_argument(
        "--no-early-answer",
        dest="early_answer",
        action="store_false",
        default=True,
        help="ask the LLM only once the turn has ended; by default the answer is started as "
        "soon as the transcript is in, held while --speech-timeout runs, and dropped unheard "
        "if the caller goes on [VOICE_NO_EARLY_ANSWER]",
    )
    parser.add_argument(
        "--no-speak-ahead",
        dest="speak_ahead",
        action="store_false",
        default=True,
        help="voice the early answer only once the turn has ended; by default the TTS voices it "
        "while --speech-timeout runs and the audio is held until the turn ends "
        "[VOICE_NO_SPEAK_AHEAD]",
    )
    parser.add_argument(
        "--no-hear-at-pause",
        dest="hear_at_pause",
        action="store_false",
        default=True,
        help="Whisper hears a segment only once the VAD has ended it (0.2 s of silence); by "
        "default it starts at the caller's first pause (32 ms), and the transcript is used when "
        "no speech came after it [VOICE_NO_HEAR_AT_PAUSE]",
    )
    parser.add_argument(
        "--first-clause",
        action="store_true",
        default=False,
        help="Piper speaks each answer's first clause as soon as it is written, then whole "
        "sentences; by default whole sentences only, since on 2 cores with the local model, "
        "whose sentences go to Piper at their full stop, the first words came no sooner (1.00x "
        "at p50 over three rounds) and each answer 0.17 s longer, broken after the clause "
        "[VOICE_FIRST_CLAUSE]",
    )
    parser.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        default=False,
        help="allow binding a non-loopback host, where anyone who can reach the port can "
        "talk to the agent [VOICE_ALLOW_UNAUTHENTICATED]",
    )
    return parser


def load_settings(argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
    """Build `Settings` from `argv` over `environ`; exits with a usage error on bad values."""
    parser = build_parser()
    env_args = argv_from_env(parser, environ, ENV_PREFIX)
    args = parser.parse_args([*env_args, *argv])
    if not args.api_key and not args.allow_unauthenticated and not is_loopback(args.host):
        parser.error(
            f"refusing to serve {args.host} without authentication: set VOICE_API_KEY (or "
            "--api-key), or pass --allow-unauthenticated to let anyone who reaches the port in"
        )
    if args.record and not args.admin_token and not is_loopback(args.host):
        parser.error(
            f"refusing to serve call records on {args.host} without a token: set "
            "VOICE_ADMIN_TOKEN (or --admin-token), or pass --no-record"
        )
    keys = {service: environ.get(var) or None for service, var in _KEY_VARIABLES.items()}
    for service in (args.stt, args.tts):
        if service in keys and not keys[service]:
            parser.error(f"--stt/--tts {service} needs {_KEY_VARIABLES[service]} to be set")
        module, extra = _EXTRA_MODULES.get(service, (None, None))
        if module and importlib.util.find_spec(module) is None:
            parser.error(f"{service} needs the {module!r} package: install {extra}")
    origins = args.allowed_origins
    return Settings(
        host=args.host,
        port=args.port,
        allow_unauthenticated=args.allow_unauthenticated,
        api_key=args.api_key or None,
        start_rate_limit=args.start_rate_limit,
        max_session_seconds=args.max_session_seconds,
        drain_timeout=args.drain_timeout,
        db=args.db,
        record=args.record,
        keep_calls_days=args.keep_calls_days,
        admin_token=args.admin_token or None,
        tracing=tracing.wanted(environ),
        allowed_origins=origins if isinstance(origins, tuple) else _origin_list(origins),
        max_sessions=args.max_sessions,
        llm_url=args.llm_url or None,
        llm_api_key=args.llm_api_key or None,
        llm_model=args.llm_model or _default_model(args.llm_url, args.llm_cli),
        llm_cli=args.llm_cli,
        llm_reasoning_effort=args.llm_reasoning_effort,
        stt=args.stt,
        stt_window=args.stt_window,
        stt_beam=args.stt_beam,
        tts=args.tts,
        first_clause=args.first_clause,
        cartesia_voice=args.cartesia_voice,
        turn_stop=args.turn_stop,
        speech_timeout=args.speech_timeout,
        vad_start=args.vad_start,
        early_answer=args.early_answer,
        speak_ahead=args.speak_ahead,
        hear_at_pause=args.hear_at_pause,
        log_level=args.log_level,
        deepgram_api_key=keys["deepgram"],
        cartesia_api_key=keys["cartesia"],
        public_url=args.public_url or None,
        telephony=args.telephony,
        session_secret=args.session_secret or None,
        session_ttl=args.session_ttl,
        ice_servers=args.ice_servers,
        twilio_account_sid=environ.get("TWILIO_ACCOUNT_SID") or None,
        twilio_auth_token=environ.get("TWILIO_AUTH_TOKEN") or None,
        twilio_api_base_url=environ.get("TWILIO_API_BASE_URL") or None,
        telnyx_api_key=environ.get("TELNYX_API_KEY") or None,
        plivo_auth_id=environ.get("PLIVO_AUTH_ID") or None,
        plivo_auth_token=environ.get("PLIVO_AUTH_TOKEN") or None,
    )
