# Two images from one file (ARM64 and x86-64 alike; Python wheels exist for both):
#   docker build --target edge-reporter -t ghcr.io/agent-bruno/edge-reporter:0.1.0 .
#   docker build --target agent-bruno   -t ghcr.io/agent-bruno/agent-bruno:0.1.0 .
# The edge image installs only the `edge` extra (stdlib + httpx).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin bruno
COPY pyproject.toml README.md constraints.txt ./
COPY edge_reporter ./edge_reporter
COPY agent_bruno ./agent_bruno
COPY prompts ./prompts

FROM base AS edge-reporter
RUN pip install -c constraints.txt '.[edge]'
ENV DATA_DIR=/var/lib/edge-reporter
USER 10001
ENTRYPOINT ["edge-reporter"]

FROM base AS agent-bruno
RUN pip install -c constraints.txt '.[agent]'
ENV AGENT_BRUNO_DATA_DIR=/data
USER 10001
EXPOSE 30120
ENTRYPOINT ["agent-bruno"]
