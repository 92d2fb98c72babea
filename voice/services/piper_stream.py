"""A Piper voice that speaks a sentence a piece at a time: its graph cut before the vocoder.

A Piper voice is one ONNX graph, VITS: the text encoder and duration predictor, the flow, then
a HiFi-GAN decoder that turns the latent (192 channels a frame, a frame per 256 samples) into
audio. Run whole, the first sample of a sentence waits for the last: "The capital of France
is Paris." took 170 ms on 2 cores, 39 of them before the decoder. The decoder is convolutional,
so a stretch of the latent with `CONTEXT_FRAMES` of its neighbours each side decodes to the
same samples as the whole (within 1e-6 here): cut there, a sentence's first
`FIRST_FRAMES` (0.37 s) are heard after the encoder and ~25 ms of decoding, 60 ms for that
sentence instead of 170, and later pieces (each twice the last) are ready long before the
first has been played.

The flow before the decoder (VITS's coupling layers, which turn the prior into the latent) is
convolutional too, and the graph is cut before it as well: the first piece's stretch of the
latent comes from the prior's first frames and `FLOW_CONTEXT_FRAMES` more (the same values as
the whole flow's), and the whole flow runs once that piece is out. On idle cores the flow took
15-34 ms of the 30-60 ms before a sentence's first piece, 10-15 of it on the first piece's
frames ("The capital of France is Paris.": 28 against 14).

Piper scales each sentence to full scale once it has all of it; a piece cannot wait for
that, so pieces are scaled by one gain per voice, set at load from a fixed sentence
(`_CALIBRATION`) spoken with no noise: sentences keep their own levels, within a decibel or
two of Piper's (the voice's raw peaks are 0.43-0.63 a sentence).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
import onnxruntime
from onnx.utils import Extractor
from piper import PiperConfig, PiperVoice, SynthesisConfig

FIRST_FRAMES = 32
"""The first piece of a sentence: 32 latent frames, 0.37 s at 22.05 kHz."""

LONGEST_FRAMES = 512
"""Pieces double from `FIRST_FRAMES` up to this."""

LAST_FRAMES = 24
"""The shortest last piece (0.28 s): a shorter rest goes with the piece before, so the last
piece holds all of the 0.1-0.25 s of silence Piper ends a sentence with, for `pieces`' trail."""

CONTEXT_FRAMES = 12
"""Latent frames decoded beside a piece and dropped: the decoder's reach (10 gave the whole
decode's samples to 1e-6 here, 8 to 1e-3)."""

FLOW_CONTEXT_FRAMES = 32
"""Prior frames the flow reads past the last latent frame wanted: its reach (four coupling
layers of four convolutions with kernel 5; 32 gave the whole flow's values exactly here, 24
to 3e-5, 16 to 1e-2)."""

SILENT = 0.01
"""Samples under this (-40 dBFS) are silence, for `pieces`' lead and trail."""

_DECODER_PREFIX = "/dec/"  # node names of Piper's exported HiFi-GAN decoder
_FLOW_PREFIX = "/flow/"  # and of its flow
_CALIBRATION = "Hello! The capital of France is Paris. How can I help you today?"
_PEAK = 0.8  # the calibration sentence's peak after the gain; louder pieces are clipped


@dataclass
class StreamingPiperVoice(PiperVoice):
    """A `PiperVoice` whose `session` ends at the prior, `flow` makes the latent of it (or,
    with no `flow`, `session` ends at the latent), and `decoder` makes audio of the latent.
    `synthesize` works as Piper's does; `pieces` gives a sentence a piece at a time."""

    decoder: onnxruntime.InferenceSession | None = None
    latent_name: str = ""
    flow: onnxruntime.InferenceSession | None = None
    prior_name: str = ""
    mask_name: str = ""  # the flow's frame mask: all ones for one sentence
    gain: float = 1.0

    def phoneme_ids_to_audio(
        self,
        phoneme_ids: list[int],
        syn_config: SynthesisConfig | None = None,
        include_alignments: bool = False,
    ) -> Any:
        """Piper's whole-sentence synthesis (raw audio, unscaled), through both parts."""
        audio = self._decode(self._latent(phoneme_ids, syn_config)).squeeze()
        return (audio, None) if include_alignments else audio

    def pieces(
        self,
        phoneme_ids: list[int],
        syn_config: SynthesisConfig | None = None,
        *,
        lead: float | None = None,
        trail: float | None = None,
    ) -> Iterator[np.ndarray]:
        """One sentence's audio (float32 in [-1, 1], scaled by `gain`), a piece at a time:
        `FIRST_FRAMES` of latent, then twice as many each piece (the last `LAST_FRAMES` at
        the least). With `lead` (`trail`), at most that many seconds of the silence it starts
        (ends) with are kept."""
        prior = self._prior(phoneme_ids, syn_config)
        frames = prior.shape[-1]
        latent: np.ndarray | None = None
        hop, rate = self.config.hop_length, self.config.sample_rate
        start, size = 0, FIRST_FRAMES
        while start < frames:
            end = start + size
            end = frames if frames - end < LAST_FRAMES else end
            left, right = max(0, start - CONTEXT_FRAMES), min(frames, end + CONTEXT_FRAMES)
            if start == 0 and right + FLOW_CONTEXT_FRAMES < frames:
                # The first piece: only the prior's frames it needs go through the flow.
                stretch = self._flow(prior[..., : right + FLOW_CONTEXT_FRAMES])[..., left:right]
            else:
                latent = self._flow(prior) if latent is None else latent
                stretch = latent[..., left:right]
            audio = self._decode(stretch).reshape(-1)
            audio = np.clip(audio[(start - left) * hop : (end - left) * hop] * self.gain, -1, 1)
            if end == frames and trail is not None:
                audio = _trimmed(audio, round(trail * rate))
            if start == 0 and lead is not None:
                audio = _trimmed(audio[::-1], round(lead * rate))[::-1]
            yield audio.astype(np.float32)
            start, size = end, min(size * 2, LONGEST_FRAMES)

    def _latent(self, phoneme_ids: list[int], syn_config: SynthesisConfig | None) -> np.ndarray:
        return self._flow(self._prior(phoneme_ids, syn_config))

    def _prior(self, phoneme_ids: list[int], syn_config: SynthesisConfig | None) -> np.ndarray:
        # Piper's own run (its scales and speaker id) of `session`, whose one output is the
        # prior (the latent with no `flow`), (1, channels, frames), frames >= 2 (BOS and EOS).
        return PiperVoice.phoneme_ids_to_audio(self, phoneme_ids, syn_config)[None]

    def _flow(self, prior: np.ndarray) -> np.ndarray:
        if self.flow is None:
            return prior
        mask = np.ones((1, 1, prior.shape[-1]), prior.dtype)
        return self.flow.run(None, {self.prior_name: prior, self.mask_name: mask})[0]

    def _decode(self, latent: np.ndarray) -> np.ndarray:
        assert self.decoder is not None
        return self.decoder.run(None, {self.latent_name: latent})[0]


def _trimmed(audio: np.ndarray, keep: int) -> np.ndarray:
    """`audio` with at most `keep` samples of the silence (under `SILENT`) it ends with; all
    of it silence: `keep` samples of it."""
    loud = np.flatnonzero(np.abs(audio) >= SILENT)
    return audio[: (loud[-1] + 1 if loud.size else 0) + keep]


def split_voice(
    model_path: str, config: PiperConfig, options: onnxruntime.SessionOptions
) -> StreamingPiperVoice | None:
    """The voice with its model cut before the decoder and, where it finds the flow's input,
    before the flow (every part's session made with `options`), or None when the graph has
    no decoder fed by one tensor (not a Piper VITS export)."""
    model = onnx.load(model_path)
    latent = _decoder_input(model.graph)
    if latent is None:
        return None
    inputs = [i.name for i in model.graph.input]
    outputs = [o.name for o in model.graph.output][:1]
    flow_inputs = _flow_inputs(model.graph, latent)
    extractor = Extractor(model)
    front = extractor.extract_model(inputs, [flow_inputs[0] if flow_inputs else latent])
    back = extractor.extract_model([latent], outputs)
    flow = extractor.extract_model(list(flow_inputs), [latent]) if flow_inputs else None
    del model, extractor

    def session(part: onnx.ModelProto) -> onnxruntime.InferenceSession:
        return onnxruntime.InferenceSession(
            part.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
        )

    prior, mask = flow_inputs or ("", "")
    streaming = StreamingPiperVoice(
        session=session(front),
        config=config,
        decoder=session(back),
        latent_name=latent,
        flow=None if flow is None else session(flow),
        prior_name=prior,
        mask_name=mask,
    )
    streaming.gain = _calibrated_gain(streaming)
    return streaming


def _decoder_input(graph: onnx.GraphProto) -> str | None:
    """The one tensor from outside the decoder that its nodes read, if there is one."""
    decoder = [n for n in graph.node if n.name.startswith(_DECODER_PREFIX)]
    made = {o for n in decoder for o in n.output}
    weights = {i.name for i in graph.initializer}
    read = {i for n in decoder for i in n.input if i and i not in made and i not in weights}
    return read.pop() if len(read) == 1 else None


def _flow_inputs(graph: onnx.GraphProto, latent: str) -> tuple[str, str] | None:
    """The flow's prior and frame mask, if found: the two tensors its nodes read that are
    made from the graph's inputs by no flow node, the mask being one the node making
    `latent` also reads (latent = flow(prior) * mask)."""
    # Whether each tensor comes from a flow node, and from the graph's inputs (ONNX lists
    # nodes in topological order).
    origin = {i.name: (False, True) for i in graph.input}
    for node in graph.node:
        from_flow = node.name.startswith(_FLOW_PREFIX)
        from_inputs = False
        for name in node.input:
            flow_made, input_made = origin.get(name, (False, False))
            from_flow, from_inputs = from_flow or flow_made, from_inputs or input_made
        origin.update((name, (from_flow, from_inputs)) for name in node.output)
    flow = [n for n in graph.node if n.name.startswith(_FLOW_PREFIX)]
    read = {i for n in flow for i in n.input} - {o for n in flow for o in n.output}
    found = sorted(name for name in read if origin.get(name) == (False, True))
    last = next((n for n in graph.node if latent in n.output), None)
    masks = [name for name in found if last is not None and name in last.input]
    if len(found) != 2 or len(masks) != 1:
        return None
    (mask,) = masks
    (prior,) = set(found) - {mask}
    return prior, mask


def _calibrated_gain(voice: StreamingPiperVoice) -> float:
    quiet = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    peak = max(
        float(np.abs(voice.phoneme_ids_to_audio(voice.phonemes_to_ids(p), quiet)).max())
        for p in voice.phonemize(_CALIBRATION)
    )
    return _PEAK / peak if peak > 1e-4 else 1.0
