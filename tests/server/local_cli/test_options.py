from server.cli.command import build_argv
from server.local_cli.options import parse_options


def test_takes_the_servers_flags_in_both_forms_and_ignores_unknown_ones():
    options = parse_options(build_argv("claude", "opus")[1:])
    assert options.model == "opus" and options.partial_messages
    options = parse_options(["-p", "--model", "haiku", "--future-flag", "x", "--max-tokens", "7"])
    assert (options.model, options.max_tokens, options.partial_messages) == ("haiku", 7, False)
