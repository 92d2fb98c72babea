"""Settings come from flags, then VOICE_* variables, then defaults."""

from __future__ import annotations

import pytest

from voice.settings import Settings, build_parser, env_var, load_settings


def test_defaults():
    assert load_settings([], {}) == Settings()


def test_environment_overrides_defaults_and_flags_override_the_environment():
    environ = {"VOICE_PORT": "9000", "VOICE_LLM_MODEL": "sonnet", "VOICE_SPEECH_TIMEOUT": "0.5"}

    settings = load_settings(["--port=9001"], environ)

    assert (settings.port, settings.llm_model, settings.speech_timeout) == (9001, "sonnet", 0.5)


def test_lists_and_switches_from_the_environment():
    environ = {
        "VOICE_HOST": "0.0.0.0",
        "VOICE_ALLOW_UNAUTHENTICATED": "1",
        "VOICE_ALLOWED_ORIGINS": "https://a.example, https://b.example",
        "VOICE_NO_RECORD": "1",
        "VOICE_NO_EARLY_ANSWER": "1",
        "VOICE_NO_SPEAK_AHEAD": "1",
    }

    settings = load_settings([], environ)

    assert settings.allow_unauthenticated
    assert not settings.record
    assert not settings.early_answer
    assert not settings.speak_ahead
    assert settings.allowed_origins == ("https://a.example", "https://b.example")


def test_refuses_a_public_host_without_opting_in(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit):
        load_settings(["--host=0.0.0.0"], {})

    assert "without authentication: set VOICE_API_KEY" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--stt=deepgram"], "needs DEEPGRAM_API_KEY"),
        (["--tts=cartesia"], "needs CARTESIA_API_KEY"),
        (["--speech-timeout=-1"], "must be 0 or more"),
        (["--max-sessions=0"], "must be at least 1"),
        (["--turn-stop=never"], "invalid choice"),
    ],
)
def test_bad_values_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
):
    with pytest.raises(SystemExit):
        load_settings(argv, {})

    assert message in capsys.readouterr().err


def test_a_hosted_service_takes_its_key_from_its_usual_variable():
    settings = load_settings(["--tts=cartesia"], {"CARTESIA_API_KEY": "k"})

    assert (settings.tts, settings.cartesia_api_key) == ("cartesia", "k")


def test_help_names_the_variable_of_every_flag():
    parser = build_parser()
    text = " ".join(parser.format_help().split())
    flags = [s for a in parser._actions for s in a.option_strings if s.startswith("--")]

    for flag in flags:
        if flag != "--help":
            assert f"[{env_var(flag)}]" in text, flag


def test_llm_model_follows_the_cli_unless_given():
    assert load_settings([], {}).llm_model == "local"
    assert load_settings(["--llm-cli", "claude"], {}).llm_model == "sonnet"
    assert load_settings(["--llm-url", "http://127.0.0.1:1/v1"], {}).llm_model == "sonnet"
    assert load_settings(["--llm-cli", "claude", "--llm-model", "haiku"], {}).llm_model == "haiku"


def test_env_example_lists_every_variable():
    from pathlib import Path

    example = (Path(__file__).parents[2] / ".env.example").read_text()
    for action in build_parser()._actions:
        flag = action.option_strings[-1]
        if flag != "--help":
            assert env_var(flag) in example, flag


def test_phone_settings_from_the_environment():
    environ = {
        "VOICE_PUBLIC_URL": "calls.example",
        "TWILIO_ACCOUNT_SID": "AC1",
        "TWILIO_AUTH_TOKEN": "secret",
    }

    settings = load_settings([], environ)

    assert settings.public_url == "calls.example"
    assert (settings.twilio_account_sid, settings.twilio_auth_token) == ("AC1", "secret")
    assert load_settings(["--public-url=other.example"], environ).public_url == "other.example"


def test_ice_servers_are_urls_or_a_json_list_with_credentials():
    turn = '[{"urls": "turn:turn.example:3478", "username": "u", "credential": "p"}]'

    assert load_settings([], {}).ice_servers == ()
    assert load_settings(
        ["--ice-servers", "stun:a.example:3478, stun:b.example"], {}
    ).ice_servers == (
        {"urls": "stun:a.example:3478"},
        {"urls": "stun:b.example"},
    )
    with_turn = load_settings([], {"VOICE_ICE_SERVERS": turn})
    assert with_turn.ice_servers[0]["credential"] == "p"
    assert "credential" not in repr(with_turn)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("http://a.example", "a stun: or turn: URL"),
        ("[{", "not a JSON list"),
        ('[{"urls": "turn:t", "password": "p"}]', "only string 'urls', 'username'"),
    ],
)
def test_bad_ice_servers_are_a_usage_error(value, message, capsys):
    with pytest.raises(SystemExit):
        load_settings(["--ice-servers", value], {})

    assert message in capsys.readouterr().err


def test_an_operator_key_lets_a_public_host_serve_with_auth_on():
    environ = {"VOICE_API_KEY": "k" * 32, "VOICE_ADMIN_TOKEN": "a" * 32}
    settings = load_settings(["--host=0.0.0.0"], environ)

    assert settings.api_key == "k" * 32
    assert not settings.allow_unauthenticated
    assert "k" * 32 not in repr(settings)


def test_call_records_on_a_public_host_need_the_admin_token(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit):
        load_settings(["--host=0.0.0.0"], {"VOICE_API_KEY": "k"})

    assert "VOICE_ADMIN_TOKEN (or --admin-token), or pass --no-record" in capsys.readouterr().err
    assert not load_settings(["--host=0.0.0.0", "--no-record"], {"VOICE_API_KEY": "k"}).record
    settings = load_settings(["--db=/tmp/x.db", "--keep-calls-days=7"], {})
    assert (settings.db, settings.keep_calls_days, settings.record) == ("/tmp/x.db", 7.0, True)
