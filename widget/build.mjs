// Bundle the widget into one classic script (an IIFE: `<script src>` needs no CORS and has
// `document.currentScript`), the official Pipecat client and both transports inside.
//   node build.mjs [OUTFILE]      default: ../voice/static/widget.js, shipped in the package
import { build } from "esbuild";

const outfile = process.argv[2] ?? "../voice/static/widget.js";
await build({
  entryPoints: ["src/widget.js"],
  bundle: true,
  format: "iife",
  target: "es2020",
  minify: true,
  legalComments: "eof",
  banner: { js: "/* voice-agent portal widget, built from widget/src by widget/build.mjs */" },
  outfile,
  logLevel: "warning",
});
