# Two images from one file, for linux/arm64 (the Pis) and linux/amd64:
#   VERSION=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
#   docker buildx create --use --name agent-bruno        # once: a builder that can cross-build
#   docker buildx build --platform linux/arm64,linux/amd64 --target edge-reporter \
#     -t ghcr.io/agent-bruno/edge-reporter:$VERSION --push .
#   docker buildx build --platform linux/arm64,linux/amd64 --target agent-bruno \
#     -t ghcr.io/agent-bruno/agent-bruno:$VERSION --push .
# (Without a registry: `--platform linux/arm64 --load` builds one architecture into the local
# engine.) Both images install the same wheel the installed-wheel test installs
# (tests/e2e/test_installed_wheel.py), with the same constraints; only the extra differs.
ARG PYTHON_IMAGE=python:3.11-slim

# 1. The wheel, built from the sources .dockerignore lets in.
FROM ${PYTHON_IMAGE} AS wheel
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY . .
RUN pip wheel --no-deps --wheel-dir /dist .

# 2. The dependencies of each extra, in a layer of their own: code changes do not reinstall them.
FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin bruno
COPY pyproject.toml constraints.txt /tmp/deps/
# Prints the requirements of the extra named by $1, read from pyproject.toml.
ENV EXTRA_REQUIREMENTS="import sys, tomllib; project = tomllib.load(open('/tmp/deps/pyproject.toml', 'rb'))['project']; print(chr(10).join(project['optional-dependencies'][sys.argv[1]]))"

FROM base AS deps-edge
RUN python -c "$EXTRA_REQUIREMENTS" edge > /tmp/deps/requirements.txt \
 && pip install -c /tmp/deps/constraints.txt -r /tmp/deps/requirements.txt

FROM base AS deps-agent
RUN python -c "$EXTRA_REQUIREMENTS" agent > /tmp/deps/requirements.txt \
 && pip install -c /tmp/deps/constraints.txt -r /tmp/deps/requirements.txt

# 3. The reporter: stdlib, httpx and prometheus-client; no LangChain, FastAPI or pydantic.
FROM deps-edge AS edge-reporter
COPY --from=wheel /dist/ /tmp/dist/
RUN pip install --no-deps /tmp/dist/*.whl && rm -rf /tmp/dist /tmp/deps \
 && python -c "import importlib.util as u, sys; bad = [m for m in ('fastapi', 'pydantic', 'langchain_core', 'langgraph', 'uvicorn') if u.find_spec(m)]; sys.exit(f'the reporter image holds {bad}' if bad else 0)"
ENV DATA_DIR=/var/lib/edge-reporter
USER 10001:10001
EXPOSE 9108
ENTRYPOINT ["edge-reporter"]

# 4. The agent.
FROM deps-agent AS agent-bruno
COPY --from=wheel /dist/ /tmp/dist/
RUN pip install --no-deps /tmp/dist/*.whl && rm -rf /tmp/dist /tmp/deps
ENV AGENT_BRUNO_DATA_DIR=/data
USER 10001:10001
EXPOSE 30120
ENTRYPOINT ["agent-bruno"]
CMD ["serve"]
