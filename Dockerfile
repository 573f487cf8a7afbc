# syntax=docker/dockerfile:1
# okta-chatops: one bot process per container. Build: docker build -t okta-chatops .
# Run and configure: docs/deploy.md. tests/test_dockerfile.py lints this file and replays its pip steps.

# Both stages use the same base, so the wheels built in the first install as-is in the second.
# Bump the patch version deliberately (security fixes), in both FROM lines.
FROM python:3.11.13-slim-bookworm AS builder

WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY access/ access/
COPY actions/ actions/
COPY alerts/ alerts/
COPY approvals/ approvals/
COPY audit/ audit/
COPY bot/ bot/
COPY commands/ commands/
COPY confirm/ confirm/
COPY console/ console/
COPY oktaclient/ oktaclient/
COPY oktasim/ oktasim/
COPY policy/ policy/
COPY slackport/ slackport/
COPY slacksim/ slacksim/
COPY slacktext/ slacktext/
# Wheels of every dependency at the version and hashes requirements.lock pins, then of the project
# alone. A dependency without a binary wheel for this platform is compiled here (add its build
# tools to this stage), never in the final image, which installs from these wheels and nothing else.
RUN pip wheel --no-cache-dir --wheel-dir /wheels --require-hashes -r requirements.lock \
    && pip wheel --no-cache-dir --wheel-dir /wheels --no-deps .

FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DATA_DIR=/data

# Installed from the builder's wheels only (no index, no compiler); the wheels are bind-mounted,
# so they never become a layer of this image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/okta_chatops-*.whl \
    && groupadd --system --gid 10001 okc \
    && useradd --system --uid 10001 --gid okc --home-dir /data --no-create-home --shell /usr/sbin/nologin okc \
    && mkdir /data \
    && chown okc:okc /data

USER 10001:10001
WORKDIR /data
# The embedded Redis keeps its data here when REDIS_URL is unset (a single container, no scale-out).
VOLUME ["/data"]
EXPOSE 3000

# Liveness: /healthz answers while the process and its event loop run. Not /readyz, which says whether
# Redis and Okta answer: restarting the bot cures neither (it restarts an embedded Redis itself, and
# exits non-zero if it cannot); /readyz is for load balancers and readiness probes (docs/deploy.md).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"]

CMD ["okta-chatops", "serve", "--host", "0.0.0.0", "--port", "3000"]
