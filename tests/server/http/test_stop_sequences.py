from server.http.stop_sequences import StopSequences


def feed(stops: tuple[str, ...], deltas: list[str]) -> tuple[str, str | None]:
    cut = StopSequences(stops)
    sent = "".join(cut.push(d) for d in deltas) + cut.flush()
    return sent, cut.hit


def test_no_stop_sequences_passes_everything():
    assert feed((), ["Paris", " is", " near."]) == ("Paris is near.", None)


def test_cut_before_a_stop_sequence_inside_one_delta():
    assert feed(("STOP",), ["Paris STOP is", " near."]) == ("Paris ", "STOP")


def test_a_stop_sequence_split_across_deltas_is_never_sent_in_part():
    cut = StopSequences(("\n\nHuman:",))
    assert cut.push("Paris.\n") == "Paris."
    assert cut.push("\nHum") == ""
    assert cut.push("an: hi") == ""
    assert cut.hit == "\n\nHuman:"
    assert cut.push("more") == "" and cut.flush() == ""


def test_held_text_that_turns_out_not_to_stop_is_sent():
    assert feed(("STOP",), ["Paris ST", "ONE", " is near"]) == ("Paris STONE is near", None)
    assert feed(("STOP",), ["Paris ST"]) == ("Paris ST", None)


def test_the_earliest_of_several_stop_sequences_wins():
    assert feed(("near", "dog"), ["the dog is near"]) == ("the ", "dog")
