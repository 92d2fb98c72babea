from server.local_cli.conversation import chat_messages
from server.prompt import Turn


def test_our_instruction_goes_first_in_one_system_message_with_the_callers():
    turns = [
        Turn("system", "You are Pat."),
        Turn("user", "Hi"),
        Turn("assistant", "Hello!"),
        Turn("system", "The user is in a hurry."),
        Turn("user", "Bye"),
    ]
    assert chat_messages(turns, "Be brief.") == [
        {"role": "system", "content": "Be brief.\n\nYou are Pat."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "system", "content": "The user is in a hurry."},
        {"role": "user", "content": "Bye"},
    ]
    assert chat_messages(turns[1:2], "") == [{"role": "user", "content": "Hi"}]
