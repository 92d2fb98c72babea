"""The bundled weights re-quantized to Q8_0: made once, the same model, the wheel's on failure."""

from __future__ import annotations

import fcntl
import os
import threading

import numpy as np

from server.local_cli.model import bundled_model_file
from server.local_cli.requantized import CACHE_ENV, cache_dir, copy_path, fast_copy
from tests.server.local_cli.conftest import FRANCE, ask, run_cli


def test_the_cli_runs_a_q8_copy_of_the_same_weights(local_model, tmp_path):
    import gguf
    from gguf import GGMLQuantizationType as Kind
    from gguf import quants

    code, events, _ = run_cli(ask(FRANCE), **{CACHE_ENV: str(tmp_path)})
    assert code == 0 and "Paris" in events[-1].text
    [copy] = tmp_path.glob("*.gguf")
    assert copy == fast_copy(bundled_model_file(), tmp_path)  # found, not made again

    source, q8 = gguf.GGUFReader(bundled_model_file()), gguf.GGUFReader(copy)
    assert [t.name for t in q8.tensors] == [t.name for t in source.tensors]
    kept = {n for n in source.fields if n != "general.file_type" and not n.startswith("GGUF.")}
    assert kept <= set(q8.fields)
    assert q8.fields["general.file_type"].contents() == gguf.LlamaFileType.MOSTLY_Q8_0
    requantized = 0
    for old, new in zip(source.tensors, q8.tensors, strict=True):
        if old.tensor_type != Kind.Q4_1:
            assert new.tensor_type == old.tensor_type
            assert np.array_equal(new.data, old.data)
            continue
        assert new.tensor_type == Kind.Q8_0
        a, b = quants.dequantize(old.data, Kind.Q4_1), quants.dequantize(new.data, Kind.Q8_0)
        # Within half a Q8_0 step of each 32-weight block (its largest weight / 127), and the
        # step's rounding to float16 (127 * 2**-11 of a step at most).
        blocks = a.reshape(-1, 32)
        step = np.abs(blocks).max(axis=1, keepdims=True) / 127
        assert (np.abs(b.reshape(-1, 32) - blocks) <= 0.57 * step + 1e-7).all()
        requantized += 1
    assert requantized > 100


def test_a_copy_another_process_made_under_the_lock_is_taken(tmp_path):
    source = tmp_path / "model.gguf"
    source.write_bytes(b"weights")
    cache = tmp_path / "cache"
    cache.mkdir()
    made: list = []
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process making the copy
        waiting = threading.Thread(target=lambda: made.append(fast_copy(source, cache)))
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive()  # it waits for the lock rather than making its own
        target = copy_path(source, cache)
        target.write_bytes(b"made by the other process")
    waiting.join(10)
    assert made == [target]
    assert target.read_bytes() == b"made by the other process"


def test_where_no_copy_can_be_made_the_wheels_file_runs(local_model, tmp_path):
    blocked = tmp_path / "a file"
    blocked.write_text("")
    code, events, _ = run_cli(ask(FRANCE), **{CACHE_ENV: str(blocked / "cache")})
    assert code == 0 and "Paris" in events[-1].text
    assert not list(tmp_path.rglob("*.gguf"))


def test_a_broken_source_leaves_no_partial_file(tmp_path, capsys):
    source = tmp_path / "broken.gguf"
    source.write_bytes(b"GGUF" + b"\0" * 64)
    cache = tmp_path / "cache"
    assert fast_copy(source, cache) == source
    assert "using broken.gguf as shipped" in capsys.readouterr().err
    assert [p.name for p in cache.iterdir()] == [".lock"]


def test_every_install_of_the_same_file_shares_one_copy(tmp_path):
    weights = np.random.default_rng(0).bytes(3 << 20)
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for install in (first, second, other):
        install.mkdir()
        (install / "model.gguf").write_bytes(weights)
    os.utime(second / "model.gguf", ns=(0, 0))  # installed at another time
    (other / "model.gguf").write_bytes(weights[:-1] + b"x")  # other weights, the same size
    cache = tmp_path / "cache"

    paths = [copy_path(install / "model.gguf", cache) for install in (first, second, other)]

    assert paths[0] == paths[1] != paths[2]


def test_the_cache_is_named_by_the_environment(tmp_path):
    assert cache_dir({CACHE_ENV: str(tmp_path)}) == tmp_path
    assert cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "voice-agent"
