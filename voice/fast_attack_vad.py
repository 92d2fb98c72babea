"""Silero VAD whose volume gate opens as soon as the caller is loud enough.

Pipecat's VAD calls a window speech when Silero's confidence and the volume both pass their
thresholds. The volume is the loudness of the last 0.4 s, smoothed over the windows
(`v = 0.2 * loudness + 0.8 * v`) both ways. From a quiet line that smoothing is what holds
a start back: full-level speech after digital silence takes six 32 ms windows to lift the
smoothed volume over `min_volume` (0.6), so the caller's speech stopped the bot 128 ms later
than the start time asks (a word after half a second of silence: heard 236 ms into it
instead of 108 at the 0.064 s start, `tests/voice/test_fast_attack_vad.py`).

Here the volume rises at once (attack) and falls smoothed, as Pipecat's does (release), the
envelope a level meter or a noise gate uses. The gate still shuts out what is quiet, and
Silero's confidence, unchanged, still shuts out noise and clicks; what ends a turn is
unchanged, since the release is.
"""

from __future__ import annotations

from pipecat.audio.vad.silero import SileroVADAnalyzer


class FastAttackSileroVAD(SileroVADAnalyzer):
    """`SileroVADAnalyzer` with a volume that rises at once and falls smoothed."""

    def _get_smoothed_volume(self, audio: bytes) -> float:
        # Pipecat's smoothing lies between the last volume and the new one: under a rise, the
        # new one is the larger; under a fall, the smoothed one is.
        smoothed = super()._get_smoothed_volume(audio)
        return max(self._volume_tracker.volume, smoothed)
