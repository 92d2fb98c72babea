// Audio levels (RMS, 0..1) read from Web Audio analysers, for the meter and the timings.

/** A level reader on an AnalyserNode: `read()` is the RMS of its latest window. */
export function analyserLevel(analyser) {
  const samples = new Float32Array(analyser.fftSize);
  return () => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
    return Math.sqrt(sum / samples.length);
  };
}

/** A level reader on a MediaStreamTrack (the microphone, or the bot's WebRTC track), in its
 * own AudioContext; `close()` frees it. */
export function trackLevel(track) {
  const context = new AudioContext();
  const source = context.createMediaStreamSource(new MediaStream([track]));
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const read = analyserLevel(analyser);
  read.close = () => context.close();
  return read;
}
