import pytest

from server.settings import build_parser, env_var, load_settings


def test_flags_beat_environment_beats_defaults():
    env = {"SERVER_PORT": "9001", "SERVER_MODELS": "a,b", "SERVER_DEFAULT_MODEL": "a"}
    settings = load_settings(["--port", "9002"], env)
    assert settings.port == 9002
    assert settings.models == ("a", "b")
    assert settings.default_model == "a"
    assert load_settings([], {}).port == 8000


def test_every_flag_is_documented_with_its_environment_variable():
    text = build_parser().format_help()
    for action in build_parser()._actions:
        flag = action.option_strings[-1]
        if flag != "--help":
            assert f"[{env_var(flag)}]" in text


def test_env_example_lists_every_variable():
    from pathlib import Path

    example = (Path(__file__).parents[2] / ".env.example").read_text()
    for action in build_parser()._actions:
        flag = action.option_strings[-1]
        if flag != "--help":
            assert env_var(flag) in example


def test_public_bind_needs_a_key_or_explicit_flag(capsys):
    with pytest.raises(SystemExit):
        load_settings(["--host", "0.0.0.0"], {})
    assert "--api-key" in capsys.readouterr().err
    assert load_settings(["--host", "0.0.0.0", "--api-key", "k"], {}).api_key == "k"
    assert load_settings(["--host", "0.0.0.0"], {"SERVER_ALLOW_UNAUTHENTICATED": "1"}).host
    assert load_settings(["--host", "::1"], {}).api_key is None


def test_default_model_must_be_listed():
    with pytest.raises(SystemExit):
        load_settings(["--models", "haiku", "--default-model", "opus"], {})


def test_cli_environment_turns_off_background_traffic():
    settings = load_settings([], {"PATH": "/bin", "SERVER_API_KEY": "k"})
    assert settings.cli_env["PATH"] == "/bin"
    assert settings.cli_env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    assert settings.api_key == "k" and "SERVER_API_KEY" not in settings.cli_env


def test_local_cli_serves_local_and_claude_aliases():
    settings = load_settings(["--cli", "local"], {})
    assert settings.cli == "local" and settings.cli_reason == "--cli local"
    assert settings.models == ("local", "haiku", "sonnet", "opus")
    assert settings.default_model == "local"


def test_empty_environment_values_count_as_unset():
    settings = load_settings([], {"SERVER_MODELS": "", "SERVER_API_KEY": "", "SERVER_CLI": "x"})
    assert settings.models == ("haiku", "sonnet", "opus") and settings.api_key is None
